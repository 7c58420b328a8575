"""The result of a siting solve: ranked sites, objective, proven bound and gap."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from yizhan import log


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
    assignment
        p-median: per demand row, the chosen candidate that serves it (its largest share with
        capacities), -1 for its existing station or nobody; ``None`` for the other models.
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
    assignment: np.ndarray | None = None

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


def gap_max(value: float, bound: float) -> float:
    """Return the relative gap of a maximisation (0 = proven optimal; inf without a bound)."""
    if not math.isfinite(bound):
        return math.inf
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - value) / abs(bound))


def gap_min(value: float, bound: float) -> float:
    """Return the relative gap of a minimisation (0 = proven optimal; inf without a bound)."""
    if not math.isfinite(bound):
        return math.inf
    if value <= 0:
        return 0.0
    return max(0.0, (value - bound) / abs(value))


def log_result(result: SitingResult) -> None:
    """Log a one-line bilingual summary of a solve (objective, bound, gap, solver, time)."""
    log.info(
        f"选址 siting ({result.model}): 目标值 objective {result.objective:,.2f}，界 bound"
        f" {result.bound:,.2f}，差距 gap {result.gap:.3%}，{result.solver}，{result.seconds:.1f} s"
    )

