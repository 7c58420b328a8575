"""Coverage during shifts: only the stations open when the workers need them count.

A union's question is not only "is there a station within reach" but "is it open when the
workers are out": sanitation shifts start before dawn, riders peak at lunch and dinner, drivers
work nights. A :class:`ShiftWindow` is one such time (a :class:`~yizhan.stations.hours.Shift`)
and the demand it concerns:

- ``[shifts]`` of the run config, per worker group: ``sanitation = "04:30-07:30"``,
  ``rider = ["11:00-13:30", "17:00-19:30"]``, ``driver = "22:00-05:00"`` — that group's demand;
- ``[windows]`` (demand read with a time column): each window's demand, every group.

:func:`coverage_by_shift` computes, per window and rule, the covered share with every station
(whatever its hours) and with only the stations open for the whole shift on each of its days
(:func:`yizhan.stations.hours.open_during`), by running the same coverage
(:func:`yizhan.geo.coverage.compute_coverage`) on the open stations. Stations whose hours are
not recorded or unreadable are not counted as open; the table says how many there were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from yizhan.geo.coverage import compute_coverage, qualifying_stations
from yizhan.geo.demand import TimeWindows
from yizhan.geo.network import RoadNetwork
from yizhan.geo.rules import CoverageRule, normalize_group
from yizhan.stations.hours import HoursError, Shift, open_during, parse_hours, parse_shift

from yizhan.errors import ConfigError

__all__ = ["SHIFT_COLUMNS", "ShiftWindow", "coverage_by_shift", "parse_shifts", "plan_for_shift",
           "station_weeks"]

#: Columns of :func:`coverage_by_shift`.
SHIFT_COLUMNS = ("window", "shift", "group", "rule", "demand_weight", "covered_pct",
                 "covered_pct_open", "covered_twice_pct_open", "stations_open",
                 "stations_hours_unknown")


@dataclass(frozen=True)
class ShiftWindow:
    """A time workers need a station (``shift``) and whose demand it concerns.

    ``group``: the demand of one worker group ([shifts]); ``window``: the demand read in one
    time window ([windows]); neither: all demand.
    """

    name: str
    shift: Shift
    group: str | None = None
    window: str | None = None

    def rows(self, demand: pd.DataFrame) -> np.ndarray:
        """Return the mask of the demand rows this window concerns."""
        mask = np.ones(len(demand), dtype=bool)
        if self.group is not None:
            mask &= demand["group"].astype(str).to_numpy() == self.group
        if self.window is not None:
            mask &= demand["window"].astype(str).to_numpy() == self.window
        return mask


def parse_shifts(
    table: Mapping[str, object] | None, windows: TimeWindows | None = None, *, where: str = ""
) -> tuple[ShiftWindow, ...]:
    """Return the shift windows of ``[shifts]`` (group = period or list) and ``[windows]``.

    Raises
    ------
    ConfigError
        Naming the group and the value that is not a period such as ``"04:30-07:30"``.
    """
    out: list[ShiftWindow] = []
    for key, value in (table or {}).items():
        group = normalize_group(str(key))
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                raise ConfigError(f"{where}[shifts] {key}：须为 \"04:30-07:30\" 这样的时段或其列表。"
                                  f" [shifts] {key} must be a period like \"04:30-07:30\" or a list.")
            try:
                shift = parse_shift(f"{group} {item}", item)
            except HoursError as exc:
                raise ConfigError(
                    f"{where}[shifts] {key} = {item!r}：{exc}；请写成 \"04:30-07:30\" 或"
                    f" \"周一至周五 9:00-17:00\"。 Write a period like \"04:30-07:30\"."
                ) from exc
            out.append(ShiftWindow(f"{group} {shift.label()}", shift, group=group))
    for window in (windows.windows if windows else ()):
        start, end = window.start_s // 60, window.end_s // 60
        shift = Shift(window.name, start, end if end > start else end + 24 * 60)
        out.append(ShiftWindow(window.name, shift, window=window.name))
    return tuple(out)


def station_weeks(stations: pd.DataFrame) -> list[np.ndarray | None]:
    """Return each station's open minutes of the week (``None``: not recorded or unreadable)."""
    if "hours" not in stations.columns:
        return [None] * len(stations)
    weeks: list[np.ndarray | None] = []
    for value in stations["hours"].tolist():
        try:
            weeks.append(parse_hours(value))
        except HoursError:
            weeks.append(None)  # reported as a problem row when the inventory was read
    return weeks


