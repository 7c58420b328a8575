"""Reliability: every row of every input is loaded or listed; bad files get a clear message.

One case per kind of bad input from the issue "never drop a row in silence". Each asserts the
exact outcome: rows loaded + rows listed == rows in the file, the message names the file (and
row and field where there is one), exit code 2 with no traceback, the input intact by SHA-256.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yizhan.geo.demand import read_demand_points
from yizhan.scripts.cli import main
from yizhan.stations import read_inventory
from yizhan.stations.numbers import parse_dms

from yizhan.errors import ConfigError, InputFileError
from yizhan.io import read_toml, sha256_file

HEADER = ["编号", "站点名称", "经度", "纬度", "洗手间"]


def _rows(n: int = 10) -> list[list[str]]:
    return [[f"S{i}", f"驿站{i}", f"113.{i}1", f"22.5{i}", "是"] for i in range(1, n + 1)]


def _write_csv(path: Path, lines: list[str], *, end: str = "\n", encoding: str = "utf-8") -> Path:
    path.write_bytes((end.join(lines) + end).encode(encoding))
    return path


def _accounted(inv, n_rows: int) -> None:
    """Every data row is a loaded station or a rejected row listed as an error."""
    assert len(inv.stations) + len(inv.rejected) == n_rows
    listed = set(inv.problems.loc[inv.problems["severity"] == "error", "row"].dropna().astype(int))
    assert set(inv.rejected.index.astype(int)) <= listed


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_stray_quote_loses_no_row(tmp_path, end, encoding):
    """10 rows in, a stray quote at the start of one cell: 10 loaded, the quote listed."""
    lines = [",".join(HEADER)] + [",".join(r) for r in _rows()]
    lines[4] = 'S4,"驿站4,113.41,22.54,是'
    path = _write_csv(tmp_path / "inv.csv", lines, end=end, encoding=encoding)
    before = sha256_file(path)
    inv = read_inventory(path)
    assert len(inv.stations) == 10
    assert inv.stations["name"].tolist()[3] == '"驿站4'
    stray = inv.problems.loc[inv.problems["code"] == "stray_quote"]
    assert stray[["row", "field"]].values.tolist() == [[5, "站点名称"]]
    assert sha256_file(path) == before


def test_stray_quote_in_demand_is_listed_not_swallowed(tmp_path):
    lines = ["lon,lat,weight"] + [f"113.{i}1,22.5,1" for i in range(10)]
    lines[3] = '"113.21,22.5,1'
    res = read_demand_points(_write_csv(tmp_path / "d.csv", lines))
    listed = set(res.problems.loc[res.problems["severity"] == "error", "row"].astype(int))
    assert len(res.points) + len(listed) == 10
    assert listed == {4}


def test_quoted_cells_spanning_lines_still_load(tmp_path):
    text = 'name,lon,lat,address\na,113.1,22.5,"深南大道\n1号"\nb,113.2,22.6,"x, y"\n'
    path = tmp_path / "ok.csv"
    path.write_text(text, encoding="utf-8")
    inv = read_inventory(path)
    assert inv.stations["address"].tolist() == ["深南大道\n1号", "x, y"]
    assert "stray_quote" not in set(inv.problems["code"])


@pytest.mark.parametrize(("cell", "expected"), [
    ("inf", None), ("-inf", None), ("1e400", None), ("nan", None), ("abc", None),
    ("１１３．５", 113.5), ("－113.5", -113.5), ("113,5", 113.5),
    ("113°32'45.6\"E", 113 + 32 / 60 + 45.6 / 3600), ("113°32′45.6″", 113 + 32 / 60 + 45.6 / 3600),
    ("113度32分45.6秒", 113 + 32 / 60 + 45.6 / 3600), ("东经113.5°", 113.5),
    ("W 113°30'", -113.5), ("113°75'", None), ("-113°S", None),
])
def test_coordinate_cells_load_when_readable_else_are_listed(tmp_path, cell, expected):
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "lon", "lat"])
        w.writerow(["a", cell, "22.5"])
        w.writerow(["b", "113.1", "22.5"])
    inv = read_inventory(path)
    _accounted(inv, 2)
    if expected is None:
        bad = inv.problems.loc[inv.problems["row"] == 2]
        assert bad[["field", "severity"]].values.tolist() == [["lon", "error"]]
        assert bad["value"].iloc[0] == cell
        assert len(inv.stations) == 1
    else:
        assert inv.stations["orig_lon"].iloc[0] == pytest.approx(expected, abs=1e-9)


def test_infinite_demand_coordinates_are_listed(tmp_path):
    lines = ["lon,lat", "inf,22.5", "113.1,1e400", "113.1,22.5"]
    res = read_demand_points(_write_csv(tmp_path / "d.csv", lines))
    assert len(res.points) == 1
    assert sorted(res.problems["row"].astype(int)) == [2, 3]


@pytest.mark.parametrize("content", ["编号,站点名称,经度,纬度\n", "编号,站点名称,经度,纬度\n,,,\n\n"],
                         ids=["header-only", "blank-rows"])
def test_inventory_without_data_rows_is_an_error(tmp_path, capsys, content):
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match="no data rows"):
        read_inventory(path)
    assert main(["-q", "stations", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


def _cli_error(path: Path, capsys) -> str:
    before = sha256_file(path)
    assert main(["-q", "stations", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert sha256_file(path) == before
    return err


def test_cell_longer_than_the_csv_limit_names_the_row(tmp_path, capsys):
    lines = [",".join(HEADER)] + [",".join(r) for r in _rows(3)]
    lines[2] = f"S2,{'长' * 140_000},113.2,22.5,是"
    err = _cli_error(_write_csv(tmp_path / "long.csv", lines), capsys)
    assert "131,072" in err and "row 3" in err


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "password"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "save the workbook as .xlsx"),
    ("text.xlsx", "编号,名称\n".encode(), "not an Excel workbook"),
])
def test_workbooks_that_cannot_be_read_say_what_to_do(tmp_path, capsys, name, content, phrase):
    path = tmp_path / name
    path.write_bytes(content)
    assert phrase in _cli_error(path, capsys)


def test_formula_cells_without_a_saved_value_are_listed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["站点名称", "经度", "纬度"])
    ws.append(["a", 113.1, 22.5])
    ws.append(["b", "=113+0.2", 22.5])  # openpyxl saves the formula, not its value
    path = tmp_path / "f.xlsx"
    wb.save(path)
    inv = read_inventory(path)
    _accounted(inv, 2)
    rows = inv.problems.loc[inv.problems["code"] == "formula_without_value"]
    assert rows[["row", "field", "value"]].values.tolist() == [[3, "经度", "=113+0.2"]]


def test_second_header_row_is_skipped_and_said(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["站点名称", "经度", "纬度"])
    ws.append(["Name", "Longitude", "Latitude"])
    ws.append(["a", 113.1, 22.5])
    path = tmp_path / "h.xlsx"
    wb.save(path)
    inv = read_inventory(path)
    assert inv.stations["name"].tolist() == ["a"]
    assert inv.stations["source_row"].tolist() == [3]
    note = inv.problems.loc[inv.problems["code"] == "second_header_row"]
    assert note["row"].tolist() == [2]


@pytest.mark.parametrize(("raw", "phrase"), [
    ('district = "新会区"\n'.encode("gb18030"), "GBK"),
    (b'district = "x"\nyear = \n', "line 2"),
])
def test_toml_config_encoding_and_syntax_errors_name_the_file(tmp_path, capsys, raw, phrase):
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=phrase):
        read_toml(path)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert phrase in err and str(path) in err and "Traceback" not in err


def test_dms_parser_rejects_ambiguous_text():
    assert parse_dms("22°31'12\"N") == pytest.approx(22.52)
    assert parse_dms("N22°31'12\"S") != parse_dms("N22°31'12\"S")  # NaN: two hemispheres


# No lone CR: Python's csv writer leaves it unquoted under an LF terminator, which makes a file
# that no reader (Excel included) can tell from a line break.
_CELL = st.text(alphabet=st.sampled_from(list('ab驿站1,." \n\t;')), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=12),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       end=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_any_properly_written_csv_loads_or_lists_every_row(tmp_path, cells, quoting, end,
                                                          encoding):
    """Whatever the text, quoting, line ending and encoding: loaded + listed == data rows."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=quoting, lineterminator=end)
    w.writerow(["name", "lon", "lat", "note"])
    rows = [[f"n{i}", "113.1", "22.5", c[0] + c[1] + c[2]] for i, c in enumerate(cells)]
    rows += [[c[0], c[1], c[2], "x"] for c in cells]  # junk where coordinates belong
    w.writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    inv = read_inventory(path)
    _accounted(inv, len(rows))
    assert len(inv.stations) >= len(cells)  # the rows with good coordinates all load
