"""The pipeline: scenario → network → demand → sites → routes → plan folder.

This module runs the stages in ``optimizer.stages`` in order and writes the plan
folder atomically: it appears complete or not at all, and an existing folder is
replaced only when asked.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from optimizer import progress
from optimizer.errors import InputError
from optimizer.scenario import Scenario, load_scenario
from optimizer.stages.assemble import SCHEMA_VERSION, DayRoutes, Stage, assemble_plan
from optimizer.stages.prepare import load_road_network, prepare
from optimizer.stages.routes import solve_day_routes
from optimizer.stages.sites import solve_sites

log = logging.getLogger("optimizer")

__all__ = [
    "SCHEMA_VERSION",
    "Stage",
    "Written",
    "build_plan",
    "check_output_folder",
    "demo_scenario_path",
    "run_and_write",
    "run_plan",
    "write_plan_folder",
    "written_since",
]


def demo_scenario_path() -> Path:
    """The scenario file embedded in the package for ``optimizer demo``."""
    return Path(str(resources.files("optimizer") / "data" / "demo" / "scenario.toml"))


# ---------------------------------------------------------------------------------
# The run's time budget

SITES_SHARE = 0.2  # of the time left after loading, for the site model in a full plan
MIN_SITES_S = 1.0  # the least a solver is given, even when loading used up the limit
MIN_DAY_S = 1.0


def seconds_for(deadline: float, now: float, *, share: float = 1.0, parts: int = 1) -> float:
    """``share`` of the time left before ``deadline``, split over ``parts`` (may be <= 0)."""
    return share * (deadline - now) / max(parts, 1)


def _budget(deadline: float, *, share: float = 1.0, parts: int = 1, floor: float) -> float:
    """Seconds for the next solve: its part of what is left, never below ``floor``."""
    return max(floor, seconds_for(deadline, time.perf_counter(), share=share, parts=parts))


def build_plan(
    scenario: Scenario,
    *,
    stage: Stage = "plan",
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
    open_sites: set[str] | None = None,
    days: int | None = None,
    started: float | None = None,
) -> dict[str, Any]:
    """Run the pipeline (or one stage of it) and return the plan dictionary.

    The routes stage alone unloads at ``open_sites`` (e.g. chosen by an earlier
    ``optimizer sites`` run) or, without them, at the existing facilities. ``days``
    consecutive days are routed (default: the scenario's ``plan_days``).

    The time limit is the whole run's, counted from ``started`` (a
    ``time.perf_counter()`` value; default: now): loading the network and the matrix
    use part of it, the site model gets a share of the rest, and the routes what
    then remains, divided over the days still to route. Assembling the plan adds a
    little; a solver is never given less than a second.
    """
    limit = time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s
    seed = seed if seed is not None else scenario.solver.seed
    days = days if days is not None else scenario.solver.plan_days
    deadline = (time.perf_counter() if started is None else started) + limit
    progress.report("road network, demand and travel matrix…")
    prep = prepare(scenario, network_override=network_override)
    if deadline - time.perf_counter() < MIN_SITES_S + MIN_DAY_S:
        log.warning(
            "loading took the whole time limit (%.0f s of %.0f s); the solvers get their "
            "minimum time, so the run takes longer than the limit",
            time.perf_counter() - (deadline - limit),
            limit,
        )
    sites = None
    if stage in ("plan", "sites"):
        share = SITES_SHARE if stage == "plan" else 1.0
        budget = _budget(deadline, share=share, floor=MIN_SITES_S)
        progress.report(f"sites ({budget:.0f} s)…")
        sites = solve_sites(prep, time_limit_s=budget, seed=seed)
        open_ids = set(sites.decision.open_ids)
    elif open_sites is not None:
        open_ids = set(open_sites)
    else:
        open_ids = {f.id for f in scenario.facilities if f.state == "existing"}
    routed: list[DayRoutes] = []
    if stage in ("plan", "routes"):
        for day in range(1, days + 1):
            budget = _budget(deadline, parts=days - day + 1, floor=MIN_DAY_S)
            progress.report(f"routes day {day} of {days} ({budget:.0f} s)…")
            problem, plan, node_loc = solve_day_routes(
                prep, open_ids, time_limit_s=budget, seed=seed, day=day
            )
            routed.append(DayRoutes(day, problem, plan, node_loc))
    progress.report("assembling the plan…")
    return assemble_plan(
        prep,
        stage=stage,
        sites=sites,
        days=routed,
        time_limit_s=limit,
        seed=seed,
        open_ids=open_ids,
    )


def read_open_sites(plan_dir: Path, scenario: Scenario) -> set[str]:
    """The facilities open in an earlier plan folder, checked against the scenario."""
    path = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
        open_ids = {str(f["id"]) for f in plan["facilities"] if f.get("open")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError.one(
            str(path),
            "",
            f"not a readable plan ({exc})",
            "pass a folder written by 'optimizer sites'",
        ) from exc
    known = {f.id for f in scenario.facilities}
    unknown = sorted(open_ids - known)
    if unknown:
        raise InputError.one(
            str(path),
            "facilities",
            f"open facilities not in the scenario: {', '.join(unknown)}",
            "use a plan made from the same scenario",
        )
    return open_ids


# ---------------------------------------------------------------------------------
# The plan folder: what --force may replace, and writing it atomically

# Every name ``optimizer.report.write_outputs`` puts at the top of a plan folder.
PLAN_ENTRIES = frozenset(
    {
        "plan.json",
        "routes.csv",
        "sites.csv",
        "routes.geojson",
        "sites.geojson",
        "map.html",
        "report.html",
        "sheets",
    }
)


def scenario_inputs(
    scenario: Scenario,
    network_override: Path | None = None,
    sites_from: Path | None = None,
) -> list[Path]:
    """Every file a run reads: the scenario, its tables, its network, an earlier plan."""
    paths = [Path(scenario.source_file), *(Path(p) for p in scenario.files.values())]
    if scenario.network.file is not None:
        paths.append(scenario.resolve(scenario.network.file))
    paths += [p for p in (network_override, sites_from) if p is not None]
    return paths


def _is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved)."""
    return path == folder or folder in path.parents


