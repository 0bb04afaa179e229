"""Decode an OR-Tools solution into a :class:`RoutePlan`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ortools.constraint_solver import pywrapcp

from optimizer.routing import reasons as R
from optimizer.routing.breaks import earliest_schedule
from optimizer.routing.cost import route_cost
from optimizer.routing.model import COST_SCALE, Model
from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, Visit, VisitKind

log = logging.getLogger(__name__)


def extract(
    model: Model,
    solution: pywrapcp.Assignment,
    status: str,
    runtime_s: float,
    unserved: Sequence[tuple[int, str]] = (),
) -> RoutePlan:
    """Turn an OR-Tools assignment into a :class:`RoutePlan` (loads and distances
    are recomputed from the problem, not read from the model)."""
    p = model.problem
    routing, manager, tdim = model.routing, model.manager, model.time_dim
    breaks: dict[int, tuple[int, int]] = {}
    if model.breaks:
        container = solution.IntervalVarContainer()
        names = {iv.Name(): k for k, iv in model.breaks.items()}
        for i in range(container.Size()):
            element = container.Element(i)
            k = names.get(element.Var().Name())
            if k is not None and element.PerformedValue():
                breaks[k] = (element.StartValue(), element.EndValue())
    routes: list[Route] = []
    served: set[int] = set()
    for k, vehicle in enumerate(p.vehicles):
        index = routing.Start(k)
        raw: list[tuple[int, VisitKind, int]] = []
        while True:
            node = int(model.node_of[manager.IndexToNode(index)])
            t = int(solution.Value(tdim.CumulVar(index))) if tdim is not None else 0
            if routing.IsStart(index):
                kind: VisitKind = "depot_start"
            elif routing.IsEnd(index):
                kind = "depot_end"
            elif p.kind[node] == "facility":
                kind = "unload"
            else:
                kind = "stop"
            raw.append((node, kind, t))
            if routing.IsEnd(index):
                break
            index = solution.Value(routing.NextVar(index))
        if len(raw) == 2:
            continue
        visits: list[Visit] = []
        kg = litres = dist = 0
        prev = raw[0][0]
        for node, kind, t in raw:
            if kind == "unload" and kg == 0 and litres == 0:
                continue  # an unload with nothing on board is a no-op
            dist += int(p.distance_m[prev, node])
            if kind == "stop":
                kg += int(p.demand_kg[node])
                litres += int(p.demand_l[node])
                served.add(node)
            elif kind == "unload":
                kg = litres = 0
            service = int(p.service_s[node]) if kind != "depot_end" else 0
            visits.append(Visit(node, kind, t, t + service, kg, litres, dist))
            prev = node
        if tdim is not None:
            visits = _timed(p, vehicle, visits, breaks.get(k))
        duration = visits[-1].arrival_s - visits[0].arrival_s
        cost = route_cost(vehicle, dist, duration)
        routes.append(Route(vehicle.id, tuple(visits), dist, duration, cost))
    unserved_list = list(unserved)
    listed = {s for s, _ in unserved_list}
    for s in model.stop_nodes:
        if s not in served and s not in listed:
            unserved_list.append((s, R.fleet_limit(p, s)))
    return RoutePlan(
        status=status,  # type: ignore[arg-type]
        objective=solution.ObjectiveValue() / COST_SCALE,
        routes=tuple(routes),
        unserved=tuple(unserved_list),
        runtime_s=round(runtime_s, 3),
    )


def _break_leg(visits: Sequence[Visit], interval: tuple[int, int] | None) -> int | None:
    """The leg (index of the visit it precedes) of a break the solver scheduled inside
    the route; None when it has none or takes it before leaving or after coming back."""
    if interval is None:
        return None
    b0, b1 = interval
    if b0 < visits[0].departure_s or b1 > visits[-1].arrival_s:
        return None
    return next((i for i, v in enumerate(visits) if i and v.arrival_s >= b1), None)


def _timed(
    p: RoutingProblem, vehicle: Vehicle, visits: list[Visit], interval: tuple[int, int] | None
) -> list[Visit]:
    """The visits at their earliest times with the break where it belongs.

    OR-Tools' cumul values are only a feasible schedule: with no cost per hour (or
    with break intervals, whose times its scheduler picks) a truck may wait for hours
    or leave late for nothing. The earliest times on the same sequence keep every
    window, the shift and the break window, since nothing moves later.
    """
    leg = _break_leg(visits, interval)
    timed = earliest_schedule(p, vehicle, visits, leg)
    if timed is not None:
        return timed
    log.debug("route %s: no earliest schedule; keeping the solver's times", vehicle.id)
    if leg is None or interval is None:
        return visits
    here = visits[leg - 1]
    brk = Visit(
        here.node,
        "break",
        interval[0],
        interval[1],
        here.load_after_kg,
        here.load_after_l,
        here.distance_m_so_far,
    )
    return [*visits[:leg], brk, *visits[leg:]]


def plan_cost(plan: RoutePlan) -> float:
    """Objective-equivalent cost of a plan (route costs; unserved stops excluded)."""
    return sum(r.cost for r in plan.routes)
