"""Locate the real data under ``../shared/data`` without copying it into the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """Return the shared data folder (``$YIZHAN_SHARED_DATA`` or ``<project>/../shared/data``)."""
    env = os.environ.get("YIZHAN_SHARED_DATA")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "data"
