"""Routing engines behind one contract: a problem in, a plan out, the verifier deciding.

Two engines: ``ortools`` (the search of :mod:`improve` on OR-Tools) and ``pyvrp``
(:mod:`pyvrp_engine`). Each says whether it can state a problem exactly
(:func:`declines`: the reason, or None); a problem no engine states exactly is never
approximated silently, and the plan names the engine that made it and why the other
did not (:attr:`RoutePlan.engine`, :attr:`RoutePlan.engine_note`).

* ``workers >= 2``: lanes race in separate processes and the cheapest plan that
  passes :func:`verify_routes` wins. The first lane is the one-process run below, so
  the race keeps what one process would have found; the others run PyVRP with other
  seeds where OR-Tools never won (problems PyVRP states exactly, without unload trips
  or rules left to the verifier), else the other engine alone (OR-Tools gets the
  spare workers).
* one process: the engine that measured better for the problem (:func:`preferred`):
  PyVRP where it states the problem exactly, else OR-Tools; the other one gets the
  time left (at least :data:`FALLBACK_MIN_S`) when the first crashes, finds nothing or
  fails verification. Where PyVRP keeps time in reserve (unload trips, rules left to
  the verifier) and its plan is good, OR-Tools spends the reserve improving that plan.

Where PyVRP states a rule more strictly than the problem (a day capacity as a cap on
trips) or leaves it to the verifier (a stop limit), the plan's note says so.

An engine that crashes or whose plan fails verification is logged with its name, and
the other engine's verified plan is used.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from optimizer.errors import InfeasibleError, InputError, VerificationError
from optimizer.routing import pyvrp_engine
from optimizer.routing.breaks import tightened, with_breaks
from optimizer.routing.checks import diagnose
from optimizer.routing.construct import Sequences
from optimizer.routing.cost import route_cost
from optimizer.routing.improve import improve
from optimizer.routing.interrupt import check_stop, run_isolated, run_jobs
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.result import RoutePlan
from optimizer.routing.verify import verify_routes

log = logging.getLogger(__name__)

ORTOOLS = "ortools"
PYVRP = pyvrp_engine.NAME
ENGINES = (ORTOOLS, PYVRP)
GRACE_S = 5.0  # an engine process still busy this long after the limit is terminated
FALLBACK_MIN_S = 1.0  # least time for the second engine when the first one failed
#: With one process, PyVRP's share of the time on problems with unload trips or rules
#: left to the verifier, the rest kept for OR-Tools should PyVRP find no plan the
#: verifier accepts (Astana's areas: 9 of 32 fell back, and had only a second left
#: before). When PyVRP's plan is good, OR-Tools spends the rest improving it.
PYVRP_SHARE_WITH_UNLOADS = 0.7
CRASHED = "crashed: "  # how an outcome's note starts when its engine raised
POLISH_MIN_S = 2.0
# the polish ends this long (at most 5 % of the limit) before the limit: a racing lane
# that overran its limit by the grace would be stopped, and PyVRP's plan with it
POLISH_END_S = 1.0  # least time left worth an OR-Tools run from PyVRP's plan
START_S = 0.2  # process start-up (fork) taken from each racer's limit


@dataclass(frozen=True)
class Job:
    """What every engine gets: the problem, its budget and the pre-solve's verdicts."""

    problem: RoutingProblem
    time_limit_s: float
    seed: int = 0
    workers: int = 1
    initial: Sequences | None = None
    balance: bool = False
    unserved: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """One engine's run: its plan (None when it has none to offer) and what happened."""

    engine: str
    plan: RoutePlan | None
    note: str
    error: Exception | None = None
    lane: str = ""  # which racing lane, when it is not the engine's only run

    @property
    def name(self) -> str:
        """The engine, with its lane where several runs of one engine raced."""
        return f"{self.engine} ({self.lane})" if self.lane else self.engine


# ------------------------------------------------------------------ engines
def _ortools_declines(problem: RoutingProblem, balance: bool) -> str | None:
    return None  # the OR-Tools model states every rule of a RoutingProblem


def _ortools_run(job: Job) -> RoutePlan | None:
    return improve(
        job.problem,
        job.time_limit_s,
        seed=job.seed,
        workers=job.workers,
        initial=job.initial,
        balance=job.balance,
        unserved=job.unserved,
    )


def _pyvrp_declines(problem: RoutingProblem, balance: bool) -> str | None:
    return pyvrp_engine.supports(problem, balance=balance)


def _pyvrp_solve(job: Job) -> RoutePlan | None:
    return pyvrp_engine.solve(job.problem, job.time_limit_s, seed=job.seed, unserved=job.unserved)


