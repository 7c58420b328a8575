"""``report.docx``: a few pages in Chinese a union office can edit in Word or WPS and submit.

Generated from the same results and tables as ``report.xlsx`` and ``report.html``
(:func:`yizhan.pipeline.report.workbook_sheets`): the headline numbers in sentences, the
overview picture, the key tables (coverage by rule and by area, suggested sites, stations to
upgrade, the year-over-year change), a methods paragraph (data, travel modes and speeds,
cutoffs, the amenity standard, the siting model) and the warnings of the run. Headers are the
Chinese half of the report's bilingual headers; numbers use the workbook's formats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from yizhan.io import write_with
from yizhan.pipeline.headers import number_format, show_number, show_text

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

    from yizhan.pipeline.results import AnalysisResult

__all__ = ["BODY_FONT", "HEADING_FONT", "SECTIONS", "write_docx"]

#: Fonts of the document (East Asian text): body 宋体 SimSun, headings 黑体 SimHei.
BODY_FONT = "宋体"
HEADING_FONT = "黑体"

#: Section headings in order (分时段 only with shifts, 年度变化 only with a previous run,
#: 请注意 only with warnings).
SECTIONS: dict[str, str] = {
    "headline": "一、基本情况",
    "overview": "二、覆盖总览图",
    "coverage": "三、覆盖情况",
    "shifts": "四、分时段覆盖（只计开放的驿站）",
    "equity": "五、公平性：各区域与群体",
    "suggestions": "六、建议新建站点",
    "upgrade": "七、需补齐设施的驿站",
    "change": "八、年度变化",
    "methods": "九、方法与数据说明",
    "warnings": "十、请注意",
}

#: Rows shown of a long table; the workbook holds them all.
TABLE_ROWS = 30


#: Where the English half of a bilingual text starts: a Latin letter after Chinese text.
_ENGLISH = re.compile(r"(?<=[\u2e80-\uffff%）)])\s*[A-Za-z].*$")
#: Columns (Chinese header) whose values are bilingual words: shown in Chinese only.
WORD_COLUMNS = frozenset({"达标情况", "原达标情况", "现达标情况", "需配设施", "缺少设施（需补齐）",
                          "未记录设施", "地点", "类型", "来源", "变化", "群体", "方式", "匹配依据",
                          "新增设施", "减少设施", "工人群体"})


def zh(text: object) -> str:
    """Return the Chinese half of a bilingual text ("覆盖率% covered %" -> "覆盖率%").

    Each part of a "、"-separated list is cut ("洗手间 toilet、饮水 water" -> "洗手间、饮水");
    a text without Chinese is returned whole.
    """
    parts = [_ENGLISH.sub("", part).strip() for part in str(text).split("、")]
    return "、".join(parts) if all(parts) else str(text)


def write_docx(
    result: AnalysisResult,
    path: Path,
    *,
    summary: Mapping[str, Any],
    sheets: Mapping[str, pd.DataFrame],
    overview: Path | None,
    comparison: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``report.docx`` atomically and return its path.

    Parameters
    ----------
    result
        The run's results.
    path
        Target ``.docx`` file.
    summary
        ``summary.json`` as data (:func:`yizhan.pipeline.report.summary_dict`).
    sheets
        The workbook's frames by sheet name (:func:`yizhan.pipeline.report.workbook_sheets`).
    overview
        The overview picture to embed, or None.
    comparison
        The year-over-year comparison (:func:`yizhan.pipeline.report.compare_runs`), or None.
    """
    doc = _build(result, summary=summary, sheets=sheets, overview=overview,
                 comparison=comparison)
    return write_with(path, lambda tmp: doc.save(str(tmp)))


