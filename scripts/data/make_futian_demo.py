"""Build the demo's Futian extract in ``scripts/data/futian`` from ``../shared/data`` (run by hand).

What it writes (the output is committed and ships in the package; see ``futian/PROVENANCE.md``):

- ``roads.graphml`` — the real OpenStreetMap street graph of part of Futian, Shenzhen, copied byte
  for byte from ``../shared/data/shenzhen_futian_roads``.
- ``taxi_demand.csv`` — real taxi pick-up (上车) and drop-off (下车) points of one day that lie
  inside the graph's extent, unchanged coordinates (GPS, WGS-84), as driver demand.
- ``ev_charging.csv`` — the real public EV charging stations inside the extent (coordinates
  unchanged, GCJ-02): places where drivers already stop, offered as the candidate sites for new
  stations (a 司机之家 is often set up at one).
- ``stations_2024.csv`` / ``stations_2025.csv`` — the union rest-station inventory of two years,
  invented by the project (示例) and placed beside real named streets of the graph, GCJ-02.
- ``zones.geojson`` — the real traffic analysis zones (交通小区) that lie mostly inside the extent,
  clipped to it: the demo's areas, since no open sub-district (街道) boundaries were available.

Run: ``.venv/bin/python scripts/data/make_futian_demo.py``
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from yizhan.stations.coords import wgs84_to_gcj02

OUT = Path(__file__).resolve().parent / "futian"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ROADS = SHARED / "shenzhen_futian_roads" / "shenzhen_futian_G.graphml"
TAXI = SHARED / "shenzhen_taxi_trips" / "taxi-price.csv"
EV = SHARED / "shenzhen_ev_charging_stations" / "stations.csv"
ZONES = SHARED / "shenzhen_ev_charging_stations" / "SZ_districts" / "SZ_districts.shp"

#: The extent of the street graph (its nodes' bounding box, PROVENANCE.md of the roads).
EXTENT = (113.99702, 22.51666, 114.03988, 22.55052)

AMENITIES = ["toilet", "drinking_water", "first_aid", "phone_charger", "wifi", "microwave",
             "seating", "cooling", "parking"]
HEADER = ["station_id", "name", "address", "type", "lon", "lat", "opened", "hours", "capacity",
          *AMENITIES]

# Invented union stations (示例): id, name, the street it stands on (a real street of the graph),
# WGS-84 lon/lat near that street, type, opened, hours, seats, 9 amenity cells (是/否).
# GCJ-02 coordinates are written, as a union records them from a Chinese web map.
UNION_2025 = [
    ("FT001", "深南大道爱心驿站（示例）", "深南大道", 114.0300, 22.5405, "工会自建", "2021-05-01",
     "00:00-24:00", 12, "是", "是", "是", "是", "是", "是", "是", "是", "否"),
    ("FT002", "福强路环卫驿站（示例）", "福强路", 114.0330, 22.5262, "环卫站点", "2022-06-15",
     "5:30-次日1:00", 8, "是", "是", "是", "是", "否", "是", "是", "是", "否"),
    ("FT003", "香蜜湖司机之家（示例）", "香梅路", 114.0350, 22.5450, "司机之家", "2022-03-10",
     "00:00-24:00", 10, "是", "是", "是", "是", "是", "是", "是", "是", "是"),
    ("FT004", "车公庙骑手驿站（示例）", "泰然九路", 114.0194, 22.5359, "合作商户", "2023-07-01",
     "09:00-21:00", 6, "是", "是", "否", "是", "是", "否", "是", "是", "否"),
    ("FT005", "沙嘴路快递驿站（示例）", "沙嘴路", 114.0315, 22.5247, "合作商户", "2023-04-20",
     "周一至周五 8:00-20:00", 6, "是", "是", "是", "是", "是", "是", "是", "否", "否"),
    ("FT006", "侨香路爱心驿站（示例）", "侨香路", 114.0057, 22.5486, "工会自建", "2025-03-15",
     "07:00-23:00", 8, "是", "是", "是", "是", "是", "是", "是", "是", "是"),
    ("FT007", "滨河大道司机之家（示例）", "滨河大道", 114.0195, 22.5314, "司机之家", "2025-05-04",
     "00:00-24:00", 10, "是", "是", "是", "是", "是", "是", "是", "是", "是"),
]
# 2024: FT006/FT007 did not exist, FT004 lacked wifi, FT008 has closed since.
UNION_2024 = [
    *[s for s in UNION_2025 if s[0] not in {"FT004", "FT006", "FT007"}],
    ("FT004", "车公庙骑手驿站（示例）", "泰然九路", 114.0194, 22.5359, "合作商户", "2023-07-01",
     "09:00-21:00", 6, "是", "是", "否", "是", "否", "否", "是", "是", "否"),
    ("FT008", "红荔西路驿站（示例）", "红荔西路", 114.0144, 22.5434, "村居", "2021-09-01",
     "08:00-18:00", 6, "是", "否", "否", "是", "否", "否", "是", "否", "否"),
]


def inside(lon: pd.Series, lat: pd.Series) -> pd.Series:
    """Return which points lie inside the extract's extent."""
    x0, y0, x1, y1 = EXTENT
    return lon.between(x0, x1) & lat.between(y0, y1)


