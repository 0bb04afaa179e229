"""Reading the tables a scenario names: collection points (CSV/GeoJSON) and polygons.

Readers never raise on a bad row: each problem is appended to a list, so that
every mistake in a file is reported at once. They are strict about structure: a
CSV row whose quotes run over several lines, with the wrong number of values, or a
GeoJSON feature that is not what it should be, is an error naming its line or
feature, never a row silently lost or merged into another.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.errors import InputError, Problem
from optimizer.scenario.schema import District, PointRecord

_GENERIC_FIX = "correct the value (see docs/scenarios.md for units and ranges)"
_ONCE_A_DAY = (
    "a plan visits a point at most once a day, so it can collect at most 7 times a week; "
    "where a day's waste does not fit, give the point more or larger containers"
)
#: Fixes for keys whose range has a reason the generic advice does not give.
_KEY_FIXES = {
    "min_visits_per_week": f"use 7 or fewer: {_ONCE_A_DAY}",
    "max_storage_days_warm": f"use 1 day or more: {_ONCE_A_DAY}",
    "max_storage_days_cold": f"use 1 day or more: {_ONCE_A_DAY}",
}
#: Fixes for pydantic's error types that need more than the generic advice.
_FIXES = {
    "int_type": "write a whole number without quotes (true and false are not counts)",
    "int_from_float": "write a whole number (a count cannot be fractional)",
    "int_parsing": "write a whole number",
    "finite_number": "write a finite number (nan and inf are not allowed)",
    "float_parsing": "write a plain number without units",
    "float_type": "write a number without quotes (true and false are not numbers)",
    "string_type": "write text in quotes",
    "literal_error": "use one of the values listed",
}


#: Examples for a list that must not be empty, by key.
_LIST_EXAMPLES = {
    "accepts": 'list at least one stream id, e.g. accepts = ["msw"]',
    "accepted_by": 'list at least one facility type, e.g. accepted_by = ["landfill"]',
}

_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
)  # fmt: skip


def ordinal(n: int) -> str:
    """``first``, ``second``, ... ``tenth``, then ``11th``, ``22nd``, ``103rd``."""
    if 1 <= n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def entry_label(section: str, index: int) -> str:
    """A list entry without a usable id, by its 1-based position: ``fleet entry 2 (the
    second [[fleet]])``; never a bare index that could be read as an id."""
    return f"{section} entry {index + 1} (the {ordinal(index + 1)} [[{section}]])"


def feature_label(index: int, detail: str | None = None) -> str:
    """A GeoJSON feature by its 1-based position: ``feature 2 (the second in the file)``,
    or ``feature 2 (id P7)`` when it has an id or name."""
    return f"feature {index + 1} ({detail or f'the {ordinal(index + 1)} in the file'})"


def _loc_text(loc: tuple[Any, ...]) -> str:
    """A pydantic location in words: ``accepted_by item 2``, ``sources entry 1 (...)``."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parent = loc[i - 1] if i else ""
            if parent == "sources":
                text += f" entry {part + 1} (the {ordinal(part + 1)} [[generation.sources]])"
            else:
                text += f" item {part + 1}"
        else:
            text += f".{part}" if text else str(part)
    return text


