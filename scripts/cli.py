"""The ``yizhan`` command line: one sub-command module per domain, registered here."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
from collections.abc import Sequence

from yizhan import __version__, log
from yizhan.errors import YizhanError
from yizhan.log import set_quiet

# Each module exposes ``register(subparsers)``; a missing module (not built yet) is skipped.
COMMAND_MODULES = (
    "yizhan.scripts.cmd_stations",
    "yizhan.scripts.cmd_network",
    "yizhan.scripts.cmd_coverage",
    "yizhan.scripts.cmd_demand",
    "yizhan.scripts.cmd_siting",
    "yizhan.scripts.cmd_run",
    "yizhan.scripts.cmd_run_many",
    "yizhan.scripts.cmd_demo",
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
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[log.ConsoleHandler()])
    set_quiet(bool(args.quiet))
    log.new_run()
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except YizhanError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:
            raise
        print(f"错误 error: {message}", file=sys.stderr)
        return 2


def os_error_message(exc: OSError) -> str | None:
    """Return a bilingual sentence for a file-system error a user can fix, else None.

    Output is written to staging files first, so a disk that fills up mid-run leaves the last
    complete report in place; the message says so.
    """
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"磁盘已满{where}，报告没有写完；原有的输出目录保持不变。请清理磁盘后重试。"
                f" The disk is full{where}; the report was not written and any earlier output"
                " folder is unchanged. Free some space and run again.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"没有权限或只读位置{where}：{exc.strerror}。请换一个可写的位置。"
                f" No permission, or a read-only place{where}: {exc.strerror}. Use a place you"
                " can write to.")
    if exc.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR) and exc.filename:
        return (f"找不到或不是所需的文件/目录{where}：{exc.strerror}。请检查路径。"
                f" Not found, or not the expected kind of path{where}: {exc.strerror}."
                " Check the path.")
    return None


if __name__ == "__main__":
    sys.exit(main())
