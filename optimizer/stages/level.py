"""Levelling a routed week: points moved between calendars, by the trucks they need.

The chosen calendar (:mod:`optimizer.stages.calendar`) places its areas on days by
estimated work. Routed, the days still differ by a few trucks: a shift holds a whole
number of collect-and-unload trips, and a large day is routed in areas. A week needs
as many trucks of each fleet entry as its busiest day uses, so here, after routing,
a truck of an entry's busiest day gives up its day: each of its stops changes to a
calendar of its stream (and of its own days) that leaves that day out and visits on
days where the entry has trucks to spare. Only the days the change touches are
rebuilt: the routes that serve a moved point are re-timed with the loads of its new
calendar (a visit takes the waste since the one before), and on each day the points
newly visit, their stops ride a spare truck of the same entry in the order the
emptied truck drove them, whose trips are then moved onto trucks with time to spare
where they fit (:func:`optimizer.routing.repack.absorb`). A move is kept only when
every rebuilt day passes the independent check and the week needs fewer trucks, or
as many with fewer days at the peak.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, verify_routes
from optimizer.routing.repack import Trip, absorb, build, trips_of
from optimizer.routing.result import Route, Visit
from optimizer.stages.assemble import DayRoutes
from optimizer.stages.calendar import (
    Calendar,
    PointDays,
    allowed_patterns,
    is_daily,
    pattern_days,
    point_days,
    point_patterns,
    visits_in_week,
    week_patterns,
)
from optimizer.stages.prepare import Prepared
from optimizer.stages.routes import own_day_violations, routing_problem
from optimizer.stages.sites import PointStream
from optimizer.stages.split import DROP_PENALTY

log = logging.getLogger("optimizer")

#: Trucks of a busiest day tried as the one to empty, lightest first, per entry and day.
MAX_VICTIMS = 8
#: Seconds the trips of a moved truck may spend looking for room on one day.
ABSORB_S = 5.0

NodeKey = tuple[str, str, str | None]  # kind, id, stream


@dataclass(frozen=True)
class Week:
    """A routed plan of several days and the calendar its days follow."""

    calendar: Calendar
    days: tuple[DayRoutes, ...]


@dataclass(frozen=True)
class _Setting:
    """What every move needs: the prepared data, the open sites, the fleet entry of each
    truck, each point-stream's visits a week and its own days, and when to stop."""

    prep: Prepared
    open_ids: set[str]
    entry_of: Mapping[str, str]
    visits: Mapping[PointStream, float]
    limits: Mapping[PointStream, PointDays]
    deadline: float


def fleet_entries(prep: Prepared) -> dict[str, str]:
    """The fleet entry (``[[fleet]]`` id) of every truck id of the routing problems."""
    return {f"{vt.id}-{k + 1}": vt.id for vt in prep.scenario.fleet for k in range(vt.count)}


def trucks_per_day(
    days: Sequence[DayRoutes], entry_of: Mapping[str, str]
) -> dict[str, NDArray[np.int64]]:
    """Per fleet entry, the trucks that serve stops on each plan day (in day order)."""
    out: dict[str, NDArray[np.int64]] = {
        e: np.zeros(len(days), dtype=np.int64) for e in set(entry_of.values())
    }
    for i, d in enumerate(days):
        for r in d.plan.routes:
            if r.stops:
                out[entry_of[r.vehicle_id]][i] += 1
    return out


def week_key(
    days: Sequence[DayRoutes], entry_of: Mapping[str, str]
) -> tuple[int, int, int, int, float]:
    """What levelling lowers, in order: the trucks to own (each entry's busiest day),
    the trucks on the busiest day, the days that many trucks go out, the (entry, day)
    pairs at their entry's peak, and the week's route cost."""
    counts = trucks_per_day(days, entry_of)
    own = sum(int(c.max(initial=0)) for c in counts.values())
    total = np.sum(list(counts.values()), axis=0) if counts else np.zeros(len(days), dtype=np.int64)
    busiest = int(total.max(initial=0))
    at_busiest = int((total == busiest).sum())
    at_peak = sum(int((c == c.max()).sum()) for c in counts.values() if c.max(initial=0) > 0)
    cost = float(sum(d.plan.objective for d in days))
    return own, busiest, at_busiest, at_peak, cost


