"""The yearly gap-analysis run: config in, one report folder out.

:func:`run` (also ``yizhan.run``), ``yizhan run CONFIG.toml --out DIR`` and
``python scripts/gap_analysis.py CONFIG.toml --out DIR`` do the same thing: read the inventory, build the road
network of every travel mode the rules use, read the demand layers, compute coverage per rule
(:func:`yizhan.geo.coverage.compute_coverage`), group uncovered demand into gap areas
(:func:`yizhan.geo.gaps.find_gaps`), suggest new sites (:func:`yizhan.geo.siting.suggest_sites`, maximal
covering on HiGHS with existing stations fixed), draw service areas and hotspots, and write the
report folder (:func:`yizhan.pipeline.report.write_report`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from yizhan import log
from yizhan.errors import ConfigError, InputFileError
from yizhan.geo.areas import buffer_area, in_area, read_admin_areas, read_areas, select_area
from yizhan.geo.candidates import read_candidates
from yizhan.geo.coverage import CoverageResult, compute_coverage, qualifying_stations
from yizhan.geo.datums import InputDatum, datum_warnings
from yizhan.geo.demand import combine_demand, read_layer
from yizhan.geo.equity import equity_table
from yizhan.geo.hosts import osm_host_candidates, require_hours
from yizhan.geo.hotspots import find_hotspots
from yizhan.geo.network import RoadNetwork
from yizhan.geo.rules import CoverageRule
from yizhan.geo.service_areas import service_areas
from yizhan.geo.shifts import coverage_by_shift, plan_for_shift
from yizhan.geo.siting import (
    SitingResult,
    area_summary,
    gap_areas,
    group_summary,
    log_result,
    no_suggestions,
    rule_summary,
    suggest_sites,
)
from yizhan.geo.sources import build_network
from yizhan.outdir import check_output
from yizhan.pipeline.config import AdminConfig, RunConfig, load_config
from yizhan.pipeline.report import write_report
from yizhan.pipeline.results import AnalysisResult, DistrictInputs
from yizhan.stations import read_inventory

#: Every step of the run, in order (shown as progress).
STEPS: tuple[str, ...] = ("inventory", "network", "demand", "coverage", "gaps", "siting")


def run_analysis(config: RunConfig) -> AnalysisResult:
    """Return the results of one yearly run of ``config`` (nothing is written).

    The steps are public so that ``yizhan run-many`` runs the very same code per district, as
    separate tasks: :func:`read_stations`, :func:`read_demand`, :func:`read_admin`,
    :func:`build_networks`, :func:`district_coverage`, :func:`finish_analysis`.

    Parameters
    ----------
    config
        A configuration from :func:`yizhan.pipeline.config.load_config`.

    Returns
    -------
    AnalysisResult
    """
    steps = iter(log.progress(STEPS, desc="年度分析 yearly run", unit="step"))
    next(steps)
    stations, inv_problems = read_stations(config)
    next(steps)
    networks = build_networks(config)
    next(steps)
    demand, demand_problems = read_demand(config)
    inputs = shift_plan(config, DistrictInputs(
        stations=stations, inventory_problems=inv_problems, demand=demand,
        demand_problems=demand_problems, admin=read_admin(config),
        candidates=read_run_candidates(config)))
    next(steps)
    cov = district_coverage(config, inputs, networks)
    next(steps)
    result = finish_analysis(config, inputs, networks, cov)
    for _ in steps:
        pass
    return result


def district_area(config: RunConfig) -> BaseGeometry | None:
    """Return the district polygon of ``config``'s ``[area]`` (EPSG:4326), or None."""
    if config.area is None:
        return None
    areas = read_areas(config.area.path, name_field=config.area.name_field)
    return select_area(areas, config.area.name, file=str(config.area.path))


def network_area(config: RunConfig, area: BaseGeometry | None = None) -> BaseGeometry | None:
    """Return the polygon the road network is cut to: the area grown by its road buffer."""
    if config.area is None:
        return None
    area = area if area is not None else district_area(config)
    assert area is not None
    return buffer_area(area, config.area.network_buffer_m)


