"""Read a station inventory into one GeoDataFrame in EPSG:4326, with every problem reported.

The flow: :func:`yizhan.stations.readers.read_table` gives the raw rows; headers are mapped onto the
canonical schema (:mod:`yizhan.stations.columns`); coordinates are validated and converted from the
declared datum (:mod:`yizhan.stations.coords`); checklist cells become booleans
(:mod:`yizhan.stations.checklist`); compliance is scored against a standard (:mod:`yizhan.stations.compliance`).
Good rows always load. A row whose location cannot be used is not loaded and is listed in
``problems`` (severity ``error``) and in ``rejected``; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsInt, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from yizhan.stations import coords, identity
from yizhan.stations.amenities import AMENITIES, amenity_label
from yizhan.stations.checklist import UnreadableCellError, parse_checklist_value
from yizhan.stations.columns import map_columns, normalize_header
from yizhan.stations.compliance import compliance
from yizhan.stations.hours import HoursError, parse_hours
from yizhan.stations.numbers import parse_numbers
from yizhan.stations.problems import Problem, problems_frame
from yizhan.stations.readers import read_table, table_problems
from yizhan.stations.standards import Standard, load_standard

from yizhan.errors import InputFileError
from yizhan.io import neutralise_formula

DEFAULT_STANDARD = "xinhui-7"
#: Two stations closer than this (metres) are reported as a duplicate location.
DUPLICATE_DISTANCE_M = 5.0
#: A station farther than this from the median of the others is reported as a likely typo.
OUTLIER_DISTANCE_M = 100_000.0

TEXT_FIELDS = ("name", "address", "town", "type", "opened", "manager", "phone", "hours", "host")
SCHEMA_COLUMNS = ("station_id", *TEXT_FIELDS, "capacity")
TRACE_COLUMNS = ("id_source", "orig_lon", "orig_lat", "orig_crs", "source_file", "source_row")


@dataclass(frozen=True)
class Inventory:
    """Return value of :func:`read_inventory`.

    Attributes
    ----------
    stations
        One row per loaded station (EPSG:4326 points) with the canonical columns, amenity
        booleans, compliance columns, traceability columns and every unknown column as given.
    problems
        Table of :class:`yizhan.stations.problems.Problem` rows (file, row, field, value, problem, ...).
    rejected
        The raw rows that could not be loaded (no usable location), indexed by spreadsheet row.
    standard
        The standard compliance was scored against.
    datum
        The coordinate system the file was declared in (``wgs84``, ``gcj02`` or ``bd09``).
    """

    stations: gpd.GeoDataFrame
    problems: pd.DataFrame
    rejected: pd.DataFrame
    standard: Standard
    datum: str
    source: str = ""
    amenity_columns: tuple[str, ...] = field(default=())


def read_inventory(
    path: str | Path,
    *,
    crs: str = "wgs84",
    standard: str | Path | Standard = DEFAULT_STANDARD,
    sheet: str | int | None = None,
    roads: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
) -> Inventory:
    """Return the stations of an inventory file with compliance and a table of problems.

    Parameters
    ----------
    path
        XLSX, CSV (UTF-8 or GBK), GeoJSON, GeoPackage, Shapefile or Parquet.
    crs
        Datum of the coordinates in the file: ``wgs84``, ``gcj02`` (Amap, Tencent) or ``bd09``
        (Baidu); aliases such as ``高德`` are accepted. Converted to WGS-84 on load; the
        original values are kept in ``orig_lon``/``orig_lat``.
    standard
        Built-in profile name (``xinhui-7``, ``acftu``, ``drivers-home``) or a TOML file.
    sheet
        Worksheet of a workbook (first by default).
    roads
        Optional road lines (EPSG:4326) used to check that the declared datum fits the streets.

    Returns
    -------
    Inventory
        Stations, problems and rejected rows. The input file is never modified.
    """
    source = str(path)
    datum = coords.normalize_datum(crs)
    std = load_standard(standard)
    raw = read_table(path, sheet=sheet)
    report = _Report(source)
    report.problems.extend(table_problems(raw))

    geometry = raw.geometry if isinstance(raw, gpd.GeoDataFrame) else None
    table = pd.DataFrame(raw.drop(columns=raw.geometry.name)) if geometry is not None else raw
    mapping = map_columns(table.columns)
    header_of = {key: str(col) for col, key in mapping.items()}
    serial = next((c for c in table.columns if normalize_header(c) == "序号"), None)
    if "station_id" not in header_of and serial is not None \
            and not identity.is_row_number_column(table[serial]):
        mapping[serial] = "station_id"  # 序号 holding codes, not 1..N
        header_of["station_id"] = str(serial)
    rows = table.index.to_numpy()

    lon, lat = _coordinates(table, geometry, header_of, source, report)
    lon, lat, ok = _validate_coordinates(lon, lat, rows, header_of, report)

    # Amenity checklist cells.
    amenity_keys = [k for k in AMENITIES if k in header_of]
    amenity_values: dict[str, Any] = {}
    for key in amenity_keys:
        col = header_of[key]
        values = np.zeros(len(table), dtype=bool)
        for i, (row, cell) in enumerate(zip(rows, table[col].tolist(), strict=True)):
            try:
                values[i] = parse_checklist_value(cell)
            except UnreadableCellError:
                report(int(row), col, cell,
                       "无法识别的勾选值，已按“无”处理；请填写 是/否、有/无、✓/✗ 或 1/0。",
                       f"Unreadable checklist value, counted as absent; use 是/否, 有/无, ✓/✗ or 1/0"
                       f" for {amenity_label(key)}.",
                       "error", "bad_checklist_value")
        amenity_values[key] = values
    for key in std.required:
        if key not in header_of:
            report(None, key, "",
                   f"缺少标准 {std.name} 的必备项“{AMENITIES[key].zh}”这一列，所有站点记为“未记录”"
                   "（不是“没有”）。",
                   f"No column for required item {AMENITIES[key].en!r} of standard {std.name};"
                   " every station is 'not recorded' for it (not 'lacking'). Add the column to"
                   " the inventory.",
                   "warning", "missing_amenity_column")
            amenity_values[key] = pd.array([pd.NA] * len(table), dtype="boolean")

    out = pd.DataFrame(index=table.index)
    file_ids = _file_ids(table, header_of, rows, report)
    out["station_id"] = ""
    for fld in TEXT_FIELDS:
        out[fld] = table[header_of[fld]].map(_text) if fld in header_of else ""
    out["capacity"] = _capacity(table, header_of, rows, report)
    _check_hours(table, header_of, rows, report)
    for key in AMENITIES:
        if key in amenity_values:
            out[key] = amenity_values[key]
    _check_names(out["name"], header_of, rows, report)
    out["orig_lon"] = lon
    out["orig_lat"] = lat
    out["orig_crs"] = datum
    out["source_file"] = source
    out["source_row"] = rows.astype(int)
    known = set(mapping)
    for col in table.columns:
        if col not in known and col not in out.columns:
            out[col] = table[col].map(_text)

    rejected = raw.loc[~ok]
    out = out.loc[ok]
    wlon, wlat = coords.to_wgs84(lon[ok], lat[ok], datum)
    stations = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(wlon, wlat), crs="EPSG:4326")
    _assign_ids(stations, [i for i, keep in zip(file_ids, ok, strict=True) if keep],
                header_of.get("station_id", "station_id"), report)
    _flag_duplicates(stations, report)
    _check_locations(stations, datum, roads, report)

    comp = compliance(stations, std)
    stations = pd.concat([stations, comp], axis=1)
    ordered = [c for c in (*SCHEMA_COLUMNS, *AMENITIES, *comp.columns, *TRACE_COLUMNS) if c in stations]
    rest = [c for c in stations.columns if c not in ordered and c != "geometry"]
    stations = gpd.GeoDataFrame(stations[[*ordered, *rest, "geometry"]], geometry="geometry",
                                crs="EPSG:4326").reset_index(drop=True)
    return Inventory(
        stations=stations,
        problems=problems_frame(report.problems),
        rejected=rejected,
        standard=std,
        datum=datum,
        source=source,
        amenity_columns=tuple(k for k in AMENITIES if k in stations),
    )


class _Report:
    """Collects problems for one file; ``report(row, field, value, zh, en, severity, code)``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def __call__(self, *args: object) -> None:
        row, fld, value, zh, en, severity, code = args
        self.problems.append(
            Problem(self.source, None if row is None else int(cast(SupportsInt, row)), str(fld), _text(value),
                    f"{zh} {en}".strip(), str(severity), str(code))
        )


