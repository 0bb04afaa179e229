"""Search strategy around OR-Tools.

0. Plain problems (no unload trips, breaks or optional stops, no warm start): one
   run of OR-Tools' iterated local search (SISR ruin and recreate with simulated
   annealing) for the whole time. Everything else:
1. One guided local search (GLS) on the whole problem for part of the time.
2. Route-based decomposition (POPMUSIC style): pick a route, gather the routes
   closest to it into a sub-problem of about ``SUB_STOPS`` stops, warm-start GLS on
   it from the current routes for a second or two, keep the result when cheaper.
   Routes are independent given their vehicle, so any sub-problem is valid.
3. ``workers > 1``: the same in separate processes (OR-Tools routing has no
   threads) with different seeds and first-solution strategies (ILS: different
   ruin sizes and temperatures); the best wins.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Sequence

import numpy as np

from optimizer.routing.breaks import tightened, with_breaks
from optimizer.routing.cost import route_cost
from optimizer.routing.interrupt import run_isolated, run_jobs
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.result import Route, RoutePlan
from optimizer.routing.search import FSS, SearchConfig, Sequences, solve_once

log = logging.getLogger(__name__)

SUB_STOPS = 120  # stops per sub-problem
SUB_TIME_S = 3.0  # GLS time per sub-problem
FIRST_PHASE = 0.35  # share of the time for the whole-problem GLS
RACE_BELOW = 60  # stops; race first solutions only up to this size
RACE_SHARE = 0.2  # share of the time for the race of first solutions
BREAK_MARGIN_S = 1800  # extra room for waiting for the break window (fallback)
GRACE_S = 5.0  # a worker still busy this long after the time limit is terminated
MIN_DECOMPOSE = 150  # below this many stops, whole-problem GLS only (measured)
#: OR-Tools' iterated local search: SISR ruin (Christiaens & Vanden Berghe 2020) of about
#: 40 stops, cheapest-insertion recreate, simulated-annealing acceptance, and no local
#: search after each recreate (more iterations: X-n351 2.7 % against 5.4 % with it).
#: The first solution by local cheapest insertion: path-cheapest-arc (the plain-CVRP
#: default) found none on X-n176-k26, whose fleet is 26 routes' worth of 28 trucks.
ILS = SearchConfig(
    first_solution=FSS.LOCAL_CHEAPEST_INSERTION,
    iterated=True,
    ruin_visits=40,
    improve_perturbed=False,
)
#: Other processes (workers > 1) anneal differently, which sends the search down other
#: paths: linear cooling matched the geometric one on 20 X instances (2.20 % vs 2.24 %)
#: but on other instances, so the better of the two averaged 1.91 %.
ILS_LINEAR = dataclasses.replace(ILS, linear_cooling=True)
ILS_HOT = dataclasses.replace(ILS, temperature=0.3)
USE_ILS = True  # plain problems: no unload trips, breaks or optional stops


def plain(problem: RoutingProblem) -> bool:
    """No unload trips, driver breaks or optional stops, and more than ``RACE_BELOW``
    stops: the ILS's home ground (on A-n32 it stalled 1.5 % above the optimum that the
    race of first solutions finds)."""
    return (
        len(problem.stops) > RACE_BELOW
        and not problem.facilities
        and problem.drop_penalty is None
        and not any(v.break_window for v in problem.vehicles)
    )


def _unload_visits(route: Route) -> int:
    return sum(1 for v in route.visits if v.kind == "unload")


def _score(problem: RoutingProblem, routes: Sequence[Route]) -> float:
    by_id = {v.id: v for v in problem.vehicles}
    return sum(
        route_cost(by_id[r.vehicle_id], r.distance_m, r.duration_s) + 0.001 * _unload_visits(r)
        for r in routes
    )


def _pick_routes(problem: RoutingProblem, routes: list[Route], rng: random.Random) -> list[int]:
    """A seed route and its nearest routes, up to about SUB_STOPS stops."""
    stops = [np.array(r.stops, dtype=np.int64) for r in routes]
    seed = rng.randrange(len(routes))
    d = problem.distance_m
    closeness = []
    for k, s in enumerate(stops):
        if k == seed or not len(s) or not len(stops[seed]):
            continue
        block = d[np.ix_(stops[seed], s)]
        closeness.append((float(block.mean()) * (0.8 + 0.4 * rng.random()), k))
    closeness.sort()
    chosen, total = [seed], len(stops[seed])
    for _, k in closeness:
        if total >= SUB_STOPS:
            break
        chosen.append(k)
        total += len(stops[k])
    return chosen


def decompose(
    problem: RoutingProblem,
    plan: RoutePlan,
    deadline: float,
    *,
    seed: int = 0,
    balance: bool = False,
    unserved: Sequence[tuple[int, str]] = (),
    config: SearchConfig | None = None,
) -> RoutePlan:
    """Improve ``plan`` by re-solving groups of nearby routes until ``deadline``."""
    rng = random.Random(seed)
    routes = list(plan.routes)
    by_id = {v.id: v for v in problem.vehicles}
    tries = wins = 0
    while time.perf_counter() + 0.3 < deadline and len(routes) > 1:
        chosen = _pick_routes(problem, routes, rng)
        old = [routes[k] for k in chosen]
        used = {r.vehicle_id for r in routes}
        idle = [v for v in problem.vehicles if v.id not in used][:1]
        sub_vehicles = tuple(by_id[r.vehicle_id] for r in old) + tuple(idle)
        sub_stops = [s for r in old for s in r.stops]
        sub = problem.replace(vehicles=sub_vehicles)
        budget = min(SUB_TIME_S, deadline - time.perf_counter())
        initial = {
            r.vehicle_id: [v.node for v in r.visits if v.kind in ("stop", "unload")] for r in old
        }
        tries += 1
        new = solve_once(
            sub, budget, config=config, initial=initial, balance=balance, stops=sub_stops
        )
        if new is None or new.unserved:
            continue
        if _score(problem, new.routes) < _score(problem, old) - 1e-9:
            keep = [r for k, r in enumerate(routes) if k not in set(chosen)]
            routes = keep + list(new.routes)
            wins += 1
    log.debug("decomposition: %d sub-problems, %d improved", tries, wins)
    objective = _score(problem, routes)
    return RoutePlan(plan.status, objective, tuple(routes), plan.unserved, plan.runtime_s)


def _portfolio(problem: RoutingProblem, config: SearchConfig) -> list[SearchConfig]:
    """First-solution strategies to race (only plain problems: no unload trips)."""
    if problem.facilities:
        return [config]
    others = [FSS.SAVINGS]
    return [config] + [
        dataclasses.replace(config, first_solution=f) for f in others if f != config.first_solution
    ]


def _solve_ils(
    problem: RoutingProblem,
    time_limit_s: float,
    config: SearchConfig,
    balance: bool,
    unserved: Sequence[tuple[int, str]],
) -> RoutePlan | None:
    """One iterated-local-search run (picklable entry point for a worker process)."""
    return solve_once(problem, time_limit_s, config=config, balance=balance, unserved=unserved)


def _single(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int,
    config: SearchConfig,
    initial: Sequences | None,
    balance: bool,
    unserved: Sequence[tuple[int, str]],
    decomposition: bool = True,
) -> RoutePlan | None:
    """One process: a race of first solutions with short GLS runs, then either
    decomposition (large problems) or a GLS restarted from the best plan."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    if config.iterated and not initial:
        # One ILS run for the whole time: it cannot be warm-started, and cutting it
        # into a race or a decomposition gave back what it gains (measured on X).
        # OR-Tools' ILS ignores CancelSearch: run it where Ctrl-C can end it
        found = run_isolated(
            _solve_ils,
            (problem, time_limit_s, config, balance, unserved),
            timeout_s=time_limit_s + GRACE_S,
        )
        if found is not None or deadline - time.perf_counter() < 0.5:
            return found
        # no first solution: the GLS path with its race of strategies gets the rest
        config = SearchConfig(first_solution=FSS.SAVINGS)
        time_limit_s = deadline - time.perf_counter()
    n_stops = len(problem.stops) - len(unserved)
    split = decomposition and n_stops >= MIN_DECOMPOSE and problem.drop_penalty is None
    # Racing first solutions only pays on tiny problems: on larger ones GLS needs its
    # penalties to build up over one long run (restarts lost 2 % on X-n101).
    race_them = not initial and (split or n_stops <= RACE_BELOW)
    configs = _portfolio(problem, config) if race_them else [config]
    if len(configs) == 1 and not split:
        return solve_once(
            problem,
            time_limit_s,
            config=config,
            initial=initial,
            balance=balance,
            unserved=unserved,
        )
    race = time_limit_s * (FIRST_PHASE if split else RACE_SHARE) / len(configs)
    if len(configs) == 1 and split:
        race = time_limit_s * FIRST_PHASE
    best: RoutePlan | None = None
    for k, cfg in enumerate(configs):
        plan = solve_once(
            problem,
            race,
            config=cfg,
            initial=initial if k == 0 else None,
            balance=balance,
            unserved=unserved,
        )
        if plan is not None and (best is None or _better(problem, plan, best)):
            best = plan
    if best is None:
        # every short run failed: give OR-Tools the rest of the time
        left = deadline - time.perf_counter()
        return solve_once(
            problem, max(left, 0.5), config=config, balance=balance, unserved=unserved
        )
    if split:
        return decompose(problem, best, deadline, seed=seed, balance=balance, unserved=unserved)
    left = deadline - time.perf_counter()
    if left > 0.5:
        again = solve_once(
            problem,
            left,
            config=config,
            initial=best.sequences(),
            balance=balance,
            unserved=unserved,
        )
        if again is not None and _better(problem, again, best):
            best = again
    return best


