"""Waste-logistics optimizer: sites and collection routes on real road networks.

The public API, imported lazily so that ``optimizer --help`` stays fast::

    from optimizer import load_scenario, build_plan, write_plan_folder
    scenario = load_scenario("instances/astana/scenario.toml")
    plan = build_plan(scenario, time_limit_s=60)       # the plan.json dictionary, in 60 s
    write_plan_folder(plan, Path("plans/astana"), force=True)

``plan_scenario(path_or_scenario, time_limit_s=60)`` loads (when given a path) and
plans in one call. ``run_plan(scenario_path, out)`` plans and writes, checking first that ``out`` may be written
(``force`` replaces only a plan folder written earlier). Stages report progress
through :mod:`optimizer.progress` (silent unless a reporter is installed).

Stages can be entered on their own with hand-made data: ``FacilityProblem`` (or
``FacilityProblem.from_costs``) → ``solve_facility`` and ``RoutingProblem`` (or
``RoutingProblem.from_matrix``) → ``solve_routes`` (each checked by an
independent ``check_sites`` / ``verify_routes``), ``load_network`` →
``snap_points`` → ``travel_matrix``, ``estimate_demand``, ``write_outputs``.
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Scenario": "optimizer.scenario",
    "load_scenario": "optimizer.scenario",
    "build_plan": "optimizer.plan",
    "run_and_write": "optimizer.plan",
    "run_plan": "optimizer.plan",
    "write_plan_folder": "optimizer.outputs",
    "demo_scenario_path": "optimizer.plan",
    "estimate_demand": "optimizer.demand",
    "sample_demand": "optimizer.demand",
    "RoadNetwork": "optimizer.network",
    "load_network": "optimizer.network",
    "demo_network": "optimizer.network",
    "snap_points": "optimizer.network",
    "travel_matrix": "optimizer.network",
    "FacilityProblem": "optimizer.location",
    "SiteDecision": "optimizer.location",
    "solve_facility": "optimizer.location",
    "check_sites": "optimizer.location",
    "RoutingProblem": "optimizer.routing",
    "Vehicle": "optimizer.routing",
    "RoutePlan": "optimizer.routing",
    "solve_routes": "optimizer.routing",
    "verify_routes": "optimizer.routing",
    "write_outputs": "optimizer.report",
    "write_comparison": "optimizer.report",
    "sweep": "optimizer.sweep",
    "InputError": "optimizer.errors",
    "InfeasibleError": "optimizer.errors",
    "VerificationError": "optimizer.errors",
}

__all__ = [
    "FacilityProblem",
    "InfeasibleError",
    "InputError",
    "RoadNetwork",
    "RoutePlan",
    "RoutingProblem",
    "Scenario",
    "SiteDecision",
    "Vehicle",
    "VerificationError",
    "__version__",
    "build_plan",
    "check_sites",
    "demo_network",
    "demo_scenario_path",
    "estimate_demand",
    "load_network",
    "load_scenario",
    "plan_scenario",
    "run_and_write",
    "run_plan",
    "sample_demand",
    "snap_points",
    "solve_facility",
    "solve_routes",
    "sweep",
    "travel_matrix",
    "verify_routes",
    "write_comparison",
    "write_outputs",
    "write_plan_folder",
]

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from optimizer.demand import estimate_demand, sample_demand
    from optimizer.errors import InfeasibleError, InputError, VerificationError
    from optimizer.location import FacilityProblem, SiteDecision, check_sites, solve_facility
    from optimizer.network import (
        RoadNetwork,
        demo_network,
        load_network,
        snap_points,
        travel_matrix,
    )
    from optimizer.outputs import write_plan_folder
    from optimizer.plan import build_plan, demo_scenario_path, run_and_write, run_plan
    from optimizer.report import write_comparison, write_outputs
    from optimizer.routing import RoutePlan, RoutingProblem, Vehicle, solve_routes, verify_routes
    from optimizer.scenario import Scenario, load_scenario


def plan_scenario(
    scenario: str | Path | Scenario,
    *,
    time_limit_s: float | None = None,
    seed: int | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """The plan dictionary (the ``plan.json`` schema) of a scenario or a scenario file.

    ``time_limit_s``, ``seed`` and ``days`` default to the scenario's ``[solver]``
    settings; the time limit counts from the call, loading included (as
    ``optimizer plan``). Nothing is written: see ``write_plan_folder``.
    """
    from optimizer.plan import build_plan
    from optimizer.scenario import Scenario, load_scenario

    started = time.perf_counter()
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return build_plan(loaded, time_limit_s=time_limit_s, seed=seed, days=days, started=started)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'optimizer' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