def _check_names(names: pd.Series, header_of: dict[str, str], rows: np.ndarray,
                 report: _Report) -> None:
    """Report every empty station name (when the sheet has a name column)."""
    if "name" not in header_of:
        return
    for row, name in zip(rows, names, strict=True):
        if not name:
            report(int(row), header_of["name"], "", "站点名称为空，请补充。",
                   "The station name is empty; fill it in.", "warning", "missing_name")


def _check_hours(table: pd.DataFrame, header_of: dict[str, str], rows: np.ndarray,
                 report: _Report) -> None:
    """Report every opening-hours cell :func:`yizhan.stations.hours.parse_hours` cannot read."""
    if "hours" not in header_of:
        return
    column = header_of["hours"]
    for row, cell in zip(rows, table[column].tolist(), strict=True):
        try:
            parse_hours(cell)
        except HoursError as exc:
            report(int(row), column, cell,
                   f"无法识别的开放时间（{exc}），按“未记录”处理；请写成 08:00-20:00、24小时、"
                   "7:00-12:00,14:00-18:00、周一至周五 9:00-17:00 或 8:00-次日2:00。",
                   "Unreadable opening hours, counted as not recorded; write e.g. 08:00-20:00,"
                   " 24小时, 7:00-12:00,14:00-18:00, 周一至周五 9:00-17:00 or 8:00-次日2:00.",
                   "error", "bad_hours")


