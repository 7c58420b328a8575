"""Amenity standards: named profiles (``xinhui-7``, ``acftu``, ``drivers-home``) and user TOML files.

A standard file is TOML::

    name = "my-district"            # optional; defaults to the file name
    title_zh = "本区驿站标准"         # optional labels
    title_en = "Our district's checklist"
    required = ["toilet", "drinking_water", "first_aid"]
    optional = ["wifi"]
    [tiers]                         # optional: share of required items for the "partial" tier
    partial = 0.5

Amenity names are the canonical keys of :mod:`yizhan.stations.amenities`; Chinese or English names such as
``洗手间`` or ``"first-aid kit"`` are accepted and mapped to their key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from yizhan.stations.amenities import AMENITIES, AMENITY_KEYS
from yizhan.stations.columns import canonical_name

from yizhan.errors import ConfigError, InputFileError
from yizhan.io import read_toml

BUILTIN_STANDARDS = ("xinhui-7", "acftu", "drivers-home")
DEFAULT_PARTIAL_SHARE = 0.5
_ALLOWED_KEYS = frozenset({"name", "title_zh", "title_en", "required", "optional", "tiers"})


@dataclass(frozen=True)
class Standard:
    """Return value of :func:`load_standard`: an amenity standard.

    Attributes
    ----------
    name
        Profile name, e.g. ``xinhui-7``.
    required, optional
        Amenity keys the standard requires or lists as optional.
    title_zh, title_en
        Labels for reports.
    partial_share
        A station with at least this share of required items (but not all) is tier ``partial``;
        below it, ``low``.
    """

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    title_zh: str = ""
    title_en: str = ""
    partial_share: float = DEFAULT_PARTIAL_SHARE

    @property
    def items(self) -> tuple[str, ...]:
        """Return required then optional keys."""
        return self.required + tuple(k for k in self.optional if k not in self.required)


def load_standard(spec: str | Path | Standard) -> Standard:
    """Return the standard named by ``spec``: a built-in name or a path to a TOML file.

    Raises
    ------
    ConfigError
        For an unknown built-in name.
    InputFileError
        For a TOML file that cannot be parsed, has unknown keys or names unknown amenities.
    """
    if isinstance(spec, Standard):
        return spec
    text_spec = str(spec)
    if text_spec in BUILTIN_STANDARDS:
        ref = resources.files("yizhan.stations") / "profiles" / f"{text_spec}.toml"
        return _parse(tomllib.loads(ref.read_text(encoding="utf-8")),
                      source=f"<built-in {text_spec}>", default_name=text_spec)
    path = Path(text_spec)
    if path.suffix.lower() != ".toml" or not path.exists():
        choices = ", ".join(BUILTIN_STANDARDS)
        raise ConfigError(
            f"未知的标准 {text_spec!r}：请使用内置标准（{choices}）或一个存在的 .toml 文件。"
            f" Unknown standard {text_spec!r}: use a built-in one ({choices}) or an existing .toml file."
        )
    return _parse(read_toml(path), source=str(path), default_name=path.stem)


def _parse(data: dict[str, object], *, source: str, default_name: str) -> Standard:
    unknown = sorted(set(data) - _ALLOWED_KEYS)
    if unknown:
        raise InputFileError(
            f"未知的键 {unknown}；允许的键：{sorted(_ALLOWED_KEYS)}。"
            f" Unknown keys {unknown}; allowed keys: {sorted(_ALLOWED_KEYS)}.",
            file=source, field=unknown[0],
        )
    required = _amenity_list(data.get("required", []), source=source, field="required")
    if not required:
        raise InputFileError(
            "标准至少需要一个必备项（required）。A standard needs at least one required item.",
            file=source, field="required",
        )
    optional = _amenity_list(data.get("optional", []), source=source, field="optional")
    tiers = data.get("tiers", {})
    partial = tiers.get("partial", DEFAULT_PARTIAL_SHARE) if isinstance(tiers, dict) else None
    if not isinstance(partial, int | float) or not 0 <= partial <= 1:
        raise InputFileError(
            "tiers.partial 必须是 0 到 1 之间的数。tiers.partial must be a number between 0 and 1.",
            file=source, field="tiers.partial",
        )
    return Standard(
        name=str(data.get("name", default_name)),
        required=required,
        optional=tuple(k for k in optional if k not in required),
        title_zh=str(data.get("title_zh", "")),
        title_en=str(data.get("title_en", "")),
        partial_share=float(partial),
    )


def _amenity_list(values: object, *, source: str, field: str) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise InputFileError(
            f"{field} 必须是列表，例如 [\"toilet\", \"wifi\"]。{field} must be a list, e.g. [\"toilet\", \"wifi\"].",
            file=source, field=field,
        )
    keys: list[str] = []
    for value in values:
        key = value if value in AMENITIES else canonical_name(value)
        if key not in AMENITIES:
            raise InputFileError(
                f"未知的设施名称 {value!r}；可用的键：{', '.join(AMENITY_KEYS)}。"
                f" Unknown amenity {value!r}; known keys: {', '.join(AMENITY_KEYS)}.",
                file=source, field=field,
            )
        if key not in keys:
            keys.append(key)
    return tuple(keys)
