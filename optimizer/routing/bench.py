"""Benchmark runner: solve every instance of a folder and score against best-knowns.

Solvers: ``optimizer`` (this package as the product runs it: with ``workers >= 2`` its
engines race, with one process the engine that suits the problem), ``optimizer-ortools``
and ``optimizer-pyvrp`` (the product with one engine forced, for ablations),
``ortools`` (plain OR-Tools routing with its default guided local search, the
baseline), ``pyvrp`` and ``vroom`` (peers: each solver's plain model). Every solver
gets the same time limit where it takes one (VROOM has none; it runs at exploration
level 5 on one thread). Peer costs are recomputed on our integer matrices so that the
rounding is the same for everyone.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputError, OptimizerError
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.readers import Instance, read_kim, read_solomon, read_vrplib

log = logging.getLogger(__name__)

KINDS = ("cvrp", "vrptw", "wcvrptw")
SOLVERS = ("optimizer", "optimizer-ortools", "optimizer-pyvrp", "ortools", "pyvrp", "vroom")
COLUMNS = (
    "instance",
    "n",
    "solver",
    "time_limit_s",
    "runtime_s",
    "cost",
    "vehicles",
    "bks",
    "gap_pct",
    "feasible",
    "engine",  # the routing engine whose plan won (ours only; "+" joins areas' engines)
)

Routes = list[list[int]]  # problem node indices of stops, per used vehicle


def list_instances(kind: str, instances_dir: str | Path) -> list[Path]:
    """The instance files of ``kind`` in a folder, smallest first."""
    folder = Path(instances_dir)
    if not folder.is_dir():
        raise InputError.one(str(folder), "", "instance folder not found", "")
    if kind == "cvrp":
        files = sorted(folder.glob("*.vrp"))
    elif kind == "vrptw":
        files = sorted(p for p in folder.glob("*.txt") if p.stem.lower() != "readme")
    elif kind == "wcvrptw":
        files = sorted(folder.glob("*_stop.txt"))
    else:
        raise InputError.one("bench", "kind", f"unknown kind {kind!r}", f"use {KINDS}")

    def size(p: Path) -> tuple[int, str]:
        digits = "".join(c if c.isdigit() else " " for c in p.stem).split()
        return (int(digits[0]) if digits and kind != "vrptw" else 0, p.stem)

    return sorted(files, key=size)


def read_instance(kind: str, path: Path) -> Instance:
    """Read one instance file of ``kind``; a malformed file is an input error naming it."""
    readers = {"cvrp": read_vrplib, "vrptw": read_solomon}
    try:
        return readers.get(kind, read_kim)(path)
    except InputError:
        raise
    except (ValueError, IndexError, KeyError) as exc:  # a reader's unchecked corner
        raise InputError.one(
            str(path),
            "",
            f"cannot be read as a {kind} instance ({type(exc).__name__}: {exc})",
            "compare it with a file of the same benchmark set; a line may be cut or "
            "hold text where a number belongs",
        ) from exc


def route_distance(problem: RoutingProblem, routes: Routes, start: int = 0) -> int:
    """Depot-to-depot distance of plain routes on the problem's matrix."""
    d = problem.distance_m
    total = 0
    for r in routes:
        path = [start, *r, start]
        total += int(sum(d[a, b] for a, b in itertools.pairwise(path)))
    return total


