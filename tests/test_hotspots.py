"""yizhan.geo.hotspots: weighted DBSCAN / HDBSCAN / k-means hotspots with polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from yizhan.geo import hotspots as hs
from yizhan.geo.demand import TimeWindows, read_demand_points
from yizhan.geo.grid import grid_demand, local_crs
from yizhan.geo.hotspots import HOTSPOT_COLUMNS, find_hotspots

from yizhan.errors import ConfigError

CENTRE = (114.05, 22.54)


def blobs(
    *,
    sizes: tuple[int, ...] = (400, 250, 120),
    spread_m: float = 120.0,
    noise: int = 150,
    seed: int = 0,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Return dense blobs 3 km apart plus sparse background, and the true blob of each point."""
    rng = np.random.default_rng(seed)
    crs = local_crs(np.array([CENTRE[0]]), np.array([CENTRE[1]]))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = fwd.transform(*CENTRE)
    xs, ys, truth, groups, windows = [], [], [], [], []
    for i, n in enumerate(sizes):
        xs.append(rng.normal(cx + 3000.0 * i, spread_m, n))
        ys.append(rng.normal(cy, spread_m, n))
        truth.append(np.full(n, i))
        groups.append(np.where(rng.random(n) < 0.8, ("rider", "courier", "driver")[i], "other"))
        windows.append(np.where(rng.random(n) < 0.7, ("lunch", "dinner", "night")[i], "other_hours"))
    xs.append(rng.uniform(cx - 4000, cx + 10000, noise))
    ys.append(rng.uniform(cy - 6000, cy + 6000, noise))
    truth.append(np.full(noise, -1))
    groups.append(np.full(noise, "sanitation"))
    windows.append(np.full(noise, "lunch"))
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = back.transform(np.concatenate(xs), np.concatenate(ys))
    n_all = len(lon)
    frame = gpd.GeoDataFrame(
        {
            "demand_id": [f"p{i}" for i in range(n_all)],
            "weight": np.ones(n_all),
            "group": np.concatenate(groups),
            "window": np.concatenate(windows),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    return frame, np.concatenate(truth)


def assert_consistent(points: gpd.GeoDataFrame, result: hs.HotspotResult) -> None:
    """Properties every result must have, whatever the data."""
    labels = result.labels
    hot = result.hotspots
    assert labels.shape == (len(points),)
    assert labels.dtype == np.int64
    assert labels.min(initial=-1) >= -1
    assert list(hot.columns[: len(HOTSPOT_COLUMNS)]) == list(HOTSPOT_COLUMNS)
    assert hot.crs.to_epsg() == 4326
    n_hot = len(hot)
    assert set(np.unique(labels[labels >= 0])) == set(range(n_hot))
    weights = points["weight"].to_numpy()
    assert hot["weight"].sum() + result.noise_weight == pytest.approx(weights.sum())
    assert hot["n_points"].sum() + result.noise_points == len(points)
    assert np.allclose(hot["weight"], np.bincount(labels[labels >= 0], weights[labels >= 0]))
    assert np.allclose(hot["share"], hot["weight"] / weights.sum())
    assert (np.diff(hot["weight"].to_numpy()) <= 1e-9).all()  # numbered heaviest first
    assert hot["hotspot_id"].is_unique
    if n_hot:
        member = labels >= 0
        polys = hot.geometry.to_numpy()[labels[member]]
        assert shapely.covers(polys, points.geometry.to_numpy()[member]).all()
        assert hot.geometry.is_valid.all()


def partition_matches(labels: np.ndarray, truth: np.ndarray) -> bool:
    """Return whether each true blob maps to exactly one distinct hotspot (majority label)."""
    found = []
    for blob in np.unique(truth[truth >= 0]):
        values, counts = np.unique(labels[truth == blob], return_counts=True)
        top = values[np.argmax(counts)]
        if top < 0 or counts.max() < 0.9 * (truth == blob).sum():
            return False
        found.append(top)
    return len(set(found)) == len(found)


# --- synthetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"method": "dbscan"},
        {"method": "dbscan", "metric": "haversine"},
        {"method": "dbscan", "cell_m": 60.0},
        {"method": "hdbscan"},
        {"method": "hdbscan", "metric": "haversine"},
        {"method": "kmeans", "k": 3, "min_weight": 50.0},
    ],
)
def test_finds_the_blobs(options):
    points, truth = blobs()
    result = find_hotspots(points, min_weight=options.pop("min_weight", 20.0), **options)
    assert_consistent(points, result)
    assert partition_matches(result.labels, truth)
    if options["method"] != "kmeans":
        assert len(result.hotspots) == 3
        # most background points are noise
        assert (result.labels[truth < 0] == -1).mean() > 0.8


