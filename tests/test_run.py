"""yizhan.pipeline.analysis / yizhan run: the yearly run, twice, with the year-over-year comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from yizhan.scripts.cli import main as cli_main
from yizhan.scripts.gap_analysis import main as script_main

from yizhan.errors import ConfigError
from yizhan.pipeline.analysis import run_analysis
from yizhan.pipeline.config import load_config

DATA = Path(__file__).resolve().parent / "data" / "helsinki"
TABLES = ("coverage.csv", "suggestions.csv", "problems.csv", "stations.geojson", "gaps.geojson",
          "suggestions.geojson", "summary.json")
REPORT_FILES = (*TABLES, "map.html", "report.xlsx", "report.html", "report.docx", "overview.png")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    r24, r25 = base / "r2024", base / "r2025"
    assert cli_main(["-q", "run", str(DATA / "demo-2024.toml"), "--out", str(r24)]) == 0
    assert cli_main(["-q", "run", str(DATA / "example-config.toml"), "--out", str(r25),
                     "--previous", str(r24)]) == 0
    return {"2024": r24, "2025": r25, "base": base}


def test_every_report_file_is_written(runs: dict[str, Path]) -> None:
    for name in REPORT_FILES:
        assert (runs["2025"] / name).is_file(), name
    for name in ("comparison_stations.csv", "comparison_coverage.csv", "comparison_gaps.csv"):
        assert (runs["2025"] / name).is_file()
        assert not (runs["2024"] / name).exists()
    assert not [p for p in runs["base"].iterdir() if p.name.startswith(".")]  # no temp folders


def test_the_written_line_names_every_file_and_no_temporary_path(runs, tmp_path) -> None:
    """The console's "written" line: every file of the report, never a staging folder."""
    from yizhan.outdir import written_summary

    line = written_summary(runs["2025"])
    assert line.startswith(f"{runs['2025']}/ ")
    for p in runs["2025"].iterdir():
        if p.name != ".yizhan-output.json":
            assert p.name in line, p.name
    assert ".yizhan-new" not in line
    (runs["2025"] / "my-notes.txt").write_text("mine", encoding="utf-8")  # the user's own
    try:
        assert "my-notes.txt" not in written_summary(runs["2025"])
    finally:
        (runs["2025"] / "my-notes.txt").unlink()


def test_comparison_of_two_years(runs: dict[str, Path]) -> None:
    s24 = json.loads((runs["2024"] / "summary.json").read_text(encoding="utf-8"))
    s25 = json.loads((runs["2025"] / "summary.json").read_text(encoding="utf-8"))
    comp = s25["comparison"]
    assert comp["previous_year"] == 2024
    # The sample's 2025 inventory opened HEL006, HEL007, closed HEL008 and upgraded HEL004.
    changes = pd.read_csv(runs["2025"] / "comparison_stations.csv", encoding="utf-8-sig")
    by = {c: sorted(changes.loc[changes["change"] == c, "station_id"].astype(str))
          for c in ("opened", "closed", "upgraded")}
    assert by["opened"] == ["HEL006", "HEL007"]
    assert by["closed"] == ["HEL008"]
    assert "HEL004" in by["upgraded"]
    assert comp["stations"]["opened"] == 2 and comp["stations"]["closed"] == 1
    # Coverage change per rule equals the difference of the two summaries.
    old = {r["rule"]: r["covered_pct"] for r in s24["rules"]}
    for row in comp["coverage"]:
        assert row["previous_covered_pct"] == old[row["rule"]]
        assert row["change_pct_points"] == pytest.approx(row["covered_pct"] - old[row["rule"]],
                                                         abs=1e-3)
    # More compliant stations with water: the all-groups rule must not get worse.
    water = next(r for r in comp["coverage"] if r["rule"] == "all_water_5min")
    assert water["change_pct_points"] > 0
    gaps = pd.read_csv(runs["2025"] / "comparison_gaps.csv", encoding="utf-8-sig")
    assert comp["gaps_closed"] == int((gaps["status"] == "closed").sum())
    assert comp["gaps_new"] == int((gaps["status"] == "new").sum())
    # A closed gap overlaps no gap of its rule this year.
    now = gpd.read_file(runs["2025"] / "gaps.geojson")
    for _, row in gaps[gaps["status"] == "closed"].iterrows():
        pt = gpd.points_from_xy([row["lon"]], [row["lat"]])[0]
        assert not now[now["rule"] == row["rule"]].intersects(pt).any()


