"""Where road networks come from: GraphML, OSM XML, ``.osm.pbf`` extracts, place names; the cache.

Sources (:func:`build_network`)
-------------------------------
- a GraphML file (osmnx's format, e.g. a graph someone built earlier with other filters);
- an OpenStreetMap XML file (``.osm``, ``.osm.bz2``), read with ``osmnx.graph_from_xml``;
- an ``.osm.pbf`` extract, streamed once with pyosmium (node locations in osmium's C++ index,
  on disk for large files) and clipped to the study polygon, so a whole-country file is never
  held in memory (see :func:`_clip_pbf`);
- a place name, downloaded from OpenStreetMap by osmnx (online; often slow or unreachable
  from China: download a regional ``.osm.pbf`` from a mirror instead);
- a network saved earlier by :func:`save_network` (``.npz``).

Built networks are cached in ``~/.cache/yizhan/networks`` (or ``cache_dir``) under a key made of
the source (path, size and modification time, or the place name), the polygon, the mode and the
yizhan version, so a yearly re-run loads them in a second instead of rebuilding them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from yizhan.geo.modes import (  # the one table of travel modes
    get_mode,
)
from yizhan.geo.netcache import CACHE_FORMAT, load_network, save_network
from yizhan.geo.network import RoadNetwork, network_from_graph

from yizhan import __version__, log, settings
from yizhan.errors import InputFileError, NetworkError

# Extra OSM way tags the filters look at; added to osmnx's useful_tags_way while building from
# raw OSM data so they reach the edges.
_FILTER_TAGS = ("foot", "bicycle", "motor_vehicle", "motorcar", "motorroad", "expressway")

_XML_SUFFIXES = (".osm", ".osm.bz2", ".xml", ".osm.xml")
_PBF_SUFFIXES = (".osm.pbf", ".pbf")
_GRAPHML_SUFFIXES = (".graphml",)
_CACHE_SUFFIXES = (".npz",)


SourceKind = Literal["graphml", "xml", "pbf", "cache", "place"]
"""The kinds of network source :func:`build_network` reads."""


def source_kind(source: str | Path) -> SourceKind:
    """Return what ``source`` is from its name: a file format, or otherwise a place name."""
    name = str(source).lower()
    if name.endswith(_PBF_SUFFIXES):
        return "pbf"
    if name.endswith(_XML_SUFFIXES):
        return "xml"
    if name.endswith(_GRAPHML_SUFFIXES):
        return "graphml"
    if name.endswith(_CACHE_SUFFIXES):
        return "cache"
    return "place"


def default_cache_dir() -> Path:
    """Return the default folder of cached networks.

    ``$YIZHAN_CACHE_DIR`` when set (e.g. a folder every machine of a cluster sees), else
    ``~/.cache/yizhan/networks``.
    """
    return settings.cache_dir()


def load_polygon(polygon: object) -> BaseGeometry | None:
    """Return the study area as one shapely geometry in EPSG:4326, or None.

    ``polygon`` may be None, a shapely geometry (taken as lon/lat), a GeoSeries/GeoDataFrame
    (any CRS; all shapes merged), or a path to a vector file (GeoJSON, GPKG, Shapefile).

    Raises
    ------
    InputFileError
        If the file is missing, unreadable or holds no polygon.
    """
    if polygon is None:
        return None
    if isinstance(polygon, BaseGeometry):
        geom = polygon
    elif isinstance(polygon, (gpd.GeoDataFrame, gpd.GeoSeries)):
        series = polygon.geometry if isinstance(polygon, gpd.GeoDataFrame) else polygon
        if series.crs is not None:
            series = series.to_crs("EPSG:4326")
        geom = series.union_all()
    else:
        path = Path(str(polygon))
        if not path.exists():
            raise InputFileError(
                "研究区域文件不存在，请检查路径。 The study-area file does not exist; check the path.",
                file=str(path),
            )
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # any driver error: the user gave a file we cannot read
            raise InputFileError(
                f"无法读取研究区域文件（{exc}），请提供 GeoJSON、GPKG 或 Shapefile。"
                f" Cannot read the study-area file ({exc}); give a GeoJSON, GPKG or Shapefile.",
                file=str(path),
            ) from exc
        if frame.crs is not None:
            frame = frame.to_crs("EPSG:4326")
        geom = frame.geometry.union_all()
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputFileError(
                "研究区域文件中没有多边形。 The study-area file holds no polygon.",
                file=str(path),
            )
    if geom.is_empty:
        raise NetworkError("研究区域为空。 The study-area polygon is empty.")
    return geom


def cache_key(
    source: str | Path,
    *,
    mode: str,
    polygon: BaseGeometry | None = None,
    kind: SourceKind | None = None,
    retain_all: bool = False,
) -> str:
    """Return the cache key (hex) of a network built from ``source`` in ``mode``.

    Every option that changes the network is in the key, so a cached network is always the
    one asked for, whichever was built first. Files are identified by resolved path, size and
    modification time (a re-downloaded extract gets a new key); place names by their text.
    The polygon enters through its WKB, so the same area gives the same key; then
    ``retain_all``, the yizhan version and the cache format.
    """
    get_mode(mode)
    digest = hashlib.sha256()
    kind = kind or source_kind(source)
    if kind == "place":
        digest.update(f"place:{str(source).strip()}".encode())
    else:
        path = Path(source).resolve()
        stat = path.stat()
        digest.update(f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    if polygon is not None:
        digest.update(b"polygon:" + shapely.to_wkb(shapely.normalize(polygon), hex=False))
        digest.update(repr(tuple(round(b, 7) for b in polygon.bounds)).encode())
    digest.update(f"mode:{mode}:retain_all:{bool(retain_all)}".encode())
    digest.update(f"yizhan:{__version__}:format:{CACHE_FORMAT}".encode())
    return digest.hexdigest()


def _slug(source: str | Path) -> str:
    name = Path(str(source)).name if source_kind(source) != "place" else str(source)
    for suffix in (".osm.pbf", ".osm.bz2", ".osm", ".graphml", ".pbf", ".xml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    slug = re.sub(r"[^\w\-]+", "_", name, flags=re.UNICODE).strip("_")
    return slug[:40] or "network"


def build_network(
    source: str | Path,
    *,
    mode: str,
    polygon: object = None,
    cache_dir: str | Path | None = None,
    refresh: bool = False,
    retain_all: bool = False,
    kind: SourceKind | None = None,
    clipped_xml: str | Path | None = None,
) -> RoadNetwork:
    """Return the road network of ``source`` in ``mode``, from the cache when it was built before.

    Parameters
    ----------
    source
        A ``.graphml``, ``.osm``/``.osm.bz2`` or ``.osm.pbf`` file, a network saved by
        :func:`save_network` (``.npz``), or a place name (downloaded online by osmnx, see
        :func:`build_network_from_place`).
    mode
        ``"walk"``, ``"ebike"`` or ``"drive"``.
    polygon
        Study area (see :func:`load_polygon`); nodes outside it are dropped. Required in
        practice for large ``.osm.pbf`` extracts.
    cache_dir
        Cache folder (default :func:`default_cache_dir`).
    refresh
        Rebuild even if a cached network exists.
    retain_all
        Keep disconnected pieces (default: largest connected piece only).
    kind
        What ``source`` is (``"graphml"``, ``"xml"``, ``"pbf"``, ``"cache"``, ``"place"``);
        by default guessed from the file name (see :func:`source_kind`).
    clipped_xml
        For a ``.osm.pbf`` source: the OSM XML that :func:`clip_pbf_areas` already wrote for
        ``polygon`` (a province-wide pass clips every district at once); the network is then
        built from it instead of streaming the ``.pbf`` again, and cached under the same key.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    InputFileError
        If the source file does not exist or cannot be read.
    NetworkError
        If the area holds no usable roads.
    """
    get_mode(mode)
    kind = kind or source_kind(source)
    if kind == "cache":
        net = load_network(source)
        if net.mode != mode:
            raise NetworkError(
                f"缓存的路网是 {net.mode} 方式，不是 {mode}。"
                f" The saved network is for mode {net.mode!r}, not {mode!r}.",
            )
        return net
    if kind == "place":
        return build_network_from_place(
            str(source), mode=mode, polygon=polygon, cache_dir=cache_dir, refresh=refresh,
            retain_all=retain_all,
        )
    path = Path(source)
    if not path.exists():
        raise InputFileError(
            "路网文件不存在，请检查路径。 The road network file does not exist; check the path.",
            file=str(path),
        )
    area = load_polygon(polygon)
    target = _cache_path(path, mode=mode, polygon=area, cache_dir=cache_dir, kind=kind,
                         retain_all=retain_all)
    if target.exists() and not refresh:
        log.info(f"读取缓存路网 loading cached network {target}")
        return load_network(target)
    log.info(f"构建路网 building {mode} network from {path.name}")
    if kind == "graphml":
        graph = _read_graphml(path)
        if area is not None:
            graph = _truncate(graph, area)
    elif kind == "xml":
        graph = _graph_from_xml(path, area)
    elif clipped_xml is not None:
        graph = _graph_from_xml(Path(clipped_xml), area, source_name=str(path))
    else:
        with tempfile.TemporaryDirectory(prefix="yizhan-pbf-") as tmp:
            xml = Path(tmp) / "clip.osm"
            _clip_pbf(path, xml, area)
            graph = _graph_from_xml(xml, area, source_name=str(path))
    net = network_from_graph(graph, mode=mode, retain_all=retain_all, source=path.name)
    save_network(net, target)
    return net


def cached_network_path(
    source: str | Path,
    *,
    mode: str,
    polygon: object = None,
    cache_dir: str | Path | None = None,
    kind: SourceKind | None = None,
    retain_all: bool = False,
) -> Path:
    """Return where :func:`build_network` caches the network of ``source`` in ``mode``."""
    return _cache_path(source, mode=mode, polygon=load_polygon(polygon), cache_dir=cache_dir,
                       kind=kind, retain_all=retain_all)


def _cache_path(
    source: str | Path,
    *,
    mode: str,
    polygon: BaseGeometry | None,
    cache_dir: str | Path | None,
    kind: SourceKind | None = None,
    retain_all: bool = False,
) -> Path:
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(source, mode=mode, polygon=polygon, kind=kind, retain_all=retain_all)
    return folder / f"{_slug(source)}-{mode}-{key[:16]}.npz"


def _read_graphml(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # parse errors of a user's file
        raise InputFileError(
            f"无法读取 GraphML 路网（{exc}），请提供 osmnx 保存的 GraphML 文件。"
            f" Cannot read the GraphML network ({exc}); give a GraphML file saved by osmnx.",
            file=str(path),
        ) from exc
    no_xy = next((n for n, d in graph.nodes(data=True) if "x" not in d or "y" not in d), None)
    if no_xy is not None:
        raise InputFileError(
            f"GraphML 路网的节点没有坐标（节点 {no_xy} 缺少 x/y 经纬度）；请提供 osmnx 保存的"
            "带坐标的路网（ox.save_graphml），或给每个节点加上 x（经度）和 y（纬度）。"
            f" The GraphML network's nodes have no coordinates (node {no_xy} lacks x/y); give"
            " a network saved by osmnx (ox.save_graphml), or add x (longitude) and y (latitude)"
            " to every node.",
            file=str(path),
        )
    no_length = next(((u, v) for u, v, d in graph.edges(data=True) if "length" not in d), None)
    if no_length is not None:
        raise InputFileError(
            f"GraphML 路网的边没有长度（边 {no_length[0]}→{no_length[1]} 缺少 length）；请用"
            " osmnx 重新保存（ox.distance.add_edge_lengths 后 ox.save_graphml）。"
            f" The GraphML network's edges have no length (edge {no_length[0]}→{no_length[1]}"
            " lacks 'length'); re-save it with osmnx (ox.distance.add_edge_lengths, then"
            " ox.save_graphml).",
            file=str(path),
        )
    return graph


def _truncate(graph: nx.MultiDiGraph, polygon: BaseGeometry) -> nx.MultiDiGraph:
    """Return ``G`` without nodes outside ``polygon`` (osmnx's truncate semantics)."""
    import osmnx as ox

    try:
        return ox.truncate.truncate_graph_polygon(graph, polygon)
    except ValueError:
        raise NetworkError(
            "研究区域内没有路网节点，请检查多边形与路网是否重叠。"
            " No road nodes lie inside the study area; check that polygon and network overlap."
        ) from None


@contextlib.contextmanager
def _filter_tags() -> Iterator[None]:
    """Temporarily let osmnx keep the way tags the mode filters look at."""
    import osmnx as ox

    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = before + [t for t in _FILTER_TAGS if t not in before]
    try:
        yield
    finally:
        ox.settings.useful_tags_way = before




def _graph_from_xml(
    path: Path, polygon: BaseGeometry | None, *, source_name: str | None = None
) -> nx.MultiDiGraph:
    """Return the raw highway graph (unsimplified, directed as in OSM) of an OSM XML file."""
    import osmnx as ox

    try:
        with _filter_tags(), _warnings_as_log():
            graph = ox.graph_from_xml(path, bidirectional=False, simplify=False, retain_all=True)
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError(
            f"无法读取 OSM 文件（{exc}）。 Cannot read the OSM file ({exc}).",
            file=source_name or str(path),
        ) from exc
    except Exception as exc:  # osmnx raises its own errors for empty/invalid data
        raise NetworkError(
            f"OSM 文件中没有可用的道路（{exc}）。 The OSM file holds no usable roads ({exc}).",
        ) from exc
    # keep only highway ways (graph_from_xml keeps every way, e.g. buildings)
    graph.remove_edges_from(
        [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not d.get("highway")]
    )
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    if graph.number_of_edges() == 0:
        raise NetworkError(
            "OSM 文件中没有道路（highway）。 The OSM file holds no roads (no highway ways).",
        )
    if polygon is not None:
        graph = _truncate(graph, polygon)
    return graph


@contextlib.contextmanager
def _warnings_as_log() -> Iterator[None]:
    """Turn osmnx's ``UserWarning``s into log warnings while building (tests fail on warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    for item in caught:
        log.warn(str(item.message))


def build_network_from_place(
    place: str,
    *,
    mode: str,
    polygon: object = None,
    cache_dir: str | Path | None = None,
    refresh: bool = False,
    retain_all: bool = False,
) -> RoadNetwork:
    """Return the network of a place name, downloaded from OpenStreetMap by osmnx (cached).

    The place is geocoded by Nominatim and its roads fetched from Overpass (``network_type
    "all"``, unsimplified, so every mode's filter can be applied here and one-way information is
    kept); then filtered, simplified and cached like a file source. Needs internet access to
    openstreetmap.org, which is often slow or blocked from China: use an ``.osm.pbf`` extract.

    Parameters
    ----------
    place
        Place name as Nominatim knows it, e.g. ``"福田区, 深圳市, 广东省, 中国"``.
    mode, polygon, cache_dir, refresh, retain_all
        As in :func:`build_network`; a polygon further clips the place.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    NetworkError
        If the download fails or the place has no roads.
    """
    import osmnx as ox

    get_mode(mode)
    area = load_polygon(polygon)
    target = _cache_path(place, mode=mode, polygon=area, cache_dir=cache_dir, kind="place",
                         retain_all=retain_all)
    if target.exists() and not refresh:
        log.info(f"读取缓存路网 loading cached network {target}")
        return load_network(target)
    log.info(f"下载路网 downloading roads of {place!r} from OpenStreetMap")
    try:
        with _filter_tags(), _warnings_as_log():
            graph = ox.graph_from_place(
                place, network_type="all", simplify=False, retain_all=True,
                truncate_by_edge=False,
            )
    except Exception as exc:  # network failures, geocoding failures, empty responses
        raise NetworkError(
            f"无法从 OpenStreetMap 下载 {place!r} 的路网（{exc}）。在中国大陆访问常常失败，"
            "请改用下载好的 .osm.pbf 文件（--pbf）。"
            f" Could not download the roads of {place!r} from OpenStreetMap ({exc});"
            " from mainland China this often fails: use a downloaded .osm.pbf file (--pbf)."
        ) from exc
    if area is not None:
        graph = _truncate(graph, area)
    net = network_from_graph(graph, mode=mode, retain_all=retain_all, source=place)
    save_network(net, target)
    return net


PBF_NO_ROADS = "PBF 文件在研究区域内没有道路。 The PBF file has no roads inside the study area."
"""The error of an area that holds no roads of a ``.osm.pbf`` (one district or many)."""

PBF_DISK_INDEX_BYTES = 256 * 2**20
"""PBF files larger than this keep node locations in a temporary disk index, not in memory."""


def _clip_pbf(path: Path, out_xml: Path, polygon: BaseGeometry | None) -> None:
    """Write the highway ways of ``path`` that touch ``polygon`` (with their nodes) as OSM XML.

    The one-area case of :func:`clip_pbf_areas` (the same code, so a district clipped alone and
    the same district clipped in a province-wide pass get the same file).
    """
    if clip_pbf_areas(path, {"area": (polygon, out_xml)})["area"] is None:
        raise NetworkError(PBF_NO_ROADS)


#: Ways of a PBF scan: (way id, node ids, tags).
_Ways = list[tuple[int, list[int], dict[str, str]]]


def _scan_highways(
    path: Path, storage: str, near: Callable[[float, float], bool],
) -> tuple[_Ways, dict[int, tuple[float, float]], dict[int, tuple[float, float, dict[str, str]]]]:
    """Return the highway ways with a node ``near`` an area, their node locations, tagged nodes."""
    import osmium

    ways: _Ways = []
    locations: dict[int, tuple[float, float]] = {}
    node_tags: dict[int, tuple[float, float, dict[str, str]]] = {}
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations(storage)
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):  # highway nodes (signals ...) in an area's box
                loc = obj.location
                if loc.valid() and near(loc.lon, loc.lat):
                    node_tags[obj.id] = (loc.lon, loc.lat, {t.k: t.v for t in obj.tags})
                continue
            if not isinstance(obj, osmium.osm.Way):
                continue
            refs: list[int] = []
            coords: list[tuple[float, float]] = []
            is_near = False
            for node in obj.nodes:
                refs.append(node.ref)
                loc = node.location
                if loc.valid():
                    lon, lat = loc.lon, loc.lat
                    coords.append((lon, lat))
                    is_near = is_near or near(lon, lat)
                else:
                    coords.append((math.nan, math.nan))
            if is_near:
                ways.append((obj.id, refs, {t.k: t.v for t in obj.tags}))
                for ref, point in zip(refs, coords, strict=True):
                    if not math.isnan(point[0]):
                        locations[ref] = point
    except RuntimeError as exc:
        raise InputFileError(
            f"无法读取 PBF 文件（{exc}）。 Cannot read the PBF file ({exc}).", file=str(path)
        ) from exc
    return ways, locations, node_tags


def clip_pbf_areas(
    path: str | Path, areas: dict[str, tuple[BaseGeometry | None, Path]]
) -> dict[str, Path | None]:
    """Clip an ``.osm.pbf`` to many areas in one streaming pass; return each area's XML file.

    One pass with pyosmium: node locations go into osmium's C++ location index (in memory for
    small files, a temporary disk file beside the first output for large ones, so a whole
    province or country extract is never held in memory), the C++ ``KeyFilter("highway")``
    hands only highway ways (and highway-tagged nodes) to Python, and a way is a candidate if
    one of its nodes lies in the bounding box of any area. Per area, a way is kept if one of its
    nodes lies in the area (vectorised point-in-polygon). Kept ways stay whole; osmnx's
    truncation then cuts the graph at the polygon (its semantics).

    Parameters
    ----------
    path
        The ``.osm.pbf`` (or any format osmium reads) file.
    areas
        ``{name: (polygon in EPSG:4326 or None for everything, output XML path)}``.

    Returns
    -------
    dict
        ``{name: output path}``, or ``None`` for an area that holds no roads.

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    path = Path(path)
    boxes = {
        name: ((-180.0, -90.0, 180.0, 90.0) if poly is None else poly.bounds)
        for name, (poly, _) in areas.items()
    }
    box_arr = np.array(list(boxes.values()), dtype=np.float64).reshape(-1, 4)
    first_out = next(iter(areas.values()))[1]
    storage = (f"sparse_file_array,{first_out.parent / 'locations.idx'}"
               if path.stat().st_size > PBF_DISK_INDEX_BYTES else "flex_mem")
    w0, s0 = box_arr[:, 0].min(), box_arr[:, 1].min()
    e0, n0 = box_arr[:, 2].max(), box_arr[:, 3].max()
    single = len(box_arr) == 1

    def near(lon: float, lat: float) -> bool:
        if not (w0 <= lon <= e0 and s0 <= lat <= n0):
            return False
        if single:
            return True
        return bool(((box_arr[:, 0] <= lon) & (lon <= box_arr[:, 2])
                     & (box_arr[:, 1] <= lat) & (lat <= box_arr[:, 3])).any())

    ways, locations, node_tags = _scan_highways(path, storage, near)
    ids = np.fromiter(locations.keys(), dtype=np.int64, count=len(locations))
    xy = np.array(list(locations.values()), dtype=np.float64).reshape(-1, 2)
    written: dict[str, Path | None] = {}
    for name, (polygon, out_xml) in areas.items():
        west, south, east, north = boxes[name]
        in_box = ((west <= xy[:, 0]) & (xy[:, 0] <= east)
                  & (south <= xy[:, 1]) & (xy[:, 1] <= north))
        if polygon is not None:
            inside = in_box.copy()
            inside[in_box] = shapely.intersects_xy(polygon, xy[in_box, 0], xy[in_box, 1])
        else:
            inside = in_box
        inside_ids = set(ids[inside].tolist())
        kept = [w for w in ways if any(r in inside_ids for r in w[1])]
        if not kept:
            written[name] = None
            continue
        tags = {nid: t for nid, (lon, lat, t) in node_tags.items()
                if west <= lon <= east and south <= lat <= north}
        needed = {r for _, refs, _ in kept for r in refs}
        log.info(f"PBF 裁剪 clipped {len(kept):,} ways, {len(needed):,} nodes from {path.name}"
                 + ("" if single else f" ({name})"))
        _write_osm_xml(out_xml, locations, tags, kept, needed)
        written[name] = out_xml
    return written


