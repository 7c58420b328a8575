"""Road networks: mode filters, directions, speeds, loaders (GraphML, XML, PBF, place), cache."""

from __future__ import annotations

import bz2
import importlib.util
import itertools
import json
import math
import os
import pickle
import shutil
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pytest
import shapely
import yizhan.geo.sources as gn
from scipy.sparse.csgraph import dijkstra
from yizhan.geo.netcache import load_network, save_network
from yizhan.geo.network import (
    DRIVE_FALLBACK_KMH,
    MODES,
    RoadNetwork,
    edge_allowed,
    mode_graph,
    network_from_graph,
)
from yizhan.geo.paths import snap
from yizhan.geo.sources import (
    build_network,
    build_network_from_place,
    cache_key,
    cached_network_path,
)
from yizhan.scripts.cli import main as cli_main

from yizhan.errors import ConfigError, InputFileError, NetworkError
from yizhan.shared import PROJECT_ROOT

EARTH_RADIUS_M = 6_371_009  # osmnx's great-circle radius


def _load_synthetic():
    spec = importlib.util.spec_from_file_location(
        "yizhan_bench_synthetic", PROJECT_ROOT / "benchmarks" / "_synthetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic_network = _load_synthetic().synthetic_network


@pytest.fixture(scope="module")
def futian_graph(futian_graphml):
    return ox.load_graphml(futian_graphml)


@pytest.fixture(scope="module")
def futian_nets(futian_graph):
    return {mode: network_from_graph(futian_graph, mode=mode) for mode in MODES}


# --------------------------------------------------------------------------------------------
# travel modes and filters


def test_modes_are_walk_ebike_drive_with_documented_speeds():
    assert set(MODES) == {"walk", "ebike", "drive"}
    assert MODES["walk"].respects_oneway is False
    assert MODES["ebike"].respects_oneway is True and MODES["drive"].respects_oneway is True
    assert MODES["ebike"].default_speed_kmh == 15.0
    assert MODES["walk"].default_speed_kmh == 4.5
    assert MODES["drive"].speeds_from_roads
    for tm in MODES.values():
        assert tm.label_zh and tm.label_en
        assert tm.speed_mps == pytest.approx(4.5 / 3.6)  # off-network legs are walked


@pytest.mark.parametrize(
    ("tags", "walk", "ebike", "drive"),
    [
        ({"highway": "residential"}, True, True, True),
        ({"highway": "footway"}, True, False, False),
        ({"highway": "steps"}, True, False, False),
        ({"highway": "cycleway"}, False, True, False),
        ({"highway": "service"}, True, True, False),
        ({"highway": "service", "service": "parking_aisle"}, True, True, False),
        ({"highway": "trunk"}, True, False, True),
        ({"highway": "motorway_link"}, False, False, True),
        ({"highway": "primary", "motorroad": "yes"}, False, False, True),
        ({"highway": "residential", "access": "private"}, False, False, False),
        ({"highway": "path", "foot": "no"}, False, True, False),
        ({"highway": "cycleway", "bicycle": "no"}, False, False, False),
        ({"highway": ["residential", "footway"]}, True, False, False),
        ({"highway": "construction"}, False, False, False),
        ({"building": "yes"}, False, False, False),
    ],
)
def test_edge_filters(tags, walk, ebike, drive):
    assert edge_allowed(tags, "walk") is walk
    assert edge_allowed(tags, "ebike") is ebike
    assert edge_allowed(tags, "drive") is drive


def test_unknown_mode_is_a_config_error(futian_graph):
    with pytest.raises(ConfigError, match="bicycle"):
        network_from_graph(futian_graph, mode="bicycle")


# --------------------------------------------------------------------------------------------
# the real Futian GraphML (built with footways): mode filter applied on load


def test_futian_graphml_filtered_per_mode(futian_nets):
    walk, ebike, drive = futian_nets["walk"], futian_nets["ebike"], futian_nets["drive"]
    assert set(drive.edge_highway) .isdisjoint({"footway", "service", "path", "steps",
                                                "pedestrian"})
    assert "footway" in set(walk.edge_highway)
    assert set(ebike.edge_highway).isdisjoint({"footway", "trunk", "motorway_link", "steps"})
    assert walk.road_km > drive.road_km > 100
    # walking ignores one-way streets: every edge has its reverse; driving keeps them
    assert (walk.edge_reverse >= 0).all()
    one_way = drive.edge_reverse < 0
    assert one_way.sum() > 500
    assert (drive.edge_reverse[drive.edge_reverse >= 0] >= 0).all()
    # costs are consistent: every edge length > 0 or a zero-length OSM edge, times > 0
    for net in futian_nets.values():
        assert (net.edge_length >= 0).all() and (net.edge_time >= 0).all()
        assert net.crs == "EPSG:32650"
        np.testing.assert_allclose(net.edge_projected_length, net.edge_length, rtol=5e-3,
                                   atol=0.05)


def test_one_way_respected_in_drive_ignored_in_walk(futian_nets):
    drive, walk = futian_nets["drive"], futian_nets["walk"]
    pos_walk = {int(n): i for i, n in enumerate(walk.node_id)}
    one_way = np.flatnonzero(drive.edge_reverse < 0)
    mat_d, mat_w = drive.matrix("length"), walk.matrix("length")
    back_d = dijkstra(mat_d, indices=drive.edge_v[one_way], min_only=False)
    longer = walked = 0
    for row, e in enumerate(one_way):
        u, v, length = drive.edge_u[e], drive.edge_v[e], drive.edge_length[e]
        back = back_d[row, u]
        # the reverse direction is not an edge when driving
        assert not any(mat_d[v].indices == u) or mat_d[v, u] != pytest.approx(length)
        longer += back > length + 1.0
        # on foot the same street is walked back directly (if walking may use it at all)
        wu, wv = pos_walk.get(int(drive.node_id[u])), pos_walk.get(int(drive.node_id[v]))
        if wu is None or wv is None or drive.edge_highway[e] in MODES["walk"].excluded_highways:
            continue
        walked += 1
        d_walk = dijkstra(mat_w, indices=[wv], limit=length + 1e-6)[0, wu]
        assert d_walk <= length + 1e-9
    assert longer / len(one_way) > 0.95
    assert walked / len(one_way) > 0.9


def test_drive_speeds_from_maxspeed_or_road_class(futian_graph, futian_nets):
    drive = futian_nets["drive"]
    speed = drive.edge_length / drive.edge_time * 3.6
    graph = mode_graph(futian_graph, mode="drive")
    tagged: dict[str, set[float]] = {}
    classes_with_maxspeed = set()
    for _, _, d in graph.edges(data=True):
        hw = d["highway"][0] if isinstance(d["highway"], list) else d["highway"]
        if isinstance(d.get("maxspeed"), str) and d["maxspeed"].isdigit():
            tagged.setdefault(hw, set()).add(float(d["maxspeed"]))
            classes_with_maxspeed.add(hw)
    # an edge tagged maxspeed=40 runs at 40 km/h (景田路)
    e = next(i for i in range(drive.n_edges) if drive.edge_length[i] == 7.041)
    assert speed[e] == pytest.approx(40.0)
    # classes without any maxspeed in the area fall back to the documented table
    for cls in set(drive.edge_highway) - classes_with_maxspeed:
        assert np.allclose(speed[drive.edge_highway == cls], DRIVE_FALLBACK_KMH[cls])
    walk = futian_nets["walk"]
    np.testing.assert_allclose(walk.edge_length / walk.edge_time * 3.6, 4.5)


# --------------------------------------------------------------------------------------------
# the compact structure


def _tiny() -> RoadNetwork:
    x = np.array([0.0, 10.0, 20.0]) + 500000.0
    y = np.full(3, 2500000.0)
    eu = np.array([0, 0, 1, 1, 2], dtype=np.int32)
    ev = np.array([1, 1, 1, 2, 2], dtype=np.int32)
    length = np.array([10.0, 7.0, 3.0, 0.0, 5.0])   # parallel, self-loop, zero length, loop
    return RoadNetwork(mode="drive", crs="EPSG:32650", node_id=np.array([5, 6, 7]), x=x, y=y,
                       lon=np.zeros(3), lat=np.zeros(3), edge_u=eu, edge_v=ev,
                       edge_length=length, edge_time=length / 10)


def test_matrix_keeps_cheapest_parallel_edge_drops_loops_keeps_zero_edges():
    net = _tiny()
    mat = net.matrix("length")
    assert mat.shape == (3, 3) and mat.nnz == 2
    assert mat[0, 1] == 7.0
    assert mat.indptr.tolist() == [0, 1, 2, 2] and mat.data.tolist() == [7.0, 0.0]
    assert net.matrix_edges("length").tolist() == [1, 3]
    assert dijkstra(mat, indices=[0])[0].tolist() == [0.0, 7.0, 7.0]  # explicit zero is an edge
    assert net.matrix("length") is mat  # built once
    with pytest.raises(ConfigError):
        net.matrix("minutes")


def test_edge_points_and_substrings_follow_geometry():
    net = synthetic_network(900, mode="walk", seed=4)
    rng = np.random.default_rng(0)
    edges = rng.integers(0, net.n_edges, 200)
    a, b = np.sort(rng.random((2, 200)), axis=0)
    pts = net.edge_points(edges, a)
    lines = net.edge_substrings(edges, a, b)
    geoms = net.edge_geometry[edges]
    for i in range(200):
        g = geoms[i]
        expect = shapely.ops.substring(g, a[i], b[i], normalized=True)
        assert lines[i].hausdorff_distance(expect) < 1e-6
        assert shapely.Point(pts[i]).distance(g.interpolate(a[i], normalized=True)) < 1e-6


def test_synthetic_network_is_fast_deterministic_and_road_like():
    a = synthetic_network(5000, mode="drive", seed=7)
    b = synthetic_network(5000, mode="drive", seed=7)
    assert np.array_equal(a.edge_u, b.edge_u) and np.array_equal(a.edge_length, b.edge_length)
    assert 4000 < a.n_nodes <= 5000
    assert (a.edge_reverse < 0).any()                      # some one-way roads
    assert (synthetic_network(5000, mode="walk").edge_reverse >= 0).all()
    straight = np.hypot(a.x[a.edge_u] - a.x[a.edge_v], a.y[a.edge_u] - a.y[a.edge_v])
    assert (a.edge_length >= straight - 1e-9).all()
    np.testing.assert_allclose(a.edge_projected_length, a.edge_length)


def test_save_load_roundtrip_and_pickle(tmp_path, futian_nets):
    for net in (futian_nets["drive"], synthetic_network(2000, mode="ebike")):
        path = save_network(net, tmp_path / f"{net.mode}.npz")
        back = load_network(path)
        for name in ("node_id", "x", "y", "lon", "lat", "edge_u", "edge_v", "edge_length",
                     "edge_time"):
            assert np.array_equal(getattr(back, name), getattr(net, name)), name
        assert back.mode == net.mode and back.crs == net.crs and back.source == net.source
        assert shapely.equals_exact(back.edge_geometry, net.edge_geometry, tolerance=0).all()
        assert list(back.edge_highway) == list(net.edge_highway)
        if net.edge_name is not None:  # street names (OSM name) travel with the network
            assert list(back.edge_name) == list(net.edge_name)
        for weight in ("length", "time"):
            assert (back.matrix(weight) != net.matrix(weight)).nnz == 0
            assert np.array_equal(back.matrix_edges(weight), net.matrix_edges(weight))
        # loaded, not copied: arrays and the saved matrices are read-only views of the file
        assert not back.x.flags.writeable and not back.edge_u.flags.writeable
        assert not back.matrix("length").data.flags.writeable
        clone = pickle.loads(pickle.dumps(net))
        assert clone.summary() == net.summary()
        again = pickle.loads(pickle.dumps(back))  # a mapped network travels to Dask workers
        assert again.summary() == net.summary() and np.array_equal(again.x, net.x)


def test_networks_saved_by_plain_numpy_still_load(tmp_path):
    net = synthetic_network(1500, mode="walk", seed=3)
    path = save_network(net, tmp_path / "new.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if not k.startswith(("matrix_", "snap_"))}
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)  # an earlier cache: unaligned, no saved matrices or snap index
    back = load_network(old)
    assert back.x.flags.writeable  # read, not mapped
    assert (back.matrix("length") != net.matrix("length")).nnz == 0
    pts = gpd.GeoSeries(gpd.points_from_xy(net.lon[:50] + 1e-5, net.lat[:50]), crs="EPSG:4326")
    assert np.array_equal(snap(back, pts).edge, snap(net, pts).edge)


def test_load_network_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputFileError):
        load_network(bad)
    with pytest.raises(InputFileError):
        load_network(tmp_path / "missing.npz")


