"""Service areas: the roads from which a worker reaches each facility within a cutoff, as polygons.

One-way roads are followed the way they run, toward the facility.

For each facility and cutoff the area is built from what is actually reached along the roads:
every edge reached in full, the reached *part* of each frontier edge (cut at the exact position
where the budget runs out, from either end, in the directions the mode allows), the facility's
own road from its snapped position, and its off-network leg; these lines are buffered by
``buffer_m`` and merged. Unlike a hull of reached nodes, a block that the network does not reach
within the cutoff (behind a river, a wall, a one-way system) stays outside.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from yizhan.geo.network import RoadNetwork
from yizhan.geo.paths import DEFAULT_MAX_ACCESS_M, Snapped, node_costs, orient, snap

from yizhan import log

DEFAULT_BUFFER_M = 50.0
"""Half-width (metres) of the band drawn around reached roads when ``buffer_m`` is None."""


def service_areas(
    net: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    cutoffs: Sequence[float],
    weight: str,
    max_access_m: float = DEFAULT_MAX_ACCESS_M,
    buffer_m: float | None = None,
    id_column: str | None = None,
    include_access: bool = True,
    batch: int = 64,
    rule: str | None = None,
) -> gpd.GeoDataFrame:
    """Return one service-area polygon per facility and cutoff.

    Parameters
    ----------
    net
        The road network (its mode decides directions and speeds).
    facilities
        Point GeoDataFrame (any CRS), e.g. the stations.
    cutoffs
        Budgets in the weight's unit: metres (``"length"``) or seconds (``"time"``).
    weight
        ``"length"`` or ``"time"``.
    max_access_m
        Facilities farther than this from every road get an empty area (``too_far``).
    buffer_m
        Half-width of the band around reached roads (default :data:`DEFAULT_BUFFER_M`).
    id_column
        Column holding facility ids (default ``station_id`` if present, else the index).
    include_access
        Spend the facility's off-network leg from the budget first (and draw it).
    batch
        Facilities per Dijkstra run (memory about ``batch x n_nodes`` floats).
    rule
        Coverage rule name to put in a ``rule`` column (as :func:`maps.add_service_areas`
        groups by it).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, ordered by facility (input order) then cutoff, columns ``facility_id``
        (also as ``station_id`` when the ids came from that column), ``cutoff``, ``weight``,
        ``mode``, ``reached_km`` (road reached, a two-way road counted once), ``area_km2``,
        ``too_far``, ``rule`` if given, and the polygon ``geometry`` (empty if nothing).
    """
    cuts = np.array(sorted({float(c) for c in cutoffs}), dtype=np.float64)
    if len(cuts) == 0 or (cuts <= 0).any():
        raise ValueError("cutoffs must be positive numbers")
    buffer = DEFAULT_BUFFER_M if buffer_m is None else float(buffer_m)
    if id_column is None:
        id_column = "station_id" if "station_id" in facilities.columns else None
    ids = (facilities[id_column].astype(str).to_numpy() if id_column is not None
           else facilities.index.astype(str).to_numpy())
    snapped = snap(net, facilities, max_access_m=max_access_m, what="stations")
    # the places from which a worker reaches the station: the search runs on the network
    # turned around when it has one-way roads (yizhan.geo.paths.orient)
    net, snapped, _ = orient(net, snapped, None, "to_facility")
    n_f, n_c = len(facilities), len(cuts)
    w = net.edge_cost(weight)
    f_offset = (net.access_cost(snapped.access_m, weight) if include_access
                else np.zeros(n_f))
    pieces_edge: list[np.ndarray] = []
    pieces_start: list[np.ndarray] = []
    pieces_end: list[np.ndarray] = []
    pieces_group: list[np.ndarray] = []
    for fac, dist in node_costs(net, snapped, weight=weight, limit=float(cuts[-1]),
                                batch=batch, include_access=include_access,
                                direction="from_facility"):
        e, s, t, g = _reached_pieces(net, dist, fac, cuts, w)
        pieces_edge.append(e)
        pieces_start.append(s)
        pieces_end.append(t)
        pieces_group.append(g)
        e, s, t, g = _own_road_pieces(net, snapped, fac, f_offset, cuts, w)
        pieces_edge.append(e)
        pieces_start.append(s)
        pieces_end.append(t)
        pieces_group.append(g)
    edge = np.concatenate(pieces_edge) if pieces_edge else np.zeros(0, dtype=np.int64)
    start = np.concatenate(pieces_start) if pieces_start else np.zeros(0)
    end = np.concatenate(pieces_end) if pieces_end else np.zeros(0)
    group = np.concatenate(pieces_group) if pieces_group else np.zeros(0, dtype=np.int64)
    lines = net.edge_substrings(edge, start, end)
    reached_m = _union_length(net, edge, start, end, group, n_f * n_c)
    # off-network legs, drawn for each cutoff the leg fits in
    leg_group, leg_lines = _access_legs(net, facilities, snapped, f_offset, cuts,
                                        include_access=include_access)
    all_lines = np.concatenate([lines, leg_lines])
    all_group = np.concatenate([group, leg_group])
    polygons = np.full(n_f * n_c, None, dtype=object)
    if len(all_lines):
        order = np.argsort(all_group, kind="stable")
        groups, first = np.unique(all_group[order], return_index=True)
        # Buffer each piece, then union per group: GEOS buffers a MultiLineString of many
        # overlapping pieces ~20x slower than it unions the pieces' buffers.
        bands = shapely.buffer(all_lines[order], buffer, quad_segs=4)
        bounds = np.append(first, len(order))
        polygons[groups] = [
            shapely.union_all(bands[a:b]) for a, b in itertools.pairwise(bounds)
        ]
    empty = shapely.Polygon()
    polygons = np.array([p if p is not None else empty for p in polygons], dtype=object)
    out = gpd.GeoDataFrame(
        {
            "facility_id": np.repeat(ids, n_c),
            "cutoff": np.tile(cuts, n_f),
            "weight": weight,
            "mode": net.mode,
            "reached_km": reached_m / 1000.0,
            "area_km2": shapely.area(polygons) / 1e6,
            "too_far": np.repeat(snapped.too_far, n_c),
        },
        geometry=polygons,
        crs=net.crs,
    ).to_crs("EPSG:4326")
    if id_column == "station_id":
        out.insert(1, "station_id", out["facility_id"])
    if rule is not None:
        out.insert(1, "rule", rule)
    if snapped.too_far.any():
        log.warn(
            f"{int(snapped.too_far.sum())} 个设施离道路太远，服务区为空。"
            f" {int(snapped.too_far.sum())} facilit(ies) are too far from roads; empty areas."
        )
    return out


def _reached_pieces(
    net: RoadNetwork, dist: np.ndarray, fac: np.ndarray, cuts: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (canonical edge, start, end, group) of the road parts reached from the nodes.

    For a node reached at cost ``d`` and an edge ``e`` leaving it, the part within cutoff ``c``
    is the fraction ``(c - d) / w[e]`` (clipped to 0..1) from that end. Parts are expressed on
    the canonical edge of the road; per road, the parts from both ends merge into one piece
    when they meet.
    """
    n_c = len(cuts)
    bi, node = np.nonzero(np.isfinite(dist))
    d = dist[bi, node]
    order, indptr = net.out_edges()
    cnt = indptr[node + 1] - indptr[node]
    total = int(cnt.sum())
    rep = np.repeat(np.arange(len(node)), cnt)
    within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    e = order[indptr[node][rep] + within]
    de = d[rep]
    fb = bi[rep]
    rev = net.edge_reverse
    is_canon = (rev < 0) | (np.arange(net.n_edges) < rev)
    ce = np.where(is_canon[e], e, rev[e])
    from_u = is_canon[e]
    edges: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    for ci, c in enumerate(cuts):
        ok = de <= c
        if not ok.any():
            continue
        we = w[e[ok]]
        reach = np.where(we > 0, (c - de[ok]) / np.where(we > 0, we, 1.0), 1.0)
        reach = np.clip(reach, 0.0, 1.0)
        grp = fac[fb[ok]] * n_c + ci
        # merge per (group, canonical edge, side): the furthest reach from each end
        key_e, key_g, side = ce[ok], grp, from_u[ok].astype(np.int64)
        srt = np.lexsort((-reach, side, key_e, key_g))
        k_g, k_e, k_s, k_r = key_g[srt], key_e[srt], side[srt], reach[srt]
        first = np.ones(len(srt), dtype=bool)
        first[1:] = (k_g[1:] != k_g[:-1]) | (k_e[1:] != k_e[:-1]) | (k_s[1:] != k_s[:-1])
        k_g, k_e, k_s, k_r = k_g[first], k_e[first], k_s[first], k_r[first]
        # combine both sides of the same road: [0, a] from u and [1 - b, 1] from v
        a = np.where(k_s == 1, k_r, 0.0)
        b = np.where(k_s == 0, k_r, 0.0)
        pair = np.ones(len(k_g), dtype=bool)
        pair[1:] = (k_g[1:] != k_g[:-1]) | (k_e[1:] != k_e[:-1])
        road = np.cumsum(pair) - 1
        n_road = int(road[-1]) + 1 if len(road) else 0
        amax = np.zeros(n_road)
        bmax = np.zeros(n_road)
        np.maximum.at(amax, road, a)
        np.maximum.at(bmax, road, b)
        r_e = k_e[pair]
        r_g = k_g[pair]
        whole = amax + bmax >= 1.0
        # whole roads as one piece; others as up to two pieces
        e_parts = [r_e[whole], r_e[~whole & (amax > 0)], r_e[~whole & (bmax > 0)]]
        s_parts = [np.zeros(whole.sum()), np.zeros(int((~whole & (amax > 0)).sum())),
                   1.0 - bmax[~whole & (bmax > 0)]]
        t_parts = [np.ones(whole.sum()), amax[~whole & (amax > 0)],
                   np.ones(int((~whole & (bmax > 0)).sum()))]
        g_parts = [r_g[whole], r_g[~whole & (amax > 0)], r_g[~whole & (bmax > 0)]]
        edges.extend(e_parts)
        starts.extend(s_parts)
        ends.extend(t_parts)
        groups.extend(g_parts)
    if not edges:
        return (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
                np.zeros(0, dtype=np.int64))
    return (np.concatenate(edges).astype(np.int64), np.concatenate(starts),
            np.concatenate(ends), np.concatenate(groups).astype(np.int64))


