"""The province folder of ``yizhan run-many``: summary table, summary.json, workbook, map.

Everything here is computed from the district outcomes (no timestamps, no timings), so the same
inputs give byte-identical tables whether a district was recomputed or skipped as unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from yizhan import log
from yizhan.io import write_csv_atomic, write_text_atomic
from yizhan.pipeline.report import fmt_value, json_value

if TYPE_CHECKING:
    from yizhan.pipeline.results import AnalysisResult, DistrictOutcome, ProvinceResult

#: Fixed columns of ``summary.csv`` (per-rule columns follow: ``<rule>_covered_pct`` and
#: ``<rule>_covered_pct_after``, then ``map``).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "district", "status", "failed_step", "error", "stations", "stations_full", "compliant_pct",
    "demand_points", "demand_weight", "gaps", "suggested_sites",
)

#: Bilingual headers of the workbook's district sheet.
HEADERS: dict[str, str] = {
    "district": "区县 District", "status": "状态 Status", "failed_step": "失败步骤 Failed step",
    "error": "错误 Error", "stations": "驿站 Stations", "stations_full": "达标 Compliant",
    "compliant_pct": "达标率 Compliant %", "demand_points": "需求点 Demand points",
    "demand_weight": "需求权重 Demand weight", "gaps": "缺口 Gaps",
    "suggested_sites": "建议新站 Suggested sites", "map": "地图 Map",
}


def district_row(result: AnalysisResult) -> dict[str, Any]:
    """Return a district's figures for the province summary (plain data, JSON-safe)."""
    stations = result.stations
    n = len(stations)
    full = int((stations["compliance_tier"].astype(str) == "full").sum()) if n else 0
    rules = []
    for rec in result.coverage_summary.to_dict("records"):
        rules.append({k: json_value(rec[k]) for k in (
            "rule", "group", "mode", "cutoff", "demand_weight", "covered_weight", "covered_pct",
            "covered_weight_after", "covered_pct_after")})
    return {
        "stations": n, "stations_full": full,
        "compliant_pct": round(100.0 * full / n, 2) if n else None,
        "demand_points": len(result.demand),
        "demand_weight": round(float(result.demand["weight"].sum()), 6),
        "gaps": len(result.gaps), "suggested_sites": len(result.suggestions),
        "rules": rules,
    }


def rule_names(outcomes: Sequence[DistrictOutcome]) -> list[str]:
    """Return every rule name of the districts, in order of first appearance."""
    names: list[str] = []
    for o in outcomes:
        for r in o.row.get("rules", []):
            if r["rule"] not in names:
                names.append(r["rule"])
    return names


def summary_table(result: ProvinceResult) -> pd.DataFrame:
    """Return ``summary.csv``: one row per district, in the order of the plan."""
    names = rule_names(result.outcomes)
    rows = []
    for o in result.outcomes:
        ok = o.status in ("ok", "unchanged")
        row: dict[str, Any] = {
            "district": o.name, "status": "ok" if ok else "failed",
            "failed_step": o.step if not ok else None,
            "error": o.error if not ok else None,
        }
        for col in SUMMARY_COLUMNS[4:]:
            row[col] = o.row.get(col) if ok else None
        by_rule = {r["rule"]: r for r in o.row.get("rules", [])} if ok else {}
        for name in names:
            r = by_rule.get(name, {})
            row[f"{name}_covered_pct"] = r.get("covered_pct")
            row[f"{name}_covered_pct_after"] = r.get("covered_pct_after")
        row["map"] = f"districts/{o.slug}/map.html" if ok else None
        rows.append(row)
    cols = [*SUMMARY_COLUMNS, *(f"{n}_{s}" for n in names for s in ("covered_pct",
                                                                     "covered_pct_after")),
            "map"]
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("stations", "stations_full", "demand_points", "gaps", "suggested_sites"):
        frame[col] = frame[col].astype("Int64")
    return frame


def rules_table(result: ProvinceResult) -> pd.DataFrame:
    """Return the province figures per rule: weights summed over the districts that ran.

    A demand point on the boundary of two districts counts in both (see :mod:`yizhan.geo.areas`).
    """
    acc: dict[str, dict[str, Any]] = {}
    for o in result.outcomes:
        if o.status not in ("ok", "unchanged"):
            continue
        for r in o.row.get("rules", []):
            a = acc.setdefault(r["rule"], {"rule": r["rule"], "group": r.get("group"),
                                           "mode": r.get("mode"), "cutoff": r.get("cutoff"),
                                           "districts": 0, "demand_weight": 0.0,
                                           "covered_weight": 0.0, "covered_weight_after": 0.0})
            a["districts"] += 1
            for k in ("demand_weight", "covered_weight", "covered_weight_after"):
                a[k] += float(r.get(k) or 0.0)
    rows = []
    for a in acc.values():
        total = a["demand_weight"]
        rows.append({**a,
                     "demand_weight": round(total, 6),
                     "covered_weight": round(a["covered_weight"], 6),
                     "covered_weight_after": round(a["covered_weight_after"], 6),
                     "covered_pct": round(100.0 * a["covered_weight"] / total, 4) if total else None,
                     "covered_pct_after": (round(100.0 * a["covered_weight_after"] / total, 4)
                                           if total else None)})
    return pd.DataFrame(rows, columns=["rule", "group", "mode", "cutoff", "districts",
                                       "demand_weight", "covered_weight", "covered_pct",
                                       "covered_weight_after", "covered_pct_after"])


