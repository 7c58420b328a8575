"""Problems found in an input file, one per file/row/field, in a table the user can open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

PROBLEM_COLUMNS = ("file", "row", "field", "value", "problem", "severity", "code")


@dataclass(frozen=True)
class Problem:
    """One problem in one cell or row of an input file.

    Attributes
    ----------
    file
        The file as the user named it.
    row
        Row as the user sees it in Excel (header = row 1); for vector files, the feature number
        plus one, so the first feature is row 2 as in a spreadsheet export. ``None`` for a
        problem with the whole file.
    field
        The column header as it appears in the file (or the canonical key if the column is missing).
    value
        The offending value as text.
    problem
        What is wrong and what would fix it: Chinese first, English beside.
    severity
        ``error`` (the value was not used, or the row was not loaded) or ``warning``.
    code
        A stable machine key such as ``bad_checklist_value``.
    """

    file: str
    row: int | None
    field: str
    value: str
    problem: str
    severity: str
    code: str


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Return problems as a DataFrame with the columns of :data:`PROBLEM_COLUMNS`, sorted by row."""
    frame = pd.DataFrame([asdict(p) for p in problems], columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame.sort_values(["file", "row", "field", "code"], kind="stable", na_position="first").reset_index(
        drop=True
    )