def coverage_by_shift(
    net_by_mode: Mapping[str, RoadNetwork],
    stations: gpd.GeoDataFrame,
    coverage: pd.DataFrame,
    demand: gpd.GeoDataFrame,
    *,
    rules: Sequence[CoverageRule],
    shifts: Sequence[ShiftWindow],
    max_access_m: float = 500.0,
) -> pd.DataFrame:
    """Return coverage per shift window and rule: every station, and only those open then.

    Parameters
    ----------
    net_by_mode, stations, demand, rules, max_access_m
        As for :func:`yizhan.geo.coverage.compute_coverage`.
    coverage
        The per-point coverage table of all stations (``CoverageResult.table``), row-aligned
        with ``demand``.
    shifts
        From :func:`parse_shifts`.

    Returns
    -------
    pandas.DataFrame
        :data:`SHIFT_COLUMNS`: a row per window and rule that applies to some of its demand.
    """
    weeks = station_weeks(stations)
    unknown = np.array([w is None for w in weeks], dtype=bool)
    weight = coverage["weight"].to_numpy(float)
    rows = []
    for sw in shifts:
        mask = sw.rows(demand)
        if not mask.any():
            continue
        is_open = open_during(weeks, sw.shift)
        sub = demand.loc[mask].reset_index(drop=True)
        open_cov = (compute_coverage(net_by_mode, stations.loc[is_open], sub, rules,
                                     max_access_m=max_access_m).table
                    if is_open.any() else None)
        for rule in rules:
            applies = coverage[f"{rule.name}_applies"].fillna(False).to_numpy(bool) & mask
            total = float(weight[applies].sum())
            if total <= 0:
                continue
            covered = coverage[f"{rule.name}_covered"].fillna(False).to_numpy(bool)
            qualifies = qualifying_stations(stations, rule)
            if open_cov is not None:
                sub_applies = open_cov[f"{rule.name}_applies"].fillna(False).to_numpy(bool)
                sub_w = open_cov["weight"].to_numpy(float)
                sub_cov = open_cov[f"{rule.name}_covered"].fillna(False).to_numpy(bool)
                twice = open_cov[f"{rule.name}_covered_twice"].fillna(False).to_numpy(bool)
                open_pct = 100.0 * float(sub_w[sub_applies & sub_cov].sum()) / total
                twice_pct = 100.0 * float(sub_w[sub_applies & twice].sum()) / total
            else:
                open_pct = twice_pct = 0.0
            rows.append({
                "window": sw.name, "shift": sw.shift.label(), "group": sw.group or "",
                "rule": rule.name, "demand_weight": total,
                "covered_pct": 100.0 * float(weight[applies & covered].sum()) / total,
                "covered_pct_open": open_pct, "covered_twice_pct_open": twice_pct,
                "stations_open": int((qualifies & is_open).sum()),
                "stations_hours_unknown": int((qualifies & unknown).sum()),
            })
    return pd.DataFrame(rows, columns=list(SHIFT_COLUMNS))


def plan_for_shift(
    shift: ShiftWindow, stations: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None, str]:
    """Return the inputs of a run planned for one shift, and the sentence that says so.

    Stations closed during the shift (or whose hours are not recorded) stay in the tables but
    are out of service (:data:`yizhan.geo.coverage.IN_SERVICE`): they count for no rule, so
    the gaps and the suggested sites are those of the shift; the demand is the shift's; and a
    candidate must be able to keep the shift's hours (:func:`yizhan.geo.hosts.require_hours`).
    """
    from yizhan.geo.coverage import IN_SERVICE
    from yizhan.geo.hosts import require_hours

    weeks = station_weeks(stations)
    open_now = open_during(weeks, shift.shift)
    unknown = int(sum(w is None for w in weeks))
    stations = stations.assign(**{IN_SERVICE: open_now})
    demand = demand.loc[shift.rows(demand)].reset_index(drop=True)
    if candidates is not None:
        candidates = require_hours(candidates, shift.shift.label())
    note = (f"本次按时段“{shift.name}”规划：只计此时段全程开放的驿站 {int(open_now.sum())} 处"
            f"（{len(stations) - int(open_now.sum())} 处此时不开放，其中开放时间未记录 {unknown} 处），"
            f"需求为该时段的 {len(demand)} 个点，新站须在此时段开放。"
            f" This run plans for the shift {shift.name}: only the {int(open_now.sum())} stations"
            f" open for all of it count ({len(stations) - int(open_now.sum())} are closed then,"
            f" {unknown} of them with hours not recorded); the demand is the shift's"
            f" {len(demand)} points; new sites must be open then.")
    return stations, demand, candidates, note
