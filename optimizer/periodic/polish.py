"""Re-route each day of a finished week with the product's router (``solve_routes``).

The week search evaluates days with its own light local search; this hands every day,
calendars fixed, to :func:`optimizer.routing.solve_routes` (OR-Tools, unloads as
reload visits, routes ending empty) starting from the week's own routes, and keeps a
day's new routes only when they are cheaper and the whole week still verifies.
"""

from __future__ import annotations

import logging

import numpy as np

from optimizer.errors import OptimizerError
from optimizer.periodic.problem import DayRoutes, PeriodicProblem, PeriodicSolution, week_cost
from optimizer.periodic.verify import verify_periodic
from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, solve_routes

log = logging.getLogger(__name__)
SCALE = 100_000  # travel minutes to model "metres": the router's unload penalty becomes 1e-5 min


def day_problem(problem: PeriodicProblem, bins: list[int]) -> tuple[RoutingProblem, list[int]]:
    """The routing problem of one day serving ``bins``, and its node -> problem node map."""
    p = problem
    nodes = [p.depot, *bins, *p.facilities]
    kind = ("depot",) + ("stop",) * len(bins) + ("facility",) * len(p.facilities)
    travel = np.array([[p.travel[a][b] for b in nodes] for a in nodes], dtype=float)
    n = len(nodes)
    routing = RoutingProblem(
        node_ids=tuple(p.labels[v] for v in nodes),
        kind=kind,
        distance_m=np.rint(travel * SCALE).astype(np.int64),
        time_s=np.rint(travel * 60).astype(np.int64),
        demand_kg=np.array(
            [round(p.demand[v]) if k == "stop" else 0 for v, k in zip(nodes, kind, strict=True)]
        ),
        demand_l=np.zeros(n, dtype=np.int64),
        service_s=np.array([round(p.service[v] * 60) for v in nodes], dtype=np.int64),
        time_window=np.tile(np.array([0, 10**9], dtype=np.int64), (n, 1)),
        stream=(None,) * n,
        facility_streams={},
        vehicles=tuple(
            Vehicle(
                id=f"truck {k + 1}",
                start=0,
                end=0,
                capacity_kg=round(p.capacity),
                capacity_l=0,
                shift_s=round(p.max_duration * 60),
            )
            for k in range(p.vehicles_per_day)
        ),
        max_unload_trips=max(4, len(bins)),
        name=f"{p.name} day",
    )
    return routing, nodes


def _sequences(plan: RoutePlan, nodes: list[int], depot: int) -> DayRoutes:
    return tuple(
        (depot, *(nodes[v.node] for v in r.visits if v.kind in ("stop", "unload")), depot)
        for r in plan.routes
        if r.stops
    )


def polish(
    problem: PeriodicProblem, solution: PeriodicSolution, *, seconds_per_day: float
) -> PeriodicSolution:
    """The week with every day re-routed by ``solve_routes`` where that is cheaper."""
    exact = all(float(x).is_integer() for x in (*problem.demand, *problem.service))
    if not exact or any(not float(x).is_integer() for row in problem.travel for x in row):
        return solution  # the router rounds to integers; keep the exact week
    days = list(solution.days)
    for day, routes in enumerate(solution.days):
        bins = sorted({v for r in routes for v in r[1:-1] if v in set(problem.bins)})
        if not bins:
            continue
        routing, nodes = day_problem(problem, bins)
        try:
            plan = solve_routes(routing, time_limit_s=seconds_per_day)
        except OptimizerError as exc:
            log.info("%s day %d: the router found nothing better (%s)", problem.name, day, exc)
            continue
        if plan.unserved:
            continue
        candidate = _sequences(plan, nodes, problem.depot)
        trial = [*days[:day], candidate, *days[day + 1 :]]
        if week_cost(problem, tuple(trial)) < week_cost(problem, tuple(days)) - 1e-9:
            days = trial
    cost = week_cost(problem, tuple(days))
    out = PeriodicSolution(solution.patterns, tuple(days), cost, solution.runtime_s, True)
    return out if not verify_periodic(problem, out) else solution
