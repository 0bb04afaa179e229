"""The plan (``plan.json``, schema version 1) as typed dictionaries.

``optimizer.stages.assemble.assemble_plan`` builds a :class:`Plan`; every writer in
``optimizer.report`` reads one.  The JSON Schema in ``docs/plan.schema.json`` is
generated from these types (``python -m optimizer.plan_types`` rewrites it), and
:func:`load_plan` reads a ``plan.json`` back, checked against them.

Units: km, minutes, tonnes, m³, KZT; times are minutes from midnight of the plan
day; coordinates are WGS84 longitude/latitude.  Every record forbids keys it does
not declare, so a misspelt key in a saved plan is an error rather than a silent gap.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

# pydantic needs typing_extensions' TypedDict on Python < 3.12 (a pydantic dependency).
from typing_extensions import TypedDict

__all__ = [
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "DayKpis",
    "Depot",
    "Facility",
    "FleetType",
    "Kpis",
    "NetworkInfo",
    "Plan",
    "Point",
    "ResidueFlow",
    "Route",
    "ScenarioInfo",
    "SiteKpis",
    "SolverInfo",
    "Stop",
    "Stream",
    "Unserved",
    "Zone",
    "load_plan",
    "plan_json_schema",
    "validate_plan",
    "write_schema",
]

SCHEMA_VERSION: Literal[1] = 1
#: Where the generated JSON Schema is committed.
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "plan.schema.json"

_FORBID = ConfigDict(extra="forbid")


def About(text: str) -> Any:
    """A field's meaning, carried into the JSON Schema as its description."""
    return Field(description=text)


Stage = Literal["plan", "sites", "routes"]
FacilityType = Literal["landfill", "sorting", "transfer", "composting", "treatment", "recycler"]
#: ``existing``/``candidate`` as in the scenario; ``proposed`` = a candidate the plan
#: opens, ``closed`` = an existing site it does not use, ``excluded`` = inside a zone.
FacilityState = Literal["existing", "proposed", "candidate", "excluded", "closed"]
StopKind = Literal["depot_start", "stop", "unload", "break", "depot_end"]
SitesStatus = Literal["optimal", "feasible", "infeasible", "no_solution"]
RoutesStatus = Literal["optimal", "feasible", "infeasible", "timeout"]
LonLat = list[float]


@with_config(_FORBID)
class SolverInfo(TypedDict):
    """How the run was solved: limits, seed and each stage's solver status."""

    time_limit_s: float
    seed: int
    sites_status: Annotated[SitesStatus | None, About("null: no site stage ran")]
    routes_status: Annotated[RoutesStatus | None, About("of plan day 1; null: no routes planned")]
    routes_objective: Annotated[
        float | None, About("sum over the plan days of the routing objective")
    ]


@with_config(_FORBID)
class ScenarioInfo(TypedDict):
    """The scenario the plan was made from and when."""

    name: str
    title: Annotated[str, About("the name when the scenario gives no title")]
    description: str
    source: Annotated[str, About('the scenario file, or "<memory>"')]
    stage: Annotated[Stage, About("which command made it: the whole plan, sites only, routes only")]
    generated_at: Annotated[str, About("ISO 8601, UTC, seconds")]
    solver: SolverInfo


@with_config(_FORBID)
class NetworkInfo(TypedDict):
    """The road network: size, extent, streets to draw and the loader's statistics."""

    source: str
    nodes: int
    edges: int
    bbox: Annotated[list[float], About("[min_lon, min_lat, max_lon, max_lat]")]
    streets: Annotated[list[list[LonLat]], About("polylines of the base layer")]
    stats: Annotated[dict[str, bool | int | float | str], About("as the reader reports them")]


@with_config(_FORBID)
class Stream(TypedDict):
    """A waste stream (mixed household waste, dry recyclables, …) and its map colour."""

    id: str
    name: str
    color: str


@with_config(_FORBID)
class Point(TypedDict):
    """One collection point and stream: a site with two bins is two records."""

    id: str
    lon: float
    lat: float
    stream: str
    district: Annotated[str, About('"" when unknown')]
    tonnes_per_day: Annotated[float, About("annual average")]
    m3_per_day: float
    visits_per_week: Annotated[
        float, About("in the season of the planned days (routed plans), else annual average")
    ]
    containers: Annotated[int, About("0 when unknown")]
    due_today: Annotated[bool | None, About("collected on plan day 1; null: no routes planned")]
    due_days: Annotated[
        list[int] | None, About("the plan days it is collected on; null: no routes planned")
    ]
    snap_distance_m: Annotated[float, About("from the given position to the road network")]
    street: Annotated[str, About('the street it was placed on, from OSM names; "" when unnamed')]