# --------------------------------------------------------------------------------------------
# loaders: total road length equals the OSM ways' own great-circle lengths


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    y1, y2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((y2 - y1) / 2) ** 2
         + math.cos(y1) * math.cos(y2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def _expected_metres(ways: list[tuple[dict, list]], mode: str, polygon=None) -> float:
    """Sum of segment lengths of the usable ways (both ends inside the polygon), without
    isolated rings (osmnx's simplification drops rings with no way out)."""
    segments = nx.MultiGraph()
    for tags, coords in ways:
        if "highway" not in tags or not edge_allowed(tags, mode):
            continue
        pts = [c for i, c in enumerate(coords) if i == 0 or c[0] != coords[i - 1][0]]
        for (ra, xa), (rb, xb) in itertools.pairwise(pts):
            if polygon is not None and not (shapely.intersects_xy(polygon, *xa)
                                            and shapely.intersects_xy(polygon, *xb)):
                continue
            segments.add_edge(ra, rb, length=_haversine(xa, xb))
    total = 0.0
    for comp in nx.connected_components(segments):
        sub = segments.subgraph(comp)
        if all(d == 2 for _, d in sub.degree()):
            continue  # an isolated ring
        total += sum(d["length"] for _, _, d in sub.edges(data=True))
    return total


def _xml_ways(path: Path) -> list[tuple[dict, list]]:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rb") as fh:
        root = ET.parse(fh).getroot()
    nodes = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    out = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        refs = [nd.get("ref") for nd in way.iter("nd")]
        out.append((tags, [(r, nodes[r]) for r in refs]))
    return out


def _pbf_ways(path: Path) -> list[tuple[dict, list]]:
    out = []
    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_filter(osmium.filter.KeyFilter("highway")))
    for obj in processor:
        if not obj.is_way():
            continue
        run, best = [], []
        for n in obj.nodes:  # an extract cuts ways: keep the longest located run
            if n.location.valid():
                run.append((n.ref, (n.location.lon, n.location.lat)))
                continue
            best, run = (run, []) if len(run) > len(best) else (best, [])
        out.append(({t.k: t.v for t in obj.tags}, run if len(run) > len(best) else best))
    return out


