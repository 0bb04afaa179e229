"""Driver breaks: decoded routes run at their earliest times, every break the route
needs is on the sheet where it is taken, and the verifier rejects unexplained waiting.

Regressions: with no cost per hour a truck took its break and then waited six hours
before its next stop; with a break window the route did not need, it reached its
first stop 1.5 km away 38 minutes after leaving, with nothing on the sheet saying why.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer.routing import RoutePlan, RoutingProblem, solve_routes, verify_routes
from optimizer.routing.breaks import earliest_schedule
from optimizer.routing.result import Route, Visit

H = 3600
M = 60
START = 7 * H


def small(service_s: int, window: tuple[int, int] | None, **vehicle: Any) -> RoutingProblem:
    """A depot and four stops a few minutes apart; one truck from 07:00, no costs."""
    xy = np.array([[0, 0], [1500, 0], [1800, 600], [1200, 1500], [0, 1200]], dtype=float)
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    base = RoutingProblem.from_matrix(
        dist,
        [0, 300, 600, 400, 500],
        11_000,
        time=dist // 6,  # 6 m/s: the first stop is 250 s away
        service=[0] + [service_s] * 4,
        shift_s=8 * H,
    )
    truck = dataclasses.replace(
        base.vehicles[0],
        cost_per_km=0.0,
        shift_start_s=START,
        break_window=window,
        break_s=30 * M if window else 0,
        **vehicle,
    )
    return base.replace(vehicles=(truck,))


def _route(plan: RoutePlan) -> Route:
    (route,) = plan.routes
    return route


def _waiting(problem: RoutingProblem, route: Route) -> list[int]:
    """Seconds each visit starts later than the drive, its window and any break on
    the way (taken as soon as its window opens) allow."""
    vehicle = problem.vehicles[0]
    out = []
    prev = route.visits[0]
    pending: list[Visit] = []
    for visit in route.visits[1:]:
        if visit.kind == "break":
            pending.append(visit)
            continue
        ready = prev.departure_s + int(problem.time_s[prev.node, visit.node])
        if pending:
            assert vehicle.break_window is not None
            ready = max(ready, vehicle.break_window[0]) + vehicle.break_s
        out.append(visit.arrival_s - max(ready, int(problem.time_window[visit.node, 0])))
        prev, pending = visit, []
    return out


def _solve(problem: RoutingProblem) -> Route:
    plan = solve_routes(problem, time_limit_s=1)
    assert verify_routes(problem, plan) == []
    return _route(plan)


def test_after_the_break_the_truck_goes_on_at_once() -> None:
    """Bug 1: break window 07:10-07:50, no costs: no hours of waiting after the break."""
    without = _solve(small(10 * M, None))
    problem = small(10 * M, (7 * H + 10 * M, 7 * H + 50 * M))
    route = _solve(problem)
    breaks = [v for v in route.visits if v.kind == "break"]
    assert len(breaks) == 1
    assert 7 * H + 10 * M <= breaks[0].arrival_s <= 7 * H + 50 * M
    assert breaks[0].departure_s - breaks[0].arrival_s == 30 * M
    assert max(_waiting(problem, route)) == 0
    # the break costs at most its 30 minutes and the wait for its window to open
    assert route.visits[-1].arrival_s <= without.visits[-1].arrival_s + 40 * M
    assert route.visits[-1].arrival_s < 9 * H


def test_leaving_at_seven_reaches_the_first_stop_at_once() -> None:
    """Bug 2: break window 07:20-09:00 on a route back by 08:00: no break is needed
    (it can start after the route), and nothing delays the first stop."""
    problem = small(3 * M, (7 * H + 20 * M, 9 * H))
    route = _solve(problem)
    first = route.visits[1]
    assert route.visits[0].departure_s == START
    assert first.arrival_s == START + int(problem.time_s[0, first.node])
    assert max(_waiting(problem, route)) == 0
    assert route.visits[-1].arrival_s < 8 * H
    assert [v.kind for v in route.visits].count("break") == 0


def test_a_break_due_at_once_is_on_the_sheet_before_the_first_stop() -> None:
    """A break that must start by 07:02 is taken right after leaving, shown there."""
    problem = small(10 * M, (START, START + 2 * M))
    route = _solve(problem)
    kinds = [v.kind for v in route.visits]
    assert kinds[:2] == ["depot_start", "break"]
    assert kinds.count("break") == 1
    brk, first = route.visits[1], route.visits[2]
    assert brk.arrival_s == START and brk.departure_s == START + 30 * M
    # the drive may come before or after the break: either way no waiting
    assert first.arrival_s == START + 30 * M + int(problem.time_s[0, first.node])
    assert max(_waiting(problem, route)) == 0


def test_a_long_route_in_the_window_takes_exactly_one_break() -> None:
    problem = small(40 * M, (7 * H + 20 * M, 9 * H))
    route = _solve(problem)
    breaks = [v for v in route.visits if v.kind == "break"]
    assert len(breaks) == 1
    assert 7 * H + 20 * M <= breaks[0].arrival_s <= 9 * H
    assert max(_waiting(problem, route)) == 0


def test_earliest_schedule_drops_solver_delays_and_picks_the_best_leg() -> None:
    """From late solver times, the earliest schedule puts the break where it costs
    least and starts every visit as soon as it can."""
    problem = small(10 * M, (7 * H + 10 * M, 7 * H + 50 * M))
    vehicle = problem.vehicles[0]
    nodes = [0, 1, 2, 3, 4, 0]
    late = [
        Visit(n, "depot_start" if i == 0 else "depot_end" if i == 5 else "stop",
              START + (0 if i == 0 else 5 * H + i * M),
              START + (0 if i == 0 else 5 * H + i * M + (10 * M if 0 < i < 5 else 0)),
              0, 0, 0)
        for i, n in enumerate(nodes)
    ]  # fmt: skip
    out = earliest_schedule(problem, vehicle, late, prefer=1)
    assert out is not None
    kinds = [v.kind for v in out]
    assert kinds.count("break") == 1
    legs = {
        leg: earliest_schedule(problem, vehicle, late, prefer=leg)[-1].arrival_s  # type: ignore[index]
        for leg in range(1, 6)
    }
    assert out[-1].arrival_s == min(legs.values())
    assert out[-1].arrival_s < 9 * H
    assert max(_waiting(problem, Route("v1", tuple(out), 0, 0, 0.0))) == 0


# ---- the verifier


@pytest.fixture(scope="module")
def solved() -> tuple[RoutingProblem, RoutePlan]:
    problem = small(10 * M, (7 * H + 10 * M, 7 * H + 50 * M))
    plan = solve_routes(problem, time_limit_s=1)
    assert verify_routes(problem, plan) == []
    return problem, plan


def _with(plan: RoutePlan, visits: list[Visit]) -> RoutePlan:
    route = dataclasses.replace(_route(plan), visits=tuple(visits))
    return dataclasses.replace(plan, routes=(route,))


def _shift(visit: Visit, by: int) -> Visit:
    return dataclasses.replace(
        visit, arrival_s=visit.arrival_s + by, departure_s=visit.departure_s + by
    )


def test_verifier_rejects_waiting_without_a_reason(
    solved: tuple[RoutingProblem, RoutePlan],
) -> None:
    problem, plan = solved
    visits = list(_route(plan).visits)
    i = next(i for i, v in enumerate(visits) if v.kind == "stop" and i > 1)
    visits[i:] = [_shift(v, 6 * H) for v in visits[i:]]  # the six-hour wait of bug 1
    errors = verify_routes(problem, _with(plan, visits))
    assert any("360 min of waiting that no time window or break explains" in e for e in errors)


def test_verifier_accepts_waiting_for_a_time_window(
    solved: tuple[RoutingProblem, RoutePlan],
) -> None:
    problem, plan = solved
    visits = list(_route(plan).visits)
    i = len(visits) - 2  # the last stop opens an hour after the truck could be there
    windows = np.array(problem.time_window)
    windows[visits[i].node, 0] = visits[i].arrival_s + H
    visits[i:] = [_shift(v, H) for v in visits[i:]]
    assert verify_routes(problem.replace(time_window=windows), _with(plan, visits)) == []


def test_verifier_rejects_a_late_first_stop(solved: tuple[RoutingProblem, RoutePlan]) -> None:
    problem, plan = solved
    visits = list(_route(plan).visits)
    visits[1:] = [_shift(v, 34 * M) for v in visits[1:]]  # the 34 minutes of bug 2
    errors = verify_routes(problem, _with(plan, visits))
    assert any("34 min of waiting" in e for e in errors), errors


def test_verifier_wants_one_break_of_the_truck_length(
    solved: tuple[RoutingProblem, RoutePlan],
) -> None:
    problem, plan = solved
    visits = list(_route(plan).visits)
    b = next(i for i, v in enumerate(visits) if v.kind == "break")
    twice = [
        *visits[: b + 1],
        _shift(visits[b], 30 * M),
        *(_shift(v, 30 * M) for v in visits[b + 1 :]),
    ]
    assert any("2 breaks" in e for e in verify_routes(problem, _with(plan, twice)))
    short = dataclasses.replace(visits[b], departure_s=visits[b].departure_s - 10 * M)
    later = [*visits[:b], short, *(_shift(v, -10 * M) for v in visits[b + 1 :])]
    assert any("not the 1800 s" in e for e in verify_routes(problem, _with(plan, later)))
    no_break = problem.replace(
        vehicles=(dataclasses.replace(problem.vehicles[0], break_window=None, break_s=0),)
    )
    assert any("the truck has no break" in e for e in verify_routes(no_break, plan))


def test_verifier_knows_no_driving_happens_during_a_break(
    solved: tuple[RoutingProblem, RoutePlan],
) -> None:
    """A break started after a full leg's drive cannot be followed by an arrival
    that assumes part of the drive happened during the break."""
    problem, plan = solved
    visits = list(_route(plan).visits)
    b = next(i for i, v in enumerate(visits) if v.kind == "break")
    prev, brk, nxt = visits[b - 1], visits[b], visits[b + 1]
    travel = int(problem.time_s[prev.node, nxt.node])
    # break starts when the truck leaves; arriving less than the drive after it ends
    moved = dataclasses.replace(
        brk, arrival_s=prev.departure_s, departure_s=prev.departure_s + 30 * M
    )
    early = _shift(nxt, moved.departure_s + travel - 1 - nxt.arrival_s)
    broken = [*visits[:b], moved, early, *visits[b + 2 :]]
    assert any("cannot before" in e for e in verify_routes(problem, _with(plan, broken)))


# ---- the scenario level: plan.json


POINTS = """\
id,lon,lat,stream,tonnes_per_day,service_min
P1,24.9400,60.1700,msw,0.5,10
P2,24.9450,60.1690,msw,0.4,10
P3,24.9480,60.1720,msw,0.6,10
P4,24.9420,60.1740,msw,0.3,10
"""


def _scenario(tmp_path: Path, window: str) -> Path:
    (tmp_path / "points.csv").write_text(POINTS)
    path = tmp_path / "breaks.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            points = "points.csv"

            [scenario]
            name = "breaks"

            [network]
            demo = true
            max_snap_m = 250

            [[streams]]
            id = "msw"
            density_t_per_m3 = 0.2
            accepted_by = ["landfill"]

            [[depots]]
            id = "garage"
            lon = 24.9375
            lat = 60.1655

            [[facilities]]
            id = "landfill"
            type = "landfill"
            state = "existing"
            lon = 24.9525
            lat = 60.1780
            capacity_t_per_day = 60
            accepts = ["msw"]
            opening_hours = "06:00-22:00"
            unload_min = 15

            [[fleet]]
            id = "truck"
            count = 1
            depot = "garage"
            capacity_t = 11
            capacity_m3 = 20
            compaction_ratio = 4
            shift_start = "07:00"
            shift_min = 480
            break_min = 30
            break_window = "{window}"

            [solver]
            time_limit_s = 2
            """
        )
    )
    return path


def test_scenario_break_row_has_no_stream_and_no_idle_after_it(tmp_path: Path) -> None:
    from optimizer import plan_scenario

    plan = plan_scenario(_scenario(tmp_path, "07:10-07:50"), time_limit_s=3)
    (route,) = plan["routes"]
    stops = route["stops"]
    kinds = [s["kind"] for s in stops]
    assert kinds.count("break") == 1
    b = kinds.index("break")
    brk, after = stops[b], stops[b + 1]
    assert brk["stream"] is None
    assert brk["departure_min"] - brk["arrival_min"] == 30
    assert 7 * 60 + 10 <= brk["arrival_min"] <= 7 * 60 + 50
    # the next stop is a short drive away: no hours of waiting
    assert after["arrival_min"] - brk["departure_min"] < 10
    assert stops[-1]["arrival_min"] < 9 * 60
    # leaving at 07:00, the first stop 1.5 km away is reached within minutes
    assert stops[0]["departure_min"] == 7 * 60
    assert stops[1]["arrival_min"] < 7 * 60 + 10
