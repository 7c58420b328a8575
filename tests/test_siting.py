"""Site selection: MCLP, LSCP and p-median on HiGHS and greedy + swap, and ``suggest_sites``.

Synthetic: small random instances solved by brute force (every combination), so the optimum is
known independently of any solver; every constraint is then checked on the chosen sites.
Real world: instances on the Futian road network (taxi pick-ups as demand, charging stations as
existing stations) solved by yizhan and by PySAL spopt on the same cost matrix, which must
agree on the optimal objective. Errors and warnings last.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree
from yizhan.geo.rules import make_rule
from yizhan.geo.siting import (
    SiteConstraints,
    SitingOptions,
    SitingResult,
    SolverOptions,
    constraints,
    covering,
    highs,
    parse_share,
    parse_siting_options,
    reduce,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
    suggest_sites,
)

from yizhan.errors import ConfigError

# --------------------------------------------------------------------------------------------
# Synthetic instances with brute-force optima


def planar(n_demand: int, n_cand: int, radius: float, seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Return (costs within radius as CSR, weights, candidate xy) for random planar points."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 10, (n_demand, 2))
    c = rng.uniform(0, 10, (n_cand, 2))
    costs = cKDTree(d).sparse_distance_matrix(cKDTree(c), radius, output_type="coo_matrix").tocsr()
    costs.data = np.maximum(costs.data, 1e-9)
    return costs, rng.integers(1, 6, n_demand).astype(float), c


def brute_mclp(cover: sp.csr_matrix, w: np.ndarray, p: int, fixed: np.ndarray, ok=None) -> float:
    """Return the best covered weight (incl. fixed) over all sets of at most p candidates."""
    a = (cover != 0).astype(float).tocsc()
    best = 0.0
    n = a.shape[1]
    for k in range(p + 1):
        for combo in itertools.combinations(range(n), k):
            if ok is not None and not ok(np.array(combo, dtype=np.int64)):
                continue
            sel = np.zeros(n)
            sel[list(combo)] = 1.0
            best = max(best, float(w[fixed | ((a @ sel) > 0)].sum()))
    return best


def covered_weight(cover: sp.csr_matrix, w: np.ndarray, chosen: np.ndarray, fixed: np.ndarray) -> float:
    sel = np.zeros(cover.shape[1])
    sel[chosen] = 1.0
    return float(w[fixed | (((cover != 0).astype(float) @ sel) > 0)].sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["exact", "auto"])
def test_mclp_matches_brute_force(seed: int, method: str) -> None:
    cover, w, _ = planar(120, 12, 2.0, seed)
    fixed = np.random.default_rng(seed + 50).random(120) < 0.15
    res = solve_mclp(cover, w, p=3, fixed_covered=fixed, solver=SolverOptions(method=method))
    best = brute_mclp(cover, w, 3, fixed)
    assert res.objective == pytest.approx(best)
    assert res.status == "optimal" and res.gap <= 1e-6
    assert covered_weight(cover, w, res.chosen, fixed) == pytest.approx(res.objective)
    assert len(res.chosen) <= 3


@pytest.mark.parametrize("seed", range(8))
def test_greedy_within_bound_and_close_to_exact(seed: int) -> None:
    cover, w, _ = planar(400, 40, 1.8, seed)
    exact = solve_mclp(cover, w, p=5, solver=SolverOptions(method='exact'))
    greedy = solve_mclp(cover, w, p=5, solver=SolverOptions(method='greedy'))
    assert exact.status == "optimal"
    assert greedy.objective <= exact.objective + 1e-9
    # greedy + swap is never worse than the (1 - 1/e) guarantee and here usually optimal
    assert greedy.objective >= (1 - 1 / math.e) * exact.objective
    assert greedy.objective >= 0.97 * exact.objective
    # the Lagrangian bound is a true bound on the optimum, and the gap is honest
    assert greedy.bound >= exact.objective - 1e-6
    assert greedy.gap == pytest.approx((greedy.bound - greedy.objective) / greedy.bound)


def test_reductions_keep_the_optimum_and_shrink_the_model() -> None:
    cover, w, _ = planar(3000, 150, 1.2, 3)
    # duplicate demand rows and a duplicated candidate column: merged / dominated away
    cover = sp.vstack([cover, cover[:500]], format="csr")
    w = np.concatenate([w, w[:500]])
    cover = sp.hstack([cover, cover[:, [7]]], format="csr")
    fixed = np.zeros(cover.shape[0], bool)
    fixed[::9] = True
    rules = constraints.make_rules(cover.shape[1], p=6)
    red = covering.reduce_cover(cover, w, fixed, rules)
    assert red.sizes["reduced_rows"] < red.sizes["demand_rows"]
    assert red.sizes["reduced_candidates"] < red.sizes["candidates"]
    assert red.sizes["reduced_nonzeros"] < red.sizes["nonzeros"]
    assert red.weights.sum() + red.fixed.sum() + red.lost.sum() == pytest.approx(w.sum())
    # solving without reductions (plain model) gives the same optimum
    full = covering.CoverReduction(
        cover=reduce.structure(cover[~fixed]), weights=w[~fixed][:, None],
        cols=np.arange(cover.shape[1]), rules=rules, fixed=w[fixed].sum(keepdims=True),
        lost=np.zeros(1), total=w.sum(keepdims=True), sizes={},
    )
    model, _nx = covering.cover_model(full, alpha=None)
    plain = highs.solve_mip(model, time_limit=60, seed=0, rel_gap=1e-9)
    res = solve_mclp(cover, w, p=6, fixed_covered=fixed, solver=SolverOptions(method='exact'))
    assert res.objective == pytest.approx(plain.objective + w[fixed].sum())
    assert res.sizes["mip"]["rows"] < model.size["rows"]


def test_merge_identical_rows_is_exact() -> None:
    m = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0], [1, 0, 1], [1, 1, 0], [0, 1, 0]], float))
    labels, first = reduce.merge_identical_rows(m)
    assert labels.tolist() == [0, 0, 1, 0, 2, 1]
    assert first.tolist() == [0, 2, 4]
    costs = sp.csr_matrix(np.array([[2.0, 0, 3], [2.0, 0, 3.5], [2.0, 0, 3]]))
    labels, _ = reduce.merge_identical_rows(costs)
    assert labels.tolist() == [0, 1, 0]


def test_ranking_orders_sites_by_marginal_gain() -> None:
    cover, w, _ = planar(800, 60, 1.5, 11)
    res = solve_mclp(cover, w, p=8, solver=SolverOptions(method='exact'))
    t = res.table
    assert t["rank"].tolist() == list(range(1, len(t) + 1))
    # each site's gain is recomputed from scratch: the covered weight after ranks 1..k
    for k in range(1, len(t) + 1):
        after = covered_weight(cover, w, t["candidate"].to_numpy()[:k], np.zeros(800, bool))
        assert t["covered_weight_after"].iloc[k - 1] == pytest.approx(after)
        assert t["covered_share_after"].iloc[k - 1] == pytest.approx(after / w.sum())
    # rank 1 is the single most valuable site of the chosen set, and gains do not increase
    gains = t["weight_gained"].to_numpy()
    assert (np.diff(gains) <= 1e-9).all()
    single = [covered_weight(cover, w, np.array([j]), np.zeros(800, bool)) for j in t["candidate"]]
    assert gains[0] == pytest.approx(max(single))


def test_results_are_deterministic() -> None:
    cover, w, _ = planar(2000, 120, 1.3, 5)
    a = solve_mclp(cover, w, p=10, solver=SolverOptions(method='greedy'))
    b = solve_mclp(cover, w, p=10, solver=SolverOptions(method='greedy'))
    pd.testing.assert_frame_equal(a.table, b.table)
    c = solve_mclp(cover, w, p=10, solver=SolverOptions(method='exact'))
    d = solve_mclp(cover, w, p=10, solver=SolverOptions(method='exact'))
    pd.testing.assert_frame_equal(c.table, d.table)
    assert a.bound == b.bound


# --------------------------------------------------------------------------------------------
# Constraints, each checked on the chosen sites


def test_min_per_area_is_met() -> None:
    cover, w, xy = planar(600, 30, 1.6, 2)
    area = np.where(xy[:, 0] < 3, "west", np.where(xy[:, 0] < 7, "centre", "east"))
    free = solve_mclp(cover, w, p=6, solver=SolverOptions(method='exact'))
    for method in ("exact", "greedy"):
        res = solve_mclp(cover, w, p=6, constraints=SiteConstraints(area_of_candidate=area, min_per_area=2), solver=SolverOptions(method=method))
        got = pd.Series(area[res.chosen]).value_counts()
        assert all(got.get(a, 0) >= 2 for a in ("west", "centre", "east")), got
        assert res.objective <= free.objective + 1e-9
    ok = lambda combo: all((area[combo] == a).sum() >= 2 for a in ("west", "centre", "east"))  # noqa: E731
    small, ws, xs = planar(150, 9, 2.0, 4)
    area_s = np.where(xs[:, 0] < 5, "a", "b")
    ok = lambda combo: (area_s[combo] == "a").sum() >= 1 and (area_s[combo] == "b").sum() >= 2  # noqa: E731
    res = solve_mclp(small, ws, p=4, constraints=SiteConstraints(area_of_candidate=area_s, min_per_area={'a': 1, 'b': 2}), solver=SolverOptions(method='exact'))
    assert res.objective == pytest.approx(brute_mclp(small, ws, 4, np.zeros(150, bool), ok=ok))


def test_min_spacing_is_met() -> None:
    cover, w, xy = planar(700, 50, 1.5, 6)
    pairs = np.array(sorted(cKDTree(xy).query_pairs(2.0)))
    for method in ("exact", "greedy"):
        res = solve_mclp(cover, w, p=6, constraints=SiteConstraints(conflicts=pairs), solver=SolverOptions(method=method))
        chosen = xy[res.chosen]
        dist = np.hypot(*(chosen[:, None, :] - chosen[None, :, :]).transpose(2, 0, 1))
        assert dist[np.triu_indices(len(chosen), 1)].min() >= 2.0
    small, ws, xs = planar(150, 10, 2.0, 8)
    pairs_s = np.array(sorted(cKDTree(xs).query_pairs(3.0)))
    conflict = {tuple(p) for p in pairs_s}
    ok = lambda combo: not any((a, b) in conflict for a, b in itertools.combinations(sorted(combo), 2))  # noqa: E731
    res = solve_mclp(small, ws, p=4, constraints=SiteConstraints(conflicts=pairs_s), solver=SolverOptions(method='exact'))
    assert res.objective == pytest.approx(brute_mclp(small, ws, 4, np.zeros(150, bool), ok=ok))


def test_budget_with_build_and_upgrade_costs() -> None:
    cover, w, _ = planar(150, 10, 2.0, 9)
    rng = np.random.default_rng(9)
    cost = rng.uniform(1, 3, 10)
    upgrade = np.arange(10) >= 7  # three upgrade options: cheap, do not count toward p
    cost[upgrade] = 0.4
    ok = lambda combo: cost[combo].sum() <= 5.0 and (~upgrade[combo]).sum() <= 2  # noqa: E731
    for method in ("exact", "greedy"):
        res = solve_mclp(cover, w, p=2, constraints=SiteConstraints(cost=cost, budget=5.0, counts_toward_p=~upgrade), solver=SolverOptions(method=method))
        assert cost[res.chosen].sum() <= 5.0 + 1e-9
        assert (~upgrade[res.chosen]).sum() <= 2
        assert set(res.table.loc[res.table["kind"] == "upgrade", "candidate"]) <= set(np.flatnonzero(upgrade))
        if method == "exact":
            assert res.objective == pytest.approx(brute_mclp(cover, w, 5, np.zeros(150, bool), ok=ok))


def test_capacity_limits_served_weight() -> None:
    cover, w, _ = planar(500, 30, 2.0, 12)
    cap = np.full(30, 40.0)
    for method in ("exact", "greedy"):
        res = solve_mclp(cover, w, p=4, constraints=SiteConstraints(capacity=cap), solver=SolverOptions(method=method))
        assert (res.table["weight_gained"] <= 40.0 + 1e-6).all()
        assert res.objective <= 160.0 + 1e-6
    exact = solve_mclp(cover, w, p=4, constraints=SiteConstraints(capacity=cap), solver=SolverOptions(method='exact'))
    assert exact.objective == pytest.approx(160.0)  # four full sites exist in a dense instance


def test_several_rules_weighted_and_hierarchical() -> None:
    near, w, _ = planar(400, 25, 1.0, 13)
    far = cKDTree(np.random.default_rng(13).uniform(0, 10, (400, 2)))
    far_cover, w2, _ = planar(400, 25, 2.5, 14)
    both = solve_mclp([near, far_cover], [w, w2], p=4, rule_weights=[1.0, 0.5], solver=SolverOptions(method='exact'))
    # the weighted objective is the alpha-weighted sum of what each rule covers
    cw1 = covered_weight(near, w, both.chosen, np.zeros(400, bool))
    cw2 = covered_weight(far_cover, w2, both.chosen, np.zeros(400, bool))
    assert both.objective == pytest.approx(cw1 + 0.5 * cw2)
    assert {"weight_gained_0", "weight_gained_1", "covered_share_after_1"} <= set(both.table.columns)
    hier = solve_mclp([near, far_cover], [w, w2], p=4, hierarchical=True, solver=SolverOptions(method='exact'))
    first_only = solve_mclp(near, w, p=4, solver=SolverOptions(method='exact'))
    assert covered_weight(near, w, hier.chosen, np.zeros(400, bool)) == pytest.approx(first_only.objective)
    assert hier.objective == pytest.approx(first_only.objective)
    lex = solve_mclp([near, far_cover], [w, w2], p=4, hierarchical=True, solver=SolverOptions(method='greedy'))
    assert lex.objective <= first_only.objective + 1e-9 and lex.bound >= first_only.objective - 1e-6
    assert lex.objective >= 0.95 * first_only.objective
    del far


def test_lscp_fewest_sites_reaching_target() -> None:
    cover, w, _ = planar(150, 10, 2.5, 15)
    a = (cover != 0).astype(float).tocsc()
    target = 0.8
    best = None
    for k in range(11):
        for combo in itertools.combinations(range(10), k):
            sel = np.zeros(10)
            sel[list(combo)] = 1
            if w[(a @ sel) > 0].sum() >= target * w.sum() - 1e-9:
                best = k
                break
        if best is not None:
            break
    for method in ("exact", "greedy"):
        res = solve_lscp(cover, w, target=target, solver=SolverOptions(method=method))
        assert res.table["covered_share_after"].iloc[-1] >= target - 1e-9
        if method == "exact":
            assert res.objective == best and res.status == "optimal"
        else:
            assert res.objective >= best and res.bound <= best


def test_pmedian_matches_brute_force() -> None:
    cost, w, _ = planar(120, 10, 4.0, 16)
    fixed_cost = np.full(120, np.inf)
    fixed_cost[:20] = 0.5
    unreached = 8.0
    dense = cost.toarray()
    dense[cost.toarray() == 0] = unreached
    best = math.inf
    for combo in itertools.combinations(range(10), 3):
        cur = np.minimum(np.where(np.isfinite(fixed_cost), fixed_cost, unreached), dense[:, list(combo)].min(axis=1))
        best = min(best, float(w @ cur))
    for method in ("exact", "greedy"):
        res = solve_pmedian(cost, w, p=3, fixed_cost=fixed_cost, unreached_cost=unreached, solver=SolverOptions(method=method))
        assert res.objective >= best - 1e-9
        assert res.bound <= best + 1e-6
        if method == "exact":
            assert res.objective == pytest.approx(best) and res.status == "optimal"
    assert (np.diff(res.table["mean_cost_after"]) <= 1e-9).all()


# --------------------------------------------------------------------------------------------
# Real world: Futian network, taxi demand, charging stations; yizhan vs spopt


@pytest.fixture(scope="module")
def futian_instance(futian_graphml, taxi_csv, ev_stations_csv, tmp_path_factory):
    from yizhan.geo.paths import pairs_within, snap
    from yizhan.geo.sources import build_network
    from yizhan.stations.coords import to_wgs84

    net = build_network(futian_graphml, mode="walk", cache_dir=tmp_path_factory.mktemp("net"))
    west, east = net.lon.min(), net.lon.max()
    south, north = net.lat.min(), net.lat.max()
    taxi = pd.read_csv(taxi_csv)
    taxi = taxi[taxi["Lng"].between(west, east) & taxi["Lat"].between(south, north)]
    taxi = taxi.iloc[:: max(1, len(taxi) // 400)].reset_index(drop=True)
    demand = gpd.GeoSeries(gpd.points_from_xy(taxi["Lng"], taxi["Lat"]), crs="EPSG:4326")
    weight = np.round(taxi["price"].to_numpy(float))
    ev = pd.read_csv(ev_stations_csv)
    lon, lat = to_wgs84(ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), "gcj02")
    inside = (lon > west) & (lon < east) & (lat > south) & (lat < north)
    inside &= np.arange(len(ev)) % 5 == 0  # a sparse "existing" network leaves real gaps
    existing = gpd.GeoSeries(gpd.points_from_xy(lon[inside], lat[inside]), crs="EPSG:4326")
    nodes = np.arange(0, net.n_nodes, max(1, net.n_nodes // 150))
    cands = gpd.GeoSeries(gpd.points_from_xy(net.lon[nodes], net.lat[nodes]), crs="EPSG:4326")
    sd = snap(net, demand)
    limit = 600.0
    cost_new = pairs_within(net, snap(net, cands), sd, weight="length", limit=limit, include_access=True)
    cost_old = pairs_within(net, snap(net, existing), sd, weight="length", limit=limit, include_access=True)
    return cost_new, cost_old, weight, limit


def _dense(costs: sp.csr_matrix, fill: float) -> np.ndarray:
    out = np.full(costs.shape, fill)
    coo = costs.tocoo()
    out[coo.row, coo.col] = coo.data
    return out


def _pulp_solver():
    import pulp

    return pulp.HiGHS(msg=False) if "HiGHS" in pulp.listSolvers(onlyAvailable=True) else pulp.PULP_CBC_CMD(msg=False)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulp.*", "ignore::FutureWarning:spopt.*",
                                        "ignore::UserWarning:spopt.*")


@pytest.mark.slow
@pytest.mark.parametrize("p", [3, 8])
def test_mclp_equals_spopt_on_futian(futian_instance, p: int) -> None:
    from spopt.locate import MCLP

    cost_new, cost_old, weight, limit = futian_instance
    n_old = cost_old.shape[1]
    assert n_old > 0 and cost_new.nnz > 0
    fixed = np.diff(cost_old.indptr) > 0
    ours = solve_mclp(cost_new, weight, p=p, fixed_covered=fixed, solver=SolverOptions(method='exact'))
    matrix = np.hstack([_dense(cost_old, 1e9), _dense(cost_new, 1e9)])
    predefined = np.r_[np.ones(n_old), np.zeros(cost_new.shape[1])].astype(int)
    theirs = MCLP.from_cost_matrix(matrix, weight, service_radius=limit, p_facilities=n_old + p,
                                   predefined_facilities_arr=predefined)
    theirs = theirs.solve(_pulp_solver())
    assert ours.objective == pytest.approx(theirs.problem.objective.value())
    greedy = solve_mclp(cost_new, weight, p=p, fixed_covered=fixed, solver=SolverOptions(method='greedy'))
    assert greedy.objective <= ours.objective + 1e-9
    assert greedy.objective >= 0.95 * ours.objective
    assert greedy.bound >= ours.objective - 1e-6


@pytest.mark.slow
def test_lscp_equals_spopt_on_futian(futian_instance) -> None:
    from spopt.locate import LSCP

    cost_new, cost_old, weight, limit = futian_instance
    reach = (np.diff(cost_new.indptr) > 0) | (np.diff(cost_old.indptr) > 0)
    cost_new, cost_old, weight = cost_new[reach], cost_old[reach], weight[reach]
    fixed = np.diff(cost_old.indptr) > 0
    ours = solve_lscp(cost_new, weight, target=1.0, fixed_covered=fixed, solver=SolverOptions(method='exact'))
    n_old = cost_old.shape[1]
    matrix = np.hstack([_dense(cost_old, 1e9), _dense(cost_new, 1e9)])
    predefined = np.r_[np.ones(n_old), np.zeros(cost_new.shape[1])].astype(int)
    theirs = LSCP.from_cost_matrix(matrix, service_radius=limit, predefined_facilities_arr=predefined)
    theirs = theirs.solve(_pulp_solver())
    assert ours.objective == pytest.approx(theirs.problem.objective.value() - n_old)
    assert ours.table["covered_share_after"].iloc[-1] == pytest.approx(1.0)


@pytest.mark.slow
def test_pmedian_equals_spopt_on_futian(futian_instance) -> None:
    from spopt.locate import PMedian

    cost_new, cost_old, weight, limit = futian_instance
    unreached = 2 * limit
    fixed_cost = np.full(cost_old.shape[0], np.inf)
    coo = cost_old.tocoo()
    np.minimum.at(fixed_cost, coo.row, coo.data)
    p = 6
    ours = solve_pmedian(cost_new, weight, p=p, fixed_cost=fixed_cost, unreached_cost=unreached, solver=SolverOptions(method='exact'))
    n_old = cost_old.shape[1]
    matrix = np.hstack([_dense(cost_old, unreached), _dense(cost_new, unreached)])
    predefined = np.r_[np.ones(n_old), np.zeros(cost_new.shape[1])].astype(int)
    theirs = PMedian.from_cost_matrix(matrix, weight, p_facilities=n_old + p,
                                      predefined_facilities_arr=predefined)
    theirs = theirs.solve(_pulp_solver())
    assert ours.objective == pytest.approx(theirs.problem.objective.value(), rel=1e-7)
    greedy = solve_pmedian(cost_new, weight, p=p, fixed_cost=fixed_cost, unreached_cost=unreached, solver=SolverOptions(method='greedy'))
    assert greedy.objective >= ours.objective - 1e-6
    assert greedy.bound <= ours.objective + 1e-6


# --------------------------------------------------------------------------------------------
# Errors


def test_errors_name_the_fix() -> None:
    cover, w, xy = planar(100, 8, 2.0, 20)
    area = np.where(xy[:, 0] < 5, "a", "b")
    with pytest.raises(ConfigError, match="min-per-area"):
        solve_mclp(cover, w, p=4, constraints=SiteConstraints(area_of_candidate=area, min_per_area=6))
    with pytest.raises(ConfigError, match="more than p"):
        solve_mclp(cover, w, p=3, constraints=SiteConstraints(area_of_candidate=area, min_per_area=2))
    with pytest.raises(ConfigError, match="admin layer"):
        solve_mclp(cover, w, p=3, constraints=SiteConstraints(min_per_area=1))
    with pytest.raises(ConfigError, match="cannot be"):
        solve_lscp(cover[:, :1], w, target=0.99)
    with pytest.raises(ConfigError, match="Unknown method"):
        solve_mclp(cover, w, p=2, solver=SolverOptions(method='fast'))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sites p"):
        solve_mclp(cover, w, p=-1)
    all_pairs = np.array(list(itertools.combinations(range(8), 2)))
    with pytest.raises(ConfigError, match="cannot all be met"):
        solve_mclp(cover, w, p=3, constraints=SiteConstraints(conflicts=all_pairs, area_of_candidate=area, min_per_area={'a': 1, 'b': 1}), solver=SolverOptions(method='exact'))


def test_result_summary_is_json_ready() -> None:
    cover, w, _ = planar(200, 20, 2.0, 21)
    res = solve_mclp(cover, w, p=3)
    assert isinstance(res, SitingResult)
    summary = res.summary()
    assert summary["solver"] and summary["sizes"]["demand_rows"] == 200
    assert summary["gap"] == 0.0 and summary["n_sites"] == len(res.chosen)


# --------------------------------------------------------------------------------------------
# suggest_sites end to end on Futian: predictions checked by recomputing coverage


@pytest.fixture(scope="module")
def futian_world(futian_graphml, taxi_csv, ev_stations_csv, tmp_path_factory):
    from yizhan.geo.sources import build_network
    from yizhan.stations.coords import to_wgs84

    net = build_network(futian_graphml, mode="walk", cache_dir=tmp_path_factory.mktemp("net2"))
    taxi = pd.read_csv(taxi_csv)
    inside = taxi["Lng"].between(net.lon.min(), net.lon.max()) & taxi["Lat"].between(net.lat.min(), net.lat.max())
    taxi = taxi[inside].reset_index(drop=True)
    demand = gpd.GeoDataFrame(
        {"demand_id": taxi["orderid"].astype(int).astype(str), "weight": taxi["price"].round(2),
         "group": np.where(taxi["isnight"], "driver", "rider")},
        geometry=gpd.points_from_xy(taxi["Lng"], taxi["Lat"]), crs="EPSG:4326")
    ev = pd.read_csv(ev_stations_csv)
    lon, lat = to_wgs84(ev["longitude"].to_numpy(), ev["latitude"].to_numpy(), "gcj02")
    keep = (lon > net.lon.min()) & (lon < net.lon.max()) & (lat > net.lat.min()) & (lat < net.lat.max())
    keep &= np.arange(len(ev)) % 2 == 0
    stations = gpd.GeoDataFrame(
        {"station_id": ev["station_id"].astype(str).to_numpy()[keep],
         "toilet": ev["count"].to_numpy()[keep] >= 8, "drinking_water": True},
        geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs="EPSG:4326")
    mid = float(np.median(net.lon))
    from shapely.geometry import box

    admin = gpd.GeoDataFrame(
        {"admin_name": ["西街道 West", "东街道 East"]},
        geometry=[box(net.lon.min() - 0.01, net.lat.min() - 0.01, mid, net.lat.max() + 0.01),
                  box(mid, net.lat.min() - 0.01, net.lon.max() + 0.01, net.lat.max() + 0.01)],
        crs="EPSG:4326")
    return {"walk": net}, stations, demand, admin


def _with_new_sites(stations, suggestions):
    """Return stations plus the suggested sites (built with every amenity) and upgrades applied."""
    new = suggestions[suggestions["kind"] == "new"]
    added = gpd.GeoDataFrame({"station_id": new["candidate_id"].to_numpy(), "toilet": True,
                              "drinking_water": True}, geometry=new.geometry.to_numpy(), crs="EPSG:4326")
    out = pd.concat([stations, added], ignore_index=True)
    for row in suggestions[suggestions["kind"] == "upgrade"].itertuples():
        for key in str(row.amenities_to_add).split(","):
            out.loc[out["station_id"] == row.candidate_id, key] = True
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


@pytest.mark.slow
def test_suggested_sites_really_add_the_coverage_they_claim(futian_world) -> None:
    from yizhan.geo.coverage import compute_coverage

    nets, stations, demand, _ = futian_world
    rules = [make_rule(mode="walk", cutoff="400m", name="near"),
             make_rule(mode="walk", cutoff="700m", requires="toilet", name="toilet")]
    before = compute_coverage(nets, stations, demand, rules)
    res = suggest_sites(nets, stations, before, SitingOptions(n_sites=4, min_spacing_m=250))
    t = res.table
    assert len(t) == 4 and t["rank"].tolist() == [1, 2, 3, 4]
    assert {"candidate_id", "lon", "lat", "admin_area", "weight_gained", "covered_share_after", "kind",
            "amenities_to_add", "near_gained", "toilet_share_after"} <= set(t.columns)
    assert (t["weight_gained"].diff().dropna() <= 1e-6).all()
    after = compute_coverage(nets, _with_new_sites(stations, t), demand, rules)
    for k, rule in enumerate(rules):
        cov = after.table[f"{rule.name}_covered"].to_numpy()
        assert (cov == res.covered_after[k]).all()
        share = after.summary.set_index("rule").loc[rule.name, "covered_share"]
        assert t[f"{rule.name}_share_after"].iloc[-1] == pytest.approx(share, abs=1e-6)
    total = demand["weight"].sum() * 2
    covered = sum(after.table.loc[after.table[f"{r.name}_covered"], "weight"].sum() for r in rules)
    assert res.objective == pytest.approx(covered)
    assert t["covered_share_after"].iloc[-1] == pytest.approx(covered / total, abs=1e-6)
    # spacing: no two stations (new or existing) closer than 250 m
    from yizhan.geo.candidates import near_stations, spacing_conflicts

    assert len(spacing_conflicts(t, min_spacing_m=250)) == 0
    assert not near_stations(t, stations, min_spacing_m=250).any()


@pytest.mark.slow
def test_upgrades_within_budget_and_min_per_area(futian_world) -> None:
    from yizhan.geo.coverage import compute_coverage

    nets, stations, demand, admin = futian_world
    rule = make_rule(mode="walk", cutoff="700m", requires="toilet", name="toilet")
    cov = compute_coverage(nets, stations, demand, [rule], admin=admin)
    res = suggest_sites(nets, stations, cov, SitingOptions(budget=3.0), admin=admin)
    t = res.table
    assert (t["kind"] == "upgrade").any(), "cheap toilet upgrades should win under a budget"
    assert t["cost"].sum() <= 3.0 + 1e-9
    assert set(t.loc[t["kind"] == "upgrade", "candidate_id"]) <= set(stations["station_id"])
    assert set(t.loc[t["kind"] == "upgrade", "amenities_to_add"]) == {"toilet"}
    after = compute_coverage(nets, _with_new_sites(stations, t), demand, [rule])
    assert t["covered_share_after"].iloc[-1] == pytest.approx(after.summary["covered_share"].iloc[0], abs=1e-6)
    per_area = suggest_sites(nets, stations, cov, SitingOptions(n_sites=4, min_per_area=2), admin=admin)
    assert per_area.table["admin_area"].value_counts().to_dict() == {"西街道 West": 2, "东街道 East": 2}
    lscp = suggest_sites(nets, stations, cov, SitingOptions(target=0.9, model="lscp"))
    assert lscp.table["covered_share_after"].iloc[-1] >= 0.9 - 1e-9
    assert lscp.status == "optimal" and lscp.objective == len(lscp.table)
    pmed = suggest_sites(nets, stations, cov, SitingOptions(n_sites=3, model="pmedian"))
    assert len(pmed.table) == 3 and (pmed.table["cost_saved"] > 0).all()


@pytest.mark.slow
def test_user_candidates_keep_their_ids(futian_world, tmp_path) -> None:
    nets, stations, demand, _ = futian_world
    net = nets["walk"]
    idx = np.arange(0, net.n_nodes, 40)
    path = tmp_path / "sites.csv"
    pd.DataFrame({"编号": [f"工会-{i}" for i in idx], "经度": net.lon[idx], "纬度": net.lat[idx],
                  "费用": np.where(idx % 80 == 0, 2.0, 1.0)}).to_csv(path, index=False)
    from yizhan.geo.candidates import read_candidates

    cands = read_candidates(path)
    rule = make_rule(mode="walk", cutoff="500m")
    from yizhan.geo.coverage import compute_coverage

    cov = compute_coverage(nets, stations, demand, [rule])
    res = suggest_sites(nets, stations, cov, SitingOptions(budget=3.0), candidates=cands)
    assert res.table["candidate_id"].str.startswith("工会-").all()
    assert res.table["cost"].sum() <= 3.0


# --------------------------------------------------------------------------------------------
# CLI


@pytest.mark.slow
def test_cli_suggest_and_gaps(futian_graphml, taxi_csv, ev_stations_csv, tmp_path) -> None:
    import json

    from yizhan.scripts.cli import main

    common = ["--network", str(futian_graphml), "--stations", str(ev_stations_csv), "--crs", "gcj02",
              "--demand", str(taxi_csv), "--demand-crs", "wgs84", "--cache", str(tmp_path / "cache")]
    out = tmp_path / "out"
    code = main(["-q", "suggest", *common, "--mode", "walk", "--cutoff", "500m", "--sites", "3",
                 "--min-spacing", "300m", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "suggestions.csv", encoding="utf-8-sig")
    assert table.columns[:14].tolist() == ["rank", "candidate_id", "name", "kind", "source", "lon", "lat",
                                           "place", "admin_area", "cost", "weight_gained",
                                           "covered_share_after", "covered_pct_after",
                                           "amenities_to_add"]
    # each site is named for the real Futian street it is on (OSM names in the graph)
    # (or, on an unnamed service road, the nearest named one and how far it is)
    assert table["place"].str.fullmatch(r"(\S+)旁 beside \1|近(\S+)（约 \d+ 米）near \2 \(about \d+ m\)").all()
    assert (~table["place"].str.startswith("无名道路")).any()
    assert table["rank"].tolist() == [1, 2, 3]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"objective", "bound", "gap", "solver", "seconds", "sizes"} <= set(summary)
    assert summary["sizes"]["reduced_rows"] <= summary["sizes"]["demand_rows"]
    assert summary["rules"][0]["covered_share_after"] > summary["rules"][0]["covered_share_before"]
    assert len(gpd.read_file(out / "suggestions.geojson")) == 3
    first = (out / "suggestions.csv").read_bytes()
    assert main(["-q", "suggest", *common, "--mode", "walk", "--cutoff", "500m", "--sites", "3",
                 "--min-spacing", "300m", "--out", str(out)]) == 0
    assert (out / "suggestions.csv").read_bytes() == first  # deterministic
    config = tmp_path / "plan.toml"
    config.write_text('[[rules]]\nmode = "walk"\ncutoff = "500m"\n\n[siting]\ntarget = "6%"\nmin_spacing = "200m"\n',
                      encoding="utf-8")
    assert main(["-q", "suggest", *common, "--config", str(config), "--greedy", "--out", str(tmp_path / "o2")]) == 0
    s2 = json.loads((tmp_path / "o2" / "summary.json").read_text(encoding="utf-8"))
    assert s2["model"] == "lscp" and s2["rules"][0]["covered_share_after"] >= 0.06
    assert main(["-q", "gaps", *common, "--mode", "walk", "--cutoff", "500m", "--out", str(tmp_path / "g")]) == 0
    gaps = gpd.read_file(tmp_path / "g" / "gaps.geojson")
    assert len(gaps) > 0 and gaps["gap_id"].iloc[0].endswith("G001")
    # user errors: a message and exit code 2, nothing written
    assert main(["-q", "suggest", *common, "--mode", "walk", "--cutoff", "500m", "--out", str(tmp_path / "o3")]) == 2
    assert not (tmp_path / "o3").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nmode = "walk"\ncutoff = "500m"\n[siting]\nsitez = 3\n', encoding="utf-8")
    assert main(["-q", "suggest", *common, "--config", str(bad), "--out", str(tmp_path / "o4")]) == 2


def test_siting_options_from_toml() -> None:
    opts = parse_siting_options({"n_sites": 5, "min_spacing": "300m", "rule_weights": [1, 0.5],
                                 "hierarchical": False, "target": "95%", "upgrade_cost": {"toilet": 2}})
    assert opts.n_sites == 5 and opts.min_spacing_m == 300 and opts.rule_weights == (1.0, 0.5)
    assert opts.target == pytest.approx(0.95) and opts.upgrade_cost == {"toilet": 2}
    assert parse_share("0.9") == pytest.approx(0.9) and parse_share("90") == pytest.approx(0.9)
    with pytest.raises(ConfigError, match="unknown"):
        parse_siting_options({"n_site": 5})
    with pytest.raises(ConfigError):
        parse_siting_options({"min_spacing": "10min"})
    with pytest.raises(ConfigError):
        parse_share("150%")


def test_large_instance_path_bounds_and_improves(monkeypatch) -> None:
    import yizhan.geo.siting.mclp as siting

    cover, w, _ = planar(6000, 300, 0.9, 30)
    fixed = np.random.default_rng(30).random(6000) < 0.2
    exact = solve_mclp(cover, w, p=12, fixed_covered=fixed, solver=SolverOptions(method='exact', time_limit=120))
    assert exact.status == "optimal"
    monkeypatch.setattr(siting, "AUTO_MIP_NONZEROS", 100)  # force the large-instance strategy
    res = solve_mclp(cover, w, p=12, fixed_covered=fixed, solver=SolverOptions(method='auto', time_limit=20))
    assert "lagrangian-bound" in res.solver and "core-mip" in res.solver
    assert res.objective <= exact.objective + 1e-9
    assert res.bound >= exact.objective - 1e-6
    assert res.gap <= 0.01
    greedy = solve_mclp(cover, w, p=12, fixed_covered=fixed, solver=SolverOptions(method='greedy', time_limit=20))
    assert greedy.objective <= res.objective + 1e-9 and greedy.bound >= exact.objective - 1e-6
    budgeted = solve_mclp(cover, w, p=None, fixed_covered=fixed, constraints=SiteConstraints(budget=12), solver=SolverOptions(method='greedy', time_limit=10))
    assert budgeted.bound >= exact.objective - 1e-6  # subgradient bound with a budget of 12 unit costs


@pytest.mark.slow
def test_nothing_to_suggest_when_everything_is_covered(futian_world) -> None:
    from yizhan.geo.coverage import compute_coverage

    nets, stations, demand, _ = futian_world
    rule = make_rule(mode="walk", cutoff="50km")
    cov = compute_coverage(nets, stations, demand, [rule])
    on_net = ~cov.table[f"{rule.name}_off_network"].to_numpy(bool)
    assert cov.table.loc[on_net, f"{rule.name}_covered"].all()
    res = suggest_sites(nets, stations, cov, SitingOptions(n_sites=3))
    assert len(res.table) == 0 and res.solver == "no-candidates"
    assert res.objective == pytest.approx(cov.table.loc[cov.table[f"{rule.name}_covered"], "weight"].sum())


def test_models_come_from_one_registry(monkeypatch) -> None:
    """The CLI offers the registry's models; a model added to the registry is accepted everywhere."""
    from dataclasses import replace

    import yizhan.geo.siting.registry as registry
    from yizhan.geo.siting import MODELS, SitingModel
    from yizhan.geo.siting.mclp import solve_problem
    from yizhan.scripts.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    suggest = sub.choices["suggest"]
    model_flag = next(a for a in suggest._actions if a.dest == "model")
    assert tuple(model_flag.choices) == tuple(MODELS)

    def greedy_only(problem):
        o = problem.options
        return solve_problem(replace(problem, options=replace(o, method="greedy")))

    extra = SitingModel(key="mclp-greedy", title="贪心 greedy", needs_target=False,
                        capacity=True, solve=greedy_only)
    monkeypatch.setitem(registry.MODELS, extra.key, extra)
    opts = parse_siting_options({"model": "mclp-greedy", "n_sites": 2})
    assert opts.resolved().model == "mclp-greedy"
    with pytest.raises(ConfigError, match="nope"):
        parse_siting_options({"model": "nope"})


@pytest.mark.slow
def test_a_target_out_of_reach_because_of_off_network_demand_is_said(futian_world) -> None:
    from yizhan.geo.coverage import compute_coverage

    nets, stations, demand, _ = futian_world
    far = demand.iloc[: len(demand) // 10].copy()  # a tenth of the demand moved 5 km east
    far["demand_id"] = "far-" + far["demand_id"].astype(str)
    far["geometry"] = far.geometry.translate(xoff=0.05)
    demand = gpd.GeoDataFrame(pd.concat([demand, far], ignore_index=True), crs="EPSG:4326")
    rule = make_rule(mode="walk", cutoff="500m")
    cov = compute_coverage(nets, stations, demand, [rule])
    off = cov.table[f"{rule.name}_off_network"].mean()
    assert off > 0.05
    with pytest.raises(ConfigError, match="out of reach"):
        suggest_sites(nets, stations, cov, SitingOptions(target=0.99, model="lscp"))
