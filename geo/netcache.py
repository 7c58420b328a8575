"""The network cache file: a plain ``.npz`` of aligned arrays, mapped from disk when loaded.

One file per built network (:func:`save_network`), holding the arrays of
:class:`~yizhan.geo.network.RoadNetwork` and the derived structures that take time to build
(the cost matrices and the snapping index of :mod:`yizhan.geo.paths`), so a loaded network
queries at once. Its own module, importing both the network structure and the snapping code
(which imports the structure): no import cycle.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from yizhan.geo.network import RoadNetwork
from yizhan.geo.paths import restore_snap_index, snap_index_arrays

from yizhan import __version__
from yizhan.errors import InputFileError
from yizhan.io import atomic_path, read_npz, write_npz_aligned

CACHE_FORMAT = 2
"""Version of the cache file layout; bump when :func:`save_network` changes. It is part of the
cache key, so networks cached by an older layout are rebuilt (format 2 added street names)."""

READABLE_FORMATS = (1, 2)
"""Layouts :func:`load_network` still reads (a format-1 file has no street names)."""


def save_network(net: RoadNetwork, path: str | Path) -> Path:
    """Write ``net`` to ``path`` (``.npz``) atomically and return the path.

    Layout: plain arrays (no pickles) plus the edge geometry as one flat ``(m, 2)`` coordinate
    array with per-edge offsets, which loads far faster than WKB; road classes as codes; and the
    derived structures that take time to build on large networks (the reverse-edge pairing,
    the cost matrices and the snapping index of :mod:`yizhan.geo.paths`), so a loaded network
    queries at once. The arrays are stored aligned and uncompressed
    (:func:`yizhan.io.write_npz_aligned`) so that :func:`load_network` maps them from the file
    instead of copying them.
    """
    path = Path(path)
    xy, ptr = net.edge_coords()
    if net.edge_highway is not None:
        names, codes = np.unique(net.edge_highway.astype(str), return_inverse=True)
    else:
        names, codes = np.array([], dtype=str), np.zeros(0, dtype=np.int32)
    if net.edge_name is not None:
        street, street_codes = np.unique(net.edge_name.astype(str), return_inverse=True)
    else:
        street, street_codes = np.array([], dtype=str), np.zeros(0, dtype=np.int32)
    meta = {
        "format": CACHE_FORMAT, "yizhan": __version__, "mode": net.mode, "crs": net.crs,
        "source": net.source, "has_geometry": net.has_geometry,
        "has_highway": net.edge_highway is not None, "has_name": net.edge_name is not None,
        "notes": list(net.notes),
    }
    derived = {"edge_reverse": net.edge_reverse, "edge_plen": net.edge_projected_length,
               **snap_index_arrays(net)}
    for weight in ("length", "time"):
        mat = net.matrix(weight)
        derived.update({f"matrix_{weight}_data": mat.data, f"matrix_{weight}_indices": mat.indices,
                        f"matrix_{weight}_indptr": mat.indptr,
                        f"matrix_{weight}_edge": net.matrix_edges(weight)})
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        write_npz_aligned(fh, {
            **derived,
            "meta": np.array(json.dumps(meta, ensure_ascii=False)),
            "node_id": net.node_id, "x": net.x, "y": net.y, "lon": net.lon, "lat": net.lat,
            "edge_u": net.edge_u, "edge_v": net.edge_v,
            "edge_length": net.edge_length, "edge_time": net.edge_time,
            "geom_xy": xy if net.has_geometry else np.zeros((0, 2)),
            "geom_ptr": ptr if net.has_geometry else np.zeros(0, dtype=np.int64),
            "highway_names": names.astype(str), "highway_codes": codes.astype(np.int32),
            "street_names": street.astype(str), "street_codes": street_codes.astype(np.int32),
        })
    return path


def load_network(path: str | Path) -> RoadNetwork:
    """Return the network saved by :func:`save_network` at ``path``.

    The arrays are read-only views of a memory map of the file (see
    :func:`yizhan.io.read_npz`): loading takes no time or memory of its own, and processes
    that load the same network share its pages.

    Raises
    ------
    InputFileError
        If the file is missing, not a yizhan network, or from another cache format.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(
            "路网缓存文件不存在。 The saved network file does not exist.", file=str(path)
        )
    try:
        arrays = read_npz(path)
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputFileError(
            f"不是 yizhan 路网文件（{exc}）。 Not a yizhan network file ({exc}).", file=str(path)
        ) from exc
    if meta.get("format") not in READABLE_FORMATS:
        raise InputFileError(
            "路网缓存格式过旧，请用 --refresh 重新构建。"
            " The saved network uses an old format; rebuild it (--refresh).",
            file=str(path),
        )
    xy = arrays["geom_xy"]
    ptr = arrays["geom_ptr"]
    n_edges = len(arrays["edge_u"])
    highway = None
    if meta["has_highway"]:
        highway = arrays["highway_names"].astype(object)[arrays["highway_codes"]]
    street = None
    if meta.get("has_name"):  # caches written before street names have none
        street = arrays["street_names"].astype(object)[arrays["street_codes"]]
    net = RoadNetwork(
        mode=meta["mode"], crs=meta["crs"], node_id=arrays["node_id"], x=arrays["x"],
        y=arrays["y"], lon=arrays["lon"], lat=arrays["lat"], edge_u=arrays["edge_u"],
        edge_v=arrays["edge_v"], edge_length=arrays["edge_length"],
        edge_time=arrays["edge_time"], edge_geometry=None, edge_highway=highway, edge_name=street,
        source=meta.get("source", ""), notes=tuple(meta.get("notes", ())),
    )
    if meta["has_geometry"]:
        net._cache["coords"] = (xy, ptr)
        net._cache["lazy_geometry"] = True  # LineStrings built on first use
    # derived structures saved with the network (older files: built on first use)
    reverse = arrays.get("edge_reverse")
    if reverse is not None and len(reverse) == n_edges:
        net._cache["reverse"] = reverse
    plen = arrays.get("edge_plen")
    if plen is not None and len(plen) == n_edges:
        net._cache["plen"] = plen
    for weight in ("length", "time"):
        data, indices, indptr, chosen = (arrays.get(f"matrix_{weight}_{k}")
                                         for k in ("data", "indices", "indptr", "edge"))
        if (data is not None and indices is not None and chosen is not None
                and indptr is not None and len(indptr) == net.n_nodes + 1):
            mat = sp.csr_matrix((data, indices, indptr), shape=(net.n_nodes, net.n_nodes))
            mat.has_sorted_indices = True
            net._cache[("matrix", weight)] = mat
            net._cache[("matrix_edge", weight)] = chosen
    restore_snap_index(net, arrays)
    return net
