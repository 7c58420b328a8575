"""p-median: least weighted travel cost to the nearest station (existing or new).

The cost matrix stores the travel cost of each (demand row, candidate) pair within reach
(explicit zeros are kept and mean cost 0). The formulation is written in :mod:`yizhan.geo.siting`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from yizhan.geo.siting.constraints import (
    INF,
    TOL,
    Rules,
    SiteConstraints,
    build_rules,
    infeasible,
    pad_to_p,
)
from yizhan.geo.siting.heuristics import Choice, relaxed_x
from yizhan.geo.siting.highs import (
    AUTO_MIP_NONZEROS,
    MipModel,
    SolverOptions,
    solve_mip,
    x_rows,
)
from yizhan.geo.siting.problem import SitingModel, SitingProblem, cost_csr, weights_list
from yizhan.geo.siting.reduce import merge_identical_rows, row_of_entry, structure
from yizhan.geo.siting.result import SitingResult, gap_max, gap_min
from yizhan.geo.siting.verify import confirmed, median_cost

from yizhan.errors import ConfigError


def solve_pmedian(
    cost_matrix: sp.spmatrix | sp.sparray,
    weight: Any,
    *,
    p: int | None,
    fixed_cost: Any = None,
    unreached_cost: float | None = None,
    constraints: SiteConstraints | None = None,
    solver: SolverOptions | None = None,
    p_exactly: bool = False,
) -> SitingResult:
    """Return the p-median choice of sites (weighted travel cost to the nearest station), ranked.

    Parameters
    ----------
    cost_matrix
        ``demand x candidates`` travel costs. Sparse: stored entries are the reachable pairs
        (explicit zeros are kept and mean cost 0). Dense (a NumPy array): every finite entry is
        a reachable pair, zeros included; ``inf`` or NaN = out of reach.
    weight
        Demand weight per row.
    p
        Most new sites; ``None`` = no limit (give a budget).
    fixed_cost
        Per row, travel cost to the nearest existing station (``inf`` = none reachable).
    unreached_cost
        Cost charged to a row with no open station or existing one in reach; default the
        largest stored cost (i.e. "at least the cutoff").
    constraints
        As for :func:`~yizhan.geo.siting.mclp.solve_mclp`. With capacities (demand weight a
        site can serve) the capacitated p-median is solved as one MIP (:func:`_capacitated_median`:
        a row's demand may split between sites; what no site can take goes to its existing
        station or the unreached cost); the table adds ``served_weight`` and ``capacity``.
    solver
        As for :func:`~yizhan.geo.siting.mclp.solve_mclp`.
    p_exactly
        Open exactly ``p`` new sites instead of at most ``p`` (as for
        :func:`~yizhan.geo.siting.mclp.solve_mclp`).

    Returns
    -------
    SitingResult
        ``objective`` = total weighted travel cost (recomputed exactly from the chosen sites); the table adds ``cost_saved`` and
        ``mean_cost_after`` per rank, and ``weight_gained``/``covered_share_after`` count rows
        that get a stored pair (are within reach) of an open site.
    """
    settings = SolverOptions.of(solver)
    method, time_limit, seed = settings.method, settings.time_limit, settings.seed
    rel_gap = settings.rel_gap
    budget = constraints.budget if constraints is not None else None
    t0 = time.perf_counter()
    c = cost_csr(cost_matrix)
    n_rows, n = c.shape
    w = weights_list(weight, 1, [n_rows])[0]
    if p is None and budget is None:
        raise ConfigError("请给出新站数 p 或预算。Give the number of sites p or a budget.")
    fc, fallback = _fallback(c, fixed_cost, unreached_cost)
    rules, _labels = build_rules(n, p=p, constraints=constraints, model="pmedian",
                                 p_exactly=p_exactly)
    if rules.has_capacity:
        return _solve_capacitated(c, w, fc, fallback, rules, settings=settings, t0=t0)
    with threadpool_limits(1):
        red = reduce_median(c, w, fallback, rules)
        deadline = t0 + time_limit
        used = ["greedy"]
        order, ok = greedy_median(red, deadline=deadline)
        chosen = order if ok else []
        if ok:
            chosen = swap_median(red, order, deadline=deadline)
            used.append("swap")
        value = median_value(red, chosen) if ok else math.inf
        bound = red.constant + float((red.weights * np.minimum(red.fallback, _row_min(red.cost))).sum())
        size = None
        small = red.cost.nnz * 2 + red.cost.shape[0] <= AUTO_MIP_NONZEROS
        if method == "exact" or (method == "auto" and (small or not ok)):
            model, nx = median_model(red)
            size = model.size
            start = median_start(red, np.asarray(chosen, np.int64)) if ok else None
            res = solve_mip(model, time_limit=max(deadline - time.perf_counter(), 1.0), seed=seed,
                               rel_gap=rel_gap, start=start)
            if res.values is not None:
                x = [int(j) for j in np.flatnonzero(res.values[:nx] > 0.5)]
                v = median_value(red, x)
                if v <= value + 1e-9 * max(1.0, abs(value)):
                    chosen, value, used = x, v, ["highs-mip"]
            elif not ok:
                raise infeasible(rules, res.status)
            if math.isfinite(res.bound):
                bound = max(bound, res.bound + red.constant)
        else:
            bound = max(bound, lagrangian_median(red, upper=value, deadline=deadline))
            used.append("lagrangian-bound")
        if not math.isfinite(value):
            raise infeasible(rules, "no feasible choice")
        bound = min(bound, value)
        chosen_orig = red.cols[np.asarray(chosen, np.int64)]
        if p_exactly:
            chosen_orig = pad_to_p(chosen_orig, rules)
        problems = rules.violations(chosen_orig)
        if problems:
            raise infeasible(rules, "; ".join(problems[:3]))
        table, covered = _rank_median(c, w, fallback=fallback, fixed_cost=fc, chosen=chosen_orig, rules=rules)
    start_value = float(w @ fallback)
    # the objective is the chosen sites' cost summed exactly; optimal only if the bound agrees
    value = median_cost(c, w, fallback, chosen=chosen_orig)
    bound = min(bound, value)
    status = "optimal" if confirmed(value, bound, maximize=False, rel_gap=rel_gap) else "feasible"
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=value, bound=bound,
        gap=gap_min(value, bound),
        gap_new=gap_max(start_value - value, start_value - bound),
        solver="+".join(used), status=status, seconds=time.perf_counter() - t0,
        sizes={**red.sizes, **({"mip": size} if size else {})}, model="pmedian",
        covered_after=(covered,), assignment=median_assignment(c, fallback, chosen_orig)[0],
    )


def median_assignment(
    cost: sp.csr_matrix, fallback: np.ndarray, chosen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's serving site and that cost (spopt's client -> facility output).

    The site is the nearest chosen candidate when it beats the row's fallback, else -1 (its
    existing station, or nobody).
    """
    sub = cost[:, np.asarray(chosen, np.int64)].tocsr()
    site = np.full(cost.shape[0], -1, np.int64)
    best = np.asarray(fallback, np.float64).copy()
    if sub.nnz:
        rows = np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))
        order = np.lexsort((sub.indices, sub.data, rows))  # per row: cheapest, then lowest index
        r, d, j = rows[order], sub.data[order], sub.indices[order]
        first = np.ones(r.size, bool)
        first[1:] = r[1:] != r[:-1]
        r, d, j = r[first], d[first], j[first]
        better = d < best[r]
        site[r[better]] = np.asarray(chosen, np.int64)[j[better]]
        best[r[better]] = d[better]
    return site, best


