"""Set covering (LSCP): the least cost (fewest sites) reaching a target covered share per rule.

The formulation is written in :mod:`yizhan.geo.siting`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from yizhan.geo.siting.constraints import INF, TOL, Rules, SiteConstraints, build_rules, infeasible
from yizhan.geo.siting.covering import (
    CoverReduction,
    cover_model,
    cover_start,
    rank_cover,
    reduce_cover,
)
from yizhan.geo.siting.heuristics import Choice
from yizhan.geo.siting.highs import AUTO_MIP_NONZEROS, SolverOptions, solve_mip
from yizhan.geo.siting.problem import (
    SitingModel,
    SitingProblem,
    as_list,
    fixed_list,
    stack,
    weights_list,
)
from yizhan.geo.siting.result import SitingResult, gap_min
from yizhan.geo.siting.verify import covered_rows, target_shortfalls

from yizhan.errors import ConfigError


def solve_lscp(
    cover: sp.spmatrix | sp.sparray | Sequence[sp.spmatrix | sp.sparray],
    weight: Any,
    *,
    target: float | Sequence[float],
    fixed_covered: Any = None,
    constraints: SiteConstraints | None = None,
    solver: SolverOptions | None = None,
) -> SitingResult:
    """Return the least-cost choice of sites reaching a target covered share, ranked.

    Parameters
    ----------
    cover, weight, fixed_covered
        As for :func:`solve_mclp` (one matrix per rule).
    target
        Covered share of total demand weight to reach, in (0, 1], per rule or one for all.
        Existing coverage counts toward it.
    constraints
        As for :func:`~yizhan.geo.siting.mclp.solve_mclp`; with unit costs (the default) the
        least cost is the fewest sites. A budget or capacities are refused.
    solver
        As for :func:`~yizhan.geo.siting.mclp.solve_mclp`.

    Returns
    -------
    SitingResult
        ``objective`` = total cost of the chosen sites (number of sites with unit costs).

    Raises
    ------
    ConfigError
        If the target cannot be reached even with every candidate, or constraints conflict.
    """
    settings = SolverOptions.of(solver)
    method, time_limit, seed = settings.method, settings.time_limit, settings.seed
    rel_gap = settings.rel_gap
    t0 = time.perf_counter()
    covers = as_list(cover)
    rows = [c.shape[0] for c in covers]
    weights = weights_list(weight, len(covers), rows)
    fixed = fixed_list(fixed_covered, len(covers), rows)
    a, w, fx, rule_of = stack(covers, weights, fixed)
    n = a.shape[1]
    n_rules = len(covers)
    targets = np.broadcast_to(np.asarray(target, np.float64), (n_rules,)).copy()
    if ((targets <= 0) | (targets > 1)).any():
        raise ConfigError(f"目标覆盖率须在 0 到 100% 之间：{target!r}。The target share must be in (0, 100%].")
    rules, _labels = build_rules(n, p=None, constraints=constraints, model="lscp")
    w_row = w[np.arange(w.shape[0]), rule_of]  # each row's weight under its own rule
    with threadpool_limits(1):
        _check_reachable(a, w_row, fx, rule_of, targets, rules=rules)
        red = reduce_cover(a, w, fx, rules)
        full = targets >= 1.0
        # A 100 % target is a set cover of every row with weight (however small): counted in
        # rows, not weighed, so no tolerance can leave a row out.
        cover_w = red.weights.copy()
        cover_w[:, full] = red.weights[:, full] > 0
        # A share below 100 % is a weighted floor; floats put 0.8 x total a hair away from the
        # decimal the user meant, so the floor gives way by 1e-9 of the total and every answer
        # is then checked exactly against the decimal target (completed if it falls short).
        partial = targets * red.total - red.fixed - 1e-9 * np.maximum(red.total, 1.0)
        need = np.where(full, cover_w.sum(axis=0), partial)
        need = np.maximum(need, 0.0)
        chosen, value, bound, used, status, size = _min_cover(
            red, cover_w, need, full=full, deadline=t0 + time_limit, method=method, seed=seed,
            rel_gap=rel_gap,
        )
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        if target_shortfalls(a, w_row, fx, rule_of, targets, chosen=chosen_orig):
            # the solver met a floor only within its tolerance: complete it, and say so
            chosen_orig = _repair(a, w_row, fx, rule_of, targets, chosen=chosen_orig, rules=rules)
            value = float(rules.cost[chosen_orig].sum())
            used += "+repair"
            status = "optimal" if value - bound <= max(rel_gap * abs(value), 1e-7) else "feasible"
        problems = rules.violations(chosen_orig)
        if problems:
            raise infeasible(rules, "; ".join(problems[:3]))
        table, covered = rank_cover(a, w, fx, rule_of=rule_of, alpha=np.ones(n_rules), chosen=chosen_orig, rules=rules)
    sizes: dict[str, Any] = dict(red.sizes)
    if size:
        sizes["mip"] = size
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=value, bound=bound,
        gap=gap_min(value, bound), gap_new=gap_min(value, bound), solver=used, status=status,
        seconds=time.perf_counter() - t0, sizes=sizes, model="lscp",
        covered_after=tuple(covered[rule_of == r] for r in range(n_rules)),
    )


def _check_reachable(
    a: sp.csr_matrix, w: np.ndarray, fx: np.ndarray, rule_of: np.ndarray, targets: np.ndarray,
    *, rules: Rules,
) -> None:
    """Raise a clear error when even every affordable candidate cannot reach a rule's target."""
    every = np.flatnonzero(rules.cost <= rules.budget + TOL)
    short = target_shortfalls(a, w, fx, rule_of, targets, chosen=every)
    if not short:
        return
    r = int(short[0])
    rows = rule_of == r
    total = float(w[rows].sum())
    best = float(w[rows][covered_rows(a, every, fx)[rows]].sum()) / total if total > 0 else 0.0
    raise ConfigError(
        f"目标覆盖率 {targets[r]:.1%} 无法达到：即使建设全部候选点，规则 {r + 1} 也只能覆盖"
        f" {best:.1%}；请降低目标或增加候选点。 The target share {targets[r]:.1%} cannot be"
        f" reached: even every candidate covers only {best:.1%} under rule {r + 1};"
        " lower the target or add candidates."
    )


