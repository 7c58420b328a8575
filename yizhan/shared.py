"""Locate the real data under ``../shared/data`` without copying it into the project."""

from __future__ import annotations

from yizhan.settings import PROJECT_ROOT, shared_data_dir

__all__ = ["PROJECT_ROOT", "shared_data_dir"]
