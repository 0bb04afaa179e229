"""Independent check of a route plan against its problem.

This module shares no logic with the model: it replays every route from the raw
matrices and the problem's rules (coverage, both capacities between unloads, day
totals, unload before the depot, time windows, shift start and end, one break of
the truck's length inside its window, no waiting without a reason, compatibility,
streams accepted by the facility) and lists every violation found.
``[]`` means valid. It does not import the model.
"""

from __future__ import annotations

from optimizer.routing.problem import RoutingProblem, Vehicle, clock
from optimizer.routing.result import Route, RoutePlan, Visit

# Unexplained waiting before a visit above this is an error: decoded routes run at
# their earliest times, so a driver sheet never shows idle time without a reason.
IDLE_TOLERANCE_S = 60


def _travel(problem: RoutingProblem, vehicle: Vehicle, a: int, b: int) -> int:
    return round(float(problem.time_s[a, b]) * vehicle.speed_factor)


def _check_shift(problem: RoutingProblem, vehicle: Vehicle, route: Route, out: list[str]) -> None:
    """The shift rule: leave at the shift start (within its flexibility) and inside
    the depot's hours; back within the shift length and by the end of the latest shift."""
    tag = f"route {route.vehicle_id}"
    begin, end = route.visits[0].arrival_s, route.visits[-1].arrival_s
    first = vehicle.shift_start_s
    last = vehicle.shift_start_s + vehicle.shift_start_flex_s
    opens, closes = (int(x) for x in problem.time_window[vehicle.start])
    if begin < first or begin > last:
        allowed = clock(first) if last == first else f"{clock(first)}-{clock(last)}"
        out.append(f"{tag}: leaves the depot at {clock(begin)}, the shift starts at {allowed}")
    if not opens <= begin <= closes:
        out.append(f"{tag}: leaves the depot at {clock(begin)}, outside its opening hours")
    if end - begin > vehicle.shift_s:
        out.append(
            f"{tag}: works {(end - begin) / 3600:.2f} h, above the shift of "
            f"{vehicle.shift_s / 3600:.2f} h"
        )
    if end > last + vehicle.shift_s:
        out.append(
            f"{tag}: back at {clock(end)}, after the shift ends ({clock(last + vehicle.shift_s)})"
        )


