"""Driver breaks in decoded routes, and the fallback when OR-Tools cannot schedule them.

:func:`earliest_schedule` times a route's visits as early as the drive, the time
windows and the break window allow, with the break on the leg that brings the truck
back soonest. The decoder uses it for every route: OR-Tools' cumul values are only
*a* feasible schedule (with no cost per hour nothing makes them early, so a truck
could wait hours or reach its first stop late for no reason).

:func:`timed_route` builds a route from its nodes this way (PyVRP's plans, trips moved
between trucks).

On some long routes OR-Tools' break intervals reject even a warm start that is
feasible (the independent verifier accepts it). Then we solve a tightened problem
without break intervals: shifts, depot and facility closing times and every window
closing after the break window opens are brought forward by the break length. Any
plan of that problem stays feasible when the break is inserted afterwards and the
later visits are pushed back by at most the break length.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from optimizer.routing.cost import route_cost
from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, Visit, VisitKind


def tightened(problem: RoutingProblem, margin_s: int = 0) -> RoutingProblem:
    """The problem without break intervals but with room left for every break.

    ``margin_s`` is extra room for waiting until the break window opens.
    """
    p = problem
    with_break = [v for v in p.vehicles if v.break_window is not None and v.break_s > 0]
    if not with_break:
        return p
    longest = max(v.break_s for v in with_break) + margin_s
    earliest = min(v.break_window[0] for v in with_break if v.break_window is not None)
    tw = np.array(p.time_window)
    late = tw[:, 1] > earliest
    tw[late, 1] = np.maximum(tw[late, 0], tw[late, 1] - longest)
    vehicles = tuple(
        dataclasses.replace(
            v, break_window=None, break_s=0, shift_s=max(1, v.shift_s - v.break_s - margin_s)
        )
        if v.break_window is not None and v.break_s > 0
        else v
        for v in p.vehicles
    )
    return p.replace(time_window=tw, vehicles=vehicles)


@dataclasses.dataclass(frozen=True)
class _Route:
    """A route's fixed data for retiming: travel into each visit, services, windows."""

    visits: list[Visit]
    travel: list[int]  # travel[i]: seconds from visits[i - 1] to visits[i] (travel[0] = 0)
    service: list[int]
    opens: list[int]
    closes: list[int]

    @classmethod
    def of(cls, p: RoutingProblem, vehicle: Vehicle, visits: list[Visit]) -> _Route:
        travel = [0] + [
            round(float(p.time_s[a.node, b.node]) * vehicle.speed_factor)
            for a, b in itertools.pairwise(visits)
        ]
        service = [0 if v.kind == "depot_end" else v.departure_s - v.arrival_s for v in visits]
        return cls(
            visits,
            travel,
            service,
            [int(p.time_window[v.node, 0]) for v in visits],
            [int(p.time_window[v.node, 1]) for v in visits],
        )


def _times(r: _Route, vehicle: Vehicle, leg: int | None) -> tuple[list[int], int] | None:
    """Earliest arrivals with the break on leg ``leg`` (before ``visits[leg]``) and
    the break's start (-1 without), or None when a window, the depot closing time,
    the shift or the break window is missed. The truck leaves the first visit when
    it does in the route."""
    bw = vehicle.break_window
    arrive = [r.visits[0].arrival_s]
    depart = r.visits[0].departure_s
    break_start = -1
    for k in range(1, len(r.visits)):
        earliest = depart + r.travel[k]
        if k == leg and bw is not None:
            break_start = max(depart, bw[0])
            if break_start > bw[1]:
                return None
            # the break may fall during the drive: it only has to fit in the leg
            earliest = max(earliest, break_start) + vehicle.break_s
        t = max(earliest, r.opens[k])
        if t > r.closes[k]:
            return None
        arrive.append(t)
        depart = t + r.service[k]
    if arrive[-1] - arrive[0] > vehicle.shift_s:
        return None
    return arrive, break_start


def _visits(
    r: _Route, vehicle: Vehicle, times: tuple[list[int], int], leg: int | None
) -> list[Visit]:
    arrive, break_start = times
    out: list[Visit] = []
    for k, (visit, t) in enumerate(zip(r.visits, arrive, strict=True)):
        if k == leg:
            prev = out[-1]
            out.append(
                dataclasses.replace(
                    prev,
                    kind="break",
                    arrival_s=break_start,
                    departure_s=break_start + vehicle.break_s,
                )
            )
        out.append(dataclasses.replace(visit, arrival_s=t, departure_s=t + r.service[k]))
    return out


