"""Network coverage of worker demand by rest stations, per rule and per admin area, plus E2SFCA.

For every :class:`~yizhan.geo.rules.CoverageRule` the module finds, for every demand point, the nearest
station that qualifies for the rule (has the rule's amenities, meets its standard), the network
metres and minutes to it, the off-network access metres, and whether the point is covered.  It
then sums demand weight, covered weight and covered share per rule, overall and per admin area.

Method
------
*Snapping.*  Demand points and stations are snapped once per road network
(:func:`yizhan.geo.paths.snap`) onto the nearest edge; the straight leg from the point to the edge is
its *access leg*.  Points farther than ``max_access_m`` from every road are *off-network*: they
are never covered, are flagged in the ``<rule>_off_network`` column and counted in the summary.
Stations off the network cannot serve anyone (a warning names how many).

*Shortest paths.*  One multi-source Dijkstra per rule (:func:`yizhan.geo.paths.facility_tree`, a
single compiled search from all qualifying stations at once, each seeded at both ends of its
road with its access leg and partial edge), never one run per station; the rules' searches run
in threads at once.  The network cost includes the partial edges at both ends.  By default the
search covers the whole network, so every reachable point gets its nearest station even when it
is beyond the cutoff (``nearest_beyond_cutoff=False`` stops at the cutoff instead).

*Covered.*  A demand point is covered by a rule iff it belongs to the rule's worker group, is on
the network, and its door-to-door cost ``station access leg + network cost + demand access leg
<= cutoff``.  The station chosen is the one with the smallest door-to-door cost.  For distance
rules the legs count in metres; for time rules they are converted at walking speed (each mode's
``access_speed_kmh`` in :data:`yizhan.geo.network.MODES`, walking speed in every mode), because the last
metres off the road are walked whatever the mode.

*Admin areas.*  Each demand point is assigned to the first admin polygon (in the layer's order)
that contains it; points in none get :data:`OUTSIDE_AREA`.  Per-area rows therefore add up
exactly to the overall row.

*Accessibility (E2SFCA).*  :func:`e2sfca` computes the enhanced two-step floating catchment score
(Luo & Qi 2009; Gaussian decay after Dai 2010).  With ``d0`` the cutoff and ``W`` the decay,

    step 1:  R_j = S_j / sum_i P_i W(d_ij)          (seats per weighted worker at station j)
    step 2:  A_i = sum_j R_j W(d_ij)                (seats per worker reachable from point i)

over the pairs with ``d_ij <= d0`` (door-to-door cost including access legs, as above).
``S_j`` is the station's ``capacity`` in seats; ``P_i`` the demand ``weight``.  Decays:

- ``"gaussian"``: ``W(d) = (exp(-d²/(2 d0²)) - exp(-1/2)) / (1 - exp(-1/2))`` for ``d <= d0``
  (1 at the door, 0 at the cutoff);
- ``"step"``: three equal zones of the cutoff weighted 1.00, 0.68, 0.22 (Luo & Qi 2009);
- ``"uniform"``: 1 inside the cutoff (the classic 2SFCA).

Stations whose capacity is unknown (NaN) count with the median capacity of the stations that
have one (``missing_capacity="median"``, the default: an unknown station is treated as a typical
one, neither ignored nor dominant), or with a fixed number of seats if a number is given; if no
station has a capacity, every station counts as 1 seat-equivalent, and the scores then rank
relative crowding only.  The pairs come from :func:`yizhan.geo.paths.pairs_within` (sparse); both
steps are sparse matrix-vector products, no loop over pairs.

Rules from a file
-----------------
``yizhan coverage --config rules.toml`` runs every ``[[rules]]`` table of a TOML file (full
format in :mod:`yizhan.geo.rules`)::

    [[rules]]
    name = "rider_10min"      # optional column prefix
    group = "rider"           # optional; omitted = every worker group
    mode = "ebike"            # walk | ebike | drive
    cutoff = "10min"          # or "800m", "1.5km", "15 分钟"
    requires = ["toilet"]     # optional amenity keys
    standard = "xinhui-7"     # optional: station must fully meet this standard

Output columns
--------------
``CoverageResult.table`` has, per demand point, ``demand_id``, ``lon``, ``lat``, ``group``,
``weight``, ``admin_name`` and for every rule ``r`` the columns ``r_snapped_node`` (network node
id of the demand point's nearest node), ``r_station_id`` (nearest qualifying station, ``""`` if
none within the cutoff), ``r_network_m``, ``r_minutes`` (network metres and minutes of that
path, NaN if none), ``r_access_m`` (demand + station off-network legs), ``r_cost`` (door-to-door
cost compared with the cutoff: metres for distance rules, minutes for time rules),
``r_covered``, ``r_applies`` (the point belongs to the rule's group), ``r_off_network`` and,
when requested, ``r_e2sfca``.  Rows not in a rule's group have blank per-rule values and
``r_covered = False``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import shapely
from yizhan.geo.areas import OUTSIDE_AREA, admin_codes
from yizhan.geo.network import RoadNetwork
from yizhan.geo.paths import (
    FacilityTree,
    Snapped,
    SnapWhat,
    facility_tree,
    nearest_facility,
    pairs_within,
    project_points,
    snap,
    two_nearest,
    worker_threads,
)
from yizhan.geo.rules import CoverageRule, Cutoff, check_unique_names, parse_cutoff
from yizhan.stations.standards import load_standard

from yizhan import log
from yizhan.errors import ConfigError, InputFileError
from yizhan.io import write_csv_atomic, write_text_atomic, write_with

#: ``admin_name`` given to demand points that lie in no admin polygon.

#: Decay functions accepted by :func:`e2sfca`.
DECAYS: tuple[str, ...] = ("gaussian", "step", "uniform")

#: Per-rule column suffixes of the coverage table, in CSV order.
RULE_COLUMNS: tuple[str, ...] = (
    "snapped_node", "station_id", "network_m", "minutes", "access_m", "covered",
    "covered_twice", "backup_station_id", "cost", "applies", "off_network",
)

#: The columns every ``coverage.csv`` starts with; ``<rule>_<suffix>`` for every
#: :data:`RULE_COLUMNS` suffix (and ``e2sfca`` when computed) follow, rule by rule. One layout
#: for ``yizhan coverage``, ``yizhan run`` and the Python API, whatever the number of rules.
CSV_BASE_COLUMNS: tuple[str, ...] = ("demand_id", "lon", "lat", "group", "weight", "admin_name")

_STEP_ZONES = (1.0, 0.68, 0.22)  # Luo & Qi (2009) weights for three equal zones of the cutoff
_EPS = 1e-9

# Fixed decimal places per column kind, so CSV files are byte-identical across runs.
_DECIMALS = {"lon": 7, "lat": 7, "network_m": 3, "minutes": 4, "access_m": 3, "cost": 4,
             "e2sfca": 9, "weight": 6}


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class CoverageResult:
    """Return value of :func:`compute_coverage`: per-point table and per-rule summary.

    Attributes
    ----------
    table
        One row per demand point (input order), EPSG:4326 points; columns in the module
        docstring (``<rule>_covered`` etc.).
    summary
        One row per rule with ``level == "overall"``, followed (when admin areas were given) by
        one row per rule and admin area with ``level == "admin"``.  Columns: ``rule``, ``level``,
        ``admin_name``, ``group``, ``mode``, ``cutoff``, ``requires``, ``standard``,
        ``n_stations`` (qualifying stations on the network), ``n_demand``, ``demand_weight``,
        ``n_covered``, ``covered_weight``, ``covered_share`` (covered / demand weight; NaN when
        there is no demand), ``covered_twice_weight`` / ``covered_twice_share`` (demand with a
        second, backup station within the cutoff: the 双15 "more than one station"),
        ``n_off_network``, ``off_network_weight`` and, with accessibility,
        ``mean_e2sfca`` (weight-averaged).
    rules
        The rules, in the order given.
    max_access_m
        Farthest a point was from a road to be snapped (siting snaps candidates the same way).
    """

    table: gpd.GeoDataFrame
    summary: pd.DataFrame
    rules: tuple[CoverageRule, ...]
    max_access_m: float = 500.0

    def csv_frame(self) -> pd.DataFrame:
        """Return the table as written to CSV (:func:`coverage_csv_frame`)."""
        return coverage_csv_frame(self.table, self.rules)

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :func:`write_coverage_csv` of this result to ``path`` and return the path."""
        return write_coverage_csv(self.table, self.rules, path)

    def summary_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready data.

        Returns
        -------
        dict
            ``{"rules": [entry, ...]}`` with one entry per rule (name, group, mode, cutoff,
            requires, standard, counts, ``demand_weight``, ``covered_weight``, ``covered_share``
            and ``by_area``: a list of the same figures per admin area).  With exactly one rule,
            its ``demand_weight``, ``covered_weight``, ``covered_share`` and ``by_area`` are also
            repeated at the top level.
        """
        return _summary_dict(self.summary, self.rules)

    def write_summary_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`summary_dict` as indented UTF-8 JSON atomically; return the path."""
        text = json.dumps(self.summary_dict(), ensure_ascii=False, indent=2, allow_nan=False)
        return write_text_atomic(path, text + "\n")