def pydantic_problems(
    err: ValidationError, file: str, prefix: str, *, joiner: str = "."
) -> list[Problem]:
    """One Problem per pydantic error, with a readable location and a suggested fix."""
    problems: list[Problem] = []
    for item in err.errors():
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, InputError):  # a model validator that lists its own problems
            problems += cause.problems
            continue
        loc = _loc_text(tuple(item["loc"]))
        where = f"{prefix}{joiner}{loc}" if prefix and loc else (prefix or loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            what = f"unknown key '{item['loc'][-1]}'"
            fix = "remove it or check its spelling against docs/scenarios.md"
        elif kind == "missing":
            what = "required value is missing"
            fix = "add it (see docs/scenarios.md)"
        elif kind in ("too_short", "too_long"):
            ctx = item.get("ctx", {})
            got = ctx.get("actual_length")
            key = next((x for x in reversed(item["loc"]) if isinstance(x, str)), "")
            if kind == "too_short" and not got:
                what = "the list is empty"
            else:
                limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
                what = (
                    f"{got} value(s) given, {'at least' if kind == 'too_short' else 'at most'} {limit} "
                    + ("needed" if kind == "too_short" else "allowed")
                )
            fix = _LIST_EXAMPLES.get(key, "give the number of values docs/scenarios.md shows")
        elif isinstance(item.get("input"), str) and _DECIMAL_COMMA.match(item["input"]):
            value = item["input"].strip()
            what = f"'{value}' has a decimal comma"
            fix = f"write {value.replace(',', '.')} as a number with a decimal point, no quotes"
        else:
            what, _, fix = item["msg"].removeprefix("Value error, ").partition(". Fix: ")
            own = kind == "value_error"  # our validators already quote the value
            if not own and "input" in item and not isinstance(item["input"], dict | list | tuple):
                value = item["input"]
                shown = str(value).lower() if isinstance(value, bool) else repr(value)
                what += f" (got {shown})"
            key = next((x for x in reversed(item["loc"]) if isinstance(x, str)), "")
            fix = fix or _KEY_FIXES.get(key) or _FIXES.get(kind, _GENERIC_FIX)
        problems.append(Problem(file=file, where=where, what=what, fix=fix))
    return problems


def decode_text(path: Path, label: str, problems: list[Problem]) -> str | None:
    """A file's text as UTF-8 (a byte-order mark is dropped); bad bytes name their line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(
            Problem(
                label,
                "",
                f"cannot read the file ({exc.strerror})",
                "check the path and permissions",
            )
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                label,
                f"line {line}",
                f"not UTF-8 text (byte 0x{data[exc.start]:02x}; the file looks like Windows-1251 or Latin-1)",
                "save the file as UTF-8 (in Excel: 'CSV UTF-8'; in Notepad: encoding UTF-8)",
            )
        )
        return None


_WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
#: Zip (xlsx, ods) and OLE2 (xls) signatures: spreadsheet workbooks, whatever their name.
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _file_problem(path: Path, label: str) -> Problem | None:
    """Why a table file cannot be read as text, or None: not found (with a hint for
    Windows backslashes), a folder, or a spreadsheet workbook."""
    if path.is_dir():
        return Problem(
            label,
            "",
            f"is a folder, not a file ({path})",
            "name the file inside it, e.g. " + str(Path(path.name) / "points.csv"),
        )
    if not path.is_file():
        fix = "check the path; it is relative to the scenario file"
        if "\\" in str(path):
            forward = Path(str(path).replace("\\", "/"))
            fix = "use forward slashes (/) in the path, also on Windows"
            if forward.is_file():
                fix += f": {forward} exists"
        return Problem(label, "", f"file not found ({path})", fix)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        head = b""  # reported when the file is read
    if path.suffix.lower() in _WORKBOOKS or head.startswith(_WORKBOOK_MAGIC):
        return Problem(
            label,
            "",
            "this is a spreadsheet workbook (Excel or LibreOffice), which can't be read",
            "save it as CSV UTF-8 (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; "
            "LibreOffice: Save As 'Text CSV', character set UTF-8) and name the .csv file",
        )
    return None


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str] | str]]:
    """(first line, last line, values) of every CSV record.

    Broken quoting ends the records with (first line, last line, the reader's message).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        first = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield first, reader.line_num, str(exc)
            return
        yield first, reader.line_num, values


def _read_csv_rows(
    path: Path, file_label: str, problems: list[Problem]
) -> list[tuple[int, dict[str, str]]]:
    """Data rows of a CSV file with their line numbers; every anomaly becomes a Problem.

    A record spanning several lines (an unclosed quote swallows the rest of the file),
    a row with more or fewer values than the header, a repeated or empty column name:
    each is reported by line and the file's rows are not used.
    """
    bad_file = _file_problem(path, file_label)
    if bad_file is not None:
        problems.append(bad_file)
        return []
    text = decode_text(path, file_label, problems)
    if text is None:
        return []
    if not text.strip():
        problems.append(
            Problem(file_label, "", "the file is empty", "add a header and one row per point")
        )
        return []
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to a decimal comma save CSV with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    before = len(problems)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for start, end, values in _csv_records(text, delimiter):
        if isinstance(values, str):
            problems.append(
                Problem(
                    file_label,
                    f"line {start}",
                    f"cannot read the row starting here ({values}); an unclosed quote "
                    f"would swallow every later row (up to line {end})",
                    "close the quote, or remove the stray quote character",
                )
            )
            break
        if not any(v.strip() for v in values):  # a blank line or a row of empty cells
            continue
        if end > start:
            problems.append(
                Problem(
                    file_label,
                    f"line {start}",
                    f"a quoted value runs over lines {start}-{end}",
                    "close the quote on the same line, or remove the line break inside the value",
                )
            )
            continue
        if header is None:
            header = [v.strip() for v in values]
            separator = _foreign_separator(header)
            if separator:
                problems.append(
                    Problem(
                        file_label,
                        "header",
                        f"this file is separated by {separator}, not commas",
                        "save it as comma-separated CSV (UTF-8): in Excel 'CSV UTF-8 "
                        "(Comma delimited)', in LibreOffice 'Text CSV' with the field "
                        "delimiter ','",
                    )
                )
                break
            problems += _header_problems(header, file_label)
            continue
        if len(values) != len(header):
            problems.append(_row_length_problem(file_label, start, header, values))
            continue
        rows.append((start, dict(zip(header, values, strict=True))))
    return [] if len(problems) > before else rows


def _foreign_separator(header: list[str]) -> str:
    """``tabs`` or ``semicolons`` when the header is one cell holding those, else ``""``."""
    cells = "".join(header)
    if "\t" in cells:
        return "tabs"
    if ";" in cells:
        return "semicolons"
    return ""


_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _row_length_problem(label: str, line: int, header: list[str], values: list[str]) -> Problem:
    """A row with the wrong number of values; a decimal comma (``0,5``) that split a
    number in two is named as such."""
    if len(values) == len(header) + 1:
        for i, name in enumerate(header):
            if name not in _POINT_NUMERIC:
                continue
            joined = f"{values[i]},{values[i + 1]}"
            if _DECIMAL_COMMA.match(joined):
                return Problem(
                    label,
                    f"line {line}",
                    f"column {name}: '{joined.strip()}' has a decimal comma, which splits it "
                    f"into two values ({len(values)} values but the header has "
                    f"{len(header)} columns)",
                    f"write {joined.strip().replace(',', '.')} with a decimal point (or save "
                    "the file as comma-separated CSV with decimal points)",
                )
    return Problem(
        label,
        f"line {line}",
        f"{len(values)} values but the header has {len(header)} columns",
        "give every row one value per column (empty values are allowed)",
    )


def _header_problems(header: list[str], label: str) -> list[Problem]:
    """Empty or repeated column names."""
    problems = []
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            problems.append(
                Problem(
                    label,
                    "header",
                    f"column {index} has no name",
                    "name every column or delete the empty one",
                )
            )
        elif name in seen:
            problems.append(
                Problem(
                    label, "header", f"column '{name}' appears twice", "keep one column per name"
                )
            )
        seen.add(name)
    return problems


def _number(text: str) -> float:
    """A number from a CSV cell; a decimal comma (``71,43``) is accepted."""
    text = text.strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        msg = f"'{text}' is not a number"
        raise ValueError(msg) from None
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


def _point_row(row: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row's non-empty cells, numbers parsed; ValueError names a bad cell."""
    clean: dict[str, Any] = {k: v for k, v in row.items() if v.strip()}
    for key in _POINT_NUMERIC & clean.keys():
        try:
            value = _number(clean[key])
        except ValueError as exc:
            msg = f"column {key}: {exc}"
            raise ValueError(msg) from None
        if key == "containers":
            if not value.is_integer():
                msg = f"column containers: '{clean[key]}' is not a whole number"
                raise ValueError(msg)
            clean[key] = int(value)
        else:
            clean[key] = value
    return clean


def load_points_csv(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
    """Collection points from a CSV file, one row per point and stream."""
    before = len(problems)
    rows = _read_csv_rows(path, label, problems)
    if not rows:
        if len(problems) == before:
            problems.append(
                Problem(
                    label,
                    "",
                    "no collection points in the file",
                    "add one row per point and stream",
                )
            )
        return []
    header = set(rows[0][1])
    unknown = sorted(c for c in header if c not in _POINT_COLUMNS)
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
    for number, row in rows:
        where = f"line {number} (id {row.get('id', '').strip() or 'missing'})"
        try:
            clean = _point_row(row)
        except ValueError as exc:
            problems.append(Problem(label, where, str(exc), "write a plain finite number"))
            continue
        try:
            points.append(PointRecord(**clean))
        except ValidationError as err:
            problems += pydantic_problems(err, label, where, joiner=", column ")
    return points


def _is_number(value: object) -> bool:
    """A finite JSON number (``true`` is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _position(value: object) -> tuple[float, float] | None:
    """A GeoJSON position ``[lon, lat, ...]`` in range, or None."""
    if not isinstance(value, list | tuple) or len(value) < 2:
        return None
    lon, lat = value[0], value[1]
    if not (_is_number(lon) and _is_number(lat)):
        return None
    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
        return None
    return float(lon), float(lat)


_POSITION_FIX = (
    "give [lon, lat] as two finite numbers in WGS84 degrees (lon -180..180, lat -90..90)"
)


def _features(data: Any, label: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    """The features of a FeatureCollection, each an object; anything else is a Problem."""
    if data is _UNREADABLE:  # the reason is already listed
        return []
    if (
        not isinstance(data, dict)
        or data.get("type", "FeatureCollection") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        names = {type(None): "null", list: "a list", str: "text", bool: "true/false"}
        got = (
            names.get(type(data), type(data).__name__)
            if not isinstance(data, dict)
            else f"type {data.get('type')!r}"
        )
        problems.append(
            Problem(
                label,
                "",
                f"not a GeoJSON FeatureCollection (got {got})",
                'write {"type": "FeatureCollection", "features": [...]} (export the layer as GeoJSON)',
            )
        )
        return []
    features = []
    for index, feature in enumerate(data["features"]):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            problems.append(
                Problem(
                    label,
                    feature_label(index),
                    "not a GeoJSON Feature object with a properties object",
                    'write {"type": "Feature", "geometry": {...}, "properties": {...}}',
                )
            )
            continue
        features.append((index, feature))
    return features


def load_points_geojson(path: Path, label: str, problems: list[Problem]) -> list[PointRecord]:
    """Collection points from a GeoJSON FeatureCollection of Point features."""
    points = []
    for index, feature in _features(_read_json(path, label, problems), label, problems):
        props = dict(feature.get("properties") or {})
        ident = props.get("id")
        where = feature_label(index, None if ident is None else f"id {ident}")
        geom = feature.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            kind = geom.get("type") if isinstance(geom, dict) else geom
            problems.append(
                Problem(
                    label, where, f"geometry is not a Point (got {kind!r})", "use Point geometries"
                )
            )
            continue
        position = _position(geom.get("coordinates"))
        if position is None:
            problems.append(
                Problem(label, where, f"bad coordinates {geom.get('coordinates')!r}", _POSITION_FIX)
            )
            continue
        if isinstance(ident, int) and not isinstance(ident, bool):
            props["id"] = str(ident)
        for key, value in zip(("lon", "lat"), position, strict=True):
            given = props.pop(key, value)
            if given != value:
                problems.append(
                    Problem(
                        label,
                        where,
                        f"property {key} = {given!r} differs from the geometry ({value})",
                        f"drop the {key} property or make it match the Point",
                    )
                )
        try:
            points.append(PointRecord(lon=position[0], lat=position[1], **props))
        except ValidationError as err:
            problems += pydantic_problems(err, label, where, joiner=", property ")
    return points


#: What :func:`_read_json` returns for a file it could not read (the Problem is listed).
_UNREADABLE: Any = object()


def _read_json(path: Path, label: str, problems: list[Problem]) -> Any:
    """Parsed JSON, or :data:`_UNREADABLE` with a Problem (a syntax error names its line)."""
    bad_file = _file_problem(path, label)
    if bad_file is not None:
        problems.append(bad_file)
        return _UNREADABLE
    text = decode_text(path, label, problems)
    if text is None:
        return _UNREADABLE
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                label,
                f"line {exc.lineno}",
                f"not valid JSON: {exc.msg} (column {exc.colno})",
                "fix the file or export it again as GeoJSON",
            )
        )
        return _UNREADABLE
    except ValueError as exc:
        problems.append(Problem(label, "", str(exc), "write plain finite numbers"))
        return _UNREADABLE


def _no_constant(name: str) -> float:
    """JSON's NaN and Infinity extensions are refused: they are not numbers to plan with."""
    msg = f"'{name}' is not a finite number (JSON has no NaN or Infinity)"
    raise ValueError(msg)


def _polygon_rings(geometry: object) -> list[tuple[tuple[float, float], ...]] | None:
    """Exterior rings of a Polygon or MultiPolygon as lon/lat tuples; None if malformed."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or not coords:
        return None
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
            return None
        ring = [_position(x) for x in polygon[0]]
        if len(ring) < 4 or any(x is None for x in ring):
            return None
        rings.append(tuple(x for x in ring if x is not None))
    return rings


def load_polygons(
    path: Path, label: str, problems: list[Problem], *, need_population: bool = True
) -> list[District]:
    """Polygons from a GeoJSON file: a name (and for districts a population) per feature.

    Also reads residential-area and water layers for the siting rules, where the
    population is not needed. A district may be a Point (its centre: generated
    points scatter around it) or have no geometry (null; it then needs points).
    """
    districts = []
    for index, feature in _features(_read_json(path, label, problems), label, problems):
        props = feature.get("properties") or {}
        name = props.get("name") or props.get("name_en") or props.get("NAME")
        where = feature_label(index, None if name is None else str(name))
        name = name or f"feature {index}"  # the name reports use (unchanged)
        if need_population and "population" not in props:
            problems.append(
                Problem(label, where, "no 'population' property", "add the district's population")
            )
            continue
        geometry = feature.get("geometry")
        rings = _polygon_rings(geometry)
        centroid = None
        if need_population and isinstance(geometry, dict) and geometry.get("type") == "Point":
            centroid = _position(geometry.get("coordinates"))  # only the centre is known
        if rings is None and centroid is None and (geometry is not None or not need_population):
            problems.append(
                Problem(
                    label,
                    where,
                    "geometry is not a Polygon or MultiPolygon of closed rings of [lon, lat] positions",
                    "use Polygon or MultiPolygon geometries; " + _POSITION_FIX,
                )
            )
            continue
        population = props.get("population", 0)
        if isinstance(population, bool):
            population = str(population)  # refused below: true is not a head count
        try:
            districts.append(
                District(
                    name=str(name),
                    population=population,
                    rings=tuple(rings or ()),
                    centroid=centroid,
                )
            )
        except ValidationError as err:
            problems += pydantic_problems(err, label, where, joiner=", property ")
    return districts
