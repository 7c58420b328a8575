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
    """Wrap ``iterable`` in a progress bar on stderr unless quiet mode is on."""
    if _state["quiet"]:
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False)


def info(message: str) -> None:
    """Log an informational message (hidden in quiet mode)."""
    logger.info(message)


def warn(message: str) -> None:
    """Log a warning the user should read."""
    logger.warning(message)
