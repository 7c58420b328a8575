"""Service areas (isochrones) layer: one semi-transparent overlay per coverage rule and cutoff."""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely
from yizhan.maps._geometry import fmt_number, text_column, to_wgs84
from yizhan.maps._labels import RULE_PALETTE
from yizhan.maps._polygons import DEFAULT_TOLERANCE_M, PolygonStyle, polygon_overlay
from yizhan.maps._runtime import LegendItem, LegendSection, add_legend_section
from yizhan.stations.coords import local_utm_of

_FIELDS = ("规则 Rule", "时间/距离上限 Cutoff", "站点数 Stations", "面积 Area (km²)")
_STATION_FIELDS = ("站点 Station", "规则 Rule", "时间/距离上限 Cutoff")


def _cutoff_text(value: object, weight: object) -> str:
    """Return a cutoff for display: seconds as minutes, metres as metres, text as given.

    ``weight`` is the service-area module's cost column: ``"time"`` (seconds) or ``"length"``
    (metres); anything else leaves numbers as plain numbers.
    """
    if value is None or isinstance(value, str):
        return value or ""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if weight == "time":
        return f"{fmt_number(round(number / 60.0, 1))} 分钟 min"
    if weight == "length":
        return f"{fmt_number(number)} 米 m"
    return fmt_number(number)


def add_service_areas(
    m: folium.Map,
    service_areas: gpd.GeoDataFrame,
    *,
    dissolve: bool = True,
    fill_opacity: float = 0.25,
    show: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> folium.Map:
    """Return ``m`` with one service-area overlay per rule and cutoff.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    service_areas
        EPSG:4326 polygons with ``station_id`` (or ``facility_id``), ``rule`` and ``cutoff``
        columns, one row per station, rule and cutoff, as :func:`yizhan.geo.service_areas` makes them;
        with its ``weight`` column (``time``/``length``) cutoffs show as minutes or metres.
        Empty polygons (stations too far from any road) are skipped.
    dissolve
        Merge each rule's polygons into one area (default): overlapping semi-transparent
        isochrones of thousands of stations would otherwise darken into noise and bloat the
        file. ``False`` draws one polygon per station, with the station in its tooltip.
    fill_opacity
        Fill opacity of the areas (0..1).
    show
        Whether the overlays are on when the page opens.
    tolerance_m
        Simplification tolerance in metres.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    areas = to_wgs84(service_areas)
    if areas.empty:
        return m
    n = len(areas)
    costs = areas["weight"].tolist() if "weight" in areas.columns else [None] * n
    cutoff_values = areas["cutoff"].tolist() if "cutoff" in areas.columns else [None] * n
    areas = areas.assign(
        _rule=text_column(areas, "rule"),
        _cutoff=[_cutoff_text(v, w) for v, w in zip(cutoff_values, costs, strict=True)],
        _order=[float(v) if isinstance(v, int | float) else 0.0 for v in cutoff_values],
        _station=[s or f for s, f in zip(text_column(areas, "station_id"),
                                         text_column(areas, "facility_id"), strict=True)],
    )
    # one overlay per rule and cutoff; rules by name, each rule's larger cutoffs first, so the
    # smaller areas are drawn on top of the larger ones they lie in
    keys = (areas[["_rule", "_order", "_cutoff"]].drop_duplicates()
            .sort_values(["_rule", "_order", "_cutoff"], ascending=[True, False, True]))
    items = []
    for i, (rule, _, cutoff) in enumerate(keys.itertuples(index=False)):
        color = i % len(RULE_PALETTE)
        part = areas[(areas["_rule"] == rule) & (areas["_cutoff"] == cutoff)]
        cutoffs = cutoff
        label = f"服务范围 Service area · {rule or '—'}" + (f"（{cutoffs}）" if cutoffs else "")
        if dissolve:
            merged = shapely.union_all(shapely.make_valid(part.geometry.to_numpy()))
            frame = gpd.GeoDataFrame(geometry=[merged], crs=4326)
            area_km2 = float(frame.to_crs(local_utm_of(frame)).area.iloc[0]) / 1e6
            rows = [[rule, cutoffs, fmt_number(part["_station"].nunique()), f"{area_km2:.2f}"]]
            overlay = polygon_overlay(m, frame, name=label, labels=[label], rows=rows, field_labels=_FIELDS, color_index=[color], style=PolygonStyle(palette=RULE_PALETTE, fill_opacity=fill_opacity, weight=1.0, show=show, tolerance_m=tolerance_m))
        else:
            overlay = polygon_overlay(m, part, name=label, labels=[f'{s} · {rule}' for s in part['_station']], rows=[[s, rule, c] for s, c in zip(part['_station'], part['_cutoff'], strict=True)], field_labels=_STATION_FIELDS, color_index=[color] * len(part), style=PolygonStyle(palette=RULE_PALETTE, fill_opacity=fill_opacity, weight=0.8, show=show, tolerance_m=tolerance_m))
        if overlay is not None:
            items.append(LegendItem(label, "fill", RULE_PALETTE[color]))
    if items:
        add_legend_section(m, LegendSection(
            "服务范围 Service areas", tuple(items),
            "沿路网可达范围（半透明） reachable along the road network (semi-transparent)",
        ))
    return m
