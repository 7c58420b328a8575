"""Which station is which: ids from the file or from content, station names, year-to-year matching.

Union inventories rarely carry a stable id, and rows change order between years. The rules,
in one place for the inventory reader and the year-over-year comparison:

- **Ids.** A station's id comes from the file's id column (编号, 站点编号, 驿站编号, code, id ...;
  序号 only when it holds codes, not the row count 1..N). A station without one gets an id
  derived from its content -- its normalised name and its place rounded to about 10 m --
  never from its row, so the same sheet in another order gives the same ids. The column
  ``id_source`` says which (``file`` / ``content``).
- **Names.** :func:`normalise_name` drops what varies between years without changing the
  station: the generic words of station names (工会, 户外劳动者, 爱心, 驿站, 服务站 ...),
  brackets, spaces and punctuation, full-width forms and letter case.
- **Matching** (:func:`match_stations`). When both years have ids from the file, ids decide;
  stations left over (ids renumbered) are matched by content. By content, two stations are
  the same when their names are similar (:data:`SIMILAR_NAME`) within :data:`MATCH_RADIUS_M`
  (moved beyond the move threshold), or when they stand at the same place
  (:data:`SAME_PLACE_M`) under another name (renamed). A pair is taken only when it is the
  clear best for both stations (by :data:`CLEAR_MARGIN`); a station with two near-equal
  candidates is listed for the user to confirm, never guessed. Every pair carries its basis
  and a confidence: ``0.5 * name similarity + 0.5 * (1 - distance / MATCH_RADIUS_M)``
  (1 for a match by id).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

#: Generic words of station names, longest first (removed by :func:`normalise_name`).
GENERIC_WORDS: tuple[str, ...] = tuple(sorted((
    "户外劳动者服务站点", "户外劳动者服务站", "户外劳动者", "劳动者港湾", "服务站点", "服务站", "服务点",
    "工会", "户外", "劳动者", "爱心", "暖心", "驿站", "站点", "司机之家", "之家",
), key=len, reverse=True))

#: Two names at least this similar (0-1, after normalising) name the same station.
SIMILAR_NAME = 0.75
#: Farthest a station may move between years and still be matched by its name (metres).
MATCH_RADIUS_M = 2000.0
#: Two stations this close are at the same place whatever their names (metres).
SAME_PLACE_M = 50.0
#: A pair is clear when its score beats every other candidate of both stations by this much.
CLEAR_MARGIN = 0.1
#: Evident duplicates in one sheet: the same name within this distance (metres) ...
DUPLICATE_NAME_M = 50.0
#: ... or any two stations this close (metres).
DUPLICATE_ANY_M = 10.0

_PUNCT = re.compile(r"[\s\(\)\[\]{}（）【】［］〔〕<>《》〈〉「」『』·•・,，.。、:：;；/\\|_\-—–~～'\"“”‘’!！?？#＃*]+")
_ROW_NUMBER = re.compile(r"^R\d+$")


def normalise_name(name: object) -> str:
    """Return ``name`` without what varies between years (see the module docstring).

    A name made only of generic words keeps them (``"工会驿站"`` stays ``"工会驿站"``).
    """
    text = unicodedata.normalize("NFKC", "" if name is None or pd.isna(name) else str(name))
    text = _PUNCT.sub("", text).lower()
    stripped = text
    for word in GENERIC_WORDS:
        stripped = stripped.replace(word, "")
    return stripped or text


def name_similarity(a: str, b: str) -> float:
    """Return how alike two normalised names are, 0-1 (1 = equal; 0 when either is blank)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def content_ids(names: Sequence[object], lon: np.ndarray, lat: np.ndarray) -> list[str]:
    """Return ids derived from content: ``S`` + a hash of normalised name and place (~10 m).

    Stations with the same content (evident duplicates) get ``-2``, ``-3`` ... in the order of
    their full content, so the ids do not depend on row order either.
    """
    base = []
    for name, x, y in zip(names, lon, lat, strict=True):
        key = f"{normalise_name(name)}|{float(x):.4f}|{float(y):.4f}"
        base.append("S" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10].upper())
    out = list(base)
    seen: dict[str, list[int]] = {}
    for k, value in enumerate(base):
        seen.setdefault(value, []).append(k)
    for members in seen.values():
        if len(members) > 1:
            order = sorted(members, key=lambda k: (str(names[k]), float(lon[k]), float(lat[k]), k))
            for rank, k in enumerate(order[1:], start=2):
                out[k] = f"{base[k]}-{rank}"
    return out


