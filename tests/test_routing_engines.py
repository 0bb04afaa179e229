"""Routing engines: PyVRP's mapping of a routing problem, declines with reasons, the race
and the fallback between engines, and breaks inserted into PyVRP's routes.

Every plan is judged by the independent verifier (``verify_routes``), never by the
engine that made it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from routing_toy import H, waste_problem

from optimizer.cli import main
from optimizer.errors import InfeasibleError
from optimizer.plan_upgrade import upgrade_plan
from optimizer.routing import engines
from optimizer.routing import pyvrp_engine as pe
from optimizer.routing.breaks import timed_route
from optimizer.routing.interrupt import Interrupted, clear_stop, request_stop
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.result import RoutePlan, VisitKind
from optimizer.routing.solve import solve_routes
from optimizer.routing.verify import verify_routes

LIMIT_S = 1.0


def no_break(problem: RoutingProblem) -> RoutingProblem:
    """The problem with its trucks' breaks removed."""
    return problem.replace(
        vehicles=tuple(
            dataclasses.replace(v, break_window=None, break_s=0) for v in problem.vehicles
        )
    )


def kinds(plan: RoutePlan) -> list[list[VisitKind]]:
    return [[v.kind for v in r.visits] for r in plan.routes]


def solved(problem: RoutingProblem, limit: float = LIMIT_S) -> RoutePlan:
    """PyVRP's plan, checked by the verifier."""
    plan = pe.solve(problem, limit, seed=1)
    assert plan is not None
    assert verify_routes(problem, plan) == []
    return plan


# --------------------------------------------------------------- the mapping
def test_unload_trips_in_litres_and_back_empty() -> None:
    """Litres bind (2 stops a trip): three or more unloads mid-route, the last one
    just before the garage; both load dimensions are stated."""
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], capacity_kg=100_000, capacity_l=4000)
    p = p.replace(vehicles=(v,))
    mapping = pe.build_data(p, p.stops)
    assert mapping.data.num_load_dimensions == 2
    plan = solved(p)
    (route,) = plan.routes
    seq = [x.kind for x in route.visits]
    assert seq[-2:] == ["unload", "depot_end"]
    assert seq.count("unload") >= 4  # 8 stops x 2000 l, 4000 l a trip
    assert route.visits[-1].load_after_l == 0
    assert not plan.unserved


def test_time_windows_and_shift_are_stated() -> None:
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], shift_start_flex_s=1800)
    p = p.replace(vehicles=(v,))
    (vt,) = pe.build_data(p, p.stops).data.vehicle_types()
    assert (vt.tw_early, vt.start_late) == (7 * H, 7 * H + 1800)
    assert vt.shift_duration == 11 * H
    assert vt.tw_late == 18 * H  # the depot closes before the latest shift end
    plan = solved(p)
    by_node = {x.node: x for x in plan.routes[0].visits if x.kind == "stop"}
    assert 8 * H <= by_node[3].arrival_s <= 10 * H
    assert 13 * H <= by_node[7].arrival_s <= 15 * H


def test_shift_limit_needs_a_second_truck() -> None:
    """With a 2-hour shift one truck cannot serve the day (about 3 h); two can."""
    p = no_break(waste_problem())
    tw = np.array(p.time_window)
    tw[3:] = [6 * H, 18 * H]  # open windows: only the shift binds
    short = dataclasses.replace(p.vehicles[0], shift_s=2 * H)
    p = p.replace(time_window=tw, vehicles=(short, dataclasses.replace(short, id="T2")))
    plan = solved(p)
    assert plan.vehicles_used == 2
    assert all(r.duration_s <= 2 * H for r in plan.routes)


