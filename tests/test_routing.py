"""Routing: readers, solving small instances, waste features, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from routing_toy import H, waste_problem

from optimizer.errors import InfeasibleError, InputError
from optimizer.routing import NodeKey, RoutingProblem, Vehicle, solve_routes, verify_routes
from optimizer.routing.readers import read_kim, read_solomon, read_vrplib


# ----------------------------------------------------------------- readers
def test_read_vrplib_explicit_e_n13(shared_data: Path) -> None:
    inst = read_vrplib(shared_data / "cvrplib" / "E" / "E-n13-k4.vrp")
    p = inst.problem
    assert p.n == 13 and len(p.stops) == 12
    assert inst.bks == 247
    assert p.distance_m[1, 0] == 9 and p.distance_m[0, 1] == 9
    assert (p.distance_m == p.distance_m.T).all()
    assert p.vehicles[0].capacity_kg == 6000


def test_read_vrplib_euc2d_rounds_to_nearest(shared_data: Path) -> None:
    inst = read_vrplib(shared_data / "cvrplib" / "A" / "A-n32-k5.vrp")
    assert inst.bks == 784
    xy = inst.coords
    assert xy is not None
    exact = float(np.hypot(*(xy[0] - xy[1])))
    assert inst.problem.distance_m[0, 1] == int(exact + 0.5)
    assert int(inst.problem.demand_kg.sum()) > 0 and inst.problem.demand_kg[0] == 0


def test_read_solomon_cut_to_25(shared_data: Path) -> None:
    inst = read_solomon(shared_data / "vrptw" / "solomon" / "C101.txt", max_customers=25)
    p = inst.problem
    assert p.n == 26 and inst.bks is None
    assert tuple(p.time_window[0]) == (0, 1236 * 1000)
    assert tuple(p.time_window[1]) == (912_000, 967_000)
    assert p.service_s[1] == 90_000
    assert len(p.vehicles) == 25 and p.vehicles[0].capacity_kg == 200


def test_read_kim_units(shared_data: Path) -> None:
    inst = read_kim(shared_data / "waste" / "kim2006_wcvrptw" / "102_stop.txt")
    p = inst.problem
    assert p.kind[0] == "depot" and p.facilities == (1, 2)
    assert p.time_s[0, 1] == 262  # the benchmark page's worked example: 262.3 s
    assert p.vehicles[0].capacity_l == 28_000 and p.vehicles[0].day_capacity_l == 40_000
    assert p.vehicles[0].break_window == (11 * H, 12 * H)
    assert tuple(p.time_window[0]) == (4 * H, 15 * H)


def test_vrplib_missing_section_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.vrp"
    bad.write_text(
        "NAME : bad\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\n"
        "CAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n"
    )
    with pytest.raises(InputError, match="DEMAND_SECTION"):
        read_vrplib(bad)


_GOOD_VRP = (
    "NAME : ok\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\n"
    "CAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n"
    "DEMAND_SECTION\n1 0\n2 4\n3 5\nDEPOT_SECTION\n1\n-1\nEOF\n"
)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("2 3 4", "2 foo bar", "NODE_COORD_SECTION line '2 foo bar': not a number"),
        ("2 3 4", "2 3", "NODE_COORD_SECTION line '2 3': 2 value(s), 3 needed"),
        ("CAPACITY : 10", "CAPACITY : 0", "CAPACITY: must be positive"),
        ("CAPACITY : 10", "CAPACITY : lots", "CAPACITY: 'lots' is not a number"),
        ("3 5", "3 -5", "DEMAND_SECTION node 3: negative demand"),
        ("3 5", "3", "DEMAND_SECTION line '3'"),
    ],
)
def test_malformed_vrplib_lines_are_named(tmp_path: Path, old: str, new: str, words: str) -> None:
    """A broken line is an input error naming the file, section and line (it used to
    crash with a traceback, or, for CAPACITY 0, be solved as 100 overloads)."""
    assert read_vrplib(_write(tmp_path, _GOOD_VRP)).bks is None  # the base file reads
    bad = _GOOD_VRP.replace(old, new, 1)
    assert bad != _GOOD_VRP
    with pytest.raises(InputError) as err:
        read_vrplib(_write(tmp_path, bad))
    assert words in str(err.value) and "bad.vrp" in str(err.value)


def test_non_numeric_best_known_is_named(tmp_path: Path) -> None:
    (tmp_path / "bks.csv").write_text("instance,bks\nok,abc\n")
    with pytest.raises(InputError, match=r"bks\.csv.*instance ok column bks: 'abc'"):
        read_vrplib(_write(tmp_path, _GOOD_VRP))


def _write(folder: Path, text: str) -> Path:
    path = folder / "bad.vrp"
    path.write_text(text)
    return path


# ----------------------------------------------------------------- solving
def test_small_cvrp_reaches_optimum(shared_data: Path) -> None:
    inst = read_vrplib(shared_data / "cvrplib" / "E" / "E-n13-k4.vrp")
    plan = solve_routes(inst.problem, time_limit_s=2)
    assert verify_routes(inst.problem, plan) == []
    assert plan.distance_m == 247


def test_a_n32_within_one_percent(shared_data: Path) -> None:
    inst = read_vrplib(shared_data / "cvrplib" / "A" / "A-n32-k5.vrp")
    plan = solve_routes(inst.problem, time_limit_s=3)
    assert verify_routes(inst.problem, plan) == []
    assert inst.bks is not None and plan.distance_m <= 1.01 * inst.bks


def test_solomon_25_feasible(shared_data: Path) -> None:
    inst = read_solomon(shared_data / "vrptw" / "solomon" / "R101.txt", max_customers=25)
    plan = solve_routes(inst.problem, time_limit_s=2)
    assert verify_routes(inst.problem, plan) == []
    assert not plan.unserved


def test_waste_day_unloads_breaks_and_windows() -> None:
    problem = waste_problem()
    plan = solve_routes(problem, time_limit_s=2)
    assert verify_routes(problem, plan) == []
    (route,) = plan.routes
    kinds = [v.kind for v in route.visits]
    assert kinds.count("stop") == 8
    assert kinds.count("unload") >= 2  # one mid-route, one before the depot
    assert kinds[-2] == "unload" and kinds.count("break") == 1
    assert max(v.load_after_kg for v in route.visits) <= 1500
    served = {v.node: v.arrival_s for v in route.visits if v.kind == "stop"}
    assert 8 * H <= served[3] <= 10 * H and 13 * H <= served[7] <= 15 * H


def test_waste_facility_stream_and_two_trucks() -> None:
    trucks = (
        Vehicle("A", 0, 0, 1500, 10_000, shift_s=11 * H, available_from_s=7 * H),
        Vehicle(
            "B",
            0,
            0,
            1500,
            10_000,
            shift_s=11 * H,
            available_from_s=7 * H,
            streams=frozenset({"paper"}),
        ),
    )
    stream = (None, None, None) + ("msw",) * 6 + ("paper",) * 2
    problem = waste_problem(vehicles=trucks, stream=stream)
    plan = solve_routes(problem, time_limit_s=2, balance=True)
    assert verify_routes(problem, plan) == []
    for route in plan.routes:
        if route.vehicle_id == "B":
            assert set(route.stops) <= {9, 10}
            assert all(v.node == 1 for v in route.visits if v.kind == "unload")


def test_warm_start_keeps_cost() -> None:
    problem = waste_problem()
    first = solve_routes(problem, time_limit_s=1)
    again = solve_routes(problem, time_limit_s=1, initial=first)
    assert verify_routes(problem, again) == []
    assert again.objective <= first.objective + 1e-6


def test_problem_is_read_only_and_replace_validates() -> None:
    problem = waste_problem()
    with pytest.raises(ValueError):
        problem.distance_m[0, 1] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.name = "x"  # type: ignore[misc]
    assert problem.replace(name="other").name == "other"


# --------------------------------------------------------------- bad input
def test_window_closing_before_opening_is_named() -> None:
    tw = np.array(waste_problem().time_window)
    tw[4] = [10 * H, 9 * H]
    with pytest.raises(InputError, match=r"P4.*closes"):
        waste_problem(time_window=tw)


def test_demand_above_every_truck_is_named() -> None:
    demand = np.array(waste_problem().demand_kg)
    demand[5] = 5000
    with pytest.raises(InputError, match=r"P5.*capacity: .*above the largest truck"):
        solve_routes(waste_problem(demand_kg=demand), time_limit_s=1)


def test_stop_no_truck_may_serve_error_or_unserved() -> None:
    allowed = {6: frozenset({"nobody"})}
    trucks = (
        dataclasses.replace(waste_problem().vehicles[0], id="nobody", streams=frozenset({"paper"})),
        waste_problem().vehicles[0],
    )
    with pytest.raises(
        InputError, match=r"P6.*no compatible truck: no truck of the fleet may serve"
    ):
        solve_routes(waste_problem(vehicles=trucks, allowed_vehicles=allowed), time_limit_s=1)
    problem = waste_problem(vehicles=trucks, allowed_vehicles=allowed, drop_penalty=10**6)
    plan = solve_routes(problem, time_limit_s=1)
    assert verify_routes(problem, plan) == []
    assert [node for node, _ in plan.unserved] == [6]
    assert plan.unserved[0][1].startswith("no compatible truck: no truck of the fleet may serve")


def test_fleet_too_small_is_infeasible() -> None:
    truck = dataclasses.replace(waste_problem().vehicles[0], capacity_kg=500)
    with pytest.raises(InfeasibleError, match="total demand"):
        solve_routes(waste_problem(vehicles=(truck,), max_unload_trips=2), time_limit_s=1)


def test_shift_too_short_for_farthest_stop() -> None:
    truck = dataclasses.replace(waste_problem().vehicles[0], shift_s=600)
    with pytest.raises(InfeasibleError, match="shift"):
        solve_routes(waste_problem(vehicles=(truck,)), time_limit_s=1)


def test_unknown_vehicle_in_allowed_list() -> None:
    with pytest.raises(InputError, match="unknown vehicles"):
        waste_problem(allowed_vehicles={3: frozenset({"ghost"})})


FOUR_STOPS = np.array(
    [
        [0, 4000, 5000, 6000, 3000],
        [4000, 0, 2000, 7000, 5000],
        [5000, 2000, 0, 4000, 6000],
        [6000, 7000, 4000, 0, 3000],
        [3000, 5000, 6000, 3000, 0],
    ]
)


def test_from_matrix_is_a_plain_cvrp() -> None:
    p = RoutingProblem.from_matrix(FOUR_STOPS, [0, 3000, 4000, 2000, 5000], 8000, vehicles=2)
    assert p.kind == ("depot", "stop", "stop", "stop", "stop") and p.node_ids[1] == "1"
    assert [(v.id, v.start, v.end, v.capacity_kg) for v in p.vehicles] == [
        ("v1", 0, 0, 8000),
        ("v2", 0, 0, 8000),
    ]
    assert not p.time_s.any() and not p.service_s.any() and not p.facilities
    assert p.drop_penalty is None
    plan = solve_routes(p, time_limit_s=1)
    assert verify_routes(p, plan) == [] and not plan.unserved
    assert plan.distance_m == 23000  # {1, 2} and {3, 4}: the optimum
    assert plan.objective == pytest.approx(23.0)  # 1 per km


def test_from_matrix_options() -> None:
    """Travel and service times, time windows, ids, rounding and a drop penalty."""
    windows = [[0, 6 * H], [0, 6 * H], [0, 6 * H], [0, 650], [0, 6 * H]]
    p = RoutingProblem.from_matrix(
        FOUR_STOPS + 0.4,
        [0, 3000, 4000, 2000, 5000],
        20_000,
        time=FOUR_STOPS // 10,
        service=[0, 60, 60, 60, 60],
        time_windows=windows,
        node_ids=["D", "A", "B", "C", "E"],
        name="four",
    )
    assert p.distance_m[0, 1] == 4000 and p.time_s[0, 1] == 400 and p.service_s[1] == 60
    assert p.label(3) == "stop C" and p.name == "four"
    plan = solve_routes(p, time_limit_s=1)
    assert verify_routes(p, plan) == []
    (route,) = plan.routes
    # C closes at 650 s, 600 s from the depot: first, though the shortest tour (16 km,
    # D-A-B-C-E-D or back) would reach it later
    assert route.stops[0] == 3 and route.distance_m == 20_000  # D-C-B-A-E-D
    small = RoutingProblem.from_matrix(
        FOUR_STOPS, [0, 3000, 4000, 2000, 9000], 8000, vehicles=2, drop_penalty=10**6
    )
    left = solve_routes(small, time_limit_s=1)
    ((stop, reason),) = left.unserved
    assert stop == 4 and reason.startswith("capacity")  # 9 t, above the 8 t trucks


def test_from_matrix_rejects_what_does_not_fit() -> None:
    with pytest.raises(InputError, match="demand_kg"):
        RoutingProblem.from_matrix(FOUR_STOPS, [0, 1, 2], 10)
    with pytest.raises(InputError, match="depot cannot have a demand"):
        RoutingProblem.from_matrix(FOUR_STOPS, [5, 1, 2, 3, 4], 10)
    with pytest.raises(InputError, match="fleet is empty"):
        RoutingProblem.from_matrix(FOUR_STOPS, [0, 1, 2, 3, 4], 10, vehicles=0)


def test_problem_type() -> None:
    """The problem's derived views and its immutability, which the solver relies on."""
    p = waste_problem()
    truck = p.vehicles[0]
    assert p.n == 11
    assert p.facilities == (1, 2) and p.stops == tuple(range(3, 11))
    assert p.key(3) == NodeKey("stop", "P3", "msw") and p.key(0) == NodeKey("depot", "D1")
    assert p.label(3) == "stop P3 (msw)" and p.label(1) == "facility F1"
    assert p.departure_window(truck) == (7 * H, 7 * H)
    assert p.return_by(truck) == 18 * H
    for name in ("distance_m", "time_s", "demand_kg", "demand_l", "service_s", "time_window"):
        assert not getattr(p, name).flags.writeable, name
    with pytest.raises(ValueError, match="read-only"):
        p.distance_m[0, 3] = 0
    with pytest.raises(TypeError):
        p.facility_streams[3] = frozenset()  # type: ignore[index]
    with pytest.raises(InputError, match="negative demand_kg"):
        p.replace(demand_kg=-p.demand_kg)  # replace() validates again