# --------------------------------------------------------------------------------------------
# Public functions


#: Optional station column: False for a station out of service in this run (a run planned for
#: one shift marks the stations closed then, :func:`yizhan.geo.shifts.plan_for_shift`); such a
#: station counts for no rule.
IN_SERVICE = "in_service"


def qualifying_stations(
    stations: pd.DataFrame, rule: CoverageRule
) -> np.ndarray:
    """Return a boolean mask of the stations that count for ``rule``.

    A station qualifies when it has every amenity in ``rule.requires`` and, if the rule names a
    standard, every amenity that standard requires (i.e. it is fully compliant), and is in
    service (column :data:`IN_SERVICE`, when present).  A missing
    amenity column means "not recorded" and counts as absent; NaN counts as absent.

    Parameters
    ----------
    stations
        Stations frame (the stations contract: one bool column per recorded amenity).
    rule
        The coverage rule.

    Returns
    -------
    numpy.ndarray
        ``bool`` array aligned with ``stations``.
    """
    keys = set(rule.requires)
    if rule.standard:
            keys |= set(load_standard(rule.standard).required)
    mask = np.ones(len(stations), dtype=bool)
    for key in sorted(keys):
        if key not in stations.columns:
            return np.zeros(len(stations), dtype=bool)
        mask &= _as_bool(stations[key])
    if IN_SERVICE in stations.columns:
        mask &= _as_bool(stations[IN_SERVICE])
    return mask


@dataclass(frozen=True)
class Accessibility:
    """E2SFCA options of :func:`compute_coverage`.

    ``decay`` is one of :data:`DECAYS`; ``missing_capacity`` the seats assumed for stations
    of unknown capacity (a number, or ``"median"`` of the known ones; see :func:`e2sfca`).
    """

    decay: str = "gaussian"
    missing_capacity: float | Literal["median"] = "median"


