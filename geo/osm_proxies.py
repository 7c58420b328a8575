"""Demand proxies from OpenStreetMap, for districts with no worker data at all.

Where riders wait, couriers sort parcels and drivers refuel is visible on the map even when no
platform shares its data. :func:`osm_proxies` reads points of interest from the same local
``.osm`` / ``.osm.pbf`` / ``.osm.bz2`` file as the road network (pyosmium, no internet), or
through osmnx from a place name or polygon when online, and turns each into a demand point with
a worker group and a weight taken from a table of POI kinds.

Default table
-------------
Weights are relative intensities (one ordinary restaurant = 1.0), rough by design: they rank
places, they do not count workers. Override them per district (see :func:`proxy_table`).

====================  =========================================  ============  ======
kind                  OSM tags (all must match)                  group         weight
====================  =========================================  ============  ======
food_court            amenity=food_court                         rider         3.0
fast_food             amenity=fast_food                          rider         1.5
restaurant            amenity=restaurant                         rider         1.0
cafe                  amenity=cafe                               rider         0.5
convenience           shop=convenience|supermarket               rider         0.5
post_depot            amenity=post_depot                         courier       5.0
logistics             industrial=logistics                       courier       3.0
courier_office        office=courier                             courier       2.0
parcel_locker         amenity=parcel_locker                      courier       2.0
post_office           amenity=post_office                        courier       1.0
truck_parking         amenity=parking + hgv=designated|yes       driver        2.0
fuel                  amenity=fuel                               driver        1.0
charging_station      amenity=charging_station                   driver        1.0
taxi_rank             amenity=taxi                               driver        1.0
construction_site     landuse=construction                       construction  5.0
building_site         building=construction                      construction  3.0
waste_transfer        amenity=waste_transfer_station             sanitation    3.0
marketplace           amenity=marketplace                        other         2.0
====================  =========================================  ============  ======

Why these numbers: a food court or a depot gathers many workers at once (3–5), a fast-food
outlet sends more delivery orders than a sit-down restaurant (1.5), a café or corner shop fewer
(0.5); a construction site is a crew, not a visit (5). A feature matching several kinds counts
once, as the first kind in the table.

Config (``[proxies]`` in the demand TOML, see :mod:`yizhan.geo.demand`)::

    [proxies]
    source = "futian.osm.pbf"            # or a place name when online
    [proxies.weights]
    restaurant = 2.0                     # change a weight; 0 switches a kind off
    [proxies.groups]
    marketplace = "rider"                # change a group
    [proxies.kinds.bakery]               # add a kind
    tags = { shop = ["bakery"] }
    group = "rider"
    weight = 0.5
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from yizhan.geo.rules import WORKER_GROUPS

from yizhan import log
from yizhan.errors import ConfigError, InputFileError, NetworkError

WGS84 = "EPSG:4326"
OSM_SUFFIXES = (".osm", ".pbf", ".bz2", ".gz", ".o5m", ".opl", ".osc")

PROXY_COLUMNS = ("demand_id", "weight", "group", "kind", "name", "osm_type", "osm_id")


@dataclass(frozen=True)
class ProxyKind:
    """One kind of POI that stands for demand.

    Attributes
    ----------
    kind
        Short key (``restaurant``), used in overrides and in the output's ``kind`` column.
    tags
        ``((key, (value, ...)), ...)``: every key must carry one of its values (``"*"`` = any).
    group
        Worker group the POI stands for.
    weight
        Relative demand of one POI of this kind (> 0; 0 switches the kind off).
    """

    kind: str
    tags: tuple[tuple[str, tuple[str, ...]], ...]
    group: str
    weight: float


def _k(kind: str, group: str, weight: float, **tags: str) -> ProxyKind:
    return ProxyKind(kind, tuple((k, tuple(v.split("|"))) for k, v in tags.items()), group, weight)


DEFAULT_PROXY_TABLE: tuple[ProxyKind, ...] = (
    _k("food_court", "rider", 3.0, amenity="food_court"),
    _k("fast_food", "rider", 1.5, amenity="fast_food"),
    _k("restaurant", "rider", 1.0, amenity="restaurant"),
    _k("cafe", "rider", 0.5, amenity="cafe"),
    _k("convenience", "rider", 0.5, shop="convenience|supermarket"),
    _k("post_depot", "courier", 5.0, amenity="post_depot"),
    _k("logistics", "courier", 3.0, industrial="logistics"),
    _k("courier_office", "courier", 2.0, office="courier"),
    _k("parcel_locker", "courier", 2.0, amenity="parcel_locker"),
    _k("post_office", "courier", 1.0, amenity="post_office"),
    _k("truck_parking", "driver", 2.0, amenity="parking", hgv="designated|yes"),
    _k("fuel", "driver", 1.0, amenity="fuel"),
    _k("charging_station", "driver", 1.0, amenity="charging_station"),
    _k("taxi_rank", "driver", 1.0, amenity="taxi"),
    _k("construction_site", "construction", 5.0, landuse="construction"),
    _k("building_site", "construction", 3.0, building="construction"),
    _k("waste_transfer", "sanitation", 3.0, amenity="waste_transfer_station"),
    _k("marketplace", "other", 2.0, amenity="marketplace"),
)
"""The documented default table (see the module docstring)."""


def proxy_table(
    overrides: Mapping[str, object] | None = None,
    *,
    base: Sequence[ProxyKind] = DEFAULT_PROXY_TABLE,
) -> tuple[ProxyKind, ...]:
    """Return the POI kind table with a user's overrides applied.

    Parameters
    ----------
    overrides
        The ``[proxies]`` config table or part of it: ``weights`` (kind → weight), ``groups``
        (kind → group) and ``kinds`` (kind → ``{tags, group, weight}``, new or replacing).
        Kinds with weight 0 are dropped.
    base
        Table to start from (the defaults).

    Raises
    ------
    ConfigError
        For an unknown kind in ``weights``/``groups``, a negative weight, an unknown group or a
        new kind without tags.
    """
    table = {entry.kind: entry for entry in base}
    overrides = overrides or {}
    for kind, raw_spec in _mapping(overrides.get("kinds"), "proxies.kinds").items():
        spec = _mapping(raw_spec, f"proxies.kinds.{kind}")
        old = table.get(kind)
        raw_tags = spec.get("tags")
        if raw_tags is None and old is None:
            raise ConfigError(
                f'新的兴趣点类别 {kind!r} 需要 tags，例如 tags = {{ shop = ["bakery"] }}。'
                f' New POI kind {kind!r} needs tags, e.g. tags = {{ shop = ["bakery"] }}.'
            )
        tags = _parse_tags(raw_tags, kind) if raw_tags is not None else old.tags  # type: ignore[union-attr]
        group = spec.get("group", old.group if old else "other")
        weight = spec.get("weight", old.weight if old else 1.0)
        table[kind] = ProxyKind(kind, tags, _check_group(group, kind), _check_weight(weight, kind))
    for key, field in (("weights", "weight"), ("groups", "group")):
        for kind, value in _mapping(overrides.get(key), f"proxies.{key}").items():
            if kind not in table:
                known = ", ".join(sorted(table))
                raise ConfigError(
                    f"[proxies.{key}] 中的类别 {kind!r} 未定义；已知类别：{known}。"
                    f" Unknown POI kind {kind!r} in [proxies.{key}]; known kinds: {known}."
                )
            if field == "weight":
                table[kind] = replace(table[kind], weight=_check_weight(value, kind))
            else:
                table[kind] = replace(table[kind], group=_check_group(value, kind))
    return tuple(entry for entry in table.values() if entry.weight > 0)


def classify_tags(tags: pd.DataFrame, table: Sequence[ProxyKind]) -> np.ndarray:
    """Return, per row of a tag frame (one column per OSM key), the first matching kind's index.

    Rows matching no kind get ``-1``. Vectorised over rows: one ``isin`` per table entry.
    """
    result = np.full(len(tags), -1, dtype=np.int64)
    for i in range(len(table) - 1, -1, -1):  # later kinds first, so earlier kinds win
        match = np.ones(len(tags), dtype=bool)
        for key, values in table[i].tags:
            if key not in tags.columns:
                match[:] = False
                break
            column = tags[key]
            match &= column.notna().to_numpy() if "*" in values else column.isin(values).to_numpy()
        result[match] = i
    return result


def osm_proxies(
    source: str | os.PathLike[str] | BaseGeometry,
    *,
    polygon: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    table: Sequence[ProxyKind] | Mapping[str, object] | None = None,
    extra_tags: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Return demand points standing for workers, from OpenStreetMap points of interest.

    Parameters
    ----------
    source
        A local OSM file (``.osm``, ``.osm.pbf``, ``.osm.bz2``; read with pyosmium, offline),
        a place name (osmnx geocodes and downloads; needs internet) or a shapely polygon in
        EPSG:4326 (downloaded through osmnx).
    polygon
        Keep only POIs inside this area (EPSG:4326 polygon, or admin areas GeoDataFrame whose
        union is used).
    table
        POI kinds (:data:`DEFAULT_PROXY_TABLE` by default), or an overrides mapping as accepted
        by :func:`proxy_table`.
    extra_tags
        OSM tags to keep as columns of their own (e.g. ``opening_hours``; "" where untagged).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points sorted by OSM type and id, with ``demand_id`` (``osm:n123``,
        ``osm:w45`` for an area drawn as a way, ``osm:r6`` for a multipolygon), ``weight``,
        ``group``, ``kind``, ``name``, ``osm_type`` and ``osm_id``. Areas are represented by a
        point inside them.

    Raises
    ------
    InputFileError
        If a local file is missing or not readable as OSM data.
    NetworkError
        If a download was needed and failed (offline, unknown place).
    """
    kinds = _resolve_table(table)
    area = _area(polygon)
    extra = tuple(extra_tags)
    if isinstance(source, BaseGeometry):
        raw = _from_osmnx(source, kinds, by_polygon=True, extra=extra)
    else:
        path = Path(source)
        if path.exists() or path.suffix.lower() in OSM_SUFFIXES:
            raw = _from_file(path, kinds, extra=extra)
        else:
            raw = _from_osmnx(str(source), kinds, by_polygon=False, extra=extra)
    return _finish(raw, kinds, area, extra=extra)


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """POIs before classification: tags frame, ids and representative points."""

    tags: pd.DataFrame
    osm_type: np.ndarray
    osm_id: np.ndarray
    geometry: np.ndarray


