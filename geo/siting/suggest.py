"""From road networks, stations and a coverage result to ranked suggestions with coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from yizhan.geo import candidates as cand_mod
from yizhan.geo.areas import admin_of_points
from yizhan.geo.candidates import CANDIDATE_COLUMNS, required_amenities
from yizhan.geo.coverage import CoverageResult
from yizhan.geo.gaps import find_gaps
from yizhan.geo.paths import nearest_named_street, pairs_within, snap, street_names
from yizhan.geo.rules import CoverageRule
from yizhan.geo.siting.constraints import SiteConstraints
from yizhan.geo.siting.options import SitingOptions
from yizhan.geo.siting.problem import SitingProblem
from yizhan.geo.siting.reduce import structure
from yizhan.geo.siting.registry import get_model
from yizhan.geo.siting.result import SitingResult

from yizhan import log
from yizhan.errors import ConfigError
from yizhan.io import write_csv_atomic, write_geojson_atomic, write_text_atomic

if TYPE_CHECKING:
    import geopandas as gpd
    from yizhan.geo.network import RoadNetwork

#: Columns of the suggestions table written to ``suggestions.csv`` (per-rule columns follow).
SUGGESTION_COLUMNS: tuple[str, ...] = (
    "rank", "candidate_id", "name", "kind", "source", "lon", "lat", "place", "admin_area", "cost",
    "weight_gained", "covered_share_after", "covered_pct_after", "amenities_to_add", "host",
    "hours",
)


def suggest_sites(
    net_by_mode: Mapping[str, RoadNetwork],
    stations: gpd.GeoDataFrame,
    coverage: CoverageResult,
    options: SitingOptions | None = None,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    admin: gpd.GeoDataFrame | None = None,
    gaps: gpd.GeoDataFrame | None = None,
) -> SitingResult:
    """Return ranked new sites (and upgrades) that add the most to ``coverage``.

    ``yizhan suggest``, ``yizhan run`` and the Python API all come here with the same options.

    Parameters
    ----------
    net_by_mode
        Road network per travel mode (:class:`yizhan.geo.network.RoadNetwork`); every rule's mode.
    stations
        Existing stations (stations contract); fixed.
    coverage
        :func:`yizhan.geo.coverage.compute_coverage` of ``stations`` over the demand: its rules,
        demand rows, weights and access distance are the siting's.
    options
        :class:`~yizhan.geo.siting.options.SitingOptions` (model, number of sites or target,
        budget, upgrades, area minimums, spacing, rule weights, solver); default: 5 sites by
        maximal covering is NOT assumed -- give ``n_sites``, ``target`` or ``budget``.
    candidates
        Candidate table (:func:`yizhan.geo.candidates.read_candidates`); default: network nodes
        in and around the gap areas (:func:`gap_areas`), plus nodes across admin areas that need
        a minimum of new sites.
    admin
        Admin polygons with ``admin_name`` (area minimums, ``admin_area`` of each site).
    gaps
        The gap areas when already computed with :func:`gap_areas` (else computed here).

    Notes
    -----
    Candidate capacities (``capacity``, in demand-weight units) are honoured by the models
    that say so in the registry (MCLP); the others warn and leave them out. Demand off the road
    network cannot be served by any candidate and counts as uncovered. With no gaps and no
    candidate file, the result has no sites (a warning says so).

    Returns
    -------
    SitingResult
        ``table`` is a GeoDataFrame (EPSG:4326 points) with :data:`SUGGESTION_COLUMNS` and per
        rule ``<rule>_gained`` and ``<rule>_share_after``; ``covered_after`` holds, per rule, a
        boolean array over all demand rows.
    """
    opts = (options or SitingOptions()).resolved()
    model = get_model(opts.model_key)
    n_rules = len(coverage.rules)
    if opts.rule_weights is not None and len(opts.rule_weights) != n_rules:
        raise ConfigError(f"规则权重个数（{len(opts.rule_weights)}）须等于规则数（{n_rules}）。"
                          f" Give one rule weight per rule ({n_rules}), in rule order.")
    if model.needs_target:
        _check_target_reachable(coverage, float(opts.target or 0.0))
    if candidates is None:
        if gaps is None:
            gaps = gap_areas(coverage, opts, admin=admin)
        cands = _network_candidates(net_by_mode, gaps, opts, admin=admin)
    else:
        cands = _normalise_candidates(candidates)
    cands = _with_upgrades(_spaced(cands, stations, opts), stations, coverage.rules, opts)
    if len(cands) == 0:
        return _no_candidates(coverage, opts)
    problem, area = _problem(net_by_mode, coverage, cands, opts, admin=admin, capacity=model.capacity)
    result = model.solve(problem)
    full = _full_result(result, coverage, cands, problem, area)
    return replace(full, table=_with_places(full.table, net_by_mode))


#: How far from a site its street may be (metres): a candidate from the user's file may sit
#: off the road network.
PLACE_SEARCH_M = 5000.0


def _with_places(table: gpd.GeoDataFrame, net_by_mode: Mapping[str, RoadNetwork]) -> Any:
    """Return ``table`` with ``place``: the street each site is on, as people name it.

    "深南大道旁 beside 深南大道" from the network's street names (the finest network's); on an
    unnamed road, the nearest named street and how far it is ("近深南大道（约 120 米）near
    深南大道 (about 120 m)"); "无名道路旁 beside an unnamed road" when the network has no names.
    """
    out = table.copy()
    if "place" in out.columns:
        return out
    if not len(out):
        out.insert(out.columns.get_loc("admin_area"), "place", pd.Series(dtype=object))
        return out
    net = max(net_by_mode.values(), key=lambda nt: (nt.n_nodes, nt.mode))
    streets = street_names(net, snap(net, out.geometry, max_access_m=PLACE_SEARCH_M))
    near, metres = nearest_named_street(net, out.geometry)
    place = [f"{street}旁 beside {street}" if street
             else f"近{other}（约 {m:.0f} 米）near {other} (about {m:.0f} m)" if other
             else "无名道路旁 beside an unnamed road"
             for street, other, m in zip(streets, near, metres, strict=True)]
    out.insert(out.columns.get_loc("admin_area"), "place", place)
    return out


def _check_target_reachable(coverage: CoverageResult, target: float) -> None:
    """Raise when demand off the road network puts the target share out of reach of any site."""
    table = coverage.table
    weight = table["weight"].to_numpy(float)
    for rule in coverage.rules:
        applies = table[f"{rule.name}_applies"].fillna(False).to_numpy(bool)
        off = applies & table[f"{rule.name}_off_network"].fillna(False).to_numpy(bool)
        total = float(weight[applies].sum())
        if total <= 0:
            continue
        reachable = 1.0 - float(weight[off].sum()) / total
        if target > reachable + 1e-12:
            raise ConfigError(
                f"规则 {rule.name}：{100 * (1 - reachable):.1f}% 的需求离道路过远（超过"
                f" {coverage.max_access_m:g} 米），任何新站都覆盖不到，目标 {100 * target:.1f}%"
                f" 无法达到（最多 {100 * reachable:.1f}%）；请检查需求坐标系与路网范围，或降低目标。"
                f" Rule {rule.name}: {100 * (1 - reachable):.1f}% of the demand lies farther than"
                f" {coverage.max_access_m:g} m from any road, where no site can reach it, so the"
                f" target {100 * target:.1f}% is out of reach (at most {100 * reachable:.1f}%);"
                " check the demand's datum and the network's extent, or lower the target.")


def gap_areas(
    coverage: CoverageResult, options: SitingOptions, *, admin: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Return the gap areas siting draws network candidates from (one rule for run and suggest).

    :func:`yizhan.geo.gaps.find_gaps` over every rule, uncovered points closer than twice
    ``options.gap_buffer_m`` joined into one area (default :data:`yizhan.geo.gaps.DEFAULT_EPS_M`).
    """
    buffer_m = options.gap_buffer_m
    if buffer_m is None:
        return find_gaps(coverage, admin=admin)
    return find_gaps(coverage, admin=admin, eps_m=2 * buffer_m)


def _network_candidates(
    net_by_mode: Mapping[str, RoadNetwork], gaps: gpd.GeoDataFrame, opts: SitingOptions,
    *, admin: gpd.GeoDataFrame | None,
) -> pd.DataFrame:
    """Return network-node candidates in and around the gaps (and across areas with a minimum)."""
    finest = max(net_by_mode.values(), key=lambda nt: (nt.n_nodes, nt.mode))
    kw: dict[str, float] = {}
    if opts.candidate_spacing_m is not None:
        kw["spacing_m"] = opts.candidate_spacing_m
    if opts.candidate_buffer_m is not None:
        kw["buffer_m"] = opts.candidate_buffer_m
    cands = cand_mod.network_candidates(finest, gaps, **kw)
    if opts.min_per_area and admin is not None:
        extra = cand_mod.network_candidates(finest, admin, **kw)
        cands = extra if not len(gaps) else pd.concat([cands, extra], ignore_index=True)
        cands = cands.drop_duplicates("candidate_id").reset_index(drop=True)
    return cands


def _spaced(cands: pd.DataFrame, stations: gpd.GeoDataFrame, opts: SitingOptions) -> pd.DataFrame:
    """Return the new-site candidates farther than the minimum spacing from every station."""
    cands = cands[cands["kind"].astype(str) != "upgrade"].reset_index(drop=True)
    if not opts.min_spacing_m:
        return cands
    close = cand_mod.near_stations(cands, stations, min_spacing_m=opts.min_spacing_m)
    if close.any():
        log.info(
            f"{int(close.sum())} 个候选点距现有站点不足 {opts.min_spacing_m:g} 米，已排除。"
            f" {int(close.sum())} candidate(s) within {opts.min_spacing_m:g} m of an existing"
            " station were dropped."
        )
    return cands[~close].reset_index(drop=True)


def _with_upgrades(
    cands: pd.DataFrame, stations: gpd.GeoDataFrame, rules: Sequence[CoverageRule],
    opts: SitingOptions,
) -> gpd.GeoDataFrame:
    """Return the candidates plus upgrades of existing stations when the options ask for them."""
    import geopandas as gpd

    use_upgrades = (opts.budget is not None) if opts.upgrades is None else bool(opts.upgrades)
    if use_upgrades:
        if opts.budget is None:
            raise ConfigError("考虑升级现有站点需要预算（--budget）。Upgrades need a budget (--budget).")
        cost = cand_mod.DEFAULT_UPGRADE_COST if opts.upgrade_cost is None else opts.upgrade_cost
        ups = cand_mod.upgrade_candidates(stations, rules, cost_per_amenity=cost)
        cands = pd.concat([cands, ups], ignore_index=True)
    return gpd.GeoDataFrame(cands, geometry="geometry", crs="EPSG:4326")


def _no_candidates(coverage: CoverageResult, opts: SitingOptions) -> SitingResult:
    """Return the empty result, or raise when a target cannot be met without candidates."""
    table = coverage.table
    if opts.target is not None and get_model(opts.model_key).needs_target and any(
        table.loc[table[f"{r.name}_covered"].fillna(False).to_numpy(bool), "weight"].sum()
        < opts.target * table.loc[table[f"{r.name}_applies"].fillna(False).to_numpy(bool), "weight"].sum()
        for r in coverage.rules
    ):
        raise ConfigError("没有候选点，目标覆盖率无法达到；请提供候选点文件。"
                          " There are no candidate sites and the target is not met; give a candidate file.")
    log.warn("没有候选点（没有覆盖缺口，也没有给出候选点文件），不建议新站。"
             " No candidate sites (no coverage gaps and no candidate file): nothing to suggest.")
    return _empty_suggestions(table, coverage.rules, model=opts.model_key)


def _problem(
    net_by_mode: Mapping[str, RoadNetwork], coverage: CoverageResult, cands: gpd.GeoDataFrame,
    opts: SitingOptions, *, admin: gpd.GeoDataFrame | None, capacity: bool,
) -> tuple[SitingProblem, np.ndarray | None]:
    """Return the array form of the question and each candidate's admin area."""
    table = coverage.table
    max_access_m = coverage.max_access_m
    is_new = cands["kind"].astype(str).to_numpy() != "upgrade"
    cost = pd.to_numeric(cands["cost"], errors="coerce").to_numpy(float)
    cost = np.where(np.isfinite(cost), cost, opts.build_cost)
    cap = pd.to_numeric(cands["capacity"], errors="coerce").to_numpy(float)
    has_capacity = bool(np.isfinite(cap[is_new]).any())
    if has_capacity and not capacity:
        log.warn(f"{opts.model_key} 模型不考虑候选点容量，已忽略容量列。"
                 f" The {opts.model_key} model does not honour candidate capacities: the capacity"
                 " column is left out.")
    area = admin_of_points(cands.geometry, admin) if admin is not None else None
    conflicts = None
    if opts.min_spacing_m:
        new_idx = np.flatnonzero(is_new)
        pairs = cand_mod.spacing_conflicts(cands.geometry.iloc[new_idx], min_spacing_m=opts.min_spacing_m)
        conflicts = new_idx[pairs] if len(pairs) else None
    weight = table["weight"].to_numpy(float)
    snaps: dict[int, tuple[Any, Any]] = {}
    covers, weights, fixed, fixed_cost, fixed_count = [], [], [], [], []
    for rule in coverage.rules:
        net = net_by_mode[rule.mode]
        if id(net) not in snaps:
            snaps[id(net)] = (snap(net, table, max_access_m=max_access_m),  # said by coverage
                              snap(net, cands, max_access_m=max_access_m, what="candidates"))
        d_snap, c_snap = snaps[id(net)]
        costs = pairs_within(net, c_snap, d_snap, weight=rule.weight, limit=rule.limit,
                             include_access=True)
        rows = np.flatnonzero(table[f"{rule.name}_applies"].fillna(False).to_numpy(bool))
        covers.append(costs[rows])
        weights.append(weight[rows])
        fixed.append(table[f"{rule.name}_covered"].fillna(False).to_numpy(bool)[rows])
        twice = table[f"{rule.name}_covered_twice"].fillna(False).to_numpy(bool)[rows] \
            if f"{rule.name}_covered_twice" in table.columns else np.zeros(len(rows), bool)
        fixed_count.append(fixed[-1].astype(np.int64) + twice)
        existing = pd.to_numeric(table[f"{rule.name}_cost"], errors="coerce").to_numpy(float)[rows]
        if rule.weight == "time":
            existing = existing * 60.0  # the table's cost is in minutes, pairs in seconds
        # beyond the cutoff a station is out of reach: such demand costs the unreached penalty
        fixed_cost.append(np.where(fixed[-1], existing, np.inf))
    constraints = SiteConstraints(
        cost=cost, budget=opts.budget, counts_toward_p=is_new, area_of_candidate=area,
        min_per_area=opts.min_per_area, conflicts=conflicts,
        capacity=cap if has_capacity and capacity else None,
    )
    problem = SitingProblem(
        covers=tuple(covers), weights=tuple(weights), fixed=tuple(fixed),
        fixed_cost=tuple(fixed_cost), limits=tuple(float(r.limit) for r in coverage.rules),
        constraints=constraints, options=opts, fixed_count=tuple(fixed_count),
    )
    return problem, area


def _full_result(
    result: SitingResult, coverage: CoverageResult, cands: gpd.GeoDataFrame,
    problem: SitingProblem, area: np.ndarray | None,
) -> SitingResult:
    """Return ``result`` with ids, coordinates, per-rule gains and coverage over all demand rows."""
    table = coverage.table
    covered_after = []
    for r, rule in enumerate(coverage.rules):
        rows = np.flatnonzero(table[f"{rule.name}_applies"].fillna(False).to_numpy(bool))
        full = np.zeros(len(table), bool)
        full[rows] = result.covered_after[r]  # type: ignore[index]
        covered_after.append(full)
    frame = _suggestion_frame(result.table, cands, coverage.rules, covers=list(problem.covers),
                              weights=list(problem.weights), fixed=list(problem.fixed), area=area)
    is_new = np.asarray(problem.constraints.counts_toward_p, bool)
    sizes = dict(result.sizes)
    sizes["candidates_network"] = int((cands["source"] == "network").sum())
    sizes["candidates_file"] = int((cands["source"] == "file").sum())
    sizes["candidates_upgrade"] = int((~is_new).sum())
    return replace(result, table=frame, sizes=sizes, covered_after=tuple(covered_after))


def _empty_suggestions(table: Any, rules: Sequence[Any], *, model: str) -> SitingResult:
    """Return a result with no sites: the coverage stays what the existing stations give."""
    weight = table["weight"].to_numpy(float)
    covered = tuple(table[f"{r.name}_covered"].fillna(False).to_numpy(bool) for r in rules)
    value = float(sum(weight[c].sum() for c in covered))
    frame = no_suggestions(rules)
    return SitingResult(
        table=frame, chosen=np.zeros(0, np.int64), objective=value, bound=value, gap=0.0,
        gap_new=0.0, solver="no-candidates", status="optimal", seconds=0.0,
        sizes={"demand_rows": len(table), "candidates": 0}, model=model, covered_after=covered,
    )


def no_suggestions(rules: Sequence[CoverageRule]) -> gpd.GeoDataFrame:
    """Return the suggestions table with no rows: every column, EPSG:4326 points."""
    import geopandas as gpd

    cols = [*SUGGESTION_COLUMNS, *[f"{r.name}_{k}" for r in rules for k in ("gained", "share_after")]]
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                            geometry=gpd.GeoSeries(crs="EPSG:4326"))


