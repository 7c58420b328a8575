"""Demand hotspots: weighted DBSCAN, HDBSCAN or k-means (scikit-learn) on demand points.

:func:`find_hotspots` takes any points GeoDataFrame with a ``weight`` column (``group`` and
``window`` are used when present), so the same function groups worker demand into hotspots and
uncovered demand into gap areas.

How it scales
-------------
Points are first put on a fine square grid (default cell = eps / 5, i.e. 60 m) and each
occupied cell becomes one weighted row at its members' weighted centre; the clustering runs on
those rows and every point inherits its cell's label. A cell of eps / 5 moves a point by at most
0.28 eps, well inside one neighbourhood, so hotspots keep their shape while five million GPS
pings become a few hundred thousand rows. Up to 50 000 points are clustered one by one.
Neighbour searches use a KD-tree on projected metres (the UTM zone of the points) or a ball
tree on radians for ``metric="haversine"``.

Methods and defaults
--------------------
``dbscan`` (default)
    Weighted DBSCAN: a row is a core when the weight within ``eps_m`` (itself included) reaches
    ``min_weight``. ``eps_m`` = 300 m: about one urban block in Shenzhen (blocks of 200–400 m
    between arterials), so pick-ups on both sides of one block join while separate blocks at
    arterial spacing do not; it is also a 4-minute walk, the distance at which one rest station
    can reasonably serve a whole hotspot. DBSCAN chains dense cores, so eps is the spacing of
    dense demand, not the hotspot radius.
``hdbscan``
    scikit-learn's HDBSCAN takes no sample weights, so weights are passed as repetition (the
    definition of an integer sample weight): each row is repeated ``round(weight / unit)`` times
    (at least once), with ``unit`` chosen so at most 20 000 rows reach HDBSCAN, whose
    minimum-spanning-tree step is quadratic; larger inputs are gridded more coarsely until they
    fit. ``min_cluster_size`` is ``min_weight / unit``. Repeats of a grid cell are spread
    uniformly over the cell (seeded), since stacked duplicates would form spurious zero-size
    clusters. ``eps_m`` (default none) joins clusters that come within eps of each other
    (single linkage; scikit-learn's ``cluster_selection_epsilon`` is broken on NumPy 2).
``kmeans``
    Weighted k-means with ``k`` clusters (``n_init=3``, ``random_state=seed``); every point is
    in a cluster, except clusters lighter than an explicitly given ``min_weight``, which become
    noise. Always on projected metres.

``min_weight`` adapts to the data's density (DBSCAN): a hotspot's core must hold within eps at
least the weight that the densest quarter of the demand has around it (the weight-weighted 75th
percentile of every point's weight within eps), and never less than 0.5 % of all demand weight.
In a dense district, where every pick-up has hundreds of others within 300 m, a fixed share
chained the whole district into one hotspot (Futian, Shenzhen: one hotspot held 76-99 % of the
taxi demand); with the density floor the same data gives four or five hotspots of at most a
fifth of the demand each, while a city-wide layer, whose 0.5 % floor is the higher one, is
unchanged. :attr:`HotspotResult.basis` says which floor decided and
:meth:`HotspotResult.describe` says it in words (the map legend shows it). HDBSCAN and k-means
keep the 0.5 % default.

Each hotspot has a polygon: the concave hull (GEOS, ``ratio=0.3``) of its members — of the
corners of each member cell's point bounding box when gridded — united with any member box the
hull cuts, buffered by 2 m, so it always contains every member point. Hotspots are numbered by
weight (heaviest first, ties by position); the result is the same for the same input and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from yizhan.geo.grid import WGS84, local_crs, lonlat, square_codes

from yizhan.errors import ConfigError

Method = Literal["dbscan", "hdbscan", "kmeans"]
Metric = Literal["projected", "haversine"]

DEFAULT_EPS_M = 300.0
DEFAULT_MIN_SHARE = 0.005
#: A DBSCAN core is at least as dense as this quantile of the demand's own density (by weight).
DEFAULT_DENSITY_QUANTILE = 0.75
#: Units whose neighbourhoods are summed at once (bounds the memory of the pair lists).
_NEIGHBOUR_CHUNK = 20_000
EXACT_LIMIT = 50_000
HDBSCAN_MAX_ROWS = 20_000
HULL_RATIO = 0.3
HULL_PAD_M = 2.0
EARTH_RADIUS_M = 6_371_008.8

HOTSPOT_COLUMNS = (
    "hotspot_id",
    "weight",
    "share",
    "dominant_group",
    "peak_window",
    "n_points",
)


@dataclass(frozen=True)
class HotspotResult:
    """Hotspots and the label of every input point.

    Attributes
    ----------
    labels
        ``int64`` array aligned with the input rows: hotspot index (row of ``hotspots``), or
        ``-1`` for noise.
    hotspots
        EPSG:4326 polygons with ``hotspot_id``, ``weight``, ``share`` (of all input weight),
        ``dominant_group``, ``peak_window`` (``""`` without windows), ``n_points``.
    method, metric, eps_m, min_weight, k, seed
        The parameters actually used (defaults filled in).
    cell_m
        Pre-clustering grid cell in metres, or ``None`` when points were clustered one by one.
    n_rows_clustered
        Rows that reached the scikit-learn estimator (cells, or points).
    total_weight, noise_weight, noise_points
        Weight of all input points; weight and count of those left as noise.
    """

    labels: np.ndarray
    hotspots: gpd.GeoDataFrame
    method: str
    metric: str
    eps_m: float | None
    min_weight: float
    k: int | None
    seed: int
    cell_m: float | None
    n_rows_clustered: int
    total_weight: float
    noise_weight: float
    noise_points: int
    basis: str = "given"

    def describe(self) -> str:
        """Return what makes a hotspot, in words for a map legend (Chinese, then English)."""
        if self.method != "dbscan" or self.eps_m is None:
            return (f"方法 method {self.method}；最小权重 minimum weight "
                    f"{self.min_weight:,.0f}")
        why = {
            "density": ("本数据需求最密的四分之一处的水平，按数据密度自动选定",
                        "the density of the densest quarter of this demand, chosen from the data"),
            "share": ("全部需求的 0.5%", "0.5% of all demand"),
            "given": ("用户设定", "set by the user"),
        }[self.basis]
        return (f"热点核心：{self.eps_m:g} 米内需求权重 ≥ {self.min_weight:,.0f}（{why[0]}）。"
                f" Hotspot cores hold a demand weight of at least {self.min_weight:,.0f} within"
                f" {self.eps_m:g} m ({why[1]}).")

    @property
    def clustered_weight(self) -> float:
        """Return the weight of the points that are in some hotspot."""
        return self.total_weight - self.noise_weight


@dataclass(frozen=True)
class _Units:
    """Weighted rows handed to the estimator; ``codes`` maps each point to its row."""

    codes: np.ndarray
    weight: np.ndarray
    x: np.ndarray
    y: np.ndarray
    bounds: np.ndarray  # (n, 4) minx, miny, maxx, maxy of member points, projected metres


def find_hotspots(
    points: gpd.GeoDataFrame,
    *,
    method: Method = "dbscan",
    eps_m: float | None = None,
    min_weight: float | None = None,
    k: int | None = None,
    seed: int = 0,
    metric: Metric = "projected",
    cell_m: float | None = None,
) -> HotspotResult:
    """Return hotspots of weighted points and each point's hotspot label (``-1`` = noise).

    Parameters
    ----------
    points
        Points with ``weight`` (> 0); ``group`` and ``window`` are summarised when present.
    method
        ``"dbscan"``, ``"hdbscan"`` or ``"kmeans"`` (see the module docstring).
    eps_m
        Neighbourhood radius in metres (DBSCAN, default 300); for HDBSCAN, clusters closer
        than this are joined (default none). Not used by k-means.
    min_weight
        Weight a DBSCAN core neighbourhood / an HDBSCAN cluster must reach (default 0.5 % of
        the total); for k-means, clusters lighter than this become noise (default none).
    k
        Number of clusters, required for k-means.
    seed
        Random seed (k-means initialisation).
    metric
        ``"projected"`` (UTM metres, KD-tree) or ``"haversine"`` (great circle, ball tree).
    cell_m
        Pre-clustering grid cell in metres; default: none up to 50 000 points, else eps / 5
        (60 m for k-means and HDBSCAN without eps). ``0`` forces point-by-point clustering.

    Returns
    -------
    HotspotResult
        Labels per input row and the hotspot table.

    Raises
    ------
    ConfigError
        For an unknown method or metric, a missing or too large ``k``, or non-positive
        ``eps_m`` / ``min_weight``.
    """
    method, metric = _check_options(method, metric, eps_m, min_weight, k)
    weights = _point_weights(points)
    total = float(weights.sum())
    if method == "dbscan" and eps_m is None:
        eps_m = DEFAULT_EPS_M
    explicit_min = min_weight is not None
    basis = "given" if explicit_min else "share"
    if min_weight is None:
        min_weight = 0.0 if method == "kmeans" else DEFAULT_MIN_SHARE * total
    n = len(points)
    if n == 0:
        return _result(
            points,
            np.zeros(0, np.int64),
            None,
            method=method,
            metric=metric,
            eps_m=eps_m,
            min_weight=float(min_weight),
            k=k,
            seed=seed,
            cell_m=None,
            n_rows=0,
            basis=basis,
        )
    if cell_m is None:
        cell_m = None if n <= EXACT_LIMIT else (eps_m or DEFAULT_EPS_M) / 5.0
    elif cell_m <= 0:
        cell_m = None
    lon, lat = lonlat(points)
    crs = local_crs(lon, lat)
    x, y = Transformer.from_crs(WGS84, crs, always_xy=True).transform(lon, lat)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if method == "hdbscan":
        units, cell_m = _hdbscan_units(x, y, weights, cell_m=cell_m)
    else:
        units = _make_units(x, y, weights, cell_m=cell_m)
    if method == "dbscan" and not explicit_min:
        dense = _density_floor(units, float(eps_m or DEFAULT_EPS_M))
        if dense > min_weight:
            min_weight, basis = dense, "density"
    if method == "dbscan":
        unit_labels = _dbscan(units, crs, float(eps_m or DEFAULT_EPS_M), float(min_weight), metric)
    elif method == "hdbscan":
        unit_labels = _hdbscan(
            units,
            crs,
            eps_m=eps_m,
            min_weight=float(min_weight),
            metric=metric,
            cell_m=cell_m,
            seed=seed,
        )
    else:
        unit_labels = _kmeans(units, int(k or 0), seed, float(min_weight) if explicit_min else 0.0)
    labels = _renumber(unit_labels[units.codes], weights, x, y)
    geometry = _polygons(labels, units, crs)
    return _result(
        points,
        labels,
        geometry,
        method=method,
        metric=metric,
        eps_m=eps_m,
        min_weight=float(min_weight),
        k=k,
        seed=seed,
        cell_m=cell_m,
        n_rows=len(units.weight),
        basis=basis,
    )


# --- clustering --------------------------------------------------------------------------------


def _density_floor(units: _Units, eps_m: float,
                   quantile: float = DEFAULT_DENSITY_QUANTILE) -> float:
    """Return the weight the densest ``1 - quantile`` of the demand has within ``eps_m``.

    Each unit's neighbourhood weight (its own included, projected metres) is summed in compiled
    code, chunk by chunk; the quantile is taken over the demand weight, not over the units.
    """
    xy = np.column_stack([units.x, units.y])
    tree = cKDTree(xy)
    local = np.empty(len(xy))
    for start in range(0, len(xy), _NEIGHBOUR_CHUNK):
        part = cKDTree(xy[start:start + _NEIGHBOUR_CHUNK])
        pairs = part.sparse_distance_matrix(tree, eps_m, output_type="coo_matrix")
        within = sparse.csr_matrix((np.ones(pairs.nnz), (pairs.row, pairs.col)),
                                   shape=(part.n, len(xy)))
        local[start:start + part.n] = within @ units.weight  # (pairs at distance 0 included)
    order = np.argsort(local, kind="stable")
    cum = np.cumsum(units.weight[order])
    k = int(np.searchsorted(cum, quantile * cum[-1], side="left"))
    return float(local[order[min(k, len(order) - 1)]])


def _dbscan(units: _Units, crs: object, eps_m: float, min_weight: float, metric: str) -> np.ndarray:
    # min_samples=1 with weights scaled by 1/min_weight: core ⇔ Σ weight within eps ≥ min_weight,
    # exactly, for any real-valued min_weight.
    scaled = units.weight / max(min_weight, np.finfo(float).tiny)
    if metric == "haversine":
        model = DBSCAN(
            eps=eps_m / EARTH_RADIUS_M, min_samples=1, metric="haversine", algorithm="ball_tree"
        )
        return model.fit(_radians(units, crs), sample_weight=scaled).labels_.astype(np.int64)
    model = DBSCAN(eps=eps_m, min_samples=1, algorithm="kd_tree")
    xy = np.column_stack([units.x, units.y])
    return model.fit(xy, sample_weight=scaled).labels_.astype(np.int64)


def _hdbscan(
    units: _Units,
    crs: object,
    *,
    eps_m: float | None,
    min_weight: float,
    metric: str,
    cell_m: float | None,
    seed: int,
) -> np.ndarray:
    n = len(units.weight)
    total = float(units.weight.sum())
    unit = max(total / max(HDBSCAN_MAX_ROWS - n, 1), float(units.weight.min()))
    repeats = np.maximum(1, np.rint(units.weight / unit)).astype(np.int64)
    rows = np.repeat(np.arange(n), repeats)
    min_size = max(2, int(np.ceil(min_weight / unit)))
    if len(rows) < min_size:
        return np.full(n, -1, dtype=np.int64)
    x = units.x[rows]
    y = units.y[rows]
    if cell_m is not None:
        # Repeats of a grid cell stacked on one spot would be zero-distance micro-clusters,
        # infinitely stable to HDBSCAN. Spread them uniformly over their cell instead: the
        # data hold no structure finer than a cell anyway. Seeded, so deterministic.
        rng = np.random.default_rng(seed)
        x = (np.floor(x / cell_m) + rng.random(len(rows))) * cell_m
        y = (np.floor(y / cell_m) + rng.random(len(rows))) * cell_m
    if metric == "haversine":
        lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(x, y)
        coords = np.radians(np.column_stack([lat, lon]))
        model = HDBSCAN(
            min_cluster_size=min_size, metric="haversine", algorithm="ball_tree", copy=True
        )
    else:
        coords = np.column_stack([x, y])
        model = HDBSCAN(min_cluster_size=min_size, algorithm="kd_tree", copy=True)
    rep_labels = model.fit(coords).labels_.astype(np.int64)
    if eps_m:
        rep_labels = _merge_within(np.column_stack([x, y]), rep_labels, float(eps_m))
    # Each row takes the label most of its repeats got (they agree unless spread over a cell).
    n_labels = int(rep_labels.max()) + 2
    votes = sparse.coo_matrix(
        (np.ones(len(rows)), (rows, rep_labels + 1)), shape=(n, n_labels)
    ).tocsr()
    return np.asarray(votes.argmax(axis=1)).ravel().astype(np.int64) - 1


def _merge_within(xy: np.ndarray, labels: np.ndarray, eps_m: float) -> np.ndarray:
    """Return labels with clusters merged when any two of their members are within eps_m.

    scikit-learn's own ``cluster_selection_epsilon`` fails on NumPy 2 (scikit-learn issue
    #33219), so clusters closer than eps are joined here, by single linkage on a KD-tree.
    """
    member = np.flatnonzero(labels >= 0)
    if len(member) == 0:
        return labels
    pairs = cKDTree(xy[member]).query_pairs(eps_m, output_type="ndarray")
    n_clusters = int(labels.max()) + 1
    a = labels[member[pairs[:, 0]]]
    b = labels[member[pairs[:, 1]]]
    link = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_clusters, n_clusters))
    _, component = csgraph.connected_components(link, directed=False)
    out = labels.copy()
    out[member] = component[labels[member]]
    return out


def _kmeans(units: _Units, k: int, seed: int, min_weight: float) -> np.ndarray:
    if k > len(units.weight):
        raise ConfigError(
            f"k={k} 大于可聚类的点（格）数 {len(units.weight)}，请减小 k。"
            f" k={k} exceeds the {len(units.weight)} points (cells) to cluster; lower k."
        )
    xy = np.column_stack([units.x, units.y])
    model = KMeans(n_clusters=k, n_init=3, random_state=seed)
    labels = model.fit(xy, sample_weight=units.weight).labels_.astype(np.int64)
    if min_weight > 0:
        cluster_weight = np.bincount(labels, weights=units.weight, minlength=k)
        labels = np.where(cluster_weight[labels] < min_weight, -1, labels)
    return labels


# --- units (points or grid cells) ---------------------------------------------------------------


def _make_units(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, cell_m: float | None
) -> _Units:
    if cell_m is None:
        bounds = np.column_stack([x, y, x, y])
        return _Units(np.arange(len(x), dtype=np.int64), weights, x, y, bounds)
    codes, keys = square_codes(x, y, float(cell_m))
    n = len(keys)
    w = np.bincount(codes, weights=weights, minlength=n)
    cx = np.bincount(codes, weights=weights * x, minlength=n) / w
    cy = np.bincount(codes, weights=weights * y, minlength=n) / w
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n))
    bounds = np.column_stack(
        [
            np.minimum.reduceat(x[order], starts),
            np.minimum.reduceat(y[order], starts),
            np.maximum.reduceat(x[order], starts),
            np.maximum.reduceat(y[order], starts),
        ]
    )
    return _Units(codes, w, cx, cy, bounds)


def _hdbscan_units(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, cell_m: float | None
) -> tuple[_Units, float | None]:
    """Grid (coarsening as needed) until at most half the HDBSCAN row budget remains."""
    units = _make_units(x, y, weights, cell_m=cell_m)
    if len(units.weight) <= HDBSCAN_MAX_ROWS // 2:
        return units, cell_m
    size = cell_m or DEFAULT_EPS_M / 5.0
    target = HDBSCAN_MAX_ROWS // 2
    while True:
        # occupied cells fall roughly with the square of the cell size: jump, then step
        size *= max(1.25, 1.05 * float(np.sqrt(len(units.weight) / target)))
        units = _make_units(x, y, weights, cell_m=size)
        if len(units.weight) <= target:
            return units, size


def _radians(units: _Units, crs: object) -> np.ndarray:
    lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(units.x, units.y)
    return np.radians(np.column_stack([lat, lon]))


# --- results -----------------------------------------------------------------------------------


def _renumber(labels: np.ndarray, weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..m-1 by weight (heaviest first), ties by weighted centre x, y."""
    member = labels >= 0
    if not member.any():
        return np.full(len(labels), -1, dtype=np.int64)
    old, inverse = np.unique(labels[member], return_inverse=True)
    w = np.bincount(inverse, weights=weights[member])
    cx = np.bincount(inverse, weights=weights[member] * x[member]) / w
    cy = np.bincount(inverse, weights=weights[member] * y[member]) / w
    order = np.lexsort((cy, cx, -w))
    rank = np.empty(len(old), dtype=np.int64)
    rank[order] = np.arange(len(old))
    out = np.full(len(labels), -1, dtype=np.int64)
    out[member] = rank[inverse]
    return out


