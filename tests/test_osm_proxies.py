"""yizhan.geo.osm_proxies: OpenStreetMap points of interest as demand proxies."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from yizhan.geo import osm_proxies as op
from yizhan.geo.osm_proxies import DEFAULT_PROXY_TABLE, classify_tags, osm_proxies, proxy_table
from yizhan.geo.rules import WORKER_GROUPS

from yizhan.errors import ConfigError, InputFileError, NetworkError

SAMPLE = Path(op.__file__).parent / "data" / "proxies_sample.osm"
ALL_KEYS = {"amenity": True, "shop": True, "landuse": True, "building": True, "office": True,
            "industrial": True}


# --- synthetic (hand-written sample file) --------------------------------------------------


def test_sample_file_gives_one_point_per_kind():
    proxies = osm_proxies(SAMPLE)
    kinds = dict(zip(proxies["demand_id"], proxies["kind"], strict=True))
    # the sample was written with one feature per kind; these are the matches it must give
    assert kinds == {
        "osm:n1": "restaurant", "osm:n2": "fast_food", "osm:n3": "food_court", "osm:n4": "cafe",
        "osm:n5": "convenience", "osm:n6": "convenience", "osm:n7": "parcel_locker",
        "osm:n8": "post_depot", "osm:n9": "post_office", "osm:n10": "courier_office",
        "osm:n11": "logistics", "osm:n12": "fuel", "osm:n13": "charging_station",
        "osm:n14": "taxi_rank", "osm:n15": "truck_parking", "osm:n17": "marketplace",
        "osm:n18": "waste_transfer", "osm:n21": "restaurant", "osm:w201": "construction_site",
        "osm:r301": "building_site",
    }
    # n16 (car parking without hgv), n19 (bench), n20 (bakery) and the open way w221 are not demand
    by_kind = {entry.kind: entry for entry in DEFAULT_PROXY_TABLE}
    for row in proxies.itertuples():
        assert row.group == by_kind[row.kind].group
        assert row.weight == by_kind[row.kind].weight
    assert proxies.crs.to_epsg() == 4326
    assert proxies["demand_id"].is_unique
    assert set(proxies["group"]) <= set(WORKER_GROUPS)
    assert proxies.loc[proxies["demand_id"] == "osm:n1", "name"].item() == "川菜馆"


def test_areas_are_represented_by_a_point_inside():
    proxies = osm_proxies(SAMPLE).set_index("demand_id")
    site = box(114.0700, 22.5350, 114.0720, 22.5370)
    building = box(114.0740, 22.5380, 114.0750, 22.5390)
    assert site.covers(proxies.loc["osm:w201", "geometry"])
    assert building.covers(proxies.loc["osm:r301", "geometry"])


def test_clip_polygon_and_admin_frame():
    area = box(114.04, 22.53, 114.08, 22.56)
    clipped = osm_proxies(SAMPLE, polygon=area)
    assert "osm:n21" not in set(clipped["demand_id"])
    assert len(clipped) == len(osm_proxies(SAMPLE)) - 1
    admin = gpd.GeoDataFrame({"admin_name": ["a", "b"]},
                             geometry=[box(114.04, 22.53, 114.06, 22.56),
                                       box(114.06, 22.53, 114.08, 22.56)], crs=4326)
    assert list(osm_proxies(SAMPLE, polygon=admin)["demand_id"]) == list(clipped["demand_id"])


def test_overrides_change_weights_groups_and_add_kinds():
    table = proxy_table(
        {
            "weights": {"restaurant": 2.5, "cafe": 0},
            "groups": {"marketplace": "rider"},
            "kinds": {"bakery": {"tags": {"shop": ["bakery"]}, "group": "rider", "weight": 0.25}},
        }
    )
    proxies = osm_proxies(SAMPLE, table=table).set_index("demand_id")
    assert proxies.loc["osm:n1", "weight"] == 2.5
    assert "osm:n4" not in proxies.index  # cafe switched off
    assert proxies.loc["osm:n17", "group"] == "rider"
    assert proxies.loc["osm:n20", "kind"] == "bakery"
    assert proxies.loc["osm:n20", "weight"] == 0.25
    # the overrides mapping can also be handed to osm_proxies directly
    direct = osm_proxies(SAMPLE, table={"weights": {"restaurant": 2.5, "cafe": 0}})
    assert direct.set_index("demand_id").loc["osm:n1", "weight"] == 2.5


@pytest.mark.parametrize(
    "overrides",
    [
        {"weights": {"no_such_kind": 1.0}},
        {"weights": {"restaurant": -1}},
        {"weights": {"restaurant": "lots"}},
        {"groups": {"restaurant": "astronaut"}},
        {"kinds": {"bakery": {"group": "rider"}}},  # new kind without tags
        {"kinds": {"bakery": {"tags": {"shop": []}}}},
        {"weights": ["restaurant"]},
    ],
)
def test_bad_overrides_raise_config_error(overrides):
    with pytest.raises(ConfigError):
        proxy_table(overrides)


def test_classify_first_match_wins_and_all_tags_must_match():
    tags = pd.DataFrame(
        {
            "amenity": ["parking", "parking", "restaurant", None, "fast_food"],
            "hgv": ["yes", None, None, None, None],
            "shop": [None, None, "convenience", "supermarket", None],
        }
    )
    names = [DEFAULT_PROXY_TABLE[i].kind if i >= 0 else None
             for i in classify_tags(tags, DEFAULT_PROXY_TABLE)]
    # restaurant comes before convenience in the table, so a restaurant that is a shop too counts
    # once, as a restaurant
    assert names == ["truck_parking", None, "restaurant", "convenience", "fast_food"]


def test_missing_or_broken_file():
    with pytest.raises(InputFileError):
        osm_proxies("no/such/area.osm.pbf")


def test_broken_file_raises_input_file_error(tmp_path):
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(InputFileError):
        osm_proxies(bad)


def test_online_path_uses_osmnx_features(monkeypatch):
    """Place names go through osmnx; its frame gives the same proxies as the file reader."""
    calls = {}

    def fake_from_place(place, tags):
        calls["place"] = place
        calls["tags"] = tags
        return ox.features.features_from_xml(SAMPLE, tags=tags)

    monkeypatch.setattr(ox.features, "features_from_place", fake_from_place)
    online = osm_proxies("福田区, 深圳市")
    offline = osm_proxies(SAMPLE)
    assert calls["place"] == "福田区, 深圳市"
    assert "restaurant" in calls["tags"]["amenity"]
    pd.testing.assert_frame_equal(
        online.drop(columns="geometry"), offline.drop(columns="geometry")
    )
    assert np.allclose(shapely.get_coordinates(online.geometry.to_numpy()),
                       shapely.get_coordinates(offline.geometry.to_numpy()), atol=1e-6)


def test_offline_download_raises_network_error(monkeypatch):
    def offline(*_args, **_kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox.features, "features_from_polygon", offline)
    with pytest.raises(NetworkError, match=r"\.osm\.pbf"):
        osm_proxies(box(114.0, 22.5, 114.1, 22.6))


# --- real data -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2", "planet_10.068,48.135_10.071,48.137.osm"])
def test_real_osm_xml_agrees_with_osmnx(shared_data, name):
    """pyosmium and osmnx read the same real OSM extract into the same proxies."""
    path = shared_data(f"osm_xml_samples/{name}")
    ours = osm_proxies(path)
    theirs = op._finish(
        op._raw_from_features(ox.features.features_from_xml(path, tags=ALL_KEYS),
                              DEFAULT_PROXY_TABLE),
        DEFAULT_PROXY_TABLE,
        None,
    )
    pd.testing.assert_frame_equal(ours.drop(columns="geometry"), theirs.drop(columns="geometry"))


def test_real_helsinki_pbf(shared_data):
    """Central Helsinki (real OSM PBF): restaurants, cafés, taxi ranks, inside the extract."""
    path = shared_data("osm_pbf_samples/Helsinki.osm.pbf")
    proxies = osm_proxies(path)
    counts = proxies["kind"].value_counts()
    assert counts["restaurant"] > 100
    assert counts["taxi_rank"] > 5
    assert (proxies["weight"] > 0).all()
    assert proxies["demand_id"].is_unique
    xy = shapely.get_coordinates(proxies.geometry.to_numpy())
    assert (xy[:, 0] > 24.9).all() and (xy[:, 0] < 25.0).all()
    assert (xy[:, 1] > 60.1).all() and (xy[:, 1] < 60.2).all()
    riders = proxies.loc[proxies["group"] == "rider", "kind"]
    assert set(riders) <= {"food_court", "fast_food", "restaurant", "cafe", "convenience"}
    # sorted by OSM type then id: deterministic order
    order = proxies[["osm_type", "osm_id"]].to_records(index=False).tolist()
    assert order == sorted(order)
