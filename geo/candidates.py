"""Candidate sites for new rest stations, and existing stations as upgrade candidates.

Three sources, one table (:data:`CANDIDATE_COLUMNS`, EPSG:4326 points):

- :func:`network_candidates` -- road-network nodes in and around gap areas (or any zones),
  thinned so no two are closer than ``spacing_m`` (default :data:`DEFAULT_SPACING_M` = 200 m,
  about a 3-minute walk: finer spacing adds candidates that cover almost the same demand and
  only slows the solver; coarser spacing can miss the best corner of a gap). Within the spacing,
  nodes where more roads meet win (a station at a junction is reachable from more directions),
  then the lower node index; the thinning is the greedy maximal independent set in that order,
  computed round by round over all pairs at once.
- :func:`read_candidates` -- the user's list (union-owned buildings, partner shops, banks,
  petrol stations), in any format :func:`yizhan.stations.readers.read_table` takes, with optional cost
  and capacity columns; ids are kept as given.
- :func:`upgrade_candidates` -- existing stations that miss an amenity some rule requires; an
  upgrade adds every missing amenity (at ``cost_per_amenity`` each) so the station then counts
  for every rule.

New sites are assumed to be built to the rules' requirements (every required amenity), so they
count for every rule. :func:`spacing_conflicts` and :func:`near_stations` turn a minimum
spacing between stations into solver constraints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from yizhan.geo.coverage import IN_SERVICE
from yizhan.geo.network import RoadNetwork
from yizhan.geo.rules import CoverageRule
from yizhan.stations.columns import find_column, normalize_header
from yizhan.stations.coords import local_utm_of, normalize_datum, to_wgs84
from yizhan.stations.hours import HoursError, parse_hours
from yizhan.stations.inventory import FORMULA_ID_EN, FORMULA_ID_ZH
from yizhan.stations.numbers import parse_numbers
from yizhan.stations.readers import read_table
from yizhan.stations.standards import load_standard

from yizhan import log
from yizhan.errors import ConfigError, InputFileError
from yizhan.io import neutralise_formula

#: Columns of every candidate table (geometry last), in order.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id", "name", "kind", "source", "cost", "capacity", "amenities_to_add",
    "station_id", "node_id", "source_row", "host", "hours",
)
#: Columns a candidate table may leave out ("" for every row): the host type (银行 bank, 加油站
#: fuel ..., :mod:`yizhan.geo.hosts`) and the host's opening hours.
OPTIONAL_TEXT_COLUMNS = ("host", "hours")
#: Headers of a candidate file's host-type column (before the inventory's 依托单位 host).
CANDIDATE_HOST_HEADERS = ("host_type", "依托类型", "场所类型", "合作类型")

#: Default minimum spacing between network candidates (metres).
DEFAULT_SPACING_M = 200.0

#: Default distance around a gap area in which network nodes are candidates (metres).
DEFAULT_BUFFER_M = 300.0

#: Default cost of upgrading one amenity, relative to building one new station (cost 1).
DEFAULT_UPGRADE_COST = 0.25

_COST_ALIASES = {normalize_header(a) for a in (
    "cost", "费用", "成本", "造价", "建设费用", "建设成本", "预算", "投资", "金额", "price",
    "buildcost", "建站费用",
)}


def network_candidates(
    net: RoadNetwork,
    zones: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    *,
    spacing_m: float = DEFAULT_SPACING_M,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> gpd.GeoDataFrame:
    """Return network nodes in and around ``zones``, no two closer than ``spacing_m``.

    Parameters
    ----------
    net
        The road network whose nodes are candidate sites.
    zones
        Polygons (gap areas, admin areas) to look in; ``None`` = the whole network.
    spacing_m
        Minimum straight-line distance between two candidates, metres.
    buffer_m
        Also take nodes up to this far outside the zones, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`CANDIDATE_COLUMNS` (``candidate_id`` = ``N`` + OSM node id, ``kind`` = ``new``,
        ``source`` = ``network``), sorted by node index.
    """
    if spacing_m <= 0 or buffer_m < 0:
        raise ConfigError("候选点间距须 > 0。Candidate spacing must be > 0 and the buffer >= 0.")
    xy = np.column_stack([net.x, net.y])
    if zones is None:
        nodes = np.arange(net.n_nodes)
    else:
        geoms = zones.geometry if isinstance(zones, gpd.GeoDataFrame) else zones
        geoms = geoms[geoms.notna() & ~geoms.is_empty]
        if geoms.crs is None:
            geoms = geoms.set_crs("EPSG:4326")
        area = shapely.union_all(geoms.to_crs(net.crs).buffer(buffer_m).to_numpy())
        inside = shapely.contains_xy(area, net.x, net.y) if not area.is_empty else np.zeros(net.n_nodes, bool)
        nodes = np.flatnonzero(inside)
    degree = np.bincount(net.edge_u, minlength=net.n_nodes) + np.bincount(net.edge_v, minlength=net.n_nodes)
    keep = thin_points(xy[nodes], priority=degree[nodes], spacing=spacing_m)
    nodes = np.sort(nodes[keep])
    ids = np.array([f"N{int(v)}" for v in net.node_id[nodes]], dtype=object)
    return _frame(
        candidate_id=ids,
        name=np.array([f"路网节点 node {int(v)}" for v in net.node_id[nodes]], dtype=object),
        kind="new", source="network", cost=np.nan, capacity=np.nan, amenities_to_add="",
        station_id="", node_id=net.node_id[nodes].astype(np.int64), source_row=-1,
        lon=net.lon[nodes], lat=net.lat[nodes],
    )


def thin_points(xy: np.ndarray, *, priority: np.ndarray, spacing: float) -> np.ndarray:
    """Return a mask keeping points no two closer than ``spacing``, best priority first.

    The result is the maximal independent set that the sequential greedy (highest priority,
    then lowest index, drops everything within ``spacing``) gives, computed in rounds over all
    close pairs at once: a point is kept when no undecided neighbour ranks before it.
    """
    n = len(xy)
    if n == 0:
        return np.zeros(0, bool)
    pairs = cKDTree(xy).query_pairs(spacing, output_type="ndarray")
    pairs = pairs[np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) < spacing] if len(pairs) else pairs
    order = np.lexsort((np.arange(n), -np.asarray(priority, float)))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    a, b = pairs[:, 0], pairs[:, 1]
    undecided = np.ones(n, bool)
    kept = np.zeros(n, bool)
    while undecided.any():
        live = undecided[a] & undecided[b]
        la, lb = a[live], b[live]
        beaten = np.zeros(n, bool)
        beaten[np.where(rank[la] < rank[lb], lb, la)] = True
        winners = undecided & ~beaten
        kept |= winners
        undecided &= ~winners
        drop = np.concatenate([lb[winners[la]], la[winners[lb]]])
        undecided[drop] = False
    return kept


#: Headers of a candidate file's id column, before the inventory's id headers (编号, id ...).
CANDIDATE_ID_HEADERS = ("candidate_id", "候选点编号", "候选编号", "site_id", "点位编号")


def candidate_id_column(columns: Sequence[object]) -> str | None:
    """Return the id column of a candidate file: a candidate-id header, else a station-id one."""
    return _candidate_column(columns, CANDIDATE_ID_HEADERS, "station_id")


def _candidate_column(columns: Sequence[object], headers: Sequence[str], field: str) -> str | None:
    """Return the first column named by a candidate-file header, else the inventory's ``field``."""
    wanted = {normalize_header(h) for h in headers}
    found = next((str(c) for c in columns if normalize_header(c) in wanted), None)
    return found or find_column(columns, field)


