"""Travel modes: the one table of how workers move (walk, e-bike, drive) and their aliases.

Every entry point reads modes here: the road network filters and speeds
(:mod:`yizhan.geo.network`), coverage rules (:mod:`yizhan.geo.rules`) and the command line's
choices. A light module (no heavy imports), so ``yizhan --help`` stays fast.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from yizhan.errors import ConfigError

__all__ = ["DRIVE_DEFAULT_KMH", "DRIVE_FALLBACK_KMH", "MODES", "WALK_KMH", "TravelMode",
           "get_mode", "normalize_mode"]

DRIVE_FALLBACK_KMH: dict[str, float] = {
    "motorway": 100.0, "motorway_link": 60.0,
    "trunk": 80.0, "trunk_link": 50.0,
    "primary": 60.0, "primary_link": 40.0,
    "secondary": 50.0, "secondary_link": 40.0,
    "tertiary": 40.0, "tertiary_link": 30.0,
    "unclassified": 30.0, "residential": 30.0, "road": 30.0,
    "living_street": 15.0, "service": 20.0,
}
"""Speeds (km/h) for road classes that carry no ``maxspeed`` anywhere in the study area."""

WALK_KMH = 4.5
"""Walking speed (km/h): the walk mode, and every mode's off-network leg (the last metres off
the road are walked: a driver parks, a rider pushes the bike into the compound)."""

DRIVE_DEFAULT_KMH = 30.0
"""Speed (km/h) for drivable road classes neither tagged nor listed in DRIVE_FALLBACK_KMH."""

# Highway values that are not roads in use; excluded in every mode (osmnx does the same).
_NOT_IN_USE = frozenset({
    "abandoned", "construction", "no", "planned", "proposed", "raceway", "razed", "rest_area",
    "services", "platform", "bus_guideway",
})


@dataclass(frozen=True)
class TravelMode:
    """How one group of workers moves: which ways it may use, in which direction, how fast.

    Attributes
    ----------
    name
        Key in :data:`MODES` (``walk``, ``ebike``, ``drive``).
    label_zh, label_en
        Names shown to users.
    default_speed_kmh
        Speed on every edge (walk, ebike) or the fallback speed (drive).
    respects_oneway
        Whether one-way streets may only be used in their direction.
    access_speed_kmh
        Speed of the straight off-network leg between a point and the road.
    excluded_highways
        ``highway`` values the mode may not use.
    excluded_services
        ``service`` values the mode may not use.
    forbidden_if_no
        Tags whose value ``no`` forbids the way (``foot=no`` for walking, ...).
    forbidden_if_yes
        Tags whose value ``yes`` forbids the way (``motorroad=yes``, ...).
    speeds_from_roads
        Whether edge speeds come from ``maxspeed`` / road class (drive) instead of one speed.
    """

    name: str
    label_zh: str
    label_en: str
    default_speed_kmh: float
    respects_oneway: bool
    access_speed_kmh: float
    excluded_highways: frozenset[str]
    excluded_services: frozenset[str] = frozenset({"private"})
    forbidden_if_no: tuple[str, ...] = ()
    forbidden_if_yes: tuple[str, ...] = ()
    speeds_from_roads: bool = False

    @property
    def speed_mps(self) -> float:
        """Return the off-network (access) speed in metres per second."""
        return self.access_speed_kmh / 3.6


MODES: dict[str, TravelMode] = {
    "walk": TravelMode(
        name="walk", label_zh="步行", label_en="walking",
        default_speed_kmh=WALK_KMH, respects_oneway=False, access_speed_kmh=WALK_KMH,
        excluded_highways=_NOT_IN_USE | {"cycleway", "motorway", "motorway_link"},
        forbidden_if_no=("foot",), forbidden_if_yes=("motorroad",),
    ),
    "ebike": TravelMode(
        name="ebike", label_zh="电动自行车", label_en="e-bike",
        default_speed_kmh=15.0, respects_oneway=True, access_speed_kmh=WALK_KMH,
        excluded_highways=_NOT_IN_USE | {
            "motorway", "motorway_link", "trunk", "trunk_link", "footway", "steps",
            "pedestrian", "corridor", "elevator", "escalator", "bridleway",
        },
        forbidden_if_no=("bicycle",), forbidden_if_yes=("motorroad", "expressway"),
    ),
    "drive": TravelMode(
        name="drive", label_zh="驾车", label_en="driving",
        default_speed_kmh=DRIVE_DEFAULT_KMH, respects_oneway=True, access_speed_kmh=WALK_KMH,
        excluded_highways=_NOT_IN_USE | {
            "bridleway", "corridor", "cycleway", "elevator", "escalator", "footway", "path",
            "pedestrian", "service", "steps", "track",
        },
        excluded_services=frozenset({
            "alley", "driveway", "emergency_access", "parking", "parking_aisle", "private",
        }),
        forbidden_if_no=("motor_vehicle", "motorcar"),
        speeds_from_roads=True,
    ),
}
"""The travel modes by key; see the module docstring for what each one uses."""


def get_mode(mode: str) -> TravelMode:
    """Return the :class:`TravelMode` of a mode key (``walk``, ``ebike``, ``drive``).

    Keys only: user text (``步行``, ``e-bike``) goes through :func:`normalize_mode` first.

    Raises
    ------
    ConfigError
        If ``mode`` is not one of :data:`MODES`.
    """
    try:
        return MODES[mode]
    except KeyError:
        raise ConfigError(
            f"未知的出行方式 {mode!r}，可选 {', '.join(MODES)}。"
            f" Unknown travel mode {mode!r}; use one of {', '.join(MODES)}."
        ) from None


#: Names and aliases of the travel modes (NFKC-folded, lower-case) → mode key.
_MODE_ALIASES: dict[str, str] = {
    "walk": "walk", "walking": "walk", "foot": "walk", "on foot": "walk", "步行": "walk",
    "ebike": "ebike", "e-bike": "ebike", "e_bike": "ebike", "bike": "ebike", "bicycle": "ebike",
    "cycle": "ebike", "电动车": "ebike", "电动自行车": "ebike", "电瓶车": "ebike", "骑行": "ebike",
    "drive": "drive", "driving": "drive", "car": "drive", "truck": "drive", "驾车": "drive",
    "开车": "drive", "机动车": "drive",
}


def normalize_mode(mode: str) -> str:
    """Return the canonical travel mode (``walk``, ``ebike``, ``drive``) for a name or alias."""
    key = unicodedata.normalize("NFKC", str(mode)).strip().lower()
    if key in _MODE_ALIASES:
        return _MODE_ALIASES[key]
    raise ConfigError(
        f"未知出行方式 {mode!r}，可选 walk（步行）、ebike（电动车）、drive（驾车）。"
        f" Unknown travel mode {mode!r}; use walk, ebike or drive."
    )


