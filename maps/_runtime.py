"""The page behind every yizhan map: assets, the JS runtime, overlays, legend, title and view.

Design (see ``maps/assets/yizhan-map.js``): each overlay is one folium ``Layer`` whose script hands
a compact JSON payload to the runtime (``YIZHAN.overlay``). Payloads carry coordinates in WGS-84
and in GCJ-02; the runtime shows the variant that matches the base map and swaps on
``baselayerchange``. Every user string travels as JSON (with ``<``, ``>`` and ``&`` escaped, so no
``</script>`` can end the block) and reaches the page through ``textContent`` only. The few strings
Leaflet itself puts through ``innerHTML`` (layer names in the layer control) are HTML-escaped
here. Element ids are sequential, so the same inputs give a byte-identical HTML file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.map import Layer, LayerControl
from folium.template import Template
from folium.utilities import JsCode
from yizhan.maps.assets import ASSET_MODES, AssetMode, asset_tags

from yizhan.errors import ConfigError

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}
_JS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")
DEFAULT_VIEW = ((35.0, 105.0), 4)  # all of China, when the map has no data


def js_json(obj: Any) -> str:
    r"""Return ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and the JavaScript line separators are written as ``\\u`` escapes,
    so no string (say ``</script><img onerror=...>``) can close the script block early.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JS_ESCAPE_RE.sub(lambda m: _JS_ESCAPES[m.group(0)], text)


def check_color(color: str) -> str:
    """Return ``color`` if it is a ``#rrggbb`` colour, else raise ``ValueError``."""
    if not _HEX_COLOR.match(color):
        raise ValueError(f"colour must be #rrggbb, got {color!r}")
    return color


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a swatch and its (plain-text) label.

    ``shape`` is ``dot``, ``fill``, ``line``, ``heat`` or ``rank``; ``text`` is drawn inside the
    swatch (``rank`` badges).
    """

    label: str
    shape: str
    color: str | None = None
    border: str | None = None
    text: str | None = None

    def spec(self) -> dict[str, str]:
        """Return the JSON spec of this row for the runtime."""
        out = {"label": self.label, "shape": self.shape}
        if self.color:
            out["color"] = check_color(self.color)
        if self.border:
            out["border"] = check_color(self.border)
        if self.text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class LegendSection:
    """A titled group of legend rows, with an optional note under it."""

    title: str
    items: tuple[LegendItem, ...]
    note: str | None = None


@dataclass
class MapState:
    """What the add_* functions record on a map: legend sections, data extent, id counter."""

    title: str
    subtitle: str | None
    notice: str | None
    assets: AssetMode
    mirror: str | None
    datum: str
    legend: list[LegendSection] = field(default_factory=list)
    bounds: list[tuple[float, float, float, float]] = field(default_factory=list)
    counter: int = 0

    def next_id(self) -> str:
        """Return the next sequential element id."""
        self.counter += 1
        return f"{self.counter:03d}"


class _Page(Figure):
    """The HTML page: our asset tags first in ``<head>``, ``lang="zh-CN"``, script in ``<body>``."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        "<title>{{ this.page_title }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "{{ this.html.render(**kwargs) }}\n"
        "<script>\n"
        "{{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</body>\n"
        "</html>\n"
    )

    def __init__(self, *, title: str, assets_html: str, assets: AssetMode) -> None:
        super().__init__()
        self._name = "Page"
        self._id = "page"
        self.page_title = escape(title)
        self.assets = assets
        self.assets_element = Element(assets_html)

    def render(self, **kwargs: Any) -> str:
        """Return the HTML of the whole page (finalising the map's controls first)."""
        # Start from empty sections on every render: folium elements add their scripts under
        # fresh random names each time, so a second render would otherwise repeat them.
        for section in (self.header, self.html, self.script):
            section._children.clear()
        self.header.add_child(self.assets_element, name="yizhan_assets")
        for child in list(self._children.values()):
            if isinstance(child, folium.Map):
                _finalise(child)
        for child in self._children.values():
            child.render(**kwargs)
        self._check_links()
        return self._template.render(this=self, kwargs=kwargs)

    def _check_links(self) -> None:
        """Refuse external links (added by other folium plugins) in a self-contained page."""
        if self.assets != "inline":
            return
        links = [
            child.url
            for child in self.header._children.values()
            if isinstance(child, JavascriptLink | CssLink)
        ]
        if links:
            raise ValueError(
                "a folium element on this map loads external assets, which a self-contained"
                f" (assets='inline') map cannot include: {', '.join(links)}"
            )


class _Runtime(MacroElement):
    """Starts the JS runtime on the map and holds the :class:`MapState`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        YIZHAN.init({{ this._parent.get_name() }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(self, state: MapState) -> None:
        super().__init__()
        self._name = "YizhanRuntime"
        self._id = "runtime"
        self.state = state

    @property
    def options_js(self) -> str:
        """Return the runtime options as safe JSON."""
        return js_json({"datum": self.state.datum})


class Overlay(Layer):
    """One overlay in the layer control, drawn by the JS runtime from a JSON payload."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = YIZHAN.overlay({{ this._parent.get_name() }},
            {{ this.kind_js }}, {{ this.payload_js }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(
        self, *, name: str, kind: str, payload: dict[str, Any], options: dict[str, Any],
        show: bool = True,
    ) -> None:
        # Leaflet writes layer names with innerHTML: escape them here.
        super().__init__(name=escape(name), overlay=True, control=True, show=show)
        self._name = "Overlay"
        self.kind_js = js_json(kind)
        self.payload_js = js_json(payload)
        self.options_js = js_json(options)
        self.label = name


class _Legend(MacroElement):
    """The legend control, built at render time from the map's legend sections."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        YIZHAN.legend({{ this._parent.get_name() }}, {{ this.spec_js() }});
        {% endmacro %}
        """
    )

    def __init__(self, state: MapState) -> None:
        super().__init__()
        self._name = "YizhanLegend"
        self._id = "legend"
        self.state = state

    def spec_js(self) -> str:
        """Return the legend as safe JSON."""
        sections = [
            {"title": s.title, "items": [i.spec() for i in s.items], "note": s.note}
            for s in self.state.legend
        ]
        return js_json({"title": "图例 Legend", "sections": sections})


