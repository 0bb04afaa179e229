"""Independent check of a CLRP solution: feasibility and the cost, recomputed.

Written apart from the solver (it shares only the problem's data): every customer
served exactly once, each route's load within the vehicle capacity, each route from
and back to one open site, each site's load within its capacity, and the reported
cost equal to opening costs + a fixed cost per route + the arc costs.
"""

from __future__ import annotations

from collections import Counter

from optimizer.lrp.problem import LocationRoutingProblem, LrpSolution


def verify_lrp(problem: LocationRoutingProblem, solution: LrpSolution) -> list[str]:
    """Every violation found, in words; an empty list means the solution is valid."""
    errors: list[str] = []
    m, n = problem.m, problem.n
    opened = set(solution.open_sites)
    if len(opened) != len(solution.open_sites):
        errors.append("a site is listed as open more than once")
    for j in opened:
        if not 0 <= j < m:
            errors.append(f"open site index {j} is not a candidate site")
    seen: Counter[int] = Counter()
    site_load: Counter[int] = Counter()
    total = sum(int(problem.opening_cost[j]) for j in opened if 0 <= j < m)
    for k, route in enumerate(solution.routes):
        name = f"route {k + 1}"
        if not 0 <= route.site < m:
            errors.append(f"{name} starts at {route.site}, not a candidate site")
            continue
        if route.site not in opened:
            errors.append(f"{name} starts at site {problem.site_ids[route.site]}, which is closed")
        if not route.customers:
            continue
        bad = [c for c in route.customers if not 0 <= c < n]
        if bad:
            errors.append(f"{name} visits unknown customer index {bad[0]}")
            continue
        load = 0
        previous = route.site
        for c in route.customers:
            seen[c] += 1
            load += int(problem.demand[c])
            total += int(problem.cost[previous, m + c])
            previous = m + c
        total += int(problem.cost[previous, route.site]) + problem.route_cost
        site_load[route.site] += load
        if load > problem.vehicle_capacity:
            errors.append(
                f"{name} from {problem.site_ids[route.site]} carries {load}, "
                f"over the vehicle capacity {problem.vehicle_capacity}"
            )
    left_out = set(solution.unserved)
    for c in range(n):
        times = seen[c]
        if times == 0 and c not in left_out:
            errors.append(f"customer {problem.customer_ids[c]} is not served")
        elif times > 1:
            errors.append(f"customer {problem.customer_ids[c]} is served {times} times")
        elif times == 1 and c in left_out:
            errors.append(f"customer {problem.customer_ids[c]} is served and listed unserved")
    for j, load in sorted(site_load.items()):
        if load > int(problem.site_capacity[j]):
            errors.append(
                f"site {problem.site_ids[j]} serves {load}, over its capacity "
                f"{int(problem.site_capacity[j])}"
            )
    if total != solution.cost:
        errors.append(f"reported cost {solution.cost} but the routes and sites cost {total}")
    return errors
