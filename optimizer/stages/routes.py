"""Stage 3: the day's collection VRP of a scenario, solved and verified."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np

from optimizer.demand.loads import oversized_loads
from optimizer.errors import InfeasibleError, InputError, Problem, VerificationError
from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, verify_routes
from optimizer.routing.reasons import CAPACITY, FACILITY, TRUCK, category_of
from optimizer.scenario import Scenario, parse_hhmm, parse_window
from optimizer.stages.calendar import FIXED, Calendar
from optimizer.stages.prepare import Location, Prepared
from optimizer.stages.sites import stream_allowed
from optimizer.stages.split import DROP_PENALTY, solve_split


def due_on_day(point_id: str, stream: str, visits_per_week: float, day: int) -> bool:
    """Whether a point's stream is collected on plan day ``day`` under the ``fixed`` calendar
    (offsets spread by a stable hash; see :mod:`optimizer.stages.calendar`)."""
    return FIXED.due(point_id, stream, visits_per_week, day)


def own_day_violations(
    scenario: Scenario, problem: RoutingProblem, plan: RoutePlan, day: int
) -> list[str]:
    """Stops served on a day their point's own ``closed_days`` or ``collection_days``
    forbid: read from the points themselves, not from the calendar that placed them."""
    weekday = (day - 1) % 7 + 1
    barred = {
        (p.id, p.stream)
        for p in scenario.points
        if weekday in (p.closed_days or ())
        or (p.collection_days is not None and weekday not in p.collection_days)
    }
    return [
        f"point {problem.node_ids[s]} ({problem.stream[s]}) served on plan day {day}, "
        "a day its own closed_days / collection_days forbid"
        for r in plan.routes
        for s in r.stops
        if (problem.node_ids[s], problem.stream[s]) in barred
    ]


def routing_problem(
    prep: Prepared, open_facility_ids: set[str], *, day: int = 1, calendar: Calendar = FIXED
) -> tuple[RoutingProblem, list[Location]]:
    """The collection VRP of one plan day: depots, the stops due that day under
    ``calendar``, open facilities, and the location of each of its nodes."""
    sc = prep.scenario
    node_loc: list[Location] = []
    node_ids: list[str] = []
    labels: list[str] = []
    stream_names = {st.id: st.name or st.id for st in sc.streams}
    kinds: list[str] = []
    demand_kg: list[int] = []
    demand_l: list[int] = []
    service: list[int] = []
    windows: list[tuple[int, int]] = []
    streams: list[str | None] = []
    whole_day = (0, 24 * 3600)
    for depot in sc.depots:
        node_loc.append(Location("depot", depot.id))
        node_ids.append(depot.id)
        labels.append(f"depot {depot.id}" + (f" ({depot.name})" if depot.name else ""))
        kinds.append("depot")
        demand_kg.append(0)
        demand_l.append(0)
        service.append(0)
        windows.append(whole_day)
        streams.append(None)
    stop_service = sc.solver.stop_service_min
    point_windows = {p.id: p.time_window for p in sc.points if p.time_window}
    point_service = {p.id: p.service_min for p in sc.points if p.service_min is not None}
    rows: list[dict[Any, Any]] = prep.day_demand.to_dict("records")
    for row in rows:
        if not calendar.due(
            str(row["point_id"]), str(row["stream"]), float(row["visits_per_week"]), day
        ):
            continue
        point_id = str(row["point_id"])
        per_visit = calendar.days_of_waste(
            point_id, str(row["stream"]), float(row["visits_per_week"]), day
        )
        node_loc.append(Location("point", point_id))
        node_ids.append(point_id)
        labels.append(
            f"collection point {point_id} ({stream_names.get(row['stream'], row['stream'])})"
        )
        kinds.append("stop")
        demand_kg.append(round(float(row["tonnes_per_day"]) * per_visit * 1000))
        demand_l.append(round(float(row["m3_per_day"]) * per_visit * 1000))
        per_container = sc.solver.service_min_per_container * float(row.get("containers") or 0)
        service.append(round(60 * point_service.get(point_id, stop_service + per_container)))
        tw = point_windows.get(point_id)
        if tw:
            opens, closes = parse_window(tw)
            windows.append((60 * opens, 60 * closes))
        else:
            windows.append(whole_day)
        streams.append(str(row["stream"]))
    facility_streams: dict[int, frozenset[str]] = {}
    for j, fac in enumerate(sc.facilities):
        if fac.id not in open_facility_ids:
            continue
        accepted = frozenset(s.id for s in sc.streams if stream_allowed(sc, s.id, j))
        if not accepted:
            continue
        facility_streams[len(node_ids)] = accepted
        node_loc.append(Location("facility", fac.id))
        node_ids.append(fac.id)
        labels.append(f"facility {fac.name or fac.id}")
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
        # optional fleet key (minutes the shift may start later); 0 when absent
        flex_s = round(60 * float(getattr(vt, "shift_start_flex_min", 0) or 0))
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
                    shift_start_s=start_s,
                    shift_start_flex_s=flex_s,
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
        drop_penalty=DROP_PENALTY if sc.solver.allow_unserved else None,
        labels=tuple(labels),
    )
    return problem, node_loc


#: What lifts each reason a stop cannot be served at all, in scenario terms.
_SCENARIO_FIXES = {
    CAPACITY: "use a bigger truck or allow another fleet entry to carry it",
    FACILITY: "open a facility that accepts its stream (plan the sites too, pass --sites "
    "with such a facility, or add the stream to an existing facility's accepts)",
    TRUCK: "add its stream to a [[fleet]] entry's streams",
}


def _scenario_input_error(prep: Prepared, exc: InputError) -> InputError:
    """The routing pre-check's refusal in the scenario's terms: the point's file and
    record, and ``allow_unserved`` rather than the routing model's drop penalty."""
    sc = prep.scenario
    loads = oversized_loads(sc, prep.day_demand)
    if loads:
        return InputError(loads)
    file = sc.files.get("points", sc.source_file)
    return InputError(
        [
            Problem(
                file if p.file == "routing problem" else p.file,
                p.where,
                p.what,
                _SCENARIO_FIXES.get(category_of(p.what), _SCENARIO_FIXES[CAPACITY])
                + ", or set allow_unserved = true under [solver] to plan without it",
            )
            for p in exc.problems
        ]
    )


