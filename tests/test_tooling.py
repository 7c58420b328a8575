"""The project's own standards, checked by the test run: ruff and mypy clean, packages importable."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed; install the dev extras: pip install -e '.[dev]'")
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean(tmp_path):
    """mypy over the installed package layout (yizhan.geo is geo/ ...) finds no error."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.fail("mypy is not installed; install the dev extras: pip install -e '.[dev]'")
    # mypy cannot follow setuptools' package-dir mapping: lay the package out as installed
    package = tmp_path / "tree" / "yizhan"
    package.mkdir(parents=True)
    for entry in (ROOT / "yizhan").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in ("geo", "stations", "maps", "scripts"):
        (package / folder).symlink_to(ROOT / folder)
    result = subprocess.run(
        [mypy, "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir",
         str(tmp_path / "cache"), "-p", "yizhan"],
        capture_output=True, text=True, check=False, cwd=package.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_help_is_bilingual():
    from yizhan.scripts.cli import build_parser

    text = build_parser().format_help()
    assert "驿站" in text and "stations" in text


FOLDERS = {"yizhan": "yizhan", "geo": "yizhan.geo", "stations": "yizhan.stations",
           "maps": "yizhan.maps", "scripts": "yizhan.scripts"}


def test_every_package_folder_installs_under_yizhan():
    """pyproject lists every folder with an __init__.py as a subpackage of yizhan, and no other."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    expected = set()
    for folder, name in FOLDERS.items():
        assert conf["package-dir"][name] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            expected.add(".".join((name, *init.parent.relative_to(ROOT / folder).parts)))
    assert set(conf["packages"]) == expected
    assert all(p == "yizhan" or p.startswith("yizhan.") for p in conf["packages"])


def test_no_top_level_geo_stations_maps_or_scripts_modules():
    """Importing every module of yizhan never imports the folders under their bare names."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import yizhan\n"
        "for pkg in ('yizhan.geo', 'yizhan.stations', 'yizhan.maps', 'yizhan.scripts', 'yizhan.pipeline'):\n"
        "    mod = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(mod.__path__, pkg + '.'):\n"
        "        if not info.name.endswith(('make_samples', 'make_demo_data', 'refresh_map_assets')):\n"
        "            importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('geo', 'stations', 'maps', 'scripts'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, cwd=ROOT.parent)
    assert result.returncode == 0, result.stdout + result.stderr