def _refusal(out: Path, what: str, fix: str) -> InputError:
    return InputError.one(str(out), "", what, fix)


def protected_reason(folder: Path, inputs: Iterable[Path] = ()) -> str | None:
    """Why ``folder`` must never be replaced, or None: the root, home, the working
    folder (or a folder holding it), or a folder holding one of the run's inputs."""
    real = folder.resolve()
    if real.parent == real:
        return "is the filesystem root"
    if real == Path.home().resolve():
        return "is your home folder"
    if _is_within(Path.cwd().resolve(), real):
        return "is the current folder or holds it"
    for path in inputs:
        if _is_within(path.resolve(), real):
            return f"holds an input of this run ({path})"
    return None


def _is_our_plan(plan_json: Path) -> bool:
    """Whether ``plan_json`` is a plan this version of the optimizer writes."""
    try:
        data = json.loads(plan_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("schema_version") == SCHEMA_VERSION


def replace_refusal(folder: Path) -> str | None:
    """Why the existing ``folder`` is not a plan folder that --force may replace, or None.

    An empty folder may be replaced; otherwise it must hold our ``plan.json`` and
    nothing the optimizer does not write, so that no file of the user's is deleted.
    """
    names = {p.name for p in folder.iterdir()}
    if not names:
        return None
    if "plan.json" not in names or not _is_our_plan(folder / "plan.json"):
        return "is not a plan folder (no plan.json written by the optimizer)"
    foreign = sorted(names - PLAN_ENTRIES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        return f"holds files the optimizer did not write ({shown})"
    return None


def check_output_folder(out: Path, *, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse, before any work, to write where it would destroy something.

    An existing folder is replaced only with ``force``, and only when it is a plan
    folder written earlier that holds none of the run's ``inputs``.
    """
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise _refusal(
            out,
            "output folder already exists",
            "choose another --out or pass --force to replace it",
        )
    if not out.is_dir():
        raise _refusal(out, "exists and is not a folder", "choose another --out")
    why = protected_reason(out, inputs) or replace_refusal(out)
    if why:
        raise _refusal(
            out,
            f"--force will not replace this folder: it {why}",
            "choose a new folder for --out (it is created) or a plan folder written earlier",
        )


def _umask() -> int:
    """The process umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_readable(root: Path) -> None:
    """Give the folder tree the modes a plain ``mkdir``/``open`` would (0755/0644 at
    umask 022): ``mkdtemp`` creates 0700, and a plan folder is meant to be shared."""
    mask = _umask()
    root.chmod(0o777 & ~mask)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o666 & ~mask)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM during a step that must not be cut in half.

    Yields the list of signals that arrived meanwhile; the caller decides what they
    mean once the step is done. Outside the main thread nothing is held (Python
    delivers signals to the main thread only).
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        held.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is not None:  # None: installed outside Python, leave it alone
            previous[sig] = handler
            signal.signal(sig, hold)
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def make_temp_folder(out: Path) -> Path:
    """Create the hidden folder the outputs are written into, beside ``out``.

    Done before solving, so that a folder one cannot write to fails at once.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _signals_held() as held:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise _refusal(
            out, f"cannot write here ({exc.strerror})", "choose a folder you can write to"
        ) from exc
    if held:
        discard(tmp)
        raise KeyboardInterrupt
    return tmp


def discard(tmp: Path) -> None:
    """Remove a temporary folder; an interrupt meanwhile waits until it is gone."""
    with _signals_held() as held:
        shutil.rmtree(tmp, ignore_errors=True)
    if held:
        raise KeyboardInterrupt


def commit(tmp: Path, out: Path, *, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Move the written folder ``tmp`` to ``out``, replacing the old one at once.

    The folder is checked again (it may have changed during a long solve). Signals
    are held during the swap, so that ``out`` ends up either the old folder intact
    or the new one complete; one arriving meanwhile is obeyed only if the swap failed.
    """
    check_output_folder(out, force=force, inputs=inputs)
    _make_readable(tmp)
    with _signals_held() as held:
        try:
            _swap(tmp, out)
        except OSError:
            if held:  # the user asked to stop anyway: say "interrupted", not the file error
                raise KeyboardInterrupt from None
            raise
        _written.append((time.perf_counter(), out))
    if held:  # obeyed now that the folder is complete
        raise KeyboardInterrupt


# (time.perf_counter(), path) of every output moved into place by this process
_written: list[tuple[float, Path]] = []


def written_since(start: float) -> list[Path]:
    """Outputs moved into place since ``start`` (a ``time.perf_counter()`` value).

    An interrupt can arrive after the plan folder is complete; the command uses this
    to say so instead of "nothing was written".
    """
    return [path for when, path in _written if when >= start]


def _swap(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an old ``out`` is set aside, then put back or deleted."""
    backup = None
    if out.exists() or out.is_symlink():
        backup = out.parent / f".{out.name}.old-{tmp.name[-8:]}"
        out.rename(backup)
    try:
        tmp.rename(out)
    except BaseException:
        if backup is not None:
            backup.rename(out)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def write_plan_folder(
    plan: dict[str, Any], out: Path, *, force: bool, inputs: Iterable[Path] = ()
) -> Path:
    """Write every output into a temporary folder, then move it into place at once."""
    from optimizer.report import write_outputs

    check_output_folder(out, force=force, inputs=inputs)
    tmp = make_temp_folder(out)
    try:
        write_outputs(plan, tmp)
        commit(tmp, out, force=force, inputs=inputs)
    finally:
        if tmp.exists():
            discard(tmp)
    return out


@dataclass(frozen=True)
class Written:
    """What a run produced: the folder, the plan in it and the run's wall time."""

    out: Path
    plan: dict[str, Any]
    seconds: float


def run_plan(
    scenario_path: Path,
    out: Path,
    *,
    stage: Stage = "plan",
    force: bool = False,
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
    sites_from: Path | None = None,
    days: int | None = None,
) -> Written:
    """Load a scenario, run the pipeline, write the plan folder atomically.

    Everything that can refuse the run (the output folder, the inputs, write access
    beside ``out``) is checked before the solvers start; the time limit counts from
    the call. Whatever stops the run, no temporary folder stays behind.
    """
    from optimizer.report import write_outputs

    started = time.perf_counter()
    progress.report("loading the scenario…")
    scenario = load_scenario(scenario_path)
    inputs = scenario_inputs(scenario, network_override, sites_from)
    check_output_folder(out, force=force, inputs=inputs)
    open_sites = read_open_sites(sites_from, scenario) if sites_from is not None else None
    tmp = make_temp_folder(out)
    try:
        plan = build_plan(
            scenario,
            stage=stage,
            network_override=network_override,
            time_limit_s=time_limit_s,
            seed=seed,
            open_sites=open_sites,
            days=days,
            started=started,
        )
        progress.report("writing the plan folder…")
        write_outputs(plan, tmp)
        commit(tmp, out, force=force, inputs=inputs)
    finally:
        if tmp.exists():
            discard(tmp)
    return Written(out, plan, time.perf_counter() - started)


def run_and_write(
    scenario_path: Path,
    out: Path,
    *,
    stage: Stage = "plan",
    force: bool = False,
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
    sites_from: Path | None = None,
    days: int | None = None,
) -> Path:
    """:func:`run_plan`, returning only the folder written."""
    return run_plan(
        scenario_path,
        out,
        stage=stage,
        force=force,
        network_override=network_override,
        time_limit_s=time_limit_s,
        seed=seed,
        sites_from=sites_from,
        days=days,
    ).out


def demand_command(
    scenario_path: Path,
    out: Path,
    *,
    season: Literal["warm", "cold", "annual"] = "annual",
    samples: int = 0,
    seed: int = 0,
    network_override: Path | None = None,
) -> str:
    """``optimizer demand``: write the estimates (or samples) as CSV, return a summary."""
    from optimizer import demand as dm

    scenario = load_scenario(scenario_path)
    _check_output_file(out, scenario_inputs(scenario, network_override))
    network = None
    if network_override is not None or scenario.network.demo or scenario.network.file:
        try:
            network = load_road_network(scenario, network_override)
        except InputError:
            if network_override is not None:
                raise
            log.warning("road network not available; points are placed inside the districts")
    if samples > 0:
        df = dm.sample_demand(scenario, samples=samples, seed=seed, season=season, network=network)
    else:
        df = dm.estimate_demand(scenario, season=season, network=network)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        dm.write_demand_csv(df, tmp)
        with _signals_held() as held:
            tmp.replace(out)
            _written.append((time.perf_counter(), out))
        if held:
            raise KeyboardInterrupt
    finally:
        if tmp.exists():
            with _signals_held():
                tmp.unlink(missing_ok=True)
    return dm.demand_summary(df) + f"\nwritten to {out}"


def _check_output_file(out: Path, inputs: Iterable[Path]) -> None:
    """Refuse to write a single output file over a folder or over an input of the run."""
    if out.is_dir():
        raise _refusal(out, "is a folder", "give a file name, e.g. demand.csv")
    real = out.resolve()
    for path in inputs:
        if path.resolve() == real:
            raise _refusal(out, f"is an input of this run ({path})", "write to another file")
