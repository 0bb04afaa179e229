"""Reading the tables a scenario names: collection points (CSV/GeoJSON) and polygons.

Readers never raise on a bad row: each problem is appended to a list, so that
every mistake in a file is reported at once.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.errors import Problem
from optimizer.scenario.schema import District, PointRecord


def pydantic_problems(
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


def load_points_csv(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
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
            problems += pydantic_problems(err, label, where, joiner=", column ")
    return points


def load_points_geojson(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
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
            problems += pydantic_problems(err, label, where, joiner=", property ")
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


def load_polygons(
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
            problems += pydantic_problems(err, label, where, joiner=", property ")
    return districts
