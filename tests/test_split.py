"""Large days split into areas: parts are compact and balanced, the merged plan verifies."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from optimizer.routing import RoutingProblem, Vehicle, verify_routes
from optimizer.stages.calendar import collection_period_days
from optimizer.stages.routes import due_on_day
from optimizer.stages.split import balanced_clusters, solve_split, split_problem


def _grid_problem(n_stops: int, trucks: int, *, seed: int = 3) -> tuple[RoutingProblem, np.ndarray]:
    """A depot, n stops scattered over ~4 km and one landfill; travel at 25 km/h."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = 71.43, 51.13
    stops = np.column_stack(
        [lon0 + rng.uniform(-0.03, 0.03, n_stops), lat0 + rng.uniform(-0.018, 0.018, n_stops)]
    )
    coords = np.vstack([[lon0, lat0], stops, [lon0 + 0.035, lat0]])
    xy = np.column_stack([coords[:, 0] * 69_900.0, coords[:, 1] * 111_000.0])
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    time_s = np.rint(dist / (25 / 3.6)).astype(np.int64)
    n = len(coords)
    kind = ("depot",) + ("stop",) * n_stops + ("facility",)
    demand = np.array([0] + [400] * n_stops + [0], dtype=np.int64)
    problem = RoutingProblem(
        node_ids=tuple(f"n{i}" for i in range(n)),
        kind=kind,
        distance_m=dist,
        time_s=time_s,
        demand_kg=demand,
        demand_l=demand * 4,
        service_s=np.array([0] + [120] * n_stops + [600], dtype=np.int64),
        time_window=np.tile([0, 24 * 3600], (n, 1)),
        stream=(None,) + ("msw",) * n_stops + (None,),
        facility_streams={n - 1: frozenset({"msw"})},
        vehicles=tuple(
            Vehicle(
                id=f"T{k}",
                start=0,
                end=0,
                capacity_kg=8000,
                capacity_l=40000,
                cost_per_km=200,
                shift_s=8 * 3600,
                available_from_s=7 * 3600,
            )
            for k in range(trucks)
        ),
    )
    return problem, coords


def test_balanced_clusters_are_equal_sized_and_compact() -> None:
    rng = np.random.default_rng(0)
    xy = np.vstack([rng.normal((0, 0), 100, (60, 2)), rng.normal((5000, 0), 100, (60, 2))])
    labels = balanced_clusters(xy, 2, seed=1)
    assert sorted(np.bincount(labels)) == [60, 60]
    # The two far-apart blobs are not mixed.
    assert len(set(labels[:60])) == 1 and len(set(labels[60:])) == 1


def test_collection_day_pattern() -> None:
    assert collection_period_days(7) == 1
    assert all(due_on_day("P1", "msw", 7, d) for d in range(1, 8))
    # 7/3 visits a week is 3 visits on days as even as a week allows: never more than
    # 3 days apart, so due at least once in any three consecutive days, and the same
    # days each week.
    for pid in ("A", "B", "C", "D"):
        due = [d for d in range(1, 15) if due_on_day(pid, "dry", 7 / 3, d)]
        assert len(due) == 6 and max(b - a for a, b in itertools.pairwise(due)) <= 3
        assert due[3:] == [d + 7 for d in due[:3]]


def test_split_gives_every_stop_one_part_and_trucks_once() -> None:
    problem, coords = _grid_problem(90, 8)
    parts, spare = split_problem(problem, coords, max_stops=30)
    assert len(parts) == 3
    covered = [p.nodes[s] for p in parts for s in p.problem.stops]
    assert sorted(covered) == list(problem.stops)
    trucks = [v.id for p in parts for v in p.problem.vehicles] + [v.id for v in spare]
    assert sorted(trucks) == sorted(v.id for v in problem.vehicles)


