"""Shared fixtures: the real data under ../shared/data, read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yizhan.shared import shared_data_dir


def _shared(sub: str) -> Path:
    path = shared_data_dir() / sub
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared data {path} is missing under CI=true; CI must have ../shared")
        pytest.skip(f"shared data {path} not present (needs ../shared/data beside the checkout)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> type:
    """Return a callable ``shared_data(sub)`` giving a folder/file under ../shared/data."""

    class _Locator:
        def __new__(cls, sub: str) -> Path:  # type: ignore[misc]
            return _shared(sub)

    return _Locator


@pytest.fixture(scope="session")
def futian_graphml(shared_data: type) -> Path:
    return shared_data("shenzhen_futian_roads/shenzhen_futian_G.graphml")


@pytest.fixture(scope="session")
def futian_2024_graphml(shared_data: type) -> Path:
    return shared_data("shenzhen_futian_roads_2024/futian.graphml")


@pytest.fixture(scope="session")
def taxi_csv(shared_data: type) -> Path:
    return shared_data("shenzhen_taxi_trips/taxi-price.csv")


@pytest.fixture(scope="session")
def ev_stations_csv(shared_data: type) -> Path:
    return shared_data("shenzhen_ev_charging_stations/stations.csv")


@pytest.fixture(autouse=True)
def _fresh_warnings():
    """Each test is a run of its own: a warning said in an earlier test may be said again."""
    from yizhan import log

    log.new_run()