def write_candidates(path: Path) -> None:
    """Write the real public EV charging stations inside the extent as candidate sites."""
    ev = pd.read_csv(EV)
    ev = ev[inside(ev.longitude, ev.latitude)].sort_values("station_id")
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["candidate_id", "name", "host_type", "lon", "lat", "fast", "slow"])
        for r in ev.itertuples():
            w.writerow([f"EV{int(r.station_id):04d}", f"公共充电站 EV{int(r.station_id):04d}",
                        "charging_station", f"{r.longitude:.6f}", f"{r.latitude:.6f}",
                        int(r.fast), int(r.slow)])


def union_rows(rows: list[tuple]) -> list[list[object]]:
    """Return the invented union stations as rows, with GCJ-02 coordinates."""
    out = []
    for s in rows:
        lon, lat = wgs84_to_gcj02(s[3], s[4])
        out.append([s[0], s[1], f"{s[2]}旁（示例地址）", s[5], f"{float(lon):.6f}",
                    f"{float(lat):.6f}", s[6], s[7], s[8], *s[9:]])
    return out


def write_stations(path: Path, union: list[tuple]) -> None:
    """Write one year's inventory (UTF-8 with BOM, like an Excel export)."""
    rows = sorted(union_rows(union), key=lambda r: str(r[0]))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)


def write_demand(path: Path) -> None:
    """Write the taxi pick-ups and drop-offs inside the extent as driver demand."""
    taxi = pd.read_csv(TAXI)
    parts = []
    for kind, lon, lat, when in (("上车 pick-up", "Lng", "Lat", "Stime"),
                                 ("下车 drop-off", "ELng", "ELat", "Etime")):
        t = taxi[inside(taxi[lon], taxi[lat])]
        parts.append(pd.DataFrame({
            "demand_id": [f"T{int(o):05d}{'S' if kind.startswith('上') else 'E'}"
                          for o in t.orderid],
            "lon": t[lon].map("{:.6f}".format), "lat": t[lat].map("{:.6f}".format),
            "group": "driver", "weight": 1, "kind": kind,
            # the day was attached by the tutorial; only the time of day is real
            "time": pd.to_datetime(t[when]).dt.strftime("%H:%M:%S"),
        }))
    demand = pd.concat(parts).sort_values("demand_id")
    demand.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_polygons(path: Path, named: list[tuple[str, BaseGeometry]]) -> None:
    """Write named polygons clipped to the extent as GeoJSON (6 decimals)."""
    frame = box(*EXTENT)
    features = []
    for name, shape in named:
        clipped = shape.intersection(frame).simplify(0.00002)
        geometry = json.loads(json.dumps(mapping(clipped)),
                              parse_float=lambda v: round(float(v), 6))
        features.append({"type": "Feature", "properties": {"admin_name": name},
                         "geometry": geometry})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False) + "\n", encoding="utf-8")


def write_zones(path: Path) -> None:
    """Write the traffic zones with at least a quarter of their area inside the extent."""
    taz = gpd.read_file(ZONES).to_crs(3857)
    frame = gpd.GeoSeries([box(*EXTENT)], crs=4326).to_crs(3857).iloc[0]
    share = taz.geometry.intersection(frame).area / taz.geometry.area
    taz = taz[share >= 0.25].to_crs(4326).sort_values("TAZID")
    write_polygons(path, [(f"交通小区 {int(t.TAZID)}", t.geometry) for t in taz.itertuples()])


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    shutil.copyfile(ROADS, OUT / "roads.graphml")
    write_stations(OUT / "stations_2025.csv", UNION_2025)
    write_stations(OUT / "stations_2024.csv", UNION_2024)
    write_candidates(OUT / "ev_charging.csv")
    write_demand(OUT / "taxi_demand.csv")
    write_zones(OUT / "zones.geojson")
    for item in sorted(OUT.iterdir()):
        print(f"{item.name}: {item.stat().st_size:,} bytes")