def test_summary_columns_follow_the_members():
    points, _truth = blobs(noise=0)
    result = find_hotspots(points, eps_m=300, min_weight=20)
    hot = result.hotspots.set_index("hotspot_id")
    # heaviest blob is blob 0 (400 points, 80 % riders, 70 % lunch)
    assert hot.loc["H001", "dominant_group"] == "rider"
    assert hot.loc["H001", "peak_window"] == "lunch"
    assert hot.loc["H002", "dominant_group"] == "courier"
    assert hot.loc["H003", "peak_window"] == "night"
    assert result.noise_points == 0 or result.noise_weight < 5


def test_weights_are_honoured_by_dbscan():
    """Three points 100 m apart: a core only when their weight reaches min_weight."""
    crs = local_crs(np.array([CENTRE[0]]), np.array([CENTRE[1]]))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    cx, cy = fwd.transform(*CENTRE)
    lon, lat = back.transform(cx + np.array([0.0, 100.0, 200.0, 5000.0]), np.full(4, cy))
    geometry = gpd.points_from_xy(lon, lat)
    light = gpd.GeoDataFrame({"weight": [1.0, 1.0, 1.0, 1.0]}, geometry=geometry, crs=4326)
    heavy = gpd.GeoDataFrame({"weight": [1.0, 30.0, 1.0, 1.0]}, geometry=geometry, crs=4326)
    assert (find_hotspots(light, eps_m=150, min_weight=10).labels == -1).all()
    labels = find_hotspots(heavy, eps_m=150, min_weight=10).labels
    assert list(labels) == [0, 0, 0, -1]
    # exactly at the threshold is a core (weight within eps ≥ min_weight)
    assert find_hotspots(heavy, eps_m=150, min_weight=32).labels[1] == 0
    assert (find_hotspots(heavy, eps_m=150, min_weight=32.5).labels == -1).all()


def test_weights_are_honoured_by_hdbscan():
    """A small blob of heavy points outweighs a larger blob of light ones."""
    points, truth = blobs(sizes=(300, 30), noise=0)
    points.loc[truth == 1, "weight"] = 40.0
    result = find_hotspots(points, method="hdbscan", min_weight=100)
    assert_consistent(points, result)
    heavy = np.unique(result.labels[truth == 1])
    assert len(heavy) == 1
    assert heavy[0] == 0  # the 30 heavy points (weight 1200) make the heaviest hotspot


def test_hdbscan_budget_coarsens_large_inputs(monkeypatch):
    monkeypatch.setattr(hs, "HDBSCAN_MAX_ROWS", 400)
    monkeypatch.setattr(hs, "EXACT_LIMIT", 100)
    points, truth = blobs(sizes=(1500, 900), noise=100)
    result = find_hotspots(points, method="hdbscan", min_weight=100)
    assert result.n_rows_clustered <= 200
    assert result.cell_m is not None
    assert_consistent(points, result)
    assert partition_matches(result.labels, truth)


