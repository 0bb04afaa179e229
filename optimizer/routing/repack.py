"""Fewer trucks: the trips of lightly used trucks moved onto trucks with time to spare.

A day routed in areas (:mod:`optimizer.stages.split`) ends most areas with a truck
that is partly idle, and the areas cannot lend each other that time. Here a *trip*, a
run of stops ending at an unload, moves whole from one truck to another: its load and
the site it empties at do not change, so only the receiving truck's day has to be
re-timed (windows, shift, break, opening hours; :func:`breaks.timed_route`) and
checked against its day capacity and stop limit. A trip that fits nowhere whole may
be cut in two, each piece ending at the trip's unload site (each piece is lighter
than the trip, so the trip's load rule holds for both). A truck is emptied only when every
one of its trips finds a place and the day gets cheaper (its fixed and running cost
against the added driving). The caller verifies the day whole afterwards, as always.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.routing.breaks import timed_route
from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, Visit, VisitKind

Trip = tuple[int, ...]  # the stops in order, then the node of the unload that ends it
EPS = 1e-6
MAX_CUTS = 4  # cuts tried for a trip that fits nowhere whole


def trips_of(route: Route) -> list[Trip] | None:
    """The route's trips in order; None when stops are left on board at the end."""
    out: list[Trip] = []
    stops: list[int] = []
    for v in route.visits:
        if v.kind == "stop":
            stops.append(v.node)
        elif v.kind == "unload" and stops:
            out.append((*stops, v.node))
            stops = []
    return None if stops else out


def _load_rules_hold(problem: RoutingProblem, vehicle: Vehicle, trips: Sequence[Trip]) -> bool:
    """The truck's capacity on every trip (trucks differ in size), its day capacity and
    its stop limit; timing is checked by the retiming."""
    for trip in trips:
        body = list(trip[:-1])
        if int(problem.demand_kg[body].sum()) > vehicle.capacity_kg:
            return False
        if int(problem.demand_l[body].sum()) > vehicle.capacity_l:
            return False
    stops = [s for t in trips for s in t[:-1]]
    if vehicle.max_stops is not None and len(stops) > vehicle.max_stops:
        return False
    for limit, demand in (
        (vehicle.day_capacity_kg, problem.demand_kg),
        (vehicle.day_capacity_l, problem.demand_l),
    ):
        if limit is not None and int(demand[stops].sum()) > limit:
            return False
    return True


def build(
    problem: RoutingProblem, vehicle: Vehicle, start: Visit, trips: Sequence[Trip]
) -> Route | None:
    """The truck's day over ``trips``, leaving as ``start`` does; None when it breaks a rule."""
    if not _load_rules_hold(problem, vehicle, trips):
        return None
    nodes: list[tuple[int, VisitKind]] = [(start.node, "depot_start")]
    for trip in trips:
        nodes += [(s, "stop") for s in trip[:-1]]
        nodes.append((trip[-1], "unload"))
    nodes.append((vehicle.end, "depot_end"))
    return timed_route(problem, vehicle, nodes, start.arrival_s)


@dataclass
class _Day:
    """A truck's current route and its trips."""

    route: Route
    trips: list[Trip]


def _cuts(problem: RoutingProblem, trip: Trip, most: int) -> list[int]:
    """Where to cut ``trip`` in two (index of the second piece's first stop), the cuts
    that halve its service time first."""
    stops = trip[:-1]
    if len(stops) < 2:
        return []
    service = np.cumsum(problem.service_s[list(stops)])
    half = service[-1] / 2
    order = sorted(range(1, len(stops)), key=lambda c: abs(float(service[c - 1]) - half))
    return order[:most]