def _normalise_candidates(candidates: Any) -> Any:
    """Return a candidate table with every :data:`yizhan.geo.candidates.CANDIDATE_COLUMNS` column."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame(candidates).copy()
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    defaults: dict[str, Any] = {"name": "", "kind": "new", "source": "file", "cost": np.nan,
                                "capacity": np.nan, "amenities_to_add": "", "station_id": "",
                                "node_id": -1, "source_row": -1, "host": "", "hours": ""}
    if "candidate_id" not in frame.columns:
        frame["candidate_id"] = [f"C{k + 1:04d}" for k in range(len(frame))]
    for col, value in defaults.items():
        if col not in frame.columns:
            frame[col] = value
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    return frame[[*CANDIDATE_COLUMNS, "geometry"]].reset_index(drop=True)


def _suggestion_frame(
    solved: pd.DataFrame, cands: Any, rules: Sequence[Any], *, covers: list[sp.csr_matrix],
    weights: list[np.ndarray], fixed: list[np.ndarray], area: np.ndarray | None,
) -> Any:
    """Return the suggestions GeoDataFrame: ids, coordinates, gains per rule, shares after."""
    import geopandas as gpd

    idx = solved["candidate"].to_numpy(np.int64)
    sub = cands.iloc[idx].reset_index(drop=True)
    new_amenities = ",".join(sorted(required_amenities(rules)))
    out = pd.DataFrame({
        "rank": solved["rank"].to_numpy(np.int64),
        "candidate_id": sub["candidate_id"].astype(str).to_numpy(),
        "name": sub["name"].astype(str).to_numpy(),
        "kind": sub["kind"].astype(str).to_numpy(),
        "source": sub["source"].astype(str).to_numpy(),
        "lon": np.round(sub.geometry.x.to_numpy(float), 7),
        "lat": np.round(sub.geometry.y.to_numpy(float), 7),
        "admin_area": area[idx] if area is not None else np.full(len(idx), "", dtype=object),
        "cost": solved["cost"].to_numpy(float),
        # combined figures come from the solver's ranking (capacity-aware, alpha-weighted)
        "weight_gained": solved["weight_gained"].to_numpy(float).round(6),
        "covered_share_after": solved["covered_share_after"].to_numpy(float).round(6),
    })
    out["covered_pct_after"] = np.round(100.0 * out["covered_share_after"], 4)
    out["amenities_to_add"] = np.where(out["kind"] == "upgrade", sub["amenities_to_add"].astype(str),
                                       new_amenities)
    out["host"] = sub["host"].fillna("").astype(str).to_numpy()
    out["hours"] = sub["hours"].fillna("").astype(str).to_numpy()
    if "cost_saved" in solved.columns:
        out["cost_saved"] = solved["cost_saved"].to_numpy(float)
        out["mean_cost_after"] = solved["mean_cost_after"].to_numpy(float)
    # Per-rule gains in rank order, each rule on its own rows.
    for r, rule in enumerate(rules):
        csc = structure(covers[r]).tocsc()
        state = fixed[r].copy()
        total = float(weights[r].sum())
        gained = np.zeros(len(idx))
        for k, j in enumerate(idx):  # loop over the ranked sites only
            rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
            new = rows[~state[rows]]
            gained[k] = float(weights[r][new].sum())
            state[new] = True
        after = float(weights[r][fixed[r]].sum()) + np.cumsum(gained)
        out[f"{rule.name}_gained"] = np.round(gained, 6)
        out[f"{rule.name}_share_after"] = np.round(after / total, 6) if total > 0 else np.nan
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")


def suggestions_csv_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``suggestions.csv`` of a suggestions table: no geometry, rank order.

    The one layout of ``yizhan suggest``, ``yizhan run`` (and its workbook sheet):
    :data:`SUGGESTION_COLUMNS` (covered share and percentage after each site), then the
    per-rule and model columns.
    """
    frame = pd.DataFrame(table.drop(columns=["geometry"], errors="ignore"))
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def write_suggestion_tables(table: gpd.GeoDataFrame, folder: str | Path) -> list[Path]:
    """Write ``suggestions.csv`` and ``suggestions.geojson`` of ``table`` into ``folder``.

    UTF-8 with a byte-order mark (Excel reads the Chinese names), fixed column order and
    rounding, so the same inputs give byte-identical files; each file written atomically.
    """
    folder = Path(folder)
    csv = write_csv_atomic(suggestions_csv_frame(table), folder / "suggestions.csv")
    geo = write_geojson_atomic(table, folder / "suggestions.geojson")
    return [csv, geo]


