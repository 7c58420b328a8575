"""Stable identity: the same station is the same station every year, whatever the row order."""

import csv
import math

import pytest
from yizhan.stations import diff_inventories, read_inventory
from yizhan.stations.identity import name_similarity, normalise_name

HEADER = ["站点名称", "经度", "纬度", "洗手间", "饮水机", "急救箱", "充电", "WiFi", "微波炉", "桌椅"]
BASE = (113.03, 22.52)
FULL = ["有"] * 7


def _at(east_m: float, north_m: float) -> tuple[float, float]:
    lat = BASE[1] + north_m / 111_320.0
    lon = BASE[0] + east_m / (111_320.0 * math.cos(math.radians(BASE[1])))
    return round(lon, 7), round(lat, 7)


# name, east, north (metres from BASE), amenities
Y2024 = [
    ("会城街道工会爱心驿站", 0, 0, FULL),
    ("司前镇户外劳动者服务站", 900, 0, FULL),
    ("大泽镇工会驿站", 1800, 0, FULL),
    ("罗坑镇爱心驿站", 2700, 0, FULL),
    ("双水镇服务站", 0, 900, ["有", "有", "有", "有", "无", "有", "有"]),
    ("沙堆镇户外驿站", 900, 900, FULL),
    ("古井镇工会爱心驿站", 1800, 900, FULL),
    ("三江镇驿站", 2700, 900, FULL),
    ("崖门镇工会驿站", 0, 1800, FULL),
]
Y2025 = [
    ("会城街道户外劳动者服务站（工会）", 3, -2, FULL),   # the same station: a variant name, 4 m
    ("司前镇户外劳动者服务站", 900, 0, FULL),
    ("大泽镇工会驿站", 1800, 600, FULL),                  # moved 600 m
    ("罗坑镇环卫工人休息室", 2700, 10, FULL),              # renamed at the same place
    ("双水镇服务站", 0, 900, FULL),                        # upgraded: WiFi
    ("沙堆镇户外驿站", 900, 900, ["有", "有", "有", "有", "有", "无", "有"]),  # downgraded
    ("古井镇工会爱心驿站", 1800, 900, FULL),
    ("三江镇驿站", 2700, 900, FULL),
    # 崖门镇 closed
    ("今古洲工会爱心驿站", 4500, 2500, FULL),             # opened
    ("圭峰山户外劳动者服务站", -1500, 3000, FULL),        # opened
]
EXPECTED = {
    ("closed", "崖门镇工会驿站"), ("opened", "今古洲工会爱心驿站"), ("opened", "圭峰山户外劳动者服务站"),
    ("moved", "大泽镇工会驿站"), ("renamed", "罗坑镇环卫工人休息室"), ("upgraded", "双水镇服务站"),
    ("downgraded", "沙堆镇户外驿站"),
}


def _sheet(path, stations, *, order=None, ids=None, serial=False):
    rows = list(range(len(stations))) if order is None else order
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow((["序号"] if serial else []) + (["编号"] if ids else []) + HEADER)
        for n, k in enumerate(rows, start=1):
            name, east, north, amenities = stations[k]
            lon, lat = _at(east, north)
            w.writerow(([n] if serial else []) + ([ids[k]] if ids else [])
                       + [name, lon, lat, *amenities])
    return path


def _changes(frame):
    return {(c, n) for c, n in zip(frame["change"], frame["name"], strict=True)}


def test_names_are_normalised():
    assert normalise_name("会城街道户外劳动者服务站（工会）") == normalise_name("会城街道工会爱心驿站")
    assert normalise_name(" 工会驿站 ") == "工会驿站"  # only generic words: kept
    assert name_similarity("大泽镇", "三江镇") < 0.75


