"""The ``yizhan`` command line: one sub-command module per domain, registered here."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from yizhan import __version__
from yizhan.errors import YizhanError
from yizhan.log import set_quiet

# Each module exposes ``register(subparsers)``; a missing module (not built yet) is skipped.
COMMAND_MODULES = (
    "scripts.cmd_stations",
    "scripts.cmd_network",
    "scripts.cmd_coverage",
    "scripts.cmd_demand",
    "scripts.cmd_siting",
    "scripts.cmd_run",
    "scripts.cmd_run_many",
    "scripts.cmd_demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="yizhan",
        description="驿站规划：户外劳动者服务站点的清单、覆盖、缺口与选址。"
        " Planner for outdoor workers' rest stations: inventory, coverage, gaps, new sites.",
    )
    parser.add_argument("--version", action="version", version=f"yizhan {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="安静模式，不显示进度 / quiet: no progress bars"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Only yizhan's own messages; libraries such as pyogrio log chatter at INFO level.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    set_quiet(bool(args.quiet))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except YizhanError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