def _key(problem: RoutingProblem, node: int) -> NodeKey:
    return problem.kind[node], problem.node_ids[node], problem.stream[node]


def _member(problem: RoutingProblem, node: int) -> PointStream:
    return PointStream(problem.node_ids[node], str(problem.stream[node]))


def _renumbered(route: Route, old: RoutingProblem, index: Mapping[NodeKey, int]) -> Route:
    """``route`` as it is, on the nodes of a rebuilt problem of the same day."""
    visits = tuple(dataclasses.replace(v, node=index[_key(old, v.node)]) for v in route.visits)
    return dataclasses.replace(route, visits=visits)


def _by_capacity(problem: RoutingProblem, vehicle: Vehicle, trip: Trip) -> list[Trip]:
    """``trip`` cut where its load would overflow the truck, each piece ending at the
    trip's unload site (a moved point's visit may take more days of waste)."""
    pieces: list[Trip] = []
    current: list[int] = []
    kg = litres = 0
    for s in trip[:-1]:
        add_kg, add_l = int(problem.demand_kg[s]), int(problem.demand_l[s])
        if current and (kg + add_kg > vehicle.capacity_kg or litres + add_l > vehicle.capacity_l):
            pieces.append((*current, trip[-1]))
            current, kg, litres = [], 0, 0
        current.append(s)
        kg += add_kg
        litres += add_l
    if current:
        pieces.append((*current, trip[-1]))
    return pieces


def _rebuilt(
    problem: RoutingProblem, vehicle: Vehicle, start_s: int, trips: Sequence[Trip]
) -> Route | None:
    """The truck's day over ``trips`` (empty ones dropped) leaving at ``start_s``, with a
    trip cut where the new loads overflow it; None when it breaks a rule."""
    trips = [t for t in trips if len(t) > 1]
    start = Visit(vehicle.start, "depot_start", start_s, start_s, 0, 0, 0)
    route = build(problem, vehicle, start, trips)
    if route is None:
        route = build(
            problem, vehicle, start, [p for t in trips for p in _by_capacity(problem, vehicle, t)]
        )
    return route


def _mapped_trips(
    route: Route,
    old: RoutingProblem,
    index: Mapping[NodeKey, int],
    keep: set[PointStream] | None = None,
) -> list[Trip] | None:
    """The trips of ``route`` on the rebuilt problem's nodes, without the stops no longer
    due there (and, given ``keep``, only its stops of those point-streams)."""
    trips = trips_of(route)
    if trips is None:
        return None
    out: list[Trip] = []
    for trip in trips:
        stops = [
            index[_key(old, s)]
            for s in trip[:-1]
            if _key(old, s) in index and (keep is None or _member(old, s) in keep)
        ]
        if stops:
            out.append((*stops, index[_key(old, trip[-1])]))
    return out


def _new_patterns(
    s: _Setting,
    calendar: Calendar,
    members: Sequence[PointStream],
    leave: int,
    light: set[int],
    days: int,
) -> dict[PointStream, int] | None:
    """Per point-stream of the emptied truck, a calendar of its stream and its own days
    without plan day ``leave``, as many visits in the plan, whose new days are all
    ``light``: the one with the fewest new days. None when a point has none."""
    chosen: dict[PointStream, int] = {}
    for m in members:
        per_week = s.visits.get(m)
        if per_week is None or is_daily(per_week):
            return None
        visits = visits_in_week(per_week)
        old = pattern_days(calendar.pattern(m.point_id, m.stream, per_week), days)
        options = allowed_patterns(s.prep.scenario, m.stream, visits)
        if m in s.limits:
            options = point_patterns(s.prep.scenario, m, s.limits[m], visits, options)
        best: tuple[int, int] | None = None
        for q in options:
            new = pattern_days(week_patterns(visits)[q], days)
            added = set(new) - set(old)
            if leave in new or len(new) != len(old) or not added <= light:
                continue
            if best is None or len(added) < best[0]:
                best = (len(added), q)
        if best is None:
            return None
        chosen[m] = best[1]
    return chosen


