"""Running a sweep's cases on dask.distributed: a local cluster or a scheduler's.

The road network, demand and travel matrix (:class:`Prepared`) are computed once
per distinct set of inputs by a task of their own; every case that shares them
receives that task's result (moved to each worker once), not a recomputation. A
case that fails is recorded with its error; a worker that dies mid-case has the
case retried once (``allowed-failures = 1``) before it is recorded as failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputError
from optimizer.sweep.spec import Case, Stage

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from optimizer.scenario import Scenario
    from optimizer.stages.prepare import Prepared

log = logging.getLogger("optimizer")

CONNECT_TIMEOUT_S = 5.0  # a scheduler that does not answer within this is an input error
MEMORY_SHARE = 0.8  # of this machine's memory, split over the local workers

#: What a case task returns: status "ok" with the plan, or "failed" with the error.
Outcome = dict[str, Any]
Progress = Callable[[int, int, int, float | None], None]  # done, failed, total, seconds left

# Scenario parts the network, demand and matrix do not read: cases differing only
# in these share one :class:`Prepared`.
_NOT_PREPARED = ("scenario", "economics", "siting")
_FACILITY_PLACE = ("id", "lon", "lat", "access")
_FLEET_NOT_PREPARED = ("count", "cost_per_km_kzt", "cost_per_hour_kzt", "cost_per_day_kzt")


def prepared_key(scenario: Scenario) -> str:
    """A digest of everything :func:`optimizer.stages.prepare.prepare` reads."""
    data = scenario.model_dump(mode="json")
    for key in _NOT_PREPARED:
        data.pop(key, None)
    solver = data.pop("solver", {})
    data["solver"] = {k: solver.get(k) for k in ("plan_season", "allow_unserved")}
    data["facilities"] = [{k: f.get(k) for k in _FACILITY_PLACE} for f in data["facilities"]]
    data["fleet"] = [
        {k: v for k, v in vt.items() if k not in _FLEET_NOT_PREPARED} for vt in data["fleet"]
    ]
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------
# What runs on the workers


def prepare_task(scenario: Scenario) -> Prepared:
    """Network, demand and matrix for every case with this scenario's prepared key."""
    from optimizer.stages.prepare import prepare

    return prepare(scenario)


def case_task(
    name: str,
    scenario: Scenario,
    prepared: Prepared,
    stage: Stage,
    time_limit_s: float | None,
    seed: int,
) -> Outcome:
    """Solve one case on the shared inputs; an error is returned, not raised."""
    from optimizer.plan import build_plan

    started = time.perf_counter()
    try:
        plan = build_plan(
            scenario,
            stage=stage,
            time_limit_s=time_limit_s,
            seed=seed,
            prepared=replace(prepared, scenario=scenario),
        )
    except Exception as exc:  # recorded in the case's row; the sweep goes on
        log.debug("case %s failed:\n%s", name, traceback.format_exc())
        return {"status": "failed", "error": _error_text(exc), "wall_s": _since(started)}
    return {"status": "ok", "plan": plan, "error": "", "wall_s": _since(started)}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _error_text(exc: BaseException) -> str:
    """One line saying what went wrong (the class name for anything not ours)."""
    from optimizer.errors import OptimizerError

    text = " ".join(str(exc).split())
    return text if isinstance(exc, OptimizerError) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------------------
# The cluster


def local_workers(requested: int | None) -> int:
    """Local worker processes: as asked, else one per core."""
    return requested if requested else max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a new local cluster.

    The local cluster has one single-threaded worker process per core (or
    ``workers``), each limited to its share of this machine's memory.
    """
    import dask
    from distributed import Client, LocalCluster

    settings = {
        # a worker dying mid-case: the case is retried once, then reported failed
        "distributed.scheduler.allowed-failures": 1,
        # the solvers may start processes of their own
        "distributed.worker.daemon": False,
        "distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S:g}s",
    }
    if not log.isEnabledFor(logging.DEBUG):  # the cluster's own start and stop notes
        logging.getLogger("distributed").setLevel(logging.WARNING)
    with dask.config.set(settings):
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError.one(
                    "--scheduler",
                    scheduler,
                    f"no Dask scheduler answered within {CONNECT_TIMEOUT_S:g} s ({exc})",
                    "start one with 'dask scheduler' on that machine and check the address "
                    "(tcp://HOST:8786), or leave out --scheduler to use this machine",
                ) from exc
            with client:
                yield client
            return
        import psutil

        n = local_workers(workers)
        memory = int(psutil.virtual_memory().total * MEMORY_SHARE / n)
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory,
                dashboard_address=None,
                scheduler_kwargs={"dashboard": False},
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client


# ---------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Finished:
    """A case and what became of it."""

    case: Case
    outcome: Outcome


def run_cases(
    client: Client,
    cases: list[Case],
    *,
    stage: Stage,
    time_limit_s: float | None,
    on_done: Callable[[Finished], None],
    on_progress: Progress | None = None,
) -> None:
    """Submit the cases (their shared inputs first) and hand each result on as it ends."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # task keys unique on a scheduler shared by several sweeps
    prepared: dict[str, Any] = {}
    futures: dict[Any, Case] = {}
    for case in cases:
        key = prepared_key(case.scenario)
        if key not in prepared:
            prepared[key] = client.submit(
                prepare_task, case.scenario, key=f"sweep-prepare-{key}-{token}"
            )
        future = client.submit(
            case_task,
            case.name,
            case.scenario,
            prepared[key],
            stage,
            time_limit_s,
            case.seed,
            key=f"sweep-case-{case.name}-{token}",
        )
        futures[future] = case
    started = time.perf_counter()
    failed = 0
    total = len(cases)
    if on_progress is not None:
        on_progress(0, 0, total, None)
    for done, future in enumerate(as_completed(list(futures)), 1):
        case = futures.pop(future)
        outcome = _outcome(future)
        failed += outcome["status"] != "ok"
        on_done(Finished(case, outcome))
        future.release()
        if on_progress is not None:
            elapsed = time.perf_counter() - started
            on_progress(done, failed, total, elapsed / done * (total - done))


def _outcome(future: Any) -> Outcome:
    """A finished future's outcome; a task that raised (a dead worker) is a failed case."""
    from distributed import KilledWorker

    try:
        result: Outcome = future.result()
        return result
    except KilledWorker as exc:
        return {
            "status": "failed",
            "error": f"the worker running it died twice (retried once): {exc}",
            "wall_s": None,
        }
    except Exception as exc:  # the shared inputs failed, or the task could not run
        return {"status": "failed", "error": _error_text(exc), "wall_s": None}
