"""Sparse helpers and the row merge shared by the covering and median reductions."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def structure(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """Return the stored-entry pattern of ``matrix`` as a float CSR of ones (sorted, no duplicates)."""
    m = sp.csr_matrix(matrix, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    m.data = np.ones(m.indices.size, np.float64)
    return m


def row_of_entry(m: sp.csr_matrix) -> np.ndarray:
    """Return the row index of every stored entry of ``m``."""
    return np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))


def _segment_hash(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Return the wrapped uint64 sum of ``values`` (one per stored entry) over each row."""
    cs = np.zeros(values.size + 1, np.uint64)
    np.cumsum(values, out=cs[1:])
    return cs[m.indptr[1:]] - cs[m.indptr[:-1]]


def merge_identical_rows(
    m: sp.csr_matrix, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with identical stored pattern (and data, and ``extra`` key) exactly.

    Returns ``(labels, first)``: ``labels[i]`` is the group of row ``i`` and ``first[g]`` the
    first row of group ``g``. Groups are numbered by first occurrence. Candidate groups come
    from two random 64-bit row hashes; every merge is then verified entry by entry, and a row
    that differs from its group's first row keeps a group of its own.
    """
    n = m.shape[0]
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = np.random.default_rng(20240611)
    r1 = rng.integers(1, 2**63, size=m.shape[1], dtype=np.uint64)
    r2 = rng.integers(1, 2**63, size=m.shape[1], dtype=np.uint64)
    bits = np.ascontiguousarray(m.data, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        v1 = r1[m.indices] * (bits | np.uint64(1))
        v2 = r2[m.indices] ^ (bits * np.uint64(0x9E3779B97F4A7C15))
        h1 = _segment_hash(m, v1)
        h2 = _segment_hash(m, v2)
    length = np.diff(m.indptr)
    keys = [h1, h2, length.astype(np.uint64)]
    if extra is not None:
        ex = np.asarray(extra)
        if ex.ndim == 1:
            ex = ex[:, None]
        keys.extend(np.ascontiguousarray(ex[:, k], np.float64).view(np.uint64) for k in range(ex.shape[1]))
    order = np.lexsort(keys[::-1])
    sorted_keys = np.stack([k[order] for k in keys], axis=1)
    new_group = np.ones(n, bool)
    new_group[1:] = (sorted_keys[1:] != sorted_keys[:-1]).any(axis=1)
    gid_sorted = np.cumsum(new_group) - 1
    rep_sorted = order[np.flatnonzero(new_group)][gid_sorted]
    # Representative = smallest row index within each hash group.
    rep_min = np.full(int(gid_sorted[-1]) + 1, n, np.int64)
    np.minimum.at(rep_min, gid_sorted, order)
    rep = np.empty(n, np.int64)
    rep[order] = rep_min[gid_sorted]
    del rep_sorted
    # Verify: entries of each row equal those of its representative, position by position.
    rows = row_of_entry(m)
    offset = np.arange(m.indices.size) - m.indptr[rows]
    rep_pos = m.indptr[rep[rows]] + offset
    bad_entry = (m.indices != m.indices[rep_pos]) | (m.data != m.data[rep_pos])
    bad_row = np.zeros(n, bool)
    bad_row[rows[bad_entry]] = True
    rep = np.where(bad_row, np.arange(n), rep)
    is_first = rep == np.arange(n)
    first = np.flatnonzero(is_first)
    label_of_first = np.full(n, -1, np.int64)
    label_of_first[first] = np.arange(first.size)
    return label_of_first[rep], first

