"""Benchmark: a large map (5,000 stations, 200,000 demand points) -- build time, file size,
load time and panning in headless Chromium.

Run by hand: ``.venv/bin/python benchmarks/bench_map.py [--stations N] [--demand N]``.
Targets (issue 6): HTML under 15 MB; opens and pans smoothly.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import launch, open_page

from yizhan import maps

BBOX = (113.85, 22.48, 114.45, 22.78)  # Shenzhen, WGS-84
AMENITIES = ("toilet", "drinking_water", "first_aid", "phone_charger", "wifi", "microwave",
             "seating", "cooling", "heating", "shelter")
GROUPS = np.array(["rider", "courier", "driver", "sanitation", "construction", "other"])


def synthetic(n_stations: int, n_demand: int, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BBOX
    lon = rng.uniform(x0, x1, n_stations)
    lat = rng.uniform(y0, y1, n_stations)
    have = rng.random((n_stations, len(AMENITIES))) > 0.35
    score = have[:, :7].mean(axis=1)
    stations = gpd.GeoDataFrame(
        {
            "station_id": [f"ST{i:05d}" for i in range(n_stations)],
            "name": [f"户外劳动者驿站 {i}" for i in range(n_stations)],
            "address": [f"深圳市某区某街道某路 {i} 号" for i in range(n_stations)],
            "town": rng.choice(["福田街道", "华富街道", "南园街道", "园岭街道"], n_stations),
            "hours": "08:00-20:00", "manager": "区总工会", "phone": "0755-12345678",
            "capacity": rng.integers(4, 30, n_stations).astype(float),
            **{a: have[:, j] for j, a in enumerate(AMENITIES)},
            "compliance_score": score,
            "compliance_tier": np.where(score == 1, "full", np.where(score >= 0.5, "partial",
                                                                     "low")),
        },
        geometry=gpd.points_from_xy(lon, lat), crs=4326,
    )
    centres = np.column_stack([rng.uniform(x0, x1, 60), rng.uniform(y0, y1, 60)])
    pick = rng.integers(0, len(centres), n_demand)
    pts = centres[pick] + rng.normal(0, 0.008, (n_demand, 2))
    demand = gpd.GeoDataFrame(
        {"demand_id": np.arange(n_demand).astype(str), "weight": rng.gamma(2.0, 1.0, n_demand),
         "group": GROUPS[rng.integers(0, len(GROUPS), n_demand)]},
        geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=4326,
    )
    utm = stations.estimate_utm_crs()
    st_utm = stations.geometry.to_crs(utm)
    # irregular isochrone-like shapes: buffered stars
    areas = []
    for rule, radius in (("rider_10min", 1200.0), ("sanitation_800m", 600.0)):
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        r = radius * (0.6 + 0.4 * rng.random((n_stations, 24)))
        xs = st_utm.x.to_numpy()[:, None] + r * np.cos(angles)
        ys = st_utm.y.to_numpy()[:, None] + r * np.sin(angles)
        polys = shapely.polygons(np.stack([xs, ys], axis=-1))
        areas.append(gpd.GeoDataFrame(
            {"station_id": stations.station_id, "rule": rule, "cutoff": rule.split("_")[1]},
            geometry=gpd.GeoSeries(polys, crs=utm).to_crs(4326),
        ))
    service_areas = gpd.GeoDataFrame(
        gpd.pd.concat(areas, ignore_index=True), geometry="geometry", crs=4326)
    c_utm = gpd.GeoSeries(gpd.points_from_xy(centres[:, 0], centres[:, 1]), crs=4326).to_crs(utm)
    hotspots = gpd.GeoDataFrame(
        {"hotspot_id": [f"H{i}" for i in range(len(centres))],
         "weight": rng.gamma(2.0, 500.0, len(centres)), "share": rng.random(len(centres)) / 20,
         "dominant_group": GROUPS[rng.integers(0, 6, len(centres))], "peak_window": "lunch",
         "n_points": rng.integers(100, 5000, len(centres))},
        geometry=c_utm.buffer(900).to_crs(4326),
    )
    gaps = gpd.GeoDataFrame(
        {"gap_id": [f"G{i}" for i in range(100)], "rule": "rider_10min",
         "uncovered_weight": rng.gamma(2.0, 50.0, 100), "groups": "rider,courier",
         "admin_area": "福田区"},
        geometry=gpd.GeoSeries(gpd.points_from_xy(rng.uniform(x0, x1, 100),
                                                  rng.uniform(y0, y1, 100)), crs=4326)
        .to_crs(utm).buffer(500).to_crs(4326),
    )
    suggestions = gpd.GeoDataFrame(
        {"rank": np.arange(1, 31), "candidate_id": [f"C{i}" for i in range(30)],
         "name": [f"候选点 {i}" for i in range(30)],
         "kind": np.where(np.arange(30) % 3 == 0, "upgrade", "new"),
         "weight_gained": np.sort(rng.gamma(2.0, 100.0, 30))[::-1],
         "covered_share_after": np.linspace(0.6, 0.8, 30), "amenities_to_add": "toilet,first_aid",
         "admin_area": "福田区"},
        geometry=gpd.points_from_xy(rng.uniform(x0, x1, 30), rng.uniform(y0, y1, 30)), crs=4326,
    )
    return {"stations": stations, "service_areas": service_areas, "demand": demand,
            "hotspots": hotspots, "gaps": gaps, "suggestions": suggestions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=5000)
    parser.add_argument("--demand", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the HTML here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = synthetic(args.stations, args.demand)
    t1 = time.perf_counter()
    m = maps.build_map(maps.MapLayers(**data), title='基准测试 Benchmark', sample_data_notice='合成数据 synthetic')
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "bench_map.html"
        maps.save_map(m, path)
        t3 = time.perf_counter()
        size_mb = path.stat().st_size / 1e6
        print(f"inputs: {args.stations:,} stations, {args.demand:,} demand points, "
              f"{len(data['service_areas']):,} service-area polygons")
        print(f"synthetic data   {t1 - t0:6.2f} s")
        print(f"build_map        {t2 - t1:6.2f} s")
        print(f"save_map         {t3 - t2:6.2f} s")
        print(f"HTML size        {size_mb:6.2f} MB   (target < 15 MB)")
        with launch() as browser:
            start = time.perf_counter()
            with open_page(browser, path, width=1280, height=800) as (page, log):
                page.wait_for_function(
                    "document.querySelectorAll('.marker-cluster, .yz-station').length > 0")
                loaded = time.perf_counter() - start
                print(f"open in Chromium {loaded:6.2f} s   (navigation + runtime + first draw)")
                frames = page.evaluate("""async () => {
                    const map = YIZHAN.map, times = [];
                    let last = performance.now();
                    let stop = false;
                    function tick(t) { times.push(t - last); last = t; if (!stop) requestAnimationFrame(tick); }
                    requestAnimationFrame(tick);
                    for (let i = 0; i < 20; i++) {
                        map.panBy([i % 2 ? -300 : 300, 120], {animate: true, duration: 0.25});
                        await new Promise(r => setTimeout(r, 300));
                    }
                    map.setZoom(map.getZoom() + 2, {animate: false});
                    await new Promise(r => setTimeout(r, 500));
                    for (let i = 0; i < 10; i++) {
                        map.panBy([i % 2 ? -300 : 300, -120], {animate: true, duration: 0.25});
                        await new Promise(r => setTimeout(r, 300));
                    }
                    stop = true;
                    times.sort((a, b) => a - b);
                    const q = p => times[Math.floor(p * (times.length - 1))];
                    return {n: times.length, median: q(0.5), p95: q(0.95), max: times[times.length - 1]};
                }""")
                print(f"panning frames   n={frames['n']} median {frames['median']:.1f} ms, "
                      f"p95 {frames['p95']:.1f} ms, max {frames['max']:.1f} ms")
                print(f"console errors   {len(log.console_errors)}; external requests "
                      f"{len(log.external)}; page errors {len(log.page_errors)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
