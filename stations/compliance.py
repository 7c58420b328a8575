"""Compliance of each station with an amenity standard: items it has, items it lacks, score, tier."""

from __future__ import annotations

import numpy as np
import pandas as pd
from yizhan.stations.standards import Standard

TIERS = ("full", "partial", "low")
TIER_LABELS = {
    "full": "达标 full",
    "partial": "部分达标 partial",
    "low": "不达标 low",
}


def compliance(stations: pd.DataFrame, standard: Standard) -> pd.DataFrame:
    """Return compliance columns for each station under ``standard``.

    Parameters
    ----------
    stations
        Frame with one boolean column per amenity key; a missing column counts as not present.
    standard
        The amenity standard.

    Returns
    -------
    pandas.DataFrame
        Same index as ``stations``, columns ``standard``, ``required_have``, ``required_missing``
        (comma-joined keys in the standard's order), ``compliance_score`` (share of required items
        present, 0–1) and ``compliance_tier`` (``full`` = every required item; ``partial`` = at
        least ``standard.partial_share`` of them; ``low`` otherwise).
    """
    required = list(standard.required)
    have = np.column_stack(
        [
            stations[key].fillna(False).to_numpy(dtype=bool)
            if key in stations
            else np.zeros(len(stations), dtype=bool)
            for key in required
        ]
    ) if len(stations) else np.zeros((0, len(required)), dtype=bool)
    names = np.array(required, dtype=object)
    have_text = [",".join(names[row]) for row in have]
    missing_text = [",".join(names[~row]) for row in have]
    score = have.sum(axis=1) / len(required) if required else np.ones(len(stations))
    tier = np.where(score >= 1.0, "full", np.where(score >= standard.partial_share, "partial", "low"))
    return pd.DataFrame(
        {
            "standard": standard.name,
            "required_have": have_text,
            "required_missing": missing_text,
            "compliance_score": np.round(score.astype(float), 4),
            "compliance_tier": tier,
        },
        index=stations.index,
    )