def test_workbook_has_the_year_over_year_sheets_only_with_a_previous_run(runs) -> None:
    """年度变化: coverage last year and now per rule, gaps closed/new; 驿站变化: the changes."""
    import openpyxl

    from yizhan.pipeline.report import SHEET, SHEETS

    assert openpyxl.load_workbook(runs["2024"] / "report.xlsx").sheetnames == list(SHEETS)
    wb = openpyxl.load_workbook(runs["2025"] / "report.xlsx")
    assert wb.sheetnames.index(SHEET["change"]) == wb.sheetnames.index(SHEET["suggestions"]) + 1
    comp = json.loads((runs["2025"] / "summary.json").read_text(encoding="utf-8"))["comparison"]
    ws = wb[SHEET["change"]]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert [r["规则 rule"] for r in rows] == [c["rule"] for c in comp["coverage"]]
    for row, want in zip(rows, comp["coverage"], strict=True):
        assert row["上一年覆盖率% covered % last year"] == pytest.approx(want["previous_covered_pct"])
        assert row["变化（百分点）% change (points) %"] == pytest.approx(want["change_pct_points"])
    assert sum(r["消除缺口 gaps closed"] for r in rows) == comp["gaps_closed"]
    assert sum(r["新增缺口 new gaps"] for r in rows) == comp["gaps_new"]
    col = head.index("变化（百分点）% change (points) %") + 1
    assert ws.cell(row=2, column=col).number_format == "0.0"
    changes = wb[SHEET["station_changes"]]
    words = {c.value for c in changes["A"][1:]}
    assert {"新建 opened", "关闭 closed", "升级 upgraded"} <= words
    assert all("_" not in str(c.value) for c in changes[1])  # no machine column names
    # the Word report says the same, in its own section
    from docx import Document

    from yizhan.pipeline.docx_report import SECTIONS

    doc = Document(str(runs["2025"] / "report.docx"))
    assert SECTIONS["change"] in [p.text for p in doc.paragraphs]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert (f"新建驿站{comp['stations']['opened']}处，关闭{comp['stations']['closed']}处" in text)
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "上一年")
    assert [r.cells[1].text for r in table.rows[1:]] == ["2024"] * len(rows)


def test_summary_before_after_matches_coverage_table(runs: dict[str, Path]) -> None:
    summary = json.loads((runs["2025"] / "summary.json").read_text(encoding="utf-8"))
    cov = pd.read_csv(runs["2025"] / "coverage.csv", encoding="utf-8-sig")
    sugg = pd.read_csv(runs["2025"] / "suggestions.csv", encoding="utf-8-sig")
    for rule in summary["rules"]:
        name = rule["rule"]
        covered = cov.loc[cov[f"{name}_covered"], "weight"].sum()
        assert rule["covered_weight"] == pytest.approx(covered)
        gained = sugg[f"{name}_gained"].sum()
        assert rule["covered_weight_after"] == pytest.approx(covered + gained)
        assert rule["covered_pct_after"] >= rule["covered_pct"]
    # Suggestions: ranked, weight gained never increases, cumulative share increases.
    assert list(sugg["rank"]) == list(range(1, len(sugg) + 1))
    assert len(sugg) == 5
    assert (np.diff(sugg["weight_gained"]) <= 1e-9).all()
    assert (np.diff(sugg["covered_pct_after"]) > 0).all()
    total = sum(r["demand_weight"] for r in summary["rules"])
    after = sum(r["covered_weight_after"] for r in summary["rules"])
    assert sugg["covered_pct_after"].iloc[-1] == pytest.approx(100 * after / total, abs=1e-3)
    assert {"lon", "lat", "admin_area", "weight_gained"} <= set(sugg.columns)


