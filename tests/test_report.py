"""yizhan.pipeline.report: workbook formatting, formula neutralising, HTML escaping, summary contents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from yizhan.pipeline.analysis import AnalysisResult, run_analysis
from yizhan.pipeline.config import load_config
from yizhan.pipeline.report import SAMPLE_NOTICE, SHEET, SHEETS, write_report

DATA = Path(__file__).resolve().parent / "data" / "helsinki"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return run_analysis(load_config(DATA / "example-config.toml"))


@pytest.fixture(scope="module")
def report(result: AnalysisResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(result, tmp_path_factory.mktemp("rep") / "out")


def test_workbook_sheets_and_print_setup(report: Path) -> None:
    wb = openpyxl.load_workbook(report / "report.xlsx")
    assert wb.sheetnames == list(SHEETS)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1] if c.value is not None)
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$1"
        assert ws.column_dimensions["A"].width >= 8
    stations = wb[SHEET["stations"]]
    header = [c.value for c in stations[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True))
            for r in stations.iter_rows(min_row=2)]
    # Chinese-first headers, words in Chinese beside English, numbers formatted
    assert header[:3] == ["编号 ID", "名称 Name", "地址 Address"]
    hel006 = next(r for r in rows if r["编号 ID"] == "HEL006")
    assert hel006["名称 Name"] == XSS  # kept as text
    assert hel006["地址 Address"].startswith("'=HYPERLINK")  # formula neutralised
    assert stations.cell(row=2, column=1).data_type == "s"
    assert {r["达标情况 Compliance"] for r in rows} <= {"达标 fully compliant",
                                                       "部分达标 partly compliant",
                                                       "不达标 low compliance",
                                                       "未记录，无法判定 not recorded"}
    lon = header.index("经度 Longitude") + 1
    assert stations.cell(row=2, column=lon).number_format == "0.000000"
    sites = wb[SHEET["suggestions"]]
    site_header = [c.value for c in sites[1]]
    share = site_header.index("建后覆盖率 Coverage after") + 1
    assert sites.cell(row=2, column=share).number_format == "0.0%"
    # amenity lists read as words: "饮用水 drinking water", never the key drinking_water
    needs = site_header.index("需配设施 Amenities to provide") + 1
    texts = [sites.cell(row=r, column=needs).value or "" for r in range(2, sites.max_row + 1)]
    assert texts and all("_" not in t for t in texts) and any("、" in t for t in texts)
    summary = wb[SHEET["summary"]]
    assert summary.cell(row=2, column=2).value == SAMPLE_NOTICE


def test_html_escapes_user_text_and_shows_figures(report: Path, result: AnalysisResult) -> None:
    page = (report / "report.html").read_text(encoding="utf-8")
    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert SAMPLE_NOTICE in page
    assert "src='overview.png'" in page and (report / "overview.png").read_bytes()[:4] == b"\x89PNG"
    for rule in result.config.rules:
        assert rule.name in page
    assert "覆盖率 Coverage" in page and "建议新站 Suggested sites" in page


def test_csv_cells_cannot_run_formulas(report: Path) -> None:
    for name in ("problems.csv", "coverage.csv", "suggestions.csv"):
        frame = pd.read_csv(report / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for col in frame.columns:
            assert not frame[col].str.match(r"^[=+@]").any(), (name, col)


def test_coverage_csv_columns(report: Path, result: AnalysisResult) -> None:
    cov = pd.read_csv(report / "coverage.csv", encoding="utf-8-sig")
    assert list(cov.columns[:6]) == ["demand_id", "lon", "lat", "group", "weight", "admin_name"]
    for rule in result.config.rules:
        for suffix in ("station_id", "network_m", "minutes", "access_m", "covered"):
            assert f"{rule.name}_{suffix}" in cov.columns
    assert len(cov) == len(result.demand)
    assert cov["demand_id"].is_unique
    water = cov[cov["all_water_5min_covered"]]
    assert (water["all_water_5min_minutes"] <= 5.0 + 1e-6).all()
    assert water["all_water_5min_station_id"].notna().all()


def test_summary_json_is_deterministic(result: AnalysisResult, tmp_path: Path,
                                       report: Path) -> None:
    again = write_report(result, tmp_path / "again")
    assert (again / "summary.json").read_bytes() == (report / "summary.json").read_bytes()
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["district"] == result.config.district and summary["year"] == 2025
    assert summary["counts"]["stations"] == len(result.stations)
    assert "comparison" not in summary


def test_map_is_self_contained_and_marked_as_sample(report: Path) -> None:
    page = (report / "map.html").read_text(encoding="utf-8")
    assert "示例数据" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_headline_numbers_separate_off_network_demand(report: Path, result: AnalysisResult) -> None:
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    table = result.coverage
    for rule in summary["rules"]:
        name = rule["rule"]
        applies = table[f"{name}_applies"].astype(bool)
        off = applies & table[f"{name}_off_network"].astype(bool)
        total = table.loc[applies, "weight"].sum()
        assert rule["off_network_pct"] == pytest.approx(100 * table.loc[off, "weight"].sum() / total, abs=1e-3)
        on = total - table.loc[off, "weight"].sum()
        assert rule["covered_pct_on_network"] == pytest.approx(100 * rule["covered_weight"] / on, abs=1e-3)
        assert rule["covered_pct_on_network"] >= rule["covered_pct"]
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "路网内覆盖率" in html and "off the network" in html


def test_per_area_table_shows_each_area_own_figures(report: Path, result: AnalysisResult) -> None:
    """Per rule and area: the area's own stations, covered share, off-network share."""
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    areas = pd.DataFrame(summary["areas"])
    table = result.coverage
    assert len(areas) == len(result.coverage_by_area) > 0
    for rule in summary["rules"]:
        name = rule["rule"]
        rows = areas[areas["rule"] == name]
        assert rows["demand_weight"].sum() == pytest.approx(rule["demand_weight"])
        assert rows["off_network_weight"].sum() == pytest.approx(rule["off_network_weight"])
        for row in rows.itertuples(index=False):
            here = table["admin_name"].astype(str) == row.admin_name
            applies = here & table[f"{name}_applies"].astype(bool)
            off = applies & table[f"{name}_off_network"].astype(bool)
            covered = applies & table[f"{name}_covered"].astype(bool)
            total = table.loc[applies, "weight"].sum()
            assert row.off_network_pct == pytest.approx(
                100 * table.loc[off, "weight"].sum() / total, abs=1e-3)
            assert row.covered_pct == pytest.approx(
                100 * table.loc[covered, "weight"].sum() / total, abs=1e-3)
    # the areas do not all have the same number of stations: each counts its own
    assert areas.groupby("rule")["n_stations"].nunique().max() > 1
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "分区覆盖 Coverage by area" in html
    wb = openpyxl.load_workbook(report / "report.xlsx")
    sheet = wb[SHEET["areas"]]
    header = [c.value for c in sheet[1]]
    assert "离路网% off the network %" in header and "区域 area" in header
    assert sheet.max_row == len(areas) + 1


