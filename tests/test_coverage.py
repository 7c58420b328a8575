"""Network coverage per rule and admin area, and E2SFCA accessibility.

Synthetic: hand-built networks whose answers follow from the geometry.  Real world: the Futian
road graph with real taxi pick-ups as demand and real charging stations (GCJ-02) as stations,
checked point by point against networkx ``multi_source_dijkstra`` on the same graph.  Errors and
the CLI end to end.
"""

from __future__ import annotations

import itertools
import json
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import box
from yizhan.geo.coverage import (
    CSV_BASE_COLUMNS,
    OUTSIDE_AREA,
    RULE_COLUMNS,
    compute_coverage,
    decay_weights,
    e2sfca,
    qualifying_stations,
)
from yizhan.geo.network import MODES, RoadNetwork
from yizhan.geo.paths import AT_NODE_M, Snapped, snap
from yizhan.geo.rules import make_rule
from yizhan.geo.sources import build_network

from yizhan.errors import ConfigError, InputFileError

CRS = "EPSG:32650"
_FWD = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
_INV = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
X0, Y0 = _FWD.transform(114.05, 22.54)
WALK_MPS = MODES["walk"].access_speed_kmh / 3.6


# --------------------------------------------------------------------------------------------
# Hand-built networks


def make_net(
    xy: list[tuple[float, float]], roads: list[tuple[int, int]], *, mode: str = "walk"
) -> RoadNetwork:
    """Return a straight-edged network; ``xy`` in metres from (X0, Y0), roads two-way."""
    pts = np.asarray(xy, dtype=float)
    x, y = X0 + pts[:, 0], Y0 + pts[:, 1]
    lon, lat = _INV.transform(x, y)
    a = np.array([r[0] for r in roads])
    b = np.array([r[1] for r in roads])
    eu = np.concatenate([a, b]).astype(np.int32)
    ev = np.concatenate([b, a]).astype(np.int32)
    length = np.hypot(x[eu] - x[ev], y[eu] - y[ev])
    speed = MODES[mode].default_speed_kmh / 3.6
    return RoadNetwork(
        mode=mode, crs=CRS, node_id=np.arange(len(x), dtype=np.int64) + 100,
        x=x, y=y, lon=np.asarray(lon), lat=np.asarray(lat),
        edge_u=eu, edge_v=ev, edge_length=length, edge_time=length / speed,
    )


