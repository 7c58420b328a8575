"""Lazy package exports: a package names its public functions without importing their modules.

``yizhan --help`` must answer at once; importing :mod:`yizhan.stations` for one small table
must not pull in geopandas. A package lists ``{name: module}`` and gets a module-level
``__getattr__`` (PEP 562) that imports the module the first time the name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` exporting ``{name: module}``."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook
        return sorted(exports)

    return __getattr__, __dir__
