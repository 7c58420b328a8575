"""Atomic output and input fingerprints.

Every file yizhan writes goes to a temporary file in the same folder first and is then renamed
over the target, so a crash never leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


#: Prefix of yizhan's temporary files beside their targets (an interrupted run's leftovers are
#: recognised by it and removed by :func:`yizhan.outdir.recover`).
TEMP_PREFIX = ".yizhan-tmp."


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target
        Final path of the file.
    suffix
        Suffix of the temporary file (defaults to the target's, so writers that look at the
        extension, such as GeoPandas drivers, still pick the right format).

    Yields
    ------
    Path
        Where to write. Removed again if the block raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{target.stem}.", suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL refuse to overwrite; let them create it
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(
    target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``target`` atomically and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result onto ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the parsed TOML document of a config file (UTF-8, with or without a BOM).

    Every TOML file a user gives (run and province configs, rules, demand configs, standards)
    is read here, so each gets the same clear messages.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not UTF-8 (a GBK file saved by Notepad is named as such,
        with how to save it as UTF-8), or is not valid TOML (with the line and column).
    """
    import tomllib

    from yizhan.errors import ConfigError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"无法读取配置文件 {path}（{exc.strerror}），请检查路径。"
            f" Cannot read the config file {path} ({exc.strerror}); check the path."
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            raw.decode("gb18030")
            what_zh, what_en = "GBK（GB18030）编码", "GBK (GB18030)"
        except UnicodeDecodeError:
            what_zh, what_en = "未知编码", "an unknown encoding"
        raise ConfigError(
            f"配置文件 {path} 是{what_zh}，不是 UTF-8；请用记事本“另存为”，编码选 UTF-8 后保存。"
            f" The config file {path} is saved in {what_en}, not UTF-8; open it in Notepad,"
            " 'Save as' with encoding UTF-8, and run again."
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"配置文件 {path} 的 TOML 语法有误（{exc}），请按提示的行和列改正。"
            f" The config file {path} is not valid TOML ({exc}); fix it at the line and column"
            " shown."
        ) from exc


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def neutralise_formula(value: object) -> object:
    """Return text that a spreadsheet would run as a formula prefixed with ``'`` (CSV injection).

    Text starting with ``= + - @``, tab or CR is prefixed, except a plain number such as
    ``-12.5`` (a spreadsheet reads it as the number it is). ``+86 138 0000 0000`` is
    prefixed: Excel would try to compute it.
    """
    if (isinstance(value, str) and value.startswith(_FORMULA_START)
            and re.fullmatch(_PLAIN_NUMBER, value) is None):
        return "'" + value
    return value


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    The one place where tables are made safe for Excel and WPS; every CSV and XLSX yizhan
    writes goes through it (:func:`write_csv_atomic`, the workbook writers). Vectorised:
    categorical columns are fixed in their categories, text columns by one string match.

    Ids: a station, candidate or demand id that would run as a formula is already stored in
    this neutralised form when its file is read (with a warning in problems.csv), so the same
    id is the same string in every output, GeoJSON and Parquet included; other text (names,
    addresses) keeps its raw value in GeoJSON and Parquet and is neutralised in CSV/XLSX only.
    """
    import pandas as pd

    out = frame.copy(deep=False)
    out.columns = [neutralise_formula(c) for c in out.columns]  # headers too (extra columns)
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            fixed = [neutralise_formula(c) for c in cats]
            if fixed != list(cats):
                out[col] = (s.cat.rename_categories(fixed) if len(set(fixed)) == len(fixed)
                            else s.astype(object).map(neutralise_formula))
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            risky = s.str.startswith(_FORMULA_START, na=False) \
                if pd.api.types.is_string_dtype(s.dtype) else \
                s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
            if risky.any():
                out[col] = s.mask(risky.astype(bool), s[risky.astype(bool)].map(neutralise_formula))
    return out


def write_csv_atomic(
    frame: pd.DataFrame, target: str | os.PathLike[str], *, index: bool = False,
    engine: str = "pandas", float_format: str | None = None,
) -> Path:
    """Write ``frame`` as UTF-8 CSV with a BOM (Excel then shows Chinese correctly), atomically.

    The one CSV writer of yizhan: text cells are made safe with :func:`excel_safe` first, so
    opening the file in Excel or WPS cannot run a formula. ``engine="arrow"`` writes with
    pyarrow (about 6x faster for a million rows; text quoted, booleans ``true``/``false``);
    ``float_format`` applies to the pandas engine.
    """
    safe = excel_safe(frame)
    if engine == "arrow":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_pandas(safe, preserve_index=index)

        def _arrow(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                fh.write("\ufeff".encode())
                pacsv.write_csv(table, fh)

        return write_with(target, _arrow)
    return write_with(target, lambda tmp: safe.to_csv(tmp, index=index, encoding="utf-8-sig",
                                                      lineterminator="\n",
                                                      float_format=float_format))


def write_geojson_atomic(frame: gpd.GeoDataFrame, target: str | os.PathLike[str]) -> Path:
    """Write a GeoDataFrame as GeoJSON (EPSG:4326) atomically."""
    out = frame.to_crs("EPSG:4326") if frame.crs is not None else frame
    # Name the layer after the target, not the random temporary file, so output is byte-identical.
    layer = Path(target).stem
    return write_with(
        target, lambda tmp: out.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=layer)
    )


NPZ_ALIGN = 64
"""Byte alignment of every array's data in files written by :func:`write_npz_aligned`."""

