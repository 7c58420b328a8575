"""Equity: is coverage fair across areas (街道) and worker groups, and who is worst off.

:func:`equity_table` gives one row per rule, worker group and area: the covered share, the
share reached by two or more stations, the worst-off worker's door-to-door cost to the nearest
qualifying station along the roads (minutes for time rules, metres for distance rules — the
p-center objective of the siting models, measured for today's stations; ``worst_reachable`` is
False when some worker on the network can reach none), and whether the cell is below the floor (``[equity] floor``). :func:`worst_off` names, per rule, the area and the
group with the lowest covered share.

Demand off the road network cannot reach any station: it counts as uncovered in the shares
(as everywhere in yizhan) and its cost is left out of the worst-off cost, which is about
workers who can travel to a station; a cell whose on-network workers can reach none has an
infinite worst-off cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from yizhan.geo.rules import CoverageRule

__all__ = ["EQUITY_COLUMNS", "equity_table", "worst_off"]

#: Columns of :func:`equity_table`.
EQUITY_COLUMNS = ("rule", "group", "admin_name", "demand_weight", "covered_pct",
                  "covered_twice_pct", "worst_cost", "cost_unit", "worst_reachable",
                  "below_floor")


def equity_table(
    table: pd.DataFrame, rules: Sequence[CoverageRule], *, floor: float | None = None
) -> pd.DataFrame:
    """Return coverage per rule × worker group × area, with the worst-off worker's cost.

    Parameters
    ----------
    table
        The per-point coverage table (``CoverageResult.table``).
    rules
        The rules of the table.
    floor
        Covered share (0-1) every cell should reach; ``below_floor`` marks those that do not
        (False everywhere without a floor).
    """
    weight = table["weight"].to_numpy(float)
    groups = table["group"].fillna("").astype(str).to_numpy()
    areas = (table["admin_name"].fillna("").astype(str).to_numpy()
             if "admin_name" in table.columns else np.full(len(table), "", dtype=object))
    rows = []
    for rule in rules:
        applies = table[f"{rule.name}_applies"].fillna(False).to_numpy(bool)
        covered = table[f"{rule.name}_covered"].fillna(False).to_numpy(bool)
        twice_col = f"{rule.name}_covered_twice"
        twice = (table[twice_col].fillna(False).to_numpy(bool) if twice_col in table.columns
                 else np.zeros(len(table), dtype=bool))
        off = table[f"{rule.name}_off_network"].fillna(False).to_numpy(bool)
        cost = pd.to_numeric(table[f"{rule.name}_cost"], errors="coerce").to_numpy(float)
        unit = "m" if rule.cutoff.metres is not None else "min"
        keys = pd.DataFrame({"group": groups[applies], "area": areas[applies]})
        for (group, area), idx in sorted(keys.groupby(["group", "area"]).indices.items()):
            here = np.flatnonzero(applies)[idx]
            total = float(weight[here].sum())
            if total <= 0:
                continue
            reach = here[~off[here]]
            worst = (float(np.inf) if np.isnan(cost[reach]).any() else float(cost[reach].max())
                     ) if len(reach) else float("nan")
            share = float(weight[here][covered[here]].sum()) / total
            rows.append({
                "rule": rule.name, "group": group, "admin_name": area, "demand_weight": total,
                "covered_pct": 100.0 * share,
                "covered_twice_pct": 100.0 * float(weight[here][twice[here]].sum()) / total,
                "worst_cost": worst, "cost_unit": unit,
                "worst_reachable": bool(np.isfinite(worst)) if len(reach) else True,
                "below_floor": bool(floor is not None and share < floor),
            })
    return pd.DataFrame(rows, columns=list(EQUITY_COLUMNS))


def worst_off(equity: pd.DataFrame) -> pd.DataFrame:
    """Return per rule the area and the worker group with the lowest covered share.

    Columns ``rule``, ``worst_area``, ``worst_area_pct``, ``worst_group``, ``worst_group_pct``,
    ``worst_cost``, ``cost_unit`` (the largest worst-off cost of the rule), ``worst_reachable``,
    ``areas_below_floor``.
    Shares of an area or group are over all of its demand (weights summed across the other key).
    """
    rows = []
    for rule, part in equity.groupby("rule", sort=False):
        w = part["demand_weight"].to_numpy(float)
        covered = part["covered_pct"].to_numpy(float) * w

        def lowest(key: str, part: pd.DataFrame = part, w: np.ndarray = w,
                   covered: np.ndarray = covered) -> tuple[str, float]:
            sums = pd.DataFrame({"k": part[key].to_numpy(), "w": w, "c": covered}).groupby(
                "k", sort=True)[["w", "c"]].sum()
            pct = sums["c"] / sums["w"]
            k = str(pct.idxmin())
            return k, float(pct.loc[k])

        area, area_pct = lowest("admin_name")
        group, group_pct = lowest("group")
        below = sorted(set(part.loc[part["below_floor"], "admin_name"].astype(str)))
        rows.append({"rule": rule, "worst_area": area, "worst_area_pct": area_pct,
                     "worst_group": group, "worst_group_pct": group_pct,
                     "worst_cost": float(part["worst_cost"].max()),
                     "cost_unit": str(part["cost_unit"].iloc[0]),
                     "worst_reachable": bool(part["worst_reachable"].all()),
                     "areas_below_floor": "、".join(below)})
    return pd.DataFrame(rows, columns=["rule", "worst_area", "worst_area_pct", "worst_group",
                                       "worst_group_pct", "worst_cost", "cost_unit",
                                       "worst_reachable", "areas_below_floor"])
