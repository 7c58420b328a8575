"""Atomic output and input fingerprints.

Every file yizhan writes goes to a temporary file in the same folder first and is then renamed
over the target, so a crash never leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


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
        prefix=f".{target.stem}.", suffix=suffix if suffix is not None else target.suffix,
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


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` whole.

    An existing ``target`` is moved aside first and removed only after the new folder is in
    place, so readers never see a folder that is half old and half new.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            old.rmdir()
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Return text that a spreadsheet would run as a formula prefixed with ``'`` (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells cannot run as spreadsheet formulas."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            out[col] = out[col].map(neutralise_formula)
    return out


def write_csv_atomic(
    frame: pd.DataFrame, target: str | os.PathLike[str], *, index: bool = False
) -> Path:
    """Write ``frame`` as UTF-8 CSV with a BOM (Excel then shows Chinese correctly), atomically.

    Text cells starting with ``= + - @`` are neutralised so opening the file in Excel or WPS
    cannot run a formula.
    """
    safe = excel_safe(frame)
    return write_with(target, lambda tmp: safe.to_csv(tmp, index=index, encoding="utf-8-sig",
                                                      lineterminator="\n"))


def write_geojson_atomic(frame: gpd.GeoDataFrame, target: str | os.PathLike[str]) -> Path:
    """Write a GeoDataFrame as GeoJSON (EPSG:4326) atomically."""
    out = frame.to_crs("EPSG:4326") if frame.crs is not None else frame
    # Name the layer after the target, not the random temporary file, so output is byte-identical.
    layer = Path(target).stem
    return write_with(
        target, lambda tmp: out.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=layer)
    )