def _check_route(
    problem: RoutingProblem, vehicle: Vehicle, route: Route, out: list[str]
) -> list[int]:
    """Append the violations of one route; return the stops it serves."""
    p = problem
    tag = f"route {route.vehicle_id}"
    visits = route.visits
    served: list[int] = []
    if len(visits) < 2 or visits[0].kind != "depot_start" or visits[-1].kind != "depot_end":
        out.append(f"{tag}: must begin with depot_start and end with depot_end")
        return served
    if visits[0].node != vehicle.start or visits[-1].node != vehicle.end:
        out.append(f"{tag}: starts/ends at the wrong depot")
    kg = litres = day_kg = day_l = count = 0
    on_board: set[str] = set()
    distance = 0
    prev: Visit = visits[0]
    pending_break = 0
    breaks: list[Visit] = []
    _check_shift(p, vehicle, route, out)
    for visit in visits[1:]:
        where = f"{tag}, {p.label(visit.node)}"
        if visit.kind == "break":
            breaks.append(visit)
            pending_break += visit.departure_s - visit.arrival_s
            if visit.arrival_s < prev.departure_s:
                out.append(f"{where}: break starts before the previous visit ends")
            continue
        distance += int(p.distance_m[prev.node, visit.node])
        travel = _travel(p, vehicle, prev.node, visit.node)
        earliest = _arrival_after_breaks(prev.departure_s, travel, breaks)
        if visit.arrival_s < earliest:
            out.append(f"{where}: arrives at {visit.arrival_s} s but cannot before {earliest} s")
        for b in breaks:
            if b.departure_s > visit.arrival_s:
                out.append(f"{where}: break overlaps this visit")
        lo, hi = (int(x) for x in p.time_window[visit.node])
        # waiting a driver is told to do must have a reason: a time window that
        # opens later, or the break window (a break on this leg starts when it opens)
        ready = prev.departure_s + travel
        if breaks and vehicle.break_window is not None:
            ready = max(ready, vehicle.break_window[0])
        idle = visit.arrival_s - max(ready + pending_break, lo)
        if idle > IDLE_TOLERANCE_S:
            out.append(
                f"{where}: arrives at {clock(visit.arrival_s)} after {idle / 60:.0f} min of "
                "waiting that no time window or break explains"
            )
        breaks.clear()
        pending_break = 0
        if visit.kind in ("stop", "unload") and not lo <= visit.arrival_s <= hi:
            out.append(f"{where}: service at {visit.arrival_s} s outside [{lo}, {hi}]")
        if visit.kind == "depot_end" and visit.arrival_s > hi:
            out.append(f"{where}: back at the depot at {visit.arrival_s} s, after {hi}")
        service = int(p.service_s[visit.node])
        if visit.kind != "depot_end" and visit.departure_s - visit.arrival_s < service:
            out.append(f"{where}: service shorter than {service} s")
        if visit.kind == "stop":
            if p.kind[visit.node] != "stop":
                out.append(f"{where}: visited as a stop but is a {p.kind[visit.node]}")
                continue
            if not vehicle.accepts(p.stream[visit.node]):
                out.append(f"{where}: stream {p.stream[visit.node]} not allowed on truck")
            allowed = (p.allowed_vehicles or {}).get(visit.node)
            if allowed is not None and vehicle.id not in allowed:
                out.append(f"{where}: this truck may not serve the stop")
            served.append(visit.node)
            kg += int(p.demand_kg[visit.node])
            litres += int(p.demand_l[visit.node])
            day_kg += int(p.demand_kg[visit.node])
            day_l += int(p.demand_l[visit.node])
            count += 1
            if p.stream[visit.node] is not None:
                on_board.add(str(p.stream[visit.node]))
            if kg > vehicle.capacity_kg:
                out.append(f"{where}: load {kg} kg above capacity {vehicle.capacity_kg}")
            if litres > vehicle.capacity_l and p.demand_l.any():
                out.append(f"{where}: load {litres} l above capacity {vehicle.capacity_l}")
        elif visit.kind == "unload":
            if p.kind[visit.node] != "facility":
                out.append(f"{where}: unloads at a {p.kind[visit.node]}")
            accepts = p.facility_streams.get(visit.node)
            if accepts is not None and not on_board <= accepts:
                out.append(f"{where}: facility refuses {sorted(on_board - accepts)}")
            kg = litres = 0
            on_board = set()
        elif visit.kind == "depot_end":
            if p.facilities and (kg or litres):
                out.append(f"{tag}: returns to the depot loaded ({kg} kg, {litres} l)")
        else:
            out.append(f"{where}: unexpected visit kind {visit.kind!r} mid-route")
        if visit.load_after_kg != kg or visit.load_after_l != litres:
            out.append(f"{where}: reported load differs from the replay")
        if visit.distance_m_so_far != distance:
            out.append(f"{where}: reported distance so far differs from the replay")
        prev = visit
    if vehicle.day_capacity_kg is not None and day_kg > vehicle.day_capacity_kg:
        out.append(f"{tag}: {day_kg} kg in the day, above {vehicle.day_capacity_kg}")
    if vehicle.day_capacity_l is not None and day_l > vehicle.day_capacity_l:
        out.append(f"{tag}: {day_l} l in the day, above {vehicle.day_capacity_l}")
    if vehicle.max_stops is not None and count > vehicle.max_stops:
        out.append(f"{tag}: {count} stops, above {vehicle.max_stops}")
    if route.distance_m != distance:
        out.append(f"{tag}: reported distance {route.distance_m} m, replay {distance} m")
    begin, end = visits[0].arrival_s, visits[-1].arrival_s
    taken = [v for v in visits if v.kind == "break"]
    if vehicle.break_window is not None and vehicle.break_s > 0:
        early, late = vehicle.break_window
        for b in taken:
            if not early <= b.arrival_s <= late:
                out.append(f"{tag}: break starts at {b.arrival_s} s outside the window")
            if b.departure_s - b.arrival_s != vehicle.break_s:
                out.append(
                    f"{tag}: break of {b.departure_s - b.arrival_s} s, "
                    f"not the {vehicle.break_s} s of the truck"
                )
        if len(taken) > 1:
            out.append(f"{tag}: {len(taken)} breaks; the truck takes one")
        outside = early + vehicle.break_s <= begin or late >= end
        if not taken and not outside:
            out.append(f"{tag}: no break although the route spans the break window")
    elif taken:
        out.append(f"{tag}: a break, but the truck has no break")
    return served


def _arrival_after_breaks(depart: int, travel: int, breaks: list[Visit]) -> int:
    """The earliest arrival after leaving at ``depart`` with ``travel`` seconds of
    driving and these breaks on the way (no driving during a break)."""
    t, left = depart, travel
    for b in breaks:
        drive = min(left, max(0, b.arrival_s - t))
        left -= drive
        t = max(t + drive, b.departure_s)
    return t + left


def verify_routes(problem: RoutingProblem, plan: RoutePlan) -> list[str]:
    """Every violation of ``plan`` against ``problem``; ``[]`` when it is valid."""
    out: list[str] = []
    by_id = {v.id: v for v in problem.vehicles}
    used: set[str] = set()
    count: dict[int, int] = {}
    for route in plan.routes:
        vehicle = by_id.get(route.vehicle_id)
        if vehicle is None:
            out.append(f"route {route.vehicle_id}: unknown vehicle")
            continue
        if route.vehicle_id in used:
            out.append(f"route {route.vehicle_id}: vehicle used twice")
        used.add(route.vehicle_id)
        for stop in _check_route(problem, vehicle, route, out):
            count[stop] = count.get(stop, 0) + 1
    unserved = {node for node, _ in plan.unserved}
    for node, reason in plan.unserved:
        if not reason:
            out.append(f"{problem.label(node)}: unserved without a reason")
    for stop in problem.stops:
        times = count.get(stop, 0)
        name = problem.label(stop)
        if times > 1:
            out.append(f"{name}: served {times} times")
        if times == 0 and stop not in unserved:
            out.append(f"{name}: neither served nor listed as unserved")
        if times and stop in unserved:
            out.append(f"{name}: served but listed as unserved")
        if times == 0 and problem.drop_penalty is None and stop in unserved:
            out.append(f"{name}: mandatory stop left unserved")
    return out
