"""Opening hours of stations and hosts, and whether a place is open during a worker's shift.

:func:`parse_hours` reads what unions and OpenStreetMap write (开放时间 / 营业时间 / opening_hours):

- ``08:00-20:00``, ``8:00～20:00``, ``8点-20点``, ``8:00至20:00`` — every day;
- ``24小时``, ``24 小时``, ``全天``, ``全天候``, ``24h``, ``24/7``, ``00:00-24:00`` — always;
- ``7:00-12:00,14:00-18:00`` (also ``、`` ``；`` ``/``) — several periods a day;
- ``周一至周五 9:00-17:00``, ``工作日 9:00-17:00``, ``周末 10:00-16:00``,
  ``星期一到星期六 8:00-18:00``, ``周一、周三 9:00-12:00``, ``每天 6:00-22:00`` — days;
- ``8:00-次日2:00`` (also ``翌日``, or an end before the start, ``22:00-05:00``) — past midnight;
- OpenStreetMap's ``Mo-Fr 08:00-18:00; Sa 09:00-12:00`` (also ``, Sa ...``),
  ``Mo,We 09:00-12:00``, ``Su off``.

The result is a week as 10,080 minutes (Monday 00:00 first) that are open or closed. A value that
is none of these is an error for the caller to report on its row (:class:`HoursError`), never a
guess; a blank value is "hours not recorded" (``None``).

A shift (:class:`Shift`, e.g. sanitation ``04:30-07:30``, drivers ``22:00-05:00``) is a daily
period on some days; a place serves the shift only when it is open for the whole of it on every
one of those days (:func:`open_during`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

__all__ = ["DAY", "WEEK", "HoursError", "Shift", "open_during", "parse_hours", "parse_shift"]

DAY = 24 * 60
WEEK = 7 * DAY

#: Day names (Monday = 0): Chinese with 周/星期/礼拜, OSM two-letter codes, English.
_DAY_NAMES: dict[str, int] = {}
for _k, _zh in enumerate("一二三四五六日"):
    for _p in ("周", "星期", "礼拜"):
        _DAY_NAMES[_p + _zh] = _k
for _p in ("周", "星期", "礼拜"):
    _DAY_NAMES[_p + "天"] = 6
    _DAY_NAMES[_p + "七"] = 6
for _k, _en in enumerate(("mo", "tu", "we", "th", "fr", "sa", "su")):
    _DAY_NAMES[_en] = _k
for _k, _en in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun")):
    _DAY_NAMES[_en] = _k
#: Words for sets of days.
_DAY_SETS: dict[str, tuple[int, ...]] = {
    "每天": tuple(range(7)), "每日": tuple(range(7)), "天天": tuple(range(7)),
    "全周": tuple(range(7)), "周一至周日": tuple(range(7)), "daily": tuple(range(7)),
    "工作日": (0, 1, 2, 3, 4), "周末": (5, 6), "双休日": (5, 6),
}
_ALWAYS = {"24小时", "24h", "24/7", "全天", "全天候", "全天24小时", "24小时营业", "24小时开放",
           "全天开放", "全年无休", "24小时全天", "每天24小时", "always"}
_CLOSED = {"off", "closed", "休息", "关闭", "不开放"}

def _time(p: str) -> str:
    """Pattern of one time of day: ``8``, ``08:30``, ``8点``, ``8点半``, ``8点15分``, ``8时``."""
    return (rf"(?P<{p}h>\d{{1,2}})(?:[:.](?P<{p}m>\d{{2}})|点(?:(?P<{p}zh>\d{{1,2}})分?"
            rf"|(?P<{p}half>半))?|时)?")


_RANGE = re.compile(
    rf"^{_time('a')}\s*(?:-|–|—|~|～|至|到|to)\s*"
    rf"(?P<next>次日|翌日|第二天|next\s*day\s*)?{_time('b')}$", re.IGNORECASE)
_DAY_TOKEN = "|".join(sorted((re.escape(k) for k in (*_DAY_NAMES, *_DAY_SETS)), key=len,
                             reverse=True))
_DAYS_PART = re.compile(
    rf"^((?:(?:{_DAY_TOKEN})(?:\s*(?:-|–|—|~|～|至|到)\s*(?:{_DAY_TOKEN}))?\s*[,，、]?\s*)+)\s*(.*)$",
    re.IGNORECASE)


#: A comma after a time that starts a new day rule ("Mo-Fr 07:00-23:00, Sa 09:00-23:00").
_RULE_COMMA = re.compile(rf"(?<=\d)\s*[,，]\s*(?=(?:{_DAY_TOKEN}))", re.IGNORECASE)


class HoursError(ValueError):
    """An opening-hours value that is none of the known spellings (message bilingual)."""


def _norm(text: object) -> str:
    out = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"\s+", " ", out)


def _minutes(m: re.Match[str], p: str, text: str) -> int:
    h = int(m.group(p + "h"))
    mm = m.group(p + "m") or m.group(p + "zh")
    minute = 30 if m.group(p + "half") else int(mm) if mm else 0
    if h > 24 or minute > 59 or (h == 24 and minute):
        raise HoursError(f"时间无效 invalid time in {text!r}")
    return h * 60 + minute


def _period(text: str) -> tuple[int, int]:
    """Return one period ``start, end`` in minutes of the day; ``end`` may pass 24:00."""
    m = _RANGE.match(text.strip())
    if not m:
        raise HoursError(f"无法识别的时段 unreadable period {text!r}")
    start, end = _minutes(m, "a", text), _minutes(m, "b", text)
    if start >= DAY:
        raise HoursError(f"开始时间无效 invalid start in {text!r}")
    if m.group("next") or end <= start:
        end += DAY  # past midnight ("8:00-次日2:00", "22:00-05:00")
    if end - start > DAY:
        raise HoursError(f"时段超过 24 小时 period longer than a day {text!r}")
    return start, end


def _days(text: str) -> tuple[int, ...]:
    """Return the weekdays (Monday = 0) named by ``周一至周五``, ``Mo-Fr``, ``周一、周三`` ..."""
    out: list[int] = []
    for item in re.split(r"\s*[,，、]\s*", text.strip()):
        if not item:
            continue
        if item in _DAY_SETS:
            out.extend(_DAY_SETS[item])
            continue
        ends = re.split(r"\s*(?:-|–|—|~|～|至|到)\s*", item)
        if len(ends) == 1 and ends[0] in _DAY_NAMES:
            out.append(_DAY_NAMES[ends[0]])
        elif len(ends) == 2 and ends[0] in _DAY_NAMES and ends[1] in _DAY_NAMES:
            a, b = _DAY_NAMES[ends[0]], _DAY_NAMES[ends[1]]
            out.extend((a + k) % 7 for k in range((b - a) % 7 + 1))
        else:
            raise HoursError(f"无法识别的日期 unreadable days {item!r}")
    return tuple(sorted(set(out)))


def parse_hours(value: object) -> np.ndarray | None:
    """Return the week's open minutes (bool array of :data:`WEEK`, Monday 00:00 first).

    ``None`` for a blank value (hours not recorded). Raises :class:`HoursError` for a value
    that is none of the spellings in the module docstring.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = _norm(value)
    if text in ("", "-", "—", "/", "nan", "none", "未知", "不详"):
        return None
    week = np.zeros(WEEK, dtype=bool)
    if text.replace(" ", "") in _ALWAYS:
        week[:] = True
        return week
    # rules separated by ";" / "；" / newlines: each "days periods" or "periods" (every day)
    rules = [r for chunk in re.split(r"[;；\n]", text) for r in _RULE_COMMA.split(chunk)]
    for part in filter(None, (r.strip() for r in rules)):
        days: tuple[int, ...] = tuple(range(7))
        rule = part
        m = _DAYS_PART.match(part)
        if m and m.group(1).strip():
            days = _days(m.group(1).strip(" ,，、"))
            rule = m.group(2).strip()
        if rule.replace(" ", "") in _CLOSED:
            for d in days:
                week[d * DAY:(d + 1) * DAY] = False
            continue
        if rule.replace(" ", "") in _ALWAYS:
            periods = [(0, DAY)]
        else:
            periods = [_period(p) for p in re.split(r"\s*[,，、/]\s*", rule) if p.strip()]
        if not periods:
            raise HoursError(f"缺少时段 no period in {rule!r}")
        for d in days:
            for start, end in periods:
                lo, hi = d * DAY + start, d * DAY + end
                week[lo:min(hi, WEEK)] = True
                if hi > WEEK:  # Sunday night into Monday morning
                    week[:hi - WEEK] = True
    return week


