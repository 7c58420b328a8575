"""Folium rendering: one function per layer, one function that assembles the map.

:func:`build_map` turns the analysis (stations, service areas, demand, hotspots, gaps,
suggestions, admin areas) into one HTML map; :func:`save_map` writes it atomically and
:func:`render_png` screenshots it. The ``add_*`` functions add single layers to a map from
:func:`new_map`. Assets are inlined by default (:mod:`maps.assets`), so the file works offline.
"""

from maps.admin import add_admin
from maps.basemaps import BASEMAPS, add_basemaps
from maps.build import build_map, map_html, new_map, save_map
from maps.demand import add_demand_heat, add_hotspots
from maps.districts import add_districts
from maps.gaps import add_gaps
from maps.render import render_png
from maps.service_areas import add_service_areas
from maps.stations import add_stations
from maps.suggestions import add_suggestions

__all__ = [
    "BASEMAPS",
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
