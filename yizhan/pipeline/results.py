"""Result types of the yearly run and the province run: plain frozen dataclasses.

Their own module, so the analysis, the report writers and the province orchestration all import
them without importing each other (no cycles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry.base import BaseGeometry

    from yizhan.geo.network import RoadNetwork
    from yizhan.pipeline.config import RunConfig

__all__ = ["AnalysisResult", "DistrictInputs", "DistrictJob", "DistrictOutcome", "ProvincePlan",
           "ProvinceResult"]


@dataclass(frozen=True)
class AnalysisResult:
    """Everything one yearly run computed, before it is written.

    Attributes
    ----------
    config
        The validated configuration.
    stations, problems
        Stations GeoDataFrame (with compliance) and the inventory's problem table (plus demand
        problems).
    demand
        Demand GeoDataFrame of all layers.
    admin
        Admin polygons (``admin_name``) or None.
    coverage
        Per demand point table of :func:`yizhan.geo.coverage.compute_coverage`.
    coverage_summary
        One row per rule: ``rule``, ``group``, ``mode``, ``cutoff``, ``requires``,
        ``standard``, ``demand_weight``, ``covered_weight``, ``covered_pct``,
        ``covered_weight_after``, ``covered_pct_after``.
    gaps
        Gap polygons (EPSG:4326): ``gap_id``, ``rule``, ``groups``, ``n_demand``,
        ``uncovered_weight``, ``admin_area``, ``area_km2``.
    suggestions
        Suggested new sites (EPSG:4326 points): ``rank``, ``candidate_id``, ``lon``, ``lat``,
        ``admin_area``, ``weight_gained``, ``covered_pct_after`` and per-rule gains.
    networks
        Road network per travel mode.
    service_areas
        Service areas of the qualifying stations per rule and cutoff (EPSG:4326 polygons,
        :func:`yizhan.geo.service_areas.service_areas`).
    hotspots
        Demand hotspots (:func:`yizhan.geo.hotspots.find_hotspots`, default parameters,
        which adapt to the demand's density).
    hotspot_note
        What makes a hotspot in this run, in words (:meth:`~yizhan.geo.hotspots.HotspotResult.describe`),
        shown in the map legend.
    coverage_by_shift
        Per shift window and rule (:func:`yizhan.geo.shifts.coverage_by_shift`): covered share
        with every station and with those open during the shift; None without ``[shifts]`` or
        ``[windows]``.
    equity
        Per rule, worker group and area (:func:`yizhan.geo.equity.equity_table`): covered
        shares, the worst-off worker's cost, below the ``[equity] floor``.
    coverage_by_area
        Per rule and admin area (:func:`yizhan.geo.siting.area_summary`): the area's own
        stations, covered share today and after the suggestions, share off the network and
        covered share of the demand on it; None or empty without admin areas.
    coverage_by_group
        Per rule and worker group (:func:`yizhan.geo.siting.group_summary`), the same figures.
    warnings
        Bilingual sentences about inputs that cannot mean what the user asked (stations outside
        the roads, a rule whose group has no workers, demand mostly off the roads, dropped road
        pieces); shown at the top of the report, in ``summary.json`` and on the console.
    """

    config: RunConfig
    stations: gpd.GeoDataFrame
    problems: pd.DataFrame
    demand: gpd.GeoDataFrame
    admin: gpd.GeoDataFrame | None
    coverage: gpd.GeoDataFrame
    coverage_summary: pd.DataFrame
    gaps: gpd.GeoDataFrame
    suggestions: gpd.GeoDataFrame
    networks: dict[str, RoadNetwork]
    service_areas: gpd.GeoDataFrame | None = None
    hotspots: gpd.GeoDataFrame | None = None
    coverage_by_area: pd.DataFrame | None = None
    coverage_by_group: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()
    hotspot_note: str = ""
    coverage_by_shift: pd.DataFrame | None = None
    equity: pd.DataFrame | None = None


@dataclass(frozen=True)
class DistrictInputs:
    """The tables one district's analysis starts from, already restricted to its area.

    Attributes
    ----------
    stations, inventory_problems
        Stations (with compliance) and the inventory's problem table.
    demand, demand_problems
        Demand points of all layers and the rows left out of them.
    admin
        Admin polygons (``admin_name``) or None.
    candidates
        The user's candidate sites (``[candidates]``) inside the area, or None.
    """

    stations: gpd.GeoDataFrame
    inventory_problems: pd.DataFrame
    demand: gpd.GeoDataFrame
    demand_problems: pd.DataFrame
    admin: gpd.GeoDataFrame | None
    candidates: gpd.GeoDataFrame | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DistrictJob:
    """One district to run: its name, folder name and config (or why the config failed)."""

    name: str
    slug: str
    config_path: Path
    config: RunConfig | None = None
    error: str | None = None


@dataclass(frozen=True)
class ProvincePlan:
    """What ``run-many`` runs: a title and one job per district, in display order."""

    title: str
    spec: Path
    jobs: tuple[DistrictJob, ...]


@dataclass
class DistrictOutcome:
    """How one district ended: ``ok``, ``unchanged`` (skipped) or ``failed`` (step + error)."""

    name: str
    slug: str
    status: str
    row: dict[str, Any] = field(default_factory=dict)
    step: str | None = None
    error: str | None = None
    detail: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class ProvinceResult:
    """What :func:`run_many` did: the plan, every district's outcome and the province extras."""

    plan: ProvincePlan
    outcomes: tuple[DistrictOutcome, ...]
    areas: dict[str, BaseGeometry | None]
    problems: pd.DataFrame
    demand_outside: int
    out: Path
    seconds: float
