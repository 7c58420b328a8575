"""Site selection: where new rest stations (or station upgrades) add the most coverage.

Three models, all on a sparse coverage structure (demand rows x candidate columns; a stored
entry means "this candidate would serve this demand point under the rule"):

- :func:`solve_mclp` -- maximal covering: at most ``p`` new sites and/or upgrades within a budget,
  maximising covered demand weight; existing stations are fixed.
- :func:`solve_lscp` -- set covering: the least cost (fewest sites with unit costs) reaching a
  target covered share of demand weight, per rule.
- :func:`solve_pmedian` -- p-median: minimise weighted travel cost to the nearest station
  (existing or new).

:func:`suggest_sites` builds these structures from a road network, stations, demand, rules and
candidates (:mod:`yizhan.geo.candidates`) and returns ranked suggestions with coordinates.

Notation
--------
``i`` demand row with weight ``w_i`` (several rules stack their rows: row ``i`` belongs to rule
``r(i)``); ``j`` candidate; ``N_i`` the candidates serving row ``i``; ``F`` the rows already
covered by existing stations; ``x_j`` = 1 if candidate ``j`` is chosen; ``y_i`` = covered.

MCLP (weighted rules with weights ``alpha_r``)::

    max   sum_{i not in F} alpha_{r(i)} w_i y_i          (+ the constant covered weight of F)
    s.t.  y_i <= sum_{j in N_i} x_j                      for every row i
          sum_{j new} x_j <= p                           (upgrades do not count toward p)
          sum_j c_j x_j <= B                             (budget: build and upgrade costs)
          sum_{j new, j in area a} x_j >= k_a            (minimum new sites per admin area)
          x_j + x_l <= 1                                 (pairs closer than the min spacing)
          x binary, 0 <= y <= 1

Hierarchical rules solve the rules in priority order, each time adding
``sum_{i in rule q} w_i y_i >= (best covered weight of q)`` for every earlier rule ``q``.
With capacities ``u_j`` (in demand-weight units) the assignment form replaces ``y``:
``z_ij`` = share of row ``i`` served by ``j``, ``sum_j z_ij <= 1``, ``z_ij <= x_j``,
``sum_i w_i z_ij <= u_j x_j``; maximise ``sum w_i z_ij``.

LSCP (target share ``t``, per rule ``r`` with total weight ``W_r``)::

    min   sum_j c_j x_j                                  (unit costs: number of sites)
    s.t.  sum_{i in rule r, i not in F} w_i y_i >= t W_r - (weight of rule r in F)   for all r
          y_i <= sum_{j in N_i} x_j ;  area minimums and spacing as above
          x binary, 0 <= y <= 1

p-median (``d_ij`` travel cost of stored pairs; ``f_i`` the fallback cost: nearest existing
station, or ``unreached_cost`` if none)::

    min   sum_i w_i ( sum_{j in N_i} d_ij z_ij + f_i u_i )
    s.t.  sum_{j in N_i} z_ij + u_i = 1                  for every row i
          z_ij <= x_j ;  sum_{j new} x_j <= p ;  budget, area minimums and spacing as above
          x binary, z, u >= 0

Solving
-------
Every model is first reduced safely (all reductions keep the optimum): rows already covered or
not coverable become constants; candidates that cover nothing or can never be afforded are
dropped (unless an area minimum needs them); rows with identical candidate sets are merged
(weights added); candidates dominated by another (covers a superset, costs no more, same
area, not in a spacing conflict) are dropped; rows with a single candidate move their weight
onto that candidate. Then:

- ``method="greedy"``: greedy (largest weight gained per step, per unit cost under a budget)
  followed by a swap local search; the bound comes from the Lagrangian dual
  (smoothed dual minimised by spectral projected gradient for p; subgradient under a budget),
  whose value at any multipliers is a valid bound, equal to the LP bound at convergence.
- ``method="exact"``: the reduced model is passed to HiGHS in one call (CSR arrays), warm-started
  with the greedy + swap solution.
- ``method="auto"`` (default): greedy + swap, then HiGHS on the whole reduced model when it is
  small enough (:data:`AUTO_MIP_NONZEROS`); for larger ones: the Lagrangian bound, a core MIP on
  the candidates with the highest Lagrangian prices warm-started with greedy + swap (improves the
  solution), reduced-cost fixing against the new incumbent (a candidate whose Lagrangian bound
  with it chosen cannot beat the incumbent is dropped; when at most :data:`CORE_LIMIT` remain,
  their MIP bound is a bound for the whole problem), and the rest of the time tightening the
  dual. On 100,000 demand x 5,000 candidates (p = 100) this proves a gap below 0.1 % in under a
  minute (``benchmarks/bench_siting.py``).

Results are deterministic: ties go to the lowest candidate index, HiGHS gets a fixed seed
(a binding time limit can still stop HiGHS at a different incumbent on a busier machine).

Gap
---
``gap = (bound - objective) / bound`` for maximisation and ``(objective - bound) / objective`` for
minimisation, with ``objective`` the whole covered weight (including demand existing stations
already cover) -- the figure HiGHS reports for the same model. ``gap_new`` measures the same
distance relative to the weight gained by the new sites only (stricter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from yizhan.geo import _siting_models as _m
from yizhan.geo import candidates as cand_mod
from yizhan.geo.areas import admin_of_points
from yizhan.geo.candidates import CANDIDATE_COLUMNS, required_amenities
from yizhan.geo.coverage import compute_coverage
from yizhan.geo.gaps import find_gaps
from yizhan.geo.paths import pairs_within, snap
from yizhan.geo.rules import CoverageRule, parse_cutoff

from yizhan import log
from yizhan.checks import check_number
from yizhan.errors import ConfigError
from yizhan.io import write_csv_atomic, write_text_atomic, write_with

Method = Literal["auto", "exact", "greedy"]
METHODS: tuple[str, ...] = ("auto", "exact", "greedy")

#: ``method="auto"`` passes a reduced model to HiGHS only up to this many non-zeros; bigger
#: models get greedy + swap + Lagrangian bound (HiGHS's root LP alone takes minutes there).
AUTO_MIP_NONZEROS = 250_000

#: Largest core (candidates left after reduced-cost fixing) solved as an exact MIP.
CORE_LIMIT = 1500

#: Default relative optimality tolerance of the exact solver.
DEFAULT_REL_GAP = 1e-6


@dataclass(frozen=True)
class SitingResult:
    """Ranked suggestions and how good they are.

    Attributes
    ----------
    table
        One row per chosen candidate, ranked (rank 1 = most valuable given existing stations):
        ``rank``, ``candidate`` (column index in the input), ``kind`` (``new``/``upgrade``),
        ``cost``, ``weight_gained``, ``covered_weight_after``, ``covered_share_after`` and, with
        several rules, ``weight_gained_<r>`` / ``covered_share_after_<r>`` per rule; for the
        p-median also ``cost_saved`` and ``mean_cost_after``. :func:`suggest_sites` returns a
        GeoDataFrame with coordinates and ids instead.
    chosen
        Candidate column indices in rank order.
    objective
        Covered weight (including existing coverage; alpha-weighted with several rules) for
        MCLP, total cost of the chosen sites for LSCP, weighted travel cost for p-median.
    bound
        Best proven bound on ``objective`` (upper for MCLP, lower for LSCP and p-median).
    gap
        Relative distance between objective and bound (0 = proven optimal).
    gap_new
        Same distance relative to the new sites' own contribution.
    solver
        What produced the solution, e.g. ``"highs-mip"`` or ``"greedy+swap"``.
    status
        ``"optimal"`` or ``"feasible"`` (stopped with a gap).
    seconds
        Wall time.
    sizes
        Model sizes before and after reductions (demand rows, candidates, non-zeros; and the
        MIP's rows/cols/non-zeros when one was built).
    model
        ``"mclp"``, ``"lscp"`` or ``"pmedian"``.
    covered_after
        Per rule, a boolean array over that rule's demand rows: covered once the chosen sites
        exist (existing coverage included). ``None`` for p-median without a cover structure.
    """

    table: pd.DataFrame
    chosen: np.ndarray
    objective: float
    bound: float
    gap: float
    gap_new: float
    solver: str
    status: str
    seconds: float
    sizes: dict[str, Any] = field(default_factory=dict)
    model: str = "mclp"
    covered_after: tuple[np.ndarray, ...] | None = None

    def summary(self) -> dict[str, Any]:
        """Return the JSON-ready figures (objective, bound, gap, solver, seconds, sizes)."""
        return {
            "model": self.model,
            "objective": _json_float(self.objective),
            "bound": _json_float(self.bound),
            "gap": _json_float(self.gap),
            "gap_new": _json_float(self.gap_new),
            "solver": self.solver,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "n_sites": len(self.chosen),
            "sizes": self.sizes,
        }


#: Alias: the suggestions a union officer reads are a :class:`SitingResult`.
Suggestions = SitingResult


def _json_float(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 9)


# ---------------------------------------------------------------------------------------------
# Input normalisation
# ---------------------------------------------------------------------------------------------


def _as_list(cover: Any) -> list[sp.csr_matrix]:
    if sp.issparse(cover):
        return [sp.csr_matrix(cover)]
    return [sp.csr_matrix(c) for c in cover]


def _weights_list(weight: Any, n_rules: int, rows: list[int]) -> list[np.ndarray]:
    if n_rules == 1 and not (isinstance(weight, (list, tuple)) and len(weight) == 1):
        out = [np.asarray(weight, np.float64).ravel()]
    else:
        out = [np.asarray(w, np.float64).ravel() for w in weight]
    if len(out) != n_rules:
        raise ValueError(f"{len(out)} weight arrays for {n_rules} cover matrices")
    for w, n in zip(out, rows, strict=True):
        if w.size != n:
            raise ValueError(f"weight has {w.size} values for {n} demand rows")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and >= 0")
    return out


def _fixed_list(fixed: Any, n_rules: int, rows: list[int]) -> list[np.ndarray]:
    if fixed is None:
        return [np.zeros(n, bool) for n in rows]
    if n_rules == 1 and not (isinstance(fixed, (list, tuple)) and len(fixed) == 1):
        out = [np.asarray(fixed, bool).ravel()]
    else:
        out = [np.asarray(f, bool).ravel() for f in fixed]
    for f, n in zip(out, rows, strict=True):
        if f.size != n:
            raise ValueError(f"fixed_covered has {f.size} values for {n} demand rows")
    return out


def _rules(
    n: int,
    *,
    p: int | None,
    cost: Any,
    budget: float | None,
    counts_toward_p: Any,
    area_of_candidate: Any,
    min_per_area: int | Mapping[Any, int] | None,
    conflicts: Any,
    capacity: Any,
) -> tuple[_m.Rules, list[str]]:
    """Return solver rules and the area labels (code -> label), validating user values."""
    if p is not None and (int(p) != p or p < 0):
        raise ConfigError(f"站点数 p 须为非负整数：{p!r}。The number of sites p must be a whole number >= 0.")
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise ConfigError(f"预算须为非负数：{budget!r}。The budget must be a number >= 0.")
    cost_arr = np.ones(n) if cost is None else np.asarray(cost, np.float64).ravel()
    if cost_arr.size != n or not np.isfinite(cost_arr).all() or (cost_arr < 0).any():
        raise ConfigError("候选点费用须为非负数。Candidate costs must be numbers >= 0, one per candidate.")
    counts = np.ones(n, bool) if counts_toward_p is None else np.asarray(counts_toward_p, bool).ravel()
    labels: list[str] = []
    area = np.full(n, -1, np.int64)
    area_min = np.zeros(0, np.int64)
    if area_of_candidate is not None:
        raw = pd.Series(list(area_of_candidate), dtype=object)
        if len(raw) != n:
            raise ValueError(f"area_of_candidate has {len(raw)} values for {n} candidates")
        present = raw.notna() & (raw.astype(str).str.strip() != "")
        labels = sorted({str(v) for v in raw[present]})
        code = {lab: k for k, lab in enumerate(labels)}
        area[present.to_numpy()] = [code[str(v)] for v in raw[present]]
        area_min = np.zeros(len(labels), np.int64)
        if min_per_area is not None:
            if isinstance(min_per_area, Mapping):
                for lab, k in min_per_area.items():
                    if str(lab) not in code:
                        raise ConfigError(
                            f"区域 {lab!r} 没有任何候选点，无法满足至少 {k} 个新站的要求；请为该区域补充候选点。"
                            f" Admin area {lab!r} has no candidate site, so it cannot get {k} new"
                            " site(s); add candidates there or lower the minimum."
                        )
                    area_min[code[str(lab)]] = int(k)
            else:
                area_min[:] = int(min_per_area)
    elif min_per_area:
        raise ConfigError(
            "设置了每区最少新站数，但候选点没有所属区域；请提供行政区图层（--admin）。"
            " A minimum per admin area needs the candidates' areas; give the admin layer (--admin)."
        )
    if (area_min < 0).any():
        raise ConfigError("每区最少新站数须 >= 0。The minimum per admin area must be >= 0.")
    cap = None if capacity is None else np.asarray(capacity, np.float64).ravel()
    if cap is not None:
        cap = np.where(np.isnan(cap), np.inf, cap)
        if cap.size != n or (cap < 0).any():
            raise ConfigError("候选点容量须为非负数。Candidate capacities must be numbers >= 0.")
    rules = _m.make_rules(
        n, p=p, counts=counts, cost=cost_arr, budget=budget, area=area,
        area_min=area_min, conflicts=conflicts, capacity=cap,
    )
    _check_area_feasible(rules, labels)
    return rules, labels


def _check_area_feasible(rules: _m.Rules, labels: list[str]) -> None:
    if not rules.has_area_min:
        return
    sel = (rules.area >= 0) & rules.counts
    have = np.bincount(rules.area[sel], minlength=rules.area_min.size)
    short = np.flatnonzero(have < rules.area_min)
    if short.size:
        names = ", ".join(f"{labels[a]} ({have[a]}/{rules.area_min[a]})" for a in short)
        raise ConfigError(
            f"以下区域的候选点少于每区最少新站数：{names}；请补充候选点或降低 --min-per-area。"
            f" These admin areas have fewer candidates than the minimum per area: {names};"
            " add candidates or lower --min-per-area."
        )
    if np.isfinite(rules.p) and rules.area_min.sum() > rules.p:
        raise ConfigError(
            f"每区最少新站数合计 {int(rules.area_min.sum())} 超过新站总数 p={int(rules.p)}。"
            f" The minimums per area add up to {int(rules.area_min.sum())}, more than p={int(rules.p)}."
        )


def _infeasible(rules: _m.Rules, what: str) -> ConfigError:
    return ConfigError(
        f"约束无法同时满足（{what}）：请放宽每区最少新站数、最小间距或预算。"
        f" The constraints cannot all be met ({what}); relax the minimum per area, the minimum"
        " spacing or the budget."
    )


def _stack(
    covers: list[sp.csr_matrix], weights: list[np.ndarray], fixed: list[np.ndarray]
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Return stacked cover, (rows x rules) weights, fixed mask and the rule of each row."""
    n_cols = {c.shape[1] for c in covers}
    if len(n_cols) != 1:
        raise ValueError("every cover matrix must have the same candidate columns")
    a = sp.vstack(covers, format="csr") if len(covers) > 1 else covers[0]
    rule_of = np.concatenate([np.full(c.shape[0], r) for r, c in enumerate(covers)])
    w = np.zeros((a.shape[0], len(covers)))
    w[np.arange(a.shape[0]), rule_of] = np.concatenate(weights)
    return a, w, np.concatenate(fixed), rule_of


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"未知求解方式 {method!r}，可选 {METHODS}。Unknown method {method!r}; use {METHODS}.")


