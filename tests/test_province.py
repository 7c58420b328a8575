"""Province scale: many districts on a real Dask LocalCluster, shared inputs split once."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from yizhan.geo.areas import assign_to_areas, buffer_area, in_area, read_areas
from yizhan.geo.demand import LayerConfig, iter_demand_chunks, read_demand_points
from yizhan.geo.sources import clip_pbf_areas
from yizhan.scripts.cli import main

from yizhan.errors import ConfigError, InputFileError
from yizhan.pipeline.analysis import run
from yizhan.pipeline.province import load_plan, run_many

pytestmark = pytest.mark.slow

# Futian graph bbox (PROVENANCE.md): three districts are drawn as vertical strips over it.
WEST, SOUTH, EAST, NORTH = 113.99702, 22.51666, 114.03988, 22.55052
NAMES = ("甲区 West", "乙区 Middle", "丙区 East")
TABLES = ("coverage.csv", "suggestions.csv", "problems.csv", "stations.geojson",
          "gaps.geojson", "suggestions.geojson")

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


def _strips(path: Path, names=NAMES) -> Path:
    xs = np.linspace(WEST, EAST, len(names) + 1)
    gdf = gpd.GeoDataFrame({"name": list(names)},
                           geometry=[shapely.box(xs[k], SOUTH, xs[k + 1], NORTH)
                                     for k in range(len(names))], crs="EPSG:4326")
    gdf.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def province(futian_graphml, taxi_csv, ev_stations_csv, tmp_path_factory):
    root = tmp_path_factory.mktemp("province")
    _strips(root / "districts.geojson")
    shared = SHARED.format(stations=ev_stations_csv, roads=futian_graphml, demand=taxi_csv)
    spec = root / "province.toml"
    spec.write_text('province = "深圳福田示例 Futian sample"\n' + shared
                    + '\n[districts]\npath = "districts.geojson"\nnetwork_buffer_m = 300\n',
                    encoding="utf-8")
    return {"root": root, "spec": spec, "shared": shared}


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    # The workers are spawned processes: they inherit the environment of the test process.
    mp = pytest.MonkeyPatch()
    mp.setenv("YIZHAN_CACHE_DIR", str(tmp_path_factory.mktemp("netcache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def province_run(province, cache_env):
    out = province["root"] / "out"
    result = run_many(province["spec"], out=out, workers=2, dashboard=False)
    return result, out


def test_three_districts_on_two_workers_equal_single_runs(province, province_run, tmp_path):
    result, out = province_run
    assert [o.status for o in result.outcomes] == ["ok", "ok", "ok"]
    for name, outcome in zip(NAMES, result.outcomes, strict=True):
        # an independent, hand-written single-district config over the same files
        cfg = tmp_path / f"{outcome.slug}.toml"
        cfg.write_text(
            f'district = "{name}"\n' + province["shared"]
            + f'\n[area]\npath = "{province["root"] / "districts.geojson"}"\nname = "{name}"\n'
            "network_buffer_m = 300\n", encoding="utf-8")
        single = tmp_path / f"single-{outcome.slug}"
        run(cfg, out=single)
        district = out / "districts" / outcome.slug
        for table in TABLES:
            assert (single / table).read_bytes() == (district / table).read_bytes(), (name, table)
        summary = json.loads((single / "summary.json").read_text(encoding="utf-8"))
        assert summary["district"] == name
        assert summary["counts"]["demand_points"] > 50  # real taxi trips in every strip


def test_province_summary_matches_district_reports(province_run):
    result, out = province_run
    table = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert table["district"].tolist() == list(NAMES)
    for row in table.to_dict("records"):
        district = json.loads((out / row["map"]).parent.joinpath("summary.json").read_text(
            encoding="utf-8"))
        by_rule = {r["rule"]: r for r in district["rules"]}
        assert row["driver_drive_3min_covered_pct"] == pytest.approx(
            by_rule["driver_drive_3min"]["covered_pct"])
        assert row["stations"] == district["counts"]["stations"]
        assert row["suggested_sites"] == district["counts"]["suggestions"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rule = next(r for r in summary["rules"] if r["rule"] == "all_walk_500m")
    assert rule["districts"] == 3
    covered = sum(json.loads((out / m).parent.joinpath("summary.json").read_text(
        encoding="utf-8"))["rules"][1]["covered_weight"] for m in table["map"])
    assert rule["covered_weight"] == pytest.approx(covered)
    # every EV station of Shenzhen outside the three strips is listed, not silently dropped
    problems = pd.read_csv(out / "problems.csv", encoding="utf-8-sig")
    outside = problems[problems["code"] == "station_outside_districts"]
    assert summary["unassigned_stations"] == len(outside) > 1000
    assert summary["stations"] + len(outside) == 1706
    html = (out / "map.html").read_text(encoding="utf-8")
    for o in result.outcomes:
        assert f"districts/{o.slug}/map.html" in html
    assert (out / "report.xlsx").stat().st_size > 0


def test_rerun_skips_unchanged_districts_and_tables_stay_identical(province, province_run):
    result, out = province_run
    before = {p: (out / p).read_bytes() for p in ("summary.csv", "summary.json", "problems.csv")}
    mtimes = {o.slug: (out / "districts" / o.slug / "coverage.csv").stat().st_mtime_ns
              for o in result.outcomes}
    again = run_many(province["spec"], out=out, workers=1, dashboard=False)
    assert [o.status for o in again.outcomes] == ["unchanged"] * 3
    for p, data in before.items():
        assert (out / p).read_bytes() == data, p
    for o in again.outcomes:
        assert (out / "districts" / o.slug / "coverage.csv").stat().st_mtime_ns == mtimes[o.slug]


def test_one_failing_district_is_reported_and_others_finish(
    province, province_run, tmp_path, capsys
):
    root = province["root"]
    folder = tmp_path / "districts"
    folder.mkdir()
    for name, fname in ((NAMES[0], "a.toml"), (NAMES[2], "c.toml")):
        (folder / fname).write_text(
            f'district = "{name}"\n' + province["shared"]
            + f'\n[area]\npath = "{root / "districts.geojson"}"\nname = "{name}"\n'
            "network_buffer_m = 300\n", encoding="utf-8")
    bad = tmp_path / "bad_inventory.csv"
    bad.write_text("站点名称,备注\n没有坐标的驿站,x\n", encoding="utf-8")
    shared_bad = province["shared"].replace(
        str(Path(province["shared"].split('path = "')[1].split('"')[0])), str(bad), 1)
    (folder / "b.toml").write_text(
        'district = "坏区 Broken"\n' + shared_bad
        + f'\n[area]\npath = "{root / "districts.geojson"}"\nname = "{NAMES[1]}"\n',
        encoding="utf-8")
    out = tmp_path / "out"
    code = main(["-q", "run-many", str(folder), "--out", str(out), "--workers", "2",
                 "--no-dashboard"])
    assert code == 1
    table = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert table.set_index("district")["status"].to_dict() == {
        NAMES[0]: "ok", "坏区 Broken": "failed", NAMES[2]: "ok"}
    broken = table.set_index("district").loc["坏区 Broken"]
    assert broken["failed_step"] == "inputs"
    assert "bad_inventory.csv" in broken["error"]
    # the failure is in problems.csv and summary.json too; the good districts' reports exist
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["failures"][0]["district"] == "坏区 Broken"
    problems = pd.read_csv(out / "problems.csv", encoding="utf-8-sig")
    assert (problems["code"] == "district_failed").sum() == 1
    for name in (NAMES[0], NAMES[2]):
        slug = table.set_index("district").loc[name, "map"].split("/")[1]
        assert (out / "districts" / slug / "coverage.csv").is_file()
    assert "坏区 Broken" in capsys.readouterr().err  # the closing table names it


def test_district_without_roads_fails_in_network_step(province, cache_env, tmp_path):
    root = tmp_path
    # a strip over Futian and a square in the sea south of Shenzhen (no roads)
    gdf = gpd.GeoDataFrame({"name": ["陆 Land", "海 Sea"]}, geometry=[
        shapely.box(WEST, SOUTH, WEST + 0.012, NORTH),
        shapely.box(113.90, 22.30, 113.92, 22.32)], crs="EPSG:4326")
    gdf.to_file(root / "d.geojson", driver="GeoJSON")
    spec = root / "p.toml"
    spec.write_text('province = "p"\n' + province["shared"]
                    + '\n[districts]\npath = "d.geojson"\nnetwork_buffer_m = 0\n',
                    encoding="utf-8")
    result = run_many(spec, out=root / "out", workers=2, dashboard=False)
    status = {o.name: (o.status, o.step) for o in result.outcomes}
    assert status["陆 Land"] == ("ok", None)
    assert status["海 Sea"][0] == "failed"
    assert status["海 Sea"][1] == "network"


# --------------------------------------------------------------------------------------------
# Pieces: areas, the one-pass PBF clip, partitioned demand, plan errors


def test_pbf_clipped_for_many_areas_in_one_pass_equals_one_by_one(shared_data, tmp_path):
    path = shared_data("osm_pbf_samples/Helsinki.osm.pbf")
    a = shapely.box(24.935, 60.164, 24.944, 60.171)
    b = shapely.box(24.942, 60.168, 24.953, 60.179)  # overlaps a
    far = shapely.box(10.0, 10.0, 10.1, 10.1)
    many = clip_pbf_areas(path, {"a": (a, tmp_path / "a.osm"), "b": (b, tmp_path / "b.osm"),
                                 "far": (far, tmp_path / "far.osm")})
    assert many["far"] is None
    for name, poly in (("a", a), ("b", b)):
        one = clip_pbf_areas(path, {name: (poly, tmp_path / f"{name}-alone.osm")})[name]
        assert one is not None and many[name] is not None
        assert many[name].read_bytes() == one.read_bytes()
        assert many[name].stat().st_size > 10_000


def test_parquet_demand_read_in_parts_equals_whole(taxi_csv, tmp_path):
    taxi = pd.read_csv(taxi_csv, usecols=["orderid", "Lng", "Lat", "price"])
    taxi.loc[7, "price"] = -3  # a bad row: reported with the row of the whole file
    path = tmp_path / "taxi.parquet"
    taxi.to_parquet(path, row_group_size=1500)
    whole = read_demand_points(path, weight="price", group="driver", layer="taxi")
    layer = LayerConfig(path=path, name="taxi", weight="price", group="driver")
    parts = list(iter_demand_chunks(layer, rows_per_chunk=4000))
    assert len(parts) == 3
    pd.testing.assert_frame_equal(
        pd.DataFrame(whole.points),
        pd.DataFrame(pd.concat([p.points for p in parts], ignore_index=True)))
    problems = pd.concat([p.problems for p in parts if len(p.problems)], ignore_index=True)
    pd.testing.assert_frame_equal(whole.problems, problems)
    assert problems["row"].tolist() == [9]


def test_spatial_join_split_equals_filter_per_area():
    rng = np.random.default_rng(3)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(0, 3, 2000),
                                                       rng.uniform(0, 1, 2000)), crs="EPSG:4326")
    # points exactly on the shared boundary belong to both
    pts = pd.concat([pts, gpd.GeoDataFrame(geometry=gpd.points_from_xy([1.0, 2.0], [0.5, 0.5]),
                                           crs="EPSG:4326")], ignore_index=True)
    areas = gpd.GeoDataFrame(geometry=[shapely.box(k, 0, k + 1, 1) for k in range(3)],
                             crs="EPSG:4326")
    pairs = assign_to_areas(pts, areas)
    for k, geom in enumerate(areas.geometry):
        expected = np.flatnonzero(in_area(pts, geom))
        assert pairs.loc[pairs["area"] == k, "row"].tolist() == expected.tolist()
    assert (pairs["row"] == len(pts) - 1).sum() == 2


def test_buffer_area_grows_by_metres():
    area = shapely.box(114.0, 22.5, 114.01, 22.51)
    grown = buffer_area(area, 1000)
    assert grown.contains(area)
    # ~1000 m of latitude is ~0.009 degrees
    assert grown.bounds[3] - area.bounds[3] == pytest.approx(0.00904, abs=2e-4)


def test_area_file_errors_name_row_and_field(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["a", "a"]}, geometry=[shapely.box(0, 0, 1, 1),
                                                           shapely.box(1, 0, 2, 1)],
                           crs="EPSG:4326")
    gdf.to_file(tmp_path / "dup.geojson", driver="GeoJSON")
    with pytest.raises(InputFileError, match="repeated"):
        read_areas(tmp_path / "dup.geojson")
    gdf = gpd.GeoDataFrame({"name": ["a", ""]}, geometry=[shapely.box(0, 0, 1, 1),
                                                          shapely.box(1, 0, 2, 1)],
                           crs="EPSG:4326")
    gdf.to_file(tmp_path / "blank.geojson", driver="GeoJSON")
    with pytest.raises(InputFileError, match=r"行 row 3.*'name'"):
        read_areas(tmp_path / "blank.geojson")
    gdf = gpd.GeoDataFrame({"名称": ["a"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "pt.geojson", driver="GeoJSON")
    with pytest.raises(InputFileError, match="not a polygon"):
        read_areas(tmp_path / "pt.geojson")


def test_province_config_errors(tmp_path, province):
    spec = tmp_path / "p.toml"
    spec.write_text('province = "p"\nyear = 2025\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[districts\]"):
        load_plan(spec, tmp_path / "out")
    _strips(tmp_path / "d.geojson")
    spec.write_text('colour = "red"\n' + province["shared"] + '\n[districts]\npath = "d.geojson"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="colour"):
        load_plan(spec, tmp_path / "out")
    # a shared setting wrong for every district is reported once, naming the province file
    spec.write_text(province["shared"] + 'n_site = 3\n[districts]\npath = "d.geojson"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p\.toml.*n_site"):
        load_plan(spec, tmp_path / "out")
    spec.write_text(province["shared"] + '\n[districts]\npath = "d.geojson"\nonly = ["nowhere"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="nowhere"):
        load_plan(spec, tmp_path / "out")
    with pytest.raises(ConfigError, match="not found"):
        load_plan(tmp_path / "missing", tmp_path / "out")
    spec.write_text(province["shared"] + '\n[districts]\npath = "d.geojson"\n'
                    f'only = ["{NAMES[1]}"]\n', encoding="utf-8")
    plan = load_plan(spec, tmp_path / "out")
    assert [j.name for j in plan.jobs] == [NAMES[1]]
    # the generated config runs alone and names its polygon
    assert plan.jobs[0].config is not None and plan.jobs[0].config.area is not None
    assert plan.jobs[0].config.area.name == NAMES[1]


def test_repeated_demand_layer_names_are_a_config_error(tmp_path, province):
    doubled = province["shared"].replace(
        '[[demand]]', '[[demand]]\nname = "x"', 1).replace(
        '[[rules]]', '[[demand]]\nname = "x"\npath = "' + str(
            province["shared"].split('[[demand]]\npath = "')[1].split('"')[0]) + '"\n\n[[rules]]',
        1)
    cfg = tmp_path / "c.toml"
    cfg.write_text('district = "d"\n' + doubled, encoding="utf-8")
    from yizhan.pipeline.config import load_config

    with pytest.raises(ConfigError, match="unique"):
        load_config(cfg)


def test_example_province_pbf_clipped_once_equals_single_runs(tmp_path, monkeypatch):
    """The shipped example: three districts share one .osm.pbf, clipped in one pass."""
    spec = Path(__file__).resolve().parent / "data" / "helsinki" / "example-province.toml"
    monkeypatch.setenv("YIZHAN_CACHE_DIR", str(tmp_path / "cache-province"))
    result = run_many(spec, out=tmp_path / "out", workers=2, dashboard=False)
    assert [o.status for o in result.outcomes] == ["ok"] * 3
    # each district alone, with a cold cache of its own: its .pbf clip is made by itself
    monkeypatch.setenv("YIZHAN_CACHE_DIR", str(tmp_path / "cache-single"))
    for outcome in result.outcomes:
        config = tmp_path / "out" / "configs" / f"{outcome.slug}.toml"
        single = tmp_path / "single" / outcome.slug
        run(config, out=single)
        for table in TABLES:
            assert (single / table).read_bytes() == \
                (tmp_path / "out" / "districts" / outcome.slug / table).read_bytes(), table
    assert len(list((tmp_path / "cache-single").glob("*.npz"))) == 6  # 3 districts x 2 modes


def test_province_map_links_each_district_map_in_chromium(province_run):
    from browser import launch, open_page

    result, out = province_run
    first = result.outcomes[0]
    centre = result.areas[first.slug].representative_point()
    with launch() as browser, open_page(browser, out / "map.html") as (page, log):
        page.wait_for_timeout(300)
        box = page.evaluate(f"""() => {{
            const p = YIZHAN.map.latLngToContainerPoint([{centre.y}, {centre.x}]);
            const r = YIZHAN.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }}""")
        page.mouse.click(*box)
        link = page.locator(".yz-popup a.yz-popup-link")
        link.wait_for(timeout=3000)
        assert first.name in page.locator(".yz-popup-title").inner_text()
        href = link.get_attribute("href")
        assert href == f"districts/{first.slug}/map.html"
        # the link resolves to the district's own map, which renders offline
        page.goto((out / href).resolve().as_uri())
        page.locator(".yz-title").wait_for(timeout=5000)
        assert first.name in page.locator(".yz-title").inner_text()
        assert log.console_errors == [] and log.page_errors == [] and log.external == []


def test_province_map_labels_districts_and_switches_between_rules(province_run):
    """Each district's name is written on it; one layer per rule, one shown at a time, each
    coloured by its own rule's covered share."""
    from browser import launch, open_page
    from yizhan.maps.districts import COVERAGE_CLASSES

    _, out = province_run
    table = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    rules = ["driver_drive_3min", "all_walk_500m"]

    def colours(rule):  # expected fill per district, from the summary table
        bounds = [c[0] for c in COVERAGE_CLASSES]
        return {d: COVERAGE_CLASSES[int(np.searchsorted(bounds, v, side="right"))][1]
                for d, v in zip(table["district"], table[f"{rule}_covered_pct"], strict=True)}

    shown_js = """() => YIZHAN.overlays.filter(g => YIZHAN.map.hasLayer(g)).flatMap(g => {
        const out = []; g.eachLayer(fg => fg.eachLayer(p => out.push(
            [p.getTooltip().getElement().textContent, p.options.fillColor]))); return out; })"""
    with launch() as browser, open_page(browser, out / "map.html") as (page, log):
        page.wait_for_timeout(300)
        labels = page.eval_on_selector_all(".yz-area-label", "els => els.map(e => e.textContent)")
        assert sorted(labels) == sorted(table["district"])
        names = page.eval_on_selector_all(".leaflet-control-layers-overlays label",
                                          "els => els.map(e => e.textContent.trim())")
        assert [n for n in names if "区县覆盖率" in n] == [
            f"区县覆盖率 Coverage · {r}" for r in rules]
        assert dict(page.evaluate(shown_js)) == colours(rules[0])
        control = page.locator(".leaflet-control-layers")
        control.hover()
        page.locator(".leaflet-control-layers-overlays label", has_text=rules[1]).click()
        page.wait_for_timeout(200)
        checked = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays input:checked",
            "els => els.map(e => e.parentElement.textContent.trim())")
        assert [c for c in checked if "区县覆盖率" in c] == [f"区县覆盖率 Coverage · {rules[1]}"]
        assert dict(page.evaluate(shown_js)) == colours(rules[1])
        page.wait_for_timeout(400)  # Leaflet fades the hidden layer's labels out in 200 ms
        assert sorted(page.eval_on_selector_all(
            ".yz-area-label", "els => els.map(e => e.textContent)")) == sorted(table["district"])
        assert log.console_errors == [] and log.page_errors == []


