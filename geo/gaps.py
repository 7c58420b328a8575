"""Coverage gaps: uncovered demand of each rule, grouped into gap areas.

:func:`find_gaps` takes the per-point coverage table of :func:`yizhan.geo.coverage.compute_coverage`
and, for every rule, clusters the demand points that the rule applies to but that no
qualifying station covers, with the hotspot clustering of :func:`yizhan.geo.hotspots.find_hotspots`
(weighted DBSCAN by default: ``eps_m`` = 300 m, a gap's core must hold ``min_share`` = 2 % of the
rule's uncovered weight within eps). Each gap area has the hotspot's polygon (concave hull of
its points), the uncovered weight and number of points in it, the worker groups left out, and
the admin area holding most of its uncovered weight.

Uncovered points that belong to no gap (scattered, below the weight threshold) stay out of the
gap table; :func:`gap_summary` reports their weight per rule, so nothing is silently lost.
Points off the road network (farther than ``max_access_m`` from every road) are left out by
default: no station on this network can reach them, they usually lie outside the study area,
and :func:`yizhan.geo.coverage.compute_coverage` already counts them. With
``include_off_network=True`` they are clustered too (``n_off_network`` tells how many).

Output columns
--------------
``gap_id`` (``<rule>-G001`` ..., heaviest gap first within each rule), ``rule``, ``groups``
(comma-joined worker groups left out), ``dominant_group``, ``n_demand``, ``uncovered_weight``,
``share_of_uncovered`` (of the rule's uncovered weight), ``n_off_network``, ``admin_area``,
``area_km2`` and the polygon geometry (EPSG:4326). Rows are sorted by rule order, then weight.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from yizhan.geo.areas import OUTSIDE_AREA, admin_of_points
from yizhan.geo.hotspots import find_hotspots
from yizhan.geo.rules import CoverageRule
from yizhan.stations.coords import local_utm_of

from yizhan.errors import ConfigError, InputFileError
from yizhan.io import write_with

if TYPE_CHECKING:
    from yizhan.geo.coverage import CoverageResult

#: Columns of the gap table, in order (geometry last).
GAP_COLUMNS: tuple[str, ...] = (
    "gap_id", "rule", "groups", "dominant_group", "n_demand", "uncovered_weight",
    "share_of_uncovered", "n_off_network", "admin_area", "area_km2",
)

#: Default neighbourhood radius of the gap clustering (metres): one urban block.
DEFAULT_EPS_M = 300.0

#: Default share of a rule's uncovered weight a gap core must hold within ``eps_m``.
DEFAULT_MIN_SHARE = 0.02

#: ``admin_area`` of a gap lying in no admin polygon.
NO_AREA = OUTSIDE_AREA  # the one label (yizhan.geo.areas)


def find_gaps(
    coverage: CoverageResult | gpd.GeoDataFrame,
    *,
    rules: Sequence[CoverageRule] | None = None,
    admin: gpd.GeoDataFrame | None = None,
    eps_m: float = DEFAULT_EPS_M,
    min_share: float = DEFAULT_MIN_SHARE,
    min_weight: float | None = None,
    method: str = "dbscan",
    include_off_network: bool = False,
) -> gpd.GeoDataFrame:
    """Return gap areas: per rule, uncovered demand clustered into polygons.

    Parameters
    ----------
    coverage
        A :class:`yizhan.geo.coverage.CoverageResult`, or its ``table`` (then give ``rules``).
    rules
        Rules to report (default: all rules of ``coverage``).
    admin
        Admin polygons with ``admin_name``; used when the table has no ``admin_name`` column.
    eps_m
        Clustering radius in metres (see :func:`yizhan.geo.hotspots.find_hotspots`).
    min_share
        Share of the rule's uncovered weight a gap core must hold (ignored if ``min_weight``).
    min_weight
        Absolute weight a gap core must hold.
    method
        Clustering method of :func:`yizhan.geo.hotspots.find_hotspots` (``dbscan``, ``hdbscan``).
    include_off_network
        Also cluster uncovered points that are off the road network.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`GAP_COLUMNS` and polygon geometry, EPSG:4326.

    Raises
    ------
    ConfigError
        If no rules are known or the options are invalid.
    InputFileError
        If the table lacks the per-rule coverage columns.
    """
    table, rules = _table_and_rules(coverage, rules)
    if eps_m <= 0 or not 0 < min_share <= 1 or (min_weight is not None and min_weight <= 0):
        raise ConfigError(
            "缺口聚类参数须为正数（min_share 在 0 与 1 之间）。"
            " Gap clustering needs eps_m > 0, 0 < min_share <= 1 and min_weight > 0."
        )
    areas = _admin_names(table, admin)
    parts = []
    for rule in rules:
        mask = uncovered_mask(table, rule, include_off_network=include_off_network)
        if not mask.any():
            continue
        sub = table.loc[mask, ["weight", "geometry"]].copy()
        sub["group"] = _groups(table)[mask]
        sub = gpd.GeoDataFrame(sub, geometry="geometry", crs="EPSG:4326")
        total = float(sub["weight"].sum())
        threshold = min_weight if min_weight is not None else min_share * total
        found = find_hotspots(sub, method=method, eps_m=eps_m, min_weight=threshold)  # type: ignore[arg-type]
        labels = found.labels
        hot = found.hotspots.reset_index(drop=True)
        if hot.empty:
            continue
        members = labels >= 0
        lab = labels[members]
        weight = sub["weight"].to_numpy(float)[members]
        groups = sub["group"].to_numpy(object)[members]
        off = _col(table, f"{rule.name}_off_network", False)[mask][members]
        area_of = areas[mask][members]
        frame = gpd.GeoDataFrame(
            {
                "rule": rule.name,
                "groups": [_join(groups[lab == k]) for k in range(len(hot))],
                "dominant_group": hot["dominant_group"].fillna("").astype(str).to_numpy(),
                "n_demand": np.bincount(lab, minlength=len(hot)),
                "uncovered_weight": np.bincount(lab, weights=weight, minlength=len(hot)),
                "n_off_network": np.bincount(lab, weights=off.astype(float), minlength=len(hot)).astype(int),
                "admin_area": [_heaviest(area_of[lab == k], weight[lab == k]) for k in range(len(hot))],
            },
            geometry=hot.geometry.to_numpy(),
            crs="EPSG:4326",
        )
        frame["share_of_uncovered"] = frame["uncovered_weight"] / total
        utm = local_utm_of(frame)
        frame["area_km2"] = np.round(frame.to_crs(utm).area.to_numpy() / 1e6, 6)
        # heaviest first; ties by position so ids are stable
        cent = frame.to_crs(utm).geometry.centroid
        frame = frame.assign(_x=np.round(cent.x, 1), _y=np.round(cent.y, 1))
        frame = frame.sort_values(["uncovered_weight", "_x", "_y"], ascending=[False, True, True])
        frame["gap_id"] = [f"{rule.name}-G{k + 1:03d}" for k in range(len(frame))]
        parts.append(frame.drop(columns=["_x", "_y"]))
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in GAP_COLUMNS}, geometry=gpd.GeoSeries(crs="EPSG:4326")
        )
    gaps = pd.concat(parts, ignore_index=True)
    gaps["uncovered_weight"] = gaps["uncovered_weight"].round(6)
    gaps["share_of_uncovered"] = gaps["share_of_uncovered"].round(6)
    return gpd.GeoDataFrame(gaps[[*GAP_COLUMNS, "geometry"]], geometry="geometry", crs="EPSG:4326")


def gap_summary(
    coverage: CoverageResult | gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    *,
    rules: Sequence[CoverageRule] | None = None,
) -> pd.DataFrame:
    """Return per rule: uncovered weight, in gap areas, scattered, and off the road network.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``n_gaps``, ``uncovered_weight`` (all uncovered), ``in_gaps_weight``,
        ``off_network_weight`` and ``scattered_weight`` (uncovered, on the network, in no gap;
        when the gaps were built with off-network points, those count in the gaps instead).
    """
    table, rules = _table_and_rules(coverage, rules)
    rows = []
    for rule in rules:
        unc = float(table.loc[uncovered_mask(table, rule, include_off_network=True), "weight"].astype(float).sum())
        off_mask = _col(table, f"{rule.name}_off_network", False) & _col(table, f"{rule.name}_applies", True)
        off = float(table.loc[off_mask, "weight"].astype(float).sum())
        mine = gaps[gaps["rule"] == rule.name]
        inside = float(mine["uncovered_weight"].astype(float).sum()) if len(mine) else 0.0
        off_in_gaps = bool(len(mine)) and int(mine["n_off_network"].sum()) > 0
        rest = unc - inside - (0.0 if off_in_gaps else off)
        rows.append({"rule": rule.name, "n_gaps": len(mine), "uncovered_weight": unc,
                     "in_gaps_weight": inside, "off_network_weight": off,
                     "scattered_weight": max(0.0, rest)})
    return pd.DataFrame(rows, columns=["rule", "n_gaps", "uncovered_weight", "in_gaps_weight",
                                       "off_network_weight", "scattered_weight"])


def uncovered_mask(table: pd.DataFrame, rule: CoverageRule, *, include_off_network: bool = False) -> np.ndarray:
    """Return the demand rows ``rule`` applies to that no qualifying station covers.

    Off-network rows count only with ``include_off_network``.
    """
    applies = _col(table, f"{rule.name}_applies", True)
    covered = _col(table, f"{rule.name}_covered", None)
    mask = applies & ~covered
    if not include_off_network:
        mask &= ~_col(table, f"{rule.name}_off_network", False)
    return mask


def write_gaps(gaps: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the gap table as GeoJSON atomically (layer named after the file); return the path."""
    target = Path(path)
    frame = gaps.copy()
    for col in ("uncovered_weight", "share_of_uncovered", "area_km2"):
        if col in frame.columns:
            frame[col] = frame[col].astype(float)
    return write_with(
        target,
        lambda tmp: frame.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=target.stem),
    )