def _polygons(labels: np.ndarray, units: _Units, crs: object) -> np.ndarray:
    """Return one EPSG:4326 polygon per hotspot containing all its member points."""
    n_hot = int(labels.max()) + 1 if len(labels) else 0
    if n_hot == 0:
        return np.array([], dtype=object)
    # Map unit labels to the renumbered ones through any member point of each unit.
    unit_new = np.full(len(units.weight), -1, dtype=np.int64)
    unit_new[units.codes] = labels
    order = np.argsort(unit_new, kind="stable")
    sorted_labels = unit_new[order]
    starts = np.searchsorted(sorted_labels, np.arange(n_hot))
    ends = np.searchsorted(sorted_labels, np.arange(n_hot), side="right")
    polys = []
    for h in range(n_hot):  # one iteration per hotspot, not per point
        b = units.bounds[order[starts[h] : ends[h]]]
        corners = np.unique(
            np.concatenate([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]]), axis=0
        )
        hull = shapely.concave_hull(shapely.multipoints(corners), ratio=HULL_RATIO)
        boxes = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        real = shapely.area(boxes) > 0
        if real.any():
            shapely.prepare(hull)
            cut = real & ~shapely.covers(hull, boxes)
            if cut.any():
                hull = shapely.union_all(np.concatenate([[hull], boxes[cut]]))
        polys.append(shapely.buffer(hull, HULL_PAD_M, quad_segs=4))
    return gpd.GeoSeries(polys, crs=crs).to_crs(WGS84).to_numpy()