# ---------------------------------------------------------------------------------------------
# MCLP
# ---------------------------------------------------------------------------------------------


def solve_mclp(
    cover: sp.spmatrix | sp.sparray | Sequence[sp.spmatrix | sp.sparray],
    weight: Any,
    *,
    p: int | None,
    fixed_covered: Any = None,
    cost: Any = None,
    budget: float | None = None,
    counts_toward_p: Any = None,
    area_of_candidate: Any = None,
    min_per_area: int | Mapping[Any, int] | None = None,
    conflicts: Any = None,
    capacity: Any = None,
    rule_weights: Sequence[float] | None = None,
    hierarchical: bool = False,
    time_limit: float = 60.0,
    method: Method = "auto",
    seed: int = 0,
    rel_gap: float = DEFAULT_REL_GAP,
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
    cost
        Cost per candidate (build or upgrade); default 1.
    budget
        Most total cost of chosen candidates.
    counts_toward_p
        Bool per candidate: ``True`` for new sites (count toward ``p`` and area minimums),
        ``False`` for upgrades of existing stations. Default all ``True``.
    area_of_candidate
        Admin area label per candidate (None/empty = none).
    min_per_area
        Least new sites per area: one number for every area, or ``{label: k}``.
    conflicts
        ``(k, 2)`` candidate index pairs that may not both be chosen (minimum spacing).
    capacity
        Demand weight each candidate can serve (NaN/inf = unlimited); uses the assignment form.
    rule_weights
        Weight ``alpha_r`` of each rule's covered weight (default 1 each).
    hierarchical
        Optimise the rules in order (lexicographically) instead of a weighted sum.
    time_limit
        Seconds for the whole solve.
    method
        ``"auto"``, ``"exact"`` (HiGHS) or ``"greedy"`` (greedy + swap + Lagrangian bound).
    seed
        Seed for HiGHS (results are deterministic for a given seed).
    rel_gap
        Relative gap at which the exact solver stops.

    Returns
    -------
    SitingResult
        Ranked table, objective (covered weight incl. existing coverage), bound, gap, sizes.

    Raises
    ------
    ConfigError
        If the constraints cannot all be met or an option is invalid.
    """
    _check_method(method)
    t0 = time.perf_counter()
    covers = _as_list(cover)
    rows = [c.shape[0] for c in covers]
    weights = _weights_list(weight, len(covers), rows)
    fixed = _fixed_list(fixed_covered, len(covers), rows)
    a, w, fx, rule_of = _stack(covers, weights, fixed)
    n = a.shape[1]
    if p is None and budget is None:
        raise ConfigError("请给出新站数 p 或预算。Give the number of sites p or a budget.")
    rules, _labels = _rules(
        n, p=p, cost=cost, budget=budget, counts_toward_p=counts_toward_p,
        area_of_candidate=area_of_candidate, min_per_area=min_per_area, conflicts=conflicts,
        capacity=capacity,
    )
    n_rules = len(covers)
    alpha = np.ones(n_rules) if rule_weights is None else np.asarray(rule_weights, np.float64)
    if alpha.size != n_rules or (alpha < 0).any():
        raise ConfigError("规则权重须为非负数，每条规则一个。Give one rule weight >= 0 per rule.")
    with threadpool_limits(1):
        red = _m.reduce_cover(a, w, fx, rules)
        deadline = t0 + time_limit
        if hierarchical and n_rules > 1:
            chosen, value, bound, solver, status, mip_size = _hierarchical(
                red, deadline=deadline, method=method, seed=seed, rel_gap=rel_gap
            )
            alpha_rank = _lex_alpha(red)
        else:
            chosen, value, bound, solver, status, mip_size = _max_cover(
                red, alpha, deadline=deadline, method=method, seed=seed, rel_gap=rel_gap
            )
            alpha_rank = alpha
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        problems = rules.violations(chosen_orig)
        if problems:
            raise _infeasible(rules, "; ".join(problems[:3]))
        table, covered = _rank_cover(a, w, fx, rule_of=rule_of, alpha=alpha_rank, chosen=chosen_orig, rules=rules)
    const = float(red.fixed @ alpha) if not (hierarchical and n_rules > 1) else float(red.fixed[0])
    objective = value + const
    full_bound = bound + const
    sizes: dict[str, Any] = dict(red.sizes)
    if mip_size:
        sizes["mip"] = mip_size
    return SitingResult(
        table=table,
        chosen=table["candidate"].to_numpy(np.int64),
        objective=objective,
        bound=full_bound,
        gap=_gap_max(objective, full_bound),
        gap_new=_gap_max(value, bound),
        solver=solver,
        status=status,
        seconds=time.perf_counter() - t0,
        sizes=sizes,
        model="mclp",
        covered_after=tuple(covered[rule_of == r] for r in range(n_rules)),
    )


def _gap_max(value: float, bound: float) -> float:
    if not math.isfinite(bound):
        return math.inf
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - value) / abs(bound))


def _gap_min(value: float, bound: float) -> float:
    if not math.isfinite(bound):
        return math.inf
    if value <= 0:
        return 0.0
    return max(0.0, (value - bound) / abs(value))


def _lex_alpha(red: _m.CoverReduction) -> np.ndarray:
    """Return weights that order rules lexicographically (each outweighs all later ones)."""
    totals = red.weights.sum(axis=0)
    alpha = np.ones(totals.size)
    for r in range(totals.size - 2, -1, -1):
        alpha[r] = alpha[r + 1] * (totals[r + 1] + 1.0)
    return alpha


def _max_cover(
    red: _m.CoverReduction,
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
        order, residual, feasible = _m.greedy_cover(a, at, w, rules, deadline=deadline)
        if feasible:
            if not capacity:
                order = _m.swap_cover(a, at, w, rules, order, deadline=deadline)
                solver_parts.append("swap")
                value = _m.covered_value(a, w, order)
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
        build = _m.capacity_model if capacity else _m.cover_model
        model, nx = build(red, alpha=alpha, floors=floors)
        mip_size = model.size
        start = _m.cover_start(red, np.asarray(chosen, np.int64), capacity=capacity) if chosen else None
        remaining = max(deadline - time.perf_counter(), 1.0)
        res = _m.solve_mip(model, time_limit=remaining, seed=seed, rel_gap=rel_gap, start=start)
        if res.values is not None:
            x = np.flatnonzero(res.values[:nx] > 0.5)
            mip_value = float(res.objective)
            if mip_value >= value - 1e-9 * max(1.0, abs(value)) or not chosen:
                chosen, value = [int(j) for j in x], mip_value
                solver_parts = ["highs-mip"]
            else:
                solver_parts.append("highs-mip")
        elif not chosen:
            raise _infeasible(rules, res.status)
        if math.isfinite(res.bound):
            bound = min(bound, res.bound)
        if res.status == "Optimal":
            bound = min(bound, max(value, res.objective))
    if not chosen and value == -math.inf:
        raise _infeasible(rules, "greedy found no feasible choice")
    bound = max(bound, value)
    status = "optimal" if bound - value <= max(rel_gap * abs(bound), 1e-7) else "feasible"
    return chosen, value, bound, "+".join(solver_parts), status, mip_size


def _large_cover(  # noqa: PLR0917 - private step of _max_cover
    red: _m.CoverReduction, alpha: np.ndarray, at: sp.csr_matrix, w: np.ndarray,
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

    def dual(until: float, lam0: np.ndarray | None = None, first: int = 0) -> _m.Lagrangian:
        if budgeted:
            return _m.lagrangian_cover(a, at, w, rules, lower=value, deadline=until)
        return _m.smooth_dual_cover(a, at, w, rules, lower=value, deadline=until, max_iter=1000,
                                    lam0=lam0, first_stage=first)

    lag = dual(time.perf_counter() + 0.25 * left())
    bound = min(bound, lag.bound)
    solver_parts.append("lagrangian-bound")

    def open_gap() -> bool:
        return bound - value > rel_gap * abs(bound)

    if method == "auto" and open_gap() and left() > 2.0:
        found = _core_mip(red, alpha, lag.c, chosen, deadline=time.perf_counter() + 0.6 * left(),
                          seed=seed, rel_gap=rel_gap)
        if found is not None:
            core_value = _m.covered_value(a, w, found[0])
            if core_value > value + 1e-9 * max(1.0, abs(value)):
                chosen, value = found[0], core_value
            solver_parts.append("core-mip")
        fixed_out, worst = _m.fix_by_reduced_cost(lag, rules, value)
        free = np.flatnonzero(~fixed_out)
        if fixed_out.any() and free.size <= CORE_LIMIT and open_gap() and left() > 2.0:
            found = _core_mip(red, alpha, lag.c, chosen, deadline=time.perf_counter() + 0.7 * left(),
                              seed=seed, rel_gap=rel_gap, core=free)
            if found is not None:
                core_value = _m.covered_value(a, w, found[0])
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
    red: _m.CoverReduction, alpha: np.ndarray, price: np.ndarray, chosen: list[int], *,
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
    core_red = _m.reduce_cover(
        sub, red.weights[rows], np.zeros(rows.size, bool), rules.take(core), dominance=False
    )
    model, nx = _m.cover_model(core_red, alpha=alpha)
    position = {int(c): i for i, c in enumerate(core[core_red.cols])}
    start_cols = np.array([position[c] for c in chosen if c in position], np.int64)
    start = _m.cover_start(core_red, start_cols, capacity=False)
    remaining = deadline - time.perf_counter() - 0.5
    if remaining < 1.0:
        return None
    res = _m.solve_mip(model, time_limit=remaining, seed=seed, rel_gap=rel_gap, start=start)
    if res.values is None:
        return None
    picked = np.flatnonzero(res.values[:nx] > 0.5)
    return [int(c) for c in core[core_red.cols[picked]]], float(res.bound), res.status


def _hierarchical(
    red: _m.CoverReduction, *, deadline: float, method: str, seed: int, rel_gap: float
) -> tuple[list[int], float, float, str, str, dict[str, int] | None]:
    """Solve rules lexicographically; value/bound refer to the first rule."""
    n_rules = red.weights.shape[1]
    if method == "greedy":
        alpha = _lex_alpha(red)
        picked, _v, _b, solver, _s, size = _max_cover(
            red, alpha, deadline=deadline, method="greedy", seed=seed, rel_gap=rel_gap
        )
        first = _m.covered_value(red.cover, red.weights[:, 0], picked)
        lag = _m.smooth_dual_cover(
            red.cover, red.cover.T.tocsr(), red.weights[:, 0], red.rules, lower=first, deadline=deadline
        ) if not np.isfinite(red.rules.budget) else _m.lagrangian_cover(
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
        achieved = _m.covered_value(red.cover, red.weights[:, r], chosen)
        floors[r] = achieved - 1e-7 * max(1.0, achieved)
    del start_time
    status = "optimal" if all(s == "optimal" for s in statuses) else "feasible"
    return chosen, first_value, first_bound, "highs-mip(lexicographic)", status, size


def _rank_cover(
    a: sp.csr_matrix,
    w: np.ndarray,
    fixed: np.ndarray,
    *,
    rule_of: np.ndarray,
    alpha: np.ndarray,
    chosen: np.ndarray,
    rules: _m.Rules,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the ranked table of ``chosen`` (greedy by marginal gain) and rows covered after."""
    a = _m.structure(a)
    n_rules = w.shape[1]
    combined = w @ alpha
    sub = a[:, chosen]
    live = ~fixed
    sub_rules = rules.take(chosen)
    plain = _m.make_rules(len(chosen), capacity=sub_rules.capacity)
    trace: list[tuple[np.ndarray, np.ndarray]] = []
    order, _res, _ok = _m.greedy_cover(
        sub, sub.T.tocsr(), combined * live, plain, deadline=math.inf, stop_at_zero=False,
        trace=trace,
    )
    totals = w.sum(axis=0)
    covered_w = w[fixed].sum(axis=0)
    total_combined = float(totals @ alpha)
    covered_combined = float(covered_w @ alpha)
    records = []
    for rank, (k, (rows, take)) in enumerate(zip(order, trace, strict=True), start=1):
        share_rows = np.where(combined[rows] > 0, take / np.where(combined[rows] > 0, combined[rows], 1.0), 0.0)
        gained_r = np.array([float((share_rows * w[rows, r]).sum()) for r in range(n_rules)])
        covered_w = covered_w + gained_r
        gain = float(take.sum())
        covered_combined += gain
        rec: dict[str, Any] = {
            "rank": rank,
            "candidate": int(chosen[k]),
            "kind": "new" if rules.counts[chosen[k]] else "upgrade",
            "cost": float(rules.cost[chosen[k]]),
            "weight_gained": gain,
            "covered_weight_after": covered_combined,
            "covered_share_after": covered_combined / total_combined if total_combined > 0 else math.nan,
        }
        if n_rules > 1:
            for r in range(n_rules):
                rec[f"weight_gained_{r}"] = gained_r[r]
                rec[f"covered_share_after_{r}"] = covered_w[r] / totals[r] if totals[r] > 0 else math.nan
        records.append(rec)
    cols = ["rank", "candidate", "kind", "cost", "weight_gained", "covered_weight_after", "covered_share_after"]
    table = pd.DataFrame(records, columns=cols if n_rules == 1 else None)
    if table.empty:
        table = pd.DataFrame({c: pd.Series(dtype=object if c == "kind" else float) for c in cols})
    sel = np.zeros(a.shape[1])
    sel[chosen] = 1.0
    covered = fixed | ((a @ sel) > 0)
    return table, covered


# ---------------------------------------------------------------------------------------------
# LSCP
# ---------------------------------------------------------------------------------------------


def solve_lscp(
    cover: sp.spmatrix | sp.sparray | Sequence[sp.spmatrix | sp.sparray],
    weight: Any,
    *,
    target: float | Sequence[float],
    fixed_covered: Any = None,
    cost: Any = None,
    counts_toward_p: Any = None,
    area_of_candidate: Any = None,
    min_per_area: int | Mapping[Any, int] | None = None,
    conflicts: Any = None,
    time_limit: float = 60.0,
    method: Method = "auto",
    seed: int = 0,
    rel_gap: float = DEFAULT_REL_GAP,
) -> SitingResult:
    """Return the least-cost choice of sites reaching a target covered share, ranked.

    Parameters
    ----------
    cover, weight, fixed_covered
        As for :func:`solve_mclp` (one matrix per rule).
    target
        Covered share of total demand weight to reach, in (0, 1], per rule or one for all.
        Existing coverage counts toward it.
    cost
        Cost per candidate; default 1 (= the fewest sites).
    counts_toward_p, area_of_candidate, min_per_area, conflicts
        As for :func:`solve_mclp`.
    time_limit, method, seed, rel_gap
        As for :func:`solve_mclp`.

    Returns
    -------
    SitingResult
        ``objective`` = total cost of the chosen sites (number of sites with unit costs).

    Raises
    ------
    ConfigError
        If the target cannot be reached even with every candidate, or constraints conflict.
    """
    _check_method(method)
    t0 = time.perf_counter()
    covers = _as_list(cover)
    rows = [c.shape[0] for c in covers]
    weights = _weights_list(weight, len(covers), rows)
    fixed = _fixed_list(fixed_covered, len(covers), rows)
    a, w, fx, rule_of = _stack(covers, weights, fixed)
    n = a.shape[1]
    n_rules = len(covers)
    targets = np.broadcast_to(np.asarray(target, np.float64), (n_rules,)).copy()
    if ((targets <= 0) | (targets > 1)).any():
        raise ConfigError(f"目标覆盖率须在 0 到 100% 之间：{target!r}。The target share must be in (0, 100%].")
    rules, _labels = _rules(
        n, p=None, cost=cost, budget=None, counts_toward_p=counts_toward_p,
        area_of_candidate=area_of_candidate, min_per_area=min_per_area, conflicts=conflicts,
        capacity=None,
    )
    with threadpool_limits(1):
        red = _m.reduce_cover(a, w, fx, rules)
        need = targets * red.total - red.fixed - 1e-9 * np.maximum(red.total, 1.0)
        reachable = red.fixed + red.weights.sum(axis=0)
        short = np.flatnonzero((need > 0) & (red.weights.sum(axis=0) < need))
        if short.size:
            r = int(short[0])
            best = reachable[r] / red.total[r] if red.total[r] > 0 else 0.0
            raise ConfigError(
                f"目标覆盖率 {targets[r]:.1%} 无法达到：即使建设全部候选点，规则 {r + 1} 也只能覆盖"
                f" {best:.1%}；请降低目标或增加候选点。 The target share {targets[r]:.1%} cannot be"
                f" reached: even every candidate covers only {best:.1%} under rule {r + 1};"
                " lower the target or add candidates."
            )
        need = np.maximum(need, 0.0)
        chosen, value, bound, solver, status, size = _min_cover(
            red, need, deadline=t0 + time_limit, method=method, seed=seed, rel_gap=rel_gap
        )
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        problems = rules.violations(chosen_orig)
        if problems:
            raise _infeasible(rules, "; ".join(problems[:3]))
        table, covered = _rank_cover(a, w, fx, rule_of=rule_of, alpha=np.ones(n_rules), chosen=chosen_orig, rules=rules)
    sizes: dict[str, Any] = dict(red.sizes)
    if size:
        sizes["mip"] = size
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=value, bound=bound,
        gap=_gap_min(value, bound), gap_new=_gap_min(value, bound), solver=solver, status=status,
        seconds=time.perf_counter() - t0, sizes=sizes, model="lscp",
        covered_after=tuple(covered[rule_of == r] for r in range(n_rules)),
    )


