"""The yearly gap analysis as a library: config in, results (and a report folder) out.

Modules: :mod:`~yizhan.pipeline.config` (the TOML schema, parsed once),
:mod:`~yizhan.pipeline.analysis` (the run, step by step), :mod:`~yizhan.pipeline.results`
(result types), :mod:`~yizhan.pipeline.report` (the report folder),
:mod:`~yizhan.pipeline.province` and :mod:`~yizhan.pipeline.province_report` (many districts
on Dask). The command line (:mod:`yizhan.scripts`) only parses arguments and prints.

Example::

    import yizhan
    result = yizhan.run("config.toml", out="report-2025")   # what `yizhan run` does
    result.coverage_summary       # covered share per rule, before and after the suggestions
    result.suggestions            # GeoDataFrame of the suggested sites
    result.warnings               # what the report says about the inputs
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yizhan._lazy import lazy_exports

if TYPE_CHECKING:
    from yizhan.pipeline.analysis import run, run_analysis
    from yizhan.pipeline.config import RunConfig, load_config
    from yizhan.pipeline.province import run_many
    from yizhan.pipeline.report import write_report
    from yizhan.pipeline.results import AnalysisResult, ProvinceResult

_EXPORTS = {
    "AnalysisResult": "yizhan.pipeline.results",
    "ProvinceResult": "yizhan.pipeline.results",
    "RunConfig": "yizhan.pipeline.config",
    "load_config": "yizhan.pipeline.config",
    "run": "yizhan.pipeline.analysis",
    "run_analysis": "yizhan.pipeline.analysis",
    "run_many": "yizhan.pipeline.province",
    "write_report": "yizhan.pipeline.report",
}

__all__ = ["AnalysisResult", "ProvinceResult", "RunConfig", "load_config", "run", "run_analysis",
           "run_many", "write_report"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
