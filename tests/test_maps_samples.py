"""Small GeoDataFrames in the project's data contracts, for the map tests (and a check of them).

Every user-text column carries a hostile value in one row, so each map test also checks
escaping. Imported by ``test_maps_layers.py`` and ``test_maps_browser.py``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, Polygon

XSS = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>alert(2)</script>"
CENTRE = (114.055, 22.540)  # Futian, Shenzhen (WGS-84)


def _utm_buffer(points: list[Point], metres: float) -> gpd.GeoSeries:
    series = gpd.GeoSeries(points, crs=4326)
    return series.to_crs(32650).buffer(metres).to_crs(4326)


def sample_frames(seed: int = 3) -> dict[str, gpd.GeoDataFrame]:
    """Return stations, service_areas, demand, hotspots, gaps, suggestions and admin frames."""
    rng = np.random.default_rng(seed)
    x, y = CENTRE
    n = 12
    lon = x + np.linspace(-0.02, 0.02, n)
    lat = y + np.tile([-0.006, 0.0, 0.006], n // 3)
    tiers = np.array(["full", "partial", "low", "partial"] * (n // 4))
    stations = gpd.GeoDataFrame(
        {
            "station_id": [f"FT{i:03d}" for i in range(n)],
            "name": [XSS] + [f"福田驿站 {i}" for i in range(1, n)],
            "address": [XSS_SCRIPT] + [f"福田区福华路 {i} 号" for i in range(1, n)],
            "town": "福田街道",
            "type": "户外劳动者服务站",
            "opened": "2023-05",
            "manager": "福田区总工会",
            "phone": "0755-8888" + np.char.zfill(np.arange(n).astype(str), 4).astype(object),
            "hours": "08:00-20:00",
            "capacity": np.r_[np.nan, rng.integers(4, 20, n - 1).astype(float)],
            "toilet": np.arange(n) % 2 == 0,
            "drinking_water": True,
            "first_aid": np.arange(n) % 3 == 0,
            "wifi": False,
            "standard": "xinhui-7",
            "required_have": "toilet,drinking_water",
            "required_missing": ["first_aid"] * (n - 1) + [""],
            "compliance_score": np.linspace(0.2, 1.0, n),
            "compliance_tier": tiers,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    service_areas = gpd.GeoDataFrame(
        {
            "station_id": list(stations.station_id[:4]) * 2,
            "rule": ["rider_10min"] * 4 + [XSS] * 4,
            "cutoff": ["10min"] * 4 + ["800m"] * 4,
        },
        geometry=list(_utm_buffer(list(stations.geometry[:4]), 700))
        + list(_utm_buffer(list(stations.geometry[:4]), 400)),
        crs=4326,
    )
    m = 3000
    demand = gpd.GeoDataFrame(
        {
            "demand_id": [f"D{i}" for i in range(m)],
            "weight": rng.gamma(2.0, 1.0, m) + 0.01,
            "group": rng.choice(["rider", "courier", "sanitation"], m),
        },
        geometry=gpd.points_from_xy(x + rng.normal(0, 0.012, m), y + rng.normal(0, 0.008, m)),
        crs=4326,
    )
    hotspots = gpd.GeoDataFrame(
        {
            "hotspot_id": ["H1", XSS],
            "weight": [420.0, 150.5],
            "share": [0.31, 0.11],
            "dominant_group": ["rider", "courier"],
            "peak_window": ["11:00-13:00", XSS],
            "n_points": [800, 260],
        },
        geometry=list(_utm_buffer([Point(x - 0.01, y), Point(x + 0.012, y + 0.004)], 450)),
        crs=4326,
    )
    gaps = gpd.GeoDataFrame(
        {
            "gap_id": ["G1", "G2"],
            "rule": ["rider_10min", "rider_10min"],
            "uncovered_weight": [321.5, 88.0],
            "groups": ["rider,courier", XSS],
            "admin_area": ["福田街道", XSS],
        },
        geometry=[
            Polygon([(x + 0.025, y - 0.01), (x + 0.035, y - 0.01), (x + 0.035, y),
                     (x + 0.025, y)]),
            Polygon([(x - 0.035, y + 0.01), (x - 0.025, y + 0.01), (x - 0.03, y + 0.018)]),
        ],
        crs=4326,
    )
    suggestions = gpd.GeoDataFrame(
        {
            "rank": [2, 1, 3],
            "candidate_id": ["N7", "N3", "FT005"],
            "name": ["候选点 7", XSS, "福田驿站 5"],
            "kind": ["new", "new", "upgrade"],
            "weight_gained": [150.0, 260.5, 40.0],
            "covered_share_after": [0.71, 0.62, 0.74],
            "amenities_to_add": ["", "", "toilet,first_aid"],
            "admin_area": ["福田街道", "华富街道", "福田街道"],
        },
        geometry=[Point(x + 0.03, y - 0.005), Point(x - 0.03, y + 0.013),
                  stations.geometry.iloc[5]],
        crs=4326,
    )
    admin = gpd.GeoDataFrame(
        {"admin_name": ["福田街道", XSS]},
        geometry=[
            Polygon([(x - 0.045, y - 0.02), (x, y - 0.02), (x, y + 0.025), (x - 0.045, y + 0.025)]),
            Polygon([(x, y - 0.02), (x + 0.045, y - 0.02), (x + 0.045, y + 0.025),
                     (x, y + 0.025)]),
        ],
        crs=4326,
    )
    return {
        "stations": stations, "service_areas": service_areas, "demand": demand,
        "hotspots": hotspots, "gaps": gaps, "suggestions": suggestions, "admin": admin,
    }


def test_sample_frames_follow_the_contracts() -> None:
    frames = sample_frames()
    for name, frame in frames.items():
        assert frame.crs.equals("EPSG:4326"), name
        assert frame.geometry.is_valid.all(), name
    assert frames["stations"].station_id.is_unique
    assert set(frames["stations"].compliance_tier) <= {"full", "partial", "low"}
    assert (frames["demand"].weight > 0).all()
    assert set(frames["suggestions"].kind) <= {"new", "upgrade"}
