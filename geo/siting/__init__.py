"""Site selection: where new rest stations (or station upgrades) add the most coverage.

Three models, all on a sparse coverage structure (demand rows x candidate columns; a stored
entry means "this candidate would serve this demand point under the rule"), one module per
problem family (as spopt does), listed by name in :mod:`~yizhan.geo.siting.registry`:

- :mod:`~yizhan.geo.siting.mclp` (:func:`solve_mclp`) -- maximal covering: at most ``p`` new
  sites and/or upgrades within a budget, maximising covered demand weight; existing stations
  are fixed.
- :mod:`~yizhan.geo.siting.lscp` (:func:`solve_lscp`) -- set covering: the least cost (fewest
  sites with unit costs) reaching a target covered share of demand weight, per rule.
- :mod:`~yizhan.geo.siting.pmedian` (:func:`solve_pmedian`) -- p-median: minimise weighted
  travel cost to the nearest station (existing or new).

Shared pieces: :mod:`~yizhan.geo.siting.constraints` (``p``, costs, budget, area minimums,
spacing, capacity), :mod:`~yizhan.geo.siting.covering` (reductions, greedy, swap and bounds of
the covering family), :mod:`~yizhan.geo.siting.highs` (one HiGHS call from CSR arrays),
:mod:`~yizhan.geo.siting.result`. :mod:`~yizhan.geo.siting.options` is the one typed options
object (``[siting]``, CLI flags, Python API). :func:`suggest_sites`
(:mod:`~yizhan.geo.siting.suggest`) builds a :class:`~yizhan.geo.siting.problem.SitingProblem`
from road networks, stations, a coverage result and candidates (:mod:`yizhan.geo.candidates`),
hands it to the registered model and returns ranked suggestions with coordinates. Adding a
model touches one new module and one registry line.

Notation
--------
``i`` demand row with weight ``w_i`` (several rules stack their rows: row ``i`` belongs to rule
``r(i)``); ``j`` candidate; ``N_i`` the candidates serving row ``i``; ``F`` the rows already
covered by existing stations; ``x_j`` = 1 if candidate ``j`` is chosen; ``y_i`` = covered.

MCLP (weighted rules with weights ``alpha_r``)::

    max   sum_{i not in F} alpha_{r(i)} w_i y_i          (+ the constant covered weight of F)
    s.t.  y_i <= sum_{j in N_i} x_j                      for every row i
          sum_{j new} x_j <= p                           (upgrades do not count toward p)
          sum_j c_j x_j <= B                             (budget: build and upgrade costs)
          sum_{j new, j in area a} x_j >= k_a            (minimum new sites per admin area)
          x_j + x_l <= 1                                 (pairs closer than the min spacing)
          x binary, 0 <= y <= 1

Hierarchical rules solve the rules in priority order, each time adding
``sum_{i in rule q} w_i y_i >= (best covered weight of q)`` for every earlier rule ``q``.
With capacities ``u_j`` (in demand-weight units) the assignment form replaces ``y``:
``z_ij`` = share of row ``i`` served by ``j``, ``sum_j z_ij <= 1``, ``z_ij <= x_j``,
``sum_i w_i z_ij <= u_j x_j``; maximise ``sum w_i z_ij``.

LSCP (target share ``t``, per rule ``r`` with total weight ``W_r``)::

    min   sum_j c_j x_j                                  (unit costs: number of sites)
    s.t.  sum_{i in rule r, i not in F} w_i y_i >= t W_r - (weight of rule r in F)   for all r
          y_i <= sum_{j in N_i} x_j ;  area minimums and spacing as above
          x binary, 0 <= y <= 1

p-median (``d_ij`` travel cost of stored pairs; ``f_i`` the fallback cost: nearest existing
station, or ``unreached_cost`` if none)::

    min   sum_i w_i ( sum_{j in N_i} d_ij z_ij + f_i u_i )
    s.t.  sum_{j in N_i} z_ij + u_i = 1                  for every row i
          z_ij <= x_j ;  sum_{j new} x_j <= p ;  budget, area minimums and spacing as above
          x binary, z, u >= 0

Solving
-------
Every model is first reduced safely (all reductions keep the optimum): rows already covered or
not coverable become constants; candidates that cover nothing or can never be afforded are
dropped (unless an area minimum needs them); rows with identical candidate sets are merged
(weights added); candidates dominated by another (covers a superset, costs no more, same
area, not in a spacing conflict) are dropped; rows with a single candidate move their weight
onto that candidate. Then:

- ``method="greedy"``: greedy (largest weight gained per step, per unit cost under a budget)
  followed by a swap local search; the bound comes from the Lagrangian dual
  (smoothed dual minimised by spectral projected gradient for p; subgradient under a budget),
  whose value at any multipliers is a valid bound, equal to the LP bound at convergence.
- ``method="exact"``: the reduced model is passed to HiGHS in one call (CSR arrays), warm-started
  with the greedy + swap solution.
- ``method="auto"`` (default): greedy + swap, then HiGHS on the whole reduced model when it is
  small enough (:data:`~yizhan.geo.siting.highs.AUTO_MIP_NONZEROS`); for larger ones: the Lagrangian bound, a core MIP on
  the candidates with the highest Lagrangian prices warm-started with greedy + swap (improves the
  solution), reduced-cost fixing against the new incumbent (a candidate whose Lagrangian bound
  with it chosen cannot beat the incumbent is dropped; when at most :data:`~yizhan.geo.siting.mclp.CORE_LIMIT` remain,
  their MIP bound is a bound for the whole problem), and the rest of the time tightening the
  dual. On 100,000 demand x 5,000 candidates (p = 100) this proves a gap below 0.1 % in under a
  minute (``benchmarks/bench_siting.py``).

Results are deterministic: ties go to the lowest candidate index, HiGHS gets a fixed seed
(a binding time limit can still stop HiGHS at a different incumbent on a busier machine).

Gap
---
``gap = (bound - objective) / bound`` for maximisation and ``(objective - bound) / objective`` for
minimisation, with ``objective`` the whole covered weight (including demand existing stations
already cover) -- the figure HiGHS reports for the same model. ``gap_new`` measures the same
distance relative to the weight gained by the new sites only (stricter).
"""

