"""Backup (double) coverage: demand reached by at least two stations (the 双15 "交叉覆盖").

The national federation's 双15 programme asks that every place be reached by more than one
station. Two models, both with the existing stations fixed:

- **Backup covering** (``solve_backup``, registry key ``backup``; Hogan & ReVelle 1986): with at
  most (or exactly) ``p`` new sites, or a budget, maximise the demand weight covered at least
  twice. ``cover_all=True`` also requires every coverable row to be covered at least once.
- **LSCP-B** (``solve_lscpb``; spopt's ``LSCPB``): the fewest sites covering every coverable row
  (:func:`~yizhan.geo.siting.lscp.solve_lscp` at 100 %), then, with that many sites and every row
  still covered, the most demand covered twice.

Model, per demand row ``i`` with existing coverage level ``f_i`` (0, 1, or 2 = two or more
existing stations in reach) and candidate set ``N_i``::

    max  sum_i w_i u_i
    s.t. (2 - f_i) u_i <= sum_{j in N_i} x_j      (u_i = 1 only with two stations in reach)
         sum_{j in N_i} x_j >= 1                  (cover_all, rows with f_i = 0)
         x_j in {0, 1}, 0 <= u_i <= 1, and the constraints of x (p, budget, areas, spacing)

Rows already covered twice are constants; rows that can never reach two stations are left out;
rows with the same candidates and level are merged. ``u`` is binary on rows no station reaches
yet (a continuous one could take half credit for one new station), continuous on rows one station
reaches (with integral ``x`` the optimum sets it to 0 or 1). Every answer is recomputed from the chosen sites in exact arithmetic
(:mod:`yizhan.geo.siting.verify`) and called optimal only when the bound agrees.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from yizhan.geo.siting.constraints import INF, SiteConstraints, build_rules, infeasible, pad_to_p
from yizhan.geo.siting.highs import MipModel, SolverOptions, solve_mip, x_rows
from yizhan.geo.siting.lscp import solve_lscp
from yizhan.geo.siting.problem import SitingModel, SitingProblem, cover_csr
from yizhan.geo.siting.reduce import merge_identical_rows, structure
from yizhan.geo.siting.result import SitingResult, gap_max
from yizhan.geo.siting.verify import confirmed, exact_sum

from yizhan.errors import ConfigError


def backup_levels(cover: sp.csr_matrix, chosen: np.ndarray, fixed_count: np.ndarray) -> np.ndarray:
    """Return per row how many stations reach it (existing + chosen), capped at 2."""
    return _levels(structure(cover), chosen, fixed_count)


def _levels(a: sp.csr_matrix, chosen: np.ndarray, fixed_count: np.ndarray) -> np.ndarray:
    """:func:`backup_levels` of a cover already reduced to its pattern of ones."""
    x = np.zeros(a.shape[1])
    x[np.asarray(chosen, np.int64)] = 1.0
    return np.minimum(np.asarray(fixed_count, np.int64) + (a @ x).round().astype(np.int64), 2)


def solve_backup(
    cover: Any,
    weight: Any,
    *,
    p: int | None,
    fixed_count: Any = None,
    cover_all: bool = False,
    constraints: SiteConstraints | None = None,
    solver: SolverOptions | None = None,
    p_exactly: bool = False,
) -> SitingResult:
    """Return the sites that maximise the demand weight covered at least twice, ranked.

    Parameters
    ----------
    cover
        ``demand x candidates`` matrix; a stored (sparse) or true (dense) entry = the candidate
        is within reach of the row.
    weight
        Demand weight per row.
    p
        Most new sites (``p_exactly``: exactly); ``None`` with a budget in ``constraints``.
    fixed_count
        Per row, how many existing stations already reach it (only 0, 1 or 2+ matter).
    cover_all
        Also cover every row at least once (rows no candidate and no station reach are left out).
    constraints, solver, p_exactly
        As for :func:`~yizhan.geo.siting.mclp.solve_mclp`.

    Returns
    -------
    SitingResult
        ``objective`` = demand weight covered at least twice (existing coverage included);
        ``covered_after`` = rows covered at least once after the new sites.
    """
    settings = SolverOptions.of(solver)
    t0 = time.perf_counter()
    a = structure(cover_csr(cover))
    m, n = a.shape
    w = np.asarray(weight, np.float64).ravel()
    if w.size != m or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weight must hold one finite value >= 0 per demand row")
    f = np.zeros(m, np.int64) if fixed_count is None else \
        np.minimum(np.asarray(fixed_count, np.float64).ravel(), 2).astype(np.int64)
    if p is None and (constraints is None or constraints.budget is None):
        raise ConfigError("请给出新站数 p 或预算。Give the number of sites p or a budget.")
    rules, _labels = build_rules(n, p=p, constraints=constraints, model="backup",
                                 p_exactly=p_exactly)
    with threadpool_limits(1):
        model, cls_rows = _backup_model(a, w, f, rules, cover_all=cover_all)
        chosen = _greedy(a, w, f, rules)
        res = solve_mip(model, time_limit=settings.time_limit, seed=settings.seed,
                        rel_gap=settings.rel_gap, start=_start(model, a, cls_rows, chosen, f))
        used = "greedy"
        if res.values is not None:
            mip_chosen = np.flatnonzero(res.values[:n] > 0.5)
            if not rules.violations(mip_chosen) and (not cover_all or _covers_all(a, f, mip_chosen)):
                chosen, used = mip_chosen, "highs-mip"
        elif res.status == "Infeasible":
            raise infeasible(rules, "no choice covers every row once within p")
        if cover_all and not _covers_all(a, f, chosen):
            raise infeasible(rules, "no choice found that covers every coverable row")
        if p_exactly:
            chosen = pad_to_p(chosen, rules)
        problems = rules.violations(chosen)
        if problems:
            raise infeasible(rules, "; ".join(problems[:3]))
    levels = _levels(a, chosen, f)
    objective = float(exact_sum(w[levels >= 2]))
    constant = float(exact_sum(w[f >= 2]))
    bound = max(res.bound + constant, objective) if math.isfinite(res.bound) else math.inf
    status = "optimal" if res.status == "Optimal" and used == "highs-mip" and confirmed(
        objective, bound, maximize=True, rel_gap=settings.rel_gap) else "feasible"
    table = _rank(a, w, f, chosen, cost=rules.cost, counts=rules.counts)
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=objective,
        bound=bound, gap=gap_max(objective, bound), gap_new=gap_max(objective - constant,
                                                                   bound - constant),
        solver=used, status=status, seconds=time.perf_counter() - t0,
        sizes={"demand_rows": m, "candidates": n, "mip": model.size}, model="backup",
        covered_after=(levels >= 1,),
    )


def solve_lscpb(
    cover: Any, weight: Any, *, fixed_count: Any = None, solver: SolverOptions | None = None,
) -> SitingResult:
    """Return spopt's LSCP-B: the fewest sites to cover all, then the most covered twice.

    First the fewest sites covering every coverable row; then, with that many sites and every
    row still covered, the most demand weight covered twice (existing stations fixed).

    Raises
    ------
    ConfigError
        If some row with weight can be covered by no candidate and no station.
    """
    a = structure(cover_csr(cover))
    w = np.asarray(weight, np.float64).ravel()
    f = np.zeros(a.shape[0]) if fixed_count is None else np.asarray(fixed_count, np.float64)
    first = solve_lscp(a, w, target=1.0, fixed_covered=f >= 1, solver=solver)
    if first.status != "optimal":
        raise ConfigError("最少站点数未能在时限内求得最优，无法继续 LSCP-B。"
                          " The fewest sites could not be proven within the time limit;"
                          " raise the time limit for LSCP-B.")
    result = solve_backup(a, w, p=round(first.objective), fixed_count=f, cover_all=True,
                          solver=solver)
    return result


def _backup_model(
    a: sp.csr_matrix, w: np.ndarray, f: np.ndarray, rules: Any, *, cover_all: bool,
) -> tuple[MipModel, np.ndarray]:
    """Return the MIP over x (n columns) then one u per merged class, and each row's class."""
    n = a.shape[1]
    deg = np.diff(a.indptr)
    can = (f < 2) & (f + deg >= 2) & (w > 0)
    rows = np.flatnonzero(can)
    sub = a[rows]
    # merge rows with the same candidates and level: the level enters the row key as a column
    level = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), f[rows])),
                          shape=(rows.size, 2))  # one column per level: a different pattern
    tagged = sp.hstack([sub, level], format="csr")
    labels, first = merge_identical_rows(tagged)
    k = first.size
    wk = np.bincount(labels, weights=w[rows], minlength=k)
    am = sub[first]
    fk = f[rows][first]
    # level 1: u <= sum x (u continuous, integral at the optimum); level 0: 2 u <= sum x with
    # u binary (a continuous u could take half credit for one station)
    blocks = [sp.hstack([-am, sp.diags(np.where(fk == 0, 2.0, 1.0), format="csr")],
                        format="csr")]
    lo, hi = [np.full(k, -INF)], [np.zeros(k)]
    if cover_all:
        must = np.flatnonzero((f == 0) & (deg > 0))
        blocks.append(sp.hstack([a[must], sp.csr_matrix((must.size, k))], format="csr"))
        lo.append(np.ones(must.size))
        hi.append(np.full(must.size, INF))
    xb, xl, xh = x_rows(rules, n + k)
    model = MipModel(
        a=sp.vstack(blocks + xb, format="csr"), row_lower=np.concatenate(lo + xl),
        row_upper=np.concatenate(hi + xh), col_cost=np.concatenate([np.zeros(n), wk]),
        col_lower=np.zeros(n + k), col_upper=np.ones(n + k),
        integer=np.concatenate([np.ones(n, bool), fk == 0]), maximize=True,
    )
    cls_rows = np.full(a.shape[0], -1, np.int64)
    cls_rows[rows] = labels
    return model, cls_rows


