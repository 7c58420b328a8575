"""Base maps: OpenStreetMap (WGS-84) and Amap/高德 (GCJ-02), switched in the layer control.

Amap tiles are drawn in GCJ-02, which in Guangdong sits 300–600 m from WGS-84. Each base layer
carries its datum (``yizhanDatum`` option); the map runtime redraws every overlay in that datum
when the base map changes, so overlays sit on the right street on both.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from yizhan.maps._runtime import stable, state_of

from yizhan.errors import ConfigError


@dataclass(frozen=True)
class BaseMap:
    """One tile source: key, bilingual name, URL template, attribution, subdomains and datum."""

    key: str
    name: str
    url: str
    attribution: str
    subdomains: str
    datum: str
    max_zoom: int = 19


BASEMAPS: dict[str, BaseMap] = {
    b.key: b
    for b in (
        BaseMap(
            "osm", "开放街道地图 OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
            " 贡献者 contributors",
            "abc", "wgs84",
        ),
        BaseMap(
            "amap", "高德地图 Amap",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
            "&copy; 高德地图 AutoNavi (GCJ-02)", "1234", "gcj02", 18,
        ),
        BaseMap(
            "amap_satellite", "高德卫星图 Amap satellite",
            "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
            "&copy; 高德地图 AutoNavi (GCJ-02)", "1234", "gcj02", 18,
        ),
    )
}


def basemap_datum(key: str) -> str:
    """Return the datum (``wgs84``/``gcj02``) of a base map key.

    Raises
    ------
    ConfigError
        If ``key`` is not a known base map.
    """
    if key not in BASEMAPS:
        known = ", ".join(BASEMAPS)
        raise ConfigError(
            f"未知的底图 {key!r}：请用 {known} 之一。 Unknown base map {key!r}: use one of {known}."
        )
    return BASEMAPS[key].datum


def add_basemaps(
    m: folium.Map, *, keys: tuple[str, ...] = ("osm", "amap", "amap_satellite"),
    default: str = "osm",
) -> folium.Map:
    """Return ``m`` with the base maps ``keys`` added, ``default`` shown first.

    Parameters
    ----------
    m
        A map from :func:`maps.new_map`.
    keys
        Base maps to offer (see :data:`BASEMAPS`).
    default
        The one shown when the page opens; it must be among ``keys`` and have the datum the
        map was made with.

    Raises
    ------
    ConfigError
        For an unknown key, or a default that is not offered.
    """
    for key in keys:
        basemap_datum(key)
    if default not in keys:
        raise ConfigError(
            f"默认底图 {default!r} 不在所选底图中。 Default base map {default!r} is not among"
            f" {', '.join(keys)}."
        )
    state = state_of(m)
    if BASEMAPS[default].datum != state.datum:
        raise ValueError(f"default base map {default!r} does not match the map's datum")
    for key in keys:
        b = BASEMAPS[key]
        layer = folium.TileLayer(
            tiles=b.url, attr=b.attribution, name=b.name, subdomains=b.subdomains,
            max_zoom=b.max_zoom, max_native_zoom=b.max_zoom, overlay=False, control=True,
            show=key == default, yizhan_datum=b.datum,
        )
        m.add_child(stable(m, layer))
    return m
