"""The independent verifier catches each kind of violation in a hand-edited plan."""

from __future__ import annotations

import dataclasses

import pytest
from routing_toy import H, waste_problem

from optimizer.routing import Route, RoutePlan, Visit, solve_routes, verify_routes
from optimizer.routing.problem import RoutingProblem


@pytest.fixture(scope="module")
def solved() -> tuple[RoutingProblem, RoutePlan]:
    problem = waste_problem()
    plan = solve_routes(problem, time_limit_s=2)
    assert verify_routes(problem, plan) == []
    return problem, plan


def _with_visits(plan: RoutePlan, visits: list[Visit], **route: object) -> RoutePlan:
    (old,) = plan.routes
    new = dataclasses.replace(old, visits=tuple(visits), **route)
    return dataclasses.replace(plan, routes=(new,))


def _index(plan: RoutePlan, kind: str, nth: int = 0) -> int:
    return [i for i, v in enumerate(plan.routes[0].visits) if v.kind == kind][nth]


def _errors(problem: RoutingProblem, plan: RoutePlan, needle: str) -> None:
    errors = verify_routes(problem, plan)
    assert any(needle in e for e in errors), errors


def test_missing_stop(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    del visits[_index(plan, "stop")]
    _errors(problem, _with_visits(plan, visits), "neither served nor listed")


def test_stop_served_twice(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    i = _index(plan, "stop")
    visits.insert(i + 1, visits[i])
    _errors(problem, _with_visits(plan, visits), "served 2 times")


def test_mandatory_stop_listed_unserved(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    stop = visits.pop(_index(plan, "stop"))
    broken = dataclasses.replace(_with_visits(plan, visits), unserved=((stop.node, "dropped"),))
    _errors(problem, broken, "mandatory stop left unserved")


def test_capacity_exceeded(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    small = dataclasses.replace(problem.vehicles[0], capacity_kg=700)
    _errors(problem.replace(vehicles=(small,)), plan, "above capacity")


def test_volume_exceeded(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    small = dataclasses.replace(problem.vehicles[0], capacity_l=3000)
    _errors(problem.replace(vehicles=(small,)), plan, "l above capacity")


def test_returns_loaded(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    last_unload = max(i for i, v in enumerate(visits) if v.kind == "unload")
    del visits[last_unload]
    _errors(problem, _with_visits(plan, visits), "returns to the depot loaded")


def test_time_window_violated(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    i = next(k for k, v in enumerate(visits) if v.node == 3)  # window 08:00-10:00
    visits[i] = dataclasses.replace(visits[i], arrival_s=7 * H, departure_s=7 * H + 600)
    _errors(problem, _with_visits(plan, visits), "outside [")


def test_travel_time_too_short(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(plan.routes[0].visits)
    i = _index(plan, "stop", 1)
    shift = visits[i].arrival_s - visits[i - 1].departure_s
    visits[i] = dataclasses.replace(
        visits[i], arrival_s=visits[i].arrival_s - shift, departure_s=visits[i].departure_s - shift
    )
    _errors(problem, _with_visits(plan, visits), "cannot before")


def test_shift_exceeded(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    short = dataclasses.replace(problem.vehicles[0], shift_s=2 * H)
    _errors(problem.replace(vehicles=(short,)), plan, "above the shift")


def test_break_missing(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = [v for v in plan.routes[0].visits if v.kind != "break"]
    _errors(problem, _with_visits(plan, visits), "no break")


def test_break_outside_window(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    earlier = dataclasses.replace(problem.vehicles[0], break_window=(6 * H, 7 * H))
    _errors(problem.replace(vehicles=(earlier,)), plan, "outside the window")


def test_facility_refuses_stream(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    strict = problem.replace(facility_streams={1: frozenset({"paper"}), 2: frozenset({"paper"})})
    _errors(strict, plan, "facility refuses")


def test_vehicle_not_allowed(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    other = dataclasses.replace(problem.vehicles[0], id="T2")
    restricted = problem.replace(
        vehicles=(*problem.vehicles, other), allowed_vehicles={5: frozenset({"T2"})}
    )
    _errors(restricted, plan, "may not serve")


def test_stream_not_on_truck(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    paper_only = dataclasses.replace(problem.vehicles[0], streams=frozenset({"paper"}))
    _errors(problem.replace(vehicles=(paper_only,)), plan, "not allowed on truck")


def test_day_limits(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    limited = dataclasses.replace(problem.vehicles[0], day_capacity_kg=1000, max_stops=3)
    errors = verify_routes(problem.replace(vehicles=(limited,)), plan)
    assert any("in the day" in e for e in errors)
    assert any("stops, above 3" in e for e in errors)


def test_wrong_reported_distance(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    (route,) = plan.routes
    broken = dataclasses.replace(
        plan, routes=(dataclasses.replace(route, distance_m=route.distance_m - 1),)
    )
    _errors(problem, broken, "reported distance")


def test_unknown_vehicle(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    (route,) = plan.routes
    broken = dataclasses.replace(
        plan, routes=(Route("ghost", route.visits, route.distance_m, 0, 0.0),)
    )
    _errors(problem, broken, "unknown vehicle")