@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2",
                                  "planet_10.068,48.135_10.071,48.137.osm"])
@pytest.mark.parametrize("mode", ["walk", "ebike", "drive"])
def test_xml_loader_keeps_every_usable_way(shared_data, tmp_path, name, mode):
    path = shared_data("osm_xml_samples") / name
    net = build_network(path, mode=mode, cache_dir=tmp_path, retain_all=True)
    expected = _expected_metres(_xml_ways(path), mode)
    assert net.road_km * 1000 == pytest.approx(expected, rel=1e-9)
    assert net.n_nodes > 3
    whole = build_network(path, mode=mode, cache_dir=tmp_path)
    assert whole.n_nodes <= net.n_nodes


@pytest.mark.parametrize("name", ["test.osm.pbf", "Helsinki.osm.pbf"])
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_pbf_loader_keeps_every_usable_way(shared_data, tmp_path, name, mode):
    path = shared_data("osm_pbf_samples") / name
    net = build_network(path, mode=mode, cache_dir=tmp_path, retain_all=True)
    assert net.road_km * 1000 == pytest.approx(_expected_metres(_pbf_ways(path), mode),
                                               rel=1e-9)


def test_pbf_clipped_to_polygon_streaming_with_disk_index(shared_data, tmp_path, monkeypatch):
    path = shared_data("osm_pbf_samples/Helsinki.osm.pbf")
    polygon = shapely.box(24.940, 60.168, 24.948, 60.175)
    monkeypatch.setattr(gn, "PBF_DISK_INDEX_BYTES", 0)  # as for a country-sized file
    net = build_network(path, mode="walk", polygon=polygon, cache_dir=tmp_path, retain_all=True)
    assert shapely.intersects_xy(polygon, net.lon, net.lat).all()
    expected = _expected_metres(_pbf_ways(path), "walk", polygon)
    assert net.road_km * 1000 == pytest.approx(expected, rel=1e-9)
    full = build_network(path, mode="walk", cache_dir=tmp_path, retain_all=True)
    assert net.n_nodes < full.n_nodes / 2


