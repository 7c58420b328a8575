"""Column headers and cell formats of the report a union officer reads (Chinese first).

CSV, GeoJSON and Parquet files keep their machine column names: scripts rely on them. The
workbook (``report.xlsx``) and ``report.html`` show :data:`HEADERS` instead, values that are
words in Chinese beside English (compliance tiers), and numbers formatted by :func:`number_format`.
"""

from __future__ import annotations

import math

import pandas as pd

from yizhan.geo.hosts import HOST_TYPES
from yizhan.stations.compliance import TIER_LABELS

#: Bilingual header of each machine column name shown in the report.
HEADERS: dict[str, str] = {
    # stations
    "station_id": "编号 ID", "name": "名称 Name", "address": "地址 Address", "town": "镇街 Town",
    "type": "类型 Type", "capacity": "座位数 Seats", "standard": "标准 Standard",
    "compliance_score": "达标得分 Score", "compliance_tier": "达标情况 Compliance",
    "required_missing": "缺少设施（需补齐）Missing amenities",
    "required_not_recorded": "未记录设施 Not recorded", "lon": "经度 Longitude",
    "lat": "纬度 Latitude", "hours": "开放时间 Opening hours", "host": "依托场所 Host",
    "in_service": "规划时段内开放 Open in the planned shift",
    # gaps
    "gap_id": "缺口编号 Gap", "rule": "规则 Rule", "groups": "工人群体 Worker groups",
    "n_demand": "需求点数 Demand points", "uncovered_weight": "未覆盖需求 Uncovered demand",
    "admin_area": "所在区域 Area", "area_km2": "面积（平方公里）Area km²",
    # suggestions
    "rank": "优先顺序 Rank", "candidate_id": "候选点编号 Candidate", "kind": "类型 Kind",
    "source": "来源 Source", "place": "地点 Place", "cost": "成本 Cost",
    "weight_gained": "新增覆盖需求 Demand newly covered",
    "covered_share_after": "建后覆盖率 Coverage after",
    "covered_pct_after": "建后覆盖率% Coverage after %",
    "amenities_to_add": "需配设施 Amenities to provide", "cost_saved": "节省路程 Travel saved",
    "mean_cost_after": "建后平均路程 Mean trip after",
    # problems
    "file": "文件 File", "row": "行 Row", "field": "字段 Field", "value": "值 Value",
    "problem": "问题 Problem", "severity": "级别 Severity", "code": "代码 Code",
    # station changes (stations.diff_inventories)
    "change_label": "变化 Change", "old_station_id": "原编号 Old ID", "old_name": "原名称 Old name",
    "distance_m": "移动距离（米）Distance m", "amenities_gained": "新增设施 Amenities gained",
    "amenities_lost": "减少设施 Amenities lost", "old_tier": "原达标情况 Old compliance",
    "new_tier": "现达标情况 New compliance", "match_basis": "匹配依据 Matched by",
    "match_confidence": "匹配可信度 Match confidence", "candidates": "可能对应 Candidates",
    # loads
    "demand_weight": "服务需求 Demand served", "weight_per_seat": "每座需求 Demand per seat",
    "n_backup": "作为第二驿站的需求点 Backup for points",
}

#: Words shown in Chinese beside English in the report, by column.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "compliance_tier": {**TIER_LABELS, "unknown": "未评估 not assessed"},
    "old_tier": {**TIER_LABELS, "unknown": "未评估 not assessed"},
    "new_tier": {**TIER_LABELS, "unknown": "未评估 not assessed"},
    "match_basis": {"id": "编号 id", "name+place": "名称与位置 name and place",
                    "place": "位置 place"},
    "host": {key: words for key, (_, words) in HOST_TYPES.items()},
    "in_service": {"True": "开放 open", "False": "不开放 closed"},
    "kind": {"new": "新建 new", "upgrade": "升级 upgrade"},
    "source": {"network": "路网节点 road node", "file": "候选点文件 candidate file",
               "station": "现有驿站 existing station"},
    "severity": {"error": "错误 error", "warning": "提醒 warning"},
}


#: Columns holding lists of amenity keys (shown as "洗手间 toilet、饮水 drinking water").
AMENITY_COLUMNS = ("amenities_to_add", "required_missing", "required_not_recorded",
                   "amenities_gained", "amenities_lost")
#: Columns holding lists of worker-group keys.
GROUP_COLUMNS = ("groups",)
#: Per-rule column suffixes of the suggestions table, and how they read.
RULE_SUFFIXES = {"_gained": "新增覆盖 demand newly covered", "_share_after": "建后覆盖率 share after"}


def header(column: str) -> str:
    """Return the bilingual header of a machine column name (per-rule columns included)."""
    if column in HEADERS:
        return HEADERS[column]
    for suffix, words in RULE_SUFFIXES.items():
        if column.endswith(suffix):
            return f"{column[:-len(suffix)]} {words}"
    return column


def for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with bilingual headers and word values (machine names elsewhere kept)."""
    from yizhan.maps._labels import groups_of, labels_of

    out = frame.copy()
    for col, labels in VALUE_LABELS.items():
        if col in out.columns:
            out[col] = [labels.get(str(v), v) for v in out[col]]
    for col in AMENITY_COLUMNS:
        if col in out.columns:
            out[col] = [labels_of(v) for v in out[col]]
    for col in GROUP_COLUMNS:
        if col in out.columns:
            out[col] = [groups_of(v) for v in out[col]]
    return out.rename(columns=lambda c: header(str(c)))


def number_format(header: str, sample: pd.Series) -> str | None:
    """Return the Excel number format of a column from its (bilingual) header and values.

    Shares (0..1) as percentages with one decimal, percentage points with one decimal,
    coordinates with six decimals, counts without decimals, other numbers with one decimal and
    thousands separators; None for text.
    """
    if not pd.api.types.is_numeric_dtype(sample) or pd.api.types.is_bool_dtype(sample):
        return None
    low = header.lower()
    if "%" in header:
        return "0.0"
    if "share" in low or "覆盖率" in header:
        return "0.0%"
    if "longitude" in low or "latitude" in low or header in ("lon", "lat"):
        return "0.000000"
    if "year" in low:
        return "0"
    if pd.api.types.is_integer_dtype(sample):
        return "#,##0"
    return "#,##0.0"


def show_number(fmt: str, value: object) -> str:
    """Return ``value`` as text the way the workbook's number format ``fmt`` shows it."""
    if value is None or value is pd.NA:
        return ""
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return "—"
    if fmt == "0.0%":
        return f"{100 * number:.1f}%"
    if fmt == "0.0":
        return f"{number:.1f}"
    if fmt == "0.000000":
        return f"{number:.6f}"
    if fmt == "0":
        return f"{number:.0f}"
    if fmt == "#,##0":
        return f"{number:,.0f}"
    return f"{number:,.1f}"


def show_text(value: object) -> str:
    """Return a report cell that has no number format as text ("" when missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
