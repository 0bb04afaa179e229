"""Loading a scenario: TOML (and variants of it), the tables it names, every check."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.errors import InputError, Problem
from optimizer.scenario.checks import Parts, run_checks
from optimizer.scenario.schema import (
    DepotSpec,
    District,
    EconomicsSpec,
    FacilitySpec,
    GenerationSpec,
    NetworkSpec,
    Scenario,
    ScenarioMeta,
    SitingSpec,
    SolverSpec,
    StreamSpec,
    StrictRecord,
    VehicleTypeSpec,
)
from optimizer.scenario.shapes import SHAPE_SUFFIXES, load_shape_layer
from optimizer.scenario.tables import (
    decode_text,
    entry_label,
    load_points_csv,
    load_points_geojson,
    load_polygons,
    pydantic_problems,
)

# ---------------------------------------------------------------------------------
# Loading


_TOP_KEYS = {
    "scenario", "network", "streams", "generation", "depots", "facilities",
    "fleet", "solver", "points", "districts", "siting", "economics", "residential", "water",
}  # fmt: skip


_SECTION_MODELS: dict[str, type[StrictRecord]] = {
    "scenario": ScenarioMeta,
    "network": NetworkSpec,
    "generation": GenerationSpec,
    "solver": SolverSpec,
    "siting": SitingSpec,
    "economics": EconomicsSpec,
}
_LIST_MODELS: dict[str, type[StrictRecord]] = {
    "streams": StreamSpec,
    "depots": DepotSpec,
    "facilities": FacilitySpec,
    "fleet": VehicleTypeSpec,
}


class ScenarioInputError(InputError):
    """Problems in a scenario, with the records that did validate.

    ``optimizer validate`` goes on to check those records against the road network,
    so that one run lists every problem, not only the ones found before the map.
    """

    def __init__(self, problems: Iterable[Problem], partial: Mapping[str, Any], base_dir: Path):
        super().__init__(problems)
        self.partial: dict[str, Any] = dict(partial)
        self.base_dir = base_dir


def _label(path: Path) -> str:
    return str(path)


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    """A TOML file as a dict; a UTF-8 byte-order mark (Notepad writes one) is accepted."""
    if not path.is_file():
        what = "is a folder, not a scenario file" if path.is_dir() else "scenario file not found"
        raise InputError.one(label, "", what, "check the path (a .toml file)")
    problems: list[Problem] = []
    text = decode_text(path, label, problems)
    if text is None:
        raise InputError(problems)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        raise InputError.one(
            label,
            f"line {line.group(1)}" if line else "",
            f"not valid TOML: {exc}",
            "fix the syntax (see docs/scenarios.md)",
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


def _removal_problems(
    base: Mapping[str, Any], variant: Mapping[str, Any], file: str
) -> list[Problem]:
    """``remove`` must be a list of ids of records in the base or the variant."""
    remove = variant.get("remove", [])
    fix = 'write remove = ["id", ...] with ids of streams, depots, facilities or fleet entries'
    if not isinstance(remove, list) or not all(isinstance(x, str) for x in remove):
        return [Problem(file, "remove", "must be a list of ids", fix)]
    records = [source.get(key) for source in (base, variant) for key in _LIST_MODELS]
    known = {
        r.get("id")
        for items in records
        if isinstance(items, list)
        for r in items
        if isinstance(r, dict)
    }
    return [
        Problem(
            file,
            f"remove '{rid}'",
            f"no stream, depot, facility or fleet entry has the id '{rid}'",
            "check the spelling; ids are case-sensitive",
        )
        for rid in remove
        if rid not in known
    ]


def _read_base(path: Path, parent: object, file: str) -> dict[str, Any]:
    """The base scenario a variant extends: an existing, non-variant file beside it."""
    if not isinstance(parent, str) or not parent.strip():
        raise InputError.one(
            file, "extends", "must be a file name", 'write extends = "scenario.toml"'
        )
    parent_path = path.parent / parent
    if parent_path.resolve() == path.resolve():
        raise InputError.one(file, "extends", "the file extends itself", "extend the base scenario")
    if not parent_path.is_file():
        raise InputError.one(
            file,
            "extends",
            f"base scenario '{parent}' not found ({parent_path})",
            "name a scenario file in the same folder",
        )
    if parent_path.parent.resolve() != path.parent.resolve():
        raise InputError.one(
            file,
            "extends",
            "the base scenario must be in the same folder",
            "move the variant beside it",
        )
    base = _read_toml(parent_path, str(parent_path))
    if "extends" in base:
        raise InputError.one(
            file,
            "extends",
            f"'{parent}' is itself a variant (it extends '{base['extends']}'); "
            "a variant cannot extend another variant, and variants cannot extend each other",
            "extend the base scenario",
        )
    return base


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
    removed: list[str] = []
    if "extends" in raw:
        base = _read_base(path, raw["extends"], file)
        removal = _removal_problems(base, raw, file)
        if removal:
            raise InputError(removal)
        removed = list(raw.get("remove", []))
        raw = _merge_variant(base, raw)
    elif "remove" in raw:
        raise InputError.one(
            file, "remove", "only a variant (extends = ...) can remove records", "delete the key"
        )
    return scenario_from_dict(raw, base_dir=base_dir, source_file=file, removed=removed)


def scenario_from_dict(
    raw: Mapping[str, Any],
    *,
    base_dir: Path,
    source_file: str,
    removed: Iterable[str] = (),
) -> Scenario:
    """Validate a parsed scenario mapping; paths inside it are relative to ``base_dir``.

    ``removed``: the ids a variant's ``remove`` dropped (references to them are named so).
    """
    removed = tuple(removed)
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
    invalid_ids: dict[str, set[str]] = {}
    for key, model in _SECTION_MODELS.items():
        if key not in raw:
            if key in ("scenario", "network"):
                problems.append(
                    Problem(file, f"[{key}]", "section is missing", f"add a [{key}] section")
                )
            continue
        if not isinstance(raw[key], dict):
            problems.append(Problem(file, f"[{key}]", "must be a table", f"write it as [{key}]"))
            incomplete.add(key)
            continue
        try:
            built[key] = model(**raw[key])
        except ValidationError as err:
            problems += pydantic_problems(err, file, key)
            incomplete.add(key)
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
            has_id = isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
            where = f"{key} '{item['id']}'" if has_id else entry_label(key, index)
            try:
                records.append(model(**item))
            except (ValidationError, TypeError) as err:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    invalid_ids.setdefault(key, set()).add(item["id"])
                if isinstance(err, ValidationError):
                    problems += pydantic_problems(err, file, where)
                else:
                    problems.append(
                        Problem(
                            file,
                            where,
                            "must be a table",
                            "see docs/scenarios.md",
                        )
                    )
        built[key] = tuple(records)
        if len(problems) > before:
            incomplete.add(key)
    files: dict[str, str] = {}
    for key in ("residential", "water"):  # siting layers: one file or a list of files
        value = raw.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            before = len(problems)
            layer: list[District] = []
            for name in value:
                layer += _siting_layer(key, name, base_dir, problems)
            built[key] = tuple(layer)
            files[key] = ", ".join(str(_table(base_dir, v)) for v in value)
            if len(problems) > before:
                incomplete.add(key)
    for key in ("points", "districts", "residential", "water"):
        value = raw.get(key)
        if value is None or key in files:
            continue
        if not isinstance(value, str):
            example = (
                f'write {key} = "{key}.geojson" or a list of files'
                if key in ("residential", "water")
                else f'write {key} = "{key}.csv"'
            )
            problems.append(Problem(file, key, "must be a file name", example))
            continue
        table = Path(value) if Path(value).is_absolute() else base_dir / value
        files[key] = str(table)
        if "\\" in value and not table.exists():
            problems.append(_backslash_problem(file, key, value, base_dir))
            incomplete.add(key)
            continue
        before = len(problems)
        if key == "points":
            loader = (
                load_points_geojson
                if table.suffix.lower() in (".geojson", ".json")
                else load_points_csv
            )
            built["points"] = tuple(loader(table, str(table), problems))
        elif key != "districts":
            built[key] = tuple(_siting_layer(key, value, base_dir, problems))
        else:
            built[key] = tuple(load_polygons(table, str(table), problems, need_population=True))
        if len(problems) > before:
            incomplete.add(key)
    built["files"] = files
    if problems:  # some records failed: still apply the cross-record rules to the rest
        problems += run_checks(Parts.partial(built, file, incomplete, invalid_ids, removed))
        raise ScenarioInputError(problems, built, base_dir)
    try:
        return Scenario.model_validate(
            {**built, "base_dir": str(base_dir), "source_file": source_file},
            context={"removed": removed},
        )
    except ValidationError as err:  # the cross-record rules of Scenario itself
        raise ScenarioInputError(pydantic_problems(err, file, ""), built, base_dir) from err


def _table(base_dir: Path, value: str) -> Path:
    return Path(value) if Path(value).is_absolute() else base_dir / value


def _siting_layer(key: str, value: str, base_dir: Path, problems: list[Problem]) -> list[District]:
    """A residential or water layer: GeoJSON polygons, or a (Geofabrik) shapefile."""
    table = _table(base_dir, value)
    if table.suffix.lower() in SHAPE_SUFFIXES:
        return load_shape_layer(table, str(table), key, problems)
    return load_polygons(table, str(table), problems, need_population=False)


def _backslash_problem(file: str, key: str, value: str, base_dir: Path) -> Problem:
    """A table path written with Windows backslashes, which only Windows reads."""
    forward = value.replace("\\", "/")
    exists = (base_dir / forward).is_file()
    return Problem(
        file,
        key,
        f"file not found ({value}): the path uses backslashes (\\)"
        + (f", and {forward} exists" if exists else ""),
        f'use forward slashes, also on Windows: {key} = "{forward}"',
    )


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
