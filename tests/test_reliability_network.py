"""Reliability: road networks with bad costs are refused, no search runs for ever, dropped
pieces are reported, and the cache key covers every build option.

Each case asserts the exact outcome; CLI cases assert exit code 2 and no traceback.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from yizhan.geo.netcache import load_network
from yizhan.geo.network import RoadNetwork
from yizhan.geo.sources import build_network, cached_network_path
from yizhan.scripts.cli import main

from yizhan.errors import InputFileError, NetworkError

# Four nodes on a square of about 100 m in Shenzhen, plus an island of two nodes 2 km away.
NODES = {1: (114.0500, 22.5400), 2: (114.0510, 22.5400), 3: (114.0510, 22.5409),
         4: (114.0500, 22.5409), 8: (114.0700, 22.5400), 9: (114.0710, 22.5400)}
SQUARE = [(1, 2), (2, 3), (3, 4), (4, 1)]


def _graph(edges=SQUARE, *, island: bool = False, lengths: dict | None = None,
           drop_xy: int | None = None, drop_length: bool = False) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:4326", simplified=True)
    used = {n for e in edges for n in e} | ({8, 9} if island else set())
    for n in sorted(used):
        lon, lat = NODES[n]
        graph.add_node(n, x=lon, y=lat, street_count=2)
        if n == drop_xy:
            del graph.nodes[n]["x"]
    for i, (u, v) in enumerate([*edges, *([(8, 9)] if island else [])]):
        length = (lengths or {}).get((u, v), 100.0 + i)
        data = {"osmid": 100 + i, "highway": "residential", "oneway": False, "reversed": False}
        if not drop_length:
            data["length"] = length
        graph.add_edge(u, v, **data)
        back = dict(data)
        back["reversed"] = True
        graph.add_edge(v, u, **back)
    return graph


def _save(graph: nx.MultiDiGraph, path: Path) -> Path:
    ox.save_graphml(graph, path)
    return path


@pytest.mark.parametrize("bad", [math.nan, -50.0, math.inf], ids=["nan", "negative", "inf"])
def test_bad_edge_lengths_are_refused_naming_the_edge(tmp_path, capsys, bad):
    path = _save(_graph(lengths={(2, 3): bad}), tmp_path / "bad.graphml")
    with pytest.raises(NetworkError) as err:
        build_network(path, mode="walk", cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert "2→3" in message or "3→2" in message
    assert "osmid 101" in message and "length" in message
    code = main(["-q", "network", "build", "--graphml", str(path), "--mode", "walk",
                 "--cache", str(tmp_path / "cache")])
    out = capsys.readouterr()
    assert code == 2 and "osmid 101" in out.err and "Traceback" not in out.err
    assert not list((tmp_path / "cache").glob("*.npz"))  # nothing cached


def test_a_saved_network_with_bad_costs_is_refused_on_load(tmp_path):
    net = build_network(_save(_graph(), tmp_path / "ok.graphml"), mode="walk",
                        cache_dir=tmp_path / "cache")
    with pytest.raises(NetworkError, match="rebuild"):
        RoadNetwork(mode="walk", crs=net.crs, node_id=net.node_id, x=net.x, y=net.y,
                    lon=net.lon, lat=net.lat, edge_u=net.edge_u, edge_v=net.edge_v,
                    edge_length=np.where(np.arange(net.n_edges) == 0, np.nan, net.edge_length),
                    edge_time=net.edge_time)


_SPIN = textwrap.dedent("""
    import numpy as np
    from yizhan.geo._kernels import nearest_source_tree
    # a negative cycle 0 -> 1 -> 0 and a NaN edge 1 -> 2
    indptr = np.array([0, 1, 3, 3]); indices = np.array([1, 0, 2])
    cost = np.array([1.0, -5.0, np.nan]); other = np.zeros(3)
    dist = np.full(3, np.inf); oth = np.full(3, np.inf); origin = np.full(3, -1)
    nearest_source_tree(indptr, indices, cost, other, np.array([0]), np.array([0.0]),
                        np.array([0.0]), np.array([0]), np.inf, dist, oth, origin)
    print(dist.tolist())
""")


def test_the_search_ends_even_on_a_negative_cycle():
    """Before: a NaN length and a negative loop made coverage spin at 100 % CPU for ever."""
    proc = subprocess.run([sys.executable, "-c", _SPIN], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0.0, 1.0, inf]"  # bad costs are never relaxed


def test_dropped_pieces_are_reported_and_kept_in_the_cache(tmp_path):
    path = _save(_graph(island=True), tmp_path / "island.graphml")
    net = build_network(path, mode="walk", cache_dir=tmp_path / "cache")
    assert net.n_nodes == 4
    assert len(net.notes) == 1
    assert "2 disconnected pieces" in net.notes[0] and "2 nodes" in net.notes[0]
    again = build_network(path, mode="walk", cache_dir=tmp_path / "cache")  # from the cache
    assert again.notes == net.notes
    whole = build_network(path, mode="walk", cache_dir=tmp_path / "cache", retain_all=True)
    assert whole.n_nodes == 6 and whole.notes == ()


def test_cache_key_covers_retain_all(tmp_path):
    path = _save(_graph(island=True), tmp_path / "island.graphml")
    keep = cached_network_path(path, mode="walk", cache_dir=tmp_path, retain_all=True)
    drop = cached_network_path(path, mode="walk", cache_dir=tmp_path)
    assert keep != drop
    # whichever is built first, each option gets its own network
    assert build_network(path, mode="walk", cache_dir=tmp_path, retain_all=True).n_nodes == 6
    assert build_network(path, mode="walk", cache_dir=tmp_path).n_nodes == 4
    assert load_network(keep).n_nodes == 6 and load_network(drop).n_nodes == 4


@pytest.mark.parametrize(("kind", "phrase"), [
    ("no-xy", "no coordinates"), ("no-length", "no length"), ("not-xml", "Cannot read"),
])
def test_graphml_files_that_cannot_be_used_say_what_to_do(tmp_path, capsys, kind, phrase):
    path = tmp_path / f"{kind}.graphml"
    if kind == "not-xml":
        path.write_text("<graphml><graph", encoding="utf-8")
    else:
        _save(_graph(drop_xy=3 if kind == "no-xy" else None, drop_length=kind == "no-length"),
              path)
    with pytest.raises(InputFileError, match=phrase):
        build_network(path, mode="walk", cache_dir=tmp_path / "cache")
    code = main(["-q", "network", "build", "--graphml", str(path), "--mode", "walk",
                 "--cache", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and phrase in err and str(path) in err and "Traceback" not in err