def test_sheets_without_ids_give_exactly_the_changes(tmp_path):
    old = read_inventory(_sheet(tmp_path / "2024.csv", Y2024)).stations
    new = read_inventory(_sheet(tmp_path / "2025.csv", Y2025)).stations
    assert set(old["id_source"]) == {"content"}
    out = diff_inventories(old, new)
    assert _changes(out) == EXPECTED
    moved = out[out["change"] == "moved"].iloc[0]
    assert 580 < moved["distance_m"] < 620 and moved["match_basis"] == "name+place"
    renamed = out[out["change"] == "renamed"].iloc[0]
    assert renamed["old_name"] == "罗坑镇爱心驿站" and renamed["match_basis"] == "place"
    assert out.loc[out["change"] == "upgraded", "amenities_gained"].item() == "wifi"
    assert out.loc[out["change"] == "downgraded", "amenities_lost"].item() == "microwave"
    assert (out["match_confidence"].dropna().between(0, 1)).all()
    # shuffled rows change nothing: the same ids, the same table
    shuffled = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4]
    again = read_inventory(_sheet(tmp_path / "2025b.csv", Y2025, order=shuffled)).stations
    assert set(again["station_id"]) == set(new["station_id"])
    old_again = read_inventory(_sheet(tmp_path / "2024b.csv", Y2024, order=[8, 3, 1, 6, 0, 7, 2, 5, 4])).stations
    assert diff_inventories(old_again, again).to_csv() == out.to_csv()


def test_a_serial_column_of_row_numbers_is_not_an_id(tmp_path):
    stations = read_inventory(_sheet(tmp_path / "s.csv", Y2024, serial=True)).stations
    assert set(stations["id_source"]) == {"content"}
    codes = [f"JM-{k:03d}" for k in range(len(Y2024))]
    with_codes = tmp_path / "codes.csv"
    with with_codes.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["序号", *HEADER])
        for code, (name, east, north, amenities) in zip(codes, Y2024, strict=True):
            w.writerow([code, name, *_at(east, north), *amenities])
    coded = read_inventory(with_codes).stations
    assert set(coded["station_id"]) == set(codes) and set(coded["id_source"]) == {"file"}


def test_ids_decide_when_the_sheets_have_them(tmp_path):
    ids_2024 = [f"XH{k:03d}" for k in range(len(Y2024))]
    # 2025: the same ids in another order; XH002 moved 1.5 km and renamed (content alone would
    # call it closed + opened); the two new stations get new ids
    y2025 = [*Y2025]
    y2025[2] = ("大泽镇新址户外驿站", 1800, 1500, FULL)
    ids_2025 = [*ids_2024[:8], "XH101", "XH102"]
    old = read_inventory(_sheet(tmp_path / "a.csv", Y2024, ids=ids_2024)).stations
    new = read_inventory(_sheet(tmp_path / "b.csv", y2025, ids=ids_2025, order=[9, 4, 0, 2, 7, 1, 8, 3, 6, 5])).stations
    out = diff_inventories(old, new)
    xh2 = out[out["station_id"] == "XH002"]
    assert set(xh2["change"]) == {"moved", "renamed"} and set(xh2["match_basis"]) == {"id"}
    assert set(out.loc[out["change"] == "opened", "station_id"]) == {"XH101", "XH102"}
    assert set(out.loc[out["change"] == "closed", "station_id"]) == {"XH008"}


def test_two_near_equal_candidates_are_listed_not_guessed(tmp_path):
    old = read_inventory(_sheet(tmp_path / "a.csv", [("江门工会爱心驿站", 0, 0, FULL)])).stations
    twins = [("江门工会爱心驿站", 300, 0, FULL), ("江门工会爱心驿站", -300, 0, FULL)]
    new = read_inventory(_sheet(tmp_path / "b.csv", twins)).stations
    out = diff_inventories(old, new)
    assert set(out["change"]) == {"to_confirm"}
    assert len(out) == 3  # the old station and both new ones, each with its candidates
    assert out["candidates"].str.len().gt(0).all()
    assert not {"opened", "closed", "moved"} & set(out["change"])


def test_evident_duplicates_and_repeated_ids_are_reported(tmp_path):
    rows = [*Y2024, ("司前镇户外劳动者服务站", 920, 0, FULL), ("别名站", 1805, 3, FULL)]
    inv = read_inventory(_sheet(tmp_path / "d.csv", rows))
    dup = inv.problems[inv.problems["code"] == "duplicate_station"]
    assert len(dup) == 2  # same name within 50 m; any two within 10 m
    assert inv.stations["station_id"].is_unique


@pytest.mark.parametrize("name", ["工会驿站", "户外劳动者服务站"])
def test_generic_only_names_still_match(name):
    assert normalise_name(name) == normalise_name(name + " ")
