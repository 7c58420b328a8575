"""Logging and progress through one helper, with a quiet switch for scripts."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

logger = logging.getLogger("yizhan")
_state = {"quiet": False}
_said: set[str] = set()  # warnings given in this run: each is said once


class ConsoleHandler(logging.Handler):
    """Write log records above the progress bars (``tqdm.write``), so no bar is cut in two."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` through ``tqdm.write``."""
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def new_run() -> None:
    """Start a new run: warnings said in an earlier run may be said again."""
    _said.clear()


def set_quiet(quiet: bool) -> None:
    """Turn progress bars and info messages off (``True``) or on."""
    _state["quiet"] = quiet
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


def is_quiet() -> bool:
    """Return whether quiet mode is on."""
    return _state["quiet"]


def progress(
    iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar on stderr unless quiet mode is on.

    No bar when stderr is not a terminal (a log file, a pipe, CI): redrawn bars would leave
    carriage returns and cursor moves between the messages there.
    """
    if _state["quiet"] or not _is_terminal(sys.stderr):
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False)


def _is_terminal(stream: object) -> bool:
    """Return whether ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def info(message: str) -> None:
    """Log an informational message (hidden in quiet mode)."""
    logger.info(message)


def warn(message: str) -> None:
    """Log a warning the user should read, once per run (the same cause is said once)."""
    if message in _said:
        return
    _said.add(message)
    logger.warning(message)