@dataclass(frozen=True)
class Shift:
    """A daily period of work on some days: ``start``/``end`` in minutes (``end`` may pass 24:00)."""

    name: str
    start: int
    end: int
    days: tuple[int, ...] = tuple(range(7))

    def label(self) -> str:
        """Return ``"22:00-05:00"`` (with the days when not every day)."""
        def hhmm(m: int) -> str:
            return f"{(m // 60) % 24:02d}:{m % 60:02d}"
        text = f"{hhmm(self.start)}-{hhmm(self.end)}"
        if self.days != tuple(range(7)):
            names = "一二三四五六日"
            text = "周" + "、".join(names[d] for d in self.days) + " " + text
        return text

    def minutes(self) -> np.ndarray:
        """Return the minutes of the week the shift covers (indices into a :data:`WEEK` array)."""
        one = np.arange(self.start, self.end)
        return np.concatenate([(d * DAY + one) % WEEK for d in self.days])


def parse_shift(name: str, value: object) -> Shift:
    """Return the shift ``name`` = ``"04:30-07:30"`` (or ``"周一至周五 9:00-17:00"``).

    Raises :class:`HoursError` for anything else (one period only: a shift with a break is
    two shifts).
    """
    text = _norm(value)
    days: tuple[int, ...] = tuple(range(7))
    m = _DAYS_PART.match(text)
    if m and m.group(1).strip():
        days = _days(m.group(1).strip(" ,，、"))
        text = m.group(2).strip()
    start, end = _period(text)
    return Shift(str(name), start, end, days)


def open_during(weeks: list[np.ndarray | None], shift: Shift) -> np.ndarray:
    """Return per place: open for the whole shift on each of its days (``pd.NA``-free bools).

    Places whose hours are not recorded (``None``) are not counted as open; the caller says how
    many there were.
    """
    minutes = shift.minutes()
    return np.array([bool(w is not None and w[minutes].all()) for w in weeks], dtype=bool)