def read_stations(config: RunConfig) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the stations and inventory problems of ``config``, restricted to its area."""
    log.info(f"读取台账 reading inventory {config.inventory.path.name}")
    inv = read_inventory(config.inventory.path, crs=config.inventory.crs,
                         standard=config.inventory.standard, sheet=config.inventory.sheet)
    return restrict_stations(inv.stations, inv.problems, district_area(config))


def shift_plan(config: RunConfig, inputs: DistrictInputs) -> DistrictInputs:
    """Return the inputs of a run planned for one shift (``plan_shift``), else ``inputs``.

    (:func:`yizhan.geo.shifts.plan_for_shift`; the yearly run and each district of
    ``run-many`` call this same function.)
    """
    if config.plan_shift is None:
        return inputs
    stations, demand, candidates, note = plan_for_shift(
        config.plan_shift, inputs.stations, inputs.demand, inputs.candidates)
    return replace(inputs, stations=stations, demand=demand, candidates=candidates,
                   notes=(*inputs.notes, note))


def read_run_candidates(config: RunConfig) -> gpd.GeoDataFrame | None:
    """Return the ``[candidates]`` sites of ``config`` inside its area, or None without them.

    Their ids (``candidate_id``/编号 ...) are kept exactly: the suggestions and the map show them.
    """
    if config.candidates is None:
        return None
    cfg = config.candidates
    costs = dict(cfg.host_costs)
    parts = []
    if cfg.path is not None:
        log.info(f"读取候选点 reading candidate sites {cfg.path.name}")
        parts.append(read_candidates(cfg.path, crs=cfg.crs, sheet=cfg.sheet, host_costs=costs))
    if cfg.osm is not None:
        log.info(f"读取 OSM 依托场所 reading OSM hosts {cfg.osm.name}: {', '.join(cfg.hosts)}")
        parts.append(osm_host_candidates(cfg.osm, cfg.hosts, costs=costs))
    candidates = (parts[0] if len(parts) == 1 else
                  gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326"))
    if cfg.require_hours:
        candidates = require_hours(candidates, cfg.require_hours)
    area = district_area(config)
    if area is None:
        return candidates
    inside = in_area(candidates, area)
    if not inside.all():
        log.info(f"区域外候选点 {int((~inside).sum())} 个不计入本区。"
                 f" {int((~inside).sum())} candidate sites lie outside the area and are left out.")
    return candidates.loc[inside].reset_index(drop=True)


def restrict_stations(
    stations: gpd.GeoDataFrame, problems: pd.DataFrame, area: BaseGeometry | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the stations inside ``area`` and the problems that concern this district.

    Kept problems: file-level ones (no row), those of rows that did not load (no usable
    location: they could be anyone's) and those of the stations kept. Problems of stations of
    other districts are theirs.
    """
    if area is None:
        return stations, problems
    inside = in_area(stations, area)
    kept = stations.loc[inside].reset_index(drop=True)
    if len(kept) < len(stations):
        log.info(f"区域外站点 {len(stations) - len(kept)} 个不计入本区。"
                 f" {len(stations) - len(kept)} stations lie outside the area and are left out.")
    if len(problems) and "row" in problems.columns:
        others = set(stations.loc[~inside, "source_row"].astype(int).tolist())
        rows = problems["row"]
        drop = rows.notna() & rows.astype("Float64").isin(others).fillna(False).astype(bool)
        problems = problems.loc[~drop.to_numpy(bool)].reset_index(drop=True)
    return kept, problems


def restrict_demand(demand: gpd.GeoDataFrame, area: BaseGeometry | None) -> gpd.GeoDataFrame:
    """Return the demand points inside ``area`` (all of them when ``area`` is None)."""
    if area is None:
        return demand
    return demand.loc[in_area(demand, area)].reset_index(drop=True)


def restrict_admin(
    admin: gpd.GeoDataFrame | None, area: BaseGeometry | None
) -> gpd.GeoDataFrame | None:
    """Return the admin polygons that overlap ``area`` (touching only is not overlapping)."""
    if admin is None or area is None:
        return admin
    geoms = admin.geometry.to_numpy()
    keep = shapely.intersects(area, geoms) & ~shapely.touches(area, geoms)
    return admin.loc[keep].reset_index(drop=True)