def is_row_number_column(values: pd.Series) -> bool:
    """Return whether a 序号 column holds the row count 1..N (not codes)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or not len(numbers):
        return False
    return bool((np.sort(numbers.to_numpy(dtype=float)) == np.arange(1, len(numbers) + 1)).all())


def ids_from_file(stations: pd.DataFrame) -> bool:
    """Return whether every station id came from the file (older outputs: not ``R<row>``)."""
    if not len(stations):
        return True
    if "id_source" in stations.columns:
        return bool((stations["id_source"].astype(str) == "file").all())
    return not stations["station_id"].astype(str).str.match(_ROW_NUMBER).any()


def evident_duplicates(names: Sequence[object], xy: np.ndarray) -> list[tuple[int, int, float]]:
    """Return row pairs that are evidently one station: same name within 50 m, any within 10 m."""
    if len(xy) < 2:
        return []
    tree = cKDTree(xy)
    norm = [normalise_name(n) for n in names]
    out = []
    for i, j in sorted(tree.query_pairs(DUPLICATE_NAME_M)):
        dist = float(np.hypot(*(xy[i] - xy[j])))
        if dist <= DUPLICATE_ANY_M or (norm[i] and norm[i] == norm[j]):
            out.append((i, j, dist))
    return out


@dataclass(frozen=True)
class Match:
    """One old station matched to one new station."""

    old: int
    new: int
    basis: str          # "id", "name+place" or "place" (same place, another name)
    confidence: float
    distance_m: float


@dataclass
class Matching:
    """All matches of two inventories, and the stations that need a person to decide."""

    pairs: list[Match] = field(default_factory=list)
    #: (side, row, candidate rows on the other side) for ambiguous stations; side "old"/"new".
    unclear: list[tuple[str, int, list[int]]] = field(default_factory=list)


def match_stations(
    old: pd.DataFrame, new: pd.DataFrame, old_xy: np.ndarray, new_xy: np.ndarray,
) -> Matching:
    """Return which old station is which new one (rules in the module docstring)."""
    result = Matching()
    left_old = np.ones(len(old), bool)
    left_new = np.ones(len(new), bool)
    if ids_from_file(old) and ids_from_file(new):
        new_pos = {sid: j for j, sid in enumerate(new["station_id"].astype(str))}
        for i, sid in enumerate(old["station_id"].astype(str)):
            j = new_pos.get(sid)
            if j is not None:
                dist = float(np.hypot(*(old_xy[i] - new_xy[j])))
                result.pairs.append(Match(i, j, "id", 1.0, dist))
                left_old[i] = left_new[j] = False
    _match_by_content(old, new, old_xy, new_xy, left_old=left_old, left_new=left_new,
                      result=result)
    return result


def _candidates(
    old: pd.DataFrame, new: pd.DataFrame, old_xy: np.ndarray, new_xy: np.ndarray, *,
    left_old: np.ndarray, left_new: np.ndarray,
) -> list[tuple[float, int, int, str, float]]:
    """Return (score, old row, new row, basis, distance) of every pair that may be one station."""
    oi, nj = np.flatnonzero(left_old), np.flatnonzero(left_new)
    if not len(oi) or not len(nj):
        return []
    old_names = [normalise_name(v) for v in old["name"]] if "name" in old else [""] * len(old)
    new_names = [normalise_name(v) for v in new["name"]] if "name" in new else [""] * len(new)
    near = cKDTree(old_xy[oi]).sparse_distance_matrix(
        cKDTree(new_xy[nj]), MATCH_RADIUS_M, output_type="coo_matrix")
    out = []
    for a, b, dist in zip(near.row, near.col, near.data, strict=True):
        i, j = int(oi[a]), int(nj[b])
        sim = name_similarity(old_names[i], new_names[j])
        if sim >= SIMILAR_NAME:
            basis = "name+place"
        elif dist <= SAME_PLACE_M:
            basis = "place"
        else:
            continue
        out.append((0.5 * sim + 0.5 * (1.0 - float(dist) / MATCH_RADIUS_M), i, j, basis, float(dist)))
    # points at exactly the same place are not stored by sparse_distance_matrix: add them
    stored = {(c[1], c[2]) for c in out}
    same = cKDTree(old_xy[oi]).query_ball_tree(cKDTree(new_xy[nj]), 1e-6)
    for a, bs in enumerate(same):
        for b in bs:
            i, j = int(oi[a]), int(nj[b])
            if (i, j) in stored:
                continue
            sim = name_similarity(old_names[i], new_names[j])
            out.append((0.5 * sim + 0.5, i, j, "name+place" if sim >= SIMILAR_NAME else "place", 0.0))
    return out


def _match_by_content(
    old: pd.DataFrame, new: pd.DataFrame, old_xy: np.ndarray, new_xy: np.ndarray, *,
    left_old: np.ndarray, left_new: np.ndarray, result: Matching,
) -> None:
    """Take clear mutual-best pairs until none is left; list the stations still in doubt."""
    cands = _candidates(old, new, old_xy, new_xy, left_old=left_old, left_new=left_new)
    while cands:
        best_old: dict[int, list[tuple[float, int, int, str, float]]] = {}
        best_new: dict[int, list[tuple[float, int, int, str, float]]] = {}
        for c in cands:
            best_old.setdefault(c[1], []).append(c)
            best_new.setdefault(c[2], []).append(c)
        taken = []
        for c in cands:
            if _clear(c, best_old[c[1]]) and _clear(c, best_new[c[2]]):
                taken.append(c)
        if not taken:
            break
        for score, i, j, basis, dist in taken:
            result.pairs.append(Match(i, j, basis, round(score, 3), dist))
            left_old[i] = left_new[j] = False
        cands = [c for c in cands if left_old[c[1]] and left_new[c[2]]]
    for side, rows, key, other in (("old", left_old, 1, 2), ("new", left_new, 2, 1)):
        for r in np.flatnonzero(rows):
            options = sorted({int(c[other]) for c in cands if c[key] == r})
            if options:
                result.unclear.append((side, int(r), options))


def _clear(pair: tuple[float, int, int, str, float],
           rivals: list[tuple[float, int, int, str, float]]) -> bool:
    """Return whether ``pair`` beats every other candidate in ``rivals`` by :data:`CLEAR_MARGIN`."""
    return all(pair[0] - other[0] >= CLEAR_MARGIN for other in rivals if other is not pair)