def _keys(kinds: Iterable[ProxyKind]) -> list[str]:
    return sorted({key for entry in kinds for key, _ in entry.tags})


def _from_file(path: Path, kinds: Sequence[ProxyKind], *, extra: tuple[str, ...] = ()) -> _Raw:
    import osmium  # pyosmium; imported here so the module loads fast without OSM work

    if not path.exists():
        raise InputFileError(
            "OSM 文件不存在，请检查路径。The OSM file does not exist; check the path.",
            file=str(path),
        )
    keys = _keys(kinds)
    if not keys:
        return _Raw(pd.DataFrame(), np.array([]), np.array([]), np.array([]))
    first_keys = sorted({entry.tags[0][0] for entry in kinds})
    wkb = osmium.geom.WKBFactory()
    records: list[dict[str, str]] = []
    types: list[str] = []
    ids: list[int] = []
    wkbs: list[str | None] = []
    coords: list[tuple[float, float]] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_areas()
            .with_filter(osmium.filter.KeyFilter(*first_keys))
        )
        objects = log.progress(processor, desc="读取 OSM 兴趣点 reading OSM POIs", unit="obj")
        for obj in objects:  # only objects carrying a table key reach Python
            if isinstance(obj, osmium.osm.Node):
                if not obj.location.valid():
                    continue
                types.append("n")
                ids.append(int(obj.id))
                coords.append((obj.location.lon, obj.location.lat))
                wkbs.append(None)
            elif isinstance(obj, osmium.osm.Area):
                types.append("w" if obj.from_way() else "r")
                ids.append(int(obj.orig_id()))
                try:
                    wkbs.append(wkb.create_multipolygon(obj))
                except RuntimeError:  # broken ring: skip the area, not the file
                    types.pop()
                    ids.pop()
                    continue
                coords.append((np.nan, np.nan))
            else:
                continue  # plain ways/relations: their area (if any) is reported as Area
            tags = obj.tags
            records.append({key: str(tags.get(key, "")) for key in (*keys, "name", *extra)
                            if key in tags})
    except RuntimeError as exc:
        raise InputFileError(
            f"无法读取 OSM 文件（{exc}）；请确认是 .osm、.osm.pbf 或 .osm.bz2。"
            f" Cannot read the OSM file ({exc}); it must be .osm, .osm.pbf or .osm.bz2.",
            file=str(path),
        ) from exc
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    geoms = shapely.points(xy)
    has_area = np.array([w is not None for w in wkbs], dtype=bool)
    if has_area.any():
        areas = shapely.from_wkb(np.array([w for w in wkbs if w is not None], dtype=object))
        geoms[has_area] = shapely.point_on_surface(areas)
    frame = pd.DataFrame.from_records(records, columns=list(dict.fromkeys([*keys, "name", *extra])))
    return _Raw(frame, np.asarray(types, dtype=object), np.asarray(ids, dtype=np.int64), geoms)