def build_networks(
    config: RunConfig, *, clipped_xml: str | Path | None = None,
    area: BaseGeometry | None = None,
) -> dict[str, RoadNetwork]:
    """Return the road network of every travel mode the rules use (cached between runs).

    ``clipped_xml`` is the district's part of a province-wide ``.osm.pbf`` already clipped by
    :func:`yizhan.geo.sources.clip_pbf_areas`; ``area`` is the district polygon when already read.
    """
    modes = sorted({rule.mode for rule in config.rules})
    polygon = network_area(config, area)
    networks = {}
    for mode in modes:
        log.info(f"路网 network ({mode}) {config.network_source.name}")
        networks[mode] = build_network(config.network_source, mode=mode, polygon=polygon,
                                       clipped_xml=clipped_xml)
    return networks


def district_coverage(
    config: RunConfig, inputs: DistrictInputs, networks: dict[str, RoadNetwork]
) -> CoverageResult:
    """Return the coverage of every rule of ``config`` over the district's demand."""
    return compute_coverage(networks, inputs.stations, inputs.demand, config.rules,
                            admin=inputs.admin, max_access_m=config.max_access_m)


def finish_analysis(
    config: RunConfig, inputs: DistrictInputs, networks: dict[str, RoadNetwork],
    cov: CoverageResult,
) -> AnalysisResult:
    """Return the whole result: gap areas, suggested sites, service areas and hotspots."""
    gaps = gap_areas(cov, config.siting.options, admin=inputs.admin)
    siting = _suggest(config, networks, inputs, cov, gaps=gaps)
    suggestions = siting.table if siting is not None else no_suggestions(config.rules)
    if config.plan_shift is not None and len(suggestions):
        # a new station planned for a shift keeps its hours (hosts' own hours already cover it)
        hours = suggestions["hours"].fillna("").astype(str)
        suggestions = suggestions.assign(
            hours=hours.where(hours != "", config.plan_shift.shift.label()))
    summary = rule_summary(cov, siting)
    by_area = area_summary(cov, siting)
    by_group = group_summary(cov, siting)
    problems = pd.concat([inputs.inventory_problems, inputs.demand_problems], ignore_index=True) \
        if len(inputs.demand_problems) else inputs.inventory_problems
    demand = inputs.demand
    hot = find_hotspots(demand) if len(demand) else None
    by_shift = (coverage_by_shift(networks, inputs.stations, cov.table, demand,
                                  rules=config.rules, shifts=config.shifts,
                                  max_access_m=config.max_access_m)
                if config.shifts else None)
    return AnalysisResult(
        config=config, stations=inputs.stations, problems=problems, demand=demand,
        admin=inputs.admin, coverage=cov.table, coverage_summary=summary,
        coverage_by_area=by_area, coverage_by_group=by_group, gaps=gaps,
        suggestions=suggestions, networks=networks,
        service_areas=_service_areas(networks, inputs.stations, config.rules,
                                     config.max_access_m),
        hotspots=hot.hotspots if hot is not None else None,
        hotspot_note=hot.describe() if hot is not None else "",
        coverage_by_shift=by_shift,
        equity=equity_table(cov.table, config.rules, floor=config.equity_floor),
        warnings=input_warnings(config, inputs, networks, cov),
    )


#: Share of a rule's demand weight off the roads above which the report warns.
OFF_NETWORK_WARN_SHARE = 0.5


