"""双15 rules, coverage during shifts (only open stations count) and the equity table, on the
real Futian roads and taxi pick-ups of ../shared/data, with the demo's union stations (their
opening hours) and traffic zones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from yizhan.geo.coverage import compute_coverage
from yizhan.geo.demand import read_demand_points
from yizhan.geo.equity import equity_table, worst_off
from yizhan.geo.rules import PRESETS, make_rule, parse_rules
from yizhan.geo.shifts import coverage_by_shift, parse_shifts
from yizhan.geo.sources import build_network
from yizhan.stations import read_inventory

from yizhan.errors import ConfigError

DEMO = __import__("pathlib").Path(__file__).resolve().parent.parent / "scripts" / "data" / "futian"


@pytest.fixture(scope="module")
def futian(futian_graphml, taxi_csv, tmp_path_factory):
    cache = tmp_path_factory.mktemp("netcache")
    nets = {m: build_network(futian_graphml, mode=m, cache_dir=cache) for m in ("walk", "drive")}
    stations = read_inventory(DEMO / "stations_2025.csv", crs="gcj02").stations
    taxi = pd.read_csv(taxi_csv)
    inside = (taxi["Lng"].between(nets["walk"].lon.min(), nets["walk"].lon.max())
              & taxi["Lat"].between(nets["walk"].lat.min(), nets["walk"].lat.max()))
    picks = tmp_path_factory.mktemp("taxi") / "pickups.csv"
    taxi.loc[inside, ["orderid", "Lng", "Lat", "Stime"]].to_csv(picks, index=False)
    demand = read_demand_points(picks, group="driver").points
    assert len(demand) == int(inside.sum()) > 500
    zones = __import__("geopandas").read_file(DEMO / "zones.geojson")
    return nets, stations, demand, zones


def test_shuang15_preset_is_a_15_minute_walk_with_its_1_km_beside_it() -> None:
    rules = parse_rules({"rules": [{"preset": "shuang15"},
                                   {"preset": "SHUANG15", "group": "driver", "name": "drv"}]})
    assert [r.name for r in rules] == ["shuang15_walk_15min", "shuang15_walk_1km",
                                       "drv_walk_15min", "drv_walk_1km"]
    assert [(r.mode, r.cutoff.minutes, r.cutoff.metres) for r in rules[:2]] == [
        ("walk", 15.0, None), ("walk", None, 1000.0)]
    assert rules[2].group == "driver" and len(PRESETS["shuang15"]) == 2
    with pytest.raises(ConfigError, match="shuang16"):
        parse_rules({"rules": [{"preset": "shuang16"}]})
    with pytest.raises(ConfigError, match="cutoff"):
        parse_rules({"rules": [{"preset": "shuang15", "cutoff": "5min"}]})


def test_shift_coverage_counts_only_stations_open_for_the_whole_shift(futian) -> None:
    """A station closing at 22:00 drops out of the night shift exactly as if it were removed."""
    nets, stations, demand, _ = futian
    rule = make_rule(mode="drive", cutoff="3min", group="driver", name="r")
    cov = compute_coverage(nets, stations, demand, rule).table
    served = cov.loc[cov["r_covered"], "r_station_id"].value_counts()
    busiest = str(served.index[0])
    shifts = parse_shifts({"driver": ["22:00-05:00", "11:00-13:30"]})
    always = stations.assign(hours="24小时")
    table = coverage_by_shift(nets, always, cov, demand, rules=[rule], shifts=shifts)
    assert (table["covered_pct_open"] == table["covered_pct"]).all()
    assert (table["stations_open"] == len(stations)).all()
    closes = always.assign(hours=np.where(always["station_id"] == busiest, "06:00-22:00",
                                          "24小时"))
    table = coverage_by_shift(nets, closes, cov, demand, rules=[rule], shifts=shifts)
    night, lunch = table.iloc[0], table.iloc[1]
    without = compute_coverage(nets, stations[stations["station_id"] != busiest], demand,
                               rule).table
    w = without["weight"].to_numpy(float)
    expected = 100.0 * w[without["r_covered"].to_numpy(bool)].sum() / w.sum()
    assert night["covered_pct_open"] == pytest.approx(expected)
    assert night["covered_pct_open"] < night["covered_pct"]
    assert night["stations_open"] == len(stations) - 1
    assert lunch["covered_pct_open"] == pytest.approx(lunch["covered_pct"])
    # hours not recorded: not counted as open, and counted
    blank = closes.assign(hours=np.where(closes["station_id"] == busiest, "", "24小时"))
    table = coverage_by_shift(nets, blank, cov, demand, rules=[rule], shifts=shifts[:1])
    assert table["stations_hours_unknown"].tolist() == [1]
    assert table["covered_pct_open"].iloc[0] == pytest.approx(expected)


def test_shifts_config_errors_name_the_group() -> None:
    with pytest.raises(ConfigError, match="sanitation"):
        parse_shifts({"sanitation": "dawn"})
    with pytest.raises(ConfigError, match="rider"):
        parse_shifts({"rider": 5})


def test_equity_table_per_group_and_area_matches_the_coverage_table(futian) -> None:
    nets, stations, demand, zones = futian
    rules = [make_rule(mode="drive", cutoff="3min", name="drive3"),
             make_rule(mode="walk", cutoff="500m", name="walk500")]
    cov = compute_coverage(nets, stations, demand, rules, admin=zones).table
    table = equity_table(cov, rules, floor=0.5)
    assert len(table) and set(table["rule"]) == {"drive3", "walk500"}
    for row in table.itertuples():
        here = cov[(cov["group"].astype(str) == row.group) & (cov["admin_name"] == row.admin_name)
                   & cov[f"{row.rule}_applies"].astype(bool)]
        w = here["weight"].to_numpy(float)
        assert row.demand_weight == pytest.approx(w.sum())
        covered = here[f"{row.rule}_covered"].astype(bool).to_numpy()
        assert row.covered_pct == pytest.approx(100 * w[covered].sum() / w.sum())
        reach = here[~here[f"{row.rule}_off_network"].astype(bool)]
        cost = pd.to_numeric(reach[f"{row.rule}_cost"]).to_numpy(float)
        if len(cost) and not np.isnan(cost).any():
            assert row.worst_cost == pytest.approx(cost.max()) and row.worst_reachable
        assert row.below_floor == (row.covered_pct < 50)
        assert row.cost_unit == ("min" if row.rule == "drive3" else "m")
    worst = worst_off(table).set_index("rule")
    for rule in ("drive3", "walk500"):
        part = table[table["rule"] == rule]
        by_area = part.groupby("admin_name").apply(
            lambda g: (g["covered_pct"] * g["demand_weight"]).sum() / g["demand_weight"].sum(),
            include_groups=False)
        assert worst.loc[rule, "worst_area"] == by_area.idxmin()
        assert worst.loc[rule, "worst_area_pct"] == pytest.approx(by_area.min())


def test_a_run_planned_for_the_night_shift_agrees_with_the_shift_table(tmp_path) -> None:
    """plan_shift: the run's coverage equals the shift table's "open stations" figure of the
    all-hours run (one code path), every station stays in the tables, gaps and sites are the
    night's, and the report says so."""
    from yizhan.pipeline.analysis import run_analysis
    from yizhan.pipeline.config import load_config

    demo = DEMO.parent
    text = (demo / "example-config.toml").read_text(encoding="utf-8").replace(
        '"futian/', f'"{demo.as_posix()}/futian/')
    (tmp_path / "all.toml").write_text(text, encoding="utf-8")
    night_cfg = text.replace("sample = true", 'sample = true\nplan_shift = "driver 22:00-05:00"', 1)
    (tmp_path / "night.toml").write_text(night_cfg, encoding="utf-8")
    every = run_analysis(load_config(tmp_path / "all.toml"))
    night = run_analysis(load_config(tmp_path / "night.toml"))
    table = every.coverage_by_shift
    want = table[table["window"] == "driver 22:00-05:00"].set_index("rule")["covered_pct_open"]
    got = night.coverage_summary.set_index("rule")["covered_pct"]
    for rule in want.index:
        assert got[rule] == pytest.approx(want[rule], abs=1e-4), rule  # summary: 4 decimals
    assert len(night.stations) == len(every.stations)
    assert (~night.stations["in_service"]).sum() > 0
    assert any("driver 22:00-05:00" in w for w in night.warnings)
    assert set(night.suggestions["hours"]) == {"24小时"}
    # without a candidate file, new stations on road nodes must keep the shift's hours
    nodes_cfg = night_cfg[:night_cfg.index("[candidates]")] + night_cfg[
        night_cfg.index("[admin]"):]
    (tmp_path / "nodes.toml").write_text(nodes_cfg, encoding="utf-8")
    nodes = run_analysis(load_config(tmp_path / "nodes.toml"))
    assert len(nodes.suggestions) and set(nodes.suggestions["source"]) == {"network"}
    assert set(nodes.suggestions["hours"]) == {"22:00-05:00"}
    bad = night_cfg.replace('plan_shift = "driver 22:00-05:00"', 'plan_shift = "night"')
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="driver 22:00-05:00"):
        load_config(tmp_path / "bad.toml")
