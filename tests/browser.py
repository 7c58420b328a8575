"""Headless Chromium for tests: playwright driving Debian's ``/usr/bin/chromium``, offline.

Reusable by any test that opens a page the project wrote (maps, reports)::

    from browser import launch, open_page   # tests/ is on sys.path under pytest

    with launch() as browser, open_page(browser, html_path) as (page, log):
        assert log.console_errors == []

Every request that is not a ``file:`` URL is intercepted: map tiles get a blank 1x1 PNG (and are
counted in ``log.tiles``), anything else is aborted and listed in ``log.external`` -- so a page
that still needs the network for its scripts or styles shows up there, even on a machine that
has one. ``alert``/``confirm``/``prompt`` dialogs are recorded in ``log.dialogs`` and dismissed.

playwright never downloads a browser here: it launches the system Chromium
(``$YIZHAN_CHROMIUM`` or ``/usr/bin/chromium``). Without playwright or Chromium the calling test
is skipped, and fails under ``CI=true``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE_HOSTS = ("tile.openstreetmap.org", "autonavi.com")
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests need {reason} under CI=true")
    pytest.skip(f"browser tests need {reason}")


def chromium_path() -> str:
    """Return the Chromium executable, skipping (or failing under CI) when there is none."""
    exe = os.environ.get("YIZHAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).is_file():
        _unavailable("Chromium (apt-get install chromium)")
    return exe


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """Yield a headless playwright ``Browser`` running the system Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (pip install playwright)")
    exe = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What happened while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)


@contextlib.contextmanager
def open_page(
    browser: Any,
    html_path: str | os.PathLike[str],
    *,
    width: int = 1280,
    height: int = 800,
    ready: str | None = "window.YIZHAN && window.YIZHAN.map",
    timeout_ms: float = 30_000,
) -> Iterator[tuple[Any, PageLog]]:
    """Open a local HTML file offline; yield ``(page, log)``.

    ``ready`` is a JavaScript expression awaited after the load event (``None`` to skip).
    """
    log = PageLog()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()

    def _on_console(msg: Any) -> None:
        if msg.type == "error":
            log.console_errors.append(msg.text)
        elif msg.type == "warning":
            log.console_warnings.append(msg.text)

    def _on_dialog(dialog: Any) -> None:
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        elif any(host in url for host in TILE_HOSTS):
            log.tiles.append(url)
            route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)
        else:
            log.external.append(url)
            route.abort()

    page.on("console", _on_console)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("dialog", _on_dialog)
    page.route("**/*", _route)
    try:
        page.goto(Path(html_path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
        if ready:
            page.wait_for_function(ready, timeout=timeout_ms)
        yield page, log
    finally:
        context.close()


def image_stats(page: Any, png: bytes) -> dict[str, float]:
    """Return ``{"width", "height", "colors", "dominant_share"}`` of a PNG, measured in the page.

    ``colors`` counts distinct colours (on a 4-bit-per-channel grid) and ``dominant_share`` is
    the share of pixels in the commonest one: a blank or single-colour screenshot has few colours
    and a dominant share near 1.
    """
    data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return page.evaluate(
        """async (url) => {
            const img = new Image();
            img.src = url;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.width; canvas.height = img.height;
            const ctx = canvas.getContext('2d', {willReadFrequently: true});
            ctx.drawImage(img, 0, 0);
            const px = ctx.getImageData(0, 0, img.width, img.height).data;
            const counts = new Map();
            for (let i = 0; i < px.length; i += 4) {
                const key = (px[i] >> 4) << 8 | (px[i + 1] >> 4) << 4 | (px[i + 2] >> 4);
                counts.set(key, (counts.get(key) || 0) + 1);
            }
            const top = Math.max(...counts.values());
            return {width: img.width, height: img.height, colors: counts.size,
                    dominant_share: top / (img.width * img.height)};
        }""",
        data_url,
    )
