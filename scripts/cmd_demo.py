"""``yizhan demo``: run the whole pipeline on the built-in sample data, offline.

The sample (示例数据 sample data, ``scripts/data/futian``, see its PROVENANCE.md) is part of
Futian, Shenzhen: real OpenStreetMap roads, real taxi pick-ups and drop-offs as driver demand,
real public EV charging stations, and union rest stations invented by the project, for two
years.  The demo first checks the built-in Xinhui sample inventory (written to
``inventory-check/``, with ``diff.csv``), then runs the yearly analysis of
``scripts/data/example-config.toml`` with last year's run (``demo-2024.toml``) as the
comparison, and puts the whole report folder into ``--out``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from importlib import resources
from pathlib import Path

from rich.console import Console

from yizhan.outdir import MARKER, check_output, report_folder, written_summary

__all__ = ["demo_config", "register", "run_demo", "sample_path"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    parser = sub.add_parser(
        "demo",
        help="用内置示例数据演示全流程 run the whole pipeline on the built-in sample data",
        description="用内置示例数据（深圳福田部分区域：真实道路、出租车上下客点、公共充电站，"
        "虚构的工会驿站）离线运行全流程：台账检查、路网、覆盖、缺口、选址、地图与报告。"
        " Run the whole pipeline offline on the built-in sample (part of Futian, Shenzhen: real"
        " roads, taxi pick-ups and EV charging stations, invented union stations): inventory"
        " check, network, coverage, gaps, siting, map and report.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="输出目录 output folder")
    parser.set_defaults(func=run_demo)


def sample_path(name: str) -> Path:
    """Return the path of a sample file shipped in ``stations/data``."""
    return Path(str(resources.files("yizhan.stations") / "data" / name))


def demo_config(name: str = "example-config.toml") -> Path:
    """Return the path of a demo config shipped in ``scripts/data``."""
    return Path(str(resources.files("yizhan.scripts") / "data" / name))


#: Scratch folders of demos before 0.2 (in the system temp folder); a killed demo left them.
LEGACY_SCRATCH_PREFIX = "yizhan-demo-"


def remove_stale_demo_scratch(*, older_than_s: float = 3600.0) -> list[Path]:
    """Remove scratch folders an interrupted demo of an older yizhan left in the temp folder.

    Only folders of this user named ``yizhan-demo-*`` that hold nothing but a report folder
    ``previous`` and are older than ``older_than_s`` are removed; the removed paths are returned.
    """
    removed = []
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(LEGACY_SCRATCH_PREFIX + "*"):
        try:
            info = folder.stat()
            entries = {p.name for p in folder.iterdir()}
        except OSError:
            continue
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if (folder.is_dir() and mine and entries <= {"previous"}
                and now - info.st_mtime > older_than_s):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo and return the exit code."""
    # heavy imports only when the demo runs, so `yizhan --help` stays fast
    from yizhan.scripts.cmd_run import print_warnings
    from yizhan.scripts.cmd_stations import print_problems, print_summary
    from yizhan.stations import diff_inventories, read_inventory
    from yizhan.stations.output import write_problems, write_stations

    from yizhan.io import write_csv_atomic
    from yizhan.pipeline.analysis import run_analysis
    from yizhan.pipeline.config import load_config
    from yizhan.pipeline.report import SAMPLE_NOTICE, write_report

    out = check_output(args.out)
    remove_stale_demo_scratch()
    console = Console(stderr=True)
    console.print(f"[bold]{SAMPLE_NOTICE}[/bold]")
    new = read_inventory(sample_path("sample_inventory_2025.xlsx"), crs="gcj02", standard="xinhui-7")
    old = read_inventory(sample_path("sample_inventory_2024.xlsx"), crs="gcj02", standard="xinhui-7")
    print_summary(new, console)
    print_problems(new.problems, console, limit=20)
    changes = diff_inventories(old.stations, new.stations)

    console.print("年度分析（上一年）yearly run, previous year …")
    previous = run_analysis(load_config(demo_config("demo-2024.toml")))
    console.print("年度分析（本年）yearly run, this year …")
    current = run_analysis(load_config(demo_config("example-config.toml")))
    with report_folder(out) as tmp:
        # Last year's report lives in the staging folder only: an interrupted demo leaves
        # nothing behind that the next run does not clean up.
        prev_dir = write_report(previous, tmp / ".previous-year")
        write_report(current, tmp / "report", previous=prev_dir)
        shutil.rmtree(prev_dir)
        for item in sorted((tmp / "report").iterdir()):
            if item.name != MARKER:
                item.rename(tmp / item.name)
        shutil.rmtree(tmp / "report")
        # The Xinhui inventory check of the first demo step, kept under its own names.
        write_stations(new.stations, tmp / "inventory-check")
        write_problems(new.problems, tmp / "inventory-check")
        write_csv_atomic(changes, tmp / "diff.csv")
    print_warnings(current.warnings, console)
    console.print(f"已写入 written: {written_summary(args.out)}", highlight=False)
    return 0
