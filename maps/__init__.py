"""Folium rendering: one function per layer, one function that assembles the map.

:func:`build_map` turns the analysis (stations, service areas, demand, hotspots, gaps,
suggestions, admin areas) into one HTML map; :func:`save_map` writes it atomically and
:func:`render_png` screenshots it. The ``add_*`` functions add single layers to a map from
:func:`new_map`. Assets are inlined by default (:mod:`yizhan.maps.assets`), so the file works offline.
"""

from typing import TYPE_CHECKING

from yizhan._lazy import lazy_exports

if TYPE_CHECKING:  # the names, for type checkers; imported on first use at run time
    from yizhan.maps.admin import add_admin
    from yizhan.maps.basemaps import BASEMAPS, add_basemaps
    from yizhan.maps.build import MapLayers, build_map, map_html, new_map, save_map
    from yizhan.maps.demand import add_demand_heat, add_hotspots
    from yizhan.maps.districts import add_districts
    from yizhan.maps.gaps import add_gaps
    from yizhan.maps.render import render_png
    from yizhan.maps.service_areas import add_service_areas
    from yizhan.maps.stations import add_stations
    from yizhan.maps.suggestions import add_suggestions

_EXPORTS = {
    "BASEMAPS": "yizhan.maps.basemaps",
    "MapLayers": "yizhan.maps.build",
    "add_admin": "yizhan.maps.admin",
    "add_basemaps": "yizhan.maps.basemaps",
    "add_demand_heat": "yizhan.maps.demand",
    "add_districts": "yizhan.maps.districts",
    "add_gaps": "yizhan.maps.gaps",
    "add_hotspots": "yizhan.maps.demand",
    "add_service_areas": "yizhan.maps.service_areas",
    "add_stations": "yizhan.maps.stations",
    "add_suggestions": "yizhan.maps.suggestions",
    "build_map": "yizhan.maps.build",
    "map_html": "yizhan.maps.build",
    "new_map": "yizhan.maps.build",
    "render_png": "yizhan.maps.render",
    "save_map": "yizhan.maps.build",
}

__all__ = [
    "BASEMAPS",
    "MapLayers",
    "add_admin",
    "add_basemaps",
    "add_demand_heat",
    "add_districts",
    "add_gaps",
    "add_hotspots",
    "add_service_areas",
    "add_stations",
    "add_suggestions",
    "build_map",
    "map_html",
    "new_map",
    "render_png",
    "save_map",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
