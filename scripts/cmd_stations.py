"""``yizhan stations check`` and ``yizhan stations diff``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from yizhan.errors import InputFileError
from yizhan.outdir import check_output, output_files

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from yizhan.stations.inventory import Inventory

CRS_CHOICES = ("wgs84", "gcj02", "bd09")


def _datum(value: str) -> str:
    """Return ``value`` if it names a datum (every alias the other commands take), else fail."""
    from yizhan.stations.coords import normalize_datum

    from yizhan.errors import ConfigError

    try:
        return normalize_datum(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``stations`` command group."""
    parser = sub.add_parser("stations", help="驿站清单 station inventory: check, diff")
    group = parser.add_subparsers(dest="stations_command", metavar="SUBCOMMAND")

    check = group.add_parser(
        "check",
        help="检查清单并评估达标情况 check an inventory and score compliance",
        description="读取站点清单，检查问题，按标准评估达标情况。"
        " Read an inventory, list its problems and score each station against a standard.",
    )
    check.add_argument("file", help="清单文件 inventory file (xlsx, csv, geojson, gpkg, shp)")
    _common(check)
    check.set_defaults(func=run_check)

    diff = group.add_parser(
        "diff",
        help="比较两年的清单 compare two years' inventories",
        description="比较两份清单：新建、关闭、迁址、更名、升级、降级；有编号列时按编号对应，"
        "没有时按名称与位置对应，拿不准的列为“待确认”。"
        " Compare two inventories: opened, closed, moved, renamed, upgraded, downgraded;"
        " stations are matched by id when both sheets have an id column, else by name and place;"
        " unclear matches are listed to confirm, never guessed.",
    )
    diff.add_argument("old", help="上一年的清单 last year's inventory")
    diff.add_argument("new", help="今年的清单 this year's inventory")
    _common(diff)
    diff.add_argument("--move-threshold", type=float, default=50.0,
                      help="迁址判定距离（米）distance in metres beyond which a station counts as moved")
    diff.set_defaults(func=run_diff)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crs", default="wgs84", type=_datum,
                        help="坐标系 coordinate system of the file (default wgs84; Amap/Tencent = gcj02, Baidu = bd09)")
    parser.add_argument("--standard", default="xinhui-7",
                        help="达标标准 standard: xinhui-7 | acftu | drivers-home | FILE.toml (default xinhui-7)")
    parser.add_argument("--sheet", default=None, help="工作表 worksheet name (xlsx; default the first)")
    parser.add_argument("--out", type=Path, default=None, help="输出目录 output folder")
    parser.add_argument("--roads", type=Path, default=None,
                        help="道路文件（.graphml/.osm/.osm.bz2），用于检查坐标系是否声明正确"
                        " road network file used to check that --crs fits the streets")


def run_check(args: argparse.Namespace) -> int:
    """Run ``stations check`` and return the exit code (0 even when rows have problems)."""
    from yizhan.stations import read_inventory
    from yizhan.stations.output import write_problems, write_stations

    out = (check_output(args.out, replace=False, names=("stations.geojson", "problems.csv"))
           if args.out is not None else None)
    roads = load_roads(args.roads) if args.roads is not None else None
    inv = read_inventory(args.file, crs=args.crs, standard=args.standard, sheet=args.sheet,
                         roads=roads)
    console = Console()
    print_summary(inv, console)
    print_problems(inv.problems, console)
    if out is not None:
        with output_files(out) as tmp:
            write_stations(inv.stations, tmp)
            write_problems(inv.problems, tmp)
        console.print(f"已写入 written: {args.out / 'stations.geojson'}, {args.out / 'problems.csv'}")
    return 0


def load_roads(path: Path) -> gpd.GeoDataFrame:
    """Return the road lines (EPSG:4326, with ``highway``) of a GraphML or OSM XML file."""
    import osmnx as ox

    if not path.exists():
        raise InputFileError("道路文件不存在。The road file does not exist.", file=str(path))
    suffix = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".graphml":
        graph = ox.load_graphml(path)
    elif path.suffix.lower() == ".osm" or suffix == ".osm.bz2":
        graph = ox.graph_from_xml(path, retain_all=True)
    else:
        raise InputFileError("--roads 需要 .graphml、.osm 或 .osm.bz2 文件。"
                             " --roads takes a .graphml, .osm or .osm.bz2 file.", file=str(path))
    edges = ox.graph_to_gdfs(graph, nodes=False)
    return edges[["highway", "geometry"]].to_crs("EPSG:4326").reset_index(drop=True)