def test_two_worker_processes(shared_data: Path) -> None:
    inst = read_vrplib(shared_data / "cvrplib" / "E" / "E-n13-k4.vrp")
    plan = solve_routes(inst.problem, time_limit_s=3, workers=2)
    assert verify_routes(inst.problem, plan) == []
    assert plan.distance_m == 247


def test_problem_pickles() -> None:
    import pickle

    problem = waste_problem()
    again = pickle.loads(pickle.dumps(problem))
    assert again.node_ids == problem.node_ids
    assert dict(again.facility_streams) == dict(problem.facility_streams)


def test_break_fallback_inserts_breaks_afterwards() -> None:
    from optimizer.routing.breaks import tightened, with_breaks
    from optimizer.routing.improve import improve

    problem = waste_problem()
    relaxed = tightened(problem)
    assert all(v.break_window is None for v in relaxed.vehicles)
    assert relaxed.vehicles[0].shift_s == problem.vehicles[0].shift_s - 1800
    plan = improve(relaxed, 1.0)
    assert plan is not None
    fixed = with_breaks(problem, plan)
    assert fixed is not None
    assert verify_routes(problem, fixed) == []
    assert [v.kind for v in fixed.routes[0].visits].count("break") == 1


def test_iterated_local_search_really_runs(shared_data: Path) -> None:
    """OR-Tools 9.15 ignores use_iterated_local_search in SolveWithParameters and stops
    at the first local optimum: the ILS path must leave that optimum behind."""
    from optimizer.routing import improve
    from optimizer.routing.search import LSM, SearchConfig, search_parameters, solve_once

    inst = read_vrplib(shared_data / "cvrplib" / "X" / "X-n101-k25.vrp")
    p = inst.problem
    assert improve.plain(p)
    params = search_parameters(p, 2.0, improve.ILS)
    ils = params.iterated_local_search_parameters
    assert params.use_iterated_local_search and not ils.improve_perturbed_solution
    assert ils.ruin_recreate_parameters.ruin_strategies[0].sisr.avg_num_removed_visits == 40
    descent = solve_once(p, 2.0, config=SearchConfig(metaheuristic=LSM.GREEDY_DESCENT))
    iterated = solve_once(p, 2.0, config=improve.ILS)
    assert descent is not None and iterated is not None
    assert iterated.distance_m < 0.98 * descent.distance_m
    assert verify_routes(p, iterated) == []


