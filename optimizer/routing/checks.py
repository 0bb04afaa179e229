"""Checks around the search: stops no truck can serve before it, and a best guess
at the binding constraint when it finds nothing.

Whatever :func:`presolve` finds is reported unserved with its reason (see
:mod:`reasons`) or, when every stop is mandatory, raised as an input error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from optimizer.errors import InfeasibleError, InputError, Problem
from optimizer.routing import reasons as R
from optimizer.routing.problem import RoutingProblem, Vehicle

#: What lifts each reason a stop cannot be served at all (the first half of a fix).
STOP_FIXES = {
    R.CAPACITY: "raise the truck capacity or allow a bigger truck to serve it",
    R.FACILITY: "open a facility that accepts its stream, or add the stream to an open "
    "facility's accepts",
    R.TRUCK: "add its stream to a fleet entry's streams",
}


def presolve(problem: RoutingProblem) -> list[tuple[int, str]]:
    """Stops no truck can serve, with the reason (see :mod:`reasons`).

    Raises :class:`InputError` for them when every stop is mandatory and
    :class:`InfeasibleError` when the fleet as a whole cannot carry the demand.
    """
    p = problem
    bad: list[tuple[int, str]] = []
    time_bad: list[tuple[int, str]] = []
    for s in p.stops:
        trucks = [v for v in p.vehicles if p.vehicle_may_serve(v, s)]
        kg, litres = int(p.demand_kg[s]), int(p.demand_l[s])
        if not trucks:
            why = "no truck of the fleet may serve it (stream or vehicle restriction)"
            bad.append((s, R.reason(R.TRUCK, why)))
            continue
        fits = [v for v in trucks if v.capacity_kg >= kg and (not litres or v.capacity_l >= litres)]
        if not fits:
            biggest = max(trucks, key=lambda v: (v.capacity_kg, v.capacity_l))
            why = (
                f"its load {kg / 1000:g} t / {litres / 1000:g} m3 is above the largest "
                f"truck that may serve it ({biggest.capacity_kg / 1000:g} t / "
                f"{biggest.capacity_l / 1000:g} m3)"
            )
            bad.append((s, R.reason(R.CAPACITY, why)))
            continue
        if p.facilities and p.stream[s] is not None:
            ok = [
                f
                for f in p.facilities
                if f not in p.facility_streams or p.stream[s] in p.facility_streams[f]
            ]
            if not ok:
                why = f"no open facility is licensed for stream {p.stream[s]!r}"
                bad.append((s, R.reason(R.FACILITY, why)))
                continue
        late = _time_reason(p, s, fits)
        if late is not None:
            time_bad.append((s, late))
    if p.drop_penalty is None and bad:
        raise InputError(
            [
                Problem(
                    "routing problem",
                    p.label(s),
                    why,
                    f"{STOP_FIXES.get(R.category_of(why), STOP_FIXES[R.CAPACITY])}, or let "
                    "such stops be reported unserved (in a scenario: allow_unserved = true "
                    "under [solver])",
                )
                for s, why in bad
            ]
        )
    if p.drop_penalty is None and time_bad:
        raise InfeasibleError(
            "; ".join(f"{p.label(s)}: {why}" for s, why in time_bad[:10])
            + (f" (and {len(time_bad) - 10} more)" if len(time_bad) > 10 else "")
        )
    dropped = {s for s, _ in bad + time_bad}
    if p.drop_penalty is None:
        _check_fleet_totals(p, dropped)
    return bad + time_bad


def _travel(v: Vehicle, seconds: float) -> int:
    return round(float(seconds) * v.speed_factor)


def _accepting(p: RoutingProblem, s: int) -> list[int]:
    """Facilities licensed for the stream of stop ``s``."""
    stream = p.stream[s]
    return [
        f
        for f in p.facilities
        if stream is None or f not in p.facility_streams or stream in p.facility_streams[f]
    ]


def _back_at(p: RoutingProblem, s: int, v: Vehicle, done: int, hours: bool) -> int | None:
    """When ``v`` is back at its depot after serving ``s`` until ``done``: via the
    accepting facility that gets it home first (within its opening hours when
    ``hours``), or straight home without facilities; None when none is open."""
    if not p.facilities:
        return done + _travel(v, p.time_s[s, v.end])
    best: int | None = None
    for f in _accepting(p, s):
        at = done + _travel(v, p.time_s[s, f])
        if hours:
            at = max(at, int(p.time_window[f, 0]))
            if at > int(p.time_window[f, 1]):
                continue
        back = at + int(p.service_s[f]) + _travel(v, p.time_s[f, v.end])
        best = back if best is None else min(best, back)
    return best


def _fits_shift(
    p: RoutingProblem, s: int, v: Vehicle, window: tuple[int, int], hours: bool = True
) -> bool:
    """Whether ``v`` can serve ``s`` alone, starting within ``window``, inside its shift
    (and unloading within the facilities' opening hours when ``hours``)."""
    early, late = p.departure_window(v)
    go = _travel(v, p.time_s[v.start, s])
    lo, hi = window
    leave = min(late, max(early, lo - go))  # as late as useful: no waiting at the stop
    arrive = max(lo, leave + go)
    if arrive > hi:
        return False
    back = _back_at(p, s, v, arrive + int(p.service_s[s]), hours)
    return back is not None and back - leave <= v.shift_s and back <= p.return_by(v)


def _time_reason(p: RoutingProblem, s: int, trucks: Sequence[Vehicle]) -> str | None:
    """Why no truck can serve ``s`` in time (None when one can): too far for the
    shift at any hour, no facility open to unload during the shift, or its window
    cannot be met inside the shift."""
    window = (int(p.time_window[s, 0]), int(p.time_window[s, 1]))
    if any(_fits_shift(p, s, v, window) for v in trucks):
        return None
    shifts = R.shifts_text(trucks)
    anytime = (0, 10**12)
    if not any(_fits_shift(p, s, v, anytime, hours=False) for v in trucks):
        v = trucks[0]
        done = _travel(v, p.time_s[v.start, s]) + int(p.service_s[s])
        trip = _back_at(p, s, v, done, hours=False) or done
        return R.reason(
            R.UNREACHABLE,
            f"the round trip from {p.label(v.start)} takes {trip / 3600:.1f} h, "
            f"more than the shift {shifts} allows",
        )
    if any(_fits_shift(p, s, v, window, hours=False) for v in trucks):
        hours = ", ".join(f"{p.label(f)} {R.window_text(p, f)}" for f in _accepting(p, s)[:3])
        return R.reason(
            R.WINDOW,
            f"no facility that accepts it is open to unload within the shift {shifts} "
            f"(opening hours: {hours})",
        )
    return R.reason(
        R.WINDOW,
        f"its window {R.window_text(p, s)} cannot be met inside the shift {shifts} "
        "of any truck that may serve it",
    )


def _check_fleet_totals(p: RoutingProblem, dropped: set[int]) -> None:
    stops = [s for s in p.stops if s not in dropped]
    trips = p.max_unload_trips if p.facilities else 1
    for dim, cap, day in (
        ("demand_kg", "capacity_kg", "day_capacity_kg"),
        ("demand_l", "capacity_l", "day_capacity_l"),
    ):
        total = int(getattr(p, dim)[stops].sum()) if stops else 0
        if not total:
            continue
        fleet = sum(
            min(
                getattr(v, cap) * trips,
                getattr(v, day) if getattr(v, day) is not None else math.inf,
            )
            for v in p.vehicles
        )
        if total > fleet:
            unit = "kg" if dim == "demand_kg" else "l"
            raise InfeasibleError(
                f"total demand {total} {unit} exceeds what the fleet can carry "
                f"({fleet} {unit}: capacity × {trips} trip(s) per truck, day limits); "
                "add trucks, or let stops be reported unserved (in a scenario: "
                "allow_unserved = true under [solver])"
            )


def diagnose(problem: RoutingProblem) -> str:
    """A best guess at the binding constraint when no solution was found."""
    p = problem
    hints = []
    work = int(p.service_s[list(p.stops)].sum()) if p.stops else 0
    shifts = sum(v.shift_s for v in p.vehicles)
    if work > 0.8 * shifts:
        hints.append(f"service time alone ({work} s) nearly fills every shift ({shifts} s)")
    tight = sum(1 for s in p.stops if p.time_window[s, 1] - p.time_window[s, 0] < 3600)
    if tight:
        hints.append(f"{tight} stops have time windows under one hour")
    if any(v.break_window for v in p.vehicles):
        hints.append("driver breaks shorten the day")
    hints.append(f"the fleet has {len(p.vehicles)} trucks")
    return "no feasible plan found within the time limit; likely binding: " + "; ".join(hints)
