"""Read any table a union sends into a DataFrame indexed by the row number the user sees.

Formats: XLSX from Excel or WPS, CSV in UTF-8 or GBK, GeoJSON, GeoPackage, Shapefile, Parquet.

Cells are kept as text (or the value the format stores) so that nothing is interpreted before
validation; :mod:`yizhan.stations.inventory` and :mod:`yizhan.geo.demand` do the interpretation.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from yizhan.stations.columns import canonical_name
from yizhan.stations.problems import Problem

from yizhan.errors import InputFileError

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
PARQUET_SUFFIXES = (".parquet", ".geoparquet")
ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 is a superset of GBK and GB2312
_HEADER_SCAN_ROWS = 10


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Return the rows of a table file, indexed by the row number the user sees (header = row 1).

    Parameters
    ----------
    path
        CSV/TSV (UTF-8 with or without BOM, GBK/GB18030), XLSX, GeoJSON, GeoPackage, Shapefile
        or (Geo)Parquet.
    sheet
        Worksheet name or 0-based position for workbooks; the first sheet by default.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Text cells for CSV/XLSX (blank cells are empty strings); vector formats keep their
        geometry column. The index, named ``row``, is the spreadsheet row of each record; for
        workbooks with a title row above the header, the header is found automatically and the
        row numbers still match what Excel shows.

    Raises
    ------
    InputFileError
        If the file does not exist, cannot be decoded, or has no rows.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("文件不存在，请检查路径。The file does not exist; check the path.",
                             file=str(path))
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        frame = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        frame = _read_excel(path, sheet)
    elif suffix in VECTOR_SUFFIXES:
        frame = _read_vector(path)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path)
    else:
        raise InputFileError(
            f"不支持的文件类型 {suffix!r}；请另存为 CSV、XLSX、GeoJSON、GPKG 或 Shapefile。"
            f" Unsupported file type {suffix!r}; save it as CSV, XLSX, GeoJSON, GPKG or Shapefile.",
            file=str(path),
        )
    frame.index.name = "row"
    if frame.empty:
        raise InputFileError(
            "文件只有表头（或只有空行），没有数据行；请确认选对了文件和工作表。"
            " The file has a header but no data rows; check that this is the right file"
            " (and sheet).",
            file=str(path),
        )
    return frame


def _find_header(rows: list[list[object]]) -> int:
    """Return the 0-based position of the header among the first rows (title rows skipped)."""
    best, best_hits = 0, 0
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        hits = _header_hits(row)
        if hits > best_hits:
            best, best_hits = i, hits
    return best if best_hits >= 2 else 0


def _header_hits(row: list[object]) -> int:
    return sum(1 for cell in row if str(cell).strip() and canonical_name(cell) is not None)


def _frame_from_rows(
    rows: list[list[object]], path: Path,
    notes: list[tuple[int, str, str, str, str]] | None = None,
) -> pd.DataFrame:
    """Return the records under the header as text cells; reader notes go to ``attrs``."""
    if not rows:
        raise InputFileError("文件是空的。The file is empty.", file=str(path))
    header_at = _find_header(rows)
    header = [_header_text(c, i) for i, c in enumerate(rows[header_at])]
    header = _dedupe(header)
    problems: list[Problem] = []
    skip: set[int] = set()
    # A second header row (English names under Chinese ones, as some templates have) is not
    # a station: it is skipped and said so.
    after = header_at + 1
    if after < len(rows) and _header_hits(rows[after]) >= 2 and not any(
            isinstance(c, int | float) and not isinstance(c, bool) for c in rows[after]):
        skip.add(after)
        problems.append(Problem(
            str(path), after + 1, "", " | ".join(str(c) for c in rows[after] if c is not None),
            "这一行是第二行表头，已跳过，不作为数据。"
            " This row is a second header row; skipped, not read as data.",
            "warning", "second_header_row"))
    body = rows[header_at + 1:]
    width = len(header)
    records: list[list[object]] = []
    for raw in body:
        cells = ["" if c is None else c for c in raw]
        if len(cells) > width:  # cells beyond the header are kept under generated names
            extra = len(cells) - width
            header.extend(f"column_{width + k + 1}" for k in range(extra))
            width = len(header)
            for rec in records:
                rec.extend([""] * extra)
        records.append(cells + [""] * (width - len(cells)))
    index = pd.RangeIndex(header_at + 2, header_at + 2 + len(records))
    frame = pd.DataFrame(records, columns=header, index=index, dtype=object)
    for record, field, value, zh, en in notes or ():
        name = header[int(field)] if field.isdigit() and int(field) < len(header) else field
        problems.append(Problem(str(path), record + 1, name, value, f"{zh} {en}", "warning",
                                "stray_quote"))
    # Fully blank lines (common at the end of Excel sheets) carry no record.
    blank = frame.apply(lambda col: col.map(lambda v: str(v).strip() == "")).all(axis=1)
    keep = ~blank & ~frame.index.isin([i + 1 for i in skip])
    frame = frame.loc[keep]
    frame.attrs["problems"] = problems
    return frame


def table_problems(frame: pd.DataFrame) -> list[Problem]:
    """Return the problems :func:`read_table` noted while reading (stray quotes, extra headers)."""
    return list(frame.attrs.get("problems", ()))


def _header_text(cell: object, position: int) -> str:
    text = "" if cell is None else str(cell).strip()
    return text or f"column_{position + 1}"


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputFileError(
            "无法识别文件编码；请在 Excel/WPS 中另存为“CSV UTF-8”。"
            " Cannot decode the file; save it as 'CSV UTF-8' from Excel/WPS.",
            file=str(path),
        )
    rows, notes = _csv_records(text, _delimiter(text, path), path)
    return _frame_from_rows(rows, path, notes=notes)


_DELIMITERS = (",", "\t", ";", "|")


def _delimiter(text: str, path: Path) -> str:
    """Return the CSV delimiter: the one under which the header has the most known names.

    Cells full of semicolons or commas can fool :class:`csv.Sniffer`; the header row cannot:
    its names (经度, lon, 站点名称 …) are recognised. The sniffer decides only when no
    delimiter shows a known header name.
    """
    head = [ln for ln in _physical_lines(text[:65_536])[:_HEADER_SCAN_ROWS] if ln.strip()]

    def line_hits(line: str, delimiter: str) -> int:
        try:
            cells: list[object] = list(next(csv.reader([line], delimiter=delimiter), []))
            return _header_hits(cells)
        except csv.Error:  # an over-long cell: reported when the file is read
            return 0

    hits = {d: max((line_hits(ln, d) for ln in head), default=0) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: hits[d])  # ties: the earlier (comma first)
    if hits[best] >= 2:
        return best
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        return "\t" if path.suffix.lower() == ".tsv" else ","


_LINE_END = re.compile(r"(\r\n|\n|\r)")


def _physical_lines(text: str) -> list[str]:
    """Return the lines of ``text`` with their endings (LF, CRLF or CR, as the file has them)."""
    parts = _LINE_END.split(text)
    lines = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
             for i in range(0, len(parts), 2)]
    return [line for line in lines if line]


def _csv_records(
    text: str, delimiter: str, path: Path
) -> tuple[list[list[object]], list[tuple[int, str, str, str, str]]]:
    """Return the records of CSV ``text`` and notes ``(record, field, value, zh, en)``.

    A quoted cell may span lines. A stray ``"`` at the start of a cell would make the csv
    module read every following line into that cell (rows lost without a word). Such a record
    is recognised because its lines do not parse as strict CSV (the "closing" quote is not
    followed by a delimiter, or the file ends inside the quote); its first line is then read
    with the quote kept as text, and reading goes on from the next line.
    """
    lines = _physical_lines(text)
    records: list[list[object]] = []
    notes: list[tuple[int, str, str, str, str]] = []
    i = 0
    while i < len(lines):
        reader = csv.reader(iter(lines[i:]), delimiter=delimiter)
        consumed = 0
        restart = None
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise _csv_error(exc, path, len(records) + 1) from exc
            start, end = i + consumed, i + reader.line_num
            consumed = reader.line_num
            if end - start > 1 and not _strict_csv(lines[start:end], delimiter):
                cells = next(csv.reader([lines[start]], delimiter=delimiter,
                                        quoting=csv.QUOTE_NONE), [])
                stray = next((k for k, c in enumerate(cells) if c.lstrip().startswith('"')), 0)
                notes.append((len(records), str(stray), cells[stray] if cells else "",
                              "单元格以多余的引号开头，已按文字读入；请删去这个引号。",
                              "The cell starts with a stray quote; read as text. Remove the"
                              " quote."))
                records.append(list(cells))
                restart = start + 1
                break
            records.append(list(record))
        if restart is None:
            break
        i = restart
    return records, notes


def _strict_csv(lines: list[str], delimiter: str) -> bool:
    """Return True if ``lines`` parse as strict CSV (every quoted cell properly closed)."""
    try:
        for _ in csv.reader(iter(lines), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def _csv_error(exc: csv.Error, path: Path, record: int) -> InputFileError:
    if "field larger than field limit" in str(exc):
        return InputFileError(
            f"第 {record} 行附近有一个超过 {csv.field_size_limit():,} 个字符的单元格（常见原因："
            "单元格开头有多余的引号，后面的内容都被读进了这一格）。请在 Excel/WPS 中检查这一行。"
            f" A cell near row {record} is longer than {csv.field_size_limit():,} characters"
            " (often a stray quote that swallowed the lines after it). Check that row in"
            " Excel/WPS.",
            file=str(path), row=record,
        )
    return InputFileError(
        f"第 {record} 行附近的 CSV 格式无法读取（{exc}）；请在 Excel/WPS 中另存为“CSV UTF-8”。"
        f" The CSV cannot be read near row {record} ({exc}); save it as 'CSV UTF-8' from"
        " Excel/WPS.",
        file=str(path), row=record,
    )


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if path.suffix.lower() == ".xls" or magic == _OLE2_MAGIC:
        if path.suffix.lower() != ".xls":  # an OLE2 file named .xlsx: encrypted, or an old .xls
            raise InputFileError(
                "工作簿有密码保护（或是改了扩展名的旧版 .xls），无法读取；请在 Excel/WPS 中打开，"
                "取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码），再另存为 .xlsx。"
                " The workbook is password-protected (or an old .xls renamed to .xlsx) and cannot"
                " be read; open it in Excel/WPS, remove the password (File → Info → Protect"
                " Workbook → Encrypt with Password, clear it) and save it as .xlsx.",
                file=str(path),
            )
        raise InputFileError(
            "旧版 .xls 格式不受支持；请在 Excel/WPS 中另存为 .xlsx。"
            " The old .xls format is not supported; save the workbook as .xlsx.",
            file=str(path),
        )
    if not zipfile.is_zipfile(path):
        raise InputFileError(
            "这个文件不是 Excel 工作簿（.xlsx），只是扩展名如此；请在 Excel/WPS 中另存为 .xlsx 或 CSV。"
            " This file is not an Excel workbook (.xlsx) although it is named like one; save it"
            " as .xlsx or CSV from Excel/WPS.",
            file=str(path),
        )
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputFileError(
            f"无法打开工作簿（{exc}）；请确认文件未损坏并另存为 .xlsx。"
            f" Cannot open the workbook ({exc}); check it is not damaged and save it as .xlsx.",
            file=str(path),
        ) from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            ws = book.worksheets[sheet]
        else:
            ws = book[sheet]
    except (KeyError, IndexError) as exc:
        names = ", ".join(book.sheetnames)
        raise InputFileError(
            f"找不到工作表 {sheet!r}；现有工作表：{names}。Sheet {sheet!r} not found; sheets: {names}.",
            file=str(path),
        ) from exc
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    title = ws.title
    book.close()
    frame = _frame_from_rows(rows, path)
    unsaved = _formulas_without_values(path, title, rows)
    if unsaved:
        header = list(frame.columns)
        problems = table_problems(frame)
        for row, col, formula in unsaved:
            field = header[col] if col < len(header) else f"column_{col + 1}"
            problems.append(Problem(
                str(path), row, field, formula,
                "公式没有保存计算结果，这一格按空白读入；请在 Excel/WPS 中打开文件并保存一次（会算出结果），"
                "或把公式换成数值。 The formula has no saved result, so the cell reads as"
                " blank; open the file in Excel/WPS and save it once (which computes it), or"
                " replace the formula by its value.",
                "error", "formula_without_value"))
        frame.attrs["problems"] = problems
    return frame


def _formulas_without_values(
    path: Path, title: str, values: list[list[object]]
) -> list[tuple[int, int, str]]:
    """Return (row, column, formula) of formula cells whose result was never saved.

    Files written by scripts (or some tools) store a formula but not its value; ``data_only``
    reading then gives None, as for a blank cell. Read again with formulas only when the
    sheet has any (a quick look at the sheet's XML).
    """
    import openpyxl

    with zipfile.ZipFile(path) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        if not any(b"<f" in zf.read(n) for n in sheets):
            return []
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = book[title]
        found = []
        for r, (formulas, saved) in enumerate(zip(ws.iter_rows(values_only=True), values,
                                                  strict=False)):
            for c, cell in enumerate(formulas):
                if (isinstance(cell, str) and cell.startswith("=")
                        and (c >= len(saved) or saved[c] is None)):
                    found.append((r + 1, c, cell))
        return found
    finally:
        book.close()


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # GDAL errors come in several types
        raise InputFileError(
            f"无法读取空间数据文件（{exc}）。Cannot read the spatial file ({exc}).", file=str(path)
        ) from exc
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def iter_parquet_parts(path: str | Path, *, rows_per_chunk: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """Yield a (Geo)Parquet file's rows in parts of whole row groups (about ``rows_per_chunk``).

    Each part is indexed by the row number :func:`read_table` gives the same rows (header =
    row 1), so parts put together equal the whole file; memory holds one part at a time.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputFileError(
            f"无法读取 Parquet 文件（{exc}）。Cannot read the Parquet file ({exc}).", file=str(path)
        ) from exc
    is_geo = b"geo" in (pf.schema_arrow.metadata or {})
    start = 0
    groups: list[int] = []
    n_groups = pf.num_row_groups

    def part(indices: list[int], first: int) -> pd.DataFrame:
        table = pf.read_row_groups(indices)
        frame: pd.DataFrame = (gpd.GeoDataFrame.from_arrow(table) if is_geo
                               else table.to_pandas())
        frame.index = pd.RangeIndex(2 + first, 2 + first + len(frame))
        frame.index.name = "row"
        return frame

    pending = 0
    for i in range(n_groups):
        groups.append(i)
        pending += pf.metadata.row_group(i).num_rows
        if pending >= rows_per_chunk or i == n_groups - 1:
            yield part(groups, start)
            start += pending
            groups, pending = [], 0


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = gpd.read_parquet(path)
    except (ValueError, TypeError):
        frame = pd.read_parquet(path)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame
