"""Partner sites: candidate stations at hosts such as banks, post offices and petrol stations.

Most new stations are co-built with a host (in one city 284 of 292): a bank branch, a post
office, a petrol or charging station, a pharmacy, a shop or a public toilet lends a corner with
water, a toilet and a socket. :func:`osm_host_candidates` reads such hosts from a local
OpenStreetMap extract (``.osm``/``.osm.pbf``, offline) or, online, from OSM through osmnx, as
candidate sites with their host type, the host's ``opening_hours`` where tagged, and a cost per
host type. The union's own partner workplaces come in a candidate file with a host column
(:func:`yizhan.geo.candidates.read_candidates`).

=================  ====================================  ==========================
host type          OSM tags                              shown as
=================  ====================================  ==========================
bank               amenity=bank                          银行 bank
post_office        amenity=post_office                   邮局 post office
fuel               amenity=fuel                          加油站 petrol station
charging_station   amenity=charging_station              充电站 charging station
pharmacy           amenity=pharmacy | healthcare=pharmacy  药店 pharmacy
convenience        shop=convenience                      便利店 convenience store
supermarket        shop=supermarket                      超市 supermarket
toilets            amenity=toilets                       公共厕所 public toilet
=================  ====================================  ==========================
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry
from yizhan.geo.candidates import CANDIDATE_COLUMNS
from yizhan.geo.osm_proxies import ProxyKind, osm_proxies
from yizhan.stations.hours import HoursError, parse_hours

from yizhan import log
from yizhan.errors import ConfigError

__all__ = ["HOST_TYPES", "host_label", "osm_host_candidates", "require_hours"]

#: Host types: OSM tags (key, values) and the words shown in reports and on the map.
HOST_TYPES: dict[str, tuple[tuple[tuple[str, tuple[str, ...]], ...], str]] = {
    "bank": ((("amenity", ("bank",)),), "银行 bank"),
    "post_office": ((("amenity", ("post_office",)),), "邮局 post office"),
    "fuel": ((("amenity", ("fuel",)),), "加油站 petrol station"),
    "charging_station": ((("amenity", ("charging_station",)),), "充电站 charging station"),
    "pharmacy": ((("amenity", ("pharmacy",)),), "药店 pharmacy"),
    "convenience": ((("shop", ("convenience",)),), "便利店 convenience store"),
    "supermarket": ((("shop", ("supermarket",)),), "超市 supermarket"),
    "toilets": ((("amenity", ("toilets",)),), "公共厕所 public toilet"),
}


def host_label(host: str) -> str:
    """Return the words of a host type ("fuel" -> "加油站 petrol station"; others unchanged)."""
    entry = HOST_TYPES.get(str(host))
    return entry[1] if entry else str(host)


def osm_host_candidates(
    source: str | os.PathLike[str] | BaseGeometry,
    hosts: Sequence[str],
    *,
    polygon: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    costs: Mapping[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Return candidate sites at the OSM hosts of the given types.

    Parameters
    ----------
    source
        A local OSM file (``.osm``, ``.osm.pbf``, ``.osm.bz2``), a place name or a polygon
        (downloaded through osmnx; needs internet).
    hosts
        Host types to consider (keys of :data:`HOST_TYPES`).
    polygon
        Keep only hosts inside this area.
    costs
        Cost of a station at each host type (a new station on a road node costs 1); a type
        not given costs 1.

    Returns
    -------
    geopandas.GeoDataFrame
        Candidate columns (:data:`yizhan.geo.candidates.CANDIDATE_COLUMNS`): ``candidate_id``
        ``osm:n123``, the host's name (or its type when unnamed), ``kind`` new, ``source`` osm,
        ``host`` (the type key), ``hours`` (OSM ``opening_hours``, "" when untagged).

    Raises
    ------
    ConfigError
        For an unknown host type or a negative cost.
    """
    unknown = sorted(set(hosts) - set(HOST_TYPES))
    if unknown:
        raise ConfigError(f"未知依托场所类型 {unknown}，可选 {sorted(HOST_TYPES)}。"
                          f" Unknown host types {unknown}; use some of {sorted(HOST_TYPES)}.")
    price = {h: float((costs or {}).get(h, 1.0)) for h in hosts}
    if any(not np.isfinite(v) or v < 0 for v in price.values()):
        raise ConfigError("依托场所费用须为非负数。Host costs must be numbers >= 0.")
    table = [ProxyKind(h, HOST_TYPES[h][0], "other", 1.0) for h in dict.fromkeys(hosts)]
    found = osm_proxies(source, polygon=polygon, table=table, extra_tags=("opening_hours",))
    kinds = found["kind"].astype(str).to_numpy()
    names = found["name"].astype(str).to_numpy()
    hours = found["opening_hours"].astype(str).to_numpy(dtype=object)
    unreadable = np.array([not _readable(h) for h in hours], dtype=bool)
    if unreadable.any():
        log.warn(f"{int(unreadable.sum())} 个 OSM 场所的 opening_hours 无法识别，按“未记录”处理"
                 f"（例如 {hours[unreadable][0]!r}）。 {int(unreadable.sum())} OSM hosts have"
                 " opening_hours yizhan cannot read; they count as not recorded.")
        hours[unreadable] = ""
    out = gpd.GeoDataFrame({
        "candidate_id": found["demand_id"].astype(str).to_numpy(),
        "name": np.where(names != "", names, [host_label(k) for k in kinds]).astype(object),
        "kind": "new", "source": "osm",
        "cost": np.array([price[k] for k in kinds], dtype=float),
        "capacity": np.nan, "amenities_to_add": "", "station_id": "",
        "node_id": np.full(len(found), -1, dtype=np.int64),
        "source_row": np.full(len(found), -1, dtype=np.int64),
        "host": kinds.astype(object),
        "hours": hours,
    }, geometry=found.geometry.to_numpy(), crs="EPSG:4326")
    log.info(f"OSM 依托场所候选点 {len(out)} 个 / {len(out)} OSM host candidates")
    return out[[*CANDIDATE_COLUMNS, "geometry"]]


def _readable(hours: str) -> bool:
    try:
        parse_hours(hours)
    except HoursError:
        return False
    return True


def require_hours(candidates: gpd.GeoDataFrame, hours: str) -> gpd.GeoDataFrame:
    """Return the candidates that can keep ``hours`` (e.g. ``"24小时"``), with those hours.

    A candidate whose own hours are known and do not cover ``hours`` is dropped (and counted
    in the log); the others are kept, their ``hours`` set to the required hours unless their
    own already cover them (a road node or a host with unknown hours becomes a station that
    must keep these hours).
    """
    need = parse_hours(hours)
    if need is None:
        return candidates
    keep = np.ones(len(candidates), dtype=bool)
    shown = candidates["hours"].fillna("").astype(str).to_numpy(dtype=object)
    for k, own in enumerate(shown):
        week = parse_hours(own) if own else None
        if week is None:
            shown[k] = hours
        elif not week[need].all():
            keep[k] = False
    if (~keep).any():
        ids = candidates["candidate_id"].astype(str).to_numpy()[~keep]
        named = "、".join(ids[:20]) + ("…" if len(ids) > 20 else "")
        log.warn(f"{len(ids)} 个候选点的开放时间达不到 {hours}，已排除：{named}。"
                 f" {len(ids)} candidates are not open {hours} and were left out: {named}.")
    out = candidates.assign(hours=shown)
    return out.loc[keep].reset_index(drop=True)