def test_polygon_outside_the_data_is_a_network_error(shared_data, tmp_path):
    path = shared_data("osm_pbf_samples/test.osm.pbf")
    with pytest.raises(NetworkError, match="study area"):
        build_network(path, mode="drive", polygon=shapely.box(100, 10, 100.1, 10.1),
                      cache_dir=tmp_path)


# --------------------------------------------------------------------------------------------
# cache


def test_cache_hit_skips_the_build_and_changes_invalidate(futian_graphml, tmp_path, monkeypatch):
    src = tmp_path / "futian.graphml"
    shutil.copy(futian_graphml, src)
    cache = tmp_path / "cache"
    first = build_network(src, mode="ebike", cache_dir=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and files[0] == cached_network_path(src, mode="ebike",
                                                                cache_dir=cache)

    def boom(_path):
        raise AssertionError("the cached network should have been used")

    monkeypatch.setattr(gn, "_read_graphml", boom)
    again = build_network(src, mode="ebike", cache_dir=cache)
    assert np.array_equal(again.edge_time, first.edge_time)
    # another mode, another polygon or a changed file are different networks
    poly = shapely.box(114.0, 22.52, 114.03, 22.55)
    keys = {cache_key(src, mode="ebike"), cache_key(src, mode="walk"),
            cache_key(src, mode="ebike", polygon=poly)}
    assert len(keys) == 3
    os.utime(src, ns=(1_000_000_000, 1_000_000_000))
    with pytest.raises(AssertionError, match="cached network"):
        build_network(src, mode="ebike", cache_dir=cache)
    monkeypatch.undo()
    rebuilt = build_network(src, mode="ebike", cache_dir=cache, polygon=poly)
    assert rebuilt.n_nodes < first.n_nodes
    assert len(list(cache.glob("*.npz"))) == 2


def test_missing_file_and_empty_network_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        build_network(tmp_path / "none.osm.pbf", mode="walk", cache_dir=tmp_path)
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_node(1, x=114.0, y=22.5)
    graph.add_node(2, x=114.001, y=22.5)
    graph.add_edge(1, 2, highway="footway", length=100.0)
    with pytest.raises(NetworkError, match="driving"):
        network_from_graph(graph, mode="drive")
    projected = nx.MultiDiGraph(crs="EPSG:32650")
    projected.add_edge(1, 2, highway="residential", length=1.0)
    with pytest.raises(NetworkError, match="EPSG:4326"):
        network_from_graph(projected, mode="walk")


# --------------------------------------------------------------------------------------------
# place names: osmnx online, mocked at the HTTP boundary with a recorded-style response


class _Response:
    def __init__(self, url: str, payload: object) -> None:
        self.url = url
        self.status_code = 200
        self.ok = True
        self.reason = "OK"
        self.text = json.dumps(payload)
        self.content = self.text.encode()
        self._payload = payload

    def json(self) -> object:
        return self._payload


def _overpass_json(path: Path) -> dict:
    """The Overpass answer for way["highway"] in the area: the sample's ways and their nodes."""
    with bz2.open(path, "rb") as fh:
        root = ET.parse(fh).getroot()
    elements, used = [], set()
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if "highway" in tags:
            refs = [int(nd.get("ref")) for nd in way.iter("nd")]
            used.update(refs)
            elements.append({"type": "way", "id": int(way.get("id")), "nodes": refs,
                             "tags": tags})
    for node in root.iter("node"):
        if int(node.get("id")) in used:
            elements.append({"type": "node", "id": int(node.get("id")),
                             "lat": float(node.get("lat")), "lon": float(node.get("lon"))})
    return {"version": 0.6, "generator": "Overpass API (recorded)", "elements": elements}


def test_place_download_mocked_at_http_boundary(shared_data, tmp_path, monkeypatch):
    import requests

    sample = shared_data("osm_xml_samples/West-Oakland.osm.bz2")
    answer = _overpass_json(sample)
    area = shapely.box(-122.32, 37.80, -122.28, 37.82)
    calls: list[str] = []

    def fake_get(url, params=None, **kwargs):
        calls.append(url)
        assert "nominatim" in url and params["q"] == "West Oakland, Oakland, CA"
        return _Response(url, [{
            "place_id": 1, "osm_type": "relation", "osm_id": 1, "lat": "37.81",
            "lon": "-122.30", "class": "boundary", "type": "administrative",
            "importance": 0.6, "display_name": "West Oakland, Oakland, California",
            "boundingbox": ["37.80", "37.82", "-122.32", "-122.28"],
            "geojson": shapely.geometry.mapping(area),
        }])

    def fake_post(url, data=None, **kwargs):
        calls.append(url)
        assert "interpreter" in url and 'way["highway"]' in data["data"]
        return _Response(url, answer)

    monkeypatch.setattr(requests, "get", fake_get)
    monkeypatch.setattr(requests, "post", fake_post)
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)  # osmnx rebinds it
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.0.1")
    monkeypatch.setattr(ox.settings, "use_cache", False)
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr("osmnx._nominatim.time.sleep", lambda s: None)
    net = build_network("West Oakland, Oakland, CA", mode="walk", cache_dir=tmp_path,
                        retain_all=True)
    assert len(calls) == 2
    from_file = build_network(sample, mode="walk", cache_dir=tmp_path, retain_all=True)
    assert net.road_km == pytest.approx(from_file.road_km, rel=1e-9)
    assert net.n_nodes == from_file.n_nodes
    # cached: a second call makes no request
    again = build_network_from_place("West Oakland, Oakland, CA", mode="walk",
                                     cache_dir=tmp_path, retain_all=True)
    assert len(calls) == 2 and again.n_edges == net.n_edges


