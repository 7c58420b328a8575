"""Solver internals of :mod:`yizhan.geo.siting`: reductions, HiGHS models, greedy, swap and bounds.

Private module; :mod:`yizhan.geo.siting` is the public face and writes the formulations down.

Everything here works on sparse matrices whose *stored entries* are the (demand row,
candidate column) pairs that matter: for covering models a stored entry means "candidate
covers demand row"; for the p-median it carries the travel cost (explicit zeros are kept and
mean cost 0). Costs per pair are never densified, every update is a sparse mat-vec or a row
slice, and no Python loop runs per demand point or per pair. Loops run per chosen site
(``p`` of them) or per solver iteration only.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

INF = float("inf")
TOL = 1e-9

# Reduction work limits: the candidate-dominance test multiplies the cover matrix by its
# transpose; above this many scalar products it costs more than it saves.
DOMINANCE_WORK_LIMIT = 40_000_000


# ---------------------------------------------------------------------------------------------
# Constraints on the choice of candidates (shared by every model)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """Constraints on the 0/1 candidate vector ``x`` shared by MCLP, LSCP and p-median.

    ``counts`` marks candidates that count toward ``p`` and the per-area minimums (new sites;
    upgrades of existing stations do not). ``area`` is an integer code per candidate (-1 =
    none) and ``area_min[a]`` the minimum number of counted sites in area ``a``. ``conflicts``
    holds index pairs that may not both be chosen (minimum spacing). ``capacity`` is ``inf``
    where unknown.
    """

    n: int
    p: float = INF
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    budget: float = INF
    area: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    area_min: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    conflicts: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_area_min(self) -> bool:
        """Return whether any area has a positive minimum."""
        return bool(self.area_min.size and self.area_min.max() > 0)

    @property
    def has_capacity(self) -> bool:
        """Return whether any candidate has a finite capacity."""
        return bool(np.isfinite(self.capacity).any())

    @property
    def only_cardinality(self) -> bool:
        """Return whether the rules are at most "p sites" (no budget, areas, spacing, capacity)."""
        return (
            not np.isfinite(self.budget)
            and not self.has_area_min
            and self.conflicts.shape[0] == 0
            and not self.has_capacity
        )

    def protected(self) -> np.ndarray:
        """Return candidates a reduction must keep even when they cover nothing (area minimums)."""
        if not self.has_area_min:
            return np.zeros(self.n, bool)
        in_area = self.area >= 0
        need = np.zeros(self.n, bool)
        need[in_area] = self.area_min[self.area[in_area]] > 0
        return need & self.counts

    def take(self, cols: np.ndarray) -> Rules:
        """Return the rules restricted to candidate columns ``cols`` (re-indexed)."""
        cols = np.asarray(cols, dtype=np.int64)
        remap = np.full(self.n, -1, np.int64)
        remap[cols] = np.arange(cols.size)
        pairs = remap[self.conflicts] if self.conflicts.size else self.conflicts
        if pairs.size:
            pairs = pairs[(pairs >= 0).all(axis=1)]
        return Rules(
            n=int(cols.size),
            p=self.p,
            counts=self.counts[cols],
            cost=self.cost[cols],
            budget=self.budget,
            area=self.area[cols],
            area_min=self.area_min,
            conflicts=pairs.reshape(-1, 2),
            capacity=self.capacity[cols],
        )

    def adjacency(self) -> sp.csr_matrix:
        """Return the symmetric conflict graph as an integer CSR matrix."""
        a, b = self.conflicts[:, 0], self.conflicts[:, 1]
        data = np.ones(2 * a.size, np.int32)
        adj = sp.csr_matrix(
            (data, (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(self.n, self.n)
        )
        adj.sum_duplicates()
        adj.data[:] = 1
        return adj

    def violations(self, chosen: np.ndarray, *, tol: float = 1e-6) -> list[str]:
        """Return a sentence per constraint the chosen candidate indices break (empty if none)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        out: list[str] = []
        if np.unique(chosen).size != chosen.size:
            out.append("a candidate is chosen twice")
        n_counted = int(self.counts[chosen].sum())
        if n_counted > self.p + tol:
            out.append(f"{n_counted} sites chosen, more than p={self.p:g}")
        spent = float(self.cost[chosen].sum())
        if spent > self.budget * (1 + tol) + tol:
            out.append(f"cost {spent:g} exceeds budget {self.budget:g}")
        if self.has_area_min:
            sel = chosen[(self.area[chosen] >= 0) & self.counts[chosen]]
            have = np.bincount(self.area[sel], minlength=self.area_min.size)
            short = np.flatnonzero(have < self.area_min)
            out.extend(
                f"area {a} has {have[a]} new sites, fewer than {self.area_min[a]}" for a in short
            )
        if self.conflicts.size:
            mask = np.zeros(self.n, bool)
            mask[chosen] = True
            both = mask[self.conflicts].all(axis=1)
            out.extend(
                f"candidates {a} and {b} are closer than the minimum spacing"
                for a, b in self.conflicts[both]
            )
        return out


