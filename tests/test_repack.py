"""Trips moved between trucks so that lightly used trucks stay in the garage."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from routing_toy import H, waste_problem

from optimizer.routing.problem import RoutingProblem
from optimizer.routing.repack import build, repack, trips_of
from optimizer.routing.result import Route, RoutePlan, Visit
from optimizer.routing.verify import verify_routes


def two_trucks(*, open_windows: bool = False, **vehicle_changes: object) -> RoutingProblem:
    """The toy day with two equal trucks (``open_windows``: stops open 06:00-18:00)."""
    p = waste_problem()
    if open_windows:
        tw = np.array(p.time_window)
        tw[3:] = [6 * H, 18 * H]
        p = p.replace(time_window=tw)
    v = dataclasses.replace(p.vehicles[0], **vehicle_changes)  # type: ignore[arg-type]
    return p.replace(vehicles=(v, dataclasses.replace(v, id="T2")))


def start_of(p: RoutingProblem) -> Visit:
    return Visit(0, "depot_start", 7 * H, 7 * H, 0, 0, 0)


def half_days(p: RoutingProblem) -> list[Route]:
    """T1 collects P3, P4, P5 on one trip to F1, T2 P6, P8, P9 and then P10, P7:
    the split of a day into two areas, one truck each."""
    a = build(p, p.vehicles[0], start_of(p), [(3, 4, 5, 1)])
    b = build(p, p.vehicles[1], start_of(p), [(6, 8, 9, 1), (10, 7, 1)])
    assert a is not None and b is not None
    return [a, b]


def plan_of(routes: list[Route], unserved: tuple[tuple[int, str], ...] = ()) -> RoutePlan:
    return RoutePlan("feasible", sum(r.cost for r in routes), tuple(routes), unserved, 0.0)


def test_trips_are_runs_of_stops_ending_at_an_unload() -> None:
    p = two_trucks()
    a, b = half_days(p)
    assert trips_of(a) == [(3, 4, 5, 1)]
    assert trips_of(b) == [(6, 8, 9, 1), (10, 7, 1)]


def test_a_light_truck_is_emptied_and_the_day_stays_feasible() -> None:
    p = two_trucks()
    before = half_days(p)
    assert verify_routes(p, plan_of(before)) == []
    after, emptied = repack(p, before, deadline=time.perf_counter() + 10)
    assert emptied == 1 and len(after) == 1
    assert verify_routes(p, plan_of(after)) == []  # every stop once, loads, windows, break
    assert sum(r.cost for r in after) < sum(r.cost for r in before)
    (route,) = after
    assert sorted(route.stops) == list(range(3, 11))
    assert [v.kind for v in route.visits].count("break") == 1  # the lunch, re-placed


def test_no_move_past_the_shift_or_the_day_capacity() -> None:
    for changes in ({"shift_s": 3 * H}, {"day_capacity_kg": 2000}):
        p = two_trucks(open_windows=True, **changes)
        before = half_days(p)
        assert verify_routes(p, plan_of(before)) == []
        after, emptied = repack(p, before, deadline=time.perf_counter() + 10)
        assert emptied == 0 and after == before, changes


def test_trips_only_go_to_trucks_that_may_carry_them() -> None:
    p = two_trucks()
    only_t1 = {s: frozenset({"T1"}) for s in (3, 4, 5)}
    p = p.replace(allowed_vehicles=only_t1)
    before = half_days(p)
    after, emptied = repack(p, before, deadline=time.perf_counter() + 10)
    # T2's trips may go to T1, T1's may not go to T2
    assert emptied == 1 and [r.vehicle_id for r in after] == ["T1"]
    assert verify_routes(p, plan_of(after)) == []


def test_nothing_to_do_without_facilities() -> None:
    p = two_trucks().replace(facility_streams={})
    routes = half_days(two_trucks())
    assert repack(p.replace(kind=("depot",) * 3 + p.kind[3:]), routes, deadline=1e18)[1] == 0


def test_a_trip_that_fits_nowhere_whole_is_cut_in_two() -> None:
    """Shifts of 1 h 42 min: T3's 1 h 17 min trip fits on neither T1 (53 min) nor T2
    (53 min) whole, but cut in two each piece does, each ending at the trip's site."""
    p = two_trucks(open_windows=True, shift_s=int(1.7 * H), break_window=None, break_s=0)
    p = p.replace(vehicles=(*p.vehicles, dataclasses.replace(p.vehicles[0], id="T3")))
    t1, t2, t3 = p.vehicles
    before = [
        build(p, t1, start_of(p), [(3, 4, 1)]),
        build(p, t2, start_of(p), [(8, 9, 2)]),
        build(p, t3, start_of(p), [(5, 6, 10, 1)]),
    ]
    assert all(r is not None for r in before)
    after, emptied = repack(p, before, deadline=time.perf_counter() + 10)  # type: ignore[arg-type]
    assert emptied == 1 and [r.vehicle_id for r in after] == ["T1", "T2"]
    pieces = [t for r in after for t in trips_of(r) or [] if t not in ((3, 4, 1), (8, 9, 2))]
    assert sorted(s for t in pieces for s in t[:-1]) == [5, 6, 10]
    assert len(pieces) == 2 and all(t[-1] == 1 for t in pieces)
    left_out = p.replace(drop_penalty=10**6)  # P7 is on no truck in this test
    assert verify_routes(left_out, plan_of(after, ((7, "not in this test"),))) == []


def test_a_trip_never_goes_to_a_truck_too_small_for_it() -> None:
    """T1 carries 2,000 kg a trip, T2 1,500: T1's 1,600 kg trip cannot move to T2 (the
    loads of a trip travel with it, the truck's capacity does not)."""
    p = two_trucks(open_windows=True)
    big = dataclasses.replace(p.vehicles[0], capacity_kg=2000)
    p = p.replace(vehicles=(big, p.vehicles[1]))
    before = [
        build(p, big, start_of(p), [(3, 4, 5, 6, 1)]),
        build(p, p.vehicles[1], start_of(p), [(7, 8, 9, 1), (10, 2)]),
    ]
    assert all(r is not None for r in before)
    after, emptied = repack(p, before, deadline=time.perf_counter() + 10)  # type: ignore[arg-type]
    assert [r.vehicle_id for r in after] == ["T1"] and emptied == 1  # T2's trips fit on T1
    assert verify_routes(p, plan_of(after)) == []


def test_repack_stops_at_its_deadline() -> None:
    p = two_trucks()
    before = half_days(p)
    after, emptied = repack(p, before, deadline=time.perf_counter() - 1)
    assert emptied == 0 and after == before
