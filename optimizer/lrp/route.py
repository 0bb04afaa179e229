"""Routing of a site set with the product's engine (:func:`optimizer.routing.solve_routes`).

Two ways: one catchment at a time (a CVRP per open site; the site's capacity holds
by construction, and a catchment routed once is cached so a local-search move
re-routes only the sites it changes), and all open sites together (a multi-depot
problem where customers may move to sites with room for every possible mover, so no
site can be overloaded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.lrp.problem import LocationRoutingProblem, LrpRoute, route_arc_cost
from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, solve_routes
from optimizer.routing.problem import UNLIMITED_S

#: The engine charges ``cost_per_km`` per 1000 distance units; a route's fixed cost is
#: stated in those thousands when it is a whole number of them (the Prodhon instances:
#: 1000), else the distance rate is scaled up instead. Both are exact either way.
THOUSAND = 1000


def _rates(route_cost: int) -> tuple[int, float]:
    """The vehicles' ``fixed_cost`` and ``cost_per_km`` for a route cost."""
    if route_cost % THOUSAND == 0:
        return route_cost // THOUSAND, 1.0
    return route_cost, float(THOUSAND)


SPARE_ROUTES = 2  # vehicles per site beyond the bin-packing bound ceil(load / Q)


def fleet_size(problem: LocationRoutingProblem, load: int) -> int:
    """Vehicles for a catchment of ``load``: the bin-packing bound plus spares."""
    return max(1, math.ceil(load / problem.vehicle_capacity)) + SPARE_ROUTES


def _fleet(problem: LocationRoutingProblem, site: int, node: int, count: int) -> list[Vehicle]:
    fixed, per_km = _rates(problem.route_cost)
    return [
        Vehicle(
            id=f"{problem.site_ids[site]}#{k + 1}",
            start=node,
            end=node,
            capacity_kg=problem.vehicle_capacity,
            capacity_l=0,
            fixed_cost=fixed,
            cost_per_km=per_km,
            shift_s=UNLIMITED_S,
        )
        for k in range(count)
    ]


def routing_problem(
    problem: LocationRoutingProblem,
    sites: Sequence[int],
    customers: Sequence[int],
    counts: Mapping[int, int],
    allowed: Mapping[int, Sequence[int]] | None = None,
) -> tuple[RoutingProblem, list[int]]:
    """The routing problem of ``customers`` served from ``sites`` (nodes: the sites,
    then the customers) with ``counts[site]`` vehicles each; ``allowed`` restricts a
    customer to some of the sites. Returns the problem and the matrix row of each node."""
    rows = [*sites, *(problem.m + c for c in customers)]
    k = len(sites)
    fleet: list[Vehicle] = []
    by_site: dict[int, list[str]] = {}
    for node, j in enumerate(sites):
        vehicles = _fleet(problem, j, node, counts[j])
        by_site[j] = [v.id for v in vehicles]
        fleet += vehicles
    n = len(rows)
    demand = np.zeros(n, dtype=np.int64)
    demand[k:] = problem.demand[list(customers)]
    allowed_vehicles = None
    if allowed is not None:
        allowed_vehicles = {
            k + pos: frozenset(v for j in allowed[c] for v in by_site[j])
            for pos, c in enumerate(customers)
        }
    matrix = problem.cost[np.ix_(rows, rows)]
    routing = RoutingProblem(
        node_ids=tuple(
            [problem.site_ids[j] for j in sites] + [problem.customer_ids[c] for c in customers]
        ),
        kind=("depot",) * k + ("stop",) * len(customers),
        distance_m=matrix,
        time_s=np.zeros_like(matrix),
        demand_kg=demand,
        demand_l=np.zeros(n, dtype=np.int64),
        service_s=np.zeros(n, dtype=np.int64),
        time_window=np.tile(np.array([0, UNLIMITED_S], dtype=np.int64), (n, 1)),
        stream=(None,) * n,
        facility_streams={},
        vehicles=tuple(fleet),
        allowed_vehicles=allowed_vehicles,
        name=f"{problem.name} sites {','.join(problem.site_ids[j] for j in sites)}",
    )
    return routing, rows


def routes_of(
    problem: LocationRoutingProblem,
    routing: RoutingProblem,
    plan: RoutePlan,
    sites: Sequence[int],
    rows: Sequence[int],
) -> list[LrpRoute]:
    """The engine's routes as CLRP routes (site and customer indices); a vehicle's
    site is the one it starts from (node ``k`` is ``sites[k]``)."""
    site_of_vehicle = {v.id: sites[v.start] for v in routing.vehicles}
    out = []
    for route in plan.routes:
        if route.stops:
            customers = tuple(rows[s] - problem.m for s in route.stops)
            out.append(LrpRoute(site_of_vehicle[route.vehicle_id], customers))
    return out