def _from_osmnx(place: str | BaseGeometry, kinds: Sequence[ProxyKind], *, by_polygon: bool,
                extra: tuple[str, ...] = ()) -> _Raw:
    import osmnx as ox  # heavy import, only for downloads

    tags: dict[str, bool | str | list[str]] = {}
    for entry in kinds:
        key, values = entry.tags[0]
        if "*" in values:
            tags[key] = True
        else:
            known = tags.get(key, [])
            if isinstance(known, list):
                tags[key] = sorted({*known, *values})
    try:
        if by_polygon:
            features = ox.features.features_from_polygon(place, tags=tags)
        else:
            features = ox.features.features_from_place(place, tags=tags)
    except Exception as exc:  # osmnx raises many types for offline / unknown places
        raise NetworkError(
            f"无法从 OpenStreetMap 下载兴趣点（{exc}）。请联网重试，或提供本地 .osm.pbf 文件。"
            f" Cannot download points of interest from OpenStreetMap ({exc}); retry online or"
            " give a local .osm.pbf file."
        ) from exc
    return _raw_from_features(features, kinds, extra=extra)


def _raw_from_features(features: gpd.GeoDataFrame, kinds: Sequence[ProxyKind], *,
                       extra: tuple[str, ...] = ()) -> _Raw:
    """Return POIs from an osmnx features frame (index levels ``element``, ``id``)."""
    keys = _keys(kinds)
    frame = pd.DataFrame(
        {key: features[key] if key in features.columns else None
         for key in dict.fromkeys((*keys, "name", *extra))},
        index=features.index,
    ).reset_index(drop=True)
    frame = frame.astype(object).where(frame.notna(), None)
    element = features.index.get_level_values(0).astype(str)
    osm_type = np.asarray([e[:1] for e in element], dtype=object)
    osm_id = np.asarray(features.index.get_level_values(1), dtype=np.int64)
    geoms = features.geometry.to_crs(WGS84).to_numpy()
    # Points and areas only: an open way is not a place (the file reader skips it too).
    kinds_of_geom = shapely.get_type_id(geoms)
    usable = np.isin(kinds_of_geom, (0, 3, 4, 6))  # Point, Polygon, MultiPoint, MultiPolygon
    points = shapely.point_on_surface(geoms[usable])
    return _Raw(frame.loc[usable].reset_index(drop=True), osm_type[usable], osm_id[usable], points)


