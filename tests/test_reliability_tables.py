"""Reliability: every CSV and XLSX yizhan writes is safe to open in Excel/WPS, and ids join.

An inventory whose ids, names and an extra column header look like formulas goes through
``stations check``, ``coverage`` and ``suggest``; no CSV cell and no XLSX cell may run as a
formula, and each station id is the same string in coverage.csv, suggestions.csv,
problems.csv and stations.geojson.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import networkx as nx
import openpyxl
import osmnx as ox
import pandas as pd
import pytest
from yizhan.scripts.cli import main

from yizhan.io import excel_safe, neutralise_formula, write_csv_atomic
from yizhan.pipeline.report import write_sheets

EVIL = ["=EVIL()", "+SUM(1,2)", "-2+3", "@cmd", "\tTAB", "\rCR"]
PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _runs_as_formula(text: str) -> bool:
    return text.startswith(("=", "+", "-", "@", "\t", "\r")) and not PLAIN_NUMBER.fullmatch(text)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tables")
    graph = nx.MultiDiGraph(crs="EPSG:4326", simplified=True)
    for i in range(6):  # a street of six blocks, about 100 m each
        graph.add_node(i, x=114.05 + 0.001 * i, y=22.54, street_count=2)
    for i in range(5):
        for u, v in ((i, i + 1), (i + 1, i)):
            graph.add_edge(u, v, length=103.0, osmid=10 + i, highway="residential",
                           oneway=False, reversed=u > v)
    ox.save_graphml(graph, work / "street.graphml")
    with (work / "stations.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "站点名称", "经度", "纬度", "洗手间", "=HEADER()"])
        for i, evil in enumerate(EVIL):
            w.writerow([evil, evil, f"{114.05 + 0.001 * (i % 3):.4f}", "22.5401", "是", evil])
    with (work / "demand.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["lon", "lat", "weight", "group"])
        for i in range(12):
            w.writerow([f"{114.05 + 0.00045 * i:.5f}", "22.5402", "1", "rider"])
    common = ["--network", str(work / "street.graphml"), "--stations", str(work / "stations.csv"),
              "--demand", str(work / "demand.csv"), "--mode", "walk", "--cutoff", "150m",
              "--requires", "toilet", "--cache", str(work / "cache")]
    assert main(["-q", "stations", "check", str(work / "stations.csv"),
                 "--out", str(work / "check")]) == 0
    assert main(["-q", "coverage", *common, "--out", str(work / "coverage")]) == 0
    assert main(["-q", "suggest", *common, "--sites", "1", "--out", str(work / "suggest")]) == 0
    return work


def _csv_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


@pytest.mark.parametrize("name", ["check/problems.csv", "coverage/coverage.csv",
                                  "suggest/suggestions.csv"])
def test_no_csv_cell_can_run_as_a_formula(work, name):
    cells = _csv_cells(work / name)
    assert cells
    assert [c for c in cells if _runs_as_formula(c)] == []


def test_station_ids_are_the_same_string_in_every_output(work):
    features = json.loads((work / "check" / "stations.geojson").read_text(encoding="utf-8"))
    geo_ids = {f["properties"]["station_id"] for f in features["features"]}
    # cells are read trimmed (a tab or CR around an id is not part of it); ids that would run
    # as formulas are stored safe on load, and said so
    assert geo_ids == {str(neutralise_formula(e.strip())) for e in EVIL}
    problems = pd.read_csv(work / "check" / "problems.csv", encoding="utf-8-sig", dtype=str)
    flagged = set(problems.loc[problems["code"] == "formula_like_id", "value"])
    assert flagged == {i for i in geo_ids if i[0] == "'"}  # (the CSV holds them safe too)
    assert len(flagged) == len([e for e in EVIL if _runs_as_formula(e.strip())]) == 4
    coverage = pd.read_csv(work / "coverage" / "coverage.csv", encoding="utf-8-sig", dtype=str,
                           keep_default_na=False)
    used = {s for s in coverage["all_walk_150m_station_id"] if s}
    assert used and used <= geo_ids  # they join
    names = {f["properties"]["name"] for f in features["features"]}
    assert names == {e.strip() for e in EVIL}  # non-id text stays raw in GeoJSON


@pytest.mark.parametrize("value", [*EVIL, "+86 138 0000 0000"])
def test_workbooks_hold_text_never_formulas(tmp_path, value):
    frame = pd.DataFrame({"name": [value], value: ["x"], "n": [-12.5]})
    path = write_sheets({"表 Sheet": frame}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert ws["C2"].value == -12.5  # numbers stay numbers


def test_one_writer_neutralises_text_and_headers_but_not_numbers(tmp_path):
    frame = pd.DataFrame({"=H": ["=1+1", "-12.5", "ok"], "n": [-1.0, 2.0, 3.0]})
    frame["cat"] = pd.Categorical(["=A", "b", "=A"])
    path = write_csv_atomic(frame, tmp_path / "t.csv")
    assert _csv_cells(path) == ["'=H", "n", "cat", "'=1+1", "-1.0", "'=A", "-12.5", "2.0", "b",
                                "ok", "3.0", "'=A"]
    assert list(excel_safe(frame)["cat"].cat.categories) == ["'=A", "b"]
    arrow = write_csv_atomic(frame, tmp_path / "a.csv", engine="arrow")
    assert not [c for c in _csv_cells(arrow) if _runs_as_formula(c)]
