"""Shifts start when they say, large days never leave an area without a truck,
unserved stops say which constraint binds, and a solve stops on Ctrl-C."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer.routing import (
    Route,
    RoutePlan,
    RoutingProblem,
    Vehicle,
    Visit,
    solve_routes,
    verify_routes,
)
from optimizer.routing.reasons import category_of, count_by_category

H = 3600


def five_stops(*, facility_opens: int = 0, **vehicle: Any) -> RoutingProblem:
    """A depot, five stops within 3 km and a landfill; one truck, shift 07:00 + 8 h.

    No cost per hour, so nothing but the shift rule decides when the truck leaves.
    """
    xy = np.array(
        [[0, 0], [2000, 0], [3000, 1000], [1000, 2500], [-1500, 1000], [-2000, -1000], [5000, 0]],
        dtype=float,
    )
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    n = len(xy)
    windows = np.tile([0, 24 * H], (n, 1))
    windows[6] = [facility_opens, 20 * H]
    truck = dict(cost_per_km=100.0, shift_s=8 * H, shift_start_s=7 * H) | vehicle
    return RoutingProblem(
        node_ids=("D1", "P1", "P2", "P3", "P4", "P5", "L1"),
        kind=("depot",) + ("stop",) * 5 + ("facility",),
        distance_m=dist,
        time_s=dist // 10,
        demand_kg=np.array([0] + [500] * 5 + [0]),
        demand_l=np.array([0] + [2000] * 5 + [0]),
        service_s=np.array([0] + [300] * 5 + [600]),
        time_window=windows,
        stream=(None,) + ("msw",) * 5 + (None,),
        facility_streams={6: frozenset({"msw"})},
        vehicles=(Vehicle("T1", 0, 0, 10_000, 50_000, **truck),),
        drop_penalty=10**6,
    )


def _start_end(plan: RoutePlan) -> tuple[int, int]:
    (route,) = plan.routes
    return route.visits[0].arrival_s, route.visits[-1].arrival_s


# --------------------------------------------------------------------- shifts
def test_route_leaves_at_the_shift_start() -> None:
    problem = five_stops()
    plan = solve_routes(problem, time_limit_s=1)
    start, end = _start_end(plan)
    assert start == 7 * H  # the old model pushed it to 17:05
    assert end <= 7 * H + 8 * H
    assert not plan.unserved


def test_facility_opening_later_does_not_push_the_start() -> None:
    problem = five_stops(facility_opens=9 * H)
    plan = solve_routes(problem, time_limit_s=1)
    start, end = _start_end(plan)
    assert start == 7 * H
    unload = next(v for v in plan.routes[0].visits if v.kind == "unload")
    assert unload.arrival_s >= 9 * H  # the truck waits at the gate instead
    assert end <= 15 * H


def test_flexible_start_stays_within_the_flexibility() -> None:
    problem = five_stops(facility_opens=9 * H, shift_start_flex_s=H, cost_per_h=5000.0)
    plan = solve_routes(problem, time_limit_s=1)
    start, end = _start_end(plan)
    assert 7 * H <= start <= 8 * H
    assert end - start <= 8 * H
    assert verify_routes(problem, plan) == []


def test_old_name_available_from_is_the_shift_start() -> None:
    truck = Vehicle("T", 0, 0, 1, 1, available_from_s=7 * H)
    assert truck.shift_start_s == 7 * H
    assert dataclasses.replace(truck, shift_start_s=6 * H).shift_start_s == 6 * H


def _hand_made_route(problem: RoutingProblem, leave: int) -> RoutePlan:
    """Depot -> P1 -> landfill -> depot, leaving at ``leave``, times replayed exactly."""
    visits, t, dist, prev, load = [], leave, 0, 0, 0
    for node, kind in ((0, "depot_start"), (1, "stop"), (6, "unload"), (0, "depot_end")):
        if kind != "depot_start":
            t += int(problem.time_s[prev, node])
            dist += int(problem.distance_m[prev, node])
        load = {"stop": 500, "unload": 0}.get(kind, load)
        service = 0 if kind == "depot_end" else int(problem.service_s[node])
        visits.append(Visit(node, kind, t, t + service, load, load * 4, dist))  # type: ignore[arg-type]
        t += service
        prev = node
    route = Route("T1", tuple(visits), dist, visits[-1].arrival_s - leave, 0.0)
    unserved = tuple((s, "fleet limit: test") for s in (2, 3, 4, 5))
    return RoutePlan("feasible", 0.0, (route,), unserved, 0.0)


def test_verifier_rejects_a_route_leaving_at_noon_for_a_seven_oclock_shift() -> None:
    problem = five_stops()
    assert verify_routes(problem, _hand_made_route(problem, 7 * H)) == []
    issues = verify_routes(problem, _hand_made_route(problem, 12 * H))
    assert any("leaves the depot at 12:00, the shift starts at 07:00" in i for i in issues)
    late = verify_routes(problem, _hand_made_route(problem, 14 * H + 50 * 60))
    assert any("after the shift ends (15:00)" in i for i in late)


def test_verifier_accepts_a_start_inside_the_flexibility_only() -> None:
    problem = five_stops(shift_start_flex_s=H)
    assert verify_routes(problem, _hand_made_route(problem, 7 * H + 1800)) == []
    issues = verify_routes(problem, _hand_made_route(problem, 8 * H + 60))
    assert any("the shift starts at 07:00-08:00" in i for i in issues)


def test_window_outside_the_shift_is_named_in_the_reason() -> None:
    problem = five_stops()
    windows = np.array(problem.time_window)
    windows[3] = [5 * H, 6 * H]  # P3 only before the shift
    problem = problem.replace(time_window=windows)
    plan = solve_routes(problem, time_limit_s=1)
    (reason,) = [why for node, why in plan.unserved if node == 3]
    assert category_of(reason) == "time window"
    assert "05:00-06:00" in reason and "07:00-15:00" in reason
    assert _start_end(plan)[0] == 7 * H


def test_facility_opening_after_the_shift_is_the_named_reason() -> None:
    plan = solve_routes(five_stops(facility_opens=16 * H), time_limit_s=1)
    assert not plan.routes and len(plan.unserved) == 5
    for _, why in plan.unserved:
        assert why.startswith("time window: no facility that accepts it is open")
        assert "07:00-15:00" in why and "facility L1 16:00-20:00" in why


def test_shift_start_outside_depot_hours_is_an_input_error() -> None:
    from optimizer.errors import InputError

    windows = np.array(five_stops().time_window)
    windows[0] = [8 * H, 18 * H]
    with pytest.raises(InputError, match="shift starts at 07:00 but depot D1 is open 08:00-18:00"):
        five_stops().replace(time_window=windows)


# ------------------------------------------------------------ node identities
def test_depot_and_facility_may_share_an_id() -> None:
    base = five_stops()
    problem = base.replace(node_ids=("X", "P1", "P2", "P3", "P4", "P5", "X"))
    assert problem.key(0) != problem.key(6)
    plan = solve_routes(problem, time_limit_s=1)
    assert verify_routes(problem, plan) == []
    with pytest.raises(Exception, match="stop P1 \\(msw\\) appears 2 times"):
        base.replace(node_ids=("D1", "P1", "P1", "P3", "P4", "P5", "L1"))


# ------------------------------------------------------------- large days
def grid_day(n_stops: int, trucks: int, *, streams: tuple[str, ...] = ("msw",)) -> Any:
    """A depot, ``n_stops`` stops over ~4 km and a landfill accepting every stream;
    trucks may carry every stream, shift 07:00 + 8 h, 2 min per stop."""
    rng = np.random.default_rng(5)
    lon0, lat0 = 71.43, 51.13
    pts = np.column_stack(
        [lon0 + rng.uniform(-0.03, 0.03, n_stops), lat0 + rng.uniform(-0.018, 0.018, n_stops)]
    )
    coords = np.vstack([[lon0, lat0], pts, [lon0 + 0.035, lat0]])
    xy = np.column_stack([coords[:, 0] * 69_900.0, coords[:, 1] * 111_000.0])
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    n = len(coords)
    stop_streams = tuple(streams[i % len(streams)] for i in range(n_stops))
    demand = np.array([0] + [400] * n_stops + [0], dtype=np.int64)
    problem = RoutingProblem(
        node_ids=("D1", *(f"P{i}" for i in range(1, n_stops + 1)), "L1"),
        kind=("depot",) + ("stop",) * n_stops + ("facility",),
        distance_m=dist,
        time_s=np.rint(dist / (25 / 3.6)).astype(np.int64),
        demand_kg=demand,
        demand_l=demand * 4,
        service_s=np.array([0] + [120] * n_stops + [600], dtype=np.int64),
        time_window=np.tile([0, 24 * H], (n, 1)),
        stream=(None, *stop_streams, None),
        facility_streams={n - 1: frozenset(streams)},
        vehicles=tuple(
            Vehicle(
                f"T{k}", 0, 0, 8000, 40_000, cost_per_km=200, shift_s=8 * H, shift_start_s=7 * H
            )
            for k in range(trucks)
        ),
        drop_penalty=10**6,
        max_unload_trips=12,
    )
    return problem, coords


def test_one_truck_plans_two_hundred_stops_split_or_not() -> None:
    from optimizer.stages.split import solve_split, split_problem

    problem, coords = grid_day(200, 1)
    parts, spare = split_problem(problem, coords, max_stops=150)
    assert [len(p.problem.vehicles) for p in parts] == [1] and not spare
    plan = solve_split(problem, coords, time_limit_s=6, workers=2, max_stops=150)
    assert verify_routes(problem, plan) == []
    assert len(plan.routes) == 1 and plan.routes[0].visits[0].arrival_s == 7 * H
    assert len(plan.routes[0].stops) > 100
    # 200 stops x 2 min alone nearly fill the 8 h: the rest wait for more trucks
    assert set(count_by_category(why for _, why in plan.unserved)) <= {"fleet limit"}


def test_streams_sharing_one_truck_share_its_area() -> None:
    from optimizer.stages.split import solve_split, split_problem

    problem, coords = grid_day(90, 1, streams=("msw", "paper"))
    trucks = (dataclasses.replace(problem.vehicles[0], streams=frozenset({"msw", "paper"})),)
    problem = problem.replace(vehicles=trucks)
    parts, _ = split_problem(problem, coords, max_stops=30)
    assert all(p.problem.vehicles for p in parts)
    assert sorted(p.nodes[s] for p in parts for s in p.problem.stops) == list(problem.stops)
    plan = solve_split(problem, coords, time_limit_s=4, workers=1, max_stops=30)
    assert verify_routes(problem, plan) == []
    assert not any("no truck" in why for _, why in plan.unserved)


def test_more_areas_than_trucks_never_leaves_an_area_empty() -> None:
    from optimizer.stages.split import split_problem

    problem, coords = grid_day(200, 3)
    parts, spare = split_problem(problem, coords, max_stops=20)  # 10 areas wanted, 3 trucks
    assert len(parts) == 3 and all(len(p.problem.vehicles) == 1 for p in parts)
    assert sum(len(p.problem.stops) for p in parts) == 200 and not spare


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_jobs_past_the_deadline_are_terminated() -> None:
    from optimizer.routing.interrupt import run_jobs

    results = run_jobs(
        _nap, 3, lambda i: (0.1 if i == 0 else 60.0,), workers=2, deadline=time.perf_counter() + 2
    )
    assert results == [0.1, None, None]  # job 1 was stopped, job 2 never started


# ------------------------------------------------------------------ Ctrl-C
_SOLVE_60_S = """
import sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_shift_and_split import grid_day
problem, coords = grid_day({stops}, 8)
mode = {mode!r}
if mode == "split":
    from optimizer.stages.split import solve_split
    print("ready", flush=True)
    solve_split(problem, coords, time_limit_s=60, workers=2, max_stops=40)