# --- output ------------------------------------------------------------------------------------


def _finish(raw: _Raw, kinds: Sequence[ProxyKind], area: BaseGeometry | None, *,
            extra: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    kind_index = classify_tags(raw.tags, kinds) if len(raw.tags) else np.zeros(0, np.int64)
    keep = kind_index >= 0
    if area is not None and keep.any():
        shapely.prepare(area)
        keep &= shapely.covers(area, raw.geometry)
    keep &= ~shapely.is_empty(raw.geometry) if len(raw.geometry) else keep
    idx = kind_index[keep]
    names = raw.tags["name"].to_numpy()[keep] if "name" in raw.tags else np.full(len(idx), None)
    osm_type = raw.osm_type[keep]
    osm_id = raw.osm_id[keep]
    frame = pd.DataFrame(
        {
            "demand_id": [f"osm:{t}{i}" for t, i in zip(osm_type, osm_id, strict=True)],
            "weight": np.array([kinds[i].weight for i in idx], dtype=float),
            "group": np.array([kinds[i].group for i in idx], dtype=object),
            "kind": np.array([kinds[i].kind for i in idx], dtype=object),
            "name": pd.Series(names, dtype=object).fillna("").to_numpy(),
            "osm_type": osm_type,
            "osm_id": osm_id.astype(np.int64),
            **{tag: (pd.Series(raw.tags[tag].to_numpy()[keep], dtype=object).fillna("")
                     .to_numpy() if tag in raw.tags else np.full(len(idx), "", dtype=object))
               for tag in extra if tag not in ("name",)},
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=raw.geometry[keep], crs=WGS84)
    out = out.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)
    dupes = out["demand_id"].duplicated()
    if dupes.any():  # a multipolygon drawn as way and relation is one place
        out = out.loc[~dupes].reset_index(drop=True)
    log.info(
        f"OSM 代理需求点 {len(out)} 个 / {len(out)} OSM demand proxies "
        f"({', '.join(f'{k} {n}' for k, n in out['kind'].value_counts().sort_index().items())})"
    )
    return out


def _resolve_table(
    table: Sequence[ProxyKind] | Mapping[str, object] | None,
) -> tuple[ProxyKind, ...]:
    if table is None:
        return DEFAULT_PROXY_TABLE
    if isinstance(table, Mapping):
        return proxy_table(table)
    return tuple(entry for entry in table if entry.weight > 0)


def _area(polygon: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None) -> BaseGeometry | None:
    if polygon is None:
        return None
    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        series = polygon.geometry if isinstance(polygon, gpd.GeoDataFrame) else polygon
        if series.crs is not None:
            series = series.to_crs(WGS84)
        return shapely.union_all(series.to_numpy())
    return polygon


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{where}] 应为表格（键 = 值） [{where}] must be a table of key = value")
    return value