def _rebuilt_day(
    s: _Setting,
    before: DayRoutes,
    calendar: Calendar,
    victim: Route,
    victim_problem: RoutingProblem,
    moved: set[PointStream],
) -> DayRoutes | None:
    """Plan day ``before.day`` under ``calendar``: the emptied truck gone, the routes that
    serve a moved point re-timed, and the points it newly visits on a spare truck of
    the emptied truck's entry (absorbed by the others where they fit). None when it
    fails a rule or the independent check."""
    day = before.day
    problem, node_loc = routing_problem(s.prep, s.open_ids, day=day, calendar=calendar)
    index = {_key(problem, i): i for i in range(len(problem.node_ids))}
    vehicles = {v.id: v for v in problem.vehicles}
    old = before.problem
    routes: list[Route] = []
    for r in before.plan.routes:
        if r is victim:
            continue
        if not any(_member(old, x) in moved for x in r.stops):
            routes.append(_renumbered(r, old, index))
            continue
        trips = _mapped_trips(r, old, index)
        if trips is None:
            return None
        new = _rebuilt(problem, vehicles[r.vehicle_id], r.visits[0].arrival_s, trips)
        if new is None:
            return None
        if new.stops:
            routes.append(new)
    before_keys = {_key(old, i) for i in old.stops}
    arriving = {
        _member(victim_problem, x) for x in victim.stops if _key(victim_problem, x) in index
    } - {PointStream(k[1], str(k[2])) for k in before_keys}
    if arriving:
        trips = _mapped_trips(victim, victim_problem, index, keep=arriving)
        used = {r.vehicle_id for r in routes}
        entry = s.entry_of[victim.vehicle_id]
        spare = [v for v in problem.vehicles if s.entry_of[v.id] == entry and v.id not in used]
        if trips is None or not spare:
            return None
        truck = spare[0]
        new = _rebuilt(problem, truck, victim.visits[0].arrival_s, trips)
        if new is None:
            return None
        routes.append(new)
        deadline = min(s.deadline, time.perf_counter() + ABSORB_S)
        routes = absorb(problem, routes, truck.id, deadline=deadline) or routes
    unserved = tuple(
        (index[_key(old, n)], why) for n, why in before.plan.unserved if _key(old, n) in index
    )
    plan = RoutePlan(
        "feasible",
        float(sum(r.cost for r in routes)),
        tuple(routes),
        unserved,
        before.plan.runtime_s,
        engine=before.plan.engine,
        engine_note=before.plan.engine_note,
    )
    checked = (
        problem if problem.drop_penalty else dataclasses.replace(problem, drop_penalty=DROP_PENALTY)
    )
    issues = verify_routes(checked, plan) + own_day_violations(s.prep.scenario, problem, plan, day)
    if issues:
        log.debug("levelling: day %d rebuilt fails the check: %s", day, issues[:3])
        return None
    return DayRoutes(day, problem, plan, node_loc)


