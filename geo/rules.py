"""Coverage rules: which workers, which travel mode, how far, and which amenities must be there.

A rule reads like the union's own sentence: *riders reach a compliant station within 10 minutes
by e-bike*; *sanitation workers reach a toilet within 800 m on foot*.  It is a small frozen
dataclass, :class:`CoverageRule`, built in code, from CLI flags (:func:`rule_from_options`) or
from a TOML file (:func:`load_rules` / :func:`parse_rules`).

TOML format
-----------
One ``[[rules]]`` table per rule::

    [[rules]]
    name = "rider_10min"              # optional; letters, digits, _ and - (default built from
                                      # group, mode and cutoff, e.g. "rider_ebike_10min")
    group = "rider"                   # optional worker group; omitted or "all" = every group
    mode = "ebike"                    # walk | ebike | drive
    cutoff = "10min"                  # "10min", "15 分钟", "800m", "1.5km", "800 米", "1 小时"
    requires = ["toilet", "drinking_water"]   # optional amenity keys (or their Chinese names)
    standard = "xinhui"               # optional: the station must fully meet this standard

    [[rules]]
    group = "sanitation"
    mode = "walk"
    cutoff = "800m"
    requires = ["toilet"]

Other top-level tables (inputs of the yearly run, siting options) are ignored here; only
``[[rules]]`` is read.  Unknown keys inside a rule are an error, so a typo such as ``cutof``
never silently drops a cutoff.

A cutoff is either a distance (metres; the rule is evaluated on edge lengths) or a time
(minutes; the rule is evaluated on travel times of the mode).  Rule names become column
prefixes in coverage tables (``<rule>_covered``), so they must be unique.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from yizhan.geo.modes import MODES, normalize_mode
from yizhan.stations.amenities import AMENITIES
from yizhan.stations.columns import canonical_name

from yizhan import log
from yizhan.errors import ConfigError
from yizhan.io import read_toml

#: Travel modes a rule may name (:mod:`yizhan.geo.modes` defines them, their speeds and filters).
RULE_MODES: tuple[str, ...] = tuple(MODES)

#: Worker groups of the demand contract; a rule may also name another group, which then simply
#: has to appear in the demand's ``group`` column.
WORKER_GROUPS: tuple[str, ...] = (
    "rider", "courier", "driver", "sanitation", "construction", "other",
)

_ALL_GROUPS = {"", "all", "any", "*", "全部", "所有", "所有群体"}

#: Worker-group names and aliases (NFKC-folded, lower-case) → canonical group.
GROUP_ALIASES: dict[str, str] = {
    **{g: g for g in WORKER_GROUPS},
    **dict.fromkeys(
        ("骑手", "外卖", "外卖骑手", "外卖员", "配送员", "送餐员", "delivery", "riders"), "rider"
    ),
    **dict.fromkeys(("快递", "快递员", "快递小哥", "揽投员", "couriers", "express"), "courier"),
    **dict.fromkeys(
        (
            "司机",
            "出租车",
            "出租车司机",
            "网约车",
            "网约车司机",
            "货车司机",
            "货车",
            "taxi",
            "drivers",
            "truck",
        ),
        "driver",
    ),
    **dict.fromkeys(("环卫", "环卫工", "环卫工人", "保洁", "清洁工", "cleaner"), "sanitation"),
    **dict.fromkeys(
        ("建筑", "建筑工", "建筑工人", "工地", "施工", "builder", "builders"), "construction"
    ),
    **dict.fromkeys(("其他", "其它", "others"), "other"),
}


def canonical_group(value: object) -> str | None:
    """Return the canonical worker group of a name or alias (``骑手`` → ``rider``), else None.

    The one vocabulary of worker groups: rules and demand tables both go through it, so a rule
    written ``group = "骑手"`` matches demand rows marked ``rider`` or ``外卖员``.
    """
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return GROUP_ALIASES.get(text)


# Unit spellings after NFKC folding and lower-casing; value = (kind, factor to metres/minutes).
_UNITS: dict[str, tuple[Literal["m", "min"], float]] = {
    "m": ("m", 1.0), "metre": ("m", 1.0), "metres": ("m", 1.0), "meter": ("m", 1.0),
    "meters": ("m", 1.0), "米": ("m", 1.0),
    "km": ("m", 1000.0), "kilometre": ("m", 1000.0), "kilometres": ("m", 1000.0),
    "kilometer": ("m", 1000.0), "kilometers": ("m", 1000.0), "公里": ("m", 1000.0),
    "千米": ("m", 1000.0),
    "min": ("min", 1.0), "mins": ("min", 1.0), "minute": ("min", 1.0), "minutes": ("min", 1.0),
    "分钟": ("min", 1.0), "分": ("min", 1.0),
    "h": ("min", 60.0), "hr": ("min", 60.0), "hrs": ("min", 60.0), "hour": ("min", 60.0),
    "hours": ("min", 60.0), "小时": ("min", 60.0),
    "s": ("min", 1.0 / 60.0), "sec": ("min", 1.0 / 60.0), "secs": ("min", 1.0 / 60.0),
    "second": ("min", 1.0 / 60.0), "seconds": ("min", 1.0 / 60.0), "秒": ("min", 1.0 / 60.0),
}
_CUTOFF_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([^\s0-9.]+)\s*$")
_NAME_RE = re.compile(r"^[\w-]+$")
_RULE_KEYS = {"name", "group", "mode", "cutoff", "requires", "standard"}

#: Built-in rule sets, written ``[[rules]] preset = "shuang15"`` (with optional ``group``,
#: ``requires``, ``standard`` applied to each rule, and ``name`` as the rules' name prefix).
#: ``shuang15``: the national federation's 双15 programme (2023) — a 15-minute walk to a
#: station, and beside it the 1 km it stands for; the programme's 交叉覆盖 (every place reached
#: by more than one station) is each rule's ``covered_twice`` share, reported per area and group.
PRESETS: dict[str, tuple[dict[str, str], ...]] = {
    "shuang15": (
        {"name": "shuang15_walk_15min", "mode": "walk", "cutoff": "15min"},
        {"name": "shuang15_walk_1km", "mode": "walk", "cutoff": "1km"},
    ),
}
_PRESET_KEYS = {"preset", "name", "group", "requires", "standard"}


def expand_presets(entries: Sequence[object], *, where: str = "") -> list[object]:
    """Return ``[[rules]]`` entries with every ``preset = "..."`` replaced by its rules."""
    out: list[object] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping) or "preset" not in entry:
            out.append(entry)
            continue
        key = str(entry["preset"]).strip().lower()
        if key not in PRESETS:
            raise ConfigError(
                f"{where}第 {number} 条规则：未知预设 {entry['preset']!r}，可选 {sorted(PRESETS)}。"
                f" Rule {number}: unknown preset {entry['preset']!r}; use one of {sorted(PRESETS)}."
            )
        unknown = sorted(set(entry) - _PRESET_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}第 {number} 条规则（预设 {key}）有未知键 {unknown}，可用键："
                f"{sorted(_PRESET_KEYS)}。 Rule {number} (preset {key}) has unknown keys"
                f" {unknown}; allowed: {sorted(_PRESET_KEYS)}."
            )
        extra = {k: entry[k] for k in ("group", "requires", "standard") if k in entry}
        for rule in PRESETS[key]:
            name = rule["name"]
            if "name" in entry:
                name = f"{entry['name']}_{name.split('_', 1)[1]}"
            out.append({**rule, **extra, "name": name})
    return out

_CUTOFF_HELP = (
    "请写成“10min”“15 分钟”“800m”“1.5km”这样的数值加单位。"
    " Write a number with a unit, e.g. '10min', '15 分钟', '800m', '1.5km'."
)


@dataclass(frozen=True)
class Cutoff:
    """A parsed cutoff: a distance in metres or a time in minutes (exactly one is set).

    Attributes
    ----------
    metres
        Distance cutoff in metres, or ``None`` for a time cutoff.
    minutes
        Time cutoff in minutes, or ``None`` for a distance cutoff.
    """

    metres: float | None = None
    minutes: float | None = None

    def __post_init__(self) -> None:
        if (self.metres is None) == (self.minutes is None):
            raise ConfigError(
                "截止值须是距离或时间之一。"
                " A cutoff is either a distance or a time, not both or neither."
            )
        value = self.metres if self.metres is not None else self.minutes
        if value is None or not math.isfinite(value) or value <= 0:
            raise ConfigError(
                f"截止值须大于 0：{value!r}。The cutoff must be positive. {_CUTOFF_HELP}"
            )

    @property
    def weight(self) -> Literal["length", "time"]:
        """Return the network cost the cutoff is measured in: ``"length"`` or ``"time"``."""
        return "length" if self.metres is not None else "time"

    @property
    def limit(self) -> float:
        """Return the cutoff in network cost units: metres for distances, seconds for times."""
        if self.metres is not None:
            return float(self.metres)
        assert self.minutes is not None
        return float(self.minutes) * 60.0

    @property
    def label(self) -> str:
        """Return a short label such as ``"800m"`` or ``"10min"`` (used in default rule names)."""
        if self.metres is not None:
            return f"{_fmt_number(self.metres)}m"
        assert self.minutes is not None
        return f"{_fmt_number(self.minutes)}min"


def _fmt_number(value: float) -> str:
    """Return ``value`` without a trailing ``.0`` (``800.0`` -> ``"800"``, ``1.5`` -> ``"1.5"``)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def parse_cutoff(text: str | float | int) -> Cutoff:
    """Return the :class:`Cutoff` a text such as ``"10min"``, ``"800m"`` or ``"15 分钟"`` means.

    Parameters
    ----------
    text
        A positive number followed by a unit: metres (``m``, ``米``), kilometres (``km``,
        ``公里``, ``千米``), minutes (``min``, ``分钟``), hours (``h``, ``小时``) or seconds
        (``s``, ``秒``).  Full-width digits and spaces are accepted.  A bare number is refused
        because it is ambiguous.

    Returns
    -------
    Cutoff
        Distances in metres, times in minutes.

    Raises
    ------
    ConfigError
        If the text is not a positive number with a known unit.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise ConfigError(f"截止值 {text!r} 缺少单位。Cutoff {text!r} has no unit. {_CUTOFF_HELP}")
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    match = _CUTOFF_RE.match(folded)
    if match is None:
        raise ConfigError(f"无法识别截止值 {text!r}。Cannot read cutoff {text!r}. {_CUTOFF_HELP}")
    number, unit = match.groups()
    if unit not in _UNITS:
        raise ConfigError(
            f"截止值 {text!r} 的单位 {unit!r} 未知。Unknown unit {unit!r}. {_CUTOFF_HELP}"
        )
    kind, factor = _UNITS[unit]
    value = float(number) * factor
    if kind == "m":
        return Cutoff(metres=value)
    return Cutoff(minutes=value)


def normalize_group(group: str | None) -> str | None:
    """Return a rule's canonical worker group, or ``None`` when it means every group.

    Raises
    ------
    ConfigError
        For a name that is no worker group (it would match no demand, silently).
    """
    if group is None:
        return None
    text = unicodedata.normalize("NFKC", str(group)).strip().lower()
    if text in _ALL_GROUPS:
        return None
    canonical = canonical_group(text)
    if canonical is None:
        raise ConfigError(
            f"未知的劳动者群体 {group!r}；可选：{', '.join(WORKER_GROUPS)}（或 骑手、快递员、司机、"
            "环卫工人、建筑工人、其他），全部群体写 all。"
            f" Unknown worker group {group!r}; use one of {', '.join(WORKER_GROUPS)} (or their"
            " Chinese names), or all."
        )
    return canonical


def normalize_requires(requires: Iterable[str] | str | None) -> tuple[str, ...]:
    """Return sorted, unique canonical amenity keys for keys or aliases (``洗手间`` -> ``toilet``).

    A string is split on commas (ASCII or Chinese) and ``、``.
    """
    if requires is None:
        return ()
    items = re.split(r"[,，、;；]", requires) if isinstance(requires, str) else list(requires)
    keys: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"设施名须是文字：{item!r}。Amenity names must be text: {item!r}.")
        if not item.strip():
            continue
        key = canonical_name(item)
        if key not in AMENITIES:
            raise ConfigError(
                f"未知设施 {item!r}，可选：{', '.join(AMENITIES)}。"
                f" Unknown amenity {item!r}; use one of the keys listed."
            )
        keys.add(key)
    return tuple(sorted(keys))


@dataclass(frozen=True)
class CoverageRule:
    """A coverage rule: worker group, travel mode, cutoff and the amenities a station must have.

    Attributes
    ----------
    name
        Unique name, used as the column prefix in coverage tables (letters, digits, ``_``, ``-``).
    group
        Worker group whose demand the rule measures, or ``None`` for every group.
    mode
        Travel mode: ``walk``, ``ebike`` or ``drive``.
    cutoff_m, cutoff_min
        Distance cutoff in metres or time cutoff in minutes; exactly one is set.
    requires
        Amenity keys a station must have to count for this rule (sorted, unique).
    standard
        Name of a station standard the station must fully meet, or ``None``.
    """

    name: str
    group: str | None
    mode: str
    cutoff_m: float | None
    cutoff_min: float | None
    requires: tuple[str, ...] = field(default=())
    standard: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ConfigError(
                f"规则名 {self.name!r} 只能含字母、数字、下划线和连字符。"
                f" Rule name {self.name!r} may contain only letters, digits, '_' and '-'."
            )
        if self.mode not in RULE_MODES:
            raise ConfigError(
                f"规则 {self.name}：出行方式 {self.mode!r} 须为 walk、ebike 或 drive。"
                f" Rule {self.name}: mode must be walk, ebike or drive."
            )
        Cutoff(metres=self.cutoff_m, minutes=self.cutoff_min)  # validates exactly-one and > 0
        if tuple(sorted(set(self.requires))) != tuple(self.requires) or any(
            key not in AMENITIES for key in self.requires
        ):
            raise ConfigError(
                f"规则 {self.name}：requires 须为排序去重的设施键，请用 normalize_requires。"
                f" Rule {self.name}: requires must be sorted unique amenity keys"
                " (use normalize_requires)."
            )

    @property
    def cutoff(self) -> Cutoff:
        """Return the rule's cutoff as a :class:`Cutoff`."""
        return Cutoff(metres=self.cutoff_m, minutes=self.cutoff_min)

    @property
    def weight(self) -> Literal["length", "time"]:
        """Return the network cost the rule is measured in (``"length"`` or ``"time"``)."""
        return self.cutoff.weight

    @property
    def limit(self) -> float:
        """Return the cutoff in network cost units (metres or seconds)."""
        return self.cutoff.limit

    def describe(self) -> str:
        """Return a bilingual one-line description, e.g. ``"rider · ebike · 10min · toilet"``."""
        group = self.group or "全部 all"
        parts = [group, self.mode, self.cutoff.label]
        if self.requires:
            parts.append("+".join(self.requires))
        if self.standard:
            parts.append(f"标准 standard {self.standard}")
        return " · ".join(parts)


