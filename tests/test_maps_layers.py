"""maps layers and assembly, without a browser: payloads, GCJ-02 offsets, escaping, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point
from test_maps_samples import XSS, XSS_SCRIPT, sample_frames
from yizhan.maps import _geometry, _runtime
from yizhan.maps.stations import CLUSTER_ABOVE
from yizhan.stations.coords import wgs84_to_gcj02
from yizhan.stations.standards import load_standard

from yizhan import maps
from yizhan.errors import ConfigError

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def frames() -> dict[str, gpd.GeoDataFrame]:
    return sample_frames()


@pytest.fixture(scope="module")
def full_html(frames: dict[str, gpd.GeoDataFrame]) -> str:
    m = maps.build_map(maps.MapLayers(**frames), title=f'福田 {XSS}', standard='xinhui-7', sample_data_notice=f'示例数据 sample data {XSS}', subtitle=XSS_SCRIPT)
    return maps.map_html(m)


def _overlays(html: str) -> list[tuple[str, dict, dict]]:
    """Return (kind, payload, options) of every overlay in a rendered page."""
    found = re.findall(
        r"YIZHAN\.overlay\(map_yizhan,\s*(\"\w+\"), (\{.*?\}), (\{.*?\})\);\n", html, flags=re.S
    )
    return [(json.loads(k), json.loads(p), json.loads(o)) for k, p, o in found]


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# ------------------------------------------------------------------------- escaping


def test_js_json_cannot_close_a_script_block() -> None:
    text = _runtime.js_json({"name": XSS_SCRIPT, "sep": "a\u2028b", "amp": "&"})
    assert "</script" not in text and "<" not in text and ">" not in text
    assert json.loads(text) == {"name": XSS_SCRIPT, "sep": "a\u2028b", "amp": "&"}


def test_user_text_never_reaches_the_page_as_markup(full_html: str) -> None:
    assert XSS not in full_html
    assert XSS_SCRIPT not in full_html
    assert "alert(" in full_html  # it is there, as escaped JSON text ...
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in full_html
    # ... and as HTML entities where Leaflet writes names with innerHTML (layer control)
    assert "Service area \\u00b7 \\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in full_html
    assert "<title>福田 &lt;img src=x onerror=alert(1)&gt;</title>" in full_html


def test_runtime_writes_payload_text_only_via_text_content() -> None:
    js = maps.assets.runtime_text("yizhan-map.js")
    # the only innerHTML-like sinks are Leaflet options built from validated colours
    assert "innerHTML" not in js
    assert "insertAdjacentHTML" not in js and "document.write" not in js
    assert js.count("textContent") >= 1


# ------------------------------------------------------------------------- page and assembly


def test_every_layer_is_an_overlay_in_order(full_html: str) -> None:
    kinds = [k for k, _, _ in _overlays(full_html)]
    assert kinds == ["polygons", "polygons", "polygons", "heat", "polygons", "polygons",
                     "stations", "sites"]
    # admin, 2 service-area rules, heat, hotspots, gaps, stations, suggestions: 8 + 3 base maps
    assert full_html.count("L.control.layers(") == 1
    assert full_html.index("L.control.layers(") > full_html.rindex("YIZHAN.overlay(")


def test_page_loads_no_external_script_or_style(full_html: str) -> None:
    assert not re.search(r"<script[^>]+src=", full_html)
    assert "<link" not in full_html
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn",
                "googleapis"):
        assert cdn not in full_html


def test_same_inputs_give_byte_identical_html(frames: dict[str, gpd.GeoDataFrame],
                                              full_html: str) -> None:
    m = maps.build_map(maps.MapLayers(**frames), title=f'福田 {XSS}', standard='xinhui-7', sample_data_notice=f'示例数据 sample data {XSS}', subtitle=XSS_SCRIPT)
    first = maps.map_html(m)
    assert first == full_html
    assert maps.map_html(m) == first  # rendering twice repeats nothing


def test_build_map_with_nothing_is_a_valid_page() -> None:
    html = maps.map_html(maps.build_map(title='空 empty'))
    assert "YIZHAN.init(map_yizhan" in html
    assert "YIZHAN.overlay(" not in html
    assert "map_yizhan.fitBounds" not in html  # default view of China


def test_empty_frames_add_no_layer(frames: dict[str, gpd.GeoDataFrame]) -> None:
    empty = {k: v.iloc[0:0] for k, v in frames.items()}
    html = maps.map_html(maps.build_map(maps.MapLayers(**empty), title='t'))
    assert "YIZHAN.overlay(" not in html


def test_unknown_mode_and_basemap_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="资源模式"):
        maps.build_map(title='t', assets='offline')  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="底图"):
        maps.build_map(title='t', basemap='baidu')


def test_inline_map_refuses_plugins_that_load_from_a_cdn() -> None:
    m = maps.build_map(title='t')
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="self-contained"):
        maps.map_html(m)
    mirror = maps.build_map(title='t', assets='mirror')
    folium.plugins.Fullscreen().add_to(mirror)
    assert "leaflet.fullscreen" in maps.map_html(mirror).lower()


def test_mirror_mode_page_points_to_the_mirror() -> None:
    html = maps.map_html(maps.build_map(title='t', assets='mirror', mirror='staticfile'))
    assert '<script src="https://cdn.staticfile.net/leaflet/1.9.4/leaflet.js"></script>' in html


def test_save_map_is_atomic_and_leaves_nothing_behind(tmp_path: Path,
                                                      frames: dict[str, gpd.GeoDataFrame]) -> None:
    target = tmp_path / "out" / "map.html"
    m = maps.build_map(maps.MapLayers(stations=frames['stations']), title='t')
    assert maps.save_map(m, target) == target
    assert target.read_text(encoding="utf-8") == maps.map_html(m)
    # a map that fails to render leaves the previous file untouched, and no temporary file
    broken = maps.build_map(title='t')
    folium.plugins.Fullscreen().add_to(broken)
    with pytest.raises(ValueError, match="self-contained"):
        maps.save_map(broken, target)
    assert target.read_text(encoding="utf-8") == maps.map_html(m)
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]


def test_add_functions_need_a_yizhan_map(frames: dict[str, gpd.GeoDataFrame]) -> None:
    with pytest.raises(ValueError, match="new_map"):
        maps.add_stations(folium.Map(), frames["stations"])


def test_new_map_and_single_layers(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_gaps(m, frames["gaps"], name="缺口 only", show=False)
    html = maps.map_html(m)
    assert json.dumps("缺口 only") in html  # layer-control names are JSON in the page
    assert "overlay_001.addTo" not in html  # hidden on open, still in the layer control
    assert len(_overlays(html)) == 1


# ------------------------------------------------------------------------- GCJ-02


def test_point_payload_carries_the_gcj02_offset(frames: dict[str, gpd.GeoDataFrame]) -> None:
    geoms = frames["stations"].geometry
    payload = _geometry.point_payload(geoms)
    lon, lat = geoms.x.to_numpy(), geoms.y.to_numpy()
    np.testing.assert_allclose(payload["lon"]["wgs84"], lon, atol=1e-6)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_allclose(payload["lon"]["gcj02"], g_lon, atol=1e-6)
    np.testing.assert_allclose(payload["lat"]["gcj02"], g_lat, atol=1e-6)
    shift = np.asarray(_metres(lon, lat, payload["lon"]["gcj02"], payload["lat"]["gcj02"]))
    assert ((shift > 300) & (shift < 650)).all()  # Shenzhen: about 600 m


def test_polygon_payload_carries_the_gcj02_offset(frames: dict[str, gpd.GeoDataFrame]) -> None:
    gaps = frames["gaps"]
    payload = _geometry.polygon_payload(gaps.geometry)
    for datum in ("wgs84", "gcj02"):
        assert len(payload[datum]) == len(gaps)
    ring_wgs = np.asarray(payload["wgs84"][0][0][0]).reshape(-1, 2)  # [lat, lon] pairs
    ring_gcj = np.asarray(payload["gcj02"][0][0][0]).reshape(-1, 2)
    exterior = np.asarray(gaps.geometry.iloc[0].exterior.coords)[:-1]  # closing vertex dropped
    np.testing.assert_allclose(ring_wgs[:, ::-1], exterior, atol=1e-5)
    g_lon, g_lat = wgs84_to_gcj02(exterior[:, 0], exterior[:, 1])
    np.testing.assert_allclose(ring_gcj[:, 1], g_lon, atol=1e-5)
    np.testing.assert_allclose(ring_gcj[:, 0], g_lat, atol=1e-5)
    shift = _metres(exterior[:, 0], exterior[:, 1], ring_gcj[:, 1], ring_gcj[:, 0])
    assert ((shift > 300) & (shift < 650)).all()


def test_polygon_payload_keeps_holes_and_multipolygon_parts() -> None:
    ring = Point(114.05, 22.54).buffer(0.01)
    holed = ring.difference(Point(114.05, 22.54).buffer(0.004))
    multi = holed.union(Point(114.09, 22.54).buffer(0.005))
    payload = _geometry.polygon_payload(gpd.GeoSeries([multi, ring], crs=4326))
    feature = payload["wgs84"][0]
    assert [len(part) for part in sorted(feature, key=len)] == [1, 2]  # one part has a hole
    assert len(payload["gcj02"][1]) == 1


def test_points_outside_china_are_not_shifted() -> None:
    payload = _geometry.point_payload(gpd.GeoSeries([Point(2.35, 48.85)], crs=4326))
    assert payload["lon"]["gcj02"] == payload["lon"]["wgs84"] == [2.35]


def test_every_overlay_has_both_datums(full_html: str) -> None:
    for kind, payload, _ in _overlays(full_html):
        key = "geom" if kind == "polygons" else "lon"
        assert set(payload[key]) == {"wgs84", "gcj02"}, kind
        assert payload[key]["wgs84"] != payload[key]["gcj02"], kind


def test_amap_first_starts_in_gcj02() -> None:
    html = maps.map_html(maps.build_map(title='t', basemap='amap'))
    assert 'YIZHAN.init(map_yizhan, {"datum":"gcj02"})' in html
    assert re.search(r'"yizhanDatum": "gcj02"', html)
    assert "tile_layer_002.addTo(map_yizhan)" in html  # Amap is the one shown
    assert "tile_layer_001.addTo(map_yizhan)" not in html


# ------------------------------------------------------------------------- layers


def test_stations_payload_tiers_and_checklist(frames: dict[str, gpd.GeoDataFrame]) -> None:
    stations = frames["stations"]
    m = maps.new_map(title="t")
    maps.add_stations(m, stations)
    (kind, payload, options), = _overlays(maps.map_html(m))
    assert kind == "stations"
    assert options["cluster"] is False  # 12 stations
    tiers = [options["tiers"][i]["key"] for i in payload["tier"]]
    assert tiers == list(stations.compliance_tier)
    labels = options["amenities"]
    assert labels[:4] == ["洗手间 toilet", "直饮水 drinking water", "应急药箱 first-aid kit",
                          "无线网络 WiFi"]
    i_toilet, i_aid = 0, 2
    for row, have, req in zip(stations.itertuples(), payload["have"], payload["req"],
                              strict=True):
        assert have[i_toilet] == ("1" if row.toilet else "0")
        assert have[i_aid] == ("1" if row.first_aid else "0")
        assert req[:2] == "11"
        assert req[i_aid] == ("1" if row.required_missing == "first_aid" else "0")
        assert req[3] == "0"  # wifi is not required
    assert payload["values"]["capacity"][0] == ""  # NaN seats show as empty
    assert payload["values"]["compliance"][-1] == "100.0%"


def test_standard_marks_its_items_required(frames: dict[str, gpd.GeoDataFrame]) -> None:
    standard = load_standard("xinhui-7")
    m = maps.new_map(title="t")
    maps.add_stations(m, frames["stations"], standard=standard)
    (_, payload, options), = _overlays(maps.map_html(m))
    n_required = len(standard.required)
    assert all(r[:n_required] == "1" * n_required for r in payload["req"])
    assert options["amenities"][:n_required] == [
        maps.stations.amenity_label(k) for k in standard.required
    ]


def test_many_stations_are_clustered(frames: dict[str, gpd.GeoDataFrame]) -> None:
    base = frames["stations"]
    many = gpd.GeoDataFrame(
        {"station_id": [f"S{i}" for i in range(CLUSTER_ABOVE + 1)], "name": "x"},
        geometry=[base.geometry.iloc[i % len(base)] for i in range(CLUSTER_ABOVE + 1)], crs=4326,
    )
    m = maps.new_map(title="t")
    maps.add_stations(m, many)
    (_, payload, options), = _overlays(maps.map_html(m))
    assert options["cluster"] is True
    assert payload["tier"] == [3] * (CLUSTER_ABOVE + 1)  # no tier column: "not assessed"


def test_projected_input_is_converted(frames: dict[str, gpd.GeoDataFrame]) -> None:
    stations = frames["stations"]
    m = maps.new_map(title="t")
    maps.add_stations(m, stations.to_crs(3857))
    (_, payload, _), = _overlays(maps.map_html(m))
    np.testing.assert_allclose(payload["lon"]["wgs84"], stations.geometry.x, atol=1e-6)


def test_heat_grid_keeps_weight_and_caps_points(frames: dict[str, gpd.GeoDataFrame]) -> None:
    demand = frames["demand"]
    cells, cell_m, peak = _geometry.heat_grid(demand, max_points=200)
    assert len(cells) <= 200
    assert cell_m > 50
    assert cells["weight"].sum() == pytest.approx(demand["weight"].sum())
    assert cells["n_points"].sum() == len(demand)
    assert peak >= cells["weight"].quantile(0.5)
    again, _, _ = _geometry.heat_grid(demand, max_points=200)
    assert again.equals(cells)


def test_heat_layer_is_aggregated(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_demand_heat(m, frames["demand"], max_points=500)
    (kind, payload, _), = _overlays(maps.map_html(m))
    assert kind == "heat"
    assert 0 < len(payload["w"]) <= 500
    assert 0 < min(payload["w"]) <= max(payload["w"]) <= 1.0


def test_service_areas_dissolve_per_rule(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_service_areas(m, frames["service_areas"])
    overlays = _overlays(maps.map_html(m))
    assert [len(p["label"]) for _, p, _ in overlays] == [1, 1]
    assert sorted(p["rows"][0][0] for _, p, _ in overlays) == sorted(["rider_10min", XSS])
    assert {p["rows"][0][2] for _, p, _ in overlays} == {"4"}  # stations per rule

    per_station = maps.new_map(title="t")
    maps.add_service_areas(per_station, frames["service_areas"], dissolve=False)
    overlays = _overlays(maps.map_html(per_station))
    assert [len(p["label"]) for _, p, _ in overlays] == [4, 4]


def test_simplification_shrinks_polygons(frames: dict[str, gpd.GeoDataFrame]) -> None:
    fine = frames["service_areas"].iloc[:1]
    exact = _geometry.polygon_payload(fine.geometry)["wgs84"][0][0][0]
    simple = _geometry.simplify_polygons(fine, tolerance_m=8.0)
    coarse = _geometry.polygon_payload(simple.geometry)["wgs84"][0][0][0]
    assert len(coarse) < len(exact)
    assert simple.geometry.iloc[0].symmetric_difference(fine.geometry.iloc[0]).area \
        < 0.02 * fine.geometry.iloc[0].area


def test_hotspots_popups_and_classes(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_hotspots(m, frames["hotspots"])
    (_, payload, _options), = _overlays(maps.map_html(m))
    assert payload["rows"][0] == ["H1", "420", "31.0%", "外卖骑手 delivery riders",
                                  "11:00-13:00", "800"]
    heavier, lighter = payload["color"]
    assert heavier > lighter


def test_point_hotspots_become_circles() -> None:
    hotspots = gpd.GeoDataFrame({"hotspot_id": ["P"], "weight": [1.0]},
                                geometry=[Point(114.05, 22.54)], crs=4326)
    m = maps.new_map(title="t")
    maps.add_hotspots(m, hotspots)
    (_, payload, _), = _overlays(maps.map_html(m))
    assert len(payload["geom"]["wgs84"][0][0][0]) > 20  # a ring, not a point


def test_gaps_show_weight_and_groups(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_gaps(m, frames["gaps"])
    (_, payload, _), = _overlays(maps.map_html(m))
    assert payload["rows"][0] == ["G1", "rider_10min", "321.5",
                                  "外卖骑手 delivery riders、快递员 couriers", "福田街道"]
    assert payload["label"][0] == "缺口 Gap G1 · 未覆盖 uncovered 321.5"


def test_suggestions_are_ranked_and_explained(frames: dict[str, gpd.GeoDataFrame]) -> None:
    m = maps.new_map(title="t")
    maps.add_suggestions(m, frames["suggestions"])
    (_, payload, options), = _overlays(maps.map_html(m))
    assert payload["rank"] == ["1", "2", "3"]
    assert [options["kinds"][k]["key"] for k in payload["kind"]] == ["new", "new", "upgrade"]
    assert payload["label"][0] == f"1. {XSS}"
    assert "260.5" in payload["why"][0] and "62.0%" in payload["why"][0]
    assert payload["rows"][2][5] == "洗手间 toilet、应急药箱 first-aid kit"
    assert [r[2] for r in payload["rows"]] == [""] * 3  # no place column in this frame
    assert "增设 洗手间 toilet、应急药箱 first-aid kit" in payload["why"][2]


def test_legend_lists_layers_with_counts(full_html: str) -> None:
    spec = json.loads(re.search(r"YIZHAN\.legend\(map_yizhan, (\{.*?\})\);\n", full_html,
                                re.S).group(1))
    titles = [s["title"] for s in spec["sections"]]
    assert titles == ["行政区划 Admin areas", "服务范围 Service areas", "劳动者需求 Worker demand",
                      "需求热点 Demand hotspots", "覆盖缺口 Coverage gaps",
                      "服务站点 Stations（12）", "选址建议 Suggestions"]
    stations = spec["sections"][5]
    assert [i["label"] for i in stations["items"]] == [
        "达标 fully compliant（3）", "部分达标 partly compliant（6）", "不达标 low compliance（3）"]
    assert "新会" in stations["note"]  # the standard's title


def test_view_fits_all_layers(frames: dict[str, gpd.GeoDataFrame], full_html: str) -> None:
    (south, west), (north, east) = json.loads(
        re.search(r"map_yizhan\.fitBounds\((\[\[.*?\]\])", full_html).group(1))
    everything = gpd.GeoSeries(
        [g for f in frames.values() for g in f.geometry], crs=4326).total_bounds
    assert (west, south, east, north) == pytest.approx(tuple(everything), abs=1e-3)


def test_service_areas_from_geo_show_minutes_and_metres(
        frames: dict[str, gpd.GeoDataFrame]) -> None:
    # the columns geo.service_areas writes: facility_id, cutoff in seconds or metres, weight
    base = frames["service_areas"].iloc[:4]
    timed = base.drop(columns=["station_id", "cutoff"]).assign(
        facility_id=base["station_id"], rule="rider", weight="time", cutoff=[300.0, 600.0] * 2)
    walked = base.assign(rule="sanitation", weight="length", cutoff=800.0)
    empty = walked.iloc[:1].assign(geometry=[Point()])  # a station too far from the roads
    areas = gpd.GeoDataFrame(gpd.pd.concat([timed, walked, empty]), crs=4326)
    m = maps.new_map(title="t")
    maps.add_service_areas(m, areas)
    rows = [p["rows"][0] for _, p, _ in _overlays(maps.map_html(m))]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("rider", "10 分钟 min", "2"), ("rider", "5 分钟 min", "2"),
        ("sanitation", "800 米 m", "4"),
    ]