def compute_coverage(
    net_by_mode: Mapping[str, RoadNetwork],
    stations: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    rules: Sequence[CoverageRule] | CoverageRule,
    *,
    admin: gpd.GeoDataFrame | None = None,
    max_access_m: float = 500.0,
    accessibility: bool | Accessibility = False,
    nearest_beyond_cutoff: bool = True,
) -> CoverageResult:
    """Return coverage of ``demand`` by ``stations`` for every rule, per point and summarised.

    Parameters
    ----------
    net_by_mode
        Road network per travel mode (``"walk"``, ``"ebike"``, ``"drive"``); every rule's mode
        must be present.
    stations
        Stations GeoDataFrame (stations contract; EPSG:4326 points, ``station_id``).
    demand
        Demand GeoDataFrame (demand contract; EPSG:4326 points, ``demand_id``, ``weight``,
        ``group`` when any rule names a group).
    rules
        One rule or several; names must be unique (they prefix the table's columns).
    admin
        Optional admin polygons with an ``admin_name`` column, for per-area summary rows.
    max_access_m
        Farthest a point may lie from a road and still be snapped (metres).
    accessibility
        Also compute the E2SFCA score per rule (column ``<rule>_e2sfca``): ``True`` with the
        defaults, or :class:`Accessibility` (distance decay, seats of stations of unknown
        capacity).
    nearest_beyond_cutoff
        Report the nearest qualifying station even when it is beyond the cutoff (the Dijkstra
        then runs over the whole network; default).  ``False`` stops the search at the cutoff,
        which is faster on large networks with small cutoffs; uncovered points then have no
        station.

    Returns
    -------
    CoverageResult
        Per-point table, summary and the rules.

    Raises
    ------
    ConfigError
        If a rule's mode has no network, a rule names a group but demand has no ``group``
        column, or options are invalid.
    InputFileError
        If the stations or demand frames lack required columns or hold invalid weights.
    """
    rules = (rules,) if isinstance(rules, CoverageRule) else tuple(rules)
    if not rules:
        raise ConfigError("没有覆盖规则。No coverage rules given; give at least one.")
    check_unique_names(rules)
    access = Accessibility() if accessibility is True else accessibility or None
    if access is not None and access.decay not in DECAYS:
        raise ConfigError(f"未知衰减函数 {access.decay!r}，可选 {DECAYS}。Unknown decay {access.decay!r}.")
    for rule in rules:
        if rule.mode not in net_by_mode:
            raise ConfigError(
                f"规则 {rule.name} 需要 {rule.mode} 路网，但未提供。"
                f" Rule {rule.name} needs a {rule.mode!r} network; none was given."
            )
    stations = _check_stations(stations)
    demand = _check_demand(demand, need_group=any(r.group is not None for r in rules))

    n = len(demand)
    weight = demand["weight"].to_numpy(dtype=float)
    groups = (
        demand["group"].astype("string").fillna("").str.strip().str.lower().to_numpy(dtype=object)
        if "group" in demand.columns
        else np.full(n, "", dtype=object)
    )
    station_ids = stations["station_id"].astype(str).to_numpy(dtype=object)

    applies_of = [np.ones(n, dtype=bool) if r.group is None else groups == r.group for r in rules]
    # each network snaps only the demand rows some rule on it applies to, once for all its rules
    need: dict[int, np.ndarray] = {}
    for i, rule in enumerate(rules):
        key = id(net_by_mode[rule.mode])
        need[key] = need.get(key, np.zeros(n, dtype=bool)) | applies_of[i]

    # 1. snap: each network snaps its demand rows and the stations once, for all its rules
    snaps: dict[int, tuple[np.ndarray, Snapped, Snapped]] = {}
    projected: dict[str, np.ndarray] = {}  # demand coordinates per network CRS, shared
    prepared: list[_Prepared | None] = []
    for rule in log.progress(rules, desc="吸附 snapping", unit="rule"):
        net = net_by_mode[rule.mode]
        key = id(net)
        if key not in snaps:
            rows = np.flatnonzero(need[key])
            points = demand if len(rows) == n else demand.geometry.iloc[rows]
            if net.crs not in projected:
                projected[net.crs] = project_points(net, demand)
            xy = projected[net.crs]
            snaps[key] = (
                rows,
                _snap(net, points, max_access_m=max_access_m,
                      xy=xy if len(rows) == n else xy[rows], what="demand"),
                # too-far stations are said per rule below, naming the rule
                _snap(net, stations, max_access_m=max_access_m),
            )
        rows, demand_snap, station_snap = snaps[key]
        qualifies = qualifying_stations(stations, rule)
        off_station = qualifies & station_snap.too_far
        if off_station.any():
            log.warn(
                f"规则 {rule.name}：{int(off_station.sum())} 个合格站点离道路超过 {max_access_m:g} 米，"
                f"不计入。Rule {rule.name}: {int(off_station.sum())} qualifying station(s) lie more"
                f" than {max_access_m:g} m from any road and cannot serve anyone."
            )
        fac_index = np.flatnonzero(qualifies & ~station_snap.too_far)
        prepared.append(_Prepared(rows=rows, demand=demand_snap,
                                  fac=station_snap.subset(fac_index), fac_index=fac_index))
    del snaps
    # 2. one multi-source search per rule, several at once (the compiled search frees the GIL)
    trees = _facility_trees(net_by_mode, rules, prepared,
                            nearest_beyond_cutoff=nearest_beyond_cutoff)
    # 3. per-point columns
    columns: dict[str, Any] = {}
    summary_input: list[_RuleSums] = []
    for i, rule in enumerate(log.progress(rules, desc="覆盖规则 coverage rules", unit="rule")):
        net = net_by_mode[rule.mode]
        prep = prepared[i]
        assert prep is not None
        prepared[i] = None  # free the snapped points once the rule is done
        rows, demand_snap, fac, fac_index = prep.rows, prep.demand, prep.fac, prep.fac_index
        applies = applies_of[i]
        local = _rule_columns(
            net, rule, demand_snap, fac, station_ids[fac_index], applies=applies[rows],
            search_limit=math.inf if nearest_beyond_cutoff else rule.limit, tree=trees[i],
        )
        if access is not None:
            local["e2sfca"] = np.where(applies[rows], _e2sfca_snapped(
                net, fac, demand_snap,
                capacity=_capacity(stations, access.missing_capacity)[fac_index],
                population=np.where(applies[rows] & ~demand_snap.too_far, weight[rows], 0.0),
                cutoff=rule.cutoff, decay=access.decay,
            ), np.nan)
        cols = _scatter(local, rows, n, applies=applies)
        for name, values in cols.items():
            columns[f"{rule.name}_{name}"] = values
        summary_input.append(_RuleSums(rule, fac_index, applies, cols["covered"],
                                       cols["off_network"], cols.get("e2sfca"),
                                       cols["covered_twice"]))

    area_names, area_codes = admin_codes(demand.geometry, admin)
    table = _build_table(demand, groups=groups, weight=weight, area_names=area_names,
                         area_codes=area_codes, columns=columns)
    _, station_codes = admin_codes(stations.geometry, admin)
    summary = _build_summary(summary_input, weight, area_names, area_codes,
                             has_admin=admin is not None, station_codes=station_codes)
    return CoverageResult(table=table, summary=summary, rules=rules, max_access_m=max_access_m)


