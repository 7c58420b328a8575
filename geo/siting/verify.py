"""Exact checks of a siting answer against its model, so that no answer is called what it is not.

A MIP solver works in floating point with tolerances (HiGHS: primal feasibility 1e-7, relative
gap 1e-4 by default): a coverage floor may be met "within tolerance" and a bound may be off. Every
solution a covering model returns is checked here in exact rational arithmetic
(:class:`fractions.Fraction` of the float weights, which are exact binary fractions): the covered
weight of each rule against its target, the full cover of every demand row when the target is
100 %. A result is labelled ``optimal`` only when its solution passes these checks and the bound
(proven on the same exact model, or by yizhan's own relaxation) closes the gap; otherwise it is
``feasible`` with the gap it has.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from yizhan.geo.siting.reduce import structure


def exact_sum(values: np.ndarray) -> Fraction:
    """Return the exact sum of finite float ``values`` (no rounding at any step), vectorised.

    Each float is ``m * 2**e`` with a 53-bit integer ``m``; the mantissas are summed per
    exponent in int64 (split into 26-bit halves, so a billion terms cannot overflow), and only
    the per-exponent sums (a few hundred at most) become Python integers.
    """
    v = np.asarray(values, np.float64).ravel()
    v = v[v != 0.0]
    if not v.size:
        return Fraction(0)
    frac, exp = np.frexp(v)
    mant = np.ldexp(frac, 53).astype(np.int64)  # exact: |frac| < 1 has 53 significant bits
    expo = exp.astype(np.int64) - 53
    order = np.argsort(expo, kind="stable")
    mant, expo = mant[order], expo[order]
    starts = np.flatnonzero(np.r_[True, expo[1:] != expo[:-1]])
    high = np.add.reduceat(mant >> 26, starts)
    low = np.add.reduceat(mant & ((1 << 26) - 1), starts)
    total = Fraction(0)
    for h, lo, e in zip(high.tolist(), low.tolist(), expo[starts].tolist(), strict=True):
        total += Fraction((h << 26) + lo) * Fraction(2) ** e
    return total


def two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(p, err)`` with ``a * b == p + err`` exactly (Dekker's product, vectorised)."""
    def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = 134217729.0 * x  # 2**27 + 1 (Veltkamp)
        high = c - (c - x)
        return high, x - high

    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def decimal_fraction(share: float) -> Fraction:
    """Return ``share`` as the decimal the user wrote: 0.8 is 4/5, not the float just above it."""
    return Fraction(repr(float(share)))


def covered_rows(cover: sp.csr_matrix, chosen: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Return which demand rows are covered by ``fixed`` stations or a ``chosen`` candidate.

    A stored entry of ``cover`` means "covers", whatever its value (a distance of 0 included).
    """
    x = np.zeros(cover.shape[1])
    x[np.asarray(chosen, np.int64)] = 1.0
    return np.asarray(fixed, bool) | ((structure(cover) @ x) > 0.5)


def target_shortfalls(
    cover: sp.csr_matrix, weight: np.ndarray, fixed: np.ndarray, rule_of: np.ndarray,
    targets: np.ndarray, *, chosen: np.ndarray,
) -> list[int]:
    """Return the rules whose target the choice misses, checked exactly.

    A target of 1 (100 %) requires every row of the rule with a positive weight to be covered,
    however small its weight; a smaller target requires the covered weight (existing stations
    included) to be at least ``target`` times the rule's total weight, in exact arithmetic
    (the target read as the decimal it was written as, :func:`decimal_fraction`).
    """
    covered = covered_rows(cover, chosen, fixed)
    short = []
    for r, target in enumerate(np.asarray(targets, np.float64)):
        rows = rule_of == r
        w = weight[rows]
        if target >= 1.0:
            if (~covered[rows] & (w > 0)).any():
                short.append(r)
        elif exact_sum(w[covered[rows]]) < decimal_fraction(target) * exact_sum(w):
            short.append(r)
    return short


def exact_covered_value(
    cover: sp.csr_matrix, weight: np.ndarray, fixed: np.ndarray, rule_of: np.ndarray,
    alpha: np.ndarray, *, chosen: np.ndarray,
) -> float:
    """Return the ``alpha``-weighted covered weight of a choice (existing coverage included).

    ``weight`` is one value per row (under the row's own rule); summed exactly, rounded once.
    """
    covered = covered_rows(cover, chosen, fixed)
    total = Fraction(0)
    for r, a in enumerate(np.asarray(alpha, np.float64)):
        rows = covered & (rule_of == r)
        total += Fraction(float(a)) * exact_sum(weight[rows])
    return float(total)


def median_cost(
    cost: sp.csr_matrix, weight: np.ndarray, fallback: np.ndarray, *, chosen: np.ndarray,
) -> float:
    """Return the weighted travel cost of a choice, summed exactly and rounded once.

    Each row travels to its nearest open site or to its ``fallback`` (the existing station, or
    the unreached cost).
    """
    best = nearest_chosen_cost(cost, fallback, chosen)
    product, error = two_product(np.asarray(weight, np.float64), best)
    return float(exact_sum(np.concatenate([product, error])))


def nearest_chosen_cost(
    cost: sp.csr_matrix, fallback: np.ndarray, chosen: np.ndarray,
) -> np.ndarray:
    """Return per row the cost to its nearest ``chosen`` site, or its ``fallback`` if cheaper."""
    sub = sp.csr_matrix(cost[:, np.asarray(chosen, np.int64)])
    best = np.asarray(fallback, np.float64).copy()
    if sub.nnz:
        rows = np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))
        np.minimum.at(best, rows, sub.data)
    return best


def confirmed(value: float, bound: float, *, maximize: bool, rel_gap: float) -> bool:
    """Return whether ``bound`` proves ``value`` optimal within ``rel_gap`` (or 1e-7)."""
    gap = (bound - value) if maximize else (value - bound)
    return bool(gap <= max(rel_gap * abs(value), 1e-7))
