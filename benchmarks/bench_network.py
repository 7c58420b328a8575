"""Benchmark: yizhan's road-network primitives against the networkx/osmnx way, same data, one run.

Run by hand (never by pytest)::

    .venv/bin/python benchmarks/bench_network.py            # 500k nodes, 1M points (~5 min)
    .venv/bin/python benchmarks/bench_network.py --quick    # 100k nodes, 200k points

Stages (targets from issue 3):

1. load a cached network: ``load_network`` (npz) vs ``osmnx.load_graphml``   (target < 5 s)
2. build the cost structure: CSR matrix vs a networkx MultiDiGraph              (cheap)
3. snap points to the nearest road: ``snap`` vs ``osmnx.distance.nearest_edges`` (~1 s / 1M)
4. one multi-source Dijkstra with a cutoff: ``nearest_facility`` (and the bare
   ``scipy.sparse.csgraph.dijkstra``) vs ``networkx.multi_source_dijkstra``   (~1 s)
5. real data: the Futian network, taxi points and charging stations, networkx vs yizhan,
   with the largest difference in metres.

Each yizhan timing is the best of ``--repeat`` runs (the machine may be shared); the one-off
index builds (snapping grid, CSR) are reported separately from the queries.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pyproj

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yizhan.geo.netcache import load_network, save_network
from yizhan.geo.network import RoadNetwork, network_from_graph
from yizhan.geo.paths import nearest_facility, snap

from benchmarks._synthetic import random_points, synthetic_network
from yizhan.shared import shared_data_dir

ROWS: list[tuple[str, float | None, float | None, str]] = []


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def row(stage: str, ours: float | None, theirs: float | None, target: str = "") -> None:
    ROWS.append((stage, ours, theirs, target))
    ratio = f"{theirs / ours:8.1f}x" if ours and theirs else " " * 9
    o = f"{ours:9.3f}" if ours is not None else " " * 9
    t = f"{theirs:9.3f}" if theirs is not None else " " * 9
    print(f"{stage:<48} {o} {t} {ratio}  {target}", flush=True)


def to_networkx(net: RoadNetwork) -> nx.MultiDiGraph:
    """The same network as an osmnx-style projected MultiDiGraph."""
    graph = nx.MultiDiGraph(crs=net.crs)
    ids = net.node_id
    graph.add_nodes_from((int(i), {"x": float(x), "y": float(y)})
                         for i, x, y in zip(ids, net.x, net.y, strict=True))
    graph.add_edges_from(
        (int(ids[u]), int(ids[v]), {"length": float(ln), "travel_time": float(tt), "geometry": g})
        for u, v, ln, tt, g in zip(net.edge_u, net.edge_v, net.edge_length, net.edge_time,
                                   net.edge_geometry, strict=True)
    )
    return graph


def synthetic_stages(n_nodes: int, n_points: int, n_facilities: int, repeat: int,
                     baseline: bool) -> None:
    print(f"\n== synthetic network, {n_nodes:,} nodes; {n_points:,} points; "
          f"{n_facilities:,} facilities ==")
    print(f"{'stage':<48} {'yizhan s':>9} {'nx/ox s':>9} {'ratio':>9}  target")
    t_gen, net = timed(lambda: synthetic_network(n_nodes, mode="drive", seed=0))
    print(f"(generated {net.n_nodes:,} nodes / {net.n_edges:,} edges in {t_gen:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="yizhan-bench-") as tmp:
        npz = Path(tmp) / "net.npz"
        t_save, _ = timed(lambda: save_network(net, npz))
        t_load, loaded = timed(lambda: load_network(npz), repeat)
        t_nx_load = None
        graph = None
        if baseline:
            t_build_nx, graph = timed(lambda: to_networkx(net))
            graphml = Path(tmp) / "net.graphml"
            t_nx_save, _ = timed(lambda: ox.save_graphml(graph, graphml))
            t_nx_load, _ = timed(lambda: ox.load_graphml(graphml))
            print(f"(networkx graph built in {t_build_nx:.1f} s, GraphML written in "
                  f"{t_nx_save:.1f} s; npz written in {t_save:.1f} s, "
                  f"{npz.stat().st_size / 2**20:.0f} MiB)")
        row("1 load cached network (npz vs GraphML)", t_load, t_nx_load, "< 5 s")
    net = loaded
    t_csr, _ = timed(lambda: net.matrix("time"))
    t_rev, _ = timed(lambda: net.edge_reverse)
    row("2 CSR matrix (once per weight)", t_csr, t_build_nx if baseline else None, "cheap")
    row("  two-way road pairing (once)", t_rev, None)

    pts = random_points(net, n_points, seed=3)
    points = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs="EPSG:4326")
    t_index, _ = timed(lambda: snap(net, points.iloc[:10]))
    t_snap, snapped = timed(lambda: snap(net, points), repeat)
    t_ox = None
    if baseline:
        x, y = pyproj.Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(
            pts[:, 0], pts[:, 1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ox, (_, ox_dist) = timed(lambda: ox.distance.nearest_edges(graph, x, y,
                                                                         return_dist=True))
        diff = np.nanmax(np.abs(np.asarray(ox_dist) - snapped.access_m))
        print(f"(snapping: largest difference to osmnx's distance {diff:.2e} m)")
    row("  snapping grid (once per network)", t_index, None)
    row(f"3 snap {n_points:,} points (exact, edge + node)", t_snap, t_ox, "~1 s / 1M")

    rng = np.random.default_rng(5)
    fac_rows = rng.choice(n_points, n_facilities, replace=False)
    facilities = snapped.subset(fac_rows)
    limit = 900.0
    t_near, near = timed(lambda: nearest_facility(net, facilities, snapped, weight="time",
                                                  limit=limit), repeat)
    from scipy.sparse.csgraph import dijkstra

    src_nodes = np.unique(net.edge_u[facilities.edge[facilities.snapped]])
    t_dij, dist = timed(lambda: dijkstra(net.matrix("time"), indices=src_nodes,
                                         min_only=True, limit=limit), repeat)
    t_nx = None
    if baseline:
        sources = [int(net.node_id[i]) for i in src_nodes]
        t_nx, ref = timed(lambda: nx.multi_source_dijkstra_path_length(
            graph, sources, cutoff=limit, weight="travel_time"))
        expect = np.array([ref.get(int(i), np.inf) for i in net.node_id])
        ok = np.isfinite(expect)
        assert np.array_equal(ok, np.isfinite(dist))
        print(f"(node costs equal networkx: max diff {np.abs(expect[ok] - dist[ok]).max():.1e} s)")
    row(f"4 Dijkstra, {len(src_nodes):,} sources, {net.n_nodes:,} nodes", t_dij, t_nx, "~1 s")
    row(f"  nearest_facility incl. edges, {n_points:,} targets", t_near, None)
    print(f"(covered within {limit:.0f} s: {near.found.mean():.1%})")


def futian_stage(repeat: int) -> None:
    data = shared_data_dir()
    graphml = data / "shenzhen_futian_roads" / "shenzhen_futian_G.graphml"
    taxi = data / "shenzhen_taxi_trips" / "taxi-price.csv"
    if not graphml.exists() or not taxi.exists():
        print("\n(real data not found; Futian stage skipped)")
        return
    import pandas as pd

    print("\n== real data: Shenzhen Futian drive network, taxi points ==")
    print(f"{'stage':<48} {'yizhan s':>9} {'nx/ox s':>9} {'ratio':>9}")
    t_nx_load, graph = timed(lambda: ox.load_graphml(graphml))
    t_build, net = timed(lambda: network_from_graph(graph, mode="drive"))
    row("GraphML -> RoadNetwork (filter, project)", t_build, t_nx_load)
    frame = pd.read_csv(taxi)
    inside = (frame["Lng"].between(net.lon.min(), net.lon.max())
              & frame["Lat"].between(net.lat.min(), net.lat.max()))
    points = gpd.GeoSeries(gpd.points_from_xy(frame.loc[inside, "Lng"], frame.loc[inside, "Lat"]),
                           crs="EPSG:4326")
    t_snap, targets = timed(lambda: snap(net, points), repeat)
    facilities = targets.subset(np.arange(0, len(targets), 25))
    t_near, near = timed(lambda: nearest_facility(net, facilities, targets, weight="length",
                                                  include_access=False), repeat)
    # networkx on nodes: facilities and targets at their nearest nodes
    ids = net.node_id
    src = {int(ids[i]) for i in facilities.node[facilities.snapped]}
    from yizhan.geo.network import mode_graph

    drive = mode_graph(graph, mode="drive")
    t_nx, ref = timed(lambda: nx.multi_source_dijkstra_path_length(drive, src, weight="length"))
    from scipy.sparse.csgraph import dijkstra

    t_dij, dist = timed(lambda: dijkstra(net.matrix("length"),
                                         indices=np.unique(facilities.node[facilities.snapped]),
                                         min_only=True), repeat)
    expect = np.array([ref.get(int(i), np.inf) for i in ids])
    ok = np.isfinite(expect)
    row(f"snap {len(points):,} taxi points", t_snap, None)
    row(f"nearest_facility, {len(targets):,} targets", t_near, None)
    row("node Dijkstra (scipy vs networkx)", t_dij, t_nx)
    print(f"(node distances: max difference to networkx {np.abs(expect[ok] - dist[ok]).max():.1e}"
          f" m; {near.found.mean():.1%} of targets reach a facility)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=500_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--facilities", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100k nodes, 200k points")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the (slow) networkx/osmnx runs on the synthetic network")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.points = 100_000, 200_000
    synthetic_stages(args.nodes, args.points, args.facilities, args.repeat,
                     baseline=not args.no_baseline)
    futian_stage(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
