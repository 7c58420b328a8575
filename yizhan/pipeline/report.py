"""The report folder of a yearly run: tables, summary, workbook, one-page HTML, map, comparison.

:func:`write_report` writes, into one folder created atomically (temporary folder, then
rename):

- ``summary.json`` — district, year, input files with SHA-256, per rule the demand weight,
  covered weight and covered percentage before and after the suggested sites (and the
  year-over-year comparison when a previous run is given); no timestamps, so it is
  byte-identical for the same inputs;
- ``stations.geojson``, ``problems.csv``, ``coverage.csv`` and ``coverage.parquet`` (the same
  per-point table as GeoParquet, for tables beyond Excel's 1,048,576 rows), ``loads.csv`` (each station's
  demand served and load per seat, :func:`yizhan.geo.coverage.station_loads`), ``gaps.geojson``,
  ``suggestions.csv`` / ``suggestions.geojson``;
- ``report.xlsx`` (sheets :data:`SHEET`, formatted for print), ``report.html`` (bilingual
  one-page summary with ``overview.png``) and ``report.docx`` (a few pages in Chinese to edit
  and submit, :mod:`yizhan.pipeline.docx_report`);
- ``map.html`` (:func:`maps.build_map`, assets inline, works offline);
- with ``previous``: ``comparison_stations.csv`` (:func:`stations.diff_inventories`),
  ``comparison_coverage.csv`` and ``comparison_gaps.csv``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yizhan import log
from yizhan.geo.coverage import station_loads, write_coverage_csv, write_coverage_parquet
from yizhan.geo.equity import worst_off
from yizhan.geo.siting import (
    AREA_SUMMARY_COLUMNS,
    suggestions_csv_frame,
    write_suggestion_tables,
)
from yizhan.io import (
    excel_safe,
    sha256_file,
    write_csv_atomic,
    write_geojson_atomic,
    write_text_atomic,
    write_with,
)
from yizhan.outdir import report_folder
from yizhan.pipeline.docx_report import write_docx
from yizhan.pipeline.headers import for_people, number_format, show_number, show_text
from yizhan.pipeline.overview import write_overview_png
from yizhan.stations import diff_inventories
from yizhan.stations.compliance import TIERS
from yizhan.stations.output import write_problems

if TYPE_CHECKING:
    from yizhan.pipeline.results import AnalysisResult

#: Notice printed on map and report when the inputs are sample data.
SAMPLE_NOTICE = "示例数据，仅供演示 Sample data for demonstration only"

#: Sheets of ``report.xlsx`` by key, in order; the two year-over-year sheets only with a
#: previous run (``--previous``).
SHEET: dict[str, str] = {
    "summary": "概况 Summary", "coverage": "覆盖 Coverage", "areas": "分区 By area",
    "groups": "群体 By worker group", "shifts": "时段 By shift", "equity": "公平 Equity",
    "stations": "驿站 Stations", "gaps": "缺口 Gaps",
    "suggestions": "建议 Suggestions", "change": "年度变化 Year over year",
    "station_changes": "驿站变化 Station changes", "problems": "问题 Problems",
    "loads": "负荷 Station loads",
}
#: Sheets only written with a previous run.
YEAR_SHEETS = ("change", "station_changes")
#: Sheets only written when the config has ``[shifts]`` or ``[windows]``.
SHIFT_SHEETS = ("shifts",)
#: Sheets of every ``report.xlsx`` in order.
SHEETS: tuple[str, ...] = tuple(v for k, v in SHEET.items()
                                if k not in YEAR_SHEETS and k not in SHIFT_SHEETS)

#: Words of the columns several report tables share (each table adds its own).
TABLE_WORDS = {"rule": "规则 rule", "group": "群体 group", "admin_name": "区域 area",
               "demand_weight": "需求权重 demand weight", "covered_pct": "覆盖率% covered %"}

#: Headers of the per-area table (report.html and the workbook), Chinese first.
AREA_HEADERS = {
    **{k: TABLE_WORDS[k] for k in ("rule", "admin_name")}, "n_stations": "驿站 stations",
    **{k: TABLE_WORDS[k] for k in ("demand_weight", "covered_pct")},
    "covered_pct_on_network": "路网内覆盖率% covered % of demand on the network",
    "off_network_pct": "离路网% off the network %",
    "covered_twice_pct": "双重覆盖% covered by 2+ stations %",
    "covered_pct_after": "建议后% after suggestions %",
}
#: Header of the share of demand with a second (backup) station within the cutoff.
TWICE_HEADER = AREA_HEADERS["covered_twice_pct"]

_STATION_COLUMNS = ("station_id", "name", "address", "town", "type", "hours", "in_service",
                    "capacity", "standard",
                    "compliance_score", "compliance_tier", "required_missing",
                    "required_not_recorded")


def write_report(
    result: AnalysisResult, out: str | Path, *, previous: str | Path | None = None,
    checksums: Mapping[Path, str] | None = None,
) -> Path:
    """Write the report folder of ``result`` atomically and return its path.

    Parameters
    ----------
    result
        What :func:`yizhan.pipeline.analysis.run_analysis` returned.
    out
        Report folder: created, or replaced whole once the new one is done (only if every file
        in it is one yizhan wrote, see :mod:`yizhan.outdir`).
    previous
        Last year's report folder (holding ``summary.json``, ``stations.geojson`` and
        ``gaps.geojson``) for the year-over-year comparison.
    checksums
        SHA-256 of input files already hashed by the caller (``yizhan run-many`` hashes a
        province-wide file once, not once per district); others are hashed here.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    comparison = compare_runs(result, Path(previous)) if previous is not None else None
    steps = ("tables", "summary", "workbook", "map", "overview", "docx", "html")
    with report_folder(out) as tmp:
        bar = iter(log.progress(steps, desc="写报告 writing report", unit="file"))
        next(bar)
        write_geojson_atomic(result.stations, tmp / "stations.geojson")
        write_problems(result.problems, tmp)
        write_coverage_csv(result.coverage, result.config.rules, tmp / "coverage.csv")
        write_coverage_parquet(result.coverage, result.config.rules, tmp / "coverage.parquet")
        write_csv_atomic(station_loads(result.coverage, result.stations, result.config.rules),
                         tmp / "loads.csv")
        write_geojson_atomic(result.gaps, tmp / "gaps.geojson")
        write_suggestion_tables(result.suggestions, tmp)
        if comparison is not None:
            write_csv_atomic(comparison["stations"], tmp / "comparison_stations.csv")
            write_csv_atomic(comparison["coverage"], tmp / "comparison_coverage.csv")
            write_csv_atomic(comparison["gaps"], tmp / "comparison_gaps.csv")
        next(bar)
        summary = summary_dict(result, comparison=comparison, checksums=checksums)
        write_text_atomic(tmp / "summary.json",
                          json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
        next(bar)
        sheets = workbook_sheets(result, comparison)
        write_sheets(sheets, tmp / "report.xlsx")
        next(bar)
        _write_map(result, tmp / "map.html")
        next(bar)
        write_overview_png(result, tmp / "overview.png")
        next(bar)
        write_docx(result, tmp / "report.docx", summary=summary, sheets=sheets,
                   overview=tmp / "overview.png", comparison=comparison)
        next(bar)
        write_text_atomic(tmp / "report.html",
                          report_html(result, summary, comparison, sheets=sheets))
        for _ in bar:
            pass
    return out


# --------------------------------------------------------------------------------------------
# Tables


def summary_dict(
    result: AnalysisResult, *, comparison: dict[str, Any] | None = None,
    checksums: Mapping[Path, str] | None = None,
) -> dict[str, Any]:
    """Return ``summary.json`` as plain data (no timestamps: identical inputs, identical file).

    Keys: ``district``, ``year``, ``sample``, ``inputs`` (role, file name, SHA-256),
    ``counts`` (stations by compliance tier, demand points, gaps, suggestions), ``rules`` (per
    rule: ``demand_weight``, ``covered_weight``, ``covered_pct``, ``covered_weight_after``,
    ``covered_pct_after``) and, with a previous run, ``comparison``.
    """
    cfg = result.config
    known = dict(checksums or {})

    def digest(path: Path) -> str:
        return known.get(path) or sha256_file(path)

    inputs = [
        {"role": role, "file": path.name, "sha256": digest(path)}
        for role, path in cfg.input_files().items()
    ]
    inputs.append({"role": "config", "file": cfg.source.name, "sha256": digest(cfg.source)})
    tiers = result.stations["compliance_tier"].astype(str).value_counts()
    rules = _records(result.coverage_summary)
    summary: dict[str, Any] = {
        "district": cfg.district,
        "year": cfg.year,
        "sample": cfg.sample,
        "inputs": inputs,
        "counts": {
            "stations": len(result.stations),
            "stations_by_tier": {t: int(tiers.get(t, 0)) for t in TIERS},
            "problems": len(result.problems),
            "demand_points": len(result.demand),
            "demand_weight": round(float(result.demand["weight"].sum()), 6),
            "gaps": len(result.gaps),
            "suggestions": len(result.suggestions),
        },
        "rules": rules,
        "areas": _records(_by_area(result)),
        "groups": _records(result.coverage_by_group),
        "shifts": _records(result.coverage_by_shift),
        "equity": _records(result.equity),
        "worst_off": _records(worst_off(result.equity)) if result.equity is not None else [],
        "warnings": list(result.warnings),
    }
    if comparison is not None:
        summary["comparison"] = comparison["summary"]
    return summary


def _records(frame: pd.DataFrame | None) -> list[dict[str, object]]:
    """Return a table's rows as plain JSON data (an empty list for None)."""
    if frame is None:
        return []
    return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _by_area(result: AnalysisResult) -> pd.DataFrame:
    """Return the per-area coverage table (empty, with its columns, without admin areas)."""
    frame = result.coverage_by_area
    return frame if frame is not None else pd.DataFrame(columns=list(AREA_SUMMARY_COLUMNS))


def area_table(result: AnalysisResult) -> pd.DataFrame:
    """Return the per-area table as shown in the report: bilingual headers, one decimal."""
    frame = _by_area(result)[list(AREA_HEADERS)].copy()
    for col in ("demand_weight", "covered_pct", "covered_pct_on_network", "off_network_pct",
                "covered_twice_pct", "covered_pct_after"):
        frame[col] = [fmt_value(v) for v in frame[col]]
    return frame.rename(columns=AREA_HEADERS)


def group_table(result: AnalysisResult) -> pd.DataFrame:
    """Return coverage per rule and worker group as shown in the report (bilingual)."""
    frame = result.coverage_by_group
    if frame is None or not len(frame):
        return pd.DataFrame(columns=[AREA_HEADERS["rule"], "群体 Worker group"])
    from yizhan.maps._labels import group_label

    shown = frame.assign(group=[group_label(g) if g else "未分组 no group" for g in frame["group"]])
    cols = ["rule", "group", "demand_weight", "covered_pct", "covered_pct_on_network",
            "off_network_pct", "covered_twice_pct", "covered_pct_after"]
    return shown[cols].rename(columns={**AREA_HEADERS, "group": "群体 Worker group"})


def json_value(value: object) -> object:
    """Return ``value`` as plain JSON data: numpy scalars as Python; NaN, infinity, NA as None.

    (An infinite cost means "cannot reach"; tables that have one say so in a column of their
    own, e.g. ``worst_reachable`` of the equity table.)
    """
    if value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------------
# Year-over-year comparison


def compare_runs(result: AnalysisResult, previous: Path) -> dict[str, Any]:
    """Return the comparison of this run with last year's report folder.

    Returns
    -------
    dict
        ``stations`` (:func:`stations.diff_inventories` rows), ``coverage`` (per rule: covered
        percentage last year and now, change in points), ``gaps`` (one row per gap closed or
        new: a gap is *closed* when no gap of the same rule overlaps it this year, *new* when
        none overlapped it last year) and ``summary`` (counts for ``summary.json``).
    """
    prev_summary = json.loads((previous / "summary.json").read_text(encoding="utf-8"))
    old_stations = gpd.read_file(previous / "stations.geojson", engine="pyogrio")
    changes = diff_inventories(old_stations, result.stations)
    prev_rules = {r["rule"]: r for r in prev_summary.get("rules", [])}
    rows = []
    for row in result.coverage_summary.to_dict("records"):
        before = prev_rules.get(row["rule"], {}).get("covered_pct")
        now = json_value(row["covered_pct"])
        rows.append({
            "rule": row["rule"], "previous_year": prev_summary.get("year"),
            "previous_covered_pct": before, "covered_pct": now,
            "change_pct_points": round(now - before, 4)
            if isinstance(now, float) and isinstance(before, int | float) else None,
        })
    coverage = pd.DataFrame(rows, columns=["rule", "previous_year", "previous_covered_pct",
                                           "covered_pct", "change_pct_points"])
    old_gaps = gpd.read_file(previous / "gaps.geojson", engine="pyogrio") \
        if (previous / "gaps.geojson").is_file() else result.gaps.iloc[:0]
    gaps = _gap_changes(old_gaps, result.gaps)
    change_counts = changes["change"].value_counts() if "change" in changes.columns else {}
    summary = {
        "previous_year": prev_summary.get("year"),
        "stations": {str(k): int(v) for k, v in sorted(dict(change_counts).items())},
        "coverage": [{k: json_value(v) for k, v in r.items()} for r in rows],
        "gaps_closed": int((gaps["status"] == "closed").sum()),
        "gaps_new": int((gaps["status"] == "new").sum()),
    }
    return {"stations": changes, "coverage": coverage, "gaps": gaps, "summary": summary}


def _gap_changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> pd.DataFrame:
    cols = ["status", "rule", "gap_id", "uncovered_weight", "admin_area", "lon", "lat"]
    rows = []
    old = old.to_crs("EPSG:4326") if len(old) else old
    new = new.to_crs("EPSG:4326") if len(new) else new
    for status, mine, other in (("closed", old, new), ("new", new, old)):
        if mine.empty:
            continue
        for rule in sorted(set(mine["rule"].astype(str))):
            a = mine[mine["rule"].astype(str) == rule]
            b = other[other["rule"].astype(str) == rule] if len(other) else other
            hit = np.zeros(len(a), dtype=bool)
            if len(b):
                idx, _ = shapely.STRtree(b.geometry.to_numpy()).query(
                    a.geometry.to_numpy(), predicate="intersects")
                hit[idx] = True
            pts = a.geometry.representative_point()
            for k in np.flatnonzero(~hit):
                rows.append({"status": status, "rule": rule, "gap_id": str(a["gap_id"].iloc[k]),
                             "uncovered_weight": float(a["uncovered_weight"].iloc[k]),
                             "admin_area": str(a["admin_area"].iloc[k]),
                             "lon": round(float(pts.iloc[k].x), 7),
                             "lat": round(float(pts.iloc[k].y), 7)})
    frame = pd.DataFrame(rows, columns=cols)
    return frame.sort_values(["status", "rule", "gap_id"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Workbook


def _summary_sheet(result: AnalysisResult) -> pd.DataFrame:
    cfg = result.config
    rows: list[tuple[str, object]] = [
        ("区 District", cfg.district), ("年度 Year", cfg.year),
        ("驿站数 Stations", len(result.stations)),
        ("需求点 Demand points", len(result.demand)),
        ("缺口 Gap areas", len(result.gaps)),
        ("建议新站 Suggested sites", len(result.suggestions)),
    ]
    if cfg.sample:
        rows.insert(0, ("注意 Notice", SAMPLE_NOTICE))
    for row in result.coverage_summary.to_dict("records"):
        rows.append((f"覆盖率 现状 → 建议后 Coverage now → after suggestions {row['rule']} (%)",
                     f"{fmt_value(row['covered_pct'])} → {fmt_value(row['covered_pct_after'])}"))
        rows.append((f"路网内覆盖率 Coverage of demand on the network {row['rule']} (%)",
                     fmt_value(row["covered_pct_on_network"])))
        rows.append((f"离路网过远的需求 Demand off the network {row['rule']} (%)",
                     fmt_value(row["off_network_pct"])))
        rows.append((f"两个以上驿站覆盖 Demand covered by 2+ stations {row['rule']} (%)",
                     fmt_value(row["covered_twice_pct"])))
    return pd.DataFrame(rows, columns=["项目 Item", "数值 Value"])


def fmt_value(value: object) -> str:
    """Return a figure for a report cell: one decimal, "—" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.1f}" if isinstance(value, int | float) else str(value)


def coverage_table(result: AnalysisResult) -> pd.DataFrame:
    """Return coverage per rule as shown in the report (bilingual headers, typed numbers)."""
    cols = ["rule", "group", "mode", "cutoff", "demand_weight", "covered_weight", "covered_pct",
            "covered_pct_on_network", "off_network_pct", "covered_twice_pct",
            "covered_pct_after"]
    from yizhan.geo.modes import MODES
    from yizhan.maps._labels import group_label

    frame = result.coverage_summary[cols].copy()
    frame["group"] = [group_label(g) if isinstance(g, str) and g else "全部 all"
                      for g in frame["group"]]
    frame["mode"] = [f"{MODES[m].label_zh} {MODES[m].label_en}" if m in MODES else m
                     for m in frame["mode"]]
    return frame.rename(columns=COVERAGE_HEADERS)


#: Headers of the per-rule coverage table (report.html, the workbook, report.docx).
COVERAGE_HEADERS = {
    **{k: TABLE_WORDS[k] for k in ("rule", "group")}, "mode": "方式 mode",
    "cutoff": "阈值 cutoff", "demand_weight": TABLE_WORDS["demand_weight"],
    "covered_weight": "已覆盖 covered weight",
    "covered_pct": "覆盖率（现状）% covered now %",
    "covered_pct_on_network": "路网内覆盖率% covered % of demand on the network",
    "off_network_pct": "离路网% off the network %",
    "covered_twice_pct": TWICE_HEADER,
    "covered_pct_after": "建议后% after suggestions %",
}
#: Headers of the year-over-year coverage table.
CHANGE_HEADERS = {
    "rule": TABLE_WORDS["rule"], "previous_year": "上一年 previous year",
    "previous_covered_pct": "上一年覆盖率% covered % last year",
    "covered_pct": "今年覆盖率% covered % this year",
    "change_pct_points": "变化（百分点）% change (points) %",
    "gaps_closed": "消除缺口 gaps closed", "gaps_new": "新增缺口 new gaps",
}


def change_table(comparison: Mapping[str, Any]) -> pd.DataFrame:
    """Return the year-over-year table per rule: coverage then and now, gaps closed and new."""
    frame = comparison["coverage"].copy()
    gaps = comparison["gaps"]
    for status in ("closed", "new"):
        counts = gaps.loc[gaps["status"] == status, "rule"].astype(str).value_counts()
        frame[f"gaps_{status}"] = [int(counts.get(str(r), 0)) for r in frame["rule"]]
    return frame.rename(columns=CHANGE_HEADERS)


def station_change_table(comparison: Mapping[str, Any]) -> pd.DataFrame:
    """Return the station changes since last year, words in Chinese beside English."""
    frame = pd.DataFrame(comparison["stations"])
    return for_people(frame.drop(columns=["change"], errors="ignore"))


#: Headers of the coverage-by-shift table.
SHIFT_HEADERS = {
    "window": "时段 window", "shift": "时间 hours",
    **{k: TABLE_WORDS[k] for k in ("group", "rule", "demand_weight")},
    "covered_pct": "覆盖率（不论开放）% covered % (any hours)",
    "covered_pct_open": "开放站点覆盖率% covered % by stations open then",
    "covered_twice_pct_open": "开放站点双重覆盖% covered % by 2+ stations open then",
    "stations_open": "开放的合格驿站 qualifying stations open",
    "stations_hours_unknown": "开放时间未记录的驿站 stations with hours not recorded",
}
#: Headers of the equity table.
EQUITY_HEADERS = {
    **TABLE_WORDS,
    "covered_twice_pct": TWICE_HEADER, "worst_cost": "最远劳动者的路程 worst-off worker's trip",
    "below_floor": "低于底线 below the floor",
}


def shift_table(result: AnalysisResult) -> pd.DataFrame:
    """Return coverage by shift window as shown in the report (group words, bilingual)."""
    from yizhan.maps._labels import group_label

    frame = result.coverage_by_shift
    if frame is None:
        return pd.DataFrame(columns=list(SHIFT_HEADERS.values()))
    shown = frame.assign(group=[group_label(g) if g else "全部 all" for g in frame["group"]])
    return shown[list(SHIFT_HEADERS)].rename(columns=SHIFT_HEADERS)


def trip_text(cost: float, unit: str) -> str:
    """Return a worst-off trip for people: "5.6 分钟 min", "无法到达 unreachable", "—"."""
    if math.isnan(cost):
        return "—"
    if math.isinf(cost):
        return "无法到达 unreachable"
    return f"{cost:,.1f} 分钟 min" if unit == "min" else f"{cost:,.0f} 米 m"


def equity_people(result: AnalysisResult) -> pd.DataFrame:
    """Return the equity table as shown in the report (words, trips, bilingual headers)."""
    from yizhan.maps._labels import group_label

    frame = result.equity
    if frame is None or not len(frame):
        return pd.DataFrame(columns=list(EQUITY_HEADERS.values()))
    shown = frame.assign(
        group=[group_label(g) if g else "未分组 no group" for g in frame["group"]],
        worst_cost=[trip_text(c, u) for c, u in zip(frame["worst_cost"], frame["cost_unit"],
                                                      strict=True)],
        below_floor=["是 yes" if b else "" for b in frame["below_floor"]],
    )
    return shown[list(EQUITY_HEADERS)].rename(columns=EQUITY_HEADERS)


def workbook_sheets(
    result: AnalysisResult, comparison: Mapping[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """Return the frames of ``report.xlsx`` by sheet name (text neutralised against formulas)."""
    stations = result.stations
    st_cols = [c for c in _STATION_COLUMNS if c in stations.columns]
    st = pd.DataFrame(stations[st_cols]).assign(
        lon=stations.geometry.x.round(7), lat=stations.geometry.y.round(7))
    gaps = pd.DataFrame(result.gaps.drop(columns="geometry"))
    frames = {
        "summary": _summary_sheet(result),
        "coverage": coverage_table(result),
        "areas": area_table(result),
        "groups": group_table(result),
        "equity": equity_people(result),
        "stations": for_people(st),
        "gaps": for_people(gaps),
        "suggestions": for_people(suggestions_csv_frame(result.suggestions)),
        "problems": for_people(pd.DataFrame(result.problems)),
        "loads": for_people(station_loads(result.coverage, result.stations,
                                          result.config.rules)),
    }
    if result.coverage_by_shift is not None:
        frames["shifts"] = shift_table(result)
    if comparison is not None:
        frames["change"] = change_table(comparison)
        frames["station_changes"] = station_change_table(comparison)
    return {SHEET[key]: frames[key].reset_index(drop=True) for key in SHEET if key in frames}


def write_workbook(
    result: AnalysisResult, path: Path, *, comparison: Mapping[str, Any] | None = None
) -> Path:
    """Write ``report.xlsx`` formatted for print and return its path.

    Each sheet: bold, frozen header row; column widths from the content; number formats by
    column (:func:`yizhan.pipeline.headers.number_format`: percentages with one decimal, counts
    without, coordinates with six); landscape A4, fit to one page wide; the header row repeated
    on every printed page. With ``comparison`` (:func:`compare_runs`), the sheets
    年度变化 Year over year and 驿站变化 Station changes.
    """
    return write_sheets(workbook_sheets(result, comparison), path)


#: Rows of a table a workbook sheet holds at most (Excel stops at 1,048,576, and writing a
#: million rows takes minutes); the CSV files of the report hold every row.
SHEET_ROWS = 100_000


def write_sheets(sheets: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Write ``{sheet name: frame}`` as a workbook formatted for print; return its path.

    Each sheet: bold, frozen header row; column widths from the content; number formats by
    column (:func:`yizhan.pipeline.headers.number_format`: percentages with one decimal, counts
    without, coordinates with six); landscape A4, fit to one page wide; the header row repeated
    on every printed page. Text is made safe here
    (:func:`yizhan.io.excel_safe`) and written as text cells, never as formulas.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    def _write(tmp: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, raw in sheets.items():
            frame = excel_safe(raw.head(SHEET_ROWS))
            ws = wb.create_sheet(title=name[:31])
            ws.append([str(c) for c in frame.columns])
            for row in frame.itertuples(index=False):
                ws.append([_cell(v) for v in row])
            if len(raw) > SHEET_ROWS:
                ws.append([f"仅列出前 {SHEET_ROWS:,} 行，共 {len(raw):,} 行，全部见同目录的 CSV 文件。"
                           f" First {SHEET_ROWS:,} of {len(raw):,} rows; the CSV beside this"
                           " workbook has them all."])
                log.warn(f"工作表 {name} 有 {len(raw):,} 行，工作簿只列前 {SHEET_ROWS:,} 行。"
                         f" Sheet {name} has {len(raw):,} rows; the workbook lists the first"
                         f" {SHEET_ROWS:,} (the CSV has them all).")
            for cells in ws.iter_rows(min_row=1):
                for cell in cells:
                    if isinstance(cell.value, str) and cell.data_type == "f":
                        cell.data_type = "s"  # text, never a formula
            for k, col in enumerate(frame.columns, start=1):
                fmt = number_format(str(col), frame[col])
                if fmt is not None:
                    for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                        cell.number_format = fmt
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            for k, col in enumerate(frame.columns, start=1):
                texts = [str(col), *(str(v) for v in frame[col].head(200))]
                width = min(60, max(8, *(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t)
                                         for t in texts)) + 2)
                ws.column_dimensions[ws.cell(row=1, column=k).column_letter].width = width
            ws.page_setup.orientation = "landscape"
            ws.page_setup.paperSize = ws.PAPERSIZE_A4
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.print_title_rows = "1:1"
        wb.save(tmp)

    return write_with(path, _write)


def _cell(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA:
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


# --------------------------------------------------------------------------------------------
# Map, picture and HTML


def _write_map(result: AnalysisResult, path: Path) -> Path:
    from yizhan.maps.build import MapLayers, build_map, save_map

    cfg = result.config
    layers = MapLayers(
        stations=result.stations, demand=result.demand, gaps=result.gaps,
        service_areas=result.service_areas, hotspots=result.hotspots,
        hotspot_note=result.hotspot_note,
        open_stations=open_stations_by_shift(result),
        suggestions=result.suggestions, admin=result.admin,
    )
    m = build_map(layers, title=f"{cfg.district} {cfg.year} 驿站覆盖 Rest-station coverage",
                  standard=cfg.inventory.standard, assets="inline",
                  sample_data_notice=SAMPLE_NOTICE if cfg.sample else None)
    return save_map(m, path)


def open_stations_by_shift(result: AnalysisResult) -> tuple[tuple[str, gpd.GeoDataFrame], ...]:
    """Return per shift window of the run its label and the stations open for all of it."""
    from yizhan.geo.shifts import station_weeks
    from yizhan.stations.hours import open_during

    if not result.config.shifts:
        return ()
    weeks = station_weeks(result.stations)
    return tuple((f"时段 {sw.name}", result.stations.loc[open_during(weeks, sw.shift)])
                 for sw in result.config.shifts)


def _table_html(frame: pd.DataFrame, *, limit: int = 200) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    formats = [number_format(str(c), frame[c]) for c in frame.columns]
    for row in frame.head(limit).itertuples(index=False):
        cells = "".join(f"<td>{html.escape(show_number(f, v) if f else show_text(v))}</td>"
                        for f, v in zip(formats, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    more = (f"<p class='more'>仅显示前 {limit} 行 First {limit} of {len(frame)} rows shown.</p>"
            if len(frame) > limit else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def report_html(
    result: AnalysisResult, summary: dict[str, Any], comparison: dict[str, Any] | None,
    *, sheets: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """Return ``report.html``: the bilingual one-page summary (all user text HTML-escaped).

    ``sheets``: the workbook's frames when already made (:func:`workbook_sheets`).
    """
    cfg = result.config
    e = html.escape
    notice = f"<p class='notice'>{e(SAMPLE_NOTICE)}</p>" if cfg.sample else ""
    counts = summary["counts"]
    figures = [
        ("驿站 Stations", counts["stations"]),
        ("达标 Fully compliant", counts["stations_by_tier"]["full"]),
        ("需求点 Demand points", counts["demand_points"]),
        ("缺口 Gap areas", counts["gaps"]),
        ("建议新站 Suggested sites", counts["suggestions"]),
        ("问题 Problems", counts["problems"]),
    ]
    cards = "".join(f"<div class='card'><b>{e(str(v))}</b><span>{e(k)}</span></div>"
                    for k, v in figures)
    sheets = sheets if sheets is not None else workbook_sheets(result, comparison)
    parts = [
        f"<h2>覆盖率 Coverage</h2>{_table_html(sheets[SHEET['coverage']])}",
        *([f"<h2>分区覆盖 Coverage by area</h2>{_table_html(sheets[SHEET['areas']])}"]
          if len(sheets[SHEET["areas"]]) else []),
        f"<h2>分群体覆盖 Coverage by worker group</h2>{_table_html(sheets[SHEET['groups']])}",
        *([f"<h2>分时段覆盖 Coverage by shift</h2>{_table_html(sheets[SHEET['shifts']])}"]
          if SHEET["shifts"] in sheets else []),
        f"<h2>公平性 Equity (area × worker group)</h2>{_table_html(sheets[SHEET['equity']])}",
        "<h2>总览图 Overview</h2><img class='overview' src='overview.png' "
        "alt='总览图 overview map'><p>交互地图见 Interactive map: <a href='map.html'>map.html</a>"
        "</p>",
        f"<h2>建议新站 Suggested sites</h2>{_table_html(sheets[SHEET['suggestions']])}",
        f"<h2>缺口 Gap areas</h2>{_table_html(sheets[SHEET['gaps']])}",
        f"<h2>驿站 Stations</h2>{_table_html(sheets[SHEET['stations']])}",
        f"<h2>问题 Problems</h2>{_table_html(sheets[SHEET['problems']])}",
    ]
    if comparison is not None:
        comp = comparison["summary"]
        parts.insert(1, (
            f"<h2>年度变化 Compared with {e(str(comp['previous_year']))}</h2>"
            f"<p>缺口消除 Gaps closed: {comp['gaps_closed']}；新增缺口 New gaps: "
            f"{comp['gaps_new']}</p>"
            f"{_table_html(sheets[SHEET['change']])}"
            f"{_table_html(sheets[SHEET['station_changes']])}"
        ))
    if result.warnings:
        items = "".join(f"<li>{e(w)}</li>" for w in result.warnings)
        parts.insert(0, f"<div class='warnings'><h2>请注意 Please note</h2><ul>{items}</ul></div>")
    title = f"{cfg.district} {cfg.year} 驿站缺口分析 Rest-station gap analysis"
    return (
        "<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(title)}</h1>{notice}<div class='cards'>{cards}</div>{''.join(parts)}"
        "</body></html>\n"
    )


_CSS = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}"
    ".notice{background:#fff3cd;border:1px solid #e0b000;padding:.5em;font-weight:bold}"
    ".warnings{background:#fdecea;border:1px solid #d93025;padding:.2em 1em;margin:1em 0}"
    ".cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;padding:.5em 1em}"
    ".card b{display:block;font-size:1.6em}.overview{max-width:640px;border:1px solid #ccc}"
    "@media print{a{color:#222}}"
)


def input_checksums(paths: Sequence[Path]) -> dict[str, str]:
    """Return ``{file name: SHA-256}`` for ``paths``."""
    return {p.name: sha256_file(p) for p in paths}
