"""Opening hours (开放时间/营业时间/opening_hours) and shifts: every spelling of the issue, bad ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from yizhan.stations import read_inventory
from yizhan.stations.hours import DAY, WEEK, HoursError, open_during, parse_hours, parse_shift


def week(*spans: tuple[tuple[int, ...], str, str]) -> np.ndarray:
    """Expected week: (days, "HH:MM", "HH:MM" or "+HH:MM" for the next day) per span."""
    out = np.zeros(WEEK, dtype=bool)

    def minute(text: str) -> int:
        h, m = text.lstrip("+").split(":")
        return int(h) * 60 + int(m) + (DAY if text.startswith("+") else 0)

    for days, start, end in spans:
        for d in days:
            for k in range(d * DAY + minute(start), d * DAY + minute(end)):
                out[k % WEEK] = True
    return out


EVERY = tuple(range(7))


@pytest.mark.parametrize(("text", "expected"), [
    ("08:00-20:00", week((EVERY, "08:00", "20:00"))),
    ("8:00～20:00", week((EVERY, "08:00", "20:00"))),
    ("8点-20点半", week((EVERY, "08:00", "20:30"))),
    ("24小时", week((EVERY, "00:00", "+00:00"))),
    ("24 小时", week((EVERY, "00:00", "+00:00"))),
    ("全天", week((EVERY, "00:00", "+00:00"))),
    ("24/7", week((EVERY, "00:00", "+00:00"))),
    ("00:00-24:00", week((EVERY, "00:00", "+00:00"))),
    ("7:00-12:00,14:00-18:00", week((EVERY, "07:00", "12:00"), (EVERY, "14:00", "18:00"))),
    ("7:00-12:00、14:00-18:00", week((EVERY, "07:00", "12:00"), (EVERY, "14:00", "18:00"))),
    ("周一至周五 9:00-17:00", week(((0, 1, 2, 3, 4), "09:00", "17:00"))),
    ("星期一到星期六 8:00-18:00", week(((0, 1, 2, 3, 4, 5), "08:00", "18:00"))),
    ("工作日 9:00-17:00；周末 10:00-16:00",
     week(((0, 1, 2, 3, 4), "09:00", "17:00"), ((5, 6), "10:00", "16:00"))),
    ("周一、周三 9:00-12:00", week(((0, 2), "09:00", "12:00"))),
    ("8:00-次日2:00", week((EVERY, "08:00", "+02:00"))),
    ("22:00-05:00", week((EVERY, "22:00", "+05:00"))),
    ("周五至周一 20:00-次日2:00", week(((4, 5, 6, 0), "20:00", "+02:00"))),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00",
     week(((0, 1, 2, 3, 4), "08:00", "18:00"), ((5,), "09:00", "12:00"))),
    ("Mo-Su 08:00-20:00; Su off", week(((0, 1, 2, 3, 4, 5), "08:00", "20:00"))),
    ("Mo-Fr 07:00-23:00, Sa 09:00-23:00, Su 10:00-23:00",
     week(((0, 1, 2, 3, 4), "07:00", "23:00"), ((5,), "09:00", "23:00"),
          ((6,), "10:00", "23:00"))),
    ("Mo,We 09:00-12:00", week(((0, 2), "09:00", "12:00"))),
    ("周一至周五 9:00-17:00，周六 10:00-16:00",
     week(((0, 1, 2, 3, 4), "09:00", "17:00"), ((5,), "10:00", "16:00"))),
])
def test_every_spelling(text: str, expected: np.ndarray) -> None:
    got = parse_hours(text)
    assert got is not None and np.array_equal(got, expected), text


@pytest.mark.parametrize("blank", [None, "", "  ", float("nan"), "-", "未知"])
def test_blank_is_not_recorded(blank) -> None:
    assert parse_hours(blank) is None


@pytest.mark.parametrize("bad", ["早上", "8:00", "25:00-26:00", "9:00-17:00 周一至周五",
                                 "周八 9:00-10:00", "8:00-20:00-22:00", "8:61-9:00",
                                 "24:30-25:00", "看情况"])
def test_unreadable_values_are_errors_not_guesses(bad: str) -> None:
    with pytest.raises(HoursError):
        parse_hours(bad)


def test_shift_open_during_needs_the_whole_shift_on_every_day() -> None:
    night = parse_shift("drivers", "22:00-05:00")
    assert night.label() == "22:00-05:00" and len(night.minutes()) == 7 * 7 * 60
    weeks = [parse_hours("8:00-次日2:00"), parse_hours("24小时"), None,
             parse_hours("周一至周五 00:00-24:00"), parse_hours("21:00-05:00")]
    assert open_during(weeks, night).tolist() == [False, True, False, False, True]
    lunch = parse_shift("riders", "11:00-13:30")
    assert open_during([parse_hours("7:00-12:00,14:00-18:00"), parse_hours("11:00-13:30")],
                       lunch).tolist() == [False, True]
    weekday = parse_shift("office", "周一至周五 9:00-17:00")
    assert weekday.days == (0, 1, 2, 3, 4) and weekday.label().startswith("周一")
    assert open_during([parse_hours("周一至周五 9:00-17:00")], weekday).tolist() == [True]
    with pytest.raises(HoursError):
        parse_shift("x", "7:00-12:00,14:00-18:00")  # a shift with a break is two shifts


def test_inventory_reports_unreadable_hours_on_their_row(tmp_path) -> None:
    path = tmp_path / "stations.csv"
    pd.DataFrame({"编号": ["A", "B", "C"], "经度": [114.0, 114.01, 114.02],
                  "纬度": [22.5, 22.51, 22.52],
                  "开放时间": ["8:00-次日2:00", "看情况", ""]}).to_csv(path, index=False)
    inv = read_inventory(path)
    assert len(inv.stations) == 3  # good rows and the bad one are all kept
    bad = inv.problems[inv.problems["code"] == "bad_hours"]
    assert bad[["row", "field", "value"]].values.tolist() == [[3, "开放时间", "看情况"]]
    assert inv.stations["hours"].tolist() == ["8:00-次日2:00", "看情况", ""]