def _text(value: object) -> str:
    """Return a cell as display text (numbers without a spurious ``.0``, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _coordinates(
    table: pd.DataFrame, geometry: gpd.GeoSeries | None, header_of: dict[str, str], source: str,
    report: _Report,
) -> tuple[np.ndarray, np.ndarray]:
    """Return raw lon/lat arrays from lon/lat columns or from point geometry."""
    n = len(table)
    if "lon" in header_of and "lat" in header_of:
        lon, blank_lon = parse_numbers(table[header_of["lon"]], degrees=True)
        lat, blank_lat = parse_numbers(table[header_of["lat"]], degrees=True)
        for key, values, blanks in (("lon", lon, blank_lon), ("lat", lat, blank_lat)):
            col = header_of[key]
            cells = table[col].tolist()
            for i in np.flatnonzero(np.isnan(values)):
                blank = bool(blanks[i])
                report(int(table.index[i]), col, cells[i],
                       "坐标为空，此行未载入；请填写经纬度。" if blank
                       else "坐标不是有限的数字，此行未载入；请填写十进制度数，例如 113.0815。",
                       "Coordinate is empty; row not loaded. Fill in longitude and latitude."
                       if blank else
                       "Coordinate is not a finite number; row not loaded. Use decimal degrees,"
                       " e.g. 113.0815 (degree-minute-second text such as 113°4'53\"E also"
                       " loads).",
                       "error", "missing_coordinate" if blank else "bad_coordinate")
        return lon, lat
    if geometry is not None:
        geo = geometry
        if geo.crs is not None and not geo.crs.equals("EPSG:4326"):
            geo = geo.to_crs("EPSG:4326")
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        is_point = np.asarray(geo.geom_type == "Point") & ~np.asarray(geo.is_empty)
        points = geo.array[is_point]
        lon[is_point] = shapely.get_x(points)
        lat[is_point] = shapely.get_y(points)
        for row, kind in zip(table.index[~is_point], geo.geom_type[~is_point], strict=True):
            report(int(row), "geometry", kind or "",
                   "要素不是点，此行未载入；请把站点存为点要素。",
                   "Feature is not a point; row not loaded. Store stations as point features.",
                   "error", "bad_geometry")
        return lon, lat
    raise InputFileError(
        "找不到经纬度列；请加上“经度”和“纬度”两列（或 lon/lat）。"
        " No longitude/latitude columns found; add columns 经度 and 纬度 (or lon and lat).",
        file=source,
    )


def _validate_coordinates(
    lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, header_of: dict[str, str], report: _Report
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lon, lat (swapped where clearly swapped) and a mask of usable rows."""
    lon = lon.copy()
    lat = lat.copy()
    finite = np.isfinite(lon) & np.isfinite(lat)
    lon_col = header_of.get("lon", "geometry")
    lat_col = header_of.get("lat", "geometry")
    # Swapped: a latitude cannot exceed 90; in China a longitude is never below 60 while a
    # latitude never exceeds 55.
    swapped = finite & (
        ((np.abs(lat) > 90) & (np.abs(lon) <= 90))
        | ((lon >= 3) & (lon <= 55) & (lat >= 73) & (lat <= 136))
    )
    for i in np.flatnonzero(swapped):
        report(int(rows[i]), f"{lon_col}/{lat_col}", f"{lon[i]}, {lat[i]}",
               "经度和纬度似乎填反了，已自动对调；请在源表中改正。",
               "Longitude and latitude look swapped; swapped back. Correct the source table.",
               "warning", "swapped_coordinates")
    lon[swapped], lat[swapped] = lat[swapped], lon[swapped].copy()
    in_range = finite & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    for i in np.flatnonzero(finite & ~in_range):
        report(int(rows[i]), f"{lon_col}/{lat_col}", f"{lon[i]}, {lat[i]}",
               "坐标超出范围（经度 ±180，纬度 ±90），此行未载入。",
               "Coordinates out of range (lon ±180, lat ±90); row not loaded.",
               "error", "coordinate_out_of_range")
    zero = in_range & (lon == 0) & (lat == 0)
    for i in np.flatnonzero(zero):
        report(int(rows[i]), f"{lon_col}/{lat_col}", "0, 0",
               "坐标为 (0, 0)，显然未填写，此行未载入。",
               "Coordinates are (0, 0), clearly not filled in; row not loaded.",
               "error", "coordinate_out_of_range")
    return lon, lat, in_range & ~zero