def _capacitated_median(
    c: sp.csr_matrix, w: np.ndarray, fallback: np.ndarray, rules: Rules, *,
    settings: SolverOptions,
) -> tuple[np.ndarray, float, float, str, np.ndarray, np.ndarray]:
    """Solve the capacitated p-median as one MIP.

    Returns chosen sites, value, bound, status, weight served per site, each row's main site.

    Columns: ``x_j`` binary, ``z_e`` in [0, 1] per stored pair ``e = (i, j)`` (the share of row
    ``i``'s weight served by site ``j``: demand may split between sites), ``z0_i`` the share left
    to the row's fallback (its existing station, or the unreached cost; unlimited). Rows:
    ``sum_j z_ij + z0_i = 1``; ``z_ij - x_j <= 0``; ``sum_i w_i z_ij - cap_j x_j <= 0`` for
    sites with a finite capacity; then the constraints of ``x``. Minimise
    ``sum w_i c_ij z_ij + sum w_i f_i z0_i``.
    """
    m, n = c.shape
    e = c.nnz
    rows_e = row_of_entry(c)
    cols_e = c.indices.astype(np.int64)
    n_col = n + e + m
    eid = np.arange(e)
    assign = sp.csr_matrix(
        (np.ones(e + m), (np.concatenate([rows_e, np.arange(m)]),
                          np.concatenate([n + eid, n + e + np.arange(m)]))), shape=(m, n_col))
    link = sp.csr_matrix((np.concatenate([np.ones(e), -np.ones(e)]),
                          (np.concatenate([eid, eid]), np.concatenate([n + eid, cols_e]))),
                         shape=(e, n_col))
    capped = np.flatnonzero(np.isfinite(rules.capacity))
    pos = np.full(n, -1, np.int64)
    pos[capped] = np.arange(capped.size)
    mask = pos[cols_e] >= 0
    load = sp.csr_matrix(
        (np.concatenate([w[rows_e[mask]], -rules.capacity[capped]]),
         (np.concatenate([pos[cols_e[mask]], np.arange(capped.size)]),
          np.concatenate([n + eid[mask], capped]))), shape=(capped.size, n_col))
    xb, xl, xh = x_rows(rules, n_col)
    model = MipModel(
        a=sp.vstack([assign, link, load, *xb], format="csr"),
        row_lower=np.concatenate([np.ones(m), np.full(e, -INF), np.full(capped.size, -INF), *xl]),
        row_upper=np.concatenate([np.ones(m), np.zeros(e), np.zeros(capped.size), *xh]),
        col_cost=np.concatenate([np.zeros(n), w[rows_e] * c.data, w * fallback]),
        col_lower=np.zeros(n_col), col_upper=np.ones(n_col),
        integer=np.concatenate([np.ones(n, bool), np.zeros(e + m, bool)]), maximize=False,
    )
    res = solve_mip(model, time_limit=settings.time_limit, seed=settings.seed,
                    rel_gap=settings.rel_gap)
    if res.values is None:
        raise infeasible(rules, f"capacitated p-median: {res.status}")
    x = res.values
    chosen = np.flatnonzero(x[:n] > 0.5)
    z = x[n:n + e]
    served = np.bincount(cols_e, weights=w[rows_e] * z, minlength=n)
    # each row's main site: the pair with its largest share, unless the fallback has more
    site = np.full(m, -1, np.int64)
    share = x[n + e:].copy()
    order = np.lexsort((cols_e, -z, rows_e))
    first = np.ones(e, bool)
    first[1:] = rows_e[order][1:] != rows_e[order][:-1]
    top = order[first]
    better = z[top] > share[rows_e[top]] + 1e-9
    site[rows_e[top][better]] = cols_e[top][better]
    status = "optimal" if res.status == "Optimal" and confirmed(
        res.objective, res.bound, maximize=False, rel_gap=settings.rel_gap) else "feasible"
    return chosen, res.objective, res.bound, status, served, site


