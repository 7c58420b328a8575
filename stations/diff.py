"""Year-over-year comparison of two inventories: opened, closed, moved, upgraded, downgraded."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from yizhan.stations.amenities import AMENITIES
from yizhan.stations.coords import local_utm_of

from yizhan.checks import check_number

#: A station whose location changed by more than this many metres is reported as moved.
MOVE_THRESHOLD_M = 50.0

CHANGE_LABELS = {
    "opened": "新建 opened",
    "closed": "关闭 closed",
    "moved": "迁址 moved",
    "upgraded": "升级 upgraded",
    "downgraded": "降级 downgraded",
}
DIFF_COLUMNS = ("change", "change_label", "station_id", "name", "old_station_id", "distance_m",
                "amenities_gained", "amenities_lost", "old_tier", "new_tier", "lon", "lat")


def diff_inventories(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, move_threshold_m: float = MOVE_THRESHOLD_M
) -> pd.DataFrame:
    """Return one row per change between two inventories.

    Stations are matched by ``station_id``; stations whose id is new are then matched by the
    same name within 500 m (ids are often renumbered between years). A matched station can
    produce several rows (moved and upgraded).

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
        ``amenities_lost`` are comma-joined amenity keys.
    """
    check_number(move_threshold_m, option="move_threshold_m (--move-threshold)", minimum=0)
    utm = local_utm_of(new if len(new) else old) if len(new) or len(old) else "EPSG:3857"
    old_xy = _xy(old, utm)
    new_xy = _xy(new, utm)
    old_ids = old["station_id"].astype(str).tolist()
    pairs = _match_stations(old, new, old_xy, new_xy)
    matched_old = {i for i, _ in pairs}
    matched_new = {j for _, j in pairs}

    amenity_keys = [k for k in AMENITIES if k in old.columns or k in new.columns]
    rows: list[dict[str, object]] = []

    def base(change: str, frame: gpd.GeoDataFrame, idx: int, xy_lonlat: tuple[float, float]) -> dict:
        return {
            "change": change,
            "change_label": CHANGE_LABELS[change],
            "station_id": str(frame["station_id"].iloc[idx]),
            "name": str(frame["name"].iloc[idx]),
            "old_station_id": "",
            "distance_m": np.nan,
            "amenities_gained": "",
            "amenities_lost": "",
            "old_tier": "",
            "new_tier": "",
            "lon": round(xy_lonlat[0], 7),
            "lat": round(xy_lonlat[1], 7),
        }

    for j in range(len(new)):
        if j not in matched_new:
            row = base("opened", new, j, _lonlat(new, j))
            row["new_tier"] = _tier(new, j)
            rows.append(row)
    for i in range(len(old)):
        if i not in matched_old:
            row = base("closed", old, i, _lonlat(old, i))
            row["old_tier"] = _tier(old, i)
            rows.append(row)
    for i, j in pairs:
        dist = float(np.hypot(*(old_xy[i] - new_xy[j])))
        gained = [k for k in amenity_keys if _has(new, j, k) and not _has(old, i, k)]
        lost = [k for k in amenity_keys if _has(old, i, k) and not _has(new, j, k)]
        changes = []
        if dist > move_threshold_m:
            changes.append("moved")
        if gained:
            changes.append("upgraded")
        if lost:
            changes.append("downgraded")
        for change in changes:
            row = base(change, new, j, _lonlat(new, j))
            row.update(
                old_station_id=old_ids[i],
                distance_m=round(dist, 1),
                amenities_gained=",".join(gained),
                amenities_lost=",".join(lost),
                old_tier=_tier(old, i),
                new_tier=_tier(new, j),
            )
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(DIFF_COLUMNS))
    order = {c: k for k, c in enumerate(CHANGE_LABELS)}
    frame["_order"] = frame["change"].map(order)
    return (
        frame.sort_values(["_order", "station_id"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )

def _match_stations(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, old_xy: np.ndarray, new_xy: np.ndarray,
) -> list[tuple[int, int]]:
    """Return (old row, new row) pairs of the same station: same id, then same name within 500 m."""
    old_ids = old["station_id"].astype(str).tolist()
    new_ids = new["station_id"].astype(str).tolist()
    old_pos = {sid: i for i, sid in enumerate(old_ids)}
    pairs: list[tuple[int, int]] = [(old_pos[sid], j) for j, sid in enumerate(new_ids) if sid in old_pos]
    matched_old = {i for i, _ in pairs}
    matched_new = {j for _, j in pairs}
    # Second pass: same name within 500 m.
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(old["name"].astype(str)):
        if i not in matched_old and name:
            by_name.setdefault(name, []).append(i)
    for j, name in enumerate(new["name"].astype(str)):
        if j in matched_new or not name or name not in by_name:
            continue
        cands = [i for i in by_name[name] if i not in matched_old]
        if not cands:
            continue
        dists = np.hypot(*(old_xy[cands] - new_xy[j]).T)
        k = int(np.argmin(dists))
        if dists[k] <= 500.0:
            pairs.append((cands[k], j))
            matched_old.add(cands[k])
            matched_new.add(j)

    return pairs



def _xy(frame: gpd.GeoDataFrame, crs: object) -> np.ndarray:
    if frame.empty:
        return np.zeros((0, 2))
    projected = frame.geometry.to_crs(crs)
    return np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])


def _lonlat(frame: gpd.GeoDataFrame, idx: int) -> tuple[float, float]:
    point = frame.geometry.iloc[idx]
    return float(point.x), float(point.y)


def _has(frame: gpd.GeoDataFrame, idx: int, key: str) -> bool:
    return bool(frame[key].iloc[idx]) if key in frame.columns else False


def _tier(frame: gpd.GeoDataFrame, idx: int) -> str:
    return str(frame["compliance_tier"].iloc[idx]) if "compliance_tier" in frame.columns else ""
