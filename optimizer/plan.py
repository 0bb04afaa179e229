"""The pipeline: scenario → network → demand → sites → routes → plan folder.

This module runs the stages in ``optimizer.stages`` in order and writes the plan
folder atomically: it appears complete or not at all, and an existing folder is
replaced only when asked.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from optimizer.errors import InputError
from optimizer.scenario import Scenario, load_scenario
from optimizer.stages.assemble import SCHEMA_VERSION, DayRoutes, Stage, assemble_plan
from optimizer.stages.prepare import load_road_network, prepare
from optimizer.stages.routes import solve_day_routes
from optimizer.stages.sites import solve_sites

log = logging.getLogger("optimizer")

__all__ = ["SCHEMA_VERSION", "Stage", "build_plan", "demo_scenario_path", "run_and_write"]


def demo_scenario_path() -> Path:
    """The scenario file embedded in the package for ``optimizer demo``."""
    return Path(str(resources.files("optimizer") / "data" / "demo" / "scenario.toml"))


# ---------------------------------------------------------------------------------
# Running and writing


def build_plan(
    scenario: Scenario,
    *,
    stage: Stage = "plan",
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
    open_sites: set[str] | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """Run the pipeline (or one stage of it) and return the plan dictionary.

    The routes stage alone unloads at ``open_sites`` (e.g. chosen by an earlier
    ``optimizer sites`` run) or, without them, at the existing facilities. ``days``
    consecutive days are routed (default: the scenario's ``plan_days``), each with
    the full time limit.
    """
    limit = time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s
    seed = seed if seed is not None else scenario.solver.seed
    days = days if days is not None else scenario.solver.plan_days
    prep = prepare(scenario, network_override=network_override)
    sites = None
    if stage in ("plan", "sites"):
        sites = solve_sites(prep, time_limit_s=max(1.0, limit / 4), seed=seed)
        open_ids = set(sites.decision.open_ids)
    elif open_sites is not None:
        open_ids = set(open_sites)
    else:
        open_ids = {f.id for f in scenario.facilities if f.state == "existing"}
    routed: list[DayRoutes] = []
    if stage in ("plan", "routes"):
        for day in range(1, days + 1):
            problem, plan, node_loc = solve_day_routes(
                prep, open_ids, time_limit_s=limit, seed=seed, day=day
            )
            routed.append(DayRoutes(day, problem, plan, node_loc))
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


def check_output_folder(out: Path, *, force: bool) -> None:
    """Refuse to replace an existing folder unless asked to, before any work is done."""
    if out.exists() and not force:
        raise InputError.one(
            str(out),
            "",
            "output folder already exists",
            "choose another --out or pass --force to replace it",
        )
    if out.exists() and not out.is_dir():
        raise InputError.one(str(out), "", "exists and is not a folder", "choose another --out")


def write_plan_folder(plan: dict[str, Any], out: Path, *, force: bool) -> Path:
    """Write every output into a temporary folder, then move it into place at once."""
    from optimizer.report import write_outputs

    check_output_folder(out, force=force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise InputError.one(
            str(out), "", f"cannot write here ({exc.strerror})", "choose a folder you can write to"
        ) from exc
    try:
        write_outputs(plan, tmp)
        if out.exists():
            backup = out.parent / f".{out.name}.old-{tmp.name[-8:]}"
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


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
    """Load a scenario, run the pipeline, write the plan folder atomically."""
    check_output_folder(out, force=force)
    scenario = load_scenario(scenario_path)
    open_sites = read_open_sites(sites_from, scenario) if sites_from is not None else None
    plan = build_plan(
        scenario,
        stage=stage,
        network_override=network_override,
        time_limit_s=time_limit_s,
        seed=seed,
        open_sites=open_sites,
        days=days,
    )
    return write_plan_folder(plan, out, force=force)


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
    tmp = out.with_name(f".{out.name}.tmp")
    dm.write_demand_csv(df, tmp)
    tmp.replace(out)
    return dm.demand_summary(df) + f"\nwritten to {out}"
