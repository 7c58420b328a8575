"""District areas: reading district polygons, buffering them in metres, and who lies inside.

One rule decides membership everywhere (a single-district run with ``[area]`` and the province
run that splits shared inputs by district): a point belongs to an area when it *intersects* the
polygon (boundary included). Points on a shared boundary therefore belong to both districts,
identically in both paths, so a district's results do not depend on how it was run.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from yizhan.stations.coords import local_utm

from yizhan import log
from yizhan.errors import InputFileError

WGS84 = "EPSG:4326"


#: The area of points in no admin polygon: one label for coverage, gaps and siting tables.
OUTSIDE_AREA = "区域外 outside"


def admin_codes(
    points: gpd.GeoSeries, admin: gpd.GeoDataFrame | None
) -> tuple[list[str], np.ndarray]:
    """Return admin area names (:data:`OUTSIDE_AREA` last) and each point's index into them.

    The one point-in-area rule of yizhan (coverage tables, gaps, siting): a point belongs to
    the first polygon in layer order that holds it (borders included); points in none are
    :data:`OUTSIDE_AREA`. Without an admin layer every point is in the one area ``""``.
    """
    n = len(points)
    if admin is None:
        return [""], np.zeros(n, dtype=np.int64)
    if "admin_name" not in admin.columns:
        raise InputFileError(
            "行政区图层缺少 admin_name 列，请添加区域名称列。"
            " The admin layer has no 'admin_name' column; add one with the area names.",
            field="admin_name",
        )
    if admin.crs is not None and not admin.crs.equals("EPSG:4326"):
        admin = admin.to_crs("EPSG:4326")
    names = [str(v) for v in admin["admin_name"].tolist()]
    order = list(dict.fromkeys(names))  # distinct, in first-seen order
    name_code = {name: i for i, name in enumerate(order)}
    poly_code = np.array([name_code[name] for name in names], dtype=np.int64)
    codes = np.full(n, len(order), dtype=np.int64)  # default: outside
    if n and len(admin):
        tree = shapely.STRtree(admin.geometry.to_numpy())
        pts = points.to_crs("EPSG:4326") if points.crs is not None else points
        pt_idx, poly_idx = tree.query(pts.to_numpy(), predicate="intersects")
        if len(pt_idx):
            # first polygon in layer order wins for points on shared borders / overlaps
            order_idx = np.lexsort((poly_idx, pt_idx))
            pt_sorted, poly_sorted = pt_idx[order_idx], poly_idx[order_idx]
            first = np.r_[True, pt_sorted[1:] != pt_sorted[:-1]]
            codes[pt_sorted[first]] = poly_code[poly_sorted[first]]
    return [*order, OUTSIDE_AREA], codes


def admin_of_points(points: gpd.GeoSeries, admin: gpd.GeoDataFrame | None) -> np.ndarray:
    """Return the ``admin_name`` of each point by :func:`admin_codes` (``""`` without a layer)."""
    names, codes = admin_codes(points, admin)
    return np.array(names, dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)


#: Columns taken as the area name when none is named, in this order.
AREA_NAME_FIELDS: tuple[str, ...] = ("admin_name", "name", "NAME", "名称", "district", "区县", "区域",
                                     "街道", "镇街", "qh", "ZONE")


def read_areas(path: str | Path, *, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Return the polygons of a vector file as ``name`` + ``geometry`` in EPSG:4326.

    The one polygon reader of yizhan: district areas (``[area]``, province districts) and
    admin areas (:func:`read_admin_areas`) alike, for every command.

    Parameters
    ----------
    path
        GeoJSON, GPKG or Shapefile of polygons, in any CRS; a file without a CRS is read as
        lon/lat (with a warning) when its coordinates are degrees, and refused otherwise.
    name_field
        Column holding each area's name; by default the first of :data:`AREA_NAME_FIELDS`
        that exists.

    Raises
    ------
    InputFileError
        If the file cannot be read, has no CRS and is not in degrees, the name column is
        missing, a name is blank or repeated, or a row's geometry is not a polygon (naming
        the row as the attribute table shows it).
    """
    path = Path(path)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # GDAL raises several types
        raise InputFileError(
            f"无法读取区域文件（{exc}），请提供 GeoJSON/GPKG/Shapefile 面图层。"
            f" Cannot read the area file ({exc}); give a GeoJSON/GPKG/Shapefile of polygons.",
            file=str(path),
        ) from exc
    field = name_field or next((c for c in AREA_NAME_FIELDS if c in frame.columns), None)
    if field is None or field not in frame.columns:
        raise InputFileError(
            f"区域文件没有名称列 {name_field or 'name'!r}（现有列：{list(frame.columns)}），"
            "请写明名称列（配置 name_field 或 --admin-field）。"
            f" The area file has no name column {name_field or 'name'!r} (it has"
            f" {list(frame.columns)}); name it (name_field in the config, or --admin-field).",
            file=str(path), field=name_field or "name",
        )
    frame = _to_wgs84(frame, path)
    names = frame[field].astype("string").str.strip()
    for position, (name, geom) in enumerate(zip(names, frame.geometry, strict=True)):
        row = position + 2  # as a spreadsheet shows the attribute table (header = row 1)
        if pd.isna(name) or not name:
            raise InputFileError("区域名称为空，请填写。The area name is blank; fill it in.",
                                 file=str(path), row=row, field=field)
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputFileError(
                "该行不是面（多边形），请修正几何。This row is not a polygon; fix its geometry.",
                file=str(path), row=row, field="geometry",
            )
    dup = names.duplicated(keep=False)
    if dup.any():
        first = names[dup].iloc[0]
        raise InputFileError(
            f"区域名称 {first!r} 重复，请让每个名称唯一（或把同名的面合并成一个多面）。"
            f" The area name {first!r} is repeated; make every name unique (or merge the"
            " polygons of one area into one multipolygon).",
            file=str(path), field=field,
        )
    geoms = shapely.make_valid(frame.geometry.to_numpy())
    return gpd.GeoDataFrame({"name": names.to_numpy(dtype=object)}, geometry=geoms, crs=WGS84)


