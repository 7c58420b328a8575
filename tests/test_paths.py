"""Snapping and shortest paths: exactness against networkx on the real Futian network."""

from __future__ import annotations

import importlib.util
import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from yizhan.geo.network import RoadNetwork, mode_graph, network_from_graph
from yizhan.geo.paths import (
    AT_NODE_M,
    ZERO_COST,
    Snapped,
    facility_tree,
    nearest_facility,
    nearest_table,
    node_costs,
    pairs_within,
    snap,
    unsnapped,
)
from yizhan.stations.coords import to_wgs84

from yizhan.errors import ConfigError
from yizhan.shared import PROJECT_ROOT


def _load_synthetic():
    """Import benchmarks/_synthetic.py by path (benchmarks/ is not a package on sys.path)."""
    spec = importlib.util.spec_from_file_location(
        "yizhan_bench_synthetic", PROJECT_ROOT / "benchmarks" / "_synthetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_synthetic = _load_synthetic()
synthetic_network = _synthetic.synthetic_network
random_points = _synthetic.random_points

# --------------------------------------------------------------------------------------------
# helpers


def _points(lonlat: np.ndarray) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326")


def _split_graph(
    graph: nx.MultiDiGraph, net: RoadNetwork, snaps: dict[str, Snapped], attr: str
) -> nx.MultiDiGraph:
    """Return graph with every snapped point inserted as a node ("kind", i), roads split in order.

    Independent of geo.paths: a plain networkx edge split along each road, both directions
    where the road has them.
    """
    split = nx.MultiDiGraph()
    split.add_nodes_from(graph.nodes)
    for u, v, k, d in graph.edges(keys=True, data=True):
        split.add_edge(u, v, k, w=float(d[attr]), length=float(d["length"]),
                    time=float(d["travel_time"]))
    per_edge: dict[int, list[tuple[float, tuple[str, int]]]] = {}
    for kind, s in snaps.items():
        for i in np.flatnonzero(~s.too_far):
            per_edge.setdefault(int(s.edge[i]), []).append((float(s.fraction[i]), (kind, int(i))))
    for e, pts in per_edge.items():
        pts.sort()
        for forward, edge in ((True, e), (False, int(net.edge_reverse[e]))):
            if edge < 0:
                continue
            a, b = int(net.node_id[net.edge_u[edge]]), int(net.node_id[net.edge_v[edge]])
            key = next(k for k, d in split[a][b].items()
                       if abs(d["length"] - net.edge_length[edge]) < 1e-9)
            d = split[a][b][key]
            split.remove_edge(a, b, key)
            inner = pts if forward else [(1.0 - f, p) for f, p in reversed(pts)]
            seq = [(0.0, a), *inner, (1.0, b)]
            for (f0, n0), (f1, n1) in itertools.pairwise(seq):
                split.add_edge(n0, n1, w=(f1 - f0) * d["w"], length=(f1 - f0) * d["length"],
                            time=(f1 - f0) * d["time"])
            if net.edge_reverse[e] < 0:  # one-way: a point at an end node is at that node
                for f, p in inner:
                    part = {"w": d["w"], "length": d["length"], "time": d["time"]}
                    if f * net.edge_length[e] <= AT_NODE_M:
                        split.add_edge(p, a, **{k: f * v for k, v in part.items()})
                    if (1.0 - f) * net.edge_length[e] <= AT_NODE_M:
                        split.add_edge(b, p, **{k: (1.0 - f) * v for k, v in part.items()})
    return split


def _toward(split: nx.MultiDiGraph, direction: str) -> nx.MultiDiGraph:
    """Return the graph on which a search from the facilities gives ``direction``'s costs:
    turned around for worker -> station (the default), as it is for station -> worker."""
    return split.reverse(copy=True) if direction == "to_facility" else split


def _path_sum(split: nx.MultiDiGraph, path: list, attr: str) -> float:
    """Return the sum of ``attr`` along ``path`` using the cheapest (by ``w``) parallel edge."""
    total = 0.0
    for a, b in itertools.pairwise(path):
        best = min(split[a][b].values(), key=lambda d: d["w"])
        total += best[attr]
    return total


@pytest.fixture(scope="module")
def futian_graph(futian_graphml):
    return ox.load_graphml(futian_graphml)


@pytest.fixture(scope="module")
def futian_points(futian_graph, taxi_csv, ev_stations_csv):
    """Real taxi pick-up/drop-off points (targets) and charging stations (facilities)."""
    lon = np.array([d["x"] for _, d in futian_graph.nodes(data=True)])
    lat = np.array([d["y"] for _, d in futian_graph.nodes(data=True)])
    taxi = pd.read_csv(taxi_csv)
    pts = np.vstack([taxi[["Lng", "Lat"]].to_numpy(), taxi[["ELng", "ELat"]].to_numpy()])
    inside = ((pts[:, 0] >= lon.min()) & (pts[:, 0] <= lon.max())
              & (pts[:, 1] >= lat.min()) & (pts[:, 1] <= lat.max()))
    targets = np.unique(pts[inside], axis=0)
    ev = pd.read_csv(ev_stations_csv)
    elon, elat = to_wgs84(ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), "gcj02")
    near = ((elon >= lon.min() - 0.01) & (elon <= lon.max() + 0.01)
            & (elat >= lat.min() - 0.01) & (elat <= lat.max() + 0.01))
    facilities = np.column_stack([elon[near], elat[near]])
    assert len(targets) > 500 and len(facilities) > 50
    return _points(targets), _points(facilities)


