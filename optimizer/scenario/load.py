"""Loading a scenario: TOML (and variants of it), the tables it names, every check."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.errors import InputError, Problem
from optimizer.scenario.checks import check_references
from optimizer.scenario.schema import (
    DepotSpec,
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
from optimizer.scenario.tables import (
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
            problems += pydantic_problems(err, file, key)
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
                    problems += pydantic_problems(err, file, f"{key} '{ident}'")
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
                load_points_geojson
                if table.suffix.lower() in (".geojson", ".json")
                else load_points_csv
            )
            built["points"] = tuple(loader(table, str(table), problems))
        else:
            built[key] = tuple(
                load_polygons(table, str(table), problems, need_population=key == "districts")
            )
        if len(problems) > before:
            incomplete.add(key)
    built["files"] = files
    check_references(built, file, problems, incomplete)
    if problems:
        raise InputError(problems)
    try:
        return Scenario(**built, base_dir=str(base_dir), source_file=source_file)
    except ValidationError as err:  # pragma: no cover - sections validated above
        raise InputError(pydantic_problems(err, file, "")) from err


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
