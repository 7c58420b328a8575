"""Maximal covering (MCLP): at most ``p`` new sites (and/or upgrades within a budget), most covered weight.

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
from yizhan.geo.siting.constraints import SiteConstraints, build_rules, infeasible, pad_to_p
from yizhan.geo.siting.covering import (
    CoverReduction,
    capacity_model,
    cover_model,
    cover_start,
    covered_value,
    fix_by_reduced_cost,
    greedy_cover,
    lagrangian_cover,
    rank_cover,
    reduce_cover,
    smooth_dual_cover,
    swap_cover,
)
from yizhan.geo.siting.heuristics import Lagrangian
from yizhan.geo.siting.highs import AUTO_MIP_NONZEROS, SolverOptions, solve_mip
from yizhan.geo.siting.problem import (
    SitingModel,
    SitingProblem,
    as_list,
    fixed_list,
    stack,
    weights_list,
)
from yizhan.geo.siting.result import SitingResult, gap_max
from yizhan.geo.siting.verify import confirmed, exact_covered_value

from yizhan.errors import ConfigError

#: Largest core (candidates left after reduced-cost fixing) solved as an exact MIP.
CORE_LIMIT = 1500


def solve_mclp(
    cover: sp.spmatrix | sp.sparray | Sequence[sp.spmatrix | sp.sparray],
    weight: Any,
    *,
    p: int | None,
    fixed_covered: Any = None,
    constraints: SiteConstraints | None = None,
    rule_weights: Sequence[float] | None = None,
    hierarchical: bool = False,
    solver: SolverOptions | None = None,
    p_exactly: bool = False,
) -> SitingResult:
    """Return the maximal-covering choice of sites (model in the module docstring), ranked.

    Parameters
    ----------
    cover
        Sparse ``demand x candidates`` matrix; a stored entry = the candidate covers the row.
        A sequence of matrices (same columns) states several rules.
    weight
        Demand weight per row (a sequence of arrays with several rules).
    p
        Most new sites (candidates with ``counts_toward_p``); ``None`` = no limit (then give a
        budget).
    fixed_covered
        Rows already covered by existing stations (bool per row; sequence with several rules).
    constraints
        Costs and budget, new sites vs upgrades, admin-area minimums, spacing conflicts and
        capacities (:class:`~yizhan.geo.siting.constraints.SiteConstraints`); capacities use
        the assignment form.
    rule_weights
        Weight ``alpha_r`` of each rule's covered weight (default 1 each).
    hierarchical
        Optimise the rules in order (lexicographically) instead of a weighted sum.
    solver
        Time limit, method (``"auto"``, ``"exact"`` = HiGHS, ``"greedy"`` = greedy + swap +
        Lagrangian bound), seed and relative gap
        (:class:`~yizhan.geo.siting.highs.SolverOptions`).
    p_exactly
        Place exactly ``p`` new sites (spopt's form) instead of at most ``p``. Extra sites never
        lower the covered weight, so the answer is the "at most" one plus sites that add
        nothing (lowest index first); an error when they cannot fit (budget, spacing) or when
        there are fewer than ``p`` candidates.

    Returns
    -------
    SitingResult
        Ranked table, objective (covered weight incl. existing coverage), bound, gap, sizes.

    Raises
    ------
    ConfigError
        If the constraints cannot all be met or an option is invalid.
    """
    settings = SolverOptions.of(solver)
    method, time_limit, seed = settings.method, settings.time_limit, settings.seed
    rel_gap = settings.rel_gap
    budget = constraints.budget if constraints is not None else None
    t0 = time.perf_counter()
    covers = as_list(cover)
    rows = [c.shape[0] for c in covers]
    weights = weights_list(weight, len(covers), rows)
    fixed = fixed_list(fixed_covered, len(covers), rows)
    a, w, fx, rule_of = stack(covers, weights, fixed)
    n = a.shape[1]
    if p is None and budget is None:
        raise ConfigError("请给出新站数 p 或预算。Give the number of sites p or a budget.")
    rules, _labels = build_rules(n, p=p, constraints=constraints, model="mclp", p_exactly=p_exactly)
    n_rules = len(covers)
    alpha = np.ones(n_rules) if rule_weights is None else np.asarray(rule_weights, np.float64)
    if alpha.size != n_rules or (alpha < 0).any():
        raise ConfigError("规则权重须为非负数，每条规则一个。Give one rule weight >= 0 per rule.")
    with threadpool_limits(1):
        red = reduce_cover(a, w, fx, rules)
        deadline = t0 + time_limit
        if hierarchical and n_rules > 1:
            chosen, value, bound, used, status, mip_size = _hierarchical(
                red, deadline=deadline, method=method, seed=seed, rel_gap=rel_gap
            )
            alpha_rank = _lex_alpha(red)
        else:
            chosen, value, bound, used, status, mip_size = _max_cover(
                red, alpha, deadline=deadline, method=method, seed=seed, rel_gap=rel_gap
            )
            alpha_rank = alpha
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        if p_exactly:
            chosen_orig = pad_to_p(chosen_orig, rules)
        problems = rules.violations(chosen_orig)
        if problems:
            raise infeasible(rules, "; ".join(problems[:3]))
        table, covered = rank_cover(a, w, fx, rule_of=rule_of, alpha=alpha_rank, chosen=chosen_orig, rules=rules)
    lex = hierarchical and n_rules > 1
    const = float(red.fixed @ alpha) if not lex else float(red.fixed[0])
    # The objective is recomputed from the chosen sites in exact arithmetic; "optimal" only
    # when that value and the bound agree (a solver's word alone is not taken).
    obj_alpha = alpha if not lex else np.eye(n_rules)[0]
    if rules.has_capacity:  # served weight is the assignment's, checked by rank_cover's table
        objective = value + const
    else:
        objective = exact_covered_value(a, w[np.arange(w.shape[0]), rule_of], fx, rule_of,
                                        obj_alpha, chosen=chosen_orig)
    value = objective - const
    full_bound = max(bound + const, objective)
    if status == "optimal" and not confirmed(objective, full_bound, maximize=True,
                                             rel_gap=rel_gap):
        status = "feasible"
    sizes: dict[str, Any] = dict(red.sizes)
    if mip_size:
        sizes["mip"] = mip_size
    return SitingResult(
        table=table,
        chosen=table["candidate"].to_numpy(np.int64),
        objective=objective,
        bound=full_bound,
        gap=gap_max(objective, full_bound),
        gap_new=gap_max(value, bound),
        solver=used,
        status=status,
        seconds=time.perf_counter() - t0,
        sizes=sizes,
        model="mclp",
        covered_after=tuple(covered[rule_of == r] for r in range(n_rules)),
    )


def _lex_alpha(red: CoverReduction) -> np.ndarray:
    """Return weights that order rules lexicographically (each outweighs all later ones)."""
    totals = red.weights.sum(axis=0)
    alpha = np.ones(totals.size)
    for r in range(totals.size - 2, -1, -1):
        alpha[r] = alpha[r + 1] * (totals[r + 1] + 1.0)
    return alpha


def _max_cover(
    red: CoverReduction,
    alpha: np.ndarray,
    *,
    deadline: float,
    method: str,
    seed: int,
    rel_gap: float,
    floors: dict[int, float] | None = None,
) -> tuple[list[int], float, float, str, str, dict[str, int] | None]:
    """Solve the reduced MCLP; return (chosen reduced columns, value, bound, solver, status, MIP size)."""
    a = red.cover
    at = a.T.tocsr()
    w = red.weights @ alpha
    rules = red.rules
    capacity = rules.has_capacity
    if a.shape[1] == 0:
        return [], 0.0, 0.0, "trivial", "optimal", None
    solver_parts = ["greedy"]
    chosen: list[int] = []
    value = -math.inf
    if not floors:
        order, residual, feasible = greedy_cover(a, at, w, rules, deadline=deadline)
        if feasible:
            if not capacity:
                order = swap_cover(a, at, w, rules, order, deadline=deadline)
                solver_parts.append("swap")
                value = covered_value(a, w, order)
            else:
                value = float(w.sum() - residual.sum())
            chosen = order
    bound = float(w.sum())
    mip_size = None
    small = a.nnz + a.shape[0] <= AUTO_MIP_NONZEROS
    run_mip = method == "exact" or (method == "auto" and (small or capacity or floors))
    if method == "greedy" and floors:
        run_mip = False
    if not run_mip and not capacity and chosen:
        chosen, value, bound = _large_cover(
            red, alpha, at, w, chosen, value, bound, solver_parts,
            deadline=deadline, method=method, seed=seed, rel_gap=rel_gap,
        )
    if run_mip:
        build = capacity_model if capacity else cover_model
        model, nx = build(red, alpha=alpha, floors=floors)
        mip_size = model.size
        start = cover_start(red, np.asarray(chosen, np.int64), capacity=capacity) if chosen else None
        remaining = max(deadline - time.perf_counter(), 1.0)
        res = solve_mip(model, time_limit=remaining, seed=seed, rel_gap=rel_gap, start=start)
        if res.values is not None:
            x = np.flatnonzero(res.values[:nx] > 0.5)
            mip_value = float(res.objective)
            if mip_value >= value - 1e-9 * max(1.0, abs(value)) or not chosen:
                chosen, value = [int(j) for j in x], mip_value
                solver_parts = ["highs-mip"]
            else:
                solver_parts.append("highs-mip")
        elif not chosen:
            raise infeasible(rules, res.status)
        if math.isfinite(res.bound):
            bound = min(bound, res.bound)
        if res.status == "Optimal":
            bound = min(bound, max(value, res.objective))
    if not chosen and value == -math.inf:
        raise infeasible(rules, "greedy found no feasible choice")
    bound = max(bound, value)
    status = "optimal" if bound - value <= max(rel_gap * abs(bound), 1e-7) else "feasible"
    return chosen, value, bound, "+".join(solver_parts), status, mip_size


def _large_cover(  # noqa: PLR0913, PLR0917 - private step of _max_cover
    red: CoverReduction, alpha: np.ndarray, at: sp.csr_matrix, w: np.ndarray,
    chosen: list[int], value: float, bound: float, solver_parts: list[str], *,
    deadline: float, method: str, seed: int, rel_gap: float,
) -> tuple[list[int], float, float]:
    """Bound and improve a large MCLP without one big MIP; return (choice, value, bound).

    1. Lagrangian bound (a quarter of the time left). 2. ``auto`` only: core MIP on the
    candidates with the highest Lagrangian prices, warm-started with greedy + swap (heuristic).
    3. Reduced-cost fixing against the improved incumbent; when few candidates survive, the MIP
    over all of them proves a bound for the whole problem. 4. Remaining time resumes the dual
    at lower temperatures to tighten the bound.
    """
    a = red.cover
    rules = red.rules
    budgeted = np.isfinite(rules.budget)

    def left() -> float:
        return max(deadline - time.perf_counter(), 0.0)

    def dual(until: float, lam0: np.ndarray | None = None, first: int = 0) -> Lagrangian:
        if budgeted:
            return lagrangian_cover(a, at, w, rules, lower=value, deadline=until)
        return smooth_dual_cover(a, at, w, rules, lower=value, deadline=until, max_iter=1000,
                                 resume=(lam0, first) if lam0 is not None else None)

    lag = dual(time.perf_counter() + 0.25 * left())
    bound = min(bound, lag.bound)
    solver_parts.append("lagrangian-bound")

    def open_gap() -> bool:
        return bound - value > rel_gap * abs(bound)

    if method == "auto" and open_gap() and left() > 2.0:
        found = _core_mip(red, alpha, lag.c, chosen, deadline=time.perf_counter() + 0.6 * left(),
                          seed=seed, rel_gap=rel_gap)
        if found is not None:
            core_value = covered_value(a, w, found[0])
            if core_value > value + 1e-9 * max(1.0, abs(value)):
                chosen, value = found[0], core_value
            solver_parts.append("core-mip")
        fixed_out, worst = fix_by_reduced_cost(lag, rules, value)
        free = np.flatnonzero(~fixed_out)
        if fixed_out.any() and free.size <= CORE_LIMIT and open_gap() and left() > 2.0:
            found = _core_mip(red, alpha, lag.c, chosen, deadline=time.perf_counter() + 0.7 * left(),
                              seed=seed, rel_gap=rel_gap, core=free)
            if found is not None:
                core_value = covered_value(a, w, found[0])
                if core_value > value + 1e-9 * max(1.0, abs(value)):
                    chosen, value = found[0], core_value
                if math.isfinite(found[1]):
                    bound = min(bound, max(found[1], worst, value))
                solver_parts.append("reduced-cost-fixing")
    if open_gap() and left() > 1.0 and not budgeted:
        polish = dual(deadline, lam0=lag.lam, first=2)
        bound = min(bound, polish.bound)
    return chosen, value, max(bound, value)


def _core_mip(
    red: CoverReduction, alpha: np.ndarray, price: np.ndarray, chosen: list[int], *,
    deadline: float, seed: int, rel_gap: float, core: np.ndarray | None = None,
) -> tuple[list[int], float, str] | None:
    """Return (choice, bound, status) of HiGHS on a core of candidates, or ``None``.

    The core is ``core`` if given (every candidate not fixed out by reduced costs: then the
    bound is valid for the core, hence with the fixed-out bound for the whole problem), else
    the current choice plus the candidates with the highest Lagrangian prices (about the weight
    each would cover at the LP optimum), ``max(4 p, p + 300)`` in all -- a heuristic that may
    improve the solution but not the bound. The demand rows the core covers form the model,
    warm-started with the current choice.
    """
    rules = red.rules
    n = red.cover.shape[1]
    if core is None:
        k = int(min(n, max(4 * rules.p, rules.p + 300))) if np.isfinite(rules.p) else n
        order = np.argsort(-price, kind="stable")
        core = order[:k]
    core = np.union1d(core, np.asarray(chosen, np.int64))
    # min-per-area needs at least as many core candidates per area as the minimum
    if rules.has_area_min:
        sel = np.flatnonzero((rules.area >= 0) & rules.counts)
        core = np.union1d(core, sel)
    sub = red.cover[:, core]
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sub[rows]
    core_red = reduce_cover(
        sub, red.weights[rows], np.zeros(rows.size, bool), rules.take(core), dominance=False
    )
    model, nx = cover_model(core_red, alpha=alpha)
    position = {int(c): i for i, c in enumerate(core[core_red.cols])}
    start_cols = np.array([position[c] for c in chosen if c in position], np.int64)
    start = cover_start(core_red, start_cols, capacity=False)
    remaining = deadline - time.perf_counter() - 0.5
    if remaining < 1.0:
        return None
    res = solve_mip(model, time_limit=remaining, seed=seed, rel_gap=rel_gap, start=start)
    if res.values is None:
        return None
    picked = np.flatnonzero(res.values[:nx] > 0.5)
    return [int(c) for c in core[core_red.cols[picked]]], float(res.bound), res.status


def _hierarchical(
    red: CoverReduction, *, deadline: float, method: str, seed: int, rel_gap: float
) -> tuple[list[int], float, float, str, str, dict[str, int] | None]:
    """Solve rules lexicographically; value/bound refer to the first rule."""
    n_rules = red.weights.shape[1]
    if method == "greedy":
        alpha = _lex_alpha(red)
        picked, _v, _b, solver, _s, size = _max_cover(
            red, alpha, deadline=deadline, method="greedy", seed=seed, rel_gap=rel_gap
        )
        first = covered_value(red.cover, red.weights[:, 0], picked)
        lag = smooth_dual_cover(
            red.cover, red.cover.T.tocsr(), red.weights[:, 0], red.rules, lower=first, deadline=deadline
        ) if not np.isfinite(red.rules.budget) else lagrangian_cover(
            red.cover, red.cover.T.tocsr(), red.weights[:, 0], red.rules, lower=first, deadline=deadline
        )
        bound = max(first, lag.bound)
        status = "optimal" if bound - first <= rel_gap * abs(bound) else "feasible"
        return picked, first, bound, solver + "(lexicographic)", status, size
    floors: dict[int, float] = {}
    first_value = first_bound = 0.0
    chosen: list[int] = []
    statuses = []
    size = None
    start_time = time.perf_counter()
    for r in range(n_rules):
        share = (deadline - time.perf_counter()) / (n_rules - r)
        stage_deadline = time.perf_counter() + max(share, 1.0)
        alpha = np.zeros(n_rules)
        alpha[r] = 1.0
        chosen, value, bound, _solver, status, size = _max_cover(
            red, alpha, deadline=stage_deadline, method="exact", seed=seed, rel_gap=rel_gap,
            floors=dict(floors),
        )
        statuses.append(status)
        if r == 0:
            first_value, first_bound = value, bound
        achieved = covered_value(red.cover, red.weights[:, r], chosen)
        floors[r] = achieved - 1e-7 * max(1.0, achieved)
    del start_time
    status = "optimal" if all(s == "optimal" for s in statuses) else "feasible"
    return chosen, first_value, first_bound, "highs-mip(lexicographic)", status, size



def solve_problem(problem: SitingProblem) -> SitingResult:
    """Solve ``problem`` as a maximal-covering model (the registry's ``mclp``)."""
    o = problem.options
    return solve_mclp(
        list(problem.covers), list(problem.weights), p=o.n_sites, fixed_covered=list(problem.fixed),
        constraints=problem.constraints, rule_weights=o.rule_weights, hierarchical=o.hierarchical,
        solver=o.solver(), p_exactly=o.sites_exactly,
    )


MODEL = SitingModel(key="mclp", title="最大覆盖 maximal covering (MCLP)", needs_target=False,
                    capacity=True, solve=solve_problem)