@with_config(_FORBID)
class Depot(TypedDict):
    """A truck depot, snapped to the road network."""

    id: str
    name: str
    lon: float
    lat: float


@with_config(_FORBID)
class AccessRoad(TypedDict):
    """Where an off-network site's access road leaves the road network, and its length."""

    lon: float
    lat: float
    km: float


@with_config(_FORBID)
class Facility(TypedDict):
    """A facility with the plan's verdict: open or not, load, catchment, exclusion."""

    id: str
    name: str
    type: FacilityType
    state: FacilityState
    open: bool
    lon: float
    lat: float
    accepts: Annotated[list[str], About("stream ids it is licensed for")]
    capacity_t_per_day: float
    used_t_per_day: float
    utilisation: Annotated[float, About("used / capacity (above 1 = overloaded)")]
    capex_kzt: float
    opex_kzt_per_year: float
    recovery_rate: Annotated[float, About("share of the input recovered (0-1)")]
    excluded_reason: Annotated[str | None, About("why a sanitary protection zone excludes it")]
    catchment: Annotated[list[str], About("point ids assigned to it by the site model")]
    access: Annotated[
        AccessRoad | None,
        About("the road beyond the network's edge to an out-of-town site (routes end at lon/lat)"),
    ]
    source: Annotated[str, About("where its figures come from")]


@with_config(_FORBID)
class PolygonGeometry(TypedDict):
    """A GeoJSON Polygon (lon/lat rings)."""

    type: Literal["Polygon"]
    coordinates: list[list[LonLat]]


@with_config(_FORBID)
class MultiPolygonGeometry(TypedDict):
    """A GeoJSON MultiPolygon (lon/lat rings)."""

    type: Literal["MultiPolygon"]
    coordinates: list[list[list[LonLat]]]


@with_config(_FORBID)
class Zone(TypedDict):
    """A sanitary protection zone drawn around a residential area or water body."""

    id: str
    kind: Literal["sanitary_protection"]
    reason: Annotated[str, About("width, what it surrounds, and the rule")]
    geometry: PolygonGeometry | MultiPolygonGeometry


ResidueFlow = TypedDict(
    "ResidueFlow",
    {
        "from": Annotated[str, About("sorting/transfer/composting site id")],
        "to": Annotated[str, About("landfill id")],
        "t_per_day": float,
        "road_km": float,
    },
)
ResidueFlow.__doc__ = "Residue hauled from a tier-1 site to a landfill (two-tier site model)."
ResidueFlow.__pydantic_config__ = _FORBID  # type: ignore[attr-defined]


@with_config(_FORBID)
class FleetType(TypedDict):
    """A truck type as stated in the scenario: payload, body, shift, streams."""

    id: str
    count: int
    depot_id: str
    capacity_t: float
    body_m3: Annotated[float, About("compacted body volume")]
    compaction_ratio: float
    shift_start: Annotated[str, About('"hh:mm"')]
    shift_min: float
    streams: Annotated[list[str] | None, About("null: any stream")]


@with_config(_FORBID)
class Stop(TypedDict):
    """One visit of a route: leaving the depot, a collection, an unload, a break, return."""

    seq: int
    kind: StopKind
    ref_id: Annotated[str, About("point, facility or depot id")]
    stream: Annotated[str | None, About("the stream collected (collection stops), else null")]
    lon: float
    lat: float
    arrival_min: float
    departure_min: float
    service_min: float
    load_after_t: float
    load_after_m3: Annotated[float, About("loose volume on board")]
    distance_km_so_far: float


@with_config(_FORBID)
class Route(TypedDict):
    """One truck's route on one plan day, with its stops and street geometry."""

    id: str
    vehicle_id: str
    vehicle_type: Annotated[str, About('a FleetType id ("" if unknown)')]
    day: int
    depot_id: str
    distance_km: float
    duration_min: float
    tonnes: float
    cost_kzt: float
    fuel_l: float
    stops: list[Stop]
    geometry: Annotated[list[LonLat], About("along the streets")]


@with_config(_FORBID)
class Unserved(TypedDict):
    """A stop due on a plan day that no route serves, and why."""

    point_id: str
    stream: Annotated[str | None, About("null only in plans written before it was recorded")]
    day: int
    reason: Annotated[str, About('starts with its category: "fleet limit", "time window", …')]


@with_config(_FORBID)
class DayKpis(TypedDict):
    """Route figures of one plan day."""

    day: int
    distance_km: float
    working_h: float
    tonnes: float
    cost_kzt: float
    vehicles_used: int
    stops_served: int
    unserved_stops: int
    unserved_by_reason: dict[str, int]
    unload_trips: int
    engine: Annotated[
        str | None,
        About("routing engine whose plan this day is (ortools, pyvrp); None if not recorded"),
    ]
    stops_by_stream: Annotated[dict[str, int], About("stops served per stream; {} if not recorded")]
    tonnes_by_stream: Annotated[
        dict[str, float], About("tonnes collected per stream; {} if not recorded")
    ]