def test_shared_parquet_demand_split_by_parts_equals_each_district_reading_it(
    province, taxi_csv, tmp_path, monkeypatch
):
    import yizhan.pipeline.province as prov
    from yizhan.pipeline.analysis import district_area, read_demand

    taxi = pd.read_csv(taxi_csv, usecols=["orderid", "Lng", "Lat", "price"])
    taxi = taxi.astype({"price": str})
    taxi.loc[[3, 5000], "price"] = ["-1", "x"]  # two bad rows, reported by every district
    taxi.to_parquet(tmp_path / "taxi.parquet", row_group_size=1000)
    _strips(tmp_path / "d.geojson")
    shared = province["shared"].replace(str(taxi_csv), str(tmp_path / "taxi.parquet"))
    shared = shared.replace('group = "driver"\n', 'group = "driver"\nweight_field = "price"\n', 1)
    spec = tmp_path / "p.toml"
    spec.write_text(shared + '\n[districts]\npath = "d.geojson"\n', encoding="utf-8")
    plan = load_plan(spec, tmp_path / "out")
    areas = {j.slug: district_area(j.config) for j in plan.jobs}
    monkeypatch.setattr(prov, "DEMAND_ROWS_PER_PART", 3000)  # four parts of the table
    parts, errors, _, outside = prov.split_shared_inputs(plan.jobs, areas, work=tmp_path / "w")
    assert errors == {}
    assert outside > 9000  # most of Shenzhen's trips lie outside the three strips
    for job in plan.jobs:
        part = parts[job.slug].demand
        assert part is not None and len(part.files) >= 1
        got_points, got_problems = part.load()
        want_points, want_problems = read_demand(job.config)
        pd.testing.assert_frame_equal(pd.DataFrame(got_points), pd.DataFrame(want_points))
        pd.testing.assert_frame_equal(got_problems, want_problems)
        assert sorted(got_problems["row"].tolist()) == [5, 5002]