def _file_ids(
    table: pd.DataFrame, header_of: dict[str, str], rows: np.ndarray, report: _Report
) -> list[str | None]:
    """Return each row's id from the file's id column (None: no column, or a blank cell)."""
    if "station_id" not in header_of:
        return [None] * len(rows)
    col = header_of["station_id"]
    ids: list[str | None] = []
    for row, cell in zip(rows, table[col].tolist(), strict=True):
        text = _text(cell)
        if not text:
            report(int(row), col, "", "站点编号为空，已按名称和位置生成编号。",
                   "Station ID is empty; an ID made from its name and place is used. Fill in an ID.",
                   "warning", "missing_station_id")
            ids.append(None)
            continue
        safe = str(neutralise_formula(text))
        if safe != text:
            report(int(row), col, text, FORMULA_ID_ZH + safe, FORMULA_ID_EN + safe,
                   "warning", "formula_like_id")
        ids.append(safe)
    return ids


def _assign_ids(
    stations: gpd.GeoDataFrame, file_ids: list[str | None], col: str, report: _Report,
) -> None:
    """Set ``station_id`` and ``id_source``: the file's id, else one made from the content.

    Content ids (:func:`yizhan.stations.identity.content_ids`) do not depend on the row. A
    repeated file id is an error in ``problems.csv``; the repeats (after the first in content
    order) get ``<id>#2``, ``<id>#3`` ... so that every output can still join on the id.
    """
    content = identity.content_ids(stations["name"].tolist(), stations.geometry.x.to_numpy(),
                                   stations.geometry.y.to_numpy())
    ids = [f if f is not None else c for f, c in zip(file_ids, content, strict=True)]
    groups: dict[str, list[int]] = {}
    for k, value in enumerate(ids):
        groups.setdefault(value, []).append(k)
    rows = stations["source_row"].to_numpy()
    for value, members in groups.items():
        if len(members) < 2 or file_ids[members[0]] is None:
            continue
        members.sort(key=lambda k: (content[k], k))
        for rank, k in enumerate(members[1:], start=2):
            ids[k] = f"{value}#{rank}"
            report(int(rows[k]), col, value,
                   f"站点编号 {value} 重复（与第 {int(rows[members[0]])} 行相同），此行暂记为 {ids[k]}；"
                   "请为每个站点分配唯一编号。",
                   f"Duplicate station ID {value} (also on row {int(rows[members[0]])}); this row is"
                   f" recorded as {ids[k]} for now. Give every station its own ID.",
                   "error", "duplicate_station_id")
    stations["station_id"] = ids
    stations["id_source"] = ["file" if f is not None else "content" for f in file_ids]