def _result(  # noqa: PLR0913 - private: assembles the result of find_hotspots
    points: gpd.GeoDataFrame,
    labels: np.ndarray,
    geometry: np.ndarray | None,
    *,
    method: str,
    metric: str,
    eps_m: float | None,
    min_weight: float,
    k: int | None,
    seed: int,
    cell_m: float | None,
    n_rows: int,
    basis: str,
) -> HotspotResult:
    weights = _point_weights(points)
    total = float(weights.sum())
    n_hot = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    member = labels >= 0
    hot_weight = np.bincount(labels[member], weights=weights[member], minlength=n_hot)
    width = max(3, len(str(n_hot)))
    frame = pd.DataFrame(
        {
            "hotspot_id": [f"H{i + 1:0{width}d}" for i in range(n_hot)],
            "weight": hot_weight,
            "share": hot_weight / total if total > 0 else np.zeros(n_hot),
            "dominant_group": _dominant(points, "group", labels, weights, n_hot),
            "peak_window": _dominant(points, "window", labels, weights, n_hot),
            "n_points": np.bincount(labels[member], minlength=n_hot).astype(np.int64),
        }
    )
    geoms = geometry if geometry is not None and n_hot else np.array([], dtype=object)
    hotspots = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)
    return HotspotResult(
        labels=labels,
        hotspots=hotspots,
        method=method,
        metric=metric,
        eps_m=eps_m,
        min_weight=min_weight,
        k=k,
        seed=seed,
        cell_m=cell_m,
        n_rows_clustered=n_rows,
        total_weight=total,
        noise_weight=float(weights[~member].sum()),
        noise_points=int((~member).sum()),
        basis=basis,
    )


