import json
from pathlib import Path

import pandas as pd
from yizhan.scripts.cli import main

from yizhan.io import sha256_file

DATA = Path(__file__).resolve().parent.parent / "stations" / "data"
SAMPLE = DATA / "sample_inventory_2025.xlsx"


def test_check_writes_geojson_and_problems(tmp_path, capsys):
    before = sha256_file(SAMPLE)
    assert main(["-q", "stations", "check", str(SAMPLE), "--crs", "gcj02", "--standard", "xinhui-7",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "已载入站点 stations loaded" in out
    assert "问题 Problems" in out
    gj = json.loads((tmp_path / "stations.geojson").read_text(encoding="utf-8"))
    props = gj["features"][0]["properties"]
    for col in ("station_id", "name", "toilet", "compliance_tier", "required_missing", "orig_lon"):
        assert col in props
    problems = pd.read_csv(tmp_path / "problems.csv", encoding="utf-8-sig")
    assert list(problems.columns[:5]) == ["file", "row", "field", "value", "problem"]
    assert (problems["row"] == 24).any()
    assert sha256_file(SAMPLE) == before
    # no temp files left behind: only the marker that says yizhan wrote the folder
    assert [p.name for p in tmp_path.glob(".*")] == [".yizhan-output.json"]


def test_stations_geojson_escapes_nothing_but_keeps_text(tmp_path):
    main(["-q", "stations", "check", str(SAMPLE), "--crs", "gcj02", "--out", str(tmp_path)])
    gj = json.loads((tmp_path / "stations.geojson").read_text(encoding="utf-8"))
    names = {f["properties"]["name"] for f in gj["features"]}
    assert "<img src=x onerror=alert(1)>" in names


def test_diff_cli(tmp_path, capsys):
    assert main(["-q", "stations", "diff", str(DATA / "sample_inventory_2024.xlsx"), str(SAMPLE),
                 "--crs", "gcj02", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "迁址 moved" in out
    diff = pd.read_csv(tmp_path / "diff.csv", encoding="utf-8-sig")
    assert set(diff["change"]) == {"opened", "closed", "moved", "upgraded", "downgraded"}


def test_custom_standard_file(tmp_path, capsys):
    std = tmp_path / "std.toml"
    std.write_text('required = ["toilet", "drinking_water"]\n', encoding="utf-8")
    assert main(["-q", "stations", "check", str(SAMPLE), "--crs", "gcj02", "--standard", str(std),
                 "--out", str(tmp_path / "out")]) == 0
    gj = json.loads((tmp_path / "out" / "stations.geojson").read_text(encoding="utf-8"))
    tiers = {f["properties"]["station_id"]: f["properties"]["compliance_tier"] for f in gj["features"]}
    assert tiers["XH010"] == "full"


def test_bad_standard_is_a_clear_error(tmp_path, capsys):
    assert main(["-q", "stations", "check", str(SAMPLE), "--standard", "nope"]) == 2
    assert "xinhui-7" in capsys.readouterr().err


def test_real_charging_stations_wrong_datum_is_flagged(ev_stations_csv, futian_2024_graphml, tmp_path):
    """The Shenzhen charging stations are GCJ-02; declared as WGS-84 they drift off the streets."""
    assert main(["-q", "stations", "check", str(ev_stations_csv), "--crs", "wgs84",
                 "--roads", str(futian_2024_graphml), "--out", str(tmp_path)]) == 0
    problems = pd.read_csv(tmp_path / "problems.csv", encoding="utf-8-sig")
    datum = problems.loc[problems["code"] == "datum_check", "problem"]
    assert datum.str.contains("gcj02", case=False).any()
    gj = json.loads((tmp_path / "stations.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == 1706  # every real row loads

    assert main(["-q", "stations", "check", str(ev_stations_csv), "--crs", "gcj02",
                 "--roads", str(futian_2024_graphml), "--out", str(tmp_path / "ok")]) == 0
    problems = pd.read_csv(tmp_path / "ok" / "problems.csv", encoding="utf-8-sig")
    assert not (problems["code"] == "datum_check").any()


def test_each_input_has_its_own_datum():
    """Following the datum advice for the stations (--stations-crs) never moves the demand."""
    from yizhan.scripts.cli import build_parser
    from yizhan.scripts.cmd_coverage import input_datums

    parser = build_parser()
    base = ["--network", "n.graphml", "--stations", "s.csv", "--demand", "d.csv", "--out", "o",
            "--mode", "walk", "--cutoff", "500m"]
    args = parser.parse_args(["coverage", *base, "--stations-crs", "GCJ-02"])
    assert input_datums(args) == {"stations": "gcj02", "demand": "wgs84"}
    args = parser.parse_args(["suggest", *base, "--crs", "bd09", "--demand-crs", "wgs84",
                              "--candidates", "c.csv", "--sites", "2"])
    assert input_datums(args) == {"stations": "bd09", "demand": "wgs84", "candidates": "bd09"}
