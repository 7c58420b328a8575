"""Province benchmark: N districts with 1 and 2 Dask workers, against running them one by one.

Usage::

    .venv/bin/python benchmarks/bench_province.py                 # 6 districts
    .venv/bin/python benchmarks/bench_province.py --districts 12

Data: the real Futian road graph, the real Shenzhen EV charging stations (as the inventory) and
taxi trips (as driver demand) under ``../shared/data``, read in place; the Futian bbox is cut
into ``--districts`` vertical strips (district polygons). Rules: drivers 3 min by car, everyone
500 m on foot; 2 suggested sites per district.

Runs, each with a cold network cache of its own (so every run builds its networks):

- ``sequential``: ``yizhan.pipeline.analysis.run`` per generated district config, one after the
  other in this process (no Dask);
- ``dask 1 worker`` and ``dask 2 workers``: ``yizhan run-many`` on a LocalCluster.

Printed: wall time, seconds per district, speed-up over sequential, the client's and each
worker's peak resident memory, and what a bigger cluster would change.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WEST, SOUTH, EAST, NORTH = 113.99702, 22.51666, 114.03988, 22.55052

SHARED = """
year = 2025
sample = true
[inventory]
path = "{stations}"
crs = "gcj02"
[network]
source = "{roads}"
max_access_m = 300
[[demand]]
path = "{demand}"
group = "driver"
[[rules]]
name = "driver_drive_3min"
group = "driver"
mode = "drive"
cutoff = "3min"
[[rules]]
name = "all_walk_500m"
mode = "walk"
cutoff = "500m"
[siting]
n_sites = 2
"""


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=6)
    args = parser.parse_args()

    import geopandas as gpd
    import numpy as np
    import shapely

    from yizhan.log import set_quiet
    from yizhan.pipeline.analysis import run
    from yizhan.pipeline.province import dask_client, load_plan, run_many
    from yizhan.shared import shared_data_dir

    data = shared_data_dir()
    roads = data / "shenzhen_futian_roads/shenzhen_futian_G.graphml"
    if not roads.exists():
        sys.exit(f"needs the shared data under {data}")
    set_quiet(True)
    tmp = Path(tempfile.mkdtemp(prefix="yizhan-bench-province-"))
    xs = np.linspace(WEST, EAST, args.districts + 1)
    names = [f"区{k + 1:02d} D{k + 1}" for k in range(args.districts)]
    gpd.GeoDataFrame({"name": names},
                     geometry=[shapely.box(xs[k], SOUTH, xs[k + 1], NORTH)
                               for k in range(args.districts)],
                     crs="EPSG:4326").to_file(tmp / "districts.geojson", driver="GeoJSON")
    spec = tmp / "province.toml"
    spec.write_text(
        'province = "bench"\n' + SHARED.format(
            stations=data / "shenzhen_ev_charging_stations/stations.csv", roads=roads,
            demand=data / "shenzhen_taxi_trips/taxi-price.csv")
        + '[districts]\npath = "districts.geojson"\nnetwork_buffer_m = 300\n',
        encoding="utf-8")

    results: dict[str, float] = {}
    memory: dict[str, str] = {}

    os.environ["YIZHAN_CACHE_DIR"] = str(tmp / "cache-seq")
    plan = load_plan(spec, tmp / "seq")
    t0 = time.perf_counter()
    for job in plan.jobs:
        run(job.config_path, out=tmp / "seq" / "districts" / job.slug)
    results["sequential (no Dask)"] = time.perf_counter() - t0
    memory["sequential (no Dask)"] = f"process {_peak_rss() / 1e9:.2f} GB"

    for workers in (1, 2):
        label = f"dask {workers} worker{'s' if workers > 1 else ''}"
        os.environ["YIZHAN_CACHE_DIR"] = str(tmp / f"cache-{workers}")
        t0 = time.perf_counter()
        with dask_client(workers=workers, dashboard=False) as client:
            t_start = time.perf_counter() - t0
            result = run_many(spec, out=tmp / f"out-{workers}", client=client)
            peaks = client.run(_peak_rss)
        results[label] = time.perf_counter() - t0
        failed = [o.name for o in result.outcomes if o.status != "ok"]
        assert not failed, failed
        memory[label] = (f"client {_peak_rss() / 1e9:.2f} GB, workers "
                         + ", ".join(f"{v / 1e9:.2f}" for v in peaks.values()) + " GB"
                         + f" (cluster start {t_start:.1f} s)")

    base = results["sequential (no Dask)"]
    print(f"\n省级基准 Province benchmark: {args.districts} districts over the real Futian data,"
          f" {os.cpu_count()} CPU cores")
    print(f"{'run':<24}{'wall s':>10}{'s/district':>12}{'speed-up':>10}  peak memory")
    for label, wall in results.items():
        print(f"{label:<24}{wall:>10.1f}{wall / args.districts:>12.2f}{base / wall:>9.2f}x"
              f"  {memory[label]}")
    print("""
What a bigger cluster changes 更大集群的变化:
- Districts are independent task graphs, so wall time falls with workers until the largest
  district dominates; a district never spans workers. Memory per worker is what one district
  needs (its networks, demand and siting model): the per-worker peaks above, times the ratio
  of a real district's network size to these strips (three 500,000-node networks with a million
  demand points peak near 2.2 GB; see bench_coverage.py). Give each worker that (``--workers``
  x memory <= the machine).
- Shared inputs are read by the client, once: a province .osm.pbf is clipped to every district
  in one streaming pass, a province demand table is read by Parquet row groups and split by
  spatial join; each district's part is then sent to a worker. The client therefore needs the
  memory of the largest demand part and the PBF clip's kept ways, and the network to the
  workers carries only each district's share.
- On a multi-machine cluster (--scheduler), workers read the network cache ($YIZHAN_CACHE_DIR)
  and write district reports into the output folder: both must be on a file system every
  worker sees (NFS/SMB); the first run builds networks on the workers and later runs load them
  from the shared cache. Cached networks are memory-mapped, not copied: workers on one machine
  that load the same network share its pages, and a worker reads from a network file share
  only the pages its district's searches touch.""")


if __name__ == "__main__":
    main()