def route_catchment(
    problem: LocationRoutingProblem,
    site: int,
    customers: Sequence[int],
    time_limit_s: float,
    seed: int = 0,
) -> tuple[int, list[LrpRoute]]:
    """Routes of one site's catchment and their cost (fixed per route + arcs)."""
    if not customers:
        return 0, []
    if len(customers) == 1:
        route = LrpRoute(site, (customers[0],))
        return problem.route_cost + route_arc_cost(problem, route), [route]
    load = int(problem.demand[list(customers)].sum())
    routing, rows = routing_problem(problem, [site], customers, {site: fleet_size(problem, load)})
    plan = solve_routes(routing, time_limit_s=time_limit_s, seed=seed, workers=1)
    if plan.unserved:
        node, why = plan.unserved[0]
        raise InfeasibleError(
            f"{problem.source}: site {problem.site_ids[site]}: the router left "
            f"{len(plan.unserved)} of its {len(customers)} customers unserved "
            f"(first: {routing.label(node)}: {why})"
        )
    routes = routes_of(problem, routing, plan, [site], rows)
    return cost_of(problem, routes), routes


def cost_of(problem: LocationRoutingProblem, routes: Sequence[LrpRoute]) -> int:
    """Fixed plus arc cost of some routes."""
    return sum(problem.route_cost + route_arc_cost(problem, r) for r in routes if r.customers)


def route_jointly(
    problem: LocationRoutingProblem,
    sites: Sequence[int],
    assignment: Mapping[int, int],
    time_limit_s: float,
    seed: int = 0,
    *,
    reach: int = 2,
    initial: Sequence[LrpRoute] | None = None,
    bounded: bool = False,
) -> list[LrpRoute] | None:
    """Route all open sites together, customers starting from ``assignment`` (customer
    -> site); ``initial`` routes, when given, warm-start the search.

    A customer may move to another of its ``reach`` nearest open sites only while
    that site has room for every customer allowed to move in (cheapest moves first),
    so no plan can overload a site: moving out only frees room. Calling it again with
    the new assignment offers the next moves. With ``bounded``, a site whose
    ``floor(W / Q)`` full vehicles hold its present load gets exactly that many
    vehicles instead, which keeps it within capacity whatever moves in, so any customer
    within ``reach`` may move there (exchanges between full sites). A plan that leaves
    customers out, or (a safeguard) overloads a site, is refused: None.
    """
    customers = sorted(assignment)
    m = problem.m
    load = {j: 0 for j in sites}
    for c in customers:
        load[assignment[c]] += int(problem.demand[c])
    allowed: dict[int, list[int]] = {c: [assignment[c]] for c in customers}
    moves = []
    for c in customers:
        home = assignment[c]
        for k in np.argsort(problem.cost[m + c, list(sites)], kind="stable")[:reach]:
            j = sites[int(k)]
            if j != home:
                extra = int(problem.cost[m + c, j]) - int(problem.cost[m + c, home])
                moves.append((extra, c, j))
    full_fleet = {j: int(problem.site_capacity[j]) // problem.vehicle_capacity for j in sites}
    capped = {
        j for j in sites if bounded and full_fleet[j] * problem.vehicle_capacity >= load[j] > 0
    }
    room = {j: int(problem.site_capacity[j]) - load[j] for j in sites}
    for _, c, j in sorted(moves):
        if j in capped:
            allowed[c].append(j)
        elif int(problem.demand[c]) <= room[j]:
            room[j] -= int(problem.demand[c])
            allowed[c].append(j)
    running = {j: sum(1 for r in initial or () if r.site == j and r.customers) for j in sites}
    counts = {}
    for j in sites:
        reachable = int(problem.demand[[c for c in customers if j in allowed[c]]].sum())
        counts[j] = (
            full_fleet[j] if j in capped else max(running[j], fleet_size(problem, reachable))
        )
    routing, rows = routing_problem(problem, list(sites), customers, counts, allowed)
    start = None
    if initial is not None:
        node_of = {row: node for node, row in enumerate(rows)}
        used: dict[int, int] = {}
        warm = []
        for r in initial:
            used[r.site] = used.get(r.site, 0) + 1
            vehicle = f"{problem.site_ids[r.site]}#{used[r.site]}"
            warm.append((vehicle, [node_of[m + c] for c in r.customers]))
        start = _warm_plan(warm)
    try:
        plan = solve_routes(routing, time_limit_s=time_limit_s, seed=seed, workers=1, initial=start)
    except InfeasibleError:  # a capped fleet too small for what must stay
        return None
    if plan.unserved:
        return None
    out = routes_of(problem, routing, plan, sites, rows)
    served: dict[int, int] = {}
    for r in out:
        served[r.site] = served.get(r.site, 0) + int(problem.demand[list(r.customers)].sum())
    if any(v > int(problem.site_capacity[j]) for j, v in served.items()):
        return None
    return out


def _warm_plan(routes: Sequence[tuple[str, list[int]]]) -> RoutePlan:
    """A stand-in plan whose ``sequences()`` are the given routes (a warm start)."""
    from optimizer.routing.result import Route, Visit

    plan_routes = tuple(
        Route(
            vehicle_id=vehicle,
            visits=tuple(Visit(node, "stop", 0, 0, 0, 0, 0) for node in nodes),
            distance_m=0,
            duration_s=0,
            cost=0.0,
        )
        for vehicle, nodes in routes
    )
    return RoutePlan("feasible", 0.0, plan_routes, (), 0.0)
