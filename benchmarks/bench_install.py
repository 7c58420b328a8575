"""Benchmark: what a user gets from a plain ``pip install .`` -- start-up time and a working demo.

Run by hand: ``.venv/bin/python benchmarks/bench_install.py [--fresh]``.

Targets (issue 13): ``yizhan --help`` and ``yizhan --version`` answer in well under a second;
``pip install .`` with no extras and no Node gives a working tool whose wheel adds only
``yizhan`` to site-packages, and whose demo map renders offline in headless Chromium.

Without ``--fresh`` only the start-up times of this checkout's ``yizhan`` are measured (the
median of 7 runs each, beside the import of the full pipeline for comparison). With
``--fresh`` the script also builds the wheel, lists its top-level names, installs it into a new
virtual environment (no extras), runs ``yizhan demo`` there and opens the map in headless
Chromium, counting Leaflet's markers and layers (a few minutes: the dependencies install).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_seconds(cmd: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # from a neutral folder: in the checkout, `python -c` would import its yizhan/ folder
        subprocess.run(cmd, check=True, capture_output=True, cwd=tempfile.gettempdir())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(yizhan: Path, python: Path) -> None:
    """Print the median start-up times of --help, --version and a full pipeline import."""
    print(f"yizhan --help       {_median_seconds([str(yizhan), '--help']):.2f} s   (target < 1 s)")
    print(f"yizhan --version    {_median_seconds([str(yizhan), '--version']):.2f} s   (target < 1 s)")
    full = [str(python), "-c", "import yizhan.pipeline.analysis"]
    print(f"import the pipeline {_median_seconds(full, runs=3):.2f} s   (for comparison)")


def fresh_install() -> None:
    """Build the wheel, install it with no extras in a new venv, run the demo, render its map."""
    with tempfile.TemporaryDirectory(prefix="yizhan-install-") as tmp:
        work = Path(tmp)
        # build from the committed tree (git archive), as a user's clone would: no stale build/
        src = work / "src"
        src.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(work / "dist"), str(src)], check=True, stderr=subprocess.DEVNULL)
        wheel = next((work / "dist").glob("yizhan-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            top = sorted({n.split("/")[0] for n in zf.namelist() if not n.startswith("yizhan-")})
        print(f"wheel top-level names: {top}   (target ['yizhan'])")
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
        start = time.perf_counter()
        subprocess.run([str(bin_dir / "pip"), "install", "-q", str(wheel)], check=True,
                       stderr=subprocess.DEVNULL)
        print(f"pip install (no extras, no Node): {time.perf_counter() - start:.0f} s")
        startup(bin_dir / "yizhan", bin_dir / "python")
        start = time.perf_counter()
        subprocess.run([str(bin_dir / "yizhan"), "-q", "demo", "--out", str(work / "demo")],
                       check=True, capture_output=True)
        print(f"yizhan demo: {time.perf_counter() - start:.1f} s (first run compiles numba loops)")
        sys.path.insert(0, str(ROOT / "tests"))
        from browser import launch, open_page  # headless Chromium, no network

        with launch() as browser, open_page(browser, work / "demo" / "map.html") as (page, _):
            markers = page.locator(".leaflet-marker-icon, .leaflet-interactive").count()
            layers = page.locator(".leaflet-control-layers-selector").count()
        print(f"demo map offline in Chromium: {markers} markers/shapes, {layers} layer switches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="also test a fresh pip install")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    startup(bin_dir / "yizhan", Path(sys.executable))
    if args.fresh:
        fresh_install()


if __name__ == "__main__":
    main()
