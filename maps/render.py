"""Screenshots of saved maps with headless Chromium (for reports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from yizhan import settings
from yizhan.errors import ConfigError
from yizhan.io import atomic_path
from yizhan.settings import CHROMIUM_ENV

"""Environment variable naming the Chromium/Chrome executable to use."""
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str:
    """Return the path of a Chromium executable (``$YIZHAN_CHROMIUM`` first).

    Raises
    ------
    ConfigError
        If none is installed.
    """
    env = settings.chromium()
    if env:
        if Path(env).is_file() or shutil.which(env):
            return shutil.which(env) or env
        raise ConfigError(
            f"{CHROMIUM_ENV}={env!r} 不是可执行文件。 {CHROMIUM_ENV}={env!r} is not an executable."
        )
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "找不到 Chromium 浏览器，无法生成地图截图：请安装（Debian/Ubuntu：apt-get install chromium）"
        f"或用 {CHROMIUM_ENV} 指定。 Chromium not found, so the map cannot be screenshotted:"
        f" install it (Debian/Ubuntu: apt-get install chromium) or set {CHROMIUM_ENV}."
    )


def chromium_flags() -> list[str]:
    """Return the headless flags, with ``--no-sandbox`` when running as root (containers, CI)."""
    flags = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")
    return flags


def render_png(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 800,
    wait_ms: int = 4000,
    timeout_s: float = 120.0,
) -> Path:
    """Return ``png_path`` after writing a screenshot of a saved map taken in headless Chromium.

    Parameters
    ----------
    html_path
        A map saved by :func:`maps.save_map`.
    png_path
        Target PNG (written atomically).
    width, height
        Viewport size in CSS pixels.
    wait_ms
        Virtual time the page gets to draw (tiles that do not arrive by then stay grey).
    timeout_s
        Hard limit for the browser process.

    Raises
    ------
    ConfigError
        If Chromium is not installed.
    RuntimeError
        If Chromium fails or writes no image.
    """
    html = Path(html_path).resolve()
    if not html.is_file():
        raise FileNotFoundError(html)
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="yizhan-chromium-") as profile, \
            atomic_path(png_path, suffix=".png") as tmp:
        cmd = [
            exe, *chromium_flags(), f"--user-data-dir={profile}",
            f"--window-size={int(width)},{int(height)}", f"--virtual-time-budget={int(wait_ms)}",
            f"--screenshot={tmp}", html.as_uri(),
        ]
        try:
            proc = subprocess.run(  # noqa: S603 - fixed executable, our own arguments
                cmd, capture_output=True, text=True, timeout=timeout_s, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"Chromium did not finish within {timeout_s:.0f} s") from exc
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}): {tail}")
    return Path(png_path)
