from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point
from yizhan.stations import read_inventory
from yizhan.stations.coords import gcj02_to_wgs84

from yizhan.errors import InputFileError
from yizhan.io import sha256_file

DATA = Path(__file__).resolve().parent.parent / "stations" / "data"
SAMPLE_2025 = DATA / "sample_inventory_2025.xlsx"
SAMPLE_2024 = DATA / "sample_inventory_2024.xlsx"


@pytest.fixture(scope="module")
def sample():
    return read_inventory(SAMPLE_2025, crs="gcj02", standard="xinhui-7")


def test_sample_loads_good_rows_and_reports_bad_ones(sample):
    st_ = sample.stations
    assert st_.crs.to_epsg() == 4326
    ids = set(st_["station_id"])
    assert {f"XH{i:03d}" for i in range(1, 20)} <= ids
    codes = set(sample.problems["code"])
    assert {"missing_coordinate", "bad_coordinate", "swapped_coordinates", "duplicate_station_id",
            "bad_checklist_value", "duplicate_location"} <= codes
    # The two rows without a usable location are listed, not loaded.
    assert sorted(sample.rejected.index) == [22, 26]
    assert len(st_) + len(sample.rejected) == 25


def test_problem_rows_are_excel_rows(sample):
    p = sample.problems
    row = p.loc[p["code"] == "bad_checklist_value"].iloc[0]
    assert row["row"] == 24  # title row 1, header row 2, first station row 3
    assert row["field"] == "直饮水"
    assert row["value"] == "有时"
    assert "是/否" in row["problem"]
    assert row["file"] == str(SAMPLE_2025)


def test_gcj02_converted_and_original_kept(sample):
    st_ = sample.stations.set_index("station_id")
    lon, lat = st_.loc["XH001", "orig_lon"], st_.loc["XH001", "orig_lat"]
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    geom = st_.loc["XH001", "geometry"]
    assert geom.x == pytest.approx(wlon, abs=1e-9)
    assert geom.y == pytest.approx(wlat, abs=1e-9)
    # GCJ-02 is a few hundred metres off WGS-84 here.
    assert abs(lon - geom.x) > 1e-3
    assert st_.loc["XH001", "orig_crs"] == "gcj02"


def test_swapped_row_swapped_back(sample):
    st_ = sample.stations.set_index("station_id")
    assert 113 < st_.loc["XH021", "geometry"].x < 114


def test_duplicate_id_gets_unique_id(sample):
    assert sample.stations["station_id"].is_unique
    assert "XH005#2" in set(sample.stations["station_id"])  # not a row number: order-free
    dup = sample.problems[sample.problems["code"] == "duplicate_station_id"]
    assert len(dup) == 1 and dup["value"].iloc[0] == "XH005" and dup["severity"].iloc[0] == "error"


def test_compliance_columns(sample):
    st_ = sample.stations.set_index("station_id")
    assert st_.loc["XH001", "compliance_tier"] == "full"
    assert st_.loc["XH001", "compliance_score"] == 1.0
    assert st_.loc["XH002", "required_missing"] == "wifi"
    assert st_.loc["XH010", "required_missing"] == "phone_charger,wifi,microwave"
    assert st_.loc["XH010", "compliance_tier"] == "partial"
    assert st_["toilet"].dtype == bool


def test_unknown_columns_kept(sample):
    assert "备注" in sample.stations.columns


def test_markup_kept_as_text(sample):
    st_ = sample.stations.set_index("station_id")
    assert st_.loc["XH022", "name"] == "<img src=x onerror=alert(1)>"


def test_input_file_never_modified(tmp_path):
    before = sha256_file(SAMPLE_2025)
    read_inventory(SAMPLE_2025, crs="gcj02")
    assert sha256_file(SAMPLE_2025) == before


def _write_csv(path, header, rows, encoding="utf-8"):
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n", encoding=encoding)
    return path


def test_out_of_range_zero_and_far_outlier(tmp_path):
    path = _write_csv(tmp_path / "a.csv", ["name", "lon", "lat"], [
        ["a", 113.03, 22.45], ["b", 200, 22.4], ["c", 0, 0], ["d", 113.04, 22.46], ["e", 116.4, 39.9],
        ["f", 113.05, 22.47],
    ])
    inv = read_inventory(path)
    codes = inv.problems.set_index("row")["code"]
    assert codes[3] == "coordinate_out_of_range"
    assert codes[4] == "coordinate_out_of_range"
    assert codes[6] == "location_outlier"
    assert len(inv.stations) == 4