def _write_osm_xml(
    out: Path,
    locations: dict[int, tuple[float, float]],
    node_tags: dict[int, dict[str, str]],
    ways: list[tuple[int, list[int], dict[str, str]]],
    needed: set[int],
) -> None:
    """Write nodes and ways as a minimal OSM XML file that ``osmnx.graph_from_xml`` reads."""
    from xml.sax.saxutils import quoteattr

    with open(out, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="yizhan">\n')
        for nid in sorted(needed):
            if nid not in locations:
                continue
            lon, lat = locations[nid]
            tags = node_tags.get(nid)
            if tags:
                fh.write(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}">')
                for k, v in tags.items():
                    fh.write(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>")
                fh.write("</node>\n")
            else:
                fh.write(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for wid, refs, tags in sorted(ways, key=lambda w: w[0]):
            present = _longest_run(refs, locations)
            if len(present) < 2:
                continue
            fh.write(f'<way id="{wid}">')
            for r in present:
                fh.write(f'<nd ref="{r}"/>')
            for k, v in tags.items():
                fh.write(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>")
            fh.write("</way>\n")
        fh.write("</osm>\n")


def _longest_run(refs: list[int], locations: dict[int, tuple[float, float]]) -> list[int]:
    """Return the longest run of consecutive refs whose locations are known.

    An extract may cut a way; joining across the missing nodes would invent a straight road.
    """
    best: list[int] = []
    run: list[int] = []
    for ref in refs:
        if ref in locations:
            run.append(ref)
            continue
        if len(run) > len(best):
            best = run
        run = []
    return run if len(run) > len(best) else best