#: A distance cutoff below this many metres is probably minutes written as metres (``10m``).
SHORT_CUTOFF_M = 100.0


def make_rule(
    *,
    mode: str,
    cutoff: str | Cutoff,
    group: str | None = None,
    requires: Iterable[str] | str | None = None,
    standard: str | None = None,
    name: str | None = None,
) -> CoverageRule:
    """Return a :class:`CoverageRule` from loosely written values (aliases, cutoff text).

    Parameters
    ----------
    mode
        Travel mode or alias (``步行``, ``e-bike``, ``驾车`` ...).
    cutoff
        Cutoff text such as ``"10min"`` or a :class:`Cutoff`.
    group
        Worker group; ``None``/``"all"``/``"全部"`` means every group.
    requires
        Amenity keys or aliases, a list or a comma-separated string.
    standard
        Station standard the station must fully meet.
    name
        Rule name; default ``<group or all>_<mode>_<cutoff>`` (e.g. ``rider_ebike_10min``).

    Returns
    -------
    CoverageRule
    """
    parsed = cutoff if isinstance(cutoff, Cutoff) else parse_cutoff(cutoff)
    if parsed.metres is not None and parsed.metres < SHORT_CUTOFF_M:
        whole = f"{parsed.metres:g}"
        log.warn(f"截止距离 {whole} 米很短，是否想写 {whole}min（分钟）？"
                 f" A cutoff of {whole} m is very short: did you mean {whole}min?")
    canonical_mode = normalize_mode(mode)
    canonical_group = normalize_group(group)
    if name is None:
        name = f"{canonical_group or 'all'}_{canonical_mode}_{parsed.label}"
        name = re.sub(r"[^\w-]", "_", name)
    standard_name = str(standard).strip() if standard is not None else None
    return CoverageRule(
        name=name,
        group=canonical_group,
        mode=canonical_mode,
        cutoff_m=parsed.metres,
        cutoff_min=parsed.minutes,
        requires=normalize_requires(requires),
        standard=standard_name or None,
    )


