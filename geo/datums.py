"""The datum check of every input against the roads the analysis runs on.

A sheet in GCJ-02 (Amap, Tencent) read as WGS-84 lands 300-700 m off in Chinese cities: coverage
is then computed for the wrong streets without any error. Each input (stations, demand,
candidates) has its own datum (``--stations-crs``, ``--demand-crs``, ``--candidates-crs``; in a run
config the ``crs`` of ``[inventory]`` and of each ``[[demand]]`` layer), so each is checked on its
own with :func:`yizhan.stations.coords.check_datum` against the streets of the road network the
analysis uses. The check only warns: it never changes a coordinate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from yizhan.geo.network import RoadNetwork
from yizhan.stations.coords import DATUMS, DatumCheck, check_datum, from_wgs84, normalize_datum

from yizhan.errors import ConfigError

#: At most this many points of one input are compared with the roads (evenly spread over the
#: rows, so the check takes well under a second however large the demand table is).
MAX_CHECK_POINTS = 5000

#: Names of the inputs in messages (Chinese first).
INPUT_LABELS = {"stations": "站点清单 stations", "demand": "需求点 demand",
                "candidates": "候选点 candidates"}


@dataclass(frozen=True)
class InputDatum:
    """One input to check: its points (EPSG:4326) and the datum its file was declared in.

    Attributes
    ----------
    key
        ``stations``, ``demand`` or ``candidates`` (names the input in messages).
    points
        The input's points as loaded (converted to WGS-84). Columns ``orig_lon``/``orig_lat``,
        when present, are the coordinates as written in the file.
    declared
        The datum the file was read in; inputs in a projected CRS (``EPSG:xxxx``) are not checked.
    fix
        How to set this input's datum, e.g. ``--demand-crs`` or ``crs in [inventory]``.
    source
        The file, for the message.
    """

    key: str
    points: gpd.GeoDataFrame
    declared: str
    fix: str
    source: str = ""


def road_lines(networks: Mapping[str, RoadNetwork]) -> gpd.GeoDataFrame | None:
    """Return the road lines (EPSG:4326, with ``highway``) of the largest network, or None."""
    usable = [net for net in networks.values() if net.n_edges]
    if not usable:
        return None
    net = max(usable, key=lambda n: (n.n_edges, n.mode))
    frame: gpd.GeoDataFrame = net.memo("datum_roads", net.edge_frame)
    return frame


def _file_coordinates(item: InputDatum, datum: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the input's coordinates as written in its file (at most MAX_CHECK_POINTS)."""
    points = item.points
    if len(points) > MAX_CHECK_POINTS:
        take = np.linspace(0, len(points) - 1, MAX_CHECK_POINTS).round().astype(int)
        points = points.iloc[np.unique(take)]
    if {"orig_lon", "orig_lat"} <= set(points.columns):
        lon = pd.to_numeric(points["orig_lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(points["orig_lat"], errors="coerce").to_numpy(float)
        return lon, lat
    geom = points.geometry.to_crs("EPSG:4326") if points.crs is not None else points.geometry
    lon, lat = from_wgs84(geom.x.to_numpy(float), geom.y.to_numpy(float), datum)
    return np.asarray(lon, float), np.asarray(lat, float)


def check_input_datum(item: InputDatum, roads: gpd.GeoDataFrame) -> DatumCheck | None:
    """Return the datum check of one input against ``roads`` (None: not checkable)."""
    try:
        datum = normalize_datum(item.declared)
    except ConfigError:
        return None  # a projected CRS: no Chinese datum shift to detect
    if datum not in DATUMS or not len(item.points):
        return None
    lon, lat = _file_coordinates(item, datum)
    return check_datum(lon, lat, declared=datum, roads=roads)


def datum_warnings(
    networks: Mapping[str, RoadNetwork], inputs: Sequence[InputDatum]
) -> list[str]:
    """Return one bilingual warning per input whose coordinates fit the roads in another datum.

    Each message names the input, its file, the datum that fits better, the figures behind it
    (:func:`yizhan.stations.coords.check_datum`) and the setting that fixes it. Inputs with too
    few points within the roads' extent, or in a projected CRS, give no message.
    """
    roads = road_lines(networks)
    if roads is None:
        return []
    out = []
    for item in inputs:
        check = check_input_datum(item, roads)
        if check is None or check.suggested is None:
            continue
        label = INPUT_LABELS.get(item.key, item.key)
        where = f"（{item.source}）" if item.source else ""
        out.append(
            f"{label}{where}：{check.advice}"
            f" 设置 Set: {item.fix} {check.suggested}."
        )
    return out