def _start(model: MipModel, a: sp.csr_matrix, cls_rows: np.ndarray, chosen: np.ndarray,
           f: np.ndarray) -> np.ndarray:
    """Return the full column vector of a choice (x, then u of each class)."""
    n = a.shape[1]
    x = np.zeros(model.a.shape[1])
    x[chosen] = 1.0
    levels = _levels(a, chosen, f)
    have = cls_rows >= 0
    x[n + cls_rows[have]] = (levels[have] >= 2).astype(np.float64)
    return x


def _covers_all(a: sp.csr_matrix, f: np.ndarray, chosen: np.ndarray) -> bool:
    deg = np.diff(a.indptr)
    levels = _levels(a, chosen, f)
    return bool(((levels >= 1) | (deg == 0)).all())


def _greedy(a: sp.csr_matrix, w: np.ndarray, f: np.ndarray, rules: Any) -> np.ndarray:
    """Return a greedy choice, a start for the MIP.

    Each step takes the site adding the most weight covered twice (then covered once).
    """
    at = a.T.tocsr()
    chosen: list[int] = []
    limit = int(rules.p) if np.isfinite(rules.p) else rules.n
    scale = max(float(w.sum()), 1.0)
    for _ in range(min(limit, rules.n)):
        levels = _levels(a, np.asarray(chosen, np.int64), f)
        gain = at @ (np.where(levels == 1, w, 0.0) + np.where(levels == 0, w / scale * 1e-3, 0.0))
        gain[chosen] = -1.0
        for j in np.argsort(-gain, kind="stable"):
            if gain[j] <= 0:
                return np.asarray(chosen, np.int64)
            if not rules.violations(np.append(chosen, j).astype(np.int64)):
                chosen.append(int(j))
                break
        else:
            break
    return np.asarray(chosen, np.int64)


