"""Coverage benchmark: yizhan vs the plain networkx way, same data, one run, figures vs targets.

Usage::

    .venv/bin/python benchmarks/bench_coverage.py                 # 500k nodes, 1M demand, 1k stations
    .venv/bin/python benchmarks/bench_coverage.py --nodes 100000 --demand 200000   # quicker

Data: three synthetic road-like networks (walk, e-bike, drive) of ``--nodes`` nodes from
``benchmarks/_synthetic.py`` saved as yizhan network caches; ``--demand`` random demand points and
``--stations`` random stations over them (70 % with a toilet).  Rules: walk 800 m to a toilet,
e-bike 10 min, drive 15 min, each for all demand.

yizhan way (a fresh child process): ``load_network`` per mode, then ``compute_coverage`` (snap,
one multi-source Dijkstra per rule, tables).  networkx way (another fresh child process): per
rule, load the same cache and build a ``networkx.DiGraph``, snap demand and stations to the
nearest node with a KD tree (on all cores; the points projected once per CRS),
``networkx.multi_source_dijkstra`` with the cutoff, build the same table columns.  Both search
up to the cutoff (``nearest_beyond_cutoff=False``) so they do the same work; yizhan's default
(nearest station reported beyond the cutoff) is timed too.  Peak memory is the child process's
peak resident set (``resource.ru_maxrss``), sampled also with psutil.

Stages are cut alike on both sides: *load* (yizhan maps the cache file; networkx also builds its
graph), *snap*, *shortest paths* (the multi-source search that gives every node its nearest
station and cost: ``yizhan.geo.paths.facility_tree``, the three rules' searches at once in threads as
``compute_coverage`` runs them, against ``networkx.multi_source_dijkstra``) and
*tables* (the rest, including each demand point taking its nearest station from the ends of
its road, shown on its own line for yizhan).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODES = ("walk", "ebike", "drive")
RULES = (("walk", "800m", "toilet"), ("ebike", "10min", None), ("drive", "15min", None))


# --------------------------------------------------------------------------------------------
# Shared helpers


class PeakRSS:
    """Sample this process's resident set size every 20 ms; ``peak`` in bytes."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def in_child(func, *args):
    """Run ``func(*args)`` in a fresh process (spawn) and return its result dict."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(func, args)


# --------------------------------------------------------------------------------------------
# Data


def prepare(work: str, n_nodes: int, n_demand: int, n_stations: int, seed: int) -> dict:
    import geopandas as gpd
    from yizhan.geo.netcache import save_network

    from benchmarks._synthetic import random_points, synthetic_network

    out = {}
    first = None
    for mode in MODES:
        t = time.perf_counter()
        net = synthetic_network(n_nodes, mode=mode, seed=seed)
        save_network(net, Path(work) / f"{mode}.npz")
        out[mode] = {"nodes": net.n_nodes, "edges": net.n_edges,
                     "seconds": time.perf_counter() - t}
        if first is None:
            first = net
        else:
            del net
    rng = np.random.default_rng(seed)
    pts = random_points(first, n_demand, seed=seed + 1, margin_m=0.0)
    groups = np.array(["rider", "courier", "driver", "sanitation", "construction", "other"])
    demand = gpd.GeoDataFrame(
        {"demand_id": np.char.add("d", np.arange(n_demand).astype(str)),
         "weight": rng.uniform(1.0, 5.0, n_demand).round(3),
         "group": groups[rng.integers(0, len(groups), n_demand)]},
        geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs="EPSG:4326",
    )
    demand.to_parquet(Path(work) / "demand.parquet")
    spts = random_points(first, n_stations, seed=seed + 2, margin_m=0.0)
    stations = gpd.GeoDataFrame(
        {"station_id": np.char.add("s", np.arange(n_stations).astype(str)),
         "toilet": rng.random(n_stations) < 0.7,
         "capacity": np.where(rng.random(n_stations) < 0.8,
                              rng.integers(4, 30, n_stations).astype(float), np.nan)},
        geometry=gpd.points_from_xy(spts[:, 0], spts[:, 1]), crs="EPSG:4326",
    )
    stations.to_parquet(Path(work) / "stations.parquet")
    return out


def compile_kernels() -> float:
    """Run a tiny coverage once so numba compiles (or finds cached) yizhan's loops; seconds."""
    import geopandas as gpd
    import yizhan.geo.coverage as cov
    from yizhan.geo.rules import make_rule

    from benchmarks._synthetic import random_points, synthetic_network
    from yizhan.log import set_quiet

    set_quiet(True)
    t = time.perf_counter()
    nets = {mode: synthetic_network(3000, mode=mode, seed=1) for mode in MODES}
    pts = random_points(nets["walk"], 400_000, seed=2, margin_m=0.0)  # enough for threads
    demand = gpd.GeoDataFrame(
        {"demand_id": np.arange(len(pts)).astype(str), "weight": np.ones(len(pts))},
        geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs="EPSG:4326")
    stations = demand.iloc[:50].rename(columns={"demand_id": "station_id"})
    stations = stations.assign(toilet=True)
    rules = [make_rule(mode=m, cutoff=c, requires=r) for m, c, r in RULES]
    cov.compute_coverage(nets, stations, demand, rules, nearest_beyond_cutoff=False)
    return time.perf_counter() - t