def _min_cover(
    red: _m.CoverReduction, need: np.ndarray, *, deadline: float, method: str, seed: int, rel_gap: float
) -> tuple[list[int], float, float, str, str, dict[str, int] | None]:
    a = red.cover
    rules = red.rules
    if (need <= 0).all() and not rules.has_area_min:
        return [], 0.0, 0.0, "trivial", "optimal", None
    at = a.T.tocsr()
    order, ok = _m.greedy_lscp(a, at, red.weights, need, rules, deadline=deadline)
    chosen = order if ok else []
    value = float(rules.cost[chosen].sum()) if ok else math.inf
    solver = "greedy"
    bound = _m.lscp_lower_bound(at, red.weights, need, rules)
    integral = bool(np.allclose(rules.cost, np.round(rules.cost)))
    size = None
    small = a.nnz + a.shape[0] <= AUTO_MIP_NONZEROS
    if method == "exact" or (method == "auto" and (small or not ok)):
        floors = {r: float(need[r]) for r in range(need.size) if need[r] > 0}
        model, nx = _m.cover_model(red, alpha=None, floors=floors, minimize_cost=True)
        size = model.size
        start = _m.cover_start(red, np.asarray(chosen, np.int64), capacity=False) if ok else None
        res = _m.solve_mip(model, time_limit=max(deadline - time.perf_counter(), 1.0), seed=seed,
                           rel_gap=rel_gap, start=start)
        if res.values is not None and res.objective <= value + 1e-9:
            chosen = [int(j) for j in np.flatnonzero(res.values[:nx] > 0.5)]
            value = float(rules.cost[chosen].sum())
            solver = "highs-mip"
        if math.isfinite(res.bound):
            bound = max(bound, res.bound)
        if res.status == "Infeasible" or (res.values is None and not ok):
            raise _infeasible(rules, res.status)
    if not math.isfinite(value):
        raise _infeasible(rules, "greedy found no feasible choice")
    if integral:
        bound = math.ceil(bound - 1e-6)
    bound = min(bound, value)
    status = "optimal" if value - bound <= max(rel_gap * abs(value), 1e-7) else "feasible"
    return chosen, value, bound, solver, status, size


