"""Demand on a grid: square cells in metres or H3 hexagons, for display and for speed.

Millions of GPS pings are too many to map, snap or cluster one by one. This module puts every
demand point into a cell and aggregates, all in numpy (one ``np.unique`` over integer cell keys,
``np.bincount`` for sums), so five million points collapse in seconds to at most a few hundred
thousand weighted rows.

Cells are given as text, the same in the CLI and the config:

- ``"250m"`` (or ``250``): square cells of 250 m on a fixed lattice of the study area's UTM
  zone (origin at the UTM false origin, so two runs over different extents share cells);
- ``"h3:9"``: H3 hexagons at resolution 9 (edge ≈ 200 m; resolution 8 ≈ 530 m, 10 ≈ 76 m).

Two products:

- :func:`grid_demand` — one polygon per occupied cell with the total weight, the weight of each
  worker group and of each time window: the layer a map shows.
- :func:`collapse_demand` — demand points merged per (cell, group, window) at their weighted
  centre: a smaller demand layer that keeps every group's and window's total exactly, for
  coverage and clustering.

Both keep total weight exactly (up to floating-point summation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from yizhan.stations.coords import local_utm

from yizhan.errors import ConfigError

WGS84 = "EPSG:4326"
_CELL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|km)?\s*$", re.IGNORECASE)
_H3_RE = re.compile(r"^\s*h3\s*[:=]?\s*(\d{1,2})\s*$", re.IGNORECASE)
_SQUARE_OFFSET = 1 << 31  # shifts signed cell indices into an unsigned 32-bit half of a key


@dataclass(frozen=True)
class CellSpec:
    """A grid: ``kind`` ``"square"`` with ``size_m`` metres, or ``"h3"`` at ``resolution``."""

    kind: Literal["square", "h3"]
    size_m: float | None = None
    resolution: int | None = None

    @property
    def label(self) -> str:
        """Return the spec as the user writes it (``"250m"``, ``"h3:9"``)."""
        if self.kind == "h3":
            return f"h3:{self.resolution}"
        size = self.size_m or 0.0
        return f"{size:g}m"


@dataclass(frozen=True)
class CellAssignment:
    """Which cell each point falls in.

    Attributes
    ----------
    spec
        The grid used.
    codes
        ``int64`` array, one per point: index into ``cell_ids`` / ``keys``.
    keys
        ``uint64`` array of the occupied cells' integer keys, sorted ascending.
    cell_ids
        Text ids of the occupied cells, aligned with ``keys``.
    crs
        The projected CRS the square lattice lives in (``None`` for H3).
    """

    spec: CellSpec
    codes: np.ndarray
    keys: np.ndarray
    cell_ids: np.ndarray
    crs: CRS | None

    @property
    def n_cells(self) -> int:
        """Return the number of occupied cells."""
        return len(self.keys)


def parse_cell(spec: str | float | CellSpec) -> CellSpec:
    """Return the :class:`CellSpec` for ``"250m"``, ``"0.5km"``, ``250`` or ``"h3:9"``.

    Raises
    ------
    ConfigError
        If the text is neither a positive size nor an H3 resolution 0–15.
    """
    if isinstance(spec, CellSpec):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        size = float(spec)
        if not np.isfinite(size) or size <= 0:
            raise ConfigError(f"网格边长须为正数 grid cell size must be positive, got {spec!r}")
        return CellSpec("square", size_m=size)
    text = str(spec)
    if match := _H3_RE.match(text):
        res = int(match.group(1))
        if res > 15:
            raise ConfigError(f"H3 分辨率须在 0–15 之间 H3 resolution must be 0–15, got {res}")
        return CellSpec("h3", resolution=res)
    if match := _CELL_RE.match(text):
        size = float(match.group(1)) * (1000.0 if (match.group(2) or "").lower() == "km" else 1.0)
        if size <= 0:
            raise ConfigError(f"网格边长须为正数 grid cell size must be positive, got {text!r}")
        return CellSpec("square", size_m=size)
    raise ConfigError(
        f"无法识别网格 {text!r}，请写成 250m 或 h3:9。"
        f" Cannot read grid {text!r}; write it as 250m or h3:9."
    )


def lonlat(points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return longitude and latitude arrays (WGS-84) of point geometries.

    Frames in another CRS are transformed; a frame without CRS is taken as WGS-84.
    """
    xy = shapely.get_coordinates(points.geometry.to_numpy())
    if len(xy) != len(points):
        raise ValueError("demand geometries must be single, non-empty points")
    if points.crs is not None and not CRS.from_user_input(points.crs).equals(CRS(WGS84)):
        transformer = Transformer.from_crs(points.crs, WGS84, always_xy=True)
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return xy[:, 0].astype(float), xy[:, 1].astype(float)