def test_split_solve_is_verified_on_the_whole_problem() -> None:
    problem, coords = _grid_problem(90, 8)
    plan = solve_split(problem, coords, time_limit_s=6, workers=2, max_stops=30)
    assert verify_routes(problem, plan) == []
    served = [v.node for r in plan.routes for v in r.visits if v.kind == "stop"]
    assert len(served) == len(set(served))
    assert set(served) | {s for s, _ in plan.unserved} == set(problem.stops)
    assert not plan.unserved  # 90 x 0.4 t and 8 trucks: all fit


def _two_depot_problem() -> tuple[RoutingProblem, np.ndarray]:
    """Two depots 20 km apart, 24 stops around each, a landfill between; trucks of the
    east depot are listed first."""
    rng = np.random.default_rng(5)
    lon0, lat0 = 71.30, 51.13
    west = np.column_stack([lon0 + rng.uniform(0, 0.02, 24), lat0 + rng.uniform(0, 0.02, 24)])
    east = west + np.array([0.29, 0.0])
    coords = np.vstack([[lon0, lat0], [lon0 + 0.29, lat0], west, east, [lon0 + 0.145, lat0]])
    xy = np.column_stack([coords[:, 0] * 69_900.0, coords[:, 1] * 111_000.0])
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    n = len(coords)
    stops = 48
    demand = np.array([0, 0] + [300] * stops + [0], dtype=np.int64)

    def truck(name: str, depot: int) -> Vehicle:
        return Vehicle(
            id=name, start=depot, end=depot, capacity_kg=8000, capacity_l=40000,
            cost_per_km=200, shift_s=8 * 3600, available_from_s=7 * 3600,
        )  # fmt: skip

    problem = RoutingProblem(
        node_ids=tuple(f"n{i}" for i in range(n)),
        kind=("depot", "depot") + ("stop",) * stops + ("facility",),
        distance_m=dist,
        time_s=np.rint(dist / (25 / 3.6)).astype(np.int64),
        demand_kg=demand,
        demand_l=demand * 4,
        service_s=np.array([0, 0] + [120] * stops + [600], dtype=np.int64),
        time_window=np.tile([0, 24 * 3600], (n, 1)),
        stream=(None, None) + ("msw",) * stops + (None,),
        facility_streams={n - 1: frozenset({"msw"})},
        vehicles=tuple(truck(f"E{k}", 1) for k in range(3))
        + tuple(truck(f"W{k}", 0) for k in range(3)),
    )
    return problem, coords


def test_each_area_gets_the_trucks_of_its_nearest_depot() -> None:
    problem, coords = _two_depot_problem()
    parts, _ = split_problem(problem, coords, max_stops=24)
    assert len(parts) == 2
    for part in parts:
        full = [part.nodes[s] for s in part.problem.stops]
        near = 0 if np.mean(coords[full, 0]) < coords[0, 0] + 0.145 else 1
        starts = {part.nodes[v.start] for v in part.problem.vehicles}
        assert starts == {near}, part.label  # no truck crosses the city from the far depot


def test_no_area_straddles_two_depots_territories() -> None:
    # 48 stops in a line from the west depot to the east one: cut into three areas by
    # the map alone, the middle one would hold stops of both depots
    problem, coords = _two_depot_problem()
    line = np.linspace(coords[0, 0] + 0.005, coords[1, 0] - 0.005, 48)
    coords = coords.copy()
    coords[2:50, 0], coords[2:50, 1] = line, coords[0, 1]
    xy = np.column_stack([coords[:, 0] * 69_900.0, coords[:, 1] * 111_000.0])
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    problem = dataclasses.replace(
        problem, distance_m=dist, time_s=np.rint(dist / (25 / 3.6)).astype(np.int64)
    )
    parts, _ = split_problem(problem, coords, max_stops=16)
    for part in parts:
        full = [part.nodes[s] for s in part.problem.stops]
        homes = {0 if coords[s, 0] < coords[50, 0] else 1 for s in full}
        starts = {part.nodes[v.start] for v in part.problem.vehicles}
        assert len(homes) == 1 and starts == homes, part.label
    assert len(parts) == 4 and sum(len(p.problem.stops) for p in parts) == 48
