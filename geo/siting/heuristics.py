"""Pieces shared by the greedy, swap and Lagrangian steps of every model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from yizhan.geo.siting.constraints import TOL, Rules


class Choice:
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


def relaxed_x(c: np.ndarray, rules: Rules) -> np.ndarray:
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

