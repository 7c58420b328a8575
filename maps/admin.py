"""Administrative areas layer: outlines of towns, streets or districts, named on hover."""

from __future__ import annotations

import folium
import geopandas as gpd
from yizhan.maps._geometry import text_column, to_wgs84
from yizhan.maps._labels import ADMIN_COLOR
from yizhan.maps._polygons import DEFAULT_TOLERANCE_M, PolygonStyle, polygon_overlay
from yizhan.maps._runtime import LegendItem, LegendSection, add_legend_section


def add_admin(
    m: folium.Map,
    admin: gpd.GeoDataFrame,
    *,
    name: str = "行政区划 Admin areas",
    show: bool = True,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> folium.Map:
    """Return ``m`` with admin-area outlines (no fill, so clicks reach the layers beneath).

    Parameters
    ----------
    m
        A map from :func:`maps.new_map` or :func:`maps.build_map`.
    admin
        EPSG:4326 polygons with an ``admin_name`` column.
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
    admin = to_wgs84(admin).reset_index(drop=True)
    if admin.empty:
        return m
    names = text_column(admin, "admin_name")
    overlay = polygon_overlay(m, admin, name=name, labels=names, rows=None, field_labels=(), color_index=[0] * len(admin), style=PolygonStyle(palette=(ADMIN_COLOR,), fill_opacity=0.0, weight=1.5, opacity=0.7, dash='4 3', show=show, tolerance_m=tolerance_m))
    if overlay is not None:
        add_legend_section(m, LegendSection(
            "行政区划 Admin areas", (LegendItem("边界 boundary", "line", border=ADMIN_COLOR),),
        ))
    return m
