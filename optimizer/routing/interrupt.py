"""Stopping a solve early: Ctrl-C, SIGTERM or a request from another thread.

OR-Tools searches in C++ and holds the interpreter lock, so Python signal handlers
only run when the search calls back into Python. Every search here registers an
at-solution callback that lets pending handlers run and cancels the search once
:func:`request_stop` has been called; solves running in worker processes are
terminated by the parent (:func:`run_jobs`). An interrupted solve raises
:class:`Interrupted` (a ``KeyboardInterrupt``), never returns half a plan.

API for callers (the CLI): :func:`request_stop` from a signal handler or thread,
:func:`clear_stop` before starting again, and :func:`stop_on_signals` around a
solve (the solvers use it themselves; it turns SIGINT/SIGTERM into a stop request
and re-delivers the signal to the previous handler once the solve has ended).
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_STOP = threading.Event()
_ACTIVE = threading.local()
POLL_S = 0.1  # how often the parent looks at its worker processes
KILL_AFTER_S = 2.0  # grace between SIGTERM and SIGKILL for a worker


class Interrupted(KeyboardInterrupt):
    """The solve was stopped on request (Ctrl-C, SIGTERM or :func:`request_stop`)."""


def request_stop() -> None:
    """Ask every running and later solve to stop (safe from signal handlers and threads)."""
    _STOP.set()


def clear_stop() -> None:
    """Forget an earlier stop request, so that new solves run again."""
    _STOP.clear()


def stop_requested() -> bool:
    """Whether a stop has been requested."""
    return _STOP.is_set()


def check_stop() -> None:
    """Raise :class:`Interrupted` when a stop has been requested."""
    if _STOP.is_set():
        raise Interrupted("the solve was stopped on request")


def _handled_signals() -> tuple[signal.Signals, ...]:
    return (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM request a stop instead of acting at once.

    On leaving the block after such a signal, the stop request is cleared and the
    signal is delivered again to the handler that was installed before (the default
    SIGINT handler raises ``KeyboardInterrupt``). Only the main thread's outermost
    block installs handlers; nested blocks and other threads pass through.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(_ACTIVE, "on", False):
        yield
        return
    caught: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        _STOP.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in _handled_signals():
        old = signal.getsignal(sig)
        if old in (signal.SIG_IGN, None):
            continue  # respect a signal the program chose to ignore
        previous[sig] = signal.signal(sig, handler)
    _ACTIVE.on = True
    try:
        yield
    finally:
        _ACTIVE.on = False
        for sig, old in previous.items():
            signal.signal(sig, old)
        if caught:
            _STOP.clear()
            signal.raise_signal(caught[0])


def search_callback(routing: Any) -> Callable[[], None]:
    """An at-solution callback that cancels ``routing``'s search after a stop request.

    Being Python, it also gives pending signal handlers their chance to run.
    """

    def callback() -> None:
        if _STOP.is_set():
            routing.CancelSearch()

    return callback


# ------------------------------------------------------------ worker processes
def _child(fn: Callable[..., Any], args: tuple[Any, ...], conn: mpc.Connection) -> None:
    """Run ``fn(*args)`` in a worker; the parent handles Ctrl-C and terminates us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _ACTIVE.on = True  # solves in here keep these handlers: terminate() ends us at once
    _STOP.clear()
    try:
        result: tuple[str, Any] = ("ok", fn(*args))
    except Exception as exc:  # handed to the parent, which raises it
        result = ("error", (exc, traceback.format_exc()))
    try:
        conn.send(result)
    except Exception as exc:  # an unpicklable result or exception
        conn.send(("error", (RuntimeError(f"worker result could not be sent: {exc}"), "")))
    conn.close()


def _stop_process(process: Any) -> None:
    if process.is_alive():
        process.terminate()
        process.join(KILL_AFTER_S)
    if process.is_alive():
        process.kill()
    process.join()


def run_jobs(
    fn: Callable[..., Any],
    count: int,
    args_for: Callable[[int], tuple[Any, ...]],
    *,
    workers: int,
    deadline: float | None = None,
    context: str = "fork",
    keep_going: bool = False,
) -> list[Any]:
    """Run ``fn(*args_for(i))`` for ``i < count`` in up to ``workers`` processes.

    ``args_for`` is called when job ``i`` starts (so it can hand out the time left).
    Returns the results in job order; a job still running at ``deadline``
    (``time.perf_counter()`` clock) is terminated and gives ``None``. A stop request
    terminates every worker and raises :class:`Interrupted`; an exception in a
    worker (or a worker that died) terminates the others and is raised here, or, with
    ``keep_going``, is that job's result while the others run on.
    """
    ctx: Any = mp.get_context(context)
    results: list[Any] = [None] * count
    running: dict[Any, tuple[int, Any]] = {}  # connection -> (job, process)
    following = 0
    try:
        while following < count or running:
            check_stop()
            if deadline is not None and time.perf_counter() > deadline:
                following = count  # too late to start the others
            while following < count and len(running) < max(1, workers):
                receive, send = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(fn, args_for(following), send))
                process.start()
                send.close()
                running[receive] = (following, process)
                following += 1
            ready: list[Any] = mpc.wait(list(running), timeout=POLL_S)
            for conn in ready:
                job, process = running.pop(conn)
                try:
                    status, value = conn.recv()
                except EOFError:
                    status, value = "error", (RuntimeError("a worker process died"), "")
                process.join()
                if status == "error":
                    exc, trace = value
                    if trace:
                        exc.add_note(trace)
                    if not keep_going:
                        raise exc
                    value = exc
                results[job] = value
            if deadline is not None and time.perf_counter() > deadline:
                for conn, (_, process) in list(running.items()):
                    _stop_process(process)
                    running.pop(conn)
    finally:
        for _, process in running.values():
            _stop_process(process)
    return results


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], *, timeout_s: float) -> Any:
    """``fn(*args)`` in a forked process that a stop request can terminate.

    For searches that ignore :func:`search_callback`'s cancellation (OR-Tools'
    iterated local search runs to its time limit whatever the callbacks do). Runs
    in this process when it is already a worker or not the main thread. Gives
    ``None`` when the child is still busy ``timeout_s`` from now.
    """
    if mp.parent_process() is not None or threading.current_thread() is not threading.main_thread():
        return fn(*args)
    deadline = time.perf_counter() + timeout_s
    (result,) = run_jobs(fn, 1, lambda _: args, workers=1, deadline=deadline)
    return result


def run_inline(
    fn: Callable[..., Any], count: int, args_for: Callable[[int], tuple[Any, ...]]
) -> list[Any]:
    """The same as :func:`run_jobs` in this process, one job after the other."""
    out: list[Any] = []
    for i in range(count):
        check_stop()
        out.append(fn(*args_for(i)))
    return out
