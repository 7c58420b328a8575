"""``yizhan run CONFIG.toml --out DIR [--previous DIR]``: the yearly gap-analysis run."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
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
    from yizhan.outdir import written_summary
    from yizhan.pipeline.analysis import run  # heavy: only when the command runs

    result = run(args.config, out=args.out, previous=args.previous)
    console = Console(stderr=True)
    for row in result.coverage_summary.to_dict("records"):
        console.print(
            f"覆盖率 coverage {row['rule']}: {row['covered_pct']:.1f}% 全部需求 of all demand，"
            f"{row['covered_pct_on_network']:.1f}% 路网内需求 of demand on the network"
            f"（离路网 off the network {row['off_network_pct']:.1f}%）；"
            f"两个以上驿站 by 2+ stations {row['covered_twice_pct']:.1f}%", highlight=False)
    print_warnings(result.warnings, console)
    console.print(f"已写入 written: {written_summary(args.out)}", highlight=False)
    return 0


def print_warnings(warnings: Sequence[str], console: Console) -> None:
    """Print a run's warnings (:attr:`AnalysisResult.warnings`) once each, in bold."""
    for text in warnings:
        console.print(f"[bold yellow]请注意 Note:[/bold yellow] {text}", highlight=False)