def _build(
    result: AnalysisResult, *, summary: Mapping[str, Any], sheets: Mapping[str, pd.DataFrame],
    overview: Path | None, comparison: Mapping[str, Any] | None,
) -> DocxDocument:
    from docx import Document
    from docx.shared import Cm, Pt, RGBColor

    from yizhan.pipeline.report import SAMPLE_NOTICE

    cfg = result.config
    doc = Document()
    _setup(doc)
    title = f"{cfg.district} {cfg.year}年户外劳动者服务站点（驿站）覆盖与选址分析报告"
    doc.core_properties.title = title
    doc.core_properties.author = "yizhan"
    _heading(doc, title, level=0)
    if cfg.sample:
        run = doc.add_paragraph().add_run(f"注意：{SAMPLE_NOTICE}。本报告的数字不代表任何真实地区。")
        run.bold = True
        run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)

    _heading(doc, SECTIONS["headline"])
    for text in headline_sentences(summary, result):
        doc.add_paragraph(text)

    if overview is not None and overview.is_file():
        _heading(doc, SECTIONS["overview"])
        doc.add_picture(str(overview), width=Cm(16))
        doc.add_paragraph("图 1  驿站、需求、覆盖缺口与建议新站总览（详见交互地图 map.html）。")

    _coverage_sections(doc, result, sheets)
    _siting_sections(doc, sheets)
    if comparison is not None:
        _change_section(doc, comparison, sheets)

    _heading(doc, SECTIONS["methods"])
    for text in methods_paragraphs(result):
        doc.add_paragraph(text)

    if result.warnings:
        _heading(doc, SECTIONS["warnings"])
        for warning in result.warnings:
            doc.add_paragraph(warning, style="List Bullet")
    for paragraph in doc.paragraphs:
        paragraph.paragraph_format.space_after = Pt(4)
    return doc


def _coverage_sections(doc: DocxDocument, result: AnalysisResult,
                       sheets: Mapping[str, pd.DataFrame]) -> None:
    """三 coverage by rule and area, 四 by shift (with shifts), 五 equity."""
    from yizhan.pipeline.report import SHEET

    _heading(doc, SECTIONS["coverage"])
    cov = sheets[SHEET["coverage"]]
    keep = [c for c in cov.columns if not str(c).startswith(("需求权重", "已覆盖", "离路网"))]
    _table(doc, cov[keep], caption="表 1  各规则覆盖率（现状与按建议新建后）")
    areas = sheets[SHEET["areas"]]
    if len(areas):
        _table(doc, areas, caption="表 2  分区覆盖情况")

    if SHEET["shifts"] in sheets:
        _heading(doc, SECTIONS["shifts"])
        doc.add_paragraph("工人在岗时驿站须开放：每个时段只计整个时段都开放的驿站；"
                          "台账未填开放时间的驿站不计入，另列数量。")
        _table(doc, sheets[SHEET["shifts"]], caption="表 3  各时段覆盖率（不论开放与只计开放的驿站）")

    _heading(doc, SECTIONS["equity"])
    for text in equity_sentences(result):
        doc.add_paragraph(text)
    _table(doc, sheets[SHEET["equity"]], caption="表 4  各区域、各群体的覆盖率与最远劳动者的路程")


def _siting_sections(doc: DocxDocument, sheets: Mapping[str, pd.DataFrame]) -> None:
    """六 suggested sites, 七 stations to upgrade."""
    from yizhan.pipeline.report import SHEET

    _heading(doc, SECTIONS["suggestions"])
    sites = sheets[SHEET["suggestions"]]
    if len(sites):
        cols = [c for c in sites.columns if zh(c) in (
            "优先顺序", "名称", "地点", "所在区域", "新增覆盖需求", "建后覆盖率%", "需配设施",
            "经度", "纬度")]
        _table(doc, sites[cols], caption="表 5  建议新建站点（按优先顺序）")
        doc.add_paragraph(
            "“新增覆盖需求”是建成该站点后新进入服务范围的需求权重（按优先顺序逐个累计，"
            "不重复计算）；“建后覆盖率”是建成到该站点为止的全部需求覆盖率。")
    else:
        doc.add_paragraph("本次未要求建议新站点。")

    _heading(doc, SECTIONS["upgrade"])
    stations = sheets[SHEET["stations"]]
    missing = next((c for c in stations.columns if zh(c).startswith("缺少设施")), None)
    if missing is not None:
        lacking = stations[stations[missing].fillna("").astype(str).str.strip() != ""]
        cols = [c for c in lacking.columns if zh(c) in ("编号", "名称", "达标情况")] + [missing]
        if len(lacking):
            _table(doc, lacking[cols], caption="表 6  需补齐必备设施的驿站（升级清单）")
        else:
            doc.add_paragraph("所有驿站均已配齐标准要求的设施。")