def test_summary_counts_every_compliance_tier(report: Path, result: AnalysisResult) -> None:
    from yizhan.stations.compliance import TIERS

    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    tiers = summary["counts"]["stations_by_tier"]
    assert list(tiers) == list(TIERS)
    assert sum(tiers.values()) == len(result.stations)


def test_station_loads_add_up_to_covered_demand(report: Path, result: AnalysisResult) -> None:
    """loads.csv: each station's demand served as the nearest one, against its seats."""
    loads = pd.read_csv(report / "loads.csv", encoding="utf-8-sig", dtype={"station_id": str})
    table = result.coverage
    for rule in result.config.rules:
        mine = loads[loads["rule"] == rule.name]
        covered = table[f"{rule.name}_covered"].astype(bool)
        assert mine["demand_weight"].sum() == pytest.approx(table.loc[covered, "weight"].sum())
        assert mine["n_demand"].sum() == covered.sum()
        counts = table.loc[covered, f"{rule.name}_station_id"].astype(str).value_counts()
        for row in mine.itertuples(index=False):
            assert row.n_demand == counts.get(str(row.station_id), 0)
        with_seats = mine["capacity"] > 0
        np.testing.assert_allclose(
            mine.loc[with_seats, "weight_per_seat"],
            mine.loc[with_seats, "demand_weight"] / mine.loc[with_seats, "capacity"])
    wb = openpyxl.load_workbook(report / "report.xlsx")
    assert wb[SHEET["loads"]].max_row == len(loads) + 1


def test_coverage_parquet_holds_the_csv_table_with_points(report: Path, result: AnalysisResult,
                                                          tmp_path: Path) -> None:
    import geopandas as gpd

    geo = gpd.read_parquet(report / "coverage.parquet")
    csv = pd.read_csv(report / "coverage.csv", encoding="utf-8-sig", dtype={"demand_id": str})
    assert list(geo.columns[:-1]) == list(csv.columns) and geo.crs.to_epsg() == 4326
    assert geo["demand_id"].tolist() == csv["demand_id"].tolist()
    for rule in result.config.rules:
        col = f"{rule.name}_covered"
        assert geo[col].dtype == bool and geo[col].tolist() == csv[col].tolist()
    np.testing.assert_allclose(geo.geometry.x, csv["lon"])
    again = write_report(result, tmp_path / "again")
    assert (again / "coverage.parquet").read_bytes() == (report / "coverage.parquet").read_bytes()


