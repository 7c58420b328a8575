"""Canonical column schema of an inventory and the Chinese/English header spellings that map onto it.

Demand tables reuse the same lookup for their longitude/latitude/id/weight columns
(:func:`find_column`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from yizhan.stations.amenities import AMENITIES

#: Canonical non-amenity fields and the header spellings (normalised) that mean them.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "station_id": ("stationid", "站点编号", "编号", "站点id", "驿站编号", "id", "code", "站点代码", "fid"),
    "name": ("name", "站点名称", "名称", "驿站名称", "站名", "stationname", "服务站名称", "站点"),
    "address": ("address", "地址", "详细地址", "站点地址", "addr", "位置"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x", "wgs84lon", "gcj02lon", "bd09lon"),
    "lat": ("lat", "latitude", "纬度", "y", "wgs84lat", "gcj02lat", "bd09lat"),
    "town": ("town", "所属镇街", "镇街", "街道", "镇", "所属街道", "street", "subdistrict", "township",
             "所属片区", "区域"),
    "type": ("type", "类型", "站点类型", "category", "kind", "建设类型"),
    "opened": ("opened", "建成时间", "建成日期", "开放日期", "启用时间", "opendate", "established",
               "openedon"),
    "manager": ("manager", "联系人", "负责人", "管理员", "contact", "contactperson"),
    "phone": ("phone", "电话", "联系电话", "手机", "tel", "telephone", "mobile"),
    "hours": ("hours", "开放时间", "营业时间", "服务时间", "openinghours", "openhours"),
    "capacity": ("capacity", "座位数", "容纳人数", "可容纳人数", "seats", "座位"),
    "host": ("host", "依托单位", "承建单位", "所属单位", "hostorganisation", "hostorganization"),
}

#: Demand-table fields (geo.demand reuses this lookup).
DEMAND_ALIASES: dict[str, tuple[str, ...]] = {
    "demand_id": ("demandid", "id", "编号", "orderid", "订单号", "pointid"),
    "weight": ("weight", "权重", "人数", "count", "headcount", "num", "数量", "人次"),
    "group": ("group", "群体", "工种", "workergroup", "类别"),
    "time": ("time", "时间", "timestamp", "datetime", "stime", "pickuptime", "上车时间"),
}

_STRIP = re.compile(r"[\s_\-·.:：/]+")
_BRACKETS = re.compile(r"[（(【\[].*?[）)】\]]")
_PREFIXES = ("是否有", "是否配备", "是否配置", "是否", "有无", "配备", "has", "is")


def normalize_header(header: object) -> str:
    """Return a header reduced to a comparable form: width-folded, lower-case, no punctuation.

    Bracketed notes such as ``经度(GCJ-02)`` or ``洗手间（有/无）`` are removed, and question
    prefixes such as ``是否有`` are dropped.
    """
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    text = _BRACKETS.sub("", text)
    text = _STRIP.sub("", text)
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
            break
    return text


def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for key, aliases in FIELD_ALIASES.items():
        for alias in (key, *aliases):
            table.setdefault(normalize_header(alias), key)
    for key, amenity in AMENITIES.items():
        for alias in (key, amenity.zh, amenity.en, *amenity.aliases):
            table.setdefault(normalize_header(alias), key)
    return table


_LOOKUP = _lookup()
_DEMAND_LOOKUP = {
    normalize_header(alias): key
    for key, aliases in DEMAND_ALIASES.items()
    for alias in (key, *aliases)
}


def canonical_name(header: object) -> str | None:
    """Return the canonical field or amenity key a header means, or ``None`` if unknown."""
    return _LOOKUP.get(normalize_header(header))


def map_columns(columns: Iterable[object]) -> dict[object, str]:
    """Return ``{original header: canonical key}`` for the headers that are recognised.

    When two headers mean the same key (``经度`` and ``lng``), the first one wins and the
    other is kept under its own name.
    """
    mapping: dict[object, str] = {}
    taken: set[str] = set()
    for col in columns:
        key = canonical_name(col)
        if key is not None and key not in taken:
            mapping[col] = key
            taken.add(key)
    return mapping


def find_column(columns: Iterable[object], key: str) -> str | None:
    """Return the first header in ``columns`` that means ``key``, or ``None``.

    ``key`` is a canonical inventory field (``lon``, ``lat``, ``station_id``, ``name``, ...), an
    amenity key, or a demand field (``demand_id``, ``weight``, ``group``, ``time``).
    """
    for col in columns:
        norm = normalize_header(col)
        if _LOOKUP.get(norm) == key or _DEMAND_LOOKUP.get(norm) == key:
            return str(col)
    return None