def read_admin_areas(path: str | Path, *, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Return admin areas (towns, streets, parks) as ``admin_name`` + geometry (:func:`read_areas`)."""
    return read_areas(path, name_field=name_field).rename(columns={"name": "admin_name"})


def _to_wgs84(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326; a frame without CRS must be in degrees."""
    if frame.crs is not None:
        return frame.to_crs(WGS84)
    minx, miny, maxx, maxy = frame.total_bounds if len(frame) else (0.0, 0.0, 0.0, 0.0)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputFileError(
            "区域文件没有坐标系信息且坐标不像经纬度，请一并提供 .prj 文件或另存为 GeoJSON。"
            " The area file has no CRS and its coordinates are not degrees; ship its .prj file"
            " or save it as GeoJSON.",
            file=str(path),
        )
    log.warn(f"{path} 没有坐标系信息，按 WGS-84 经纬度读取。{path} has no CRS; read as WGS-84 lon/lat.")
    return frame.set_crs(WGS84)


def select_area(areas: gpd.GeoDataFrame, name: str | None, *, file: str) -> BaseGeometry:
    """Return the polygon named ``name`` (all polygons merged when ``name`` is None)."""
    if name is None:
        return shapely.union_all(areas.geometry.to_numpy())
    hit = areas.loc[areas["name"] == name]
    if hit.empty:
        known = ", ".join(areas["name"].astype(str).head(20))
        raise InputFileError(
            f"区域文件中没有名为 {name!r} 的区域；现有：{known}。"
            f" The area file has no area named {name!r}; it has: {known}.",
            file=file,
        )
    return hit.geometry.iloc[0]


def buffer_area(area: BaseGeometry, metres: float) -> BaseGeometry:
    """Return ``area`` (lon/lat) grown by ``metres``, buffered in the local UTM zone."""
    if metres <= 0:
        return area
    lon, lat = area.centroid.x, area.centroid.y
    crs = local_utm([lon], [lat])
    projected = gpd.GeoSeries([area], crs=WGS84).to_crs(crs).buffer(metres, quad_segs=8)
    return projected.to_crs(WGS84).iloc[0]


def in_area(frame: gpd.GeoDataFrame, area: BaseGeometry) -> np.ndarray:
    """Return a boolean mask: which rows of ``frame`` (EPSG:4326) intersect ``area``."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    shapely.prepare(area)
    return np.asarray(shapely.intersects(area, frame.geometry.to_numpy()), dtype=bool)


def assign_to_areas(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return ``(row, area)`` positional pairs of rows of ``frame`` intersecting each area.

    A spatial join (STR-tree) with the same predicate as :func:`in_area`, so splitting a shared
    table by many areas at once gives exactly what filtering it by each area gives. A row on a
    shared boundary appears once per area it touches; rows in no area do not appear.
    """
    if not len(frame) or not len(areas):
        return pd.DataFrame({"row": np.zeros(0, np.int64), "area": np.zeros(0, np.int64)})
    tree = shapely.STRtree(frame.geometry.to_numpy())
    area_idx, row_idx = tree.query(areas.geometry.to_numpy(), predicate="intersects")
    order = np.lexsort((row_idx, area_idx))
    return pd.DataFrame({"row": row_idx[order].astype(np.int64),
                         "area": area_idx[order].astype(np.int64)})
