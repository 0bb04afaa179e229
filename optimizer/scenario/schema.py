"""The scenario schema: one frozen pydantic model per record, units in the names.

Unknown keys are errors (``extra="forbid"``) so that a typo never passes silently;
``nan`` and ``inf`` are refused everywhere, counts are strict integers (``true`` is
not a count), and sizes have upper bounds (see :mod:`.limits`). Rules that relate
records to each other are model validators of :class:`Scenario`
(:mod:`.checks`), so a scenario built in Python obeys them too.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from optimizer.scenario.limits import (
    MAX_DISTRICT_POPULATION,
    MAX_SEED,
    MAX_SNAP_M,
    MAX_TIME_LIMIT_S,
    MAX_TRUCKS,
)

FacilityType = Literal["landfill", "sorting", "transfer", "composting", "treatment", "recycler"]
FacilityState = Literal["existing", "candidate"]

#: A number: finite, and strict, so that ``true`` or ``"11"`` is refused rather than read
#: as 1 or 11 (an int such as ``11`` is fine). Every real-valued field uses it.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: A whole number: ``true`` or ``2.5`` is refused rather than read as 1 or 2.
Count = Annotated[int, Field(strict=True)]
#: A random seed for numpy and OR-Tools (non-negative 32-bit).
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]
#: An amount of money in KZT (or the scenario's currency): 10 trillion is a city's
#: budget for decades; the bound keeps solver arithmetic in range.
Money = Annotated[Number, Field(ge=0, le=1e13)]
#: A cost per unit (km, hour, tonne): a million per unit is far above any real price.
UnitCost = Annotated[Number, Field(ge=0, le=1e6)]
#: A loose density in t/m³: from polystyrene (about 0.01) to wet soil (2).
Density = Annotated[Number, Field(ge=0.01, le=2.0)]
#: A per-capita norm (m³ per person per year or kg per person per day): real norms
#: are 0.3-3; 100 catches unit mistakes (kg entered as g).
PerCapitaNorm = Annotated[Number, Field(gt=0, le=100)]
#: A relative seasonal factor (rescaled to average 1 over the year).
SeasonFactor = Annotated[Number, Field(gt=0, le=10)]
#: A sanitary-protection distance in metres (the widest zones are a few km).
ZoneM = Annotated[Number, Field(ge=0, le=50_000)]
#: Minutes within one day.
DayMinutes = Annotated[Number, Field(ge=0, le=24 * 60)]
#: Volume of one container in m³: the largest roll-off skips hold about 40 m³.
ContainerM3 = Annotated[Number, Field(gt=0, le=50)]
#: A day of the week cycle of a plan (1 = the first plan day).
WeekDay = Annotated[int, Field(strict=True, ge=1, le=7)]
WEEK_DAYS = 7


def week_days(text: str) -> list[int] | str:
    """Days of the week cycle written in one cell, e.g. ``"6 7"``, ``"1;4"`` or ``"2/5"``
    (a CSV cell or a GeoJSON string); the text unchanged when it is not such a list."""
    parts = [t for t in re.split(r"[\s;,/+]+", text.strip()) if t]
    if not all(re.fullmatch(r"[0-9]+", t) for t in parts):
        return text
    return [int(t) for t in parts]


_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_hhmm(text: str) -> int:
    """Minutes from midnight of an ``HH:MM`` clock time (``24:00`` allowed)."""
    match = _HHMM.match(text.strip())
    if not match:
        msg = f"'{text}' is not a clock time HH:MM"
        raise ValueError(msg)
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > 24 * 60:
        msg = f"'{text}' is after 24:00"
        raise ValueError(msg)
    return minutes


def parse_window(text: str) -> tuple[int, int]:
    """Minutes from midnight of an ``HH:MM-HH:MM`` window; it must open before it closes."""
    parts = text.split("-")
    if len(parts) != 2:
        msg = f"'{text}' is not a window HH:MM-HH:MM"
        raise ValueError(msg)
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if end <= start:
        msg = f"window '{text}' closes before it opens"
        raise ValueError(msg)
    return start, end


class StrictRecord(BaseModel):
    """Base of every scenario record: unknown keys are errors, records are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