class _Title(MacroElement):
    """The title box (title, subtitle and the sample-data notice)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        YIZHAN.title({{ this._parent.get_name() }}, {{ this.spec_js() }});
        {% endmacro %}
        """
    )

    def __init__(self, state: MapState) -> None:
        super().__init__()
        self._name = "YizhanTitle"
        self._id = "title"
        self.state = state

    def spec_js(self) -> str:
        """Return the title box as safe JSON."""
        s = self.state
        return js_json({"title": s.title, "subtitle": s.subtitle, "notice": s.notice})


class _View(MacroElement):
    """Fits the view to the union of every layer's extent (WGS-84)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds_js() }}, {padding: [24, 24]});
        {% endmacro %}
        """
    )

    def __init__(self, state: MapState) -> None:
        super().__init__()
        self._name = "YizhanView"
        self._id = "view"
        self.state = state

    def bounds_js(self) -> str:
        """Return ``[[south, west], [north, east]]`` of all recorded extents."""
        b = self.state.bounds
        return js_json([
            [min(x[1] for x in b), min(x[0] for x in b)],
            [max(x[3] for x in b), max(x[2] for x in b)],
        ])


def new_page_map(
    *, title: str, subtitle: str | None, notice: str | None, assets: AssetMode,
    mirror: str | None, datum: str,
) -> folium.Map:
    """Return an empty folium map on a yizhan page, with the runtime installed (no base maps)."""
    if assets not in ASSET_MODES:
        raise ConfigError(
            f"未知的资源模式 {assets!r}：请用 inline（自包含）、mirror（国内镜像）或 cdn。"
            f" Unknown asset mode {assets!r}: use inline (self-contained), mirror (domestic"
            " mirror) or cdn."
        )
    (lat, lon), zoom = DEFAULT_VIEW
    m = folium.Map(location=[lat, lon], zoom_start=zoom, tiles=None, prefer_canvas=True,
                   control_scale=True)
    m._id = "yizhan"
    m.default_js = []  # Leaflet comes from our asset tags; no jQuery/Bootstrap/fonts
    m.default_css = []
    page = _Page(title=title, assets_html=asset_tags(assets, mirror=mirror), assets=assets)
    page.add_child(m)
    state = MapState(title=title, subtitle=subtitle, notice=notice, assets=assets, mirror=mirror,
                     datum=datum)
    m.add_child(_Runtime(state), name="yizhan_runtime")
    return m


def state_of(m: folium.Map) -> MapState:
    """Return the :class:`MapState` of a map made by :func:`yizhan.maps.build.new_map`.

    Raises
    ------
    ValueError
        If ``m`` was not made by ``new_map``/``build_map``.
    """
    runtime = m._children.get("yizhan_runtime")
    if not isinstance(runtime, _Runtime):
        raise ValueError("this map was not made by maps.new_map or maps.build_map")
    return runtime.state


def add_overlay(m: folium.Map, overlay: Overlay) -> Overlay:
    """Add ``overlay`` to ``m`` under a sequential id and return it."""
    state = state_of(m)
    overlay._id = state.next_id()
    m.add_child(overlay)
    return overlay


def stable(m: folium.Map, element: MacroElement) -> MacroElement:
    """Give ``element`` the map's next sequential id (before it is added) and return it."""
    element._id = state_of(m).next_id()
    return element


def record_bounds(m: folium.Map, bounds: tuple[float, float, float, float]) -> None:
    """Record a layer's WGS-84 extent ``(min_lon, min_lat, max_lon, max_lat)`` for the view."""
    if all(math.isfinite(v) for v in bounds):
        state_of(m).bounds.append(tuple(float(v) for v in bounds))  # type: ignore[arg-type]


def add_legend_section(m: folium.Map, section: LegendSection) -> None:
    """Append a section to the map's legend."""
    state_of(m).legend.append(section)


def _finalise(m: folium.Map) -> None:
    """Put title, legend, view and the layer control on ``m``; the layer control last."""
    state = state_of(m)
    m.add_child(_Title(state), name="yizhan_title")
    if state.legend:
        m.add_child(_Legend(state), name="yizhan_legend")
    if state.bounds:
        m.add_child(_View(state), name="yizhan_view")
    control = m._children.pop("yizhan_layers", None)
    if control is None:
        # open on desktop screens, a button on small ones (phones, small report screenshots)
        control = LayerControl(position="topright",
                               collapsed=JsCode("YIZHAN.smallScreen()"))  # type: ignore[arg-type]
        control._id = "layers"
    m.add_child(control, name="yizhan_layers")  # last: its script names every layer above it
