"""``yizhan demo``: run the pipeline on the built-in sample data, offline."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from rich.console import Console

from scripts.cmd_stations import print_problems, print_summary
from stations import diff_inventories, read_inventory
from stations.output import write_problems, write_stations
from yizhan.io import atomic_dir, write_csv_atomic

SAMPLE_NOTICE = "示例数据，仅供演示 Sample data for demonstration only"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    parser = sub.add_parser(
        "demo",
        help="用内置示例数据演示 run on the built-in sample data",
        description="用内置示例数据（新会区示例驿站台账）离线运行。"
        " Run offline on the built-in sample (an invented Xinhui inventory).",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="输出目录 output folder")
    parser.set_defaults(func=run_demo)


def sample_path(name: str) -> Path:
    """Return the path of a sample file shipped in ``stations/data``."""
    return Path(str(resources.files("stations") / "data" / name))


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo and return the exit code."""
    console = Console()
    console.print(f"[bold]{SAMPLE_NOTICE}[/bold]")
    new = read_inventory(sample_path("sample_inventory_2025.xlsx"), crs="gcj02", standard="xinhui-7")
    old = read_inventory(sample_path("sample_inventory_2024.xlsx"), crs="gcj02", standard="xinhui-7")
    print_summary(new, console)
    print_problems(new.problems, console, limit=20)
    changes = diff_inventories(old.stations, new.stations)
    with atomic_dir(args.out) as tmp:
        write_stations(new.stations, tmp)
        write_problems(new.problems, tmp)
        write_csv_atomic(changes, tmp / "diff.csv")
    console.print(f"已写入 written: {args.out}/stations.geojson, problems.csv, diff.csv")
    return 0
