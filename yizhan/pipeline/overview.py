"""The report's overview picture: a printable map of the district's layers (matplotlib, no tiles).

Chinese first, English beside it: a title, a legend with one entry per compliance tier, a scale
bar and a north arrow; no axes, ticks or degree labels. Chinese text needs a CJK font: the first
one found among :data:`CJK_FONTS` (Noto Sans CJK, WenQuanYi, Microsoft YaHei, SimHei, PingFang;
``.ci/run`` installs WenQuanYi Micro Hei); without one, the labels are English only rather than
boxes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yizhan.io import write_with
from yizhan.maps._labels import TIERS as MAP_TIERS

if TYPE_CHECKING:
    from yizhan.pipeline.results import AnalysisResult

#: Font families tried for Chinese text, in order, and file-name hints to find them on disk.
CJK_FONTS: tuple[tuple[str, str], ...] = (
    ("Noto Sans CJK SC", "notosanscjk"), ("WenQuanYi Micro Hei", "wqy-microhei"),
    ("WenQuanYi Zen Hei", "wqy-zenhei"), ("Microsoft YaHei", "msyh"), ("SimHei", "simhei"),
    ("PingFang SC", "pingfang"),
)

#: Scale bar lengths tried (metres): the longest that fits in a fifth of the picture's width.
SCALE_STEPS_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)

_GAP_COLOUR = "#8e44ad"
_DEMAND_COLOUR = "#e67e22"
_SITE_COLOUR = "#2980b9"


def cjk_font() -> str | None:
    """Return a font family that can draw Chinese (registering its file), or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family, _hint in CJK_FONTS:
        if family in known:
            return family
    files = font_manager.findSystemFonts()
    for _family, hint in CJK_FONTS:
        for path in sorted(files):
            if hint in Path(path).name.lower().replace(" ", "").replace("_", ""):
                font_manager.fontManager.addfont(path)
                name = font_manager.FontProperties(fname=path).get_name()
                return name
    return None


def _label(zh: str, en: str, *, chinese: bool) -> str:
    return f"{zh} {en}" if chinese else en


def _scale_bar(ax: Any, *, lat: float, chinese: bool) -> None:
    """Draw a scale bar (metres along the parallel) in the lower right corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    metres_per_degree = 111_320.0 * math.cos(math.radians(lat))
    width_m = (x1 - x0) * metres_per_degree
    length = max((s for s in SCALE_STEPS_M if s <= width_m / 5), default=SCALE_STEPS_M[0])
    length_deg = length / metres_per_degree
    right = x1 - 0.04 * (x1 - x0)
    base = y0 + 0.05 * (y1 - y0)
    ax.plot([right - length_deg, right], [base, base], color="black", linewidth=3,
            solid_capstyle="butt", zorder=10)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(right - length_deg / 2, base + 0.012 * (y1 - y0),
            _label("比例尺", text, chinese=chinese), ha="center", va="bottom", fontsize=9,
            zorder=10)


def _north_arrow(ax: Any, *, chinese: bool) -> None:
    """Draw a north arrow in the upper right corner (the picture is north-up)."""
    ax.annotate(_label("北", "N", chinese=chinese), xy=(0.95, 0.95), xytext=(0.95, 0.84),
                xycoords="axes fraction", textcoords="axes fraction", ha="center", va="center",
                fontsize=11,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5}, zorder=10)


def write_overview_png(result: AnalysisResult, path: Path) -> Path:
    """Write the overview picture of ``result`` to ``path`` (atomically) and return it."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    font = cjk_font()
    chinese = font is not None
    style: dict[Any, Any] = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                             "axes.unicode_minus": False}
    with mpl.rc_context(style):
        fig, ax = plt.subplots(figsize=(8.27, 7.0), dpi=150)  # A4 width
        if result.admin is not None:
            result.admin.boundary.plot(ax=ax, color="#888888", linewidth=0.8)
        for net in result.networks.values():
            u, v = net.edge_u, net.edge_v
            seg = np.stack([np.column_stack([net.lon[u], net.lat[u]]),
                            np.column_stack([net.lon[v], net.lat[v]])], axis=1)
            ax.add_collection(LineCollection(list(seg), colors="#d0d0d0", linewidths=0.4))
            break
        handles: list[Any] = []
        if len(result.gaps):
            result.gaps.plot(ax=ax, color=_GAP_COLOUR, alpha=0.25, edgecolor=_GAP_COLOUR)
            handles.append(Patch(facecolor=_GAP_COLOUR, alpha=0.35,
                                 label=_label("覆盖缺口", "coverage gaps", chinese=chinese)))
        d = result.demand
        ax.scatter(d.geometry.x, d.geometry.y, s=3 + 2 * d["weight"].to_numpy(float),
                   c=_DEMAND_COLOUR, alpha=0.5, linewidths=0)
        handles.append(Line2D([], [], marker="o", linestyle="", color=_DEMAND_COLOUR, alpha=0.6,
                              label=_label("劳动者需求", "worker demand", chinese=chinese)))
        s = result.stations
        tiers = s["compliance_tier"].astype(str).to_numpy() if len(s) else np.array([], str)
        for key, label, colour in MAP_TIERS:
            here = tiers == key
            if not here.any():
                continue
            ax.scatter(s.geometry.x[here], s.geometry.y[here], s=70, marker="s", c=colour,
                       edgecolors="black", linewidths=0.6, zorder=5)
            zh, _, en = label.partition(" ")
            handles.append(Line2D([], [], marker="s", linestyle="", color=colour,
                                  markeredgecolor="black",
                                  label=_label(f"驿站·{zh}", f"station, {en}", chinese=chinese)))
        g = result.suggestions
        if len(g):
            ax.scatter(g.geometry.x, g.geometry.y, s=170, marker="*", c=_SITE_COLOUR,
                       edgecolors="black", linewidths=0.6, zorder=6)
            for rank, point in zip(g["rank"], g.geometry, strict=True):
                ax.annotate(str(rank), (point.x, point.y), fontsize=10,
                            xytext=(5, 4), textcoords="offset points", zorder=7)
            handles.append(Line2D([], [], marker="*", linestyle="", color=_SITE_COLOUR,
                                  markeredgecolor="black", markersize=12,
                                  label=_label("建议新站（数字为优先顺序）",
                                               "suggested sites (by priority)", chinese=chinese)))
        lat = float(d.geometry.y.mean()) if len(d) else 0.0
        ax.set_aspect(1 / math.cos(math.radians(lat)))
        ax.set_axis_off()
        cfg = result.config
        fig.suptitle(_label(f"{cfg.district} {cfg.year} 驿站覆盖总览", "rest-station overview",
                            chinese=chinese), fontsize=13)
        fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
        _scale_bar(ax, lat=lat, chinese=chinese)
        _north_arrow(ax, chinese=chinese)
        fig.tight_layout(rect=(0.0, 0.1, 1.0, 0.95))

        def _save(tmp: Path) -> None:
            fig.savefig(tmp, format="png", metadata={"Software": None})

        try:
            return write_with(path, _save)
        finally:
            plt.close(fig)