def _solve_capacitated(
    c: sp.csr_matrix, w: np.ndarray, fc: np.ndarray, fallback: np.ndarray, rules: Rules, *,
    settings: SolverOptions, t0: float,
) -> SitingResult:
    """Return the capacitated p-median result (:func:`_capacitated_median`), ranked."""
    with threadpool_limits(1):
        chosen, value, bound, status, served, site = _capacitated_median(
            c, w, fallback, rules, settings=settings)
        problems = rules.violations(chosen)
        if problems:
            raise infeasible(rules, "; ".join(problems[:3]))
        table, covered = _rank_median(c, w, fallback=fallback, fixed_cost=fc, chosen=chosen,
                                      rules=rules)
    table["served_weight"] = served[table["candidate"].to_numpy(np.int64)]
    table["capacity"] = rules.capacity[table["candidate"].to_numpy(np.int64)]
    start_value = float(w @ fallback)
    return SitingResult(
        table=table, chosen=table["candidate"].to_numpy(np.int64), objective=value,
        bound=min(bound, value), gap=gap_min(value, min(bound, value)),
        gap_new=gap_max(start_value - value, start_value - min(bound, value)),
        solver="highs-mip(capacitated)", status=status, seconds=time.perf_counter() - t0,
        sizes={"demand_rows": c.shape[0], "candidates": c.shape[1], "pairs": c.nnz},
        model="pmedian", covered_after=(covered,), assignment=site,
    )