else:
    from optimizer.routing import solve_routes
    if mode == "plain":  # no landfill, no optional stops: OR-Tools' iterated local search
        keep = np.arange(problem.n - 1)
        problem = problem.replace(
            node_ids=problem.node_ids[:-1], kind=problem.kind[:-1], stream=problem.stream[:-1],
            distance_m=problem.distance_m[np.ix_(keep, keep)],
            time_s=problem.time_s[np.ix_(keep, keep)], demand_kg=problem.demand_kg[keep],
            demand_l=problem.demand_l[keep], service_s=problem.service_s[keep],
            time_window=problem.time_window[keep], facility_streams={{}},
        )
    print("ready", flush=True)
    solve_routes(problem.replace(drop_penalty=None), time_limit_s=60)
print("finished", flush=True)
"""


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


@pytest.mark.parametrize("mode", ["one", "plain", "split"])
def test_ctrl_c_stops_a_60_s_solve_within_seconds(mode: str) -> None:
    """SIGINT 2 s into a 60 s solve: out within 15 s (generous: 2 shared cores),
    with KeyboardInterrupt and no plan, and no worker process left behind.

    ``one``: guided local search in this process; ``plain``: the iterated local
    search, which ignores cancellation and runs in a child; ``split``: areas in
    worker processes."""
    split = mode == "split"
    script = _SOLVE_60_S.format(
        tests=str(Path(__file__).parent), stops=160 if split else 80, mode=mode
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # as in a terminal: a shell's background job (e.g. CI started with `&`) passes
        # SIGINT on ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(2.0)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the solve ignored Ctrl-C for 15 s")
    assert time.perf_counter() - sent < 15
    assert "finished" not in out
    assert "KeyboardInterrupt" in err and proc.returncode != 0
    if mode != "one":
        assert workers, "the search should run in worker processes"
    time.sleep(0.5)
    assert all(_gone(pid) for pid in workers)


# ------------------------------------------------------------ whole scenarios
def _demo_copy(tmp_path: Path, edits: list[tuple[str, str]]) -> Path:
    """The embedded demo scenario copied to ``tmp_path`` with text replacements."""
    from optimizer.plan import demo_scenario_path

    source = demo_scenario_path().parent
    folder = tmp_path / "scenario"
    shutil.copytree(source, folder)
    path = folder / "scenario.toml"
    text = path.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def _plan(path: Path, out: Path) -> dict[str, Any]:
    import json

    from optimizer.cli import main

    assert main(["plan", str(path), "--out", str(out), "--time-limit", "3"]) == 0
    return dict(json.loads((out / "plan.json").read_text()))


def test_depot_sharing_an_id_with_a_facility_plans(tmp_path: Path) -> None:
    path = _demo_copy(
        tmp_path,
        [('id = "garage"', 'id = "landfill"'), ('depot = "garage"', 'depot = "landfill"')],
    )
    plan = _plan(path, tmp_path / "out")
    assert plan["routes"] and plan["kpis"]["unserved_stops"] == 0
    assert all(r["depot_id"] == "landfill" for r in plan["routes"])
    kinds = {(s["kind"], s["ref_id"]) for r in plan["routes"] for s in r["stops"]}
    assert ("depot_start", "landfill") in kinds


def test_unserved_reasons_name_points_and_constraints(tmp_path: Path) -> None:
    path = _demo_copy(
        tmp_path,
        [
            ("count = 3", "count = 1"),
            ("shift_min = 480                #", "shift_min = 90 #"),
            ("[solver]\n", "[solver]\nallow_unserved = true\n"),
        ],
    )
    plan = _plan(path, tmp_path / "out")
    unserved = plan["unserved"]
    assert unserved, "a 90-minute shift cannot collect the whole demo"
    by_reason = plan["kpis"]["unserved_by_reason"]
    assert sum(by_reason.values()) == len(unserved) and "fleet limit" in by_reason
    for u in unserved:
        assert "|" not in u["reason"] and "pt:" not in u["reason"] and "fac:" not in u["reason"]
        assert category_of(u["reason"]) != "other", u["reason"]
    assert all(r["stops"][0]["arrival_min"] == 7 * 60 for r in plan["routes"])


_ONE_TRUCK = """[[fleet]]
id = "truck"
count = 1
depot = "garage"
capacity_t = 11
capacity_m3 = 20
compaction_ratio = 4
cost_per_km_kzt = 220
cost_per_hour_kzt = 4500
cost_per_day_kzt = 25000
fuel_l_per_km = 0.6
shift_start = "07:00"
shift_min = 480

