"""Large collection days, split into areas that are routed separately and in parallel.

One OR-Tools model over thousands of container sites and a hundred trucks finds no
first solution in a useful time. A city day is instead cut into parts of at most
``max_stops`` stops: first by which trucks may serve a stop (its stream), then by
the depot nearest to it, then into compact areas (balanced k-means on the map). Each
part gets the trucks its work needs, is solved on its own core, and the routes are put back together. Stops a
part cannot serve are retried with the trucks left over before being reported, and
the time left moves whole trips from lightly used trucks onto trucks of other areas
with time to spare (:mod:`optimizer.routing.repack`), so fewer trucks go out.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

from optimizer import progress
from optimizer.errors import InfeasibleError, InputError
from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, solve_routes
from optimizer.routing import reasons as R
from optimizer.routing.interrupt import run_inline, run_jobs, stop_on_signals
from optimizer.routing.repack import repack
from optimizer.routing.result import Route, Visit

log = logging.getLogger("optimizer")

#: Penalty (cost units) for leaving a stop unserved inside a part: high enough that
#: a stop is dropped only when no truck of its part can take it.
DROP_PENALTY = 50_000_000

#: Share of the time limit for the parts; the rest is for stops they left over.
PARTS_SHARE = 0.8
#: Share of the time limit kept for moving trips between areas' trucks (measured on an
#: Astana day: 6 of 114 trucks emptied in 18 s).
REPACK_SHARE = 0.06
#: Seconds kept back at the end of the time limit (merging, verification).
RESERVE_S = 0.5
#: Seconds a part's process needs besides its search (start-up, checks, sending back).
START_S = 0.3
#: Shortest search given to one part, and the least time worth a second pass.
MIN_LIMIT_S = 0.5
MIN_RETRY_S = 1.0

#: Seconds per area below which the search is still finding first solutions on
#: city-sized parts (measured on Astana: 10 s left most stops of a 255-stop area
#: unserved under load, 30 s served them all).
MIN_PART_S = 20


@dataclass(frozen=True)
class Part:
    """A sub-problem and where its nodes sit in the full problem."""

    problem: RoutingProblem
    nodes: tuple[int, ...]  # part node index -> full node index
    label: str


def _metres(coords: np.ndarray) -> np.ndarray:
    """Lon/lat to local metres (equirectangular; fine inside a city)."""
    lat0 = math.radians(float(np.mean(coords[:, 1])))
    return np.column_stack([coords[:, 0] * 111_320.0 * math.cos(lat0), coords[:, 1] * 110_540.0])


def balanced_clusters(xy: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Cluster labels for points, k compact groups of near-equal size."""
    n = len(xy)
    if k <= 1 or n <= k:
        return np.zeros(n, dtype=int) if k <= 1 else np.arange(n) % k
    centres, _ = kmeans2(xy, k, seed=seed, minit="++")
    size_cap = math.ceil(n / k * 1.08)
    dist = np.linalg.norm(xy[:, None, :] - centres[None, :, :], axis=2)
    order = np.argsort(dist, axis=None)
    labels = np.full(n, -1, dtype=int)
    counts = np.zeros(k, dtype=int)
    for flat in order:
        i, c = divmod(int(flat), k)
        if labels[i] < 0 and counts[c] < size_cap:
            labels[i] = c
            counts[c] += 1
    return labels


def _day_s(problem: RoutingProblem, vehicle: Vehicle) -> float:
    """Working seconds of a truck's day: from its shift start to the end of its
    shift (or the depot's closing), without the break."""
    leave = problem.departure_window(vehicle)[0]
    usable = min(vehicle.shift_s, problem.return_by(vehicle) - leave) - vehicle.break_s
    return float(max(usable, 3600))