@dataclass(frozen=True)
class _Search:
    """What every move needs: the problem, its trucks by id and when to stop."""

    problem: RoutingProblem
    vehicles: dict[str, Vehicle]
    deadline: float

    def best_place(
        self, trip: Trip, days: dict[str, _Day], skip: str
    ) -> tuple[str, Route, list[Trip], float] | None:
        """The cheapest truck and position for ``trip`` among ``days`` (not ``skip``);
        None also once the deadline has passed."""
        if time.perf_counter() >= self.deadline:
            return None
        p = self.problem
        work = int(p.service_s[list(trip)].sum())
        best: tuple[str, Route, list[Trip], float] | None = None
        for vid, day in days.items():
            v = self.vehicles[vid]
            if vid == skip or day.route.duration_s + work > v.shift_s:
                continue
            if not all(p.vehicle_may_serve(v, s) for s in trip[:-1]):
                continue
            for k in range(len(day.trips) + 1):
                trips = [*day.trips[:k], trip, *day.trips[k:]]
                new = build(p, v, day.route.visits[0], trips)
                if new is None:
                    continue
                delta = new.cost - day.route.cost
                if best is None or delta < best[3]:
                    best = (vid, new, trips, delta)
        return best

    def place_trip(
        self, trip: Trip, trial: dict[str, _Day], victim: str, cuts: int
    ) -> float | None:
        """Put ``trip`` on other trucks of ``trial`` (in place): whole, or else cut in two
        pieces that each end at its unload site (up to ``cuts`` cuts tried). The added
        cost, or None."""
        place = self.best_place(trip, trial, victim)
        if place is not None:
            vid, route, trips, delta = place
            trial[vid] = _Day(route, trips)
            return delta
        for cut in _cuts(self.problem, trip, cuts):
            pieces = ((*trip[:cut], trip[-1]), trip[cut:])
            attempt = dict(trial)
            added = 0.0
            for piece in pieces:
                place = self.best_place(piece, attempt, victim)
                if place is None:
                    break
                vid, route, trips, delta = place
                attempt[vid] = _Day(route, trips)
                added += delta
            else:
                trial.update(attempt)
                return added
        return None

    def empty(self, victim: str, days: dict[str, _Day], cuts: int) -> dict[str, _Day] | None:
        """New days for the trucks taking every trip of ``victim``; None if not all fit,
        the day would not get cheaper or the deadline passed."""
        trial = dict(days)
        added = 0.0
        for trip in sorted(days[victim].trips, key=len, reverse=True):
            delta = self.place_trip(trip, trial, victim, cuts)
            if delta is None:
                return None
            added += delta
            if added >= days[victim].route.cost - EPS:
                return None
        return {vid: d for vid, d in trial.items() if vid != victim and d is not days[vid]}


def repack(
    problem: RoutingProblem, routes: Sequence[Route], *, deadline: float
) -> tuple[list[Route], int]:
    """The routes with as many trucks emptied as fit before ``deadline`` (a
    ``time.perf_counter`` value), and how many were emptied. Routes whose load is
    not emptied at a facility stay as they are."""
    if not problem.facilities:
        return list(routes), 0
    search = _Search(problem, {v.id: v for v in problem.vehicles}, deadline)
    days: dict[str, _Day] = {}
    kept: list[Route] = []
    for r in routes:
        trips = trips_of(r)
        if trips is None or not trips or r.vehicle_id in days:
            kept.append(r)
        else:
            days[r.vehicle_id] = _Day(r, trips)
    emptied = 0
    for cuts in (0, MAX_CUTS):  # whole trips first: cheaper moves, and quicker
        changed = True
        while changed and time.perf_counter() < deadline:
            changed = False
            for victim in sorted(days, key=lambda vid: days[vid].route.duration_s):
                if time.perf_counter() >= deadline:
                    break
                if victim not in days:
                    continue
                new = search.empty(victim, days, cuts)
                if new is None:
                    continue
                del days[victim]
                days.update(new)
                emptied += 1
                changed = True
    out = [days[r.vehicle_id].route if r.vehicle_id in days else r for r in routes]
    return [r for r in out if r.vehicle_id in days or r in kept], emptied


def absorb(
    problem: RoutingProblem, routes: Sequence[Route], vehicle_id: str, *, deadline: float
) -> list[Route] | None:
    """The routes with every trip of truck ``vehicle_id`` moved onto the other trucks
    (whole or cut in two), or None when they do not all fit, the day would not get
    cheaper, or ``deadline`` passed first."""
    if not problem.facilities:
        return None
    search = _Search(problem, {v.id: v for v in problem.vehicles}, deadline)
    days: dict[str, _Day] = {}
    for r in routes:
        trips = trips_of(r)
        if trips is not None and trips and r.vehicle_id not in days:
            days[r.vehicle_id] = _Day(r, trips)
    if vehicle_id not in days:
        return None
    new = search.empty(vehicle_id, days, MAX_CUTS)
    if new is None:
        return None
    return [
        new[r.vehicle_id].route if r.vehicle_id in new else r
        for r in routes
        if r.vehicle_id != vehicle_id
    ]
