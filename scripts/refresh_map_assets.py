"""Refresh the map's Leaflet files shipped in ``maps/assets/vendor`` from npm (maintainers only).

Users never need this or Node: the files ship inside the Python package. After changing a
version in ``package.json`` and ``maps/assets/manifest.toml``::

    npm install --package-lock-only      # update package-lock.json
    python scripts/refresh_map_assets.py # npm ci into a temporary folder, check, copy

The script installs the exact versions of ``package-lock.json`` with ``npm ci`` into a
temporary folder, checks every file against the SHA-384 digests of the manifest (printing the
digests it found when they differ, to paste into the manifest), and copies the files listed in
the manifest plus each package's licence file into ``maps/assets/vendor/<package>/``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "maps" / "assets" / "vendor"
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "MIT-LICENCE.txt")


def main(argv: list[str] | None = None) -> int:
    """Install, check and copy the assets; return the exit code (1 if a digest differs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="an existing node_modules folder instead of running npm ci")
    args = parser.parse_args(argv)
    from yizhan.maps.assets import manifest, sri_of

    with tempfile.TemporaryDirectory(prefix="yizhan-assets-") as scratch:
        if args.source is None:
            work = Path(scratch)
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(ROOT / name, work / name)
            npm = shutil.which("npm")
            if npm is None:
                print("npm not found; install Node.js, or pass --from node_modules", file=sys.stderr)
                return 2
            subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],  # noqa: S603
                           cwd=work, check=True)
            modules = work / "node_modules"
        else:
            modules = args.source
        bad = 0
        files = manifest().files
        for asset in files:
            data = (modules / asset.package / asset.path).read_bytes()
            if sri_of(data) != asset.sri:
                print(f"{asset.package}/{asset.path}: manifest {asset.sri}, npm {sri_of(data)}",
                      file=sys.stderr)
                bad += 1
        if bad:
            print("digests differ: update maps/assets/manifest.toml, then run again",
                  file=sys.stderr)
            return 1
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        for asset in files:
            dest = VENDOR / asset.package / asset.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(modules / asset.package / asset.path, dest)
        for package in {a.package for a in files}:
            for name in LICENCE_NAMES:
                if (modules / package / name).is_file():
                    shutil.copyfile(modules / package / name, VENDOR / package / name)
                    break
            else:
                print(f"{package}: no licence file found", file=sys.stderr)
                return 1
    print(f"copied {len(files)} files into {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
