"""Siting options: one typed object for ``[siting]`` in a config, the CLI flags and the Python API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from yizhan.geo.rules import parse_cutoff
from yizhan.geo.siting.highs import SolverOptions
from yizhan.geo.siting.problem import check_method
from yizhan.geo.siting.registry import MODELS, get_model

from yizhan.checks import check_number
from yizhan.errors import ConfigError


@dataclass(frozen=True)
class SitingOptions:
    """Siting settings as written in a config's ``[siting]`` table (all optional).

    TOML keys: ``n_sites`` (or ``sites``), ``target`` (``0.95`` or ``"95%"``), ``model``
    (``mclp``/``lscp``/``pmedian``), ``budget``, ``build_cost``, ``upgrade_cost`` (number or
    ``{amenity = cost}``), ``upgrades`` (bool), ``min_per_area``, ``min_spacing`` (``"300m"``),
    ``rule_weights`` (one number per rule, in rule order), ``hierarchical`` (bool: rules in
    priority order), ``sites_exactly`` (bool: exactly ``n_sites`` new sites, not at most),
    ``method`` (``auto``/``exact``/``greedy``), ``time_limit`` (seconds),
    ``candidate_spacing_m``, ``candidate_buffer_m``, ``gap_buffer_m`` (uncovered points closer
    than twice this form one gap area), ``unreached_factor`` (p-median: demand no station
    reaches costs this many times the longest cutoff; default 2), ``seed``.

    ``model = None`` (the default) means: ``lscp`` when a target is given without a number of
    sites or a budget, else ``mclp`` (:meth:`resolved`). ``yizhan suggest``, ``yizhan run`` and
    :func:`yizhan.geo.siting.suggest_sites` read these options, with these defaults, the same way.
    """

    n_sites: int | None = None
    target: float | None = None
    model: str | None = None
    budget: float | None = None
    build_cost: float = 1.0
    upgrade_cost: float | Mapping[str, float] | None = None
    upgrades: bool | None = None
    min_per_area: int | None = None
    min_spacing_m: float | None = None
    rule_weights: tuple[float, ...] | None = None
    hierarchical: bool = False
    sites_exactly: bool = False
    method: str = "auto"
    time_limit: float = 60.0
    candidate_spacing_m: float | None = None
    candidate_buffer_m: float | None = None
    gap_buffer_m: float | None = None
    unreached_factor: float = 2.0
    seed: int = 0

    @property
    def model_key(self) -> str:
        """Return the model these options ask for (``model``, or the default it stands for)."""
        if self.model is not None:
            return self.model
        wants_share = self.target is not None and self.n_sites is None and self.budget is None
        return "lscp" if wants_share else "mclp"

    def resolved(self) -> SitingOptions:
        """Return the options with the model named, checking that it has what it needs.

        Raises
        ------
        ConfigError
            For an unknown model, a covering model without ``target``, or another model
            without ``n_sites`` or ``budget``.
        """
        model = get_model(self.model_key)
        if model.needs_target and self.target is None:
            raise ConfigError(
                f"{model.key} 模型需要目标覆盖率（target = \"95%\" 或 --target 95%）。"
                f" The {model.key} model needs a target share (target = \"95%\" or --target 95%).")
        if not model.needs_target and self.n_sites is None and self.budget is None:
            raise ConfigError("请给出新站数（n_sites / --sites N）或预算（budget / --budget）。"
                              " Give the number of sites (n_sites, --sites N) or a budget (--budget).")
        return replace(self, model=model.key)

    def solver(self) -> SolverOptions:
        """Return the solver settings (time limit, method, seed) of these options."""
        return SolverOptions(time_limit=self.time_limit, method=self.method, seed=self.seed)


#: Each numeric option: (CLI flag, minimum, minimum allowed, whole number).
_OPTION_RANGES: dict[str, tuple[str, float, bool, bool]] = {
    "n_sites": ("--sites", 0, True, True),  # 0: the yearly run suggests no site
    "budget": ("--budget", 0, False, False),
    "build_cost": ("--build-cost", 0, False, False),
    "min_per_area": ("--min-per-area", 0, True, True),
    "min_spacing_m": ("--min-spacing", 0, False, False),
    "time_limit": ("--time-limit", 0, False, False),
    "candidate_spacing_m": ("--candidate-spacing", 0, False, False),
    "candidate_buffer_m": ("candidate_buffer_m", 0, True, False),
    "gap_buffer_m": ("gap_buffer_m", 0, False, False),
    "unreached_factor": ("unreached_factor", 1, True, False),
    "seed": ("seed", 0, True, True),
}


def check_siting_options(opts: SitingOptions, *, where: str) -> SitingOptions:
    """Return ``opts`` after checking every number is in range (one check for config and CLI).

    Raises
    ------
    ConfigError
        Naming the option (its config key and CLI flag), ``where`` it came from and the range:
        for example ``time_limit = -1``, ``min_spacing = "0m"`` (leave it out for none), a
        budget or cost that is not a positive finite number.
    """
    for key, (flag, low, inclusive, integer) in _OPTION_RANGES.items():
        value = getattr(opts, key)
        if value is not None:
            check_number(value, option=f"{key} ({flag})", where=where, minimum=low,
                         inclusive=inclusive, integer=integer)
    costs = opts.upgrade_cost.values() if isinstance(opts.upgrade_cost, Mapping) else \
        [opts.upgrade_cost] if opts.upgrade_cost is not None else []
    for cost in costs:
        check_number(cost, option="upgrade_cost (--upgrade-cost)", where=where, minimum=0,
                     inclusive=True)
    for weight in opts.rule_weights or ():
        check_number(weight, option="rule_weights (--rule-weights)", where=where, minimum=0,
                     inclusive=True)
    if opts.rule_weights is not None and not any(opts.rule_weights):
        raise ConfigError(f"{where}: rule_weights 不能全为 0。 rule_weights cannot all be 0.")
    return opts


_OPTION_KEYS = {
    "n_sites", "sites", "target", "model", "budget", "build_cost", "upgrade_cost", "upgrades",
    "min_per_area", "min_spacing", "min_spacing_m", "rule_weights", "hierarchical", "sites_exactly", "method",
    "time_limit", "candidate_spacing_m", "candidate_buffer_m", "gap_buffer_m", "unreached_factor", "seed",
}
#: Keys a ``[siting]`` table may hold (for config readers that validate the table themselves).
SITING_OPTION_KEYS: frozenset[str] = frozenset(_OPTION_KEYS)


def parse_share(value: Any) -> float:
    """Return a share in (0, 1] from ``0.95``, ``95``, ``"95%"`` or ``"95 %"``."""
    text = str(value).strip().replace("％", "%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise ConfigError(f"无法识别覆盖率 {value!r}，请写成 95% 或 0.95。Cannot read share {value!r}; write 95% or 0.95.") from None
    share = number / 100.0 if text.endswith("%") or number > 1 else number
    if not 0 < share <= 1:
        raise ConfigError(f"覆盖率须在 0 与 100% 之间：{value!r}。The share must be in (0, 100%].")
    return share


def parse_siting_options(table: Mapping[str, Any], *, source: str | None = None) -> SitingOptions:
    """Return :class:`SitingOptions` from a parsed ``[siting]`` table, naming any bad key.

    Raises
    ------
    ConfigError
        For unknown keys or values of the wrong type.
    """
    where = f"{source}: " if source else ""
    unknown = sorted(set(table) - _OPTION_KEYS)
    if unknown:
        raise ConfigError(f"{where}[siting] 有未知键 {unknown}，可用键：{sorted(_OPTION_KEYS)}。"
                          f" [siting] has unknown keys {unknown}; allowed: {sorted(_OPTION_KEYS)}.")

    def num(key: str, kind: type = float) -> Any:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}[siting] {key} 须为数字：{value!r}。[siting] {key} must be a number.")
        if kind is int:
            check_number(value, option=f"[siting] {key}", where=source, minimum=0,
                         inclusive=True, integer=True)
        return kind(value)

    spacing = table.get("min_spacing", table.get("min_spacing_m"))
    spacing_m = None
    if spacing is not None:
        try:
            cut = parse_cutoff(spacing if isinstance(spacing, str) else f"{spacing}m")
        except ConfigError as exc:
            raise ConfigError(
                f"{where}[siting] min_spacing = {spacing!r}：{exc} 不限间距请删去这一项。"
                " To set no minimum spacing, leave min_spacing out.") from exc
        if cut.metres is None:
            raise ConfigError(f"{where}[siting] min_spacing 须为距离，如 \"300m\"。min_spacing must be a distance.")
        spacing_m = cut.metres
    weights = table.get("rule_weights")
    if weights is not None and (not isinstance(weights, list) or not all(isinstance(x, int | float) for x in weights)):
        raise ConfigError(f"{where}[siting] rule_weights 须为数字列表。rule_weights must be a list of numbers.")
    for key in ("hierarchical", "upgrades", "sites_exactly"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{where}[siting] {key} 须为 true/false。[siting] {key} must be true or false.")
    upgrade_cost = table.get("upgrade_cost")
    if upgrade_cost is not None and not isinstance(upgrade_cost, int | float | Mapping):
        raise ConfigError(f"{where}[siting] upgrade_cost 须为数字或表。upgrade_cost must be a number or a table.")
    model = str(table["model"]).lower() if "model" in table else None
    method = str(table.get("method", "auto")).lower()
    if model is not None and model not in MODELS:
        names = ", ".join(MODELS)
        raise ConfigError(f"{where}[siting] model 须为 {names} 之一：{model!r}。model must be one of: {names}.")
    check_method(method)
    n_sites = num("n_sites", int) if "n_sites" in table else num("sites", int)
    opts = SitingOptions(
        n_sites=n_sites,
        target=parse_share(table["target"]) if "target" in table else None,
        model=model,
        budget=num("budget"),
        build_cost=num("build_cost") if "build_cost" in table else 1.0,
        upgrade_cost=dict(upgrade_cost) if isinstance(upgrade_cost, Mapping) else upgrade_cost,
        upgrades=table.get("upgrades"),
        min_per_area=num("min_per_area", int),
        min_spacing_m=spacing_m,
        rule_weights=tuple(float(x) for x in weights) if weights is not None else None,
        hierarchical=bool(table.get("hierarchical", False)),
        sites_exactly=bool(table.get("sites_exactly", False)),
        method=method,
        time_limit=num("time_limit") if "time_limit" in table else 60.0,
        candidate_spacing_m=num("candidate_spacing_m"),
        candidate_buffer_m=num("candidate_buffer_m"),
        gap_buffer_m=num("gap_buffer_m"),
        unreached_factor=num("unreached_factor") if "unreached_factor" in table else 2.0,
        seed=num("seed", int) if "seed" in table else 0,
    )
    return check_siting_options(opts, where=f"{source} [siting]" if source else "[siting]")