def _repair(
    a: sp.csr_matrix, w: np.ndarray, fx: np.ndarray, rule_of: np.ndarray, targets: np.ndarray,
    *, chosen: np.ndarray, rules: Rules,
) -> np.ndarray:
    """Return ``chosen`` completed, site by site, until every target is met exactly."""
    chosen = np.asarray(chosen, np.int64)
    at = a.T.tocsr()
    while short := target_shortfalls(a, w, fx, rule_of, targets, chosen=chosen):
        open_rows = ~covered_rows(a, chosen, fx) & np.isin(rule_of, short) & (w > 0)
        scale = max(float(w[open_rows].max(initial=0.0)), TOL)
        gain = at @ np.where(open_rows, 1.0 + w / scale, 0.0)
        gain[chosen] = 0.0
        for j in np.argsort(-gain, kind="stable"):
            if gain[j] <= 0:
                raise infeasible(rules, "no candidate completes the target")
            if not rules.violations(np.append(chosen, j)):
                chosen = np.append(chosen, j)
                break
    return chosen


def _min_cover(
    red: CoverReduction, weights: np.ndarray, need: np.ndarray, *, full: np.ndarray,
    deadline: float, method: str, seed: int, rel_gap: float,
) -> tuple[list[int], float, float, str, str, dict[str, int] | None]:
    a = red.cover
    rules = red.rules
    if (need <= 0).all() and not rules.has_area_min:
        return [], 0.0, 0.0, "trivial", "optimal", None
    at = a.T.tocsr()
    order, ok = greedy_lscp(a, at, weights, need, rules, deadline=deadline)
    chosen = order if ok else []
    value = float(rules.cost[chosen].sum()) if ok else math.inf
    solver = "greedy"
    bound = lscp_lower_bound(at, weights, need, rules)
    integral = bool(np.allclose(rules.cost, np.round(rules.cost)))
    size = None
    small = a.nnz + a.shape[0] <= AUTO_MIP_NONZEROS
    if method == "exact" or (method == "auto" and (small or not ok)):
        floors = {r: float(need[r]) for r in range(need.size) if need[r] > 0 and not full[r]}
        must = np.asarray((red.weights[:, full] > 0).any(axis=1)) if full.any() else None
        model, nx = cover_model(red, alpha=None, floors=floors, minimize_cost=True, must=must)
        size = model.size
        start = cover_start(red, np.asarray(chosen, np.int64), capacity=False) if ok else None
        res = solve_mip(model, time_limit=max(deadline - time.perf_counter(), 1.0), seed=seed,
                           rel_gap=rel_gap, start=start)
        if res.values is not None and res.objective <= value + 1e-9:
            chosen = [int(j) for j in np.flatnonzero(res.values[:nx] > 0.5)]
            value = float(rules.cost[chosen].sum())
            solver = "highs-mip"
        if math.isfinite(res.bound):
            bound = max(bound, res.bound)
        if res.status == "Infeasible" or (res.values is None and not ok):
            raise infeasible(rules, res.status)
    if not math.isfinite(value):
        raise infeasible(rules, "greedy found no feasible choice")
    if integral:
        bound = math.ceil(bound - 1e-6)
    bound = min(bound, value)
    status = "optimal" if value - bound <= max(rel_gap * abs(value), 1e-7) else "feasible"
    return chosen, value, bound, solver, status, size


