"""Geometry to payload: WGS-84 and GCJ-02 coordinates, simplified polygons, gridded heat points.

Coordinates are rounded to 6 decimals for points (about 0.1 m) and 5 for polygon vertices (about
1 m), which keeps large maps small without visible change. GCJ-02 comes from
:func:`yizhan.stations.coords.wgs84_to_gcj02`, the project's one implementation of the formula.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from yizhan.stations.coords import local_utm_of, wgs84_to_gcj02

from yizhan import log

DATUMS = ("wgs84", "gcj02")
POINT_DECIMALS = 6
POLYGON_DECIMALS = 5


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326 without empty or missing geometries (a missing CRS is 4326)."""
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    bad = gdf.geometry.isna() | gdf.geometry.is_empty
    if bad.any():
        log.warn(
            f"地图跳过 {int(bad.sum())} 个没有几何的要素。"
            f" The map skips {int(bad.sum())} features without geometry."
        )
        gdf = gdf[~bad]
    return gdf


def bounds_of(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Return ``(min_lon, min_lat, max_lon, max_lat)`` of a non-empty EPSG:4326 frame."""
    minx, miny, maxx, maxy = gdf.total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def both_datums(
    lon: NDArray[np.float64], lat: NDArray[np.float64], decimals: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Return ``({datum: lons}, {datum: lats})`` for WGS-84 and GCJ-02, rounded."""
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    lons = {"wgs84": np.round(lon, decimals).tolist(),
            "gcj02": np.round(np.asarray(g_lon), decimals).tolist()}
    lats = {"wgs84": np.round(lat, decimals).tolist(),
            "gcj02": np.round(np.asarray(g_lat), decimals).tolist()}
    return lons, lats


def point_payload(geoms: gpd.GeoSeries) -> dict[str, Any]:
    """Return ``{"lon": {datum: [...]}, "lat": {datum: [...]}}`` of point geometries.

    Non-point geometries are represented by a point on their surface.
    """
    values = geoms.to_numpy()
    is_point = shapely.get_type_id(values) == 0
    if not is_point.all():
        values = values.copy()
        values[~is_point] = shapely.point_on_surface(values[~is_point])
    lon = shapely.get_x(values)
    lat = shapely.get_y(values)
    lons, lats = both_datums(lon, lat, POINT_DECIMALS)
    return {"lon": lons, "lat": lats}


def _utm(gdf: gpd.GeoDataFrame) -> Any:
    """Return the local UTM CRS of an EPSG:4326 frame (the one rule, :func:`local_utm_of`)."""
    return local_utm_of(gdf)


def simplify_polygons(gdf: gpd.GeoDataFrame, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """Return polygons simplified by ``tolerance_m`` metres (topology kept), in EPSG:4326.

    Rows whose geometry is not (multi)polygonal or becomes empty are dropped.
    """
    geoms = gdf.geometry
    is_poly = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    gdf = gdf[is_poly]
    if gdf.empty or tolerance_m <= 0:
        return gdf
    utm = _utm(gdf)
    simplified = gdf.geometry.to_crs(utm).simplify(tolerance_m, preserve_topology=True)
    out = gdf.set_geometry(simplified.to_crs(4326))
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def polygon_payload(geoms: gpd.GeoSeries) -> dict[str, list[Any]]:
    """Return ``{datum: [feature -> parts -> flat [lat, lon, ...] rings]}`` for polygons.

    The closing vertex of each ring is dropped (Leaflet closes rings itself). Coordinates are
    converted to GCJ-02 in one vectorised call; the only Python loop runs over rings.
    """
    values = geoms.to_numpy()
    parts, part_of = shapely.get_parts(values, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    g_lon, g_lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    flat = {
        "wgs84": np.round(np.column_stack([coords[:, 1], coords[:, 0]]), POLYGON_DECIMALS),
        "gcj02": np.round(np.column_stack([np.asarray(g_lat), np.asarray(g_lon)]),
                          POLYGON_DECIMALS),
    }
    starts = np.searchsorted(coord_of, np.arange(len(rings)))
    ends = np.searchsorted(coord_of, np.arange(len(rings)), side="right")
    out: dict[str, list[Any]] = {}
    for datum in DATUMS:
        xy = flat[datum]
        features: list[list[list[list[float]]]] = [[] for _ in range(len(values))]
        part_lists: list[list[list[float]]] = [[] for _ in range(len(parts))]
        for r in range(len(rings)):
            part_lists[ring_of[r]].append(xy[starts[r]:ends[r] - 1].ravel().tolist())
        for p in range(len(parts)):
            features[part_of[p]].append(part_lists[p])
        out[datum] = features
    return out


def heat_grid(
    demand: gpd.GeoDataFrame, *, max_points: int, start_cell_m: float = 50.0
) -> tuple[gpd.GeoDataFrame, float, float]:
    """Return demand aggregated on a square grid (weighted centroid and summed weight per cell).

    The cell starts at ``start_cell_m`` metres and grows by half until at most ``max_points``
    cells hold demand, so 200,000 points become a few thousand heat points.

    Returns
    -------
    tuple
        ``(cells, cell_m, peak)``: an EPSG:4326 point frame with ``weight`` and ``n_points``
        columns, sorted by cell; the cell size used; and the 98th percentile of the weight
        summed over blocks of 3 x 3 cells, the level at which the heat map should saturate
        (the map's heat kernel blends neighbouring cells, so a single cell's weight is too low).
    """
    weights = (
        demand["weight"].to_numpy(dtype=float)
        if "weight" in demand.columns else np.ones(len(demand))
    )
    weights = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    utm = _utm(demand)
    to_utm = Transformer.from_crs(4326, utm, always_xy=True)
    x, y = to_utm.transform(demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy())
    cell = start_cell_m
    while True:
        ix = np.floor((x - x.min()) / cell).astype(np.int64)
        iy = np.floor((y - y.min()) / cell).astype(np.int64)
        key = ix * (int(iy.max()) + 1) + iy
        uniq, inverse = np.unique(key, return_inverse=True)
        if len(uniq) <= max_points:
            break
        cell *= 1.5
    w = np.bincount(inverse, weights=weights, minlength=len(uniq))
    n = np.bincount(inverse, minlength=len(uniq))
    safe = np.where(w > 0, w, 1.0)
    cx = np.bincount(inverse, weights=weights * x, minlength=len(uniq)) / safe
    cy = np.bincount(inverse, weights=weights * y, minlength=len(uniq)) / safe
    keep = w > 0
    block_key = (ix // 3) * (int(iy.max()) // 3 + 1) + iy // 3
    _, block_inverse = np.unique(block_key, return_inverse=True)
    block_w = np.bincount(block_inverse, weights=weights)
    block_w = block_w[block_w > 0]
    peak = float(np.quantile(block_w, 0.98)) if block_w.size else 1.0
    lon, lat = Transformer.from_crs(utm, 4326, always_xy=True).transform(cx[keep], cy[keep])
    cells = gpd.GeoDataFrame(
        {"weight": w[keep], "n_points": n[keep]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    return cells.reset_index(drop=True), float(cell), peak


def fmt_number(value: object) -> str:
    """Return a number for people: thousands separators, at most one decimal; '' if missing."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return ""
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.1f}"


def fmt_share(value: object) -> str:
    """Return a 0..1 share as a percentage with one decimal; '' if missing."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{number:.1%}" if np.isfinite(number) else ""


def text_column(gdf: pd.DataFrame, column: str) -> list[str]:
    """Return a column as display strings ('' for missing values or a missing column)."""
    if column not in gdf.columns:
        return [""] * len(gdf)
    series = gdf[column]
    return ["" if _missing(v) else str(v) for v in series.tolist()]


def _missing(value: object) -> bool:
    """Return whether a cell value counts as empty."""
    if value is None:
        return True
    if isinstance(value, float) and not np.isfinite(value):
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
