"""Bilingual labels and colours shown on the map (Chinese first, English beside)."""

from __future__ import annotations

from collections.abc import Iterable

from yizhan.stations.amenities import AMENITIES
from yizhan.stations.compliance import TIER_LABELS

# Compliance tiers (labels from the stations package, one wording everywhere), plus stations
# whose tier is not known; colours of the map, the legend and the report's overview picture.
_TIER_COLOURS = {"full": "#1a9850", "partial": "#f39c12", "low": "#d73027",
                 "unknown": "#8c8c8c", "not_recorded": "#6c7a89"}
TIERS: tuple[tuple[str, str, str], ...] = tuple(
    (key, {**TIER_LABELS, "unknown": "未评估 not assessed"}[key], colour)
    for key, colour in _TIER_COLOURS.items()
)

GROUPS: dict[str, str] = {
    "rider": "外卖骑手 delivery riders",
    "courier": "快递员 couriers",
    "driver": "司机 drivers",
    "sanitation": "环卫工人 sanitation workers",
    "construction": "建筑工人 construction workers",
    "other": "其他 other workers",
}

# Qualitative palette for rules (service areas), colour-blind friendly (Tableau 10).
RULE_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
                "#ff9da7", "#9c755f", "#e15759", "#bab0ac")
# Sequential palette for hotspot weight classes (light to dark).
HOTSPOT_PALETTE = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
HOTSPOT_STROKE = "#7f2704"
GAP_COLOR = "#7b3294"
ADMIN_COLOR = "#555555"
NEW_SITE_COLOR = "#2166ac"
UPGRADE_COLOR = "#b8860b"
HEAT_GRADIENT = {"0.2": "#3288bd", "0.4": "#66c2a5", "0.6": "#fee08b", "0.8": "#f46d43",
                 "1.0": "#9e0142"}


def amenity_label(key: str) -> str:
    """Return ``"洗手间 toilet"`` for a canonical amenity key (the key itself if unknown)."""
    amenity = AMENITIES.get(key)
    return f"{amenity.zh} {amenity.en}" if amenity else key


def group_label(key: str) -> str:
    """Return the bilingual label of a worker group key (the key itself if unknown)."""
    return GROUPS.get(key, key)


def split_keys(value: object) -> list[str]:
    """Return the keys of a comma-joined string or a list/tuple/set of strings ('' -> [])."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[object] = value.replace("，", ",").replace(";", ",").split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        try:
            items = list(value)  # type: ignore[call-overload]
        except TypeError:
            items = [value]
    return [str(v).strip() for v in items if v is not None and str(v).strip()
            and str(v).strip().lower() != "nan"]


def labels_of(value: object) -> str:
    """Return comma-joined amenity labels for a list of keys (see :func:`split_keys`)."""
    return "、".join(amenity_label(k) for k in split_keys(value))


def groups_of(value: object) -> str:
    """Return comma-joined worker-group labels for a list of group keys."""
    return "、".join(group_label(k) for k in split_keys(value))