def _work_s(problem: RoutingProblem, stops: Sequence[int], vehicle: Vehicle) -> float:
    """A rough estimate of the truck-seconds a group of stops needs."""
    if not stops:
        return 0.0
    idx = np.asarray(stops)
    service = float(problem.service_s[idx].sum())
    sub = problem.time_s[np.ix_(idx, idx)].astype(float)
    np.fill_diagonal(sub, np.inf)
    travel = float(np.where(np.isfinite(sub.min(axis=1)), sub.min(axis=1), 0).sum())
    facilities = list(problem.facilities)
    load = float(problem.demand_kg[idx].sum())
    trips = max(1.0, load / max(vehicle.capacity_kg, 1))
    if facilities:
        to_fac = problem.time_s[np.ix_(idx, np.asarray(facilities))].min(axis=1).mean()
        unload = float(np.mean(problem.service_s[facilities]))
        trips_s = trips * (2 * float(to_fac) + unload)
    else:
        trips_s = 0.0
    return service + travel + trips_s


def _subproblem(
    problem: RoutingProblem, stops: Sequence[int], vehicles: Sequence[Vehicle], label: str
) -> Part:
    """The part of ``problem`` with these stops and trucks (all depots and facilities kept)."""
    keep = [i for i, k in enumerate(problem.kind) if k == "depot"]
    keep += sorted(stops)
    keep += list(problem.facilities)
    where = {full: part for part, full in enumerate(keep)}
    idx = np.asarray(keep)
    allowed = None
    if problem.allowed_vehicles is not None:
        allowed = {where[s]: v for s, v in problem.allowed_vehicles.items() if s in where}
    sub = RoutingProblem(
        node_ids=tuple(problem.node_ids[i] for i in keep),
        kind=tuple(problem.kind[i] for i in keep),
        distance_m=problem.distance_m[np.ix_(idx, idx)],
        time_s=problem.time_s[np.ix_(idx, idx)],
        demand_kg=problem.demand_kg[idx],
        demand_l=problem.demand_l[idx],
        service_s=problem.service_s[idx],
        time_window=problem.time_window[idx],
        stream=tuple(problem.stream[i] for i in keep),
        facility_streams={where[f]: s for f, s in problem.facility_streams.items()},
        vehicles=tuple(
            dataclasses.replace(v, start=where[v.start], end=where[v.end]) for v in vehicles
        ),
        drop_penalty=problem.drop_penalty or DROP_PENALTY,
        allowed_vehicles=allowed,
        max_unload_trips=problem.max_unload_trips,
        name=f"{problem.name}:{label}",
        labels=tuple(problem.label(i) for i in keep),
    )
    return Part(sub, tuple(keep), label)


@dataclass
class _Group:
    """Stops routed together and the trucks they get (before becoming a :class:`Part`)."""

    stops: list[int]
    trucks: list[Vehicle]
    label: str


def _area_label(problem: RoutingProblem, group: _Group) -> str:
    """How messages name an area, e.g. ``area 2 of 3 (msw, paper)``."""
    streams = sorted({str(problem.stream[s]) for s in group.stops if problem.stream[s]})
    return group.label + (f" ({', '.join(streams)})" if streams else "")


