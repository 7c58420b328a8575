"""Worker demand layers: a heat map of demand weight and the hotspot polygons."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
from yizhan.maps._geometry import (
    bounds_of,
    fmt_number,
    fmt_share,
    heat_grid,
    point_payload,
    text_column,
    to_wgs84,
)
from yizhan.maps._labels import HEAT_GRADIENT, HOTSPOT_PALETTE, HOTSPOT_STROKE, group_label
from yizhan.maps._polygons import DEFAULT_TOLERANCE_M, PolygonStyle, polygon_overlay
from yizhan.maps._runtime import (
    LegendItem,
    LegendSection,
    Overlay,
    add_legend_section,
    add_overlay,
    record_bounds,
)
from yizhan.stations.coords import local_utm_of

MAX_HEAT_POINTS = 20_000
"""At most this many heat points reach the page; denser demand is gridded first."""
HOTSPOT_POINT_RADIUS_M = 150.0
"""Hotspots given as points are drawn as circles of this radius."""
_HOTSPOT_FIELDS = ("热点 Hotspot", "需求权重 Demand weight", "占比 Share", "主要群体 Main group",
                   "高峰时段 Peak window", "需求点数 Demand points")


def add_demand_heat(
    m: folium.Map,
    demand: gpd.GeoDataFrame,
    *,
    max_points: int = MAX_HEAT_POINTS,
    radius: int = 18,
    blur: int = 16,
    name: str = "劳动者需求热力 Worker demand (heat)",
    show: bool = False,
) -> folium.Map:
    """Return ``m`` with a heat map of demand weight.

    Demand points are summed on a square grid (cell 50 m, grown until at most ``max_points``
    cells remain; weighted centroids), so 200,000 points stay a small, smooth layer.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    demand
        Demand GeoDataFrame (points with ``weight``; a missing ``weight`` counts 1 per point).
    max_points
        Largest number of heat points written to the page.
    radius, blur
        Heat point radius and blur in pixels.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the page opens.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    demand = to_wgs84(demand)
    demand = demand[demand.geometry.geom_type == "Point"]
    if demand.empty:
        return m
    cells, cell_m, peak = heat_grid(demand, max_points=max_points)
    if cells.empty:
        return m
    # Heat intensities 0..1 relative to the 98th percentile of local (3 x 3 cell) sums, so the
    # densest places saturate without one huge cell washing out the rest of the city.
    w = cells["weight"].to_numpy()
    intensity = np.round(np.clip(w / (peak or float(w.max())), 0.0, 1.0), 4)
    payload = {**point_payload(cells.geometry), "w": intensity.tolist()}
    options = {"radius": radius, "blur": blur, "max_zoom": 16, "min_opacity": 0.25,
               "gradient": HEAT_GRADIENT}
    add_overlay(m, Overlay(name=name, kind="heat", payload=payload, options=options, show=show))
    record_bounds(m, bounds_of(demand))
    total = fmt_number(round(float(demand["weight"].sum()), 1)) if "weight" in demand.columns \
        else fmt_number(len(demand))
    add_legend_section(m, LegendSection(
        "劳动者需求 Worker demand",
        (LegendItem("低 → 高 low → high", "heat"),),
        f"{fmt_number(len(demand))} 个需求点，总权重 {total}；按 {cell_m:.0f} 米网格汇总。"
        f" {len(demand):,} demand points, total weight {total}; summed on a {cell_m:.0f} m grid.",
    ))
    return m


def _weight_classes(weights: np.ndarray, n_classes: int) -> np.ndarray:
    """Return a 0..n_classes-1 class per weight (quantile breaks; all equal -> middle class)."""
    if len(weights) == 0:
        return np.zeros(0, dtype=np.int64)
    finite = np.where(np.isfinite(weights), weights, 0.0)
    if np.ptp(finite) == 0:
        return np.full(len(weights), n_classes // 2, dtype=np.int64)
    ranks = finite.argsort(kind="stable").argsort(kind="stable")
    return np.minimum(ranks * n_classes // len(weights), n_classes - 1).astype(np.int64)


def add_hotspots(
    m: folium.Map,
    hotspots: gpd.GeoDataFrame,
    *,
    name: str = "需求热点 Demand hotspots",
    show: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    note: str | None = None,
) -> folium.Map:
    """Return ``m`` with hotspot polygons shaded by weight, popups with their figures.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    hotspots
        EPSG:4326 polygons with ``hotspot_id``, ``weight``, ``share``, ``dominant_group``,
        ``peak_window`` and ``n_points``. Point hotspots are drawn as circles of
        :data:`HOTSPOT_POINT_RADIUS_M`.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the page opens.
    tolerance_m
        Simplification tolerance in metres.
    note
        What makes a hotspot (:meth:`yizhan.geo.hotspots.HotspotResult.describe`), shown under
        the legend entry.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    hotspots = to_wgs84(hotspots).reset_index(drop=True)
    if hotspots.empty:
        return m
    points = hotspots.geometry.geom_type == "Point"
    if points.any():
        utm = local_utm_of(hotspots)
        circles = hotspots.geometry[points].to_crs(utm).buffer(HOTSPOT_POINT_RADIUS_M).to_crs(4326)
        hotspots.loc[points, "geometry"] = circles
    weights = hotspots["weight"].to_numpy(dtype=float) if "weight" in hotspots.columns \
        else np.ones(len(hotspots))
    classes = _weight_classes(weights, len(HOTSPOT_PALETTE))
    ids = text_column(hotspots, "hotspot_id")
    weight_text = [fmt_number(v) for v in weights]
    share = [fmt_share(v) for v in hotspots["share"]] if "share" in hotspots.columns \
        else [""] * len(hotspots)
    groups = [group_label(g) if g else "" for g in text_column(hotspots, "dominant_group")]
    rows = [
        list(r) for r in zip(
            ids, weight_text, share, groups, text_column(hotspots, "peak_window"),
            [fmt_number(v) for v in hotspots["n_points"]] if "n_points" in hotspots.columns
            else [""] * len(hotspots),
            strict=True,
        )
    ]
    labels = [f"热点 Hotspot {i} · 权重 weight {w}" for i, w in zip(ids, weight_text, strict=True)]
    overlay = polygon_overlay(m, hotspots, name=name, labels=labels, rows=rows, field_labels=_HOTSPOT_FIELDS, color_index=classes.tolist(), style=PolygonStyle(palette=HOTSPOT_PALETTE, fill_opacity=0.5, weight=1.5, stroke=HOTSPOT_STROKE, show=show, tolerance_m=tolerance_m))
    if overlay is not None:
        record_bounds(m, bounds_of(hotspots))
        add_legend_section(m, LegendSection(
            "需求热点 Demand hotspots",
            (LegendItem("权重低 lower weight", "fill", HOTSPOT_PALETTE[0], HOTSPOT_STROKE),
             LegendItem("权重高 higher weight", "fill", HOTSPOT_PALETTE[-1], HOTSPOT_STROKE)),
            note=note or None,
        ))
    return m