def problems_table(result: ProvinceResult) -> pd.DataFrame:
    """Return ``problems.csv``: failed districts, then stations outside every district."""
    jobs = {j.slug: j for j in result.plan.jobs}
    rows = [{
        "file": str(jobs[o.slug].config_path), "row": None, "field": o.step or "",
        "value": o.name,
        "problem": f"区县 {o.name} 运行失败（{o.step}）：{o.error}"
                   f" District {o.name} failed at step {o.step}.",
        "severity": "error", "code": "district_failed",
    } for o in result.outcomes if o.status == "failed"]
    frame = pd.DataFrame(rows, columns=["file", "row", "field", "value", "problem", "severity",
                                        "code"])
    if len(result.problems):
        frame = pd.concat([frame, result.problems], ignore_index=True) if len(frame) \
            else result.problems.copy()
    frame["row"] = frame["row"].astype("Int64")
    return frame


def summary_dict(result: ProvinceResult, table: pd.DataFrame, rules: pd.DataFrame,
                 problems: pd.DataFrame) -> dict[str, Any]:
    """Return ``summary.json`` (no timestamps or timings: same inputs, same file)."""
    ok = [o for o in result.outcomes if o.status in ("ok", "unchanged")]
    failed = [o for o in result.outcomes if o.status == "failed"]
    return {
        "province": result.plan.title,
        "districts": len(result.outcomes),
        "districts_ok": len(ok),
        "districts_failed": len(failed),
        "stations": int(sum(o.row.get("stations", 0) for o in ok)),
        "stations_full": int(sum(o.row.get("stations_full", 0) for o in ok)),
        "suggested_sites": int(sum(o.row.get("suggested_sites", 0) for o in ok)),
        "unassigned_stations": int((problems["code"] == "station_outside_districts").sum()),
        "rules": [{k: json_value(v) for k, v in r.items()} for r in rules.to_dict("records")],
        "failures": [{"district": o.name, "step": o.step, "error": o.error} for o in failed],
        "by_district": [{k: json_value(v) for k, v in r.items()}
                        for r in table.to_dict("records")],
    }


def write_province_report(result: ProvinceResult) -> None:
    """Write ``summary.csv``, ``summary.json``, ``problems.csv``, ``report.xlsx``, ``map.html``."""
    from yizhan.pipeline.report import write_sheets

    out = result.out
    table = summary_table(result)
    rules = rules_table(result)
    problems = problems_table(result)
    summary = summary_dict(result, table, rules, problems)
    write_csv_atomic(table, out / "summary.csv")
    write_csv_atomic(problems, out / "problems.csv")
    write_text_atomic(out / "summary.json",
                      json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    overview = pd.DataFrame([
        ("省/市 Province", summary["province"]),
        ("区县 Districts", summary["districts"]),
        ("成功 Succeeded", summary["districts_ok"]),
        ("失败 Failed", summary["districts_failed"]),
        ("驿站 Stations", summary["stations"]),
        ("达标驿站 Compliant stations", summary["stations_full"]),
        ("建议新站 Suggested sites", summary["suggested_sites"]),
        ("不在任何区县的站点 Stations in no district", summary["unassigned_stations"]),
        *((f"覆盖率 Coverage {r['rule']} (%)",
           f"{fmt_value(r['covered_pct'])} → {fmt_value(r['covered_pct_after'])}")
          for r in summary["rules"]),
    ], columns=["项目 Item", "数值 Value"])
    headed = table.rename(columns=HEADERS)
    sheets = {"概况 Province": overview, "区县 Districts": headed, "规则 Rules": rules,
              "问题 Problems": problems}
    write_sheets({k: v.reset_index(drop=True) for k, v in sheets.items()},
                 out / "report.xlsx")
    _write_map(result, table)
    log.info(f"省级汇总已写入 province summary written: {out}")


def _write_map(result: ProvinceResult, table: pd.DataFrame) -> None:
    from yizhan.maps import add_districts, new_map, save_map

    names = rule_names(result.outcomes)
    slugs = [o.slug for o in result.outcomes]
    geoms = [result.areas.get(s) for s in slugs]
    frame = table.assign(slug=slugs)
    has = [g is not None for g in geoms]
    gdf = gpd.GeoDataFrame(frame.loc[has].reset_index(drop=True),
                           geometry=[g for g in geoms if g is not None], crs="EPSG:4326")
    fields = ["status", "stations", "compliant_pct", "suggested_sites",
              *(f"{n}_covered_pct" for n in names)]
    labels = ["状态 status", "驿站 stations", "达标率 compliant %", "建议新站 suggested sites",
              *(f"覆盖率 coverage % {n}" for n in names)]
    sample = any(j.config is not None and j.config.sample for j in result.plan.jobs)
    m = new_map(title=f"{result.plan.title} 驿站覆盖 Station coverage by district",
                subtitle=f"{len(result.outcomes)} 个区县 districts",
                sample_data_notice="示例数据，仅供演示 Sample data for demonstration only"
                if sample else None)
    if len(gdf) and names:
        # one layer per rule, shown one at a time: the layer control switches between rules
        for k, rule in enumerate(names):
            add_districts(m, gdf, value_column=f"{rule}_covered_pct",
                          value_label="覆盖率 Covered share（按所选规则 of the rule shown）",
                          field_columns=fields, field_labels=labels, link_column="map",
                          name=f"区县覆盖率 Coverage · {rule}", show=k == 0,
                          exclusive="rules")
    elif len(gdf):
        add_districts(m, gdf, value_column="compliant_pct",
                      value_label="达标率 Compliant share", field_columns=fields,
                      field_labels=labels, link_column="map")
    save_map(m, result.out / "map.html")
