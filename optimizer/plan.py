"""The pipeline: scenario → network → demand → sites → routes → plan folder.

This module runs the stages in ``optimizer.stages`` in order and hands the plan to
``optimizer.outputs``, which writes the folder atomically: it appears complete or
not at all, and an existing folder is replaced only when asked.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from optimizer import progress
from optimizer.errors import InputError, VerificationError
from optimizer.outputs import (
    check_output_file,
    check_output_folder,
    commit,
    csv_header_is,
    discard,
    make_temp_folder,
    scenario_inputs,
    write_file,
)
from optimizer.plan_types import Plan
from optimizer.scenario import Scenario, load_scenario
from optimizer.stages.assemble import SCHEMA_VERSION, DayRoutes, Stage, assemble_plan
from optimizer.stages.calendar import FIXED, CalendarMode, calendar_problems, plan_calendar
from optimizer.stages.level import Week, level_week
from optimizer.stages.prepare import Prepared, load_road_network, prepare
from optimizer.stages.routes import solve_day_routes
from optimizer.stages.site_options import DayOne, day_one_for_plan, sites_and_day_one
from optimizer.stages.sites import solve_sites
from optimizer.stages.week_check import week_collection_issues

log = logging.getLogger("optimizer")

__all__ = [
    "SCHEMA_VERSION",
    "Stage",
    "Written",
    "build_plan",
    "demo_scenario_path",
    "run_and_write",
    "run_plan",
]


def demo_scenario_path() -> Path:
    """The scenario file embedded in the package for ``optimizer demo``."""
    return Path(str(resources.files("optimizer") / "data" / "demo" / "scenario.toml"))


# ---------------------------------------------------------------------------------
# The run's time budget

SITES_SHARE = 0.2  # of the time left after loading, for the site model in a full plan
# location_model = "routes": the site options are routed too (optimizer.stages.site_options)
SITES_SHARE_ROUTES = 0.6
# ... and in a one-day plan the chosen option's routes are the plan's: almost all of it
# (the rest routes day 1 again only if the option's day left stops out)
SITES_SHARE_ROUTES_ONE_DAY = 0.9
MIN_SITES_S = 1.0  # the least a solver is given, even when loading used up the limit
MIN_DAY_S = 1.0
# a chosen week's share of the routing time for levelling its days (optimizer.stages.level)
LEVEL_SHARE = 0.05
MIN_LEVEL_S = 2.0


def seconds_for(deadline: float, now: float, *, share: float = 1.0, parts: int = 1) -> float:
    """``share`` of the time left before ``deadline``, split over ``parts`` (may be <= 0)."""
    return share * (deadline - now) / max(parts, 1)


def _budget(deadline: float, *, share: float = 1.0, parts: int = 1, floor: float) -> float:
    """Seconds for the next solve: its part of what is left, never below ``floor``."""
    return max(floor, seconds_for(deadline, time.perf_counter(), share=share, parts=parts))


def _sites_share(stage: Stage, by_routes: bool, days: int) -> float:
    """The site stage's share of the time left: all of it when it is the stage asked for."""
    if stage != "plan":
        return 1.0
    if not by_routes:
        return SITES_SHARE
    return SITES_SHARE_ROUTES_ONE_DAY if days == 1 else SITES_SHARE_ROUTES


