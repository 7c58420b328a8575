"""Suggested sites layer: new sites numbered by rank, and upgrades of existing stations."""

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
from yizhan.maps._labels import NEW_SITE_COLOR, UPGRADE_COLOR, labels_of
from yizhan.maps._runtime import (
    LegendItem,
    LegendSection,
    Overlay,
    add_legend_section,
    add_overlay,
    record_bounds,
)

KINDS: tuple[tuple[str, str, str], ...] = (
    ("new", "建议新建站点 Suggested new site", NEW_SITE_COLOR),
    ("upgrade", "建议升级现有站点 Suggested upgrade", UPGRADE_COLOR),
)
_FIELDS = ("排名 Rank", "编号 Candidate", "地点 Place",
           "新增覆盖（新进入可达范围的需求权重）Weight gained (demand newly within reach)",
           "建后覆盖率 Coverage after", "需增设设施 Amenities to add", "所在区域 Area",
           "成本（新建一处默认为 1）Cost (a new station counts 1 unless set)",
           "依托场所 Host", "开放时间 Opening hours")


def _why(kind: str, gained: str, share: str, amenities: str, reason: str) -> str:
    """Return the bilingual sentence that says why a site is suggested."""
    parts = []
    if kind == "upgrade":
        parts.append(
            f"增设 {amenities or '所需设施'} 后，该站可计入覆盖：新增覆盖权重 {gained or '—'}，"
            f"覆盖率达到 {share or '—'}。 With these amenities the station counts for coverage:"
            f" +{gained or '—'} covered weight, coverage {share or '—'}."
        )
    else:
        parts.append(
            f"在此新建站点可新增覆盖权重 {gained or '—'}，覆盖率达到 {share or '—'}。"
            f" A station here covers {gained or '—'} more weighted demand; coverage reaches"
            f" {share or '—'}."
        )
    if reason:
        parts.append(reason)
    return " ".join(parts)


def add_suggestions(
    m: folium.Map,
    suggestions: gpd.GeoDataFrame,
    *,
    name: str = "选址建议 Suggested sites",
    show: bool = True,
) -> folium.Map:
    """Return ``m`` with suggested new sites and upgrades, numbered by rank.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    suggestions
        EPSG:4326 points with ``rank``, ``candidate_id``, ``name``, ``kind`` (``new`` or
        ``upgrade``), ``weight_gained``, ``covered_share_after``, ``amenities_to_add``
        (comma-joined keys or a list) and ``admin_area``; optional ``cost`` is shown and an
        optional ``reason`` column is added to the popup's explanation.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the page opens.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    sites = to_wgs84(suggestions)
    if sites.empty:
        return m
    if "rank" in sites.columns:
        sites = sites.sort_values("rank", kind="stable")
    sites = sites.reset_index(drop=True)
    n = len(sites)
    ranks = text_column(sites, "rank") if "rank" in sites.columns \
        else [str(i + 1) for i in range(n)]
    ranks = [r[:-2] if r.endswith(".0") else r for r in ranks]
    kind_keys = [k if k in ("new", "upgrade") else "new" for k in text_column(sites, "kind")]
    kind_idx = [0 if k == "new" else 1 for k in kind_keys]
    ids = text_column(sites, "candidate_id")
    names = text_column(sites, "name")
    gained = [fmt_number(v) for v in sites["weight_gained"]] \
        if "weight_gained" in sites.columns else [""] * n
    share = [fmt_share(v) for v in sites["covered_share_after"]] \
        if "covered_share_after" in sites.columns else [""] * n
    amenities = [labels_of(v) for v in sites["amenities_to_add"]] \
        if "amenities_to_add" in sites.columns else [""] * n
    reasons = text_column(sites, "reason")
    cost = [fmt_number(v) for v in sites["cost"]] if "cost" in sites.columns else [""] * n
    places = text_column(sites, "place")
    from yizhan.geo.hosts import host_label  # the host words live with the host types

    hosts = [host_label(h) if h else "" for h in text_column(sites, "host")]
    rows = [list(r) for r in zip(ranks, ids, places, gained, share, amenities,
                                 text_column(sites, "admin_area"), cost, hosts,
                                 text_column(sites, "hours"), strict=True)]
    labels = [f"{r}. {nm or pl or i}" for r, nm, pl, i in zip(ranks, names, places, ids,
                                                              strict=True)]
    payload = {
        **point_payload(sites.geometry),
        "rank": ranks,
        "kind": kind_idx,
        "label": labels,
        "rows": rows,
        "why": [_why(k, g, s, a, r) for k, g, s, a, r in
                zip(kind_keys, gained, share, amenities, reasons, strict=True)],
    }
    options = {
        "kinds": [{"key": k, "label": label, "color": color} for k, label, color in KINDS],
        "field_labels": list(_FIELDS),
        "why_title": "为什么 Why",
    }
    add_overlay(m, Overlay(name=name, kind="sites", payload=payload, options=options, show=show))
    record_bounds(m, bounds_of(sites))
    counts = np.bincount(np.asarray(kind_idx, dtype=np.int64), minlength=2)
    items = tuple(
        LegendItem(f"{label}（{counts[i]}）", "rank", color, text="1" if i == 0 else "↑")
        for i, (_, label, color) in enumerate(KINDS) if counts[i]
    )
    add_legend_section(m, LegendSection(
        "选址建议 Suggestions", items, "数字为优先顺序 numbers give the order of priority",
    ))
    return m