# ------------------------------------------------------------------- peers
def solve_plain_ortools(problem: RoutingProblem, time_limit_s: float) -> Routes | None:
    """The baseline: OR-Tools routing as its docs show it, GLS, registered matrix."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = problem.n
    depot = problem.vehicles[0].start
    nv = len(problem.vehicles)
    manager = pywrapcp.RoutingIndexManager(n, nv, depot)
    routing = pywrapcp.RoutingModel(manager)
    dist = routing.RegisterTransitMatrix(problem.distance_m.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist)
    demand = routing.RegisterUnaryTransitVector(problem.demand_kg.tolist())
    routing.AddDimensionWithVehicleCapacity(
        demand, 0, [v.capacity_kg for v in problem.vehicles], True, "load"
    )
    if problem.time_s.any():
        travel = problem.time_s + problem.service_s[:, None]
        tcb = routing.RegisterTransitMatrix(travel.tolist())
        horizon = int(problem.time_window[:, 1].max())
        routing.AddDimension(tcb, horizon, horizon, False, "time")
        tdim = routing.GetDimensionOrDie("time")
        for node in range(n):
            if node == depot:
                continue
            idx = manager.NodeToIndex(node)
            tdim.CumulVar(idx).SetRange(*(int(x) for x in problem.time_window[node]))
        for v in range(nv):
            tdim.CumulVar(routing.Start(v)).SetRange(0, horizon)
            tdim.CumulVar(routing.End(v)).SetRange(0, horizon)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes: Routes = []
    for v in range(nv):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes


def solve_pyvrp(problem: RoutingProblem, time_limit_s: float) -> Routes | None:
    """PyVRP's hybrid genetic search with a wall-clock limit."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = problem.n
    depot = problem.vehicles[0].start
    order = [depot] + [i for i in range(n) if i != depot]
    has_tw = bool(problem.time_s.any())
    clients = [
        pyvrp.Client(
            location=k,
            delivery=[int(problem.demand_kg[i])],
            service_duration=int(problem.service_s[i]),
            tw_early=int(problem.time_window[i, 0]) if has_tw else 0,
            tw_late=int(problem.time_window[i, 1]) if has_tw else 2**62,
        )
        for k, i in enumerate(order[1:], start=1)
    ]
    tw = problem.time_window[depot]
    depots = [
        pyvrp.Depot(
            location=0,
            tw_early=int(tw[0]) if has_tw else 0,
            tw_late=int(tw[1]) if has_tw else 2**62,
        )
    ]
    vt = pyvrp.VehicleType(
        num_available=len(problem.vehicles),
        capacity=[problem.vehicles[0].capacity_kg],
        tw_early=int(tw[0]) if has_tw else 0,
        tw_late=int(tw[1]) if has_tw else 2**62,
    )
    ix = np.ix_(order, order)
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=0, y=0) for _ in order],
        clients=clients,
        depots=depots,
        vehicle_types=[vt],
        distance_matrices=[np.ascontiguousarray(problem.distance_m[ix])],  # type: ignore[list-item]
        duration_matrices=[np.ascontiguousarray(problem.time_s[ix])],  # type: ignore[list-item]
    )
    result = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=0, display=False)
    if not result.best.is_feasible():
        return None
    return [[order[a.idx + 1] for a in r.schedule() if a.is_client()] for r in result.best.routes()]


def solve_vroom(problem: RoutingProblem, time_limit_s: float) -> Routes | None:
    """VROOM at exploration level 5 on one thread, stopped at the time limit."""
    import vroom

    n = problem.n
    depot = problem.vehicles[0].start
    inp = vroom.Input()
    inp.set_durations_matrix(
        profile="car", matrix_input=problem.time_s if problem.time_s.any() else problem.distance_m
    )
    inp.set_costs_matrix(profile="car", matrix_input=problem.distance_m)
    has_tw = bool(problem.time_s.any())
    tw = problem.time_window[depot]
    for k, v in enumerate(problem.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=depot,
                end=depot,
                capacity=[v.capacity_kg],
                time_window=vroom.TimeWindow(int(tw[0]), int(tw[1])) if has_tw else None,
            )
        )
    for i in range(n):
        if i == depot:
            continue
        inp.add_job(
            vroom.Job(
                id=i,
                location=i,
                delivery=[int(problem.demand_kg[i])],
                default_service=int(problem.service_s[i]),
                time_windows=[vroom.TimeWindow(*(int(x) for x in problem.time_window[i]))]
                if has_tw
                else (),
            )
        )
    sol = inp.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s))
    frame = sol.routes
    jobs = frame[frame["type"] == "job"]
    if len(jobs) != n - 1:
        return None
    return [list(map(int, g["id"])) for _, g in jobs.groupby("vehicle_id", sort=True)]


PEERS: dict[str, Callable[[RoutingProblem, float], Routes | None]] = {
    "ortools": solve_plain_ortools,
    "pyvrp": solve_pyvrp,
    "vroom": solve_vroom,
}