def test_place_download_failure_is_a_network_error(tmp_path, monkeypatch):
    import requests

    def offline(*args, **kwargs):
        raise requests.ConnectionError("no route to host")

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setattr(requests, "post", offline)
    monkeypatch.setattr(ox.settings, "use_cache", False)
    monkeypatch.setattr("osmnx._nominatim.time.sleep", lambda s: None)
    with pytest.raises(NetworkError, match=r"\.osm\.pbf"):
        build_network("福田区, 深圳市", mode="drive", cache_dir=tmp_path)


# --------------------------------------------------------------------------------------------
# command line


def test_cli_build_and_info(futian_graphml, tmp_path, capsys):
    out = tmp_path / "futian-walk.npz"
    code = cli_main(["-q", "network", "build", "--graphml", str(futian_graphml), "--mode", "walk",
                     "--cache", str(tmp_path / "cache"), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "节点 nodes" in text and "公里 km of road" in text and "步行" in text
    assert out.exists() and len(list((tmp_path / "cache").glob("*.npz"))) == 1
    assert cli_main(["network", "info", str(out)]) == 0
    assert "walking network" in capsys.readouterr().out
    assert cli_main(["network", "build", "--xml", str(tmp_path / "no.osm"), "--mode",
                     "walk", "--cache", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cheapest_parallel_edge_matches_a_two_key_sort():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from yizhan.geo.network import _cheapest_per_pair

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 3)), max_size=60),
           st.booleans())
    def check(rows, presort):
        pair = np.array([r[0] for r in rows], dtype=np.int64)
        cost = np.array([r[1] for r in rows], dtype=float)
        if presort:
            pair = np.sort(pair)
        order = np.lexsort((cost, pair))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pair[order][1:] != pair[order][:-1]
        assert np.array_equal(_cheapest_per_pair(pair, cost), order[first])

    check()