# --------------------------------------------------------------------------------------------
# networkx equality on the real network


@pytest.mark.parametrize(("mode", "direction"), [("drive", "to_facility"),
                                               ("drive", "from_facility"),
                                               ("walk", "to_facility")])
@pytest.mark.parametrize("weight", ["length", "time"])
def test_nearest_equals_networkx_multi_source_dijkstra(futian_graph, futian_points, mode, weight,
                                                       direction):
    """Worker -> station on the one-way streets of the real Futian graph equals networkx's
    multi-source Dijkstra on the reversed graph (and station -> worker on the graph itself)."""
    targets, facilities = futian_points
    net = network_from_graph(futian_graph, mode=mode)
    graph = mode_graph(futian_graph, mode=mode)
    ts, fs = snap(net, targets), snap(net, facilities)
    assert ts.snapped.sum() > 500 and fs.snapped.sum() > 50
    attr = "length" if weight == "length" else "travel_time"
    split = _toward(_split_graph(graph, net, {"f": fs, "t": ts}, attr), direction)
    sources = {("f", int(i)) for i in np.flatnonzero(fs.snapped)}
    dist, paths = nx.multi_source_dijkstra(split, sources, weight="w")
    near = nearest_facility(net, fs, ts, weight=weight, include_access=False,
                            direction=direction)
    ref = np.array([dist.get(("t", i), np.inf) for i in range(len(ts))])
    ref[ts.too_far] = np.inf
    # every demand point: same reachability and the same network cost to 1e-6 m (or s)
    assert np.array_equal(np.isfinite(ref), near.found)
    np.testing.assert_allclose(near.cost[near.found], ref[near.found], rtol=0, atol=1e-6)
    # the chosen facility's own path has that cost; the other weight follows that path
    other = "time" if weight == "length" else "length"
    mine_other = near.time_s if weight == "length" else near.length_m
    for i in np.flatnonzero(near.found):
        fac = ("f", int(near.facility[i]))
        path = paths[("t", int(i))]
        if path[0] != fac:  # a tie between facilities: the chosen one must be as near
            d_f, path = nx.single_source_dijkstra(split, fac, ("t", int(i)), weight="w")
            assert abs(d_f - ref[i]) < 1e-6
        assert abs(_path_sum(split, path, other) - mine_other[i]) < 1e-6 * max(1.0, mine_other[i])


@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_door_to_door_choice_equals_networkx_with_access_legs(futian_graph, futian_points, mode):
    targets, facilities = futian_points
    net = network_from_graph(futian_graph, mode=mode)
    graph = mode_graph(futian_graph, mode=mode)
    ts, fs = snap(net, targets), snap(net, facilities)
    split = _toward(_split_graph(graph, net, {"f": fs, "t": ts}, "travel_time"), "to_facility")
    for i in np.flatnonzero(fs.snapped):  # super source: access legs at walking speed
        split.add_edge("S", ("f", int(i)), w=fs.access_m[i] / net.speed_mps)
    dist = nx.single_source_dijkstra_path_length(split, "S", weight="w")
    limit = 900.0
    near = nearest_facility(net, fs, ts, weight="time", limit=limit)
    ref = np.array([dist.get(("t", i), np.inf) for i in range(len(ts))])
    ref = ref + ts.access_m / net.speed_mps
    ref[ts.too_far | (ref > limit)] = np.inf
    assert np.array_equal(np.isfinite(ref), near.found)
    np.testing.assert_allclose(near.total[near.found], ref[near.found], rtol=0, atol=1e-6)
    f_leg = fs.access_m[near.facility[near.found]] / net.speed_mps
    np.testing.assert_allclose(
        near.cost[near.found] + f_leg + ts.access_m[near.found] / net.speed_mps,
        near.total[near.found], atol=1e-6,
    )
    np.testing.assert_allclose(near.facility_access_m[near.found],
                               fs.access_m[near.facility[near.found]])