def greedy_lscp(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    weights: np.ndarray,
    need: np.ndarray,
    rules: Rules,
    *,
    deadline: float,
) -> tuple[list[int], bool]:
    """Return a greedy choice reaching covered weight ``need[r]`` for every rule, and success.

    Score of a candidate = sum over rules of ``min(gain_r, still needed_r) / need_r`` per unit
    cost; area minimums are served first; afterwards sites whose removal keeps every target met
    are dropped again (latest first).
    """
    resid = weights.astype(np.float64).copy()
    gains = at @ resid
    left = need.astype(np.float64).copy()
    scale = np.where(need > 0, need, 1.0)
    choice = Choice(rules)
    tol = 1e-9 * max(1.0, float(need.max(initial=0.0)))

    def pick(j: int) -> None:
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        rows = rows[resid[rows].sum(axis=1) > 0]
        if rows.size:
            take = resid[rows]
            left[:] -= take.sum(axis=0)
            resid[rows] = 0.0
            gains[:] -= a[rows].T @ take
        choice.add(j)

    def score() -> np.ndarray:
        useful = np.minimum(gains, np.maximum(left, 0.0)) / scale
        return useful.sum(axis=1) / np.maximum(rules.cost, TOL)

    feasible = True
    while choice.area_count.size and choice.deficit_areas().any():
        need_area = choice.deficit_areas()
        ok = choice.can_add() & rules.counts & (rules.area >= 0)
        ok &= need_area[np.clip(rules.area, 0, None)]
        if not ok.any():
            feasible = False
            break
        sc = np.where(ok, score(), -INF)
        pick(int(np.argmax(sc)))
    while (left > tol).any() and time.perf_counter() < deadline:
        ok = choice.can_add()
        sc = np.where(ok, score(), -INF)
        j = int(np.argmax(sc))
        if sc[j] <= 0:
            feasible = False
            break
        pick(j)
    if (left > tol).any():
        return choice.order, False
    # Drop redundant sites, latest pick first.
    sel = np.zeros(rules.n)
    sel[choice.order] = 1.0
    cnt = a @ sel
    for j in list(reversed(choice.order)):
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        only = rows[cnt[rows] == 1]
        loss = weights[only].sum(axis=0)
        area_ok = True
        if choice.area_count.size and rules.counts[j] and rules.area[j] >= 0:
            area_ok = choice.area_count[rules.area[j]] - 1 >= rules.area_min[rules.area[j]]
        if area_ok and (left + loss <= tol).all():
            choice.remove(j)
            cnt[rows] -= 1
            left += loss
    return choice.order, feasible


def lscp_lower_bound(at: sp.csr_matrix, weights: np.ndarray, need: np.ndarray, rules: Rules) -> float:
    """Return a valid lower bound on the least cost reaching ``need`` (fractional knapsack per rule).

    For each rule, covering ``need_r`` costs at least the cheapest fractional selection of
    candidates by covered weight per unit cost (overlaps ignored, which only helps); the largest
    of these over the rules is a lower bound.
    """
    best = 0.0
    col_w = at @ weights
    for r in range(weights.shape[1]):
        if need[r] <= 0:
            continue
        ratio = col_w[:, r] / np.maximum(rules.cost, TOL)
        order = np.argsort(-ratio, kind="stable")
        cum = np.cumsum(col_w[order, r])
        k = int(np.searchsorted(cum, need[r] - 1e-9))
        if k >= order.size:
            return INF
        spent = float(rules.cost[order[:k]].sum())
        before = float(cum[k - 1]) if k else 0.0
        frac = (need[r] - before) / max(float(col_w[order[k], r]), TOL)
        best = max(best, spent + frac * float(rules.cost[order[k]]))
    return best



def solve_problem(problem: SitingProblem) -> SitingResult:
    """Solve ``problem`` as a set-covering model (the registry's ``lscp``)."""
    o = problem.options
    if o.target is None:
        raise ConfigError("lscp 模型需要目标覆盖率（target = \"95%\" 或 --target 95%）。"
                          " The lscp model needs a target share (target = \"95%\" or --target 95%).")
    return solve_lscp(
        list(problem.covers), list(problem.weights), target=o.target,
        fixed_covered=list(problem.fixed), constraints=problem.constraints, solver=o.solver(),
    )


MODEL = SitingModel(key="lscp", title="集合覆盖 set covering (LSCP)", needs_target=True,
                    capacity=False, solve=solve_problem)
