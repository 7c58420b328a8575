"""yizhan demo: the whole pipeline on the built-in Futian sample, offline, in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from yizhan.scripts.cli import main as cli_main

SAMPLE = Path(__file__).resolve().parent.parent / "scripts" / "data" / "futian"
ARTEFACTS = Path(os.environ.get("YIZHAN_ARTEFACTS", Path(__file__).resolve().parent.parent
                                / "test-artifacts"))
EXPECTED = ("map.html", "summary.json", "stations.geojson", "coverage.csv", "gaps.geojson",
            "suggestions.csv", "suggestions.geojson", "report.xlsx", "report.html", "report.docx",
            "overview.png", "problems.csv", "diff.csv", "comparison_stations.csv",
            "comparison_coverage.csv", "comparison_gaps.csv")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("demo") / "demo-out"
    start = time.perf_counter()
    assert cli_main(["demo", "--out", str(out)]) == 0
    return out, time.perf_counter() - start


def test_demo_writes_every_file_fast(demo: tuple[Path, float]) -> None:
    out, seconds = demo
    for name in EXPECTED:
        assert (out / name).is_file(), name
    assert (out / "inventory-check" / "stations.geojson").is_file()
    assert seconds < 120
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["sample"] is True
    assert summary["comparison"]["previous_year"] == 2024
    assert summary["counts"]["suggestions"] > 0 and summary["counts"]["gaps"] > 0
    assert "示例数据" in (out / "report.html").read_text(encoding="utf-8")
    assert "福田" in summary["district"]


def test_demo_runs_on_the_real_futian_extract(demo: tuple[Path, float]) -> None:
    """Real roads, taxi demand and charging stations; invented union stations; no test rows."""
    import pandas as pd

    out, _ = demo
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    stations = pd.read_csv(SAMPLE / "stations_2025.csv", dtype=str, encoding="utf-8-sig")
    demand = pd.read_csv(SAMPLE / "taxi_demand.csv", dtype=str)
    charging = pd.read_csv(SAMPLE / "ev_charging.csv", dtype=str, encoding="utf-8-sig")
    assert summary["counts"]["stations"] == len(stations)
    assert stations["name"].str.contains("示例").all()  # the invented ones say so
    assert summary["rules"][0]["n_demand"] == len(demand) == 1233
    # the suggested sites are real charging stations, under their own ids, named by street
    suggestions = pd.read_csv(out / "suggestions.csv", dtype=str, encoding="utf-8-sig")
    assert len(suggestions) and set(suggestions.candidate_id) <= set(charging.candidate_id)
    assert suggestions.place.str.contains("路|道|街").all()
    # test-only rows (markup, spreadsheet formulas) stay in the tests' own data
    for frame in (stations, demand, charging):
        text = frame.fillna("").to_numpy().ravel()
        assert not any(("<" in t or t.startswith(("=", "+", "@"))) for t in text)
    # shipped with its provenance, licences, and under the size limit
    names = {p.name for p in SAMPLE.iterdir()}
    assert {"PROVENANCE.md", "LICENSE-ODbL.txt", "LICENSE-MIT-ST-EVCDP.txt",
            "LICENSE-MIT-pygeo-tutorial.txt"} <= names
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) < 3_000_000
    provenance = (SAMPLE / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in names - {"PROVENANCE.md"}:
        if not name.startswith("LICENSE"):
            assert name in provenance, name


def test_demo_map_in_headless_chromium(demo: tuple[Path, float]) -> None:
    from browser import launch, open_page

    out, _ = demo
    with launch() as browser, open_page(browser, out / "map.html") as (page, log):
        page.wait_for_timeout(500)
        assert log.console_errors == []
        assert log.page_errors == []
        assert log.external == []
        assert log.dialogs == []
        overlays = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())")
        text = " ".join(overlays)
        for layer in ("Rest stations", "Coverage gaps", "Suggested sites", "Worker demand",
                      "Admin areas"):
            assert layer in text, (layer, overlays)
        body = page.inner_text("body")
        assert "示例数据" in body
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTEFACTS / "demo-map.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 1000
    shutil.copy(out / "overview.png", ARTEFACTS / "demo-overview.png")


def test_demo_map_on_a_375_px_phone(demo: tuple[Path, float]) -> None:
    """On a phone: layer control folded to a button, legend folded, default layers as on a
    desktop, and a station popup that fits the screen without breaking words."""
    from browser import launch, open_page

    out, _ = demo
    with launch() as browser, open_page(browser, out / "map.html", width=375,
                                        height=667) as (page, log):
        page.wait_for_timeout(300)
        assert log.console_errors == [] and log.page_errors == []
        control = page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in control.get_attribute("class")
        assert not page.locator(".leaflet-control-layers-list").is_visible()
        assert page.evaluate("document.querySelector('.yz-legend details').open") is False
        # the same layers are on by default as on a desktop
        control.hover()
        page.wait_for_timeout(200)
        on = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label",
            "els => els.filter(e => e.querySelector('input').checked)"
            ".map(e => e.textContent.trim())")
        assert any("服务站点" in t for t in on) and any("选址建议" in t for t in on)
        assert not any("服务范围" in t or "热力" in t or "热点" in t for t in on), on
        page.mouse.click(5, 660)  # fold the control again
        # open a single station's popup (zoom in until markers leave their clusters)
        page.evaluate("""() => {
            const map = window.YIZHAN.map;
            let marker = null;
            map.eachLayer(l => { if (!marker && l.getPopup && l.getPopup() && l.options.icon
                                     && l.options.icon.options.className.includes('yz-station'))
                                     marker = l; });
            map.setView(marker.getLatLng(), 19, {animate: false});
            marker.openPopup();
        }""")
        page.wait_for_timeout(400)
        popup = page.locator(".leaflet-popup-content-wrapper")
        assert popup.is_visible()
        box = popup.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        assert not page.locator(".yz-title").is_visible()  # it would cover the popup's top
        # nothing wider than the popup inside it, and English words are never cut in two
        assert page.evaluate("""() => { const c = document.querySelector('.leaflet-popup-content');
            return c.scrollWidth <= c.clientWidth + 1; }""")
        styles = page.evaluate("""() => [...document.querySelectorAll(
            '.leaflet-popup-content *')].map(e => getComputedStyle(e).wordBreak)""")
        assert "break-all" not in styles
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "demo-map-375px-popup.png"))
        page.evaluate("() => window.YIZHAN.map.closePopup()")
        assert page.locator(".yz-title").is_visible()


def test_demo_map_legend_says_how_hotspots_were_found(demo: tuple[Path, float]) -> None:
    """The demo's dense taxi demand: hotspots from the density floor, said in the legend."""
    from yizhan.geo.hotspots import find_hotspots
    from yizhan.scripts.cmd_demo import demo_config

    from yizhan.pipeline.analysis import run_analysis
    from yizhan.pipeline.config import load_config

    out, _ = demo
    result = run_analysis(load_config(demo_config()))
    hot = find_hotspots(result.demand)
    assert hot.basis == "density" and result.hotspot_note == hot.describe()
    assert len(result.hotspots) >= 3 and result.hotspots["share"].max() < 0.5
    assert json.dumps(hot.describe(), ensure_ascii=False)[1:-1] in (
        out / "map.html").read_text(encoding="utf-8")