def e2sfca(
    net: RoadNetwork,
    stations: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    cutoff: float | str | Cutoff,
    weight: Literal["length", "time"],
    decay: str = "gaussian",
    max_access_m: float = 500.0,
    missing_capacity: float | Literal["median"] = "median",
) -> np.ndarray:
    """Return the E2SFCA accessibility score (seats per unit of demand weight) per demand point.

    Parameters
    ----------
    net
        Road network of the travel mode.
    stations
        Stations that serve this demand (already filtered by amenities); ``capacity`` column in
        seats (NaN = unknown; a missing column = all unknown).
    demand
        Demand points with a ``weight`` column (the population ``P_i``).
    cutoff
        Catchment size ``d0``: a number in the unit of ``weight`` (metres for ``"length"``,
        seconds for ``"time"``) or a cutoff text such as ``"10min"``/``"800m"``.
    weight
        Network cost: ``"length"`` (metres) or ``"time"`` (seconds).
    decay
        ``"gaussian"`` (default), ``"step"`` or ``"uniform"``; formulas in the module docstring.
    max_access_m
        Farthest a point may lie from a road and still be snapped (metres); points farther away
        score 0.
    missing_capacity
        Seats for stations with unknown capacity: ``"median"`` of the known ones (1 if none is
        known) or a number.

    Returns
    -------
    numpy.ndarray
        ``float64`` score per demand point (input order); 0 where no station is within reach.
    """
    if decay not in DECAYS:
        raise ConfigError(f"未知衰减函数 {decay!r}，可选 {DECAYS}。Unknown decay {decay!r}.")
    cut = _cutoff_for(cutoff, weight)
    stations = _check_stations(stations, need_id=False)
    demand = _check_demand(demand, need_group=False, need_id=False)
    return _e2sfca_snapped(
        net,
        _snap(net, stations, max_access_m=max_access_m, what="stations"),
        _snap(net, demand, max_access_m=max_access_m, what="demand"),
        capacity=_capacity(stations, missing_capacity),
        population=demand["weight"].to_numpy(dtype=float),
        cutoff=cut, decay=decay,
    )


def e2sfca_matrix(
    cost: Any,
    supply: Any,
    demand: Any,
    *,
    cutoff: float,
    decay: str | Callable[[np.ndarray], np.ndarray] = "gaussian",
    sigma: float | None = None,
    unreachable: float = math.nan,
) -> np.ndarray:
    """Return the E2SFCA score per demand point from a plain cost matrix (no network).

    The same two steps as :func:`e2sfca` (module docstring), for costs computed elsewhere, e.g.
    to compare with PySAL ``access``:

        R_j = S_j / sum_i P_i W(d_ij),    A_i = sum_j R_j W(d_ij),    over pairs with d_ij <= d0.

    Parameters
    ----------
    cost
        ``demand x supply`` travel costs: a NumPy array (``inf``/NaN = no path) or a sparse
        matrix whose stored entries are the pairs with a path (explicit zeros = cost 0).
    supply
        Capacity ``S_j`` per supply point (seats).
    demand
        Population ``P_i`` per demand point.
    cutoff
        Catchment ``d0`` in the unit of ``cost``; pairs with ``d_ij <= d0`` count.
    decay
        ``"gaussian"``, ``"step"``, ``"uniform"`` (as :func:`e2sfca`), or a callable mapping an
        array of costs to weights (e.g. ``access.weights.step_fn``-like, vectorised).
    sigma
        With ``decay="gaussian"``: ``W(d) = exp(-d²/(2σ²))`` (1 at the door, not forced to 0 at
        the cutoff; ``access.weights.gaussian(sigma)``). Without it, the truncated Gaussian of
        :func:`decay_weights` (0 at the cutoff).
    unreachable
        Score of a demand point with no supply point within the cutoff: NaN (default; "no
        access" is not a ratio of 0 seats per worker) or a number such as 0.

    Returns
    -------
    numpy.ndarray
        ``float64`` score per demand point (input order).
    """
    from yizhan.geo.siting.problem import cost_csr

    pairs = cost_csr(cost)
    capacity = np.asarray(supply, np.float64).ravel()
    population = np.asarray(demand, np.float64).ravel()
    if pairs.shape != (population.size, capacity.size):
        raise ValueError(f"cost is {pairs.shape}, expected (demand, supply) ="
                         f" ({population.size}, {capacity.size})")
    coo = pairs.tocoo()
    inside = coo.data <= cutoff  # the catchment
    pairs = sp.csr_matrix((coo.data[inside], (coo.row[inside], coo.col[inside])),
                          shape=pairs.shape)
    weights = pairs.copy()
    if callable(decay):
        weights.data = np.asarray(decay(pairs.data), np.float64)
    elif decay == "gaussian" and sigma is not None:
        weights.data = np.exp(-0.5 * (pairs.data / float(sigma)) ** 2)
    else:
        weights.data = decay_weights(pairs.data / float(cutoff), decay) if cutoff > 0 else \
            np.ones_like(pairs.data)
    reached = np.diff(pairs.indptr) > 0
    score = _e2sfca_from_weights(weights, population=population, capacity=capacity)
    return np.where(reached, score, unreachable)


def decay_weights(ratio: np.ndarray, decay: str) -> np.ndarray:
    """Return decay weights for cost ratios ``d / d0`` (0 beyond 1), vectorised.

    Parameters
    ----------
    ratio
        Door-to-door cost divided by the cutoff.
    decay
        One of :data:`DECAYS`.

    Returns
    -------
    numpy.ndarray
        Weights in [0, 1].
    """
    ratio = np.asarray(ratio, dtype=float)
    inside = ratio <= 1.0 + _EPS
    if decay == "gaussian":
        edge = math.exp(-0.5)
        w = (np.exp(-0.5 * np.minimum(ratio, 1.0) ** 2) - edge) / (1.0 - edge)
    elif decay == "step":
        w = np.select(
            [ratio <= 1.0 / 3.0 + _EPS, ratio <= 2.0 / 3.0 + _EPS],
            [_STEP_ZONES[0], _STEP_ZONES[1]],
            default=_STEP_ZONES[2],
        )
    elif decay == "uniform":
        w = np.ones_like(ratio)
    else:
        raise ConfigError(f"未知衰减函数 {decay!r}，可选 {DECAYS}。Unknown decay {decay!r}.")
    return np.where(inside, np.clip(w, 0.0, 1.0), 0.0)


# --------------------------------------------------------------------------------------------
# Per-rule computation


@dataclass(frozen=True)
class _Prepared:
    """One rule's snapped demand rows and qualifying stations."""

    rows: np.ndarray       # demand rows the rule's network snapped
    demand: Snapped
    fac: Snapped           # the rule's qualifying, snapped stations
    fac_index: np.ndarray  # their rows in the stations frame


