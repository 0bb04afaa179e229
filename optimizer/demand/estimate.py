"""Tonnes per collection point, stream and day: estimates, samples, summary, CSV.

Three kinds of rows, in this order:

* ``point``: explicit collection points. ``tonnes_per_day`` as given (taken as the
  annual average and scaled by the seasonal factor), or ``containers × container_m3
  × fill_level × visits per day × density``.
* ``source:<kind>``: non-household sources from ``[[generation.sources]]``: tonnes
  given, or ``quantity × unit norm`` (× seasonal factor), or containers as above.
* ``generated:<method>``: districts without explicit points get sites in proportion
  to population; the district's tonnage (population × per-capita norm × seasonal
  factor) is split into streams by ``stream_shares`` and spread evenly over the sites
  that carry each stream (``stream_coverage``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from optimizer.demand.placement import StreetSegments, district_geometry, place_points
from optimizer.demand.rules import (
    Season,
    generation_norm_kg,
    season_factor,
    visits_per_week,
)
from optimizer.errors import InputError
from optimizer.scenario.limits import MAX_POINTS, matrix_gigabytes

if TYPE_CHECKING:
    from optimizer.network import RoadNetwork
    from optimizer.scenario import District, GenerationSpec, Scenario

COLUMNS = [
    "point_id",
    "stream",
    "lon",
    "lat",
    "district",
    "tonnes_per_day",
    "m3_per_day",
    "visits_per_week",
    "containers",
    "container_m3",
    "fill_level",
    "people_served",
    "source",
]
_DEFAULT_CONTAINER_M3 = 1.1
_DEFAULT_FILL = 0.85


def _containers(
    m3: npt.NDArray[Any],
    visits: npt.NDArray[Any],
    container_m3: npt.NDArray[Any],
    fill: npt.NDArray[Any],
) -> npt.NDArray[np.int64]:
    """Vectorised :func:`~optimizer.demand.rules.containers_needed`."""
    gap = np.where(visits >= 1, np.ceil(7.0 / np.maximum(visits, 1e-9) - 1e-9), 7.0 / visits)
    need = np.ceil(m3 * gap / (container_m3 * fill) - 1e-9)
    return np.where(m3 > 0, np.maximum(need, 1), 0).astype(np.int64)


def design_containers(frame: pd.DataFrame, scenario: Scenario, season: Season) -> pd.Series:
    """Containers per row for the season; ``annual`` takes the worse of warm and cold."""
    gen = scenario.generation
    cold_months = gen.cold_months if gen is not None else 5.0
    cm3 = frame["container_m3"].to_numpy(float)
    fill = frame["fill_level"].to_numpy(float)
    seasons: tuple[Season, ...] = ("warm", "cold") if season == "annual" else (season,)
    out = np.zeros(len(frame), dtype=np.int64)
    base = frame["m3_per_day"].to_numpy(float) / season_factor(gen, season)
    for s in seasons:
        per_stream = {
            x.id: visits_per_week(x, s, cold_months=cold_months) for x in scenario.streams
        }
        visits = frame["stream"].map(per_stream).to_numpy(dtype=np.float64)
        out = np.maximum(out, _containers(base * season_factor(gen, s), visits, cm3, fill))
    given = frame["_given_containers"].to_numpy(float)
    return pd.Series(np.where(np.isnan(given), out, given).astype(np.int64), index=frame.index)


def _slug(name: str, index: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or f"d{index + 1}"


def _point_district(scenario: Scenario) -> dict[str, str]:
    """The district of every explicit point: its own field, else the polygon holding it."""
    shapes = [(d.name, district_geometry(d)) for d in scenario.districts]
    found: dict[str, str] = {}
    for p in scenario.points:
        if p.district:
            found[p.id] = p.district
            continue
        for name, geom in shapes:
            if geom is not None and shapely.contains_xy(geom, p.lon, p.lat):
                found[p.id] = name
                break
        else:
            found[p.id] = ""
    return found


def _row(**values: Any) -> dict[str, Any]:
    return {"people_served": np.nan, "_given_containers": np.nan, **values}


def _explicit_rows(scenario: Scenario, season: Season) -> list[dict[str, Any]]:
    gen = scenario.generation
    cold_months = gen.cold_months if gen is not None else 5.0
    where = _point_district(scenario)
    rows = []
    for p in scenario.points:
        stream = scenario.stream(p.stream)
        visits = visits_per_week(stream, season, cold_months=cold_months)
        cm3 = p.container_m3 or stream.container_m3
        cm3 = cm3 or (gen.container_m3 if gen else _DEFAULT_CONTAINER_M3)
        fill = p.fill_level or (gen.fill_level if gen else _DEFAULT_FILL)
        if p.tonnes_per_day is not None:
            tonnes, driver = p.tonnes_per_day * season_factor(gen, season), "tonnes"
        else:
            volume = (p.containers or 0) * cm3 * fill * visits / 7.0
            tonnes, driver = volume * stream.density_t_per_m3, "volume"
        rows.append(
            _row(
                point_id=p.id,
                stream=p.stream,
                lon=p.lon,
                lat=p.lat,
                district=where[p.id],
                tonnes_per_day=tonnes,
                visits_per_week=visits,
                container_m3=cm3,
                fill_level=fill,
                _given_containers=np.nan if p.containers is None else float(p.containers),
                source="point",
                _driver=driver,
            )
        )
    return rows


def _source_rows(scenario: Scenario, gen: GenerationSpec, season: Season) -> list[dict[str, Any]]:
    rows = []
    factor = season_factor(gen, season)
    for src in gen.sources:
        stream = scenario.stream(src.stream)
        visits = visits_per_week(stream, season, cold_months=gen.cold_months)
        cm3 = src.container_m3 or stream.container_m3 or gen.container_m3
        if src.tonnes_per_day is not None:
            tonnes = src.tonnes_per_day * factor
        elif src.quantity is not None and src.norm_kg_per_unit_day is not None:
            tonnes = src.quantity * src.norm_kg_per_unit_day / 1000.0 * factor
        elif src.quantity is not None and src.norm_m3_per_unit_year is not None:
            tonnes = src.quantity * src.norm_m3_per_unit_year * stream.density_t_per_m3 / 365.0
            tonnes *= factor
        else:
            volume = (src.containers or 0) * cm3 * gen.fill_level * visits / 7.0
            tonnes = volume * stream.density_t_per_m3
        rows.append(
            _row(
                point_id=src.id,
                stream=src.stream,
                lon=src.lon,
                lat=src.lat,
                district=src.district,
                tonnes_per_day=tonnes,
                visits_per_week=visits,
                container_m3=cm3,
                fill_level=gen.fill_level,
                _given_containers=np.nan if src.containers is None else float(src.containers),
                source=f"source:{src.kind or 'other'}",
                _driver=f"src:{src.id}",
            )
        )
    return rows


def _check_point_count(
    scenario: Scenario, gen: GenerationSpec, districts: Sequence[District]
) -> None:
    """Refuse, before allocating anything, to generate more points than a matrix can hold."""
    n = len(scenario.points) + len(gen.sources)
    n += sum(
        max(1, round(d.population / gen.people_per_point)) for d in districts if d.population > 0
    )
    if n > MAX_POINTS:
        raise InputError.one(
            scenario.files.get("districts", scenario.source_file),
            "generation.people_per_point",
            f"{n:,} collection points would be generated; at most {MAX_POINTS:,} are supported: "
            f"their travel matrix would need {matrix_gigabytes(n):,.0f} GB of memory",
            "check the populations and people_per_point, or split the city into scenarios",
        )


def _generated_rows(
    scenario: Scenario,
    gen: GenerationSpec,
    season: Season,
    network: RoadNetwork | Any | None,
    seed: int,
) -> list[dict[str, Any]]:
    served = {d for d in _point_district(scenario).values() if d}
    todo = [(i, d) for i, d in enumerate(scenario.districts) if d.name not in served]
    if not todo:
        return []
    _check_point_count(scenario, gen, [d for _, d in todo])
    segments = StreetSegments.from_network(network) if network is not None else None
    factor = season_factor(gen, season)
    shares = [(s, share) for s, share in gen.stream_shares.items() if share > 0]
    taken = {p.id for p in scenario.points} | {s.id for s in gen.sources}
    rows: list[dict[str, Any]] = []
    for index, district in todo:
        if district.population <= 0:
            continue
        n = max(1, round(district.population / gen.people_per_point))
        rng = np.random.default_rng([seed, index])
        try:
            lon, lat, method = place_points(district, n, rng, segments)
        except ValueError as exc:
            raise InputError.one(
                scenario.files.get("districts", scenario.source_file),
                f"district '{district.name}'",
                str(exc),
                "give the district a polygon",
            ) from exc
        slug = _slug(district.name, index)
        ids = [f"{slug}-{k + 1:04d}" for k in range(n)]
        if taken & set(ids):
            ids = [f"{slug}-{index + 1}-{k + 1:04d}" for k in range(n)]
        total = district.population * generation_norm_kg(gen, district.name) / 1000.0 * factor
        for j, (stream_id, share) in enumerate(shares):
            stream = scenario.stream(stream_id)
            visits = visits_per_week(stream, season, cold_months=gen.cold_months)
            coverage = gen.stream_coverage.get(stream_id, 1.0)
            chosen = np.arange(n)
            if coverage < 1.0:
                k = max(1, round(coverage * n))
                pick = np.random.default_rng([seed, index, j + 1]).choice(n, k, replace=False)
                chosen = np.sort(pick)
            per_site = total * share / len(chosen)
            for c in chosen.tolist():
                rows.append(
                    _row(
                        point_id=ids[c],
                        stream=stream_id,
                        lon=float(lon[c]),
                        lat=float(lat[c]),
                        district=district.name,
                        tonnes_per_day=per_site,
                        visits_per_week=visits,
                        container_m3=stream.container_m3 or gen.container_m3,
                        fill_level=gen.fill_level,
                        people_served=district.population / n,
                        source=f"generated:{method}",
                        _driver="norm",
                    )
                )
    return rows


def estimate_frame(
    scenario: Scenario,
    season: Season,
    network: RoadNetwork | Any | None,
    rng_seed: int | None,
) -> pd.DataFrame:
    """The estimate with the internal ``_driver`` and ``_given_containers`` columns."""
    if season not in ("warm", "cold", "annual"):
        msg = f"season must be warm, cold or annual, not {season!r}"
        raise ValueError(msg)
    gen = scenario.generation
    rows = _explicit_rows(scenario, season)
    if gen is not None:
        rows += _source_rows(scenario, gen, season)
        seed = gen.seed if rng_seed is None else rng_seed
        rows += _generated_rows(scenario, gen, season, network, seed)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "_given_containers", "_driver"])
    if frame.empty:
        return frame
    density = frame["stream"].map(lambda s: scenario.stream(s).density_t_per_m3)
    frame["m3_per_day"] = frame["tonnes_per_day"] / density
    frame["containers"] = design_containers(frame, scenario, season)
    return frame


def estimate_demand(
    scenario: Scenario,
    *,
    season: Season = "annual",
    network: RoadNetwork | Any | None = None,
    rng_seed: int | None = None,
) -> pd.DataFrame:
    """Tonnes and m³ per collection point and stream per day, for one season.

    One row per point and stream with the columns in :data:`COLUMNS`. ``annual`` is
    the yearly average; its ``visits_per_week`` is the month-weighted mean of the
    seasons and its ``containers`` the larger of the warm and cold needs. Generated
    points use ``rng_seed`` (default: ``[generation].seed``) and lie on ``network``'s
    streets when one is given, otherwise inside the district polygons.

    Raises
    ------
    InputError
        When a district without points has neither a polygon nor a centroid.
    """
    frame = estimate_frame(scenario, season, network, rng_seed)
    return frame[COLUMNS].reset_index(drop=True)