def test_hdbscan_eps_joins_nearby_clusters():
    points, truth = blobs(sizes=(300, 300), spread_m=60.0, noise=0)
    # move blob 1 next to blob 0: 600 m between centres, gaps of a few hundred metres
    crs = local_crs(np.array([CENTRE[0]]), np.array([CENTRE[1]]))
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = fwd.transform(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    x = np.where(truth == 1, x - 2400.0, x)
    points = points.set_geometry(gpd.points_from_xy(*back.transform(x, y)), crs=4326)
    apart = find_hotspots(points, method="hdbscan", min_weight=100)
    joined = find_hotspots(points, method="hdbscan", min_weight=100, eps_m=800)
    assert len(apart.hotspots) == 2
    assert len(joined.hotspots) == 1
    assert_consistent(points, joined)


def test_kmeans_is_seeded_and_min_weight_makes_noise():
    points, _ = blobs()
    a = find_hotspots(points, method="kmeans", k=5, seed=7)
    b = find_hotspots(points, method="kmeans", k=5, seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert (a.labels >= 0).all()
    assert len(a.hotspots) == 5
    lightest = float(a.hotspots["weight"].min())
    c = find_hotspots(points, method="kmeans", k=5, seed=7, min_weight=lightest + 0.5)
    assert len(c.hotspots) < 5
    assert c.noise_weight >= lightest


def test_gridded_and_exact_agree_on_blobs():
    points, truth = blobs(sizes=(800, 500, 300), noise=300)
    exact = find_hotspots(points, eps_m=300, min_weight=30, cell_m=0)
    gridded = find_hotspots(points, eps_m=300, min_weight=30, cell_m=60)
    assert exact.cell_m is None
    assert gridded.cell_m == 60
    assert gridded.n_rows_clustered < len(points)
    assert_consistent(points, gridded)
    assert partition_matches(exact.labels, truth)
    assert partition_matches(gridded.labels, truth)
    assert np.allclose(exact.hotspots["weight"], gridded.hotspots["weight"], rtol=0.05)


def test_same_input_in_another_order_gives_the_same_hotspots():
    points, _ = blobs(noise=0)
    a = find_hotspots(points, eps_m=300, min_weight=20)
    shuffled = points.sample(frac=1.0, random_state=3)
    b = find_hotspots(shuffled, eps_m=300, min_weight=20)
    pd.testing.assert_frame_equal(
        a.hotspots.drop(columns="geometry"), b.hotspots.drop(columns="geometry")
    )
    assert np.array_equal(a.labels[shuffled.index.to_numpy()], b.labels)


def test_generic_points_without_group_or_window():
    points, _ = blobs(noise=0)
    bare = points[["weight", "geometry"]]
    result = find_hotspots(bare, eps_m=300, min_weight=20)
    assert_consistent(bare, result)
    assert (result.hotspots["dominant_group"] == "").all()
    assert (result.hotspots["peak_window"] == "").all()


def test_empty_and_all_noise():
    points, _ = blobs(sizes=(), noise=30)
    empty = find_hotspots(points.iloc[:0])
    assert len(empty.hotspots) == 0
    assert empty.labels.shape == (0,)
    noise = find_hotspots(points, eps_m=50, min_weight=25)
    assert len(noise.hotspots) == 0
    assert noise.noise_points == 30
    assert list(noise.hotspots.columns[:-1]) == list(HOTSPOT_COLUMNS)


def test_single_point_hotspot_has_a_polygon():
    pts = gpd.GeoDataFrame(
        {"weight": [50.0]}, geometry=gpd.points_from_xy([114.05], [22.54]), crs=4326
    )
    result = find_hotspots(pts, min_weight=10)
    assert len(result.hotspots) == 1
    poly = result.hotspots.geometry.iloc[0]
    assert poly.area > 0
    assert poly.covers(pts.geometry.iloc[0])


@pytest.mark.parametrize(
    "options",
    [
        {"method": "optics"},
        {"metric": "manhattan"},
        {"method": "kmeans"},
        {"method": "kmeans", "k": 0},
        {"eps_m": -3.0},
        {"min_weight": 0.0},
        {"method": "kmeans", "k": 10_000},
    ],
)
def test_bad_options_raise_config_error(options):
    points, _ = blobs(sizes=(20,), noise=0)
    with pytest.raises(ConfigError):
        find_hotspots(points, **options)


def test_rejects_non_positive_weights():
    points, _ = blobs(sizes=(20,), noise=0)
    points.loc[0, "weight"] = -1.0
    with pytest.raises(ValueError, match="weight"):
        find_hotspots(points)


# --- real data -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"method": "dbscan"},
        {"method": "dbscan", "cell_m": 60.0},
        {"method": "hdbscan"},
        {"method": "kmeans", "k": 12},
    ],
)
def test_real_taxi_pickups(taxi_csv, options):
    """Shenzhen taxi pick-ups as driver demand: properties that must hold on real data."""
    result_in = read_demand_points(
        taxi_csv, group="driver", time="Stime",
        windows=TimeWindows.of({"morning": "07:00-10:00", "lunch": "11:00-13:30",
                                "evening": "17:00-20:00"}, keep_outside=True),
    )
    points = result_in.points
    raw = pd.read_csv(taxi_csv)
    assert len(points) == len(raw)  # nothing dropped from a clean real file
    assert result_in.problems.empty
    # weights conserved through gridding
    cells = grid_demand(points, cell="250m")
    assert cells["weight"].sum() == pytest.approx(points["weight"].sum())
    result = find_hotspots(points, **options)
    assert_consistent(points, result)  # one hotspot or noise each; polygons hold their members
    assert len(result.hotspots) >= 1
    if options["method"] != "kmeans":
        assert 0 < result.noise_points < len(points)
    assert set(result.hotspots["peak_window"]) <= {"morning", "lunch", "evening", "other_hours"}
    assert (result.hotspots["dominant_group"] == "driver").all()
    again = find_hotspots(points, **options)
    assert np.array_equal(result.labels, again.labels)