def _pyvrp_run(job: Job) -> RoutePlan | None:
    # a forked child: Ctrl-C ends it at once, even inside PyVRP's first descent (C++)
    return run_isolated(_pyvrp_solve, (job,), timeout_s=job.time_limit_s + GRACE_S)


_DECLINES: dict[str, Callable[[RoutingProblem, bool], str | None]] = {
    ORTOOLS: _ortools_declines,
    PYVRP: _pyvrp_declines,
}
_RUN: dict[str, Callable[[Job], RoutePlan | None]] = {ORTOOLS: _ortools_run, PYVRP: _pyvrp_run}


def declines(engine: str, problem: RoutingProblem, *, balance: bool = False) -> str | None:
    """Why ``engine`` cannot state ``problem`` exactly; None when it can."""
    return _DECLINES[engine](problem, balance)


def approximation(engine: str, problem: RoutingProblem) -> str | None:
    """What ``engine`` does not state itself but repairs afterwards (None: nothing)."""
    if engine == PYVRP and pyvrp_engine.has_breaks(problem):
        return "driver breaks inserted afterwards into routes planned with shorter shifts"
    return None


def terms(engine: str, problem: RoutingProblem) -> list[str]:
    """How ``engine`` states ``problem`` where it is not word for word: stricter rules
    (its plans stay feasible) and rules left to the verifier."""
    if engine != PYVRP:
        return []
    return pyvrp_engine.restrictions(problem) + pyvrp_engine.checked_afterwards(problem)


#: From this many stops PyVRP goes first even when breaks must be inserted afterwards.
#: Measured at 20 s, one process: two 159-stop Almaty areas with breaks, PyVRP 10 % and
#: 15 % cheaper than OR-Tools (4 trucks against 5 and 4); the 49-stop demo day a tie
#: (68,236 against 68,153 KZT), so small break problems stay with OR-Tools.
BREAKS_PYVRP_MIN_STOPS = 60


def preferred(
    problem: RoutingProblem, *, balance: bool = False, initial: Sequences | None = None
) -> list[str]:
    """The engines that state ``problem`` exactly, best first for one process.

    PyVRP first (3-10x closer to the best-knowns on CVRPLIB X, Solomon and
    Gehring-Homberger), also with breaks to insert afterwards once a problem has
    :data:`BREAKS_PYVRP_MIN_STOPS` stops; OR-Tools first for smaller problems with
    breaks, and when a warm start is given (OR-Tools' GLS starts from it).
    """
    able = [e for e in ENGINES if declines(e, problem, balance=balance) is None]
    exact = approximation(PYVRP, problem) is None
    pyvrp_first = (exact or len(problem.stops) >= BREAKS_PYVRP_MIN_STOPS) and not initial
    order = [PYVRP, ORTOOLS] if pyvrp_first else [ORTOOLS, PYVRP]
    return [e for e in order if e in able]


# ------------------------------------------------------------------ scoring
def plan_cost(problem: RoutingProblem, plan: RoutePlan, presolved: int = 0) -> float:
    """What the plan costs by the problem's own terms: every route's fixed, distance and
    time cost plus the drop penalty per stop the search left out (not the
    ``presolved`` ones no truck could serve)."""
    by_id = {v.id: v for v in problem.vehicles}
    routes = sum(route_cost(by_id[r.vehicle_id], r.distance_m, r.duration_s) for r in plan.routes)
    dropped = max(0, len(plan.unserved) - presolved)
    return routes + (problem.drop_penalty or 0) * dropped


def _checked(problem: RoutingProblem, outcome: Outcome) -> Outcome:
    """The outcome with its plan verified (a failing plan becomes a note)."""
    if outcome.plan is None:
        return outcome
    violations = verify_routes(problem, outcome.plan)
    if not violations:
        return outcome
    note = f"plan failed {len(violations)} independent check(s): " + "; ".join(violations[:3])
    log.info("routing engine %s: %s", outcome.engine, note)  # the plan's engine note says it
    return Outcome(outcome.engine, None, note)


def _attempt(engine: str, job: Job) -> Outcome:
    """Run one engine in this process (its own child processes aside)."""
    try:
        plan = _RUN[engine](job)
    except Exception as exc:  # reported with the engine's name; the other one may do
        log.warning("routing engine %s crashed: %s", engine, exc)
        return Outcome(engine, None, f"{CRASHED}{exc!r}", exc)
    check_stop()  # a stopped search returns its best so far: not a plan to keep
    return Outcome(engine, plan, "" if plan is not None else "found no feasible plan")


