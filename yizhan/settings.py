"""yizhan's settings: every environment variable it reads, documented and read in one place.

===========================  ===============================================================
``YIZHAN_THREADS``           threads one process uses for compiled loops and the rules'
                             searches (default: the cores, at most 4; ``run-many`` divides
                             the cores among its Dask workers)
``YIZHAN_CACHE_DIR``         folder of cached road networks (default
                             ``~/.cache/yizhan/networks``; on a cluster, a folder every
                             worker sees)
``YIZHAN_MAP_ASSETS``        a folder laid out like ``node_modules/`` holding Leaflet and its
                             plugins, used instead of the copies shipped in the package
``YIZHAN_CHROMIUM``          the Chromium executable used to screenshot maps
``YIZHAN_SHARED_DATA``       the real test data (default ``<checkout>/../shared/data``)
===========================  ===============================================================

Values are read when asked for (not at import), so a test or a Dask worker can set them.
"""

from __future__ import annotations

import os
from pathlib import Path

THREADS_ENV = "YIZHAN_THREADS"
CACHE_DIR_ENV = "YIZHAN_CACHE_DIR"
MAP_ASSETS_ENV = "YIZHAN_MAP_ASSETS"
CHROMIUM_ENV = "YIZHAN_CHROMIUM"
SHARED_DATA_ENV = "YIZHAN_SHARED_DATA"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (for the test data beside it; installed packages do not use it)."""


def _text(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def threads() -> int:
    """Return the threads one process may use for compiled loops (``YIZHAN_THREADS``)."""
    value = _text(THREADS_ENV) or ""
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


def cache_dir() -> Path:
    """Return the folder of cached networks (``YIZHAN_CACHE_DIR`` or the user's cache)."""
    value = _text(CACHE_DIR_ENV)
    return Path(value) if value else Path.home() / ".cache" / "yizhan" / "networks"


def map_assets_dir() -> Path | None:
    """Return the folder given by ``YIZHAN_MAP_ASSETS``, or None (the shipped copies)."""
    value = _text(MAP_ASSETS_ENV)
    return Path(value) if value else None


def chromium() -> str | None:
    """Return the Chromium executable given by ``YIZHAN_CHROMIUM``, or None (search PATH)."""
    return _text(CHROMIUM_ENV)


def shared_data_dir() -> Path:
    """Return the real test data folder (``YIZHAN_SHARED_DATA`` or ``<checkout>/../shared/data``)."""
    value = _text(SHARED_DATA_ENV)
    return Path(value) if value else PROJECT_ROOT.parent / "shared" / "data"