def _moved(
    s: _Setting, week: Week, entry: str, leave: int, victim: Route, light: set[int]
) -> Week | None:
    """The week with ``victim`` (a truck of ``entry`` on plan day ``leave``) emptied
    and its points on calendars that visit them on ``light`` days instead; None when
    it cannot be done."""
    n = len(week.days)
    problem = week.days[leave - 1].problem
    members = [_member(problem, x) for x in victim.stops]
    chosen = _new_patterns(s, week.calendar, members, leave, light, n)
    if chosen is None:
        return None
    calendar = dataclasses.replace(week.calendar, patterns={**week.calendar.patterns, **chosen})
    touched: set[int] = set()
    for m in chosen:
        per_week = s.visits[m]
        touched |= set(pattern_days(week.calendar.pattern(m.point_id, m.stream, per_week), n))
        touched |= set(pattern_days(calendar.pattern(m.point_id, m.stream, per_week), n))
    days = list(week.days)
    for d in sorted(touched):
        if time.perf_counter() >= s.deadline:
            return None
        rebuilt = _rebuilt_day(s, week.days[d - 1], calendar, victim, problem, set(chosen))
        if rebuilt is None:
            return None
        days[d - 1] = rebuilt
    return Week(calendar, tuple(days))


def _improving(s: _Setting, week: Week) -> Week | None:
    """The first move that lowers :func:`week_key`, trying each fleet entry's busiest
    days and their lightest trucks; None when there is none (or time ran out)."""
    counts = trucks_per_day(week.days, s.entry_of)
    key = week_key(week.days, s.entry_of)
    for entry, per_day in sorted(counts.items(), key=lambda kv: -int(kv[1].max() - kv[1].min())):
        peak = int(per_day.max(initial=0))
        # a day one truck short of the peak takes the points only if its trucks absorb
        # them: the key rejects a move that just shifts the peak
        light = {d + 1 for d in range(len(per_day)) if per_day[d] < peak}
        if not light:
            continue
        for leave in [d + 1 for d in range(len(per_day)) if per_day[d] == peak]:
            day = week.days[leave - 1]
            trucks = [r for r in day.plan.routes if r.stops and s.entry_of[r.vehicle_id] == entry]
            for victim in sorted(trucks, key=lambda r: r.duration_s)[:MAX_VICTIMS]:
                if time.perf_counter() >= s.deadline:
                    return None
                trial = _moved(s, week, entry, leave, victim, light)
                if trial is not None and week_key(trial.days, s.entry_of) < key:
                    return trial
    return None


def fleet_key(days: Sequence[DayRoutes], entry_of: Mapping[str, str]) -> tuple[int, int, float]:
    """What a week is judged by: trucks to own, trucks on the busiest day, route cost."""
    own, busiest, _, _, cost = week_key(days, entry_of)
    return own, busiest, cost


def level_week(
    prep: Prepared, open_ids: set[str], week: Week, *, deadline: float
) -> tuple[Week, int]:
    """``week`` with trucks moved off its busiest days, and how many trucks' points
    changed calendar. Moves go on while they lower :func:`week_key` (a peak day
    cleared is a step towards a lower peak, even if it costs a truck elsewhere) and
    ``deadline`` (a ``time.perf_counter`` value) allows; the week kept is the best
    by :func:`fleet_key`, so steps that led nowhere are undone. Only a chosen
    calendar is levelled: the hash calendar is the fixed reference."""
    if week.calendar.mode != "chosen" or len(week.days) < 2:
        return week, 0
    if not all(d.problem.facilities for d in week.days):
        return week, 0
    rows = prep.day_demand
    visits = {
        PointStream(str(p), str(st)): float(v)
        for p, st, v in zip(rows["point_id"], rows["stream"], rows["visits_per_week"], strict=True)
    }
    s = _Setting(prep, open_ids, fleet_entries(prep), visits, point_days(prep.scenario), deadline)
    best, best_moves, moves = week, 0, 0
    before = trucks_per_day(week.days, s.entry_of)
    while time.perf_counter() < deadline:
        better = _improving(s, week)
        if better is None:
            break
        week = better
        moves += 1
        if fleet_key(week.days, s.entry_of) < fleet_key(best.days, s.entry_of):
            best, best_moves = week, moves
    after = trucks_per_day(best.days, s.entry_of)
    log.info(
        "levelling the week: %d trucks' points moved to other days; trucks per day %s -> %s",
        best_moves,
        {e: c.tolist() for e, c in before.items()},
        {e: c.tolist() for e, c in after.items()},
    )
    return best, best_moves