@dataclass(frozen=True)
class Lane:
    """One process of the race: engines tried in turn, with a seed of its own."""

    order: tuple[str, ...]
    seed_offset: int = 0
    workers: int = 1
    alone: bool = False  # one engine on its own, beside a lane that ran it after another

    @property
    def label(self) -> str:
        if self.seed_offset:
            return f"seed +{self.seed_offset}"
        return "alone" if self.alone else ""


def plain_for_pyvrp(problem: RoutingProblem, order: Sequence[str]) -> bool:
    """Whether PyVRP goes first and states the problem word for word, with no unload
    trips: OR-Tools never won such a problem (CVRPLIB X, Solomon, Gehring-Homberger:
    PyVRP won every race), so a second core does better on a second PyVRP seed."""
    return (
        bool(order)
        and order[0] == PYVRP
        and not problem.facilities
        and approximation(PYVRP, problem) is None
        and not pyvrp_engine.checked_afterwards(problem)
    )


def lanes(problem: RoutingProblem, order: Sequence[str], workers: int) -> list[Lane]:
    """The race's lanes: the one-process run first, then other seeds or the other engine."""
    if plain_for_pyvrp(problem, order):
        return [Lane(tuple(order))] + [Lane((PYVRP,), seed_offset=k) for k in range(1, workers)]
    others = list(order[1:])
    spare = max(1, workers - len(others))  # OR-Tools can use more than one process
    first = Lane(tuple(order), workers=spare if order[0] == ORTOOLS else 1)
    return [first] + [Lane((e,), workers=spare if e == ORTOOLS else 1, alone=True) for e in others]


def _lane_run(lane: Lane, job: Job) -> list[Outcome]:
    """One lane, in a worker process: never raises (a crash is a note)."""
    t0 = time.perf_counter()
    run = dataclasses.replace(job, seed=job.seed + lane.seed_offset, workers=lane.workers)
    try:
        outcomes = _in_turn(job.problem, lane.order, run, t0)
    except Exception as exc:
        log.info("routing lane %s crashed: %s", lane, traceback.format_exc())
        return [Outcome(lane.order[0], None, f"{CRASHED}{exc!r}", lane=lane.label)]
    # exceptions stay in the worker (they may not pickle); their notes say what happened
    return [dataclasses.replace(o, error=None, lane=lane.label) for o in outcomes]


def _race(order: Sequence[str], job: Job) -> list[Outcome]:
    """Every lane in its own process at once (see :func:`lanes`)."""
    t0 = time.perf_counter()
    limit = max(0.5, job.time_limit_s - START_S)
    racing = lanes(job.problem, order, job.workers)
    results = run_jobs(
        _lane_run,
        len(racing),
        lambda i: (racing[i], dataclasses.replace(job, time_limit_s=limit)),
        workers=len(racing),
        deadline=t0 + job.time_limit_s + GRACE_S,
        keep_going=True,  # a lane whose process died leaves the others their plans
    )
    out: list[Outcome] = []
    for lane, result in zip(racing, results, strict=True):
        if isinstance(result, BaseException):
            note = f"{CRASHED}{result!r}"
            out.append(Outcome(lane.order[0], None, note, lane=lane.label))
            continue
        if result is None:
            note = "still running at the time limit; stopped"
            out.append(Outcome(lane.order[0], None, note, lane=lane.label))
            continue
        for o in result:
            if o.plan is None:
                log.info("routing engine %s: %s", o.name, o.note)
        out.extend(result)
    return out


# ------------------------------------------------------------------- choice
def solve_with_engines(
    problem: RoutingProblem,
    time_limit_s: float,
    *,
    seed: int = 0,
    workers: int = 1,
    initial: Sequences | None = None,
    balance: bool = False,
    unserved: Sequence[tuple[int, str]] = (),
    engine: str | None = None,
) -> RoutePlan:
    """The best verified plan of the engines (see the module); ``engine`` forces one.

    Raises :class:`InfeasibleError` when no engine found a plan,
    :class:`VerificationError` when every plan found failed verification, an engine's
    own exception when it crashed and no other engine had a plan, and
    :class:`InputError` when a forced engine declines the problem.
    """
    t0 = time.perf_counter()
    job = Job(problem, time_limit_s, seed, workers, initial, balance, tuple(unserved))
    reasons = {e: declines(e, problem, balance=balance) for e in ENGINES}
    if engine is not None:
        if engine not in ENGINES:
            raise InputError.one(
                "routing", "engine", f"unknown engine {engine!r}", f"use {ENGINES}"
            )
        if reasons[engine] is not None:
            raise InputError.one(
                "routing",
                "engine",
                f"{engine} cannot state this problem: {reasons[engine]}",
                "leave the engine to the default choice",
            )
        order = [engine]
    else:
        order = preferred(problem, balance=balance, initial=initial)
    notes = [f"{e} declined: {reasons[e]}" for e in ENGINES if reasons[e] is not None]
    if workers >= 2 and len(order) >= 2:
        outcomes = _race(order, job)  # each lane verified its own plans
    else:
        outcomes = _in_turn(problem, order, job, t0)
    return _pick(problem, outcomes, notes, len(unserved))