def test_scheduler_address_runs_on_an_existing_cluster(province, cache_env, tmp_path):
    """``--scheduler``: the same code path, on a cluster started elsewhere."""
    from distributed import LocalCluster

    spec = tmp_path / "p.toml"
    _strips(tmp_path / "d.geojson")
    spec.write_text(province["shared"] + '\n[districts]\npath = "d.geojson"\n'
                    f'only = ["{NAMES[0]}"]\nnetwork_buffer_m = 300\n', encoding="utf-8")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"}
                      ) as cluster:
        code = main(["-q", "run-many", str(spec), "--out", str(tmp_path / "out"),
                     "--scheduler", cluster.scheduler_address])
        assert code == 0
        # the district's five steps ran on that cluster
        prefixes = set(cluster.scheduler.task_prefixes)
        assert {"inputs", "network", "coverage", "siting", "report"} <= prefixes, prefixes
    table = pd.read_csv(tmp_path / "out" / "summary.csv", encoding="utf-8-sig")
    assert table["status"].tolist() == ["ok"]


def test_local_workers_share_the_cores_for_compiled_loops():
    import os

    from yizhan.pipeline.province import dask_client

    with dask_client(workers=2, dashboard=False) as client:
        seen = client.run(lambda: os.environ.get("YIZHAN_THREADS"))
    assert len(seen) == 2
    assert set(seen.values()) == {str(max(1, (os.cpu_count() or 1) // 2))}


def test_unreachable_scheduler_is_a_clear_error(province, tmp_path):
    spec = tmp_path / "p.toml"
    _strips(tmp_path / "d.geojson")
    spec.write_text(province["shared"] + '\n[districts]\npath = "d.geojson"\n'
                    f'only = ["{NAMES[0]}"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="scheduler"):
        run_many(spec, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9", force=True,
                 scheduler_timeout=2)


def test_area_keeps_own_stations_problems_and_unlocated_rows(tmp_path):
    from yizhan.stations import read_inventory

    from yizhan.pipeline.analysis import restrict_stations

    inv = tmp_path / "inv.csv"
    inv.write_text(
        "站点名称,经度,纬度,厕所\n"
        "里面 inside,114.01,22.53,也许\n"      # row 2: inside, an unreadable checklist cell
        "外面 outside,114.20,22.60,也许\n"     # row 3: outside, the same problem
        "无坐标 no location,,,是\n",           # row 4: no location: anyone's
        encoding="utf-8")
    read = read_inventory(inv)
    assert set(read.problems["row"].dropna().astype(int)) >= {2, 3, 4}
    stations, problems = restrict_stations(read.stations, read.problems,
                                           shapely.box(114.0, 22.5, 114.05, 22.55))
    assert stations["name"].tolist() == ["里面 inside"]
    rows = set(problems["row"].dropna().astype(int))
    assert 2 in rows and 4 in rows and 3 not in rows


def test_previous_province_folder_gives_each_district_its_comparison(
    province, province_run, tmp_path
):
    _, first = province_run
    out = tmp_path / "next-year"
    result = run_many(province["spec"], out=out, workers=2, dashboard=False, previous=first)
    assert [o.status for o in result.outcomes] == ["ok"] * 3
    for o in result.outcomes:
        district = out / "districts" / o.slug
        assert (district / "comparison_coverage.csv").is_file()
        summary = json.loads((district / "summary.json").read_text(encoding="utf-8"))
        assert "comparison" in summary
    with pytest.raises(ConfigError, match="not found"):
        run_many(province["spec"], out=out, previous=tmp_path / "nowhere")


def test_shipped_province_example_runs_quietly_in_a_fresh_process(tmp_path):
    """`yizhan run-many` on the shipped Futian example: every district done, and nothing from
    Dask's machinery (workers being killed, nannies, tracebacks) on the console afterwards."""
    import os
    import subprocess
    import sys

    from yizhan.scripts.cmd_demo import demo_config

    env = {**os.environ, "YIZHAN_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "yizhan.scripts.cli", "run-many",
         str(demo_config("example-province.toml")), "--out", str(tmp_path / "out"),
         "--workers", "2", "--no-dashboard"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["districts"] == summary["districts_ok"] == 3
    noise = [line for line in done.stderr.splitlines()
             if any(w in line for w in ("distributed.", "Killing", "Nanny", "Traceback",
                                        "yizhan-new", "Warning"))]
    assert noise == []