def _fallback(
    c: sp.csr_matrix, fixed_cost: Any, unreached_cost: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's cost to the nearest existing station and its cost with no new site."""
    if c.nnz and (not np.isfinite(c.data).all() or (c.data < 0).any()):
        raise ValueError("stored costs must be finite and >= 0")
    unreached = float(c.data.max()) if unreached_cost is None and c.nnz else float(unreached_cost or 0.0)
    n_rows = c.shape[0]
    fc = np.full(n_rows, np.inf) if fixed_cost is None else np.asarray(fixed_cost, np.float64).ravel()
    return fc, np.where(np.isfinite(fc), fc, unreached)


def _row_min(c: sp.csr_matrix) -> np.ndarray:
    """Return the smallest stored value per row (inf for empty rows)."""
    out = np.full(c.shape[0], np.inf)
    rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
    np.minimum.at(out, rows, c.data)
    return out


def _rank_median(
    c: sp.csr_matrix, w: np.ndarray, *, fallback: np.ndarray, fixed_cost: np.ndarray,
    chosen: np.ndarray, rules: Rules,
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


@dataclass(frozen=True)
class MedianReduction:
    """A p-median instance after reductions.

    ``cost`` (classes x kept candidates) stores only pairs that beat the class's fallback
    (its existing station, or the unreached penalty); ``fallback`` per class; ``weights`` per
    class; ``constant`` is the weighted fallback cost of demand no candidate can improve.
    """

    cost: sp.csr_matrix
    weights: np.ndarray
    fallback: np.ndarray
    cols: np.ndarray
    rules: Rules
    constant: float
    sizes: dict[str, int | bool]


def reduce_median(
    cost: sp.csr_matrix, weights: np.ndarray, fallback: np.ndarray, rules: Rules
) -> MedianReduction:
    """Return the p-median instance after safe reductions.

    Drops pairs no cheaper than the demand's fallback (they are never used), demand with no
    pair left (its cost is its fallback, a constant), candidates with no pair left (unless an
    area minimum needs them), and merges demand rows with identical pairs, costs and fallback.
    """
    c = sp.csr_matrix(cost, copy=True)
    c.sum_duplicates()
    c.sort_indices()
    w = np.asarray(weights, np.float64)
    sizes: dict[str, int | bool] = {
        "demand_rows": int(c.shape[0]),
        "candidates": int(c.shape[1]),
        "nonzeros": int(c.nnz),
    }
    rows = row_of_entry(c)
    useful = c.data < fallback[rows]
    c = sp.csr_matrix((c.data[useful], c.indices[useful], np.concatenate([[0], np.cumsum(np.bincount(rows[useful], minlength=c.shape[0]))])), shape=c.shape)
    deg = np.diff(c.indptr)
    keep = (deg > 0) & (w > 0)
    constant = float((w[~keep] * fallback[~keep]).sum())
    c = c[keep]
    w = w[keep]
    fb = fallback[keep]
    col_deg = np.bincount(c.indices, minlength=c.shape[1])
    keep_cols = ((col_deg > 0) | rules.protected()) & (rules.cost <= rules.budget + TOL)
    cols = np.flatnonzero(keep_cols)
    c = c[:, cols]
    labels, first = merge_identical_rows(c, extra=fb)
    w_m = np.bincount(labels, weights=w, minlength=first.size)
    c = c[first]
    c.sort_indices()
    sizes.update(
        {
            "reduced_rows": int(c.shape[0]),
            "reduced_candidates": int(c.shape[1]),
            "reduced_nonzeros": int(c.nnz),
        }
    )
    return MedianReduction(c, w_m, fb[first], cols, rules.take(cols), constant, sizes)


def median_model(red: MedianReduction) -> tuple[MipModel, int]:
    """Return the p-median MIP on a reduced instance and the number of ``x`` columns.

    Columns: ``x_j`` binary; ``z_e`` in [0, 1] per stored pair ``e = (i, j)`` of a class with
    two or more pairs; ``u_i`` in [0, 1] (class stays with its fallback). Rows:
    ``sum_e z_e + u_i = 1`` per class; ``z_e - x_j <= 0`` per pair; then :func:`x_rows`.
    A class with a single pair needs no ``z``/``u``: its cost is ``f_i + x_j (d_e - f_i)``, so
    ``w_i (d_e - f_i)`` moves onto ``x_j`` and ``w_i f_i`` into the offset. Minimises
    ``sum w_i d_e z_e + sum w_i f_i u_i``.
    """
    c = red.cost
    n = c.shape[1]
    deg = np.diff(c.indptr)
    rows_e = row_of_entry(c)
    single_e = deg[rows_e] == 1
    x_cost = np.zeros(n)
    np.add.at(x_cost, c.indices[single_e], red.weights[rows_e[single_e]] * (c.data[single_e] - red.fallback[rows_e[single_e]]))
    single_rows = deg == 1
    offset = float((red.weights[single_rows] * red.fallback[single_rows]).sum())
    multi = np.flatnonzero(~single_rows)
    cm = c[multi]
    k = multi.size
    e = cm.nnz
    rows_m = row_of_entry(cm)
    n_col = n + e + k
    eid = np.arange(e)
    assign = sp.csr_matrix(
        (np.ones(e + k), (np.concatenate([rows_m, np.arange(k)]), np.concatenate([n + eid, n + e + np.arange(k)]))),
        shape=(k, n_col),
    )
    link = sp.csr_matrix(
        (np.concatenate([np.ones(e), -np.ones(e)]), (np.concatenate([eid, eid]), np.concatenate([n + eid, cm.indices.astype(np.int64)]))),
        shape=(e, n_col),
    )
    blocks = [assign, link]
    lo = [np.ones(k), np.full(e, -INF)]
    hi = [np.ones(k), np.zeros(e)]
    xb, xl, xh = x_rows(red.rules, n_col)
    blocks += xb
    lo += xl
    hi += xh
    wm = red.weights[multi]
    col_cost = np.concatenate([x_cost, wm[rows_m] * cm.data, wm * red.fallback[multi]])
    model = MipModel(
        a=sp.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_cost=col_cost,
        col_lower=np.zeros(n_col),
        col_upper=np.ones(n_col),
        integer=np.concatenate([np.ones(n, bool), np.zeros(e + k, bool)]),
        maximize=False,
        offset=offset,
    )
    return model, n


def median_start(red: MedianReduction, chosen: np.ndarray) -> np.ndarray:
    """Return a full column vector (x, z, u) assigning each class to its cheapest open option."""
    c = red.cost
    n = c.shape[1]
    x = np.zeros(n)
    x[np.asarray(chosen, np.int64)] = 1.0
    deg = np.diff(c.indptr)
    multi = np.flatnonzero(deg != 1)
    cm = c[multi]
    rows_m = row_of_entry(cm)
    best_cost, best_pos = _best_open(cm, rows_m, x > 0.5, red.fallback[multi])
    z = np.zeros(cm.nnz)
    has = best_pos >= 0
    z[best_pos[has]] = 1.0
    u = (~has).astype(np.float64)
    del best_cost
    return np.concatenate([x, z, u])


def _best_open(
    c: sp.csr_matrix, rows: np.ndarray, is_open: np.ndarray, fallback: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return per row the cheapest open cost (or fallback) and the stored position used (-1 = fallback)."""
    n_rows = c.shape[0]
    pos = np.flatnonzero(is_open[c.indices])
    best = fallback.astype(np.float64).copy()
    where = np.full(n_rows, -1, np.int64)
    if pos.size:
        order = np.lexsort((c.indices[pos], c.data[pos], rows[pos]))
        pos = pos[order]
        r = rows[pos]
        firsts = np.ones(pos.size, bool)
        firsts[1:] = r[1:] != r[:-1]
        pos, r = pos[firsts], r[firsts]
        better = c.data[pos] < best[r]
        best[r[better]] = c.data[pos[better]]
        where[r[better]] = pos[better]
    return best, where


def median_value(red: MedianReduction, chosen: list[int] | np.ndarray) -> float:
    """Return the total weighted cost (including the constant) of opening ``chosen``."""
    x = np.zeros(red.cost.shape[1], bool)
    x[np.asarray(chosen, np.int64)] = True
    best, _ = _best_open(red.cost, row_of_entry(red.cost), x, red.fallback)
    return float(red.weights @ best) + red.constant


def greedy_median(red: MedianReduction, *, deadline: float) -> tuple[list[int], bool]:
    """Return the greedy p-median choice (pick order) and whether the area minimums were met.

    Each step opens the site with the largest drop in weighted cost (per unit cost under a
    budget); the saving of every candidate is updated on the rows the pick improves only.
    """
    c = red.cost
    ct = c.T.tocsr()
    rules = red.rules
    w = red.weights
    cur = red.fallback.astype(np.float64).copy()
    rows_e = row_of_entry(c)
    saving = np.bincount(c.indices, weights=w[rows_e] * np.maximum(0.0, cur[rows_e] - c.data), minlength=c.shape[1])
    choice = Choice(rules)
    budgeted = np.isfinite(rules.budget)

    def pick(j: int) -> None:
        lo, hi = ct.indptr[j], ct.indptr[j + 1]
        rows = ct.indices[lo:hi]
        d = ct.data[lo:hi]
        better = d < cur[rows]
        rows, d = rows[better], d[better]
        if rows.size:
            sub = c[rows]
            sub_rows = np.repeat(rows, np.diff(sub.indptr))
            old = w[sub_rows] * np.maximum(0.0, cur[sub_rows] - sub.data)
            new = w[sub_rows] * np.maximum(0.0, np.repeat(d, np.diff(sub.indptr)) - sub.data)
            saving[:] -= np.bincount(sub.indices, weights=old - new, minlength=c.shape[1])
            cur[rows] = d
        choice.add(j)

    feasible = True
    while choice.area_count.size and choice.deficit_areas().any():
        need = choice.deficit_areas()
        ok = choice.can_add() & rules.counts & (rules.area >= 0)
        ok &= need[np.clip(rules.area, 0, None)]
        if not ok.any():
            feasible = False
            break
        score = saving / np.maximum(rules.cost, TOL) if budgeted else saving.copy()
        score[~ok] = -INF
        pick(int(np.argmax(score)))
    tol = 1e-12 * max(1.0, float(w @ cur))
    while time.perf_counter() < deadline:
        ok = choice.can_add() & (saving > tol)
        if not ok.any():
            break
        score = saving / np.maximum(rules.cost, TOL) if budgeted else saving.copy()
        score[~ok] = -INF
        pick(int(np.argmax(score)))
    return choice.order, feasible


def swap_median(
    red: MedianReduction, chosen: list[int], *, deadline: float, max_passes: int = 30
) -> list[int]:
    """Improve a p-median solution by single interchanges (Teitz-Bart), deterministic.

    For a chosen site ``s`` the rows it serves fall back to their second-best open option;
    the saving of every candidate ``j`` against that state is the base saving plus a correction
    on those rows only. The best strictly improving interchange per ``s`` is applied.
    """
    c = red.cost
    rules = red.rules
    w = red.weights
    rows_e = row_of_entry(c)
    n = c.shape[1]
    choice = Choice(rules)
    for j in chosen:
        choice.add(j)

    def state() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _best_and_second(c, rows_e, choice.mask, red.fallback)

    tol = 1e-12
    for _pass in range(max_passes):
        improved = False
        best, second, owner = state()
        tol = 1e-12 * max(1.0, float(w @ best))
        base = np.bincount(c.indices, weights=w[rows_e] * np.maximum(0.0, best[rows_e] - c.data), minlength=n)
        for s in sorted(choice.order):
            if time.perf_counter() > deadline:
                return choice.order
            served = np.flatnonzero(owner == s)
            loss = float((w[served] * (second[served] - best[served])).sum())
            delta = base - loss
            if served.size:
                sub = c[served]
                sr = np.repeat(served, np.diff(sub.indptr))
                corr = w[sr] * (np.maximum(0.0, second[sr] - sub.data) - np.maximum(0.0, best[sr] - sub.data))
                delta = delta + np.bincount(sub.indices, weights=corr, minlength=n)
            ok = choice.swap_ok(s)
            delta[~ok] = -INF
            j = int(np.argmax(delta))
            if delta[j] > tol:
                choice.remove(s)
                choice.add(j)
                improved = True
                best, second, owner = state()
                base = np.bincount(c.indices, weights=w[rows_e] * np.maximum(0.0, best[rows_e] - c.data), minlength=n)
        # Additions where p or budget allow and a site still saves something.
        while True:
            ok = choice.can_add() & (base > tol)
            if not ok.any():
                break
            j = int(np.argmax(np.where(ok, base, -INF)))
            choice.add(j)
            improved = True
            best, second, owner = state()
            base = np.bincount(c.indices, weights=w[rows_e] * np.maximum(0.0, best[rows_e] - c.data), minlength=n)
        if not improved:
            break
    return choice.order


def _best_and_second(
    c: sp.csr_matrix, rows_e: np.ndarray, is_open: np.ndarray, fallback: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per row the best open cost, the second best (best column closed) and its column."""
    best, where = _best_open(c, rows_e, is_open, fallback)
    # Second best: close the best column per row and recompute on the open entries.
    pos = np.flatnonzero(is_open[c.indices])
    second = fallback.astype(np.float64).copy()
    if pos.size:
        used = np.zeros(c.nnz, bool)
        has = where >= 0
        used[where[has]] = True
        pos = pos[~used[pos]]
        if pos.size:
            vals = np.full(c.shape[0], INF)
            np.minimum.at(vals, rows_e[pos], c.data[pos])
            second = np.minimum(second, vals)
    owner = np.where(where >= 0, c.indices[np.clip(where, 0, None)], -1)
    return best, second, owner


def lagrangian_median(
    red: MedianReduction, *, upper: float, deadline: float, max_iter: int = 2000, target_gap: float = 1e-4
) -> float:
    """Return a lower bound on the weighted p-median cost by subgradient on the Lagrangian dual.

    Relaxing ``sum_e z_e + u_i = 1`` with free multipliers ``mu_i`` gives
    ``L(mu) = sum_i mu_i + sum_i min(0, w_i f_i - mu_i) + min_x sum_j rho_j x_j`` with
    ``rho_j = sum_{e in col j} min(0, w_i d_e - mu_i)``; the inner problem under p is "open
    the p most negative ``rho``" (and a fractional knapsack under a budget), so every value is a
    valid lower bound. ``upper`` (best known cost, including the constant) steers Polyak steps.
    """
    c = red.cost
    rows_e = row_of_entry(c)
    w = red.weights
    f = w * red.fallback
    n = c.shape[1]
    rules = red.rules
    upper_r = upper - red.constant
    mu = f.copy()
    best = -INF
    theta = 1.0
    stall = 0
    for _it in range(max_iter):
        red_e = w[rows_e] * c.data - mu[rows_e]
        neg = np.minimum(0.0, red_e)
        rho = np.bincount(c.indices, weights=neg, minlength=n)
        x = relaxed_x(-rho, rules)
        fu = f - mu
        value = float(mu.sum() + np.minimum(0.0, fu).sum() + rho @ x)
        if value > best:
            if not np.isfinite(best) or value - best > 1e-6 * abs(best):
                stall = 0
            else:
                stall += 1
            best = value
        else:
            stall += 1
        if stall >= 20:
            theta *= 0.5
            stall = 0
        if upper_r - best <= target_gap * max(abs(upper_r), 1.0) or theta < 1e-5:
            break
        if time.perf_counter() > deadline:
            break
        z = np.where(red_e < 0, x[c.indices], 0.0)
        u = (fu < 0).astype(np.float64)
        g = 1.0 - u - np.bincount(rows_e, weights=z, minlength=c.shape[0])
        norm = float(g @ g)
        if norm <= 0:
            break
        mu = mu + theta * (upper_r - value) / norm * g
    return best + red.constant



def solve_problem(problem: SitingProblem) -> SitingResult:
    """Solve ``problem`` as a p-median (the registry's ``pmedian``).

    The rules' rows are stacked, each weighted by its rule weight; a row no station (existing
    or new) reaches within its cutoff costs ``unreached_factor`` times the longest cutoff.
    ``covered_after`` counts a row covered when an existing station or a chosen site is within
    its rule's cutoff.
    """
    o = problem.options
    n_rules = len(problem.covers)
    alpha = np.ones(n_rules) if o.rule_weights is None else np.asarray(o.rule_weights, float)
    stacked = sp.vstack(list(problem.covers), format="csr")
    weight = np.concatenate([w * a for w, a in zip(problem.weights, alpha, strict=True)])
    result = solve_pmedian(
        stacked, weight, p=o.n_sites, fixed_cost=np.concatenate(problem.fixed_cost),
        unreached_cost=o.unreached_factor * max(problem.limits), constraints=problem.constraints,
        solver=o.solver(), p_exactly=o.sites_exactly,
    )
    sel = np.zeros(stacked.shape[1])
    sel[result.chosen] = 1.0
    covered = tuple(f | ((structure(c) @ sel) > 0) for c, f in zip(problem.covers, problem.fixed, strict=True))
    return replace(result, covered_after=covered)


MODEL = SitingModel(key="pmedian", title="p-中位 p-median", needs_target=False, capacity=True,
                    solve=solve_problem)