class SiteKpis(TypedDict):
    """Figures of the site stage: economics per year, flows per day, robustness."""

    capex_kzt: int
    opex_kzt_per_year: int
    npv_kzt: Annotated[int, About("present cost over the horizon; positive = cost")]
    site_transport_tkm_per_year: int
    site_transport_kzt_per_year: int
    co2e_transport_t_per_year: float
    co2e_landfill_t_per_year: float
    co2e_avoided_t_per_year: float
    co2e_net_t_per_year: float
    recycling_rate: Annotated[float, About("share of generated waste recovered")]
    recycled_t_per_day: float
    landfilled_t_per_day: float
    residue_t_per_day: NotRequired[Annotated[float, About("two-tier model only")]]
    residue_haul_tkm_per_year: NotRequired[Annotated[int, About("two-tier model only")]]
    robustness: NotRequired[
        Annotated[float, About("share of demand samples where capacities hold")]
    ]
    robustness_samples: NotRequired[int]
    worst_overload: NotRequired[float]
    robustness_target: NotRequired[Annotated[float, About("when solved for a target robustness")]]
    demand_inflation: NotRequired[Annotated[float, About("the demand factor that met the target")]]


@with_config(_FORBID)
class SiteOption(TypedDict):
    """One site option of ``location_model = "routes"``: its sites and the fleet it needs."""

    candidates_opened: Annotated[list[str], About("candidate sites this option opens")]
    open: Annotated[list[str], About("every site open under it (existing ones included)")]
    status: Annotated[
        Literal["chosen", "routed", "estimated", "refused"],
        About("chosen; routed for day 1; ranked by the fleet estimate only; or refused"),
    ]
    reason: Annotated[str, About('why it was refused; "" otherwise')]
    capex_kzt: int | None
    npv_kzt: Annotated[int | None, About("the site model's present cost (tonne-km transport)")]
    fleet_estimate_kzt_per_day: Annotated[
        int | None, About("stem-trip estimate used to rank the options")
    ]
    trucks: Annotated[int | None, About("day 1, routed options only")]
    driver_h: Annotated[float | None, About("day 1 working hours, routed options only")]
    route_km: float | None
    route_cost_kzt: Annotated[float | None, About("day 1 route cost")]
    unserved_stops: int | None
    present_cost_with_fleet_kzt: Annotated[
        int | None, About("capex + opex + routed fleet x 365 + residue haul, discounted")
    ]


@with_config(_FORBID)
class Kpis(TypedDict):
    """Headline figures. Route figures are totals over the plan days (null: no routes)."""

    distance_km: float | None
    driving_h: Annotated[float | None, About("hours on the road")]
    working_h: Annotated[float | None, About("hours from leaving the depot to returning")]
    tonnes: Annotated[float | None, About("tonnes collected")]
    tonnes_generated_per_day: Annotated[float, About("all points and streams, annual average")]
    tonne_km: Annotated[float | None, About("load carried × distance driven")]
    fuel_l: float | None
    co2e_t: Annotated[float | None, About("CO2e of the collection trucks' diesel")]
    cost_kzt: Annotated[float | None, About("route cost: distance, hours and truck-days")]
    vehicles_used: Annotated[int | None, About("trucks on the busiest day")]
    vehicles_available: Annotated[int, About("trucks in the fleet")]
    stops_served: int | None
    unserved_stops: int | None
    unserved_by_reason: Annotated[dict[str, int] | None, About("count per category")]
    unload_trips: int | None
    sites_open: int
    sites_cost_kzt_per_year: Annotated[float, About("fixed costs of the open sites")]
    site_transport_cost_kzt_per_day: Annotated[
        float | None, About("the site model's objective; null without a site stage")
    ]
    plan_days: NotRequired[Annotated[int, About("routed plans only")]]
    calendar: NotRequired[
        Annotated[
            Literal["chosen", "fixed"],
            About("how the days of every-k-days streams were set (routed plans only)"),
        ]
    ]
    route_kpis_by_day: NotRequired[Annotated[list[DayKpis], About("routed plans only")]]
    fleet_needed: NotRequired[
        Annotated[
            int,
            About(
                "trucks to own: per depot and truck type the busiest day's, summed (a "
                "truck keeps its garage from day to day); routed plans only"
            ),
        ]
    ]
    fleet_cost_kzt_per_year: NotRequired[
        Annotated[int, About("route cost of a planned day x 365 (plans with sites and routes)")]
    ]
    present_cost_with_fleet_kzt: NotRequired[
        Annotated[
            int,
            About(
                "capex + site opex + fleet cost + residue haul over the horizon, discounted "
                "(plans with sites and routes); positive = cost"
            ),
        ]
    ]
    # The site stage's figures (SiteKpis); absent when routes were planned alone.
    capex_kzt: NotRequired[Annotated[int, About("of the sites opened, once")]]
    opex_kzt_per_year: NotRequired[int]
    npv_kzt: NotRequired[Annotated[int, About("present cost over the horizon; positive = cost")]]
    site_transport_tkm_per_year: NotRequired[
        Annotated[int, About("points to sites (and residue hauls), tonne-km")]
    ]
    site_transport_kzt_per_year: NotRequired[int]
    co2e_transport_t_per_year: NotRequired[float]
    co2e_landfill_t_per_year: NotRequired[float]
    co2e_avoided_t_per_year: NotRequired[Annotated[float, About("by recovered material")]]
    co2e_net_t_per_year: NotRequired[
        Annotated[float, About("transport + landfill − avoided, t CO2e per year")]
    ]
    recycling_rate: NotRequired[Annotated[float, About("share of generated waste recovered")]]
    recycled_t_per_day: NotRequired[float]
    landfilled_t_per_day: NotRequired[float]
    residue_t_per_day: NotRequired[Annotated[float, About("two-tier model only")]]
    residue_haul_tkm_per_year: NotRequired[Annotated[int, About("two-tier model only")]]
    robustness: NotRequired[
        Annotated[float, About("share of demand samples in which capacities hold")]
    ]
    robustness_samples: NotRequired[int]
    worst_overload: NotRequired[
        Annotated[float, About("largest load / capacity over samples and sites")]
    ]
    robustness_target: NotRequired[Annotated[float, About("when solved for a target")]]
    demand_inflation: NotRequired[Annotated[float, About("the demand factor that met it")]]


