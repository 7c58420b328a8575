"""``yizhan run CONFIG.toml --out DIR [--previous DIR]``: the yearly gap-analysis run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` command."""
    parser = sub.add_parser(
        "run",
        help="年度缺口分析 run the yearly gap analysis from a config file",
        description="按 TOML 配置运行年度缺口分析，输出一个报告目录（地图、表格、汇总、同比）。"
        " Run the yearly gap analysis of a TOML config into one report folder"
        " (map, tables, summary, year-over-year comparison).",
    )
    parser.add_argument("config", type=Path, help="TOML 配置文件 config file")
    parser.add_argument("--out", type=Path, required=True, help="报告输出目录 report folder")
    parser.add_argument(
        "--previous", type=Path, default=None,
        help="上一年度的报告目录，用于同比 last year's report folder, for the comparison",
    )
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the yearly analysis and return the exit code."""
    from yizhan.scripts.gap_analysis import run  # heavy: only when the command runs

    out = run(args.config, out=args.out, previous=args.previous)
    console = Console(stderr=True)
    print_warnings(out, console)
    console.print(f"已写入 written: {out}")
    return 0


def print_warnings(report: Path, console: Console) -> None:
    """Print the warnings of a written report (its ``summary.json``) once each, in bold."""
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    for text in summary.get("warnings", ()):
        console.print(f"[bold yellow]请注意 Note:[/bold yellow] {text}", highlight=False)