def calendar_mode(scenario: Scenario, days: int) -> CalendarMode:
    """The scenario's calendar choice; ``auto`` chooses calendars for plans of several days."""
    choice = scenario.solver.calendar
    if choice == "auto":
        return "chosen" if days > 1 else "fixed"
    return choice


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
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """Run the pipeline (or one stage of it) and return the plan dictionary.

    The routes stage alone unloads at ``open_sites`` (e.g. chosen by an earlier
    ``optimizer sites`` run) or, without them, at the existing facilities. ``days``
    consecutive days are routed (default: the scenario's ``plan_days``).

    The time limit is the whole run's, counted from ``started`` (a
    ``time.perf_counter()`` value; default: now): loading the network and the matrix
    use part of it, the site model gets a share of the rest, and the routes what
    then remains, divided over the days still to route. Assembling the plan adds a
    little; a solver is never given less than a second. ``prepared``: the network,
    demand and matrix already computed for this scenario (a sweep shares them).
    """
    limit = time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s
    seed = seed if seed is not None else scenario.solver.seed
    days = days if days is not None else scenario.solver.plan_days
    deadline = (time.perf_counter() if started is None else started) + limit
    progress.report("road network, demand and travel matrix…")
    prep = prepared or prepare(scenario, network_override=network_override)
    refused = calendar_problems(scenario, prep.day_demand)
    if refused:  # points whose own days no calendar meets: every one named, before solving
        raise InputError(refused)
    if deadline - time.perf_counter() < MIN_SITES_S + MIN_DAY_S:
        log.warning(
            "loading took the whole time limit (%.0f s of %.0f s); the solvers get their "
            "minimum time, so the run takes longer than the limit",
            time.perf_counter() - (deadline - limit),
            limit,
        )
    sites = None
    day_one: DayOne | None = None
    if stage in ("plan", "sites"):
        by_routes = scenario.solver.location_model == "routes"
        share = _sites_share(stage, by_routes, days)
        budget = _budget(deadline, share=share, floor=MIN_SITES_S)
        progress.report(f"sites ({budget:.0f} s)…")
        if by_routes:
            sites, routed_option = sites_and_day_one(prep, time_limit_s=budget, seed=seed)
            # a plan of several days routes day 1 anew, on its calendar
            day_one = routed_option if stage == "plan" and days == 1 else None
        else:
            sites = solve_sites(prep, time_limit_s=budget, seed=seed)
        open_ids = set(sites.decision.open_ids)
    elif open_sites is not None:
        open_ids = set(open_sites)
    else:
        open_ids = {f.id for f in scenario.facilities if f.state == "existing"}
    routed: list[DayRoutes] = []
    calendar = FIXED
    levelled = 0
    if stage in ("plan", "routes"):
        calendar = plan_calendar(
            prep, open_ids, days=days, mode=calendar_mode(scenario, days), seed=seed
        )
        # a chosen week keeps a share of the time to level its routed days
        level_s = (
            LEVEL_SHARE * (deadline - time.perf_counter()) if calendar.mode == "chosen" else 0.0
        )
        routes_deadline = deadline - max(0.0, level_s) if days > 1 else deadline
        for day in range(1, days + 1):
            reused = day_one_for_plan(prep, day_one, open_ids, calendar) if day == 1 else None
            if reused is not None:
                progress.report("routes day 1: those of the chosen site option")
                routed.append(DayRoutes(1, reused.problem, reused.plan, reused.node_loc))
                continue
            budget = _budget(routes_deadline, parts=days - day + 1, floor=MIN_DAY_S)
            progress.report(f"routes day {day} of {days} ({budget:.0f} s)…")
            problem, plan, node_loc = solve_day_routes(
                prep, open_ids, time_limit_s=budget, seed=seed, day=day, calendar=calendar
            )
            routed.append(DayRoutes(day, problem, plan, node_loc))
        if calendar.mode == "chosen" and days > 1:
            progress.report("levelling the week's trucks…")
            week, levelled = level_week(
                prep,
                open_ids,
                Week(calendar, tuple(routed)),
                deadline=max(deadline, time.perf_counter() + MIN_LEVEL_S),
            )
            calendar, routed = week.calendar, list(week.days)
        issues = week_collection_issues(prep, routed)
        if issues:
            raise VerificationError(
                "the week's collections failed the independent check: " + "; ".join(issues[:10])
            )
    progress.report("assembling the plan…")
    # A Plan (optimizer.plan_types); typed as a plain dict until optimizer.plan_scenario
    # (optimizer/__init__.py) declares Plan too.
    result: Plan = assemble_plan(
        prep,
        stage=stage,
        sites=sites,
        days=routed,
        time_limit_s=limit,
        seed=seed,
        open_ids=open_ids,
        calendar=calendar.mode,
        levelled=levelled,
    )
    return cast(dict[str, Any], result)


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


@dataclass(frozen=True)
class Written:
    """What a run produced: the folder, the plan in it and the run's wall time."""

    out: Path
    plan: Plan
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
    calendar: Literal["auto", "chosen", "fixed"] | None = None,
    engine: Literal["auto", "ortools", "pyvrp"] | None = None,
    location_model: Literal["auto", "two-tier", "cflp", "p-median", "routes"] | None = None,
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
    chosen = {"calendar": calendar, "engine": engine, "location_model": location_model}
    update = {key: value for key, value in chosen.items() if value is not None}
    if update:  # command-line choices override the scenario's [solver] keys
        solver = scenario.solver.model_copy(update=update)
        scenario = scenario.model_copy(update={"solver": solver})
    inputs = scenario_inputs(scenario, network_override, sites_from)
    check_output_folder(out, force=force, inputs=inputs)
    open_sites = read_open_sites(sites_from, scenario) if sites_from is not None else None
    tmp = make_temp_folder(out)
    try:
        plan = cast(
            Plan,
            build_plan(
                scenario,
                stage=stage,
                network_override=network_override,
                time_limit_s=time_limit_s,
                seed=seed,
                open_sites=open_sites,
                days=days,
                started=started,
            ),
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
    force: bool = False,
) -> str:
    """``optimizer demand``: write the estimates (or samples) as CSV, return a summary.

    An existing ``out`` is replaced only with ``force``, and only when it is a demand
    CSV written earlier (its header is ours); never an input of the run.
    """
    from optimizer import demand as dm
    from optimizer.demand.estimate import COLUMNS

    scenario = load_scenario(scenario_path)
    check_output_file(
        out,
        scenario_inputs(scenario, network_override),
        force=force,
        ours=csv_header_is(COLUMNS, ["sample", *COLUMNS]),
        what="demand CSV",
    )
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
    write_file(out, lambda tmp: dm.write_demand_csv(df, tmp))
    return dm.demand_summary(df) + f"\nwritten to {out}"
