"""Assemble the whole map (every layer, legend, base-map switch) and save it atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
from yizhan.maps._runtime import new_page_map
from yizhan.maps.admin import add_admin
from yizhan.maps.assets import AssetMode
from yizhan.maps.basemaps import add_basemaps, basemap_datum
from yizhan.maps.demand import MAX_HEAT_POINTS, add_demand_heat, add_hotspots
from yizhan.maps.gaps import add_gaps
from yizhan.maps.service_areas import add_service_areas
from yizhan.maps.stations import add_stations
from yizhan.maps.suggestions import add_suggestions
from yizhan.stations.standards import Standard, load_standard

from yizhan import log
from yizhan.io import write_text_atomic

SAMPLE_NOTICE_PREFIX = "⚠ "


def new_map(
    *,
    title: str,
    subtitle: str | None = None,
    sample_data_notice: str | None = None,
    assets: AssetMode = "inline",
    mirror: str | None = None,
    basemap: str = "osm",
) -> folium.Map:
    """Return an empty yizhan map with the base-map switch, ready for the ``add_*`` functions.

    Parameters
    ----------
    title
        Page and title-box title (plain text; escaped).
    subtitle
        A second line under the title (plain text).
    sample_data_notice
        If given, a highlighted notice under the title (e.g. that the map shows sample data).
    assets
        ``"inline"`` (self-contained file, works offline), ``"mirror"`` (domestic mirror) or
        ``"cdn"``; see :mod:`yizhan.maps.assets`.
    mirror
        Mirror name or URL template for ``assets="mirror"`` (default ``npmmirror``).
    basemap
        Base map shown first: ``osm`` (WGS-84), ``amap`` or ``amap_satellite`` (GCJ-02).

    Returns
    -------
    folium.Map
        The map; save it with :func:`save_map`.

    Raises
    ------
    ConfigError
        For an unknown asset mode, mirror or base map, or missing asset files (inline mode).
    """
    datum = basemap_datum(basemap)
    notice = SAMPLE_NOTICE_PREFIX + sample_data_notice if sample_data_notice else None
    m = new_page_map(title=title, subtitle=subtitle, notice=notice, assets=assets,
                     mirror=mirror, datum=datum)
    add_basemaps(m, default=basemap)
    return m


@dataclass(frozen=True)
class MapLayers:
    """The layers of an analysis map, each a GeoDataFrame in its data contract, or None."""

    stations: gpd.GeoDataFrame | None = None
    service_areas: gpd.GeoDataFrame | None = None
    demand: gpd.GeoDataFrame | None = None
    hotspots: gpd.GeoDataFrame | None = None
    hotspot_note: str | None = None
    #: (shift label, the stations open for the whole shift): one switchable layer each.
    open_stations: tuple[tuple[str, gpd.GeoDataFrame], ...] = ()
    gaps: gpd.GeoDataFrame | None = None
    suggestions: gpd.GeoDataFrame | None = None
    admin: gpd.GeoDataFrame | None = None


def build_map(
    layers: MapLayers | None = None,
    *,
    title: str,
    standard: Standard | str | None = None,
    assets: AssetMode = "inline",
    sample_data_notice: str | None = None,
    subtitle: str | None = None,
    mirror: str | None = None,
    basemap: str = "osm",
    cluster: bool | None = None,
    max_heat_points: int = MAX_HEAT_POINTS,
) -> folium.Map:
    """Return the whole analysis as one folium map: every given layer, legend and controls.

    Layers, bottom to top: admin areas, service areas (one per rule), demand heat, hotspots,
    gaps, stations, suggestions. Each is an overlay in the layer control; base maps are
    OpenStreetMap and Amap (overlays are redrawn in GCJ-02 on Amap). Any input may be ``None``.
    Shown when the map opens: admin areas, gaps, stations and suggestions (what a union officer
    acts on); service areas, demand heat and hotspots start hidden and are one click away in
    the layer control, so the first view is not nine layers on top of each other.

    Parameters
    ----------
    layers
        :class:`MapLayers`: stations, service areas, demand, hotspots, gaps, suggestions and
        admin areas, GeoDataFrames in the project's data contracts (see the ``add_*``
        functions); default none.
    title
        Map title (plain text).
    standard
        Amenity standard (a :class:`yizhan.stations.standards.Standard`, a built-in name or a TOML
        path) whose items the station popups check; ``None`` uses each station's own columns.
    assets
        ``"inline"`` (default: self-contained, works offline), ``"mirror"`` or ``"cdn"``.
    sample_data_notice
        Highlighted notice under the title, e.g. that the map shows sample data.
    subtitle
        Second title line.
    mirror
        Mirror name or URL template for ``assets="mirror"``.
    basemap
        Base map shown first (``osm``, ``amap`` or ``amap_satellite``).
    cluster
        Cluster station markers (``None``: when there are more than 50).
    max_heat_points
        Largest number of gridded heat points written to the page.

    Returns
    -------
    folium.Map
        The map; write it with :func:`save_map`.
    """
    std = load_standard(standard) if standard is not None else None
    lay = layers or MapLayers()
    m = new_map(title=title, subtitle=subtitle, sample_data_notice=sample_data_notice,
                assets=assets, mirror=mirror, basemap=basemap)
    if lay.admin is not None:
        add_admin(m, lay.admin)
    if lay.service_areas is not None:
        add_service_areas(m, lay.service_areas)
    if lay.demand is not None:
        add_demand_heat(m, lay.demand, max_points=max_heat_points)
    if lay.hotspots is not None:
        add_hotspots(m, lay.hotspots, note=lay.hotspot_note)
    if lay.gaps is not None:
        add_gaps(m, lay.gaps)
    if lay.stations is not None:
        add_stations(m, lay.stations, standard=std, cluster=cluster,
                     exclusive="stations" if lay.open_stations else None)
        for label, open_now in lay.open_stations:
            add_stations(m, open_now, standard=std, cluster=cluster, show=False,
                         name=f"{label} 开放的站点 stations open", exclusive="stations",
                         legend=False)
    if lay.suggestions is not None:
        add_suggestions(m, lay.suggestions)
    return m


def map_html(m: folium.Map) -> str:
    """Return the complete HTML page of a map."""
    return m.get_root().render()


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write the map's HTML page to ``path`` atomically and return the path.

    Parameters
    ----------
    m
        A map from :func:`build_map` or :func:`new_map`.
    path
        Target ``.html`` file; written through a temporary file and renamed, so a crash never
        leaves half a map.

    Returns
    -------
    Path
        ``path``.
    """
    html = map_html(m)
    target = write_text_atomic(path, html)
    # the name only: the folder may be the staging folder of a report, renamed when complete
    log.info(f"地图已保存 map saved: {target.name} ({len(html.encode('utf-8')) / 1e6:.1f} MB)")
    return target