@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_facility_tree_gives_every_node_networkx_cost_and_nearest(futian_graph, futian_points,
                                                                   mode):
    _, facilities = futian_points
    net = network_from_graph(futian_graph, mode=mode)
    fs = snap(net, facilities)
    split = _toward(_split_graph(mode_graph(futian_graph, mode=mode), net, {"f": fs},
                                 "travel_time"), "to_facility")
    sources = {("f", int(i)) for i in np.flatnonzero(fs.snapped)}
    limit = 240.0
    dist, paths = nx.multi_source_dijkstra(split, sources, cutoff=limit, weight="w")
    tree = facility_tree(net, fs, weight="time", limit=limit, include_access=False)
    expect = np.array([dist.get(int(n), np.inf) for n in net.node_id])
    assert np.array_equal(np.isfinite(expect), tree.facility >= 0)
    assert 0 < np.isfinite(expect).sum() < net.n_nodes  # the limit cuts the search
    ok = np.isfinite(expect)
    np.testing.assert_allclose(tree.cost[ok], expect[ok], rtol=0, atol=1e-6)
    for i in np.flatnonzero(ok)[::7]:
        path = paths[int(net.node_id[i])]
        if path[0] != ("f", int(tree.facility[i])):  # a tie: the chosen one is as near
            d_f, path = nx.single_source_dijkstra(split, ("f", int(tree.facility[i])),
                                                  int(net.node_id[i]), weight="w")
            assert abs(d_f - expect[i]) < 1e-6
        assert abs(_path_sum(split, path, "length") - tree.other[i]) < 1e-6 * max(
            1.0, tree.other[i])
    assert np.all(np.isinf(tree.cost[~ok])) and np.all(tree.facility[~ok] == -1)


def test_limit_and_node_costs_match_networkx(futian_graph, futian_points):
    _, facilities = futian_points
    net = network_from_graph(futian_graph, mode="drive")
    fs = snap(net, facilities.iloc[:7])
    graph = mode_graph(futian_graph, mode="drive")
    split = _toward(_split_graph(graph, net, {"f": fs}, "length"), "to_facility")
    limit = 1500.0
    for fac, costs in node_costs(net, fs, weight="length", limit=limit, batch=3,
                                 include_access=False):
        for row, j in enumerate(fac):
            ref = nx.single_source_dijkstra_path_length(split, ("f", int(j)), cutoff=limit,
                                                        weight="w")
            expect = np.array([ref.get(int(n), np.inf) for n in net.node_id])
            assert np.array_equal(np.isfinite(expect), np.isfinite(costs[row]))
            ok = np.isfinite(expect)
            np.testing.assert_allclose(costs[row][ok], expect[ok], atol=1e-6)


# --------------------------------------------------------------------------------------------
# snapping


def test_snap_is_exact_nearest_road(futian_graph, futian_points):
    targets, _ = futian_points
    net = network_from_graph(futian_graph, mode="walk")
    s = snap(net, targets)
    roads = net.edge_geometry[net.canonical_edges]
    pts = targets.to_crs(net.crs).to_numpy()
    tree = shapely.STRtree(roads)
    _, brute = tree.query_nearest(pts, return_distance=True, all_matches=False)
    np.testing.assert_allclose(s.access_m, brute, atol=1e-6)
    # the snapped position lies on the chosen road, at the reported fraction
    on = shapely.points(s.x, s.y)
    assert shapely.distance(on, net.edge_geometry[s.edge]).max() < 1e-6
    np.testing.assert_allclose(net.edge_points(s.edge, s.fraction), np.column_stack([s.x, s.y]),
                               atol=1e-6)
    np.testing.assert_allclose(s.offset_m, s.fraction * net.edge_length[s.edge])
    # nearest node is the true nearest node
    d_node = np.hypot(net.x[s.node] - shapely.get_x(pts), net.y[s.node] - shapely.get_y(pts))
    d_all = np.min(np.hypot(net.x[None, :] - shapely.get_x(pts)[:, None],
                            net.y[None, :] - shapely.get_y(pts)[:, None]), axis=1)
    np.testing.assert_allclose(d_node, d_all)


