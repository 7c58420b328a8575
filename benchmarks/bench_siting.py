"""Siting benchmark: yizhan's MCLP, LSCP and backup coverage vs spopt on the same instances.

Usage::

    .venv/bin/python benchmarks/bench_siting.py                  # all three instances
    .venv/bin/python benchmarks/bench_siting.py --only 20k       # one instance
    .venv/bin/python benchmarks/bench_siting.py --no-spopt       # skip the spopt runs

Data: a synthetic road-like e-bike network of ``--nodes`` nodes (default 300,000; see
``benchmarks/_synthetic.py``); demand points half uniform over the network's box and half around
60 hot spots, weights 1-9; candidate sites at random network nodes; 150 existing stations at
random points, fixed. Cover = every (demand, candidate) pair within the 10-minute e-bike cutoff
(2.5 km at 15 km/h), door to door, from ``yizhan.geo.paths.pairs_within`` (one Dijkstra batch per 256
candidates). Instances (as in issue 5):

- ``10k``: 10,000 demand x 2,000 candidates, p = 20 (the spopt anchor instance);
- ``20k``: 20,000 demand x 1,000 candidates, p = 50 (target: proven optimal < 5 s, >= 20x spopt);
- ``100k``: 100,000 demand x 5,000 candidates, p = 100 (target: proven gap <= 1 % within 60 s).

On the ``20k`` instance (``--cover-models``) LSCP (every coverable row covered), LSCP-B and backup
covering with p = 50 are timed too, beside spopt's ``LSCP`` and ``LSCPB`` (see
:func:`run_cover_models`).

yizhan way: ``yizhan.geo.siting.solve_mclp(cover, weight, p=p, fixed_covered=..., solver=SolverOptions(time_limit=60))``
(``method="auto"``) and ``method="greedy"``. spopt way: ``spopt.locate.MCLP.from_cost_matrix``
on the same costs as a dense matrix (existing stations as predefined facilities, p + 150
facilities), solved by PuLP with HiGHS; run when the dense model has at most
``--spopt-max-terms`` pair terms (default 25 million, about 10 minutes here), else reported as
skipped. Model build and solve are timed separately for spopt.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

INSTANCES = {
    "10k": (10_000, 2_000, 20),
    "20k": (20_000, 1_000, 50),
    "100k": (100_000, 5_000, 100),
}
CUTOFF_S = 600.0  # 10 minutes by e-bike
N_EXISTING = 150


def build_instance(net, n_demand: int, n_cand: int, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Return (candidate costs, existing-station costs, weights) on ``net``."""
    import geopandas as gpd
    from _synthetic import random_points
    from yizhan.geo.paths import pairs_within, snap

    rng = np.random.default_rng(seed)
    uniform = random_points(net, n_demand // 2, seed=seed)
    centres = random_points(net, 60, seed=seed + 1)
    rest = n_demand - n_demand // 2
    clustered = centres[rng.integers(0, 60, rest)] + rng.normal(0, 0.02, (rest, 2))
    demand = np.vstack([uniform, clustered])
    nodes = rng.choice(net.n_nodes, n_cand, replace=False)
    existing = random_points(net, N_EXISTING, seed=seed + 2)

    def series(xy: np.ndarray) -> gpd.GeoSeries:
        return gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326")

    d_snap = snap(net, series(demand))
    c_snap = snap(net, series(np.column_stack([net.lon[nodes], net.lat[nodes]])))
    e_snap = snap(net, series(existing))
    new = pairs_within(net, c_snap, d_snap, weight="time", limit=CUTOFF_S, include_access=True)
    old = pairs_within(net, e_snap, d_snap, weight="time", limit=CUTOFF_S, include_access=True)
    return new, old, rng.integers(1, 10, n_demand).astype(float)


def run_spopt(new: sp.csr_matrix, old: sp.csr_matrix, weight: np.ndarray, p: int, time_limit: float) -> dict:
    """Return spopt's objective and build/solve seconds on the same instance (dense matrix)."""
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    matrix = np.full((new.shape[0], old.shape[1] + new.shape[1]), 1e9)
    for offset, part in ((0, old), (old.shape[1], new)):
        coo = part.tocoo()
        matrix[coo.row, offset + coo.col] = coo.data
    predefined = np.r_[np.ones(old.shape[1]), np.zeros(new.shape[1])].astype(int)
    model = MCLP.from_cost_matrix(matrix, weight, service_radius=CUTOFF_S,
                                  p_facilities=old.shape[1] + p, predefined_facilities_arr=predefined)
    t1 = time.perf_counter()
    model.solve(pulp.HiGHS(msg=False, timeLimit=time_limit))
    t2 = time.perf_counter()
    return {"objective": float(model.problem.objective.value()), "build_s": t1 - t0, "solve_s": t2 - t1,
            "status": pulp.LpStatus[model.problem.status]}


def run_cover_models(new: sp.csr_matrix, old: sp.csr_matrix, weight: np.ndarray, *,
                     time_limit: float, spopt: bool) -> None:
    """Time LSCP (every coverable demand row covered) and backup coverage, yizhan vs spopt.

    Rows no candidate and no existing station reach are left out (no model can cover them).
    yizhan: ``solve_lscp(target=1.0)`` with the existing stations fixed, then ``solve_lscpb``
    (the least number of sites, then the most demand covered twice) and ``solve_backup`` with
    p = 50 (the most demand covered twice). spopt: ``LSCP`` and ``LSCPB`` on the same dense
    costs, the existing stations predefined, PuLP + HiGHS.
    """
    from yizhan.geo.siting import SolverOptions, solve_lscp
    from yizhan.geo.siting.backup import backup_levels, solve_backup, solve_lscpb

    settings = SolverOptions(time_limit=time_limit)
    reach = (np.diff(new.indptr) > 0) | (np.diff(old.indptr) > 0)
    new, old, weight = new[reach], old[reach], weight[reach]
    fixed_count = np.minimum(np.diff(old.indptr), 2)
    t = time.perf_counter()
    lscp = solve_lscp(new, weight, target=1.0, fixed_covered=fixed_count > 0, solver=settings)
    print(f"  yizhan LSCP (all {reach.sum():,} coverable rows): {time.perf_counter() - t:7.2f} s"
          f"  {lscp.objective:.0f} sites  bound {lscp.bound:.0f}  {lscp.status}  [{lscp.solver}]")
    t = time.perf_counter()
    lscpb = solve_lscpb(new, np.ones(new.shape[0]), fixed_count=fixed_count, solver=settings)
    print(f"  yizhan LSCP-B: {time.perf_counter() - t:7.2f} s  {len(lscpb.chosen)} sites,"
          f" {lscpb.objective:,.0f} rows covered twice ({lscpb.objective / new.shape[0]:.2%})"
          f"  {lscpb.status}")
    t = time.perf_counter()
    backup = solve_backup(new, weight, p=50, fixed_count=fixed_count, solver=settings)
    print(f"  yizhan backup p=50: {time.perf_counter() - t:7.2f} s  weight covered twice"
          f" {backup.objective:,.1f} ({backup.objective / weight.sum():.2%})  bound"
          f" {backup.bound:,.1f}  {backup.status}  [{backup.solver}]")
    if not spopt:
        return
    import pulp
    from spopt.locate import LSCP, LSCPB

    matrix = np.full((new.shape[0], old.shape[1] + new.shape[1]), 1e9)
    for offset, part in ((0, old), (old.shape[1], new)):
        coo = part.tocoo()
        matrix[coo.row, offset + coo.col] = coo.data
    predefined = np.r_[np.ones(old.shape[1]), np.zeros(new.shape[1])].astype(int)
    t = time.perf_counter()
    theirs = LSCP.from_cost_matrix(matrix, CUTOFF_S, predefined_facilities_arr=predefined)
    theirs.solve(pulp.HiGHS(msg=False, timeLimit=600.0))
    n_open = sum(v.varValue > 0.5 for v in theirs.fac_vars) - old.shape[1]
    print(f"  spopt LSCP: {time.perf_counter() - t:7.2f} s  {n_open} new sites"
          f"  {pulp.LpStatus[theirs.problem.status]}  same count: {n_open == lscp.objective}")
    t = time.perf_counter()
    solver = pulp.HiGHS(msg=False, timeLimit=600.0)
    theirs_b = LSCPB.from_cost_matrix(matrix, CUTOFF_S, solver,
                                      predefined_facilities_arr=predefined).solve()
    opened = np.flatnonzero([v.varValue > 0.5 for v in theirs_b.fac_vars])
    a_all = sp.hstack([old, new], format="csr")
    twice = int((backup_levels(a_all, opened, np.zeros(new.shape[0])) >= 2).sum())
    print(f"  spopt LSCP-B: {time.perf_counter() - t:7.2f} s  {len(opened) - old.shape[1]} new"
          f" sites, {twice:,} rows covered twice (spopt reports {theirs_b.backup_perc:.2f} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=300_000)
    parser.add_argument("--only", choices=sorted(INSTANCES), action="append")
    parser.add_argument("--no-spopt", action="store_true")
    parser.add_argument("--spopt-max-terms", type=float, default=25e6)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/yizhan-bench-siting"))
    parser.add_argument("--cover-models", choices=sorted(INSTANCES), action="append",
                        default=None, help="instances on which LSCP and backup coverage are"
                        " timed too (default: 20k)")
    args = parser.parse_args()

    import warnings

    from _synthetic import synthetic_network
    from yizhan.geo.siting import SolverOptions, solve_mclp

    from yizhan.log import set_quiet

    warnings.filterwarnings("ignore")
    set_quiet(True)
    import logging

    logging.getLogger("yizhan").setLevel(logging.ERROR)
    args.cache.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    net = synthetic_network(args.nodes, mode="ebike", seed=0)
    print(f"network: {net.n_nodes:,} nodes, {net.n_edges:,} edges (ebike), built in {time.perf_counter() - t:.1f} s")
    for name in args.only or list(INSTANCES):
        n_demand, n_cand, p = INSTANCES[name]
        key = args.cache / f"{args.nodes}-{name}.npz"
        t = time.perf_counter()
        if key.exists():
            z = np.load(key)
            new = sp.csr_matrix((z["nd"], z["ni"], z["np"]), shape=tuple(z["ns"]))
            old = sp.csr_matrix((z["od"], z["oi"], z["op"]), shape=tuple(z["os"]))
            weight = z["w"]
            how = "cached"
        else:
            new, old, weight = build_instance(net, n_demand, n_cand, seed=len(name))
            np.savez(key, nd=new.data, ni=new.indices, np=new.indptr, ns=new.shape,
                     od=old.data, oi=old.indices, op=old.indptr, os=old.shape, w=weight)
            how = "built"
        fixed = np.diff(old.indptr) > 0
        print(f"\n== {name}: {n_demand:,} demand x {n_cand:,} candidates, p = {p}, cutoff 10 min e-bike"
              f" ({how} in {time.perf_counter() - t:.1f} s; {new.nnz:,} pairs; existing stations cover"
              f" {weight[fixed].sum() / weight.sum():.1%} of demand weight)")
        if name in (args.cover_models or ["20k"]):
            run_cover_models(new, old, weight, time_limit=args.time_limit,
                             spopt=not args.no_spopt)
        results = {}
        for method in ("auto", "greedy"):
            res = solve_mclp(new, weight, p=p, fixed_covered=fixed,
                             solver=SolverOptions(method=method, time_limit=args.time_limit))
            results[method] = res
            s = res.sizes
            print(f"  yizhan {method:6s}: {res.seconds:7.2f} s  objective {res.objective:,.1f}  bound {res.bound:,.1f}"
                  f"  gap {res.gap:.4%} (new sites only {res.gap_new:.4%})  {res.status}  [{res.solver}]")
        s = results["auto"].sizes
        print(f"  model size before reductions: {s['demand_rows']:,} rows x {s['candidates']:,} candidates,"
              f" {s['nonzeros']:,} non-zeros")
        print(f"  model size after reductions:  {s['reduced_rows']:,} rows x {s['reduced_candidates']:,} candidates,"
              f" {s['reduced_nonzeros']:,} non-zeros" + (
                  f"; MIP {s['mip']['rows']:,} rows x {s['mip']['cols']:,} cols, {s['mip']['nonzeros']:,} nz"
                  if "mip" in s else "; no full MIP (Lagrangian bound + core MIP)"))
        g, a = results["greedy"], results["auto"]
        print(f"  greedy vs best: {100 * (a.objective - g.objective) / a.objective:.3f} % below"
              f" ({a.objective - g.objective:,.1f} weight)")
        terms = n_demand * (n_cand + old.shape[1])
        if args.no_spopt:
            continue
        if terms > args.spopt_max_terms:
            print(f"  spopt: skipped ({terms / 1e6:.0f} M dense pair terms; estimated well over 10 min"
                  f" to build at the ~5 us/term measured on the smaller instances)")
            continue
        sp_res = run_spopt(new, old, weight, p, time_limit=600.0)
        total = sp_res["build_s"] + sp_res["solve_s"]
        same = abs(sp_res["objective"] - a.objective) <= 1e-6 * max(1.0, a.objective)
        print(f"  spopt (PuLP + HiGHS): {total:7.2f} s (build {sp_res['build_s']:.1f} s, solve"
              f" {sp_res['solve_s']:.1f} s)  objective {sp_res['objective']:,.1f}  {sp_res['status']}"
              f"  same optimum: {same}")
        print(f"  speed ratio spopt / yizhan auto: {total / a.seconds:,.1f}x")


if __name__ == "__main__":
    main()