def rule_from_options(
    *,
    mode: str,
    cutoff: str,
    group: str | None = None,
    requires: str | None = None,
    standard: str | None = None,
    name: str | None = None,
) -> CoverageRule:
    """Return the single rule described by CLI flags (``--mode --cutoff --group --requires``)."""
    return make_rule(
        mode=mode, cutoff=cutoff, group=group, requires=requires, standard=standard, name=name
    )


def parse_rules(config: Mapping[str, object], *, source: str | None = None) -> list[CoverageRule]:
    """Return the rules of a parsed TOML document's ``[[rules]]`` array (in file order).

    Parameters
    ----------
    config
        The document as returned by :func:`tomllib.loads`.
    source
        File name used in error messages.

    Returns
    -------
    list of CoverageRule

    Raises
    ------
    ConfigError
        If ``[[rules]]`` is missing or empty, a rule lacks ``mode``/``cutoff``, has unknown keys,
        names an unknown preset, or two rules share a name.

    A ``preset`` entry (:data:`PRESETS`, e.g. ``shuang15``) stands for its rules.
    """
    where = f"{source}: " if source else ""
    raw = config.get("rules")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}配置中没有 [[rules]] 规则表。No [[rules]] tables in the config;"
            " add at least one with mode and cutoff."
        )
    rules: list[CoverageRule] = []
    for number, entry in enumerate(expand_presets(raw, where=where), start=1):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}第 {number} 条规则不是表。Rule {number} is not a table.")
        unknown = sorted(set(entry) - _RULE_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}第 {number} 条规则有未知键 {unknown}，可用键：{sorted(_RULE_KEYS)}。"
                f" Rule {number} has unknown keys {unknown}; allowed: {sorted(_RULE_KEYS)}."
            )
        for key in ("mode", "cutoff"):
            if key not in entry:
                raise ConfigError(
                    f"{where}第 {number} 条规则缺少 {key}。Rule {number} lacks {key!r}."
                )
        requires = entry.get("requires")
        if requires is not None and not isinstance(requires, str | list):
            raise ConfigError(
                f"{where}第 {number} 条规则的 requires 须为列表。"
                f" Rule {number}: requires must be a list."
            )
        try:
            rule = make_rule(
                mode=str(entry["mode"]),
                cutoff=entry["cutoff"],  # type: ignore[arg-type]
                group=None if entry.get("group") is None else str(entry["group"]),
                requires=requires,  # type: ignore[arg-type]
                standard=None if entry.get("standard") is None else str(entry["standard"]),
                name=None if entry.get("name") is None else str(entry["name"]),
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}第 {number} 条规则 rule {number}: {exc}") from exc
        rules.append(rule)
    check_unique_names(rules, source=source)
    return rules


def load_rules(path: str | Path) -> list[CoverageRule]:
    """Return the rules in a TOML file's ``[[rules]]`` tables (format in the module docstring)."""
    path = Path(path)
    return parse_rules(read_toml(path), source=str(path))


def check_unique_names(rules: Sequence[CoverageRule], *, source: str | None = None) -> None:
    """Raise :class:`ConfigError` if two rules share a name (names become column prefixes)."""
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            where = f"{source}: " if source else ""
            raise ConfigError(
                f"{where}规则名 {rule.name!r} 重复，请用 name 区分。"
                f" Rule name {rule.name!r} is used twice; give each rule a distinct name."
            )
        seen.add(rule.name)