def input_warnings(
    config: RunConfig, inputs: DistrictInputs, networks: dict[str, RoadNetwork],
    cov: CoverageResult,
) -> tuple[str, ...]:
    """Return what the report must say about inputs that cannot belong together.

    Checked: the road networks' own notes (dropped pieces); no station at all, or none within
    the bounds of any road network (plus the access distance); per input, coordinates that fit
    the roads better in another datum (:mod:`yizhan.geo.datums`); per rule, a worker group that
    matches no demand point; per rule, more than :data:`OFF_NETWORK_WARN_SHARE` of the demand
    weight too far from any road to be snapped.
    """
    out: list[str] = list(inputs.notes)
    for net in networks.values():
        out.extend(n for n in net.notes if n not in out)
    stations = inputs.stations
    if not len(stations):
        out.append("台账（在分析区域内）没有可用的驿站：覆盖率为 0，建议的站点不考虑现有驿站。"
                   " The inventory holds no usable station (within the area): coverage is 0"
                   " and the suggested sites ignore existing stations.")
    elif networks:
        lon = stations.geometry.x.to_numpy()
        lat = stations.geometry.y.to_numpy()
        inside = np.zeros(len(stations), dtype=bool)
        for net in networks.values():
            pad_lat = config.max_access_m / 111_320.0
            pad_lon = pad_lat / max(np.cos(np.radians(float(np.mean(net.lat)))), 0.01)
            inside |= ((lon >= net.lon.min() - pad_lon) & (lon <= net.lon.max() + pad_lon)
                       & (lat >= net.lat.min() - pad_lat) & (lat <= net.lat.max() + pad_lat))
        if not inside.any():
            out.append(
                f"台账中的 {len(stations)} 个驿站没有一个位于路网范围内：请检查台账坐标系（--crs）"
                "和路网是否是同一地区。"
                f" None of the inventory's {len(stations)} stations lies within the road"
                " network's area: check the inventory's datum (crs) and that the roads cover the"
                " same place.")
    out.extend(datum_warnings(networks, _input_datums(config, inputs)))
    table = cov.table
    weight = table["weight"].to_numpy(dtype=float)
    groups = sorted(str(g) for g in pd.unique(inputs.demand["group"])) if len(inputs.demand) \
        else []
    for rule in config.rules:
        applies = table[f"{rule.name}_applies"].to_numpy(dtype=bool)
        total = float(weight[applies].sum())
        if total <= 0:
            out.append(
                f"规则 {rule.name} 的工人群体 {rule.group or '全部'} 没有任何需求点，这条规则的覆盖率"
                f"无从计算；需求中的群体有：{', '.join(groups) or '无'}。"
                f" Rule {rule.name}: its worker group {rule.group or 'all'} matches no demand"
                f" point, so its coverage means nothing; the demand holds the groups:"
                f" {', '.join(groups) or 'none'}.")
            continue
        off = float(weight[table[f"{rule.name}_off_network"].to_numpy(dtype=bool)].sum())
        if off / total > OFF_NETWORK_WARN_SHARE:
            out.append(
                f"规则 {rule.name}：{100 * off / total:.1f}% 的需求（按权重）离道路太远（超过"
                f" {config.max_access_m:g} 米），无法计入覆盖；请检查需求坐标系和路网范围。"
                f" Rule {rule.name}: {100 * off / total:.1f}% of the demand (by weight) lies"
                f" farther than {config.max_access_m:g} m from any road and cannot be covered;"
                " check the demand's datum and the road network's extent.")
    return tuple(out)


def _input_datums(config: RunConfig, inputs: DistrictInputs) -> list[InputDatum]:
    """Return the inputs of a run to check against the roads, each in its own datum."""
    items = [InputDatum("stations", inputs.stations, config.inventory.crs,
                        "crs = ... in [inventory]", config.inventory.path.name)]
    demand = inputs.demand
    if len(demand) and "layer" in demand.columns:
        layer_of = demand["layer"].astype(str).to_numpy()
        for layer in config.demand:
            items.append(InputDatum("demand", demand.loc[layer_of == layer.name], layer.crs,
                                    f"crs = ... in [[demand]] {layer.name}", layer.path.name))
    cand = config.candidates
    if inputs.candidates is not None and cand is not None and cand.path is not None:
        from_file = inputs.candidates["source"].astype(str).to_numpy() == "file"
        items.append(InputDatum("candidates", inputs.candidates.loc[from_file], cand.crs,
                                "crs = ... in [candidates]", cand.path.name))
    return items