def _candidate_legs(r: _Route, vehicle: Vehicle, prefer: int | None) -> list[int]:
    """The legs worth trying for the break: those the truck is on while the break
    window is open. A leg left before the window opens is never better than the next
    one (the break then starts when the window opens either way, one stop later)."""
    bw = vehicle.break_window
    assert bw is not None
    depart = [r.visits[0].departure_s]  # earliest departures without a break
    for k in range(1, len(r.visits)):
        depart.append(max(depart[-1] + r.travel[k], r.opens[k]) + r.service[k])
    last = len(r.visits) - 1
    legs = [
        leg
        for leg in range(1, last + 1)
        if depart[leg - 1] <= bw[1] and (leg == last or depart[leg] > bw[0])
    ]
    if prefer is not None and prefer not in legs and 1 <= prefer <= last:
        legs.append(prefer)
    return legs


def earliest_schedule(
    problem: RoutingProblem, vehicle: Vehicle, visits: Sequence[Visit], prefer: int | None = None
) -> list[Visit] | None:
    """The route's visits at their earliest times, with the vehicle's break (if it
    needs one) on the leg that brings the truck back soonest; None if impossible.

    ``visits`` holds no break; its first visit fixes when the truck leaves. Without
    a break the route is kept if it ends before the latest break start or starts
    after the earliest break end (the break then falls outside the route). Ties go
    to the break on leg ``prefer`` (before ``visits[prefer]``), the solver's choice.
    """
    r = _Route.of(problem, vehicle, [v for v in visits if v.kind != "break"])
    bw = vehicle.break_window
    best = _times(r, vehicle, None)
    best_leg: int | None = None
    if bw is None or vehicle.break_s <= 0:
        return None if best is None else _visits(r, vehicle, best, None)
    if best is not None:
        begin, end = best[0][0], best[0][-1]
        if not (bw[0] + vehicle.break_s <= begin or bw[1] >= end):
            best = None  # the route spans the break window: it needs its break
    best_key = (best[0][-1], 1) if best is not None else None
    for leg in _candidate_legs(r, vehicle, prefer):
        times = _times(r, vehicle, leg)
        if times is None:
            continue
        key = (times[0][-1], 0 if leg == prefer else 2)
        if best_key is None or key < best_key:
            best, best_key, best_leg = times, key, leg
    return None if best is None else _visits(r, vehicle, best, best_leg)


def timed_route(
    problem: RoutingProblem, vehicle: Vehicle, nodes: list[tuple[int, VisitKind]], start: int
) -> Route | None:
    """A route over ``nodes`` (kind per node) at its earliest times when leaving at
    ``start``; unloads with nothing on board are dropped. None when it cannot be timed."""
    p = problem
    visits: list[Visit] = []
    kg = litres = dist = 0
    prev = nodes[0][0]
    for node, kind in nodes:
        if kind == "unload" and kg == 0 and litres == 0 and visits:
            continue  # an empty trip: no unload to make
        dist += int(p.distance_m[prev, node])
        if kind == "stop":
            kg += int(p.demand_kg[node])
            litres += int(p.demand_l[node])
        elif kind == "unload":
            kg = litres = 0
        service = int(p.service_s[node]) if kind != "depot_end" else 0
        at = start if kind == "depot_start" else 0
        visits.append(Visit(node, kind, at, at + service, kg, litres, dist))
        prev = node
    timed = earliest_schedule(p, vehicle, visits)
    if timed is None:
        return None
    duration = timed[-1].arrival_s - timed[0].arrival_s
    return Route(vehicle.id, tuple(timed), dist, duration, route_cost(vehicle, dist, duration))


def _retime(problem: RoutingProblem, vehicle: Vehicle, route: Route) -> Route | None:
    """Earliest times along the route with the break inserted (None if impossible)."""
    out = earliest_schedule(problem, vehicle, route.visits)
    if out is None:
        return None
    duration = out[-1].arrival_s - out[0].arrival_s
    cost = route_cost(vehicle, route.distance_m, duration)
    return dataclasses.replace(route, visits=tuple(out), duration_s=duration, cost=cost)


def with_breaks(problem: RoutingProblem, plan: RoutePlan) -> RoutePlan | None:
    """Insert the breaks into a plan of :func:`tightened` (None if one cannot fit)."""
    by_id = {v.id: v for v in problem.vehicles}
    routes = []
    for route in plan.routes:
        new = _retime(problem, by_id[route.vehicle_id], route)
        if new is None:
            return None
        routes.append(new)
    objective = sum(r.cost for r in routes)
    return dataclasses.replace(plan, routes=tuple(routes), objective=objective)
