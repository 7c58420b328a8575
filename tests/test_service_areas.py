"""Service areas: reached roads (with partial frontier edges), not hulls of reached nodes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pyproj
import pytest
import shapely
from yizhan.geo.network import RoadNetwork, network_from_graph
from yizhan.geo.paths import pairs_within, snap
from yizhan.geo.service_areas import service_area_table, service_areas

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 2_500_000.0


def _toy(nodes: dict[int, tuple[float, float]], roads: list[tuple[int, int]], *,
         mode: str = "walk", oneway: frozenset[tuple[int, int]] = frozenset()) -> RoadNetwork:
    """Return a straight-edge network from local metre coordinates (two-way unless listed)."""
    ids = sorted(nodes)
    pos = {n: i for i, n in enumerate(ids)}
    x = np.array([X0 + nodes[n][0] for n in ids])
    y = np.array([Y0 + nodes[n][1] for n in ids])
    eu, ev = [], []
    for a, b in roads:
        eu.append(pos[a])
        ev.append(pos[b])
        if (a, b) not in oneway:
            eu.append(pos[b])
            ev.append(pos[a])
    eu_a, ev_a = np.array(eu, dtype=np.int32), np.array(ev, dtype=np.int32)
    length = np.hypot(x[eu_a] - x[ev_a], y[eu_a] - y[ev_a])
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    return RoadNetwork(mode=mode, crs=CRS, node_id=np.array(ids, dtype=np.int64), x=x, y=y,
                       lon=np.asarray(lon), lat=np.asarray(lat), edge_u=eu_a, edge_v=ev_a,
                       edge_length=length, edge_time=length / 1.25)


def _frame(points: list[tuple[float, float]], ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"station_id": ids},
                            geometry=[shapely.Point(X0 + a, Y0 + b) for a, b in points], crs=CRS)


def _local(geom_4326: shapely.Geometry) -> shapely.Geometry:
    geo = gpd.GeoSeries([geom_4326], crs="EPSG:4326").to_crs(CRS).iloc[0]
    return shapely.affinity.translate(geo, -X0, -Y0)


def _u_shape() -> RoadNetwork:
    """A U of roads (bottom 0..1000 m, arms up to 1000 m, nodes every 100 m) around an inner
    street (500, 300)-(500, 500) reachable only by a 7 km detour from the arms' far end."""
    nodes: dict[int, tuple[float, float]] = {}
    roads: list[tuple[int, int]] = []
    for i in range(11):
        nodes[i] = (i * 100.0, 0.0)                # bottom 0..10
        if i:
            roads.append((i - 1, i))
    for i in range(1, 11):
        nodes[100 + i] = (0.0, i * 100.0)          # left arm
        nodes[200 + i] = (1000.0, i * 100.0)       # right arm
        roads.append((100 + i - 1 if i > 1 else 0, 100 + i))
        roads.append((200 + i - 1 if i > 1 else 10, 200 + i))
    nodes.update({300: (500.0, 300.0), 301: (500.0, 500.0), 302: (500.0, 3000.0),
                  303: (0.0, 3000.0)})
    roads += [(300, 301), (301, 302), (302, 303), (303, 110)]
    return _toy(nodes, roads)


def test_unreached_block_inside_the_hull_stays_outside():
    net = _u_shape()
    fac = _frame([(500.0, 0.0)], ["S1"])
    areas = service_areas(net, fac, cutoffs=[1250.0], weight="length", buffer_m=30.0)
    assert len(areas) == 1 and areas.crs.to_epsg() == 4326
    poly = _local(areas.geometry.iloc[0])
    # the reached nodes' convex hull swallows the inner street; the service area does not
    hull = shapely.MultiPoint([(0, 0), (1000, 0), (0, 700), (1000, 700)]).convex_hull
    inner = shapely.Point(500.0, 400.0)
    assert hull.contains(inner)
    assert not poly.buffer(0).contains(inner)
    assert poly.distance(inner) > 100
    # the frontier lies mid-edge: 1250 - 500 = 750 m up each arm
    assert poly.contains(shapely.Point(0.0, 740.0))
    assert poly.contains(shapely.Point(1000.0, 740.0))
    assert not poly.contains(shapely.Point(0.0, 790.0))
    assert areas["reached_km"].iloc[0] == pytest.approx((1000 + 750 + 750) / 1000.0)