def test_overview_picture_is_chinese_first_and_reproducible(report: Path, result: AnalysisResult,
                                                            tmp_path: Path) -> None:
    """The overview needs a CJK font for its Chinese labels; CI installs WenQuanYi Micro Hei."""
    import os

    from PIL import Image

    from yizhan.pipeline.overview import cjk_font, write_overview_png

    font = cjk_font()
    if font is None:
        assert os.environ.get("CI") != "true", "CI must have a CJK font (.ci/run installs one)"
        pytest.skip("no CJK font on this machine: the overview falls back to English labels")
    again = write_overview_png(result, tmp_path / "overview.png")
    assert again.read_bytes() == (report / "overview.png").read_bytes()
    with Image.open(again) as img:
        assert img.size[0] >= 1200  # A4 width at 150 dpi: legible when printed


def test_coverage_by_worker_group_adds_up(report: Path, result: AnalysisResult) -> None:
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    groups = pd.DataFrame(summary["groups"])
    table = result.coverage
    for rule in summary["rules"]:
        mine = groups[groups["rule"] == rule["rule"]]
        assert mine["demand_weight"].sum() == pytest.approx(rule["demand_weight"])
        assert mine["covered_weight"].sum() == pytest.approx(rule["covered_weight"])
        for row in mine.itertuples(index=False):
            here = (table["group"].astype(str) == row.group) & table[f"{row.rule}_applies"]
            covered = here & table[f"{row.rule}_covered"]
            assert row.covered_pct == pytest.approx(
                100 * table.loc[covered, "weight"].sum() / table.loc[here, "weight"].sum(),
                abs=1e-3)
    # a rule for every group is broken down by the groups of its demand
    assert groups.groupby("rule")["group"].nunique().max() > 1
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "分群体覆盖 Coverage by worker group" in page and "外卖骑手 delivery riders" in page
    wb = openpyxl.load_workbook(report / "report.xlsx")
    assert wb[SHEET["groups"]].max_row == len(groups) + 1


def test_docx_is_an_editable_chinese_report_of_the_same_figures(report: Path,
                                                                 result: AnalysisResult) -> None:
    """report.docx: headings, the headline figures of summary.json, the overview picture, the
    key tables with Chinese headers and workbook number formats, the methods paragraph."""
    from docx import Document
    from docx.oxml.ns import qn

    from yizhan.pipeline.docx_report import BODY_FONT, SECTIONS, rule_words

    doc = Document(str(report / "report.docx"))
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [v for k, v in SECTIONS.items() if k not in ("change", "shifts")]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "示例数据" in text
    counts = summary["counts"]
    assert f"台账共有驿站{counts['stations']}处" in text
    for rule, row in zip(result.config.rules, summary["rules"], strict=True):
        assert f"按“{rule_words(rule)}”计，现状覆盖率为{row['covered_pct']:.1f}%" in text
        assert f"可达{row['covered_pct_after']:.1f}%" in text
    assert f"建议新建站点{counts['suggestions']}处" in text
    assert "沿真实道路网络计算" in text and result.config.network_source.name in text
    assert len(doc.inline_shapes) == 1  # the overview picture
    coverage, *_ = doc.tables
    head = [c.text for c in coverage.rows[0].cells]
    assert head[:2] == ["规则", "群体"] and all(not c.isascii() for c in head)
    col = head.index("覆盖率（现状）%")
    assert [r.cells[col].text for r in coverage.rows[1:]] == [
        f"{r['covered_pct']:.1f}" for r in summary["rules"]]
    sites = next(t for t in doc.tables if t.rows[0].cells[0].text == "优先顺序")
    assert len(sites.rows) == counts["suggestions"] + 1
    lacking = next(t for t in doc.tables if t.rows[0].cells[0].text == "编号")
    words = {r.cells[2].text for r in lacking.rows[1:]}
    assert words and words <= {"部分达标", "不达标", "未记录，无法判定"}
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == BODY_FONT
    section = doc.sections[0]
    assert abs(section.page_width.cm - 21.0) < 0.01 and abs(section.page_height.cm - 29.7) < 0.01


def test_a_sheet_longer_than_the_workbook_holds_is_cut_and_says_so(tmp_path, monkeypatch) -> None:
    """A million problem rows would break Excel (and take minutes): the sheet lists the first
    rows and says where the rest are."""
    from yizhan.pipeline import report as rep

    monkeypatch.setattr(rep, "SHEET_ROWS", 5)
    frame = pd.DataFrame({"问题 Problem": [f"p{k}" for k in range(12)]})
    rep.write_sheets({"问题 Problems": frame}, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["问题 Problems"]
    assert ws.max_row == 1 + 5 + 1
    assert "共 12 行" in ws.cell(row=7, column=1).value