def test_stream_compatibility_and_facility_streams() -> None:
    """A paper truck and an msw truck; F2 takes msw only, so the paper truck unloads
    at F1 only. Each stop goes to the truck of its stream."""
    p = no_break(waste_problem())
    streams = tuple(
        None if k != "stop" else ("paper" if i % 2 else "msw") for i, k in enumerate(p.kind)
    )
    base = dataclasses.replace(p.vehicles[0], capacity_kg=900)
    fleet = (
        dataclasses.replace(base, id="M", streams=frozenset({"msw"})),
        dataclasses.replace(base, id="P", streams=frozenset({"paper"})),
    )
    p = p.replace(stream=streams, vehicles=fleet)
    assert pe.supports(p) is None
    plan = solved(p, 2.0)
    for route in plan.routes:
        truck = route.vehicle_id
        for x in route.visits:
            if x.kind == "stop":
                assert p.stream[x.node] == ("msw" if truck == "M" else "paper")
            if x.kind == "unload" and truck == "P":
                assert x.node == 1  # F2 refuses paper
    assert not plan.unserved


def test_allowed_vehicles_become_a_zero_capacity_dimension() -> None:
    p = no_break(waste_problem())
    fleet = (p.vehicles[0], dataclasses.replace(p.vehicles[0], id="T2"))
    p = p.replace(vehicles=fleet, allowed_vehicles={4: frozenset({"T2"}), 5: frozenset({"T2"})})
    mapping = pe.build_data(p, p.stops)
    assert mapping.data.num_load_dimensions == 3  # kg, l, "only T2"
    caps = sorted(vt.capacity[2] for vt in mapping.data.vehicle_types())
    assert caps == [0, 2]
    plan = solved(p, 2.0)
    served_by = {x.node: r.vehicle_id for r in plan.routes for x in r.visits if x.kind == "stop"}
    assert served_by[4] == served_by[5] == "T2"


