"""yizhan.maps.assets: the pinned npm assets, inline / mirror / CDN tags, integrity checks."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from yizhan.maps import assets

from yizhan.errors import ConfigError
from yizhan.settings import MAP_ASSETS_ENV
from yizhan.shared import PROJECT_ROOT

VENDOR = Path(str(resources.files("yizhan.maps") / "assets" / "vendor"))


@pytest.fixture(scope="module")
def installed() -> list[str]:
    # The files ship inside the package: no skip, a missing file is a failure.
    return assets.check_installed()


def test_manifest_matches_package_json_and_lock() -> None:
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    packages = assets.manifest().packages()
    assert pinned["dependencies"] == packages
    for name, version in packages.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_installed_files_match_the_manifest_digests(installed: list[str]) -> None:
    assert installed == ["leaflet@1.9.4", "leaflet.markercluster@1.5.3", "leaflet.heat@0.2.0"]
    for asset in assets.manifest().files:
        data = (VENDOR / asset.package / asset.path).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert asset.sri == f"sha384-{digest}"


def test_inline_tags_are_self_contained(installed: list[str]) -> None:
    html = assets.asset_tags("inline")
    assert "<link" not in html
    assert "<script src" not in html
    assert "sourceMappingURL" not in html
    # Leaflet's own images are data: URIs now, not relative files that would 404
    assert "url(images/" not in html
    assert html.count("data:image/png;base64,") >= 3
    # every library and our runtime are in, each in its own element
    for label in ("leaflet@1.9.4/dist/leaflet.js", "leaflet.markercluster@1.5.3",
                  "leaflet.heat@0.2.0/dist/leaflet-heat.js", "leaflet@1.9.4/dist/leaflet.css"):
        assert f'data-asset="{label}' in html
    assert "window.YIZHAN" in html
    # no inlined file closes its element early
    assert html.count("<script") == html.count("</script>")
    assert html.count("<style") == html.count("</style>")


def test_tampered_asset_is_refused(installed: list[str], tmp_path: Path, monkeypatch) -> None:
    vendor = tmp_path / "vendor"
    shutil.copytree(VENDOR / "leaflet", vendor / "leaflet")
    js = vendor / "leaflet" / "dist" / "leaflet.js"
    js.write_text(js.read_text(encoding="utf-8") + "\nalert('tampered');\n", encoding="utf-8")
    monkeypatch.setenv(MAP_ASSETS_ENV, str(vendor))
    with pytest.raises(ConfigError, match="reinstall") as err:
        assets.asset_tags("inline")
    assert "与清单不符" in str(err.value)
    assert "does not match the manifest" in str(err.value)


def test_missing_assets_say_reinstall(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(MAP_ASSETS_ENV, raising=False)
    monkeypatch.setattr(assets, "vendor_dirs", lambda: [tmp_path])
    assets._read_asset.cache_clear()
    with pytest.raises(ConfigError) as err:
        assets.asset_tags("inline")
    message = str(err.value)
    assert "未找到" in message and "is missing" in message
    assert "reinstall" in message and "assets='mirror'" in message


def test_every_shipped_package_carries_its_licence() -> None:
    for name in assets.manifest().packages():
        licences = [p for p in (VENDOR / name).iterdir() if "LICEN" in p.name.upper()]
        assert licences, name
        assert "Copyright" in licences[0].read_text(encoding="utf-8")


def test_assets_env_folder_is_used(installed: list[str], tmp_path: Path, monkeypatch) -> None:
    vendor = tmp_path / "elsewhere"
    shutil.copytree(VENDOR, vendor)
    monkeypatch.setenv(MAP_ASSETS_ENV, str(vendor))
    assert assets.vendor_dirs()[0] == vendor
    assert "leaflet@1.9.4" in assets.asset_tags("inline")


def _srcs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_mirror_mode_uses_npmmirror_by_default() -> None:
    html = assets.asset_tags("mirror")
    urls = _srcs(html)
    assert urls == [
        "https://registry.npmmirror.com/leaflet/1.9.4/files/dist/leaflet.css",
        "https://registry.npmmirror.com/leaflet/1.9.4/files/dist/leaflet.js",
        "https://registry.npmmirror.com/leaflet.markercluster/1.5.3/files/dist/MarkerCluster.css",
        "https://registry.npmmirror.com/leaflet.markercluster/1.5.3/files/dist/"
        "MarkerCluster.Default.css",
        "https://registry.npmmirror.com/leaflet.markercluster/1.5.3/files/dist/"
        "leaflet.markercluster.js",
        "https://registry.npmmirror.com/leaflet.heat/0.2.0/files/dist/leaflet-heat.js",
    ]
    assert "integrity=" not in html
    assert "window.YIZHAN" in html  # our runtime is always inline


def test_named_and_custom_mirrors() -> None:
    boot = _srcs(assets.asset_tags("mirror", mirror="bootcdn"))
    assert boot[1] == "https://cdn.bootcdn.net/ajax/libs/leaflet/1.9.4/leaflet.js"
    assert boot[-1] == "https://cdn.bootcdn.net/ajax/libs/leaflet.heat/0.2.0/leaflet-heat.js"
    custom = _srcs(assets.asset_tags("mirror", mirror="https://intranet.example/npm/{package}@"
                                     "{version}/{path}"))
    assert custom[1] == "https://intranet.example/npm/leaflet@1.9.4/dist/leaflet.js"


def test_unknown_mirror_and_mode_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="未知的镜像"):
        assets.asset_tags("mirror", mirror="nowhere")
    with pytest.raises(ConfigError, match="inline"):
        assets.asset_tags("offline")  # type: ignore[arg-type]


def test_cdn_mode_has_subresource_integrity() -> None:
    html = assets.asset_tags("cdn")
    tags = re.findall(r"<(?:script|link)[^>]+(?:src|href)=[^>]+>", html)
    assert len(tags) == 6
    for tag, asset in zip(tags, [a for a in assets.manifest().files if a.kind != "image"],
                          strict=True):
        assert "https://cdn.jsdelivr.net/npm/" in tag
        assert f'integrity="{asset.sri}"' in tag
        assert 'crossorigin="anonymous"' in tag
