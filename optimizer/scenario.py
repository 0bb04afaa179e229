"""Scenario files: one TOML file plus the CSV/GeoJSON tables it names, validated.

Every problem in a scenario is collected before anything is reported, so that
``optimizer validate`` can list them all at once, each naming the file, the record
and the fix. Units are part of field names (``capacity_t``, ``shift_min``).
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from optimizer.errors import InputError, Problem

FacilityType = Literal["landfill", "sorting", "transfer", "composting", "treatment", "recycler"]
FacilityState = Literal["existing", "candidate"]

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


class _Strict(BaseModel):
    """Base of every scenario record: unknown keys are errors, records are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ScenarioMeta(_Strict):
    """Name and description of the scenario."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    description: str = ""
    currency: str = "KZT"


class NetworkSpec(_Strict):
    """Where the road network comes from: one of a file, a place name, a bbox, or the demo."""

    file: str | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    demo: bool = False
    max_snap_m: float = Field(default=300.0, gt=0)

    def source_count(self) -> int:
        """How many sources are given (exactly one is allowed)."""
        return sum(x is not None for x in (self.file, self.place, self.bbox)) + int(self.demo)


class StreamSpec(_Strict):
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
    density_t_per_m3: float = Field(gt=0, le=2.0)
    density_low_t_per_m3: float | None = Field(default=None, gt=0, le=2.0)
    density_high_t_per_m3: float | None = Field(default=None, gt=0, le=2.0)
    accepted_by: tuple[FacilityType, ...] = Field(min_length=1)
    composition: dict[str, float] = Field(default_factory=dict)
    dedicated_vehicles: bool = False
    max_storage_days_warm: float | None = Field(default=None, gt=0, le=31)
    max_storage_days_cold: float | None = Field(default=None, gt=0, le=31)
    min_visits_per_week: float | None = Field(default=None, gt=0, le=21)
    container_m3: float | None = Field(default=None, gt=0)
    color: str = "#6b7280"
    source: str = ""

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


class GenerationSpec(_Strict):
    """How much waste people generate: a per-capita norm, split into streams, by season.

    Used for districts (population) when no explicit tonnage is given per point, and
    for non-household ``sources`` (markets, hospitals, farms: quantity × unit norm).
    ``norm_low``/``norm_high`` are in the unit of the norm that is given. Seasonal
    factors are relative: they are rescaled so that their month-weighted mean over
    ``cold_months`` cold and ``12 - cold_months`` warm months is 1 (the norm is the
    annual average).
    """

    class Source(_Strict):
        """A non-household source: tonnes given, or quantity × norm per unit."""

        id: str = Field(min_length=1)
        stream: str
        lon: float = Field(ge=-180, le=180)
        lat: float = Field(ge=-90, le=90)
        district: str = ""
        kind: str = ""
        tonnes_per_day: float | None = Field(default=None, ge=0)
        quantity: float | None = Field(default=None, ge=0)
        unit: str = ""
        norm_m3_per_unit_year: float | None = Field(default=None, gt=0)
        norm_kg_per_unit_day: float | None = Field(default=None, gt=0)
        relative_range: float = Field(default=0.0, ge=0, lt=1)
        containers: int | None = Field(default=None, ge=0)
        container_m3: float | None = Field(default=None, gt=0)
        source: str = ""

    norm_m3_per_person_year: float | None = Field(default=None, gt=0)
    norm_kg_per_person_day: float | None = Field(default=None, gt=0)
    norm_low: float | None = Field(default=None, gt=0)
    norm_high: float | None = Field(default=None, gt=0)
    norm_density_t_per_m3: float = Field(default=0.2, gt=0, le=2.0)
    norm_density_low_t_per_m3: float | None = Field(default=None, gt=0, le=2.0)
    norm_density_high_t_per_m3: float | None = Field(default=None, gt=0, le=2.0)
    distribution: Literal["triangular", "uniform", "pert"] = "triangular"
    district_norms: dict[str, float] = Field(default_factory=dict)
    stream_shares: dict[str, float] = Field(default_factory=lambda: {"msw": 1.0})
    stream_coverage: dict[str, float] = Field(default_factory=dict)
    seasonal_factor_warm: float = Field(default=1.0, gt=0)
    seasonal_factor_cold: float = Field(default=1.0, gt=0)
    cold_months: float = Field(default=5.0, ge=0, le=12)
    container_m3: float = Field(default=1.1, gt=0)
    fill_level: float = Field(default=0.85, gt=0, le=1.0)
    people_per_point: float = Field(default=535.0, gt=0)
    sources: tuple[Source, ...] = ()
    seed: int = 0
    source: str = ""

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


class DepotSpec(_Strict):
    """A truck depot (garage): where shifts start and end."""

    id: str = Field(min_length=1)
    name: str = ""
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class FacilitySpec(_Strict):
    """An existing or candidate landfill, sorting or transfer station, or plant."""

    id: str = Field(min_length=1)
    name: str = ""
    type: FacilityType
    state: FacilityState
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    capacity_t_per_day: float = Field(gt=0)
    accepts: tuple[str, ...] = Field(min_length=1)
    fixed_cost_kzt_per_year: float = Field(default=0.0, ge=0)
    capex_kzt: float = Field(default=0.0, ge=0)
    opex_kzt_per_year: float = Field(default=0.0, ge=0)
    gate_fee_kzt_per_t: float = Field(default=0.0, ge=0)
    recovery_rate: float = Field(default=0.0, ge=0, le=1)
    opening_hours: str = "00:00-24:00"
    unload_min: float = Field(default=15.0, ge=0)
    must_stay_open: bool = False
    source: str = ""

    @field_validator("opening_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value


class VehicleTypeSpec(_Strict):
    """A kind of truck and how many of them there are."""

    id: str = Field(min_length=1)
    count: int = Field(ge=1)
    depot: str
    capacity_t: float = Field(gt=0)
    capacity_m3: float = Field(gt=0)
    compaction_ratio: float = Field(default=1.0, ge=1, le=10)
    cost_per_km_kzt: float = Field(default=0.0, ge=0)
    cost_per_hour_kzt: float = Field(default=0.0, ge=0)
    cost_per_day_kzt: float = Field(default=0.0, ge=0)
    shift_start: str = "07:00"
    shift_min: float = Field(default=480.0, gt=0, le=24 * 60)
    break_min: float = Field(default=0.0, ge=0)
    break_window: str | None = None
    speed_factor: float = Field(default=1.0, gt=0, le=2)
    fuel_l_per_km: float = Field(default=0.6, ge=0)
    streams: tuple[str, ...] | None = None
    source: str = ""

    @field_validator("shift_start")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("break_window")
    @classmethod
    def _break(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value


class SolverSpec(_Strict):
    """Solver options; the command line overrides them."""

    time_limit_s: float = Field(default=20.0, gt=0)
    seed: int = 0
    location_model: Literal["cflp", "p-median"] = "cflp"
    p: int | None = Field(default=None, ge=1)
    transport_cost_kzt_per_t_km: float = Field(default=60.0, ge=0)
    stop_service_min: float = Field(default=4.0, ge=0)
    # Added per container emptied at a stop (a side-loader lifts one in about 45 s).
    service_min_per_container: float = Field(default=0.0, ge=0)
    # The season of the day the routes are planned for. Warm is the peak: every
    # mixed-waste container is emptied daily. Sites are always sized on the annual average.
    plan_season: Literal["warm", "cold", "annual"] = "warm"
    # False: a stop the fleet cannot serve makes the plan infeasible (exit 2).
    # True: such stops are left out and listed with the reason.
    allow_unserved: bool = False
    # Days with more stops than this are split into areas routed in parallel.
    max_stops_per_part: int = Field(default=150, ge=20, le=5000)


class SitingSpec(_Strict):
    """Sanitary protection zones: candidates this close to housing or water are excluded.

    Distances default to ../shared/DOMAIN.md §6 (landfill 1,000 m; sorting plant
    500 m up to 40 kt/yr, 1,000 m above; transfer 300 m), labelled as assumptions
    there because the Kazakh annex tables were not retrieved.
    """

    landfill_m: float = Field(default=1000.0, ge=0)
    sorting_small_m: float = Field(default=500.0, ge=0)
    sorting_large_m: float = Field(default=1000.0, ge=0)
    sorting_threshold_t_per_year: float = Field(default=40_000.0, gt=0)
    transfer_m: float = Field(default=300.0, ge=0)
    composting_m: float = Field(default=500.0, ge=0)
    treatment_m: float = Field(default=1000.0, ge=0)
    water_factor: float = Field(default=1.0, ge=0)


class EconomicsSpec(_Strict):
    """Appraisal assumptions for investors: horizon, discount rate, demand growth."""

    horizon_years: int = Field(default=20, ge=1, le=100)
    discount_rate: float = Field(default=0.08, ge=0, le=1)
    demand_growth: float = Field(default=0.02, ge=-0.5, le=1)
    robustness_samples: int = Field(default=50, ge=0, le=10_000)


class PointRecord(_Strict):
    """One collection point (container site) and one stream collected there."""

    id: str = Field(min_length=1)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    stream: str
    tonnes_per_day: float | None = Field(default=None, ge=0)
    containers: int | None = Field(default=None, ge=0)
    container_m3: float | None = Field(default=None, gt=0)
    fill_level: float | None = Field(default=None, gt=0, le=1)
    district: str = ""
    service_min: float | None = Field(default=None, ge=0)
    time_window: str | None = None

    @field_validator("time_window")
    @classmethod
    def _tw(cls, value: str | None) -> str | None:
        if value:
            parse_window(value)
        return value or None


class District(_Strict):
    """A district with its population; polygon rings as [[lon, lat], ...]."""

    name: str = Field(min_length=1)
    population: float = Field(ge=0)
    rings: tuple[tuple[tuple[float, float], ...], ...] = ()
    centroid: tuple[float, float] | None = None


class Scenario(_Strict):
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


# ---------------------------------------------------------------------------------
# Loading


_TOP_KEYS = {
    "scenario", "network", "streams", "generation", "depots", "facilities",
    "fleet", "solver", "points", "districts", "siting", "economics", "residential", "water",
}  # fmt: skip


def _pydantic_problems(
    err: ValidationError, file: str, prefix: str, *, joiner: str = "."
) -> list[Problem]:
    """One Problem per pydantic error, with a readable location and a suggested fix."""
    problems = []
    for item in err.errors():
        loc = ".".join(str(x) for x in item["loc"])
        where = f"{prefix}{joiner}{loc}" if prefix and loc else (prefix or loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            what = f"unknown key '{item['loc'][-1]}'"
            fix = "remove it or check its spelling against docs/scenarios.md"
        elif kind == "missing":
            what = "required value is missing"
            fix = "add it (see docs/scenarios.md)"
        else:
            what = item["msg"].removeprefix("Value error, ")
            if "input" in item and not isinstance(item["input"], dict | list):
                what += f" (got {item['input']!r})"
            fix = "correct the value (see docs/scenarios.md for units and ranges)"
        problems.append(Problem(file=file, where=where, what=what, fix=fix))
    return problems


def _read_csv_rows(path: Path, file_label: str, problems: list[Problem]) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts; missing file or bad header becomes a Problem."""
    if not path.is_file():
        problems.append(
            Problem(
                file_label,
                "",
                f"file not found ({path})",
                "check the path; it is relative to the scenario file",
            )
        )
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
        first = text.split("\n", 1)[0]
        # Spreadsheets set to a decimal comma save CSV with semicolons.
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
        rows = [dict(row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(file_label, "", f"cannot read CSV: {exc}", "save it as UTF-8 CSV"))
        return []
    return rows


def _number(text: str) -> float:
    """A number from a CSV cell; a decimal comma (``71,43``) is accepted."""
    text = text.strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    value = float(text)
    if not math.isfinite(value):
        msg = f"'{text}' is not a finite number"
        raise ValueError(msg)
    return value


_POINT_COLUMNS = set(PointRecord.model_fields)
_POINT_NUMERIC = {
    "lon",
    "lat",
    "tonnes_per_day",
    "containers",
    "container_m3",
    "fill_level",
    "service_min",
}


def _load_points_csv(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
    """Collection points from a CSV file, one row per point and stream."""
    rows = _read_csv_rows(path, label, problems)
    if not rows:
        if path.is_file():
            problems.append(
                Problem(
                    label,
                    "",
                    "no collection points in the file",
                    "add one row per point and stream",
                )
            )
        return []
    header = set(rows[0])
    unknown = sorted(c for c in header if c is not None and c not in _POINT_COLUMNS)
    if unknown:
        problems.append(
            Problem(
                label,
                "header",
                f"unknown column(s) {', '.join(unknown)}",
                f"use only {', '.join(sorted(_POINT_COLUMNS))}",
            )
        )
        return []
    missing = sorted({"id", "lon", "lat", "stream"} - header)
    if missing:
        problems.append(
            Problem(label, "header", f"missing column(s) {', '.join(missing)}", "add them")
        )
        return []
    points = []
    for number, row in enumerate(rows, start=2):
        clean: dict[str, Any] = {
            k: v for k, v in row.items() if k is not None and v not in ("", None)
        }
        if None in row:
            problems.append(
                Problem(
                    label,
                    f"line {number}",
                    "more values than columns",
                    "remove the extra values",
                )
            )
            continue
        try:
            for key in _POINT_NUMERIC & clean.keys():
                value = _number(clean[key])
                clean[key] = int(value) if key == "containers" else value
        except ValueError as exc:
            problems.append(
                Problem(
                    label,
                    f"line {number} (id {row.get('id')})",
                    f"not a number: {exc}",
                    "write a plain number",
                )
            )
            continue
        try:
            points.append(PointRecord(**clean))
        except ValidationError as err:
            where = f"line {number} (id {row.get('id')})"
            problems += _pydantic_problems(err, label, where, joiner=", column ")
    return points


def _load_points_geojson(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
    """Collection points from a GeoJSON FeatureCollection of Points."""
    data = _read_json(path, label, problems)
    if data is None:
        return []
    points = []
    for index, feature in enumerate(data.get("features", [])):
        geom = feature.get("geometry") or {}
        where = f"feature {index}"
        if geom.get("type") != "Point":
            problems.append(
                Problem(label, where, "geometry is not a Point", "use Point geometries")
            )
            continue
        lon, lat = geom["coordinates"][:2]
        try:
            points.append(PointRecord(lon=lon, lat=lat, **feature.get("properties", {})))
        except ValidationError as err:
            problems += _pydantic_problems(err, label, where, joiner=", property ")
    return points


def _read_json(path: Path, label: str, problems: list[Problem]) -> Any:
    if not path.is_file():
        problems.append(
            Problem(
                label,
                "",
                f"file not found ({path})",
                "check the path; it is relative to the scenario file",
            )
        )
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(
            Problem(
                label,
                "",
                f"not valid JSON: {exc}",
                "fix the file or export it again as GeoJSON",
            )
        )
        return None


def _polygon_rings(
    geometry: Mapping[str, Any],
) -> list[tuple[tuple[float, float], ...]]:
    """Exterior rings of a Polygon or MultiPolygon as lon/lat tuples."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [
        tuple((float(x), float(y)) for x, y, *_ in polygon[0]) for polygon in polygons if polygon
    ]


def _load_districts(
    path: Path, label: str, problems: list[Problem], *, need_population: bool = True
) -> list[District]:
    """Polygons from a GeoJSON file: a name (and for districts a population) per feature.

    Also reads residential-area and water layers for the siting rules, where the
    population is not needed.
    """
    data = _read_json(path, label, problems)
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        problems.append(
            Problem(label, "", "not a GeoJSON FeatureCollection", "export the layer as GeoJSON")
        )
        return []
    districts = []
    for index, feature in enumerate(data["features"]):
        props = feature.get("properties") or {}
        name = props.get("name") or props.get("name_en") or props.get("NAME") or f"feature {index}"
        where = f"feature {index} ({name})"
        if need_population and "population" not in props:
            problems.append(
                Problem(label, where, "no 'population' property", "add the district's population")
            )
            continue
        rings = _polygon_rings(feature.get("geometry") or {})
        if not need_population and not rings:
            problems.append(
                Problem(label, where, "geometry is not a Polygon", "use Polygon or MultiPolygon")
            )
            continue
        try:
            districts.append(
                District(name=str(name), population=props.get("population", 0), rings=tuple(rings))
            )
        except ValidationError as err:
            problems += _pydantic_problems(err, label, where, joiner=", property ")
    return districts


def _check_references(
    sc: dict[str, Any], file: str, problems: list[Problem], incomplete: set[str]
) -> None:
    """Cross-record checks: unique ids, known streams and depots, accepting facilities.

    Lists in ``incomplete`` had records that failed validation; checks that need
    the whole list are skipped for them so that one mistake is reported once.
    """
    streams = {s.id for s in sc.get("streams", ())}
    for key in ("depots", "facilities", "fleet", "streams"):
        seen: set[str] = set()
        for record in sc.get(key, ()):
            if record.id in seen:
                problems.append(
                    Problem(
                        file,
                        f"{key} id '{record.id}'",
                        "duplicate id",
                        "give every record its own id",
                    )
                )
            seen.add(record.id)
    depot_ids = {d.id for d in sc.get("depots", ())}
    for vt in sc.get("fleet", ()):
        if vt.depot not in depot_ids and "depots" not in incomplete:
            problems.append(
                Problem(
                    file,
                    f"fleet '{vt.id}'.depot",
                    f"unknown depot '{vt.depot}'",
                    f"use one of {sorted(depot_ids)}",
                )
            )
        for s in vt.streams or ():
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"fleet '{vt.id}'.streams",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
    for fac in sc.get("facilities", ()):
        for s in fac.accepts:
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"facilities '{fac.id}'.accepts",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
    points_file = sc.get("files", {}).get("points", file)
    seen_points: set[tuple[str, str]] = set()
    used_streams: set[str] = set()
    for point in sc.get("points", ()):
        point_key = (point.id, point.stream)
        if point_key in seen_points:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    f"duplicate row for stream '{point.stream}'",
                    "keep one row per point and stream",
                )
            )
        seen_points.add(point_key)
        if point.stream not in streams:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    f"unknown stream '{point.stream}'",
                    f"use one of {sorted(streams)}",
                )
            )
        used_streams.add(point.stream)
        if point.tonnes_per_day is None and point.containers is None:
            problems.append(
                Problem(
                    points_file,
                    f"point '{point.id}'",
                    "neither tonnes_per_day nor containers is given",
                    "give one of them",
                )
            )
    generation = sc.get("generation")
    if generation is not None:
        used_streams |= {s for s, share in generation.stream_shares.items() if share > 0}
        for s in generation.stream_shares:
            if s not in streams:
                problems.append(
                    Problem(
                        file,
                        f"generation.stream_shares.{s}",
                        f"unknown stream '{s}'",
                        f"use one of {sorted(streams)}",
                    )
                )
        for s in generation.stream_coverage:
            if s not in generation.stream_shares:
                problems.append(
                    Problem(
                        file,
                        f"generation.stream_coverage.{s}",
                        f"'{s}' has no stream share",
                        "give it a share in stream_shares or remove it",
                    )
                )
        district_names = {d.name for d in sc.get("districts", ())}
        for name in generation.district_norms:
            if name not in district_names and "districts" not in incomplete:
                problems.append(
                    Problem(
                        file,
                        f"generation.district_norms.{name}",
                        f"unknown district '{name}'",
                        f"use one of {sorted(district_names)}",
                    )
                )
        seen_sources: set[str] = set()
        for src in generation.sources:
            where = f"generation.sources '{src.id}'"
            if src.id in seen_sources:
                problems.append(
                    Problem(file, where, "duplicate id", "give every source its own id")
                )
            seen_sources.add(src.id)
            if src.stream not in streams:
                problems.append(
                    Problem(
                        file,
                        where,
                        f"unknown stream '{src.stream}'",
                        f"use one of {sorted(streams)}",
                    )
                )
            used_streams.add(src.stream)
            has_norm = src.norm_m3_per_unit_year is not None or src.norm_kg_per_unit_day is not None
            has_rate = has_norm and src.quantity is not None
            if src.tonnes_per_day is None and not has_rate and src.containers is None:
                problems.append(
                    Problem(
                        file,
                        where,
                        "no amount: neither tonnes_per_day, nor quantity with a unit norm, nor containers",
                        "give one of them",
                    )
                )
        generated = {s for s, share in generation.stream_shares.items() if share > 0} | {
            x.stream for x in generation.sources
        }
        fleet = sc.get("fleet", ())
        for stream in sc.get("streams", ()):
            dedicated = stream.id in generated and stream.dedicated_vehicles
            if (
                dedicated
                and "fleet" not in incomplete
                and not any(vt.streams == (stream.id,) for vt in fleet)
            ):
                problems.append(
                    Problem(
                        file,
                        f"streams '{stream.id}'",
                        "needs dedicated vehicles but no fleet entry carries only this stream",
                        f'add a fleet entry with streams = ["{stream.id}"]',
                    )
                )
    coverage_known = not incomplete & {"streams", "facilities", "fleet"}
    for s in sorted(used_streams & streams) if coverage_known else []:
        stream = next(x for x in sc["streams"] if x.id == s)
        if not any(
            s in f.accepts and f.type in stream.accepted_by for f in sc.get("facilities", ())
        ):
            problems.append(
                Problem(
                    file,
                    f"streams '{s}'",
                    f"no facility accepts stream '{s}' (types allowed: {', '.join(stream.accepted_by)})",
                    "add a facility of an allowed type whose 'accepts' lists it",
                )
            )
        if not any(vt.streams is None or s in vt.streams for vt in sc.get("fleet", ())):
            problems.append(
                Problem(
                    file,
                    f"streams '{s}'",
                    f"no vehicle type may carry stream '{s}'",
                    "add it to a fleet entry's 'streams'",
                )
            )
    if (
        not sc.get("points")
        and not sc.get("districts")
        and not incomplete & {"points", "districts"}
    ):
        problems.append(
            Problem(
                file,
                "points / districts",
                "no collection points and no districts",
                "give a points table or districts with population",
            )
        )
    if sc.get("districts") and not sc.get("points") and generation is None:
        problems.append(
            Problem(
                file,
                "generation",
                "districts are given but no [generation] norm",
                "add a [generation] section",
            )
        )
    if (
        generation is not None
        and sc.get("districts")
        and generation.norm_m3_per_person_year is None
        and generation.norm_kg_per_person_day is None
    ):
        problems.append(
            Problem(
                file,
                "generation",
                "no per-capita norm",
                "set norm_m3_per_person_year or norm_kg_per_person_day",
            )
        )


_SECTION_MODELS: dict[str, type[_Strict]] = {
    "scenario": ScenarioMeta,
    "network": NetworkSpec,
    "generation": GenerationSpec,
    "solver": SolverSpec,
    "siting": SitingSpec,
    "economics": EconomicsSpec,
}
_LIST_MODELS: dict[str, type[_Strict]] = {
    "streams": StreamSpec,
    "depots": DepotSpec,
    "facilities": FacilitySpec,
    "fleet": VehicleTypeSpec,
}


def _label(path: Path) -> str:
    return str(path)


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError.one(label, "", "scenario file not found", "check the path (a .toml file)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError.one(
            label, "", f"not valid TOML: {exc}", "fix the syntax (see docs/scenarios.md)"
        ) from exc


def _merge_variant(base: dict[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    """A variant on top of its base: tables merge key by key; list records by id.

    A record in a variant list replaces the base record with the same id (or is
    added); ``remove = ["id", ...]`` drops records of any list by id.
    """
    merged = dict(base)
    for key, value in variant.items():
        if key in ("extends", "remove"):
            continue
        if key in _LIST_MODELS and isinstance(value, list) and isinstance(base.get(key), list):
            ids = [r.get("id") for r in value if isinstance(r, dict)]
            kept = [r for r in base[key] if not (isinstance(r, dict) and r.get("id") in ids)]
            merged[key] = kept + list(value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    drop = set(variant.get("remove", []))
    for key in _LIST_MODELS:
        if drop and isinstance(merged.get(key), list):
            merged[key] = [
                r for r in merged[key] if not (isinstance(r, dict) and r.get("id") in drop)
            ]
    return merged


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file and the tables it references.

    A file with ``extends = "other.toml"`` is a variant: it starts from that file
    (relative to the variant, one level deep) and overrides or adds what it lists,
    so that investor scenarios differ only where they differ.

    Raises
    ------
    InputError
        With every problem found, each naming the file, the record and the fix.
    """
    path = Path(path)
    file = _label(path)
    raw = _read_toml(path, file)
    base_dir = path.parent
    if "extends" in raw:
        parent = raw["extends"]
        if not isinstance(parent, str):
            raise InputError.one(
                file, "extends", "must be a file name", 'write extends = "scenario.toml"'
            )
        parent_path = base_dir / parent
        base = _read_toml(parent_path, str(parent_path))
        if "extends" in base:
            raise InputError.one(
                str(parent_path),
                "extends",
                "a variant cannot extend another variant",
                "extend the base scenario",
            )
        if parent_path.parent.resolve() != base_dir.resolve():
            raise InputError.one(
                file,
                "extends",
                "the base scenario must be in the same folder",
                "move the variant beside it",
            )
        raw = _merge_variant(base, raw)
    elif "remove" in raw:
        raise InputError.one(
            file, "remove", "only a variant (extends = ...) can remove records", "delete the key"
        )
    return scenario_from_dict(raw, base_dir=base_dir, source_file=file)


def scenario_from_dict(raw: Mapping[str, Any], *, base_dir: Path, source_file: str) -> Scenario:
    """Validate a parsed scenario mapping; paths inside it are relative to ``base_dir``."""
    file = source_file
    problems: list[Problem] = []
    for key in raw:
        if key not in _TOP_KEYS:
            problems.append(
                Problem(
                    file,
                    f"[{key}]",
                    f"unknown section '{key}'",
                    f"use only {', '.join(sorted(_TOP_KEYS))}",
                )
            )
    built: dict[str, Any] = {}
    incomplete: set[str] = set()
    for key, model in _SECTION_MODELS.items():
        if key not in raw:
            if key in ("scenario", "network"):
                problems.append(
                    Problem(file, f"[{key}]", "section is missing", f"add a [{key}] section")
                )
            continue
        if not isinstance(raw[key], dict):
            problems.append(Problem(file, f"[{key}]", "must be a table", f"write it as [{key}]"))
            continue
        try:
            built[key] = model(**raw[key])
        except ValidationError as err:
            problems += _pydantic_problems(err, file, key)
    for key, model in _LIST_MODELS.items():
        items = raw.get(key, [])
        if not isinstance(items, list):
            problems.append(
                Problem(
                    file,
                    f"[[{key}]]",
                    "must be an array of tables",
                    f"write each entry as [[{key}]]",
                )
            )
            continue
        if not items:
            problems.append(
                Problem(
                    file,
                    f"[[{key}]]",
                    "no entries",
                    f"add at least one [[{key}]] entry",
                )
            )
        records = []
        before = len(problems)
        for index, item in enumerate(items):
            ident = item.get("id", index) if isinstance(item, dict) else index
            try:
                records.append(model(**item))
            except (ValidationError, TypeError) as err:
                if isinstance(err, ValidationError):
                    problems += _pydantic_problems(err, file, f"{key} '{ident}'")
                else:
                    problems.append(
                        Problem(
                            file,
                            f"{key} '{ident}'",
                            "must be a table",
                            "see docs/scenarios.md",
                        )
                    )
        built[key] = tuple(records)
        if len(problems) > before:
            incomplete.add(key)
    network = built.get("network")
    if isinstance(network, NetworkSpec) and network.source_count() != 1:
        problems.append(
            Problem(
                file,
                "[network]",
                f"{network.source_count()} road-network sources given",
                "give exactly one of file, place, bbox or demo = true",
            )
        )
    files: dict[str, str] = {}
    for key in ("points", "districts", "residential", "water"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(Problem(file, key, "must be a file name", f'write {key} = "{key}.csv"'))
            continue
        table = Path(value) if Path(value).is_absolute() else base_dir / value
        files[key] = str(table)
        before = len(problems)
        if key == "points":
            loader = (
                _load_points_geojson
                if table.suffix.lower() in (".geojson", ".json")
                else _load_points_csv
            )
            built["points"] = tuple(loader(table, str(table), problems))
        else:
            built[key] = tuple(
                _load_districts(table, str(table), problems, need_population=key == "districts")
            )
        if len(problems) > before:
            incomplete.add(key)
    built["files"] = files
    _check_references(built, file, problems, incomplete)
    if problems:
        raise InputError(problems)
    try:
        return Scenario(**built, base_dir=str(base_dir), source_file=source_file)
    except ValidationError as err:  # pragma: no cover - sections validated above
        raise InputError(_pydantic_problems(err, file, "")) from err


def summarize(scenario: Scenario) -> Iterable[str]:
    """Short human lines describing what a scenario holds."""
    yield f"scenario {scenario.scenario.name}: {scenario.scenario.title}".rstrip(": ")
    yield f"  streams: {', '.join(s.id for s in scenario.streams)}"
    yield f"  collection points: {len({p.id for p in scenario.points})} ({len(scenario.points)} point-stream rows)"
    if scenario.districts:
        people = sum(d.population for d in scenario.districts)
        yield f"  districts: {len(scenario.districts)} with {people:,.0f} people"
    yield f"  depots: {len(scenario.depots)}; facilities: {len(scenario.facilities)}"
    trucks = sum(v.count for v in scenario.fleet)
    yield f"  fleet: {trucks} trucks in {len(scenario.fleet)} types"
