"""Candidate sites: network nodes near gaps (thinned), the user's list, upgrades of stations.

Synthetic: thinning checked against the sequential greedy it must equal; user files in every
format with Chinese headers and GCJ-02 coordinates; errors naming row and column. Real world:
network candidates on the Futian road graph.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from yizhan.geo.candidates import (
    CANDIDATE_COLUMNS,
    DEFAULT_UPGRADE_COST,
    near_stations,
    network_candidates,
    read_candidates,
    required_amenities,
    spacing_conflicts,
    thin_points,
    upgrade_candidates,
)
from yizhan.geo.rules import make_rule
from yizhan.stations.coords import wgs84_to_gcj02

from yizhan.errors import ConfigError, InputFileError


def _sequential(xy: np.ndarray, priority: np.ndarray, spacing: float) -> np.ndarray:
    order = np.lexsort((np.arange(len(xy)), -priority))
    kept = np.zeros(len(xy), bool)
    for i in order:  # reference implementation, test only
        if not kept.any() or np.hypot(*(xy[kept] - xy[i]).T).min() >= spacing:
            kept[i] = True
    return kept


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.floats(0.2, 3.0))
def test_thinning_equals_sequential_greedy(seed: int, n: int, spacing: float) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, (n, 2))
    priority = rng.integers(0, 4, n).astype(float)
    kept = thin_points(xy, priority=priority, spacing=spacing)
    assert (kept == _sequential(xy, priority, spacing)).all()
    k = xy[kept]
    d = np.hypot(*(k[:, None] - k[None]).transpose(2, 0, 1))
    assert (d[np.triu_indices(len(k), 1)] >= spacing).all()
    # maximal: every dropped point is within the spacing of a kept one
    for i in np.flatnonzero(~kept):
        assert np.hypot(*(k - xy[i]).T).min() < spacing


@pytest.fixture(scope="module")
def futian_net(futian_graphml, tmp_path_factory):
    from yizhan.geo.sources import build_network

    return build_network(futian_graphml, mode="walk", cache_dir=tmp_path_factory.mktemp("net"))


@pytest.mark.slow
def test_network_candidates_near_zones_and_spaced(futian_net) -> None:
    net = futian_net
    centre = Point(float(np.median(net.lon)), float(np.median(net.lat)))
    zone = gpd.GeoSeries([centre.buffer(0.004)], crs="EPSG:4326")
    cands = network_candidates(net, zone, spacing_m=150, buffer_m=100)
    assert list(cands.columns) == [*CANDIDATE_COLUMNS, "geometry"]
    assert len(cands) > 5
    assert set(cands["kind"]) == {"new"} and set(cands["source"]) == {"network"}
    assert cands["candidate_id"].is_unique and cands["candidate_id"].str.startswith("N").all()
    utm = cands.estimate_utm_crs()
    xy = shapely.get_coordinates(cands.to_crs(utm).geometry.to_numpy())
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 150
    grown = zone.to_crs(utm).buffer(100 + 1e-6).union_all()
    assert shapely.contains(grown, cands.to_crs(utm).geometry.to_numpy()).all()
    # nodes are real network nodes, deterministic
    assert set(cands["node_id"]).issubset(set(net.node_id.tolist()))
    again = network_candidates(net, zone, spacing_m=150, buffer_m=100)
    pd.testing.assert_frame_equal(pd.DataFrame(cands.drop(columns="geometry")),
                                  pd.DataFrame(again.drop(columns="geometry")))
    everywhere = network_candidates(net, None, spacing_m=400)
    assert len(everywhere) > len(cands)
    with pytest.raises(ConfigError):
        network_candidates(net, zone, spacing_m=0)


def _write(frame: pd.DataFrame, path, kind: str):
    if kind == "csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif kind == "xlsx":
        frame.to_excel(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_read_candidates_with_chinese_headers_and_gcj02(tmp_path, kind: str) -> None:
    lon = np.array([114.03, 114.05, 114.07])
    lat = np.array([22.53, 22.54, 22.55])
    glon, glat = wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame({"编号": ["工会大楼", "B-2", "C3"], "名称": ["总工会", "银行网点", "加油站"],
                          "经度": glon, "纬度": glat, "建设费用": [2.0, "", 1.5], "座位数": [20, 8, ""]})
    path = _write(frame, tmp_path / f"cands.{kind}", kind)
    cands = read_candidates(path, crs="gcj02")
    assert list(cands.columns) == [*CANDIDATE_COLUMNS, "geometry"]
    assert cands["candidate_id"].tolist() == ["工会大楼", "B-2", "C3"]
    assert cands["name"].tolist() == ["总工会", "银行网点", "加油站"]
    np.testing.assert_allclose(cands.geometry.x, lon, atol=1e-6)
    np.testing.assert_allclose(cands.geometry.y, lat, atol=1e-6)
    np.testing.assert_array_equal(cands["cost"].to_numpy(), [2.0, np.nan, 1.5])
    np.testing.assert_array_equal(cands["capacity"].to_numpy(), [20.0, 8.0, np.nan])
    assert cands["source_row"].tolist() == [2, 3, 4]
    assert set(cands["source"]) == {"file"}


def test_read_candidates_geojson_and_default_ids(tmp_path) -> None:
    gdf = gpd.GeoDataFrame({"cost": [1.0, 3.0]}, geometry=[Point(114.0, 22.5), Point(114.1, 22.6)], crs="EPSG:4326")
    path = tmp_path / "sites.geojson"
    gdf.to_file(path, driver="GeoJSON")
    cands = read_candidates(path)
    assert cands["candidate_id"].tolist() == ["sites:2", "sites:3"]
    assert cands["cost"].tolist() == [1.0, 3.0]


@pytest.mark.parametrize("header", ["candidate_id", "候选点编号", "编号"])
def test_read_candidates_keeps_the_ids_of_a_candidate_id_column(tmp_path, header: str) -> None:
    """`candidate_id` (the output's own column name) is read as the id, before a plain `id`."""
    path = tmp_path / "sites.csv"
    pd.DataFrame({"id": [7, 8], header: ["EV0182", "EV0021"], "lon": [114.0, 114.1],
                  "lat": [22.5, 22.6]}).to_csv(path, index=False, encoding="utf-8-sig")
    expected = ["EV0182", "EV0021"] if header != "编号" else ["7", "8"]
    assert read_candidates(path)["candidate_id"].tolist() == expected


@pytest.mark.parametrize(
    ("rows", "field", "row"),
    [
        ({"id": ["a", "b"], "lon": [114.0, "x"], "lat": [22.5, 22.6]}, "lon", 3),
        ({"id": ["a", "a"], "lon": [114.0, 114.1], "lat": [22.5, 22.6]}, "id", 3),
        ({"id": ["a", "b"], "lon": [114.0, 114.1], "lat": [22.5, 22.6], "cost": [1, -2]}, "cost", 3),
        ({"id": ["a", "b"], "lon": [114.0, 114.1], "lat": [22.5, 95.0]}, "lon", 3),
        ({"id": ["a", ""], "lon": [114.0, 114.1], "lat": [22.5, 22.6]}, "id", 3),
    ],
)
def test_read_candidates_errors_name_row_and_field(tmp_path, rows, field: str, row: int) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(InputFileError) as info:
        read_candidates(path)
    assert info.value.row == row and info.value.field == field and info.value.file == str(path)


def test_read_candidates_without_coordinates(tmp_path) -> None:
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"name": ["a"]}).to_csv(path, index=False)
    with pytest.raises(InputFileError, match="经度"):
        read_candidates(path)