def read_candidates(
    path: str | Path,
    *,
    crs: str = "wgs84",
    sheet: str | int | None = None,
    host_costs: Mapping[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Return the user's candidate sites from a table or vector file.

    Parameters
    ----------
    path
        CSV, XLSX, GeoJSON, GPKG, Shapefile or Parquet with longitude/latitude columns (经度/纬度,
        lon/lng/lat ...) or point geometry; optional id (candidate_id/候选点编号, else 编号/id), name (名称), cost (费用/成本/造价)
        and capacity (座位数/容纳人数/capacity) columns.
    crs
        Datum of the coordinates: ``wgs84``, ``gcj02`` (Amap/Tencent) or ``bd09`` (Baidu).
    sheet
        Worksheet of a workbook.
    host_costs
        Cost per host type (column 依托类型/host_type/host) for rows without a cost of their own.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`CANDIDATE_COLUMNS` with ``kind`` = ``new`` and ``source`` = ``file``; ids as in the
        file (``<file>:<row>`` when there is no id column), cost and capacity NaN when blank.

    Raises
    ------
    InputFileError
        Naming the row and column of a missing or bad coordinate, cost or capacity, or a
        duplicate id.
    """
    datum = normalize_datum(crs)
    table = read_table(path, sheet=sheet)
    name = str(path)
    if not len(table):
        raise InputFileError("候选点文件没有数据行。The candidate file has no rows.", file=name)
    cols = list(table.columns)
    lon_col, lat_col = find_column(cols, "lon"), find_column(cols, "lat")
    rows = table.index.to_numpy()
    if lon_col and lat_col:
        lon = _numbers(table[lon_col], name, rows, lon_col, required=True)
        lat = _numbers(table[lat_col], name, rows, lat_col, required=True)
    elif isinstance(table, gpd.GeoDataFrame) and table.geometry is not None:
        geo = table.geometry.to_crs("EPSG:4326") if table.crs is not None else table.geometry
        bad = ~(geo.geom_type == "Point").to_numpy() | geo.is_empty.to_numpy()
        if bad.any():
            raise InputFileError("候选点须为点要素。Candidate sites must be point features.",
                                 file=name, row=int(rows[np.flatnonzero(bad)[0]]), field="geometry")
        lon, lat = geo.x.to_numpy(float), geo.y.to_numpy(float)
        datum = "wgs84"
    else:
        raise InputFileError(
            "找不到经纬度列；请加上“经度”和“纬度”两列（或 lon/lat）。"
            " No longitude/latitude columns; add columns 经度 and 纬度 (or lon and lat).",
            file=name,
        )
    out_of_range = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        raise InputFileError(
            f"坐标超出范围：{lon[i]}, {lat[i]}；请填写十进制度数。 Coordinate out of range; use decimal degrees.",
            file=name, row=int(rows[i]), field=lon_col or "geometry",
        )
    if datum != "wgs84":
        lon, lat = (np.asarray(v, float) for v in to_wgs84(lon, lat, datum))
    id_col = candidate_id_column(cols)
    if id_col:
        ids = table[id_col].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        blank = ids == ""
        if blank.any():
            raise InputFileError("候选点编号为空；请填写或删除编号列。A candidate id is blank; fill it in.",
                                 file=name, row=int(rows[np.flatnonzero(blank)[0]]), field=id_col)
        safe = np.array([neutralise_formula(v) for v in ids], dtype=object)
        for k in np.flatnonzero(safe != ids).tolist():
            log.warn(f"{name} 行 row {int(rows[k])}: {FORMULA_ID_ZH}{safe[k]}.{FORMULA_ID_EN}{safe[k]}.")
        ids = safe
    else:
        ids = np.array([f"{Path(path).stem}:{r}" for r in rows], dtype=object)
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        raise InputFileError(f"候选点编号重复：{ids[dup][0]}。Duplicate candidate id {ids[dup][0]!r}.",
                             file=name, row=int(rows[np.flatnonzero(dup)[0]]), field=id_col)
    name_col = find_column(cols, "name")
    names = (table[name_col].astype("string").fillna("").to_numpy(dtype=object) if name_col
             else ids.copy())
    cost_col = next((c for c in cols if normalize_header(c) in _COST_ALIASES), None)
    cap_col = find_column(cols, "capacity")
    cost = _numbers(table[cost_col], name, rows, cost_col) if cost_col else np.full(len(table), np.nan)
    cap = _numbers(table[cap_col], name, rows, cap_col) if cap_col else np.full(len(table), np.nan)
    host = _text_column(table, _candidate_column(cols, CANDIDATE_HOST_HEADERS, "host"))
    if host_costs:
        price = np.array([host_costs.get(h, np.nan) for h in host], dtype=float)
        cost = np.where(np.isnan(cost), price, cost)
    hours = _hours_column(table, find_column(cols, "hours"), name, rows)
    return _frame(
        candidate_id=ids, name=names, kind="new", source="file", cost=cost, capacity=cap,
        amenities_to_add="", station_id="", node_id=-1, source_row=rows.astype(np.int64),
        host=host, hours=hours, lon=lon, lat=lat,
    )


def _text_column(table: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None:
        return np.full(len(table), "", dtype=object)
    return table[column].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _hours_column(table: pd.DataFrame, column: str | None, name: str,
                  rows: np.ndarray) -> np.ndarray:
    """Return the hours cells, each checked (:func:`yizhan.stations.hours.parse_hours`)."""
    texts = _text_column(table, column)
    for k, text in enumerate(texts):
        try:
            parse_hours(text)
        except HoursError as exc:
            raise InputFileError(
                f"无法识别的开放时间 {text!r}（{exc}）；请写成 08:00-20:00、24小时 或"
                " 周一至周五 9:00-17:00，或留空（未记录）。 Unreadable opening hours; write e.g."
                " 08:00-20:00, 24小时, 周一至周五 9:00-17:00, or leave it blank.",
                file=name, row=int(rows[k]), field=column) from exc
    return texts


def upgrade_candidates(
    stations: gpd.GeoDataFrame,
    rules: Sequence[CoverageRule],
    *,
    cost_per_amenity: float | Mapping[str, float] = DEFAULT_UPGRADE_COST,
) -> gpd.GeoDataFrame:
    """Return existing stations that could be upgraded to count for more rules.

    A station is a candidate when it misses an amenity that some rule requires (the rule's
    ``requires`` and, for a rule naming a standard, that standard's required items). The upgrade
    adds every such missing amenity, so the upgraded station counts for every rule.

    Parameters
    ----------
    stations
        Stations GeoDataFrame (stations contract: ``station_id``, one bool column per amenity).
    rules
        The coverage rules.
    cost_per_amenity
        Cost of adding one amenity, or ``{amenity: cost}`` (amenities not listed cost
        :data:`DEFAULT_UPGRADE_COST`); in the same units as the build cost of a new site.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`CANDIDATE_COLUMNS` with ``kind`` = ``upgrade``, ``source`` = ``station``,
        ``candidate_id`` = ``station_id``, ``amenities_to_add`` comma-joined.
    """
    keys = sorted(required_amenities(rules))
    if IN_SERVICE in stations.columns:  # amenities do not open a station closed in this run
        stations = stations.loc[stations[IN_SERVICE].fillna(False).astype(bool)]
    n = len(stations)
    if not keys or n == 0:
        return _frame(candidate_id=np.zeros(0, object), name=np.zeros(0, object), kind="upgrade",
                      source="station", cost=np.zeros(0), capacity=np.zeros(0), amenities_to_add="",
                      station_id="", node_id=-1, source_row=-1, lon=np.zeros(0), lat=np.zeros(0))
    missing = np.zeros((n, len(keys)), bool)
    for k, key in enumerate(keys):
        if key in stations.columns:
            missing[:, k] = ~stations[key].fillna(False).astype(bool).to_numpy()
        else:
            missing[:, k] = True
    price = np.array([
        float(cost_per_amenity.get(k, DEFAULT_UPGRADE_COST)) if isinstance(cost_per_amenity, Mapping)
        else float(cost_per_amenity) for k in keys
    ])
    if (price < 0).any() or not np.isfinite(price).all():
        raise ConfigError("升级费用须为非负数。Upgrade costs must be numbers >= 0.")
    sel = np.flatnonzero(missing.any(axis=1))
    key_arr = np.array(keys, dtype=object)
    add = np.array([",".join(key_arr[missing[i]]) for i in sel], dtype=object)
    pts = stations.geometry.to_crs("EPSG:4326") if stations.crs is not None else stations.geometry
    ids = stations["station_id"].astype(str).to_numpy(dtype=object)[sel]
    names = (stations["name"].astype("string").fillna("").to_numpy(dtype=object)[sel]
             if "name" in stations.columns else ids.copy())
    cap = (pd.to_numeric(stations["capacity"], errors="coerce").to_numpy(float)[sel]
           if "capacity" in stations.columns else np.full(sel.size, np.nan))
    rows = (pd.to_numeric(stations["source_row"], errors="coerce").fillna(-1).to_numpy(np.int64)[sel]
            if "source_row" in stations.columns else np.full(sel.size, -1))
    return _frame(
        candidate_id=ids, name=names, kind="upgrade", source="station",
        cost=missing[sel].astype(float) @ price, capacity=cap, amenities_to_add=add,
        station_id=ids, node_id=-1, source_row=rows,
        lon=pts.x.to_numpy(float)[sel], lat=pts.y.to_numpy(float)[sel],
    )


def required_amenities(rules: Sequence[CoverageRule]) -> set[str]:
    """Return every amenity key some rule requires (its ``requires`` and its standard's items)."""
    keys: set[str] = set()
    for rule in rules:
        keys |= set(rule.requires)
        if rule.standard:
            keys |= set(load_standard(rule.standard).required)
    return keys


def spacing_conflicts(points: gpd.GeoSeries | gpd.GeoDataFrame, *, min_spacing_m: float) -> np.ndarray:
    """Return ``(k, 2)`` index pairs of points closer than ``min_spacing_m`` (straight line, metres)."""
    xy = _projected(points)
    if len(xy) < 2 or min_spacing_m <= 0:
        return np.zeros((0, 2), np.int64)
    pairs = cKDTree(xy).query_pairs(min_spacing_m, output_type="ndarray")
    if len(pairs):
        pairs = pairs[np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) < min_spacing_m]
    pairs = np.sort(pairs.reshape(-1, 2).astype(np.int64), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def near_stations(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    stations: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    min_spacing_m: float,
) -> np.ndarray:
    """Return a mask of points closer than ``min_spacing_m`` to any station (straight line)."""
    if len(points) == 0 or len(stations) == 0 or min_spacing_m <= 0:
        return np.zeros(len(points), bool)
    both = pd.concat([_geoms(points), _geoms(stations)], ignore_index=True)
    xy = _projected(gpd.GeoSeries(both, crs="EPSG:4326"))
    p, s = xy[: len(points)], xy[len(points):]
    dist, _ = cKDTree(s).query(p)
    return dist < min_spacing_m


# ---------------------------------------------------------------------------------------------


def _geoms(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> gpd.GeoSeries:
    geo = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geo.crs is None:
        geo = geo.set_crs("EPSG:4326")
    return geo.to_crs("EPSG:4326").reset_index(drop=True)


def _projected(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    geo = _geoms(frame)
    if not len(geo):
        return np.zeros((0, 2))
    utm = local_utm_of(geo)
    proj = geo.to_crs(utm)
    return np.column_stack([proj.x.to_numpy(float), proj.y.to_numpy(float)])


def _numbers(values: pd.Series, file: str, rows: np.ndarray, field: str, *, required: bool = False) -> np.ndarray:
    nums, blank = parse_numbers(values, degrees=required)  # required: the coordinates
    bad = ~blank & np.isnan(nums)
    if required:
        bad |= blank
    else:
        bad |= np.isfinite(nums) & (nums < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"“{field}”须为{'数字' if required else '非负数字或留空'}：{values.iloc[i]!r}。"
            f" {field!r} must be {'a number' if required else 'a number >= 0 or blank'};"
            f" got {values.iloc[i]!r}.",
            file=file, row=int(rows[i]), field=field,
        )
    return nums


def _frame(*, lon: np.ndarray, lat: np.ndarray, **columns: object) -> gpd.GeoDataFrame:
    n = len(np.atleast_1d(lon))
    data = {}
    for c in CANDIDATE_COLUMNS:
        value = columns.get(c, "") if c in OPTIONAL_TEXT_COLUMNS else columns[c]
        if isinstance(value, np.ndarray):
            data[c] = value
        else:
            data[c] = np.full(n, value, dtype=object if isinstance(value, str) else None)
    frame = pd.DataFrame(data)
    for c in ("cost", "capacity"):
        frame[c] = frame[c].astype(float)
    for c in ("node_id", "source_row"):
        frame[c] = frame[c].astype(np.int64)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