class ScenarioMeta(StrictRecord):
    """Name and description of the scenario."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    description: str = ""
    currency: str = "KZT"


class NetworkSpec(StrictRecord):
    """Where the road network comes from: one of a file, a place name, a bbox, or the demo."""

    file: str | None = None
    place: str | None = None
    bbox: tuple[Number, Number, Number, Number] | None = None
    demo: bool = False
    max_snap_m: Number = Field(default=300.0, gt=0)
    # Street-centerline files only: cut straight segments longer than this (metres).
    max_segment_m: Number | None = Field(default=None, gt=0)

    def source_count(self) -> int:
        """How many sources are given (exactly one is allowed)."""
        return sum(x is not None for x in (self.file, self.place, self.bbox)) + int(self.demo)

    @field_validator("max_snap_m")
    @classmethod
    def _sane_snap(cls, value: float) -> float:
        if value > MAX_SNAP_M:
            raise ValueError(snap_limit_message(value))
        return value

    @field_validator("bbox")
    @classmethod
    def _bbox_order(
        cls, value: tuple[Number, Number, Number, Number] | None
    ) -> tuple[Number, Number, Number, Number] | None:
        if value is None:
            return value
        west, south, east, north = value
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            msg = (
                f"{list(value)} is not [min_lon, min_lat, max_lon, max_lat] in degrees. "
                "Fix: give the west, south, east and north edges in that order"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> NetworkSpec:
        count = self.source_count()
        if count != 1:
            msg = (
                f"{count} road-network sources given. "
                "Fix: give exactly one of file, place, bbox or demo = true"
            )
            raise ValueError(msg)
        return self


def snap_limit_message(value: float) -> str:
    """Why ``max_snap_m`` is bounded, for the error message."""
    return (
        f"max_snap_m = {value:g} m is more than {MAX_SNAP_M:,.0f} m: a point that far from "
        "a street is not beside it (wrong coordinates or a street missing from the map), "
        "and its truck stop would be kilometres from the container. "
        f"Fix: fix the coordinates or the street data and keep max_snap_m at most {MAX_SNAP_M:,.0f}"
    )


class StreamSpec(StrictRecord):
    """A waste stream: how dense it is, what it is made of, which facilities accept it.

    ``kind`` names the family the collection-frequency rule is looked up by (default:
    guessed from the id, else ``msw``); ``max_storage_days_*`` override that rule and
    ``min_visits_per_week`` is an operator policy above the legal minimum;
    ``container_m3`` is this stream's container size (default: the generation one).
    The density range (``density_low_t_per_m3``/``density_high_t_per_m3``) feeds
    demand sampling.
    """

    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    name: str = ""
    kind: Literal["msw", "dry", "wet", "bulky", "medical", "industrial", "agricultural"] | None = (
        None
    )
    density_t_per_m3: Density
    density_low_t_per_m3: Density | None = None
    density_high_t_per_m3: Density | None = None
    accepted_by: tuple[FacilityType, ...] = Field(min_length=1)
    composition: dict[str, Number] = Field(default_factory=dict)
    dedicated_vehicles: bool = False
    # A plan visits a point at most once a day: storage under a day, or more than 7
    # visits a week, would collect only part of each day's waste.
    max_storage_days_warm: Number | None = Field(default=None, ge=1, le=31)
    max_storage_days_cold: Number | None = Field(default=None, ge=1, le=31)
    min_visits_per_week: Number | None = Field(default=None, gt=0, le=7)
    # Days of the week cycle (1-7, day 1 = the first plan day) the stream may be
    # collected on; a calendar must keep all its days inside. None = any day.
    allowed_days: tuple[WeekDay, ...] | None = Field(default=None, min_length=1)
    container_m3: ContainerM3 | None = None
    color: str = "#6b7280"
    source: str = ""

    @field_validator("allowed_days")
    @classmethod
    def _days_once(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and len(set(value)) != len(value):
            msg = f"allowed_days lists a day twice: {list(value)}; list each day 1-7 once"
            raise ValueError(msg)
        return value

    @field_validator("composition")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        if value:
            if any(v < 0 for v in value.values()):
                msg = "composition shares must be non-negative"
                raise ValueError(msg)
            total = sum(value.values())
            if not math.isclose(total, 1.0, abs_tol=0.02):
                msg = f"composition shares sum to {total:.3f}, not 1"
                raise ValueError(msg)
        return value

    @field_validator("density_low_t_per_m3")
    @classmethod
    def _low_below_base(cls, value: float | None, info: Any) -> float | None:
        base = info.data.get("density_t_per_m3")
        if value is not None and base is not None and value > base:
            msg = f"density_low_t_per_m3 ({value}) is above density_t_per_m3 ({base})"
            raise ValueError(msg)
        return value

    @field_validator("density_high_t_per_m3")
    @classmethod
    def _high_above_base(cls, value: float | None, info: Any) -> float | None:
        base = info.data.get("density_t_per_m3")
        if value is not None and base is not None and value < base:
            msg = f"density_high_t_per_m3 ({value}) is below density_t_per_m3 ({base})"
            raise ValueError(msg)
        return value


class GenerationSpec(StrictRecord):
    """How much waste people generate: a per-capita norm, split into streams, by season.

    Used for districts (population) when no explicit tonnage is given per point, and
    for non-household ``sources`` (markets, hospitals, farms: quantity × unit norm).
    ``norm_low``/``norm_high`` are in the unit of the norm that is given. Seasonal
    factors are relative: they are rescaled so that their month-weighted mean over
    ``cold_months`` cold and ``12 - cold_months`` warm months is 1 (the norm is the
    annual average).
    """

    class Source(StrictRecord):
        """A non-household source: tonnes given, or quantity × norm per unit."""

        id: str = Field(min_length=1)
        stream: str
        lon: Number = Field(ge=-180, le=180)
        lat: Number = Field(ge=-90, le=90)
        district: str = ""
        kind: str = ""
        tonnes_per_day: Number | None = Field(default=None, ge=0, le=10_000)
        quantity: Number | None = Field(default=None, ge=0, le=1e9)
        unit: str = ""
        norm_m3_per_unit_year: Number | None = Field(default=None, gt=0, le=1e6)
        norm_kg_per_unit_day: Number | None = Field(default=None, gt=0, le=1e6)
        relative_range: Number = Field(default=0.0, ge=0, lt=1)
        containers: Count | None = Field(default=None, ge=0, le=10_000)
        container_m3: ContainerM3 | None = None
        source: str = ""

    norm_m3_per_person_year: PerCapitaNorm | None = None
    norm_kg_per_person_day: PerCapitaNorm | None = None
    norm_low: PerCapitaNorm | None = None
    norm_high: PerCapitaNorm | None = None
    norm_density_t_per_m3: Density = 0.2
    norm_density_low_t_per_m3: Density | None = None
    norm_density_high_t_per_m3: Density | None = None
    distribution: Literal["triangular", "uniform", "pert"] = "triangular"
    district_norms: dict[str, PerCapitaNorm] = Field(default_factory=dict)
    stream_shares: dict[str, Number] = Field(default_factory=lambda: {"msw": 1.0})
    stream_coverage: dict[str, Number] = Field(default_factory=dict)
    seasonal_factor_warm: SeasonFactor = 1.0
    seasonal_factor_cold: SeasonFactor = 1.0
    cold_months: Number = Field(default=5.0, ge=0, le=12)
    container_m3: ContainerM3 = 1.1
    fill_level: Number = Field(default=0.85, gt=0, le=1.0)
    # A container site for fewer than 10 people is a typo (Astana: 535 per site).
    people_per_point: Number = Field(default=535.0, gt=0)
    sources: tuple[Source, ...] = ()
    seed: Seed = 0
    source: str = ""

    @field_validator("people_per_point")
    @classmethod
    def _site_size(cls, value: float) -> float:
        if value < 10:
            msg = (
                f"people_per_point = {value:g}: a container site for fewer than 10 people would "
                "multiply the collection points (Astana: 535 people per site). "
                "Fix: give the people served by one container site"
            )
            raise ValueError(msg)
        return value

    @field_validator("norm_kg_per_person_day")
    @classmethod
    def _one_norm(cls, value: float | None, info: Any) -> float | None:
        if value is not None and info.data.get("norm_m3_per_person_year") is not None:
            msg = "give norm_m3_per_person_year or norm_kg_per_person_day, not both"
            raise ValueError(msg)
        return value

    @field_validator("norm_high")
    @classmethod
    def _range_order(cls, value: float | None, info: Any) -> float | None:
        data = info.data
        base = data.get("norm_kg_per_person_day") or data.get("norm_m3_per_person_year")
        low = data.get("norm_low")
        if base is not None:
            if low is not None and low > base:
                msg = f"norm_low ({low}) is above the norm ({base})"
                raise ValueError(msg)
            if value is not None and value < base:
                msg = f"norm_high ({value}) is below the norm ({base})"
                raise ValueError(msg)
        return value

    @field_validator("norm_density_high_t_per_m3")
    @classmethod
    def _density_order(cls, value: float | None, info: Any) -> float | None:
        base, low = (
            info.data.get("norm_density_t_per_m3"),
            info.data.get("norm_density_low_t_per_m3"),
        )
        if base is not None and (
            (low is not None and low > base) or (value is not None and value < base)
        ):
            msg = "norm density range must satisfy low <= norm_density_t_per_m3 <= high"
            raise ValueError(msg)
        return value

    @field_validator("stream_shares")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v < 0 for v in value.values()):
            msg = "stream shares must be non-negative"
            raise ValueError(msg)
        total = sum(value.values())
        if value and not math.isclose(total, 1.0, abs_tol=0.02):
            msg = f"stream shares sum to {total:.3f}, not 1"
            raise ValueError(msg)
        return value

    @field_validator("stream_coverage")
    @classmethod
    def _coverage(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 < v <= 1 for v in value.values()):
            msg = "stream coverage is a share of sites, above 0 and at most 1"
            raise ValueError(msg)
        return value

    @field_validator("district_norms")
    @classmethod
    def _district_norms(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v <= 0 for v in value.values()):
            msg = "district norms must be positive"
            raise ValueError(msg)
        return value


class DepotSpec(StrictRecord):
    """A truck depot (garage): where shifts start and end."""

    id: str = Field(min_length=1)
    name: str = ""
    lon: Number = Field(ge=-180, le=180)
    lat: Number = Field(ge=-90, le=90)


class AccessRoad(StrictRecord):
    """The road to a site beyond the road network's edge (a landfill outside a city file).

    Trucks reach the site from the network point (``lon``, ``lat``) over ``km`` more
    road at ``speed_kmh``; both are added to every trip to and from the site.
    """

    lon: Number = Field(ge=-180, le=180)
    lat: Number = Field(ge=-90, le=90)
    km: Number = Field(gt=0, le=500)
    speed_kmh: Number = Field(default=60.0, gt=0, le=130)
    source: str = ""


class FacilitySpec(StrictRecord):
    """An existing or candidate landfill, sorting or transfer station, or plant."""

    id: str = Field(min_length=1)
    name: str = ""
    type: FacilityType
    state: FacilityState
    lon: Number = Field(ge=-180, le=180)
    lat: Number = Field(ge=-90, le=90)
    # 1,000,000 t/day is fifty times the largest landfill on earth.
    capacity_t_per_day: Number = Field(gt=0, le=1_000_000)
    accepts: tuple[str, ...] = Field(min_length=1)
    fixed_cost_kzt_per_year: Money = 0.0
    capex_kzt: Money = 0.0
    opex_kzt_per_year: Money = 0.0
    gate_fee_kzt_per_t: UnitCost = 0.0
    recovery_rate: Number = Field(default=0.0, ge=0, le=1)
    opening_hours: str = "00:00-24:00"
    unload_min: DayMinutes = 15.0
    must_stay_open: bool = False
    # Size options of one site: candidates sharing a size_group are alternative sizes
    # (e.g. 100 / 250 / 450 kt/yr with their own costs); at most one of them opens.
    size_group: str = ""
    access: AccessRoad | None = None
    source: str = ""

    @field_validator("opening_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value


class VehicleTypeSpec(StrictRecord):
    """A kind of truck and how many of them there are."""

    id: str = Field(min_length=1)
    count: Count = Field(ge=1)
    depot: str
    # Road trucks carry up to about 40 t and 150 m³; the bounds catch unit mistakes (kg).
    capacity_t: Number = Field(gt=0, le=100)
    capacity_m3: Number = Field(gt=0, le=500)
    compaction_ratio: Number = Field(default=1.0, ge=1, le=10)
    cost_per_km_kzt: UnitCost = 0.0
    cost_per_hour_kzt: UnitCost = 0.0
    cost_per_day_kzt: UnitCost = 0.0
    shift_start: str = "07:00"
    # The truck may leave up to this many minutes after shift_start (read by the routes stage).
    shift_start_flex_min: DayMinutes = 0.0
    shift_min: Number = Field(default=480.0, gt=0, le=24 * 60)
    break_min: DayMinutes = 0.0
    break_window: str | None = None
    speed_factor: Number = Field(default=1.0, ge=0.1, le=2)
    fuel_l_per_km: Number = Field(default=0.6, ge=0, le=5)
    streams: tuple[str, ...] | None = None
    source: str = ""

    @field_validator("shift_start")
    @classmethod
    def _clock(cls, value: str) -> str:
        if parse_hhmm(value) >= 24 * 60:
            msg = (
                f"shift_start = {value!r} is the end of the day; a shift starts at 00:00-23:59. "
                'Fix: write shift_start = "00:00" for a shift starting at midnight'
            )
            raise ValueError(msg)
        return value

    @field_validator("count")
    @classmethod
    def _fleet_size(cls, value: int) -> int:
        if value > MAX_TRUCKS:
            msg = (
                f"{value:,} trucks: at most {MAX_TRUCKS:,} are supported (each truck adds a start "
                "and an end node to every routing model; Almaty's whole fleet is under 300). "
                "Fix: check the count"
            )
            raise ValueError(msg)
        return value

    @field_validator("break_min")
    @classmethod
    def _break_inside_shift(cls, value: float, info: Any) -> float:
        shift = info.data.get("shift_min")
        if shift is not None and value >= shift:
            msg = (
                f"a {value:g} min break does not fit in a {shift:g} min shift. "
                "Fix: make break_min shorter than shift_min"
            )
            raise ValueError(msg)
        return value

    @field_validator("break_window")
    @classmethod
    def _break(cls, value: str | None, info: Any) -> str | None:
        if value is not None:
            start, end = parse_window(value)
            need = info.data.get("break_min") or 0.0
            if end - start < need:
                msg = (
                    f"the break window {value} is shorter than break_min ({need:g} min). "
                    "Fix: widen the window or shorten the break"
                )
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _shift_within_the_day(self) -> VehicleTypeSpec:
        start = parse_hhmm(self.shift_start)
        end = start + self.shift_start_flex_min + self.shift_min
        if end > 24 * 60:
            latest = max(0.0, 24 * 60 - self.shift_start_flex_min - self.shift_min)
            flex = (
                f" + shift_start_flex_min {self.shift_start_flex_min:g} min"
                if self.shift_start_flex_min
                else ""
            )
            msg = (
                f"the shift starting at {self.shift_start}{flex} and lasting shift_min "
                f"{self.shift_min:g} min ends at {_clock_text(end - 24 * 60)} the next day: night "
                "shifts crossing midnight are not supported (a shift must end by 24:00). "
                f"Fix: start the shift by {_clock_text(latest)} at the latest, shorten "
                "shift_min, or split the night shift into two [[fleet]] entries, one ending "
                'by 24:00 and one starting at shift_start = "00:00"'
            )
            raise ValueError(msg)
        return self


def _clock_text(minutes: float) -> str:
    """``HH:MM`` of minutes from midnight (past 24:00 as 25:30, etc.)."""
    whole = round(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


class SolverSpec(StrictRecord):
    """Solver options; the command line overrides them."""

    time_limit_s: Number = Field(default=20.0, gt=0, le=MAX_TIME_LIMIT_S)
    seed: Seed = 0
    # auto: the two-tier model when the scenario has a transfer, sorting or composting
    # site and a landfill for its residue; otherwise single-tier CFLP.
    # routes: the auto model's site options (every set of candidates, or the tonne-km
    # optimum and its one-site changes) compared by the collection routes they induce.
    location_model: Literal["auto", "two-tier", "cflp", "p-median", "routes"] = "auto"
    p: Count | None = Field(default=None, ge=1)
    transport_cost_kzt_per_t_km: UnitCost = 60.0
    # Two-tier model: hauling residue from a transfer or sorting station to a landfill
    # (bulk trailers). None = the same rate as collection transport.
    residue_haul_kzt_per_t_km: UnitCost | None = None
    stop_service_min: DayMinutes = 4.0
    # Added per container emptied at a stop (a side-loader lifts one in about 45 s).
    service_min_per_container: DayMinutes = 0.0
    # The season of the day the routes are planned for. Warm is the peak: every
    # mixed-waste container is emptied daily. Sites are always sized on the annual average.
    plan_season: Literal["warm", "cold", "annual"] = "warm"
    # Consecutive days to route (7 = a week). A container emptied every k days is
    # collected on one day in k (see stages/calendar.py).
    plan_days: Count = Field(default=1, ge=1, le=7)
    # Which day in k: "chosen" gives neighbouring points the same days in compact areas
    # of equal work, placed so the days carry even work; "fixed" spreads the points by
    # a stable hash of their id. "auto": chosen when more than one day is routed.
    calendar: Literal["auto", "chosen", "fixed"] = "auto"
    # False: a stop the fleet cannot serve makes the plan infeasible (exit 2).
    # True: such stops are left out and listed with the reason.
    allow_unserved: bool = False
    # Days with more stops than this are split into areas routed in parallel.
    max_stops_per_part: Count = Field(default=150, ge=20, le=5000)
    # Routing engine: "auto" races OR-Tools and PyVRP on the two processes of a day
    # (each area of a large day gets the engine that measured better for it); "ortools"
    # or "pyvrp" forces one (docs/architecture.md, routing engines).
    engine: Literal["auto", "ortools", "pyvrp"] = "auto"


class SitingSpec(StrictRecord):
    """Sanitary protection zones: candidates this close to housing or water are excluded.

    Distances default to ../shared/DOMAIN.md §6 (landfill 1,000 m; sorting plant
    500 m up to 40 kt/yr, 1,000 m above; transfer 300 m), labelled as assumptions
    there because the Kazakh annex tables were not retrieved.
    """

    landfill_m: ZoneM = 1000.0
    sorting_small_m: ZoneM = 500.0
    sorting_large_m: ZoneM = 1000.0
    sorting_threshold_t_per_year: Number = Field(default=40_000.0, gt=0)
    transfer_m: ZoneM = 300.0
    composting_m: ZoneM = 500.0
    treatment_m: ZoneM = 1000.0
    water_factor: Number = Field(default=1.0, ge=0, le=100)
    # Two-tier model: the share of all generated waste that must be recovered (e.g. 0.4
    # for the national 40 % target). None = no constraint.
    min_recycling_rate: Number | None = Field(default=None, ge=0, le=1)


class EconomicsSpec(StrictRecord):
    """Appraisal assumptions for investors: horizon, discount rate, demand growth."""

    horizon_years: Count = Field(default=20, ge=1, le=100)
    discount_rate: Number = Field(default=0.08, ge=0, le=1)
    demand_growth: Number = Field(default=0.02, ge=-0.5, le=1)
    robustness_samples: Count = Field(default=50, ge=0, le=10_000)
    # Solve for a site plan whose capacities hold in at least this share of the demand
    # samples (sample-based heuristic; the share reached is measured and reported).
    target_robustness: Number | None = Field(default=None, gt=0, le=1)
    # Upper limit on the capex of the facilities opened (existing ones count as 0).
    capex_budget_kzt: Money | None = None

    @model_validator(mode="after")
    def _target_needs_samples(self) -> EconomicsSpec:
        if self.target_robustness is not None and self.robustness_samples <= 0:
            msg = (
                "target_robustness needs demand samples, but robustness_samples = 0. "
                "Fix: set robustness_samples to e.g. 50, or drop the target"
            )
            raise ValueError(msg)
        return self


class PointRecord(StrictRecord):
    """One collection point (container site) and one stream collected there."""

    id: str = Field(min_length=1)
    lon: Number = Field(ge=-180, le=180)
    lat: Number = Field(ge=-90, le=90)
    stream: str
    # 10,000 t/day at one container site is a unit mistake (kg?), not a site.
    tonnes_per_day: Number | None = Field(default=None, ge=0, le=10_000)
    containers: Count | None = Field(default=None, ge=0, le=10_000)
    container_m3: ContainerM3 | None = None
    fill_level: Number | None = Field(default=None, gt=0, le=1)
    district: str = ""
    service_min: DayMinutes | None = None
    time_window: str | None = None
    # Days of the week cycle (1-7, 1 = the first plan day) the site may not be served on.
    closed_days: tuple[WeekDay, ...] | None = None
    # An existing contract: the days of the week cycle the site is emptied on (kept as is).
    collection_days: tuple[WeekDay, ...] | None = None

    @field_validator("time_window")
    @classmethod
    def _tw(cls, value: str | None) -> str | None:
        if value:
            parse_window(value)
        return value or None

    @field_validator("closed_days", "collection_days", mode="before")
    @classmethod
    def _day_list(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]  # one day, e.g. a GeoJSON number
        if not isinstance(value, str):
            return value
        days = week_days(value)
        if isinstance(days, str):
            msg = f"'{value}' is not a list of days 1-7 of the week cycle; write e.g. \"6 7\""
            raise ValueError(msg)
        return days or None

    @field_validator("closed_days", "collection_days")
    @classmethod
    def _days_listed_once(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and len(set(value)) != len(value):
            msg = f"a day is listed twice: {list(value)}; list each day 1-7 once"
            raise ValueError(msg)
        return tuple(sorted(value)) if value else None

    @model_validator(mode="after")
    def _days_agree(self) -> PointRecord:
        if self.closed_days and len(self.closed_days) == WEEK_DAYS:
            msg = "closed_days closes every day of the week; leave at least one day open"
            raise ValueError(msg)
        both = set(self.closed_days or ()) & set(self.collection_days or ())
        if both:
            msg = (
                f"collection_days {list(self.collection_days or ())} fall on closed_days "
                f"{sorted(both)}; fix one of the two"
            )
            raise ValueError(msg)
        return self


class District(StrictRecord):
    """A district with its population; polygon rings as [[lon, lat], ...]."""

    name: str = Field(min_length=1)
    population: Number = Field(ge=0)
    rings: tuple[tuple[tuple[Number, Number], ...], ...] = ()
    centroid: tuple[Number, Number] | None = None

    @field_validator("population")
    @classmethod
    def _population(cls, value: float) -> float:
        if value > MAX_DISTRICT_POPULATION:
            msg = (
                f"population {value:,.0f} is above {MAX_DISTRICT_POPULATION:,} (more than the "
                "largest city on earth; generating its points would exhaust memory). "
                "Fix: check the number (extra zeros?)"
            )
            raise ValueError(msg)
        return value


class Scenario(StrictRecord):
    """A validated scenario: the single immutable input of the pipeline."""

    scenario: ScenarioMeta
    network: NetworkSpec
    streams: tuple[StreamSpec, ...] = Field(min_length=1)
    generation: GenerationSpec | None = None
    depots: tuple[DepotSpec, ...] = Field(min_length=1)
    facilities: tuple[FacilitySpec, ...] = Field(min_length=1)
    fleet: tuple[VehicleTypeSpec, ...] = Field(min_length=1)
    solver: SolverSpec = SolverSpec()
    siting: SitingSpec = SitingSpec()
    economics: EconomicsSpec = EconomicsSpec()
    points: tuple[PointRecord, ...] = ()
    districts: tuple[District, ...] = ()
    residential: tuple[District, ...] = ()
    water: tuple[District, ...] = ()
    base_dir: str = "."
    source_file: str = "<memory>"
    files: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_record_checks(self, info: ValidationInfo) -> Scenario:
        """Every rule relating records to each other (:mod:`.checks`), all reported at once.

        The validation context may hold ``removed``: the ids a variant's ``remove``
        dropped, so that a reference to one is named as removed, not as unknown.
        """
        from optimizer.errors import InputError
        from optimizer.scenario.checks import Parts, run_checks

        removed = (info.context or {}).get("removed", ())
        problems = run_checks(Parts.of(self, removed))
        if problems:
            raise InputError(problems)
        return self

    def resolve(self, relative: str) -> Path:
        """A path from the scenario file, made absolute relative to its folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

    def stream(self, stream_id: str) -> StreamSpec:
        """The stream with this id."""
        for stream in self.streams:
            if stream.id == stream_id:
                return stream
        msg = f"unknown stream {stream_id}"
        raise KeyError(msg)