def test_street_names_name_where_a_point_is(futian_nets):
    """Each point gets the OSM name of its road, or of a named road at its nearest node."""
    from yizhan.geo.paths import snap, street_names

    net = futian_nets["drive"]
    named = np.flatnonzero(net.edge_name.astype(str) != "")
    assert 0.5 < named.size / net.n_edges <= 1.0
    mid = net.edge_points(named[:40], np.full(40, 0.5))  # the middle of 40 named roads
    points = gpd.GeoSeries(gpd.points_from_xy(mid[:, 0], mid[:, 1]), crs=net.crs).to_crs(4326)
    snapped = snap(net, points)
    names = street_names(net, snapped)
    own = net.edge_name[snapped.edge].astype(str)
    assert (names == own).all() and (names != "").all()


def test_nearest_named_street_is_the_closest_named_node(futian_nets):
    """A point on an unnamed road is told by the nearest node with a named street, and how far."""
    from yizhan.geo.paths import _node_streets, nearest_named_street

    net = futian_nets["walk"]
    rng = np.random.default_rng(3)
    x = rng.uniform(net.x.min(), net.x.max(), 50)
    y = rng.uniform(net.y.min(), net.y.max(), 50)
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=net.crs).to_crs(4326)
    names, metres = nearest_named_street(net, points)
    at_node = _node_streets(net, net.edge_name)
    named = np.flatnonzero(at_node != "")
    d = np.hypot(net.x[named][None, :] - x[:, None], net.y[named][None, :] - y[:, None])
    np.testing.assert_allclose(metres, d.min(axis=1), atol=0.01)
    assert (names == at_node[named[d.argmin(axis=1)]]).all() and (names != "").all()
    empty, none = nearest_named_street(net, gpd.GeoSeries([None], crs=4326))
    assert empty.tolist() == [""] and np.isnan(none).all()