# --------------------------------------------------------------------------------------------
# yizhan way


def run_yizhan(work: str) -> dict:
    import geopandas as gpd
    import yizhan.geo.coverage as cov
    from yizhan.geo.netcache import load_network
    from yizhan.geo.rules import make_rule

    from yizhan.log import set_quiet

    set_quiet(True)
    demand = gpd.read_parquet(Path(work) / "demand.parquet")
    stations = gpd.read_parquet(Path(work) / "stations.parquet")
    rules = [make_rule(mode=m, cutoff=c, requires=r) for m, c, r in RULES]
    stage = {"snap": 0.0, "paths": 0.0, "nearest": 0.0}
    real_snap, real_nearest, real_trees = cov._snap, cov.nearest_facility, cov._facility_trees

    def timed_snap(*a, **k):
        t = time.perf_counter()
        try:
            return real_snap(*a, **k)
        finally:
            stage["snap"] += time.perf_counter() - t

    def timed_nearest(*a, **k):
        t = time.perf_counter()
        try:
            return real_nearest(*a, **k)
        finally:
            stage["nearest"] += time.perf_counter() - t

    def timed_trees(*a, **k):  # the rules' searches, run at once: wall time
        t = time.perf_counter()
        try:
            return real_trees(*a, **k)
        finally:
            stage["paths"] += time.perf_counter() - t

    # benchmark instrumentation
    cov._snap, cov.nearest_facility, cov._facility_trees = timed_snap, timed_nearest, timed_trees
    res: dict = {"rss_before_load": maxrss_bytes()}
    with PeakRSS() as peak:
        t0 = time.perf_counter()
        nets, loads = {}, {}
        for mode in MODES:
            t = time.perf_counter()
            nets[mode] = load_network(Path(work) / f"{mode}.npz")
            loads[mode] = time.perf_counter() - t
        t1 = time.perf_counter()
        result = cov.compute_coverage(nets, stations, demand, rules, nearest_beyond_cutoff=False)
        t2 = time.perf_counter()
    res.update(
        load=loads, load_total=t1 - t0, coverage=t2 - t1, whole=t2 - t0,
        snap=stage["snap"], paths=stage["paths"], ends=stage["nearest"],
        tables=(t2 - t1) - stage["snap"] - stage["paths"] - stage["nearest"],
        peak_rss=max(peak.peak, maxrss_bytes()),
        shares={r.name: float(result.summary.loc[result.summary["rule"] == r.name,
                                                 "covered_share"].iloc[0]) for r in rules},
    )
    # extras: default search (nearest station also beyond the cutoff), CSV writing
    stage["paths"] = stage["snap"] = stage["nearest"] = 0.0
    t = time.perf_counter()
    cov.compute_coverage(nets, stations, demand, rules)
    res["coverage_default"] = time.perf_counter() - t
    res["paths_default"] = stage["paths"]
    res["snap_default"] = stage["snap"]
    # the same searches one rule after another, in one thread (without the rules' overlap)
    from yizhan.geo.coverage import qualifying_stations
    from yizhan.geo.paths import facility_tree, snap

    serial = 0.0
    for rule in rules:
        net = nets[rule.mode]
        fac = snap(net, stations.loc[qualifying_stations(stations, rule)])
        t = time.perf_counter()
        facility_tree(net, fac, weight=rule.weight, limit=rule.limit)
        serial += time.perf_counter() - t
    res["paths_serial"] = serial
    t = time.perf_counter()
    result.to_csv(Path(work) / "coverage.csv")
    res["csv"] = time.perf_counter() - t
    res["peak_rss_all"] = maxrss_bytes()
    return res


# --------------------------------------------------------------------------------------------
# networkx way


