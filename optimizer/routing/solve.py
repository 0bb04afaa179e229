"""Solve a routing problem: pre-solve checks, search, independent verification.

The pieces: :mod:`checks` (stops no truck can serve, the fleet's totals), then the
engines (:mod:`engines`: OR-Tools through :mod:`improve`, PyVRP through
:mod:`pyvrp_engine`; raced or chosen), every plan checked by :mod:`verify`.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from optimizer.errors import VerificationError
from optimizer.routing.checks import presolve
from optimizer.routing.engines import solve_with_engines
from optimizer.routing.interrupt import check_stop, stop_on_signals
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.result import RoutePlan
from optimizer.routing.verify import verify_routes

log = logging.getLogger(__name__)


def solve_routes(
    problem: RoutingProblem,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int = 1,
    initial: RoutePlan | None = None,
    balance: bool = False,
    engine: str | None = None,
) -> RoutePlan:
    """Route the fleet: checks, search (see :mod:`engines`), verification.

    ``workers >= 2`` races the one-process run against other seeds or the other
    engine in separate processes, the cheapest verified plan winning; one process runs
    the engine that suits the problem best.
    ``engine`` (``ortools`` or ``pyvrp``) forces one engine. The plan names its
    engine (:attr:`RoutePlan.engine`) and why the other was not used.

    Raises :class:`InputError` / :class:`InfeasibleError` for impossible inputs,
    :class:`VerificationError` when the plan fails the independent checker and
    ``KeyboardInterrupt`` (:class:`Interrupted`) when stopped by Ctrl-C, SIGTERM or
    :func:`request_stop`.
    """
    with stop_on_signals():
        return _solve_routes(problem, time_limit_s, seed, workers, initial, balance, engine)


def _solve_routes(
    problem: RoutingProblem,
    time_limit_s: float,
    seed: int,
    workers: int,
    initial: RoutePlan | None,
    balance: bool,
    engine: str | None,
) -> RoutePlan:
    t0 = time.perf_counter()
    check_stop()
    unserved = presolve(problem)
    if len(unserved) == len(problem.stops):
        plan = RoutePlan("feasible", 0.0, (), tuple(unserved), 0.0)
    else:
        left = max(0.5, time_limit_s - (time.perf_counter() - t0))
        plan = solve_with_engines(
            problem,
            left,
            seed=seed,
            workers=workers,
            initial=initial.sequences() if initial else None,
            balance=balance,
            unserved=unserved,
            engine=engine,
        )
    plan = dataclasses.replace(plan, runtime_s=round(time.perf_counter() - t0, 3))
    violations = verify_routes(problem, plan)
    if violations:
        raise VerificationError(
            f"the routing plan failed {len(violations)} independent check(s): "
            + "; ".join(violations[:5])
        )
    log.info(
        "routes (%s): %d vehicles, %.1f km, %d unserved, %.1f s",
        plan.engine or "no engine",
        plan.vehicles_used,
        plan.distance_m / 1000,
        len(plan.unserved),
        plan.runtime_s,
    )
    return plan
