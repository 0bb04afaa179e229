"""Solve a routing problem with OR-Tools: checks, search, extraction, verification."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from optimizer.errors import InfeasibleError, InputError, Problem, VerificationError
from optimizer.routing import reasons as R
from optimizer.routing.construct import greedy_routes
from optimizer.routing.interrupt import check_stop, search_callback, stop_on_signals
from optimizer.routing.model import COST_SCALE, Model, build_model
from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, Visit, VisitKind
from optimizer.routing.verify import verify_routes

log = logging.getLogger(__name__)

FSS = routing_enums_pb2.FirstSolutionStrategy
GREEDY_ABOVE = 300  # stops; above this, waste problems start from greedy routes
LSM = routing_enums_pb2.LocalSearchMetaheuristic

Sequences = dict[str, list[int]]  # vehicle id -> problem nodes (stops and unloads)


# --------------------------------------------------------------- pre-solve checks
def presolve(problem: RoutingProblem) -> list[tuple[int, str]]:
    """Stops no truck can serve, with the reason (see :mod:`reasons`).

    Raises :class:`InputError` for them when every stop is mandatory and
    :class:`InfeasibleError` when the fleet as a whole cannot carry the demand.
    """
    p = problem
    bad: list[tuple[int, str]] = []
    time_bad: list[tuple[int, str]] = []
    for s in p.stops:
        trucks = [v for v in p.vehicles if p.vehicle_may_serve(v, s)]
        kg, litres = int(p.demand_kg[s]), int(p.demand_l[s])
        if not trucks:
            why = "no truck of the fleet may serve it (stream or vehicle restriction)"
            bad.append((s, R.reason(R.TRUCK, why)))
            continue
        fits = [v for v in trucks if v.capacity_kg >= kg and (not litres or v.capacity_l >= litres)]
        if not fits:
            biggest = max(trucks, key=lambda v: (v.capacity_kg, v.capacity_l))
            why = (
                f"its load {kg / 1000:g} t / {litres / 1000:g} m3 is above the largest "
                f"truck that may serve it ({biggest.capacity_kg / 1000:g} t / "
                f"{biggest.capacity_l / 1000:g} m3)"
            )
            bad.append((s, R.reason(R.CAPACITY, why)))
            continue
        if p.facilities and p.stream[s] is not None:
            ok = [
                f
                for f in p.facilities
                if f not in p.facility_streams or p.stream[s] in p.facility_streams[f]
            ]
            if not ok:
                why = f"no open facility is licensed for stream {p.stream[s]!r}"
                bad.append((s, R.reason(R.FACILITY, why)))
                continue
        late = _time_reason(p, s, fits)
        if late is not None:
            time_bad.append((s, late))
    if p.drop_penalty is None and bad:
        raise InputError(
            [
                Problem(
                    "routing problem",
                    p.label(s),
                    why,
                    "raise the truck capacity, allow another truck, or set a drop "
                    "penalty to report it unserved",
                )
                for s, why in bad
            ]
        )
    if p.drop_penalty is None and time_bad:
        raise InfeasibleError(
            "; ".join(f"{p.label(s)}: {why}" for s, why in time_bad[:10])
            + (f" (and {len(time_bad) - 10} more)" if len(time_bad) > 10 else "")
        )
    dropped = {s for s, _ in bad + time_bad}
    if p.drop_penalty is None:
        _check_fleet_totals(p, dropped)
    return bad + time_bad


def _travel(v: Vehicle, seconds: float) -> int:
    return round(float(seconds) * v.speed_factor)


def _accepting(p: RoutingProblem, s: int) -> list[int]:
    """Facilities licensed for the stream of stop ``s``."""
    stream = p.stream[s]
    return [
        f
        for f in p.facilities
        if stream is None or f not in p.facility_streams or stream in p.facility_streams[f]
    ]


def _back_at(p: RoutingProblem, s: int, v: Vehicle, done: int, hours: bool) -> int | None:
    """When ``v`` is back at its depot after serving ``s`` until ``done``: via the
    accepting facility that gets it home first (within its opening hours when
    ``hours``), or straight home without facilities; None when none is open."""
    if not p.facilities:
        return done + _travel(v, p.time_s[s, v.end])
    best: int | None = None
    for f in _accepting(p, s):
        at = done + _travel(v, p.time_s[s, f])
        if hours:
            at = max(at, int(p.time_window[f, 0]))
            if at > int(p.time_window[f, 1]):
                continue
        back = at + int(p.service_s[f]) + _travel(v, p.time_s[f, v.end])
        best = back if best is None else min(best, back)
    return best


def _fits_shift(
    p: RoutingProblem, s: int, v: Vehicle, window: tuple[int, int], hours: bool = True
) -> bool:
    """Whether ``v`` can serve ``s`` alone, starting within ``window``, inside its shift
    (and unloading within the facilities' opening hours when ``hours``)."""
    early, late = p.departure_window(v)
    go = _travel(v, p.time_s[v.start, s])
    lo, hi = window
    leave = min(late, max(early, lo - go))  # as late as useful: no waiting at the stop
    arrive = max(lo, leave + go)
    if arrive > hi:
        return False
    back = _back_at(p, s, v, arrive + int(p.service_s[s]), hours)
    return back is not None and back - leave <= v.shift_s and back <= p.return_by(v)


def _time_reason(p: RoutingProblem, s: int, trucks: Sequence[Vehicle]) -> str | None:
    """Why no truck can serve ``s`` in time (None when one can): too far for the
    shift at any hour, no facility open to unload during the shift, or its window
    cannot be met inside the shift."""
    window = (int(p.time_window[s, 0]), int(p.time_window[s, 1]))
    if any(_fits_shift(p, s, v, window) for v in trucks):
        return None
    shifts = R.shifts_text(trucks)
    anytime = (0, 10**12)
    if not any(_fits_shift(p, s, v, anytime, hours=False) for v in trucks):
        v = trucks[0]
        done = _travel(v, p.time_s[v.start, s]) + int(p.service_s[s])
        trip = _back_at(p, s, v, done, hours=False) or done
        return R.reason(
            R.UNREACHABLE,
            f"the round trip from {p.label(v.start)} takes {trip / 3600:.1f} h, "
            f"more than the shift {shifts} allows",
        )
    if any(_fits_shift(p, s, v, window, hours=False) for v in trucks):
        hours = ", ".join(f"{p.label(f)} {R.window_text(p, f)}" for f in _accepting(p, s)[:3])
        return R.reason(
            R.WINDOW,
            f"no facility that accepts it is open to unload within the shift {shifts} "
            f"(opening hours: {hours})",
        )
    return R.reason(
        R.WINDOW,
        f"its window {R.window_text(p, s)} cannot be met inside the shift {shifts} "
        "of any truck that may serve it",
    )


def _check_fleet_totals(p: RoutingProblem, dropped: set[int]) -> None:
    stops = [s for s in p.stops if s not in dropped]
    trips = p.max_unload_trips if p.facilities else 1
    for dim, cap, day in (
        ("demand_kg", "capacity_kg", "day_capacity_kg"),
        ("demand_l", "capacity_l", "day_capacity_l"),
    ):
        total = int(getattr(p, dim)[stops].sum()) if stops else 0
        if not total:
            continue
        fleet = sum(
            min(
                getattr(v, cap) * trips,
                getattr(v, day) if getattr(v, day) is not None else math.inf,
            )
            for v in p.vehicles
        )
        if total > fleet:
            unit = "kg" if dim == "demand_kg" else "l"
            raise InfeasibleError(
                f"total demand {total} {unit} exceeds what the fleet can carry "
                f"({fleet} {unit}: capacity × {trips} trip(s) per truck, day limits); "
                "add trucks, allow more unload trips, or set a drop penalty"
            )


# ------------------------------------------------------------------ search
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
            log.warning("iterated local search cannot start from the given routes")
        return routing.SolveWithIteratedLocalSearch(params)
    if initial:
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes(routes_to_indices(model, initial), True)
        if start is not None:
            return routing.SolveFromAssignmentWithParameters(start, params)
        log.warning("the warm start is not feasible for this model; solving from scratch")
    return routing.SolveWithParameters(params)


# -------------------------------------------------------------- extraction
def extract(
    model: Model,
    solution: pywrapcp.Assignment,
    status: str,
    runtime_s: float,
    unserved: Sequence[tuple[int, str]] = (),
) -> RoutePlan:
    """Turn an OR-Tools assignment into a :class:`RoutePlan` (loads and distances
    are recomputed from the problem, not read from the model)."""
    p = model.problem
    routing, manager, tdim = model.routing, model.manager, model.time_dim
    breaks: dict[int, tuple[int, int]] = {}
    if model.breaks:
        container = solution.IntervalVarContainer()
        names = {iv.Name(): k for k, iv in model.breaks.items()}
        for i in range(container.Size()):
            element = container.Element(i)
            k = names.get(element.Var().Name())
            if k is not None and element.PerformedValue():
                breaks[k] = (element.StartValue(), element.EndValue())
    routes: list[Route] = []
    served: set[int] = set()
    for k, vehicle in enumerate(p.vehicles):
        index = routing.Start(k)
        raw: list[tuple[int, VisitKind, int]] = []
        while True:
            node = int(model.node_of[manager.IndexToNode(index)])
            t = int(solution.Value(tdim.CumulVar(index))) if tdim is not None else 0
            if routing.IsStart(index):
                kind: VisitKind = "depot_start"
            elif routing.IsEnd(index):
                kind = "depot_end"
            elif p.kind[node] == "facility":
                kind = "unload"
            else:
                kind = "stop"
            raw.append((node, kind, t))
            if routing.IsEnd(index):
                break
            index = solution.Value(routing.NextVar(index))
        if len(raw) == 2:
            continue
        visits: list[Visit] = []
        kg = litres = dist = 0
        prev = raw[0][0]
        for node, kind, t in raw:
            if kind == "unload" and kg == 0 and litres == 0:
                continue  # an unload with nothing on board is a no-op
            dist += int(p.distance_m[prev, node])
            if kind == "stop":
                kg += int(p.demand_kg[node])
                litres += int(p.demand_l[node])
                served.add(node)
            elif kind == "unload":
                kg = litres = 0
            service = int(p.service_s[node]) if kind != "depot_end" else 0
            visits.append(Visit(node, kind, t, t + service, kg, litres, dist))
            prev = node
        if k in breaks:
            b0, b1 = breaks[k]
            if visits[0].arrival_s <= b0 and b1 <= visits[-1].arrival_s:
                pos = max((i for i, v in enumerate(visits[:-1]) if v.departure_s <= b0), default=0)
                here = visits[pos]
                visits.insert(
                    pos + 1,
                    Visit(
                        here.node,
                        "break",
                        b0,
                        b1,
                        here.load_after_kg,
                        here.load_after_l,
                        here.distance_m_so_far,
                    ),
                )
        duration = visits[-1].arrival_s - visits[0].arrival_s
        cost = (
            vehicle.fixed_cost
            + vehicle.cost_per_km * dist / 1000.0
            + vehicle.cost_per_h * duration / 3600.0
        )
        routes.append(Route(vehicle.id, tuple(visits), dist, duration, cost))
    unserved_list = list(unserved)
    listed = {s for s, _ in unserved_list}
    for s in model.stop_nodes:
        if s not in served and s not in listed:
            unserved_list.append((s, R.fleet_limit(p, s)))
    return RoutePlan(
        status=status,  # type: ignore[arg-type]
        objective=solution.ObjectiveValue() / COST_SCALE,
        routes=tuple(routes),
        unserved=tuple(unserved_list),
        runtime_s=round(runtime_s, 3),
    )


def plan_cost(plan: RoutePlan) -> float:
    """Objective-equivalent cost of a plan (route costs; unserved stops excluded)."""
    return sum(r.cost for r in plan.routes)


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


def diagnose(problem: RoutingProblem) -> str:
    """A best guess at the binding constraint when no solution was found."""
    p = problem
    hints = []
    work = int(p.service_s[list(p.stops)].sum()) if p.stops else 0
    shifts = sum(v.shift_s for v in p.vehicles)
    if work > 0.8 * shifts:
        hints.append(f"service time alone ({work} s) nearly fills every shift ({shifts} s)")
    tight = sum(1 for s in p.stops if p.time_window[s, 1] - p.time_window[s, 0] < 3600)
    if tight:
        hints.append(f"{tight} stops have time windows under one hour")
    if any(v.break_window for v in p.vehicles):
        hints.append("driver breaks shorten the day")
    hints.append(f"the fleet has {len(p.vehicles)} trucks")
    return "no feasible plan found within the time limit; likely binding: " + "; ".join(hints)


def solve_routes(
    problem: RoutingProblem,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int = 1,
    initial: RoutePlan | None = None,
    balance: bool = False,
) -> RoutePlan:
    """Route the fleet: checks, search (see :mod:`improve`), verification.

    Raises :class:`InputError` / :class:`InfeasibleError` for impossible inputs,
    :class:`VerificationError` when the plan fails the independent checker and
    ``KeyboardInterrupt`` (:class:`Interrupted`) when stopped by Ctrl-C, SIGTERM or
    :func:`request_stop`.
    """
    with stop_on_signals():
        return _solve_routes(problem, time_limit_s, seed, workers, initial, balance)


def _solve_routes(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int,
    workers: int,
    initial: RoutePlan | None,
    balance: bool,
) -> RoutePlan:
    from optimizer.routing.improve import improve

    t0 = time.perf_counter()
    check_stop()
    unserved = presolve(problem)
    if len(unserved) == len(problem.stops):
        plan = RoutePlan("feasible", 0.0, (), tuple(unserved), 0.0)
    else:
        left = max(0.5, time_limit_s - (time.perf_counter() - t0))
        found = improve(
            problem,
            left,
            seed=seed,
            workers=workers,
            initial=initial.sequences() if initial else None,
            balance=balance,
            unserved=unserved,
        )
        if found is None:
            raise InfeasibleError(diagnose(problem))
        plan = found
    plan = RoutePlan(
        plan.status, plan.objective, plan.routes, plan.unserved, round(time.perf_counter() - t0, 3)
    )
    violations = verify_routes(problem, plan)
    if violations:
        raise VerificationError(
            f"the routing plan failed {len(violations)} independent check(s): "
            + "; ".join(violations[:5])
        )
    log.info(
        "routes: %d vehicles, %.1f km, %d unserved, %.1f s",
        plan.vehicles_used,
        plan.distance_m / 1000,
        len(plan.unserved),
        plan.runtime_s,
    )
    return plan