def test_too_far_points_are_listed_not_snapped(futian_graph):
    net = network_from_graph(futian_graph, mode="drive")
    frame = gpd.GeoDataFrame(
        {"demand_id": ["road", "sea", "nowhere"]},
        geometry=[shapely.Point(net.lon[0], net.lat[0]), shapely.Point(113.90, 22.40), None],
        crs="EPSG:4326",
    )
    s = snap(net, frame, max_access_m=300)
    assert s.too_far.tolist() == [False, True, True]
    assert s.edge[1] == -1 and s.node[1] == -1
    assert s.access_m[1] > 10_000  # still reported: how far the nearest road is
    assert np.isnan(s.access_m[2])
    listed = unsnapped(frame, s)
    assert listed["demand_id"].tolist() == ["sea", "nowhere"]
    assert listed["access_m"].iloc[0] == pytest.approx(s.access_m[1])
    assert "300" in listed["reason"].iloc[0]
    near = nearest_facility(net, s.subset(np.array([0])), s, weight="length")
    assert near.facility.tolist() == [0, -1, -1]
    assert near.cost[0] == 0.0 and np.isinf(near.cost[1])


def test_snap_rejects_points_without_crs(futian_graph):
    net = network_from_graph(futian_graph, mode="drive")
    with pytest.raises(ValueError, match="CRS"):
        snap(net, gpd.GeoSeries([shapely.Point(114.0, 22.5)]))


# --------------------------------------------------------------------------------------------
# one-way streets and shared roads on a hand-made network


def _line_network(mode: str, *, oneway: bool) -> RoadNetwork:
    """Three nodes on a straight east-west line, 0 -(100 m)- 1 -(100 m)- 2, plus a 1 km detour
    from 2 back to 0 (north), so a one-way road forces the long way round."""
    x = np.array([500000.0, 500100.0, 500200.0, 500100.0])
    y = np.array([2500000.0, 2500000.0, 2500000.0, 2500400.0])
    roads = [(0, 1, 100.0, oneway), (1, 2, 100.0, False), (2, 3, 500.0, False),
             (3, 0, 500.0, False)]
    eu, ev, ln = [], [], []
    for a, b, length, one in roads:
        eu.append(a)
        ev.append(b)
        ln.append(length)
        if not one:
            eu.append(b)
            ev.append(a)
            ln.append(length)
    geo = shapely.linestrings(
        np.column_stack([np.stack([x[eu], x[ev]], 1).ravel(), np.stack([y[eu], y[ev]], 1).ravel()]),
        indices=np.repeat(np.arange(len(eu)), 2),
    )
    import pyproj

    lon, lat = pyproj.Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True).transform(x, y)
    ln_arr = np.array(ln)
    return RoadNetwork(
        mode=mode, crs="EPSG:32650", node_id=np.arange(4, dtype=np.int64), x=x, y=y,
        lon=np.asarray(lon), lat=np.asarray(lat), edge_u=np.array(eu, dtype=np.int32),
        edge_v=np.array(ev, dtype=np.int32), edge_length=ln_arr, edge_time=ln_arr / 10.0,
        edge_geometry=geo,
    )


def _at(net: RoadNetwork, xy: list[tuple[float, float]]) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(*zip(*xy, strict=True)), crs=net.crs)