def make_rules(
    n: int,
    *,
    p: float | None = None,
    counts: np.ndarray | None = None,
    cost: np.ndarray | None = None,
    budget: float | None = None,
    area: np.ndarray | None = None,
    area_min: np.ndarray | None = None,
    conflicts: np.ndarray | None = None,
    capacity: np.ndarray | None = None,
) -> Rules:
    """Return :class:`Rules` with defaults filled in and arrays normalised."""
    pairs = np.zeros((0, 2), np.int64) if conflicts is None else np.asarray(conflicts, np.int64)
    pairs = pairs.reshape(-1, 2)
    if pairs.size:
        pairs = np.sort(pairs, axis=1)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        pairs = np.unique(pairs, axis=0)
    return Rules(
        n=n,
        p=INF if p is None else float(p),
        counts=np.ones(n, bool) if counts is None else np.asarray(counts, bool),
        cost=np.ones(n) if cost is None else np.asarray(cost, np.float64),
        budget=INF if budget is None else float(budget),
        area=np.full(n, -1, np.int64) if area is None else np.asarray(area, np.int64),
        area_min=np.zeros(0, np.int64) if area_min is None else np.asarray(area_min, np.int64),
        conflicts=pairs,
        capacity=np.full(n, INF) if capacity is None else np.asarray(capacity, np.float64),
    )


# ---------------------------------------------------------------------------------------------
# Sparse helpers and reductions
# ---------------------------------------------------------------------------------------------