def _peer_feasible(problem: RoutingProblem, routes: Routes) -> bool:
    """An independent check of a peer's plain routes (cover, capacity, windows)."""
    depot = problem.vehicles[0].start
    seen = sorted(i for r in routes for i in r)
    if seen != sorted(problem.stops):
        return False
    cap = problem.vehicles[0].capacity_kg
    for r in routes:
        if int(problem.demand_kg[r].sum()) > cap:
            return False
        if problem.time_s.any():
            t = int(problem.time_window[depot, 0])
            prev = depot
            for i in [*r, depot]:
                t = max(t + int(problem.time_s[prev, i]), int(problem.time_window[i, 0]))
                if t > problem.time_window[i, 1]:
                    return False
                t += int(problem.service_s[i])
                prev = i
    return True


# ------------------------------------------------------------------ runner
def run_instance(
    instance: Instance, solver: str, time_limit_s: float, *, workers: int = 1
) -> dict[str, Any]:
    """Solve one instance with one solver; one result row."""
    problem = instance.problem
    start = time.perf_counter()
    distance: int | None = None
    vehicles = 0
    feasible = False
    engine_used: str | None = None
    if solver == "optimizer" or solver.startswith("optimizer-"):
        from optimizer.routing.solve import solve_routes
        from optimizer.routing.verify import verify_routes

        engine = solver.partition("-")[2] or None
        try:
            plan = solve_routes(problem, time_limit_s=time_limit_s, workers=workers, engine=engine)
        except OptimizerError as exc:  # infeasible or rejected: a row, not a crash
            log.error("%s: %s", instance.name, exc)
        else:
            violations = verify_routes(problem, plan)
            for v in violations:
                log.error("%s: %s", instance.name, v)
            feasible = not violations and not plan.unserved
            log.info("%s: engine %s %s", instance.name, plan.engine, plan.engine_note)
            engine_used = plan.engine
            distance = plan.distance_m
            vehicles = plan.vehicles_used
    elif solver in PEERS:
        if instance.kind == "wcvrptw":
            raise InputError.one(
                "bench",
                "solver",
                f"{solver} has no model for landfill trips and breaks",
                "use --solver optimizer",
            )
        routes = PEERS[solver](problem, time_limit_s)
        if routes is not None:
            distance = route_distance(problem, routes, problem.vehicles[0].start)
            vehicles = len(routes)
            feasible = _peer_feasible(problem, routes)
    else:
        raise InputError.one(
            "bench", "solver", f"unknown solver {solver!r}", f"use one of {SOLVERS}"
        )
    runtime = time.perf_counter() - start
    cost = instance.cost(distance) if distance is not None else None
    gap = (
        100.0 * (cost - instance.bks) / instance.bks
        if cost is not None and instance.bks and feasible
        else None
    )
    return {
        "instance": instance.name,
        "n": len(problem.stops),
        "solver": solver,
        "time_limit_s": time_limit_s,
        "runtime_s": round(runtime, 2),
        "cost": round(cost, 3) if cost is not None else None,
        "vehicles": vehicles,
        "bks": instance.bks,
        "gap_pct": round(gap, 3) if gap is not None else None,
        "feasible": feasible,
        "engine": engine_used,
    }


def run_benchmark(
    kind: str,
    instances_dir: str | Path,
    time_limit_s: float,
    solver: str = "optimizer",
    *,
    instances: Sequence[str] | None = None,
    workers: int = 1,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Solve every instance of ``kind`` in ``instances_dir`` with ``solver``.

    ``instances`` restricts the run to those names (file stems). Rows have the
    :data:`COLUMNS`; ``on_row`` is called after each instance (to write as you go).
    """
    if solver not in SOLVERS:
        raise InputError.one(
            "bench", "solver", f"unknown solver {solver!r}", f"use one of {SOLVERS}"
        )
    wanted = {s.lower() for s in instances} if instances else None
    rows = []
    for path in list_instances(kind, instances_dir):
        if wanted is not None and path.stem.lower() not in wanted:
            continue
        instance = read_instance(kind, path)
        row = run_instance(instance, solver, time_limit_s, workers=workers)
        log.info("%s", row)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
