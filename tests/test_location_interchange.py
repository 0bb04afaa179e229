"""Fast interchange, p-median reduced-cost fixing and the large p-median path."""

from __future__ import annotations

import itertools

import numpy as np

from optimizer.location.bench import random_pmedian
from optimizer.location.check import check_sites
from optimizer.location.interchange import fast_interchange, weighted_costs
from optimizer.location.lagrange import lagrangian_pmedian, pmedian_fixing
from optimizer.location.solve import solve_facility


def _cost_by_loops(problem, open_mask) -> float:  # type: ignore[no-untyped-def]
    total = 0.0
    for i in range(problem.n):
        best = min(float(problem.cost[i, j]) for j in range(problem.m) if open_mask[j])
        total += float(problem.demand[i]) * best
    return total


def _brute_force(problem) -> float:  # type: ignore[no-untyped-def]
    best = np.inf
    for combo in itertools.combinations(range(problem.m), problem.p):
        mask = np.zeros(problem.m, bool)
        mask[list(combo)] = True
        best = min(best, _cost_by_loops(problem, mask))
    return best


def test_interchange_never_worsens_and_cost_is_exact() -> None:
    prob = random_pmedian(80, 14, 4, seed=3)
    w = weighted_costs(prob)
    rng = np.random.default_rng(1)
    for _ in range(10):
        start = np.zeros(prob.m, bool)
        start[rng.choice(prob.m, prob.p, replace=False)] = True
        before = _cost_by_loops(prob, start)
        cost, mask, _ = fast_interchange(w, start)
        assert int(mask.sum()) == prob.p
        assert cost <= before + 1e-9
        assert abs(cost - _cost_by_loops(prob, mask)) <= 1e-9 * max(1.0, cost)
        # a local optimum: no single swap improves it
        for j in np.flatnonzero(mask):
            for k in np.flatnonzero(~mask):
                other = mask.copy()
                other[j], other[k] = False, True
                assert _cost_by_loops(prob, other) >= cost - 1e-7


def test_interchange_respects_must_and_may_open() -> None:
    prob = random_pmedian(60, 10, 3, seed=4)
    w = weighted_costs(prob)
    must = np.zeros(prob.m, bool)
    must[0] = True
    may = np.ones(prob.m, bool)
    may[[1, 2]] = False
    start = np.zeros(prob.m, bool)
    start[[0, 3, 4]] = True
    _, mask, _ = fast_interchange(w, start, may_open=may, must_open=must)
    assert mask[0] and not mask[1] and not mask[2] and int(mask.sum()) == 3


def test_pmedian_fixing_keeps_the_optimum() -> None:
    prob = random_pmedian(70, 12, 3, seed=5)
    opt = _brute_force(prob)
    w = weighted_costs(prob)
    lag = lagrangian_pmedian(prob, time_limit_s=5.0, w=w)
    assert lag.bound <= opt + 1e-6 <= lag.upper + 2e-6
    closed, opened, floor = pmedian_fixing(prob, w, lag.lam, lag.upper)
    assert floor > lag.upper or not (closed.any() or opened.any())
    # every optimal plan respects the fixings
    for combo in itertools.combinations(range(prob.m), prob.p):
        mask = np.zeros(prob.m, bool)
        mask[list(combo)] = True
        if _cost_by_loops(prob, mask) <= opt + 1e-9:
            assert not (mask & closed).any()
            assert (mask | ~opened).all()


def test_large_pmedian_path_bound_and_checker() -> None:
    prob = random_pmedian(90, 12, 3, seed=6)
    opt = _brute_force(prob)
    dec = solve_facility(prob, model="p-median", k_nearest=3, time_limit_s=20)
    assert dec.feasible and not check_sites(prob, dec)
    assert dec.bound <= opt + 1e-6
    assert abs(dec.objective - opt) <= 1e-6 * opt
    assert (
        abs(dec.objective - _cost_by_loops(prob, np.isin(prob.facility_ids, dec.open_ids))) < 1e-6
    )