# ---------------------------------------------------------------------------------------------
# p-median
# ---------------------------------------------------------------------------------------------


def solve_pmedian(
    cost_matrix: sp.spmatrix | sp.sparray,
    weight: Any,
    *,
    p: int | None,
    fixed_cost: Any = None,
    unreached_cost: float | None = None,
    cost: Any = None,
    budget: float | None = None,
    counts_toward_p: Any = None,
    area_of_candidate: Any = None,
    min_per_area: int | Mapping[Any, int] | None = None,
    conflicts: Any = None,
    time_limit: float = 60.0,
    method: Method = "auto",
    seed: int = 0,
    rel_gap: float = DEFAULT_REL_GAP,
) -> SitingResult:
    """Return the p-median choice of sites (weighted travel cost to the nearest station), ranked.

    Parameters
    ----------
    cost_matrix
        Sparse ``demand x candidates`` travel costs; stored entries are the reachable pairs
        (explicit zeros are kept and mean cost 0).
    weight
        Demand weight per row.
    p
        Most new sites; ``None`` = no limit (give a budget).
    fixed_cost
        Per row, travel cost to the nearest existing station (``inf`` = none reachable).
    unreached_cost
        Cost charged to a row with no open station or existing one in reach; default the
        largest stored cost (i.e. "at least the cutoff").
    cost, budget, counts_toward_p, area_of_candidate, min_per_area, conflicts
        As for :func:`solve_mclp`.
    time_limit, method, seed, rel_gap
        As for :func:`solve_mclp`.

    Returns
    -------
    SitingResult
        ``objective`` = total weighted travel cost; the table adds ``cost_saved`` and
        ``mean_cost_after`` per rank, and ``weight_gained``/``covered_share_after`` count rows
        that get a stored pair (are within reach) of an open site.
    """
    _check_method(method)
    t0 = time.perf_counter()
    c = sp.csr_matrix(cost_matrix, copy=True)
    c.sum_duplicates()
    n_rows, n = c.shape
    w = _weights_list(weight, 1, [n_rows])[0]
    if p is None and budget is None:
        raise ConfigError("请给出新站数 p 或预算。Give the number of sites p or a budget.")
    if c.nnz and (not np.isfinite(c.data).all() or (c.data < 0).any()):
        raise ValueError("stored costs must be finite and >= 0")
    unreached = float(c.data.max()) if unreached_cost is None and c.nnz else float(unreached_cost or 0.0)
    fc = np.full(n_rows, np.inf) if fixed_cost is None else np.asarray(fixed_cost, np.float64).ravel()
    fallback = np.where(np.isfinite(fc), fc, unreached)
    rules, _labels = _rules(
        n, p=p, cost=cost, budget=budget, counts_toward_p=counts_toward_p,
        area_of_candidate=area_of_candidate, min_per_area=min_per_area, conflicts=conflicts,
        capacity=None,
    )
    with threadpool_limits(1):
        red = _m.reduce_median(c, w, fallback, rules)
        deadline = t0 + time_limit
        solver = ["greedy"]
        order, ok = _m.greedy_median(red, deadline=deadline)
        chosen = order if ok else []
        if ok:
            chosen = _m.swap_median(red, order, deadline=deadline)
            solver.append("swap")
        value = _m.median_value(red, chosen) if ok else math.inf
        bound = red.constant + float((red.weights * np.minimum(red.fallback, _row_min(red.cost))).sum())
        size = None
        small = red.cost.nnz * 2 + red.cost.shape[0] <= AUTO_MIP_NONZEROS
        if method == "exact" or (method == "auto" and (small or not ok)):
            model, nx = _m.median_model(red)
            size = model.size
            start = _m.median_start(red, np.asarray(chosen, np.int64)) if ok else None
            res = _m.solve_mip(model, time_limit=max(deadline - time.perf_counter(), 1.0), seed=seed,
                               rel_gap=rel_gap, start=start)
            if res.values is not None:
                x = [int(j) for j in np.flatnonzero(res.values[:nx] > 0.5)]
                v = _m.median_value(red, x)
                if v <= value + 1e-9 * max(1.0, abs(value)):
                    chosen, value, solver = x, v, ["highs-mip"]
            elif not ok:
                raise _infeasible(rules, res.status)
            if math.isfinite(res.bound):
                bound = max(bound, res.bound + red.constant)
        else:
            bound = max(bound, _m.lagrangian_median(red, upper=value, deadline=deadline))
            solver.append("lagrangian-bound")
        if not math.isfinite(value):
            raise _infeasible(rules, "no feasible choice")
        bound = min(bound, value)
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        problems = rules.violations(chosen_orig)
        if problems:
            raise _infeasible(rules, "; ".join(problems[:3]))
        table, covered = _rank_median(c, w, fallback=fallback, fixed_cost=fc, chosen=chosen_orig, rules=rules)
    start_value = float(w @ fallback)
    status = "optimal" if value - bound <= max(rel_gap * abs(value), 1e-7) else "feasible"
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=value, bound=bound,
        gap=_gap_min(value, bound),
        gap_new=_gap_max(start_value - value, start_value - bound),
        solver="+".join(solver), status=status, seconds=time.perf_counter() - t0,
        sizes={**red.sizes, **({"mip": size} if size else {})}, model="pmedian",
        covered_after=(covered,),
    )