def structure(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """Return the stored-entry pattern of ``matrix`` as a float CSR of ones (sorted, no duplicates)."""
    m = sp.csr_matrix(matrix, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    m.data = np.ones(m.indices.size, np.float64)
    return m


def _row_of_entry(m: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))


def _segment_hash(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Return the wrapped uint64 sum of ``values`` (one per stored entry) over each row."""
    cs = np.zeros(values.size + 1, np.uint64)
    np.cumsum(values, out=cs[1:])
    return cs[m.indptr[1:]] - cs[m.indptr[:-1]]


def merge_identical_rows(
    m: sp.csr_matrix, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with identical stored pattern (and data, and ``extra`` key) exactly.

    Returns ``(labels, first)``: ``labels[i]`` is the group of row ``i`` and ``first[g]`` the
    first row of group ``g``. Groups are numbered by first occurrence. Candidate groups come
    from two random 64-bit row hashes; every merge is then verified entry by entry, and a row
    that differs from its group's first row keeps a group of its own.
    """
    n = m.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = np.random.default_rng(20240611)
    r1 = rng.integers(1, 2**63, size=m.shape[1], dtype=np.uint64)
    r2 = rng.integers(1, 2**63, size=m.shape[1], dtype=np.uint64)
    bits = np.ascontiguousarray(m.data, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        v1 = r1[m.indices] * (bits | np.uint64(1))
        v2 = r2[m.indices] ^ (bits * np.uint64(0x9E3779B97F4A7C15))
        h1 = _segment_hash(m, v1)
        h2 = _segment_hash(m, v2)
    length = np.diff(m.indptr)
    keys = [h1, h2, length.astype(np.uint64)]
    if extra is not None:
        ex = np.asarray(extra)
        if ex.ndim == 1:
            ex = ex[:, None]
        keys.extend(np.ascontiguousarray(ex[:, k], np.float64).view(np.uint64) for k in range(ex.shape[1]))
    order = np.lexsort(keys[::-1])
    sorted_keys = np.stack([k[order] for k in keys], axis=1)
    new_group = np.ones(n, bool)
    new_group[1:] = (sorted_keys[1:] != sorted_keys[:-1]).any(axis=1)
    gid_sorted = np.cumsum(new_group) - 1
    rep_sorted = order[np.flatnonzero(new_group)][gid_sorted]
    # Representative = smallest row index within each hash group.
    rep_min = np.full(int(gid_sorted[-1]) + 1, n, np.int64)
    np.minimum.at(rep_min, gid_sorted, order)
    rep = np.empty(n, np.int64)
    rep[order] = rep_min[gid_sorted]
    del rep_sorted
    # Verify: entries of each row equal those of its representative, position by position.
    rows = _row_of_entry(m)
    offset = np.arange(m.indices.size) - m.indptr[rows]
    rep_pos = m.indptr[rep[rows]] + offset
    bad_entry = (m.indices != m.indices[rep_pos]) | (m.data != m.data[rep_pos])
    bad_row = np.zeros(n, bool)
    bad_row[rows[bad_entry]] = True
    rep = np.where(bad_row, np.arange(n), rep)
    is_first = rep == np.arange(n)
    first = np.flatnonzero(is_first)
    label_of_first = np.full(n, -1, np.int64)
    label_of_first[first] = np.arange(first.size)
    return label_of_first[rep], first


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


# ---------------------------------------------------------------------------------------------
# HiGHS
# ---------------------------------------------------------------------------------------------

_banner_done = {"done": False}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints its banner once per process on first construction)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(*, time_limit: float, seed: int, rel_gap: float) -> highspy.Highs:
    """Return a silent HiGHS instance with the time limit, seed and gap tolerance set."""
    if not _banner_done["done"]:
        with _quiet_stdout():
            h = highspy.Highs()
        _banner_done["done"] = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-7)
    return h


@dataclass(frozen=True)
class MipModel:
    """A linear model ready for HiGHS: CSR constraint matrix, bounds, costs, integrality."""

    a: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    maximize: bool
    offset: float = 0.0

    @property
    def size(self) -> dict[str, int]:
        """Return rows, columns and non-zeros of the model."""
        return {"rows": int(self.a.shape[0]), "cols": int(self.a.shape[1]), "nonzeros": int(self.a.nnz)}


@dataclass(frozen=True)
class MipResult:
    """What HiGHS returned: status text, column values (or ``None``), objective and bound."""

    status: str
    values: np.ndarray | None
    objective: float
    bound: float
    seconds: float


def solve_mip(
    model: MipModel,
    *,
    time_limit: float,
    seed: int,
    rel_gap: float,
    start: np.ndarray | None = None,
    relax: bool = False,
) -> MipResult:
    """Pass ``model`` to HiGHS in one call (CSR arrays), solve, and return the outcome."""
    t0 = time.perf_counter()
    h = new_highs(time_limit=time_limit, seed=seed, rel_gap=rel_gap)
    lp = highspy.HighsLp()
    n_row, n_col = model.a.shape
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.ascontiguousarray(model.col_cost, np.float64)
    lp.col_lower_ = np.ascontiguousarray(model.col_lower, np.float64)
    lp.col_upper_ = np.ascontiguousarray(model.col_upper, np.float64)
    lp.row_lower_ = np.ascontiguousarray(model.row_lower, np.float64)
    lp.row_upper_ = np.ascontiguousarray(model.row_upper, np.float64)
    lp.offset_ = float(model.offset)
    lp.sense_ = highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize
    a = model.a
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_row_ = n_row
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.start_ = np.ascontiguousarray(a.indptr, np.int32)
    lp.a_matrix_.index_ = np.ascontiguousarray(a.indices, np.int32)
    lp.a_matrix_.value_ = np.ascontiguousarray(a.data, np.float64)
    if not relax and model.integer.any():
        kinds = np.where(
            model.integer, int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous)
        )
        lp.integrality_ = [highspy.HighsVarType(int(k)) for k in kinds]
    h.passModel(lp)
    if start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = np.ascontiguousarray(start, np.float64)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    values = None
    if info.primal_solution_status == 2:  # feasible point available
        values = np.asarray(h.getSolution().col_value, np.float64)
    objective = float(info.objective_function_value) if values is not None else float("nan")
    if relax:
        bound = objective if status == "Optimal" else float("nan")
    else:
        bound = float(info.mip_dual_bound)
        if status == "Optimal":
            bound = objective if not np.isfinite(bound) else bound
    return MipResult(status, values, objective, bound, time.perf_counter() - t0)