def write_suggestions(
    result: SitingResult, folder: str | Path, *, extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write ``suggestions.csv``, ``suggestions.geojson`` and ``summary.json`` into ``folder``.

    The tables are :func:`write_suggestion_tables`; ``summary.json`` holds
    :meth:`SitingResult.summary` plus ``extra``. Every file is written atomically.

    Returns
    -------
    list of pathlib.Path
        The three files written.
    """
    import json

    folder = Path(folder)
    files = write_suggestion_tables(result.table, folder)
    summary = result.summary()
    if extra:
        summary.update(extra)
    js = write_text_atomic(folder / "summary.json",
                           json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    return [*files, js]


def _shares(  # noqa: PLR0917 - one mask per figure
    weight: np.ndarray, applies: np.ndarray, covered: np.ndarray, covered_after: np.ndarray,
    off: np.ndarray, twice: np.ndarray,
) -> dict[str, Any]:
    """Return the headline figures of one set of demand points (one rule, or one rule in one area).

    ``covered_pct_on_network`` is the covered share of the demand that is on the network (demand
    off the network cannot be reached by any station); percentages are NaN without demand.
    """
    off_w = float(weight[applies & off].sum())
    total = float(weight[applies].sum())
    before_w = float(weight[applies & covered].sum())
    after_w = float(weight[applies & covered_after].sum())
    return {
        "n_demand": int(applies.sum()),
        "demand_weight": round(total, 6), "covered_weight": round(before_w, 6),
        "covered_pct": round(100.0 * before_w / total, 4) if total else np.nan,
        "covered_weight_after": round(after_w, 6),
        "covered_pct_after": round(100.0 * after_w / total, 4) if total else np.nan,
        "off_network_weight": round(off_w, 6),
        "off_network_pct": round(100.0 * off_w / total, 4) if total else np.nan,
        "covered_pct_on_network": round(100.0 * before_w / (total - off_w), 4)
        if total - off_w > 0 else np.nan,
        "covered_twice_pct": round(100.0 * float(weight[applies & twice].sum()) / total, 4)
        if total else np.nan,
    }


def _rule_masks(
    coverage: CoverageResult, result: SitingResult | None
) -> list[tuple[CoverageRule, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Return per rule its demand masks.

    Applies, covered today, covered after, off network, covered twice (a backup station).
    """
    table = coverage.table
    after = dict(zip((r.name for r in coverage.rules), result.covered_after or (), strict=False)) \
        if result is not None else {}
    out = []
    for rule in coverage.rules:
        applies = table[f"{rule.name}_applies"].fillna(False).to_numpy(bool)
        covered = table[f"{rule.name}_covered"].fillna(False).to_numpy(bool)
        covered_after = covered | after.get(rule.name, covered)
        off = table[f"{rule.name}_off_network"].fillna(False).to_numpy(bool) \
            if f"{rule.name}_off_network" in table.columns else np.zeros(len(table), bool)
        twice = table[f"{rule.name}_covered_twice"].fillna(False).to_numpy(bool) \
            if f"{rule.name}_covered_twice" in table.columns else np.zeros(len(table), bool)
        out.append((rule, applies, covered, covered_after, off, twice))
    return out


def rule_summary(coverage: CoverageResult, result: SitingResult | None = None) -> pd.DataFrame:
    """Return, per rule, the demand covered today and once the suggested sites exist.

    One table for ``yizhan run`` (``coverage_summary``) and ``yizhan suggest`` (``summary.json``):
    ``rule``, ``group``, ``mode``, ``cutoff``, ``requires``, ``standard``, ``n_demand``,
    ``demand_weight``, ``covered_weight``, ``covered_pct``, ``covered_weight_after``,
    ``covered_pct_after``, ``off_network_weight``, ``off_network_pct`` (demand too far from any
    road to be reached), ``covered_pct_on_network`` (covered share of the demand on the
    network) and ``covered_twice_pct`` (demand with a second, backup station within the cutoff
    today); percentages, NaN when a rule has no demand. Without ``result`` the figures after
    equal today's.
    """
    weight = coverage.table["weight"].to_numpy(float)
    rows = []
    for rule, applies, covered, covered_after, off, twice in _rule_masks(coverage, result):
        rows.append({
            "rule": rule.name, "group": rule.group or "all", "mode": rule.mode,
            "cutoff": rule.cutoff.label, "requires": ",".join(rule.requires),
            "standard": rule.standard or "",
            **_shares(weight, applies, covered, covered_after, off, twice),
        })
    return pd.DataFrame(rows)


#: Columns of :func:`area_summary`.
AREA_SUMMARY_COLUMNS = ("rule", "admin_name", "n_stations", "n_demand", "demand_weight",
                        "covered_weight", "covered_pct", "covered_weight_after",
                        "covered_pct_after", "off_network_weight", "off_network_pct",
                        "covered_pct_on_network", "covered_twice_pct")


def area_summary(coverage: CoverageResult, result: SitingResult | None = None) -> pd.DataFrame:
    """Return, per rule and admin area, the figures of :func:`rule_summary` for the area's demand.

    ``n_stations`` is the area's own qualifying stations (as in the coverage summary). Areas in
    the order of the coverage summary; empty (:data:`AREA_SUMMARY_COLUMNS`) without admin areas.
    """
    areas = coverage.summary[coverage.summary["level"] == "admin"]
    if not len(areas):
        return pd.DataFrame(columns=list(AREA_SUMMARY_COLUMNS))
    weight = coverage.table["weight"].to_numpy(float)
    names = coverage.table["admin_name"].astype(str).to_numpy()
    masks = {m[0].name: m for m in _rule_masks(coverage, result)}
    rows = []
    for area in areas.itertuples(index=False):
        rule, applies, covered, covered_after, off, twice = masks[str(area.rule)]
        here = applies & (names == str(area.admin_name))
        rows.append({"rule": rule.name, "admin_name": str(area.admin_name),
                     "n_stations": int(area.n_stations),
                     **_shares(weight, here, covered, covered_after, off, twice)})
    return pd.DataFrame(rows, columns=list(AREA_SUMMARY_COLUMNS))


#: Columns of :func:`group_summary`.
GROUP_SUMMARY_COLUMNS = ("rule", "group", "n_demand", "demand_weight", "covered_weight",
                         "covered_pct", "covered_weight_after", "covered_pct_after",
                         "off_network_weight", "off_network_pct", "covered_pct_on_network",
                         "covered_twice_pct")


def group_summary(coverage: CoverageResult, result: SitingResult | None = None) -> pd.DataFrame:
    """Return, per rule and worker group, the figures of :func:`rule_summary` for the group.

    A rule for every group (no ``group``) is broken down by the groups of its demand; a rule
    for one group has one row. Groups in alphabetical order; "" is demand without a group.
    """
    weight = coverage.table["weight"].to_numpy(float)
    groups = coverage.table["group"].astype(str).to_numpy()
    rows = []
    for rule, applies, covered, covered_after, off, twice in _rule_masks(coverage, result):
        for group in sorted(set(groups[applies])):
            here = applies & (groups == group)
            rows.append({"rule": rule.name, "group": group,
                         **_shares(weight, here, covered, covered_after, off, twice)})
    return pd.DataFrame(rows, columns=list(GROUP_SUMMARY_COLUMNS))