def run_networkx(work: str) -> dict:
    import geopandas as gpd
    import networkx as nx
    import pandas as pd
    from pyproj import Transformer
    from scipy.spatial import cKDTree
    from yizhan.geo.netcache import load_network
    from yizhan.geo.network import MODES as TRAVEL_MODES
    from yizhan.geo.rules import make_rule

    demand = gpd.read_parquet(Path(work) / "demand.parquet")
    stations = gpd.read_parquet(Path(work) / "stations.parquet")
    rules = [make_rule(mode=m, cutoff=c, requires=r) for m, c, r in RULES]
    walk_mps = TRAVEL_MODES["walk"].access_speed_kmh / 3.6
    times = {"load": 0.0, "snap": 0.0, "paths": 0.0, "tables": 0.0}
    projected: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    shares = {}
    columns = {"demand_id": demand["demand_id"].to_numpy()}
    with PeakRSS() as peak:
        for rule in rules:
            # load: the cache, then a networkx graph of it
            t = time.perf_counter()
            net = load_network(Path(work) / f"{rule.mode}.npz")
            graph = nx.DiGraph()
            graph.add_nodes_from(range(net.n_nodes))
            cost = net.edge_length if rule.weight == "length" else net.edge_time
            order = np.argsort(-cost, kind="stable")  # cheapest parallel edge added last wins
            graph.add_weighted_edges_from(
                zip(net.edge_u[order].tolist(), net.edge_v[order].tolist(),
                    cost[order].tolist(), strict=True)
            )
            times["load"] += time.perf_counter() - t
            # snap: nearest node by KD tree on projected coordinates
            t = time.perf_counter()
            tree = cKDTree(np.column_stack([net.x, net.y]))
            if net.crs not in projected:  # the points projected once per CRS, as yizhan does
                to_net = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
                projected[net.crs] = tuple(
                    np.column_stack(to_net.transform(g.x.to_numpy(), g.y.to_numpy()))
                    for g in (demand.geometry, stations.geometry))
            dxy, sxy = projected[net.crs]
            d_acc, d_node = tree.query(dxy, workers=-1)
            s_acc, s_node = tree.query(sxy, workers=-1)
            times["snap"] += time.perf_counter() - t
            # paths: one networkx multi-source Dijkstra with the cutoff
            t = time.perf_counter()
            qual = np.flatnonzero(stations["toilet"].to_numpy() if rule.requires else
                                  np.ones(len(stations), dtype=bool))
            dist, paths = nx.multi_source_dijkstra(
                graph, set(s_node[qual].tolist()), cutoff=rule.limit, weight="weight"
            )
            times["paths"] += time.perf_counter() - t
            # tables
            t = time.perf_counter()
            node_dist = np.full(net.n_nodes, np.inf)
            node_src = np.full(net.n_nodes, -1, dtype=np.int64)
            keys = np.fromiter(dist.keys(), dtype=np.int64, count=len(dist))
            node_dist[keys] = np.fromiter(dist.values(), dtype=float, count=len(dist))
            node_src[keys] = np.fromiter((p[0] for p in paths.values()), dtype=np.int64,
                                         count=len(paths))
            # the station at each source node (the first qualifying one there)
            first = pd.Series(qual).groupby(s_node[qual]).first()
            station_at = np.full(net.n_nodes, -1, dtype=np.int64)
            station_at[first.index.to_numpy()] = first.to_numpy()
            src = node_src[d_node]
            found = src >= 0
            st = np.where(found, station_at[np.maximum(src, 0)], -1)
            legs = d_acc + np.where(found, s_acc[np.maximum(st, 0)], 0.0)
            total = node_dist[d_node] + (legs if rule.weight == "length" else legs / walk_mps)
            covered = found & (total <= rule.limit)
            sid = stations["station_id"].to_numpy()
            columns[f"{rule.name}_station_id"] = np.where(found, sid[np.maximum(st, 0)], "")
            columns[f"{rule.name}_cost"] = np.where(found, total, np.nan)
            columns[f"{rule.name}_covered"] = covered
            w = demand["weight"].to_numpy()
            shares[rule.name] = float(w[covered].sum() / w.sum())
            times["tables"] += time.perf_counter() - t
            del graph, dist, paths, net
        t = time.perf_counter()
        table = pd.DataFrame(columns)
        times["tables"] += time.perf_counter() - t
        del table
    times["whole"] = sum(times[k] for k in ("load", "snap", "paths", "tables"))
    return {**times, "shares": shares, "peak_rss": max(peak.peak, maxrss_bytes())}