def _rank(a: sp.csr_matrix, w: np.ndarray, f: np.ndarray, chosen: np.ndarray, *,
          cost: np.ndarray, counts: np.ndarray) -> Any:
    """Return the ranked table: sites in the order they add weight covered twice."""
    import pandas as pd

    order: list[int] = []
    rest = [int(j) for j in chosen]
    total = float(w.sum())
    rows = []
    before = float(w[f >= 2].sum())
    while rest:
        gains = [float(w[_levels(a, np.asarray([*order, j], np.int64), f) >= 2].sum())
                 for j in rest]
        k = int(np.argmax(gains))
        j = rest.pop(k)
        order.append(j)
        rows.append({"rank": len(order), "candidate": j,
                     "kind": "new" if counts[j] else "upgrade", "cost": float(cost[j]),
                     "weight_gained": gains[k] - before,
                     "covered_weight_after": gains[k],
                     "covered_share_after": gains[k] / total if total > 0 else 0.0})
        before = gains[k]
    return pd.DataFrame(rows, columns=["rank", "candidate", "kind", "cost", "weight_gained",
                                       "covered_weight_after", "covered_share_after"])


def solve_problem(problem: SitingProblem) -> SitingResult:
    """Solve ``problem`` as backup covering (the registry's ``backup``), rules weighted alike."""
    o = problem.options
    if len(problem.covers) != 1:
        raise ConfigError("backup 模型只支持一条覆盖规则。The backup model takes one coverage rule.")
    fixed = problem.fixed_count[0] if problem.fixed_count else problem.fixed[0].astype(np.int64)
    return solve_backup(
        problem.covers[0], problem.weights[0], p=o.n_sites, fixed_count=fixed,
        constraints=problem.constraints, solver=o.solver(), p_exactly=o.sites_exactly,
    )


MODEL = SitingModel(key="backup", title="双重覆盖 backup coverage (BACOP)", needs_target=False,
                    capacity=False, solve=solve_problem)
