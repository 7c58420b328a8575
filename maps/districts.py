"""Districts layer of the province map: polygons coloured by coverage, each linking to its map."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
from yizhan.maps._geometry import text_column, to_wgs84
from yizhan.maps._polygons import DEFAULT_TOLERANCE_M, PolygonStyle, PopupLinks, polygon_overlay
from yizhan.maps._runtime import LegendItem, LegendSection, add_legend_section

#: Coverage classes (covered share, %) and their colours; the last colour marks failed runs.
COVERAGE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (50.0, "#d73027", "< 50%"),
    (80.0, "#fc8d59", "50–80%"),
    (95.0, "#91cf60", "80–95%"),
    (float("inf"), "#1a9850", "≥ 95%"),
)
FAILED_COLOR = "#8c8c8c"


def add_districts(
    m: folium.Map,
    districts: gpd.GeoDataFrame,
    *,
    value_column: str,
    value_label: str,
    field_columns: Sequence[str] = (),
    field_labels: Sequence[str] = (),
    link_column: str | None = None,
    name: str = "区县 Districts",
    show: bool = True,
    exclusive: str | None = None,
) -> folium.Map:
    """Return ``m`` with district polygons coloured by a covered share (%), linked to their maps.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map`.
    districts
        EPSG:4326 polygons with a ``district`` name column, ``value_column`` (covered share in
        percent; missing means the district failed or has no figure) and ``field_columns``.
    value_column, value_label
        The share that picks the colour, and its legend title.
    field_columns, field_labels
        Popup rows (values shown as text) and their labels.
    link_column
        Column of relative links (e.g. ``districts/福田区/map.html``) shown in each popup.
    name
        Layer name in the layer control.
    show
        Whether the layer is on when the map opens.
    exclusive
        Key of a set of district layers shown one at a time (one layer per rule: switching
        one on hides the others); the colour classes go into the legend once, with the set's
        layer that is shown first.

    Each district's name is written on it.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    districts = to_wgs84(districts).reset_index(drop=True)
    if districts.empty:
        return m
    values = districts[value_column].astype(float).to_numpy()
    bounds = np.array([c[0] for c in COVERAGE_CLASSES])
    color_index = np.where(np.isnan(values), len(COVERAGE_CLASSES),
                           np.searchsorted(bounds, np.nan_to_num(values), side="right"))
    color_index = np.minimum(color_index, len(COVERAGE_CLASSES))
    palette = [c[1] for c in COVERAGE_CLASSES] + [FAILED_COLOR]
    columns = [text_column(districts, c) for c in field_columns]
    rows = [[col[i] for col in columns] for i in range(len(districts))]
    links = ([v if isinstance(v, str) and v else None for v in districts[link_column]]
             if link_column else None)
    overlay = polygon_overlay(m, districts, name=name, labels=text_column(districts, 'district'), rows=rows, field_labels=list(field_labels), color_index=color_index.tolist(), style=PolygonStyle(palette=palette, fill_opacity=0.45, weight=1.5, opacity=0.9, stroke='#333333', tolerance_m=DEFAULT_TOLERANCE_M, show=show, permanent_labels=True, exclusive=exclusive), popup_links=PopupLinks(links, label="打开本区地图 open the district's map") if links is not None else None)
    if overlay is not None and (show or exclusive is None):
        items = tuple(LegendItem(label, "fill", color=color, border="#333333")
                      for _, color, label in COVERAGE_CLASSES)
        items += (LegendItem("失败或无数据 failed / no figure", "fill", color=FAILED_COLOR,
                             border="#333333"),)
        add_legend_section(m, LegendSection(value_label, items,
                                            note="点击区县打开其地图 click a district to open its map"))
    return m