# ---------------------------------------------------------------------------------------------


def _table_and_rules(
    coverage: Any, rules: Sequence[CoverageRule] | None
) -> tuple[gpd.GeoDataFrame, tuple[CoverageRule, ...]]:
    table = coverage.table if hasattr(coverage, "table") else coverage
    if rules is None:
        rules = getattr(coverage, "rules", None)
    if not rules:
        raise ConfigError("没有覆盖规则，无法找缺口。No coverage rules given; give the rules of the table.")
    if "weight" not in table.columns:
        raise InputFileError("覆盖表缺少 weight 列。The coverage table has no 'weight' column.",
                             field="weight")
    if table.crs is not None and not table.crs.equals("EPSG:4326"):
        table = table.to_crs("EPSG:4326")
    return table, tuple(rules)


def _col(table: pd.DataFrame, name: str, default: bool | None) -> np.ndarray:
    if name not in table.columns:
        if default is None:
            raise InputFileError(
                f"覆盖表缺少 {name} 列，请先用 compute_coverage 计算该规则。"
                f" The coverage table has no {name!r} column; compute coverage for this rule first.",
                field=name,
            )
        return np.full(len(table), default, dtype=bool)
    return table[name].fillna(False).to_numpy(dtype=bool)


def _groups(table: pd.DataFrame) -> np.ndarray:
    if "group" not in table.columns:
        return np.full(len(table), "", dtype=object)
    return table["group"].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _join(values: np.ndarray) -> str:
    return ",".join(sorted({str(v) for v in values if str(v)}))


def _heaviest(names: np.ndarray, weights: np.ndarray) -> str:
    if not len(names):
        return ""
    frame = pd.DataFrame({"n": names.astype(str), "w": weights}).groupby("n", sort=True)["w"].sum()
    return str(frame.sort_values(ascending=False, kind="stable").index[0])


def _admin_names(table: gpd.GeoDataFrame, admin: gpd.GeoDataFrame | None) -> np.ndarray:
    """Return the admin area of each demand row (table column, else point in polygon)."""
    if "admin_name" in table.columns and admin is None:
        return table["admin_name"].astype("string").fillna("").to_numpy(dtype=object)
    return admin_of_points(table.geometry, admin)
