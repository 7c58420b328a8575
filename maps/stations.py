"""Stations layer: markers coloured by compliance tier, popups with the full amenity checklist."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
from yizhan.maps._geometry import (
    bounds_of,
    fmt_number,
    fmt_share,
    point_payload,
    text_column,
    to_wgs84,
)
from yizhan.maps._labels import TIERS, amenity_label
from yizhan.maps._runtime import (
    LegendItem,
    LegendSection,
    Overlay,
    add_legend_section,
    add_overlay,
    record_bounds,
)
from yizhan.stations.amenities import AMENITY_KEYS
from yizhan.stations.standards import Standard

CLUSTER_ABOVE = 50
"""Stations are clustered when a map has more than this many (``cluster=None``)."""

# (column, bilingual label) shown in the popup, in this order; empty values are left out.
_FIELDS: tuple[tuple[str, str], ...] = (
    ("station_id", "编号 ID"),
    ("address", "地址 Address"),
    ("town", "街道 Street/town"),
    ("type", "类型 Type"),
    ("hours", "开放时间 Hours"),
    ("manager", "管理单位 Manager"),
    ("phone", "联系电话 Phone"),
    ("capacity", "座位 Seats"),
    ("opened", "启用 Opened"),
    ("standard", "标准 Standard"),
    ("compliance", "达标率 Compliance"),
)


def _required_matrix(
    stations: gpd.GeoDataFrame, standard: Standard | None
) -> tuple[list[str], np.ndarray]:
    """Return the required amenity keys seen and a stations x keys boolean "required" matrix.

    With a standard, its required items hold for every station; otherwise each station's
    ``required_have`` and ``required_missing`` (comma-joined keys) say what its standard requires.
    """
    n = len(stations)
    if standard is not None:
        keys = list(standard.required)
        return keys, np.ones((n, len(keys)), dtype=bool)
    parts = [
        stations[c].astype("string").fillna("")
        for c in ("required_have", "required_missing") if c in stations.columns
    ]
    if not parts:
        return [], np.zeros((n, 0), dtype=bool)
    joined = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1], sep=",")
    joined = joined.str.replace(r"\s+", "", regex=True).str.replace("，", ",")
    tokens = joined.str.split(",").explode()
    keys = [k for k in AMENITY_KEYS if k in set(tokens)]
    keys += sorted(set(tokens.dropna()) - set(keys) - {""})
    wrapped = "," + joined + ","
    matrix = np.column_stack(
        [wrapped.str.contains(f",{k},", regex=False).to_numpy(dtype=bool) for k in keys]
    ) if keys else np.zeros((n, 0), dtype=bool)
    return keys, matrix


def _flags(matrix: np.ndarray) -> list[str]:
    """Return each row as a string of '1' (true) / '0' (false) / '?' (-1: not recorded), vectorised."""
    n, k = matrix.shape
    if k == 0:
        return [""] * n
    codes = np.where(matrix < 0, ord("?"), matrix.astype(np.uint8) + ord("0")).astype(np.uint8)
    chars = np.ascontiguousarray(codes)
    return [b.decode("ascii") for b in chars.view(f"S{k}").ravel()]


def _amenity_state(stations: gpd.GeoDataFrame, key: str) -> np.ndarray:
    """Return 1 (has), 0 (lacks) or -1 (not recorded: no column, or a blank value) per station."""
    if key not in stations.columns:
        return np.full(len(stations), -1, dtype=np.int8)
    values = stations[key].astype("boolean")
    return np.where(values.isna().to_numpy(), -1,
                    values.fillna(False).to_numpy(dtype=bool)).astype(np.int8)


#: Compliance tiers from worst to best: the colour of a cluster of stations is its worst one's.
WORST_FIRST = ("low", "partial", "not_recorded", "unknown", "full")


def add_stations(
    m: folium.Map,
    stations: gpd.GeoDataFrame,
    *,
    standard: Standard | None = None,
    cluster: bool | None = None,
    name: str = "服务站点 Rest stations",
    show: bool = True,
    exclusive: str | None = None,
    legend: bool = True,
) -> folium.Map:
    """Return ``m`` with a stations overlay: tier-coloured markers and checklist popups.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    stations
        Stations GeoDataFrame (stations contract: points, ``station_id``, ``name``, amenity
        booleans, ``compliance_tier`` ...). Missing optional columns show as empty.
    standard
        The amenity standard; its required items are marked in every popup and its optional
        items listed. Without it, each station's ``required_have``/``required_missing`` mark
        the required items.
    cluster
        Cluster the markers; ``None`` clusters above :data:`CLUSTER_ABOVE` stations.
    name
        Layer name in the layer control.
    exclusive
        Key of a set of station layers shown one at a time (all stations, and those open during
        each shift: switching one on hides the others).
    legend
        Whether to add the legend section (once for a set of layers).
    show
        Whether the layer is on when the page opens.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    stations = to_wgs84(stations)
    if stations.empty:
        return m
    stations = stations.reset_index(drop=True)
    n = len(stations)
    tier_index = {key: i for i, (key, _, _) in enumerate(TIERS)}
    tiers = [
        tier_index.get(t, tier_index["unknown"]) for t in text_column(stations, "compliance_tier")
    ]
    req_keys, req_matrix = _required_matrix(stations, standard)
    # Checklist items: the standard's, every canonical amenity with a column, then any other
    # required key, in canonical order.
    keys: list[str] = list(standard.items) if standard is not None else []
    keys += [k for k in AMENITY_KEYS if (k in stations.columns or k in req_keys) and k not in keys]
    keys += [k for k in req_keys if k not in keys]
    have = np.zeros((n, len(keys)), dtype=np.int8)
    required = np.zeros((n, len(keys)), dtype=bool)
    for j, key in enumerate(keys):
        have[:, j] = _amenity_state(stations, key)
        if key in req_keys:
            required[:, j] = req_matrix[:, req_keys.index(key)]

    values: dict[str, list[str]] = {col: text_column(stations, col) for col, _ in _FIELDS}
    if "capacity" in stations.columns:
        values["capacity"] = [fmt_number(v) for v in stations["capacity"].tolist()]
    if "compliance_score" in stations.columns:
        values["compliance"] = [fmt_share(v) for v in stations["compliance_score"].tolist()]
    ids = text_column(stations, "station_id")
    payload = {
        **point_payload(stations.geometry),
        "id": ids,
        "name": text_column(stations, "name"),
        "tier": tiers,
        "have": _flags(have),
        "req": _flags(required),
        "values": values,
    }
    options = {
        "cluster": n > CLUSTER_ABOVE if cluster is None else bool(cluster),
        "tiers": [{"key": k, "label": label, "color": color} for k, label, color in TIERS],
        "severity": [WORST_FIRST.index(k) for k, _, _ in TIERS],
        "fields": [col for col, _ in _FIELDS],
        "field_labels": [label for _, label in _FIELDS],
        "amenities": [amenity_label(k) for k in keys],
        "checklist_title": "设施清单 Amenity checklist",
        "required_label": "= 必备 required",
        "not_recorded_label": "未记录 not recorded",
        "exclusive": exclusive,
    }
    add_overlay(m, Overlay(name=name, kind="stations", payload=payload, options=options,
                           show=show))
    record_bounds(m, bounds_of(stations))
    if not legend:
        return m
    counts = np.bincount(np.asarray(tiers, dtype=np.int64), minlength=len(TIERS))
    items = tuple(
        LegendItem(f"{label}（{counts[i]}）", "dot", color)
        for i, (_, label, color) in enumerate(TIERS)
        if counts[i] or TIERS[i][0] not in ("unknown", "not_recorded")
    )
    note = None
    if standard is not None:
        title = " ".join(t for t in (standard.title_zh, standard.title_en) if t) or standard.name
        note = f"标准 Standard: {title}; 必备 required: " + "、".join(
            amenity_label(k) for k in standard.required
        )
    if options["cluster"]:
        note = ((note + "；") if note else "") + ("聚合圆点的颜色为其中最差的达标情况"
                                                 " a cluster takes the worst compliance inside")
    add_legend_section(m, LegendSection(f"服务站点 Stations（{n}）", items, note))
    return m
