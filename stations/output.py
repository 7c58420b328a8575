"""Write inventory results: ``stations.geojson``, ``problems.csv``, ``diff.csv`` (atomically)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from yizhan.io import write_csv_atomic, write_geojson_atomic


def write_stations(stations: gpd.GeoDataFrame, out_dir: str | Path) -> Path:
    """Write ``out_dir/stations.geojson`` (WGS-84) and return its path."""
    return write_geojson_atomic(stations, Path(out_dir) / "stations.geojson")


def write_problems(problems: pd.DataFrame, out_dir: str | Path, *, name: str = "problems.csv") -> Path:
    """Write the problems table as Excel-friendly UTF-8 CSV and return its path."""
    return write_csv_atomic(problems, Path(out_dir) / name)
