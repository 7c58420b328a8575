"""Road networks per travel mode: one compact structure, built once, cached, queried by everything.

A :class:`RoadNetwork` holds, for one study area and one travel mode, the node ids, projected
coordinates (the local UTM zone, metres), the directed edges that are travelable in that mode with
their length (metres) and travel time (seconds), and each edge's geometry. Shortest paths run on
:meth:`RoadNetwork.matrix`, a ``scipy.sparse`` CSR matrix built once per weight; snapping uses
grid indexes of road pieces and nodes that are also built once (see :mod:`yizhan.geo.paths`).

Built from GraphML, OSM XML, ``.osm.pbf`` or a place name by :mod:`yizhan.geo.sources`, cached
by :mod:`yizhan.geo.netcache`.

Travel modes (:data:`MODES`)
----------------------------
``walk``
    Sanitation and construction workers. osmnx's ``walk`` semantics: every way usable on foot
    (footways, steps, paths, pedestrian streets, service roads, ordinary roads), except cycleways,
    motorways and their links, ``motorroad=yes`` ways, ``foot=no``, private ways, areas.
    One-way streets are ignored (both directions). Speed 4.5 km/h.
``ebike``
    Delivery riders and couriers on electric bicycles. Excluded: motorways, trunk roads (urban
    expressways, 快速路, are tagged ``trunk`` in China), their links and anything tagged
    ``motorroad=yes``/``expressway=yes``; footways, steps, pedestrian streets, corridors,
    elevators, escalators and platforms (riding there is not allowed: a rider pushes the bike,
    so these are left to the off-network leg); ``bicycle=no``; private ways. Kept: cycleways,
    paths, tracks, service roads and all ordinary roads. One-way streets are respected (traffic
    law applies to non-motor vehicles; contraflow riding is not assumed). Speed 15 km/h, a
    typical average of riders in city traffic (the legal maximum of GB 17761-2018 is 25 km/h).
``drive``
    Truck and ride-hailing drivers. osmnx's ``drive`` filter (no service roads, tracks, paths,
    footways, cycleways; ``motor_vehicle=no``/``motorcar=no`` excluded), one-way respected.
    Speeds from ``maxspeed`` via ``osmnx.add_edge_speeds``; road classes without any ``maxspeed``
    in the area fall back to :data:`DRIVE_FALLBACK_KMH` (Chinese urban design speeds,
    CJJ 37-2012: 快速路 60–100, 主干路 40–60, 次干路 30–50, 支路 20–40 km/h). These are free-flow
    speeds, not rush-hour speeds.

Highway values merged by osmnx's simplification (a list per edge) exclude the edge if *any* part
is excluded: the merged edge is a chain, so an unusable part makes all of it unusable.
Off-network legs (from a point to the road) are costed at the mode's ``access_speed_kmh``,
walking speed in every mode (the last metres off the road are walked).

Networks loaded from GraphML keep the directions the file has: a graph built by osmnx with
``network_type="walk"`` has lost its one-way information, so build ``drive``/``ebike`` networks
from graphs built with ``drive``/``all`` types or from OSM files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry
from yizhan.geo.modes import (  # the one table of travel modes
    DRIVE_FALLBACK_KMH,
    MODES,
    TravelMode,
    get_mode,
)
from yizhan.stations.coords import local_utm

from yizhan import log
from yizhan.errors import ConfigError, NetworkError

Weight = Literal["length", "time"]
"""The two edge costs every network carries: metres or seconds."""




# --------------------------------------------------------------------------------------------
# The compact structure
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """One road network in one travel mode, in arrays; built once and queried by everything.

    Attributes
    ----------
    mode
        Travel mode key (see :data:`MODES`).
    crs
        Projected CRS of ``x``/``y`` and the edge geometries, e.g. ``"EPSG:32650"``.
    node_id
        OSM node ids (int64), or synthetic ids.
    x, y
        Projected node coordinates in metres.
    lon, lat
        WGS-84 node coordinates.
    edge_u, edge_v
        Node indices (int32) of the directed edges as travelable in this mode: a two-way road is
        two edges, a one-way road (drive, ebike) one.
    edge_length
        Edge length in metres (osmnx's great-circle length for OSM data).
    edge_time
        Edge travel time in seconds in this mode.
    edge_geometry
        Shapely LineStrings in ``crs`` running from ``edge_u`` to ``edge_v``, or None for
        straight edges.
    edge_highway
        OSM road class of each edge (first value for merged edges), or None.
    edge_name
        Street name of each edge (OSM ``name``, first value for merged edges; "" when unnamed),
        or None; names the places of suggested sites.
    source
        Where the network came from (file name or place), for reports.
    notes
        Bilingual sentences about how the network was built that the report must show, such
        as disconnected pieces that were dropped (kept in the cache file).
    """

    mode: str
    crs: str
    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_time: np.ndarray
    edge_geometry: np.ndarray | None = None
    edge_highway: np.ndarray | None = None
    edge_name: np.ndarray | None = None
    source: str = ""
    notes: tuple[str, ...] = ()
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        n, m = len(self.node_id), len(self.edge_u)
        for name in ("x", "y", "lon", "lat"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values, expected {n}")
        for name in ("edge_v", "edge_length", "edge_time"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"{name} has {len(getattr(self, name))} values, expected {m}")
        if self.edge_geometry is not None and len(self.edge_geometry) != m:
            raise ValueError("edge_geometry must have one LineString per edge")
        if m and (self.edge_u.min() < 0 or max(self.edge_u.max(), self.edge_v.max()) >= n):
            raise ValueError("edge_u/edge_v must be node indices in [0, n_nodes)")
        get_mode(self.mode)
        for name, label in (("edge_length", "length"), ("edge_time", "travel_time")):
            bad = check_edge_costs(getattr(self, name))
            if len(bad):
                i = int(bad[0])
                raise NetworkError(
                    f"路网有 {len(bad):,} 条边的{label}不是非负有限数（例如第 {i} 条边，"
                    f"节点 {self.node_id[self.edge_u[i]]}→{self.node_id[self.edge_v[i]]}："
                    f"{getattr(self, name)[i]}）；请重新构建路网（--refresh）。"
                    f" {len(bad):,} edge(s) of the network have a {label} that is not a finite"
                    f" non-negative number (e.g. edge {i}, nodes"
                    f" {self.node_id[self.edge_u[i]]}→{self.node_id[self.edge_v[i]]}:"
                    f" {getattr(self, name)[i]}); rebuild the network (--refresh)."
                )

    def __getstate__(self) -> dict[str, Any]:
        state = {k: getattr(self, k) for k in self.__dataclass_fields__
                 if k not in ("_cache", "edge_geometry")}
        state["edge_geometry"] = self.__dict__.get("_edge_geometry")
        if state["edge_geometry"] is None and self._cache.get("lazy_geometry"):
            state["_lazy_coords"] = self._cache["coords"]  # stays lazy across processes
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        lazy = state.pop("_lazy_coords", None)
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_cache", {})
        if lazy is not None:
            self._cache["coords"] = lazy
            self._cache["lazy_geometry"] = True

    @property
    def has_geometry(self) -> bool:
        """Whether the edges have geometries (without building them if they are lazy)."""
        return self.__dict__.get("_edge_geometry") is not None or bool(
            self.__dict__.get("_cache", {}).get("lazy_geometry"))

    def memo(self, key: object, build: Any) -> Any:
        """Return the structure cached on this network under ``key``, building it once.

        Derived structures (matrices, KD trees, snapping indexes) live as long as the network;
        ``build`` is a zero-argument callable.
        """
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # -- sizes ----------------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Return the number of nodes."""
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Return the number of directed edges."""
        return len(self.edge_u)

    @property
    def travel_mode(self) -> TravelMode:
        """Return the :class:`TravelMode` of this network."""
        return MODES[self.mode]

    @property
    def speed_mps(self) -> float:
        """Return the speed (m/s) of off-network legs between a point and the road."""
        return self.travel_mode.speed_mps

    @property
    def road_km(self) -> float:
        """Return the length of road in km (a two-way road counted once)."""
        return float(self.edge_length[self.canonical_edges].sum()) / 1000.0

    # -- costs ----------------------------------------------------------------------------------

    def edge_cost(self, weight: str) -> np.ndarray:
        """Return the cost of each edge in ``weight`` (``"length"`` metres, ``"time"`` s)."""
        if weight == "length":
            return self.edge_length
        if weight == "time":
            return self.edge_time
        raise ConfigError(
            f"未知的代价 {weight!r}，可选 length（米）或 time（秒）。"
            f" Unknown weight {weight!r}; use 'length' (metres) or 'time' (seconds)."
        )

    def access_cost(self, access_m: np.ndarray, weight: str) -> np.ndarray:
        """Return the cost of straight off-network legs of ``access_m`` metres in ``weight``."""
        self.edge_cost(weight)  # validates
        access_m = np.asarray(access_m, dtype=np.float64)
        return access_m if weight == "length" else access_m / self.speed_mps

    def matrix(self, weight: Weight) -> sp.csr_matrix:
        """Return the ``n_nodes x n_nodes`` CSR matrix of edge costs (built once per weight).

        Parallel edges keep their cheapest cost; self-loops are dropped (they never shorten a
        path). Zero-cost edges are stored as explicit zeros, which ``scipy.sparse.csgraph``
        treats as edges.
        """
        key = ("matrix", weight)
        if key not in self._cache:
            cost = self.edge_cost(weight)
            n = self.n_nodes
            keep = np.flatnonzero(self.edge_u != self.edge_v)
            chosen = keep[_cheapest_per_pair(
                self.edge_u[keep].astype(np.int64) * n + self.edge_v[keep], cost[keep])]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.edge_u[chosen], minlength=n), out=indptr[1:])
            mat = sp.csr_matrix(
                (cost[chosen].astype(np.float64), self.edge_v[chosen].astype(np.int32), indptr),
                shape=(n, n),
            )
            mat.has_sorted_indices = True
            self._cache[key] = mat
            self._cache[("matrix_edge", weight)] = chosen
        return self._cache[key]

    def matrix_edges(self, weight: Weight) -> np.ndarray:
        """Return, for each stored entry of :meth:`matrix`, the index of the edge it stands for."""
        self.matrix(weight)
        return self._cache[("matrix_edge", weight)]

    # -- topology ---------------------------------------------------------------------------------

    @property
    def edge_reverse(self) -> np.ndarray:
        """Return, per edge, the index of the same road travelled the other way, or -1.

        Edges pair up when they join the same two nodes in opposite directions with the same
        length (to the centimetre); one-way roads in drive/ebike have no reverse.
        """
        if "reverse" not in self._cache:
            self._cache["reverse"] = _pair_reverse_edges(
                self.edge_u, self.edge_v, self.edge_length
            )
        return self._cache["reverse"]

    @property
    def canonical_edges(self) -> np.ndarray:
        """Return the indices of one edge per physical road (the lower index of a two-way pair)."""
        if "canonical" not in self._cache:
            rev = self.edge_reverse
            idx = np.arange(self.n_edges)
            self._cache["canonical"] = np.flatnonzero((rev < 0) | (idx < rev))
        return self._cache["canonical"]

    def out_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(order, indptr)``: edges sorted by start node, with per-node offsets."""
        if "out_edges" not in self._cache:
            order = np.argsort(self.edge_u, kind="stable")
            indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.edge_u, minlength=self.n_nodes), out=indptr[1:])
            self._cache["out_edges"] = (order, indptr)
        return self._cache["out_edges"]

    @property
    def node_tree(self) -> cKDTree:
        """Return the KD tree of projected node coordinates (built once)."""
        if "node_tree" not in self._cache:
            self._cache["node_tree"] = cKDTree(np.column_stack([self.x, self.y]))
        return self._cache["node_tree"]

    # -- geometry ---------------------------------------------------------------------------------

    def edge_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(xy, ptr)``: all edge vertices as an ``(m, 2)`` array and per-edge offsets.

        Edge ``e`` runs through ``xy[ptr[e]:ptr[e + 1]]`` from ``edge_u`` to ``edge_v``.
        Straight edges (no geometry) have their two end nodes as vertices.
        """
        if "coords" not in self._cache:
            if self.edge_geometry is None:
                xy = np.empty((2 * self.n_edges, 2))
                xy[0::2, 0], xy[0::2, 1] = self.x[self.edge_u], self.y[self.edge_u]
                xy[1::2, 0], xy[1::2, 1] = self.x[self.edge_v], self.y[self.edge_v]
                ptr = np.arange(0, 2 * self.n_edges + 1, 2, dtype=np.int64)
            else:
                xy, index = shapely.get_coordinates(self.edge_geometry, return_index=True)
                ptr = np.zeros(self.n_edges + 1, dtype=np.int64)
                np.cumsum(np.bincount(index, minlength=self.n_edges), out=ptr[1:])
            self._cache["coords"] = (xy, ptr)
        return self._cache["coords"]

    def vertex_distance(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(along, plen)``: each vertex's distance along its edge, each edge's length.

        Both in projected metres, aligned with :meth:`edge_coords`; built once.
        """
        if "vertex_distance" not in self._cache:
            xy, ptr = self.edge_coords()
            step = np.zeros(len(xy))
            if len(xy) > 1:
                step[1:] = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
            step[ptr[:-1][np.diff(ptr) > 0]] = 0.0  # first vertex of each edge
            total = np.cumsum(step)
            starts = ptr[:-1]
            ends = np.maximum(ptr[1:] - 1, starts)
            base = np.zeros(self.n_edges)
            nonempty = np.diff(ptr) > 0
            base[nonempty] = total[starts[nonempty]]
            along = total - np.repeat(base, np.diff(ptr))
            plen = np.where(nonempty, total[np.minimum(ends, len(total) - 1)] - base, 0.0)
            self._cache["vertex_distance"] = (along, plen)
        return self._cache["vertex_distance"]

    @property
    def edge_projected_length(self) -> np.ndarray:
        """Return the length of each edge's geometry in the projected CRS (metres)."""
        if "vertex_distance" not in self._cache and "plen" in self._cache:
            return self._cache["plen"]  # saved with the network (see save_network)
        return self.vertex_distance()[1]

    def edge_points(self, edge: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Return ``(k, 2)`` projected coordinates at ``fraction`` (0..1) along each ``edge``."""
        edge = np.asarray(edge, dtype=np.int64)
        fraction = np.clip(np.asarray(fraction, dtype=np.float64), 0.0, 1.0)
        xy, ptr = self.edge_coords()
        along, plen = self.vertex_distance()
        return _interpolate(xy, ptr, along, edge, fraction * plen[edge])

    def edge_substrings(
        self, edge: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> np.ndarray:
        """Return LineStrings of the parts of ``edge`` between fractions ``start`` and ``end``.

        Vectorised over pieces; fractions are of the edge's own geometry (0 = ``edge_u``).
        """
        edge = np.asarray(edge, dtype=np.int64)
        start = np.clip(np.asarray(start, dtype=np.float64), 0.0, 1.0)
        end = np.clip(np.asarray(end, dtype=np.float64), 0.0, 1.0)
        start, end = np.minimum(start, end), np.maximum(start, end)
        if len(edge) == 0:
            return np.empty(0, dtype=object)
        xy, ptr = self.edge_coords()
        along, plen = self.vertex_distance()
        s_d, e_d = start * plen[edge], end * plen[edge]
        p_start = _interpolate(xy, ptr, along, edge, s_d)
        p_end = _interpolate(xy, ptr, along, edge, e_d)
        # interior vertices lie strictly after the start and strictly before the end
        lo, hi = ptr[edge], ptr[edge + 1]
        i_s = _bisect(along, lo, hi, s_d, strict=True)
        i_e = np.maximum(_bisect(along, lo, hi, e_d, strict=False), i_s)
        counts = (i_e - i_s) + 2
        total = int(counts.sum())
        piece = np.repeat(np.arange(len(edge)), counts)
        pos = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        out = np.empty((total, 2))
        first = pos == 0
        last = pos == np.repeat(counts - 1, counts)
        inner = ~(first | last)
        out[first] = p_start
        out[last] = p_end
        out[inner] = xy[(np.repeat(i_s, counts) + pos - 1)[inner]]
        return shapely.linestrings(out, indices=piece)

    def node_frame(self) -> gpd.GeoDataFrame:
        """Return the nodes as a GeoDataFrame (EPSG:4326) with ``node_id``, for maps/candidates."""
        return gpd.GeoDataFrame(
            {"node_id": self.node_id},
            geometry=gpd.points_from_xy(self.lon, self.lat),
            crs="EPSG:4326",
        )

    def edge_frame(self, *, canonical: bool = True) -> gpd.GeoDataFrame:
        """Return edges as a GeoDataFrame in EPSG:4326 (one row per road if ``canonical``)."""
        idx = self.canonical_edges if canonical else np.arange(self.n_edges)
        lines = self.edge_substrings(idx, np.zeros(len(idx)), np.ones(len(idx)))
        frame = gpd.GeoDataFrame(
            {
                "edge": idx,
                "u": self.node_id[self.edge_u[idx]],
                "v": self.node_id[self.edge_v[idx]],
                "length_m": self.edge_length[idx],
                "time_s": self.edge_time[idx],
                "two_way": self.edge_reverse[idx] >= 0,
                "highway": (self.edge_highway[idx] if self.edge_highway is not None
                            else np.full(len(idx), "", dtype=object)),
            },
            geometry=lines,
            crs=self.crs,
        )
        return frame.to_crs("EPSG:4326")

    def summary(self) -> dict[str, Any]:
        """Return the size of the network: nodes, directed edges, roads and km of road."""
        return {
            "mode": self.mode,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "roads": len(self.canonical_edges),
            "road_km": round(self.road_km, 3),
            "crs": self.crs,
            "source": self.source,
        }


def check_edge_costs(values: np.ndarray) -> np.ndarray:
    """Return the positions of edge costs that are NaN, infinite or negative (none: empty).

    Shortest paths need finite non-negative costs; one negative cycle would make a search
    run for ever. Every network is checked here when it is built or loaded.
    """
    values = np.asarray(values, dtype=float)
    return np.flatnonzero(~(np.isfinite(values) & (values >= 0)))


def _cheapest_per_pair(pair: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Return positions of the cheapest entry per distinct ``pair``, in ascending pair order.

    Ties go to the lower position. Equivalent to ``lexsort((cost, pair))`` then the first of
    each pair, but sorts by one key (none when ``pair`` is already sorted, as in saved
    networks) and orders by cost only inside the runs of parallel edges.
    """
    m = len(pair)
    if m < 2:
        return np.arange(m)
    order = (np.arange(m) if bool((pair[1:] >= pair[:-1]).all())
             else np.argsort(pair, kind="stable"))
    ps = pair[order]
    starts = np.flatnonzero(np.concatenate([[True], ps[1:] != ps[:-1]]))
    run_len = np.diff(np.append(starts, m))
    pick = starts.copy()
    multi = run_len > 1
    if multi.any():
        pos = np.flatnonzero(np.repeat(multi, run_len))
        run_of = np.repeat(np.arange(len(starts)), run_len)[pos]
        o = np.lexsort((pos, cost[order[pos]], run_of))
        first = np.concatenate([[True], run_of[o][1:] != run_of[o][:-1]])
        pick[multi] = pos[o[first]]
    return order[pick]


def reversed_network(net: RoadNetwork) -> RoadNetwork:
    """Return ``net`` with every edge turned around (built once per network and kept).

    Edge ``e`` of the result runs ``edge_v[e] -> edge_u[e]`` of ``net``, with the same length,
    time, road class and (reversed) geometry; node indices and the pairing of two-way roads stay
    the same. A search *from* the stations on this network is a search *to* the stations on
    ``net``: how a worker reaches a station along one-way streets (:mod:`yizhan.geo.paths`).
    A point at fraction ``f`` of edge ``e`` is at ``1 - f`` of the turned edge.
    """

    def build() -> RoadNetwork:
        xy, ptr = net.edge_coords()
        counts = np.diff(ptr)
        edge_of = np.repeat(np.arange(net.n_edges), counts)
        pos = np.arange(len(xy)) - ptr[edge_of]
        out = RoadNetwork(
            mode=net.mode, crs=net.crs, node_id=net.node_id, x=net.x, y=net.y, lon=net.lon,
            lat=net.lat, edge_u=net.edge_v, edge_v=net.edge_u, edge_length=net.edge_length,
            edge_time=net.edge_time, edge_geometry=None, edge_highway=net.edge_highway,
            edge_name=net.edge_name, source=net.source, notes=net.notes,
        )
        out._cache["coords"] = (xy[ptr[edge_of] + counts[edge_of] - 1 - pos], ptr)
        out._cache["lazy_geometry"] = True
        out._cache["reverse"] = net.edge_reverse
        return out

    result: RoadNetwork = net.memo("reversed", build)
    return result


def has_one_way(net: RoadNetwork) -> bool:
    """Return whether some edge of ``net`` cannot be travelled the other way (one-way roads)."""
    flag: bool = net.memo("has_one_way", lambda: bool((net.edge_reverse < 0).any()))
    return flag


def _get_edge_geometry(self: RoadNetwork) -> np.ndarray | None:
    geom = self.__dict__.get("_edge_geometry")
    cache = self.__dict__.get("_cache")
    if geom is None and cache is not None and cache.get("lazy_geometry"):
        # A loaded network keeps its edge vertices as flat arrays; LineStrings (hundreds of MB
        # and seconds on large networks) are built on first use only, e.g. for service areas.
        xy, ptr = cache["coords"]
        index = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
        geom = shapely.linestrings(xy, indices=index)
        self.__dict__["_edge_geometry"] = geom
        cache.pop("lazy_geometry", None)
    return geom


def _set_edge_geometry(self: RoadNetwork, value: np.ndarray | None) -> None:
    self.__dict__["_edge_geometry"] = value


# ``edge_geometry`` is a dataclass field (its value is given to the constructor) read through a
# property, so that a network loaded from the cache builds its LineStrings only when asked.
RoadNetwork.edge_geometry = property(  # type: ignore[assignment,method-assign]
    _get_edge_geometry, _set_edge_geometry, doc="Shapely LineStrings of the edges, or None.")


def _bisect(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray, *, strict: bool
) -> np.ndarray:
    """Return per query the first index in ``[lo, hi)`` past ``target``, or ``hi`` if none.

    "Past" means ``values > target`` if ``strict`` else ``values >= target``; ``values`` must
    ascend within each range.
    """
    left = np.asarray(lo, dtype=np.int64).copy()
    right = np.asarray(hi, dtype=np.int64).copy()
    last = max(len(values) - 1, 0)
    while True:
        active = left < right
        if not active.any():
            return left
        mid = (left + right) // 2
        val = values[np.minimum(mid, last)]
        cond = (val > target) if strict else (val >= target)
        right = np.where(active & cond, mid, right)
        left = np.where(active & ~cond, mid + 1, left)


def _interpolate(
    xy: np.ndarray, ptr: np.ndarray, along: np.ndarray, edge: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Return points at distance ``target`` along each ``edge`` (vectorised)."""
    out = np.empty((len(edge), 2))
    if len(edge) == 0:
        return out
    lo, hi = ptr[edge], ptr[edge + 1]
    # end vertex j of the segment holding the target: first vertex beyond it, within the edge
    j = _bisect(along, lo + 1, hi, target, strict=True)
    j = np.clip(j, lo + 1, np.maximum(hi - 1, lo + 1))
    a = j - 1
    seg = along[j] - along[a]
    safe = np.where(seg > 0, seg, 1.0)
    t = np.clip(np.where(seg > 0, (target - along[a]) / safe, 0.0), 0.0, 1.0)
    out[:, 0] = xy[a, 0] + t * (xy[j, 0] - xy[a, 0])
    out[:, 1] = xy[a, 1] + t * (xy[j, 1] - xy[a, 1])
    return out


def _pair_reverse_edges(u: np.ndarray, v: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Return per edge the index of its opposite-direction twin (same ends, same length) or -1.

    Edges between the same two nodes in opposite directions pair up if their lengths agree
    to 1 cm. Lengths are binned in 2 cm bins and then in bins shifted by 1 cm (two nearly
    equal lengths share a bin in at least one of them); leftovers are finally matched in
    order of length within their node pair.
    """
    m = len(u)
    rev = np.full(m, -1, dtype=np.int64)
    length = np.asarray(length, dtype=np.float64)
    todo = np.arange(m)
    for shift in (0.0, 0.5, None):
        if len(todo) < 2:
            break
        if shift is None:
            bins = np.zeros(len(todo), dtype=np.int64)
        else:
            bins = np.floor(length[todo] * 50.0 + shift).astype(np.int64)
        a, b = _match_round(u[todo], v[todo], length[todo], bins)
        rev[todo[a]] = todo[b]
        rev[todo[b]] = todo[a]
        todo = todo[rev[todo] < 0]
    return rev


def _match_round(
    u: np.ndarray, v: np.ndarray, length: np.ndarray, bins: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return matched positions (a, b) within (node pair, length bin), in order of length."""
    m = len(u)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    idx = np.arange(m)
    order = np.lexsort((idx, length, bins, hi, lo))
    lo_o, hi_o, bin_o = lo[order], hi[order], bins[order]
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = ((lo_o[1:] != lo_o[:-1]) | (hi_o[1:] != hi_o[:-1])
                     | (bin_o[1:] != bin_o[:-1]))
    group = np.cumsum(new_group) - 1
    pos_in_group = np.arange(m) - np.flatnonzero(new_group)[group]
    uo, vo = u[order], v[order]
    side = np.where(uo < vo, 0, 1)
    side = np.where(uo == vo, pos_in_group % 2, side)  # loops: pair consecutive ones
    order2 = np.lexsort((np.arange(m), side, group))
    g2, s2 = group[order2], side[order2]
    start = np.ones(m, dtype=bool)
    start[1:] = (g2[1:] != g2[:-1]) | (s2[1:] != s2[:-1])
    rank2 = np.arange(m) - np.flatnonzero(start)[np.cumsum(start) - 1]
    rank = np.empty(m, dtype=np.int64)
    rank[order2] = rank2
    key = group * (m + 1) + rank
    a = np.flatnonzero(side == 0)
    b = np.flatnonzero(side == 1)
    b_sorted = b[np.argsort(key[b], kind="stable")]
    pos = np.searchsorted(key[b_sorted], key[a])
    ok = pos < len(b_sorted)
    ok[ok] = key[b_sorted[pos[ok]]] == key[a[ok]]
    ea, eb = order[a[ok]], order[b_sorted[pos[ok]]]
    close = np.abs(length[ea] - length[eb]) <= 0.01
    return ea[close], eb[close]


# --------------------------------------------------------------------------------------------
# From a networkx graph
# --------------------------------------------------------------------------------------------


def _values(value: object) -> list[str]:
    """Return a tag value (scalar, list, NaN or None) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    text = str(value)
    if text.startswith("[") and text.endswith("]"):  # a list that was stored as text
        return [part.strip(" '\"") for part in text[1:-1].split(",") if part.strip(" '\"")]
    return [text]


def edge_allowed(data: dict[str, Any], mode: str | TravelMode) -> bool:
    """Return whether an edge with OSM attributes ``data`` may be used in ``mode``."""
    tm = mode if isinstance(mode, TravelMode) else get_mode(mode)
    highways = _values(data.get("highway"))
    if not highways or any(h in tm.excluded_highways for h in highways):
        return False
    if "yes" in _values(data.get("area")):
        return False
    if "private" in _values(data.get("access")):
        return False
    if any(s in tm.excluded_services for s in _values(data.get("service"))):
        return False
    if any("no" in _values(data.get(tag)) for tag in tm.forbidden_if_no):
        return False
    return not any("yes" in _values(data.get(tag)) for tag in tm.forbidden_if_yes)


def _reversed_geometry(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    geom = data.get("geometry")
    if isinstance(geom, BaseGeometry):
        out["geometry"] = shapely.reverse(geom)
    out["reversed"] = not bool(data.get("reversed", False))
    return out


def mode_graph(
    G: nx.MultiDiGraph,  # noqa: N803 (the osmnx name for a graph)
    *,
    mode: str,
    retain_all: bool = False,
) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with only what ``mode`` may use, in the directions it may use.

    Parameters
    ----------
    G
        An osmnx-style MultiDiGraph (node ``x``/``y`` in lon/lat, edge ``length``, ``highway``).
    mode
        Travel mode key.
    retain_all
        Keep every connected piece; by default only the largest weakly connected component
        (osmnx's default), so points do not snap onto an island no one can reach.

    Returns
    -------
    networkx.MultiDiGraph
        Filtered graph; for modes that ignore one-way streets every edge has its reverse;
        every edge has ``speed_kph`` and ``travel_time`` (seconds).

    Raises
    ------
    NetworkError
        If nothing usable in this mode is left.
    """
    tm = get_mode(mode)
    graph = nx.MultiDiGraph(**G.graph)
    graph.add_nodes_from(G.nodes(data=True))
    kept = [(u, v, d) for u, v, d in G.edges(data=True) if edge_allowed(d, tm)]
    graph.add_edges_from((u, v, dict(d)) for u, v, d in kept)
    if not tm.respects_oneway:
        # add the opposite direction of every edge lacking one (same road, reversed geometry)
        lengths: dict[tuple[Any, Any], list[float]] = {}
        for u, v, d in kept:
            lengths.setdefault((u, v), []).append(float(d.get("length", 0.0)))
        extra = [
            (v, u, _reversed_geometry(d)) for u, v, d in kept
            if not any(abs(x - float(d.get("length", 0.0))) <= 0.01
                       for x in lengths.get((v, u), ()))
        ]
        graph.add_edges_from(extra)
        for _, _, d in graph.edges(data=True):
            d["oneway"] = False
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    if graph.number_of_edges() and not graph.graph.get("simplified"):
        graph = _simplify(graph)  # raw OSM graph: simplify after filtering, as osmnx does
    if graph.number_of_edges() == 0:
        raise NetworkError(
            f"该路网中没有可供{tm.label_zh}使用的道路，请检查数据范围或出行方式。"
            f" The road network has no ways usable for {tm.label_en}; check the area or mode."
        )
    notes: list[str] = []
    if not retain_all and not nx.is_weakly_connected(graph):
        pieces = list(nx.weakly_connected_components(graph))
        biggest = max(pieces, key=len)
        dropped = [(u, v, d) for u, v, d in graph.edges(data=True) if u not in biggest]
        km = sum(_finite_or_zero(d.get("length")) for _, _, d in dropped) / 1000
        n_nodes = graph.number_of_nodes() - len(biggest)
        note = (f"{tm.label_zh}路网有 {len(pieces)} 块互不相连的部分，只保留最大的一块；舍去"
                f" {len(pieces) - 1} 块（{n_nodes:,} 个节点、{len(dropped):,} 条边、{km:,.2f} 公里）。"
                "落在这些部分上的工人与驿站会吸附到保留的路网上；若要保留全部，请用 --retain-all。"
                f" The {tm.label_en} network has {len(pieces)} disconnected pieces; only the"
                f" largest is kept: {len(pieces) - 1} dropped ({n_nodes:,} nodes,"
                f" {len(dropped):,} edges, {km:,.2f} km). Points on them snap to the kept"
                " network; use --retain-all to keep every piece.")
        log.info(note)  # shown once by the command or in the report (RoadNetwork.notes)
        notes.append(note)
        graph = nx.MultiDiGraph(graph.subgraph(biggest))
    graph.graph["yizhan_notes"] = tuple(notes)
    _add_speeds(graph, tm)
    return graph


def _finite_or_zero(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _add_speeds(graph: nx.MultiDiGraph, tm: TravelMode) -> None:
    """Set ``speed_kph`` and ``travel_time`` on every edge of ``graph`` for mode ``tm``."""
    if tm.speeds_from_roads:
        import osmnx as ox  # heavy import, only needed here

        observed: set[str] = set()
        classes: set[str] = set()
        for _, _, d in graph.edges(data=True):
            hw = _values(d.get("highway"))
            first = hw[0] if hw else "road"
            classes.add(first)
            if _values(d.get("maxspeed")):
                observed.add(first)
        hwy = {
            c: DRIVE_FALLBACK_KMH.get(c, tm.default_speed_kmh) for c in classes
            if c not in observed
        }
        ox.add_edge_speeds(graph, hwy_speeds=hwy, fallback=tm.default_speed_kmh)
        for _, _, d in graph.edges(data=True):
            speed = float(d["speed_kph"])
            if not np.isfinite(speed) or speed <= 0:
                d["speed_kph"] = tm.default_speed_kmh
    else:
        for _, _, d in graph.edges(data=True):
            d["speed_kph"] = tm.default_speed_kmh
    for _, _, d in graph.edges(data=True):
        d["travel_time"] = float(d["length"]) / (float(d["speed_kph"]) / 3.6)


def network_from_graph(
    G: nx.MultiDiGraph,  # noqa: N803 (the osmnx name for a graph)
    *,
    mode: str,
    retain_all: bool = False,
    source: str = "",
) -> RoadNetwork:
    """Return the :class:`RoadNetwork` of ``G`` in ``mode`` (the mode filter is applied here).

    Parameters
    ----------
    G
        osmnx-style MultiDiGraph in EPSG:4326 (node ``x`` = lon, ``y`` = lat; edge ``length``
        in metres, optional ``geometry``, ``highway``, ``oneway``, ``maxspeed``).
    mode
        Travel mode key; see :func:`mode_graph` for the filter.
    retain_all
        Keep every connected piece instead of the largest one.
    source
        Description kept on the network.

    Returns
    -------
    RoadNetwork
        Nodes sorted by id, edges sorted by (u, v, key).
    """
    crs_in = str(G.graph.get("crs", "EPSG:4326"))
    if pyproj.CRS.from_user_input(crs_in).to_epsg() != 4326:
        raise NetworkError(
            f"路网坐标系是 {crs_in}，需要 WGS-84 经纬度（EPSG:4326）的图。"
            f" The graph is in {crs_in}; pass an unprojected (EPSG:4326) graph."
        )
    graph = mode_graph(G, mode=mode, retain_all=retain_all)
    try:
        ids = np.array(sorted(graph.nodes), dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise NetworkError(
            "路网节点编号必须是整数（OSM 编号）。 Node ids of the graph must be integers (OSM ids)."
        ) from None
    pos = {n: i for i, n in enumerate(ids.tolist())}
    lon = np.array([float(graph.nodes[n]["x"]) for n in ids.tolist()])
    lat = np.array([float(graph.nodes[n]["y"]) for n in ids.tolist()])
    rows = sorted(
        ((pos[u], pos[v], k, d) for u, v, k, d in graph.edges(keys=True, data=True)),
        key=lambda r: (r[0], r[1], str(r[2])),
    )
    eu = np.array([r[0] for r in rows], dtype=np.int32)
    ev = np.array([r[1] for r in rows], dtype=np.int32)
    length = np.array([float(r[3]["length"]) for r in rows])
    time_s = np.array([float(r[3]["travel_time"]) for r in rows])
    for values, name_zh, name_en in ((length, "长度", "length (m)"),
                                     (time_s, "通行时间（由长度与速度算出）",
                                      "travel time (from length and speed)")):
        bad = check_edge_costs(values)
        if len(bad):
            i = int(bad[0])
            u, v, k, d = rows[i]
            edge = f"{ids[u]}→{ids[v]} (key {k}, osmid {d.get('osmid', '-')})"
            raise NetworkError(
                f"路网 {source or ''} 有 {len(bad):,} 条边的{name_zh}不是非负的有限数，例如边"
                f" {edge}：{values[i]}（速度 {d.get('speed_kph', '-')} km/h）。请修正或删去这些边"
                "（长度与速度须为非负数），或从 OpenStreetMap 数据重新生成路网。"
                f" {len(bad):,} edge(s) of the network {source or ''} have a {name_en} that is not"
                f" a finite non-negative number, e.g. edge {edge}: {values[i]} (speed"
                f" {d.get('speed_kph', '-')} km/h). Fix or remove those edges (lengths and speeds"
                " must be non-negative numbers), or rebuild the network from OpenStreetMap data."
            )
    highway = np.array([(_values(r[3].get("highway")) or [""])[0] for r in rows], dtype=object)
    names = np.array([(_values(r[3].get("name")) or [""])[0] for r in rows], dtype=object)
    geoms = [r[3].get("geometry") for r in rows]
    crs = local_utm(lon, lat)
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_utm.transform(lon, lat)
    geometry = _project_edge_geometry(geoms, eu, ev, lon, lat, to_utm)
    return RoadNetwork(
        mode=mode, crs=crs, node_id=ids, x=np.asarray(x), y=np.asarray(y), lon=lon, lat=lat,
        edge_u=eu, edge_v=ev, edge_length=length, edge_time=time_s,
        edge_geometry=geometry, edge_highway=highway, edge_name=names, source=source,
        notes=tuple(graph.graph.get("yizhan_notes", ())),
    )


def _project_edge_geometry(  # noqa: PLR0917
    geoms: Sequence[object],
    eu: np.ndarray,
    ev: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    to_utm: pyproj.Transformer,
) -> np.ndarray:
    """Return projected LineStrings u -> v, straight where the graph has no geometry."""
    lines = np.array(
        [g if isinstance(g, shapely.LineString) and not g.is_empty else None for g in geoms],
        dtype=object,
    )
    missing = np.array([g is None for g in lines], dtype=bool)
    if missing.any():
        idx = np.flatnonzero(missing)
        coords = np.empty((2 * len(idx), 2))
        coords[0::2, 0], coords[0::2, 1] = lon[eu[idx]], lat[eu[idx]]
        coords[1::2, 0], coords[1::2, 1] = lon[ev[idx]], lat[ev[idx]]
        lines[idx] = shapely.linestrings(coords, indices=np.repeat(np.arange(len(idx)), 2))
    xy, index = shapely.get_coordinates(lines, return_index=True)
    px, py = to_utm.transform(xy[:, 0], xy[:, 1])
    projected = shapely.linestrings(np.column_stack([px, py]), indices=index)
    # orient each geometry from u to v (osmnx stores them that way; make sure)
    start, end = shapely.get_point(projected, 0), shapely.get_point(projected, -1)
    ux, uy = to_utm.transform(lon[eu], lat[eu])
    d_start = np.hypot(shapely.get_x(start) - ux, shapely.get_y(start) - uy)
    d_end = np.hypot(shapely.get_x(end) - ux, shapely.get_y(end) - uy)
    flip = (d_end < d_start) & (eu != ev)
    if flip.any():
        projected[flip] = shapely.reverse(projected[flip])
    return projected


def _simplify(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    import osmnx as ox

    if graph.graph.get("simplified"):
        return graph
    return ox.simplify_graph(graph)