def _dominant(
    points: gpd.GeoDataFrame, column: str, labels: np.ndarray, weights: np.ndarray, n_hot: int
) -> np.ndarray:
    """Return the heaviest value of ``column`` per hotspot (ties: first alphabetically)."""
    if column not in points.columns or n_hot == 0:
        return np.full(n_hot, "", dtype=object)
    member = labels >= 0
    codes, names = pd.factorize(points[column].astype(str).to_numpy()[member], sort=True)
    n_names = len(names)
    if n_names == 0:
        return np.full(n_hot, "", dtype=object)
    table = np.bincount(
        labels[member] * n_names + codes, weights=weights[member], minlength=n_hot * n_names
    ).reshape(n_hot, n_names)
    return np.asarray(names, dtype=object)[np.argmax(table, axis=1)]


def _point_weights(points: gpd.GeoDataFrame) -> np.ndarray:
    if "weight" not in points.columns:
        raise ValueError("points need a 'weight' column")
    weights = points["weight"].to_numpy(dtype=float)
    if len(weights) and (not np.all(np.isfinite(weights)) or np.any(weights <= 0)):
        raise ValueError("point weights must be finite and > 0")
    return weights


def _check_options(
    method: str, metric: str, eps_m: float | None, min_weight: float | None, k: int | None
) -> tuple[Method, Metric]:
    methods = ("dbscan", "hdbscan", "kmeans")
    if method not in methods:
        raise ConfigError(
            f"未知聚类方法 {method!r}，可选 {', '.join(methods)}。"
            f" Unknown clustering method {method!r}; use one of {', '.join(methods)}."
        )
    if metric not in ("projected", "haversine"):
        raise ConfigError(
            f"未知距离度量 {metric!r}，可选 projected、haversine。"
            f" Unknown metric {metric!r}; use projected or haversine."
        )
    if eps_m is not None and not (np.isfinite(eps_m) and eps_m > 0):
        raise ConfigError(f"eps 须为正数（米） eps must be a positive distance in metres: {eps_m}")
    if min_weight is not None and not (np.isfinite(min_weight) and min_weight > 0):
        raise ConfigError(f"最小权重须为正数 min_weight must be positive: {min_weight}")
    if method == "kmeans" and (k is None or k < 1):
        raise ConfigError(
            "kmeans 需要聚类数 k ≥ 1（--k N）。 k-means needs a cluster count k ≥ 1 (--k N)."
        )
    return method, metric  # type: ignore[return-value]
