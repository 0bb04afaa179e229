"""Stage 3: the day's collection VRP of a scenario, solved and verified."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.errors import VerificationError
from optimizer.scenario import parse_hhmm, parse_window
from optimizer.stages.prepare import Prepared
from optimizer.stages.sites import _allowed


def routing_problem(prep: Prepared, open_facility_ids: set[str]) -> tuple[Any, list[str]]:
    """The collection VRP of a scenario's day: depots, every stop due, open facilities."""
    from optimizer.routing import RoutingProblem, Vehicle

    sc = prep.scenario
    node_loc: list[str] = []
    node_ids: list[str] = []
    kinds: list[str] = []
    demand_kg: list[int] = []
    demand_l: list[int] = []
    service: list[int] = []
    windows: list[tuple[int, int]] = []
    streams: list[str | None] = []
    day = (0, 24 * 3600)
    for depot in sc.depots:
        node_loc.append(f"depot:{depot.id}")
        node_ids.append(depot.id)
        kinds.append("depot")
        demand_kg.append(0)
        demand_l.append(0)
        service.append(0)
        windows.append(day)
        streams.append(None)
    stop_service = sc.solver.stop_service_min
    point_windows = {p.id: p.time_window for p in sc.points if p.time_window}
    point_service = {p.id: p.service_min for p in sc.points if p.service_min is not None}
    rows: list[dict[Any, Any]] = prep.day_demand.to_dict("records")
    for row in rows:
        point_id = str(row["point_id"])
        per_visit = 7.0 / max(float(row["visits_per_week"]), 1e-9)
        node_loc.append(f"pt:{point_id}")
        node_ids.append(f"{point_id}|{row['stream']}")
        kinds.append("stop")
        demand_kg.append(round(float(row["tonnes_per_day"]) * per_visit * 1000))
        demand_l.append(round(float(row["m3_per_day"]) * per_visit * 1000))
        service.append(round(60 * point_service.get(point_id, stop_service)))
        tw = point_windows.get(point_id)
        if tw:
            opens, closes = parse_window(tw)
            windows.append((60 * opens, 60 * closes))
        else:
            windows.append(day)
        streams.append(str(row["stream"]))
    facility_streams: dict[int, frozenset[str]] = {}
    for j, fac in enumerate(sc.facilities):
        if fac.id not in open_facility_ids:
            continue
        accepted = frozenset(s.id for s in sc.streams if _allowed(sc, s.id, j))
        if not accepted:
            continue
        facility_streams[len(node_ids)] = accepted
        node_loc.append(f"fac:{fac.id}")
        node_ids.append(fac.id)
        kinds.append("facility")
        demand_kg.append(0)
        demand_l.append(0)
        service.append(round(60 * fac.unload_min))
        windows.append(tuple(60 * x for x in parse_window(fac.opening_hours)))  # type: ignore[arg-type]
        streams.append(None)
    depot_node = {d.id: i for i, d in enumerate(sc.depots)}
    vehicles = []
    for vt in sc.fleet:
        start_s = parse_hhmm(vt.shift_start) * 60
        brk = tuple(60 * x for x in parse_window(vt.break_window)) if vt.break_window else None
        for k in range(vt.count):
            vehicles.append(
                Vehicle(
                    id=f"{vt.id}-{k + 1}",
                    start=depot_node[vt.depot],
                    end=depot_node[vt.depot],
                    capacity_kg=round(vt.capacity_t * 1000),
                    capacity_l=round(vt.capacity_m3 * vt.compaction_ratio * 1000),
                    fixed_cost=round(vt.cost_per_day_kzt),
                    cost_per_km=vt.cost_per_km_kzt,
                    cost_per_h=vt.cost_per_hour_kzt,
                    shift_s=round(vt.shift_min * 60),
                    speed_factor=vt.speed_factor,
                    streams=frozenset(vt.streams) if vt.streams is not None else None,
                    break_window=brk,  # type: ignore[arg-type]
                    break_s=round(vt.break_min * 60),
                    available_from_s=start_s,
                )
            )
    idx = [prep.location_index[loc] for loc in node_loc]
    problem = RoutingProblem(
        node_ids=tuple(node_ids),
        kind=tuple(kinds),
        distance_m=prep.matrix.distance_m[np.ix_(idx, idx)],
        time_s=prep.matrix.time_s[np.ix_(idx, idx)],
        demand_kg=np.array(demand_kg, dtype=np.int64),
        demand_l=np.array(demand_l, dtype=np.int64),
        service_s=np.array(service, dtype=np.int64),
        time_window=np.array(windows, dtype=np.int64),
        stream=tuple(streams),
        facility_streams=facility_streams,
        vehicles=tuple(vehicles),
    )
    return problem, node_loc


def solve_day_routes(
    prep: Prepared, open_facility_ids: set[str], *, time_limit_s: float, seed: int
) -> tuple[Any, Any, list[str]]:
    """Solve and independently verify the day's collection routes."""
    from optimizer.routing import solve_routes, verify_routes

    problem, node_loc = routing_problem(prep, open_facility_ids)
    plan = solve_routes(problem, time_limit_s=time_limit_s, seed=seed)
    issues = verify_routes(problem, plan)
    if issues:
        raise VerificationError(
            "route plan failed the independent check: " + "; ".join(issues[:10])
        )
    return problem, plan, node_loc
