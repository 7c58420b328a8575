r"""``yizhan coverage``: network coverage of worker demand by rest stations, per rule.

Examples::

    yizhan coverage --network futian.osm.pbf --stations 驿站.xlsx --crs gcj02 \\
        --demand riders.csv --group rider --mode ebike --cutoff 10min --out report/
    yizhan coverage --network futian.graphml --stations s.xlsx --demand d.csv \\
        --config rules.toml --admin towns.gpkg --out report/

Writes ``DIR/coverage.csv`` and ``DIR/summary.json`` (formats in :mod:`yizhan.geo.coverage`) and prints
a bilingual summary table.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yizhan.geo.rules import CoverageRule, load_rules, parse_cutoff, rule_from_options

from yizhan import log
from yizhan.errors import ConfigError
from yizhan.outdir import check_output, output_files

if TYPE_CHECKING:
    import geopandas as gpd
    from yizhan.geo.coverage import CoverageResult

_DECAYS = ("gaussian", "step", "uniform")  # geo.coverage.DECAYS, without importing the network stack
#: Files ``coverage`` writes into ``--out``.
OUTPUT_FILES = ("coverage.csv", "coverage.parquet", "summary.json", "loads.csv")


def register(subparsers: Any) -> None:
    """Add the ``coverage`` sub-command to ``subparsers``."""
    p = subparsers.add_parser(
        "coverage",
        help="按规则计算站点的路网覆盖 / network coverage of demand by stations, per rule",
        description=(
            "对每个需求点求最近的合格站点、路网距离与时间、是否覆盖，并按规则（及行政区）汇总。"
            " For every demand point: nearest qualifying station, network metres and minutes,"
            " covered or not; summarised per rule (and per admin area)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--network", required=True, metavar="FILE",
                   help="路网文件 road network: .graphml, .osm, .osm.bz2, .osm.pbf")
    p.add_argument("--stations", required=True, metavar="FILE",
                   help="站点清单 station inventory (xlsx/csv/geojson/gpkg/shp/parquet)")
    p.add_argument("--demand", required=True, metavar="FILE",
                   help="需求点 demand points (any table format the readers take)")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录 output folder")
    p.add_argument("--config", metavar="FILE.toml",
                   help="规则配置，运行其中全部 [[rules]] / run every [[rules]] table of this TOML")
    p.add_argument("--mode", help="出行方式 travel mode: walk | ebike | drive")
    p.add_argument("--cutoff", help="截止值 cutoff, e.g. 10min, 15分钟, 800m, 1.5km")
    p.add_argument("--requires", help="必备设施 required amenities, comma-separated (toilet,...)")
    p.add_argument("--standard",
                   help="站点须完全达标的标准 standard the station must fully meet (xinhui-7, ...)")
    p.add_argument("--group", help="工种 worker group (rider, courier, driver, sanitation, ...)")
    p.add_argument("--name", help="规则名 rule name (default from group, mode, cutoff)")
    p.add_argument("--admin", metavar="FILE",
                   help="行政区面图层 admin polygons (towns/streets) for per-area rows")
    p.add_argument("--admin-field", metavar="FIELD",
                   help="行政区名称字段 admin name field (default: admin_name, name, 名称, qh ...)")
    add_datum_flags(p)
    p.add_argument("--max-access", default="500m",
                   help="离路最远距离 farthest a point may be from a road (default 500m)")
    p.add_argument("--accessibility", action="store_true",
                   help="同时计算 E2SFCA 可达性 / also compute the E2SFCA accessibility score")
    p.add_argument("--decay", default="gaussian", choices=_DECAYS,
                   help="E2SFCA 距离衰减 distance decay (default gaussian)")
    p.add_argument("--cache", metavar="DIR",
                   help="路网缓存目录 network cache folder (default ~/.cache/yizhan/networks)")
    p.set_defaults(func=run)


def add_datum_flags(p: argparse.ArgumentParser, *, candidates: bool = False) -> None:
    """Add one datum flag per input, and ``--crs`` as the default of those not given."""
    p.add_argument("--crs", default="wgs84",
                   help="各输入的默认坐标系 default datum of every input without its own flag:"
                        " wgs84 | gcj02 | bd09")
    p.add_argument("--stations-crs", help="站点坐标系 datum of the stations (default --crs)")
    p.add_argument("--demand-crs", help="需求点坐标系 datum of the demand (default --crs)")
    if candidates:
        p.add_argument("--candidates-crs", help="候选点坐标系 datum of the candidates (default --crs)")


def input_datums(args: argparse.Namespace) -> dict[str, str]:
    """Return each input's datum (its own flag, else ``--crs``) and say which applies to which.

    Every input has its own datum: following the datum check's advice for the stations
    (``--stations-crs gcj02``) never moves the demand.
    """
    from yizhan.stations.coords import normalize_datum

    out: dict[str, str] = {}
    said = []
    for key, zh in (("stations", "站点"), ("demand", "需求点"), ("candidates", "候选点")):
        if not hasattr(args, f"{key}_crs") or (key == "candidates"
                                                and not getattr(args, "candidates", None)):
            continue
        own = getattr(args, f"{key}_crs")
        out[key] = normalize_datum(own or args.crs)
        said.append(f"{zh} {key}: {out[key]}" + ("" if own else " (--crs)"))
    log.info("坐标系 datums — " + "，".join(said))
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``yizhan coverage`` and return the exit code."""
    out = check_output(args.out, replace=False, names=OUTPUT_FILES)
    rules = rules_from_args(args)
    max_access = parse_cutoff(args.max_access)
    if max_access.metres is None:
        raise ConfigError(
            "--max-access 须为距离，例如 500m。--max-access must be a distance, e.g. 500m."
        )

    # heavy imports only when the command runs, so `yizhan --help` stays fast
    from yizhan.geo.coverage import (
        Accessibility,
        compute_coverage,
        station_loads,
        write_coverage_parquet,
    )
    from yizhan.geo.sources import build_network
    from yizhan.stations.inventory import read_inventory

    from yizhan.io import write_csv_atomic

    options = {"standard": args.standard} if args.standard else {}
    datums = input_datums(args)
    inventory = read_inventory(args.stations, crs=datums["stations"], **options)
    if len(inventory.problems):
        log.warn(
            f"站点清单有 {len(inventory.problems)} 个问题（见 yizhan stations check）。"
            f" The inventory has {len(inventory.problems)} problem(s);"
            " run `yizhan stations check` to list them."
        )
    single_group = rules[0].group if len(rules) == 1 else None
    demand = read_demand_file(args.demand, crs=datums["demand"], group=single_group)
    admin = read_admin_file(args.admin, field=args.admin_field) if args.admin else None
    cache = Path(args.cache) if args.cache else None
    nets = {}
    for mode in sorted({r.mode for r in rules}):
        nets[mode] = build_network(args.network, mode=mode, cache_dir=cache)
        for note in nets[mode].notes:
            log.warn(note)
    warn_datums(nets, datums, {"stations": (inventory.stations, args.stations),
                               "demand": (demand, args.demand)})
    result = compute_coverage(
        nets, inventory.stations, demand, rules, admin=admin, max_access_m=max_access.metres,
        accessibility=Accessibility(decay=args.decay) if args.accessibility else False,
    )
    with output_files(out) as tmp:
        result.to_csv(tmp / "coverage.csv")
        write_coverage_parquet(result.table, result.rules, tmp / "coverage.parquet")
        result.write_summary_json(tmp / "summary.json")
        write_csv_atomic(station_loads(result.table, inventory.stations, rules),
                         tmp / "loads.csv")
    print_summary(result)
    log.info("已写出 written: " + ", ".join(str(out / name) for name in OUTPUT_FILES))
    return 0


