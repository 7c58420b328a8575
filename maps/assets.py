"""Front-end assets of the map (Leaflet and two plugins): inlined, from a domestic mirror, or a CDN.

folium's defaults pull Leaflet, jQuery, Bootstrap and fonts from foreign CDNs, which are slow or
blocked in mainland China; with no network the page stays white. yizhan maps need only three
packages (Leaflet, Leaflet.markercluster, Leaflet.heat, listed with versions and SHA-384 digests
in ``maps/assets/manifest.toml``) plus their own small runtime (``maps/assets/yizhan-map.js`` and
``.css``, always inlined). Three modes:

``"inline"`` (default for published maps)
    Every file is read from the copies of the pinned versions shipped inside the package
    (``maps/assets/vendor``, with the packages' licence files; ``$YIZHAN_MAP_ASSETS`` may name a
    folder laid out like ``node_modules/`` instead) and written into the page; images in
    Leaflet's CSS become ``data:`` URIs. The HTML file works
    with no network at all (only map tiles need one). A file whose digest differs from the
    manifest is refused.
``"mirror"``
    ``<script src>``/``<link href>`` tags pointing to a domestic mirror: ``npmmirror`` (default),
    ``bootcdn`` or ``staticfile``, or any URL template with ``{package}``, ``{version}``,
    ``{path}`` (file inside the npm package) and ``{file}`` (file name alone).
``"cdn"``
    The same tags pointing to jsDelivr, with ``integrity`` attributes (subresource integrity).
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path
from typing import Literal

from yizhan import settings
from yizhan.errors import ConfigError

AssetMode = Literal["inline", "mirror", "cdn"]
ASSET_MODES: tuple[AssetMode, ...] = ("inline", "mirror", "cdn")
DEFAULT_MIRROR = "npmmirror"
CDN_MIRROR = "jsdelivr"

_RUNTIME_FILES = ("yizhan-map.css", "yizhan-map.js")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(images/[A-Za-z0-9_.-]+\.png)\1\s*\)")
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


@dataclass(frozen=True)
class AssetFile:
    """One file of a front-end package, as listed in the manifest.

    Attributes
    ----------
    package, version
        npm package name and exact version.
    path
        Path of the file inside the package, e.g. ``dist/leaflet.js``.
    kind
        ``"js"``, ``"css"`` or ``"image"`` (images are only referenced from CSS).
    sri
        Subresource-integrity digest, ``sha384-<base64>``.
    """

    package: str
    version: str
    path: str
    kind: str
    sri: str

    @property
    def file(self) -> str:
        """Return the file name without folders."""
        return self.path.rsplit("/", 1)[-1]

    def url(self, template: str) -> str:
        """Return the file's URL under a mirror template."""
        return template.format(
            package=self.package, version=self.version, path=self.path, file=self.file
        )


@dataclass(frozen=True)
class Manifest:
    """The parsed asset manifest: files in load order and named mirror URL templates."""

    files: tuple[AssetFile, ...]
    mirrors: dict[str, str]

    def packages(self) -> dict[str, str]:
        """Return ``{package: version}`` in manifest order."""
        return {f.package: f.version for f in self.files}


@cache
def manifest() -> Manifest:
    """Return the asset manifest shipped in ``maps/assets/manifest.toml``."""
    text = (resources.files("yizhan.maps") / "assets" / "manifest.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    files = tuple(
        AssetFile(pkg["name"], pkg["version"], f["path"], f["kind"], f["sri"])
        for pkg in data["package"]
        for f in pkg["file"]
    )
    return Manifest(files=files, mirrors=dict(data["mirrors"]))


def sri_of(data: bytes) -> str:
    """Return the SHA-384 subresource-integrity string of ``data``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def vendor_dirs() -> list[Path]:
    """Return the folders searched for the asset files, in order.

    ``$YIZHAN_MAP_ASSETS`` if set (a folder laid out like ``node_modules/``), then the copies
    shipped inside the package (``maps/assets/vendor``, refreshed by maintainers with
    ``scripts/refresh_map_assets.py``), so a plain ``pip install`` needs no Node.
    """
    dirs = []
    env = settings.map_assets_dir()
    if env is not None:
        dirs.append(env)
    dirs.append(Path(str(resources.files("yizhan.maps") / "assets" / "vendor")))
    return dirs


def _missing_message(asset: AssetFile, searched: list[Path], reason: str) -> str:
    where = ", ".join(str(d) for d in searched)
    return (
        f"离线地图资源 {asset.package} {asset.version} 的文件 {asset.path} {reason}。"
        "yizhan 安装不完整，请重新安装（pip install --force-reinstall yizhan），或改用 assets='mirror'（国内镜像）。"
        f" Map asset {asset.package} {asset.version} file {asset.path} {_REASON_EN[reason]}"
        f" (searched: {where}). The yizhan installation is incomplete: reinstall it (pip install"
        " --force-reinstall yizhan), or use assets='mirror' (domestic mirror)."
    )


_REASON_EN = {"未找到": "is missing", "与清单不符（版本不对或文件已改动）": "does not match the manifest"}


@cache
def _read_asset(asset: AssetFile, searched: tuple[Path, ...]) -> bytes:
    """Return the bytes of an installed asset file, checked against the manifest digest."""
    for base in searched:
        candidate = base / asset.package / asset.path
        if candidate.is_file():
            data = candidate.read_bytes()
            if sri_of(data) != asset.sri:
                raise ConfigError(
                    _missing_message(asset, list(searched), "与清单不符（版本不对或文件已改动）")
                )
            return data
    raise ConfigError(_missing_message(asset, list(searched), "未找到"))


def check_installed() -> list[str]:
    """Return ``package@version`` of every installed asset package, after checking every file.

    Raises
    ------
    ConfigError
        If a file is missing or differs from the manifest (an incomplete installation).
    """
    searched = tuple(vendor_dirs())
    for asset in manifest().files:
        _read_asset(asset, searched)
    return [f"{name}@{version}" for name, version in manifest().packages().items()]


def runtime_text(name: str) -> str:
    """Return the text of one of yizhan's own runtime files (``yizhan-map.js``/``.css``)."""
    if name not in _RUNTIME_FILES:
        raise ValueError(f"unknown runtime file {name!r}")
    return (resources.files("yizhan.maps") / "assets" / name).read_text(encoding="utf-8")


