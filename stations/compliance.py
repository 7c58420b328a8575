"""Compliance of each station with an amenity standard: items it has, items it lacks, score, tier."""

from __future__ import annotations

import numpy as np
import pandas as pd
from yizhan.stations.standards import Standard

TIERS = ("full", "partial", "low", "not_recorded")
#: What each tier is called wherever a user reads it (console, map legend, report), Chinese first.
TIER_LABELS = {
    "full": "达标 fully compliant",
    "partial": "部分达标 partly compliant",
    "low": "不达标 low compliance",
    "not_recorded": "未记录，无法判定 not recorded",
}


def compliance(stations: pd.DataFrame, standard: Standard) -> pd.DataFrame:
    """Return compliance columns for each station under ``standard``.

    Parameters
    ----------
    stations
        Frame with one boolean column per amenity key; a missing column or a blank (NA) value
        means "not recorded", not "lacking".
    standard
        The amenity standard.

    Returns
    -------
    pandas.DataFrame
        Same index as ``stations``, columns ``standard``, ``required_have``, ``required_missing``
        (recorded as lacking), ``required_not_recorded`` (comma-joined keys in the standard's
        order), ``compliance_score`` (share of required items recorded as present, 0–1) and
        ``compliance_tier`` (``full`` = every required item; ``partial`` = at least
        ``standard.partial_share`` of them; ``low`` otherwise; ``not_recorded`` when the items
        not recorded could make it either way).
    """
    required = list(standard.required)
    n = len(stations)
    # per required item: 1 = has it, 0 = lacks it, -1 = not recorded (no column, or a blank value)
    state = np.column_stack([_state(stations, key) for key in required]) \
        if n and required else np.zeros((n, len(required)), dtype=np.int8)
    names = np.array(required, dtype=object)
    have, lack, unknown = state == 1, state == 0, state == -1
    score = have.sum(axis=1) / len(required) if required else np.ones(n)
    best = (have | unknown).sum(axis=1) / len(required) if required else np.ones(n)
    tier = _tier(score, standard.partial_share)
    tier = np.where(tier == _tier(best, standard.partial_share), tier, "not_recorded")
    return pd.DataFrame(
        {
            "standard": standard.name,
            "required_have": [",".join(names[row]) for row in have],
            "required_missing": [",".join(names[row]) for row in lack],
            "required_not_recorded": [",".join(names[row]) for row in unknown],
            "compliance_score": np.round(score.astype(float), 4),
            "compliance_tier": tier,
        },
        index=stations.index,
    )


def _tier(score: np.ndarray, partial_share: float) -> np.ndarray:
    return np.where(score >= 1.0, "full", np.where(score >= partial_share, "partial", "low"))


def _state(stations: pd.DataFrame, key: str) -> np.ndarray:
    """Return 1 (has), 0 (lacks) or -1 (not recorded) per station for amenity ``key``."""
    if key not in stations:
        return np.full(len(stations), -1, dtype=np.int8)
    values = stations[key].astype("boolean")
    return np.where(values.isna().to_numpy(), -1, values.fillna(False).to_numpy(dtype=bool)).astype(np.int8)