def test_gbk_csv_inventory(tmp_path):
    path = _write_csv(tmp_path / "g.csv", ["站点名称", "经度", "纬度", "洗手间", "微波炉"],
                      [["甲站", 113.03, 22.45, "有", "无"]], encoding="gbk")
    inv = read_inventory(path)
    assert inv.stations.loc[0, "name"] == "甲站"
    assert bool(inv.stations.loc[0, "toilet"]) is True
    assert bool(inv.stations.loc[0, "microwave"]) is False


def test_missing_required_column_is_reported(tmp_path):
    path = _write_csv(tmp_path / "m.csv", ["name", "lon", "lat", "toilet"], [["a", 113.0, 22.4, "yes"]])
    inv = read_inventory(path)
    missing = inv.problems.loc[inv.problems["code"] == "missing_amenity_column", "field"]
    assert set(missing) == {"drinking_water", "first_aid", "phone_charger", "wifi", "microwave", "seating"}
    # an absent column is "not recorded", not "lacking"
    row = inv.stations.iloc[0]
    assert pd.isna(row["wifi"]) and row["required_missing"] == ""
    assert row["required_not_recorded"] == "drinking_water,first_aid,phone_charger,wifi,microwave,seating"
    assert row["compliance_tier"] == "not_recorded" and row["compliance_score"] == pytest.approx(1 / 7, abs=1e-4)


def test_not_recorded_cannot_hide_a_known_lack(tmp_path):
    path = _write_csv(tmp_path / "m.csv", ["name", "lon", "lat", "toilet", "drinking_water",
                                           "first_aid", "phone_charger", "wifi", "microwave"],
                      [["a", 113.0, 22.4, "no", "no", "no", "no", "no", "yes"]])
    row = read_inventory(path).stations.iloc[0]  # seating not recorded; already low either way
    assert row["compliance_tier"] == "low" and row["required_not_recorded"] == "seating"


def test_no_coordinate_columns_is_a_file_error(tmp_path):
    path = _write_csv(tmp_path / "n.csv", ["name", "address"], [["a", "b"]])
    with pytest.raises(InputFileError, match="经度"):
        read_inventory(path)


def test_geojson_points_and_non_points(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"name": ["p", "l"], "toilet": ["是", "否"]},
        geometry=[Point(113.03, 22.45), LineString([(113, 22), (113.1, 22.1)])], crs="EPSG:4326")
    path = tmp_path / "s.geojson"
    gdf.to_file(path, driver="GeoJSON")
    inv = read_inventory(path, crs="wgs84")
    assert list(inv.stations["name"]) == ["p"]
    bad = inv.problems.loc[inv.problems["code"] == "bad_geometry"]
    assert list(bad["row"]) == [3]


def test_projected_gpkg_is_reprojected(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(113.03, 22.45)], crs="EPSG:4326").to_crs(32649)
    path = tmp_path / "s.gpkg"
    gdf.to_file(path, driver="GPKG")
    inv = read_inventory(path)
    assert inv.stations.geometry.iloc[0].x == pytest.approx(113.03, abs=1e-7)


def test_bd09_declared(tmp_path):
    path = _write_csv(tmp_path / "b.csv", ["name", "lng", "lat"], [["a", 113.0407, 22.4645]])
    inv = read_inventory(path, crs="baidu")
    assert inv.datum == "bd09"
    assert abs(inv.stations.geometry.iloc[0].x - 113.0407) > 5e-3


JUNK = st.one_of(st.text(max_size=12), st.integers(-1000, 1000).map(str), st.sampled_from(
    ["", "是", "否", "有时", "=1+1", "113.5", "√", "nan", "\t", "，", '"', "\n"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk_rows=st.lists(st.lists(JUNK, min_size=5, max_size=5), max_size=6),
       good=st.lists(st.tuples(st.floats(112.5, 113.5), st.floats(22.0, 23.0)), min_size=1, max_size=5))
def test_junk_never_crashes_and_good_rows_always_load(tmp_path_factory, junk_rows, good):
    import csv

    path = tmp_path_factory.mktemp("h") / "junk.csv"
    header = ["站点编号", "站点名称", "经度", "纬度", "洗手间"]
    rows = [[f"G{i}", f"good{i}", f"{lon:.6f}", f"{lat:.6f}", "是"] for i, (lon, lat) in enumerate(good)]
    rows += [["", *r[1:]] for r in junk_rows]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    inv = read_inventory(path)
    loaded = set(inv.stations["station_id"])
    assert {f"G{i}" for i in range(len(good))} <= loaded
    # Every row is accounted for: loaded or rejected, never silently dropped (blank lines excepted).
    data_rows = [r for r in rows if any(str(c).strip() for c in r)]
    assert len(inv.stations) + len(inv.rejected) == len(data_rows)
    assert np.isfinite(inv.stations.geometry.x).all()