def points(xy: list[tuple[float, float]], **columns: object) -> gpd.GeoDataFrame:
    """Return EPSG:4326 points at metre offsets from (X0, Y0), with extra columns."""
    pts = np.asarray(xy, dtype=float)
    lon, lat = _INV.transform(X0 + pts[:, 0], Y0 + pts[:, 1])
    return gpd.GeoDataFrame(dict(columns), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


@pytest.fixture
def line():
    """Five nodes 100 m apart on an east-west road, two stations, five demand points.

    Station A (node 0) has a toilet and 10 seats; station B (node 4) has none and no known
    capacity.  Demand (weights 1..5): on the road at 50 m; 30 m north of the road at 150 m; on the
    road at 240 m and 350 m; 2 km north (off the network).
    """
    net = make_net([(100.0 * i, 0.0) for i in range(5)], [(i, i + 1) for i in range(4)])
    stations = points(
        [(0.0, 0.0), (400.0, 0.0)], station_id=["A", "B"], toilet=[True, False],
        capacity=[10.0, np.nan],
    )
    demand = points(
        [(50.0, 0.0), (150.0, 30.0), (240.0, 0.0), (350.0, 0.0), (200.0, 2000.0)],
        demand_id=["d0", "d1", "d2", "d3", "d4"], weight=[1.0, 2.0, 3.0, 4.0, 5.0],
        group=["rider", "sanitation", "sanitation", "rider", "sanitation"],
    )
    return net, stations, demand


# --------------------------------------------------------------------------------------------
# Synthetic


def test_qualifying_stations_amenities_and_standard() -> None:
    frame = pd.DataFrame({
        "toilet": [True, False, True, np.nan],
        "drinking_water": [True, True, False, True],
    })
    assert qualifying_stations(frame, make_rule(mode="walk", cutoff="1km")).tolist() == [True] * 4
    rule = make_rule(mode="walk", cutoff="1km", requires="toilet")
    assert qualifying_stations(frame, rule).tolist() == [True, False, True, False]
    rule = make_rule(mode="walk", cutoff="1km", requires="toilet,drinking_water")
    assert qualifying_stations(frame, rule).tolist() == [True, False, False, False]
    # an amenity column that is absent means "not recorded": nobody qualifies
    rule = make_rule(mode="walk", cutoff="1km", requires="shower")
    assert not qualifying_stations(frame, rule).any()
    # a standard requires all of its items (xinhui-7: seven of them)
    from yizhan.stations.standards import load_standard

    keys = load_standard("xinhui-7").required
    full = pd.DataFrame({k: [True, True] for k in keys})
    full.loc[1, keys[-1]] = False
    rule = make_rule(mode="walk", cutoff="1km", standard="xinhui-7")
    assert qualifying_stations(full, rule).tolist() == [True, False]


def test_distance_rule_on_line(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m", requires="toilet", name="toilet")
    res = compute_coverage({"walk": net}, stations, demand, rule)
    t = res.table
    assert t["demand_id"].tolist() == ["d0", "d1", "d2", "d3", "d4"]
    # only station A has a toilet; costs follow from the geometry
    assert t["toilet_station_id"].tolist() == ["A", "A", "A", "A", ""]
    np.testing.assert_allclose(t["toilet_network_m"].to_numpy()[:4], [50, 150, 240, 350],
                               atol=1e-6)
    np.testing.assert_allclose(t["toilet_access_m"].to_numpy()[:4], [0, 30, 0, 0], atol=1e-6)
    np.testing.assert_allclose(t["toilet_cost"].to_numpy()[:4], [50, 180, 240, 350], atol=1e-6)
    np.testing.assert_allclose(t["toilet_minutes"].to_numpy()[:4],
                               np.array([50, 150, 240, 350]) / WALK_MPS / 60, rtol=1e-9)
    assert t["toilet_covered"].tolist() == [True, True, True, False, False]
    assert t["toilet_off_network"].tolist() == [False, False, False, False, True]
    # nearest node, as a network node id (not an index); d0, d1, d3 sit half-way between two
    nodes = t["toilet_snapped_node"].tolist()
    assert nodes[0] in {100, 101} and nodes[1] in {101, 102} and nodes[3] in {103, 104}
    assert nodes[2] == 102
    assert pd.isna(t["toilet_snapped_node"].iloc[4])
    # the summary is weighted
    s = res.summary.iloc[0]
    assert s["rule"] == "toilet"
    assert s["n_stations"] == 1
    assert s["demand_weight"] == 15.0
    assert s["covered_weight"] == 6.0
    assert s["covered_share"] == pytest.approx(6.0 / 15.0)
    assert s["n_off_network"] == 1
    assert s["off_network_weight"] == 5.0


def test_search_stops_at_cutoff_when_asked(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m", requires="toilet", name="t")
    res = compute_coverage({"walk": net}, stations, demand, rule, nearest_beyond_cutoff=False)
    assert res.table["t_station_id"].tolist() == ["A", "A", "A", "", ""]
    assert res.table["t_covered"].tolist() == [True, True, True, False, False]


def test_without_amenity_requirement_nearest_station_wins(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m", name="any")
    t = compute_coverage({"walk": net}, stations, demand, rule).table
    assert t["any_station_id"].tolist() == ["A", "A", "B", "B", ""]
    np.testing.assert_allclose(t["any_network_m"].to_numpy()[:4], [50, 150, 160, 50], atol=1e-6)
    assert t["any_covered"].tolist() == [True, True, True, True, False]


def test_time_rule_converts_access_legs_at_walking_speed(line) -> None:
    net, stations, demand = line
    minutes = 180.0 / WALK_MPS / 60.0 + 0.01  # just over the 150 m + 30 m of point d1
    rule = make_rule(mode="walk", cutoff=f"{minutes:.6f}min", requires="toilet", name="t")
    t = compute_coverage({"walk": net}, stations, demand, rule).table
    assert t["t_covered"].tolist() == [True, True, False, False, False]
    np.testing.assert_allclose(t["t_cost"].to_numpy()[1], 180.0 / WALK_MPS / 60.0, rtol=1e-9)
    # the same path on an e-bike network: network part faster, access legs still walked
    ebike = make_net([(100.0 * i, 0.0) for i in range(5)], [(i, i + 1) for i in range(4)],
                     mode="ebike")
    rule = make_rule(mode="ebike", cutoff="2min", requires="toilet", name="e")
    t = compute_coverage({"ebike": ebike}, stations, demand, rule).table
    bike = MODES["ebike"].default_speed_kmh / 3.6
    expected = (150.0 / bike + 30.0 / WALK_MPS) / 60.0
    assert t["e_cost"].iloc[1] == pytest.approx(expected, rel=1e-9)
    assert t["e_minutes"].iloc[1] == pytest.approx(150.0 / bike / 60.0, rel=1e-9)
    assert expected < 2.0
    assert bool(t["e_covered"].iloc[1])


def test_group_rules_and_per_rule_columns(line) -> None:
    net, stations, demand = line
    rules = [
        make_rule(mode="walk", cutoff="250m", group="sanitation", requires="toilet"),
        make_rule(mode="walk", cutoff="100m", group="rider", name="rider100"),
    ]
    res = compute_coverage({"walk": net}, stations, demand, rules)
    t = res.table
    san = rules[0].name
    assert san == "sanitation_walk_250m"
    assert t[f"{san}_applies"].tolist() == [False, True, True, False, True]
    assert t[f"{san}_covered"].tolist() == [False, True, True, False, False]
    assert t[f"{san}_station_id"].tolist() == ["", "A", "A", "", ""]  # other groups left blank
    assert t["rider100_covered"].tolist() == [True, False, False, True, False]
    s = res.summary.set_index("rule")
    assert s.loc[san, "demand_weight"] == 2 + 3 + 5
    assert s.loc[san, "covered_weight"] == 2 + 3
    assert s.loc["rider100", "demand_weight"] == 1 + 4
    assert s.loc["rider100", "covered_share"] == 1.0
    d = res.summary_dict()
    assert [r["name"] for r in d["rules"]] == [san, "rider100"]
    assert "covered_share" not in d  # several rules: one entry per rule only
    # alone on its network the group rule snaps only its own group's points: same answers
    alone = compute_coverage({"walk": net}, stations, demand, rules[0]).table
    for suffix in ("station_id", "network_m", "access_m", "covered", "cost", "applies",
                   "off_network", "snapped_node"):
        pd.testing.assert_series_equal(alone[f"{san}_{suffix}"], t[f"{san}_{suffix}"])


def test_admin_areas_sum_to_overall(line) -> None:
    net, stations, demand = line
    boxes = [box(X0 - 50, Y0 - 50, X0 + 200, Y0 + 50), box(X0 + 200, Y0 - 50, X0 + 300, Y0 + 50),
             box(X0 + 100, Y0 - 50, X0 + 300, Y0 + 50)]
    admin = gpd.GeoDataFrame(
        {"admin_name": ["西街道", "东街道", "西街道"]},
        geometry=gpd.GeoSeries(boxes, crs=CRS).to_crs("EPSG:4326").to_numpy(), crs="EPSG:4326",
    )
    rule = make_rule(mode="walk", cutoff="250m", requires="toilet", name="t")
    res = compute_coverage({"walk": net}, stations, demand, rule, admin=admin)
    # first polygon in layer order wins where polygons overlap (d1 at 150 m is in both)
    assert res.table["admin_name"].tolist() == ["西街道", "西街道", "东街道", OUTSIDE_AREA,
                                                OUTSIDE_AREA]
    areas = res.summary[res.summary["level"] == "admin"].set_index("admin_name")
    assert list(areas.index) == ["西街道", "东街道", OUTSIDE_AREA]
    overall = res.summary[res.summary["level"] == "overall"].iloc[0]
    for col in ("demand_weight", "covered_weight", "n_demand", "n_covered", "off_network_weight"):
        assert areas[col].sum() == pytest.approx(overall[col])
    assert areas.loc["西街道", "covered_share"] == 1.0
    assert areas.loc["东街道", "covered_weight"] == 3.0
    assert areas.loc[OUTSIDE_AREA, "demand_weight"] == 9.0
    d = res.summary_dict()
    assert d["covered_share"] == pytest.approx(6 / 15)
    assert [a["admin_name"] for a in d["by_area"]] == ["西街道", "东街道", OUTSIDE_AREA]


def test_no_qualifying_station(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="1km", requires="shower", name="s")
    res = compute_coverage({"walk": net}, stations, demand, rule)
    assert not res.table["s_covered"].any()
    assert (res.table["s_station_id"] == "").all()
    assert res.summary.iloc[0]["n_stations"] == 0
    assert res.summary.iloc[0]["covered_weight"] == 0.0


def test_station_off_network_cannot_serve(line, caplog) -> None:
    net, stations, demand = line
    far = points([(0.0, 3000.0)], station_id=["Z"], toilet=[True], capacity=[5.0])
    both = pd.concat([far, stations.iloc[[1]]], ignore_index=True)
    rule = make_rule(mode="walk", cutoff="250m", requires="toilet", name="t")
    res = compute_coverage({"walk": net}, both, demand, rule)
    assert not res.table["t_covered"].any()
    assert "cannot serve" in caplog.text


def test_errors(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="drive", cutoff="5min")
    with pytest.raises(ConfigError, match="drive"):
        compute_coverage({"walk": net}, stations, demand, rule)
    with pytest.raises(ConfigError, match="group"):
        compute_coverage({"walk": net}, stations, demand.drop(columns="group"),
                         make_rule(mode="walk", cutoff="1km", group="rider"))
    bad = demand.copy()
    bad.loc[2, "weight"] = 0.0
    with pytest.raises(InputFileError, match="weight"):
        compute_coverage({"walk": net}, stations, bad, make_rule(mode="walk", cutoff="1km"))
    with pytest.raises(InputFileError, match="station_id"):
        compute_coverage({"walk": net}, stations.drop(columns="station_id"), demand,
                         make_rule(mode="walk", cutoff="1km"))
    with pytest.raises(ConfigError, match="重复"):
        compute_coverage({"walk": net}, stations, demand,
                         [make_rule(mode="walk", cutoff="1km")] * 2)
    with pytest.raises(InputFileError, match="admin_name"):
        compute_coverage({"walk": net}, stations, demand, make_rule(mode="walk", cutoff="1km"),
                         admin=gpd.GeoDataFrame({"x": [1]}, geometry=[box(0, 0, 1, 1)],
                                                crs="EPSG:4326"))


def test_csv_and_json_are_deterministic(line, tmp_path) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m", requires="toilet", name="t")
    a = compute_coverage({"walk": net}, stations, demand, rule, accessibility=True)
    b = compute_coverage({"walk": net}, stations, demand, rule, accessibility=True)
    a.to_csv(tmp_path / "a.csv")
    b.to_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    frame = pd.read_csv(tmp_path / "a.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(frame.columns[: len(CSV_BASE_COLUMNS)]) == list(CSV_BASE_COLUMNS)
    assert "t_e2sfca" in frame.columns
    assert [c for c in frame.columns if c.startswith("t_")] == [f"t_{c}" for c in (*RULE_COLUMNS, "e2sfca")]
    a.write_summary_json(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert data["covered_weight"] == 6.0
    assert data["rules"][0]["cutoff"] == "250m"


# --------------------------------------------------------------------------------------------
# E2SFCA


def test_decay_weights() -> None:
    r = np.array([0.0, 0.2, 0.5, 0.9, 1.0, 1.2])
    g = decay_weights(r, "gaussian")
    assert g[0] == pytest.approx(1.0)
    assert g[4] == pytest.approx(0.0, abs=1e-12)
    assert g[5] == 0.0
    assert np.all(np.diff(g) <= 0)
    assert decay_weights(r, "step").tolist() == [1.0, 1.0, 0.68, 0.22, 0.22, 0.0]
    assert decay_weights(r, "uniform").tolist() == [1, 1, 1, 1, 1, 0]
    with pytest.raises(ConfigError):
        decay_weights(r, "cubic")


def _reference_graph(net: RoadNetwork, weight: str, groups: dict[str, Snapped]) -> nx.MultiDiGraph:
    """Return the network as networkx with every snapped point inserted on its road.

    Point ``(name, i)`` sits on its edge at its fraction (both directions of a two-way road);
    a door node ``("door", name, i)`` joins it with the access leg (one way, point -> road for
    sources is added by the caller's choice of direction: both directions are added here).
    """
    cost = net.edge_length if weight == "length" else net.edge_time
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for e in range(net.n_edges):
        g.add_edge(int(net.edge_u[e]), int(net.edge_v[e]), key=("e", e), w=float(cost[e]))
    rev = net.edge_reverse
    on_edge: dict[int, list[tuple[float, object]]] = {}
    for name, s in groups.items():
        for i in np.flatnonzero(~s.too_far):
            on_edge.setdefault(int(s.edge[i]), []).append((float(s.fraction[i]), (name, int(i))))
            leg = float(s.access_m[i]) / (1.0 if weight == "length" else WALK_MPS)
            g.add_edge(("door", name, int(i)), (name, int(i)), key="a", w=leg)
            g.add_edge((name, int(i)), ("door", name, int(i)), key="a", w=leg)
    for e, items in on_edge.items():
        items.sort(key=lambda item: item[0])
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        chain = [(0.0, u), *items, (1.0, v)]
        g.remove_edge(u, v, key=("e", e))
        r = int(rev[e])
        if r >= 0:
            g.remove_edge(v, u, key=("e", r))
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            g.add_edge(a, b, key="s", w=(f1 - f0) * float(cost[e]))
            if r >= 0:
                g.add_edge(b, a, key="s", w=(f1 - f0) * float(cost[r]))
        if r < 0:  # one-way: a point at an end node is at that node (geo.paths.AT_NODE_M)
            for f, point in items:
                if f * net.edge_length[e] <= AT_NODE_M:
                    g.add_edge(point, u, key="n", w=f * float(cost[e]))
                if (1.0 - f) * net.edge_length[e] <= AT_NODE_M:
                    g.add_edge(v, point, key="n", w=(1.0 - f) * float(cost[e]))
    return g


def _brute_e2sfca(net, stations, demand, *, limit, weight, decay, capacity):
    fs = snap(net, stations)
    ts = snap(net, demand)
    g = _reference_graph(net, weight, {"f": fs, "t": ts})
    pop = demand["weight"].to_numpy(float)
    n_t, n_f = len(demand), len(stations)
    d = np.full((n_t, n_f), np.inf)
    for j in range(n_f):
        if fs.too_far[j]:
            continue
        dist = nx.single_source_dijkstra_path_length(g, ("door", "f", j), weight="w")
        for i in range(n_t):
            d[i, j] = dist.get(("door", "t", i), np.inf)

    def w(x):
        r = x / limit
        if r > 1:
            return 0.0
        if decay == "gaussian":
            return (math.exp(-0.5 * r * r) - math.exp(-0.5)) / (1 - math.exp(-0.5))
        if decay == "step":
            return 1.0 if r <= 1 / 3 else 0.68 if r <= 2 / 3 else 0.22
        return 1.0

    ratio = np.zeros(n_f)
    for j in range(n_f):
        denom = sum(pop[i] * w(d[i, j]) for i in range(n_t))
        ratio[j] = capacity[j] / denom if denom > 0 else 0.0
    return np.array([sum(ratio[j] * w(d[i, j]) for j in range(n_f)) for i in range(n_t)])


@pytest.mark.parametrize("decay", ["gaussian", "step", "uniform"])
def test_e2sfca_matches_brute_force(decay: str) -> None:
    # a 4 x 3 grid of 100 m blocks with one missing road
    xy = [(100.0 * c, 100.0 * r) for r in range(3) for c in range(4)]
    roads = [(r * 4 + c, r * 4 + c + 1) for r in range(3) for c in range(3)]
    roads += [(r * 4 + c, (r + 1) * 4 + c) for r in range(2) for c in range(4)]
    roads.remove((5, 6))
    net = make_net(xy, roads)
    stations = points([(0.0, 0.0), (310.0, 120.0), (150.0, 205.0)], station_id=["a", "b", "c"],
                      capacity=[4.0, np.nan, 10.0])
    rng = np.random.default_rng(3)
    dxy = [(float(x), float(y)) for x, y in rng.uniform([-20, -20], [320, 220], (40, 2))]
    demand = points(dxy, weight=rng.uniform(0.5, 3.0, 40))
    for weight, cutoff in (("length", 260.0), ("time", 260.0 / WALK_MPS)):
        got = e2sfca(net, stations, demand, cutoff=cutoff, weight=weight, decay=decay)
        want = _brute_e2sfca(net, stations, demand, limit=cutoff, weight=weight, decay=decay,
                             capacity=np.array([4.0, 7.0, 10.0]))  # NaN -> median of 4 and 10
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        assert (got > 0).sum() > 10  # the case is not trivially empty


def test_e2sfca_capacity_defaults_and_text_cutoff(line) -> None:
    net, stations, demand = line
    a = e2sfca(net, stations, demand, cutoff="250m", weight="length")
    b = e2sfca(net, stations, demand, cutoff=250.0, weight="length")
    np.testing.assert_array_equal(a, b)
    c = e2sfca(net, stations, demand, cutoff=250.0, weight="length", missing_capacity=10.0)
    np.testing.assert_allclose(a, c)  # median of the one known capacity is 10
    nocap = stations.drop(columns="capacity")
    d = e2sfca(net, nocap, demand, cutoff=250.0, weight="length")
    np.testing.assert_allclose(d * 10.0, a)  # every station one seat-equivalent
    assert a[4] == 0.0  # off the network
    with pytest.raises(ConfigError):
        e2sfca(net, stations, demand, cutoff="10min", weight="length")


def test_e2sfca_crowding_lowers_score(line) -> None:
    net, stations, demand = line
    crowded = demand.copy()
    crowded.loc[0, "weight"] = 100.0  # many workers next to station A
    a = e2sfca(net, stations, demand, cutoff=250.0, weight="length")
    b = e2sfca(net, stations, crowded, cutoff=250.0, weight="length")
    assert b[1] < a[1]  # d1 shares station A with the crowd


def test_accessibility_column_in_coverage(line) -> None:
    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m", group="sanitation", name="s")
    res = compute_coverage({"walk": net}, stations, demand, rule, accessibility=True)
    e2 = res.table["s_e2sfca"].to_numpy()
    assert np.isnan(e2[[0, 3]]).all()  # riders: not this rule's group
    sub = demand[demand["group"] == "sanitation"]
    want = e2sfca(net, stations, sub, cutoff=250.0, weight="length")
    np.testing.assert_allclose(e2[[1, 2, 4]], want)
    assert "mean_e2sfca" in res.summary.columns


# --------------------------------------------------------------------------------------------
# Real world: Futian roads, taxi pick-ups, charging stations


@pytest.fixture(scope="module")
def futian(futian_graphml, taxi_csv, ev_stations_csv, tmp_path_factory):
    from yizhan.stations.coords import to_wgs84

    cache = tmp_path_factory.mktemp("netcache")
    nets = {m: build_network(futian_graphml, mode=m, cache_dir=cache) for m in ("walk", "drive")}
    west, south, east, north = (nets["walk"].lon.min(), nets["walk"].lat.min(),
                                nets["walk"].lon.max(), nets["walk"].lat.max())
    taxi = pd.read_csv(taxi_csv)
    inside = taxi["Lng"].between(west, east) & taxi["Lat"].between(south, north)
    taxi = taxi[inside].reset_index(drop=True)
    demand = gpd.GeoDataFrame(
        {"demand_id": taxi["orderid"].astype(int).astype(str), "weight": taxi["price"],
         "group": np.where(taxi["isnight"], "driver", "rider")},
        geometry=gpd.points_from_xy(taxi["Lng"], taxi["Lat"]), crs="EPSG:4326",
    )
    ev = pd.read_csv(ev_stations_csv)
    lon, lat = to_wgs84(ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), "gcj02")
    pad = 0.01
    keep = ((lon > west - pad) & (lon < east + pad) & (lat > south - pad) & (lat < north + pad))
    ev = ev[keep].reset_index(drop=True)
    stations = gpd.GeoDataFrame(
        {"station_id": ev["station_id"].astype(str),
         # stand-in amenity from a real attribute, to exercise the filter on real rows:
         # the larger sites (8 or more charging piles) are taken to have a toilet
         "toilet": ev["count"].to_numpy() >= 8,
         "capacity": ev["count"].astype(float)},
        geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs="EPSG:4326",
    )
    return nets, stations, demand


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "cutoff"), [("walk", "600m"), ("drive", "2min")])
def test_real_network_costs_match_networkx(futian, mode: str, cutoff: str) -> None:
    nets, stations, demand = futian
    net = nets[mode]
    assert len(demand) > 200 and len(stations) > 10  # a real case, not an empty one
    rule = make_rule(mode=mode, cutoff=cutoff, requires="toilet", name="r")
    res = compute_coverage({mode: net}, stations, demand, rule)
    t = res.table
    qual = np.flatnonzero(stations["toilet"].to_numpy())
    assert 0 < len(qual) < len(stations)
    fs = snap(net, stations.iloc[qual])
    ts = snap(net, demand)
    weight = rule.weight
    # workers travel to the stations: the search from the stations runs on the turned graph
    g = _reference_graph(net, weight, {"f": fs, "t": ts}).reverse(copy=True)
    sources = {("door", "f", int(j)) for j in np.flatnonzero(~fs.too_far)}
    # door-to-road legs run one way for stations (out) and targets (in); drop the others
    for j in np.flatnonzero(~fs.too_far):
        g.remove_edge(("f", int(j)), ("door", "f", int(j)), key="a")
    dist, paths = nx.multi_source_dijkstra(g, sources, weight="w")
    fac_leg = fs.access_m if weight == "length" else fs.access_m / WALK_MPS
    ids = stations["station_id"].to_numpy()[qual]
    n_checked = n_same = 0
    for i in range(len(demand)):
        node = ("t", i)
        ours_found = t["r_station_id"].iloc[i] != ""
        if ts.too_far[i] or node not in dist:
            assert not ours_found
            continue
        assert ours_found
        leg_t = ts.access_m[i] if weight == "length" else ts.access_m[i] / WALK_MPS
        cost = t["r_cost"].iloc[i] * (1.0 if weight == "length" else 60.0)
        # door to door: station leg + network + demand leg, to 1e-6 m (or s)
        assert cost == pytest.approx(dist[node] + leg_t, abs=1e-6)
        j = paths[node][0][2]
        network_ref = dist[node] - fac_leg[j]
        ours_network = (t["r_network_m"].iloc[i] if weight == "length"
                        else t["r_minutes"].iloc[i] * 60.0)
        if ids[j] == t["r_station_id"].iloc[i]:
            assert ours_network == pytest.approx(network_ref, abs=1e-6)
            n_same += 1
        n_checked += 1
        assert bool(t["r_covered"].iloc[i]) == (cost <= rule.limit + 1e-9)
    assert n_checked > 200
    assert n_same >= 0.95 * n_checked  # ties between two stations may pick either
    share = t["r_covered"].mean()
    assert 0.1 < share < 0.9  # a discriminating case: many points on each side of the cutoff


@pytest.mark.slow
def test_real_amenity_filter_equals_prefiltered_stations(futian) -> None:
    nets, stations, demand = futian
    rule = make_rule(mode="walk", cutoff="800m", requires="toilet", name="r")
    plain = make_rule(mode="walk", cutoff="800m", name="r")
    a = compute_coverage(nets, stations, demand, rule).table
    b = compute_coverage(nets, stations[stations["toilet"]], demand, plain).table
    for col in ("r_station_id", "r_covered", "r_network_m", "r_access_m"):
        pd.testing.assert_series_equal(a[col], b[col])
    everyone = compute_coverage(nets, stations, demand, plain).table
    # more stations never cover less
    assert (everyone["r_covered"] | ~a["r_covered"]).all()
    assert everyone["r_covered"].sum() > a["r_covered"].sum()


@pytest.mark.slow
def test_rules_searched_at_once_equal_each_rule_alone(futian) -> None:
    nets, stations, demand = futian
    rules = [make_rule(mode="walk", cutoff="800m", requires="toilet", name="w"),
             make_rule(mode="drive", cutoff="3min", name="d"),
             make_rule(mode="walk", cutoff="10min", group="rider", name="g")]
    together = compute_coverage(nets, stations, demand, rules).table
    for rule in rules:
        alone = compute_coverage(nets, stations, demand, rule).table
        cols = [c for c in alone.columns if c.startswith(f"{rule.name}_")]
        assert len(cols) > 5
        pd.testing.assert_frame_equal(together[cols], alone[cols])


@pytest.mark.slow
def test_real_per_area_sums(futian, shared_data) -> None:
    nets, stations, demand = futian
    # 491 traffic-analysis zones in EPSG:3857 (converted on the way in); many cover Futian
    taz = gpd.read_file(shared_data("shenzhen_ev_charging_stations/SZ_districts/SZ_districts.shp"))
    admin = gpd.GeoDataFrame({"admin_name": "TAZ" + taz["TAZID"].astype(int).astype(str)},
                             geometry=taz.geometry, crs=taz.crs)
    rules = [make_rule(mode="walk", cutoff="800m", group="rider", name="walk800"),
             make_rule(mode="drive", cutoff="5min", name="drive5")]
    res = compute_coverage(nets, stations, demand, rules, admin=admin)
    ref = gpd.sjoin(demand, admin.to_crs("EPSG:4326"), how="left", predicate="intersects")
    ref = ref.sort_values("index_right", kind="stable")  # first polygon in layer order wins
    ref = ref[~ref.index.duplicated()].sort_index()["admin_name"].fillna(OUTSIDE_AREA)
    assert res.table["admin_name"].tolist() == ref.tolist()
    n_areas = res.table["admin_name"].nunique()
    assert n_areas > 10
    weight = demand["weight"].to_numpy()
    for rule in rules:
        rows = res.summary[res.summary["rule"] == rule.name]
        overall = rows[rows["level"] == "overall"].iloc[0]
        areas = rows[rows["level"] == "admin"]
        covered = res.table[f"{rule.name}_covered"].to_numpy()
        applies = res.table[f"{rule.name}_applies"].to_numpy()
        assert overall["covered_weight"] == pytest.approx(weight[covered].sum())
        assert overall["demand_weight"] == pytest.approx(weight[applies].sum())
        assert overall["covered_share"] == pytest.approx(weight[covered].sum()
                                                         / weight[applies].sum())
        assert areas["covered_weight"].sum() == pytest.approx(overall["covered_weight"])
        assert areas["demand_weight"].sum() == pytest.approx(overall["demand_weight"])
        for name, row in areas.set_index("admin_name").iterrows():
            inside = (res.table["admin_name"] == name).to_numpy()
            assert row["covered_weight"] == pytest.approx(weight[covered & inside].sum())
            assert row["demand_weight"] == pytest.approx(weight[applies & inside].sum())
    # a weighted share differs from a head count share on real prices
    o = res.summary[(res.summary["rule"] == "drive5") & (res.summary["level"] == "overall")]
    count_share = o["n_covered"].iloc[0] / o["n_demand"].iloc[0]
    assert o["covered_share"].iloc[0] != pytest.approx(count_share, abs=1e-9)


# --------------------------------------------------------------------------------------------
# CLI end to end


@pytest.mark.slow
def test_cli_end_to_end(futian_graphml, taxi_csv, ev_stations_csv, shared_data, tmp_path) -> None:
    from yizhan.scripts.cli import main

    out = tmp_path / "out"
    cache = tmp_path / "cache"
    code = main([
        "-q", "coverage", "--network", str(futian_graphml), "--stations", str(ev_stations_csv),
        "--crs", "gcj02", "--demand", str(taxi_csv), "--demand-crs", "wgs84",
        "--mode", "walk", "--cutoff", "800m", "--out", str(out), "--cache", str(cache),
    ])
    assert code == 0
    csv = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", keep_default_na=False,
                      dtype={"demand_id": str, "all_walk_800m_station_id": str})
    assert list(csv.columns[:6]) == list(CSV_BASE_COLUMNS)
    # one layout whatever the number of rules: per-rule columns carry the rule's name
    csv = csv.rename(columns=lambda c: c.removeprefix("all_walk_800m_"))
    taxi = pd.read_csv(taxi_csv)
    assert len(csv) == len(taxi)
    assert csv["demand_id"].tolist() == taxi["orderid"].astype(str).tolist()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    covered = csv["covered"].astype(str).str.lower() == "true"
    assert summary["demand_weight"] == pytest.approx(len(csv))  # no weight column: 1 each
    assert summary["covered_weight"] == pytest.approx(covered.sum())
    assert 0 < summary["covered_share"] < 1
    # most taxi pick-ups are outside the small Futian graph: flagged, not covered
    assert summary["rules"][0]["n_off_network"] > len(csv) // 2
    assert (csv.loc[covered, "network_m"].astype(float) + csv.loc[covered, "access_m"]
            .astype(float) <= 800 + 1e-6).all()

    # several rules from a TOML file, per district
    cfg = tmp_path / "rules.toml"
    cfg.write_text(
        '[[rules]]\nname = "walk800"\nmode = "walk"\ncutoff = "800m"\n\n'
        '[[rules]]\nname = "drive5"\nmode = "drive"\ncutoff = "5 分钟"\n',
        encoding="utf-8",
    )
    out2 = tmp_path / "out2"
    code = main([
        "-q", "coverage", "--network", str(futian_graphml), "--stations", str(ev_stations_csv),
        "--crs", "gcj02", "--demand", str(taxi_csv), "--demand-crs", "wgs84",
        "--config", str(cfg), "--admin", str(shared_data("shenzhen_taxi_trips/sz_boundary/sz.shp")),
        "--out", str(out2), "--cache", str(cache),
    ])
    assert code == 0
    csv2 = pd.read_csv(out2 / "coverage.csv", encoding="utf-8-sig", keep_default_na=False)
    for name in ("walk800", "drive5"):
        for suffix in ("station_id", "network_m", "minutes", "access_m", "covered",
                       "snapped_node"):
            assert f"{name}_{suffix}" in csv2.columns
    pd.testing.assert_series_equal(csv2["walk800_covered"], csv["covered"],
                                   check_names=False)
    summary2 = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in summary2["rules"]] == ["walk800", "drive5"]
    for entry in summary2["rules"]:
        assert sum(a["demand_weight"] for a in entry["by_area"]) == pytest.approx(
            entry["demand_weight"])
        assert "福田" in {a["admin_name"] for a in entry["by_area"]}

    # bad input: a clear message and exit code 2
    code = main(["-q", "coverage", "--network", str(futian_graphml), "--stations",
                 str(ev_stations_csv), "--demand", str(taxi_csv), "--mode", "walk",
                 "--cutoff", "800", "--out", str(tmp_path / "x")])
    assert code == 2


def test_per_area_rows_count_the_area_own_stations(line) -> None:
    """Station A lies in the west area, B in the east: each area row counts its own station."""
    from shapely.geometry import box

    net, stations, demand = line
    rule = make_rule(mode="walk", cutoff="250m")
    xs = stations.geometry.x.to_numpy()
    mid = float(xs.mean())
    admin = gpd.GeoDataFrame({"admin_name": ["西 W", "东 E"]},
                             geometry=[box(-180, -90, mid, 90), box(mid, -90, 180, 90)],
                             crs="EPSG:4326")
    res = compute_coverage({"walk": net}, stations, demand, rule, admin=admin)
    rows = res.summary[res.summary["level"] == "admin"].set_index("admin_name")
    assert rows["n_stations"].to_dict() == {"西 W": 1, "东 E": 1}
    assert int(res.summary.loc[res.summary["level"] == "overall", "n_stations"].iloc[0]) == 2


@pytest.mark.parametrize(("mode", "cutoff"), [("walk", "800m"), ("drive", "3min"),
                                             ("walk", "15min")])  # the 双15 circle
def test_covered_twice_counts_a_second_station_within_the_cutoff(futian, mode, cutoff) -> None:
    """双15: demand reached by more than one station. A point is covered twice when two
    distinct qualifying stations lie within the cutoff door to door (every pair, brute force)."""
    from yizhan.geo.paths import pairs_within

    nets, stations, demand = futian
    net = nets[mode]
    rule = make_rule(mode=mode, cutoff=cutoff, name="r")
    res = compute_coverage({mode: net}, stations, demand, rule)
    t = res.table
    fs, ts = snap(net, stations), snap(net, demand)
    pairs = pairs_within(net, fs, ts, weight=rule.weight, limit=rule.limit, include_access=True)
    n_within = np.diff(pairs.indptr)
    expect = n_within >= 2
    assert expect.sum() > 20 and (~expect & t["r_covered"].to_numpy(bool)).sum() > 0
    assert t["r_covered_twice"].to_numpy(bool).tolist() == expect.tolist()
    # the backup station is a second one, within the cutoff
    ids = stations["station_id"].astype(str).to_numpy()
    for i in np.flatnonzero(expect)[:50]:
        row = pairs.getrow(i)
        within = set(ids[row.indices])
        assert t["r_backup_station_id"].iloc[i] in within
        assert t["r_backup_station_id"].iloc[i] != t["r_station_id"].iloc[i]
    overall = res.summary[res.summary["level"] == "overall"].iloc[0]
    w = t["weight"].to_numpy(float)
    assert overall["covered_twice_share"] == pytest.approx(w[expect].sum() / w.sum())