def _facility_trees(
    net_by_mode: Mapping[str, RoadNetwork],
    rules: tuple[CoverageRule, ...],
    prepared: list[_Prepared | None],
    *,
    nearest_beyond_cutoff: bool,
) -> list[FacilityTree | None]:
    """Return each rule's :func:`yizhan.geo.paths.facility_tree` (None without stations).

    The searches run in threads at once (a few, as many as cores); each is independent and
    deterministic, so the result does not depend on the threads.
    """
    jobs: list[tuple[RoadNetwork, Snapped, str, float] | None] = []
    for rule, prep in zip(rules, prepared, strict=True):
        if prep is None or len(prep.fac) == 0:
            jobs.append(None)
            continue
        net = net_by_mode[rule.mode]
        net.matrix(rule.weight)  # built once here, not in two threads at once
        limit = math.inf if nearest_beyond_cutoff else rule.limit
        jobs.append((net, prep.fac, rule.weight, limit))

    def run(job: tuple[RoadNetwork, Snapped, str, float] | None) -> FacilityTree | None:
        if job is None:
            return None
        net, fac, weight, limit = job
        return facility_tree(net, fac, weight=weight, limit=limit, include_access=True)

    workers = min(len(jobs), worker_threads())
    if workers <= 1:
        return [run(job) for job in jobs]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, jobs))


def _rule_columns(
    net: RoadNetwork,
    rule: CoverageRule,
    demand_snap: Snapped,
    fac: Snapped,
    fac_ids: np.ndarray,
    *,
    applies: np.ndarray,
    search_limit: float,
    tree: FacilityTree | None = None,
) -> dict[str, Any]:
    """Return the per-point columns of one rule (nearest station, costs, covered)."""
    n = len(applies)
    off = np.asarray(demand_snap.too_far, dtype=bool)
    if len(fac_ids):
        near = nearest_facility(net, fac, demand_snap, weight=rule.weight, limit=search_limit,
                                include_access=True, tree=tree)
        idx = np.asarray(near.facility, dtype=np.int64)
        found = (idx >= 0) & ~off
        safe = np.where(found, idx, 0)
        length_m = np.asarray(near.length_m, dtype=float)
        time_s = np.asarray(near.time_s, dtype=float)
        access = np.asarray(demand_snap.access_m, dtype=float) + np.nan_to_num(
            np.asarray(near.facility_access_m, dtype=float)
        )
        total = np.asarray(near.total, dtype=float)  # door to door, metres or seconds
        # the backup: the nearest other qualifying station within the cutoff (双15: "more
        # than one station")
        two = two_nearest(net, fac, demand_snap, weight=rule.weight, limit=rule.limit,
                          include_access=True)
        backup = two.facility[:, 1]
        second = two.total[:, 1]
    else:
        found = np.zeros(n, dtype=bool)
        safe = np.zeros(n, dtype=np.int64)
        length_m = time_s = access = total = second = np.full(n, np.nan)
        backup = np.full(n, -1, dtype=np.int64)
    keep = found & applies
    within = rule.limit * (1.0 + 1e-12) + _EPS
    covered = keep & (total <= within)
    twice = covered & (backup >= 0) & (second <= within)
    cost_out = total if rule.weight == "length" else total / 60.0
    station = _strings(fac_ids, np.where(keep, safe, -1))
    node_ids = np.asarray(net.node_id)[np.asarray(demand_snap.node, dtype=np.int64).clip(min=0)]
    snapped = pd.array(node_ids, dtype="Int64")
    snapped[off | ~applies] = pd.NA
    return {
        "snapped_node": snapped,
        "station_id": station,
        "network_m": np.where(keep, length_m, np.nan),
        "minutes": np.where(keep, time_s / 60.0, np.nan),
        "access_m": np.where(keep, access, np.nan),
        "covered": covered,
        "covered_twice": twice,
        "backup_station_id": _strings(fac_ids, np.where(twice, backup, -1)),
        "cost": np.where(keep, cost_out, np.nan),
        "applies": applies.copy(),
        "off_network": off & applies,
    }


def _scatter(
    local: dict[str, Any], rows: np.ndarray, n: int, *, applies: np.ndarray
) -> dict[str, Any]:
    """Return per-rule columns for all ``n`` demand points from those computed for ``rows``.

    Rows a network did not snap (no rule on it applies to them) get the blank values of a
    point outside the rule's group.
    """
    if len(rows) == n:
        return local
    out: dict[str, Any] = {}
    for name, values in local.items():
        if name == "snapped_node":
            full: Any = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
            full[:] = pd.NA
            full[rows] = values
        elif name in ("station_id", "backup_station_id"):
            full = np.full(n, "", dtype=object)
            full[rows] = np.asarray(values, dtype=object)
        elif name in ("covered", "covered_twice", "off_network"):
            full = np.zeros(n, dtype=bool)
            full[rows] = values
        elif name == "applies":
            full = applies.copy()
        else:
            full = np.full(n, np.nan)
            full[rows] = values
        out[name] = full
    return out


def _e2sfca_snapped(
    net: RoadNetwork,
    fac: Snapped,
    targets: Snapped,
    *,
    capacity: np.ndarray,
    population: np.ndarray,
    cutoff: Cutoff,
    decay: str,
) -> np.ndarray:
    """Return E2SFCA scores from snapped stations and demand (vectorised sparse algebra)."""
    n_t = len(population)
    if len(capacity) == 0 or n_t == 0:
        return np.zeros(n_t)
    # door-to-door costs (access legs included) of every pair within the cutoff
    pairs = pairs_within(net, fac, targets, weight=cutoff.weight, limit=cutoff.limit,
                         include_access=True).tocsr()
    weights = _decayed_pairs(pairs, cutoff=cutoff, decay=decay)
    return _e2sfca_from_weights(weights, population=population, capacity=capacity)


def _decayed_pairs(pairs: sp.csr_matrix, *, cutoff: Cutoff, decay: str) -> sp.csr_matrix:
    """Return the (targets x facilities) decay-weight matrix from door-to-door pair costs."""
    out = pairs.tocsr(copy=True)
    out.data = decay_weights(out.data / cutoff.limit, decay)
    out.eliminate_zeros()
    return out