def _own_road_pieces(  # noqa: PLR0917
    net: RoadNetwork,
    snapped: Snapped,
    fac: np.ndarray,
    f_offset: np.ndarray,
    cuts: np.ndarray,
    w: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the pieces of each facility's own road reached directly from its position."""
    n_c = len(cuts)
    e = snapped.edge[fac]
    f = snapped.fraction[fac]
    r = net.edge_reverse[e]
    budget = cuts[None, :] - f_offset[fac][:, None]  # facilities x cutoffs
    we = w[e][:, None]
    fwd = np.where(we > 0, budget / np.where(we > 0, we, 1.0), 1.0)
    wr = np.where(r >= 0, w[np.maximum(r, 0)], 0.0)[:, None]
    back = np.where(r[:, None] >= 0, np.where(wr > 0, budget / np.where(wr > 0, wr, 1.0), 1.0),
                    0.0)
    lo = np.clip(f[:, None] - np.maximum(back, 0.0), 0.0, 1.0)
    hi = np.clip(f[:, None] + np.maximum(fwd, 0.0), 0.0, 1.0)
    ok = (budget >= 0) & (hi > lo)
    fi, ci = np.nonzero(ok)
    return (e[fi].astype(np.int64), lo[fi, ci], hi[fi, ci],
            (fac[fi] * n_c + ci).astype(np.int64))


def _access_legs(
    net: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    snapped: Snapped,
    f_offset: np.ndarray,
    cuts: np.ndarray,
    *,
    include_access: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (group, LineString) of each facility's off-network leg, per cutoff it fits in."""
    if not include_access:
        return np.zeros(0, dtype=np.int64), np.empty(0, dtype=object)
    ok = ~snapped.too_far
    pts = facilities.geometry.to_crs(net.crs).to_numpy()
    fi, ci = np.nonzero(ok[:, None] & (f_offset[:, None] <= cuts[None, :]))
    if len(fi) == 0:
        return np.zeros(0, dtype=np.int64), np.empty(0, dtype=object)
    coords = np.empty((2 * len(fi), 2))
    coords[0::2, 0] = shapely.get_x(pts[fi])
    coords[0::2, 1] = shapely.get_y(pts[fi])
    coords[1::2, 0] = snapped.x[fi]
    coords[1::2, 1] = snapped.y[fi]
    legs = shapely.linestrings(coords, indices=np.repeat(np.arange(len(fi)), 2))
    return (fi * len(cuts) + ci).astype(np.int64), legs


def _union_length(  # noqa: PLR0917
    net: RoadNetwork,
    edge: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    group: np.ndarray,
    n_groups: int,
) -> np.ndarray:
    """Return per group the metres of road covered by the union of its pieces."""
    if len(edge) == 0:
        return np.zeros(n_groups)
    order = np.lexsort((start, edge, group))
    e, s, t, g = edge[order], start[order], end[order], group[order]
    new = np.ones(len(e), dtype=bool)
    new[1:] = (e[1:] != e[:-1]) | (g[1:] != g[:-1])
    run = np.cumsum(new) - 1
    # running max of piece ends within each (group, edge) run: offset runs by 2 so the
    # maximum restarts at every run (ends lie in 0..1)
    lifted = np.maximum.accumulate(t + 2.0 * run) - 2.0 * run
    before = np.empty(len(e))
    before[0] = -np.inf
    before[1:] = lifted[:-1]
    before[new] = -np.inf
    covered = np.clip(t - np.maximum(s, before), 0.0, None)
    return np.bincount(g, weights=covered * net.edge_length[e], minlength=n_groups)


def service_area_table(areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the service areas without geometry, with bilingual column descriptions as attrs."""
    table = pd.DataFrame(areas.drop(columns="geometry"))
    table.attrs["columns"] = {
        "facility_id": "设施编号 facility id",
        "cutoff": "阈值（米或秒） cutoff (metres or seconds)",
        "weight": "代价类型 cost type (length/time)",
        "mode": "出行方式 travel mode",
        "reached_km": "可达道路长度（公里） road reached (km)",
        "area_km2": "服务区面积（平方公里） service area (km²)",
        "too_far": "设施离道路太远 facility too far from roads",
    }
    return table