from yizhan.geo.siting.constraints import SiteConstraints
from yizhan.geo.siting.highs import SolverOptions
from yizhan.geo.siting.lscp import solve_lscp
from yizhan.geo.siting.mclp import solve_mclp
from yizhan.geo.siting.options import (
    SITING_OPTION_KEYS,
    SitingOptions,
    check_siting_options,
    parse_share,
    parse_siting_options,
)
from yizhan.geo.siting.pmedian import solve_pmedian
from yizhan.geo.siting.problem import METHODS, SitingModel, SitingProblem
from yizhan.geo.siting.registry import MODELS, get_model
from yizhan.geo.siting.result import SitingResult, Suggestions, log_result
from yizhan.geo.siting.suggest import (
    AREA_SUMMARY_COLUMNS,
    SUGGESTION_COLUMNS,
    area_summary,
    gap_areas,
    group_summary,
    no_suggestions,
    rule_summary,
    suggest_sites,
    suggestions_csv_frame,
    write_suggestion_tables,
    write_suggestions,
)

__all__ = [
    "AREA_SUMMARY_COLUMNS",
    "METHODS",
    "MODELS",
    "SITING_OPTION_KEYS",
    "SUGGESTION_COLUMNS",
    "SiteConstraints",
    "SitingModel",
    "SitingOptions",
    "SitingProblem",
    "SitingResult",
    "SolverOptions",
    "Suggestions",
    "area_summary",
    "check_siting_options",
    "gap_areas",
    "get_model",
    "group_summary",
    "log_result",
    "no_suggestions",
    "parse_share",
    "parse_siting_options",
    "rule_summary",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
    "suggest_sites",
    "suggestions_csv_frame",
    "write_suggestion_tables",
    "write_suggestions",
]
