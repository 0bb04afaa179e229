"""Optimum checks that need no benchmark files: the exact optimum is computed here.

The benchmark-instance tests skip without ``../shared``. These run anywhere: small
random instances (fixed seeds) whose optimum this file proves by exhaustive dynamic
programming, independent of the solvers, and the solvers must reach it.

* CVRP, 8 customers: every capacity-feasible subset is a route (Held-Karp TSP over
  it), the fleet covers the customers with the fewest-cost set partition.
* CVRP with time windows, 7 customers: the same, with a route feasible only if some
  order of its subset meets every window (checked over all orders).
* Capacitated facility location, 6 sites × 12 clients, single sourcing: every set of
  open sites, each with the exact cheapest capacity-feasible assignment.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from optimizer import FacilityProblem, RoutingProblem, solve_routes
from optimizer.location import solve_facility

IntArray = npt.NDArray[np.int64]
INF = float("inf")


def _euclid(rng: np.random.Generator, n: int) -> IntArray:
    xy = rng.uniform(0, 10_000, size=(n, 2))
    return np.rint(np.linalg.norm(xy[:, None] - xy[None, :], axis=2)).astype(np.int64)


def _tsp_costs(d: IntArray, customers: list[int]) -> dict[int, int]:
    """Held-Karp: the shortest depot tour through each subset (bitmask over customers)."""
    k = len(customers)
    best: dict[tuple[int, int], int] = {}
    for i, c in enumerate(customers):
        best[(1 << i, i)] = int(d[0, c])
    for mask in range(1, 1 << k):
        for last in range(k):
            if (mask, last) not in best:
                continue
            here = best[(mask, last)]
            for nxt in range(k):
                if mask & (1 << nxt):
                    continue
                key = (mask | (1 << nxt), nxt)
                cand = here + int(d[customers[last], customers[nxt]])
                if cand < best.get(key, 1 << 62):
                    best[key] = cand
    tour: dict[int, int] = {0: 0}
    for (mask, last), cost in best.items():
        total = cost + int(d[customers[last], 0])
        tour[mask] = min(tour.get(mask, 1 << 62), total)
    return tour


def _best_partition(route_cost: dict[int, int], k: int, vehicles: int) -> int:
    """The cheapest cover of all ``k`` customers by at most ``vehicles`` feasible routes."""
    full = (1 << k) - 1

    @cache
    def cover(mask: int, left: int) -> float:
        if mask == 0:
            return 0.0
        if left == 0:
            return INF
        low = mask & -mask  # the route that serves the lowest customer left
        best = INF
        sub = mask
        while sub:
            if sub & low and sub in route_cost:
                best = min(best, route_cost[sub] + cover(mask & ~sub, left - 1))
            sub = (sub - 1) & mask
        return best

    return int(cover(full, vehicles))


@pytest.mark.parametrize("seed", [3, 11])
def test_cvrp_reaches_the_proven_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 8
    d = _euclid(rng, k + 1)
    demand = np.concatenate([[0], rng.integers(10, 40, size=k)])
    capacity = 70
    customers = list(range(1, k + 1))
    tour = _tsp_costs(d, customers)
    feasible = {
        m: c
        for m, c in tour.items()
        if m and sum(int(demand[customers[i]]) for i in range(k) if m >> i & 1) <= capacity
    }
    optimum = _best_partition(feasible, k, vehicles=k)

    problem = RoutingProblem.from_matrix(d, demand, capacity=capacity, vehicles=k)
    plan = solve_routes(problem, time_limit_s=2, seed=1)
    assert not plan.unserved
    assert plan.distance_m == optimum, f"solver {plan.distance_m} m, optimum {optimum} m"


def _window_feasible(order: tuple[int, ...], t: IntArray, service: int, windows: IntArray) -> bool:
    clock = 0
    here = 0
    for c in order:
        clock = max(clock + int(t[here, c]), int(windows[c, 0]))
        if clock > windows[c, 1]:
            return False
        clock += service
        here = c
    return True


def test_vrptw_reaches_the_proven_optimum() -> None:
    rng = np.random.default_rng(7)
    k = 7
    d = _euclid(rng, k + 1)
    t = d // 10  # 10 m/s
    service = 300
    demand = np.concatenate([[0], rng.integers(10, 30, size=k)])
    capacity = 60
    starts = rng.integers(0, 2_400, size=k + 1)
    windows = np.stack([starts, starts + 1_200], axis=1)
    windows[0] = (0, 100_000)
    customers = list(range(1, k + 1))
    route_cost: dict[int, int] = {}
    for mask in range(1, 1 << k):
        members = [customers[i] for i in range(k) if mask >> i & 1]
        if sum(int(demand[c]) for c in members) > capacity:
            continue
        costs = [
            int(d[0, o[0]] + sum(d[a, b] for a, b in itertools.pairwise(o)) + d[o[-1], 0])
            for o in itertools.permutations(members)
            if _window_feasible(o, t, service, windows)
        ]
        if costs:
            route_cost[mask] = min(costs)
    optimum = _best_partition(route_cost, k, vehicles=k)
    assert optimum < 1 << 62

    service_s = np.full(k + 1, service)
    service_s[0] = 0
    problem = RoutingProblem.from_matrix(
        d, demand, capacity=capacity, vehicles=k, time=t, service=service_s, time_windows=windows
    )
    plan = solve_routes(problem, time_limit_s=2, seed=1)
    assert not plan.unserved
    assert plan.distance_m == optimum, f"solver {plan.distance_m} m, optimum {optimum} m"


def _cheapest_assignment(
    cost: npt.NDArray[np.float64],
    demand: npt.NDArray[np.float64],
    capacity: npt.NDArray[np.float64],
    sites: list[int],
) -> float:
    """Branch and bound over single-source assignments of every client to ``sites``."""
    order = [int(c) for c in np.argsort(-demand)]  # big clients first: tighter pruning
    load = dict.fromkeys(sites, 0.0)
    best = INF

    def place(i: int, acc: float) -> None:
        nonlocal best
        if acc >= best:
            return
        if i == len(order):
            best = acc
            return
        c = order[i]
        for j in sorted(sites, key=lambda s: cost[c, s]):
            if load[j] + demand[c] <= capacity[j] + 1e-9:
                load[j] += demand[c]
                place(i + 1, acc + cost[c, j] * demand[c])
                load[j] -= demand[c]

    place(0, 0.0)
    return best


def _cflp_optimum(
    cost: npt.NDArray[np.float64],
    demand: npt.NDArray[np.float64],
    capacity: npt.NDArray[np.float64],
    fixed: npt.NDArray[np.float64],
) -> float:
    """Every set of open sites, each with its exact cheapest assignment."""
    m = cost.shape[1]
    best = INF
    for open_mask in range(1, 1 << m):
        sites = [j for j in range(m) if open_mask >> j & 1]
        if sum(capacity[j] for j in sites) < demand.sum():
            continue
        assigned = _cheapest_assignment(cost, demand, capacity, sites)
        best = min(best, assigned + sum(fixed[j] for j in sites))
    return best


def test_capacitated_facility_location_reaches_the_proven_optimum() -> None:
    rng = np.random.default_rng(5)
    n, m = 12, 6
    clients = rng.uniform(0, 100, size=(n, 2))
    sites = rng.uniform(0, 100, size=(m, 2))
    cost = np.linalg.norm(clients[:, None] - sites[None, :], axis=2)
    demand = rng.integers(5, 20, size=n).astype(float)
    capacity = np.full(m, demand.sum() / 2.5).round()
    fixed = rng.uniform(200, 600, size=m).round()
    optimum = _cflp_optimum(cost, demand, capacity, fixed)

    problem = FacilityProblem.from_costs(cost, demand, capacity, fixed, single_source=True)
    decision = solve_facility(problem, time_limit_s=20)
    assert decision.status == "optimal"
    assert decision.objective == pytest.approx(optimum, rel=1e-6)
