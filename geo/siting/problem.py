"""What every siting model receives (:class:`SitingProblem`) and how it registers (:class:`SitingModel`).

Also the input normalisation shared by the model functions (cover matrices, weights, fixed rows,
method).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp

from yizhan.errors import ConfigError

if TYPE_CHECKING:
    from yizhan.geo.siting.constraints import SiteConstraints
    from yizhan.geo.siting.options import SitingOptions
    from yizhan.geo.siting.result import SitingResult

Method = Literal["auto", "exact", "greedy"]
METHODS: tuple[str, ...] = ("auto", "exact", "greedy")


@dataclass(frozen=True)
class SitingProblem:
    """One siting question in array form, as every registered model receives it.

    Per rule ``r`` (in rule order): ``covers[r]`` is the sparse ``rule's demand rows x
    candidates`` matrix whose stored entries are the pairs within the rule's cutoff, holding
    the travel cost (seconds or metres, access legs included); ``weights[r]`` the demand
    weights; ``fixed[r]`` the rows existing stations already cover; ``fixed_cost[r]`` the cost
    to the nearest qualifying existing station within the cutoff (``inf`` when none);
    ``limits[r]`` the cutoff in the same unit. ``constraints`` and ``options`` hold the rest.
    ``fixed_count[r]`` says how many existing stations reach each row (0, 1 or 2 = two or
    more), for the backup-coverage model.
    """

    covers: tuple[sp.csr_matrix, ...]
    weights: tuple[np.ndarray, ...]
    fixed: tuple[np.ndarray, ...]
    fixed_cost: tuple[np.ndarray, ...]
    limits: tuple[float, ...]
    constraints: SiteConstraints
    options: SitingOptions
    fixed_count: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class SitingModel:
    """A siting model as :mod:`yizhan.geo.siting.registry` lists it.

    Attributes
    ----------
    key
        The name users write (``model = "mclp"``, ``--model mclp``).
    title
        Bilingual name for reports and the console.
    needs_target
        True when the model reaches a covered share (``target``) instead of placing ``n_sites``
        sites or spending a budget.
    capacity
        Whether the model honours candidate capacities.
    solve
        Solves a :class:`SitingProblem`; the result's ``covered_after`` holds, per rule, a
        boolean array over that rule's rows.
    """

    key: str
    title: str
    needs_target: bool
    capacity: bool
    solve: Callable[[SitingProblem], SitingResult]


def cover_csr(matrix: Any) -> sp.csr_matrix:
    """Return one cover matrix as CSR.

    Sparse: as given (a stored entry covers, whatever its value). Dense (NumPy, 0/1 or bool):
    ``True`` / non-zero entries cover; give travel costs as a sparse matrix of the pairs within
    the cutoff (or build the cover with ``costs <= cutoff``).
    """
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix)
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ValueError(f"a cover matrix must be 2-D (demand x candidates), not {arr.ndim}-D")
    mask = arr.astype(bool) if arr.dtype == bool else (arr != 0) & ~np.isnan(arr.astype(float))
    rows, cols = np.nonzero(mask)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=arr.shape)


def cost_csr(matrix: Any) -> sp.csr_matrix:
    """Return a travel-cost matrix as CSR whose stored entries are the reachable pairs.

    Sparse: as given (explicit zeros kept: cost 0), duplicates summed. Dense (NumPy): every
    finite entry is stored, zeros included (``scipy.sparse.csr_matrix(dense)`` would drop them
    and turn "cost 0" into "out of reach"); ``inf`` and NaN are out of reach.
    """
    if sp.issparse(matrix):
        c = sp.csr_matrix(matrix, copy=True)
        c.sum_duplicates()
        return c
    arr = np.asarray(matrix, np.float64)
    if arr.ndim != 2:
        raise ValueError(f"a cost matrix must be 2-D (demand x candidates), not {arr.ndim}-D")
    rows, cols = np.nonzero(np.isfinite(arr))
    return sp.csr_matrix((arr[rows, cols], (rows, cols)), shape=arr.shape)


def as_list(cover: Any) -> list[sp.csr_matrix]:
    """Return one cover matrix, or a sequence of them (one per rule), as a list of CSR matrices.

    One dense 2-D array is one matrix (not one rule per row).
    """
    if sp.issparse(cover) or isinstance(cover, np.ndarray):
        return [cover_csr(cover)]
    items = list(cover)
    if items and all(sp.issparse(c) or (isinstance(c, np.ndarray) and c.ndim == 2) for c in items):
        return [cover_csr(c) for c in items]
    return [cover_csr(np.asarray(items))]


def weights_list(weight: Any, n_rules: int, rows: list[int]) -> list[np.ndarray]:
    """Return one finite, non-negative weight array per rule, checked against the row counts."""
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


def fixed_list(fixed: Any, n_rules: int, rows: list[int]) -> list[np.ndarray]:
    """Return one boolean "already covered" array per rule (all False when ``fixed`` is None)."""
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


def stack(
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


def check_method(method: str) -> None:
    """Raise a ConfigError unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ConfigError(f"未知求解方式 {method!r}，可选 {METHODS}。Unknown method {method!r}; use {METHODS}.")

