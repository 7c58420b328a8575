"""Coverage rules: cutoff parsing, aliases, TOML loading and validation."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yizhan.geo.rules import (
    CoverageRule,
    Cutoff,
    load_rules,
    make_rule,
    normalize_requires,
    parse_cutoff,
    parse_rules,
    rule_from_options,
)

from yizhan.errors import ConfigError

# --- parse_cutoff ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metres", "minutes"),
    [
        ("10min", None, 10.0),
        ("15 分钟", None, 15.0),
        ("15分", None, 15.0),
        ("800m", 800.0, None),
        ("800 米", 800.0, None),
        ("1.5km", 1500.0, None),
        ("1.5 公里", 1500.0, None),
        ("2千米", 2000.0, None),
        ("1h", None, 60.0),
        ("0.5 小时", None, 30.0),
        ("90s", None, 1.5),
        ("90 秒", None, 1.5),
        ("１０ｍｉｎ", None, 10.0),  # full-width, as typed with a Chinese IME
        ("  10 Minutes ", None, 10.0),
        (".5km", 500.0, None),
    ],
)
def test_parse_cutoff_units(text: str, metres: float | None, minutes: float | None) -> None:
    cut = parse_cutoff(text)
    assert cut.metres == pytest.approx(metres) if metres is not None else cut.metres is None
    assert cut.minutes == pytest.approx(minutes) if minutes is not None else cut.minutes is None


def test_cutoff_weight_limit_label() -> None:
    assert parse_cutoff("10min").weight == "time"
    assert parse_cutoff("10min").limit == 600.0
    assert parse_cutoff("10min").label == "10min"
    assert parse_cutoff("800m").weight == "length"
    assert parse_cutoff("800m").limit == 800.0
    assert parse_cutoff("1.5km").label == "1500m"


@pytest.mark.parametrize("bad", ["10", "", "min", "10 parsecs", "-5min", "0m", "10minmin", "1,5km"])
def test_parse_cutoff_rejects(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_cutoff(bad)
    assert "10min" in str(info.value)  # the message shows how to write it


def test_parse_cutoff_rejects_bare_number() -> None:
    with pytest.raises(ConfigError, match="单位"):
        parse_cutoff(10)  # type: ignore[arg-type]


@given(
    st.floats(min_value=0.01, max_value=1e5, allow_nan=False).map(lambda v: round(v, 2)),
    st.sampled_from(["m", "米", "km", "公里", "min", "分钟", "h", "小时"]),
    st.sampled_from(["", " ", "  "]),
)
def test_parse_cutoff_roundtrip(value: float, unit: str, space: str) -> None:
    if value <= 0:
        return
    cut = parse_cutoff(f"{value}{space}{unit}")
    factors = {"m": 1, "米": 1, "km": 1000, "公里": 1000, "min": 1, "分钟": 1, "h": 60, "小时": 60}
    factor = factors[unit]
    got = cut.metres if unit in {"m", "米", "km", "公里"} else cut.minutes
    assert got is not None
    assert math.isclose(got, value * factor, rel_tol=1e-12)
    # the label parses back to the same cutoff
    again = parse_cutoff(cut.label)
    assert math.isclose(again.limit, cut.limit, rel_tol=1e-6)


@given(st.text(max_size=20))
def test_parse_cutoff_never_crashes_on_junk(text: str) -> None:
    try:
        cut = parse_cutoff(text)
    except ConfigError:
        return
    assert cut.limit > 0


# --- rules ------------------------------------------------------------------------------------


def test_make_rule_defaults_and_aliases() -> None:
    rule = make_rule(
        mode="电动车", cutoff="10 分钟", group="Rider", requires="洗手间, drinking_water"
    )
    assert rule == CoverageRule(
        name="rider_ebike_10min", group="rider", mode="ebike", cutoff_m=None, cutoff_min=10.0,
        requires=("drinking_water", "toilet"),
    )
    assert rule.weight == "time"
    assert rule.limit == 600.0
    assert make_rule(mode="walk", cutoff="800m", group="全部").group is None
    assert make_rule(mode="walk", cutoff="800m").name == "all_walk_800m"


def test_rule_is_frozen_and_hashable() -> None:
    rule = make_rule(mode="walk", cutoff="800m", requires=["toilet"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.name = "x"  # type: ignore[misc]
    assert {rule: 1}[rule] == 1


def test_rule_validation() -> None:
    with pytest.raises(ConfigError, match="mode"):
        CoverageRule(name="a", group=None, mode="boat", cutoff_m=1.0, cutoff_min=None)
    with pytest.raises(ConfigError):
        CoverageRule(name="a", group=None, mode="walk", cutoff_m=1.0, cutoff_min=2.0)
    with pytest.raises(ConfigError):
        CoverageRule(name="a", group=None, mode="walk", cutoff_m=None, cutoff_min=None)
    with pytest.raises(ConfigError, match="字母"):
        CoverageRule(name="a b", group=None, mode="walk", cutoff_m=1.0, cutoff_min=None)
    with pytest.raises(ConfigError, match="requires"):
        CoverageRule(name="a", group=None, mode="walk", cutoff_m=1.0, cutoff_min=None,
                     requires=("toilet", "drinking_water"))
    with pytest.raises(ConfigError, match="未知出行方式"):
        make_rule(mode="spaceship", cutoff="1km")
    with pytest.raises(ConfigError, match="未知设施"):
        normalize_requires(["jacuzzi"])


def test_rule_from_options_matches_make_rule() -> None:
    a = rule_from_options(mode="walk", cutoff="800m", group="sanitation", requires="toilet")
    b = make_rule(mode="walk", cutoff="800m", group="sanitation", requires=["toilet"])
    assert a == b
    assert a.describe().startswith("sanitation · walk · 800m")


TOML = """
title = "ignored"
[inputs]
network = "x.graphml"