def _change_section(doc: DocxDocument, comparison: Mapping[str, Any],
                    sheets: Mapping[str, pd.DataFrame]) -> None:
    """八 the year-over-year change."""
    from yizhan.pipeline.report import SHEET

    _heading(doc, SECTIONS["change"])
    comp = comparison["summary"]
    counts = comp.get("stations", {})
    doc.add_paragraph(
        f"与{comp['previous_year']}年相比：新建驿站{counts.get('opened', 0)}处，"
        f"关闭{counts.get('closed', 0)}处，升级{counts.get('upgraded', 0)}处，"
        f"降级{counts.get('downgraded', 0)}处；消除覆盖缺口{comp['gaps_closed']}处，"
        f"新增缺口{comp['gaps_new']}处。")
    _table(doc, sheets[SHEET["change"]], caption="表 7  各规则覆盖率的年度变化")


def headline_sentences(summary: Mapping[str, Any], result: AnalysisResult) -> list[str]:
    """Return the headline numbers as Chinese sentences (from ``summary.json``)."""
    from yizhan.stations.compliance import TIER_LABELS

    counts = summary["counts"]
    tiers = counts["stations_by_tier"]
    parts = "、".join(f"{zh(TIER_LABELS[t])}{n}处" for t, n in tiers.items() if n)
    out = [
        f"台账共有驿站{counts['stations']}处（{parts}），"
        f"检查发现台账问题{counts['problems']}条。纳入分析的户外劳动者需求点{counts['demand_points']:,}个，"
        f"需求权重合计{counts['demand_weight']:,.0f}。",
    ]
    for rule, row in zip(result.config.rules, summary["rules"], strict=True):
        sentence = (f"按“{rule_words(rule)}”计，现状覆盖率为{_pct(row['covered_pct'])}，"
                    f"两个以上驿站覆盖的占{_pct(row['covered_twice_pct'])}")
        if counts["suggestions"]:
            sentence += f"；按建议新建{counts['suggestions']}处后可达{_pct(row['covered_pct_after'])}"
        if row.get("off_network_pct"):
            sentence += f"（另有{_pct(row['off_network_pct'])}的需求离道路过远，任何驿站都无法到达）"
        out.append(sentence + "。")
    out.append(f"共识别覆盖缺口{counts['gaps']}处，建议新建站点{counts['suggestions']}处（见第四部分）。")
    return out


def equity_sentences(result: AnalysisResult) -> list[str]:
    """Return per rule who is worst off: the area, the group, the farthest worker's trip."""
    from yizhan.geo.equity import worst_off
    from yizhan.maps._labels import group_label
    from yizhan.pipeline.report import trip_text

    if result.equity is None or not len(result.equity):
        return []
    out = []
    rules = {r.name: r for r in result.config.rules}
    for row in worst_off(result.equity).itertuples():
        rule = rules[str(row.rule)]
        far = (f"路网上离驿站最远的劳动者：{zh(trip_text(float(row.worst_cost), str(row.cost_unit)))}"
               if row.worst_reachable else "有劳动者沿路网到达不了任何合格驿站")
        group = zh(group_label(str(row.worst_group))) if row.worst_group else "未分组"
        text = (f"按“{rule_words(rule)}”计，覆盖最差的区域是{zh(row.worst_area)}"
                f"（{row.worst_area_pct:.1f}%），最差的群体是{group}"
                f"（{row.worst_group_pct:.1f}%）；{far}")
        if row.areas_below_floor:
            text += f"；低于底线的区域：{zh(row.areas_below_floor)}"
        out.append(text + "。")
    return out


def rule_words(rule: Any) -> str:
    """Return a coverage rule in Chinese words: "司机驾车3分钟内可到一处达标驿站"."""
    from yizhan.geo.modes import MODES
    from yizhan.maps._labels import group_label, labels_of

    who = zh(group_label(rule.group)) if rule.group else "全部劳动者"
    how = MODES[rule.mode].label_zh
    if rule.cutoff.metres is not None:
        within = f"{rule.cutoff.metres:g}米"
    else:
        within = f"{rule.cutoff.minutes:g}分钟"
    if rule.standard:
        what = "一处达标驿站"
    elif rule.requires:
        what = f"一处有{zh(labels_of(','.join(rule.requires)))}的驿站"
    else:
        what = "一处驿站"
    return f"{who}{how}{within}内可到{what}"


