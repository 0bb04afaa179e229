"""Independent check of a periodic solution: calendars, visits, loads, durations, cost.

Written apart from the solver and sharing none of its code: it walks the node
sequences of every day and recomputes everything from the problem's data.
"""

from __future__ import annotations

import itertools
from collections import Counter

from optimizer.periodic.problem import PeriodicProblem, PeriodicSolution

EPS = 1e-6


def verify_periodic(problem: PeriodicProblem, solution: PeriodicSolution) -> list[str]:
    """Every violation found, in words (an empty list means the solution is valid)."""
    p = problem
    out: list[str] = []
    if len(solution.patterns) != len(p.bins):
        return [f"{len(solution.patterns)} calendars for {len(p.bins)} bins"]
    if len(solution.days) != p.horizon:
        return [f"{len(solution.days)} days of routes for a {p.horizon}-day horizon"]
    bins = set(p.bins)
    facilities = set(p.facilities)
    travel = 0.0
    for day, routes in enumerate(solution.days):
        used = [r for r in routes if len(r) > 2]
        if len(used) > p.vehicles_per_day:
            out.append(f"day {day}: {len(used)} trucks, only {p.vehicles_per_day} available")
        for k, route in enumerate(routes):
            where = f"day {day} route {k}"
            if len(route) < 2 or route[0] != p.depot or route[-1] != p.depot:
                out.append(f"{where}: does not start and end at the depot")
                continue
            if len(route) == 2:
                continue
            if p.unload_before_depot and route[-2] not in facilities:
                out.append(f"{where}: returns to the depot without unloading at a facility")
            load = 0.0
            time = 0.0
            for a, b in itertools.pairwise(route):
                time += p.service[a] + p.travel[a][b]
                travel += p.travel[a][b]
            for node in route[1:-1]:
                if node == p.depot:
                    out.append(f"{where}: passes the depot mid-route")
                elif node in facilities:
                    load = 0.0
                elif node in bins:
                    load += p.demand[node]
                    if load > p.capacity + EPS:
                        out.append(
                            f"{where}: load {load:g} over the capacity {p.capacity:g} "
                            f"at {p.label(node)}"
                        )
                else:
                    out.append(f"{where}: unknown node {node}")
            if time > p.max_duration + EPS:
                out.append(f"{where}: lasts {time:g}, over the maximum {p.max_duration:g}")
    visits = [Counter(n for r in day for n in r[1:-1] if n in bins) for day in solution.days]
    for k, b in enumerate(p.bins):
        chosen = tuple(solution.patterns[k])
        if chosen not in p.patterns[k]:
            out.append(f"{p.label(b)}: calendar {list(chosen)} is not allowed")
        for day in range(p.horizon):
            want = 1 if day in chosen else 0
            got = visits[day][b]
            if got != want:
                out.append(f"{p.label(b)}: visited {got} times on day {day}, expected {want}")
    busiest = max((sum(1 for r in day if len(r) > 2) for day in solution.days), default=0)
    cost = travel + p.fleet_cost * busiest
    if abs(cost - solution.cost) > 1e-6 * max(1.0, abs(cost)):
        out.append(f"cost {solution.cost:g} reported, {cost:g} recomputed")
    return out
