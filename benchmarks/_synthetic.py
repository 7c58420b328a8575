"""Synthetic road-like networks for benchmarks and tests: a jittered grid with gaps, fast at 500k nodes.

``synthetic_network(n_nodes)`` builds a :class:`yizhan.geo.network.RoadNetwork` directly with numpy (no
networkx): nodes on a square grid (default 100 m blocks) around Shenzhen-Futian, moved by a random
jitter; grid links removed at random (dead ends, superblocks); some roads one-way (only in modes
that respect one-way streets); some roads bent through a mid vertex (so geometry length differs
from the straight line). Same arguments and seed give the same network.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely
from yizhan.geo.network import MODES, RoadNetwork

_SPEEDS_KMH = np.array([30.0, 40.0, 50.0, 60.0])


def synthetic_network(
    n_nodes: int,
    *,
    mode: str = "drive",
    seed: int = 0,
    spacing_m: float = 100.0,
    jitter: float = 0.2,
    remove: float = 0.12,
    oneway: float = 0.1,
    bent: float = 0.3,
    origin_lonlat: tuple[float, float] = (114.05, 22.54),
) -> RoadNetwork:
    """Return a grid-like :class:`RoadNetwork` with about ``n_nodes`` nodes.

    Parameters
    ----------
    n_nodes
        Grid nodes before isolated ones (left with no road) are dropped.
    mode
        Travel mode; decides whether one-way roads exist and the speeds.
    seed
        Random seed.
    spacing_m
        Block size in metres.
    jitter
        Node displacement as a fraction of the spacing.
    remove
        Fraction of grid links removed.
    oneway
        Fraction of roads that are one-way (ignored for modes that ignore one-way streets).
    bent
        Fraction of roads bent through an offset mid vertex.
    origin_lonlat
        South-west corner of the grid.
    """
    rng = np.random.default_rng(seed)
    tm = MODES[mode]
    crs = "EPSG:32650"
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x0, y0 = fwd.transform(*origin_lonlat)
    side = int(np.ceil(np.sqrt(n_nodes)))
    idx = np.arange(n_nodes)
    row, col = idx // side, idx % side
    x = x0 + col * spacing_m + rng.uniform(-jitter, jitter, n_nodes) * spacing_m
    y = y0 + row * spacing_m + rng.uniform(-jitter, jitter, n_nodes) * spacing_m
    # grid links: right and up neighbours that exist
    right = idx[(col + 1 < side) & (idx + 1 < n_nodes)]
    up = idx[idx + side < n_nodes]
    a = np.concatenate([right, up])
    b = np.concatenate([right + 1, up + side])
    keep = rng.random(len(a)) >= remove
    a, b = a[keep], b[keep]
    # drop nodes left without a road and renumber
    used = np.zeros(n_nodes, dtype=bool)
    used[a] = used[b] = True
    new = np.cumsum(used) - 1
    x, y = x[used], y[used]
    a, b = new[a], new[b]
    n = len(x)
    m = len(a)
    # geometry: straight, or bent through a mid vertex offset sideways
    is_bent = rng.random(m) < bent
    mx = (x[a] + x[b]) / 2
    my = (y[a] + y[b]) / 2
    dx, dy = x[b] - x[a], y[b] - y[a]
    shift = rng.uniform(-0.15, 0.15, m)
    mx = mx - dy * shift * is_bent
    my = my + dx * shift * is_bent
    seg1 = np.hypot(mx - x[a], my - y[a])
    seg2 = np.hypot(x[b] - mx, y[b] - my)
    length = np.where(is_bent, seg1 + seg2, np.hypot(dx, dy))
    one = (rng.random(m) < oneway) if tm.respects_oneway else np.zeros(m, dtype=bool)
    flip = rng.random(m) < 0.5  # direction of one-way roads
    ua = np.where(one & flip, b, a)
    va = np.where(one & flip, a, b)
    speed = (_SPEEDS_KMH[rng.integers(0, len(_SPEEDS_KMH), m)] if tm.speeds_from_roads
             else np.full(m, tm.default_speed_kmh))
    # directed edges: every road u -> v, and v -> u for two-way roads
    two = ~one
    eu = np.concatenate([ua, va[two]]).astype(np.int32)
    ev = np.concatenate([va, ua[two]]).astype(np.int32)
    elen = np.concatenate([length, length[two]])
    etime = elen / (np.concatenate([speed, speed[two]]) / 3.6)
    # coordinates of each directed edge u -> v (3 vertices if bent, else 2)
    e_bent = np.concatenate([is_bent, is_bent[two]])
    e_mx = np.concatenate([mx, mx[two]])
    e_my = np.concatenate([my, my[two]])
    nv = np.where(e_bent, 3, 2)
    total = int(nv.sum())
    edge_of = np.repeat(np.arange(len(eu)), nv)
    pos = np.arange(total) - np.repeat(np.cumsum(nv) - nv, nv)
    last = pos == np.repeat(nv - 1, nv)
    coords = np.empty((total, 2))
    first = pos == 0
    mid = ~(first | last)
    coords[first, 0], coords[first, 1] = x[eu], y[eu]
    coords[last, 0], coords[last, 1] = x[ev], y[ev]
    coords[mid, 0], coords[mid, 1] = e_mx[e_bent], e_my[e_bent]
    geometry = shapely.linestrings(coords, indices=edge_of)
    order = np.lexsort((np.arange(len(eu)), ev, eu))
    lon, lat = inv.transform(x, y)
    highway = np.full(len(eu), "residential", dtype=object)
    return RoadNetwork(
        mode=mode, crs=crs, node_id=np.arange(n, dtype=np.int64) + 1_000_000,
        x=x, y=y, lon=np.asarray(lon), lat=np.asarray(lat),
        edge_u=eu[order], edge_v=ev[order], edge_length=elen[order], edge_time=etime[order],
        edge_geometry=geometry[order], edge_highway=highway, source=f"synthetic-{n_nodes}-{seed}",
    )


def random_points(net: RoadNetwork, n: int, *, seed: int = 1, margin_m: float = 200.0
                  ) -> np.ndarray:
    """Return ``(n, 2)`` WGS-84 lon/lat points spread over the network's bounding box."""
    rng = np.random.default_rng(seed)
    px = rng.uniform(net.x.min() - margin_m, net.x.max() + margin_m, n)
    py = rng.uniform(net.y.min() - margin_m, net.y.max() + margin_m, n)
    inv = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform(px, py)
    return np.column_stack([lon, lat])
