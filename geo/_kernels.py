"""Compiled inner loops (numba) of snapping and shortest-path trees.

Only the loops that numpy cannot vectorise without large temporaries live here: the per-point
search over grid cells (:func:`grid_nearest`) and the walk up a shortest-path tree
(:func:`tree_sums`). They are plain functions on arrays, compiled on first use and cached on
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
def _scan_cell(  # noqa: PLR0917
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


@njit(cache=True, nogil=True)
def grid_nearest(  # noqa: PLR0917
    px: Array, py: Array, order: Array, x0: Array, y0: Array, x1: Array, y1: Array,
    ptr: Array, items: Array, cell: float, ox: float, oy: float, nx: int, ny: int,
    bound: float, max_ring: int,
    out_item: Array, out_dist: Array, out_t: Array, out_unsure: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.snap
    """Fill the exact nearest segment of each point ``order[k]`` (within ``bound``).

    Segments are registered in every grid cell their bounding box overlaps (see
    ``geo.paths._Grid``). Around each point, rings of cells at Chebyshev distance 0, 1, 2, ...
    are scanned until the best distance is no more than ``r * cell + margin`` (``margin``: the
    point's distance to the nearest side of its own cell), beyond which no unseen segment can be
    closer; or until that reach passes ``bound``. Ties go to the lower segment index, so the
    result does not depend on the scan order. Points still unsure after ``max_ring`` rings get
    ``out_unsure = True`` (the caller finishes them with a KD tree).
    """
    inv = 1.0 / cell
    bound2 = bound * bound
    for k in range(len(order)):
        i = order[k]
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
                if ix == cx - r or ix == cx + r:  # a side column of the ring: all its cells
                    for iy in range(max(cy - r, 0), min(cy + r, ny - 1) + 1):
                        best_d2, best_item, best_t = _scan_cell(
                            x, y, ix * ny + iy, x0, y0, x1, y1, ptr, items,
                            best_d2, best_item, best_t)
                else:  # an inner column: only the ring's bottom and top cells
                    if 0 <= cy - r < ny:
                        best_d2, best_item, best_t = _scan_cell(
                            x, y, ix * ny + cy - r, x0, y0, x1, y1, ptr, items,
                            best_d2, best_item, best_t)
                    if 0 <= cy + r < ny:
                        best_d2, best_item, best_t = _scan_cell(
                            x, y, ix * ny + cy + r, x0, y0, x1, y1, ptr, items,
                            best_d2, best_item, best_t)
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
def tree_sums(
    pred: Array, indptr: Array, indices: Array, value: Array, out: Array
) -> None:  # pragma: no cover - compiled
    """Fill ``out[i]`` with the sum of ``value`` along the tree path from its root to ``i``.

    ``pred`` is a shortest-path tree (-1 at roots and unreached nodes); the edge ``p -> i`` is
    the entry of column ``i`` in CSR row ``p`` (``indptr``/``indices``), ``value`` holds one
    number per entry. Each node is summed once: a walk goes up only until a node already done,
    then back down.
    """
    n = len(pred)
    todo = np.ones(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for start in range(n):
        if not todo[start]:
            continue
        depth = 0
        i = start
        while i >= 0 and todo[i]:
            stack[depth] = i
            depth += 1
            i = pred[i]
        while depth > 0:
            depth -= 1
            j = stack[depth]
            p = pred[j]
            if p < 0:
                out[j] = 0.0
            else:
                total = out[p]
                for e in range(indptr[p], indptr[p + 1]):
                    if indices[e] == j:
                        total += value[e]
                        break
                out[j] = total
            todo[j] = False


@njit(cache=True, nogil=True)
def nearest_ends(  # noqa: PLR0917
    tgt: Array, edge: Array, fraction: Array, edge_u: Array, edge_v: Array, reverse: Array,
    w: Array, wo: Array, dist: Array, other: Array, origin: Array, n: int,
    out_cost: Array, out_other: Array, out_source: Array,
) -> None:  # pragma: no cover - compiled; tested through geo.paths.nearest_facility
    """Fill, per target ``tgt[k]``, the better way in from the two ends of its road.

    A target at ``fraction`` ``g`` along ``edge`` (``u -> v``) is reached from ``u`` at
    ``dist[u] + g * w[edge]``, or from ``v`` along the reverse road (if two-way) at
    ``dist[v] + (1 - g) * w[reverse]``; ``u`` wins ties. ``other`` carries the other weight the
    same way; ``out_source`` is ``origin - n`` of the end taken (negative if unreached).
    """
    for k in range(len(tgt)):
        i = tgt[k]
        e = edge[i]
        g = fraction[i]
        u = edge_u[e]
        cost = dist[u] + g * w[e]
        oth = other[u] + g * wo[e]
        src = origin[u] - n
        r = reverse[e]
        if r >= 0:
            v = edge_v[e]
            cv = dist[v] + (1.0 - g) * w[r]
            if cv < cost:
                cost = cv
                oth = other[v] + (1.0 - g) * wo[r]
                src = origin[v] - n
        out_cost[k] = cost
        out_other[k] = oth
        out_source[k] = src

