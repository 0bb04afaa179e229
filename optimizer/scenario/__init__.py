"""Scenario files: one TOML file plus the CSV/GeoJSON tables it names, validated.

Every problem in a scenario is collected before anything is reported, so that
``optimizer validate`` can list them all at once, each naming the file, the record
and the fix. Units are part of field names (``capacity_t``, ``shift_min``).
"""

from optimizer.scenario.load import load_scenario, scenario_from_dict, summarize
from optimizer.scenario.schema import (
    DepotSpec,
    District,
    EconomicsSpec,
    FacilitySpec,
    FacilityState,
    FacilityType,
    GenerationSpec,
    NetworkSpec,
    PointRecord,
    Scenario,
    ScenarioMeta,
    SitingSpec,
    SolverSpec,
    StreamSpec,
    VehicleTypeSpec,
    parse_hhmm,
    parse_window,
)

__all__ = [
    "DepotSpec",
    "District",
    "EconomicsSpec",
    "FacilitySpec",
    "FacilityState",
    "FacilityType",
    "GenerationSpec",
    "NetworkSpec",
    "PointRecord",
    "Scenario",
    "ScenarioMeta",
    "SitingSpec",
    "SolverSpec",
    "StreamSpec",
    "VehicleTypeSpec",
    "load_scenario",
    "parse_hhmm",
    "parse_window",
    "scenario_from_dict",
    "summarize",
]