def _e2sfca_from_weights(
    weights: sp.csr_matrix, *, population: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Return ``A = W @ (S / (W.T @ P))``: the two E2SFCA steps as sparse products."""
    served = weights.T @ population  # step 1 denominator: weighted demand per station
    ratio = np.divide(capacity, served, out=np.zeros_like(capacity, dtype=float),
                      where=served > 0)
    return np.asarray(weights @ ratio, dtype=float)


# --------------------------------------------------------------------------------------------
# Tables


def _build_table(
    demand: gpd.GeoDataFrame,
    *,
    groups: np.ndarray,
    weight: np.ndarray,
    area_names: list[str],
    area_codes: np.ndarray,
    columns: dict[str, Any],
) -> gpd.GeoDataFrame:
    """Return the per-point GeoDataFrame (input order, fresh RangeIndex)."""
    geom = demand.geometry.to_numpy()
    base: dict[str, Any] = {
        "demand_id": _as_strings(demand["demand_id"]),
        "lon": shapely.get_x(geom),
        "lat": shapely.get_y(geom),
        "group": groups,
        "weight": weight,
        "admin_name": _strings(np.asarray(area_names, dtype=object), area_codes),
    }
    base.update(columns)
    # the columns are fresh arrays made for this table: no copies (a million rows x dozens of
    # columns would copy hundreds of MB twice)
    base["weight"] = np.array(weight, dtype=float)
    frame = pd.DataFrame(base, copy=False)
    frame["geometry"] = gpd.GeoSeries(geom, crs="EPSG:4326").values
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326", copy=False)


class _RuleSums(NamedTuple):
    """One rule's per-point outcome, as the summary sums it."""

    rule: CoverageRule
    fac_index: np.ndarray
    applies: np.ndarray
    covered: np.ndarray
    off: np.ndarray
    e2: np.ndarray | None
    twice: np.ndarray


def _build_summary(
    per_rule: list[_RuleSums],
    weight: np.ndarray,
    area_names: list[str],
    area_codes: np.ndarray,
    *,
    has_admin: bool,
    station_codes: np.ndarray,
) -> pd.DataFrame:
    """Return the summary frame: one overall row per rule, then per-area rows.

    ``n_stations`` counts the rule's qualifying stations on the network: all of them on the
    overall row, each area's own on its row.
    """
    n_areas = len(area_names)
    overall: list[dict[str, Any]] = []
    by_area: list[dict[str, Any]] = []
    with_e2 = any(item[5] is not None for item in per_rule)
    for rule, fac_index, applies, covered, off, e2, twice in per_rule:
        n_stations = len(fac_index)
        per_area = np.bincount(np.asarray(station_codes)[fac_index].astype(np.int64),
                               minlength=n_areas) if len(fac_index) else np.zeros(n_areas, np.int64)
        w_app = np.where(applies, weight, 0.0)
        w_cov = np.where(covered, weight, 0.0)
        w_off = np.where(off, weight, 0.0)
        sums = {
            "n_demand": np.bincount(area_codes, weights=applies.astype(float), minlength=n_areas),
            "demand_weight": np.bincount(area_codes, weights=w_app, minlength=n_areas),
            "n_covered": np.bincount(area_codes, weights=covered.astype(float), minlength=n_areas),
            "covered_weight": np.bincount(area_codes, weights=w_cov, minlength=n_areas),
            "n_off_network": np.bincount(area_codes, weights=off.astype(float), minlength=n_areas),
            "off_network_weight": np.bincount(area_codes, weights=w_off, minlength=n_areas),
            "covered_twice_weight": np.bincount(area_codes, weights=np.where(twice, weight, 0.0),
                                                minlength=n_areas),
        }
        if e2 is not None:
            sums["_e2w"] = np.bincount(area_codes, weights=np.where(applies, e2 * weight, 0.0),
                                       minlength=n_areas)
        info = {
            "rule": rule.name,
            "group": rule.group or "all",
            "mode": rule.mode,
            "cutoff": rule.cutoff.label,
            "requires": ",".join(rule.requires),
            "standard": rule.standard or "",
            "n_stations": n_stations,
        }
        overall.append({**info, "level": "overall", "admin_name": "",
                        **_figures({k: float(v.sum()) for k, v in sums.items()}, with_e2)})
        if has_admin:
            for code, name in enumerate(area_names):
                if name == OUTSIDE_AREA and sums["n_demand"][code] == 0:
                    continue
                by_area.append({**info, "level": "admin", "admin_name": name,
                                "n_stations": int(per_area[code]),
                                **_figures({k: float(v[code]) for k, v in sums.items()}, with_e2)})
    order = ["rule", "level", "admin_name", "group", "mode", "cutoff", "requires", "standard",
             "n_stations", "n_demand", "demand_weight", "n_covered", "covered_weight",
             "covered_share", "covered_twice_weight", "covered_twice_share", "n_off_network",
             "off_network_weight"]
    if with_e2:
        order.append("mean_e2sfca")
    frame = pd.DataFrame(overall + by_area, columns=order)
    for col in ("n_demand", "n_covered", "n_off_network", "n_stations"):
        frame[col] = frame[col].astype(np.int64)
    return frame


def _figures(sums: dict[str, float], with_e2: bool) -> dict[str, Any]:
    """Return the summary figures of one row from its sums (shares computed, counts as ints)."""
    demand_w = sums["demand_weight"]
    out: dict[str, Any] = {
        "n_demand": round(sums["n_demand"]),
        "demand_weight": demand_w,
        "n_covered": round(sums["n_covered"]),
        "covered_weight": sums["covered_weight"],
        "covered_share": sums["covered_weight"] / demand_w if demand_w > 0 else math.nan,
        "covered_twice_weight": sums["covered_twice_weight"],
        "covered_twice_share": sums["covered_twice_weight"] / demand_w if demand_w > 0
        else math.nan,
        "n_off_network": round(sums["n_off_network"]),
        "off_network_weight": sums["off_network_weight"],
    }
    if with_e2:
        out["mean_e2sfca"] = sums.get("_e2w", math.nan) / demand_w if demand_w > 0 else math.nan
    return out


def _summary_dict(summary: pd.DataFrame, rules: tuple[CoverageRule, ...]) -> dict[str, Any]:
    """Return JSON-ready summary data (see :meth:`CoverageResult.summary_dict`)."""
    figures = ["n_demand", "demand_weight", "n_covered", "covered_weight", "covered_share",
               "covered_twice_weight", "covered_twice_share", "n_off_network",
               "off_network_weight"]
    if "mean_e2sfca" in summary.columns:
        figures.append("mean_e2sfca")
    entries: list[dict[str, Any]] = []
    for rule in rules:
        rows = summary[summary["rule"] == rule.name]
        head = rows[rows["level"] == "overall"].iloc[0]
        entry: dict[str, Any] = {
            "name": rule.name,
            "group": rule.group,
            "mode": rule.mode,
            "cutoff": rule.cutoff.label,
            "cutoff_m": rule.cutoff_m,
            "cutoff_min": rule.cutoff_min,
            "requires": list(rule.requires),
            "standard": rule.standard,
            "n_stations": int(head["n_stations"]),
        }
        entry.update({key: _json_number(head[key]) for key in figures})
        entry["by_area"] = [
            {"admin_name": str(row["admin_name"]),
             **{key: _json_number(row[key]) for key in figures}}
            for _, row in rows[rows["level"] == "admin"].iterrows()
        ]
        entries.append(entry)
    out: dict[str, Any] = {}
    if len(entries) == 1:
        only = entries[0]
        out.update({key: only[key] for key in ("demand_weight", "covered_weight", "covered_share")})
        out["by_area"] = only["by_area"]
    out["rules"] = entries
    return out


def _json_number(value: object) -> float | int | None:
    """Return a JSON-safe number: ints stay ints, floats rounded to 9 digits, NaN -> None."""
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return None
    return round(number, 9)


#: Columns of :func:`station_loads`.
LOAD_COLUMNS: tuple[str, ...] = ("rule", "station_id", "name", "capacity", "n_demand",
                                 "demand_weight", "weight_per_seat", "n_backup")


def station_loads(
    table: pd.DataFrame, stations: pd.DataFrame, rules: Sequence[CoverageRule],
) -> pd.DataFrame:
    """Return each qualifying station's load: the demand it serves as the nearest station.

    ``table`` is a coverage table (:attr:`CoverageResult.table`). Per rule and station (the stations the rule counts, in inventory order): ``n_demand`` and
    ``demand_weight`` of the covered demand points whose nearest station it is (the
    ``<rule>_station_id`` of the coverage table: spopt's facility -> client relation),
    ``capacity`` (seats; NaN when unknown), ``weight_per_seat`` (NaN without a capacity) and
    ``n_backup``, the points for which it is the second (backup) station.
    """
    weight = table["weight"].to_numpy(float)
    frames = []
    for rule in rules:
        mask = qualifying_stations(stations, rule)
        sub = stations.loc[mask]
        ids = sub["station_id"].astype(str).to_numpy()
        covered = table[f"{rule.name}_covered"].to_numpy(bool)
        nearest = table[f"{rule.name}_station_id"].astype(str).to_numpy()
        pos = pd.Index(ids).get_indexer(nearest[covered])
        ok = pos >= 0
        n_demand = np.bincount(pos[ok], minlength=len(ids))
        served = np.bincount(pos[ok], weights=weight[covered][ok], minlength=len(ids))
        backup = table.get(f"{rule.name}_backup_station_id")
        n_backup = np.zeros(len(ids), np.int64)
        if backup is not None:
            bpos = pd.Index(ids).get_indexer(backup.astype(str).to_numpy())
            n_backup = np.bincount(bpos[bpos >= 0], minlength=len(ids))
        capacity = (pd.to_numeric(sub["capacity"], errors="coerce").to_numpy(float)
                    if "capacity" in sub.columns else np.full(len(ids), np.nan))
        frames.append(pd.DataFrame({
            "rule": rule.name, "station_id": ids,
            "name": sub["name"].astype(str).to_numpy() if "name" in sub.columns else "",
            "capacity": capacity, "n_demand": n_demand, "demand_weight": served,
            "weight_per_seat": np.where(capacity > 0, served / np.where(capacity > 0, capacity,
                                                                        1.0), np.nan),
            "n_backup": n_backup,
        }))
    if not frames:
        return pd.DataFrame(columns=list(LOAD_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(LOAD_COLUMNS)]


def coverage_csv_frame(table: pd.DataFrame, rules: Sequence[CoverageRule]) -> pd.DataFrame:
    """Return the ``coverage.csv`` layout of a coverage table (the one layout of every command).

    :data:`CSV_BASE_COLUMNS`, then per rule ``<rule>_<suffix>`` for :data:`RULE_COLUMNS` (and
    ``e2sfca`` when computed), rows in demand order, fixed decimals.
    """
    out: dict[str, Any] = {
        "demand_id": table["demand_id"],
        "lon": table["lon"].round(_DECIMALS["lon"]),
        "lat": table["lat"].round(_DECIMALS["lat"]),
        "group": table["group"],
        "weight": table["weight"].round(_DECIMALS["weight"]),
        "admin_name": table["admin_name"],
    }
    for rule in rules:
        suffixes = list(RULE_COLUMNS)
        if f"{rule.name}_e2sfca" in table.columns:
            suffixes.append("e2sfca")
        for suffix in suffixes:
            values = table[f"{rule.name}_{suffix}"]
            if suffix in _DECIMALS:
                values = values.round(_DECIMALS[suffix])
            out[f"{rule.name}_{suffix}"] = values
    return pd.DataFrame(out).reset_index(drop=True)


def write_coverage_csv(
    table: pd.DataFrame, rules: Sequence[CoverageRule], path: str | os.PathLike[str],
) -> Path:
    """Write :func:`coverage_csv_frame` to ``path`` atomically and return the path.

    UTF-8 with a byte-order mark (so Excel reads Chinese names), LF line ends, text quoted,
    booleans ``true``/``false``, blanks for missing values; pyarrow's CSV writer (about 6x
    faster than pandas for a million rows).
    """
    return write_csv_atomic(coverage_csv_frame(table, rules), path, engine="arrow")


def write_coverage_parquet(
    table: pd.DataFrame, rules: Sequence[CoverageRule], path: str | os.PathLike[str],
) -> Path:
    """Write the ``coverage.csv`` table as GeoParquet (points, EPSG:4326) atomically.

    The same columns and rows as :func:`write_coverage_csv`, typed (booleans, numbers, nullable
    node ids), plus the point ``geometry``: a million demand points open in GIS tools and
    pandas in a second, where Excel stops at 1,048,576 rows (the workbook holds aggregates).
    Deterministic: no timestamps in the file.
    """
    frame = coverage_csv_frame(table, rules)
    geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                           crs="EPSG:4326")
    return write_with(path, lambda tmp: geo.to_parquet(tmp, index=False, compression="zstd"))


# --------------------------------------------------------------------------------------------
# Helpers


def _snap(net: RoadNetwork, frame: gpd.GeoDataFrame | gpd.GeoSeries, *, max_access_m: float,
          xy: np.ndarray | None = None, what: SnapWhat | None = None) -> Snapped:
    """Return ``yizhan.geo.paths.snap`` of the frame's points."""
    return snap(net, frame, max_access_m=max_access_m, xy=xy, what=what)


def _capacity(stations: pd.DataFrame, missing: float | Literal["median"]) -> np.ndarray:
    """Return seats per station with NaN replaced as documented in :func:`e2sfca`."""
    if "capacity" in stations.columns:
        cap = pd.to_numeric(stations["capacity"], errors="coerce").to_numpy(dtype=float)
    else:
        cap = np.full(len(stations), np.nan)
    cap = np.where(np.isfinite(cap) & (cap >= 0), cap, np.nan)
    if missing == "median":
        known = cap[np.isfinite(cap)]
        fill = float(np.median(known)) if len(known) else 1.0
    else:
        fill = float(missing)
        if not math.isfinite(fill) or fill < 0:
            raise ConfigError(
                f"缺失容量的默认值须为非负数：{missing!r}。missing_capacity must be >= 0."
            )
    return np.where(np.isnan(cap), fill, cap)


def _cutoff_for(cutoff: float | str | Cutoff, weight: str) -> Cutoff:
    """Return a :class:`Cutoff` for a number in ``weight`` units or a cutoff text."""
    if weight not in ("length", "time"):
        raise ConfigError(f"weight 须为 length 或 time：{weight!r}。weight must be length or time.")
    if isinstance(cutoff, str):
        cut = parse_cutoff(cutoff)
    elif isinstance(cutoff, Cutoff):
        cut = cutoff
    else:
        value = float(cutoff)
        cut = Cutoff(metres=value) if weight == "length" else Cutoff(minutes=value / 60.0)
    if cut.weight != weight:
        raise ConfigError(
            f"截止值 {cut.label} 与 weight={weight} 不一致。"
            f" Cutoff {cut.label} does not match weight={weight!r}."
        )
    return cut


def _text_dtype() -> Any:
    """Return the dtype pandas gives a column of Python strings (``str`` in pandas 3)."""
    return pd.Series(np.array(["a"], dtype=object)).dtype


def _strings(labels: np.ndarray, codes: np.ndarray) -> Any:
    """Return ``labels[codes]`` as a text column, ``""`` where ``codes`` is -1.

    Built in Arrow from the few distinct labels (a dictionary decode), not from a million
    Python strings, when pandas stores text in Arrow; the column is the same as pandas would
    make from the strings.
    """
    labels = np.asarray(labels, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    dtype = _text_dtype()
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return np.where(codes >= 0, labels[np.maximum(codes, 0)] if len(labels) else "",
                        "").astype(object)
    dictionary = pa.array([str(v) for v in labels] + [""], type=pa.large_string())
    index = pa.array(np.where(codes >= 0, codes, len(labels)).astype(np.int32))
    decoded = pa.DictionaryArray.from_arrays(index, dictionary).cast(pa.large_string())
    return pd.array(decoded, dtype=dtype)


def _as_strings(values: pd.Series) -> Any:
    """Return a column as text (as pandas makes it from ``str`` values), without a copy if it is."""
    text = values.astype(str)
    return text.array if text.dtype == _text_dtype() else text.to_numpy(dtype=object)


def _as_bool(values: pd.Series) -> np.ndarray:
    """Return a bool array from a column of bools/NaN (NaN and anything not truthy = False)."""
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _points_4326(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``frame`` in EPSG:4326 with point geometry, or raise a user error."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InputFileError(f"{what}须为带点几何的 GeoDataFrame。{what} must be a point GeoDataFrame.")
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geom = frame.geometry.to_numpy()
    bad = ~(shapely.get_type_id(geom) == 0) | shapely.is_empty(geom)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{what}第 {first + 1} 个要素不是点或为空，请修正坐标。"
            f" {what}: feature {first + 1} is not a point (or is empty); fix its coordinates.",
            row=None,
        )
    return frame


def _check_stations(stations: gpd.GeoDataFrame, *, need_id: bool = True) -> gpd.GeoDataFrame:
    """Return validated stations (EPSG:4326 points with ``station_id``)."""
    stations = _points_4326(stations, "站点 stations")
    if need_id and "station_id" not in stations.columns:
        raise InputFileError(
            "站点表缺少 station_id 列。The stations have no 'station_id' column.",
            field="station_id",
        )
    return stations


def _check_demand(
    demand: gpd.GeoDataFrame, *, need_group: bool, need_id: bool = True
) -> gpd.GeoDataFrame:
    """Return validated demand (EPSG:4326 points, ``demand_id``, positive ``weight``)."""
    demand = _points_4326(demand, "需求点 demand")
    if need_id and "demand_id" not in demand.columns:
        raise InputFileError(
            "需求点缺少 demand_id 列。The demand points have no 'demand_id' column.",
            field="demand_id",
        )
    if "weight" not in demand.columns:
        raise InputFileError(
            "需求点缺少 weight 列（每点人数或权重）。The demand points have no 'weight' column.",
            field="weight",
        )
    weight = pd.to_numeric(demand["weight"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(weight) | (weight <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"需求点权重须为正数，第 {first + 1} 个点为 {demand['weight'].iloc[first]!r}。"
            f" Demand weight must be a positive number; point {first + 1} has"
            f" {demand['weight'].iloc[first]!r}.",
            field="weight",
        )
    if need_group and "group" not in demand.columns:
        raise ConfigError(
            "规则指定了工种（group），但需求点没有 group 列；请在需求表中加上工种列或去掉规则的 group。"
            " A rule names a worker group but the demand has no 'group' column;"
            " add one or drop the rule's group."
        )
    return demand