def test_one_way_road_respected_in_drive_and_shared_road_direct():
    net = _line_network("drive", oneway=True)
    fac = snap(net, _at(net, [(500030.0, 2500000.0)]))         # on the one-way road 0 -> 1
    tgt = snap(net, _at(net, [(500080.0, 2500000.0), (500010.0, 2500000.0)]))
    # a worker travels to the station: from 80 m on, round 1 -> 2 -> 3 -> 0 -> station; from
    # 10 m, straight along the road (20 m)
    near = nearest_facility(net, fac, tgt, weight="length")
    np.testing.assert_allclose(near.cost, [20 + 100 + 500 + 500 + 30, 20.0])
    np.testing.assert_allclose(near.time_s, near.cost / 10.0)
    # from the station outward it is the other way round
    out = nearest_facility(net, fac, tgt, weight="length", direction="from_facility")
    np.testing.assert_allclose(out.cost, [50.0, 70 + 100 + 500 + 500 + 10])
    pairs = pairs_within(net, fac, tgt, weight="length", limit=5000.0)
    np.testing.assert_allclose(pairs.toarray().ravel(), near.cost)
    walk = _line_network("walk", oneway=False)
    near_w = nearest_facility(walk, snap(walk, _at(walk, [(500030.0, 2500000.0)])),
                              snap(walk, _at(walk, [(500080.0, 2500000.0), (500010.0, 2500000.0)])),
                              weight="length")
    np.testing.assert_allclose(near_w.cost, [50.0, 20.0])


def test_point_at_an_end_of_a_one_way_road_is_at_that_node():
    """A station exactly at node 1, which snaps onto the end of the one-way road 0 -> 1, is
    reached from the two-way road 1 - 2 in 40 m, not round the whole loop; a station at node 0
    (the start of the one-way road) reaches the road 0 - 3 directly."""
    net = _line_network("drive", oneway=True)
    at_1 = snap(net, _at(net, [(500100.0, 2500000.0)]))
    assert net.edge_reverse[at_1.edge[0]] < 0  # it did snap onto the one-way road
    worker = snap(net, _at(net, [(500140.0, 2500000.0)]))
    assert nearest_facility(net, at_1, worker, weight="length").cost[0] == pytest.approx(40.0)
    at_0 = snap(net, _at(net, [(500000.0, 2500000.0)]))
    assert net.edge_reverse[at_0.edge[0]] < 0 and at_0.fraction[0] == 0.0
    dx, dy = 100.0, 400.0
    side = float(np.hypot(dx, dy))
    up_0_3 = snap(net, _at(net, [(500000.0 + 40 * dx / side, 2500000.0 + 40 * dy / side)]))
    out = nearest_facility(net, at_0, up_0_3, weight="length", direction="from_facility")
    assert out.cost[0] == pytest.approx(500.0 * 40.0 / side)  # the road's 500 m over its line


def test_nearest_picks_facility_with_short_access_leg():
    net = _line_network("walk", oneway=False)
    # facility A is 10 m nearer along the road but 200 m off it; B lies on the road
    fac = snap(net, _at(net, [(500060.0, 2499800.0), (500040.0, 2500000.0)]))
    tgt = snap(net, _at(net, [(500000.0, 2500000.0)]))
    door = nearest_facility(net, fac, tgt, weight="length")
    network_only = nearest_facility(net, fac, tgt, weight="length", include_access=False)
    assert door.facility.tolist() == [1]
    assert network_only.facility.tolist() == [1] or network_only.cost[0] <= 40.0
    assert door.total[0] == pytest.approx(40.0)
    assert door.facility_access_m[0] == pytest.approx(0.0)


# --------------------------------------------------------------------------------------------
# pairs_within


