r"""``yizhan suggest`` and ``yizhan gaps``: where new stations (or upgrades) add the most coverage.

Examples::

    yizhan suggest --network futian.graphml --stations 驿站.xlsx --crs gcj02 \\
        --demand riders.csv --mode ebike --cutoff 10min --sites 5 --out report/
    yizhan suggest --network futian.osm.pbf --stations s.xlsx --demand d.csv \\
        --config plan.toml --admin towns.gpkg --min-per-area 2 --target 95% --out report/
    yizhan gaps --network futian.graphml --stations s.xlsx --demand d.csv \\
        --mode walk --cutoff 800m --requires toilet --out report/

``suggest`` writes ``DIR/suggestions.csv`` and ``DIR/suggestions.geojson`` (rank, candidate_id,
lon, lat, admin_area, weight_gained, covered_share_after, kind new|upgrade, amenities_to_add,
per-rule gains) and ``DIR/summary.json`` (objective = covered weight, bound, gap, solver,
seconds, model sizes before and after reductions). ``gaps`` writes ``DIR/gaps.geojson``.
A ``--config`` TOML gives the ``[[rules]]`` and, optionally, a ``[siting]`` table
(:class:`yizhan.geo.siting.SitingOptions`); flags on the command line win over the file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from yizhan.geo.rules import parse_cutoff

# Input handling shared with `yizhan coverage` (same flags, same readers).
from yizhan.scripts.cmd_coverage import (
    add_datum_flags,
    input_datums,
    read_admin_file,
    read_demand_file,
    rules_from_args,
    warn_datums,
)

from yizhan import log
from yizhan.errors import ConfigError
from yizhan.io import read_toml
from yizhan.outdir import check_output, output_files

#: Files ``suggest`` writes into ``--out``.
SUGGEST_FILES = ("suggestions.csv", "suggestions.geojson", "summary.json")


def register(subparsers: Any) -> None:
    """Add the ``suggest`` and ``gaps`` sub-commands to ``subparsers``."""
    s = subparsers.add_parser(
        "suggest",
        help="建议新站点与升级 / suggest new sites and station upgrades",
        description=(
            "在覆盖缺口中选址：给定新站数（--sites）或目标覆盖率（--target），求覆盖最多需求的新站与升级方案，"
            "按贡献排序。 Choose new sites (and upgrades) that cover the most uncovered demand,"
            " for a number of sites (--sites) or a target share (--target), ranked by what each adds."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_flags(s)
    g = s.add_argument_group("选址 siting")
    g.add_argument("--sites", type=int, metavar="N", help="新站数 number of new sites (MCLP, p-median)")
    g.add_argument("--target", metavar="SHARE", help="目标覆盖率 target covered share, e.g. 95%% (LSCP)")
    # the registry's keys (yizhan.geo.siting.registry.MODELS; a test keeps them equal), written
    # out so that `--help` does not import the solvers
    g.add_argument("--model", choices=("mclp", "lscp", "pmedian", "backup", "pcenter"),
                   help="模型 model: mclp 最大覆盖 max coverage, lscp 最少站点达目标 fewest sites"
                        " to a target, pmedian 最短平均路程 least mean trip, backup 双重覆盖 most"
                        " demand with 2+ stations, pcenter 最远者最近 shortest worst trip")
    g.add_argument("--candidates", metavar="FILE",
                   help="候选点文件 candidate sites (xlsx/csv/geojson...; optional cost, capacity)")
    method = g.add_mutually_exclusive_group()
    method.add_argument("--exact", dest="method", action="store_const", const="exact",
                        help="精确求解（HiGHS 混合整数规划）/ exact MIP on HiGHS")
    method.add_argument("--greedy", dest="method", action="store_const", const="greedy",
                        help="贪心+交换启发式 / greedy + swap heuristic (very large cases)")
    g.add_argument("--time-limit", type=float, metavar="S", help="求解时限（秒）time limit in seconds (default 60)")
    g.add_argument("--min-per-area", type=int, metavar="K", help="每个行政区至少 K 个新站 / at least K new sites per admin area")
    g.add_argument("--min-spacing", metavar="DIST", help="站点最小间距 minimum spacing between stations, e.g. 300m")
    g.add_argument("--budget", type=float, metavar="X", help="总预算 total budget (new site = build cost, upgrade = per amenity)")
    g.add_argument("--build-cost", type=float, metavar="X", help="新建一站费用 cost of one new site (default 1)")
    g.add_argument("--upgrade-cost", type=float, metavar="X", help="每项设施升级费用 cost per amenity added (default 0.25)")
    up = g.add_mutually_exclusive_group()
    up.add_argument("--upgrades", dest="upgrades", action="store_const", const=True,
                    help="考虑升级现有站点（需预算）/ consider upgrading existing stations (needs --budget)")
    up.add_argument("--no-upgrades", dest="upgrades", action="store_const", const=False,
                    help="不考虑升级 / new sites only")
    g.add_argument("--candidate-spacing", metavar="DIST", help="路网候选点间距 spacing of network candidates (default 200m)")
    g.add_argument("--rule-weights", metavar="W1,W2", help="多规则权重 weight of each rule, comma-separated")
    g.add_argument("--hierarchical", action="store_true", default=None,
                   help="按规则顺序逐级优化 / optimise the rules in order (lexicographic)")
    g.add_argument("--sites-exactly", action="store_true", default=None,
                   help="恰好 --sites 个新站（默认至多）/ exactly --sites new sites (default: at most)")
    s.set_defaults(func=run_suggest, method=None, upgrades=None)

    gp = subparsers.add_parser(
        "gaps",
        help="覆盖缺口区域 / coverage gap areas",
        description="把未覆盖的需求聚成缺口区域（多边形、未覆盖权重、群体、所在行政区）。"
        " Group uncovered demand into gap areas (polygon, uncovered weight, groups, admin area).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _input_flags(gp)
    gp.add_argument("--gap-eps", default="300m", metavar="DIST",
                    help="聚类半径 clustering radius (default 300m)")
    gp.set_defaults(func=run_gaps)


def _input_flags(p: argparse.ArgumentParser) -> None:
    """Add the inputs shared with ``yizhan coverage``."""
    p.add_argument("--network", required=True, metavar="FILE",
                   help="路网文件 road network: .graphml, .osm, .osm.bz2, .osm.pbf")
    p.add_argument("--stations", required=True, metavar="FILE", help="站点清单 station inventory")
    p.add_argument("--demand", required=True, metavar="FILE", help="需求点 demand points")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录 output folder")
    p.add_argument("--config", metavar="FILE.toml", help="规则与选址配置 rules ([[rules]]) and [siting] options")
    p.add_argument("--mode", help="出行方式 travel mode: walk | ebike | drive")
    p.add_argument("--cutoff", help="截止值 cutoff, e.g. 10min, 800m")
    p.add_argument("--requires", help="必备设施 required amenities, comma-separated")
    p.add_argument("--standard", help="站点须达标的标准 standard the station must fully meet")
    p.add_argument("--group", help="工种 worker group")
    p.add_argument("--name", help="规则名 rule name")
    p.add_argument("--admin", metavar="FILE", help="行政区面图层 admin polygons")
    p.add_argument("--admin-field", metavar="FIELD", help="行政区名称字段 admin name field")
    add_datum_flags(p, candidates=True)
    p.add_argument("--max-access", default="500m", help="离路最远距离 farthest from a road (default 500m)")
    p.add_argument("--cache", metavar="DIR", help="路网缓存目录 network cache folder")


def _distance(text: str, flag: str) -> float:
    try:
        cut = parse_cutoff(text)
    except ConfigError as exc:
        raise ConfigError(f"{flag} {text!r}: {exc}") from exc
    if cut.metres is None:
        raise ConfigError(f"{flag} 须为距离，例如 300m。{flag} must be a distance, e.g. 300m.")
    return cut.metres


def _load(args: argparse.Namespace) -> dict[str, Any]:
    """Return rules, stations, demand, admin and networks from the shared input flags."""
    from yizhan.geo.sources import build_network
    from yizhan.stations.inventory import read_inventory

    rules = rules_from_args(args)
    max_access = _distance(args.max_access, "--max-access")
    datums = input_datums(args)
    inventory = read_inventory(args.stations, crs=datums["stations"],
                               standard=args.standard or "xinhui-7")
    single_group = rules[0].group if len(rules) == 1 else None
    demand = read_demand_file(args.demand, crs=datums["demand"], group=single_group)
    admin = read_admin_file(args.admin, field=args.admin_field) if args.admin else None
    cache = Path(args.cache) if args.cache else None
    nets = {m: build_network(args.network, mode=m, cache_dir=cache) for m in sorted({r.mode for r in rules})}
    for net in nets.values():
        for note in net.notes:
            log.warn(note)
    warn_datums(nets, datums, {"stations": (inventory.stations, args.stations),
                               "demand": (demand, args.demand)})
    return {"rules": rules, "stations": inventory.stations, "demand": demand, "admin": admin,
            "datums": datums,
            "nets": nets, "max_access": max_access}


def _options(args: argparse.Namespace) -> Any:
    """Return :class:`yizhan.geo.siting.SitingOptions` from ``[siting]`` of --config, overridden by flags."""
    from dataclasses import replace

    from yizhan.geo.siting import (
        SitingOptions,
        check_siting_options,
        parse_share,
        parse_siting_options,
    )

    opts = SitingOptions()
    if args.config:
        doc = read_toml(args.config)
        if isinstance(doc.get("siting"), dict):
            opts = parse_siting_options(doc["siting"], source=args.config)
    over: dict[str, Any] = {}
    if args.sites is not None:
        over["n_sites"] = args.sites
    if args.target is not None:
        over["target"] = parse_share(args.target)
    if args.model:
        over["model"] = args.model
    if args.method:
        over["method"] = args.method
    for flag, key in (("time_limit", "time_limit"), ("min_per_area", "min_per_area"),
                      ("budget", "budget"), ("build_cost", "build_cost"),
                      ("upgrade_cost", "upgrade_cost"), ("upgrades", "upgrades"),
                      ("hierarchical", "hierarchical"), ("sites_exactly", "sites_exactly")):
        if getattr(args, flag) is not None:
            over[key] = getattr(args, flag)
    if args.min_spacing:
        over["min_spacing_m"] = _distance(args.min_spacing, "--min-spacing")
    if args.candidate_spacing:
        over["candidate_spacing_m"] = _distance(args.candidate_spacing, "--candidate-spacing")
    if args.rule_weights:
        try:
            over["rule_weights"] = tuple(float(x) for x in args.rule_weights.split(","))
        except ValueError:
            raise ConfigError("--rule-weights 须为逗号分隔的数字。--rule-weights must be numbers, e.g. 1,0.5.") from None
    return check_siting_options(replace(opts, **over), where="命令行 command line")


def run_suggest(args: argparse.Namespace) -> int:
    """Run ``yizhan suggest`` and return the exit code."""
    out = check_output(args.out, replace=False, names=SUGGEST_FILES)
    opts = _options(args)
    if opts.n_sites == 0:
        raise ConfigError("--sites 须 >= 1。--sites must be at least 1.")
    opts = opts.resolved()
    data = _load(args)
    from yizhan.geo.candidates import read_candidates
    from yizhan.geo.coverage import compute_coverage
    from yizhan.geo.siting import log_result, rule_summary, suggest_sites, write_suggestions

    rules = data["rules"]
    candidates = (read_candidates(args.candidates, crs=data["datums"]["candidates"])
                  if args.candidates else None)
    warn_datums(data["nets"], data["datums"], {"candidates": (candidates, args.candidates)})
    coverage = compute_coverage(data["nets"], data["stations"], data["demand"], rules,
                                admin=data["admin"], max_access_m=data["max_access"])
    result = suggest_sites(data["nets"], data["stations"], coverage, opts,
                           candidates=candidates, admin=data["admin"])
    per_rule = rule_summary(coverage, result)
    extra = {"rules": [
        {"rule": r.name, "description": r.describe(), "demand_weight": row.demand_weight,
         "covered_weight_before": row.covered_weight, "covered_weight_after": row.covered_weight_after,
         "covered_share_before": row.covered_pct / 100 if row.demand_weight else None,
         "covered_share_after": row.covered_pct_after / 100 if row.demand_weight else None,
         "off_network_share": row.off_network_pct / 100 if row.demand_weight else None,
         "covered_share_on_network": None if math.isnan(row.covered_pct_on_network)
         else row.covered_pct_on_network / 100}
        for r, row in zip(rules, per_rule.itertuples(index=False), strict=True)]}
    with output_files(out) as tmp:
        files = [out / f.name for f in write_suggestions(result, tmp, extra=extra)]
    log_result(result)
    print_suggestions(result, rules)
    log.info("已写出 written: " + ", ".join(str(f) for f in files))
    return 0


def print_suggestions(result: Any, rules: Any) -> None:
    """Print the ranked suggestions as a bilingual rich table."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150))
    kind_label = {"new": "新建 new", "upgrade": "升级 upgrade"}
    title = (f"建议站点 Suggested sites · {result.model} · 目标值 objective {result.objective:,.1f}"
             f" · 差距 gap {result.gap:.2%} · {result.solver}")
    table = Table(title=title)
    for header, justify in (("名次 rank", "right"), ("候选点 candidate", "left"), ("类型 kind", "left"),
                            ("区域 area", "left"), ("经度 lon", "right"), ("纬度 lat", "right"),
                            ("新增覆盖 weight gained", "right"), ("累计覆盖率 share after", "right"),
                            ("需配设施 amenities", "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in result.table.itertuples(index=False):
        table.add_row(
            str(row.rank), str(row.candidate_id), kind_label.get(str(row.kind), str(row.kind)),
            str(row.admin_area), f"{row.lon:.6f}", f"{row.lat:.6f}", f"{row.weight_gained:,.1f}",
            f"{100 * row.covered_share_after:.1f}%", str(row.amenities_to_add) or "—",
        )
    console.print(table)
    if len(rules) > 1:
        for rule in rules:
            col = f"{rule.name}_share_after"
            if col in result.table.columns and len(result.table):
                console.print(f"规则 rule {rule.name}: 建议后覆盖率 share after"
                              f" {100 * result.table[col].iloc[-1]:.1f}%", highlight=False)


def run_gaps(args: argparse.Namespace) -> int:
    """Run ``yizhan gaps`` and return the exit code."""
    folder = check_output(args.out, replace=False, names=("gaps.geojson",))
    data = _load(args)
    from yizhan.geo.coverage import compute_coverage
    from yizhan.geo.gaps import find_gaps, gap_summary, write_gaps

    coverage = compute_coverage(data["nets"], data["stations"], data["demand"], data["rules"],
                                admin=data["admin"], max_access_m=data["max_access"])
    gaps = find_gaps(coverage, admin=data["admin"], eps_m=_distance(args.gap_eps, "--gap-eps"))
    out = folder / "gaps.geojson"
    with output_files(folder) as tmp:
        write_gaps(gaps, tmp / "gaps.geojson")
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"覆盖缺口 Coverage gaps ({len(gaps)})")
    for header in ("缺口 gap", "规则 rule", "未覆盖权重 uncovered", "点数 points", "群体 groups", "区域 area", "面积 km²"):
        table.add_column(header)
    for row in gaps.itertuples(index=False):
        table.add_row(str(row.gap_id), str(row.rule), f"{row.uncovered_weight:,.1f}", str(row.n_demand),
                      str(row.groups) or "—", str(row.admin_area), f"{row.area_km2:.3f}")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    for row in gap_summary(coverage, gaps).itertuples(index=False):
        console.print(f"规则 rule {row.rule}: 未覆盖 uncovered {row.uncovered_weight:,.1f}，缺口内 in gaps"
                      f" {row.in_gaps_weight:,.1f}，零散 scattered {row.scattered_weight:,.1f}，离网 off-road"
                      f" {row.off_network_weight:,.1f}", highlight=False)
    log.info(f"已写出 written: {out}")
    return 0