def split_problem(
    problem: RoutingProblem, coords: np.ndarray, *, max_stops: int = 250, seed: int = 0
) -> tuple[list[Part], list[Vehicle]]:
    """Cut a day into parts by truck compatibility and area; returns parts and spare trucks.

    Every part gets at least one truck: a class of stops gets no more areas than it
    has free trucks, and a class whose trucks were all taken by earlier classes joins
    the part that holds most of them.
    """
    classes: dict[frozenset[str], list[int]] = defaultdict(list)
    for s in problem.stops:
        key = frozenset(v.id for v in problem.vehicles if problem.vehicle_may_serve(v, s))
        classes[key].append(s)
    free = {v.id: v for v in problem.vehicles}
    groups: list[_Group] = []
    # Classes with the fewest eligible trucks choose first.
    for key, stops in sorted(classes.items(), key=lambda kv: (len(kv[0]), sorted(kv[0]))):
        if not key:
            continue  # no truck may serve them: the solver reports them with the reason
        trucks = [free[v] for v in sorted(key) if v in free]
        if not trucks:
            host = max(groups, key=lambda g: sum(v.id in key for v in g.trucks))
            host.stops += stops  # share the trucks of the part that has them
            continue
        areas = []
        homes = _home_depots(problem, stops, trucks)
        for home in filter(None, homes):  # no area straddles two depots' territories
            k = min(max(1, math.ceil(len(home) / max_stops)), len(trucks))
            labels = balanced_clusters(_metres(coords[np.asarray(home)]), k, seed=seed)
            areas += [
                [s for s, lab in zip(home, labels, strict=True) if lab == g] for g in range(k)
            ]
        areas = [a for a in areas if a]
        if len(areas) > len(trucks):  # more depots than trucks: one area per truck
            labels = balanced_clusters(_metres(coords[np.asarray(stops)]), len(trucks), seed=seed)
            areas = [
                [s for s, lab in zip(stops, labels, strict=True) if lab == g]
                for g in range(len(trucks))
            ]
            areas = [a for a in areas if a]
        ref = trucks[0]
        day_s = _day_s(problem, ref)
        need = [max(1, math.ceil(1.15 * _work_s(problem, a, ref) / day_s)) for a in areas]
        share = _allocate(need, len(trucks))
        for g, (area, chosen) in enumerate(
            zip(areas, _trucks_near(problem, areas, share, trucks), strict=True)
        ):
            for v in chosen:
                free.pop(v.id)
            number = f"area {g + 1} of {len(areas)}" if len(areas) > 1 else "area"
            groups.append(_Group(area, chosen, number))
    parts = [_subproblem(problem, g.stops, g.trucks, _area_label(problem, g)) for g in groups]
    return parts, list(free.values())


def _home_depots(
    problem: RoutingProblem, stops: Sequence[int], trucks: Sequence[Vehicle]
) -> list[list[int]]:
    """``stops`` grouped by their home depot among the trucks' depots: the one whose
    round trip to the stop is shortest. Areas are then cut inside each depot's
    territory, so a day's trucks per depot follow the work near that depot (what a
    chosen calendar evens out) and no area is served across another depot's ground."""
    depots = sorted({(v.start, v.end) for v in trucks})
    if len(depots) <= 1:
        return [list(stops)]
    idx = np.asarray(stops)
    trip = np.stack(
        [
            problem.time_s[start, idx].astype(np.float64) + problem.time_s[idx, end]
            for start, end in depots
        ]
    )
    home = np.argmin(trip, axis=0)
    return [[s for s, h in zip(stops, home, strict=True) if h == d] for d in range(len(depots))]


def _trucks_near(
    problem: RoutingProblem,
    areas: Sequence[Sequence[int]],
    share: Sequence[int],
    trucks: Sequence[Vehicle],
) -> list[list[Vehicle]]:
    """``share[a]`` trucks for each area ``a``, those whose depots are nearest to it: the
    total time from each truck's depot to the area's stops and back is least.

    Trucks taken in list order would send a depot's trucks to whichever areas came
    first, across the city from a nearer depot with trucks to spare.
    """
    slots = [a for a, count in enumerate(share) for _ in range(count)]
    chosen: list[list[Vehicle]] = [[] for _ in areas]
    if not slots:
        return chosen
    time = problem.time_s
    cost = np.empty((len(trucks), len(areas)), dtype=np.float64)
    for a, area in enumerate(areas):
        idx = np.asarray(area)
        for t, v in enumerate(trucks):
            there = time[v.start, idx].astype(np.float64)
            back = time[idx, v.end].astype(np.float64)
            cost[t, a] = float(np.mean(there) + np.mean(back))
    rows, cols = linear_sum_assignment(cost[:, slots])
    for t, s in sorted(zip(rows.tolist(), cols.tolist(), strict=True)):
        chosen[slots[s]].append(trucks[t])
    return chosen