def _better(problem: RoutingProblem, a: RoutePlan, b: RoutePlan) -> bool:
    return (len(a.unserved), _score(problem, a.routes)) < (
        len(b.unserved),
        _score(problem, b.routes),
    )


def improve(
    problem: RoutingProblem,
    time_limit_s: float,
    *,
    seed: int = 0,
    workers: int = 1,
    initial: Sequences | None = None,
    balance: bool = False,
    unserved: Sequence[tuple[int, str]] = (),
    decomposition: bool = True,
) -> RoutePlan | None:
    """Best plan found within ``time_limit_s`` (None when nothing feasible)."""
    t0 = time.perf_counter()
    # ILS takes no warm start: a given initial plan is improved by GLS instead.
    base = ILS if USE_ILS and plain(problem) and not initial else SearchConfig()
    if workers <= 1:
        plan = _single(problem, time_limit_s, seed, base, initial, balance, unserved, decomposition)
    else:
        configs = (
            [ILS, ILS_LINEAR, ILS_HOT, dataclasses.replace(ILS, ruin_visits=20)]
            if base.iterated
            else [
                SearchConfig(),
                SearchConfig(first_solution=FSS.PARALLEL_CHEAPEST_INSERTION),
                SearchConfig(first_solution=FSS.PATH_CHEAPEST_ARC),
            ]
        )
        limit = max(0.5, time_limit_s - 1.0)  # process start-up
        args = (problem, limit, seed, base, initial, balance, unserved, decomposition)
        plans = run_jobs(
            _single,
            workers,
            lambda w: (*args[:2], seed + w, configs[w % len(configs)], *args[4:]),
            workers=workers,
            deadline=t0 + time_limit_s + GRACE_S,
            context="spawn",
        )
        found = [p for p in plans if p is not None]
        if not found:
            return None
        plan = found[0]
        for other in found[1:]:
            if _better(problem, other, plan):
                plan = other
    if plan is None and tightened(problem) is not problem:
        # OR-Tools could not schedule the break intervals: solve with room left for
        # the breaks and insert them afterwards (see breaks.py)
        left = time_limit_s - (time.perf_counter() - t0)
        log.warning("break scheduling failed; solving with breaks inserted afterwards")
        relaxed = improve(
            tightened(problem, BREAK_MARGIN_S),
            max(left, 1.0),
            seed=seed,
            workers=workers,
            initial=initial,  # e.g. PyVRP's plan, which never needed break intervals
            balance=balance,
            unserved=unserved,
            decomposition=decomposition,
        )
        plan = with_breaks(problem, relaxed) if relaxed is not None else None
    if plan is None:
        return None
    return RoutePlan(
        plan.status, plan.objective, plan.routes, plan.unserved, time.perf_counter() - t0
    )
