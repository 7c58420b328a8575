"""Snapping points to roads and shortest network paths between facilities and targets.

Model
-----
A point is snapped to the nearest position on the nearest road (:func:`snap`): the road edge, the
position along it (``offset_m`` from the edge's start node) and the straight off-network leg
(``access_m``). Points farther than ``max_access_m`` from every road are marked ``too_far`` and
listed by :func:`unsnapped`, never silently snapped.

The travel cost between a facility ``f`` and a target ``t`` is::

    total = access(t) + network(t -> f) + access(f)

*Direction.* A worker travels to the station, so ``network(t -> f)`` follows one-way roads the
way they run from the worker to the station (``direction="to_facility"``, the default of every
search here). It is computed as a search from the stations on the network with every edge
turned around (:func:`yizhan.geo.network.reversed_network`, :func:`orient`); on networks
without one-way roads (walking) both ways are the same and nothing is turned.
``direction="from_facility"`` gives the station-to-worker cost. A point snapped within
:data:`AT_NODE_M` of an end of a one-way road is at that node and may use all its roads.

where ``network`` runs along the roads in the mode's directions and includes the partial edges
at both ends (from the facility's position to an end of its edge, and from an end of the
target's edge to the target; or directly along the edge when both lie on the same road), and an
``access`` leg costs ``access_m`` metres, or ``access_m / speed`` seconds at the mode's
off-network speed (walking speed, see ``yizhan.geo.network.WALK_KMH``). :func:`nearest_facility`
chooses and limits by this door-to-door total by default and reports the network part as
``cost``; :func:`pairs_within` stores the network part by default. With
``include_access=False`` the access legs are left out of the choice and the limit.

Snapping is exact and runs in compiled code (:mod:`yizhan.geo._kernels`): road pieces (at most one
cell long) are bucketed in a grid of square cells; a point is compared with every piece in its
own cell, then in growing rings of cells until the best distance found is provably the nearest
(ties go to the lower road index; a far-away point falls back to a KD tree of piece
midpoints). Points are visited cell by cell, and large point sets are split over a few
threads (the compiled loop releases the GIL).

Both searches run in compiled code. :func:`facility_tree` is ONE multi-source Dijkstra (a
compiled binary-heap search, equal to ``scipy.sparse.csgraph.dijkstra(min_only=True)`` and
about as fast, but it also sums the other weight of each chosen path (metres when routing on
time, seconds when routing on metres) and releases the GIL, so the rules of a coverage run
search at once), seeded at both ends of each facility's road with its access leg and partial
edge; :func:`nearest_facility` builds on it, each target taking the better end of its road in
one compiled pass. :func:`pairs_within` runs ``scipy.sparse.csgraph.dijkstra`` in batches of
facilities, each a virtual source node whose out-edges are those same entry points.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from yizhan.geo._kernels import (
    grid_nearest,
    nearest_ends,
    nearest_source_tree,
    two_nearest_sources,
)
from yizhan.geo.modes import MODES
from yizhan.geo.network import RoadNetwork, Weight, has_one_way, reversed_network

from yizhan import log, settings

SNAP_ROAD_PER_CELL_M = 25.0
"""Snapping buckets roads in square cells sized so that a cell holds about this much road
(denser networks get smaller cells); the result is exact whatever the size."""

SNAP_CELL_RANGE_M = (15.0, 200.0)
"""Smallest and largest snapping cell (metres)."""

DEFAULT_MAX_ACCESS_M = 500.0
"""Points farther than this from every road are not snapped (a station in a park's interior,
a GPS fix in the sea); they are listed instead."""

ZERO_COST = 1e-9
"""Stored instead of a zero cost in sparse results, so the pair stays an explicit entry."""


@dataclass(frozen=True)
class Snapped:
    """Where each point meets the road network (one row per input point).

    Attributes
    ----------
    edge
        Index of the road edge (one per physical road, see ``RoadNetwork.canonical_edges``),
        -1 if the point is too far from every road or has no coordinates.
    fraction
        Position along the edge's geometry, 0 at ``edge_u`` and 1 at ``edge_v``.
    offset_m
        Network metres from ``edge_u`` along the edge (``fraction * edge_length``).
    access_m
        Straight distance from the point to the road (also for too-far points; NaN without
        coordinates).
    node
        Index of the nearest network node (-1 if too far).
    too_far
        True where the point was not snapped.
    x, y
        Projected coordinates of the snapped position on the road (NaN if too far).
    max_access_m
        The limit used.
    """

    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray
    access_m: np.ndarray
    node: np.ndarray
    too_far: np.ndarray
    x: np.ndarray
    y: np.ndarray
    max_access_m: float = DEFAULT_MAX_ACCESS_M

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def snapped(self) -> np.ndarray:
        """Return the mask of points that were snapped."""
        return ~self.too_far

    def on_reversed(self, net: RoadNetwork) -> Snapped:
        """Return the same positions on :func:`yizhan.geo.network.reversed_network` of ``net``."""
        ok = self.edge >= 0
        length = net.edge_length[np.maximum(self.edge, 0)]
        return replace(self, fraction=np.where(ok, 1.0 - self.fraction, self.fraction),
                       offset_m=np.where(ok, length - self.offset_m, self.offset_m))

    def subset(self, rows: np.ndarray) -> Snapped:
        """Return the rows ``rows`` (indices or a boolean mask) as a new :class:`Snapped`."""
        return Snapped(
            edge=self.edge[rows], fraction=self.fraction[rows], offset_m=self.offset_m[rows],
            access_m=self.access_m[rows], node=self.node[rows], too_far=self.too_far[rows],
            x=self.x[rows], y=self.y[rows], max_access_m=self.max_access_m,
        )


@dataclass(frozen=True)
class Nearest:
    """The nearest facility of each target and the path to it (one row per target).

    Attributes
    ----------
    facility
        Index into the facilities given, -1 if none within the limit (or target not snapped).
    cost
        Network part of the cost in the weight's unit (metres or seconds), incl. the partial
        edges at both ends; ``inf`` if none.
    total
        ``facility_access + cost + access`` in the weight's unit (what ``limit`` bounds when
        ``include_access``); ``inf`` if none.
    length_m, time_s
        Network metres and seconds of the chosen path (both, whatever the weight); ``inf`` if
        none.
    access_m
        The target's off-network leg in metres.
    facility_access_m
        The chosen facility's off-network leg in metres (NaN if none).
    weight
        ``"length"`` or ``"time"``.
    """

    facility: np.ndarray
    cost: np.ndarray
    total: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    access_m: np.ndarray
    facility_access_m: np.ndarray
    weight: str

    def __len__(self) -> int:
        return len(self.facility)

    @property
    def found(self) -> np.ndarray:
        """Return the mask of targets with a facility within the limit."""
        return self.facility >= 0


# --------------------------------------------------------------------------------------------
# Snapping
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Segments (road pieces, or nodes as zero-length segments) bucketed in square cells.

    A segment is registered in every cell its bounding box overlaps; segments are at most one
    cell long, so that is 1 to 4 cells. Any segment within distance ``r * cell`` of a point
    has a part in one of the ``(2r + 1)^2`` cells around the point's cell, which makes the
    search exact: a best distance ``<= r * cell`` found there cannot be beaten. The cells are
    a dense array (at most :data:`_GRID_MAX_CELLS`; larger areas get larger cells).
    """

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    cell: float
    ox: float
    oy: float
    nx: int
    ny: int
    ptr: np.ndarray    # offsets (int64) of each cell's entries (cell = cx * ny + cy)
    items: np.ndarray  # segment index (int32) of each entry, entries grouped by cell
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # lazy KD tree

    @classmethod
    def build(cls, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
              cell: float) -> _Grid:
        """Return the grid of the given segments (each at most ``cell`` long)."""
        if len(x0):
            ox, oy = float(min(x0.min(), x1.min())), float(min(y0.min(), y1.min()))
            width = float(max(x0.max(), x1.max())) - ox
            height = float(max(y0.max(), y1.max())) - oy
        else:
            ox = oy = width = height = 0.0
        cell = max(float(cell), math.sqrt(width * height / _GRID_MAX_CELLS))
        nx_ = int(width // cell) + 1
        ny_ = int(height // cell) + 1
        inv = 1.0 / cell
        cx0 = np.floor((np.minimum(x0, x1) - ox) * inv).astype(np.int64)
        cx1 = np.floor((np.maximum(x0, x1) - ox) * inv).astype(np.int64)
        cy0 = np.floor((np.minimum(y0, y1) - oy) * inv).astype(np.int64)
        cy1 = np.floor((np.maximum(y0, y1) - oy) * inv).astype(np.int64)
        wx, wy = cx1 - cx0 + 1, cy1 - cy0 + 1
        count = wx * wy
        total = int(count.sum())
        if total == len(x0):  # every segment in one cell (e.g. nodes)
            cid = cx0 * ny_ + cy0
            seg = np.arange(len(x0), dtype=np.int32)
        else:
            seg = np.repeat(np.arange(len(x0), dtype=np.int32), count)
            k = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
            w = wy[seg]
            cid = (cx0[seg] + k // w) * ny_ + (cy0[seg] + k % w)
        order = np.argsort(cid, kind="stable")
        ptr = np.zeros(nx_ * ny_ + 1, dtype=np.int64)
        np.cumsum(np.bincount(cid, minlength=nx_ * ny_), out=ptr[1:])
        return cls(x0=_f64(x0), y0=_f64(y0), x1=_f64(x1), y1=_f64(y1), cell=cell, ox=ox,
                   oy=oy, nx=nx_, ny=ny_, ptr=ptr, items=seg[order])

    def nearest(self, px: np.ndarray, py: np.ndarray, bound: float, *, prune: bool = True
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (segment, distance, t) of the exact nearest segment within ``bound``.

        ``t`` is the position of the nearest point on the segment (0 at ``x0, y0``). Points
        with nothing within ``bound`` get segment -1 and distance ``inf``. Ties go to the
        lower segment index, so the result does not depend on the order of the points; the
        search is fastest with the points sorted cell by cell (:func:`_spatial_order`).
        ``prune`` skips cells wholly farther than the best so far (faster for road pieces,
        slower for nodes).
        """
        n = len(px)
        item = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        tpar = np.zeros(n)
        if n == 0 or len(self.x0) == 0:
            return item, dist, tpar
        px, py = _f64(px), _f64(py)
        unsure = np.zeros(n, dtype=bool)
        _in_threads(n, lambda lo, hi: grid_nearest(
            px, py, lo, hi, self.x0, self.y0, self.x1, self.y1, self.ptr, self.items,
            self.cell, self.ox, self.oy, self.nx, self.ny, float(bound), _GRID_MAX_RING, prune,
            item, dist, tpar, unsure))
        if unsure.any():  # far from everything: the KD tree of segment midpoints answers
            rows = np.flatnonzero(unsure)
            item[rows], dist[rows], tpar[rows] = self._tree_nearest(px[rows], py[rows], bound)
        return item, dist, tpar

    def _tree_nearest(self, px: np.ndarray, py: np.ndarray, bound: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the exact nearest segments by a KD tree of midpoints (built on first use).

        With the ``k`` nearest midpoints, the best exact distance ``d`` is final once the
        ``k``-th midpoint is farther than ``d + half`` (half the longest segment); otherwise
        ``k`` grows. Ties go to the lower segment index.
        """
        with _TREE_LOCK:
            if "tree" not in self.extra:
                mid = np.column_stack([(self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2])
                self.extra["half"] = float(np.hypot(self.x1 - self.x0,
                                                    self.y1 - self.y0).max()) / 2
                self.extra["tree"] = cKDTree(mid)
        tree, half = self.extra["tree"], self.extra["half"]
        n, n_seg = len(px), len(self.x0)
        item = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        tpar = np.zeros(n)
        todo = np.arange(n)
        k = min(8, n_seg)
        while len(todo):
            md, mi = tree.query(np.column_stack([px[todo], py[todo]]), k=k,
                                distance_upper_bound=bound + half, workers=-1)
            md, mi = md.reshape(len(todo), k), mi.reshape(len(todo), k)
            valid = mi < n_seg
            seg = np.where(valid, mi, n_seg)
            safe = np.minimum(seg, n_seg - 1)
            x0, y0 = self.x0[safe], self.y0[safe]
            dx, dy = self.x1[safe] - x0, self.y1[safe] - y0
            qx, qy = px[todo][:, None] - x0, py[todo][:, None] - y0
            den = dx * dx + dy * dy
            t = np.clip((qx * dx + qy * dy) / np.where(den > 0, den, 1.0), 0.0, 1.0)
            ex, ey = qx - t * dx, qy - t * dy
            d2 = np.where(valid, ex * ex + ey * ey, np.inf)
            best = _row_best(d2, seg)
            rows = np.arange(len(todo))
            bd = np.sqrt(d2[rows, best])
            done = (~valid[:, -1]) | (md[:, -1] > bd + half) | (k >= n_seg)
            sel = todo[done]
            found = np.isfinite(bd) & (bd <= bound)
            item[sel] = np.where(found, seg[rows, best], -1)[done]
            dist[sel] = np.where(found, bd, np.inf)[done]
            tpar[sel] = np.where(found, t[rows, best], 0.0)[done]
            todo = todo[~done]
            k = min(k * 4, n_seg)
        return item, dist, tpar


def _row_best(d2: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Return, per row, the column of the smallest ``d2`` (ties: the lowest ``seg``)."""
    low = d2.min(axis=1, keepdims=True)
    return np.where(d2 == low, seg, np.iinfo(np.int64).max).argmin(axis=1)


def _spatial_order(px: np.ndarray, py: np.ndarray, cell: float) -> np.ndarray:
    """Return the points ordered cell by cell (cells of ``cell`` metres, column by column).

    Visiting nearby points together keeps the grid cells they read in the CPU cache; any
    order gives the same result.
    """
    if len(px) == 0:
        return np.zeros(0, dtype=np.int64)
    fx = np.floor((px - np.nanmin(px)) * (1.0 / cell))
    fy = np.floor((py - np.nanmin(py)) * (1.0 / cell))
    key = np.nan_to_num(fx * (np.nanmax(fy) + 1) + fy).astype(np.int64)
    return np.argsort(key)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


_GRID_MAX_RING = 16
"""Largest ring (in cells) searched on the grid; points farther out use the KD tree."""

def worker_threads() -> int:
    """Return the threads one process may use for compiled loops (:func:`yizhan.settings.threads`)."""
    return settings.threads()


_THREADS = worker_threads()
"""Threads for snapping large point sets and per-point passes."""

_THREAD_BLOCK = 100_000
"""Fewest points per snapping thread."""

_TREE_LOCK = threading.Lock()

_GRID_MAX_CELLS = 16_000_000
"""Most cells of a snapping grid (its cells grow for very large areas)."""


@dataclass(frozen=True)
class _PieceIndex:
    """Road pieces (at most one cell long) of the canonical edges, bucketed in a grid."""

    edge: np.ndarray
    start_m: np.ndarray  # projected distance along the edge at the piece start
    length: np.ndarray
    grid: _Grid


def _piece_index(net: RoadNetwork) -> _PieceIndex:
    def build() -> _PieceIndex:
        xy, ptr = net.edge_coords()
        along, _ = net.vertex_distance()
        canon = net.canonical_edges
        nseg = np.maximum((ptr[canon + 1] - ptr[canon] - 1).astype(np.int64), 0)
        total = int(nseg.sum())
        first = np.repeat(ptr[canon], nseg)
        within = np.arange(total) - np.repeat(np.cumsum(nseg) - nseg, nseg)
        a = first + within
        seg_edge = np.repeat(canon, nseg)
        sx0, sy0, sx1, sy1 = xy[a, 0], xy[a, 1], xy[a + 1, 0], xy[a + 1, 1]
        slen = np.hypot(sx1 - sx0, sy1 - sy0)
        area = float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])) if len(xy) else 0.0
        density = float(slen.sum()) / max(area, 1.0)  # metres of road per square metre
        cell = float(np.clip(math.sqrt(SNAP_ROAD_PER_CELL_M / max(density, 1e-12)),
                             *SNAP_CELL_RANGE_M))
        npiece = np.maximum(np.ceil(slen / cell).astype(np.int64), 1)
        rep = np.repeat(np.arange(total), npiece)
        k = np.arange(int(npiece.sum())) - np.repeat(np.cumsum(npiece) - npiece, npiece)
        t0 = k / npiece[rep]
        t1 = (k + 1) / npiece[rep]
        dx, dy = sx1[rep] - sx0[rep], sy1[rep] - sy0[rep]
        grid = _Grid.build(sx0[rep] + t0 * dx, sy0[rep] + t0 * dy,
                           sx0[rep] + t1 * dx, sy0[rep] + t1 * dy, cell)
        return _PieceIndex(edge=seg_edge[rep], start_m=along[a][rep] + t0 * slen[rep],
                           length=slen[rep] / npiece[rep], grid=grid)

    return net.memo("snap_pieces", build)


SNAP_INDEX_FORMAT = 2
"""Version of the snapping index arrays stored in network cache files (see
:func:`snap_index_arrays`); bump when :class:`_Grid` or :class:`_PieceIndex` change."""

_GRID_ARRAYS = ("x0", "y0", "x1", "y1", "ptr", "items")


def snap_index_arrays(net: RoadNetwork) -> dict[str, Any]:
    """Return the snapping index of ``net`` (built if needed) as plain arrays for a cache file.

    :func:`restore_snap_index` turns them back into the index, so a loaded network snaps
    without rebuilding it.
    """
    idx = _piece_index(net)
    g = idx.grid
    out: dict[str, Any] = {f"snap_{k}": getattr(g, k) for k in _GRID_ARRAYS}
    out["snap_geom"] = np.array([g.cell, g.ox, g.oy, g.nx, g.ny], dtype=np.float64)
    out["snap_edge"], out["snap_start_m"], out["snap_length"] = idx.edge, idx.start_m, idx.length
    out["snap_format"] = np.array([SNAP_INDEX_FORMAT, SNAP_ROAD_PER_CELL_M,
                                   *SNAP_CELL_RANGE_M, _GRID_MAX_CELLS], dtype=np.float64)
    return out


def restore_snap_index(net: RoadNetwork, arrays: dict[str, np.ndarray]) -> bool:
    """Install the snapping index saved by :func:`snap_index_arrays` on ``net``.

    Returns False (and installs nothing) if the arrays are missing or from another index
    format or other snapping settings; the index is then built on first use as usual.
    """
    fmt = arrays.get("snap_format")
    want = [SNAP_INDEX_FORMAT, SNAP_ROAD_PER_CELL_M, *SNAP_CELL_RANGE_M, _GRID_MAX_CELLS]
    if fmt is None or fmt.shape != (len(want),) or not np.array_equal(fmt, want):
        return False
    cell, ox, oy, nx_, ny_ = (float(v) for v in arrays["snap_geom"])
    grid = _Grid(x0=arrays["snap_x0"], y0=arrays["snap_y0"], x1=arrays["snap_x1"],
                 y1=arrays["snap_y1"], cell=cell, ox=ox, oy=oy, nx=int(nx_), ny=int(ny_),
                 ptr=arrays["snap_ptr"], items=arrays["snap_items"])
    net._cache["snap_pieces"] = _PieceIndex(
        edge=arrays["snap_edge"], start_m=arrays["snap_start_m"],
        length=arrays["snap_length"], grid=grid,
    )
    return True


def _node_grid(net: RoadNetwork) -> _Grid:
    """Return the grid of the network's nodes (zero-length segments), built once."""
    def build() -> _Grid:
        area = float(np.ptp(net.x) * np.ptp(net.y)) if net.n_nodes else 0.0
        cell = max(SNAP_CELL_RANGE_M[0], math.sqrt(area / max(net.n_nodes, 1)))  # ~1 per cell
        return _Grid.build(net.x, net.y, net.x, net.y, cell)

    return net.memo("snap_nodes", build)


def project_points(net: RoadNetwork, points: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """Return ``(n, 2)`` coordinates of the points in ``net.crs`` (NaN where missing or empty)."""
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise ValueError(
            "点数据没有坐标系，请先设置（如 EPSG:4326）。 The points have no CRS; set one "
            "(e.g. EPSG:4326) first."
        )
    arr = geoms.to_numpy()
    type_id = shapely.get_type_id(arr)  # -1 for missing
    ok = type_id == 0
    ok[ok] = ~shapely.is_empty(arr[ok])
    if ((type_id != 0) & (type_id != -1) & ~shapely.is_empty(arr)).any():
        raise ValueError(
            "只能吸附点要素（Point）。 Only Point geometries can be snapped to the network."
        )
    coords = shapely.get_coordinates(arr[ok])
    xy = np.full((len(arr), 2), np.nan)
    if pyproj.CRS.from_user_input(geoms.crs) == pyproj.CRS.from_user_input(net.crs):
        xy[ok] = coords
    else:
        to_net = pyproj.Transformer.from_crs(geoms.crs, net.crs, always_xy=True)
        xy[ok, 0], xy[ok, 1] = to_net.transform(coords[:, 0], coords[:, 1])
    return xy


SnapWhat = Literal["demand", "stations", "candidates"]

#: What the too-far points are, in the warning: name and consequence, Chinese and English.
_SNAP_WHAT: dict[str, tuple[str, str, str, str]] = {
    "demand": ("需求点", "demand point(s)", "任何驿站都无法到达", "no station can reach them"),
    "stations": ("站点", "station(s)", "不能服务任何人", "they serve no one"),
    "candidates": ("候选点", "candidate site(s)", "不会被选为新站", "they are never chosen"),
}


def snap(
    net: RoadNetwork,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_access_m: float = DEFAULT_MAX_ACCESS_M,
    xy: np.ndarray | None = None,
    what: SnapWhat | None = None,
) -> Snapped:
    """Return where each point meets the road network (nearest position on the nearest road).

    Points too far from every road are said once per run, naming what they are (``what``:
    ``"demand"``, ``"stations"``, ``"candidates"``) and the network; ``what=None`` says nothing
    (the caller reports them in its own words, or they do not matter to it).

    Parameters
    ----------
    net
        The road network.
    points
        Point geometries in any CRS (converted to the network's).
    max_access_m
        Points farther than this from every road are not snapped (``too_far``); their
        distance to the nearest road is still reported in ``access_m``.
    xy
        The points' coordinates already projected to ``net.crs`` (``(n, 2)``, NaN where
        missing), as :func:`project_points` gives them; networks in one CRS share them.

    Returns
    -------
    Snapped
        One row per point, in the input order. Exact (not approximated by vertices).
    """
    if xy is None:
        xy = project_points(net, points)
    elif len(xy) != len(points):
        raise ValueError("xy must have one row per point")
    n = len(xy)
    idx = _piece_index(net)
    g = idx.grid
    # the points with coordinates, in visiting order (cell by cell), as contiguous arrays
    rows = np.flatnonzero(np.isfinite(xy).all(axis=1))
    rows = rows[_spatial_order(xy[rows, 0], xy[rows, 1], g.cell)]
    px, py = xy[rows, 0], xy[rows, 1]
    piece, dist, tpar = g.nearest(px, py, float(max_access_m))
    far = piece < 0
    if far.any():  # report how far they are, without snapping them
        _, dist[far], _ = g.nearest(px[far], py[far], np.inf)
        ok = ~far
        ok_rows, piece, tpar, px, py = rows[ok], piece[ok], tpar[ok], px[ok], py[ok]
    else:
        ok_rows = rows
    access = np.full(n, np.nan)
    access[rows] = dist
    e = idx.edge[piece]
    plen = net.edge_projected_length[e]
    along = idx.start_m[piece] + tpar * idx.length[piece]
    f = np.where(plen > 0, np.clip(along / np.where(plen > 0, plen, 1), 0, 1), 0)
    edge = np.full(n, -1, dtype=np.int64)
    edge[ok_rows] = e
    fraction = np.zeros(n)
    fraction[ok_rows] = f
    offset = np.zeros(n)
    offset[ok_rows] = f * net.edge_length[e]
    sx, sy = np.full(n, np.nan), np.full(n, np.nan)
    sx[ok_rows] = g.x0[piece] + tpar * (g.x1[piece] - g.x0[piece])
    sy[ok_rows] = g.y0[piece] + tpar * (g.y1[piece] - g.y0[piece])
    node = np.full(n, -1, dtype=np.int64)
    node[ok_rows] = _node_grid(net).nearest(px, py, np.inf, prune=False)[0]
    too_far = edge < 0
    if too_far.any() and what is not None:
        k = int(too_far.sum())
        zh, en, then_zh, then_en = _SNAP_WHAT[what]
        mode = MODES.get(net.mode)
        net_zh = f"{mode.label_zh}路网" if mode else "路网"
        net_en = f"the {mode.label_en} network" if mode else "the network"
        log.warn(
            f"{zh}：{k} 个距{net_zh}的道路超过 {max_access_m:g} 米或缺少坐标，计为离路网（{then_zh}）。"
            f" {k} {en} are more than {max_access_m:g} m from any road of {net_en} or have no"
            f" coordinates: they count as off the network ({then_en})."
        )
    return Snapped(
        edge=edge, fraction=fraction, offset_m=offset, access_m=access, node=node,
        too_far=too_far, x=sx, y=sy, max_access_m=float(max_access_m),
    )


def street_names(net: RoadNetwork, snapped: Snapped) -> np.ndarray:
    """Return the street each snapped point lies on, for telling people where it is.

    The name of the point's own road; when that road has none (service roads, footways), the
    first named road at its nearest node; "" when neither has a name, the point is not snapped
    or the network has no names.
    """
    out = np.full(len(snapped), "", dtype=object)
    names = net.edge_name
    if names is None:
        return out
    ok = np.flatnonzero(snapped.snapped)
    own = names[snapped.edge[ok]].astype(str)
    at_node = net.memo("node_street", lambda: _node_streets(net, names))
    out[ok] = np.where(own != "", own, at_node[np.maximum(snapped.node[ok], 0)])
    return out


def nearest_named_street(
    net: RoadNetwork, points: gpd.GeoDataFrame | gpd.GeoSeries
) -> tuple[np.ndarray, np.ndarray]:
    """Return per point the nearest node's named street and the straight-line metres to it.

    For telling people where a point on an unnamed service road or footway is ("近深南大道").
    ("", NaN) for a point without coordinates or on a network without street names.
    """
    n = len(points)
    names, dist = np.full(n, "", dtype=object), np.full(n, np.nan)
    if net.edge_name is None or not n:
        return names, dist
    at_node = net.memo("node_street", lambda: _node_streets(net, net.edge_name))
    named = np.flatnonzero(at_node != "")
    xy = project_points(net, points)
    ok = np.isfinite(xy).all(axis=1)
    if not named.size or not ok.any():
        return names, dist
    tree = net.memo("named_node_tree", lambda: cKDTree(np.column_stack(
        [net.x[named], net.y[named]])))
    d, k = tree.query(xy[ok])
    names[ok], dist[ok] = at_node[named[k]], d
    return names, dist


def _node_streets(net: RoadNetwork, names: np.ndarray) -> np.ndarray:
    """Return per node the name of its first named road leaving it ("" if none)."""
    order, indptr = net.out_edges()
    named = names[order].astype(str) != ""
    pos = np.where(named, np.arange(order.size), order.size)
    first = np.full(net.n_nodes, order.size)
    nonempty = np.diff(indptr) > 0
    if order.size:
        first[nonempty] = np.minimum.reduceat(pos, indptr[:-1][nonempty])
    found = first < order.size
    out = np.full(net.n_nodes, "", dtype=object)
    out[found] = names[order[first[found]]]
    return out


def unsnapped(
    points: gpd.GeoDataFrame | gpd.GeoSeries, snapped: Snapped
) -> gpd.GeoDataFrame:
    """Return the points that were not snapped, with their distance to the nearest road.

    Returns
    -------
    geopandas.GeoDataFrame
        The input rows (all columns, original index) of the too-far points plus
        ``access_m`` (metres to the nearest road; NaN without coordinates) and ``reason``
        (bilingual).
    """
    frame = points if isinstance(points, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=points)
    mask = snapped.too_far
    out = frame.loc[mask].copy()
    dist = snapped.access_m[mask]
    out["access_m"] = dist
    out["reason"] = np.where(
        np.isnan(dist),
        "缺少坐标 / no coordinates",
        [f"距最近道路 {d:.0f} 米，超过 {snapped.max_access_m:g} 米 / {d:.0f} m from the "
         f"nearest road, over {snapped.max_access_m:g} m" for d in np.nan_to_num(dist)],
    )
    return out


# --------------------------------------------------------------------------------------------
# Shortest paths
# --------------------------------------------------------------------------------------------


#: Which way paths run: ``"to_facility"`` (a worker travels to the station: the default) or
#: ``"from_facility"`` (from the station outward).
DIRECTIONS: tuple[str, ...] = ("to_facility", "from_facility")

AT_NODE_M = 0.5
"""A point snapped within this many metres of an end of its road is at that node: it reaches
(and is reached by) every road of the node, not only along its own road's direction."""


def orient(
    net: RoadNetwork, facilities: Snapped, targets: Snapped | None, direction: str
) -> tuple[RoadNetwork, Snapped, Snapped | None]:
    """Return the network and positions on which a search *from* the facilities is wanted.

    ``"to_facility"`` on a network with one-way roads turns the network around
    (:func:`yizhan.geo.network.reversed_network`) and the positions with it, so that the
    search from the stations follows the roads the way workers drive them *to* the stations.
    Networks without one-way roads (walking) are the same both ways and are returned as given.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    if direction == "from_facility" or not has_one_way(net):
        return net, facilities, targets
    rev = reversed_network(net)
    return (rev, facilities.on_reversed(net),
            targets.on_reversed(net) if targets is not None else None)


def _other(weight: str) -> str:
    return "time" if weight == "length" else "length"


@dataclass(frozen=True)
class _Seeds:
    """Where paths from the facilities ``fac`` enter the network: both ends of their roads."""

    row: np.ndarray     # position in ``fac`` of the facility (ascending)
    node: np.ndarray    # the end node
    cost: np.ndarray    # access leg (if counted) + partial edge, in the weight's unit
    other: np.ndarray   # the partial edge in the other weight
    offset: np.ndarray  # per facility in ``fac``: its access cost


def _seeds(
    net: RoadNetwork,
    facilities: Snapped,
    fac: np.ndarray,
    *,
    weight: str,
    include_access: bool,
) -> _Seeds:
    """Return the entry points of the facilities ``fac`` into the network.

    Forward to ``edge_v`` and, on a two-way road, backward to ``edge_u`` (one entry per node
    for self-loop roads, the cheaper).
    """
    w, wo = net.edge_cost(weight), net.edge_cost(_other(weight))
    e, f = facilities.edge[fac], facilities.fraction[fac]
    k = len(fac)
    offset = (net.access_cost(facilities.access_m[fac], weight) if include_access
              else np.zeros(k))
    r = net.edge_reverse[e]
    j = np.arange(k)
    has_r = r >= 0
    # a point at the start node of a one-way road is at that node: it may take its other roads
    at_u = ~has_r & (facilities.offset_m[fac] <= AT_NODE_M)
    row = np.concatenate([j, j[has_r], j[at_u]])
    node = np.concatenate([net.edge_v[e], net.edge_u[e[has_r]], net.edge_u[e[at_u]]]
                          ).astype(np.int64)
    cost = np.concatenate([offset + (1 - f) * w[e], offset[has_r] + f[has_r] * w[r[has_r]],
                           offset[at_u] + f[at_u] * w[e[at_u]]])
    other = np.concatenate([(1 - f) * wo[e], f[has_r] * wo[r[has_r]], f[at_u] * wo[e[at_u]]])
    order = np.lexsort((cost, node, row))
    row, node, cost, other = row[order], node[order], cost[order], other[order]
    keep = np.ones(len(row), dtype=bool)  # self-loop roads: both ends are one node
    keep[1:] = (row[1:] != row[:-1]) | (node[1:] != node[:-1])
    return _Seeds(row=row[keep], node=node[keep], cost=cost[keep], other=other[keep],
                  offset=offset)


def _sources(
    net: RoadNetwork,
    facilities: Snapped,
    fac: np.ndarray,
    *,
    weight: str,
    include_access: bool,
) -> sp.csr_matrix:
    """Return the network matrix with one virtual source node per facility in ``fac``.

    Virtual node ``n + i`` stands for facility ``fac[i]``; its out-edges are the seeds.
    """
    n = net.n_nodes
    base = net.matrix(cast("Weight", weight))
    seeds = _seeds(net, facilities, fac, weight=weight, include_access=include_access)
    counts = np.bincount(seeds.row, minlength=len(fac))
    indptr = np.concatenate([base.indptr.astype(np.int64),
                             base.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([base.indices.astype(np.int64), seeds.node])
    data = np.concatenate([base.data, seeds.cost])
    size = n + len(fac)
    mat = sp.csr_matrix((data, indices, indptr), shape=(size, size))
    mat.has_sorted_indices = True
    return mat


def _same_edge(  # noqa: PLR0917
    net: RoadNetwork,
    facilities: Snapped,
    fac: np.ndarray,
    offset: np.ndarray,
    targets: Snapped,
    tgt: np.ndarray,
    *,
    weight: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (target, local facility, cost, other) of direct paths along a shared road."""
    w, wo = net.edge_cost(weight), net.edge_cost(_other(weight))
    rev = net.edge_reverse
    fe = facilities.edge[fac]
    order = np.argsort(fe, kind="stable")
    fe_sorted = fe[order]
    # only targets on a facility's road can have a direct path: filter them first
    if len(tgt) and len(fe):
        on_road = np.zeros(net.n_edges, dtype=bool)
        on_road[fe] = True
        tgt = tgt[on_road[targets.edge[tgt]]]
    te = targets.edge[tgt]
    lo = np.searchsorted(fe_sorted, te, "left")
    hi = np.searchsorted(fe_sorted, te, "right")
    cnt = hi - lo
    total = int(cnt.sum())
    empty = np.zeros(0)
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), empty, empty
    t_rep = np.repeat(tgt, cnt)
    within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    j = order[np.repeat(lo, cnt) + within]
    e = targets.edge[t_rep]
    g, f = targets.fraction[t_rep], facilities.fraction[fac[j]]
    r = rev[e]
    forward = g >= f
    backward = ~forward & (r >= 0)
    rr = np.maximum(r, 0)
    cost = np.where(forward, (g - f) * w[e], np.where(backward, (f - g) * w[rr], np.inf))
    other = np.where(forward, (g - f) * wo[e], np.where(backward, (f - g) * wo[rr], np.inf))
    cost = cost + offset[j]
    ok = np.isfinite(cost)
    return t_rep[ok], j[ok], cost[ok], other[ok]


def _check(net: RoadNetwork, weight: str, limit: float) -> None:
    net.edge_cost(weight)  # validates the weight
    if not (limit > 0):
        raise ValueError(f"limit must be positive (got {limit})")


@dataclass(frozen=True)
class FacilityTree:
    """Every node's nearest facility along the network: one multi-source search.

    Attributes
    ----------
    cost
        Per node: cost in the weight's unit from the nearest facility (its access leg, if
        counted, and the partial edge from its position included); ``inf`` beyond the limit.
    other
        Per node: the other weight (seconds when routing on metres, metres when routing on
        time) along that same path.
    facility
        Per node: index into the facilities given of the nearest one, -1 if none.
    offset
        Per facility given: the access cost that starts its paths (0 without access legs or
        for facilities that are not snapped).
    weight
        ``"length"`` or ``"time"``.
    direction
        ``"to_facility"``: costs from each node to its nearest facility (the way workers travel);
        ``"from_facility"``: from the nearest facility to each node.
    """

    cost: np.ndarray
    other: np.ndarray
    facility: np.ndarray
    offset: np.ndarray
    weight: str
    direction: str = "to_facility"


def facility_tree(
    net: RoadNetwork,
    facilities: Snapped,
    *,
    weight: str,
    limit: float = np.inf,
    include_access: bool = True,
    direction: str = "to_facility",
) -> FacilityTree:
    """Return every node's nearest facility, cost and other weight (one Dijkstra run).

    ONE multi-source Dijkstra (compiled, :func:`yizhan.geo._kernels.nearest_source_tree`) over the
    network's cost matrix, seeded at both ends of each facility's road with its access leg
    and partial edge, stopping at ``limit``; the other weight is summed along the same
    paths. Facilities too far from the roads take no part. The search releases the GIL, so
    searches for several rules can run in threads at once (see ``yizhan.geo.coverage``).
    With ``direction="to_facility"`` (the default) the costs are those of travelling from the
    node to the facility, one-way roads followed the way they run (a search from the
    facilities on the reversed network, :func:`orient`).
    """
    _check(net, weight, limit)
    net, facilities, _ = orient(net, facilities, None, direction)
    n = net.n_nodes
    fac = np.flatnonzero(facilities.snapped)
    cost = np.full(n, np.inf)
    other = np.full(n, np.inf)
    facility = np.full(n, -1, dtype=np.int64)
    offset = np.zeros(len(facilities))
    if len(fac):
        seeds = _seeds(net, facilities, fac, weight=weight, include_access=include_access)
        offset[fac] = seeds.offset
        w = cast("Weight", weight)  # checked by _check
        mat = net.matrix(w)
        mat_other = net.memo(("matrix_other", w),
                             lambda: net.edge_cost(_other(w))[net.matrix_edges(w)])
        nearest_source_tree(mat.indptr, mat.indices, mat.data, mat_other, seeds.node,
                            seeds.cost, seeds.other, fac[seeds.row], float(limit), cost, other,
                            facility)
    return FacilityTree(cost=cost, other=other, facility=facility, offset=offset,
                        weight=weight, direction=direction)


def nearest_facility(
    net: RoadNetwork,
    facilities: Snapped,
    targets: Snapped,
    *,
    weight: str,
    limit: float = np.inf,
    include_access: bool = True,
    tree: FacilityTree | None = None,
    direction: str = "to_facility",
) -> Nearest:
    """Return the nearest facility of every target along the network, within ``limit``.

    One multi-source search (:func:`facility_tree`); each target then takes the better end of
    its road (respecting one-way roads) or the direct way along a road it shares with a
    facility.

    Parameters
    ----------
    net
        The road network.
    facilities, targets
        Snapped facilities (e.g. stations) and targets (e.g. demand points). Facilities that are
        too far from the roads are never chosen; too-far targets get no facility.
    weight
        ``"length"`` (metres) or ``"time"`` (seconds).
    limit
        Largest cost considered (``total`` with ``include_access``, else the network part).
    include_access
        Whether the access legs count toward the choice and the limit (door to door).
    tree
        The :func:`facility_tree` of these facilities with the same ``weight``, ``limit``,
        ``include_access`` and ``direction``, if already computed (e.g. several in threads).
    direction
        ``"to_facility"`` (default): the cost of the target travelling to the facility, one-way
        roads followed the way they run; ``"from_facility"``: from the facility to the target.
        The same on networks without one-way roads (walking).

    Returns
    -------
    Nearest
        One row per target.
    """
    _check(net, weight, limit)
    if tree is not None and (tree.weight != weight or len(tree.cost) != net.n_nodes
                             or len(tree.offset) != len(facilities)
                             or tree.direction != direction):
        raise ValueError("tree was computed for another network, weight, direction or facilities")
    if tree is None and len(facilities) and len(targets):
        tree = facility_tree(net, facilities, weight=weight, limit=limit,
                             include_access=include_access, direction=direction)
    oriented, facilities, turned = orient(net, facilities, targets, direction)
    net, targets = oriented, cast("Snapped", turned)
    n_t = len(targets)
    facility = np.full(n_t, -1, dtype=np.int64)
    best = np.full(n_t, np.inf)
    best_other = np.full(n_t, np.inf)
    fac = np.flatnonzero(facilities.snapped)
    tgt = np.flatnonzero(targets.snapped)
    t_access = (net.access_cost(targets.access_m, weight) if include_access
                else np.zeros(n_t))
    t_access = np.where(targets.snapped, t_access, np.inf)
    offset = np.zeros(len(facilities))
    if len(fac) and len(tgt):
        if tree is None:  # (on the oriented network already)
            tree = facility_tree(net, facilities, weight=weight, limit=limit,
                                 include_access=include_access, direction="from_facility")
        offset = tree.offset
        c = np.empty(len(tgt))
        o = np.empty(len(tgt))
        j = np.empty(len(tgt), dtype=np.int64)
        _in_threads(len(tgt), lambda lo, hi: nearest_ends(
            tgt[lo:hi], targets.edge, targets.fraction, net.edge_u, net.edge_v,
            net.edge_reverse, net.edge_cost(weight), net.edge_cost(_other(weight)),
            tree.cost, tree.other, tree.facility, c[lo:hi], o[lo:hi], j[lo:hi]))
        _at_end_nodes(net, targets, tgt, tree, weight=weight, out=(c, o, j))
        # direct along a shared road
        st, sj, sc, so = _same_edge(net, facilities, fac, offset[fac], targets, tgt,
                                    weight=weight)
        if len(st):
            pos = np.searchsorted(tgt, st)
            order = np.lexsort((sj, sc, pos))
            first = np.ones(len(order), dtype=bool)
            first[1:] = pos[order][1:] != pos[order][:-1]
            pick = order[first]
            p = pos[pick]
            better = sc[pick] < c[p]
            c[p[better]] = sc[pick][better]
            o[p[better]] = so[pick][better]
            j[p[better]] = fac[sj[pick][better]]
        ok = (j >= 0) & (c + t_access[tgt] <= limit)
        rows = tgt[ok]
        facility[rows] = j[ok]
        best[rows] = c[ok]
        best_other[rows] = o[ok]
    found = facility >= 0
    chosen = facility[found]
    network = np.full(n_t, np.inf)
    network[found] = np.maximum(best[found] - offset[chosen], 0.0)
    total = np.where(found, best + t_access, np.inf)
    length_m, time_s = (network, best_other) if weight == "length" else (best_other, network)
    fac_access = np.full(n_t, np.nan)
    fac_access[found] = facilities.access_m[chosen]
    return Nearest(
        facility=facility, cost=network, total=total, length_m=length_m, time_s=time_s,
        access_m=targets.access_m.copy(), facility_access_m=fac_access, weight=weight,
    )


def _at_end_nodes(
    net: RoadNetwork, targets: Snapped, tgt: np.ndarray, tree: FacilityTree, *, weight: str,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Let targets at the end node of a one-way road be reached at that node (in place)."""
    c, o, j = out
    e = targets.edge[tgt]
    k = np.flatnonzero((net.edge_reverse[e] < 0)
                       & (net.edge_length[e] - targets.offset_m[tgt] <= AT_NODE_M))
    if not k.size:
        return
    v = net.edge_v[e[k]]
    rest = 1.0 - targets.fraction[tgt[k]]
    cv = tree.cost[v] + rest * net.edge_cost(weight)[e[k]]
    better = cv < c[k]
    kb = k[better]
    c[kb] = cv[better]
    o[kb] = tree.other[v[better]] + rest[better] * net.edge_cost(_other(weight))[e[kb]]
    j[kb] = tree.facility[v[better]]


@dataclass(frozen=True)
class TwoNearest:
    """Per target, its two nearest distinct facilities (door to door, within the limit).

    Attributes
    ----------
    facility
        ``(n_targets, 2)`` facility indices (-1 where fewer were reached).
    total
        ``(n_targets, 2)`` door-to-door costs (``inf`` where none): the second column is the
        cost of the *backup* station, the nearest one other than the first.
    """

    facility: np.ndarray
    total: np.ndarray

    @property
    def count(self) -> np.ndarray:
        """Return how many distinct facilities (0, 1 or 2) each target reaches."""
        return (self.facility >= 0).sum(axis=1)


def two_nearest(
    net: RoadNetwork,
    facilities: Snapped,
    targets: Snapped,
    *,
    weight: str,
    limit: float = np.inf,
    include_access: bool = True,
    direction: str = "to_facility",
) -> TwoNearest:
    """Return every target's two nearest distinct facilities along the network.

    One multi-source search (:func:`yizhan.geo._kernels.two_nearest_sources`, compiled) in
    which each node keeps its two nearest distinct facilities; each target then takes the best
    two over the ends of its road and the direct ways along a road it shares with facilities.
    Costs, access legs, ``limit`` and ``direction`` as for :func:`nearest_facility` (whose
    first choice is the first column here, ties aside). A target is *covered twice* within a
    cutoff when its second cost is within it (the "more than one station" of the 双15 goal).
    """
    _check(net, weight, limit)
    net, facilities, turned = orient(net, facilities, targets, direction)
    targets = cast("Snapped", turned)
    n_t = len(targets)
    out_f = np.full((n_t, 2), -1, dtype=np.int64)
    out_c = np.full((n_t, 2), np.inf)
    fac = np.flatnonzero(facilities.snapped)
    tgt = np.flatnonzero(targets.snapped)
    if not (len(fac) and len(tgt)):
        return TwoNearest(facility=out_f, total=out_c)
    seeds = _seeds(net, facilities, fac, weight=weight, include_access=include_access)
    mat = net.matrix(cast("Weight", weight))
    n = net.n_nodes
    best_c = np.full(2 * n, np.inf)
    best_s = np.full(2 * n, -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    two_nearest_sources(mat.indptr, mat.indices, mat.data, seeds.node, seeds.cost,
                        fac[seeds.row].astype(np.int64), float(limit), best_c, best_s, count)
    att_ptr, att_t, att_add = _attachments(net, targets, tgt, weight)
    node = np.repeat(np.arange(n), np.diff(att_ptr))
    st, sj, sc, _ = _same_edge(net, facilities, fac, seeds.offset, targets, tgt,
                               weight=weight)
    who = np.concatenate([att_t, att_t, st])
    src = np.concatenate([best_s[2 * node], best_s[2 * node + 1], fac[sj]])
    cost = np.concatenate([best_c[2 * node] + att_add, best_c[2 * node + 1] + att_add, sc])
    t_access = (net.access_cost(targets.access_m, weight) if include_access
                else np.zeros(n_t))
    cost = cost + t_access[who]
    ok = (src >= 0) & (cost <= limit)
    who, src, cost = who[ok], src[ok], cost[ok]
    order = np.lexsort((cost, src, who))  # per (target, facility): its cheapest way
    who, src, cost = who[order], src[order], cost[order]
    first = np.ones(len(who), dtype=bool)
    first[1:] = (who[1:] != who[:-1]) | (src[1:] != src[:-1])
    who, src, cost = who[first], src[first], cost[first]
    order = np.lexsort((src, cost, who))  # per target: cheapest first, ties by index
    who, src, cost = who[order], src[order], cost[order]
    start = np.ones(len(who), dtype=bool)
    start[1:] = who[1:] != who[:-1]
    rank = np.arange(len(who)) - np.maximum.accumulate(np.where(start, np.arange(len(who)), 0))
    top = rank < 2
    out_f[who[top], rank[top]] = src[top]
    out_c[who[top], rank[top]] = cost[top]
    return TwoNearest(facility=out_f, total=out_c)


def _in_threads(n: int, work: Any) -> None:
    """Run ``work(lo, hi)`` over ``[0, n)`` in a few threads (for GIL-free compiled loops)."""
    parts = min(_THREADS, max(1, n // _THREAD_BLOCK))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64)
    if parts == 1:
        work(0, n)
        return
    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(lambda k: work(bounds[k], bounds[k + 1]), range(parts)))


def node_costs(
    net: RoadNetwork,
    facilities: Snapped,
    *,
    weight: str,
    limit: float,
    batch: int = 256,
    include_access: bool = True,
    direction: str = "to_facility",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(facility indices, costs)`` per batch: each facility's cost to every node.

    ``costs`` is a dense ``len(batch) x n_nodes`` array (``inf`` beyond ``limit``) from one
    ``scipy.sparse.csgraph.dijkstra`` run per batch; a facility's cost starts with its access
    leg (if ``include_access``) and the partial edge to either end of its road. Too-far
    facilities are skipped. ``direction`` as for :func:`facility_tree` (default: node to
    facility).
    """
    _check(net, weight, limit)
    net, facilities, _ = orient(net, facilities, None, direction)
    fac_all = np.flatnonzero(facilities.snapped)
    n = net.n_nodes
    for start in range(0, len(fac_all), batch):
        fac = fac_all[start:start + batch]
        mat = _sources(net, facilities, fac, weight=weight, include_access=include_access)
        dist = dijkstra(mat, directed=True, indices=n + np.arange(len(fac)), limit=limit)
        yield fac, dist[:, :n]


def _attachments(
    net: RoadNetwork, targets: Snapped, tgt: np.ndarray, weight: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (indptr over nodes, target, added cost) of the targets reachable from each node."""
    w = net.edge_cost(weight)
    rev = net.edge_reverse
    e, g = targets.edge[tgt], targets.fraction[tgt]
    r = rev[e]
    two = r >= 0
    # a target at the end node of a one-way road is at that node: reached from it directly
    at_v = ~two & (net.edge_length[e] - targets.offset_m[tgt] <= AT_NODE_M)
    node = np.concatenate([net.edge_u[e], net.edge_v[e[two]], net.edge_v[e[at_v]]]
                          ).astype(np.int64)
    who = np.concatenate([tgt, tgt[two], tgt[at_v]])
    add = np.concatenate([g * w[e], (1 - g[two]) * w[r[two]], (1 - g[at_v]) * w[e[at_v]]])
    order = np.lexsort((who, node))
    indptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=net.n_nodes), out=indptr[1:])
    return indptr, who[order], add[order]


def pairs_within(
    net: RoadNetwork,
    facilities: Snapped,
    targets: Snapped,
    *,
    weight: str,
    limit: float,
    batch: int = 256,
    include_access: bool = False,
    direction: str = "to_facility",
) -> sp.csr_matrix:
    """Return the cost of every (target, facility) pair within ``limit`` as a sparse matrix.

    Parameters
    ----------
    net
        The road network.
    facilities, targets
        Snapped facilities (columns) and targets (rows).
    weight
        ``"length"`` (metres) or ``"time"`` (seconds).
    limit
        Largest cost kept (finite).
    batch
        Facilities per Dijkstra run; memory is about ``batch x n_nodes`` floats.
    include_access
        Store door-to-door costs (``facility access + network + target access``) instead of
        the network part only (the default). The limit applies to the stored value.
    direction
        ``"to_facility"`` (default): the target travels to the facility (one-way roads the
        way they run); ``"from_facility"``: the other way.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_targets x n_facilities``; an explicit entry per pair within the limit (a zero cost
        is stored as :data:`ZERO_COST`), none otherwise. Too-far points have no entries.
    """
    _check(net, weight, limit)
    if not np.isfinite(limit):
        raise ValueError("pairs_within needs a finite limit")
    net, facilities, turned = orient(net, facilities, targets, direction)
    targets = cast("Snapped", turned)
    n_t, n_f = len(targets), len(facilities)
    fac_all = np.flatnonzero(facilities.snapped)
    tgt = np.flatnonzero(targets.snapped)
    t_access = (net.access_cost(targets.access_m, weight) if include_access
                else np.zeros(n_t))
    keys: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    if len(tgt) and len(fac_all):
        att_ptr, att_t, att_add = _attachments(net, targets, tgt, weight)
        offset = (net.access_cost(facilities.access_m, weight) if include_access
                  else np.zeros(n_f))
        for fac, dist in node_costs(net, facilities, weight=weight, limit=limit, batch=batch,
                                    include_access=include_access, direction="from_facility"):
            fi, node = np.nonzero(np.isfinite(dist))
            d = dist[fi, node]
            del dist
            cnt = att_ptr[node + 1] - att_ptr[node]
            total = int(cnt.sum())
            rep = np.repeat(np.arange(len(node)), cnt)
            within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            a = att_ptr[node][rep] + within
            t_idx = att_t[a]
            cost = d[rep] + att_add[a] + t_access[t_idx]
            f_idx = fac[fi[rep]]
            st, sj, sc, _ = _same_edge(net, facilities, fac, offset[fac], targets, tgt,
                                       weight=weight)
            t_idx = np.concatenate([t_idx, st])
            f_idx = np.concatenate([f_idx, fac[sj]])
            cost = np.concatenate([cost, sc + t_access[st]])
            ok = cost <= limit
            key = t_idx[ok].astype(np.int64) * n_f + f_idx[ok]
            cost = cost[ok]
            order = np.lexsort((cost, key))
            key, cost = key[order], cost[order]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            keys.append(key[first])
            vals.append(cost[first])
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    val = np.concatenate(vals) if vals else np.zeros(0)
    order = np.argsort(key, kind="stable")
    key, val = key[order], np.maximum(val[order], ZERO_COST)
    rows, cols = key // max(n_f, 1), key % max(n_f, 1)
    indptr = np.zeros(n_t + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_t), out=indptr[1:])
    out = sp.csr_matrix((val, cols.astype(np.int64), indptr), shape=(n_t, n_f))
    out.has_sorted_indices = True
    return out


def nearest_table(
    nearest: Nearest, *, facility_ids: Any = None, index: Any = None
) -> pd.DataFrame:
    """Return a :class:`Nearest` as a table (one row per target), facility ids if given."""
    fid = None
    if facility_ids is not None:
        ids = np.asarray(facility_ids, dtype=object)
        fid = np.where(nearest.found, ids[np.maximum(nearest.facility, 0)], None)
    return pd.DataFrame(
        {
            "facility": nearest.facility if fid is None else fid,
            "cost": nearest.cost,
            "total": nearest.total,
            "length_m": nearest.length_m,
            "time_s": nearest.time_s,
            "access_m": nearest.access_m,
            "facility_access_m": nearest.facility_access_m,
        },
        index=index,
    )