def _parse_tags(raw: object, kind: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    tags = _mapping(raw, f"proxies.kinds.{kind}.tags")
    parsed = []
    for key, raw_values in tags.items():
        values = [raw_values] if isinstance(raw_values, str) else raw_values
        if not isinstance(values, list | tuple) or not values:
            raise ConfigError(
                f"类别 {kind!r} 的标签 {key!r} 需要取值列表。 Tag {key!r} of kind {kind!r} needs"
                " a list of values."
            )
        parsed.append((str(key), tuple(str(v) for v in values)))
    if not parsed:
        raise ConfigError(f"类别 {kind!r} 没有标签。 POI kind {kind!r} has no tags.")
    return tuple(parsed)


def _check_group(value: object, kind: str) -> str:
    if value not in WORKER_GROUPS:
        raise ConfigError(
            f"类别 {kind!r} 的群体 {value!r} 无效，可选：{', '.join(WORKER_GROUPS)}。"
            f" Invalid worker group {value!r} for kind {kind!r}; use {', '.join(WORKER_GROUPS)}."
        )
    return str(value)


def _check_weight(value: object, kind: str) -> float:
    try:
        weight = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        weight = -1.0
    if not np.isfinite(weight) or weight < 0:
        raise ConfigError(
            f"类别 {kind!r} 的权重 {value!r} 须为非负数。 Weight {value!r} of kind {kind!r} must be"
            " a number ≥ 0."
        )
    return weight
