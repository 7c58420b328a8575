"""yizhan.geo.demand: demand point tables, time windows, problems, config, and `yizhan demand build`."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from yizhan.geo import osm_proxies as op
from yizhan.geo.demand import (
    ALL_DAY,
    OTHER_HOURS,
    TimeWindows,
    build_demand,
    load_demand_config,
    parse_distance_m,
    parse_windows,
    read_demand_points,
    time_of_day,
)
from yizhan.geo.rules import canonical_group, rule_from_options
from yizhan.scripts import cmd_demand
from yizhan.stations.coords import from_wgs84
from yizhan.stations.problems import PROBLEM_COLUMNS

from yizhan.errors import ConfigError, InputFileError

SAMPLE_OSM = Path(op.__file__).parent / "data" / "proxies_sample.osm"


def main(argv: list[str]) -> int:
    """Run `yizhan demand ...` as scripts.cli.main does, with only this command registered."""
    import argparse

    from yizhan.errors import YizhanError
    from yizhan.log import set_quiet

    parser = argparse.ArgumentParser(prog="yizhan")
    parser.add_argument("-q", "--quiet", action="store_true")
    cmd_demand.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    set_quiet(args.quiet)
    try:
        return int(args.func(args) or 0)
    except YizhanError as exc:
        import sys

        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    finally:
        set_quiet(False)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- time of day and windows ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2020-01-20 11:30:05", 11 * 3600 + 30 * 60 + 5),
        ("2020/1/20 7:05", 7 * 3600 + 5 * 60),
        ("11:30", 11 * 3600 + 30 * 60),
        ("１１：３０", 11 * 3600 + 30 * 60),
        ("11时30分", 11 * 3600 + 30 * 60),
        ("下午3:15", 15 * 3600 + 15 * 60),
        ("3:15 PM", 15 * 3600 + 15 * 60),
        ("12:10 am", 10 * 60),
        ("2024-07-01T23:59:59+08:00", 86399),
        ("1579449664", (1579449664 + 8 * 3600) % 86400),
        ("1579449664000", (1579449664 + 8 * 3600) % 86400),
        (dt.time(9, 45), 9 * 3600 + 45 * 60),
        (dt.datetime(2024, 7, 1, 18, 0, 30), 18 * 3600 + 30),
    ],
)
def test_time_of_day_reads_common_spellings(value, seconds):
    got = time_of_day(pd.Series([value], dtype=object))
    assert got[0] == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", None, "soon", "25:00", "11:75", "2024-07-01", "12345"])
def test_time_of_day_rejects_junk(value):
    assert np.isnan(time_of_day(pd.Series([value], dtype=object))[0])


def test_time_of_day_datetime64_column():
    stamps = pd.Series(pd.to_datetime(["2024-07-01 08:00:00", "2024-07-02 13:30:15", None]))
    got = time_of_day(stamps)
    assert got[:2].tolist() == [8 * 3600, 13 * 3600 + 30 * 60 + 15]
    assert np.isnan(got[2])


def test_parse_windows_forms_and_midnight():
    windows = parse_windows(["lunch=11:00-13:30", "night=22:00~02:00"])
    assert [(w.name, w.start_s, w.end_s) for w in windows] == [
        ("lunch", 39600, 48600), ("night", 79200, 7200)]
    night = windows[1]
    assert night.contains(np.array([23 * 3600, 3600, 12 * 3600])).tolist() == [True, True, False]
    assert windows[0].label == "11:00-13:30"
    assert parse_windows({"早高峰": "07:00至09:00"})[0].name == "早高峰"


@pytest.mark.parametrize(
    "spec", [["lunch"], ["lunch=11-13"], ["x=10:00-10:00"], ["a=1:00-2:00", "a=3:00-4:00"],
             ["all_day=1:00-2:00"], ["x=10:00-10:99"]])
def test_parse_windows_rejects(spec):
    with pytest.raises(ConfigError):
        parse_windows(spec)


def test_group_aliases_are_one_vocabulary_for_demand_and_rules():
    assert canonical_group("骑手") == "rider"
    assert canonical_group(" Courier ") == "courier"
    assert canonical_group("环卫工人") == "sanitation"
    assert canonical_group("网约车司机") == "driver"
    assert canonical_group("astronaut") is None
    # a rule written with a Chinese name matches the same demand rows (it used to match none)
    assert rule_from_options(group="骑手", mode="ebike", cutoff="10min").group == "rider"
    with pytest.raises(ConfigError, match="astronaut"):
        rule_from_options(group="astronaut", mode="walk", cutoff="5min")


def test_parse_distance():
    assert parse_distance_m("300m") == 300.0
    assert parse_distance_m("0.5 km") == 500.0
    assert parse_distance_m(250) == 250.0
    for bad in ("5min", "-3m", 0, "far"):
        with pytest.raises(ConfigError):
            parse_distance_m(bad)


# --- reading point tables ------------------------------------------------------------------


def test_problems_name_file_row_field_value(tmp_path):
    path = write_csv(
        tmp_path / "orders.csv",
        ["lng", "lat", "单量", "群体", "下单时间"],
        [
            [114.05, 22.54, 3, "骑手", "2024-07-01 11:40"],   # row 2 good
            ["", 22.54, 1, "骑手", "2024-07-01 12:00"],        # row 3 missing lon
            ["abc", 22.54, 1, "骑手", "2024-07-01 12:00"],     # row 4 unreadable lon
            [22.54, 114.05, 1, "骑手", "2024-07-01 12:00"],    # row 5 swapped
            [114.05, 22.54, 0, "骑手", "2024-07-01 12:00"],    # row 6 weight 0
            [114.05, 22.54, "x", "骑手", "2024-07-01 12:00"],  # row 7 weight text
            [114.05, 22.54, 2, "宇航员", "2024-07-01 12:00"],  # row 8 unknown group
            [114.05, 22.54, 2, "courier", "lunchtime"],        # row 9 unreadable time
            [0, 0, 2, "courier", "2024-07-01 12:00"],          # row 10 placeholder 0,0
            [114.06, 22.55, "1,200", "快递员", "2024-07-01 15:00"],  # row 11 outside windows
            [114.06, 22.55, 2.5, "快递员", "12:15"],            # row 12 good
        ],
    )
    result = read_demand_points(
        path, weight="单量", group="群体", time="下单时间", windows={"lunch": "11:00-13:30"}
    )
    assert list(result.problems.columns) == list(PROBLEM_COLUMNS)
    got = [(r.row, r.field, r.code) for r in result.problems.itertuples()]
    assert got == [
        (3, "lng", "missing_coordinate"),
        (4, "lng", "bad_coordinate"),
        (5, "lng", "swapped_coordinates"),
        (6, "单量", "weight_not_positive"),
        (7, "单量", "bad_weight"),
        (8, "群体", "bad_group"),
        (9, "下单时间", "bad_time"),
        (10, "lng", "zero_coordinate"),
    ]
    assert result.problems.loc[result.problems["row"] == 8, "value"].item() == "宇航员"
    assert (result.problems["file"] == str(path)).all()
    assert list(result.points["source_row"]) == [2, 12]
    assert list(result.points["demand_id"]) == ["orders:2", "orders:12"]
    assert list(result.points["group"]) == ["rider", "courier"]
    assert list(result.points["weight"]) == [3.0, 2.5]
    assert list(result.points["window"]) == ["lunch", "lunch"]
    assert result.n_rows == 11
    assert result.n_outside_windows == 1
    kept = read_demand_points(path, weight="单量", group="群体", time="下单时间",
                              windows=TimeWindows.of({"lunch": "11:00-13:30"}, keep_outside=True))
    assert kept.points.set_index("source_row").loc[11, "window"] == OTHER_HOURS
    assert kept.points.set_index("source_row").loc[11, "weight"] == 1200.0


def test_xlsx_with_title_row_chinese_headers_and_datetimes(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年福田区环卫作业点"])
    sheet.append(["作业点", "经度", "纬度", "人数", "工种", "上班时间"])
    sheet.append(["福田一队", 114.0551, 22.5402, 12, "环卫工人", dt.datetime(2024, 7, 1, 6, 30)])
    sheet.append(["福田二队", 114.0612, 22.5333, 8, "环卫", dt.time(14, 0)])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["福田三队", 114.0700, 22.5500, 5, "sanitation", dt.datetime(2024, 7, 1, 20, 0)])
    path = tmp_path / "depots.xlsx"
    book.save(path)
    result = read_demand_points(path, windows=TimeWindows.of(
        {"morning": "06:00-09:00", "afternoon": "13:00-18:00"}, keep_outside=True))
    assert result.problems.empty
    pts = result.points
    assert list(pts["source_row"]) == [3, 4, 6]  # Excel rows, header in row 2
    assert list(pts["weight"]) == [12.0, 8.0, 5.0]  # 人数 found as the weight column
    assert set(pts["group"]) == {"sanitation"}
    assert list(pts["window"]) == ["morning", "afternoon", OTHER_HOURS]


def test_constant_weight_and_group_for_every_row(tmp_path):
    path = write_csv(tmp_path / "p.csv", ["lon", "lat"], [[114.0, 22.5], [114.1, 22.6]])
    pts = read_demand_points(path, weight=12, group="建筑工人").points
    assert list(pts["weight"]) == [12.0, 12.0]
    assert list(pts["group"]) == ["construction", "construction"]
    assert "window" not in pts.columns
    default = read_demand_points(path).points
    assert list(default["weight"]) == [1.0, 1.0]
    assert list(default["group"]) == ["other", "other"]


def test_named_columns_must_exist(tmp_path):
    path = write_csv(tmp_path / "p.csv", ["lon", "lat"], [[114.0, 22.5]])
    with pytest.raises(InputFileError, match="单量") as info:
        read_demand_points(path, weight="单量")
    assert info.value.field == "单量"
    with pytest.raises(InputFileError):
        read_demand_points(path, time="时间", windows={"a": "01:00-02:00"})
    with pytest.raises(ConfigError):
        read_demand_points(path, group="astronaut")
    with pytest.raises(ConfigError):
        read_demand_points(path, crs="mars-2")
    nocoords = write_csv(tmp_path / "n.csv", ["name", "count"], [["a", 1]])
    with pytest.raises(InputFileError, match="经度"):
        read_demand_points(nocoords)


def test_windows_without_time_column_warn_and_keep_everything(tmp_path):
    path = write_csv(tmp_path / "p.csv", ["lon", "lat"], [[114.0, 22.5], [114.1, 22.6]])
    result = read_demand_points(path, windows={"lunch": "11:00-13:30"})
    assert list(result.points["window"]) == [ALL_DAY, ALL_DAY]
    assert list(result.problems["code"]) == ["no_time_column"]
    assert result.problems["severity"].item() == "warning"
    assert pd.isna(result.problems["row"].item())


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_chinese_datums_are_converted(tmp_path, datum):
    rng = np.random.default_rng(1)
    lon = rng.uniform(113.8, 114.6, 50)
    lat = rng.uniform(22.4, 22.9, 50)
    shifted_lon, shifted_lat = from_wgs84(lon, lat, datum)
    path = write_csv(tmp_path / "p.csv", ["经度", "纬度"],
                     [[f"{a:.9f}", f"{b:.9f}"] for a, b in zip(shifted_lon, shifted_lat, strict=True)])
    pts = read_demand_points(path, crs=datum).points
    assert np.allclose(pts.geometry.x, lon, atol=1e-7)
    assert np.allclose(pts.geometry.y, lat, atol=1e-7)
    assert np.allclose(pts["orig_lon"], np.round(shifted_lon, 9))
    assert (pts["orig_crs"] == datum).all()


def test_projected_xy_columns(tmp_path):
    lon, lat = np.array([114.05, 114.10]), np.array([22.54, 22.60])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(lon, lat)
    path = write_csv(tmp_path / "p.csv", ["x", "y"], [[a, b] for a, b in zip(x, y, strict=True)])
    pts = read_demand_points(path, crs="EPSG:4547").points
    assert np.allclose(pts.geometry.x, lon, atol=1e-8)
    assert np.allclose(pts.geometry.y, lat, atol=1e-8)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_vector_and_parquet_inputs(tmp_path, suffix):
    frame = gpd.GeoDataFrame(
        {"人次": [3, 4, 5], "group": ["rider", "driver", "courier"]},
        geometry=gpd.points_from_xy([114.01, 114.02, 114.03], [22.51, 22.52, 22.53]),
        crs="EPSG:4326",
    ).to_crs("EPSG:32650" if suffix == ".gpkg" else "EPSG:4326")
    path = tmp_path / f"p{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path)
    pts = read_demand_points(path).points
    assert list(pts["weight"]) == [3.0, 4.0, 5.0]
    assert list(pts["group"]) == ["rider", "driver", "courier"]
    assert list(pts["source_row"]) == [2, 3, 4]
    assert np.allclose(pts.geometry.x, [114.01, 114.02, 114.03], atol=1e-9)


# --- property: junk never crashes, good rows are never dropped -----------------------------

_junk = st.one_of(
    st.just(""), st.just("NaN"), st.just("null"), st.just("-"), st.just("0"),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10**12, 10**12).map(str),
)
_good = st.tuples(
    st.floats(113.8, 114.6), st.floats(22.4, 22.9), st.floats(0.01, 1e5),
    st.sampled_from(["rider", "骑手", "courier", "快递员", "driver", "环卫"]),
    st.integers(0, 86399),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.one_of(
            _good.map(lambda g: ("good", g)),
            st.tuples(_good, st.integers(0, 4), _junk).map(lambda t: ("junk", t)),
        ),
        min_size=1, max_size=25,
    ),
    excel=st.booleans(),
)
def test_junk_cells_never_crash_and_good_rows_survive(tmp_path_factory, rows, excel):
    header = ["lon", "lat", "weight", "group", "time"]
    table: list[list[object]] = []
    expect_good: dict[int, tuple[float, float, float, str, int]] = {}
    junk_rows: set[int] = set()
    for i, (kind, payload) in enumerate(rows):
        excel_row = i + 2
        if kind == "good":
            lon, lat, weight, group, secs = payload
            expect_good[excel_row] = payload
        else:
            (lon, lat, weight, group, secs), column, junk = payload
            junk_rows.add(excel_row)
        cells: list[object] = [repr(lon), repr(lat), repr(weight), group,
                               f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"]
        if kind == "junk":
            cells[column] = junk
        table.append(cells)
    folder = tmp_path_factory.mktemp("junk")
    if excel:
        book = openpyxl.Workbook()
        book.active.append(header)
        for cells in table:
            book.active.append(cells)
        path = folder / "pings.xlsx"
        book.save(path)
    else:
        path = write_csv(folder / "pings.csv", header, table)
    # two windows that cover the whole day, so only unreadable times drop a row
    result = read_demand_points(path, time="time",
                                windows={"am": "00:00-12:00", "pm": "12:00-00:00"})
    pts = result.points.set_index("source_row")
    # every good row is there, with its values
    for row, (lon, _lat, weight, group, _secs) in expect_good.items():
        assert row in pts.index
        assert pts.loc[row, "geometry"].x == pytest.approx(lon)
        assert pts.loc[row, "weight"] == pytest.approx(weight)
        assert pts.loc[row, "group"] == canonical_group(group)
    # a row is either loaded or has at least one problem; problems name real junk rows
    problem_rows = set(result.problems["row"].dropna().astype(int))
    assert problem_rows <= junk_rows
    blank_lines = {r for r in junk_rows if all(str(c).strip() == "" for c in table[r - 2])}
    assert set(pts.index) | problem_rows | blank_lines == set(expect_good) | junk_rows
    assert set(pts.index).isdisjoint(problem_rows)


# --- real data -----------------------------------------------------------------------------


def test_real_taxi_pickups_with_windows(taxi_csv):
    windows = {"lunch": "11:00-13:30", "evening": "17:00-20:00", "night": "22:00-02:00"}
    result = read_demand_points(taxi_csv, group="driver", time="Stime", windows=windows)
    raw = pd.read_csv(taxi_csv)
    stime = pd.to_datetime(raw["Stime"])
    minutes = stime.dt.hour * 60 + stime.dt.minute
    expected = np.select(
        [(minutes >= 660) & (minutes < 810), (minutes >= 1020) & (minutes < 1200),
         (minutes >= 1320) | (minutes < 120)],
        ["lunch", "evening", "night"], default="",
    )
    assert result.problems.empty
    assert result.n_rows == len(raw)
    assert len(result.points) + result.n_outside_windows == len(raw)
    got = result.points.set_index("source_row")["window"]
    want = pd.Series(expected, index=raw.index + 2)
    assert (got == want.loc[got.index]).all()
    assert (want.loc[~want.index.isin(got.index)] == "").all()
    assert np.allclose(result.points.geometry.x, raw["Lng"].to_numpy()[got.index - 2])


# --- config and build ----------------------------------------------------------------------


def _layers(tmp_path: Path) -> Path:
    write_csv(tmp_path / "orders.csv", ["lng", "lat", "单量", "下单时间"], [
        [114.0501, 22.5401, 5, "2024-07-01 11:45"],
        [114.0502, 22.5402, 7, "2024-07-01 12:10"],
        [114.0503, 22.5403, 4, "2024-07-01 18:30"],
        [114.0504, 22.5404, 9, "2024-07-01 03:00"],
        ["", 22.5405, 1, "2024-07-01 12:00"],
    ])
    write_csv(tmp_path / "depots.csv", ["经度", "纬度", "人数"], [[114.0601, 22.5501, 12]])
    config = tmp_path / "demand.toml"
    config.write_text(
        f"""
