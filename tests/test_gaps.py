"""Coverage gap areas: uncovered demand clustered into polygons per rule.

Synthetic: a hand-made coverage table with two dense uncovered clusters, scattered uncovered
points, covered points and off-network points. Real world: coverage of Futian taxi pick-ups by
charging stations, whose gaps must account for every uncovered on-network point.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from yizhan.geo.gaps import GAP_COLUMNS, NO_AREA, find_gaps, gap_summary, uncovered_mask, write_gaps
from yizhan.geo.rules import make_rule

from yizhan.errors import ConfigError, InputFileError

RULE = make_rule(mode="walk", cutoff="500m", name="r500")
RULE2 = make_rule(mode="walk", cutoff="800m", requires="toilet", name="toilet800")


def _table() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    lon0, lat0 = 114.02, 22.53
    at = lambda dx, dy: np.array([lon0 + dx, lat0 + dy])  # noqa: E731
    a = rng.normal(0, 0.0004, (60, 2)) + at(0, 0)             # gap A: 60 riders
    b = rng.normal(0, 0.0004, (30, 2)) + at(0.02, 0)          # gap B: 30 couriers
    scattered = rng.uniform(-0.03, 0.03, (5, 2)) + at(0.01, 0.03)
    covered = rng.normal(0, 0.0005, (40, 2)) + at(0.01, -0.01)
    off = rng.normal(0, 0.0004, (25, 2)) + at(-0.02, 0)       # off the road network
    xy = np.vstack([a, b, scattered, covered, off])
    n = len(xy)
    groups = ["rider"] * 60 + ["courier"] * 30 + ["rider"] * 5 + ["driver"] * 40 + ["rider"] * 25
    is_covered = np.zeros(n, bool)
    is_covered[95:135] = True
    off_net = np.zeros(n, bool)
    off_net[135:] = True
    return gpd.GeoDataFrame(
        {"demand_id": [f"d{i}" for i in range(n)], "weight": np.r_[np.full(60, 2.0), np.ones(n - 60)],
         "group": groups, "r500_covered": is_covered, "r500_applies": True, "r500_off_network": off_net,
         "toilet800_covered": False, "toilet800_applies": np.array(groups) != "driver",
         "toilet800_off_network": off_net},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326",
    )


def test_two_gap_areas_with_weight_groups_and_polygons() -> None:
    table = _table()
    gaps = find_gaps(table, rules=[RULE])
    assert list(gaps.columns) == [*GAP_COLUMNS, "geometry"]
    assert gaps["gap_id"].tolist() == ["r500-G001", "r500-G002"]
    assert gaps["uncovered_weight"].tolist() == [120.0, 30.0]
    assert gaps["n_demand"].tolist() == [60, 30]
    assert gaps["groups"].tolist() == ["rider", "courier"]
    assert gaps["n_off_network"].tolist() == [0, 0]
    # every member point lies in its gap polygon; the covered ones lie in none
    pts = table.geometry.to_numpy()
    assert shapely.contains_xy(gaps.geometry.iloc[0], *shapely.get_coordinates(pts[:60]).T).all()
    assert shapely.contains_xy(gaps.geometry.iloc[1], *shapely.get_coordinates(pts[60:90]).T).all()
    assert not shapely.intersects(gaps.geometry.union_all(), pts[95:135]).any()
    assert gaps["area_km2"].gt(0).all()
    assert gaps["share_of_uncovered"].iloc[0] == pytest.approx(120 / 155)


def test_summary_accounts_for_every_uncovered_point() -> None:
    table = _table()
    gaps = find_gaps(table, rules=[RULE])
    s = gap_summary(table, gaps, rules=[RULE]).iloc[0]
    assert s["uncovered_weight"] == pytest.approx(120 + 30 + 5 + 25)
    assert s["off_network_weight"] == pytest.approx(25)
    assert s["scattered_weight"] == pytest.approx(5)
    assert s["in_gaps_weight"] + s["scattered_weight"] + s["off_network_weight"] == pytest.approx(s["uncovered_weight"])


def test_off_network_points_only_on_request() -> None:
    table = _table()
    assert uncovered_mask(table, RULE).sum() == 95
    assert uncovered_mask(table, RULE, include_off_network=True).sum() == 120
    gaps = find_gaps(table, rules=[RULE], include_off_network=True)
    assert gaps["n_off_network"].sum() == 25 and len(gaps) == 3


def test_per_rule_gaps_and_admin_area() -> None:
    table = _table()
    west = box(113.9, 22.4, 114.03, 22.7)
    east = box(114.03, 22.4, 114.2, 22.7)
    admin = gpd.GeoDataFrame({"admin_name": ["西区 West", "东区 East"]}, geometry=[west, east], crs="EPSG:4326")
    gaps = find_gaps(table, rules=[RULE, RULE2], admin=admin)
    assert gaps["rule"].tolist() == ["r500", "r500", "toilet800", "toilet800"]
    assert gaps["admin_area"].tolist() == ["西区 West", "东区 East", "西区 West", "东区 East"]
    far = table.copy()
    far["geometry"] = far.geometry.translate(1.0, 0)
    assert set(find_gaps(far, rules=[RULE], admin=admin)["admin_area"]) == {NO_AREA}
    # without an admin layer the area is blank
    assert set(find_gaps(table, rules=[RULE])["admin_area"]) == {""}


def test_options_and_errors() -> None:
    table = _table()
    coarse = find_gaps(table, rules=[RULE], eps_m=3000, min_weight=1.0)
    assert coarse["uncovered_weight"].sum() >= 150  # the scattered points now join gaps
    assert len(find_gaps(table, rules=[RULE], min_share=0.9)) == 0
    with pytest.raises(ConfigError):
        find_gaps(table, rules=[RULE], eps_m=-1)
    with pytest.raises(ConfigError, match="rules"):
        find_gaps(table)
    with pytest.raises(InputFileError, match="r500_covered"):
        find_gaps(table.drop(columns="r500_covered"), rules=[RULE])
    none = table.assign(r500_covered=True)
    empty = find_gaps(none, rules=[RULE])
    assert len(empty) == 0 and list(empty.columns) == [*GAP_COLUMNS, "geometry"]


def test_write_gaps_is_byte_identical(tmp_path) -> None:
    gaps = find_gaps(_table(), rules=[RULE, RULE2])
    a = write_gaps(gaps, tmp_path / "a" / "gaps.geojson").read_bytes()
    b = write_gaps(find_gaps(_table(), rules=[RULE, RULE2]), tmp_path / "b" / "gaps.geojson").read_bytes()
    assert a == b
    doc = json.loads(a)
    assert len(doc["features"]) == len(gaps)
    assert doc["features"][0]["properties"]["gap_id"] == "r500-G001"


@pytest.mark.slow
def test_real_gaps_in_futian(futian_graphml, taxi_csv, ev_stations_csv, tmp_path) -> None:
    from yizhan.geo.coverage import compute_coverage
    from yizhan.geo.sources import build_network
    from yizhan.stations.coords import to_wgs84

    net = build_network(futian_graphml, mode="walk", cache_dir=tmp_path)
    taxi = pd.read_csv(taxi_csv)
    inside = taxi["Lng"].between(net.lon.min(), net.lon.max()) & taxi["Lat"].between(net.lat.min(), net.lat.max())
    taxi = taxi[inside].reset_index(drop=True)
    demand = gpd.GeoDataFrame(
        {"demand_id": taxi["orderid"].astype(int).astype(str), "weight": taxi["price"],
         "group": np.where(taxi["isnight"], "driver", "rider")},
        geometry=gpd.points_from_xy(taxi["Lng"], taxi["Lat"]), crs="EPSG:4326")
    ev = pd.read_csv(ev_stations_csv)
    lon, lat = to_wgs84(ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), "gcj02")
    stations = gpd.GeoDataFrame({"station_id": ev["station_id"].astype(str)},
                                geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    rule = make_rule(mode="walk", cutoff="400m")
    cov = compute_coverage({"walk": net}, stations, demand, [rule])
    gaps = find_gaps(cov)
    assert len(gaps) >= 2
    table = cov.table
    mask = uncovered_mask(table, rule)
    # every gap's weight is made of uncovered points inside its polygon
    for gap in gaps.itertuples():
        inside = shapely.contains_xy(gap.geometry, table.geometry.x.to_numpy(), table.geometry.y.to_numpy())
        assert table.loc[inside & mask, "weight"].sum() >= gap.uncovered_weight - 1e-6
        assert table.loc[inside & table[f"{rule.name}_covered"], "weight"].sum() >= 0
    s = gap_summary(cov, gaps).iloc[0]
    assert s["in_gaps_weight"] + s["scattered_weight"] + s["off_network_weight"] == pytest.approx(s["uncovered_weight"])
    assert gaps["uncovered_weight"].is_monotonic_decreasing