def test_ils_is_not_used_where_it_does_not_belong() -> None:
    from optimizer.routing import improve

    waste = waste_problem()
    assert waste.facilities and not improve.plain(waste)  # unload trips: GLS path


def test_a_warm_start_is_never_lost_to_the_ils(shared_data: Path) -> None:
    """ILS cannot start from given routes, so a warm start must go to GLS, which keeps
    the starting cost as an upper bound."""
    from optimizer.routing import improve

    p = read_vrplib(shared_data / "cvrplib" / "X" / "X-n101-k25.vrp").problem
    first = solve_routes(p, time_limit_s=2)
    again = improve.improve(p, 0.5, initial=first.sequences())
    assert again is not None and again.distance_m <= first.distance_m


def test_tight_fleet_still_gets_a_first_solution(shared_data: Path) -> None:
    """X-n176-k26 needs 26 of its 28 trucks: path-cheapest-arc finds no first
    solution there (plain OR-Tools fails the instance); the ILS must not."""
    p = read_vrplib(shared_data / "cvrplib" / "X" / "X-n176-k26.vrp").problem
    plan = solve_routes(p, time_limit_s=3)
    assert verify_routes(p, plan) == [] and not plan.unserved
    assert plan.vehicles_used <= len(p.vehicles)


def test_second_process_anneals_differently(shared_data: Path) -> None:
    """workers > 1 on a plain problem: the processes run ILS with different cooling
    (else two near-deterministic runs would find the same plan) and the best is kept."""
    from ortools.constraint_solver import routing_ils_pb2

    from optimizer.routing import improve
    from optimizer.routing.search import search_parameters

    p = read_vrplib(shared_data / "cvrplib" / "X" / "X-n101-k25.vrp").problem
    schedules = [
        search_parameters(
            p, 1.0, c
        ).iterated_local_search_parameters.reference_solution_acceptance_strategy.simulated_annealing.cooling_schedule_strategy
        for c in (improve.ILS, improve.ILS_LINEAR)
    ]
    cooling = routing_ils_pb2.CoolingScheduleStrategy
    assert schedules == [cooling.EXPONENTIAL, cooling.LINEAR]
    plan = solve_routes(p, time_limit_s=4, workers=2)
    assert verify_routes(p, plan) == [] and not plan.unserved