def test_optional_stops_carry_the_drop_penalty_as_prize() -> None:
    """A stop 100 km out (10 000 to serve): dropped for a penalty of 5 000 that keeps
    the near stops (about 1 000 each), served for a large one."""
    p = no_break(waste_problem())
    dist = np.array(p.distance_m)
    dist[10, :] += 100_000
    dist[:, 10] += 100_000
    dist[10, 10] = 0
    tw = np.array(p.time_window)
    tw[3:] = [6 * H, 18 * H]  # no waiting for a window: every near stop is worth serving
    roomy = dataclasses.replace(p.vehicles[0], capacity_kg=10_000)  # one trip
    far = p.replace(
        distance_m=dist,
        time_s=np.minimum(dist // 10, 600),
        time_window=tw,
        vehicles=(roomy,),
        drop_penalty=5000,
    )
    clients = pe.build_data(far, far.stops).data.clients()
    assert {c.prize for c in clients} == {5000 * pe.cost_scale(far.vehicles)}
    assert not any(c.required for c in clients)
    plan = solved(far)
    assert [s for s, _ in plan.unserved] == [10]
    assert plan.unserved[0][1].startswith("fleet limit")
    keep = solved(far.replace(drop_penalty=10**6))
    assert not keep.unserved


def test_mixed_fleet_and_two_depots() -> None:
    """Two garages, a cheap small truck and a dear big one: each route starts and ends
    at its own garage (the verifier checks), and the vehicle types are two."""
    p = no_break(waste_problem())
    n = p.n
    dist = np.zeros((n + 1, n + 1), dtype=np.int64)  # a second garage D2 where F1 is
    dist[:n, :n] = p.distance_m
    dist[n, :n] = dist[:n, n] = p.distance_m[1]

    def grow(a: np.ndarray, value: int) -> np.ndarray:
        return np.r_[a, value]

    tw = np.vstack([p.time_window, [6 * H, 18 * H]])
    small = dataclasses.replace(p.vehicles[0], id="S", capacity_kg=800, fixed_cost=100)
    big = dataclasses.replace(p.vehicles[0], id="B", start=n, end=n, capacity_kg=3000)
    q = RoutingProblem(
        node_ids=(*p.node_ids, "D2"),
        kind=(*p.kind, "depot"),
        distance_m=dist,
        time_s=dist // 10,
        demand_kg=grow(p.demand_kg, 0),
        demand_l=grow(p.demand_l, 0),
        service_s=grow(p.service_s, 0),
        time_window=tw,
        stream=(*p.stream, None),
        facility_streams=p.facility_streams,
        vehicles=(small, big),
    )
    assert pe.supports(q) is None
    assert pe.build_data(q, q.stops).data.num_vehicle_types == 2
    plan = solved(q, 2.0)
    starts = {r.vehicle_id: r.visits[0].node for r in plan.routes}
    assert starts.get("B", n) == n and starts.get("S", 0) == 0


def test_costs_are_the_problem_costs() -> None:
    """The plan's route costs are fixed + per km + per hour, as OR-Tools' are."""
    p = no_break(waste_problem())
    plan = solved(p)
    v = p.vehicles[0]
    for r in plan.routes:
        expect = (
            v.fixed_cost + v.cost_per_km * r.distance_m / 1000 + v.cost_per_h * r.duration_s / H
        )
        assert r.cost == pytest.approx(expect)
    assert pe.cost_scale([dataclasses.replace(v, cost_per_km=1.5)]) == 10_000


def test_same_seed_same_routes() -> None:
    p = no_break(waste_problem())
    a, b = (pe.solve(p, 0.5, seed=7) for _ in range(2))
    assert a is not None and b is not None
    assert a.sequences() == b.sequences()


def test_large_problems_search_fewer_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above LARGE_STOPS the granular neighbourhood shrinks to LARGE_NEIGHBOURS; the
    plan is still found and verified (benchmarks/vrp/README.md, "Fewer neighbours")."""
    import pyvrp

    assert pe.neighbours_for(401) == 25 and pe.neighbours_for(400) is None
    sizes: list[int] = []
    real_solve = pyvrp.solve

    def spy(data: Any, **kwargs: Any) -> Any:
        sizes.append(kwargs["params"].neighbourhood.num_neighbours)
        return real_solve(data, **kwargs)

    monkeypatch.setattr(pyvrp, "solve", spy)
    p = no_break(waste_problem())
    assert pe.solve(p, 0.3) is not None
    monkeypatch.setattr(pe, "LARGE_STOPS", len(p.stops) - 1)
    monkeypatch.setattr(pe, "LARGE_NEIGHBOURS", 3)
    plan = pe.solve(p, 0.3)
    assert plan is not None and verify_routes(p, plan) == []
    assert sizes == [50, 3]


# ------------------------------------------------------------------- declines
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: {"service_s": np.r_[60, p.service_s[1:]]}, "service time"),
        (
            lambda p: {
                "facility_streams": {1: frozenset({"msw"}), 2: frozenset({"paper"})},
                "stream": (*p.stream[:-1], "paper"),
            },
            "accepts only in part",
        ),
    ],
)
def test_pyvrp_declines_what_it_cannot_state(
    change: Callable[[RoutingProblem], dict[str, Any]], words: str
) -> None:
    p = no_break(waste_problem())
    q = p.replace(**change(p))
    reason = engines.declines(engines.PYVRP, q)
    assert reason is not None and words in reason
    assert engines.preferred(q) == [engines.ORTOOLS]
    assert engines.declines(engines.ORTOOLS, q) is None


def test_balance_is_declined_and_the_plan_says_so() -> None:
    p = no_break(waste_problem())
    assert "balanced" in (engines.declines(engines.PYVRP, p, balance=True) or "")
    plan = solve_routes(p, time_limit_s=LIMIT_S, balance=True)
    assert plan.engine == engines.ORTOOLS
    assert "pyvrp declined: balanced" in plan.engine_note


def test_non_binding_day_capacity_is_not_restricted() -> None:
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], day_capacity_kg=10**6, max_stops=50)
    q = p.replace(vehicles=(v,))
    assert pe.supports(q) is None
    assert pe.trip_limit(q, v) is None and pe.checked_afterwards(q) == []
    assert engines.terms(engines.PYVRP, q) == []


def test_day_capacity_is_held_as_fewer_lighter_trips() -> None:
    """2,800 kg a day on 1,500 kg trucks: at most two trips of 1,400 kg (one full trip
    would keep only 54 % of the day), so no plan of the mapping can break the day
    capacity; the plan says how it was stated."""
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], day_capacity_kg=2800)
    fleet = (v, dataclasses.replace(v, id="T2"))
    q = p.replace(vehicles=fleet)
    assert pe.supports(q) is None
    assert pe.trip_limit(q, v) == pe.TripLimit(2, 1400, v.capacity_l)
    (vt,) = pe.build_data(q, q.stops).data.vehicle_types()
    assert vt.capacity[0] == 1400 and vt.max_reloads == 2
    plan = solve_routes(q, time_limit_s=2 * LIMIT_S, engine=engines.PYVRP)
    assert verify_routes(q, plan) == [] and not plan.unserved
    for r in plan.routes:
        assert sum(int(q.demand_kg[x.node]) for x in r.visits if x.kind == "stop") <= 2800
    assert "day capacity held as at most 2 trips of at most 1400 kg" in plan.engine_note
    # a day of 2,000 kg: one full trip keeps 75 % of the day, two of 1,000 kg 67 % of a trip
    one = dataclasses.replace(v, day_capacity_kg=2000)
    assert pe.trip_limit(q.replace(vehicles=(one,)), one) == pe.TripLimit(1, 1500, v.capacity_l)
    # a 1,450 kg stop does not fit a 1,400 kg trip: one full trip it is
    heavy = q.replace(demand_kg=np.r_[q.demand_kg[:3], 1450, q.demand_kg[4:]])
    assert pe.trip_limit(heavy, v) == pe.TripLimit(1, 1500, v.capacity_l)


def test_binding_stop_limit_is_left_to_the_verifier() -> None:
    """Three stops a truck: PyVRP does not state the limit, so its plan goes through
    the verifier, and the chosen plan keeps the limit whichever engine made it."""
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], max_stops=3)
    q = p.replace(vehicles=tuple(dataclasses.replace(v, id=f"T{k}") for k in range(3)))
    assert engines.declines(engines.PYVRP, q) is None
    assert pe.checked_afterwards(q) and "3 stops a day" in pe.checked_afterwards(q)[0]
    plan = solve_routes(q, time_limit_s=2 * LIMIT_S)
    assert verify_routes(q, plan) == [] and not plan.unserved
    assert all(sum(x.kind == "stop" for x in r.visits) <= 3 for r in plan.routes)
    if plan.engine == engines.PYVRP:
        assert "checked afterwards" in plan.engine_note


def test_stop_limit_beyond_the_shift_cannot_bind() -> None:
    """Four 10-minute services do not fit a 30-minute shift: a limit of 3 cannot bind."""
    p = no_break(waste_problem())
    v = dataclasses.replace(p.vehicles[0], max_stops=3, shift_s=1800)
    assert not pe.stop_limit_may_bind(p.replace(vehicles=(v,)), v)


def test_leftover_time_improves_pyvrps_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """With unload trips PyVRP keeps a reserve; when its plan verifies OR-Tools spends
    the reserve starting from it, and the cheaper of the two is kept."""
    monkeypatch.setattr(engines, "POLISH_MIN_S", 0.3)
    p = no_break(waste_problem())
    plan = solve_routes(p, time_limit_s=2.0)
    assert verify_routes(p, plan) == []
    first = pe.solve(p, 2.0 * engines.PYVRP_SHARE_WITH_UNLOADS, seed=0)
    assert first is not None
    assert engines.plan_cost(p, plan) <= engines.plan_cost(p, first) + 1e-6
    if plan.engine == engines.ORTOOLS:
        assert "started from pyvrp's plan" in plan.engine_note
    else:
        assert "ortools lost" in plan.engine_note


# --------------------------------------------------------- breaks afterwards
def test_breaks_inserted_into_pyvrp_routes_and_verified() -> None:
    p = waste_problem()  # a 30-minute lunch starting 11:00-12:00
    plan = pe.solve(p, LIMIT_S, seed=1)
    assert plan is not None
    assert verify_routes(p, plan) == []
    (route,) = plan.routes
    (brk,) = [x for x in route.visits if x.kind == "break"]
    assert 11 * H <= brk.arrival_s <= 12 * H and brk.departure_s - brk.arrival_s == 1800
    forced = solve_routes(p, time_limit_s=LIMIT_S, engine="pyvrp")
    assert forced.engine == "pyvrp" and "breaks inserted afterwards" in forced.engine_note
    # one process: OR-Tools states breaks itself, so it goes first
    assert engines.preferred(p) == [engines.ORTOOLS, engines.PYVRP]


# ------------------------------------------------------ the race and fallbacks
def _fixed(plan: RoutePlan | None, error: Exception | None = None) -> Callable[..., Any]:
    def run(job: engines.Job) -> RoutePlan | None:
        if error is not None:
            raise error
        return plan

    return run


def _one_route_per_stop(p: RoutingProblem) -> RoutePlan:
    """A valid but dear plan: every stop on its own truck, unloading before home."""
    routes = []
    for v, s in zip(p.vehicles, p.stops, strict=False):
        nodes: list[tuple[int, VisitKind]] = [
            (v.start, "depot_start"),
            (s, "stop"),
            (1, "unload"),
            (v.end, "depot_end"),
        ]
        route = timed_route(p, v, nodes, 7 * H)
        assert route is not None
        routes.append(route)
    return RoutePlan("feasible", 0.0, tuple(routes), (), 0.0)


@pytest.fixture()
def fleet_problem() -> RoutingProblem:
    p = no_break(waste_problem())
    tw = np.array(p.time_window)
    tw[3:] = [6 * H, 18 * H]
    trucks = tuple(dataclasses.replace(p.vehicles[0], id=f"T{k}") for k in range(8))
    return p.replace(vehicles=trucks, time_window=tw)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_cheaper_verified_plan_wins(
    fleet_problem: RoutingProblem, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = fleet_problem
    good = solved(p)
    dear = _one_route_per_stop(p)
    assert verify_routes(p, dear) == []
    assert engines.plan_cost(p, good) < engines.plan_cost(p, dear)
    for cheap, other in ((engines.PYVRP, engines.ORTOOLS), (engines.ORTOOLS, engines.PYVRP)):
        monkeypatch.setattr(engines, "_RUN", {cheap: _fixed(good), other: _fixed(dear)})
        if workers == 1:  # one process: the preferred engine only, unless it fails
            plan = solve_routes(p, time_limit_s=LIMIT_S, workers=1)
            assert plan.engine == engines.PYVRP
            break
        plan = solve_routes(p, time_limit_s=LIMIT_S, workers=2)
        assert plan.engine == cheap
        assert f"{other} lost" in plan.engine_note or f"{other} (alone) lost" in plan.engine_note


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crashing_engine_falls_back_to_the_other(
    fleet_problem: RoutingProblem, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = fleet_problem
    good = solved(p)
    monkeypatch.setattr(
        engines,
        "_RUN",
        {engines.PYVRP: _fixed(None, RuntimeError("boom")), engines.ORTOOLS: _fixed(good)},
    )
    plan = solve_routes(p, time_limit_s=LIMIT_S, workers=workers)
    assert plan.engine == engines.ORTOOLS
    assert "pyvrp crashed" in plan.engine_note and "boom" in plan.engine_note


@pytest.mark.parametrize("workers", [1, 2])
def test_a_plan_failing_verification_is_replaced(
    fleet_problem: RoutingProblem, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = fleet_problem
    good = solved(p)
    broken = dataclasses.replace(good, routes=good.routes[1:], objective=0.0)  # stops lost
    monkeypatch.setattr(
        engines, "_RUN", {engines.PYVRP: _fixed(broken), engines.ORTOOLS: _fixed(good)}
    )
    plan = solve_routes(p, time_limit_s=LIMIT_S, workers=workers)
    assert plan.engine == engines.ORTOOLS
    assert "pyvrp plan failed" in plan.engine_note


def test_no_plan_from_any_engine_is_infeasible(
    fleet_problem: RoutingProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "_RUN", {e: _fixed(None) for e in engines.ENGINES})
    with pytest.raises(InfeasibleError, match="pyvrp: found no feasible plan"):
        solve_routes(fleet_problem, time_limit_s=LIMIT_S)


def test_real_race_names_both_engines(fleet_problem: RoutingProblem) -> None:
    plan = solve_routes(fleet_problem, time_limit_s=2.0, workers=2)
    assert plan.engine in engines.ENGINES
    loser = ({*engines.ENGINES} - {plan.engine}).pop()
    assert loser in plan.engine_note
    assert verify_routes(fleet_problem, plan) == []


def _plain_problem(n: int = 30) -> RoutingProblem:
    """A plain CVRP (no unload trips, nothing left to the verifier)."""
    rng = np.random.default_rng(3)
    xy = rng.integers(0, 1000, (n, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return RoutingProblem.from_matrix(d, [0] + [1] * (n - 1), 8, vehicles=n)


def test_lanes_spend_the_second_core_on_a_second_pyvrp_seed_where_ortools_never_won(
    fleet_problem: RoutingProblem,
) -> None:
    plain = _plain_problem()
    order = engines.preferred(plain)
    assert engines.lanes(plain, order, 2) == [
        engines.Lane(tuple(order)),
        engines.Lane((engines.PYVRP,), seed_offset=1),
    ]
    assert [ln.seed_offset for ln in engines.lanes(plain, order, 3)] == [0, 1, 2]
    # unload trips: OR-Tools races alone beside the one-process run, with the spare cores
    order = engines.preferred(fleet_problem)
    assert order[0] == engines.PYVRP
    assert engines.lanes(fleet_problem, order, 3) == [
        engines.Lane(tuple(order)),
        engines.Lane((engines.ORTOOLS,), workers=2, alone=True),
    ]
    # OR-Tools first (a warm start): the spare cores go to the lane that runs it first
    warm = engines.preferred(fleet_problem, initial=solved(fleet_problem).sequences())
    assert warm[0] == engines.ORTOOLS
    assert engines.lanes(fleet_problem, warm, 3) == [
        engines.Lane(tuple(warm), workers=2),
        engines.Lane((engines.PYVRP,), alone=True),
    ]


def test_a_race_where_every_lane_crashed_is_our_fault_not_infeasible(
    fleet_problem: RoutingProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    boom = _fixed(None, RuntimeError("boom"))
    monkeypatch.setattr(engines, "_RUN", {e: boom for e in engines.ENGINES})
    with pytest.raises(RuntimeError, match="every routing engine crashed") as err:
        solve_routes(fleet_problem, time_limit_s=LIMIT_S, workers=2)
    assert "ortools (alone): crashed" in str(err.value) and "boom" in str(err.value)
    assert not isinstance(err.value, InfeasibleError)


def test_the_race_keeps_the_better_seed_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    p = _plain_problem()
    good = solved(p)
    dear = RoutePlan(
        "feasible",
        0.0,
        tuple(
            r
            for k, s in enumerate(p.stops)
            if (
                r := timed_route(
                    p, p.vehicles[k], [(0, "depot_start"), (s, "stop"), (0, "depot_end")], 0
                )
            )
        ),
        (),
        0.0,
    )
    assert verify_routes(p, dear) == []

    def by_seed(job: engines.Job) -> RoutePlan | None:
        return good if job.seed == 8 else dear  # the second lane's seed: 7 + 1

    monkeypatch.setattr(engines, "_RUN", {engines.PYVRP: by_seed, engines.ORTOOLS: _fixed(None)})
    plan = solve_routes(p, time_limit_s=LIMIT_S, workers=2, seed=7)
    assert plan.engine == engines.PYVRP
    assert plan.engine_note.startswith("pyvrp (seed +1)")
    assert "pyvrp lost" in plan.engine_note
    assert engines.plan_cost(p, plan) == engines.plan_cost(p, good)


def test_real_race_of_two_pyvrp_seeds_is_verified() -> None:
    p = _plain_problem(40)
    plan = solve_routes(p, time_limit_s=2.0, workers=2)
    assert plan.engine == engines.PYVRP
    assert "pyvrp" in plan.engine_note and "lost" in plan.engine_note
    assert verify_routes(p, plan) == [] and not plan.unserved


@pytest.mark.parametrize(("workers", "engine"), [(1, "pyvrp"), (2, None)])
def test_stop_request_ends_the_solve(workers: int, engine: str | None) -> None:
    """A stop request half a second into a 60-second solve ends it (PyVRP alone in a
    forked child, or the race of both engines) with ``Interrupted``."""
    d = np.random.default_rng(0).integers(1, 1000, (120, 120))
    np.fill_diagonal(d, 0)
    p = RoutingProblem.from_matrix(d, [0] + [1] * 119, 10, vehicles=15)
    timer = threading.Timer(0.5, request_stop)
    timer.start()
    try:
        with pytest.raises(Interrupted):
            solve_routes(p, time_limit_s=60, workers=workers, engine=engine)
    finally:
        timer.cancel()
        clear_stop()


# ------------------------------------------------------------------ shared data
def test_solomon_prefix_goes_to_pyvrp(shared_data: Any) -> None:
    from optimizer.routing.readers import read_solomon

    inst = read_solomon(shared_data / "vrptw" / "solomon" / "R101.txt", max_customers=25)
    plan = solve_routes(inst.problem, time_limit_s=LIMIT_S)
    assert plan.engine == engines.PYVRP and plan.engine_note == ""
    assert verify_routes(inst.problem, plan) == []
    assert not plan.unserved


def test_kim_day_capacity_is_held_by_trips(shared_data: Any) -> None:
    """Kim's 102: 280 yd3 a trip, 400 a day: PyVRP states it as two trips of 200;
    2100 (462 and 2,000) as four full trips."""
    from optimizer.routing.readers import read_kim

    inst = read_kim(shared_data / "waste" / "kim2006_wcvrptw" / "102_stop.txt")
    p = inst.problem
    assert engines.declines(engines.PYVRP, p) is None
    assert pe.trip_limit(p, p.vehicles[0]) == pe.TripLimit(2, 0, 20_000)
    big = read_kim(shared_data / "waste" / "kim2006_wcvrptw" / "2100_stop.txt").problem
    assert pe.trip_limit(big, big.vehicles[0]) == pe.TripLimit(4, 0, 46_200)
    plan = solve_routes(p, time_limit_s=3.0)
    assert verify_routes(p, plan) == [] and not plan.unserved


# ------------------------------------------------------------------ plan.json
def test_old_plans_get_no_engine_per_day() -> None:
    from optimizer.plan_types import SCHEMA_VERSION

    old = {"schema_version": SCHEMA_VERSION, "kpis": {"route_kpis_by_day": [{"day": 1}]}}
    assert upgrade_plan(old)["kpis"]["route_kpis_by_day"] == [
        {"engine": None, "stops_by_stream": {}, "tonnes_by_stream": {}, "day": 1}
    ]


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_engine_choice_reaches_every_plan_day(engine: str, tmp_path: Path) -> None:
    """``--engine`` forces the engine of every day; the plan names it."""
    out = tmp_path / engine
    args = ["demo", "--out", str(out), "--days", "2", "--time-limit", "4", "--engine", engine]
    assert main(args) == 0
    days = json.loads((out / "plan.json").read_text())["kpis"]["route_kpis_by_day"]
    assert [d["engine"] for d in days] == [engine, engine]


def test_ortools_improves_pyvrps_plan_with_its_breaks_inserted_the_same_way() -> None:
    """PyVRP planned with the lunch taken out of the shift; OR-Tools starts from that plan
    on the same problem and the lunch goes in afterwards: a verified plan, a break in
    every route that spans the window."""
    p = waste_problem()
    first = pe.solve(p, LIMIT_S, seed=1)
    assert first is not None and verify_routes(p, first) == []
    job = engines.Job(p, 2.0)
    outcome = engines._polish(p, first, job, 2.0)
    assert outcome.plan is not None, outcome.note
    assert verify_routes(p, outcome.plan) == []
    assert all(any(v.kind == "break" for v in r.visits) for r in outcome.plan.routes)
    assert engines.plan_cost(p, outcome.plan) <= engines.plan_cost(p, first) * 1.01