def _safe_inline(text: str, tag: str) -> str:
    """Return ``text`` safe to place inside ``<tag>…</tag>`` (no early closing tag)."""
    return re.sub(rf"</(?={tag})", r"<\\/", text, flags=re.IGNORECASE)


def _inline_css(asset: AssetFile, text: str, images: dict[str, bytes]) -> str:
    """Return CSS with ``url(images/x.png)`` replaced by ``data:`` URIs of the installed images."""

    def _data_uri(match: re.Match[str]) -> str:
        rel = match.group(2)
        key = f"{asset.package}/{asset.path.rsplit('/', 1)[0]}/{rel}"
        data = images.get(key)
        if data is None:  # an image the manifest does not list: leave the reference, harmless
            return match.group(0)
        return f'url("data:image/png;base64,{base64.b64encode(data).decode("ascii")}")'

    return _CSS_URL.sub(_data_uri, text)


def _resolve_template(mode: AssetMode, mirror: str | None) -> str:
    """Return the URL template for ``mirror``/``cdn`` mode."""
    mirrors = manifest().mirrors
    name = CDN_MIRROR if mode == "cdn" else (mirror or DEFAULT_MIRROR)
    if name in mirrors:
        return mirrors[name]
    if "{path}" in name or "{file}" in name:
        return name
    known = ", ".join(sorted(mirrors))
    raise ConfigError(
        f"未知的镜像 {name!r}：请用 {known} 之一，或含 {{package}}、{{version}}、{{path}} 的网址模板。"
        f" Unknown mirror {name!r}: use one of {known}, or a URL template with {{package}},"
        " {version} and {path} (or {file})."
    )


def asset_tags(mode: AssetMode = "inline", *, mirror: str | None = None) -> str:
    """Return the ``<head>`` HTML that loads every asset and yizhan's runtime, in load order.

    Parameters
    ----------
    mode
        ``"inline"`` (self-contained page), ``"mirror"`` (domestic mirror) or ``"cdn"``.
    mirror
        For ``"mirror"`` mode: a mirror name from the manifest (``npmmirror``, ``bootcdn``,
        ``staticfile``, ...) or a URL template; ignored otherwise.

    Returns
    -------
    str
        ``<style>``/``<script>`` elements (inline) or ``<link>``/``<script src>`` tags.

    Raises
    ------
    ConfigError
        For an unknown mode or mirror, or (inline mode) missing or altered asset files.
    """
    if mode not in ASSET_MODES:
        raise ConfigError(
            f"未知的资源模式 {mode!r}：请用 inline（自包含）、mirror（国内镜像）或 cdn。"
            f" Unknown asset mode {mode!r}: use inline (self-contained), mirror (domestic"
            " mirror) or cdn."
        )
    files = manifest().files
    parts: list[str] = []
    if mode == "inline":
        searched = tuple(vendor_dirs())
        images = {
            f"{a.package}/{a.path}": _read_asset(a, searched) for a in files if a.kind == "image"
        }
        for asset in files:
            if asset.kind == "image":
                continue
            text = _read_asset(asset, searched).decode("utf-8")
            text = _SOURCE_MAP.sub("", text)
            label = f"{asset.package}@{asset.version}/{asset.path}"
            if asset.kind == "css":
                css = _safe_inline(_inline_css(asset, text, images), "style")
                parts.append(f"<style data-asset={_attr(label)}>{css}</style>")
            else:
                parts.append(f"<script data-asset={_attr(label)}>{_safe_inline(text, 'script')}"
                             "</script>")
    else:
        template = _resolve_template(mode, mirror)
        sri = mode == "cdn"  # mirrors may not send CORS headers, which SRI needs
        for asset in files:
            if asset.kind == "image":
                continue
            url = _attr(asset.url(template))
            extra = f' integrity="{asset.sri}" crossorigin="anonymous"' if sri else ""
            if asset.kind == "css":
                parts.append(f'<link rel="stylesheet" href={url}{extra}>')
            else:
                parts.append(f"<script src={url}{extra}></script>")
    parts.append(f"<style>{_safe_inline(runtime_text('yizhan-map.css'), 'style')}</style>")
    parts.append(f"<script>{_safe_inline(runtime_text('yizhan-map.js'), 'script')}</script>")
    return "\n".join(parts)


def _attr(value: str) -> str:
    """Return ``value`` as a quoted, escaped HTML attribute value."""
    return f'"{escape(value, quote=True)}"'