def test_inputs_are_fingerprinted(runs: dict[str, Path]) -> None:
    summary = json.loads((runs["2025"] / "summary.json").read_text(encoding="utf-8"))
    files = {i["role"]: i for i in summary["inputs"]}
    assert files["inventory"]["file"] == "demo_stations_2025.csv"
    import hashlib
    digest = hashlib.sha256((DATA / "demo_stations_2025.csv").read_bytes()).hexdigest()
    assert files["inventory"]["sha256"] == digest
    assert {"network", "demand[0]", "admin", "config"} <= set(files)


def test_script_and_cli_give_byte_identical_tables(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert script_main(["-q", str(DATA / "example-config.toml"), "--out", str(out),
                        "--previous", str(runs["2024"])]) == 0
    for name in TABLES:
        assert (out / name).read_bytes() == (runs["2025"] / name).read_bytes(), name


def test_new_sites_are_in_gaps_of_the_coverage(runs: dict[str, Path]) -> None:
    cfg = load_config(DATA / "example-config.toml")
    result = run_analysis(cfg)
    # Every rule row reports the points of its group only.
    for rule in cfg.rules:
        applies = result.coverage[f"{rule.name}_applies"]
        expected = len(result.demand) if rule.group is None else \
            int((result.demand["group"] == rule.group).sum())
        assert int(applies.sum()) == expected
    # Gap areas (clusters of uncovered demand, geo.gaps) hold part of their rule's uncovered
    # weight: never more, and their stated shares agree with it.
    for rule in cfg.rules:
        t = result.coverage
        unc = t.loc[t[f"{rule.name}_applies"] & ~t[f"{rule.name}_covered"], "weight"].sum()
        rule_gaps = result.gaps.loc[result.gaps["rule"] == rule.name]
        g = rule_gaps["uncovered_weight"].sum()
        assert 0 < g <= unc + 1e-9
        assert (rule_gaps["share_of_uncovered"] * unc).to_numpy() == pytest.approx(
            rule_gaps["uncovered_weight"].to_numpy(), rel=1e-3)


def test_bad_config_writes_nothing(tmp_path: Path) -> None:
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    for name in ("demo_stations_2025.csv", "demo_admin.geojson", "example-config.toml"):
        shutil.copy(DATA / name, cfg_dir / name)  # demand file missing
    out = tmp_path / "out"
    assert cli_main(["-q", "run", str(cfg_dir / "example-config.toml"), "--out", str(out)]) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [cfg_dir]
    with pytest.raises(ConfigError, match=r"summary\.json"):
        from yizhan.pipeline.analysis import run
        run(DATA / "example-config.toml", out=out, previous=tmp_path)
    assert not out.exists()


def test_siting_constraints_from_config_hold() -> None:
    """The example config asks for one new site per admin area and 200 m spacing."""
    cfg = load_config(DATA / "example-config.toml")
    assert cfg.siting.options.min_per_area == 1
    result = run_analysis(cfg)
    sites = result.suggestions
    assert set(result.admin["admin_name"]) <= set(sites["admin_area"])
    xy = sites.to_crs(sites.estimate_utm_crs()).geometry
    st = result.stations.to_crs(xy.crs).geometry
    for point in xy:
        assert (xy.distance(point) >= 200 - 1e-6).sum() == len(xy) - 1
        assert (st.distance(point) >= 200 - 1e-6).all()


def test_python_api_gives_what_the_cli_gives(tmp_path):
    """`yizhan.run(config, out=...)` and `yizhan run CONFIG --out` are the same code and tables."""
    import yizhan

    result = yizhan.run(DATA / "example-config.toml", out=tmp_path / "api")
    assert cli_main(["-q", "run", str(DATA / "example-config.toml"), "--out",
                     str(tmp_path / "cli")]) == 0
    for table in ("coverage.csv", "suggestions.csv", "problems.csv", "summary.json",
                  "stations.geojson", "gaps.geojson"):
        assert (tmp_path / "api" / table).read_bytes() == (tmp_path / "cli" / table).read_bytes()
    summary = json.loads((tmp_path / "api" / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == list(result.warnings)
    assert len(result.suggestions) == summary["counts"]["suggestions"]
    # without out= nothing is written and the same result comes back
    again = yizhan.run(DATA / "example-config.toml")
    assert again.coverage_summary.equals(result.coverage_summary)
