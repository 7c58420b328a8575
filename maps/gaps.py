"""Gap areas layer: where demand is not covered, with the uncovered weight and groups left out."""

from __future__ import annotations

import folium
import geopandas as gpd
from yizhan.maps._geometry import fmt_number, text_column, to_wgs84
from yizhan.maps._labels import GAP_COLOR, groups_of
from yizhan.maps._polygons import DEFAULT_TOLERANCE_M, PolygonStyle, polygon_overlay
from yizhan.maps._runtime import LegendItem, LegendSection, add_legend_section

_FIELDS = ("缺口 Gap", "规则 Rule", "未覆盖权重 Uncovered weight", "未覆盖群体 Groups left out",
           "所在区域 Area")


def add_gaps(
    m: folium.Map,
    gaps: gpd.GeoDataFrame,
    *,
    name: str = "覆盖缺口 Coverage gaps",
    show: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> folium.Map:
    """Return ``m`` with gap areas: hatched-look purple polygons with uncovered weight and groups.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    gaps
        EPSG:4326 polygons with ``gap_id``, ``rule``, ``uncovered_weight``, ``groups``
        (comma-joined group keys or a list) and ``admin_area``.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the page opens.
    tolerance_m
        Simplification tolerance in metres.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    gaps = to_wgs84(gaps).reset_index(drop=True)
    if gaps.empty:
        return m
    ids = text_column(gaps, "gap_id")
    weight = [fmt_number(v) for v in gaps["uncovered_weight"]] \
        if "uncovered_weight" in gaps.columns else [""] * len(gaps)
    groups = [groups_of(v) for v in gaps["groups"]] if "groups" in gaps.columns \
        else [""] * len(gaps)
    rules = text_column(gaps, "rule")
    rows = [list(r) for r in zip(ids, rules, weight, groups, text_column(gaps, "admin_area"),
                                 strict=True)]
    labels = [f"缺口 Gap {i} · 未覆盖 uncovered {w}" for i, w in zip(ids, weight, strict=True)]
    overlay = polygon_overlay(m, gaps, name=name, labels=labels, rows=rows, field_labels=_FIELDS, color_index=[0] * len(gaps), subtitles=groups, style=PolygonStyle(palette=(GAP_COLOR,), fill_opacity=0.35, weight=2.0, dash='6 4', show=show, tolerance_m=tolerance_m))
    if overlay is not None:
        add_legend_section(m, LegendSection(
            "覆盖缺口 Coverage gaps",
            (LegendItem(f"未覆盖的需求区域（{len(gaps)}） uncovered demand", "fill", GAP_COLOR),),
        ))
    return m
