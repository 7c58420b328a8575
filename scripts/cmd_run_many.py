"""``yizhan run-many CONFIG_DIR_OR_TOML --out DIR [--scheduler ADDRESS] [--workers N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run-many`` command."""
    parser = sub.add_parser(
        "run-many",
        help="多个区县一次运行（Dask）province: every district's yearly run at once, on Dask",
        description="对一个目录中的各区配置，或一个省级 TOML（共享输入 + 区县多边形），在 Dask 上"
        "逐区运行年度缺口分析，并输出省级汇总（表格、工作簿、地图）。单个区失败不影响其他区；"
        "输入未变化的区跳过。"
        " Run the yearly gap analysis of every district (a folder of district configs, or a"
        " province TOML with shared inputs and district polygons) on Dask, and write a"
        " province summary (table, workbook, map). One district failing does not stop the"
        " others; districts whose inputs have not changed are skipped.",
    )
    parser.add_argument("spec", type=Path, metavar="CONFIG_DIR_OR_TOML",
                        help="各区配置目录或省级 TOML folder of district configs or province TOML")
    parser.add_argument("--out", type=Path, required=True, help="省级输出目录 province folder")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask 调度器地址（默认本机集群）scheduler address, e.g."
                        " tcp://10.0.0.5:8786 (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="本机集群的进程数（默认 CPU 核数）worker processes of the local"
                        " cluster (default: CPU cores)")
    parser.add_argument("--previous", type=Path, default=None,
                        help="上一年度省级目录（逐区同比）last year's province folder")
    parser.add_argument("--force", action="store_true",
                        help="全部重算，不跳过未变化的区 re-run every district")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="不启动 Dask 仪表盘 do not start the Dask dashboard")
    parser.set_defaults(func=run_many_command)


def run_many_command(args: argparse.Namespace) -> int:
    """Run every district; return 0 if all succeeded, 1 if any failed (others are written)."""
    from yizhan.outdir import written_summary
    from yizhan.pipeline.province import run_many  # heavy: only when the command runs

    if args.workers is not None and args.workers < 1:
        from yizhan.errors import ConfigError

        raise ConfigError("--workers 须 >= 1。--workers must be at least 1.")
    result = run_many(args.spec, out=args.out, scheduler=args.scheduler, workers=args.workers,
                      previous=args.previous, force=args.force,
                      dashboard=not args.no_dashboard)
    console = Console(stderr=True)
    table = Table(title=f"{result.plan.title}: {len(result.outcomes)} 个区县 districts")
    for col in ("区县 District", "状态 Status", "驿站 Stations", "建议 Sites", "用时 s",
                "错误 Error"):
        table.add_column(col)
    status = {"ok": "[green]完成 done[/green]", "unchanged": "未变化 unchanged",
              "failed": "[red]失败 failed[/red]"}
    for o in result.outcomes:
        table.add_row(o.name, status[o.status], str(o.row.get("stations", "")),
                      str(o.row.get("suggested_sites", "")),
                      f"{o.seconds:.1f}" if o.seconds is not None else "",
                      (f"[{o.step}] {o.error}" if o.error else ""))
    console.print(table)
    console.print(f"已写入 written ({result.seconds:.1f} s): {written_summary(result.out)}",
                  highlight=False)
    return 1 if any(o.status == "failed" for o in result.outcomes) else 0
