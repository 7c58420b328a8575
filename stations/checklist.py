"""Checklist cell values (是/否, 有/无, ✓/✗, √/×, 1/0, Y/N, yes/no, true/false, blank) as booleans."""

from __future__ import annotations

import math
import unicodedata

# Lower-cased, width-folded spellings. "x"/"X" mean "no": on Chinese forms a cross (×) is the
# negative mark, and spreadsheet users type the letter for it.
TRUE_VALUES = frozenset(
    {"是", "有", "✓", "✔", "√", "☑", "●", "1", "1.0", "y", "yes", "true", "t", "对", "已配备", "配备",
     "有配备", "具备", "ok", "○有"}
)
FALSE_VALUES = frozenset(
    {"否", "无", "没有", "未配备", "不具备", "✗", "✘", "×", "☒", "x", "0", "0.0", "n", "no", "false", "f",
     "none"}
)
BLANK_VALUES = frozenset({"", "-", "—", "/", "nan", "none", "null", "n/a", "na"})


class UnreadableCellError(ValueError):
    """A checklist cell whose value is neither a yes nor a no spelling."""


def parse_checklist_value(value: object) -> bool:
    """Return the boolean a checklist cell means; blank means the amenity is not there.

    Raises
    ------
    UnreadableCellError
        If the value is not one of the known spellings; the caller reports it for that cell.
    """
    if value is None or value is True or value is False:
        return bool(value)
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise UnreadableCellError(str(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    if text in BLANK_VALUES:
        return False
    raise UnreadableCellError(str(value))