[[demand]]
name = "orders"
path = "orders.csv"
group = "rider"
weight = "单量"
time = "下单时间"

[[demand]]
path = "depots.csv"
group = "sanitation"

[windows]
lunch = "11:00-13:30"
dinner = "17:00-20:00"

[proxies]
source = "{SAMPLE_OSM.as_posix()}"
[proxies.weights]
restaurant = 2.0

[grid]
cell = "h3:9"

[hotspots]
method = "dbscan"
eps = "300m"
min_weight = 10
""",
        encoding="utf-8",
    )
    return config


def test_config_build_combines_layers_and_proxies(tmp_path):
    config = load_demand_config(_layers(tmp_path))
    assert [layer.name for layer in config.layers] == ["orders", "depots"]
    assert config.cell == "h3:9"
    assert config.hotspots.eps_m == 300.0
    assert config.hotspots.min_weight == 10.0
    build = build_demand(config)
    pts = build.points
    assert pts["demand_id"].is_unique
    # layers in config order (orders, depots, then the OSM proxies), rows in file order
    prefixes = pts["demand_id"].str.split(":").str[0]
    assert list(dict.fromkeys(prefixes)) == ["orders", "depots", "osm"]
    for name in ("orders", "depots"):
        rows = pts.loc[prefixes == name, "source_row"].tolist()
        assert rows == sorted(rows)
    orders = pts[pts["demand_id"].str.startswith("orders:")]
    assert list(orders["window"]) == ["lunch", "lunch", "dinner"]  # 03:00 is outside
    depot = pts[pts["demand_id"] == "depots:2"]
    assert depot["window"].item() == ALL_DAY and depot["weight"].item() == 12.0
    osm = pts[pts["demand_id"].str.startswith("osm:")]
    assert (osm["window"] == ALL_DAY).all()
    assert osm.set_index("demand_id").loc["osm:n1", "weight"] == 2.0
    layers = build.layers.set_index("layer")
    assert layers.loc["orders", "rows"] == 5
    assert layers.loc["orders", "loaded"] == 3
    assert layers.loc["orders", "outside_windows"] == 1
    assert layers.loc["orders", "problems"] == 1
    # depots.csv has no time column: a warning, and its rows count as all_day
    assert list(build.problems["code"]) == ["no_time_column", "missing_coordinate"]
    assert list(build.problems["severity"]) == ["warning", "error"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[[demand]]\npath = "a.csv"\nweigth = "x"\n', "weigth"),
        ('[[demand]]\ngroup = "rider"\n', "path"),
        ('[[demand]]\npath = "a.csv"\n[[demand]]\npath = "a.csv"\n', "name"),
        ("[grid]\ncell = \"250m\"\n", "demand"),
        ('[[demand]]\npath = "a.csv"\n[windows]\nlunch = "noon"\n', "lunch"),
        ('[[demand]]\npath = "a.csv"\n[hotspots]\neps = "5min"\n', "5min"),
        ("[[demand]\n", "TOML"),
    ],
)
def test_bad_configs(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_demand_config(path)


def test_collapse_in_config_keeps_totals(tmp_path):
    config = load_demand_config(_layers(tmp_path))
    from dataclasses import replace

    full = build_demand(config).points
    collapsed = build_demand(replace(config, collapse="500m")).points
    assert len(collapsed) < len(full)
    pd.testing.assert_series_equal(
        collapsed.groupby(["group", "window"])["weight"].sum(),
        full.groupby(["group", "window"])["weight"].sum(),
    )


# --- command line --------------------------------------------------------------------------


def test_cli_build_from_config_writes_outputs(tmp_path, capsys):
    config = _layers(tmp_path)
    out = tmp_path / "out"
    assert main(["-q", "demand", "build", str(config), "--out", str(out), "--gpkg"]) == 0
    for name in ("demand.geojson", "grid.geojson", "hotspots.geojson", "problems.csv",
                 "demand_summary.json", "demand.gpkg"):
        assert (out / name).exists(), name
    summary = json.loads((out / "demand_summary.json").read_text(encoding="utf-8"))
    demand = gpd.read_file(out / "demand.geojson")
    hotspots = gpd.read_file(out / "hotspots.geojson")
    assert summary["points"] == len(demand)
    assert summary["total_weight"] == pytest.approx(demand["weight"].sum())
    assert summary["clustering"]["hotspots"] == len(hotspots)
    members = demand[demand["hotspot_id"].fillna("") != ""]
    assert members["weight"].sum() == pytest.approx(summary["clustering"]["clustered_weight"])
    grid = gpd.read_file(out / "grid.geojson")
    assert grid["weight"].sum() == pytest.approx(demand["weight"].sum())
    printed = capsys.readouterr().out
    assert "By worker group" in printed and "按群体" in printed
    assert "noise" in printed
    problems = pd.read_csv(out / "problems.csv", encoding="utf-8-sig")
    assert list(problems.columns) == list(PROBLEM_COLUMNS)


def test_cli_flags_on_real_taxi_data_are_deterministic(tmp_path, taxi_csv):
    args = ["-q", "demand", "build", "--input", str(taxi_csv), "--group", "driver",
            "--time", "Stime", "--window", "lunch=11:00-13:30", "--window", "evening=17:00-20:00",
            "--grid", "500m", "--method", "dbscan", "--eps", "300m", "--min-weight", "40"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    for name in ("demand.geojson", "grid.geojson", "hotspots.geojson", "demand_summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = json.loads((tmp_path / "a" / "demand_summary.json").read_text(encoding="utf-8"))
    assert {w["window"] for w in summary["windows"]} == {"lunch", "evening"}
    assert summary["clustering"]["min_weight"] == 40


def test_cli_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["demand", "build", "--out", str(tmp_path)]) == 2
    assert "--input" in capsys.readouterr().err
    assert main(["demand", "build", "--group", "rider", "--proxies", str(SAMPLE_OSM),
                 "--out", str(tmp_path)]) == 2
    empty = write_csv(tmp_path / "e.csv", ["lon", "lat"], [["east", "north"]])
    assert main(["-q", "demand", "build", "--input", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert (tmp_path / "o" / "problems.csv").exists()