# --------------------------------------------------------------------------------------------
# Report


def _line(label: str, value: str, target: str, ok: bool | None) -> None:
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {label:<58} {value:>14}   target {target:<12}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500_000)
    parser.add_argument("--demand", type=int, default=1_000_000)
    parser.add_argument("--stations", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument("--workdir", help="keep the generated data here (default: a temp dir)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="yz-bench-cov-") as tmp:
        work = args.workdir or tmp
        Path(work).mkdir(parents=True, exist_ok=True)
        print(f"准备数据 preparing: {args.nodes:,} nodes x 3 modes, {args.demand:,} demand points, "
              f"{args.stations:,} stations ...", flush=True)
        prep = in_child(prepare, work, args.nodes, args.demand, args.stations, args.seed)
        for mode, info in prep.items():
            print(f"  {mode:<6} {info['nodes']:>9,} nodes {info['edges']:>10,} directed edges"
                  f"  (generated + cached in {info['seconds']:.1f} s)")
        warm = in_child(compile_kernels)
        print(f"  yizhan's compiled loops ready in {warm:.1f} s (compiled once per machine and "
              "cached; each process still loads them, inside the timings below)")
        print("yizhan ...", flush=True)
        yz = in_child(run_yizhan, work)
        nxr = None
        if not args.skip_networkx:
            print("networkx ...", flush=True)
            nxr = in_child(run_networkx, work)

    gb = 1024 ** 3
    print("\n覆盖基准 Coverage benchmark (rules: walk 800 m toilet, e-bike 10 min, drive 15 min)")
    print("yizhan:")
    for mode, sec in yz["load"].items():
        _line(f"load cached {mode} network 载入缓存路网", f"{sec:.2f} s", "< 5 s", sec < 5)
    _line("coverage tables after load 覆盖表（吸附+路径+表）", f"{yz['coverage']:.2f} s", "< 10 s",
          yz["coverage"] < 10)
    _line("  of which snapping 吸附", f"{yz['snap']:.2f} s", "", None)
    _line("  of which shortest paths (per node) 最短路径（节点）", f"{yz['paths']:.2f} s", "", None)
    _line("  of which nearest per demand point 需求点取最近", f"{yz['ends']:.2f} s", "", None)
    _line("  of which tables 汇总表", f"{yz['tables']:.2f} s", "", None)
    _line("peak memory (load + coverage) 峰值内存", f"{yz['peak_rss'] / gb:.2f} GB", "< 3 GB",
          yz["peak_rss"] < 3 * gb)
    _line("whole run (load, snap, paths, tables) 全流程", f"{yz['whole']:.2f} s", "", None)
    _line("default: nearest also beyond cutoff 默认（截止外也报最近站）",
          f"{yz['coverage_default']:.2f} s", "", None)
    _line("  its snapping (indexes already built) 吸附（索引已建）", f"{yz['snap_default']:.2f} s",
          "", None)
    _line("  its shortest paths (whole network) 最短路径（全网）", f"{yz['paths_default']:.2f} s",
          "", None)
    _line("shortest paths, rules one after another (1 thread) 最短路径逐条",
          f"{yz['paths_serial']:.2f} s", "", None)
    _line("writing coverage.csv 写出 CSV", f"{yz['csv']:.2f} s", "", None)
    if nxr is not None:
        print("networkx way:")
        for key in ("load", "snap", "paths", "tables", "whole"):
            _line(f"{key}", f"{nxr[key]:.2f} s", "", None)
        _line("peak memory", f"{nxr['peak_rss'] / gb:.2f} GB", "", None)
        print("ratios 倍数 (networkx / yizhan):")
        rp = nxr["paths"] / yz["paths"]
        rw = nxr["whole"] / yz["whole"]
        _line("shortest-path stage 最短路径阶段", f"{rp:.1f}x", ">= 30x", rp >= 30)
        rs = nxr["paths"] / yz["paths_serial"]
        _line("  the rules one after another, one thread 逐条规则单线程", f"{rs:.1f}x", "", None)
        _line("whole run 全流程", f"{rw:.1f}x", ">= 10x", rw >= 10)
        print("covered share 覆盖率 (yizhan snaps to edges, networkx to nodes):")
        for name, share in yz["shares"].items():
            print(f"  {name:<24} yizhan {share:7.2%}   networkx {nxr['shares'][name]:7.2%}")
    print(json.dumps({"yizhan": yz, "networkx": nxr}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