def local_crs(lon: np.ndarray, lat: np.ndarray) -> CRS:
    """Return :func:`yizhan.stations.coords.local_utm` of the points as a pyproj CRS."""
    return CRS.from_user_input(local_utm(lon, lat))


def projected_xy(
    points: gpd.GeoDataFrame, *, crs: CRS | str | None = None
) -> tuple[np.ndarray, np.ndarray, CRS]:
    """Return x and y in metres and the projected CRS used (UTM of the points unless given)."""
    lon, lat = lonlat(points)
    target = CRS.from_user_input(crs) if crs is not None else local_crs(lon, lat)
    x, y = Transformer.from_crs(WGS84, target, always_xy=True).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), target


def assign_cells(
    points: gpd.GeoDataFrame, *, cell: str | float | CellSpec = "250m", crs: CRS | str | None = None
) -> CellAssignment:
    """Return the cell of every point (vectorised; no per-point Python work for square cells).

    Parameters
    ----------
    points
        Point GeoDataFrame (EPSG:4326 or any CRS).
    cell
        Grid spec, see :func:`parse_cell`.
    crs
        Projected CRS of the square lattice; default the UTM zone of the points.
    """
    spec = parse_cell(cell)
    if spec.kind == "h3":
        lon, lat = lonlat(points)
        raw = _h3_cells(lat, lon, int(spec.resolution or 0))
        keys, codes = np.unique(raw, return_inverse=True)
        ids = np.array([f"{int(k):x}" for k in keys], dtype=object)
        return CellAssignment(spec, codes.astype(np.int64), keys, ids, None)
    x, y, target = projected_xy(points, crs=crs)
    codes, keys = square_codes(x, y, float(spec.size_m or 0.0))
    kx, ky = _square_indices(keys)
    epsg = target.to_epsg() or 0
    ids = np.array(
        [f"E{epsg}-{spec.label}-{a}-{b}" for a, b in zip(kx.tolist(), ky.tolist(), strict=True)],
        dtype=object,
    )
    return CellAssignment(spec, codes, keys, ids, target)


