from pathlib import Path

import pytest
from yizhan.stations import diff_inventories, read_inventory

DATA = Path(__file__).resolve().parent.parent / "stations" / "data"


@pytest.fixture(scope="module")
def changes():
    old = read_inventory(DATA / "sample_inventory_2024.xlsx", crs="gcj02").stations
    new = read_inventory(DATA / "sample_inventory_2025.xlsx", crs="gcj02").stations
    return diff_inventories(old, new)


def _ids(changes, kind):
    return set(changes.loc[changes["change"] == kind, "station_id"])


def test_opened_and_closed(changes):
    assert {"XH017", "XH018", "XH019"} <= _ids(changes, "opened")
    assert not {f"XH{i:03d}" for i in range(1, 17)} & _ids(changes, "opened")
    assert _ids(changes, "closed") == {"XH090"}


def test_moved(changes):
    moved = changes.loc[changes["change"] == "moved"].set_index("station_id")
    assert list(moved.index) == ["XH016"]
    assert 400 < moved.loc["XH016", "distance_m"] < 800


def test_upgraded_and_downgraded(changes):
    up = changes.loc[changes["change"] == "upgraded"].set_index("station_id")
    down = changes.loc[changes["change"] == "downgraded"].set_index("station_id")
    assert up.loc["XH010", "amenities_gained"] == "first_aid"
    assert down.loc["XH002", "amenities_lost"] == "wifi"
    assert "XH001" not in up.index and "XH001" not in down.index


def test_renumbered_station_matched_by_name(changes):
    import geopandas as gpd
    from shapely.geometry import Point

    old = gpd.GeoDataFrame({"station_id": ["A1"], "name": ["甲站"], "toilet": [False]},
                           geometry=[Point(113.0, 22.4)], crs="EPSG:4326")
    new = gpd.GeoDataFrame({"station_id": ["B7"], "name": ["甲站"], "toilet": [True]},
                           geometry=[Point(113.0001, 22.4)], crs="EPSG:4326")
    out = diff_inventories(old, new)
    assert list(out["change"]) == ["upgraded"]
    assert out.loc[0, "old_station_id"] == "A1"


def test_deterministic(changes):
    old = read_inventory(DATA / "sample_inventory_2024.xlsx", crs="gcj02").stations
    new = read_inventory(DATA / "sample_inventory_2025.xlsx", crs="gcj02").stations
    assert diff_inventories(old, new).to_csv() == changes.to_csv()
