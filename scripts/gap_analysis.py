"""Stand-alone script of the yearly run: ``python scripts/gap_analysis.py CONFIG.toml --out DIR``.

The same as ``yizhan run`` (it calls the command line); the run itself is the library function
:func:`yizhan.pipeline.analysis.run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def build_parser(prog: str = "gap_analysis.py") -> argparse.ArgumentParser:
    """Return the argument parser of the stand-alone script."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="驿站年度缺口分析：读取配置，输出报告目录。"
        " Yearly gap analysis of rest stations: config in, report folder out.",
    )
    parser.add_argument("config", type=Path, help="TOML 配置文件 config file")
    parser.add_argument("--out", type=Path, required=True, help="报告输出目录 report folder")
    parser.add_argument("--previous", type=Path, default=None,
                        help="上一年度报告目录（同比）last year's report folder (comparison)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="安静模式 quiet: no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-alone script and return its exit code (the same as ``yizhan run``)."""
    from yizhan.scripts.cli import main as cli_main

    args = build_parser().parse_args(argv)
    cli_argv = ["--quiet"] if args.quiet else []
    cli_argv += ["run", str(args.config), "--out", str(args.out)]
    if args.previous is not None:
        cli_argv += ["--previous", str(args.previous)]
    return cli_main(cli_argv)


if __name__ == "__main__":
    sys.exit(main())
