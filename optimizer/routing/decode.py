"""Decode an OR-Tools solution into a :class:`RoutePlan`."""

from __future__ import annotations

from collections.abc import Sequence

from ortools.constraint_solver import pywrapcp

from optimizer.routing import reasons as R
from optimizer.routing.cost import route_cost
from optimizer.routing.model import COST_SCALE, Model
from optimizer.routing.result import Route, RoutePlan, Visit, VisitKind


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
        if k in breaks:
            b0, b1 = breaks[k]
            if visits[0].arrival_s <= b0 and b1 <= visits[-1].arrival_s:
                pos = max((i for i, v in enumerate(visits[:-1]) if v.departure_s <= b0), default=0)
                here = visits[pos]
                visits.insert(
                    pos + 1,
                    Visit(
                        here.node,
                        "break",
                        b0,
                        b1,
                        here.load_after_kg,
                        here.load_after_l,
                        here.distance_m_so_far,
                    ),
                )
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


def plan_cost(plan: RoutePlan) -> float:
    """Objective-equivalent cost of a plan (route costs; unserved stops excluded)."""
    return sum(r.cost for r in plan.routes)