_ALIGN_EXTRA_ID = 0xD935  # the zip extra-field id Android's zipalign uses for padding


def write_npz_aligned(fh: BinaryIO, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to the open binary file ``fh`` as an uncompressed ``.npz``.

    The file is an ordinary ``.npz`` (``numpy.load`` reads it) whose members are stored
    uncompressed with a padding extra field, so that each array's data starts at a multiple
    of :data:`NPZ_ALIGN` bytes; :func:`read_npz` can then map the arrays straight from the
    file instead of copying them. Member dates are fixed, so equal arrays give equal bytes.
    """
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            arr = np.asanyarray(value)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            # local header: 30 bytes + name + extra (+ a 20-byte zip64 field, forced below);
            # the .npy header itself pads the array data to a multiple of 64 from its start
            start = fh.tell() + 30 + len(info.filename.encode()) + 20 + 4
            pad = (-start) % NPZ_ALIGN
            info.extra = struct.pack("<HH", _ALIGN_EXTRA_ID, pad) + b"\0" * pad
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def read_npz(path: str | os.PathLike[str], *, mmap: bool = True) -> dict[str, np.ndarray]:
    """Return the arrays of the ``.npz`` file at ``path`` by name.

    With ``mmap`` (the default, except on Windows where a mapped file cannot be replaced),
    uncompressed members whose data is aligned (as :func:`write_npz_aligned` writes them) are
    read-only views of one memory map of the file: loading costs no copy, and the pages are
    shared with the operating system's file cache. Other members are read normally.

    Raises
    ------
    OSError, ValueError, zipfile.BadZipFile
        If the file cannot be read as an ``.npz``.
    """
    path = Path(path)
    use_map = mmap and os.name != "nt"
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        buf = _map_file(fh) if use_map else None
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            arr = None
            if buf is not None and info.compress_type == zipfile.ZIP_STORED:
                arr = _mapped_member(buf, info)
            if arr is None:
                with zf.open(info) as member:
                    arr = np.lib.format.read_array(member, allow_pickle=False)
            out[name] = arr
    return out


def _map_file(fh: BinaryIO) -> mmap.mmap | None:
    size = os.fstat(fh.fileno()).st_size
    if size == 0:
        return None
    return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _mapped_member(buf: mmap.mmap, info: zipfile.ZipInfo) -> np.ndarray | None:
    """Return the member's array as a view of ``buf``, or None if it cannot be mapped."""
    local = buf[info.header_offset:info.header_offset + 30]
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return None
    n_name, n_extra = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + n_name + n_extra
    header = io.BytesIO(buf[start:start + 65_536 + 10])
    version = np.lib.format.read_magic(header)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(header)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(header)
    else:
        return None
    offset = start + header.tell()
    count = int(np.prod(shape, dtype=np.int64))
    if (dtype.hasobject or offset % max(dtype.alignment, 1)
            or offset + count * dtype.itemsize > start + info.file_size):
        return None
    arr = np.frombuffer(buf, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C")