def _row_min(c: sp.csr_matrix) -> np.ndarray:
    """Return the smallest stored value per row (inf for empty rows)."""
    out = np.full(c.shape[0], np.inf)
    rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
    np.minimum.at(out, rows, c.data)
    return out


def _rank_median(
    c: sp.csr_matrix, w: np.ndarray, *, fallback: np.ndarray, fixed_cost: np.ndarray,
    chosen: np.ndarray, rules: _m.Rules,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the ranked p-median table (greedy by cost saved) and rows within reach after."""
    sub = c[:, chosen].tocsc()
    cur = fallback.copy()
    reached = np.isfinite(fixed_cost)
    total_w = float(w.sum())
    covered_w = float(w[reached].sum())
    left = list(range(len(chosen)))
    records = []
    for rank in range(1, len(chosen) + 1):
        best_k, best_save = left[0], -1.0
        for k in left:  # loop over chosen sites only (p of them)
            lo, hi = sub.indptr[k], sub.indptr[k + 1]
            rows, d = sub.indices[lo:hi], sub.data[lo:hi]
            save = float((w[rows] * np.maximum(0.0, cur[rows] - d)).sum())
            if save > best_save + 1e-12:
                best_k, best_save = k, save
        lo, hi = sub.indptr[best_k], sub.indptr[best_k + 1]
        rows, d = sub.indices[lo:hi], sub.data[lo:hi]
        new_reach = rows[~reached[rows]]
        gained = float(w[new_reach].sum())
        reached[rows] = True
        covered_w += gained
        cur[rows] = np.minimum(cur[rows], d)
        left.remove(best_k)
        j = int(chosen[best_k])
        records.append({
            "rank": rank, "candidate": j, "kind": "new" if rules.counts[j] else "upgrade",
            "cost": float(rules.cost[j]), "cost_saved": best_save,
            "mean_cost_after": float(w @ cur) / total_w if total_w > 0 else math.nan,
            "weight_gained": gained, "covered_weight_after": covered_w,
            "covered_share_after": covered_w / total_w if total_w > 0 else math.nan,
        })
    cols = ["rank", "candidate", "kind", "cost", "cost_saved", "mean_cost_after", "weight_gained",
            "covered_weight_after", "covered_share_after"]
    table = pd.DataFrame(records, columns=cols)
    return table, reached


def log_result(result: SitingResult) -> None:
    """Log a one-line bilingual summary of a solve (objective, bound, gap, solver, time)."""
    log.info(
        f"选址 siting ({result.model}): 目标值 objective {result.objective:,.2f}，界 bound"
        f" {result.bound:,.2f}，差距 gap {result.gap:.3%}，{result.solver}，{result.seconds:.1f} s"
    )


# ---------------------------------------------------------------------------------------------
# From networks, stations and demand to ranked suggestions
# ---------------------------------------------------------------------------------------------

#: Columns of the suggestions table written to ``suggestions.csv`` (per-rule columns follow).
SUGGESTION_COLUMNS: tuple[str, ...] = (
    "rank", "candidate_id", "name", "kind", "source", "lon", "lat", "admin_area", "cost",
    "weight_gained", "covered_share_after", "covered_pct_after", "amenities_to_add",
)

MODELS: tuple[str, ...] = ("mclp", "lscp", "pmedian")


def suggest_sites(
    net_by_mode: Mapping[str, Any],
    stations: Any,
    demand: Any,
    rules: Any,
    *,
    candidates: Any = None,
    p: int | None = None,
    target: float | None = None,
    model: str = "mclp",
    budget: float | None = None,
    build_cost: float = 1.0,
    upgrades: bool | None = None,
    upgrade_cost: float | Mapping[str, float] | None = None,
    min_per_area: int | Mapping[str, int] | None = None,
    admin: Any = None,
    min_spacing_m: float | None = None,
    rule_weights: Sequence[float] | None = None,
    hierarchical: bool = False,
    coverage: Any = None,
    gaps: Any = None,
    candidate_spacing_m: float | None = None,
    candidate_buffer_m: float | None = None,
    unreached_factor: float = 2.0,
    max_access_m: float = 500.0,
    time_limit: float = 60.0,
    method: Method = "auto",
    seed: int = 0,
) -> SitingResult:
    """Return ranked new sites (and upgrades) for ``stations`` and ``demand`` under ``rules``.

    Parameters
    ----------
    net_by_mode
        Road network per travel mode (:class:`yizhan.geo.network.RoadNetwork`); every rule's mode.
    stations
        Existing stations (stations contract); fixed.
    demand
        Demand points (demand contract).
    rules
        One :class:`yizhan.geo.rules.CoverageRule` or several.
    candidates
        Candidate table (:mod:`yizhan.geo.candidates`); default: network nodes in and around the gap
        areas (:func:`yizhan.geo.candidates.network_candidates` on :func:`yizhan.geo.gaps.find_gaps`), plus
        nodes across admin areas that need a minimum of new sites.
    p
        Most new sites (MCLP, p-median).
    target
        Covered share to reach (LSCP), e.g. 0.95.
    model
        ``"mclp"``, ``"lscp"`` or ``"pmedian"``.
    budget
        Total budget in cost units (a new site costs ``build_cost`` unless the candidate table
        says otherwise; an upgrade costs ``upgrade_cost`` per amenity added).
    build_cost
        Cost of a new site whose candidate row has no cost.
    upgrades
        Consider upgrading existing stations; default: when a budget is given.
    upgrade_cost
        Cost per amenity added (number or ``{amenity: cost}``); default
        :data:`yizhan.geo.candidates.DEFAULT_UPGRADE_COST`.
    min_per_area
        Least new sites per admin area (needs ``admin``); network candidates are then also taken
        across every admin area.
    admin
        Admin polygons with ``admin_name``.
    min_spacing_m
        Least straight-line distance between any two stations (new-new and new-existing).
    rule_weights, hierarchical
        How several rules combine (see :func:`solve_mclp`).
    coverage, gaps
        Precomputed :func:`yizhan.geo.coverage.compute_coverage` result and gap table (else computed).
    candidate_spacing_m, candidate_buffer_m
        Options of :func:`yizhan.geo.candidates.network_candidates`.

    Notes
    -----
    Candidate capacities (``capacity``, in demand-weight units) are honoured by the MCLP only.
    Demand off the road network cannot be served by any candidate and counts as uncovered.
    With no gaps and no candidate file, the result has no sites (a warning says so).
    unreached_factor
        p-median: demand with no station within the cutoff costs this many times the cutoff
        (default 2: "out of reach" weighs twice the longest acceptable trip).
    max_access_m
        Farthest a point may be from a road to be snapped.
    time_limit, method, seed
        Solver options (see :func:`solve_mclp`).

    Returns
    -------
    SitingResult
        ``table`` is a GeoDataFrame (EPSG:4326 points) with :data:`SUGGESTION_COLUMNS` and per
        rule ``<rule>_gained`` and ``<rule>_share_after``; ``covered_after`` holds, per rule, a
        boolean array over all demand rows.
    """
    import geopandas as gpd

    rules = (rules,) if isinstance(rules, CoverageRule) else tuple(rules)
    if model not in MODELS:
        raise ConfigError(f"未知模型 {model!r}，可选 {MODELS}。Unknown model {model!r}; use {MODELS}.")
    if model == "lscp" and target is None:
        raise ConfigError("LSCP 需要目标覆盖率（--target 95%）。The set-covering model needs --target.")
    if model != "lscp" and p is None and budget is None:
        raise ConfigError("请给出新站数（--sites N）或预算（--budget）。Give --sites N or --budget.")
    if coverage is None:
        coverage = compute_coverage(net_by_mode, stations, demand, rules, admin=admin,
                                    max_access_m=max_access_m)
    table = coverage.table
    n_demand = len(table)
    weight = table["weight"].to_numpy(float)

    # Candidates ---------------------------------------------------------------------------
    if candidates is None:
        if gaps is None:
            gaps = find_gaps(coverage, rules=rules, admin=admin)
        finest = max(net_by_mode.values(), key=lambda nt: (nt.n_nodes, nt.mode))
        kw = {}
        if candidate_spacing_m is not None:
            kw["spacing_m"] = candidate_spacing_m
        if candidate_buffer_m is not None:
            kw["buffer_m"] = candidate_buffer_m
        cands = cand_mod.network_candidates(finest, gaps, **kw) if len(gaps) else None
        if min_per_area and admin is not None:
            extra = cand_mod.network_candidates(finest, admin, **kw)
            cands = extra if cands is None else pd.concat([cands, extra], ignore_index=True)
            cands = cands.drop_duplicates("candidate_id").reset_index(drop=True)
        if cands is None:
            cands = cand_mod.network_candidates(finest, gaps, **kw)
    else:
        cands = _normalise_candidates(candidates)
    cands = cands[cands["kind"].astype(str) != "upgrade"].reset_index(drop=True)
    if min_spacing_m:
        close = cand_mod.near_stations(cands, stations, min_spacing_m=min_spacing_m)
        if close.any():
            log.info(
                f"{int(close.sum())} 个候选点距现有站点不足 {min_spacing_m:g} 米，已排除。"
                f" {int(close.sum())} candidate(s) within {min_spacing_m:g} m of an existing"
                " station were dropped."
            )
            cands = cands[~close].reset_index(drop=True)
    use_upgrades = (budget is not None) if upgrades is None else bool(upgrades)
    if use_upgrades:
        if budget is None:
            raise ConfigError("考虑升级现有站点需要预算（--budget）。Upgrades need a budget (--budget).")
        ups = cand_mod.upgrade_candidates(
            stations, rules,
            cost_per_amenity=cand_mod.DEFAULT_UPGRADE_COST if upgrade_cost is None else upgrade_cost,
        )
        cands = pd.concat([cands, ups], ignore_index=True)
    cands = gpd.GeoDataFrame(cands, geometry="geometry", crs="EPSG:4326")
    n_cand = len(cands)
    if n_cand == 0:
        if model == "lscp" and any(
            table.loc[table[f"{r.name}_covered"].fillna(False).to_numpy(bool), "weight"].sum()
            < float(target or 0.0) * table.loc[table[f"{r.name}_applies"].fillna(False).to_numpy(bool), "weight"].sum()
            for r in rules
        ):
            raise ConfigError("没有候选点，目标覆盖率无法达到；请提供候选点文件。"
                              " There are no candidate sites and the target is not met; give a candidate file.")
        log.warn("没有候选点（没有覆盖缺口，也没有给出候选点文件），不建议新站。"
                 " No candidate sites (no coverage gaps and no candidate file): nothing to suggest.")
        return _empty_suggestions(table, rules, model=model)
    is_new = cands["kind"].astype(str).to_numpy() != "upgrade"
    cost = pd.to_numeric(cands["cost"], errors="coerce").to_numpy(float)
    cost = np.where(np.isfinite(cost), cost, build_cost)
    capacity = pd.to_numeric(cands["capacity"], errors="coerce").to_numpy(float)
    has_capacity = bool(np.isfinite(capacity[is_new]).any()) and model == "mclp"
    area = admin_of_points(cands.geometry, admin) if admin is not None else None
    conflicts = None
    if min_spacing_m:
        new_idx = np.flatnonzero(is_new)
        pairs = cand_mod.spacing_conflicts(cands.geometry.iloc[new_idx], min_spacing_m=min_spacing_m)
        conflicts = new_idx[pairs] if len(pairs) else None

    # Coverage structure per rule -------------------------------------------------------------
    snaps: dict[int, tuple[Any, Any]] = {}
    covers, weights, fixed, rows_of, fixed_cost = [], [], [], [], []
    for rule in rules:
        net = net_by_mode[rule.mode]
        if id(net) not in snaps:
            snaps[id(net)] = (snap(net, table, max_access_m=max_access_m),
                              snap(net, cands, max_access_m=max_access_m))
        d_snap, c_snap = snaps[id(net)]
        costs = pairs_within(net, c_snap, d_snap, weight=rule.weight, limit=rule.limit,
                             include_access=True)
        applies = table[f"{rule.name}_applies"].fillna(False).to_numpy(bool)
        rows = np.flatnonzero(applies)
        rows_of.append(rows)
        covers.append(costs[rows])
        weights.append(weight[rows])
        fixed.append(table[f"{rule.name}_covered"].fillna(False).to_numpy(bool)[rows])
        existing = pd.to_numeric(table[f"{rule.name}_cost"], errors="coerce").to_numpy(float)[rows]
        if rule.weight == "time":
            existing = existing * 60.0  # the table's cost is in minutes, pairs in seconds
        # beyond the cutoff a station is out of reach: such demand costs the unreached penalty
        fixed_cost.append(np.where(fixed[-1], existing, np.inf))

    common = {
        "cost": cost, "counts_toward_p": is_new, "area_of_candidate": area,
        "min_per_area": min_per_area, "conflicts": conflicts, "time_limit": time_limit,
        "method": method, "seed": seed,
    }
    if model == "mclp":
        result = solve_mclp(covers, weights, p=p, fixed_covered=fixed, budget=budget,
                            capacity=capacity if has_capacity else None,
                            rule_weights=rule_weights, hierarchical=hierarchical, **common)
    elif model == "lscp":
        result = solve_lscp(covers, weights, target=float(target or 0.0), fixed_covered=fixed, **common)
    else:
        alpha = np.ones(len(rules)) if rule_weights is None else np.asarray(rule_weights, float)
        stacked = sp.vstack(covers, format="csr")
        result = solve_pmedian(
            stacked, np.concatenate([w * a for w, a in zip(weights, alpha, strict=True)]), p=p,
            fixed_cost=np.concatenate(fixed_cost), unreached_cost=max(unreached_factor * r.limit for r in rules),
            budget=budget, **common,
        )
    covered_after = []
    if model == "pmedian":
        sel = np.zeros(n_cand)
        sel[result.chosen] = 1.0
        for r, rows in enumerate(rows_of):
            full = np.zeros(n_demand, bool)
            full[rows] = fixed[r] | ((_m.structure(covers[r]) @ sel) > 0)
            covered_after.append(full)
    else:
        for r, rows in enumerate(rows_of):
            full = np.zeros(n_demand, bool)
            full[rows] = result.covered_after[r]  # type: ignore[index]
            covered_after.append(full)
    frame = _suggestion_frame(result.table, cands, rules, covers=covers, weights=weights,
                              fixed=fixed, area=area)
    sizes = dict(result.sizes)
    sizes["candidates_network"] = int((cands["source"] == "network").sum())
    sizes["candidates_file"] = int((cands["source"] == "file").sum())
    sizes["candidates_upgrade"] = int((~is_new).sum())
    return SitingResult(
        table=frame, chosen=result.chosen, objective=result.objective, bound=result.bound,
        gap=result.gap, gap_new=result.gap_new, solver=result.solver, status=result.status,
        seconds=result.seconds, sizes=sizes, model=model, covered_after=tuple(covered_after),
    )


def _empty_suggestions(table: Any, rules: Sequence[Any], *, model: str) -> SitingResult:
    """Return a result with no sites: the coverage stays what the existing stations give."""
    import geopandas as gpd

    weight = table["weight"].to_numpy(float)
    covered = tuple(table[f"{r.name}_covered"].fillna(False).to_numpy(bool) for r in rules)
    value = float(sum(weight[c].sum() for c in covered))
    cols = [*SUGGESTION_COLUMNS, *[f"{r.name}_{k}" for r in rules for k in ("gained", "share_after")]]
    frame = gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                             geometry=gpd.GeoSeries(crs="EPSG:4326"))
    return SitingResult(
        table=frame, chosen=np.zeros(0, np.int64), objective=value, bound=value, gap=0.0,
        gap_new=0.0, solver="no-candidates", status="optimal", seconds=0.0,
        sizes={"demand_rows": len(table), "candidates": 0}, model=model, covered_after=covered,
    )


def _normalise_candidates(candidates: Any) -> Any:
    """Return a candidate table with every :data:`yizhan.geo.candidates.CANDIDATE_COLUMNS` column."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(candidates).copy()
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    defaults: dict[str, Any] = {"name": "", "kind": "new", "source": "file", "cost": np.nan,
                                "capacity": np.nan, "amenities_to_add": "", "station_id": "",
                                "node_id": -1, "source_row": -1}
    if "candidate_id" not in frame.columns:
        frame["candidate_id"] = [f"C{k + 1:04d}" for k in range(len(frame))]
    for col, value in defaults.items():
        if col not in frame.columns:
            frame[col] = value
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    return frame[[*CANDIDATE_COLUMNS, "geometry"]].reset_index(drop=True)


def _suggestion_frame(
    solved: pd.DataFrame, cands: Any, rules: Sequence[Any], *, covers: list[sp.csr_matrix],
    weights: list[np.ndarray], fixed: list[np.ndarray], area: np.ndarray | None,
) -> Any:
    """Return the suggestions GeoDataFrame: ids, coordinates, gains per rule, shares after."""
    import geopandas as gpd

    idx = solved["candidate"].to_numpy(np.int64)
    sub = cands.iloc[idx].reset_index(drop=True)
    new_amenities = ",".join(sorted(required_amenities(rules)))
    out = pd.DataFrame({
        "rank": solved["rank"].to_numpy(np.int64),
        "candidate_id": sub["candidate_id"].astype(str).to_numpy(),
        "name": sub["name"].astype(str).to_numpy(),
        "kind": sub["kind"].astype(str).to_numpy(),
        "source": sub["source"].astype(str).to_numpy(),
        "lon": np.round(sub.geometry.x.to_numpy(float), 7),
        "lat": np.round(sub.geometry.y.to_numpy(float), 7),
        "admin_area": area[idx] if area is not None else np.full(len(idx), "", dtype=object),
        "cost": solved["cost"].to_numpy(float),
        # combined figures come from the solver's ranking (capacity-aware, alpha-weighted)
        "weight_gained": solved["weight_gained"].to_numpy(float).round(6),
        "covered_share_after": solved["covered_share_after"].to_numpy(float).round(6),
    })
    out["covered_pct_after"] = np.round(100.0 * out["covered_share_after"], 4)
    out["amenities_to_add"] = np.where(out["kind"] == "upgrade", sub["amenities_to_add"].astype(str),
                                       new_amenities)
    if "cost_saved" in solved.columns:
        out["cost_saved"] = solved["cost_saved"].to_numpy(float)
        out["mean_cost_after"] = solved["mean_cost_after"].to_numpy(float)
    # Per-rule gains in rank order, each rule on its own rows.
    for r, rule in enumerate(rules):
        csc = _m.structure(covers[r]).tocsc()
        state = fixed[r].copy()
        total = float(weights[r].sum())
        gained = np.zeros(len(idx))
        for k, j in enumerate(idx):  # loop over the ranked sites only
            rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
            new = rows[~state[rows]]
            gained[k] = float(weights[r][new].sum())
            state[new] = True
        after = float(weights[r][fixed[r]].sum()) + np.cumsum(gained)
        out[f"{rule.name}_gained"] = np.round(gained, 6)
        out[f"{rule.name}_share_after"] = np.round(after / total, 6) if total > 0 else np.nan
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")


def write_suggestions(result: SitingResult, folder: str | Any, *, extra: Mapping[str, Any] | None = None) -> list[Any]:
    """Write ``suggestions.csv``, ``suggestions.geojson`` and ``summary.json`` into ``folder``.

    The CSV is UTF-8 with a byte-order mark (Excel reads the Chinese names), fixed column order
    and rounding, so the same inputs give byte-identical files. ``summary.json`` holds
    :meth:`SitingResult.summary` plus ``extra``. Every file is written atomically.

    Returns
    -------
    list of pathlib.Path
        The three files written.
    """
    import json
    from pathlib import Path


    folder = Path(folder)
    table = result.table
    cols = [c for c in table.columns if c != "geometry"]
    frame = pd.DataFrame(table[cols])
    csv = write_csv_atomic(frame, folder / "suggestions.csv", float_format="%.6f")
    layer = "suggestions"
    geo = write_with(folder / "suggestions.geojson",
                     lambda tmp: table.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=layer))
    summary = result.summary()
    if extra:
        summary.update(extra)
    js = write_text_atomic(folder / "summary.json",
                           json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    return [csv, geo, js]


# ---------------------------------------------------------------------------------------------
# Options from a TOML ``[siting]`` table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SitingOptions:
    """Siting settings as written in a config's ``[siting]`` table (all optional).

    TOML keys: ``n_sites`` (or ``sites``), ``target`` (``0.95`` or ``"95%"``), ``model``
    (``mclp``/``lscp``/``pmedian``), ``budget``, ``build_cost``, ``upgrade_cost`` (number or
    ``{amenity = cost}``), ``upgrades`` (bool), ``min_per_area``, ``min_spacing`` (``"300m"``),
    ``rule_weights`` (one number per rule, in rule order), ``hierarchical`` (bool: rules in
    priority order), ``method`` (``auto``/``exact``/``greedy``), ``time_limit`` (seconds),
    ``candidate_spacing_m``, ``candidate_buffer_m``, ``gap_buffer_m`` (uncovered points closer
    than twice this form one gap area), ``seed``.
    """

    n_sites: int | None = None
    target: float | None = None
    model: str = "mclp"
    budget: float | None = None
    build_cost: float = 1.0
    upgrade_cost: float | Mapping[str, float] | None = None
    upgrades: bool | None = None
    min_per_area: int | None = None
    min_spacing_m: float | None = None
    rule_weights: tuple[float, ...] | None = None
    hierarchical: bool = False
    method: str = "auto"
    time_limit: float = 60.0
    candidate_spacing_m: float | None = None
    candidate_buffer_m: float | None = None
    gap_buffer_m: float | None = None
    seed: int = 0


#: Each numeric option: (CLI flag, minimum, minimum allowed, whole number).
_OPTION_RANGES: dict[str, tuple[str, float, bool, bool]] = {
    "n_sites": ("--sites", 0, True, True),  # 0: the yearly run suggests no site
    "budget": ("--budget", 0, False, False),
    "build_cost": ("--build-cost", 0, False, False),
    "min_per_area": ("--min-per-area", 0, True, True),
    "min_spacing_m": ("--min-spacing", 0, False, False),
    "time_limit": ("--time-limit", 0, False, False),
    "candidate_spacing_m": ("--candidate-spacing", 0, False, False),
    "candidate_buffer_m": ("candidate_buffer_m", 0, True, False),
    "gap_buffer_m": ("gap_buffer_m", 0, False, False),
    "seed": ("seed", 0, True, True),
}


def check_siting_options(opts: SitingOptions, *, where: str) -> SitingOptions:
    """Return ``opts`` after checking every number is in range (one check for config and CLI).

    Raises
    ------
    ConfigError
        Naming the option (its config key and CLI flag), ``where`` it came from and the range:
        for example ``time_limit = -1``, ``min_spacing = "0m"`` (leave it out for none), a
        budget or cost that is not a positive finite number.
    """
    for key, (flag, low, inclusive, integer) in _OPTION_RANGES.items():
        value = getattr(opts, key)
        if value is not None:
            check_number(value, option=f"{key} ({flag})", where=where, minimum=low,
                         inclusive=inclusive, integer=integer)
    costs = opts.upgrade_cost.values() if isinstance(opts.upgrade_cost, Mapping) else \
        [opts.upgrade_cost] if opts.upgrade_cost is not None else []
    for cost in costs:
        check_number(cost, option="upgrade_cost (--upgrade-cost)", where=where, minimum=0,
                     inclusive=True)
    for weight in opts.rule_weights or ():
        check_number(weight, option="rule_weights (--rule-weights)", where=where, minimum=0,
                     inclusive=True)
    if opts.rule_weights is not None and not any(opts.rule_weights):
        raise ConfigError(f"{where}: rule_weights 不能全为 0。 rule_weights cannot all be 0.")
    return opts


_OPTION_KEYS = {
    "n_sites", "sites", "target", "model", "budget", "build_cost", "upgrade_cost", "upgrades",
    "min_per_area", "min_spacing", "min_spacing_m", "rule_weights", "hierarchical", "method",
    "time_limit", "candidate_spacing_m", "candidate_buffer_m", "gap_buffer_m", "seed",
}
#: Keys a ``[siting]`` table may hold (for config readers that validate the table themselves).
SITING_OPTION_KEYS: frozenset[str] = frozenset(_OPTION_KEYS)


def parse_share(value: Any) -> float:
    """Return a share in (0, 1] from ``0.95``, ``95``, ``"95%"`` or ``"95 %"``."""
    text = str(value).strip().replace("％", "%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise ConfigError(f"无法识别覆盖率 {value!r}，请写成 95% 或 0.95。Cannot read share {value!r}; write 95% or 0.95.") from None
    share = number / 100.0 if text.endswith("%") or number > 1 else number
    if not 0 < share <= 1:
        raise ConfigError(f"覆盖率须在 0 与 100% 之间：{value!r}。The share must be in (0, 100%].")
    return share


def parse_siting_options(table: Mapping[str, Any], *, source: str | None = None) -> SitingOptions:
    """Return :class:`SitingOptions` from a parsed ``[siting]`` table, naming any bad key.

    Raises
    ------
    ConfigError
        For unknown keys or values of the wrong type.
    """
    where = f"{source}: " if source else ""
    unknown = sorted(set(table) - _OPTION_KEYS)
    if unknown:
        raise ConfigError(f"{where}[siting] 有未知键 {unknown}，可用键：{sorted(_OPTION_KEYS)}。"
                          f" [siting] has unknown keys {unknown}; allowed: {sorted(_OPTION_KEYS)}.")

    def num(key: str, kind: type = float) -> Any:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}[siting] {key} 须为数字：{value!r}。[siting] {key} must be a number.")
        if kind is int:
            check_number(value, option=f"[siting] {key}", where=source, minimum=0,
                         inclusive=True, integer=True)
        return kind(value)

    spacing = table.get("min_spacing", table.get("min_spacing_m"))
    spacing_m = None
    if spacing is not None:
        try:
            cut = parse_cutoff(spacing if isinstance(spacing, str) else f"{spacing}m")
        except ConfigError as exc:
            raise ConfigError(
                f"{where}[siting] min_spacing = {spacing!r}：{exc} 不限间距请删去这一项。"
                " To set no minimum spacing, leave min_spacing out.") from exc
        if cut.metres is None:
            raise ConfigError(f"{where}[siting] min_spacing 须为距离，如 \"300m\"。min_spacing must be a distance.")
        spacing_m = cut.metres
    weights = table.get("rule_weights")
    if weights is not None and (not isinstance(weights, list) or not all(isinstance(x, int | float) for x in weights)):
        raise ConfigError(f"{where}[siting] rule_weights 须为数字列表。rule_weights must be a list of numbers.")
    for key in ("hierarchical", "upgrades"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{where}[siting] {key} 须为 true/false。[siting] {key} must be true or false.")
    upgrade_cost = table.get("upgrade_cost")
    if upgrade_cost is not None and not isinstance(upgrade_cost, int | float | Mapping):
        raise ConfigError(f"{where}[siting] upgrade_cost 须为数字或表。upgrade_cost must be a number or a table.")
    model = str(table.get("model", "mclp")).lower()
    method = str(table.get("method", "auto")).lower()
    if model not in MODELS:
        raise ConfigError(f"{where}[siting] model 须为 {MODELS}。model must be one of {MODELS}.")
    _check_method(method)
    n_sites = num("n_sites", int) if "n_sites" in table else num("sites", int)
    opts = SitingOptions(
        n_sites=n_sites,
        target=parse_share(table["target"]) if "target" in table else None,
        model=model,
        budget=num("budget"),
        build_cost=num("build_cost") if "build_cost" in table else 1.0,
        upgrade_cost=dict(upgrade_cost) if isinstance(upgrade_cost, Mapping) else upgrade_cost,
        upgrades=table.get("upgrades"),
        min_per_area=num("min_per_area", int),
        min_spacing_m=spacing_m,
        rule_weights=tuple(float(x) for x in weights) if weights is not None else None,
        hierarchical=bool(table.get("hierarchical", False)),
        method=method,
        time_limit=num("time_limit") if "time_limit" in table else 60.0,
        candidate_spacing_m=num("candidate_spacing_m"),
        candidate_buffer_m=num("candidate_buffer_m"),
        gap_buffer_m=num("gap_buffer_m"),
        seed=num("seed", int) if "seed" in table else 0,
    )
    return check_siting_options(opts, where=f"{source} [siting]" if source else "[siting]")