def _service_areas(
    networks: dict[str, RoadNetwork], stations: gpd.GeoDataFrame,
    rules: Sequence[CoverageRule], max_access_m: float,
) -> gpd.GeoDataFrame | None:
    """Return the service area of every qualifying station for each rule's cutoff."""
    frames = []
    for rule in rules:
        mask = qualifying_stations(stations, rule)
        if not mask.any():
            continue
        if rule.cutoff_min is not None:
            cutoffs, weight = [rule.cutoff_min * 60.0], "time"
        else:
            cutoffs, weight = [float(rule.cutoff_m or 0.0)], "length"
        frames.append(service_areas(networks[rule.mode], stations.loc[mask], cutoffs=cutoffs,
                                    weight=weight, max_access_m=max_access_m, rule=rule.name))
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def run(
    config: str | Path | RunConfig, *, out: str | Path | None = None,
    previous: str | Path | None = None,
) -> AnalysisResult:
    """Return the yearly analysis of ``config`` and, with ``out``, write its report folder.

    The Python API of ``yizhan run`` (also ``yizhan.run``): the same code, the same tables. The
    report folder is checked before any computation and written whole or not at all (staging
    folder, then rename); yizhan never replaces a folder holding files it did not write
    (:mod:`yizhan.outdir`).

    Parameters
    ----------
    config
        A TOML configuration file, or a :class:`~yizhan.pipeline.config.RunConfig`.
    out
        The report folder to create (replaced if yizhan wrote everything in it); None writes
        nothing.
    previous
        Last year's report folder, for the year-over-year comparison (needs ``out``).

    Returns
    -------
    AnalysisResult
        Everything the run computed (coverage, gaps, suggestions, warnings ...).
    """
    log.new_run()
    if out is not None:
        check_output(out)
    elif previous is not None:
        raise ConfigError("previous 需要 out。 A previous report folder needs out= to compare into.")
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if previous is not None and not (Path(previous) / "summary.json").is_file():
        raise ConfigError(
            f"上一年度报告目录 {previous} 中没有 summary.json，请给出上一年 yizhan run 的输出目录。"
            f" Previous run folder {previous} holds no summary.json; give last year's run folder."
        )
    result = run_analysis(cfg)
    if out is not None:
        write_report(result, out, previous=previous)
    return result


# --------------------------------------------------------------------------------------------
# Gaps


def _suggest(
    config: RunConfig, networks: dict[str, RoadNetwork], inputs: DistrictInputs,
    cov: CoverageResult, *, gaps: gpd.GeoDataFrame,
) -> SitingResult | None:
    """Return the ranked new sites of the run, or None when the config asks for none.

    The sites come from :func:`yizhan.geo.siting.suggest_sites`, the function ``yizhan
    suggest`` calls, with the same options, the same gap areas and the user's candidates.
    """
    opts = config.siting.run_options()
    if opts is None:
        return None
    result = suggest_sites(networks, inputs.stations, cov, opts, gaps=gaps, admin=inputs.admin,
                           candidates=inputs.candidates)
    log_result(result)
    return result


def read_demand(config: RunConfig) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the demand points of every layer (restricted to the area) and their problems.

    ``demand_id`` is ``layer name:row``; layer names are unique (checked by the config), so ids
    are unique. Problems of rows that did not load are all kept: they have no usable location.
    """
    frames, problems = [], []
    for layer in config.demand:
        res = read_layer(layer, windows=config.windows)
        frames.append(res.points)
        if len(res.problems):
            problems.append(res.problems)
    demand = combine_layers(frames, windows=bool(config.windows))
    if demand.empty:
        raise InputFileError(
            "需求图层中没有可用的点，请检查经纬度列。The demand layers hold no usable points;"
            " check their lon/lat columns.", file=str(config.demand[0].path),
        )
    demand = restrict_demand(demand, district_area(config))
    prob = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame()
    return demand, prob


def combine_layers(frames: Sequence[gpd.GeoDataFrame], *, windows: bool = False) -> gpd.GeoDataFrame:
    """Return the demand points of several layers (or parts of layers) as one frame.

    :func:`yizhan.geo.demand.combine_demand`, the one stacking rule of every command.
    """
    return combine_demand(frames, windows=windows)


def read_admin(config: RunConfig) -> gpd.GeoDataFrame | None:
    """Return the admin polygons (``admin_name``) of ``config`` overlapping its area, or None."""
    return restrict_admin(load_admin(config.admin), district_area(config))


def load_admin(admin: AdminConfig | None) -> gpd.GeoDataFrame | None:
    """Return every polygon of an admin-area layer as ``admin_name`` + geometry, or None.

    :func:`yizhan.geo.areas.read_admin_areas`, the reader of every command.
    """
    if admin is None:
        return None
    return read_admin_areas(admin.path, name_field=admin.name_field)