def test_nested_cutoffs_one_row_per_facility_and_cutoff():
    net = _u_shape()
    fac = _frame([(500.0, 0.0), (0.0, 900.0)], ["A", "B"])
    areas = service_areas(net, fac, cutoffs=[600.0, 300.0], weight="time", buffer_m=20.0,
                          rule="sanitation_walk")
    assert areas["facility_id"].tolist() == ["A", "A", "B", "B"]
    assert areas["station_id"].tolist() == ["A", "A", "B", "B"]
    assert set(areas["rule"]) == {"sanitation_walk"}
    assert areas["cutoff"].tolist() == [300.0, 600.0, 300.0, 600.0]
    assert set(areas["weight"]) == {"time"} and set(areas["mode"]) == {"walk"}
    for fid in ("A", "B"):
        small, big = areas.loc[areas["facility_id"] == fid, "geometry"]
        assert big.buffer(1e-9).contains(small)
        assert big.area > small.area
    # 300 s at 1.25 m/s = 375 m each way from A along the bottom road
    a300 = areas.iloc[0]
    assert a300["reached_km"] == pytest.approx(0.75)
    table = service_area_table(areas)
    assert "geometry" not in table.columns and "reached_km" in table.attrs["columns"]


def test_one_way_area_is_where_workers_come_from():
    """On one-way roads the service area is the part from which a worker reaches the station
    (upstream), not the part the station reaches (downstream)."""
    nodes = {0: (0.0, 0.0), 1: (400.0, 0.0), 2: (800.0, 0.0), 3: (-400.0, 0.0)}
    net = _toy(nodes, [(3, 0), (0, 1), (1, 2)], mode="drive",
               oneway=frozenset({(3, 0), (0, 1), (1, 2)}))
    fac = _frame([(200.0, 0.0)], ["F"])
    areas = service_areas(net, fac, cutoffs=[300.0], weight="length", buffer_m=10.0)
    poly = _local(areas.geometry.iloc[0])
    assert poly.contains(shapely.Point(-80.0, 0.0))      # 280 m upstream: drives here
    assert not poly.contains(shapely.Point(250.0, 0.0))  # downstream: cannot come back
    assert areas["reached_km"].iloc[0] == pytest.approx(0.3)


def test_too_far_facility_gets_empty_area_and_access_leg_counts():
    net = _u_shape()
    fac = _frame([(500.0, -200.0), (5000.0, 5000.0)], ["near", "far"])
    areas = service_areas(net, fac, cutoffs=[400.0], weight="length", max_access_m=300.0,
                          buffer_m=10.0)
    assert areas["too_far"].tolist() == [False, True]
    assert areas.geometry.iloc[1].is_empty and areas["area_km2"].iloc[1] == 0.0
    poly = _local(areas.geometry.iloc[0])
    assert poly.contains(shapely.Point(500.0, -100.0))   # the off-network leg is drawn
    # 200 m leg leaves 200 m of road each way
    assert areas["reached_km"].iloc[0] == pytest.approx(0.4)


def test_real_network_areas_agree_with_pairs_within(futian_graphml, taxi_csv):
    net = network_from_graph(ox.load_graphml(futian_graphml), mode="ebike")
    taxi = pd.read_csv(taxi_csv)
    inside = (taxi["Lng"].between(net.lon.min(), net.lon.max())
              & taxi["Lat"].between(net.lat.min(), net.lat.max()))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(taxi.loc[inside, "Lng"],
                                                       taxi.loc[inside, "Lat"]), crs=4326)
    fac = pts.iloc[:5].reset_index(drop=True)
    cut = 300.0
    areas = service_areas(net, fac, cutoffs=[cut / 2, cut], weight="time", buffer_m=15.0,
                          include_access=False)
    assert (areas.groupby("facility_id")["area_km2"].apply(lambda s: s.is_monotonic_increasing)
            ).all()
    ts = snap(net, pts)
    fs = snap(net, fac)
    pairs = pairs_within(net, fs, ts, weight="time", limit=cut).tocoo()
    on_road = gpd.GeoSeries(shapely.points(ts.x, ts.y), crs=net.crs).to_crs(4326).to_numpy()
    polys = areas.loc[areas["cutoff"] == cut].geometry.to_numpy()
    assert pairs.nnz > 20
    # every target reached within the cutoff lies (on the road) inside that facility's area
    dist = shapely.distance(polys[pairs.col], on_road[pairs.row])
    assert dist.max() < 1e-7