def _in_turn(problem: RoutingProblem, order: Sequence[str], job: Job, t0: float) -> list[Outcome]:
    """One process: the engines in ``order`` until one has a verified plan; OR-Tools
    then spends the time left improving PyVRP's plan (GLS from it)."""
    outcomes: list[Outcome] = []
    for k, name in enumerate(order):
        left = job.time_limit_s - (time.perf_counter() - t0)
        guarded = bool(problem.facilities or pyvrp_engine.checked_afterwards(problem))
        share = PYVRP_SHARE_WITH_UNLOADS if name == PYVRP and len(order) > 1 and guarded else 1.0
        budget = max(FALLBACK_MIN_S, left) if k else job.time_limit_s * share
        outcome = _checked(problem, _attempt(name, dataclasses.replace(job, time_limit_s=budget)))
        outcomes.append(outcome)
        if outcome.plan is not None:
            break
        log.info("routing engine %s: %s; trying the next engine", name, outcome.note)
    last = outcomes[-1]
    left = job.time_limit_s - (time.perf_counter() - t0)
    left -= min(POLISH_END_S, 0.05 * job.time_limit_s)
    if last.engine == PYVRP and last.plan is not None and ORTOOLS in order and left >= POLISH_MIN_S:
        polished = _polish(problem, last.plan, job, left)
        if polished.plan is not None:
            note = "started from pyvrp's plan" + (
                ", driver breaks inserted afterwards" if approximation(PYVRP, problem) else ""
            )
            outcomes.append(dataclasses.replace(polished, note=note))
    return outcomes


def _polish(problem: RoutingProblem, plan: RoutePlan, job: Job, left: float) -> Outcome:
    """OR-Tools' guided local search from PyVRP's plan for the time left. Where PyVRP
    inserted the breaks afterwards, OR-Tools works on the same problem PyVRP solved
    (breaks taken out of the shifts) and the breaks go in the same way: OR-Tools' own
    break intervals often refuse such a start (Kim 1932 and 2100)."""
    target = tightened(problem) if approximation(PYVRP, problem) else problem
    start = dataclasses.replace(job, problem=target, time_limit_s=left, initial=plan.sequences())
    outcome = _attempt(ORTOOLS, start)
    if outcome.plan is not None and target is not problem:
        outcome = dataclasses.replace(outcome, plan=with_breaks(problem, outcome.plan))
    return _checked(problem, outcome)


def _pick(
    problem: RoutingProblem, outcomes: Sequence[Outcome], notes: list[str], presolved: int
) -> RoutePlan:
    """The cheapest verified plan, its engine and notes on the others; or the error."""
    good = [o for o in outcomes if o.plan is not None]
    if not good:
        failed = "; ".join(f"{o.name}: {o.note}" for o in outcomes)
        if any("independent check" in o.note for o in outcomes):
            raise VerificationError(f"no routing engine produced a valid plan ({failed})")
        errors = [o.error for o in outcomes if o.error is not None]
        if errors and len(errors) == len(outcomes):
            raise errors[0]
        if outcomes and all(o.note.startswith(CRASHED) for o in outcomes):
            # racing lanes keep their exceptions (they may not pickle): a fault of ours,
            # not an infeasible problem
            raise RuntimeError(f"every routing engine crashed ({failed})")
        raise InfeasibleError(diagnose(problem) + f" (engines: {failed})")
    cost = {id(o): plan_cost(problem, o.plan, presolved) for o in good if o.plan is not None}
    best = min(good, key=lambda o: cost[id(o)])
    assert best.plan is not None
    for o in outcomes:
        if o is best:
            continue
        if o.plan is not None:
            notes.append(f"{o.name} lost: {cost[id(o)]:.1f} against {cost[id(best)]:.1f}")
        else:
            notes.append(f"{o.name} {o.note}")
    repaired = approximation(best.engine, problem)
    stated = [f"{best.engine}: {t}" for t in terms(best.engine, problem)]
    own = [f"{best.name}: {best.note}"] if best.note else ([best.name] if best.lane else [])
    notes[:0] = own + ([f"{best.engine}: {repaired}"] if repaired else []) + stated
    log.info("routing engine %s chosen%s", best.engine, f" ({'; '.join(notes)})" if notes else "")
    return dataclasses.replace(best.plan, engine=best.engine, engine_note="; ".join(notes))
