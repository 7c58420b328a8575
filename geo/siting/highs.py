"""HiGHS: one MIP call from CSR arrays, silent, with a fixed seed and a time limit."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from yizhan.geo.siting.constraints import INF, Rules
from yizhan.geo.siting.problem import check_method

#: ``method="auto"`` passes a reduced model to HiGHS only up to this many non-zeros; bigger
#: models get greedy + swap + Lagrangian bound (HiGHS's root LP alone takes minutes there).
AUTO_MIP_NONZEROS = 250_000

#: Default relative optimality tolerance of the exact solver.
DEFAULT_REL_GAP = 1e-6

_banner_done = {"done": False}


@dataclass(frozen=True)
class SolverOptions:
    """How hard to solve: the time limit, the method, HiGHS's seed and its relative gap.

    ``method`` is ``"auto"`` (greedy + swap, then HiGHS when the reduced model is small
    enough, else a Lagrangian bound and a core MIP), ``"exact"`` (HiGHS on the whole reduced
    model) or ``"greedy"`` (greedy + swap + Lagrangian bound). Results are deterministic for a
    given seed.
    """

    time_limit: float = 60.0
    method: str = "auto"
    seed: int = 0
    rel_gap: float = DEFAULT_REL_GAP

    @classmethod
    def of(cls, solver: SolverOptions | None) -> SolverOptions:
        """Return ``solver`` (defaults when None) after checking its method."""
        settings = solver or cls()
        check_method(settings.method)
        return settings


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
    """Pass ``model`` to HiGHS in one call (CSR arrays), solve, and return the checked outcome.

    HiGHS's answer is checked against the model before it is believed: the returned column
    values must meet every row and bound (within 1e-6) and give the objective HiGHS reports.
    highspy 1.16 may return the warm start's values beside the objective of a better solution;
    then the model is solved again without the start. An answer that still fails the check is
    returned without values and with status ``"Unverified"``, so no caller can take it.
    """
    t0 = time.perf_counter()
    res = _solve_once(model, time_limit=time_limit, seed=seed, rel_gap=rel_gap, start=start,
                      relax=relax)
    if start is not None and not _consistent(model, res, relax=relax):
        remaining = max(time_limit - (time.perf_counter() - t0), 1.0)
        res = _solve_once(model, time_limit=remaining, seed=seed, rel_gap=rel_gap, start=None,
                          relax=relax)
    if not _consistent(model, res, relax=relax):
        nan = float("nan")
        return MipResult("Unverified", None, nan, nan, time.perf_counter() - t0)
    return MipResult(res.status, res.values, res.objective, res.bound, time.perf_counter() - t0)


#: Largest row or bound violation, and relative objective mismatch, accepted from HiGHS.
CHECK_TOL = 1e-6


def _consistent(model: MipModel, res: MipResult, *, relax: bool = False) -> bool:
    """Return whether HiGHS's values satisfy ``model`` and give the objective it reported."""
    if res.values is None:
        return True
    x = res.values
    act = model.a @ x
    scale = 1.0 + np.abs(act)
    if ((model.row_lower - act) > CHECK_TOL * scale).any() or \
            ((act - model.row_upper) > CHECK_TOL * scale).any():
        return False
    if ((model.col_lower - x) > CHECK_TOL).any() or ((x - model.col_upper) > CHECK_TOL).any():
        return False
    ints = x[model.integer] if not relax else x[:0]
    if ints.size and np.abs(ints - np.round(ints)).max() > CHECK_TOL:
        return False
    value = float(model.col_cost @ x) + float(model.offset)
    return abs(value - res.objective) <= CHECK_TOL * max(1.0, abs(value), abs(res.objective))


def _solve_once(
    model: MipModel, *, time_limit: float, seed: int, rel_gap: float,
    start: np.ndarray | None, relax: bool,
) -> MipResult:
    """Run HiGHS once on ``model`` and return what it says (unchecked)."""
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


def x_rows(rules: Rules, n_col_total: int) -> tuple[list[sp.csr_matrix], list[np.ndarray], list[np.ndarray]]:
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