def _allocate(need: Sequence[int], available: int) -> list[int]:
    """Trucks per part: what each needs, scaled down if short, spares to the busiest.

    Every part gets at least one truck (callers never make more parts than trucks).
    """
    total = sum(need)
    if total >= available:
        share = [max(1, math.floor(n * available / total)) for n in need]
        while sum(share) > available and max(share) > 1:
            share[int(np.argmax(share))] -= 1
    else:
        share = list(need)
    spare = available - sum(share)
    # Give about half the spare trucks back to the parts (room for the search), keep
    # the rest for the second pass over stops the parts could not serve.
    for _ in range(spare // 2):
        ratio = [n / s if s else math.inf for n, s in zip(need, share, strict=True)]
        share[int(np.argmax(ratio))] += 1
    return share


_PARTS: list[Part] = []


def _solve_part(index: int, limit: float, seed: int, engine: str | None) -> RoutePlan | str:
    """Solve one part (in a worker process); an infeasible part returns its reason."""
    try:
        return solve_routes(_PARTS[index].problem, time_limit_s=limit, seed=seed, engine=engine)
    except (InfeasibleError, InputError) as exc:
        return str(exc)


def _map_route(route: Route, nodes: Sequence[int]) -> Route:
    visits = tuple(
        Visit(
            nodes[v.node],
            v.kind,
            v.arrival_s,
            v.departure_s,
            v.load_after_kg,
            v.load_after_l,
            v.distance_m_so_far,
        )
        for v in route.visits
    )
    return Route(route.vehicle_id, visits, route.distance_m, route.duration_s, route.cost)


def _run_parts(
    parts: list[Part], seed: int, workers: int, until: float, hard: float, engine: str | None
) -> list[RoutePlan | str | None]:
    """Solve the parts, ``workers`` at a time, sharing the time until ``until``.

    Each part's limit is set when it starts: the time left over the rounds left.
    A part still running at ``hard`` is terminated and gives ``None``.
    """
    global _PARTS
    _PARTS = parts
    inline = workers <= 1 or len(parts) == 1
    rounds = 1 if inline else workers

    def args_for(i: int) -> tuple[int, float, int, str | None]:
        progress.report(f"routing part {i + 1} of {len(parts)}: {parts[i].label}…")
        left_rounds = math.ceil((len(parts) - i) / rounds)
        share = (until - time.perf_counter()) / max(left_rounds, 1) - START_S
        return (i, max(MIN_LIMIT_S, share), seed, engine)

    if inline:
        return list(run_inline(_solve_part, len(parts), args_for))
    return run_jobs(_solve_part, len(parts), args_for, workers=workers, deadline=hard)


def solve_split(
    problem: RoutingProblem,
    coords: np.ndarray,
    *,
    time_limit_s: float,
    seed: int = 0,
    workers: int = 2,
    max_stops: int = 250,
    engine: str | None = None,
) -> RoutePlan:
    """Route a large day part by part (in parallel) and merge the routes.

    ``coords`` holds lon/lat per node of ``problem``. Small days go straight to the
    solver, the engines racing on ``workers`` processes; the parts of a large day run
    ``workers`` at a time, each with the engine that suits it. ``engine`` (``ortools``
    or ``pyvrp``) forces one engine everywhere. The time limit bounds the wall time of the whole solve, the second pass
    over left-over stops included: parts still running at the limit are stopped and
    their stops reported unserved. Ctrl-C / :func:`request_stop` stops every part
    and raises ``KeyboardInterrupt``.
    """
    with stop_on_signals():
        if len(problem.stops) <= max_stops:
            return solve_routes(
                problem, time_limit_s=time_limit_s, seed=seed, workers=workers, engine=engine
            )
        return _solve_split(problem, coords, time_limit_s, seed, workers, max_stops, engine)


def _solve_split(
    problem: RoutingProblem,
    coords: np.ndarray,
    time_limit_s: float,
    seed: int,
    workers: int,
    max_stops: int,
    engine: str | None,
) -> RoutePlan:
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    parts, spare = split_problem(problem, coords, max_stops=max_stops, seed=seed)
    rounds = math.ceil(len(parts) / max(workers, 1))
    per_part = PARTS_SHARE * time_limit_s / max(rounds, 1)
    if per_part < MIN_PART_S:
        log.warning(
            "routing this day gets %.0f s for %d areas, %.0f s per area; plans improve up to "
            "about %d s per area, i.e. about %d s of routing per day (raise --time-limit, "
            "which covers the whole run, by the difference times the plan days)",
            time_limit_s,
            len(parts),
            per_part,
            MIN_PART_S,
            math.ceil(MIN_PART_S * rounds / PARTS_SHARE),
        )
    log.info("split %d stops into %d parts, %.1f s each", len(problem.stops), len(parts), per_part)
    parts_until = t0 + PARTS_SHARE * time_limit_s
    results = _run_parts(parts, seed, workers, parts_until, deadline - RESERVE_S, engine)
    routes: list[Route] = []
    unserved: dict[int, str] = {}
    engines: Counter[str] = Counter()  # the engine whose plan each area kept
    for part, result in zip(parts, results, strict=True):
        if isinstance(result, RoutePlan) and result.engine:
            engines[result.engine] += 1
        if result is None or isinstance(result, str):
            for s in part.problem.stops:
                unserved[part.nodes[s]] = _part_failed(part, result)
            spare += list(part.problem.vehicles)
            continue
        used = {r.vehicle_id for r in result.routes if r.stops}
        routes += [_map_route(r, part.nodes) for r in result.routes if r.stops]
        spare += [v for v in part.problem.vehicles if v.id not in used]
        for s, why in result.unserved:
            unserved[part.nodes[s]] = why
    covered = {v.node for r in routes for v in r.visits if v.kind == "stop"}
    for s in set(problem.stops) - set(unserved) - covered:  # no truck may carry its stream
        unserved[s] = R.reason(
            R.TRUCK, f"no truck of the fleet may collect stream {problem.stream[s]!r}"
        )
    retry = [s for s in unserved if any(problem.vehicle_may_serve(v, s) for v in spare)]
    retry_until = deadline - RESERVE_S - REPACK_SHARE * time_limit_s
    if retry and spare and retry_until - time.perf_counter() >= MIN_RETRY_S:
        extra = _subproblem(problem, retry, spare, "leftovers")
        (result,) = _run_parts([extra], seed, 1, retry_until, retry_until + RESERVE_S, engine)
        if isinstance(result, RoutePlan):
            routes += [_map_route(r, extra.nodes) for r in result.routes if r.stops]
            still = {extra.nodes[s] for s, _ in result.unserved}
            for s in retry:
                if s not in still:
                    unserved.pop(s, None)
    for s, why in unserved.items():  # name the whole fleet, not one area's trucks
        if R.category_of(why) == R.FLEET:
            unserved[s] = R.fleet_limit(problem, s)
    t_repack = time.perf_counter()
    routes, emptied = repack(problem, routes, deadline=deadline - RESERVE_S)
    log.info(
        "moving trips between areas left %d of %d trucks in the garage (%.1f s)",
        emptied,
        len(routes) + emptied,
        time.perf_counter() - t_repack,
    )
    objective = float(sum(r.cost for r in routes))
    return RoutePlan(
        "feasible",
        objective,
        tuple(routes),
        tuple(sorted(unserved.items())),
        round(time.perf_counter() - t0, 3),
        engine="+".join(sorted(engines)) or None,
        engine_note=f"{len(parts)} areas: "
        + ", ".join(f"{n} by {name}" for name, n in engines.most_common())
        + (
            f"; {emptied} trucks emptied by moving their trips to other areas' trucks"
            if emptied
            else ""
        ),
    )


def _part_failed(part: Part, result: str | None) -> str:
    """The reason for the stops of a part that produced no plan."""
    if result is None:
        return R.reason(
            R.TIME_LIMIT,
            f"its {part.label} was still being routed when the time limit ran out; "
            "raise --time-limit",
        )
    return R.reason(R.FLEET, f"its {part.label} could not be routed: {result}")