def solve_day_routes(
    prep: Prepared,
    open_facility_ids: set[str],
    *,
    time_limit_s: float,
    seed: int,
    day: int = 1,
    calendar: Calendar = FIXED,
) -> tuple[RoutingProblem, RoutePlan, list[Location]]:
    """Solve and independently verify the collection routes of plan day ``day``.

    Days with more stops than the scenario's ``max_stops_per_part`` are split into
    areas routed in parallel (:mod:`optimizer.stages.split`); the merged plan is
    verified whole. Unless the scenario allows unserved stops, any stop left out
    makes the day infeasible.
    """
    sc = prep.scenario
    problem, node_loc = routing_problem(prep, open_facility_ids, day=day, calendar=calendar)
    index = [prep.location_index[loc] for loc in node_loc]
    coords = np.column_stack([prep.snapped.lon[index], prep.snapped.lat[index]])
    try:
        plan = solve_split(
            problem,
            coords,
            time_limit_s=time_limit_s,
            seed=seed,
            workers=2,
            max_stops=sc.solver.max_stops_per_part,
            engine=None if sc.solver.engine == "auto" else sc.solver.engine,
        )
    except InputError as exc:  # stops no truck can serve: say it in the scenario's terms
        raise _scenario_input_error(prep, exc) from exc
    if plan.unserved and not sc.solver.allow_unserved:
        reasons = Counter(reason for _, reason in plan.unserved)
        summary = "; ".join(f"{n} × {why}" for why, n in reasons.most_common(3))
        raise InfeasibleError(
            f"day {day}: {len(plan.unserved)} of {len(problem.stops)} stops could not be served ({summary}). "
            "Add trucks or time (--time-limit), or set allow_unserved = true under [solver] "
            "to get the plan with these stops listed as unserved."
        )
    checked = (
        problem if problem.drop_penalty else dataclasses.replace(problem, drop_penalty=DROP_PENALTY)
    )
    issues = verify_routes(checked, plan) + own_day_violations(sc, problem, plan, day)
    if issues:
        raise VerificationError(
            "route plan failed the independent check: " + "; ".join(issues[:10])
        )
    return problem, plan, node_loc
