"""maps in a real browser: headless Chromium, offline, no console errors, XSS stays text,
overlays move to GCJ-02 on Amap, screenshots. Screenshots are kept in ``test-artifacts/maps/``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pytest
from browser import image_stats, launch, open_page
from pyproj import Geod
from test_maps_samples import XSS, XSS_SCRIPT, sample_frames
from yizhan.geo.service_areas import service_areas
from yizhan.geo.sources import build_network
from yizhan.stations.coords import wgs84_to_gcj02

from yizhan import maps
from yizhan.shared import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "maps"
GEOD = Geod(ellps="WGS84")
LAYER_NAMES = [
    "开放街道地图 OpenStreetMap", "高德地图 Amap", "高德卫星图 Amap satellite",
    "行政区划 Admin areas",
    f"服务范围 Service area · {XSS}（800m）",
    "服务范围 Service area · rider_10min（10min）",
    "劳动者需求热力 Worker demand (heat)", "需求热点 Demand hotspots", "覆盖缺口 Coverage gaps",
    "服务站点 Rest stations", "选址建议 Suggested sites",
]

# Current position of the first feature of every overlay that is on the map, by kind.
POSITIONS_JS = """() => {
    const out = {datum: YIZHAN.datum};
    YIZHAN.overlays.forEach((group, i) => {
        if (!YIZHAN.map.hasLayer(group)) return;
        const inner = group.getLayers()[0];
        const kind = group._yz.kind;
        let ll;
        if (kind === 'heat') ll = inner._latlngs[0];
        else if (kind === 'polygons') ll = inner.getLayers()[0].getLatLngs()[0][0][0];
        else ll = inner.getLayers()[0].getLatLng();
        const lat = Array.isArray(ll) ? ll[0] : ll.lat, lng = Array.isArray(ll) ? ll[1] : ll.lng;
        out[kind + '_' + i] = [lng, lat];
    });
    return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Any:
    with launch() as b:
        yield b


@pytest.fixture(scope="module")
def frames() -> dict[str, gpd.GeoDataFrame]:
    return sample_frames()


@pytest.fixture(scope="module")
def map_file(tmp_path_factory: pytest.TempPathFactory,
             frames: dict[str, gpd.GeoDataFrame]) -> Path:
    m = maps.build_map(maps.MapLayers(**frames), title=f'福田区驿站 {XSS}', standard='xinhui-7', sample_data_notice=f'示例数据 sample data {XSS_SCRIPT}')
    return maps.save_map(m, tmp_path_factory.mktemp("map") / "map.html")


def _artifact(name: str, png: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(png)
    return path


def _assert_clean(log: Any) -> None:
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.dialogs == []
    assert log.external == []  # nothing but tiles asked for the network


def test_self_contained_map_renders_offline(browser: Any, map_file: Path) -> None:
    with open_page(browser, map_file) as (page, log):
        page.wait_for_timeout(500)
        png = page.screenshot()
        _artifact("sample_map.png", png)
        _assert_clean(log)
        assert log.tiles  # the base map asked for tiles (answered blank here)
        assert page.locator(".yz-station").count() == 12  # 12 stations, not clustered
        assert page.locator(".yz-site").count() == 3
        # defaults: what a union officer acts on is shown; service areas, heat and hotspots
        # wait in the layer control
        shown = page.evaluate("""() => YIZHAN.overlays.map(g => [g._yz.kind,
                                                             YIZHAN.map.hasLayer(g)])""")
        on = {kind for kind, visible in shown if visible}
        off = {kind for kind, visible in shown if not visible}
        assert {"stations", "sites"} <= on and "heat" in off
        assert page.locator(".leaflet-heatmap-layer").count() == 0
        page.get_by_text("劳动者需求热力 Worker demand (heat)").click()
        assert page.locator(".leaflet-heatmap-layer").count() == 1
        assert page.locator(".yz-legend").is_visible()
        assert page.locator(".yz-title").is_visible()
        stats = image_stats(page, png)
        assert stats["colors"] > 200 and stats["dominant_share"] < 0.8  # not a white page


def test_layer_control_lists_every_layer(browser: Any, map_file: Path) -> None:
    with open_page(browser, map_file) as (page, log):
        labels = page.eval_on_selector_all(
            ".leaflet-control-layers label", "els => els.map(e => e.textContent.trim())")
        assert labels == LAYER_NAMES
        # toggling an overlay removes and restores its markers
        page.get_by_text("服务站点 Rest stations").click()
        assert page.locator(".yz-station").count() == 0
        page.get_by_text("服务站点 Rest stations").click()
        assert page.locator(".yz-station").count() == 12
        _assert_clean(log)


def test_xss_row_stays_text(browser: Any, map_file: Path, frames: dict) -> None:
    station = frames["stations"].geometry.iloc[0]
    with open_page(browser, map_file) as (page, log):
        # a person clicks the hostile station's marker
        page.evaluate(f"() => YIZHAN.map.setView([{station.y}, {station.x}], 18, "
                      "{animate: false})")
        page.wait_for_timeout(300)
        box = page.evaluate(f"""() => {{
            const p = YIZHAN.map.latLngToContainerPoint([{station.y}, {station.x}]);
            const r = YIZHAN.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }}""")
        page.mouse.click(*box)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator(".yz-popup-title").text_content() == XSS
        assert XSS_SCRIPT in popup.text_content()  # the address
        assert page.get_by_text(XSS, exact=True).first.is_visible()
        # every other hostile text: open every popup and tooltip of every overlay
        page.evaluate("""() => YIZHAN.overlays.forEach(g => g.eachLayer(inner =>
            (inner.getLayers ? inner.getLayers() : []).forEach(l => {
                if (l.getPopup && l.getPopup()) { l.openPopup(); }
                if (l.getTooltip && l.getTooltip()) { l.openTooltip(); }
            })))""")
        page.wait_for_timeout(500)  # an onerror handler would have fired by now
        texts = page.evaluate("""() => [
            ...document.querySelectorAll('.leaflet-tooltip, .leaflet-control-layers label,'
                                         + ' .yz-legend, .yz-title')].map(e => e.textContent)""")
        joined = "\n".join(texts)
        for where in ("1. " + XSS, f"服务范围 Service area · {XSS}", f"福田区驿站 {XSS}",
                      XSS_SCRIPT):
            assert where in joined
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator(".leaflet-container script, .leaflet-container img[onerror]").count() == 0
        _artifact("xss_popup.png", page.screenshot())
        _assert_clean(log)  # no alert() dialog, no error


def _shift_m(a: list[float], b: list[float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_amap_base_map_draws_every_overlay_in_gcj02(browser: Any, map_file: Path,
                                                     frames: dict) -> None:
    with open_page(browser, map_file) as (page, log):
        page.evaluate("() => YIZHAN.overlays.forEach(g => YIZHAN.map.addLayer(g))")  # all on
        wgs = page.evaluate(POSITIONS_JS)
        icon_before = page.locator(".yz-station").first.bounding_box()
        page.get_by_text("高德地图 Amap", exact=True).click()
        gcj = page.evaluate(POSITIONS_JS)
        icon_after = page.locator(".yz-station").first.bounding_box()
        png = page.screenshot()
        page.get_by_text("开放街道地图 OpenStreetMap").click()
        back = page.evaluate(POSITIONS_JS)
        _assert_clean(log)
    _artifact("amap_gcj02.png", png)
    assert (wgs.pop("datum"), gcj.pop("datum"), back.pop("datum")) == ("wgs84", "gcj02", "wgs84")
    assert set(wgs) == set(gcj) and len(wgs) == 8  # every overlay was redrawn
    for key in wgs:
        expected = [float(v) for v in wgs84_to_gcj02(*wgs[key])]
        assert gcj[key] == pytest.approx(expected, abs=2e-5), key
        assert 300 < _shift_m(wgs[key], gcj[key]) < 650, key
        assert back[key] == wgs[key], key
    # the WGS-84 positions are the inputs' own
    station = frames["stations"].geometry.iloc[0]
    assert wgs["stations_6"] == pytest.approx([station.x, station.y], abs=1e-6)
    first_site = frames["suggestions"].sort_values("rank").geometry.iloc[0]
    assert wgs["sites_7"] == pytest.approx([first_site.x, first_site.y], abs=1e-6)
    corner = frames["admin"].geometry.iloc[0].exterior.coords[0]
    assert wgs["polygons_0"] == pytest.approx(list(corner), abs=1e-5)
    # and the marker really moved on screen (right and down: east and south)
    assert icon_after["x"] - icon_before["x"] > 3
    assert icon_after["y"] - icon_before["y"] > 1


def test_hidden_overlay_shown_on_amap_is_in_gcj02(browser: Any, map_file: Path,
                                                  frames: dict) -> None:
    station = frames["stations"].geometry.iloc[0]
    expected = [float(v) for v in wgs84_to_gcj02(station.x, station.y)]
    with open_page(browser, map_file) as (page, log):
        page.get_by_text("服务站点 Rest stations").click()  # hide
        page.get_by_text("高德地图 Amap", exact=True).click()
        page.get_by_text("服务站点 Rest stations").click()  # show again, on Amap
        positions = page.evaluate(POSITIONS_JS)
        _assert_clean(log)
    assert positions["stations_6"] == pytest.approx(expected, abs=2e-5)


def test_amap_first_map_starts_in_gcj02(browser: Any, tmp_path: Path, frames: dict) -> None:
    m = maps.build_map(maps.MapLayers(stations=frames['stations']), title='高德 Amap', basemap='amap')
    path = maps.save_map(m, tmp_path / "amap.html")
    station = frames["stations"].geometry.iloc[0]
    with open_page(browser, path) as (page, log):
        positions = page.evaluate(POSITIONS_JS)
        assert page.locator(".leaflet-control-layers input:checked").first.evaluate(
            "e => e.nextElementSibling.textContent.trim()") == "高德地图 Amap"
        _assert_clean(log)
        assert all("autonavi.com" in url for url in log.tiles)
    assert positions["datum"] == "gcj02"
    assert positions["stations_0"] == pytest.approx(
        [float(v) for v in wgs84_to_gcj02(station.x, station.y)], abs=2e-5)


def test_render_png_screenshots_the_map(browser: Any, map_file: Path, tmp_path: Path) -> None:
    png_path = maps.render_png(map_file, tmp_path / "shot.png", width=900, height=600,
                               wait_ms=2000)
    png = png_path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (900, 600)
    _artifact("render_png.png", png)
    with open_page(browser, map_file, ready=None) as (page, _):
        stats = image_stats(page, png)
    # offline the tiles are blank: only the default layers (gaps, stations, sites) draw
    assert stats["colors"] > 100 and stats["dominant_share"] < 0.95


def test_plain_folium_needs_the_network(browser: Any, tmp_path: Path) -> None:
    # The problem the inline mode solves, and proof that the offline check can fail.
    path = tmp_path / "folium.html"
    folium.Map(location=[22.54, 114.05]).save(str(path))
    with open_page(browser, path, ready=None) as (page, log):
        assert page.evaluate("() => typeof L") == "undefined"
        assert any("leaflet" in url for url in log.external)
        assert any("jquery" in url for url in log.external)


def test_mirror_mode_asks_the_mirror(browser: Any, tmp_path: Path, frames: dict) -> None:
    path = maps.save_map(maps.build_map(maps.MapLayers(stations=frames['stations']), title='t', assets='mirror'), tmp_path / "mirror.html")
    with open_page(browser, path, ready=None) as (page, log):
        page.wait_for_timeout(200)
    assert log.external
    assert all(url.startswith("https://registry.npmmirror.com/") for url in log.external)
    assert {url.rsplit("/", 1)[-1] for url in log.external} == {
        "leaflet.css", "leaflet.js", "MarkerCluster.css", "MarkerCluster.Default.css",
        "leaflet.markercluster.js", "leaflet-heat.js"}


@pytest.mark.slow
def test_real_shenzhen_stations_cluster_and_render(browser: Any, shared_data: Any,
                                                   tmp_path: Path) -> None:
    folder = shared_data("shenzhen_ev_charging_stations")
    table = gpd.pd.read_csv(folder / "stations.csv")
    count = table["count"].to_numpy(dtype=float)
    tier = np.where(table["fast"] >= 10, "full", np.where(table["fast"] > 0, "partial", "low"))
    stations = gpd.GeoDataFrame(
        {"station_id": table["station_id"].astype(str),
         "name": "充电站 " + table["station_id"].astype(str),
         "capacity": count, "parking": True, "phone_charger": table["fast"] > 0,
         "compliance_tier": tier, "compliance_score": np.clip(table["fast"] / 10, 0, 1)},
        geometry=gpd.points_from_xy(table["longitude"], table["latitude"]), crs=4326,
    )
    zones = gpd.read_file(folder / "SZ_districts" / "SZ_districts.shp")
    admin = zones.assign(admin_name="交通小区 TAZ " + zones["TAZID"].astype(str))
    m = maps.build_map(maps.MapLayers(stations=stations, admin=admin), title='深圳充电站（真实数据）', sample_data_notice='真实充电站代替驿站 real EV stations stand in')
    path = maps.save_map(m, tmp_path / "shenzhen.html")
    with open_page(browser, path) as (page, log):
        page.wait_for_function("document.querySelectorAll('.marker-cluster').length > 0")
        n_markers = page.evaluate("""() => { let n = 0; YIZHAN.overlays.forEach(g => {
            if (g._yz.kind === 'stations') g.eachLayer(c => n += c.getLayers().length); });
            return n; }""")
        assert n_markers == len(stations)
        assert page.locator(".marker-cluster").count() < len(stations) / 5
        # every bubble takes the colour of the worst compliance inside it
        bubbles = page.evaluate("""() => { const out = []; YIZHAN.overlays.forEach(g => {
            if (g._yz.kind !== 'stations') return;
            g.eachLayer(c => c._featureGroup.eachLayer(l => {
                if (!l.getAllChildMarkers || !l._icon) return;  // bubbles on screen
                out.push([l.getAllChildMarkers().map(m => m.options.yzTier),
                          l._icon.innerHTML]); })); });
            return out; }""")
        from yizhan.maps._labels import TIERS
        from yizhan.maps.stations import WORST_FIRST

        assert len(bubbles) > 10
        mixed = 0
        for tiers, html in bubbles:
            keys = {TIERS[t][0] for t in tiers}
            worst = min(keys, key=WORST_FIRST.index)
            colour = next(c for k, _, c in TIERS if k == worst)
            assert f"background:{colour}" in html.replace(" ", "") and f">{len(tiers)}<" in html
            mixed += len(keys) > 1
        assert mixed > 5  # bubbles holding several tiers show the worst, not the count
        _artifact("shenzhen_real.png", page.screenshot())
        _assert_clean(log)
    assert len(stations) == 1706


@pytest.mark.slow
def test_real_futian_service_areas_render(browser: Any, shared_data: Any, futian_graphml: Path,
                                          tmp_path: Path) -> None:
    net = build_network(futian_graphml, mode="ebike", cache_dir=tmp_path / "cache")
    table = gpd.pd.read_csv(shared_data("shenzhen_ev_charging_stations") / "stations.csv")
    lon, lat = np.asarray(net.lon), np.asarray(net.lat)
    inside = table[table.longitude.between(lon.min(), lon.max())
                   & table.latitude.between(lat.min(), lat.max())].head(6)
    stations = gpd.GeoDataFrame(
        {"station_id": inside.station_id.astype(str), "name": "充电站"},
        geometry=gpd.points_from_xy(inside.longitude, inside.latitude), crs=4326)
    areas = service_areas(net, stations, cutoffs=[300, 600], weight="time", rule="rider")
    m = maps.build_map(maps.MapLayers(stations=stations, service_areas=areas), title='福田 Futian')
    path = maps.save_map(m, tmp_path / "futian.html")
    with open_page(browser, path) as (page, log):
        labels = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())")
        _artifact("futian_service_areas.png", page.screenshot())
        _assert_clean(log)
    assert labels == ["服务范围 Service area · rider（10 分钟 min）",
                      "服务范围 Service area · rider（5 分钟 min）", "服务站点 Rest stations"]