"""


@pytest.mark.parametrize("allow_unserved", [False, True])
def test_small_town_with_one_truck_and_more_sites_than_one_area(
    tmp_path: Path, allow_unserved: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """About 180 collection stops (above max_stops_per_part = 150) and one truck."""
    import json

    from optimizer.cli import main
    from optimizer.plan import demo_scenario_path

    text = demo_scenario_path().read_text()
    fleet = text[text.index("[[fleet]]") : text.index("[siting]")]
    edits = [("people_per_point = 535", "people_per_point = 150"), (fleet, _ONE_TRUCK)]
    if allow_unserved:
        edits.append(("[solver]\n", "[solver]\nallow_unserved = true\n"))
    path = _demo_copy(tmp_path, edits)
    code = main(["plan", str(path), "--out", str(tmp_path / "out"), "--time-limit", "5"])
    err = capsys.readouterr().err
    assert "fleet is empty" not in err
    if not allow_unserved:
        assert code == 2 and "fleet limit" in err
        return
    assert code == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert len(plan["routes"]) == 1 and plan["routes"][0]["stops"][0]["arrival_min"] == 420
    served = plan["kpis"]["stops_served"]
    assert served > 60 and served + plan["kpis"]["unserved_stops"] > 150
    assert set(plan["kpis"]["unserved_by_reason"]) <= {"fleet limit"}


def test_fleet_shift_start_flex_min_reaches_the_trucks() -> None:
    """``shift_start_flex_min`` on a fleet entry (when the scenario has it) becomes
    the trucks' start flexibility; routes then leave within it."""
    from optimizer.plan import demo_scenario_path
    from optimizer.scenario import load_scenario
    from optimizer.stages.prepare import prepare
    from optimizer.stages.routes import routing_problem

    scenario = load_scenario(demo_scenario_path())
    fleet = [vt.model_copy(update={"shift_start_flex_min": 30}) for vt in scenario.fleet]
    prep = dataclasses.replace(
        prepare(scenario), scenario=scenario.model_copy(update={"fleet": fleet})
    )
    problem, _ = routing_problem(prep, {"landfill", "sorting_north"})
    assert {(v.shift_start_s, v.shift_start_flex_s) for v in problem.vehicles} == {(7 * H, 1800)}
    plan = solve_routes(problem, time_limit_s=2)
    assert verify_routes(problem, plan) == [] and plan.routes
    assert all(7 * H <= r.visits[0].arrival_s <= 7 * H + 1800 for r in plan.routes)
