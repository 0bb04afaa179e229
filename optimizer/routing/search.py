"""One OR-Tools search: its parameters, a warm start, and build-search-extract.

:class:`SearchConfig` is a choice of first solution and metaheuristic (OR-Tools'
guided local search, or its iterated local search with SISR ruin and simulated
annealing); :func:`solve_once` builds the model, searches once and decodes the
result. The strategy around it (which configurations, races, decomposition and
worker processes) is :mod:`improve`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from optimizer.routing.construct import Sequences, greedy_routes
from optimizer.routing.decode import extract
from optimizer.routing.interrupt import check_stop, search_callback
from optimizer.routing.model import Model, build_model
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.result import RoutePlan

log = logging.getLogger(__name__)

FSS = routing_enums_pb2.FirstSolutionStrategy
GREEDY_ABOVE = 300  # stops; above this, waste problems start from greedy routes
LSM = routing_enums_pb2.LocalSearchMetaheuristic


@dataclass(frozen=True)
class SearchConfig:
    """A choice of first solution and metaheuristic settings (varied across workers)."""

    first_solution: int = FSS.AUTOMATIC
    metaheuristic: int = LSM.GUIDED_LOCAL_SEARCH
    gls_lambda: float = 0.0  # 0 = OR-Tools default
    neighbors_ratio: float = 0.0  # 0 = all neighbours
    min_neighbors: int = 0
    iterated: bool = False  # OR-Tools' iterated local search with SISR ruin
    ruin_visits: int = 10  # average stops removed per ruin (SISR)
    ruin_sequence: int = 10  # longest string removed from one route (SISR)
    recreate: int = FSS.LOCAL_CHEAPEST_INSERTION
    improve_perturbed: bool = True  # local search after each recreate
    # Simulated-annealing start temperature as a multiple of the mean arc cost (ends at
    # 1/100 of it); 0 = OR-Tools' automatic temperatures (0.1x, sampled).
    temperature: float = 0.0
    linear_cooling: bool = False  # SA temperature falls linearly instead of geometrically


def default_first_solution(problem: RoutingProblem) -> int:
    """Cheapest arc for plain capacitated problems, insertion when there is more."""
    plain = not problem.facilities and not problem.time_s.any() and problem.drop_penalty is None
    return int(FSS.PATH_CHEAPEST_ARC if plain else FSS.PARALLEL_CHEAPEST_INSERTION)


def search_parameters(
    problem: RoutingProblem, time_limit_s: float, config: SearchConfig | None = None
) -> pywrapcp.RoutingSearchParameters:
    """Search parameters for one run."""
    config = config or SearchConfig()
    params = pywrapcp.DefaultRoutingSearchParameters()
    fss = config.first_solution
    params.first_solution_strategy = (
        default_first_solution(problem) if fss == FSS.AUTOMATIC else fss
    )
    params.local_search_metaheuristic = config.metaheuristic
    if config.gls_lambda:
        params.guided_local_search_lambda_coefficient = config.gls_lambda
    if config.neighbors_ratio:
        params.ls_operator_neighbors_ratio = config.neighbors_ratio
        params.ls_operator_min_neighbors = config.min_neighbors or 20
    if config.iterated:
        _iterated_local_search(params, config, _mean_arc_cost(problem))
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def _mean_arc_cost(problem: RoutingProblem) -> float:
    """Mean cost of an arc between two distinct nodes (scale of SA temperatures)."""
    d = problem.distance_m
    n = d.shape[0]
    per_km = float(np.mean([v.cost_per_km for v in problem.vehicles])) if problem.vehicles else 1.0
    return float(d.sum()) / max(1, n * (n - 1)) * per_km


def _iterated_local_search(
    params: pywrapcp.RoutingSearchParameters, config: SearchConfig, mean_arc: float
) -> None:
    """OR-Tools' iterated local search: SISR ruin and recreate, then greedy descent;
    simulated annealing decides which perturbed solution to continue from."""
    params.use_iterated_local_search = True
    params.local_search_metaheuristic = LSM.GREEDY_DESCENT
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ils.improve_perturbed_solution = config.improve_perturbed
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    ruin = rr.ruin_strategies.add()
    ruin.sisr.max_removed_sequence_size = config.ruin_sequence
    ruin.sisr.avg_num_removed_visits = config.ruin_visits
    ruin.sisr.bypass_factor = 0.01
    rr.recreate_strategy.heuristic = config.recreate
    reference = ils.reference_solution_acceptance_strategy
    reference.Clear()
    sa = reference.simulated_annealing
    cooling = routing_ils_pb2.CoolingScheduleStrategy
    sa.cooling_schedule_strategy = cooling.LINEAR if config.linear_cooling else cooling.EXPONENTIAL
    if config.temperature:
        sa.automatic_temperatures = False
        sa.initial_temperature = config.temperature * mean_arc
        sa.final_temperature = config.temperature * mean_arc / 100
    else:
        sa.automatic_temperatures = True
    best = ils.best_solution_acceptance_strategy
    best.Clear()
    best.greedy_descent.SetInParent()


def routes_to_indices(model: Model, sequences: Sequences) -> list[list[int]]:
    """Problem-node sequences per vehicle -> routing indices (unloads get copies)."""
    free = {f: list(nodes) for f, nodes in model.copies.items()}
    present = set(model.stop_nodes)
    out: list[list[int]] = []
    for v in model.problem.vehicles:
        route: list[int] = []
        for node in sequences.get(v.id, []):
            if model.problem.kind[node] == "facility":
                if free.get(node):
                    route.append(int(model.manager.NodeToIndex(free[node].pop())))
            elif node in present:
                route.append(model.index_of_stop(node))
        out.append(route)
    return out


def run_search(
    model: Model,
    time_limit_s: float,
    config: SearchConfig | None = None,
    initial: Sequences | None = None,
) -> pywrapcp.Assignment | None:
    """One OR-Tools search, optionally warm-started from ``initial``.

    Raises :class:`Interrupted` when a stop is requested before or during it.
    """
    check_stop()
    found = _search(model, time_limit_s, config, initial)
    check_stop()  # a cancelled search returns its best so far: not a plan to keep
    return found


def _search(
    model: Model,
    time_limit_s: float,
    config: SearchConfig | None,
    initial: Sequences | None,
) -> pywrapcp.Assignment | None:
    params = search_parameters(model.problem, time_limit_s, config)
    routing = model.routing
    callback = search_callback(routing)
    model.keep_alive.append(callback)
    routing.AddAtSolutionCallback(callback)
    if config is not None and config.iterated:
        # OR-Tools 9.15 runs its ILS only through this entry point, which takes no
        # warm start (SolveWithParameters silently ignores use_iterated_local_search).
        if initial:
            log.info("iterated local search cannot start from the given routes")
        return routing.SolveWithIteratedLocalSearch(params)
    if initial:
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes(routes_to_indices(model, initial), True)
        if start is not None:
            return routing.SolveFromAssignmentWithParameters(start, params)
        log.info("the warm start is not feasible for this model; solving from scratch")
    return routing.SolveWithParameters(params)


def _unloads(sequences: Sequences | None) -> dict[int, int]:
    """Unload visits per facility summed over the routes (warm starts need copies)."""
    count: dict[int, int] = {}
    for seq in (sequences or {}).values():
        for node in seq:
            count[node] = count.get(node, 0) + 1
    return count


def _served(problem: RoutingProblem, sequences: Sequences) -> int:
    """Stops in some routes (a greedy seed may leave optional stops out)."""
    return sum(1 for seq in sequences.values() for node in seq if problem.kind[node] == "stop")


def _served_by(plan: RoutePlan | None) -> int:
    return -1 if plan is None else sum(len(r.stops) for r in plan.routes)


def solve_once(
    problem: RoutingProblem,
    time_limit_s: float,
    *,
    config: SearchConfig | None = None,
    initial: Sequences | None = None,
    balance: bool = False,
    unserved: Sequence[tuple[int, str]] = (),
    stops: Sequence[int] | None = None,
) -> RoutePlan | None:
    """Build, search and extract once (no checks, no verification).

    ``stops`` restricts the model to those stops (a sub-problem); the others are
    then neither routed nor reported.
    """
    t0 = time.perf_counter()
    skip = {s for s, _ in unserved}
    chosen = problem.stops if stops is None else tuple(stops)
    kept = tuple(s for s in chosen if s not in skip)
    greedy = None
    if initial is None and problem.facilities:
        greedy = greedy_routes(problem, kept, partial=problem.drop_penalty is not None)
        if greedy is not None and len(kept) > GREEDY_ABOVE:
            initial = greedy
    model = build_model(problem, kept, balance=balance, min_copies=_unloads(initial))
    left = max(0.1, time_limit_s - (time.perf_counter() - t0))
    solution = run_search(model, left, config, initial)
    plan = (
        None
        if solution is None
        else extract(model, solution, "feasible", time.perf_counter() - t0, unserved)
    )
    if greedy is not None and initial is None and _served(problem, greedy) > _served_by(plan):
        # OR-Tools' insertion could not pair stops with unload visits: seed it
        log.debug("first solution left stops out; retrying from the greedy routes")
        model = build_model(problem, kept, balance=balance, min_copies=_unloads(greedy))
        left = max(0.5, time_limit_s - (time.perf_counter() - t0))
        solution = run_search(model, left, config, greedy)
        if solution is not None:
            retry = extract(model, solution, "feasible", time.perf_counter() - t0, unserved)
            if plan is None or len(retry.unserved) < len(plan.unserved):
                plan = retry
    return plan
