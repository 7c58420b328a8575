"""Year-over-year comparison of two inventories: opened, closed, moved, renamed, upgraded, downgraded.

Which station is which follows :mod:`yizhan.stations.identity`: ids decide when both years
carry ids from the file, otherwise names and places do; a station with two near-equal
candidates is listed as ``to_confirm`` with its candidates, never guessed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from yizhan.stations.amenities import AMENITIES
from yizhan.stations.coords import local_utm_of
from yizhan.stations.identity import Match, match_stations, normalise_name

from yizhan.checks import check_number

#: A station whose location changed by more than this many metres is reported as moved.
MOVE_THRESHOLD_M = 50.0

CHANGE_LABELS = {
    "opened": "新建 opened",
    "closed": "关闭 closed",
    "moved": "迁址 moved",
    "renamed": "更名 renamed",
    "upgraded": "升级 upgraded",
    "downgraded": "降级 downgraded",
    "to_confirm": "待确认 to confirm",
}
DIFF_COLUMNS = ("change", "change_label", "station_id", "name", "old_station_id", "old_name",
                "distance_m", "amenities_gained", "amenities_lost", "old_tier", "new_tier",
                "match_basis", "match_confidence", "candidates", "lon", "lat")


def diff_inventories(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, move_threshold_m: float = MOVE_THRESHOLD_M
) -> pd.DataFrame:
    """Return one row per change between two inventories.

    Stations are matched as :func:`yizhan.stations.identity.match_stations` says: by id when
    both years have ids from the file, else (and for ids renumbered) by similar name within
    2 km or by the same place under another name. A matched station can produce several rows
    (moved and upgraded). A station with two near-equal candidates gets a ``to_confirm`` row
    naming them (``candidates``), and is reported neither opened nor closed.

    Parameters
    ----------
    old, new
        Station GeoDataFrames from :func:`stations.read_inventory`.
    move_threshold_m
        Distance beyond which a matched station counts as moved.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DIFF_COLUMNS`, sorted by change then station id. ``amenities_gained`` and
        ``amenities_lost`` are comma-joined amenity keys; ``match_basis`` is ``id``,
        ``name+place`` or ``place``, ``match_confidence`` 0-1.
    """
    check_number(move_threshold_m, option="move_threshold_m (--move-threshold)", minimum=0)
    utm = local_utm_of(new if len(new) else old) if len(new) or len(old) else "EPSG:3857"
    old, new = old.reset_index(drop=True), new.reset_index(drop=True)
    matching = match_stations(old, new, _xy(old, utm), _xy(new, utm))
    unclear = {(side, row) for side, row, _ in matching.unclear}
    matched_old = {m.old for m in matching.pairs}
    matched_new = {m.new for m in matching.pairs}
    rows: list[dict[str, object]] = []
    for j in range(len(new)):
        if j not in matched_new and ("new", j) not in unclear:
            rows.append(_row("opened", new, j, new_tier=_tier(new, j)))
    for i in range(len(old)):
        if i not in matched_old and ("old", i) not in unclear:
            rows.append(_row("closed", old, i, old_tier=_tier(old, i)))
    for side, r, options in matching.unclear:
        frame, other = (old, new) if side == "old" else (new, old)
        listed = "; ".join(f"{_id(other, k)} {_name(other, k)}".strip() for k in options)
        rows.append(_row("to_confirm", frame, r, candidates=listed))
    amenity_keys = [k for k in AMENITIES if k in old.columns or k in new.columns]
    for match in matching.pairs:
        rows.extend(_pair_rows(old, new, match, amenity_keys, move_threshold_m))
    frame = pd.DataFrame(rows, columns=list(DIFF_COLUMNS))
    order = {c: k for k, c in enumerate(CHANGE_LABELS)}
    frame["_order"] = frame["change"].map(order)
    return (
        frame.sort_values(["_order", "station_id", "old_station_id"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _pair_rows(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, match: Match, amenity_keys: list[str],
    move_threshold_m: float,
) -> list[dict[str, object]]:
    """Return the change rows of one matched station (none when nothing changed)."""
    i, j = match.old, match.new
    gained = [k for k in amenity_keys if _has(new, j, k) is True and _has(old, i, k) is False]
    lost = [k for k in amenity_keys if _has(old, i, k) is True and _has(new, j, k) is False]
    changes = []
    if match.distance_m > move_threshold_m:
        changes.append("moved")
    if normalise_name(_name(old, i)) != normalise_name(_name(new, j)):
        changes.append("renamed")
    if gained:
        changes.append("upgraded")
    if lost:
        changes.append("downgraded")
    return [
        _row(change, new, j, old_station_id=_id(old, i), old_name=_name(old, i),
             distance_m=round(match.distance_m, 1), amenities_gained=",".join(gained),
             amenities_lost=",".join(lost), old_tier=_tier(old, i), new_tier=_tier(new, j),
             match_basis=match.basis, match_confidence=match.confidence)
        for change in changes
    ]


def _row(change: str, frame: gpd.GeoDataFrame, idx: int, **values: object) -> dict[str, object]:
    point = frame.geometry.iloc[idx]
    row: dict[str, object] = {
        "change": change, "change_label": CHANGE_LABELS[change],
        "station_id": _id(frame, idx), "name": _name(frame, idx), "old_station_id": "",
        "old_name": "", "distance_m": np.nan, "amenities_gained": "", "amenities_lost": "",
        "old_tier": "", "new_tier": "", "match_basis": "", "match_confidence": np.nan,
        "candidates": "", "lon": round(float(point.x), 7), "lat": round(float(point.y), 7),
    }
    row.update(values)
    return row


def _id(frame: pd.DataFrame, idx: int) -> str:
    return str(frame["station_id"].iloc[idx])


def _name(frame: pd.DataFrame, idx: int) -> str:
    return str(frame["name"].iloc[idx]) if "name" in frame.columns else ""


def _xy(frame: gpd.GeoDataFrame, crs: object) -> np.ndarray:
    if frame.empty:
        return np.zeros((0, 2))
    projected = frame.geometry.to_crs(crs)
    return np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])


def _has(frame: gpd.GeoDataFrame, idx: int, key: str) -> bool | None:
    """Return whether the station has amenity ``key`` (None: not recorded)."""
    if key not in frame.columns:
        return None
    value = frame[key].iloc[idx]
    return None if value is None or pd.isna(value) else bool(value)


def _tier(frame: gpd.GeoDataFrame, idx: int) -> str:
    return str(frame["compliance_tier"].iloc[idx]) if "compliance_tier" in frame.columns else ""