[[rules]]
name = "rider_10min"
group = "rider"
mode = "ebike"
cutoff = "10min"
requires = ["toilet", "drinking_water"]
standard = "xinhui"

[[rules]]
group = "sanitation"
mode = "walk"
cutoff = "800m"
requires = ["洗手间"]
"""


def test_load_rules_from_toml(tmp_path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(TOML, encoding="utf-8")
    rules = load_rules(path)
    assert [r.name for r in rules] == ["rider_10min", "sanitation_walk_800m"]
    assert rules[0].standard == "xinhui"
    assert rules[0].requires == ("drinking_water", "toilet")
    assert rules[1].requires == ("toilet",)
    assert rules[1].cutoff_m == 800.0


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({}, "rules"),
        ({"rules": []}, "rules"),
        ({"rules": [{"mode": "walk"}]}, "cutoff"),
        ({"rules": [{"mode": "walk", "cutof": "1km", "cutoff": "1km"}]}, "cutof"),
        ({"rules": [{"mode": "walk", "cutoff": "1km", "requires": 3}]}, "requires"),
        ({"rules": [{"mode": "walk", "cutoff": "1km"}, {"mode": "walk", "cutoff": "1km"}]}, "重复"),
        ({"rules": [{"mode": "walk", "cutoff": "fast"}]}, "rule 1"),
    ],
)
def test_parse_rules_errors(doc: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_rules(doc, source="cfg.toml")


def test_load_rules_bad_toml(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[rules]\nmode=", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_rules(path)
    with pytest.raises(ConfigError, match="无法读取"):
        load_rules(tmp_path / "missing.toml")


def test_cutoff_dataclass_validation() -> None:
    with pytest.raises(ConfigError):
        Cutoff(metres=-1.0)
    with pytest.raises(ConfigError):
        Cutoff(metres=float("nan"))
    with pytest.raises(ConfigError):
        Cutoff()


def test_a_very_short_distance_cutoff_asks_about_minutes(caplog):
    import logging

    from yizhan.geo.rules import make_rule

    with caplog.at_level(logging.WARNING, logger="yizhan"):
        make_rule(mode="walk", cutoff="10m")
    assert "did you mean 10min?" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="yizhan"):
        make_rule(mode="walk", cutoff="300m")
    assert "did you mean" not in caplog.text