def warn_datums(
    nets: dict[str, Any], datums: dict[str, str],
    inputs: dict[str, tuple[gpd.GeoDataFrame | None, str]],
) -> None:
    """Warn about every input whose coordinates fit the roads better in another datum.

    :func:`yizhan.geo.datums.datum_warnings`, each input checked in its own datum; the message
    names the flag that fixes it (``--stations-crs`` ...).
    """
    from yizhan.geo.datums import InputDatum, datum_warnings

    items = [InputDatum(key, frame, datums[key], f"--{key}-crs", str(source))
             for key, (frame, source) in inputs.items() if frame is not None]
    for message in datum_warnings(nets, items):
        log.warn(message)


def print_summary(result: CoverageResult) -> None:
    """Print the bilingual per-rule (and per-area) summary as a rich table."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for rule in result.rules:
        console.print(f"规则 rule [bold]{rule.name}[/bold]: {rule.describe()}", highlight=False)
    table = Table(title="覆盖情况 Coverage")
    table.add_column("规则 rule")
    table.add_column("区域 area")
    for header in ("站点 stations", "需求 demand", "已覆盖 covered", "覆盖率 share",
                   "双重覆盖 by 2+", "离网 off-road"):
        table.add_column(header, justify="right")
    for row in result.summary.itertuples(index=False):
        share = "—" if pd.isna(row.covered_share) else f"{100 * row.covered_share:.1f}%"
        twice = "—" if pd.isna(row.covered_twice_share) else f"{100 * row.covered_twice_share:.1f}%"
        table.add_row(
            str(row.rule), str(row.admin_name) or "全部 all", str(row.n_stations),
            f"{row.demand_weight:,.0f}", f"{row.covered_weight:,.0f}", share, twice,
            f"{row.off_network_weight:,.0f}",
        )
    console.print(table)


def rules_from_args(args: argparse.Namespace) -> list[CoverageRule]:
    """Return the rules from ``--config`` or from ``--mode``/``--cutoff`` flags."""
    if args.config:
        flags = [f for f in ("mode", "cutoff", "requires", "group", "name") if getattr(args, f)]
        if flags:
            raise ConfigError(
                f"--config 与 {', '.join('--' + f for f in flags)} 不能同时使用。"
                f" Use either --config or the single-rule flags, not both."
            )
        return load_rules(args.config)
    if not args.mode or not args.cutoff:
        raise ConfigError(
            "请给出 --mode 和 --cutoff，或用 --config 指定规则文件。"
            " Give --mode and --cutoff, or a rules file with --config."
        )
    return [
        rule_from_options(mode=args.mode, cutoff=args.cutoff, group=args.group,
                          requires=args.requires, standard=args.standard, name=args.name)
    ]


def read_demand_file(path: str, *, crs: str, group: str | None) -> gpd.GeoDataFrame:
    """Return demand points (:func:`yizhan.geo.demand.read_demand_points`, as ``yizhan run`` reads them).

    Points keep the file's own ids when it has an id column (``id``, ``编号``, ``orderid`` ...)
    whose values are all set and unique, so ``coverage.csv`` joins back to the user's table.
    """
    from yizhan.geo.demand import read_demand_points

    result = read_demand_points(path, group=group, crs=crs)
    if len(result.problems):
        log.warn(
            f"需求点文件有 {len(result.problems)} 个问题，相关行已跳过。"
            f" The demand file has {len(result.problems)} problem(s); those rows were skipped."
        )
    return result.points


def read_admin_file(path: str, *, field: str | None) -> gpd.GeoDataFrame:
    """Return admin polygons with an ``admin_name`` column, in EPSG:4326.

    :func:`yizhan.geo.areas.read_admin_areas`, the reader ``yizhan run`` uses.
    """
    from yizhan.geo.areas import read_admin_areas

    return read_admin_areas(path, name_field=field)
