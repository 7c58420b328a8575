"""p-center: place p sites so that the worst-off worker's trip is as short as possible (equity).

Minimise ``max_i min(c_i0, min_{j open} c_ij)`` over the demand rows with positive weight, where
``c_i0`` is the row's cost to its nearest existing station (the existing stations are fixed) and
``c_ij`` its cost to candidate ``j``.

Exact by bisection over the distinct costs (Minieka 1970): the optimum is one of them, and a
radius ``r`` is achievable with ``p`` sites exactly when the set cover of the rows not already
within ``r`` of an existing station, by the candidates within ``r``, needs at most ``p`` sites.
Each test is :func:`~yizhan.geo.siting.lscp.solve_lscp` at 100 % (exact, verified in exact
arithmetic), so the answer is optimal when every test was proven; otherwise it is reported
``feasible`` with the radius bound the proven tests give.

Rows that no candidate and no station can reach (no stored pair, no finite existing cost) cannot
be served at any radius: they are left out of the maximum and counted in ``sizes``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from yizhan.geo.siting.constraints import SiteConstraints, build_rules, pad_to_p
from yizhan.geo.siting.highs import SolverOptions
from yizhan.geo.siting.lscp import solve_lscp
from yizhan.geo.siting.problem import SitingModel, SitingProblem, cost_csr
from yizhan.geo.siting.reduce import structure
from yizhan.geo.siting.result import SitingResult, gap_min
from yizhan.geo.siting.verify import nearest_chosen_cost

from yizhan.errors import ConfigError


def worst_cost(cost: sp.csr_matrix, weight: np.ndarray, fixed_cost: np.ndarray,
               chosen: np.ndarray) -> float:
    """Return the largest cost of a served row (weight > 0) to its nearest open or existing site."""
    best = nearest_chosen_cost(cost, fixed_cost, chosen)
    served = (np.asarray(weight) > 0) & np.isfinite(best)
    return float(best[served].max()) if served.any() else 0.0


def solve_pcenter(
    cost_matrix: Any,
    weight: Any = None,
    *,
    p: int,
    fixed_cost: Any = None,
    constraints: SiteConstraints | None = None,
    solver: SolverOptions | None = None,
    p_exactly: bool = False,
) -> SitingResult:
    """Return the p-center choice: the least possible worst trip with ``p`` new sites.

    Parameters
    ----------
    cost_matrix
        ``demand x candidates`` costs, dense (``inf``/NaN = no path; zeros kept) or sparse (stored
        entries = pairs with a path).
    weight
        Demand weight per row (only whether it is positive matters); default all 1.
    p
        Most new sites (``p_exactly``: exactly ``p``).
    fixed_cost
        Per row, the cost to the nearest existing station (``inf`` = none).
    constraints
        Candidate costs, areas, spacing as for :func:`~yizhan.geo.siting.mclp.solve_mclp`
        (no budget, no capacities).
    solver
        Time limit, seed and gap for each set-cover test.

    Returns
    -------
    SitingResult
        ``objective`` = the worst row's cost after the new sites; ``bound`` a lower bound on
        it (equal when every test was proven); ``sizes["unreachable_rows"]``.
    """
    t0 = time.perf_counter()
    c = cost_csr(cost_matrix)
    m, n = c.shape
    w = np.ones(m) if weight is None else np.asarray(weight, np.float64).ravel()
    fc = np.full(m, np.inf) if fixed_cost is None else np.asarray(fixed_cost, np.float64).ravel()
    if constraints is not None and (constraints.budget is not None
                                    or constraints.capacity is not None):
        raise ConfigError("p-center 模型不设预算和容量。The p-center model takes no budget and no"
                          " capacities.")
    rules, _labels = build_rules(n, p=p, constraints=constraints, model="pcenter",
                                 p_exactly=p_exactly)
    reachable = (np.diff(c.indptr) > 0) | np.isfinite(fc)
    rows = np.flatnonzero((w > 0) & reachable)
    radii = np.unique(np.concatenate([c.data, fc[np.isfinite(fc)]]))
    if not rows.size or not radii.size:
        raise ConfigError("没有可服务的需求点。No demand row can be reached by any site.")
    settings = SolverOptions.of(solver)
    pairs = c[rows].tocoo()  # the served rows' pairs, cut at each radius tried
    best, proven = _within(pairs, fc[rows], radii[-1], constraints=constraints, settings=settings)
    if best is None or rules.counts[best].sum() > rules.p:
        need = "?" if best is None else str(int(rules.counts[best].sum()))
        raise ConfigError(
            f"{int(rules.p)} 个新站无法让每个需求点都有站可达（至少需要 {need} 个）。"
            f" {int(rules.p)} new sites cannot give every demand row a station within reach"
            f" (at least {need} are needed); raise p or use the mclp model.")
    lo, hi = -1, radii.size - 1  # radii[hi] is achievable, radii[lo] is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        chosen, exact = _within(pairs, fc[rows], radii[mid], constraints=constraints,
                                settings=settings)
        proven &= exact
        if chosen is not None and rules.counts[chosen].sum() <= rules.p:
            hi, best = mid, chosen
        else:
            lo = mid
    if p_exactly:
        best = pad_to_p(best, rules)
    value = worst_cost(c, w, fc, best)
    # proven: no radius below radii[hi] works, so the optimum is radii[hi]; else the
    # trivial bound: no row can be nearer than its nearest site of all
    nearest = np.asarray(c.min(axis=1, explicit=True).toarray()).ravel() if c.nnz \
        else np.full(m, np.inf)
    row_min = np.minimum(fc, np.where(np.diff(c.indptr) > 0, nearest, np.inf))
    bound = value if proven else float(row_min[rows].max())
    status = "optimal" if proven and value <= radii[hi] else "feasible"
    table = pd.DataFrame({"rank": np.arange(1, len(best) + 1), "candidate": best,
                          "kind": ["new" if rules.counts[j] else "upgrade" for j in best],
                          "cost": rules.cost[best]})
    covered = (c[:, best].getnnz(axis=1) > 0) | np.isfinite(fc)
    return SitingResult(
        table=table, chosen=np.asarray(best, np.int64), objective=value, bound=min(bound, value),
        gap=gap_min(value, min(bound, value)), gap_new=gap_min(value, min(bound, value)),
        solver="bisection+lscp", status=status, seconds=time.perf_counter() - t0,
        sizes={"demand_rows": m, "candidates": n, "unreachable_rows": int((w > 0).sum() - rows.size)},
        model="pcenter", covered_after=(covered,),
    )


def _within(
    pairs: sp.coo_matrix, fixed_cost: np.ndarray, radius: float, *,
    constraints: SiteConstraints | None, settings: SolverOptions,
) -> tuple[np.ndarray | None, bool]:
    """Return the fewest sites within ``radius`` of every row, and whether it is proven least.

    ``pairs`` are the rows' costs to the candidates; a row is also served by an existing
    station within ``radius``; None when some row cannot be.
    """
    keep = pairs.data <= radius
    cover = sp.csr_matrix((np.ones(int(keep.sum())), (pairs.row[keep], pairs.col[keep])),
                          shape=pairs.shape)
    fixed = fixed_cost <= radius
    if not (fixed | (np.diff(cover.indptr) > 0)).all():
        return None, True
    res = solve_lscp(cover, np.ones(pairs.shape[0]), target=1.0, fixed_covered=fixed,
                     constraints=constraints, solver=settings)
    return res.chosen, res.status == "optimal"


def solve_problem(problem: SitingProblem) -> SitingResult:
    """Solve ``problem`` as p-center (the registry's ``pcenter``) over all rules' rows."""
    o = problem.options
    if o.n_sites is None:
        raise ConfigError("pcenter 模型需要新站数（n_sites / --sites）。"
                          " The pcenter model needs the number of sites (n_sites, --sites).")
    stacked = sp.vstack(list(problem.covers), format="csr")
    weight = np.concatenate(problem.weights)
    result = solve_pcenter(stacked, weight, p=o.n_sites,
                           fixed_cost=np.concatenate(problem.fixed_cost),
                           constraints=problem.constraints, solver=o.solver(),
                           p_exactly=o.sites_exactly)
    sel = np.zeros(stacked.shape[1])
    sel[result.chosen] = 1.0
    covered = tuple(fixed | ((structure(cover) @ sel) > 0)
                    for cover, fixed in zip(problem.covers, problem.fixed, strict=True))
    return replace(result, covered_after=covered)


MODEL = SitingModel(key="pcenter", title="最小化最远距离 p-center (equity)", needs_target=False,
                    capacity=False, solve=solve_problem)