def run_diff(args: argparse.Namespace) -> int:
    """Run ``stations diff`` and return the exit code."""
    import pandas as pd
    from yizhan.stations import diff_inventories, read_inventory
    from yizhan.stations.diff import CHANGE_LABELS
    from yizhan.stations.output import write_problems

    from yizhan.io import write_csv_atomic

    out = (check_output(args.out, replace=False, names=("diff.csv", "problems.csv"))
           if args.out is not None else None)
    old = read_inventory(args.old, crs=args.crs, standard=args.standard, sheet=args.sheet)
    new = read_inventory(args.new, crs=args.crs, standard=args.standard, sheet=args.sheet)
    changes = diff_inventories(old.stations, new.stations, move_threshold_m=args.move_threshold)
    console = Console()
    table = Table(title="年度变化 Year-over-year changes")
    for col in ("变化 change", "编号 ID", "名称 name", "原名称 old name", "距离 m", "新增 gained",
                "减少 lost", "依据 basis", "可信度 confidence", "候选 candidates"):
        table.add_column(col)
    for row in changes.itertuples():
        table.add_row(row.change_label, row.station_id, row.name, row.old_name,
                      "" if pd.isna(row.distance_m) else f"{row.distance_m:.0f}",
                      row.amenities_gained, row.amenities_lost, row.match_basis,
                      "" if pd.isna(row.match_confidence) else f"{row.match_confidence:.2f}",
                      row.candidates)
    console.print(table)
    counts = changes["change"].value_counts()
    console.print("  ".join(f"{label}: {int(counts.get(key, 0))}" for key, label in CHANGE_LABELS.items()))
    if out is not None:
        problems = pd.concat([old.problems, new.problems], ignore_index=True)
        with output_files(out) as tmp:
            write_csv_atomic(changes, tmp / "diff.csv")
            write_problems(problems, tmp)
        console.print(f"已写入 written: {args.out / 'diff.csv'}, {args.out / 'problems.csv'}")
    return 0


def print_summary(inv: Inventory, console: Console) -> None:
    """Print the bilingual summary of one inventory."""
    import pandas as pd
    from yizhan.stations import AMENITIES, TIER_LABELS

    st = inv.stations
    severity = inv.problems["severity"].value_counts()
    table = Table(title=f"驿站清单概况 Inventory summary — {inv.source}")
    table.add_column("项目 item")
    table.add_column("数量 value", justify="right")
    table.add_row("已载入站点 stations loaded", str(len(st)))
    table.add_row("未载入的行 rows not loaded", str(len(inv.rejected)))
    table.add_row("错误 errors", str(int(severity.get("error", 0))))
    table.add_row("提醒 warnings", str(int(severity.get("warning", 0))))
    table.add_row("坐标系 coordinates", f"{inv.datum} → WGS-84")
    table.add_row("标准 standard", f"{inv.standard.name} {inv.standard.title_zh}")
    tiers = st["compliance_tier"].value_counts() if len(st) else pd.Series(dtype=int)
    for key, label in TIER_LABELS.items():
        table.add_row(label, str(int(tiers.get(key, 0))))
    for key in inv.standard.required:
        values = st[key].astype("boolean") if key in st else pd.Series(pd.NA, index=st.index,
                                                                         dtype="boolean")
        lacking = int((values == False).sum())  # noqa: E712 - recorded as lacking only
        unknown = int(values.isna().sum())
        table.add_row(f"缺{AMENITIES[key].zh} lacking {AMENITIES[key].en}", str(lacking))
        if unknown:
            table.add_row(f"  {AMENITIES[key].zh}未记录 {AMENITIES[key].en} not recorded", str(unknown))
    console.print(table)


def print_problems(problems: pd.DataFrame, console: Console, *, limit: int = 50) -> None:
    """Print the problems table (first ``limit`` rows)."""
    import pandas as pd

    if problems.empty:
        console.print("没有发现问题 No problems found.")
        return
    table = Table(title=f"问题 Problems ({len(problems)})")
    for col in ("行 row", "字段 field", "值 value", "级别 severity", "问题 problem"):
        table.add_column(col, overflow="fold")
    for row in problems.head(limit).itertuples():
        table.add_row("" if pd.isna(row.row) else str(row.row), row.field, row.value,
                      row.severity, row.problem)
    console.print(table)
    if len(problems) > limit:
        console.print(f"…… 另有 {len(problems) - limit} 条，见 problems.csv。"
                      f" {len(problems) - limit} more in problems.csv.")
