import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yizhan.stations.checklist import (
    BLANK_VALUES,
    FALSE_VALUES,
    TRUE_VALUES,
    UnreadableCellError,
    parse_checklist_value,
)

YES = ["是", "有", "✓", "√", "1", "Y", "y", "yes", "YES", "Yes", "true", "TRUE", "True", " 是 ", "✔", 1, 1.0, True]
NO = ["否", "无", "✗", "×", "0", "N", "n", "no", "NO", "false", "False", "x", "X", 0, 0.0, False]
BLANK = ["", "  ", None, math.nan, "-", "/"]


@pytest.mark.parametrize("value", YES)
def test_yes_spellings(value):
    assert parse_checklist_value(value) is True


@pytest.mark.parametrize("value", NO)
def test_no_spellings(value):
    assert parse_checklist_value(value) is False


@pytest.mark.parametrize("value", BLANK)
def test_blank_means_absent(value):
    assert parse_checklist_value(value) is False


@pytest.mark.parametrize("value", ["有时", "maybe", "2", "是否", "待定", 3, -1.5])
def test_unreadable_is_an_error_not_false(value):
    with pytest.raises(UnreadableCellError):
        parse_checklist_value(value)


def test_full_width_forms_fold():
    assert parse_checklist_value("ＹＥＳ") is True
    assert parse_checklist_value("１") is True


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_value_is_bool_or_reported(value):
    try:
        result = parse_checklist_value(value)
    except UnreadableCellError:
        return
    assert isinstance(result, bool)


def test_spelling_sets_are_disjoint():
    assert not (TRUE_VALUES & FALSE_VALUES)
    assert not (TRUE_VALUES & BLANK_VALUES)
