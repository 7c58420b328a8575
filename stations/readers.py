"""Read any table a union sends into a DataFrame indexed by the row number the user sees.

Formats: XLSX from Excel or WPS, CSV in UTF-8 or GBK, GeoJSON, GeoPackage, Shapefile, Parquet.

Cells are kept as text (or the value the format stores) so that nothing is interpreted before
validation; :mod:`yizhan.stations.inventory` and :mod:`yizhan.geo.demand` do the interpretation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from yizhan.stations.columns import canonical_name

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
    return frame


def _find_header(rows: list[list[object]]) -> int:
    """Return the 0-based position of the header among the first rows (title rows skipped)."""
    best, best_hits = 0, 0
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        hits = sum(1 for cell in row if str(cell).strip() and canonical_name(cell) is not None)
        if hits > best_hits:
            best, best_hits = i, hits
    return best if best_hits >= 2 else 0


def _frame_from_rows(rows: list[list[object]], path: Path) -> pd.DataFrame:
    if not rows:
        raise InputFileError("文件是空的。The file is empty.", file=str(path))
    header_at = _find_header(rows)
    header = [_header_text(c, i) for i, c in enumerate(rows[header_at])]
    header = _dedupe(header)
    body = rows[header_at + 1:]
    width = len(header)
    records = []
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
    # Fully blank lines (common at the end of Excel sheets) carry no record.
    blank = frame.apply(lambda col: col.map(lambda v: str(v).strip() == "")).all(axis=1)
    return frame.loc[~blank]


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
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return _frame_from_rows(rows, path)


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    if path.suffix.lower() == ".xls":
        raise InputFileError(
            "旧版 .xls 格式不受支持；请在 Excel/WPS 中另存为 .xlsx。"
            " The old .xls format is not supported; save the workbook as .xlsx.",
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
    book.close()
    return _frame_from_rows(rows, path)


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
