"""Constraints on the choice of candidates, shared by every siting model.

:class:`Rules` holds the site limit ``p``, costs and budget, per-area minimums, spacing conflicts and
capacities; :func:`build_rules` checks what a user gave and names what cannot be met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from yizhan import log
from yizhan.errors import ConfigError

INF = float("inf")
TOL = 1e-9


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


@dataclass(frozen=True)
class SiteConstraints:
    """What limits the choice of candidates besides the number of sites ``p``.

    Attributes
    ----------
    cost
        Cost per candidate (build or upgrade); default 1 each.
    budget
        Most total cost of the chosen candidates (MCLP, p-median).
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
        Demand weight each candidate can serve (NaN/inf = unlimited; MCLP only).
    """

    cost: Any = None
    budget: float | None = None
    counts_toward_p: Any = None
    area_of_candidate: Any = None
    min_per_area: int | Mapping[Any, int] | None = None
    conflicts: Any = None
    capacity: Any = None


def build_rules(
    n: int, *, p: int | None, constraints: SiteConstraints | None, model: str,
    p_exactly: bool = False,
) -> tuple[Rules, list[str]]:
    """Return solver rules and the area labels (code -> label), validating user values.

    Raises
    ------
    ConfigError
        For values out of range, ``p = 0`` when only new sites could be chosen (nothing to
        place), exactly ``p`` sites asked of fewer candidates, and a budget or capacities given
        to a ``model`` that cannot honour them (LSCP minimises the cost, so a budget does not
        apply; only the MCLP has the capacity form).
    """
    c = constraints or SiteConstraints()
    cost, budget, counts_toward_p, conflicts = c.cost, c.budget, c.counts_toward_p, c.conflicts
    area_of_candidate, min_per_area, capacity = c.area_of_candidate, c.min_per_area, c.capacity
    if budget is not None and model == "lscp":
        raise ConfigError("集合覆盖模型（lscp）求最小费用，不设预算。"
                          " The set-covering model minimises the cost: it takes no budget.")
    if capacity is not None and model not in ("mclp", "pmedian"):
        raise ConfigError(f"只有 mclp 和 pmedian 模型考虑候选点容量，{model} 不能。"
                          f" Only the mclp and pmedian models honour candidate capacities,"
                          f" not {model}.")
    if p is not None and (int(p) != p or p < 0):
        raise ConfigError(f"站点数 p 须为非负整数：{p!r}。The number of sites p must be a whole number >= 0.")
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise ConfigError(f"预算须为非负数：{budget!r}。The budget must be a number >= 0.")
    cost_arr = np.ones(n) if cost is None else np.asarray(cost, np.float64).ravel()
    if cost_arr.size != n or not np.isfinite(cost_arr).all() or (cost_arr < 0).any():
        raise ConfigError("候选点费用须为非负数。Candidate costs must be numbers >= 0, one per candidate.")
    counts = np.ones(n, bool) if counts_toward_p is None else np.asarray(counts_toward_p, bool).ravel()
    _check_p(p, counts, exactly=p_exactly)
    area, area_min, labels = _areas(n, area_of_candidate, min_per_area)
    if (area_min < 0).any():
        raise ConfigError("每区最少新站数须 >= 0。The minimum per admin area must be >= 0.")
    cap = None if capacity is None else np.asarray(capacity, np.float64).ravel()
    if cap is not None:
        cap = np.where(np.isnan(cap), np.inf, cap)
        if cap.size != n or (cap < 0).any():
            raise ConfigError("候选点容量须为非负数。Candidate capacities must be numbers >= 0.")
    rules = make_rules(
        n, p=p, counts=counts, cost=cost_arr, budget=budget, area=area,
        area_min=area_min, conflicts=conflicts, capacity=cap,
    )
    check_area_feasible(rules, labels)
    return rules, labels


def _check_p(p: int | None, counts: np.ndarray, *, exactly: bool) -> None:
    """Raise a clear error for a number of sites that cannot be placed."""
    if p is None:
        if exactly:
            raise ConfigError("“恰好 p 个”需要给出 p。Exactly p sites needs p.")
        return
    if p == 0 and counts.all():
        raise ConfigError("新站数 p 须至少为 1。The number of new sites p must be at least 1.")
    n_new = int(counts.sum())
    if not exactly and p > n_new:
        log.warn(f"至多 {int(p)} 个新站，但只有 {n_new} 个候选点：最多建议 {n_new} 个。"
                 f" At most {int(p)} new sites, but there are only {n_new} candidate sites: at"
                 f" most {n_new} can be suggested.")
    if exactly and p > n_new:
        raise ConfigError(
            f"要求恰好 {int(p)} 个新站，但只有 {n_new} 个候选点；请减少 p 或增加候选点。"
            f" Exactly {int(p)} new sites were asked for, but there are only {n_new} candidate"
            " sites; lower p or add candidates.")


def pad_to_p(chosen: np.ndarray, rules: Rules) -> np.ndarray:
    """Return ``chosen`` plus new sites (lowest index first) until exactly ``rules.p`` count.

    Used for "exactly p": adding a site never lowers the covered weight nor raises a travel
    cost, so an optimal "at most p" choice padded this way is optimal for "exactly p".

    Raises
    ------
    ConfigError
        When no further site can be added without breaking the budget or the spacing.
    """
    chosen = np.asarray(chosen, np.int64)
    missing = int(rules.p) - int(rules.counts[chosen].sum())
    for j in range(rules.n):
        if missing <= 0:
            break
        if not rules.counts[j] or j in chosen or rules.violations(np.append(chosen, j)):
            continue
        chosen = np.append(chosen, j)
        missing -= 1
    if missing > 0:
        raise infeasible(rules, f"only {int(rules.p) - missing} new sites fit together, not"
                                f" exactly p={int(rules.p)}")
    return chosen


def _areas(
    n: int, area_of_candidate: Any, min_per_area: int | Mapping[Any, int] | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return each candidate's area code (-1 = none), the minimum per code, and the labels."""
    area = np.full(n, -1, np.int64)
    if area_of_candidate is None:
        if min_per_area:
            raise ConfigError(
                "设置了每区最少新站数，但候选点没有所属区域；请提供行政区图层（--admin）。"
                " A minimum per admin area needs the candidates' areas; give the admin layer (--admin)."
            )
        return area, np.zeros(0, np.int64), []
    raw = pd.Series(list(area_of_candidate), dtype=object)
    if len(raw) != n:
        raise ValueError(f"area_of_candidate has {len(raw)} values for {n} candidates")
    present = raw.notna() & (raw.astype(str).str.strip() != "")
    labels = sorted({str(v) for v in raw[present]})
    code = {lab: k for k, lab in enumerate(labels)}
    area[present.to_numpy()] = [code[str(v)] for v in raw[present]]
    area_min = np.zeros(len(labels), np.int64)
    if isinstance(min_per_area, Mapping):
        for lab, k in min_per_area.items():
            if str(lab) not in code:
                raise ConfigError(
                    f"区域 {lab!r} 没有任何候选点，无法满足至少 {k} 个新站的要求；请为该区域补充候选点。"
                    f" Admin area {lab!r} has no candidate site, so it cannot get {k} new"
                    " site(s); add candidates there or lower the minimum."
                )
            area_min[code[str(lab)]] = int(k)
    elif min_per_area is not None:
        area_min[:] = int(min_per_area)
    return area, area_min, labels


def check_area_feasible(rules: Rules, labels: list[str]) -> None:
    """Raise a ConfigError naming the areas with fewer candidates than their minimum."""
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


def infeasible(rules: Rules, what: str) -> ConfigError:
    """Return the error for constraints that cannot all be met (``what`` says which)."""
    return ConfigError(
        f"约束无法同时满足（{what}）：请放宽每区最少新站数、最小间距或预算。"
        f" The constraints cannot all be met ({what}); relax the minimum per area, the minimum"
        " spacing or the budget."
    )