def _x_rows(rules: Rules, n_col_total: int) -> tuple[list[sp.csr_matrix], list[np.ndarray], list[np.ndarray]]:
    """Return constraint blocks on the first ``rules.n`` columns: p, budget, area minimums, spacing."""
    n = rules.n
    blocks: list[sp.csr_matrix] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def add(rows: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = sp.csr_matrix(rows)
        rows.resize((rows.shape[0], n_col_total))
        blocks.append(rows)
        lo.append(lower)
        hi.append(upper)

    if np.isfinite(rules.p):
        add(sp.csr_matrix(rules.counts.astype(np.float64)[None, :]), np.array([-INF]), np.array([rules.p]))
    if np.isfinite(rules.budget):
        add(sp.csr_matrix(rules.cost[None, :]), np.array([-INF]), np.array([rules.budget]))
    if rules.has_area_min:
        sel = np.flatnonzero((rules.area >= 0) & rules.counts)
        areas = np.flatnonzero(rules.area_min > 0)
        m = sp.csr_matrix(
            (np.ones(sel.size), (rules.area[sel], sel)), shape=(rules.area_min.size, n)
        )[areas]
        add(m, rules.area_min[areas].astype(np.float64), np.full(areas.size, INF))
    if rules.conflicts.size:
        k = rules.conflicts.shape[0]
        rr = np.repeat(np.arange(k), 2)
        m = sp.csr_matrix((np.ones(2 * k), (rr, rules.conflicts.ravel())), shape=(k, n))
        add(m, np.full(k, -INF), np.ones(k))
    return blocks, lo, hi


def cover_model(
    red: CoverReduction,
    *,
    alpha: np.ndarray | None,
    floors: dict[int, float] | None = None,
    minimize_cost: bool = False,
) -> tuple[MipModel, int]:
    """Return the covering MIP on a reduced instance and the number of ``x`` columns.

    Columns: ``x_j`` (binary, one per kept candidate), then ``y_k`` in [0, 1] for every demand
    class covered by two or more candidates. A class with a single candidate ``j`` needs no
    ``y``: it is covered exactly when ``x_j = 1``, so its weight moves onto ``x_j``.
    Rows: ``y_k - sum_{j in N_k} x_j <= 0``; the rule floors
    ``sum_k W_kr y_k + sum_j B_jr x_j >= floor_r``; then the constraints of :func:`_x_rows`.
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
    xb, xl, xh = _x_rows(red.rules, n_col)
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
    the constraints of :func:`_x_rows`.
    """
    a = red.cover
    n_cls, n = a.shape
    e = a.nnz
    rows_e = _row_of_entry(a)
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
    xb, xl, xh = _x_rows(red.rules, n_col)
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


# ---------------------------------------------------------------------------------------------
# Greedy, swap and Lagrangian bound for covering models (1-D weights)
# ---------------------------------------------------------------------------------------------


class _Choice:
    """Bookkeeping for heuristics: chosen set and feasibility counters under :class:`Rules`."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.mask = np.zeros(rules.n, bool)
        self.order: list[int] = []
        self.n_counted = 0
        self.spent = 0.0
        self.adj = rules.adjacency() if rules.conflicts.size else None
        self.blocked = np.zeros(rules.n, np.int64)
        n_area = rules.area_min.size
        self.area_count = np.zeros(n_area, np.int64)

    def deficit_areas(self) -> np.ndarray:
        """Return a mask of areas still below their minimum."""
        return self.area_count < self.rules.area_min

    def can_add(self) -> np.ndarray:
        """Return the mask of candidates that may be added now."""
        r = self.rules
        ok = ~self.mask & (self.blocked == 0)
        if np.isfinite(r.p):
            ok &= ~r.counts | (self.n_counted < r.p - 0.5)
        if np.isfinite(r.budget):
            ok &= r.cost <= r.budget - self.spent + TOL
        return ok

    def add(self, j: int) -> None:
        """Choose candidate ``j``."""
        r = self.rules
        self.mask[j] = True
        self.order.append(j)
        self.n_counted += int(r.counts[j])
        self.spent += float(r.cost[j])
        if self.adj is not None:
            nb = self.adj.indices[self.adj.indptr[j] : self.adj.indptr[j + 1]]
            self.blocked[nb] += 1
        if r.counts[j] and r.area[j] >= 0 and self.area_count.size:
            self.area_count[r.area[j]] += 1

    def remove(self, j: int) -> None:
        """Drop candidate ``j``."""
        r = self.rules
        self.mask[j] = False
        self.order.remove(j)
        self.n_counted -= int(r.counts[j])
        self.spent -= float(r.cost[j])
        if self.adj is not None:
            nb = self.adj.indices[self.adj.indptr[j] : self.adj.indptr[j + 1]]
            self.blocked[nb] -= 1
        if r.counts[j] and r.area[j] >= 0 and self.area_count.size:
            self.area_count[r.area[j]] -= 1

    def swap_ok(self, s: int) -> np.ndarray:
        """Return the mask of candidates that may replace chosen candidate ``s``."""
        r = self.rules
        blocked = self.blocked
        if self.adj is not None:
            row = np.zeros(r.n, np.int64)
            row[self.adj.indices[self.adj.indptr[s] : self.adj.indptr[s + 1]]] = 1
            blocked = blocked - row
        ok = ~self.mask & (blocked == 0)
        if np.isfinite(r.p):
            ok &= (self.n_counted - int(r.counts[s]) + r.counts.astype(np.int64)) <= r.p + 0.5
        if np.isfinite(r.budget):
            ok &= r.cost <= r.budget - self.spent + r.cost[s] + TOL
        if self.area_count.size and r.counts[s] and r.area[s] >= 0:
            a = r.area[s]
            if self.area_count[a] - 1 < r.area_min[a]:
                ok &= r.counts & (r.area == a)
        return ok


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
    choice = _Choice(rules)
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
    choice = _Choice(rules)
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


def _relaxed_x(c: np.ndarray, rules: Rules) -> np.ndarray:
    """Return an optimal x in [0, 1] of max c.x under p and budget only (an upper-bound problem).

    Dropping the area minimums and spacing pairs only enlarges the feasible set, so the value
    stays an upper bound. With both p and a budget, the smaller of the two separate optima is
    taken (each is an upper bound).
    """
    pos = c > 0
    best_x = np.where(pos & ~rules.counts, 1.0, 0.0)
    options = []
    if np.isfinite(rules.p):
        x = best_x.copy()
        idx = np.flatnonzero(pos & rules.counts)
        k = int(min(rules.p, idx.size))
        if k:
            top = idx[np.argsort(-c[idx], kind="stable")[:k]]
            x[top] = 1.0
        options.append(x)
    if np.isfinite(rules.budget):
        x = np.zeros(rules.n)
        idx = np.flatnonzero(pos)
        ratio = c[idx] / np.maximum(rules.cost[idx], TOL)
        order = idx[np.argsort(-ratio, kind="stable")]
        cum = np.cumsum(rules.cost[order])
        full = cum <= rules.budget
        x[order[full]] = 1.0
        nxt = np.flatnonzero(~full)
        if nxt.size:
            j = order[nxt[0]]
            left = rules.budget - (cum[nxt[0]] - rules.cost[j])
            x[j] = max(0.0, left / max(rules.cost[j], TOL))
        options.append(x)
    if not options:
        return np.where(pos, 1.0, 0.0)
    vals = [float(c @ x) for x in options]
    return options[int(np.argmin(vals))]


@dataclass(frozen=True)
class Lagrangian:
    """Outcome of the Lagrangian dual: best bound, its multipliers and x, and iterations."""

    bound: float
    lam: np.ndarray
    x: np.ndarray
    c: np.ndarray
    iterations: int


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
        x = _relaxed_x(c, rules)
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


# ---------------------------------------------------------------------------------------------
# p-median
# ---------------------------------------------------------------------------------------------


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
    rows = _row_of_entry(c)
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
    ``sum_e z_e + u_i = 1`` per class; ``z_e - x_j <= 0`` per pair; then :func:`_x_rows`.
    A class with a single pair needs no ``z``/``u``: its cost is ``f_i + x_j (d_e - f_i)``, so
    ``w_i (d_e - f_i)`` moves onto ``x_j`` and ``w_i f_i`` into the offset. Minimises
    ``sum w_i d_e z_e + sum w_i f_i u_i``.
    """
    c = red.cost
    n = c.shape[1]
    deg = np.diff(c.indptr)
    rows_e = _row_of_entry(c)
    single_e = deg[rows_e] == 1
    x_cost = np.zeros(n)
    np.add.at(x_cost, c.indices[single_e], red.weights[rows_e[single_e]] * (c.data[single_e] - red.fallback[rows_e[single_e]]))
    single_rows = deg == 1
    offset = float((red.weights[single_rows] * red.fallback[single_rows]).sum())
    multi = np.flatnonzero(~single_rows)
    cm = c[multi]
    k = multi.size
    e = cm.nnz
    rows_m = _row_of_entry(cm)
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
    xb, xl, xh = _x_rows(red.rules, n_col)
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
    rows_m = _row_of_entry(cm)
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
    best, _ = _best_open(red.cost, _row_of_entry(red.cost), x, red.fallback)
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
    rows_e = _row_of_entry(c)
    saving = np.bincount(c.indices, weights=w[rows_e] * np.maximum(0.0, cur[rows_e] - c.data), minlength=c.shape[1])
    choice = _Choice(rules)
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
    ct = c.T.tocsr()
    rules = red.rules
    w = red.weights
    rows_e = _row_of_entry(c)
    n = c.shape[1]
    choice = _Choice(rules)
    for j in chosen:
        choice.add(j)

    def state() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        is_open = choice.mask
        best, where = _best_open(c, rows_e, is_open, red.fallback)
        # Second best: close the best column per row and recompute on the open entries.
        pos = np.flatnonzero(is_open[c.indices])
        second = red.fallback.astype(np.float64).copy()
        if pos.size:
            keep = np.ones(pos.size, bool)
            has = where >= 0
            used = np.zeros(c.nnz, bool)
            used[where[has]] = True
            keep &= ~used[pos]
            pos = pos[keep]
            if pos.size:
                r = rows_e[pos]
                vals = np.full(c.shape[0], INF)
                np.minimum.at(vals, r, c.data[pos])
                second = np.minimum(second, vals)
        owner = np.where(where >= 0, c.indices[np.clip(where, 0, None)], -1)
        return best, second, owner

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
    del ct
    return choice.order


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
    rows_e = _row_of_entry(c)
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
        x = _relaxed_x(-rho, rules)
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


# ---------------------------------------------------------------------------------------------
# Smoothed Lagrangian dual (spectral projected gradient)
# ---------------------------------------------------------------------------------------------


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
    lam0: np.ndarray | None = None,
    stages: int = 4,
    first_stage: int = 0,
    max_iter: int = 400,
    target_gap: float = 1e-4,
) -> Lagrangian:
    """Return the Lagrangian upper bound of max covered weight via a smoothed dual.

    The dual ``min_{0 <= lam <= w} sum(w - lam) + top_p(A^T lam)`` is smoothed (softplus with
    temperature ``tau``, lowered stage by stage) and minimised by spectral projected gradient
    (Barzilai-Borwein steps, non-monotone line search, projection = clipping). Every reported
    value is the *exact* ``L(lam)`` (:func:`lagrangian_cover`'s function) at an iterate, so it is
    a valid bound whatever the smoothing. For the cardinality relaxation only (no budget).
    ``lam0`` and ``first_stage`` resume from earlier multipliers at a lower temperature.
    """
    counted = rules.counts

    def exact(lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        c = at @ lam
        x = _relaxed_x(c, rules)
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


# ---------------------------------------------------------------------------------------------
# Set covering (least cost to reach a covered share per rule)
# ---------------------------------------------------------------------------------------------


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
    choice = _Choice(rules)
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