def square_codes(x: np.ndarray, y: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return each point's index into the occupied squares and the squares' sorted keys.

    ``x``, ``y`` are projected metres; square ``(floor(x / size), floor(y / size))`` is packed
    into one ``uint64`` key, so one ``np.unique`` groups millions of points.
    """
    ix = np.floor(x / size_m).astype(np.int64)
    iy = np.floor(y / size_m).astype(np.int64)
    raw = ((ix + _SQUARE_OFFSET).astype(np.uint64) << np.uint64(32)) | (
        (iy + _SQUARE_OFFSET).astype(np.uint64)
    )
    keys, codes = np.unique(raw, return_inverse=True)
    return codes.astype(np.int64).ravel(), keys


def cell_polygons(assignment: CellAssignment) -> gpd.GeoSeries:
    """Return the occupied cells' polygons in EPSG:4326, aligned with ``assignment.keys``."""
    spec = assignment.spec
    if spec.kind == "h3":
        return gpd.GeoSeries(_h3_polygons(assignment.keys), crs=WGS84)
    size = float(spec.size_m or 0.0)
    kx, ky = _square_indices(assignment.keys)
    boxes = shapely.box(kx * size, ky * size, (kx + 1) * size, (ky + 1) * size)
    # Square in metres; 4 extra vertices per side keep it faithful after reprojection.
    boxes = shapely.segmentize(boxes, size / 4.0)
    return gpd.GeoSeries(boxes, crs=assignment.crs).to_crs(WGS84)


def grid_demand(
    points: gpd.GeoDataFrame,
    *,
    cell: str | float | CellSpec = "250m",
    crs: CRS | str | None = None,
) -> gpd.GeoDataFrame:
    """Return one polygon per occupied cell with the demand weight per group and window.

    Parameters
    ----------
    points
        Demand GeoDataFrame: point geometry, ``weight`` (> 0), ``group``; optional ``window``.
    cell
        ``"250m"`` (square, metres) or ``"h3:9"`` (H3 resolution), see :func:`parse_cell`.
    crs
        Projected CRS of a square lattice (default: UTM zone of the points).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 polygons sorted by cell key, columns ``cell_id``, ``weight`` (sum),
        ``n_points``, ``weight_<group>`` for each group present (alphabetical),
        ``dominant_group`` (heaviest group, ties to the first alphabetically) and, when the
        points carry ``window``: ``weight_at_<window>`` per window and ``peak_window``.
    """
    weights = _weights(points)
    if len(points) == 0:
        return _empty_grid(points)
    assignment = assign_cells(points, cell=cell, crs=crs)
    n_cells = assignment.n_cells
    codes = assignment.codes
    frame = pd.DataFrame(
        {
            "cell_id": assignment.cell_ids,
            "weight": np.bincount(codes, weights=weights, minlength=n_cells),
            "n_points": np.bincount(codes, minlength=n_cells).astype(np.int64),
        }
    )
    group_cols = _split_weights(codes, weights, points["group"], n_cells, "weight_")
    frame = pd.concat([frame, group_cols], axis=1)
    frame["dominant_group"] = _argmax_label(group_cols, "weight_")
    if "window" in points.columns:
        window_cols = _split_weights(codes, weights, points["window"], n_cells, "weight_at_")
        frame = pd.concat([frame, window_cols], axis=1)
        frame["peak_window"] = _argmax_label(window_cols, "weight_at_")
    return gpd.GeoDataFrame(frame, geometry=cell_polygons(assignment).to_numpy(), crs=WGS84)


def collapse_demand(
    points: gpd.GeoDataFrame,
    *,
    cell: str | float | CellSpec = "50m",
    crs: CRS | str | None = None,
) -> gpd.GeoDataFrame:
    """Return demand points merged per (cell, group, window) at their weighted centre.

    The result is itself a demand GeoDataFrame (``demand_id``, ``weight``, ``group``, and
    ``window`` when the input has it) plus ``cell_id`` and ``n_points``. Every group's and
    window's total weight is kept exactly; positions move by less than one cell diagonal.

    Parameters
    ----------
    points
        Demand GeoDataFrame.
    cell
        Grid spec; a cell well below the coverage distance (default 50 m) loses nothing a
        station planner can see.
    crs
        Projected CRS of a square lattice (default: UTM zone of the points).
    """
    weights = _weights(points)
    has_window = "window" in points.columns
    if len(points) == 0:
        cols = ["demand_id", "weight", "group", *(["window"] if has_window else []), "cell_id"]
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        empty["weight"] = empty["weight"].astype(float)
        empty["n_points"] = pd.Series(dtype=np.int64)
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    assignment = assign_cells(points, cell=cell, crs=crs)
    group_codes, groups = pd.factorize(points["group"].astype(str), sort=True)
    window_codes = np.zeros(len(points), dtype=np.int64)
    windows: np.ndarray | None = None
    if has_window:
        codes_w, windows = pd.factorize(points["window"].astype(str), sort=True)
        window_codes = codes_w.astype(np.int64)
    n_groups = max(len(groups), 1)
    n_windows = max(len(windows), 1) if windows is not None else 1
    # One int64 key in (cell, group, window) order; np.unique sorts it deterministically.
    combined = (assignment.codes * n_groups + group_codes) * n_windows + window_codes
    uniq, inverse = np.unique(combined, return_inverse=True)
    inverse = inverse.ravel()
    n_out = len(uniq)
    out_cell = uniq // (n_groups * n_windows)
    out_group = (uniq // n_windows) % n_groups
    out_window = uniq % n_windows
    total = np.bincount(inverse, weights=weights, minlength=n_out)
    lon, lat = lonlat(points)
    # Weighted centres in a local projection (lon/lat averaging is fine at cell scale too,
    # but metres keep it exact for square cells whose edges are straight in UTM).
    target = assignment.crs or local_crs(lon, lat)
    fwd = Transformer.from_crs(WGS84, target, always_xy=True)
    x, y = fwd.transform(lon, lat)
    cx = np.bincount(inverse, weights=weights * np.asarray(x), minlength=n_out) / total
    cy = np.bincount(inverse, weights=weights * np.asarray(y), minlength=n_out) / total
    back = Transformer.from_crs(target, WGS84, always_xy=True)
    clon, clat = back.transform(cx, cy)
    cell_ids = assignment.cell_ids[out_cell]
    out_groups = np.asarray(groups, dtype=object)[out_group]
    data: dict[str, object] = {"cell_id": cell_ids, "group": out_groups}
    ids = pd.Series(cell_ids, dtype=object) + ":" + pd.Series(out_groups, dtype=object)
    if windows is not None:
        out_windows = np.asarray(windows, dtype=object)[out_window]
        data["window"] = out_windows
        ids = ids + ":" + pd.Series(out_windows, dtype=object)
    frame = pd.DataFrame(data)
    frame.insert(0, "demand_id", ids.to_numpy())
    frame.insert(1, "weight", total)
    frame["n_points"] = np.bincount(inverse, minlength=n_out).astype(np.int64)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(clon, clat), crs=WGS84)


# --- private helpers -------------------------------------------------------------------------


def _weights(points: gpd.GeoDataFrame) -> np.ndarray:
    for col in ("weight", "group"):
        if col not in points.columns:
            raise ValueError(f"demand points need a {col!r} column")
    weights = points["weight"].to_numpy(dtype=float)
    if len(weights) and (not np.all(np.isfinite(weights)) or np.any(weights <= 0)):
        raise ValueError("demand weights must be finite and > 0")
    return weights


def _square_indices(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kx = (keys >> np.uint64(32)).astype(np.int64) - _SQUARE_OFFSET
    ky = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64) - _SQUARE_OFFSET
    return kx, ky


def _split_weights(
    codes: np.ndarray, weights: np.ndarray, labels: pd.Series, n_cells: int, prefix: str
) -> pd.DataFrame:
    """Return a cells × labels frame of summed weights (labels sorted, one bincount)."""
    label_codes, names = pd.factorize(labels.astype(str), sort=True)
    n_labels = len(names)
    flat = np.bincount(
        codes * n_labels + label_codes, weights=weights, minlength=n_cells * n_labels
    ).reshape(n_cells, n_labels)
    return pd.DataFrame(flat, columns=[f"{prefix}{name}" for name in names])


def _argmax_label(columns: pd.DataFrame, prefix: str) -> np.ndarray:
    names = np.array([c[len(prefix) :] for c in columns.columns], dtype=object)
    if len(names) == 0:
        return np.full(len(columns), "", dtype=object)
    return names[np.argmax(columns.to_numpy(), axis=1)]


def _empty_grid(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "cell_id": pd.Series(dtype=object),
            "weight": pd.Series(dtype=float),
            "n_points": pd.Series(dtype=np.int64),
            "dominant_group": pd.Series(dtype=object),
        }
    )
    if "window" in points.columns:
        frame["peak_window"] = pd.Series(dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def _h3_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """Return H3 cells as ``uint64``; vectorised through h3ronpy when it is installed."""
    try:
        from h3ronpy.vector import coordinates_to_cells
    except ImportError:
        return _h3_cells_scalar(lat, lon, resolution)
    cells = coordinates_to_cells(
        np.ascontiguousarray(lat, dtype=float), np.ascontiguousarray(lon, dtype=float), resolution
    )
    return np.asarray(cells.to_numpy(), dtype=np.uint64)


def _h3_cells_scalar(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """Return H3 cells with the h3 library (a C call per point; used without h3ronpy)."""
    to_cell = h3.api.basic_int.latlng_to_cell
    return np.fromiter(
        (to_cell(a, b, resolution) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(lat),
    )


def _h3_polygons(keys: np.ndarray) -> np.ndarray:
    """Return shapely polygons (lon/lat) of H3 cells given as ``uint64`` keys."""
    boundary = h3.api.basic_int.cell_to_boundary
    rings = [boundary(int(k)) for k in keys.tolist()]
    # h3 gives (lat, lng) pairs; shapely wants (x=lng, y=lat).
    return np.array([shapely.Polygon([(b, a) for a, b in ring]) for ring in rings], dtype=object)