@pytest.mark.parametrize("chunk", [7, 100_000])
def test_density_floor_is_the_weighted_quantile_of_neighbourhood_weights(monkeypatch, chunk):
    """Brute force: each unit's weight within eps (itself and same-spot units included), the
    75th percentile by demand weight; chunking changes nothing."""
    monkeypatch.setattr(hs, "_NEIGHBOUR_CHUNK", chunk)
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(3, 300))
        x = rng.integers(0, 30, n) * 37.0  # on a lattice: many exact duplicates
        y = rng.integers(0, 30, n) * 41.0
        w = rng.integers(1, 5, n).astype(float)
        units = hs._Units(codes=np.arange(n), weight=w, x=x, y=y, bounds=np.zeros((n, 4)))
        local = (np.hypot(x[:, None] - x[None], y[:, None] - y[None]) <= 300) @ w
        order = np.argsort(local, kind="stable")
        cum = np.cumsum(w[order])
        want = local[order[np.searchsorted(cum, 0.75 * cum[-1])]]
        assert hs._density_floor(units, 300.0) == want


def test_default_hotspots_adapt_to_a_dense_district(taxi_csv):
    """Futian, Shenzhen: the fixed 0.5 % floor chained the district's taxi demand into one
    hotspot; the density floor splits it, and says so. City-wide, the 0.5 % floor still rules."""
    raw = pd.read_csv(taxi_csv)

    def points(box):
        parts = [raw[raw[a].between(box[0], box[2]) & raw[b].between(box[1], box[3])][[a, b]]
                 .set_axis(["lon", "lat"], axis=1) for a, b in (("Lng", "Lat"), ("ELng", "ELat"))]
        frame = pd.concat(parts, ignore_index=True)
        return gpd.GeoDataFrame({"weight": np.ones(len(frame))},
                                geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326)

    futian = points((113.99702, 22.51666, 114.03988, 22.55052))
    fixed = find_hotspots(futian, min_weight=hs.DEFAULT_MIN_SHARE * len(futian))
    assert fixed.hotspots["share"].max() > 0.75  # the problem: one hotspot is the district
    result = find_hotspots(futian)
    assert result.basis == "density" and result.min_weight > fixed.min_weight
    assert len(result.hotspots) >= 3 and result.hotspots["share"].max() < 0.5
    assert_consistent(futian, result)
    assert f"≥ {result.min_weight:,.0f}" in result.describe()
    assert "最密的四分之一" in result.describe()
    city = points((113.7, 22.4, 114.7, 23.0))
    wide = find_hotspots(city)
    assert wide.basis == "share" and wide.min_weight == hs.DEFAULT_MIN_SHARE * len(city)
    assert "0.5%" in wide.describe()
    assert find_hotspots(futian, min_weight=40).basis == "given"