def test_upgrade_candidates_add_missing_amenities() -> None:
    stations = gpd.GeoDataFrame(
        {"station_id": ["s1", "s2", "s3"], "name": ["一", "二", "三"],
         "toilet": [True, False, False], "drinking_water": [True, True, False], "capacity": [10.0, np.nan, 4.0]},
        geometry=[Point(114.0, 22.5), Point(114.01, 22.5), Point(114.02, 22.5)], crs="EPSG:4326",
    )
    rules = [make_rule(mode="walk", cutoff="800m", requires="toilet"),
             make_rule(mode="walk", cutoff="500m", requires="drinking_water,first_aid", name="water")]
    assert required_amenities(rules) == {"toilet", "drinking_water", "first_aid"}
    ups = upgrade_candidates(stations, rules)
    assert ups["candidate_id"].tolist() == ["s1", "s2", "s3"]  # first_aid is missing everywhere
    assert ups["amenities_to_add"].tolist() == ["first_aid", "first_aid,toilet", "drinking_water,first_aid,toilet"]
    assert ups["cost"].tolist() == pytest.approx([DEFAULT_UPGRADE_COST * k for k in (1, 2, 3)])
    assert set(ups["kind"]) == {"upgrade"} and ups["station_id"].tolist() == ["s1", "s2", "s3"]
    priced = upgrade_candidates(stations, rules[:1], cost_per_amenity={"toilet": 3.0})
    assert priced["candidate_id"].tolist() == ["s2", "s3"] and priced["cost"].tolist() == [3.0, 3.0]
    assert len(upgrade_candidates(stations, [make_rule(mode="walk", cutoff="1km")])) == 0
    with pytest.raises(ConfigError):
        upgrade_candidates(stations, rules, cost_per_amenity=-1)


def test_spacing_conflicts_and_near_stations() -> None:
    pts = gpd.GeoSeries([Point(114.0, 22.5), Point(114.001, 22.5), Point(114.01, 22.5), Point(114.0105, 22.5)],
                        crs="EPSG:4326")
    pairs = spacing_conflicts(pts, min_spacing_m=200)
    assert pairs.tolist() == [[0, 1], [2, 3]]  # 103 m and 51 m apart; the others ~1 km
    assert spacing_conflicts(pts, min_spacing_m=50).tolist() == []
    stations = gpd.GeoSeries([Point(114.0102, 22.5)], crs="EPSG:4326")
    assert near_stations(pts, stations, min_spacing_m=100).tolist() == [False, False, True, True]
    assert near_stations(pts, stations.iloc[:0], min_spacing_m=100).tolist() == [False] * 4
