"""The one polygon overlay behind service areas, hotspots, gaps and admin areas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
from yizhan.maps._geometry import bounds_of, polygon_payload, simplify_polygons
from yizhan.maps._runtime import Overlay, add_overlay, check_color, record_bounds

DEFAULT_TOLERANCE_M = 8.0
"""Polygon simplification tolerance in metres: invisible at street zoom, much smaller files."""


@dataclass(frozen=True)
class PolygonStyle:
    """How an overlay of polygons looks: colours, line, opacity, simplification, visibility.

    ``palette`` holds the fill colours the overlay's ``color_index`` picks from; ``stroke``
    gives one outline colour for all (else each outline has its fill colour); ``dash`` is an
    SVG dash pattern (``"4 3"``); ``show`` whether the layer is on when the map opens;
    ``permanent_labels`` writes each polygon's label on it (else the label is a hover tooltip);
    overlays with the same ``exclusive`` key show one at a time (switching one on hides the
    others).
    """

    palette: Sequence[str]
    fill_opacity: float = 0.3
    weight: float = 1.5
    opacity: float = 0.9
    dash: str | None = None
    stroke: str | None = None
    interactive: bool = True
    show: bool = True
    tolerance_m: float = DEFAULT_TOLERANCE_M
    permanent_labels: bool = False
    exclusive: str | None = None


@dataclass(frozen=True)
class PopupLinks:
    """One relative link per polygon in its popup (``None`` = no link), under ``label``."""

    urls: Sequence[str | None]
    label: str = "打开 open"


def polygon_overlay(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    labels: Sequence[str],
    rows: Sequence[Sequence[str]] | None,
    field_labels: Sequence[str],
    color_index: Sequence[int],
    style: PolygonStyle,
    subtitles: Sequence[str] | None = None,
    popup_links: PopupLinks | None = None,
) -> Overlay | None:
    """Add one overlay of polygons (EPSG:4326 frame, rows aligned with ``labels``) to ``m``.

    ``labels`` are tooltips and popup titles, ``rows`` the popup values under ``field_labels``,
    ``color_index`` picks each polygon's colour from ``style.palette`` (outline too, unless
    ``style.stroke`` gives one outline colour). ``popup_links`` adds a link per polygon to its
    popup (relative URLs only, e.g. a district's own map; anything else is refused). Rows that are not polygons or
    vanish when simplified are dropped. Returns the overlay, or ``None`` if nothing was left.
    """
    links = popup_links.urls if popup_links is not None else None
    if links is not None:
        for url in links:
            if url is not None and not _is_relative_url(url):
                raise ValueError(f"popup links must be relative paths, not {url!r}")
    gdf = gdf.reset_index(drop=True).assign(
        _label=list(labels), _color=list(color_index),
        _row=list(rows) if rows is not None else [[] for _ in range(len(gdf))],
        _sub=list(subtitles) if subtitles is not None else [""] * len(gdf),
        _link=list(links) if links is not None else [None] * len(gdf),
    )
    gdf = simplify_polygons(gdf, tolerance_m=style.tolerance_m)
    if gdf.empty:
        return None
    payload = {
        "geom": polygon_payload(gdf.geometry),
        "label": gdf["_label"].tolist(),
        "color": [int(c) for c in gdf["_color"]],
        "rows": [list(r) for r in gdf["_row"]],
    }
    if subtitles is not None:
        payload["subtitle"] = gdf["_sub"].tolist()
    if links is not None:
        payload["links"] = [v if isinstance(v, str) else None for v in gdf["_link"]]
    options = {
        "palette": [check_color(c) for c in style.palette],
        "fill_opacity": style.fill_opacity,
        "weight": style.weight,
        "opacity": style.opacity,
        "dash": style.dash,
        "stroke": check_color(style.stroke) if style.stroke else None,
        "interactive": style.interactive,
        "field_labels": list(field_labels) if rows is not None else [],
        "link_label": popup_links.label if popup_links is not None else "打开 open",
        "permanent_labels": style.permanent_labels,
        "exclusive": style.exclusive,
    }
    overlay = add_overlay(
        m, Overlay(name=name, kind="polygons", payload=payload, options=options, show=style.show)
    )
    record_bounds(m, bounds_of(gdf))
    return overlay


def _is_relative_url(url: str) -> bool:
    """Return whether ``url`` is a plain relative path (no scheme, host, or absolute path)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("/", "\\"))) and bool(url)
