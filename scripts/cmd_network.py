r"""``yizhan network``: build (and cache) a road network for one travel mode, or describe one.

Examples::

    yizhan network build --pbf guangdong-latest.osm.pbf --polygon futian.geojson --mode ebike
    yizhan network build --graphml futian.graphml --mode walk --out futian-walk.npz
    yizhan network build --place "福田区, 深圳市, 广东省, 中国" --mode drive   # online
    yizhan network info futian-walk.npz

``build`` writes the network into the cache (``~/.cache/yizhan/networks`` or ``--cache``), and
to ``--out`` if given, and prints its size: nodes, edges, km of road.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yizhan.geo.modes import MODES

from yizhan.outdir import check_folder_writable, check_output_file

if TYPE_CHECKING:
    from yizhan.geo.network import RoadNetwork


def register(subparsers: Any) -> None:
    """Add the ``network`` sub-command (``build``, ``info``) to ``subparsers``."""
    p = subparsers.add_parser(
        "network",
        help="构建并缓存路网 / build and cache a road network",
        description=(
            "从 OpenStreetMap 数据构建某一出行方式的路网并缓存，显示其规模。"
            " Build the road network of one travel mode from OpenStreetMap data, cache it and"
            " print its size."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="network_command", metavar="ACTION")
    b = sub.add_parser(
        "build",
        help="构建路网 / build a network",
        description=(
            "数据源四选一：地名（在线）、.osm/.osm.bz2、.osm.pbf（大文件请给 --polygon）、GraphML。"
            " One source: a place name (online), .osm/.osm.bz2, .osm.pbf (give --polygon for"
            " large extracts), or GraphML."
        ),
    )
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--place", metavar="NAME",
                     help="地名（需访问 OpenStreetMap）/ place name, downloaded online")
    src.add_argument("--xml", metavar="FILE", help="OSM XML 文件 / .osm or .osm.bz2 file")
    src.add_argument("--pbf", metavar="FILE", help="OSM PBF 文件 / .osm.pbf extract")
    src.add_argument("--graphml", metavar="FILE", help="GraphML 路网 / GraphML graph (osmnx)")
    b.add_argument("--polygon", metavar="FILE",
                   help="研究区域多边形 study area polygon (GeoJSON/GPKG/Shapefile)")
    b.add_argument("--mode", required=True, choices=sorted(MODES),
                   help="出行方式 travel mode: walk 步行 | ebike 电动自行车 | drive 驾车")
    b.add_argument("--cache", metavar="DIR",
                   help="缓存目录 cache folder (default ~/.cache/yizhan/networks)")
    b.add_argument("--out", metavar="FILE", help="另存为 also save the network to FILE (.npz)")
    b.add_argument("--refresh", action="store_true",
                   help="忽略缓存重新构建 / rebuild even if cached")
    b.add_argument("--retain-all", action="store_true",
                   help="保留不连通的路段 / keep disconnected pieces (default: largest one)")
    b.set_defaults(func=run_build)
    i = sub.add_parser("info", help="显示已保存路网的规模 / describe a saved network")
    i.add_argument("file", metavar="FILE", help="已保存的路网 saved network (.npz)")
    i.set_defaults(func=run_info)
    p.set_defaults(func=_help(p))


def _help(parser: argparse.ArgumentParser) -> Any:
    def show(_: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def describe(net: RoadNetwork) -> str:
    """Return a bilingual one-paragraph description of a network's size."""
    tm = net.travel_mode
    one_way = int((net.edge_reverse < 0).sum())
    return (
        f"{tm.label_zh}路网 {tm.label_en} network: "
        f"{net.n_nodes:,} 个节点 nodes, {net.n_edges:,} 条有向边 directed edges "
        f"({len(net.canonical_edges):,} 条道路 roads, {one_way:,} 条单行 one-way), "
        f"道路总长 {net.road_km:,.1f} 公里 km of road; 坐标系 CRS {net.crs}; "
        f"来源 source {net.source or '-'}"
    )


def is_saved_network(path: Path) -> bool:
    """Return True if ``path`` is a network file yizhan saved (so ``--out`` may replace it)."""
    import numpy as np

    try:
        with zipfile.ZipFile(path) as zf, zf.open("meta.npy") as member:
            meta = json.loads(str(np.lib.format.read_array(member, allow_pickle=False)))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False
    return isinstance(meta, dict) and "yizhan" in meta


def run_build(args: argparse.Namespace) -> int:
    """Build (or load from cache) the network and print its size; return the exit code."""
    from yizhan.geo.netcache import save_network
    from yizhan.geo.sources import SourceKind, build_network, cached_network_path, load_polygon

    kinds: tuple[SourceKind, ...] = ("place", "xml", "pbf", "graphml")
    kind = next(k for k in kinds if getattr(args, k))
    source = getattr(args, kind)
    if args.cache:
        check_folder_writable(args.cache)
    if args.out:
        check_output_file(args.out, ours=is_saved_network)
    polygon = load_polygon(args.polygon) if args.polygon else None
    net = build_network(source, mode=args.mode, polygon=polygon, cache_dir=args.cache,
                        refresh=args.refresh, retain_all=args.retain_all, kind=kind)
    print(describe(net))
    for note in net.notes:
        print(f"请注意 Note: {note}")
    cached = cached_network_path(source, mode=args.mode, polygon=polygon, cache_dir=args.cache,
                                 kind=kind, retain_all=args.retain_all)
    print(f"缓存 cached: {cached}")
    if args.out:
        out = save_network(net, args.out)
        print(f"已保存 saved: {out}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print the size of a saved network; return the exit code."""
    from yizhan.geo.netcache import load_network

    print(describe(load_network(args.file)))
    return 0