def _brute_pairs(net, fs, ts, weight, limit, include_access):
    """All pairs by one networkx single-source run per facility on the split graph."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    attr = net.edge_cost(weight)
    for e in range(net.n_edges):
        graph.add_edge(int(net.node_id[net.edge_u[e]]), int(net.node_id[net.edge_v[e]]),
                   w=float(attr[e]), length=float(net.edge_length[e]),
                   travel_time=float(net.edge_time[e]))
    split = _toward(_split_graph(graph, net, {"f": fs, "t": ts}, "w"), "to_facility")
    out = np.full((len(ts), len(fs)), np.inf)
    leg = (lambda a: a) if weight == "length" else (lambda a: a / net.speed_mps)
    for j in np.flatnonzero(fs.snapped):
        dist = nx.single_source_dijkstra_path_length(split, ("f", int(j)), weight="w")
        for i in np.flatnonzero(ts.snapped):
            c = dist.get(("t", int(i)), np.inf)
            if include_access:
                c = c + leg(fs.access_m[j]) + leg(ts.access_m[i])
            if c <= limit:
                out[i, j] = c
    return out


@pytest.mark.parametrize(("mode", "weight", "include_access"),
                         [("drive", "length", False), ("drive", "time", True),
                          ("walk", "length", True)])
def test_pairs_within_equals_brute_force(mode, weight, include_access):
    net = synthetic_network(400, mode=mode, seed=3)
    pts = random_points(net, 60, seed=5, margin_m=50)
    fs = snap(net, _points(pts[:12]), max_access_m=40)
    ts = snap(net, _points(pts[12:]), max_access_m=40)
    limit = 700.0 if weight == "length" else 80.0
    got = pairs_within(net, fs, ts, weight=weight, limit=limit, batch=5,
                       include_access=include_access)
    ref = _brute_pairs(net, fs, ts, weight, limit, include_access)
    dense = np.full(got.shape, np.inf)
    coo = got.tocoo()
    dense[coo.row, coo.col] = coo.data
    assert got.nnz > 20
    assert np.array_equal(np.isfinite(dense), np.isfinite(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(dense[ok], np.maximum(ref[ok], ZERO_COST), atol=1e-6)
    # consistent with nearest_facility: the row minimum is the nearest facility's cost
    near = nearest_facility(net, fs, ts, weight=weight, limit=limit,
                            include_access=include_access)
    row_min = np.where(np.isfinite(dense).any(axis=1), dense.min(axis=1), np.inf)
    value = near.total if include_access else near.cost
    np.testing.assert_allclose(np.where(near.found, np.maximum(value, ZERO_COST), np.inf),
                               row_min, atol=1e-6)


def test_pairs_within_stores_zero_cost_as_epsilon():
    net = _line_network("walk", oneway=False)
    pts = _at(net, [(500050.0, 2500000.0)])
    s = snap(net, pts)
    got = pairs_within(net, s, s, weight="length", limit=10.0)
    assert got.nnz == 1 and got.data[0] == ZERO_COST


def test_unknown_weight_is_a_config_error():
    net = _line_network("walk", oneway=False)
    s = snap(net, _at(net, [(500050.0, 2500000.0)]))
    with pytest.raises(ConfigError, match="weight"):
        nearest_facility(net, s, s, weight="minutes")


def test_results_are_deterministic_and_tabulated():
    net = synthetic_network(2500, mode="ebike", seed=11)
    pts = _points(random_points(net, 300, seed=2))
    a = nearest_facility(net, snap(net, pts[:20]), snap(net, pts), weight="time", limit=300)
    b = nearest_facility(net, snap(net, pts[:20]), snap(net, pts), weight="time", limit=300)
    for field in ("facility", "cost", "total", "length_m", "time_s"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    table = nearest_table(a, facility_ids=[f"S{i}" for i in range(20)])
    assert len(table) == 300
    assert set(table["facility"].dropna()) <= {f"S{i}" for i in range(20)}


def test_snap_grid_exact_far_outside_and_threaded(monkeypatch):
    import yizhan.geo.paths as gp

    net = synthetic_network(3000, mode="drive", seed=9)
    rng = np.random.default_rng(4)
    # near roads, in blocks, outside the network's extent, and kilometres away
    xy = np.vstack([
        np.column_stack([rng.uniform(net.x.min(), net.x.max(), 400),
                         rng.uniform(net.y.min(), net.y.max(), 400)]),
        np.column_stack([rng.uniform(net.x.min() - 3000, net.x.min() - 100, 30),
                         rng.uniform(net.y.min() - 3000, net.y.max() + 3000, 30)]),
    ])
    pts = gpd.GeoSeries(shapely.points(xy), crs=net.crs)
    monkeypatch.setattr(gp, "_THREAD_BLOCK", 50)
    monkeypatch.setattr(gp, "_THREADS", 3)
    s = snap(net, pts, max_access_m=400)
    roads = net.edge_geometry[net.canonical_edges]
    _, brute = shapely.STRtree(roads).query_nearest(shapely.points(xy), return_distance=True,
                                                    all_matches=False)
    np.testing.assert_allclose(s.access_m, brute, atol=1e-6)
    assert np.array_equal(s.too_far, brute > 400)
    assert s.too_far.sum() >= 20 and (~s.too_far).sum() >= 400
    on_road = shapely.points(s.x[~s.too_far], s.y[~s.too_far])
    assert shapely.distance(on_road, net.edge_geometry[s.edge[~s.too_far]]).max() < 1e-6
    d_node = np.hypot(net.x[None, :] - xy[~s.too_far, :1], net.y[None, :] - xy[~s.too_far, 1:])
    np.testing.assert_array_equal(s.node[~s.too_far], np.argmin(d_node, axis=1))


def test_snap_ties_go_to_the_lower_road_whatever_the_threads(monkeypatch):
    import yizhan.geo.paths as gp

    # two parallel roads 20 m apart: points on the middle line are equally near both
    net = RoadNetwork(
        mode="walk", crs="EPSG:32650", node_id=np.arange(4), x=np.array([0.0, 100, 0, 100]),
        y=np.array([0.0, 0, 20, 20]), lon=np.zeros(4), lat=np.zeros(4),
        edge_u=np.array([2, 3, 0, 1], dtype=np.int32),
        edge_v=np.array([3, 2, 1, 0], dtype=np.int32),
        edge_length=np.full(4, 100.0), edge_time=np.full(4, 72.0),
    )
    xs = np.linspace(1.0, 99.0, 400)
    pts = gpd.GeoSeries(shapely.points(xs, np.full(400, 10.0)), crs=net.crs)
    one = snap(net, pts)
    monkeypatch.setattr(gp, "_THREAD_BLOCK", 10)
    monkeypatch.setattr(gp, "_THREADS", 4)
    many = snap(net, pts)
    assert set(one.edge.tolist()) == {0}  # the road with the lower index (2 -> 3)
    for name in ("edge", "fraction", "access_m", "node", "x", "y"):
        assert np.array_equal(getattr(one, name), getattr(many, name)), name
    np.testing.assert_allclose(one.access_m, 10.0)


def test_worker_threads_setting(monkeypatch):
    from yizhan.geo.paths import worker_threads

    from yizhan.settings import THREADS_ENV

    monkeypatch.setenv(THREADS_ENV, "3")
    assert worker_threads() == 3
    for bad in ("", "0", "-2", "many"):
        monkeypatch.setenv(THREADS_ENV, bad)
        assert 1 <= worker_threads() <= 4


def test_no_facilities_means_no_nearest_anywhere():
    net = synthetic_network(800, mode="walk", seed=5)
    pts = _points(random_points(net, 30, seed=1))
    targets = snap(net, pts)
    none = targets.subset(np.zeros(len(targets), dtype=bool))
    near = nearest_facility(net, none, targets, weight="length", limit=500)
    assert not near.found.any() and np.isinf(near.cost).all() and np.isnan(
        near.facility_access_m).all()
    tree = facility_tree(net, none, weight="time")
    assert (tree.facility == -1).all() and np.isinf(tree.cost).all()


@pytest.mark.parametrize(("mode", "weight"), [("drive", "time"), ("walk", "length"),
                                              ("ebike", "length")])
def test_two_nearest_equals_the_two_best_pairs(mode, weight):
    """The backup station: each target's two nearest distinct stations, door to door, equal the
    two cheapest of all its pairs (pairs_within, itself checked against networkx above)."""
    from yizhan.geo.paths import two_nearest

    net = synthetic_network(400, mode=mode, seed=4)
    pts = random_points(net, 90, seed=6, margin_m=50)
    fs = snap(net, _points(pts[:15]), max_access_m=40)
    ts = snap(net, _points(pts[15:]), max_access_m=40)
    limit = 900.0 if weight == "length" else 100.0
    two = two_nearest(net, fs, ts, weight=weight, limit=limit)
    pairs = pairs_within(net, fs, ts, weight=weight, limit=limit, include_access=True).toarray()
    pairs[pairs == 0] = np.inf
    expect = np.sort(pairs, axis=1)[:, :2]
    np.testing.assert_allclose(np.where(np.isfinite(expect), expect, -1),
                               np.where(np.isfinite(two.total), two.total, -1), atol=1e-6)
    assert (two.count == np.isfinite(expect).sum(axis=1)).all()
    assert (two.count == 2).sum() > 5 and (two.count < 2).sum() > 0
    # the first column is the nearest facility's cost
    near = nearest_facility(net, fs, ts, weight=weight, limit=limit)
    np.testing.assert_allclose(np.where(near.found, near.total, -1),
                               np.where(two.count > 0, two.total[:, 0], -1), atol=1e-6)
    picked = np.take_along_axis(pairs, np.maximum(two.facility, 0), axis=1)
    ok = two.facility >= 0
    np.testing.assert_allclose(picked[ok], two.total[ok], atol=1e-6)
