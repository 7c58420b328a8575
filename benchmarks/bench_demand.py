"""Benchmark: millions of synthetic GPS pings gridded and clustered into hotspots.

Run by hand (never by pytest)::

    .venv/bin/python benchmarks/bench_demand.py            # 5 000 000 pings
    .venv/bin/python benchmarks/bench_demand.py --n 1000000 --skip-baseline

Pings: 300 hotspots of riders/couriers/drivers (Gaussian, 80–400 m spread, sizes from a
heavy-tailed distribution) over a 40 × 30 km city around Shenzhen, plus 15 % uniform background,
each with a time window. Prints wall time of each step and the process's peak resident memory
(``ru_maxrss``), and — on a 40 000-ping subsample — the speed-up of the grid-first DBSCAN over
DBSCAN on the raw points (the plain baseline), with how well the two partitions agree.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yizhan.geo.grid import collapse_demand, grid_demand, local_crs
from yizhan.geo.hotspots import find_hotspots

CENTRE = (114.06, 22.56)


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def pings(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    crs = local_crs(np.array([CENTRE[0]]), np.array([CENTRE[1]]))
    cx, cy = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*CENTRE)
    n_hot = 300
    share = rng.pareto(1.2, n_hot) + 1.0
    n_background = int(0.15 * n)
    sizes = rng.multinomial(n - n_background, share / share.sum())
    centre_x = rng.uniform(cx - 20_000, cx + 20_000, n_hot)
    centre_y = rng.uniform(cy - 15_000, cy + 15_000, n_hot)
    spread = rng.uniform(80, 400, n_hot)
    which = np.repeat(np.arange(n_hot), sizes)
    x = np.concatenate([centre_x[which] + rng.normal(0, 1, len(which)) * spread[which],
                        rng.uniform(cx - 20_000, cx + 20_000, n_background)])
    y = np.concatenate([centre_y[which] + rng.normal(0, 1, len(which)) * spread[which],
                        rng.uniform(cy - 15_000, cy + 15_000, n_background)])
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    groups = np.array(["rider", "courier", "driver"], dtype=object)
    windows = np.array(["lunch", "dinner", "night", "other_hours"], dtype=object)
    hot_group = rng.integers(0, 3, n_hot)
    group = np.concatenate([hot_group[which], rng.integers(0, 3, n_background)])
    window = rng.integers(0, 4, n)
    return gpd.GeoDataFrame(
        {"weight": np.ones(n), "group": groups[group], "window": windows[window]},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def step(label: str, func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"{label:<48} {time.perf_counter() - start:8.2f} s   peak {peak_gib():5.2f} GiB",
          flush=True)
    return out


def baseline(points: gpd.GeoDataFrame, *, eps_m: float, min_weight: float) -> None:
    """Grid-first DBSCAN against DBSCAN on every raw point (same eps / min weight)."""
    crs = local_crs(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    )
    start = time.perf_counter()
    raw = DBSCAN(eps=eps_m, min_samples=int(min_weight), algorithm="kd_tree").fit(
        np.column_stack([x, y])
    ).labels_
    t_raw = time.perf_counter() - start
    start = time.perf_counter()
    ours = find_hotspots(points, eps_m=eps_m, min_weight=min_weight, cell_m=eps_m / 5)
    t_ours = time.perf_counter() - start
    agree = adjusted_rand_score(raw, ours.labels)
    print(f"baseline: DBSCAN on {len(points):,} raw points {t_raw:6.2f} s; grid-first "
          f"{t_ours:6.2f} s  → ×{t_raw / t_ours:.1f}; adjusted Rand index {agree:.3f}; "
          f"hotspots raw {raw.max() + 1} vs grid-first {len(ours.hotspots)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000_000, help="number of pings")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--hdbscan", action="store_true", help="also time HDBSCAN")
    args = parser.parse_args()
    print(f"{args.n:,} synthetic GPS pings; peak memory is the process's max RSS")
    points = step("generate pings (GeoDataFrame)", pings, args.n)
    cells = step("grid_demand 250 m squares", grid_demand, points, cell="250m")
    print(f"    {len(cells):,} cells; weight kept: {cells['weight'].sum():,.0f}"
          f" of {points['weight'].sum():,.0f}")
    hexes = step("grid_demand H3 resolution 9", grid_demand, points, cell="h3:9")
    print(f"    {len(hexes):,} hexagons")
    collapsed = step("collapse_demand 50 m × group × window", collapse_demand, points, cell="50m")
    print(f"    {len(collapsed):,} weighted points (from {len(points):,})")
    result = step("find_hotspots dbscan (eps 300 m, auto grid)", find_hotspots, points)
    print(f"    {len(result.hotspots)} hotspots, pre-grid {result.cell_m:g} m, "
          f"{result.n_rows_clustered:,} rows clustered, noise {result.noise_points:,} pings "
          f"({100 * result.noise_weight / result.total_weight:.1f}% of weight)")
    km = step("find_hotspots kmeans k=50", find_hotspots, points, method="kmeans", k=50)
    print(f"    {len(km.hotspots)} clusters, {km.n_rows_clustered:,} rows")
    if args.hdbscan:
        hd = step("find_hotspots hdbscan", find_hotspots, points, method="hdbscan")
        print(f"    {len(hd.hotspots)} hotspots, pre-grid {hd.cell_m:g} m, "
              f"{hd.n_rows_clustered:,} rows")
    if not args.skip_baseline:
        # DBSCAN on raw points keeps every neighbour list in memory: at hotspot densities that
        # grows with the square of the sample (200 000 pings needed 24 GiB), so keep it small.
        sample = points.sample(40_000, random_state=0).reset_index(drop=True)
        baseline(sample, eps_m=300.0, min_weight=0.005 * len(sample))
    print(f"peak resident memory {peak_gib():.2f} GiB (limit of this machine: 24 GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