def test_demo_plans_the_way_unions_are_measured(demo: tuple[Path, float]) -> None:
    """The demo config uses the 双15 rules, shifts against opening hours, a partner host type
    and an equity floor; the report shows the tables."""
    import openpyxl
    import pandas as pd

    from yizhan.pipeline.report import SHEET

    out, _ = demo
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rules = [r["rule"] for r in summary["rules"]]
    assert {"shuang15_walk_15min", "shuang15_walk_1km"} <= set(rules)
    windows = {r["window"] for r in summary["shifts"]}
    assert windows == {"driver 07:00-09:30", "driver 11:00-13:30", "driver 22:00-05:00"}
    night = [r for r in summary["shifts"] if r["window"].endswith("22:00-05:00")]
    assert all(r["covered_pct_open"] <= r["covered_pct"] for r in night)
    assert any(r["covered_pct_open"] < r["covered_pct"] for r in night)  # stations close at night
    assert summary["equity"] and summary["worst_off"]
    assert any(r["below_floor"] for r in summary["equity"])
    sites = pd.read_csv(out / "suggestions.csv", dtype=str, encoding="utf-8-sig")
    assert set(sites["host"]) == {"charging_station"} and set(sites["hours"]) == {"24小时"}
    wb = openpyxl.load_workbook(out / "report.xlsx")
    assert SHEET["shifts"] in wb.sheetnames and SHEET["equity"] in wb.sheetnames
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "分时段覆盖 Coverage by shift" in html and "公平性 Equity" in html


def test_demo_map_switches_stations_by_shift(demo: tuple[Path, float]) -> None:
    """The layer control switches between all stations and those open during each shift."""
    from browser import launch, open_page
    from yizhan.scripts.cmd_demo import demo_config

    from yizhan.pipeline.analysis import run_analysis
    from yizhan.pipeline.config import load_config
    from yizhan.pipeline.report import open_stations_by_shift

    out, _ = demo
    result = run_analysis(load_config(demo_config()))
    shifts = dict(open_stations_by_shift(result))
    night = shifts["时段 driver 22:00-05:00"]
    assert 0 < len(night) < len(result.stations)
    with launch() as browser, open_page(browser, out / "map.html") as (page, log):
        page.wait_for_timeout(300)
        markers = "() => document.querySelectorAll('.leaflet-marker-icon.yz-station').length"
        assert page.evaluate(markers) == len(result.stations)
        page.locator(".leaflet-control-layers").hover()
        page.locator(".leaflet-control-layers-overlays label",
                     has_text="时段 driver 22:00-05:00").click()
        page.wait_for_timeout(300)
        assert page.evaluate(markers) == len(night)
        checked = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays input:checked",
            "els => els.map(e => e.parentElement.textContent.trim())")
        assert not any("服务站点 Rest stations" in c for c in checked)
        assert log.console_errors == [] and log.page_errors == []