def methods_paragraphs(result: AnalysisResult) -> list[str]:
    """Return the methods paragraph: data, travel modes, cutoffs, standard, siting model."""
    from yizhan.geo.modes import MODES
    from yizhan.geo.siting.registry import get_model
    from yizhan.stations.standards import load_standard

    cfg = result.config
    standard = load_standard(cfg.inventory.standard)
    layers = "、".join(layer.path.name for layer in cfg.demand)
    modes = sorted({rule.mode for rule in cfg.rules})
    speeds = "；".join(
        f"{MODES[m].label_zh}" + ("按道路等级和限速计" if MODES[m].speeds_from_roads
                                 else f"按每小时{MODES[m].default_speed_kmh:g}公里计")
        for m in modes)
    rules = "；".join(f"{rule.name}：{rule_words(rule)}" for rule in cfg.rules)
    required = zh("、".join(_amenity_words(standard.required)))
    out = [
        f"数据：驿站台账 {cfg.inventory.path.name}（坐标系 {cfg.inventory.crs}）；"
        f"需求点 {layers}；路网 {cfg.network_source.name}"
        + (f"；分区 {cfg.admin.path.name}" if cfg.admin is not None else "")
        + (f"；候选点 {cfg.candidates.path.name}"
           if cfg.candidates is not None and cfg.candidates.path is not None else "")
        + (f"；OSM 依托场所 {cfg.candidates.osm.name}"
           if cfg.candidates is not None and cfg.candidates.osm is not None else "") + "。"
        "各输入文件的校验值见 summary.json。",
        f"可达性沿真实道路网络计算，不用直线距离：{speeds}。离道路超过{cfg.max_access_m:g}米的点"
        "计为离路网，任何驿站都无法到达；单行道按劳动者前往驿站的方向通行。",
        f"覆盖规则：{rules}。",
        f"驿站标准：{standard.title_zh or standard.name}，必备设施为{required}；"
        "台账未记录的设施单独列为“未记录”，不按缺少计。",
    ]
    opts = cfg.siting.run_options()
    if opts is not None:
        model = get_model(opts.model_key)
        out.append(
            f"选址：{zh(model.title)}模型（{model.key}），由 HiGHS 求解器求解并逐一核验；"
            "候选点为" + ("工会提供的候选点文件" if cfg.candidates is not None
                       else "缺口内及周边的道路节点") + "。")
    return out


def _amenity_words(keys: Sequence[str]) -> list[str]:
    from yizhan.maps._labels import amenity_label

    return [amenity_label(k) for k in keys]


def _pct(value: object) -> str:
    if value is None:
        return "—"
    return f"{float(value):.1f}%"  # type: ignore[arg-type]


def _setup(doc: DocxDocument) -> None:
    """A4 portrait, 2.5 cm margins, 宋体 body and 黑体 headings (East Asian fonts set)."""
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    for name, font, size in (("Normal", BODY_FONT, 11), ("Title", HEADING_FONT, 18),
                             ("Heading 1", HEADING_FONT, 14)):
        style = doc.styles[name]
        style.font.name = font
        style.font.size = Pt(size)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
            fonts.set(qn(attr), font)


def _heading(doc: DocxDocument, text: str, *, level: int = 1) -> None:
    from docx.shared import RGBColor

    paragraph = doc.add_heading(text, level=level)
    for run in paragraph.runs:
        run.font.color.rgb = RGBColor(0, 0, 0)


def _table(doc: DocxDocument, frame: pd.DataFrame, *, caption: str) -> None:
    """Add ``caption`` and ``frame`` as a grid table (first rows, numbers as the workbook)."""
    from docx.shared import Pt

    doc.add_paragraph(caption).runs[0].bold = True
    shown = frame.head(TABLE_ROWS)
    table = doc.add_table(rows=1, cols=len(shown.columns))
    table.style = "Table Grid"
    for cell, col in zip(table.rows[0].cells, shown.columns, strict=True):
        cell.text = zh(col)
        cell.paragraphs[0].runs[0].bold = True
    formats = [number_format(str(c), shown[c]) for c in shown.columns]
    words = [zh(c) in WORD_COLUMNS for c in shown.columns]
    for row in shown.itertuples(index=False):
        cells = table.add_row().cells
        for cell, fmt, word, value in zip(cells, formats, words, row, strict=True):
            text = show_number(fmt, value) if fmt else show_text(value)
            cell.text = zh(text) if word and text else text
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(9)
    if len(frame) > TABLE_ROWS:
        doc.add_paragraph(f"（仅列出前{TABLE_ROWS}行，共{len(frame)}行，全部见 report.xlsx。）")
