"""Worker demand: where outdoor workers are, as weighted points, from whatever a union has.

A demand layer is a point table (delivery pick-up points, GPS pings of riders, couriers or
drivers, taxi pick-ups, sanitation depots with head counts) in CSV, XLSX, GeoJSON, GPKG,
Shapefile or Parquet, or proxies from OpenStreetMap (:mod:`yizhan.geo.osm_proxies`). Each becomes a
demand GeoDataFrame (EPSG:4326 points; ``demand_id``, ``weight`` > 0, ``group``; ``window`` when
time windows are used) plus a problem table of the rows that could not be used.

Reading a point table (:func:`read_demand_points`)
---------------------------------------------------
- Longitude/latitude columns are found by their Chinese or English names (经度/lng/lon/x,
  纬度/lat/y; :func:`yizhan.stations.columns.find_column`); vector files use their geometry.
- ``crs``: ``wgs84`` (GPS, OSM), ``gcj02`` (Amap/Tencent) or ``bd09`` (Baidu) are converted to
  WGS-84 with :func:`yizhan.stations.coords.to_wgs84`; any other CRS (``EPSG:4547``) is taken as
  projected x/y and transformed with pyproj. The original values stay in ``orig_lon`` /
  ``orig_lat``.
- ``weight``: a column name, a number (the same weight for every row, e.g. a crew size), or
  ``None``: a column called weight/权重/人数/人次/数量 if there is one, else 1 per row.
- ``group``: a worker group (``rider``, ``courier``, ``driver``, ``sanitation``,
  ``construction``, ``other``, or Chinese names such as 骑手, 快递员, 司机, 环卫工人, 建筑工人),
  or the name of a column holding such values per row; ``None``: a group/群体/工种 column if
  present, else ``other``.
- Time windows: with ``windows`` (``{"lunch": "11:00-13:30"}``; windows may cross midnight,
  ``"22:00-02:00"``), each row's time of day is read from the ``time`` column (or a column
  called time/时间/stime/上车时间, or any header with 时间 or time in it) — date-times, times, ``11时30分``, 下午/PM, Unix seconds or
  milliseconds (taken as China time, UTC+8) — and the row gets the name of the first window that
  contains it. Rows outside every window are left out (counted in
  :attr:`DemandResult.n_outside_windows`) unless ``keep_outside=True``, which labels them
  ``other_hours``. A file without any time column gets the window ``all_day`` and a warning in
  the problem table.
- Rows with missing or unreadable coordinates, weights, groups or times are not loaded; each
  becomes a problem row (file, row as Excel shows it with the header in row 1, field, value,
  problem), the table :mod:`yizhan.stations.problems` defines. Good rows are never dropped.

Config TOML (``yizhan demand build CONFIG.toml``)
-------------------------------------------------
Paths are relative to the config file. Every table is optional except at least one
``[[demand]]`` layer or ``[proxies]``::

    [[demand]]                      # one table per layer
    name = "orders"                 # layer name, prefix of demand_id (default: file name)
    path = "orders.xlsx"
    sheet = "Sheet1"                # workbooks only (default: first sheet)
    group = "rider"                 # a group, or a column holding groups
    weight = "单量"                  # a column, or a number per row (default: 1 per row)
    crs = "gcj02"                   # wgs84 | gcj02 | bd09 | EPSG code of x/y columns
    time = "下单时间"                 # time column (needed for [windows])

    [[demand]]
    path = "depots.csv"
    group = "sanitation"
    weight = "人数"

    [windows]                       # name = "HH:MM-HH:MM"; rows outside are left out
    lunch = "11:00-13:30"
    dinner = "17:00-20:00"
    keep_outside = false            # true: keep other hours as window "other_hours"

    [proxies]                       # OpenStreetMap POIs as demand (geo.osm_proxies)
    source = "futian.osm.pbf"       # local OSM file, or a place name when online
    clip = "futian_boundary.geojson"   # optional: keep POIs inside these polygons
    [proxies.weights]               # override a kind's weight (0 = off)
    restaurant = 2.0

    [grid]
    cell = "250m"                   # display grid: "250m" squares or "h3:9" hexagons
    collapse = "50m"                # optional: merge demand per 50 m cell, group and window

    [hotspots]
    method = "dbscan"               # dbscan | hdbscan | kmeans
    eps = "300m"
    min_weight = 20                 # default 0.5 % of all demand
    k = 8                           # kmeans only
    seed = 0
    metric = "projected"            # or "haversine"

Layers without a time column get the window ``all_day`` when ``[windows]`` is set, so proxies
and depots stay in the picture next to time-filtered pings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from yizhan.geo.grid import collapse_demand
from yizhan.geo.osm_proxies import osm_proxies
from yizhan.geo.rules import WORKER_GROUPS, canonical_group, parse_cutoff
from yizhan.stations.columns import find_column, normalize_header
from yizhan.stations.coords import normalize_datum, to_wgs84
from yizhan.stations.numbers import parse_numbers
from yizhan.stations.problems import PROBLEM_COLUMNS, problems_frame
from yizhan.stations.readers import (
    PARQUET_SUFFIXES,
    iter_parquet_parts,
    read_table,
    table_problems,
)

from yizhan import log
from yizhan.errors import ConfigError, InputFileError
from yizhan.io import read_toml

WGS84 = "EPSG:4326"
ALL_DAY = "all_day"
OTHER_HOURS = "other_hours"
CHINA_UTC_OFFSET_S = 8 * 3600

_TIME_RE = re.compile(r"(?P<h>\d{1,2})[:：时点](?P<m>\d{1,2})(?:[:：分](?P<s>\d{1,2}(?:\.\d+)?))?")
_EPOCH_RE = re.compile(r"^\s*(?P<n>\d{10}|\d{13})(?:\.\d+)?\s*$")
_PM_RE = re.compile(r"下午|晚上|傍晚|pm|p\.m\.", re.IGNORECASE)
_AM_RE = re.compile(r"上午|早上|凌晨|am|a\.m\.", re.IGNORECASE)
_WINDOW_RE = re.compile(
    r"^\s*(\d{1,2})[:：](\d{2})\s*(?:-|–|—|~|～|至|到|to)\s*(\d{1,2})[:：](\d{2})\s*$"
)
_LAYER_KEYS = {"name", "path", "sheet", "group", "weight", "crs", "time"}


# --- results and options ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimeWindow:
    """A named time of day from ``start_s`` to ``end_s`` seconds after midnight (may wrap)."""

    name: str
    start_s: int
    end_s: int

    @property
    def label(self) -> str:
        """Return ``"11:00-13:30"``."""
        return f"{_hhmm(self.start_s)}-{_hhmm(self.end_s)}"

    def contains(self, seconds: np.ndarray) -> np.ndarray:
        """Return a boolean mask: start ≤ t < end (wrapping past midnight when end < start)."""
        if self.start_s < self.end_s:
            return (seconds >= self.start_s) & (seconds < self.end_s)
        return (seconds >= self.start_s) | (seconds < self.end_s)


@dataclass(frozen=True)
class DemandResult:
    """Demand points read from one source and the problems found on the way.

    Attributes
    ----------
    points
        Demand GeoDataFrame (EPSG:4326): ``demand_id``, ``weight``, ``group``, ``window`` (when
        windows were given), ``orig_lon``, ``orig_lat``, ``orig_crs``, ``source_file``,
        ``source_row``.
    problems
        One row per problem, columns of :data:`yizhan.stations.problems.PROBLEM_COLUMNS`.
    source
        The file as given.
    n_rows
        Data rows in the file.
    n_outside_windows
        Readable rows left out because their time is in no window.
    """

    points: gpd.GeoDataFrame
    problems: pd.DataFrame
    source: str = ""
    n_rows: int = 0
    n_outside_windows: int = 0


@dataclass(frozen=True)
class TimeWindows:
    """The time windows demand is read in (``[windows]`` of demand build and run alike).

    ``keep_outside`` keeps rows outside every window, as window ``other_hours``; otherwise
    they are left out (and counted).
    """

    windows: tuple[TimeWindow, ...] = ()
    keep_outside: bool = False

    def __bool__(self) -> bool:
        return bool(self.windows)

    @classmethod
    def of(cls, spec: WindowSpec, *, keep_outside: bool = False) -> TimeWindows:
        """Return windows from ``{"lunch": "11:00-13:30"}``, ``["lunch=11:00-13:30"]``, windows or None."""
        if isinstance(spec, TimeWindows):
            return spec
        if not spec:
            return cls((), keep_outside)
        if not isinstance(spec, Mapping) and all(isinstance(w, TimeWindow) for w in spec):
            return cls(tuple(w for w in spec if isinstance(w, TimeWindow)), keep_outside)
        return cls(parse_windows(spec), keep_outside)  # type: ignore[arg-type]


#: What a ``windows`` argument may be.
WindowSpec = Mapping[str, str] | Sequence[str] | Sequence[TimeWindow] | TimeWindows | None


@dataclass(frozen=True)
class LayerConfig:
    """One ``[[demand]]`` table of the config."""

    path: Path
    name: str
    group: str | None = None
    weight: str | float | None = None
    crs: str = "wgs84"
    time: str | None = None
    sheet: str | int | None = None


@dataclass(frozen=True)
class HotspotConfig:
    """The ``[hotspots]`` table (``None`` = the method's default)."""

    method: str = "dbscan"
    eps_m: float | None = None
    min_weight: float | None = None
    k: int | None = None
    seed: int = 0
    metric: str = "projected"


@dataclass(frozen=True)
class DemandConfig:
    """A parsed demand config (see the module docstring for the TOML format)."""

    layers: tuple[LayerConfig, ...] = ()
    windows: TimeWindows = field(default_factory=TimeWindows)
    proxy_source: str | None = None
    proxy_clip: Path | None = None
    proxy_overrides: Mapping[str, object] = field(default_factory=dict)
    cell: str = "250m"
    collapse: str | None = None
    hotspots: HotspotConfig = field(default_factory=HotspotConfig)


@dataclass(frozen=True)
class DemandBuild:
    """All demand layers of a config, combined.

    Attributes
    ----------
    points
        Combined demand GeoDataFrame (layers in config order, rows in file order; ids are the
        files' own or ``<layer>:<row>``, see :func:`combine_demand`), collapsed to
        ``[grid] collapse`` cells when set.
    problems
        Problems of all layers.
    layers
        One row per layer: ``layer``, ``source``, ``rows``, ``loaded``, ``problems``,
        ``outside_windows``, ``weight``.
    """

    points: gpd.GeoDataFrame
    problems: pd.DataFrame
    layers: pd.DataFrame


# --- public API ------------------------------------------------------------------------------


def parse_windows(
    windows: Mapping[str, str | tuple[str, str]] | Sequence[str] | None,
) -> tuple[TimeWindow, ...]:
    """Return time windows from ``{"lunch": "11:00-13:30"}`` or ``["lunch=11:00-13:30"]``.

    Raises
    ------
    ConfigError
        For a window that is not ``HH:MM-HH:MM``, has equal ends, or repeats a name.
    """
    if not windows:
        return ()
    items: list[tuple[str, str | tuple[str, str]]]
    if isinstance(windows, Mapping):
        items = list(windows.items())
    else:
        items = []
        for text in windows:
            label, sep, clock = str(text).partition("=")
            if not sep:
                raise ConfigError(
                    f"时段 {text!r} 应写成 名称=HH:MM-HH:MM，例如 lunch=11:00-13:30。"
                    f" Window {text!r} must be name=HH:MM-HH:MM, e.g. lunch=11:00-13:30."
                )
            items.append((label.strip(), clock))
    out: list[TimeWindow] = []
    for name, span in items:
        span_text = "-".join(span) if isinstance(span, tuple) else str(span)
        match = _WINDOW_RE.match(unicodedata.normalize("NFKC", span_text))
        if not name or not match:
            raise ConfigError(
                f"无法识别时段 {name}={span_text!r}，请写成 HH:MM-HH:MM（例如 11:00-13:30）。"
                f" Cannot read window {name}={span_text!r}; write HH:MM-HH:MM (e.g. 11:00-13:30)."
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise ConfigError(f"时段 {name} 时间无效 Invalid clock time in window {name}: {span_text}")
        start, end = (h1 * 3600 + m1 * 60) % 86400, (h2 * 3600 + m2 * 60) % 86400
        if start == end:
            raise ConfigError(
                f"时段 {name} 起止相同 Window {name} starts and ends at the same time: {span_text}"
            )
        if any(w.name == name for w in out) or name in (ALL_DAY, OTHER_HOURS):
            raise ConfigError(f"时段名称重复或保留 Window name repeated or reserved: {name}")
        out.append(TimeWindow(name, start, end))
    return tuple(out)


def time_of_day(values: pd.Series) -> np.ndarray:
    """Return seconds after midnight for each value, NaN where no clock time can be read.

    Accepts datetime64 columns, date-time or time text (``2020-01-20 11:30:05``, ``11:30``,
    ``11时30分``, ``下午 3:30``, ``3:30 PM``), ``datetime``/``time`` objects, and Unix times in
    seconds (10 digits) or milliseconds (13 digits), read as China time (UTC+8). Vectorised.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        secs = (stamps - stamps.dt.floor("D")).dt.total_seconds()
        return secs.to_numpy(dtype=float, na_value=np.nan)
    text = values.astype(object).where(values.notna(), "").astype(str)
    out = np.full(len(text), np.nan)
    # Fast paths in compiled code for the usual spellings; the regex below only sees the rest.
    todo = np.array(text.str.contains(":", regex=False), dtype=bool)
    for fmt in ("ISO8601", "%H:%M:%S", "%H:%M"):
        if not todo.any():
            break
        try:
            stamps = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        except ValueError:  # e.g. mixed UTC offsets: leave these rows to the regex
            continue
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_localize(None)  # keep the clock time as written
        secs = (stamps - stamps.dt.floor("D")).dt.total_seconds().to_numpy(
            dtype=float, na_value=np.nan
        )
        idx = np.flatnonzero(todo)
        out[idx] = np.where(np.isnan(secs), out[idx], secs)
        todo[idx[~np.isnan(secs)]] = False
    rest = np.flatnonzero(np.isnan(out) & (text != "").to_numpy())
    if len(rest):
        out[rest] = _time_of_day_text(text.iloc[rest])
    return out


def _time_of_day_text(text: pd.Series) -> np.ndarray:
    """Return seconds after midnight from free text (regex; 11时30分, 下午 3:30, epoch)."""
    text = text.str.normalize("NFKC").str.strip()
    parts = text.str.extract(_TIME_RE)
    hours = pd.to_numeric(parts["h"], errors="coerce").to_numpy(dtype=float)
    minutes = pd.to_numeric(parts["m"], errors="coerce").to_numpy(dtype=float)
    seconds = pd.to_numeric(parts["s"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    pm = text.str.contains(_PM_RE).to_numpy(dtype=bool)
    am = text.str.contains(_AM_RE).to_numpy(dtype=bool)
    hours = np.where(pm & (hours < 12), hours + 12, hours)
    hours = np.where(am & (hours == 12), 0.0, hours)
    valid = (hours <= 23) & (minutes <= 59) & (seconds < 60)
    out = np.where(valid, hours * 3600 + minutes * 60 + seconds, np.nan)
    epoch = text.str.extract(_EPOCH_RE)["n"]
    has_epoch = epoch.notna().to_numpy()
    if has_epoch.any():
        raw = pd.to_numeric(epoch[has_epoch]).to_numpy(dtype=float)
        raw = np.where(raw >= 1e12, raw / 1000.0, raw)
        out[has_epoch] = np.floor(raw + CHINA_UTC_OFFSET_S) % 86400
    return out


def read_demand_points(
    path: str | Path,
    *,
    group: str | None = None,
    weight: str | float | None = None,
    time: str | None = None,
    crs: str = "wgs84",
    windows: WindowSpec = None,
    sheet: str | int | None = None,
    layer: str | None = None,
) -> DemandResult:
    """Return the demand points of a point table and the problems of the rows left out.

    Parameters
    ----------
    path
        CSV, XLSX, GeoJSON, GPKG, Shapefile or Parquet file.
    group
        Worker group of every row, or the column holding it (see the module docstring).
    weight
        Weight column, a constant weight per row, or ``None`` (a weight-like column, else 1).
    time
        Time column, used with ``windows`` (default: a column named like time/时间).
    crs
        ``wgs84``, ``gcj02``, ``bd09`` (or their aliases), or a projected CRS of x/y columns.
    windows
        Time windows (``{"lunch": "11:00-13:30"}``, ``["lunch=11:00-13:30"]``,
        :class:`TimeWindow` objects, or :class:`TimeWindows` to keep the rows outside them as
        ``other_hours``); ``None`` keeps every row and adds no ``window`` column.
    sheet
        Worksheet of a workbook.
    layer
        Layer name, the prefix of ``demand_id`` (default: the file name without suffix).

    Returns
    -------
    DemandResult
        Points sorted by source row, and the problem table.

    Raises
    ------
    InputFileError
        If the file cannot be read, or a named column (weight, time, group) is missing, or no
        coordinate columns can be found.
    ConfigError
        For an unknown CRS, group or malformed window.
    """
    name = layer or Path(path).name.split(".")[0]
    spec = LayerConfig(path=Path(path), name=name, group=group, weight=weight, crs=crs, time=time,
                       sheet=sheet)
    return read_layer(spec, windows=windows)


def read_layer(layer: LayerConfig, *, windows: WindowSpec = None) -> DemandResult:
    """Return the demand points of one ``[[demand]]`` layer (the read of run and demand build)."""
    frame = read_table(layer.path, sheet=layer.sheet)
    return demand_points_from_frame(frame, layer, windows=windows)


def iter_demand_chunks(
    layer: LayerConfig, *, rows_per_chunk: int = 1_000_000, windows: WindowSpec = None,
) -> Iterator[DemandResult]:
    """Yield the demand points of a layer part by part, for tables too large for memory.

    A (Geo)Parquet file is read by row groups (batches of about ``rows_per_chunk`` rows); other
    formats are read whole (one part). Each part is what :func:`read_layer` gives for those
    rows: row numbers, ``demand_id`` and problems are those of the whole file, so the parts put
    together equal the whole file read at once.
    """
    if layer.path.suffix.lower() not in PARQUET_SUFFIXES:
        yield read_layer(layer, windows=windows)
        return
    own_ids = _parquet_has_own_ids(layer.path)
    for frame in iter_parquet_parts(layer.path, rows_per_chunk=rows_per_chunk):
        yield demand_points_from_frame(frame, layer, windows=windows, own_ids=own_ids)


def _parquet_has_own_ids(path: str | Path) -> bool:
    """Return whether a Parquet file's id column (read alone) names every point uniquely."""
    import pyarrow.parquet as pq

    names = pq.ParquetFile(path).schema_arrow.names
    col = find_column(names, "demand_id")
    if col is None:
        return False
    ids = pq.read_table(path, columns=[col]).to_pandas()
    return own_demand_ids(ids, file=str(path)) is not None


def demand_points_from_frame(
    frame: pd.DataFrame, layer: LayerConfig, *, windows: WindowSpec = None,
    own_ids: bool | None = None,
) -> DemandResult:
    """Return the demand points of rows already read by :func:`yizhan.stations.readers.read_table`.

    ``frame`` is indexed by the row number the user sees; ``layer`` says how to read it (its
    path names the file in problems). ``demand_id`` is the file's own id (see
    :func:`own_demand_ids`; ``own_ids`` says whether the whole file's ids qualify when
    ``frame`` is only part of it), else ``<layer>:<row>``. ``windows`` as in
    :func:`read_demand_points`.
    """
    file, crs, time = str(layer.path), layer.crs, layer.time
    spans = TimeWindows.of(windows)
    n_rows = len(frame)
    rows = np.asarray(frame.index, dtype=np.int64)
    found: list[pd.DataFrame] = []
    noted = table_problems(frame)  # what the reader said (stray quotes, a second header row)
    if noted:
        found.append(problems_frame(noted))
    bad = np.zeros(n_rows, dtype=bool)

    lon, lat, orig_lon, orig_lat, crs_label, coord_problems = _coordinates(frame, file, crs)
    found.extend(coord_problems)
    bad |= ~(np.isfinite(lon) & np.isfinite(lat))

    weights, weight_problems = _weights(frame, file, layer.weight)
    found.extend(weight_problems)
    bad |= ~np.isfinite(weights)

    groups, group_problems = _groups(frame, file, layer.group)
    found.extend(group_problems)
    bad |= pd.isna(groups)

    window_values: np.ndarray | None = None
    outside = np.zeros(n_rows, dtype=bool)
    parsed_windows = spans.windows
    if parsed_windows:
        window_values, outside, time_problems = _windows(
            frame, file, time, parsed_windows, keep_outside=spans.keep_outside
        )
        found.extend(time_problems)
        bad |= pd.isna(window_values)

    keep = ~bad & ~outside
    n_outside = int((outside & ~bad).sum())
    ids = own_demand_ids(frame, file=file) if own_ids is not False else None
    if own_ids and ids is None:
        raise InputFileError("需求点编号列缺失。The demand id column is missing.", file=file,
                             field="demand_id")
    data: dict[str, object] = {
        "demand_id": (ids.to_numpy(dtype=object)[keep] if ids is not None
                      else (layer.name + ":" + pd.Series(rows[keep]).astype(str)).to_numpy()),
        "layer": np.full(int(keep.sum()), layer.name, dtype=object),
        "weight": weights[keep],
        "group": np.asarray(groups, dtype=object)[keep],
    }
    if window_values is not None:
        data["window"] = np.asarray(window_values, dtype=object)[keep]
    data.update(
        orig_lon=orig_lon[keep],
        orig_lat=orig_lat[keep],
        orig_crs=np.full(int(keep.sum()), crs_label, dtype=object),
        source_file=np.full(int(keep.sum()), file, dtype=object),
        source_row=rows[keep],
    )
    points = gpd.GeoDataFrame(
        pd.DataFrame(data), geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs=WGS84
    )
    problems = _problem_table(found)
    log.info(
        f"需求点 {file}: 读入 {len(points)} / {n_rows} 行，问题 {len(problems)} 条"
        + (f"，时段外 {n_outside} 行" if parsed_windows else "")
        + f". Demand {file}: {len(points)} of {n_rows} rows loaded, {len(problems)} problems"
        + (f", {n_outside} outside the time windows." if parsed_windows else ".")
    )
    return DemandResult(points, problems, file, n_rows, n_outside)


def own_demand_ids(frame: pd.DataFrame, *, file: str, warn: bool = True) -> pd.Series | None:
    """Return the table's own point ids, or None when it has none that can name every point.

    The id column is found by name (``demand_id``, ``id``, ``编号``, ``orderid``, ``订单号`` ...,
    :func:`yizhan.stations.columns.find_column`); its values, trimmed, must all be set and
    unique. A column with blanks or repeats is not used, and a warning says so: points are
    then named ``<layer>:<row>``. The same ids reach ``coverage.csv`` of ``yizhan coverage``
    and of ``yizhan run``, so the tables join back to the user's file.
    """
    col = find_column(frame.columns, "demand_id")
    if col is None:
        return None
    text = frame[col].astype("string").fillna("").str.strip()
    if text.ne("").all() and text.is_unique:
        return text
    if warn:
        log.warn(
            f"{file}：需求点编号列 {col!r} 有空值或重复，改用“图层:行号”作编号。"
            f" {file}: the demand id column {col!r} has blanks or repeats; points are named"
            " <layer>:<row> instead."
        )
    return None


def load_demand_config(path: str | Path) -> DemandConfig:
    """Return the demand config of a TOML file (format in the module docstring).

    Raises
    ------
    ConfigError
        For unreadable TOML, unknown keys in a ``[[demand]]`` table, or invalid values.
    """
    path = Path(path)
    return parse_demand_config(read_toml(path), base=path.parent)


def parse_layer(table: Mapping[str, object], *, index: int, base: Path) -> LayerConfig:
    """Return one ``[[demand]]`` table as a :class:`LayerConfig`: the one schema of a layer.

    ``yizhan demand build`` and the yearly run (``yizhan run``, ``run-many``) both read their
    layers here, so a layer that loads in one loads the same in the other (GCJ-02 demand, a time
    column, a sheet). Keys: ``path``, ``name`` (default: the file name without suffix),
    ``group``, ``weight`` (a column or a number; ``weight_field`` is accepted for it), ``crs``,
    ``time``, ``sheet``.

    Raises
    ------
    ConfigError
        For unknown keys, a missing path or an unknown coordinate system.
    """
    unknown = set(table) - _LAYER_KEYS - {"weight_field"}
    if unknown:
        raise ConfigError(
            f"[[demand]] 第 {index + 1} 层有未知键 {sorted(unknown)}；可用键：{sorted(_LAYER_KEYS)}。"
            f" Unknown keys {sorted(unknown)} in [[demand]] layer {index + 1};"
            f" allowed: {sorted(_LAYER_KEYS)}."
        )
    if "path" not in table:
        raise ConfigError(
            f"[[demand]] 第 {index + 1} 层缺少 path。 [[demand]] layer {index + 1} needs a path."
        )
    file = base / str(table["path"])
    weight = table.get("weight", table.get("weight_field"))
    crs = str(table.get("crs", "wgs84"))
    _parse_crs(crs)  # an unknown datum is an error now, not after the network is built
    return LayerConfig(
        path=file,
        name=str(table.get("name") or file.name.split(".")[0]),
        group=None if table.get("group") is None else str(table["group"]),
        weight=weight if isinstance(weight, int | float) else _opt_str(weight),
        crs=crs,
        time=_opt_str(table.get("time")),
        sheet=table.get("sheet"),  # type: ignore[arg-type]
    )


def parse_windows_table(table: object) -> TimeWindows:
    """Return the windows and ``keep_outside`` of a ``[windows]`` table (demand build and run alike).

    Raises
    ------
    ConfigError
        If the table is not a table, ``keep_outside`` is not true/false, or a window is malformed.
    """
    raw = dict(_table(table, "windows"))
    keep_outside = raw.pop("keep_outside", False)
    if not isinstance(keep_outside, bool):
        raise ConfigError(f"[windows] keep_outside 须为 true/false：{keep_outside!r}。"
                          " [windows] keep_outside must be true or false.")
    return TimeWindows(parse_windows({str(k): str(v) for k, v in raw.items()}), keep_outside)


def parse_demand_config(raw: Mapping[str, object], *, base: Path = Path()) -> DemandConfig:
    """Return the :class:`DemandConfig` of a parsed TOML mapping; paths relative to ``base``."""
    layers: list[LayerConfig] = []
    for i, table in enumerate(_list_of_tables(raw.get("demand"), "demand")):
        layers.append(parse_layer(table, index=i, base=base))
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ConfigError(
            f'[[demand]] 层名重复 {names}，请用 name = "..." 区分。'
            f' Layer names repeat {names}; give each layer a distinct name = "...".'
        )
    windows = parse_windows_table(raw.get("windows"))
    proxies = dict(_table(raw.get("proxies"), "proxies"))
    source = proxies.pop("source", None)
    clip = proxies.pop("clip", None)
    if source is not None and Path(str(source)).suffix and (base / str(source)).exists():
        source = str(base / str(source))
    grid = _table(raw.get("grid"), "grid")
    hot = _table(raw.get("hotspots"), "hotspots")
    config = DemandConfig(
        layers=tuple(layers),
        windows=windows,
        proxy_source=None if source is None else str(source),
        proxy_clip=None if clip is None else base / str(clip),
        proxy_overrides=proxies,
        cell=str(grid.get("cell", "250m")),
        collapse=_opt_str(grid.get("collapse")),
        hotspots=HotspotConfig(
            method=str(hot.get("method", "dbscan")),
            eps_m=None if hot.get("eps") is None else parse_distance_m(hot["eps"]),  # type: ignore[arg-type]
            min_weight=None if hot.get("min_weight") is None else float(hot["min_weight"]),  # type: ignore[arg-type]
            k=None if hot.get("k") is None else int(hot["k"]),  # type: ignore[call-overload]
            seed=int(hot.get("seed", 0)),  # type: ignore[call-overload]
            metric=str(hot.get("metric", "projected")),
        ),
    )
    if not config.layers and config.proxy_source is None:
        raise ConfigError(
            "配置中没有需求数据：请添加 [[demand]] 层或 [proxies] source。"
            " The config has no demand: add a [[demand]] layer or a [proxies] source."
        )
    return config


def build_demand(config: DemandConfig) -> DemandBuild:
    """Return the demand of every layer and proxy source in ``config``, combined.

    Layers keep their own ids (``<layer>:<row>``; proxies ``osm:<type><id>``). When windows are
    configured, layers without a time column and proxies get the window ``all_day``.
    """
    frames: list[gpd.GeoDataFrame] = []
    problems: list[pd.DataFrame] = []
    summary: list[dict[str, object]] = []
    for layer in log.progress(config.layers, desc="需求图层 demand layers", unit="layer"):
        result = read_layer(layer, windows=config.windows)
        frames.append(result.points)
        problems.append(result.problems)
        summary.append(
            {
                "layer": layer.name,
                "source": str(layer.path),
                "rows": result.n_rows,
                "loaded": len(result.points),
                "problems": len(result.problems),
                "outside_windows": result.n_outside_windows,
                "weight": float(result.points["weight"].sum()),
            }
        )
    if config.proxy_source is not None:
        clip = None
        if config.proxy_clip is not None:
            clip = read_table(config.proxy_clip)
            if not isinstance(clip, gpd.GeoDataFrame):
                raise InputFileError(
                    "裁剪范围须为面图层（GeoJSON/GPKG/Shapefile）。"
                    " The clip area must be a polygon layer (GeoJSON/GPKG/Shapefile).",
                    file=str(config.proxy_clip),
                )
        proxies = osm_proxies(config.proxy_source, polygon=clip, table=config.proxy_overrides)
        if config.windows:
            proxies["window"] = ALL_DAY
        frames.append(proxies)
        summary.append(
            {
                "layer": "osm",
                "source": config.proxy_source,
                "rows": len(proxies),
                "loaded": len(proxies),
                "problems": 0,
                "outside_windows": 0,
                "weight": float(proxies["weight"].sum()),
            }
        )
    points = combine_demand(frames, windows=bool(config.windows))
    if config.collapse:
        points = collapse_demand(points, cell=config.collapse)
    return DemandBuild(points, _problem_table(problems), pd.DataFrame(summary))


def combine_demand(
    frames: Sequence[gpd.GeoDataFrame], *, windows: bool = False
) -> gpd.GeoDataFrame:
    """Return demand layers (or parts of layers) stacked into one frame, in the order given.

    Ids stay the files' own; when two layers use the same id, every id of those layers gets its
    layer name in front (``orders:17``), and a note says so. With ``windows``, layers without a
    ``window`` column get ``all_day``. ``yizhan demand build``, ``yizhan run`` and ``run-many``
    all stack layers here.
    """
    parts = []
    for frame in frames:
        part = frame
        if windows and "window" not in part.columns:
            part = part.assign(window=ALL_DAY)
        parts.append(part)
    if not parts:
        empty = pd.DataFrame({"demand_id": [], "weight": [], "group": []})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    combined = pd.concat(parts, ignore_index=True)
    combined = gpd.GeoDataFrame(combined, geometry="geometry", crs=WGS84)
    ids = combined["demand_id"].astype(str)
    repeated = ids.duplicated(keep=False)
    if repeated.any() and "layer" in combined.columns:
        layers = combined["layer"].astype(str)
        clash = set(layers[repeated])
        prefix = layers.isin(clash) & ~ids.str.startswith(layers + ":")
        combined.loc[prefix, "demand_id"] = (layers[prefix] + ":" + ids[prefix]).to_numpy()
        log.info(f"图层 {sorted(clash)} 的需求点编号相同，已在编号前加图层名。"
                 f" Layers {sorted(clash)} share demand ids; their ids now start with the layer name.")
    if combined["demand_id"].duplicated().any():
        dupes = combined.loc[combined["demand_id"].duplicated(), "demand_id"].head(3).tolist()
        raise ConfigError(f"需求点编号重复 Duplicate demand ids across layers: {dupes}")
    return combined.reset_index(drop=True)


def parse_distance_m(value: str | float) -> float:
    """Return metres for ``"300m"``, ``"0.5km"``, ``"300 米"`` or a bare number of metres.

    Raises
    ------
    ConfigError
        For a time (``"5min"``), a non-positive value or unreadable text.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"距离须为正数 distance must be positive: {value!r}")
        return float(value)
    cutoff = parse_cutoff(str(value))
    if cutoff.metres is None:
        raise ConfigError(
            f"{value!r} 是时间，这里需要距离（如 300m）。 {value!r} is a time; a distance such as"
            " 300m is needed here."
        )
    return float(cutoff.metres)


# --- columns -----------------------------------------------------------------------------------


def _resolve_column(frame: pd.DataFrame, name: str) -> str | None:
    """Return the header the user means by ``name`` (exact, else same normalised spelling)."""
    if name in frame.columns:
        return name
    target = normalize_header(name)
    for col in frame.columns:
        if normalize_header(col) == target:
            return str(col)
    return None


def _missing_column(
    file: str, name: str, what_zh: str, what_en: str, frame: pd.DataFrame
) -> InputFileError:
    headers = ", ".join(str(c) for c in frame.columns if c != "geometry")
    return InputFileError(
        f"找不到{what_zh}列 {name!r}；表头有：{headers}。请改正列名或参数。"
        f" Column {name!r} ({what_en}) not found; headers are: {headers}. Fix the name or the"
        " option.",
        file=file,
        field=name,
    )


def _coordinates(  # noqa: PLR0915 - private: one pass over the coordinate column forms
    frame: pd.DataFrame, file: str, crs: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, list[pd.DataFrame]]:
    """Return WGS-84 lon, lat (NaN when unusable), original values, CRS label, problems."""
    n = len(frame)
    datum, projected = _parse_crs(crs)
    label = datum or projected.to_string()  # type: ignore[union-attr]
    problems: list[pd.DataFrame] = []
    lon_col = find_column(frame.columns, "lon")
    lat_col = find_column(frame.columns, "lat")
    raw_lon = np.full(n, np.nan)
    raw_lat = np.full(n, np.nan)
    from_geometry = np.zeros(n, dtype=bool)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geoms = frame.geometry
        if geoms.crs is not None and datum is not None:
            geoms = geoms.to_crs(WGS84)
        elif geoms.crs is not None:
            projected = CRS.from_user_input(geoms.crs)
            label = "wgs84" if projected.equals(CRS(WGS84)) else projected.to_string()
            datum = "wgs84" if label == "wgs84" else None
        values = geoms.to_numpy()
        usable = ~(shapely.is_missing(values) | shapely.is_empty(values))
        reps = shapely.point_on_surface(values[usable])
        raw_lon[usable] = shapely.get_x(reps)
        raw_lat[usable] = shapely.get_y(reps)
        from_geometry = usable
    if lon_col is None or lat_col is None:
        if not from_geometry.any() and not (isinstance(frame, gpd.GeoDataFrame) and n == 0):
            raise InputFileError(
                "找不到经纬度列（经度/lng/lon 与 纬度/lat）。请添加这两列或使用带坐标的空间文件。"
                " No longitude/latitude columns found (经度/lng/lon and 纬度/lat); add them or"
                " use a spatial file with point geometry.",
                file=file,
            )
        missing = ~from_geometry
        if missing.any():
            problems.append(
                _problems(
                    file,
                    frame.index[missing],
                    "geometry",
                    [""] * int(missing.sum()),
                    problem="几何为空且无经纬度列 Empty geometry and no lon/lat columns",
                    code="missing_coordinate",
                )
            )
    else:
        need = ~from_geometry
        col_lon, blank_lon = parse_numbers(frame[lon_col], degrees=True)
        col_lat, blank_lat = parse_numbers(frame[lat_col], degrees=True)
        raw_lon = np.where(need, col_lon, raw_lon)
        raw_lat = np.where(need, col_lat, raw_lat)
        for col, nums, blank, axis in (
            (lon_col, col_lon, blank_lon, "经度 longitude"),
            (lat_col, col_lat, blank_lat, "纬度 latitude"),
        ):
            missing = need & blank
            unreadable = need & ~blank & ~np.isfinite(nums)
            if missing.any():
                problems.append(
                    _problems(
                        file,
                        frame.index[missing],
                        col,
                        frame[col][missing],
                        problem=f"缺少{axis.split()[0]}，请补全坐标。 Missing {axis.split()[1]}; fill in the"
                        " coordinate.",
                        code="missing_coordinate",
                    )
                )
            if unreadable.any():
                problems.append(
                    _problems(
                        file,
                        frame.index[unreadable],
                        col,
                        frame[col][unreadable],
                        problem=f"{axis.split()[0]}不是有限的数字（请用十进制度，如 114.05）。"
                        f" The {axis.split()[1]} is not a finite number (inf and text are not);"
                        " use decimal degrees such as 114.05.",
                        code="bad_coordinate",
                    )
                )
    orig_lon, orig_lat = raw_lon.copy(), raw_lat.copy()
    finite = np.isfinite(raw_lon) & np.isfinite(raw_lat)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if datum is None:
        fwd = Transformer.from_crs(projected, WGS84, always_xy=True)
        x, y = fwd.transform(raw_lon[finite], raw_lat[finite])
        lon[finite], lat[finite] = x, y
        check_lon, check_lat = lon, lat
    else:
        check_lon, check_lat = raw_lon, raw_lat
    in_range = finite & (np.abs(check_lon) <= 180) & (np.abs(check_lat) <= 90)
    zero = in_range & (check_lon == 0) & (check_lat == 0)
    out_range = finite & ~in_range
    swapped = out_range & (np.abs(check_lat) <= 180) & (np.abs(check_lon) <= 90)
    col = lon_col or "geometry"
    for mask, text, code in (
        (
            swapped,
            "经纬度似乎填反了（纬度超过 90）；请交换经度与纬度两列。"
            " Longitude and latitude look swapped (latitude beyond 90); swap the columns.",
            "swapped_coordinates",
        ),
        (
            out_range & ~swapped,
            "坐标超出范围（经度 ±180，纬度 ±90），或坐标系（crs）设置有误。"
            " Coordinate out of range (lon ±180, lat ±90), or the crs option"
            " is wrong.",
            "coordinate_out_of_range",
        ),
        (
            zero,
            "坐标为 0,0（占位值）；请填写真实位置。 Coordinates are 0,0 (a placeholder);"
            " enter the real location.",
            "zero_coordinate",
        ),
    ):
        if mask.any():
            shown = [f"{a:g},{b:g}" for a, b in zip(orig_lon[mask], orig_lat[mask], strict=True)]
            problems.append(_problems(file, frame.index[mask], col, shown, problem=text, code=code))
    good = in_range & ~zero
    if datum is not None and good.any():
        conv_lon, conv_lat = to_wgs84(raw_lon[good], raw_lat[good], datum)
        lon[good], lat[good] = conv_lon, conv_lat
    lon[~good] = np.nan
    lat[~good] = np.nan
    return lon, lat, orig_lon, orig_lat, label, problems


def _parse_crs(crs: str) -> tuple[str | None, CRS | None]:
    """Return (datum, None) for wgs84/gcj02/bd09 aliases, else (None, projected CRS)."""
    try:
        return normalize_datum(crs), None
    except ConfigError:
        pass
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError as exc:
        raise ConfigError(
            f"未知坐标系 {crs!r}：请写 wgs84、gcj02、bd09 或 EPSG 代码（如 EPSG:4547）。"
            f" Unknown CRS {crs!r}; use wgs84, gcj02, bd09 or an EPSG code such as EPSG:4547."
        ) from exc
    if parsed.equals(CRS(WGS84)):
        return "wgs84", None
    return None, parsed


def _weights(
    frame: pd.DataFrame, file: str, weight: str | float | None
) -> tuple[np.ndarray, list[pd.DataFrame]]:
    n = len(frame)
    if isinstance(weight, int | float) and not isinstance(weight, bool):
        if not math.isfinite(weight) or weight <= 0:
            raise ConfigError(f"权重须为正数 weight must be positive: {weight!r}")
        return np.full(n, float(weight)), []
    col: str | None
    if weight is None:
        col = find_column(frame.columns, "weight")
        if col is None:
            return np.ones(n), []
        log.info(f"以列 {col!r} 作为权重 Using column {col!r} as the weight ({file})")
    else:
        name = str(weight)
        col = _resolve_column(frame, name)
        if col is None:
            try:
                return _weights(frame, file, float(name))
            except ValueError:
                raise _missing_column(file, name, "权重", "weight", frame) from None
    nums, blank = parse_numbers(frame[col])
    problems = []
    missing = blank
    unreadable = ~blank & np.isnan(nums)
    not_positive = ~blank & ~np.isnan(nums) & ~(np.isfinite(nums) & (nums > 0))
    for mask, text, code in (
        (missing, "缺少权重，请填写人数或次数。 Missing weight; enter a count.", "missing_weight"),
        (unreadable, "权重不是数字。 The weight is not a number.", "bad_weight"),
        (
            not_positive,
            "权重须大于 0（为 0 的行请删除）。 The weight must be above 0 (delete rows with 0).",
            "weight_not_positive",
        ),
    ):
        if mask.any():
            problems.append(
                _problems(file, frame.index[mask], col, frame[col][mask], problem=text, code=code)
            )
    return np.where(~blank & np.isfinite(nums) & (nums > 0), nums, np.nan), problems


def _groups(
    frame: pd.DataFrame, file: str, group: str | None
) -> tuple[np.ndarray, list[pd.DataFrame]]:
    n = len(frame)
    col: str | None = None
    if group is not None:
        canonical = canonical_group(group)
        if canonical is not None:
            return np.full(n, canonical, dtype=object), []
        col = _resolve_column(frame, group)
        if col is None:
            raise ConfigError(
                f"{group!r} 既不是劳动者群体也不是列名；群体可选：{', '.join(WORKER_GROUPS)}。"
                f" {group!r} is neither a worker group nor a column; groups are"
                f" {', '.join(WORKER_GROUPS)}."
            )
    else:
        col = find_column(frame.columns, "group")
        if col is None:
            return np.full(n, "other", dtype=object), []
    cells = frame[col].astype(object).where(frame[col].notna(), "").astype(str)
    uniques = pd.unique(cells)
    mapping = {u: canonical_group(u) for u in uniques}  # one lookup per distinct value
    values = cells.map(mapping).to_numpy(dtype=object)
    bad = pd.isna(values)
    problems = []
    if bad.any():
        problems.append(
            _problems(
                file,
                frame.index[bad],
                col,
                frame[col][bad],
                problem=f"无法识别的劳动者群体；可选：{', '.join(WORKER_GROUPS)}（或 骑手、快递员、司机、"
                f"环卫工人、建筑工人、其他）。 Unknown worker group; use {', '.join(WORKER_GROUPS)}.",
                code="bad_group",
            )
        )
    return values, problems


def _windows(
    frame: pd.DataFrame,
    file: str,
    time: str | None,
    windows: Sequence[TimeWindow],
    *,
    keep_outside: bool,
) -> tuple[np.ndarray, np.ndarray, list[pd.DataFrame]]:
    """Return per row: window name (None = bad time), outside-all-windows mask, problems."""
    n = len(frame)
    if time is not None:
        col = _resolve_column(frame, time)
        if col is None:
            raise _missing_column(file, time, "时间", "time", frame)
    else:
        col = find_column(frame.columns, "time") or _guess_time_column(frame)
    if col is None:
        problem = _problems(
            file,
            [None],
            "time",
            [""],
            problem="没有时间列，时段筛选未应用，全部计入 all_day。 No time column: time windows not"
            " applied, every row counts as all_day.",
            code="no_time_column",
            severity="warning",
        )
        return np.full(n, ALL_DAY, dtype=object), np.zeros(n, dtype=bool), [problem]
    seconds = time_of_day(frame[col])
    values = np.full(n, None, dtype=object)
    readable = np.isfinite(seconds)
    assigned = np.zeros(n, dtype=bool)
    for window in windows:  # one vectorised pass per window
        inside = readable & ~assigned & window.contains(np.nan_to_num(seconds, nan=-1.0))
        values[inside] = window.name
        assigned |= inside
    outside = readable & ~assigned
    if keep_outside:
        values[outside] = OTHER_HOURS
        outside = np.zeros(n, dtype=bool)
    else:
        values[outside] = OTHER_HOURS  # not None: these rows are fine, only filtered out
    problems = []
    bad = ~readable
    if bad.any():
        problems.append(
            _problems(
                file,
                frame.index[bad],
                col,
                frame[col][bad],
                problem="无法读取时间（如 2024-07-01 11:30 或 11:30）。 Cannot read a clock time (write"
                " e.g. 2024-07-01 11:30 or 11:30).",
                code="bad_time",
            )
        )
    return values, outside, problems


def _guess_time_column(frame: pd.DataFrame) -> str | None:
    """Return the first header that reads like a time (上班时间, pickup_time), or None."""
    for col in frame.columns:
        norm = normalize_header(col)
        if "时间" in norm or "时刻" in norm or norm.endswith("time") or norm.startswith("time"):
            return str(col)
    return None


# --- problems ----------------------------------------------------------------------------------


def _problems(
    file: str,
    rows: Sequence[object] | pd.Index,
    field: str,
    values: Sequence[object] | pd.Series,
    *,
    problem: str,
    code: str,
    severity: str = "error",
) -> pd.DataFrame:
    """Return problem rows (one per bad row) in the :mod:`yizhan.stations.problems` shape."""
    vals = pd.Series(list(values), dtype=object)
    shown = vals.where(vals.notna(), "").astype(str).to_numpy()
    return pd.DataFrame(
        {
            "file": file,
            "row": pd.array(list(rows), dtype="Int64"),
            "field": field,
            "value": shown,
            "problem": problem,
            "severity": severity,
            "code": code,
        },
        columns=list(PROBLEM_COLUMNS),
    )


def _problem_table(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
        empty["row"] = empty["row"].astype("Int64")
        return empty
    table = pd.concat(parts, ignore_index=True)
    table["row"] = table["row"].astype("Int64")
    return table.sort_values(
        ["file", "row", "field", "code"], kind="stable", na_position="first"
    ).reset_index(drop=True)


# --- config helpers ----------------------------------------------------------------------------


def _table(value: object, name: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] 应为表格 [{name}] must be a table")
    return value


def _list_of_tables(value: object, name: str) -> list[Mapping[str, object]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"[[{name}]] 应为表格数组 [[{name}]] must be an array of tables")
    return list(value)


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
