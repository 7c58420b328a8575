"""The covering family (MCLP, LSCP): safe reductions, HiGHS models, greedy, swap and bounds.

Everything works on sparse matrices whose stored entries are the (demand row, candidate)
pairs that matter: a stored entry means "candidate covers demand row". Every update is a sparse
mat-vec or a row slice; loops run per chosen site or per solver iteration only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from yizhan.geo.siting.constraints import INF, TOL, Rules, make_rules
from yizhan.geo.siting.heuristics import Choice, Lagrangian, relaxed_x
from yizhan.geo.siting.highs import MipModel, x_rows
from yizhan.geo.siting.reduce import merge_identical_rows, row_of_entry, structure

#: The candidate-dominance test multiplies the cover matrix by its transpose; above this many
#: scalar products it costs more than it saves.
DOMINANCE_WORK_LIMIT = 40_000_000

#: Temperatures of the smoothed dual (each stage 10x colder) and the relative distance to the
#: incumbent at which it stops.
DUAL_STAGES = 4
DUAL_TARGET_GAP = 1e-4


@dataclass(frozen=True)
class CoverReduction:
    """A covering instance after safe reductions.

    ``cover`` is (classes x kept candidates); ``weights`` is (classes x rules); ``cols`` maps
    kept columns back to the original candidates; ``fixed`` / ``lost`` / ``total`` are weights
    per rule covered by existing stations, not coverable at all, and overall.
    """

    cover: sp.csr_matrix
    weights: np.ndarray
    cols: np.ndarray
    rules: Rules
    fixed: np.ndarray
    lost: np.ndarray
    total: np.ndarray
    sizes: dict[str, int | bool]


def _dominated(cover: sp.csr_matrix, rules: Rules, protect: np.ndarray) -> np.ndarray | None:
    """Return a mask of candidate columns dominated by another kept column, or ``None`` if too costly.

    Column ``j`` is dominated by ``l`` when ``l`` covers every class ``j`` covers, costs no
    more, has no less capacity, sits in the same area, counts toward ``p`` no more than ``j``,
    is in no spacing conflict, and ranks higher in a fixed total order (size, cost, index), so
    the relation is a strict partial order and every dropped column keeps a surviving dominator.
    Swapping ``j`` for ``l`` in any solution keeps it feasible and covers at least as much.
    """
    deg_rows = np.diff(cover.indptr)
    work = float(np.square(deg_rows, dtype=np.float64).sum())
    if work > DOMINANCE_WORK_LIMIT:
        return None
    csc = cover.tocsc()
    size = np.diff(csc.indptr)
    overlap = (csc.T @ csc).tocoo()
    j, l_ = overlap.row, overlap.col
    ok = (j != l_) & (overlap.data >= size[j] - 0.5)
    in_conflict = np.zeros(rules.n, bool)
    if rules.conflicts.size:
        in_conflict[rules.conflicts.ravel()] = True
    ok &= (
        (rules.cost[l_] <= rules.cost[j])
        & (rules.capacity[l_] >= rules.capacity[j])
        & (rules.area[l_] == rules.area[j])
        & (rules.counts[l_] <= rules.counts[j])
        & ~in_conflict[l_]
        & ~protect[j]
    )
    j, l_ = j[ok], l_[ok]
    # Strict total order: bigger set, then cheaper, then bigger capacity, then lower index.
    better = (size[l_] > size[j]) | (
        (size[l_] == size[j])
        & (
            (rules.cost[l_] < rules.cost[j])
            | (
                (rules.cost[l_] == rules.cost[j])
                & (
                    (rules.capacity[l_] > rules.capacity[j])
                    | ((rules.capacity[l_] == rules.capacity[j]) & (l_ < j))
                )
            )
        )
    )
    mask = np.zeros(rules.n, bool)
    mask[j[better]] = True
    return mask


def reduce_cover(
    cover: sp.csr_matrix,
    weights: np.ndarray,
    fixed: np.ndarray,
    rules: Rules,
    *,
    dominance: bool = True,
) -> CoverReduction:
    """Return the instance after the safe reductions used by every covering model.

    1. drop demand already covered by existing stations (``fixed``) and demand no candidate
       covers (their weights become constants); 2. drop candidates that can never be afforded or
       cover nothing (unless an area minimum needs them); 3. merge demand rows with identical
       candidate sets, adding their weights; 4. drop dominated candidates (see
       :func:`_dominated`), then merge again.
    """
    a = structure(cover)
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = w[:, None]
    total = w.sum(axis=0)
    fixed_w = w[fixed].sum(axis=0)
    deg = np.diff(a.indptr)
    sizes: dict[str, int | bool] = {
        "demand_rows": int(a.shape[0]),
        "candidates": int(a.shape[1]),
        "nonzeros": int(a.nnz),
    }
    keep_rows = ~fixed & (deg > 0) & (w.sum(axis=1) > 0)
    lost = w[~fixed & (deg == 0)].sum(axis=0)
    a = a[keep_rows]
    w = w[keep_rows]

    protect = rules.protected()
    col_deg = np.bincount(a.indices, minlength=a.shape[1])
    keep_cols = ((col_deg > 0) | protect) & (rules.cost <= rules.budget + TOL)
    dominance_done = False
    for _round in range(2):
        cols = np.flatnonzero(keep_cols)
        a_c = a[:, cols]
        labels, first = merge_identical_rows(a_c)
        w_m = np.zeros((first.size, w.shape[1]))
        np.add.at(w_m, labels, w)
        a_m = a_c[first]
        if not dominance or _round == 1:
            break
        dom = _dominated(a_m, rules.take(cols), protect[cols])
        if dom is None or not dom.any():
            dominance_done = dom is not None
            break
        dominance_done = True
        keep_cols[cols[dom]] = False
    a_m.sort_indices()
    sizes.update(
        {
            "reduced_rows": int(a_m.shape[0]),
            "reduced_candidates": int(a_m.shape[1]),
            "reduced_nonzeros": int(a_m.nnz),
            "dominance_checked": dominance_done,
        }
    )
    return CoverReduction(
        cover=a_m,
        weights=w_m,
        cols=cols,
        rules=rules.take(cols),
        fixed=fixed_w,
        lost=lost,
        total=total,
        sizes=sizes,
    )


def cover_model(
    red: CoverReduction,
    *,
    alpha: np.ndarray | None,
    floors: dict[int, float] | None = None,
    minimize_cost: bool = False,
    must: np.ndarray | None = None,
) -> tuple[MipModel, int]:
    """Return the covering MIP on a reduced instance and the number of ``x`` columns.

    Columns: ``x_j`` (binary, one per kept candidate), then ``y_k`` in [0, 1] for every demand
    class covered by two or more candidates. A class with a single candidate ``j`` needs no
    ``y``: it is covered exactly when ``x_j = 1``, so its weight moves onto ``x_j``.
    Rows: ``y_k - sum_{j in N_k} x_j <= 0``; the rule floors
    ``sum_k W_kr y_k + sum_j B_jr x_j >= floor_r``; the set-cover rows
    ``sum_{j in N_k} x_j >= 1`` of every class in ``must`` (a rule whose target is all of its
    demand: no weighted floor, so no tolerance on it); then the constraints of :func:`x_rows`.
    Maximises ``alpha``-weighted covered weight, or (``minimize_cost``) minimises total cost.
    With capacities the assignment model of :func:`capacity_model` is used instead.
    """
    a = red.cover
    n = a.shape[1]
    deg = np.diff(a.indptr)
    single = deg == 1
    multi = np.flatnonzero(~single)
    bonus = np.zeros((n, red.weights.shape[1]))
    srows = np.flatnonzero(single)
    np.add.at(bonus, a.indices[a.indptr[srows]], red.weights[srows])
    am = a[multi]
    wm = red.weights[multi]
    k = multi.size
    n_col = n + k
    # Coverage rows: [-A_multi | I]
    cov = sp.hstack([-am, sp.identity(k, format="csr")], format="csr")
    blocks = [cov]
    lo = [np.full(k, -INF)]
    hi = [np.zeros(k)]
    for r, floor in (floors or {}).items():
        row = np.concatenate([bonus[:, r], wm[:, r]])
        blocks.append(sp.csr_matrix(row[None, :]))
        lo.append(np.array([floor]))
        hi.append(np.array([INF]))
    if must is not None and must.any():
        rows = a[np.flatnonzero(must)]
        blocks.append(sp.hstack([rows, sp.csr_matrix((rows.shape[0], k))], format="csr"))
        lo.append(np.ones(rows.shape[0]))
        hi.append(np.full(rows.shape[0], INF))
    xb, xl, xh = x_rows(red.rules, n_col)
    blocks += xb
    lo += xl
    hi += xh
    mat = sp.vstack(blocks, format="csr")
    if minimize_cost:
        cost = np.concatenate([red.rules.cost, np.zeros(k)])
    else:
        al = np.ones(red.weights.shape[1]) if alpha is None else alpha
        cost = np.concatenate([bonus @ al, wm @ al])
    model = MipModel(
        a=mat,
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_cost=cost,
        col_lower=np.zeros(n_col),
        col_upper=np.ones(n_col),
        integer=np.concatenate([np.ones(n, bool), np.zeros(k, bool)]),
        maximize=not minimize_cost,
    )
    return model, n


def capacity_model(
    red: CoverReduction,
    *,
    alpha: np.ndarray | None,
    floors: dict[int, float] | None = None,
    minimize_cost: bool = False,
) -> tuple[MipModel, int]:
    """Return the capacitated covering MIP (assignment form) and the number of ``x`` columns.

    Columns: ``x_j`` binary, then ``z_e`` in [0, 1] for every stored pair ``e = (k, j)``: the
    share of class ``k``'s weight served by site ``j``. Rows: ``sum_j z_kj <= 1`` per class;
    ``z_kj - x_j <= 0`` per pair; ``sum_k w_k z_kj - cap_j x_j <= 0`` per site with a finite
    capacity (``w`` = ``alpha``-weighted class weight); rule floors on ``sum W_kr z_kj``; then
    the constraints of :func:`x_rows`.
    """
    a = red.cover
    n_cls, n = a.shape
    e = a.nnz
    rows_e = row_of_entry(a)
    cols_e = a.indices.astype(np.int64)
    al = np.ones(red.weights.shape[1]) if alpha is None else alpha
    w = red.weights @ al
    n_col = n + e
    eid = np.arange(e)
    blocks = [
        sp.csr_matrix((np.ones(e), (rows_e, n + eid)), shape=(n_cls, n_col)),
        sp.csr_matrix(
            (np.concatenate([np.ones(e), -np.ones(e)]), (np.concatenate([eid, eid]), np.concatenate([n + eid, cols_e]))),
            shape=(e, n_col),
        ),
    ]
    lo = [np.full(n_cls, -INF), np.full(e, -INF)]
    hi = [np.ones(n_cls), np.zeros(e)]
    capped = np.flatnonzero(np.isfinite(red.rules.capacity))
    if capped.size:
        pos = np.full(n, -1, np.int64)
        pos[capped] = np.arange(capped.size)
        sel = pos[cols_e] >= 0
        r_idx = np.concatenate([pos[cols_e[sel]], np.arange(capped.size)])
        c_idx = np.concatenate([n + eid[sel], capped])
        vals = np.concatenate([w[rows_e[sel]], -red.rules.capacity[capped]])
        blocks.append(sp.csr_matrix((vals, (r_idx, c_idx)), shape=(capped.size, n_col)))
        lo.append(np.full(capped.size, -INF))
        hi.append(np.zeros(capped.size))
    for r, floor in (floors or {}).items():
        row = np.zeros(n_col)
        row[n:] = red.weights[rows_e, r]
        blocks.append(sp.csr_matrix(row[None, :]))
        lo.append(np.array([floor]))
        hi.append(np.array([INF]))
    xb, xl, xh = x_rows(red.rules, n_col)
    blocks += xb
    lo += xl
    hi += xh
    cost = (
        np.concatenate([red.rules.cost, np.zeros(e)])
        if minimize_cost
        else np.concatenate([np.zeros(n), w[rows_e]])
    )
    model = MipModel(
        a=sp.vstack(blocks, format="csr"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_cost=cost,
        col_lower=np.zeros(n_col),
        col_upper=np.ones(n_col),
        integer=np.concatenate([np.ones(n, bool), np.zeros(e, bool)]),
        maximize=not minimize_cost,
    )
    return model, n


def cover_start(red: CoverReduction, chosen: np.ndarray, *, capacity: bool) -> np.ndarray:
    """Return a full column vector (x and y, or x and z) for the chosen reduced columns."""
    a = red.cover
    n = a.shape[1]
    x = np.zeros(n)
    x[chosen] = 1.0
    if capacity:
        # Greedy allocation is rebuilt by the caller; HiGHS completes a partial start itself.
        return np.concatenate([x, np.zeros(a.nnz)])
    deg = np.diff(a.indptr)
    multi = np.flatnonzero(deg != 1)
    y = np.minimum(1.0, a[multi] @ x)
    return np.concatenate([x, y])


def greedy_cover(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    w: np.ndarray,
    rules: Rules,
    *,
    deadline: float,
    start: list[int] | None = None,
    stop_at_zero: bool = True,
    trace: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[list[int], np.ndarray, bool]:
    """Return the greedy choice (in pick order), the residual weight per row and feasibility.

    Each step picks the candidate with the largest covered weight gained (per unit cost when a
    budget applies; capped at the site's capacity); ties go to the lowest index. Areas below
    their minimum are served first. Gains are updated on the rows a pick covers only, so a
    whole run costs one pass over the stored pairs plus ``O(p * candidates)``.
    With ``stop_at_zero=False`` picks continue while anything can be added (used to rank a
    given set); ``trace`` receives ``(rows, weight taken)`` per pick.
    """
    residual = w.astype(np.float64).copy()
    gains = at @ residual
    choice = Choice(rules)
    has_cap = rules.has_capacity
    budgeted = np.isfinite(rules.budget)
    deg = np.diff(a.indptr)

    def pick(j: int) -> None:
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        rows = rows[residual[rows] > 0]
        take = residual[rows]
        if has_cap and np.isfinite(rules.capacity[j]):
            # Serve the rows with the fewest alternatives first, within the capacity.
            order = np.lexsort((rows, deg[rows]))
            rows, take = rows[order], take[order]
            before = np.concatenate([[0.0], np.cumsum(take)[:-1]])
            take = np.clip(rules.capacity[j] - before, 0.0, take)
        if rows.size:
            residual[rows] -= take
            gains[:] -= a[rows].T @ take
        if trace is not None:
            trace.append((rows, take))
        choice.add(j)

    for j in start or []:
        pick(j)
    feasible = True
    # Phase 1: areas below their minimum.
    while choice.area_count.size and choice.deficit_areas().any():
        need = choice.deficit_areas()
        ok = choice.can_add() & rules.counts & (rules.area >= 0)
        ok &= need[np.clip(rules.area, 0, None)]
        if not ok.any():
            feasible = False
            break
        score = np.minimum(gains, rules.capacity) if has_cap else gains.copy()
        if budgeted:
            score = score / np.maximum(rules.cost, TOL)
        score[~ok] = -INF
        pick(int(np.argmax(score)))
    # Phase 2: best gain until p, budget or gains run out.
    while time.perf_counter() < deadline:
        ok = choice.can_add()
        eff = np.minimum(gains, rules.capacity) if has_cap else gains
        if stop_at_zero:
            ok &= eff > TOL * max(1.0, float(w.sum())) * 1e-3
        if not ok.any():
            break
        score = eff / np.maximum(rules.cost, TOL) if budgeted else eff.copy()
        score[~ok] = -INF
        pick(int(np.argmax(score)))
    return choice.order, residual, feasible


def swap_cover(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    w: np.ndarray,
    rules: Rules,
    chosen: list[int],
    *,
    deadline: float,
    max_passes: int = 50,
) -> list[int]:
    """Improve a covering solution by single swaps (and additions where p or budget allow).

    For each chosen site ``s`` (in index order) the best replacement ``j`` is found for all
    candidates at once: gain(j) = weight newly covered by ``j`` once ``s`` is gone, computed as
    a base mat-vec plus a correction on the rows only ``s`` covers. The first strictly
    improving swap per site is applied; passes repeat until none improves or time runs out.
    Deterministic. Not used with capacities.
    """
    choice = Choice(rules)
    for j in chosen:
        choice.add(j)
    sel = np.zeros(rules.n)
    sel[chosen] = 1.0
    cnt = np.rint(a @ sel).astype(np.int64)
    tol = 1e-9 * max(1.0, float(w.sum()))

    def cols_rows(j: int) -> np.ndarray:
        return at.indices[at.indptr[j] : at.indptr[j + 1]]

    for _pass in range(max_passes):
        improved = False
        base = at @ (w * (cnt == 0))
        # Additions first (slack in p or budget after earlier swaps).
        while True:
            ok = choice.can_add()
            if not ok.any():
                break
            score = np.where(ok, base, -INF)
            j = int(np.argmax(score))
            if score[j] <= tol:
                break
            choice.add(j)
            cnt[cols_rows(j)] += 1
            base = at @ (w * (cnt == 0))
            improved = True
        for s in sorted(choice.order):
            if time.perf_counter() > deadline:
                return choice.order
            rows = cols_rows(s)
            only = rows[cnt[rows] == 1]
            loss = float(w[only].sum())
            delta = base - loss
            if only.size:
                delta = delta + a[only].T @ w[only]
            ok = choice.swap_ok(s)
            delta[~ok] = -INF
            j = int(np.argmax(delta))
            if delta[j] > tol:
                choice.remove(s)
                choice.add(j)
                cnt[rows] -= 1
                cnt[cols_rows(j)] += 1
                base = at @ (w * (cnt == 0))
                improved = True
        if not improved:
            break
    return choice.order


def lagrangian_cover(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    w: np.ndarray,
    rules: Rules,
    *,
    lower: float,
    deadline: float,
    max_iter: int = 3000,
    target_gap: float = 1e-4,
) -> Lagrangian:
    """Return an upper bound on max covered weight by subgradient on the Lagrangian dual.

    Relaxing ``y_i <= sum_{j in N_i} x_j`` with multipliers ``0 <= lam_i <= w_i`` gives
    ``L(lam) = sum_i (w_i - lam_i) + max_x sum_j c_j x_j`` with ``c = A^T lam``; the inner
    problem is solved exactly for p (top-p) and bounded for a budget (fractional knapsack), so
    every ``L(lam)`` is a valid upper bound, and the best one equals the LP bound at
    convergence. Polyak steps toward ``lower`` (the best known solution).
    """
    lam = 0.5 * w
    best = INF
    best_lam, best_x, best_c = lam, np.zeros(rules.n), np.zeros(rules.n)
    theta = 1.0
    stall = 0
    it = 0
    for _ in range(max_iter):
        it += 1
        c = at @ lam
        x = relaxed_x(c, rules)
        red = w - lam
        value = float(red.sum() + c @ x)
        if value < best:
            if not np.isfinite(best) or best - value > 1e-6 * abs(best):
                stall = 0
            else:
                stall += 1
            best, best_lam, best_x, best_c = value, lam.copy(), x, c
        else:
            stall += 1
        if stall >= 20:
            theta *= 0.5
            stall = 0
        if (best - lower) <= target_gap * max(abs(best), 1.0) or theta < 1e-5:
            break
        if time.perf_counter() > deadline:
            break
        cov = a @ x
        y = np.where(red > 0, 1.0, np.where(red < 0, 0.0, np.minimum(1.0, cov)))
        g = cov - y  # dL/dlam
        g = np.where((lam <= 0) & (g > 0), 0.0, g)
        g = np.where((lam >= w) & (g < 0), 0.0, g)
        norm = float(g @ g)
        if norm <= 0:
            break
        step = theta * (value - lower) / norm
        lam = np.clip(lam - step * g, 0.0, w)
    return Lagrangian(best, best_lam, best_x, best_c, it)


def fix_by_reduced_cost(lag: Lagrangian, rules: Rules, incumbent: float) -> tuple[np.ndarray, float]:
    """Return a mask of columns that cannot be in any solution better than ``incumbent``.

    Only for the cardinality-only relaxation: forcing a column ``j`` outside the top-p set in
    replaces the weakest counted column of the relaxed solution, so
    ``L_j = L - c_min + c_j``; when ``L_j <= incumbent`` no solution using ``j`` can beat it.
    Also returns the largest ``L_j`` over fixed columns (the bound for solutions using them).
    """
    c = lag.c
    chosen = lag.x > 0.5
    counted = chosen & rules.counts
    if not np.isfinite(rules.p) or not counted.any() or counted.sum() < rules.p:
        return np.zeros(rules.n, bool), -INF
    c_min = float(c[counted].min())
    lj = lag.bound - c_min + c
    fix = ~chosen & rules.counts & (lj < incumbent - 1e-9 * max(1.0, abs(incumbent)))
    worst = float(lj[fix].max()) if fix.any() else -INF
    return fix, worst


def covered_value(a: sp.csr_matrix, w: np.ndarray, chosen: list[int] | np.ndarray) -> float:
    """Return the weight of rows covered by the chosen columns."""
    sel = np.zeros(a.shape[1])
    sel[np.asarray(chosen, np.int64)] = 1.0
    return float(w[(a @ sel) > 0].sum())


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _smooth_top(c: np.ndarray, counted: np.ndarray, p: float, tau: float) -> tuple[float, np.ndarray]:
    """Return the smoothed value of ``max_x c.x`` (top-p of counted, all positive others) and dvalue/dc.

    ``max(0, c - theta)`` is replaced by ``tau * softplus((c - theta) / tau)`` and ``theta`` is
    chosen optimally (bisection on ``sum sigmoid = p``); the value is an upper bound of the
    exact one and within ``tau * n * log 2`` of it.
    """
    theta = 0.0
    grad = np.empty_like(c)
    cc = c[counted]
    value = 0.0
    if np.isfinite(p) and cc.size > p:
        lo, hi = float(cc.min()) - 40 * tau, float(cc.max()) + 40 * tau
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if _sigmoid((cc - mid) / tau).sum() > p:
                lo = mid
            else:
                hi = mid
        theta = 0.5 * (lo + hi)
        u = (cc - theta) / tau
        value += p * theta + float((np.logaddexp(0.0, u) * tau).sum())
        grad[counted] = _sigmoid(u)
    else:
        u = cc / tau
        value += float((np.logaddexp(0.0, u) * tau).sum())
        grad[counted] = _sigmoid(u)
    un = c[~counted] / tau
    value += float((np.logaddexp(0.0, un) * tau).sum())
    grad[~counted] = _sigmoid(un)
    return value, grad


def smooth_dual_cover(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    w: np.ndarray,
    rules: Rules,
    *,
    lower: float,
    deadline: float,
    resume: tuple[np.ndarray, int] | None = None,
    max_iter: int = 400,
) -> Lagrangian:
    """Return the Lagrangian upper bound of max covered weight via a smoothed dual.

    The dual ``min_{0 <= lam <= w} sum(w - lam) + top_p(A^T lam)`` is smoothed (softplus with
    temperature ``tau``, lowered stage by stage) and minimised by spectral projected gradient
    (Barzilai-Borwein steps, non-monotone line search, projection = clipping). Every reported
    value is the *exact* ``L(lam)`` (:func:`lagrangian_cover`'s function) at an iterate, so it is
    a valid bound whatever the smoothing. For the cardinality relaxation only (no budget).
    ``resume = (multipliers, stage)`` continues from earlier multipliers at the temperature
    of that stage (of :data:`DUAL_STAGES`); the dual stops within :data:`DUAL_TARGET_GAP` of
    ``lower``.
    """
    lam0, first_stage = resume if resume is not None else (None, 0)
    stages, target_gap = DUAL_STAGES, DUAL_TARGET_GAP
    counted = rules.counts

    def exact(lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        c = at @ lam
        x = relaxed_x(c, rules)
        return float((w - lam).sum() + c @ x), x, c

    lam = (0.5 * w if lam0 is None else np.clip(lam0, 0.0, w)).astype(np.float64)
    best_v, best_x, best_c = exact(lam)
    best_lam = lam.copy()
    scale = float(w[w > 0].mean()) if (w > 0).any() else 1.0
    it_total = 0
    for stage in range(first_stage, stages):
        tau = scale * 10.0 ** (-stage)

        def fg(lam: np.ndarray, tau: float = tau) -> tuple[float, np.ndarray]:
            c = at @ lam
            val, sig = _smooth_top(c, counted, rules.p, tau)
            return float((w - lam).sum()) + val, (a @ sig) - 1.0

        f, g = fg(lam)
        hist = [f]
        alpha = 1.0 / max(1.0, float(np.abs(g).max()))
        for k in range(max_iter):
            it_total += 1
            d = np.clip(lam - alpha * g, 0.0, w) - lam
            gd = float(g @ d)
            if gd > -1e-12 * max(1.0, abs(f)):
                break
            t = 1.0
            ref = max(hist[-10:])
            while True:
                new = lam + t * d
                fn, gn = fg(new)
                if fn <= ref + 1e-4 * t * gd or t < 1e-6:
                    break
                t *= 0.5
            s = new - lam
            y = gn - g
            sy = float(s @ y)
            alpha = float(s @ s) / sy if sy > 1e-300 else 1e3 * alpha
            alpha = min(max(alpha, 1e-12), 1e12)
            lam, f, g = new, fn, gn
            hist.append(f)
            if k % 10 == 9:
                v, x, c = exact(lam)
                if v < best_v:
                    best_v, best_x, best_c, best_lam = v, x, c, lam.copy()
                if best_v - lower <= target_gap * max(abs(best_v), 1.0):
                    return Lagrangian(best_v, best_lam, best_x, best_c, it_total)
            if time.perf_counter() > deadline:
                break
        v, x, c = exact(lam)
        if v < best_v:
            best_v, best_x, best_c, best_lam = v, x, c, lam.copy()
        if time.perf_counter() > deadline:
            break
    return Lagrangian(best_v, best_lam, best_x, best_c, it_total)


def rank_cover(
    a: sp.csr_matrix,
    w: np.ndarray,
    fixed: np.ndarray,
    *,
    rule_of: np.ndarray,
    alpha: np.ndarray,
    chosen: np.ndarray,
    rules: Rules,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the ranked table of ``chosen`` (greedy by marginal gain) and rows covered after."""
    a = structure(a)
    n_rules = w.shape[1]
    combined = w @ alpha
    sub = a[:, chosen]
    live = ~fixed
    sub_rules = rules.take(chosen)
    plain = make_rules(len(chosen), capacity=sub_rules.capacity)
    trace: list[tuple[np.ndarray, np.ndarray]] = []
    order, _res, _ok = greedy_cover(
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