def _flag_duplicates(stations: gpd.GeoDataFrame, report: _Report) -> None:
    """Report rows that are evidently one station (same name within 50 m, any two within 10 m)."""
    if len(stations) < 2:
        return
    xy = stations.geometry.to_crs(coords.local_utm_of(stations))
    pairs = identity.evident_duplicates(stations["name"].tolist(),
                                        np.column_stack([xy.x.to_numpy(), xy.y.to_numpy()]))
    rows = stations["source_row"].to_numpy()
    ids = stations["station_id"].to_numpy()
    for i, j, dist in pairs:
        first, second = sorted((int(rows[i]), int(rows[j])))
        other = ids[i] if int(rows[j]) == second else ids[j]
        report(second, "location", f"{dist:.0f} m",
               f"此行与第 {first} 行（{other}）相距 {dist:.0f} 米，看起来是同一个站点，请确认是否重复录入。",
               f"This row lies {dist:.0f} m from row {first} ({other}) and looks like the same"
               " station; check whether it was entered twice.",
               "warning", "duplicate_station")


#: Said of an id that a spreadsheet would run as a formula (the safe form follows).
FORMULA_ID_ZH = "编号以 = + - @ 开头，电子表格会把它当作公式执行；在所有输出中统一写作 "
FORMULA_ID_EN = (" The ID starts with = + - @, which spreadsheets run as a formula; every output"
                 " writes it as ")


def _capacity(
    table: pd.DataFrame, header_of: dict[str, str], rows: np.ndarray, report: _Report
) -> np.ndarray:
    """Return seats per station (NaN where not given)."""
    if "capacity" not in header_of:
        return np.full(len(table), np.nan)
    col = header_of["capacity"]
    out, blank = parse_numbers(table[col])
    cells = table[col].tolist()
    for i in np.flatnonzero(~blank & (np.isnan(out) | (out < 0))):
        report(int(rows[i]), col, cells[i], "座位数不是非负的有限数字，已忽略。",
               "Capacity is not a finite non-negative number; ignored.", "warning",
               "bad_capacity")
        out[i] = np.nan
    return out


def _check_locations(
    stations: gpd.GeoDataFrame, datum: str, roads: gpd.GeoSeries | gpd.GeoDataFrame | None,
    report: _Report,
) -> None:
    """Report duplicate locations, far outliers and signs of a wrongly declared datum."""
    if stations.empty:
        return
    lon = stations["orig_lon"].to_numpy()
    lat = stations["orig_lat"].to_numpy()
    rows = stations["source_row"].to_numpy()
    utm = coords.local_utm_of(stations)
    projected = stations.geometry.to_crs(utm)
    xy = np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])
    tree = cKDTree(xy)
    for i, j in sorted(tree.query_pairs(DUPLICATE_DISTANCE_M)):
        report(int(rows[j]), "lon/lat", f"{lon[j]}, {lat[j]}",
               f"与第 {int(rows[i])} 行的站点位置相同（{DUPLICATE_DISTANCE_M:g} 米内），请确认是否重复录入。",
               f"Same location as the station on row {int(rows[i])} (within"
               f" {DUPLICATE_DISTANCE_M:g} m); check for a duplicate entry.",
               "warning", "duplicate_location")
    if len(xy) >= 3:
        centre = np.median(xy, axis=0)
        far = np.hypot(*(xy - centre).T) > OUTLIER_DISTANCE_M
        if far.mean() < 0.5:
            for i in np.flatnonzero(far):
                report(int(rows[i]), "lon/lat", f"{lon[i]}, {lat[i]}",
                       "距其他站点超过 100 公里，请检查坐标是否录错。",
                       "More than 100 km from the other stations; check the coordinates.",
                       "warning", "location_outlier")
    check = coords.check_datum(lon, lat, declared=datum, roads=roads)
    for message in check.messages:
        report(None, "lon/lat", "", message, "", "warning", "datum_check")