@with_config(_FORBID)
class Plan(TypedDict):
    """Everything the map and the report need: ``plan.json``."""

    schema_version: Literal[1]
    scenario: ScenarioInfo
    network: NetworkInfo
    streams: list[Stream]
    points: list[Point]
    depots: list[Depot]
    facilities: list[Facility]
    fleet: list[FleetType]
    zones: list[Zone]
    residue_flows: Annotated[list[ResidueFlow], About("empty unless the two-tier site model ran")]
    routes: list[Route]
    unserved: list[Unserved]
    kpis: Kpis
    assumptions: list[str]
    warnings: list[str]
    site_options: NotRequired[
        Annotated[list[SiteOption], About('location_model = "routes": every option appraised')]
    ]


PLAN_ADAPTER: TypeAdapter[Plan] = TypeAdapter(Plan)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``plan.json``, generated from :class:`Plan`."""
    schema = PLAN_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "plan.json (optimizer plan, schema version 1)"
    return schema


def schema_text() -> str:
    """The committed form of the schema: indented JSON with a final newline."""
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema (``docs/plan.schema.json`` by default)."""
    path.write_text(schema_text(), encoding="utf-8")
    return path


def validate_plan(data: Any) -> Plan:
    """``data`` checked against :class:`Plan` (strict: no unknown keys, no coercion)."""
    return PLAN_ADAPTER.validate_python(data, strict=True)


def _describe(exc: ValidationError, limit: int = 8) -> str:
    """The first validation errors as ``where: what`` phrases."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def load_plan(path: Path) -> Plan:
    """Read and check a ``plan.json`` (a plan folder or the file itself).

    Plans from earlier versions of schema 1 are completed
    (:func:`optimizer.plan_upgrade.upgrade_plan`);
    an unreadable file, another schema version, an unknown key or a wrong type
    raises :class:`optimizer.errors.InputError` naming the file.
    """
    from optimizer.errors import InputError
    from optimizer.plan_upgrade import upgrade_plan

    path = Path(path)
    file = path / "plan.json" if path.is_dir() else path
    fix = "pass a plan folder written by the optimizer (or regenerate it with this version)"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError.one(str(file), "", f"not a readable plan ({exc})", fix) from exc
    if not isinstance(data, dict):
        raise InputError.one(str(file), "", "not a plan: the top level is not an object", fix)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError.one(
            str(file),
            "schema_version",
            f"schema version {version!r}; this version reads {SCHEMA_VERSION}",
            fix,
        )
    try:
        return validate_plan(upgrade_plan(data))
    except ValidationError as exc:
        raise InputError.one(str(file), "", f"not a valid plan: {_describe(exc)}", fix) from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m optimizer.plan_types [PATH]``: write the JSON Schema of plan.json."""
    args = sys.argv[1:] if argv is None else argv
    path = write_schema(Path(args[0]) if args else SCHEMA_PATH)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
