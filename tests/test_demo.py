"""yizhan demo: the whole pipeline on the built-in sample, offline, checked in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from yizhan.scripts.cli import main as cli_main

XSS = "<img src=x onerror=alert(1)>"
ARTEFACTS = Path(os.environ.get("YIZHAN_ARTEFACTS", Path(__file__).resolve().parent.parent
                                / "test-artifacts"))
EXPECTED = ("map.html", "summary.json", "stations.geojson", "coverage.csv", "gaps.geojson",
            "suggestions.csv", "suggestions.geojson", "report.xlsx", "report.html",
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


def test_demo_map_in_headless_chromium(demo: tuple[Path, float]) -> None:
    from browser import launch, open_page

    out, _ = demo
    with launch() as browser, open_page(browser, out / "map.html") as (page, log):
        page.wait_for_timeout(500)
        assert log.console_errors == []
        assert log.page_errors == []
        assert log.external == []
        assert log.dialogs == []  # the XSS station name never ran
        overlays = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())")
        text = " ".join(overlays)
        for layer in ("Rest stations", "Coverage gaps", "Suggested sites", "Worker demand",
                      "Admin areas"):
            assert layer in text, (layer, overlays)
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        body = page.inner_text("body")
        assert "示例数据" in body
        # The XSS station name is reachable as text (popup/tooltip content), never as markup.
        html_text = page.content()
        assert "<img src=\"x\" onerror" not in html_text
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTEFACTS / "demo-map.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 1000
    shutil.copy(out / "overview.png", ARTEFACTS / "demo-overview.png")
