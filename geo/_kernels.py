"""Compiled inner loops (numba) of snapping and shortest-path trees.

Only the loops that numpy cannot express without large temporaries, or at all, live here:
the per-point search over grid cells (:func:`grid_nearest`), the multi-source Dijkstra that
also carries a second weight (:func:`nearest_source_tree`) and the per-target pass over road
ends (:func:`nearest_ends`). They are plain functions on arrays, compiled on first use and cached on
disk (``cache=True``; numba's ``NUMBA_CACHE_DIR`` moves the cache), and release the GIL so the
callers can split large inputs over threads. They are serial on purpose: numba's own parallel
threading layers are not safe to enter from several threads at once (Dask workers do).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

Array = np.ndarray


@njit(cache=True, nogil=True, inline="always")
def _scan_cell(  # noqa: PLR0913, PLR0917 - numba kernel: flat arrays, no objects
    x: float, y: float, c: int, x0: Array, y0: Array, x1: Array, y1: Array, ptr: Array,
    items: Array, best_d2: float, best_item: int, best_t: float,
) -> tuple[float, int, float]:  # pragma: no cover - compiled
    """Return the best (squared distance, segment, t) after comparing the segments of cell c."""
    for e in range(ptr[c], ptr[c + 1]):
        s = items[e]
        sx = x0[s]
        sy = y0[s]
        dx = x1[s] - sx
        dy = y1[s] - sy
        qx = x - sx
        qy = y - sy
        den = dx * dx + dy * dy
        t = 0.0
        if den > 0.0:
            t = (qx * dx + qy * dy) / den
            if t < 0.0:
                t = 0.0
            elif t > 1.0:
                t = 1.0
        ex = qx - t * dx
        ey = qy - t * dy
        d2 = ex * ex + ey * ey
        if d2 < best_d2 or (d2 == best_d2 and s < best_item):
            best_d2 = d2
            best_item = s
            best_t = t
    return best_d2, best_item, best_t


@njit(cache=True, nogil=True, inline="always")
def _cell_far(  # noqa: PLR0917
    x: float, y: float, ix: int, iy: int, cell: float, ox: float, oy: float, best_d2: float,
) -> bool:  # pragma: no cover - compiled
    """Return whether all of cell (ix, iy) lies farther from (x, y) than the best so far."""
    left = ox + ix * cell
    bottom = oy + iy * cell
    dx = max(left - x, 0.0, x - (left + cell))
    dy = max(bottom - y, 0.0, y - (bottom + cell))
    return dx * dx + dy * dy > best_d2


@njit(cache=True, nogil=True)
def grid_nearest(  # noqa: PLR0913, PLR0917 - numba kernel: flat arrays, no objects
    px: Array, py: Array, lo: int, hi: int, x0: Array, y0: Array, x1: Array, y1: Array,
    ptr: Array, items: Array, cell: float, ox: float, oy: float, nx: int, ny: int,
    bound: float, max_ring: int, prune: bool,
    out_item: Array, out_dist: Array, out_t: Array, out_unsure: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.snap
    """Fill the exact nearest segment of each point ``lo <= i < hi`` (within ``bound``).

    Segments are registered in every grid cell their bounding box overlaps (see
    ``yizhan.geo.paths._Grid``). Around each point, rings of cells at Chebyshev distance 0, 1, 2, ...
    are scanned until the best distance is no more than ``r * cell + margin`` (``margin``: the
    point's distance to the nearest side of its own cell), beyond which no unseen segment can be
    closer; or until that reach passes ``bound``. With ``prune``, cells wholly farther than the
    best so far are skipped (worth it for road pieces, not for nodes). Ties go to the lower
    segment index, so the result does not depend on the scan order. Points still unsure after
    ``max_ring`` rings get ``out_unsure = True`` (the caller finishes them with a KD tree).
    """
    inv = 1.0 / cell
    bound2 = bound * bound
    for i in range(lo, hi):
        x = px[i]
        y = py[i]
        fx = (x - ox) * inv
        fy = (y - oy) * inv
        cx = math.floor(fx)
        cy = math.floor(fy)
        mx = fx - cx
        my = fy - cy
        margin = min(mx, 1.0 - mx, my, 1.0 - my) * cell
        best_d2 = np.inf
        best_item = -1
        best_t = 0.0
        r = 0
        while True:
            for ix in range(max(cx - r, 0), min(cx + r, nx - 1) + 1):
                side = ix == cx - r or ix == cx + r  # a side column: all its ring cells
                iy = max(cy - r, 0) if side else cy - r
                last = min(cy + r, ny - 1) if side else cy + r
                while iy <= last:
                    if 0 <= iy < ny and not (
                            prune and _cell_far(x, y, ix, iy, cell, ox, oy, best_d2)):
                        best_d2, best_item, best_t = _scan_cell(
                            x, y, ix * ny + iy, x0, y0, x1, y1, ptr, items,
                            best_d2, best_item, best_t)
                    # an inner column has only the ring's bottom and top cells
                    iy = iy + 1 if side or iy == last else last
            reach = r * cell + margin
            if best_d2 <= reach * reach or reach >= bound:
                break
            if r >= max_ring:
                out_unsure[i] = True
                break
            r += 1
        if best_item >= 0 and best_d2 <= bound2:
            out_item[i] = best_item
            out_dist[i] = math.sqrt(best_d2)
            out_t[i] = best_t
        else:
            out_item[i] = -1
            out_dist[i] = np.inf
            out_t[i] = 0.0


@njit(cache=True, nogil=True)
def nearest_ends(  # noqa: PLR0913, PLR0917 - numba kernel: flat arrays, no objects
    tgt: Array, edge: Array, fraction: Array, edge_u: Array, edge_v: Array, reverse: Array,
    w: Array, wo: Array, dist: Array, other: Array, origin: Array,
    out_cost: Array, out_other: Array, out_source: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.nearest_facility
    """Fill, per target ``tgt[k]``, the better way in from the two ends of its road.

    A target at ``fraction`` ``g`` along ``edge`` (``u -> v``) is reached from ``u`` at
    ``dist[u] + g * w[edge]``, or from ``v`` along the reverse road (if two-way) at
    ``dist[v] + (1 - g) * w[reverse]``; ``u`` wins ties. ``other`` carries the other weight the
    same way; ``out_source`` is the ``origin`` of the end taken (-1 if unreached).
    """
    for k in range(len(tgt)):
        i = tgt[k]
        e = edge[i]
        g = fraction[i]
        u = edge_u[e]
        cost = dist[u] + g * w[e]
        oth = other[u] + g * wo[e]
        src = origin[u]
        r = reverse[e]
        if r >= 0:
            v = edge_v[e]
            cv = dist[v] + (1.0 - g) * w[r]
            if cv < cost:
                cost = cv
                oth = other[v] + (1.0 - g) * wo[r]
                src = origin[v]
        out_cost[k] = cost
        out_other[k] = oth
        out_source[k] = src



@njit(cache=True, nogil=True, inline="always")
def _heap_push(heap_cost: Array, heap_node: Array, size: int, c: float, v: int
               ) -> int:  # pragma: no cover - compiled
    """Push ``(c, v)`` on the binary heap of ``size`` entries; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap_cost[parent] <= c:
            break
        heap_cost[i] = heap_cost[parent]
        heap_node[i] = heap_node[parent]
        i = parent
    heap_cost[i] = c
    heap_node[i] = v
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(heap_cost: Array, heap_node: Array, size: int
              ) -> tuple[float, int, int]:  # pragma: no cover - compiled
    """Pop the smallest ``(c, v)`` off the binary heap; return it and the new size."""
    c = heap_cost[0]
    v = heap_node[0]
    size -= 1  # sift the last entry down from the root
    last_c = heap_cost[size]
    last_n = heap_node[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap_cost[child + 1] < heap_cost[child]:
            child += 1
        if heap_cost[child] >= last_c:
            break
        heap_cost[i] = heap_cost[child]
        heap_node[i] = heap_node[child]
        i = child
    heap_cost[i] = last_c
    heap_node[i] = last_n
    return c, v, size


@njit(cache=True, nogil=True)
def nearest_source_tree(  # noqa: PLR0913, PLR0917 - numba kernel: flat arrays, no objects
    indptr: Array, indices: Array, cost: Array, other: Array,
    seed_node: Array, seed_cost: Array, seed_other: Array, seed_source: Array, limit: float,
    dist: Array, oth: Array, origin: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.facility_tree
    """Multi-source Dijkstra: fill each node's cost from its nearest seed, within ``limit``.

    The graph is the CSR matrix ``indptr``/``indices``/``cost`` (non-negative costs);
    ``other`` holds a second weight per entry, summed along the chosen paths into ``oth``.
    Seeds are entry points ``seed_node`` reached at ``seed_cost``/``seed_other`` from source
    ``seed_source`` (a facility's two ends of its road). ``dist`` must come filled with inf
    and ``origin`` with -1: nodes beyond ``limit`` keep them. A node keeps the first path
    found at its final cost, so the result is deterministic. A binary heap with lazy
    deletion, ``O((n + m) log n)``; releases the GIL, so several searches can run at once.
    """
    heap_cost = np.empty(len(indices) + len(seed_node) + 1)
    heap_node = np.empty(len(heap_cost), dtype=np.int64)
    size = 0
    for s in range(len(seed_node)):
        v = seed_node[s]
        c = seed_cost[s]
        if c <= limit and c < dist[v]:
            dist[v] = c
            oth[v] = seed_other[s]
            origin[v] = seed_source[s]
            size = _heap_push(heap_cost, heap_node, size, c, v)
    while size > 0:
        c, u, size = _heap_pop(heap_cost, heap_node, size)
        if c > dist[u]:
            continue  # a stale entry: u was reached more cheaply since
        ou = oth[u]
        src = origin[u]
        for e in range(indptr[u], indptr[u + 1]):
            w = cost[e]
            if not w >= 0.0:  # NaN too: never relax a bad cost (no endless loop)
                continue
            v = indices[e]
            nc = c + w
            if nc <= limit and nc < dist[v]:
                dist[v] = nc
                oth[v] = ou + other[e]
                origin[v] = src
                size = _heap_push(heap_cost, heap_node, size, nc, v)


@njit(cache=True, nogil=True)
def two_nearest_sources(  # noqa: PLR0917 - numba kernel: flat arrays, no objects
    indptr: Array, indices: Array, cost: Array,
    seed_node: Array, seed_cost: Array, seed_source: Array, limit: float,
    best_cost: Array, best_source: Array, count: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.two_nearest
    """Multi-source Dijkstra keeping each node's two nearest *distinct* sources, within ``limit``.

    A node is settled at most twice, once per source (the first two distinct sources to reach
    it, in cost order); only a settled label relaxes the node's edges, so at most ``2 m`` heap
    entries are pushed. ``best_cost``/``best_source`` hold ``2 n`` values (node ``v``'s first
    label at ``2 v``, its second at ``2 v + 1``), filled with inf / -1 on entry; ``count``
    (``n`` zeros on entry) is how many labels each node got. Heap keys pack ``source * n + node``.
    """
    n = len(count)
    heap_cost = np.empty(len(seed_node) + 2 * len(indices) + 1)
    heap_key = np.empty(len(heap_cost), dtype=np.int64)
    size = 0
    for s in range(len(seed_node)):
        c = seed_cost[s]
        if c <= limit:
            size = _heap_push(heap_cost, heap_key, size, c, seed_source[s] * n + seed_node[s])
    while size > 0:
        c, key, size = _heap_pop(heap_cost, heap_key, size)
        u = key % n
        src = key // n
        k = count[u]
        if k >= 2 or (k == 1 and best_source[2 * u] == src):
            continue
        best_cost[2 * u + k] = c
        best_source[2 * u + k] = src
        count[u] = k + 1
        for e in range(indptr[u], indptr[u + 1]):
            w = cost[e]
            if not w >= 0.0:
                continue
            v = indices[e]
            nc = c + w
            kv = count[v]
            if nc <= limit and kv < 2 and not (kv == 1 and best_source[2 * v] == src):
                size = _heap_push(heap_cost, heap_key, size, nc, src * n + v)
