"""Each input's datum is checked on its own against the roads the analysis runs on.

Real data (shared/README.md): Shenzhen taxi pick-ups are WGS-84 GPS points on the street, the
public charging stations are GCJ-02 (Amap) points of interest; roads are the Futian street graph.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from yizhan.geo.datums import InputDatum, datum_warnings


@pytest.fixture(scope="module")
def nets(futian_graphml, tmp_path_factory):
    from yizhan.geo.sources import build_network

    cache = tmp_path_factory.mktemp("net")
    return {"walk": build_network(futian_graphml, mode="walk", cache_dir=cache)}


def _stations(path, crs):
    from yizhan.stations.inventory import read_inventory

    return read_inventory(path, crs=crs).stations


def _demand(path, crs):
    from yizhan.geo.demand import read_demand_points

    return read_demand_points(path, crs=crs).points


def test_each_input_is_checked_in_its_own_datum(nets, ev_stations_csv, taxi_csv):
    right = [InputDatum("stations", _stations(ev_stations_csv, "gcj02"), "gcj02", "--stations-crs"),
             InputDatum("demand", _demand(taxi_csv, "wgs84"), "wgs84", "--demand-crs")]
    assert datum_warnings(nets, right) == []

    # The charging stations declared WGS-84: only the stations are flagged, with the fix.
    wrong_stations = [
        InputDatum("stations", _stations(ev_stations_csv, "wgs84"), "wgs84", "--stations-crs",
                   "stations.csv"),
        right[1],
    ]
    (message,) = datum_warnings(nets, wrong_stations)
    assert message.startswith("站点清单 stations（stations.csv）")
    assert "--stations-crs gcj02" in message
    assert "look like gcj02" in message

    # The GPS pick-ups declared GCJ-02 (the mistake of following the stations' advice for
    # every input): only the demand is flagged, and told to go back to WGS-84.
    wrong_demand = [right[0], InputDatum("demand", _demand(taxi_csv, "gcj02"), "gcj02",
                                         "--demand-crs")]
    (message,) = datum_warnings(nets, wrong_demand)
    assert message.startswith("需求点 demand")
    assert "--demand-crs wgs84" in message


def test_candidates_are_checked_from_their_loaded_points(nets, taxi_csv, tmp_path):
    """Candidates carry no original coordinates: the check reads them back into their datum."""
    from yizhan.geo.candidates import read_candidates
    from yizhan.stations.coords import wgs84_to_gcj02

    net = nets["walk"]
    taxi = pd.read_csv(taxi_csv, usecols=["Lng", "Lat"])
    taxi = taxi[taxi["Lng"].between(net.lon.min(), net.lon.max())
                & taxi["Lat"].between(net.lat.min(), net.lat.max())]
    assert len(taxi) >= 100
    lon, lat = wgs84_to_gcj02(taxi["Lng"].to_numpy(), taxi["Lat"].to_numpy())
    file = tmp_path / "sites.csv"
    pd.DataFrame({"candidate_id": [f"C{i}" for i in range(len(taxi))], "lon": lon,
                  "lat": lat}).to_csv(file, index=False)
    as_gcj = read_candidates(file, crs="gcj02")
    as_wgs = read_candidates(file, crs="wgs84")
    assert datum_warnings(nets, [InputDatum("candidates", as_gcj, "gcj02", "--candidates-crs")]) == []
    (message,) = datum_warnings(nets, [InputDatum("candidates", as_wgs, "wgs84",
                                                  "--candidates-crs")])
    assert "--candidates-crs gcj02" in message


def test_projected_inputs_and_empty_inputs_are_not_checked(nets, taxi_csv):
    demand = _demand(taxi_csv, "wgs84")
    assert datum_warnings(nets, [InputDatum("demand", demand, "EPSG:32650", "--demand-crs")]) == []
    assert datum_warnings(nets, [InputDatum("demand", demand.iloc[:0], "wgs84", "--demand-crs")]) == []
    assert datum_warnings({}, [InputDatum("demand", demand, "gcj02", "--demand-crs")]) == []


def test_coverage_cli_warns_per_input(futian_graphml, ev_stations_csv, taxi_csv, tmp_path,
                                      caplog):
    from yizhan.scripts.cli import main

    args = ["-q", "coverage", "--network", str(futian_graphml), "--stations", str(ev_stations_csv),
            "--demand", str(taxi_csv), "--mode", "walk", "--cutoff", "500m",
            "--cache", str(tmp_path / "cache")]
    with caplog.at_level(logging.WARNING):
        # --crs gcj02 (right for the stations) would shift the GPS demand: the demand is flagged
        assert main([*args, "--crs", "gcj02", "--out", str(tmp_path / "a")]) == 0
    flagged = [r.getMessage() for r in caplog.records if "Set:" in r.getMessage()]
    assert len(flagged) == 1 and "--demand-crs wgs84" in flagged[0]
    assert str(taxi_csv) in flagged[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--stations-crs", "gcj02", "--demand-crs", "wgs84",
                     "--out", str(tmp_path / "b")]) == 0
    assert not [r for r in caplog.records if "Set:" in r.getMessage()]


def test_run_config_checks_the_inventory_and_each_demand_layer(
    nets, futian_graphml, ev_stations_csv, taxi_csv, tmp_path
):
    from yizhan.pipeline.analysis import _input_datums
    from yizhan.pipeline.config import load_config
    from yizhan.pipeline.results import DistrictInputs

    config_file = tmp_path / "run.toml"
    config_file.write_text(
        f'district = "福田 Futian"\nyear = 2025\n[inventory]\npath = "{ev_stations_csv}"\ncrs = "wgs84"\n'
        f'[network]\nsource = "{futian_graphml}"\n'
        f'[[demand]]\npath = "{taxi_csv}"\nname = "taxi"\ngroup = "driver"\ncrs = "wgs84"\n'
        '[[rules]]\nmode = "walk"\ncutoff = "500m"\n', encoding="utf-8")
    config = load_config(config_file)
    demand = _demand(taxi_csv, "wgs84").assign(layer="taxi")
    inputs = DistrictInputs(_stations(ev_stations_csv, "wgs84"), pd.DataFrame(), demand,
                            pd.DataFrame(), None)
    (message,) = datum_warnings(nets, _input_datums(config, inputs))
    assert "stations.csv" in message and "crs = ... in [inventory] gcj02" in message
