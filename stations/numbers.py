"""Numbers and coordinates from cells as unions type them: one parser for every input table.

Station inventories, demand tables and candidate lists all go through :func:`parse_numbers`, so
a value that loads in one loads in all. Read as numbers:

- numbers stored as numbers (XLSX) and number text: ``113.0815``, `` 22.5 ``, ``1e2``;
- full-width digits, signs and points (``１１３．５``, ``－２２``), normalised with NFKC;
- a decimal comma when there is no point (``113,0815``) in degrees, thousands separators
  (``1,200``) otherwise; a trailing ``°``;
- with ``degrees=True``, degree-minute-second text: ``113°32'45.6"E``, ``22°31′12″N``,
  ``113度32分45.6秒``, ``东经113.5°``, ``S 33°52'``; S and W (南纬, 西经) give negatives.

Not numbers: blanks (and ``nan``, ``none``, ``null``, ``n/a``, ``-``), which are reported as
missing; and unreadable text, booleans, dates and non-finite values (``inf``, ``-inf``,
``1e400``), which are reported as unreadable. Nothing is guessed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["BLANK_WORDS", "parse_dms", "parse_numbers"]

#: Cell texts that mean "no value".
BLANK_WORDS = frozenset({"", "nan", "none", "null", "n/a", "na", "-", "--", "—"})

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DMS = re.compile(
    r"^(?P<pre>[NSEWnsew]|北纬|南纬|东经|西经)?\s*(?P<sign>[-+])?\s*"
    rf"{_NUMBER}\s*(?:°|度|º|˚)\s*"
    rf"(?:{_NUMBER}\s*(?:'|′|’|分)\s*)?"
    rf"(?:{_NUMBER}\s*(?:\"|″|”|''|′′|秒)\s*)?"
    r"(?P<post>[NSEWnsew]|北|南|东|西)?$"
)
_NEGATIVE_HEMI = frozenset({"S", "W", "s", "w", "南纬", "西经", "南", "西"})


def parse_dms(text: str) -> float:
    """Return the decimal degrees of degree-minute-second text, or NaN if it is not one.

    Minutes and seconds must be below 60; a hemisphere letter or word (N/S/E/W, 北纬, 东经 …)
    may stand before or after the value, not both.
    """
    match = _DMS.match(text.strip())
    if match is None:
        return float("nan")
    deg, minutes, seconds = (float(g) if g else 0.0 for g in match.group(3, 4, 5))
    pre, post = match.group("pre"), match.group("post")
    if (pre and post) or minutes >= 60 or seconds >= 60:
        return float("nan")
    value = deg + minutes / 60 + seconds / 3600
    minus = match.group("sign") == "-"
    south_or_west = (pre or post or "") in _NEGATIVE_HEMI
    if minus and south_or_west:
        return float("nan")  # "-22°S": which sign was meant?
    return -value if minus or south_or_west else value


def parse_numbers(values: pd.Series, *, degrees: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return (numbers, blank mask) of a column of cells; NaN where not a finite number.

    Parameters
    ----------
    values
        The cells of one column, as read by :func:`yizhan.stations.readers.read_table`.
    degrees
        Also read degree-minute-second text, and a comma as the decimal mark.

    Returns
    -------
    numbers : numpy.ndarray of float
        NaN where the cell is blank, unreadable or not finite (``inf``, ``1e400``).
    blank : numpy.ndarray of bool
        True where the cell is blank (missing rather than unreadable).
    """
    n = len(values)
    if pd.api.types.is_bool_dtype(values):
        return np.full(n, np.nan), values.isna().to_numpy(copy=True)
    if pd.api.types.is_numeric_dtype(values):
        nums = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, copy=True)
        blank = values.isna().to_numpy(copy=True)
        nums[~np.isfinite(nums)] = np.nan
        return nums, blank
    cells = values.astype(object).where(values.notna(), "")
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        nums = np.array(pd.to_numeric(cells, errors="coerce"), dtype=float)  # fast, compiled
    else:  # mixed cells (XLSX): TRUE/FALSE and dates are not numbers
        usable = cells.map(lambda v: isinstance(v, str | int | float) and not isinstance(v, bool))
        nums = np.array(pd.to_numeric(cells.where(usable, ""), errors="coerce"), dtype=float)
    nums[~np.isfinite(nums)] = np.nan
    blank = np.zeros(n, dtype=bool)
    rest = np.flatnonzero(np.isnan(nums))
    if len(rest):  # only the cells the fast parse refused
        nums[rest], blank[rest] = _slow(cells.iloc[rest], degrees=degrees)
    return nums, blank


def _slow(cells: pd.Series, *, degrees: bool) -> tuple[np.ndarray, np.ndarray]:
    ok_types = cells.map(lambda v: isinstance(v, str | int | float) and not isinstance(v, bool))
    text = cells.astype(str).str.normalize("NFKC").str.strip()
    is_blank = text.str.lower().isin(BLANK_WORDS).to_numpy(dtype=bool)
    compact = text.str.replace(r"\s", "", regex=True).str.rstrip("°")
    if degrees:  # a lone comma is a decimal comma in a coordinate (113,0815)
        lone = compact.str.count(",").eq(1) & ~compact.str.contains(".", regex=False)
        compact = compact.where(~lone, compact.str.replace(",", ".", regex=False))
    cleaned = compact.str.replace(",", "", regex=False)
    nums = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, copy=True)
    if degrees:
        todo = np.flatnonzero(np.isnan(nums) & ~is_blank)
        for i in todo:
            nums[i] = parse_dms(text.iloc[i])
    nums[~np.isfinite(nums) | ~ok_types.to_numpy(dtype=bool)] = np.nan
    return nums, is_blank & ok_types.to_numpy(dtype=bool)
