r"""``yizhan demand build``: worker demand points, grid cells and hotspots.

Examples::

    yizhan demand build demand.toml --out report/demand
    yizhan demand build --input taxi.csv --group driver --time Stime \
        --window lunch=11:00-13:30 --window evening=17:00-20:00 \
        --grid 250m --method dbscan --eps 300m --out report/demand
    yizhan demand build --proxies futian.osm.pbf --grid h3:9 --out report/demand

Writes into DIR, each file atomically: ``demand.geojson`` (points, with ``hotspot_id``; empty
for noise), ``grid.geojson`` (cells with weight per group and window), ``hotspots.geojson``,
``problems.csv`` (rows that could not be used), ``demand_summary.json``; with ``--gpkg`` also
``demand.gpkg`` holding the three layers. Prints a bilingual summary (weights per layer, group,
window and hotspot; what was clustered and what was left as noise). The config TOML format is
documented in :mod:`yizhan.geo.demand`; flags given next to a config override its values.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

from yizhan import log
from yizhan.errors import ConfigError, InputFileError
from yizhan.io import write_csv_atomic, write_geojson_atomic, write_text_atomic, write_with
from yizhan.outdir import check_output, output_files

METHODS = ("dbscan", "hdbscan", "kmeans")
#: Files ``demand build`` writes into ``--out``.
OUTPUT_FILES = ("problems.csv", "demand.geojson", "grid.geojson", "hotspots.geojson",
                "demand.gpkg", "demand_summary.json")


def register(subparsers: Any) -> None:
    """Add the ``demand`` command group (``demand build``) to ``subparsers``."""
    parser = subparsers.add_parser(
        "demand", help="劳动者需求：需求点、网格与热点 / worker demand: points, grid, hotspots"
    )
    group = parser.add_subparsers(dest="demand_command", metavar="SUBCOMMAND")
    p = group.add_parser(
        "build",
        help="由点表或 OSM 兴趣点构建需求、网格与热点 / build demand, grid and hotspots",
        description=(
            "读取需求点（订单取餐点、GPS 轨迹、出租车上客点、环卫作业点人数）或 OSM 兴趣点，"
            "汇总到网格，并聚类为热点。配置文件的表：[[demand]]（path、group、weight、crs、"
            "time）、[windows]、[proxies]、[grid]、[hotspots]。"
            " Read demand points (pick-up points, GPS pings, taxi pick-ups, depots with head"
            " counts) or OSM points of interest, aggregate them on a grid and cluster them into"
            " hotspots. Config tables: [[demand]] (path, group, weight, crs, time), [windows],"
            " [proxies], [grid], [hotspots]."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", metavar="CONFIG.toml",
                   help="需求配置 demand config ([[demand]], [windows], [proxies], [grid], [hotspots])")
    p.add_argument("--input", metavar="FILE",
                   help="点表 point table (csv/xlsx/geojson/gpkg/shp/parquet)")
    p.add_argument("--name", help="图层名（需求编号前缀） layer name, prefix of demand_id")
    p.add_argument("--sheet", help="工作表 worksheet (xlsx; default the first)")
    p.add_argument("--group",
                   help="劳动者群体或群体列 worker group (rider, courier, driver, sanitation,"
                        " construction, other) or a column holding it")
    p.add_argument("--weight", help="权重列或常数 weight column, or a number per row (default 1)")
    p.add_argument("--time", help="时间列 time column (for --window)")
    p.add_argument("--window", action="append", default=[], metavar="NAME=HH:MM-HH:MM",
                   help="时段，可重复 time window, repeatable (e.g. lunch=11:00-13:30)")
    p.add_argument("--keep-outside", action="store_true",
                   help="保留时段外的点（记为 other_hours） keep rows outside every window")
    p.add_argument("--crs", default=None,
                   help="坐标系 datum/CRS of --input: wgs84 | gcj02 | bd09 | EPSG:xxxx (default wgs84)")
    p.add_argument("--proxies", metavar="OSM",
                   help="以 OSM 兴趣点为需求 OSM POIs as demand: local .osm/.osm.pbf, or a place name")
    p.add_argument("--grid", metavar="CELL", help="展示网格 display grid: 250m | h3:9 (default 250m)")
    p.add_argument("--collapse", metavar="CELL",
                   help="按网格合并需求点 merge demand per cell, group and window (e.g. 50m)")
    p.add_argument("--method", choices=METHODS, help="聚类方法 clustering method (default dbscan)")
    p.add_argument("--eps", help="邻域半径 neighbourhood radius, e.g. 300m (dbscan default 300m)")
    p.add_argument("--min-weight", type=float,
                   help="热点核心最小权重 minimum core weight (default 0.5%% of all demand)")
    p.add_argument("--k", type=int, help="kmeans 聚类数 number of k-means clusters")
    p.add_argument("--metric", choices=("projected", "haversine"),
                   help="距离度量 distance metric (default projected metres)")
    p.add_argument("--seed", type=int, help="随机种子 random seed (default 0)")
    p.add_argument("--gpkg", action="store_true",
                   help="另写 demand.gpkg（三个图层） also write demand.gpkg with the three layers")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录 output folder")
    p.set_defaults(func=run_build)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def config_from_args(args: argparse.Namespace) -> Any:
    """Return the :class:`yizhan.geo.demand.DemandConfig` of a config file and/or the flags."""
    from yizhan.geo.demand import (
        DemandConfig,
        HotspotConfig,
        LayerConfig,
        TimeWindows,
        load_demand_config,
        parse_distance_m,
        parse_windows,
    )

    config = load_demand_config(args.config) if args.config else DemandConfig()
    layers = list(config.layers)
    if args.input:
        path = Path(args.input)
        weight: str | float | None = args.weight
        if weight is not None:
            with contextlib.suppress(ValueError):
                weight = float(weight)
        layers.append(
            LayerConfig(
                path=path,
                name=args.name or path.name.split(".")[0],
                group=args.group,
                weight=weight,
                crs=args.crs or "wgs84",
                time=args.time,
                sheet=args.sheet,
            )
        )
    elif any(getattr(args, f) for f in ("group", "weight", "time", "crs", "sheet", "name")):
        raise ConfigError(
            "--group/--weight/--time/--crs/--sheet/--name 只与 --input 一起使用。"
            " --group/--weight/--time/--crs/--sheet/--name apply to --input only."
        )
    hot = config.hotspots
    hot = HotspotConfig(
        method=args.method or hot.method,
        eps_m=parse_distance_m(args.eps) if args.eps else hot.eps_m,
        min_weight=args.min_weight if args.min_weight is not None else hot.min_weight,
        k=args.k if args.k is not None else hot.k,
        seed=args.seed if args.seed is not None else hot.seed,
        metric=args.metric or hot.metric,
    )
    config = replace(
        config,
        layers=tuple(layers),
        windows=TimeWindows(
            parse_windows(args.window) if args.window else config.windows.windows,
            args.keep_outside or config.windows.keep_outside,
        ),
        proxy_source=args.proxies or config.proxy_source,
        cell=args.grid or config.cell,
        collapse=args.collapse or config.collapse,
        hotspots=hot,
    )
    if not config.layers and config.proxy_source is None:
        raise ConfigError(
            "请给出配置文件、--input 或 --proxies。 Give a config file, --input or --proxies."
        )
    names = [layer.name for layer in config.layers]
    if len(set(names)) != len(names):
        raise ConfigError(f"图层名重复 Layer names repeat: {names}; use --name.")
    return config


def run_build(args: argparse.Namespace) -> int:
    """Run ``yizhan demand build`` and return the exit code."""
    import numpy as np
    from yizhan.geo.demand import build_demand
    from yizhan.geo.grid import grid_demand
    from yizhan.geo.hotspots import find_hotspots

    out = check_output(args.out, replace=False, names=OUTPUT_FILES)
    config = config_from_args(args)
    build = build_demand(config)
    if len(build.problems):
        log.warn(
            f"{len(build.problems)} 行无法使用，见 {out / 'problems.csv'}。"
            f" {len(build.problems)} row(s) could not be used; see {out / 'problems.csv'}."
        )
    points = build.points
    if len(points) == 0:
        if len(build.problems):
            with output_files(out) as tmp:
                write_csv_atomic(build.problems, tmp / "problems.csv")
        raise InputFileError(
            "没有可用的需求点；请查看 problems.csv 与时段设置。"
            " No usable demand points; check problems.csv and the time windows.",
            file=", ".join(str(layer.path) for layer in config.layers) or config.proxy_source,
        )
    log.info(f"网格汇总 gridding {len(points):,} points on {config.cell}")
    grid = grid_demand(points, cell=config.cell)
    hot_cfg = config.hotspots
    log.info(f"聚类 clustering with {hot_cfg.method}")
    result = find_hotspots(
        points,
        method=hot_cfg.method,  # type: ignore[arg-type]
        eps_m=hot_cfg.eps_m,
        min_weight=hot_cfg.min_weight,
        k=hot_cfg.k,
        seed=hot_cfg.seed,
        metric=hot_cfg.metric,  # type: ignore[arg-type]
    )
    ids = result.hotspots["hotspot_id"].to_numpy(dtype=object)
    labelled = points.copy()
    labelled["hotspot_id"] = np.where(
        result.labels >= 0, ids[np.maximum(result.labels, 0)] if len(ids) else "", ""
    )
    summary = summarise(build.layers, labelled, result, config)
    with output_files(out) as folder:
        if len(build.problems):
            write_csv_atomic(build.problems, folder / "problems.csv")
        write_geojson_atomic(labelled, folder / "demand.geojson")
        write_geojson_atomic(grid, folder / "grid.geojson")
        write_geojson_atomic(result.hotspots, folder / "hotspots.geojson")
        if args.gpkg:
            write_with(folder / "demand.gpkg",
                       lambda tmp: _write_gpkg(tmp, labelled, grid, result.hotspots))
        write_text_atomic(
            folder / "demand_summary.json",
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
        )
    print_summary(summary)
    log.info(f"已写出 written: {out}")
    return 0


def summarise(
    layers: pd.DataFrame, points: gpd.GeoDataFrame, result: Any, config: Any
) -> dict[str, Any]:
    """Return the run summary (layers, groups, windows, clustering, hotspots) as plain data."""
    import pandas as pd

    total = float(points["weight"].sum())
    in_hot = points["hotspot_id"] != ""

    def _by(column: str) -> list[dict[str, Any]]:
        frame = pd.DataFrame(
            {"key": points[column].astype(str), "w": points["weight"], "h": in_hot}
        )
        rows = []
        for key, part in frame.groupby("key", sort=True):
            weight = float(part["w"].sum())
            rows.append(
                {
                    column: key,
                    "weight": weight,
                    "share": weight / total if total else 0.0,
                    "points": len(part),
                    "in_hotspots_weight": float(part.loc[part["h"], "w"].sum()),
                }
            )
        return rows

    hot = result.hotspots.drop(columns="geometry")
    return {
        "layers": layers.to_dict(orient="records"),
        "total_weight": total,
        "points": len(points),
        "groups": _by("group"),
        "windows": _by("window") if "window" in points.columns else [],
        "grid": {"cell": config.cell},
        "clustering": {
            "method": result.method,
            "metric": result.metric,
            "eps_m": result.eps_m,
            "min_weight": result.min_weight,
            "k": result.k,
            "seed": result.seed,
            "cell_m": result.cell_m,
            "rows_clustered": result.n_rows_clustered,
            "hotspots": len(hot),
            "clustered_weight": result.clustered_weight,
            "noise_weight": result.noise_weight,
            "noise_points": result.noise_points,
        },
        "hotspots": [
            {key: (val.item() if hasattr(val, "item") else val) for key, val in row.items()}
            for row in hot.to_dict(orient="records")
        ],
    }


def print_summary(summary: dict[str, Any], *, limit: int = 20) -> None:
    """Print the bilingual demand summary as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    total = summary["total_weight"] or 1.0
    layers = Table(title="需求图层 Demand layers")
    for head in ("图层 layer", "来源 source", "行数 rows", "读入 loaded", "问题 problems",
                 "时段外 outside windows", "权重 weight"):
        layers.add_column(head, justify="left" if "layer" in head or "source" in head else "right")
    for row in summary["layers"]:
        layers.add_row(str(row["layer"]), str(row["source"]), f"{row['rows']:,}",
                       f"{row['loaded']:,}", f"{row['problems']:,}",
                       f"{row['outside_windows']:,}", f"{row['weight']:,.1f}")
    console.print(layers)
    for key, title in (("groups", "按群体 By worker group"), ("windows", "按时段 By time window")):
        if not summary[key]:
            continue
        table = Table(title=title)
        for head in ("名称 name", "点数 points", "权重 weight", "占比 share", "热点内 in hotspots"):
            table.add_column(head, justify="left" if "name" in head else "right")
        field = "group" if key == "groups" else "window"
        for row in summary[key]:
            table.add_row(str(row[field]), f"{row['points']:,}", f"{row['weight']:,.1f}",
                          f"{100 * row['share']:.1f}%",
                          f"{100 * row['in_hotspots_weight'] / (row['weight'] or 1):.1f}%")
        console.print(table)
    c = summary["clustering"]
    eps = "—" if c["eps_m"] is None else f"{c['eps_m']:g} m"
    cell = "逐点 point by point" if c["cell_m"] is None else f"{c['cell_m']:g} m"
    console.print(
        f"聚类 Clustering: {c['method']} ({c['metric']}), eps {eps}, 最小权重 min weight "
        f"{c['min_weight']:,.1f}, 预网格 pre-grid {cell}, 参与聚类 rows clustered "
        f"{c['rows_clustered']:,}\n"
        f"热点 {c['hotspots']} 个，覆盖权重 {c['clustered_weight']:,.1f}"
        f"（{100 * c['clustered_weight'] / total:.1f}%）；噪声 {c['noise_points']:,} 点、权重 "
        f"{c['noise_weight']:,.1f}（{100 * c['noise_weight'] / total:.1f}%）。"
        f" {c['hotspots']} hotspots hold {100 * c['clustered_weight'] / total:.1f}% of the"
        f" weight; {c['noise_points']:,} points ({100 * c['noise_weight'] / total:.1f}% of the"
        " weight) are noise."
    )
    if summary["hotspots"]:
        table = Table(title="热点 Hotspots" + (f"（前 {limit} top {limit}）"
                                                if len(summary["hotspots"]) > limit else ""))
        for head in ("编号 id", "权重 weight", "占比 share", "主要群体 group", "高峰时段 peak",
                     "点数 points"):
            table.add_column(head, justify="right" if head.split()[1] in
                             ("weight", "share", "points") else "left")
        for row in summary["hotspots"][:limit]:
            table.add_row(str(row["hotspot_id"]), f"{row['weight']:,.1f}",
                          f"{100 * row['share']:.1f}%", str(row["dominant_group"]),
                          str(row["peak_window"]) or "—", f"{row['n_points']:,}")
        console.print(table)


def _write_gpkg(
    path: Path, points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame
) -> None:
    points.to_file(path, layer="demand", driver="GPKG", engine="pyogrio")
    grid.to_file(path, layer="grid", driver="GPKG", engine="pyogrio")
    hotspots.to_file(path, layer="hotspots", driver="GPKG", engine="pyogrio")
