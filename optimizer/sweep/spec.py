"""Reading a sweep file: the base scenarios, the axes to vary and the cases they make.

Every case is a variant of a base scenario, built with the same merge that
``extends`` uses (:func:`optimizer.scenario.load._merge_variant`) and validated up
front, so that a bad path or value is an input error before any solver starts.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from optimizer.errors import InputError, Problem
from optimizer.scenario import Scenario
from optimizer.scenario.load import (
    _LIST_MODELS,
    _SECTION_MODELS,
    _merge_variant,
    _read_base,
    _read_toml,
    _removal_problems,
    scenario_from_dict,
)

Stage = Literal["plan", "sites", "routes"]

_SWEEP_KEYS = {"scenario", "scenarios", "stage", "time_limit_s", "seeds", "demand_seeds", "name"}
_CASE_KEYS = {"name", "scenario"}
_DOC = "see docs/sweeps.md"


@dataclass(frozen=True)
class Case:
    """One run of a sweep: a validated scenario and what set it apart from its base."""

    name: str
    base: str  # the base scenario file's name (as the sweep file gives it)
    values: Mapping[str, Any]  # dotted path -> value set on the base
    seed: int
    scenario: Scenario = field(repr=False, compare=False)


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file: its cases, in order, and how each is run."""

    file: Path
    name: str
    stage: Stage
    time_limit_s: float | None
    cases: tuple[Case, ...]


def _bad(file: str, where: str, what: str, fix: str) -> InputError:
    return InputError.one(file, where, what, fix)


def _safe(text: str) -> str:
    """A piece of a case name usable as a folder name on every system."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("._") or "case"


def _value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def read_base_raw(path: Path) -> dict[str, Any]:
    """A scenario file as one mapping, a variant merged onto its base as ``extends`` does."""
    file = str(path)
    raw = _read_toml(path, file)
    if "extends" in raw:
        base = _read_base(path, raw["extends"], file)
        removal = _removal_problems(base, raw, file)
        if removal:
            raise InputError(removal)
        raw = _merge_variant(base, raw)
    return raw


def _list_record(raw: Mapping[str, Any], key: str, rid: str) -> dict[str, Any] | None:
    for record in raw.get(key, []) or []:
        if isinstance(record, dict) and record.get("id") == rid:
            return record
    return None


def path_problem(raw: Mapping[str, Any], path: str) -> str | None:
    """Why a dotted path names no value a scenario can hold, or None when it does."""
    parts = path.split(".")
    top = parts[0]
    if top in _LIST_MODELS:
        if len(parts) < 3:
            return f"'{path}' needs a record id and a field: {top}.ID.FIELD"
        record = _list_record(raw, top, parts[1])
        if record is None:
            ids = ", ".join(str(r.get("id")) for r in raw.get(top, []) if isinstance(r, dict))
            return f"no {top} record has the id '{parts[1]}' (ids: {ids})"
        model, rest, current = _LIST_MODELS[top], parts[2:], record
    elif top in _SECTION_MODELS:
        if len(parts) < 2:
            return f"'{path}' needs a field: {top}.FIELD"
        model, rest, current = _SECTION_MODELS[top], parts[1:], raw.get(top, {})
    else:
        known = ", ".join(sorted([*_LIST_MODELS, *_SECTION_MODELS]))
        return f"unknown section '{top}' (known: {known})"
    if rest[0] not in model.model_fields:
        return f"{top} has no field '{rest[0]}' (fields: {', '.join(model.model_fields)})"
    for part in rest[:-1]:  # a key inside a table field, e.g. stream_shares.msw
        current = current.get(part, {}) if isinstance(current, dict) else None
        if not isinstance(current, dict):
            return f"'{part}' in '{path}' is not a table, so it has no key '{rest[-1]}'"
    return None


def _set_nested(table: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    for key in keys[:-1]:
        inner = table.get(key)
        table[key] = dict(inner) if isinstance(inner, dict) else {}
        table = table[key]
    table[keys[-1]] = value


def variant_of(raw: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The variant (in ``extends`` form) that sets each dotted path to its value."""
    variant: dict[str, Any] = {}
    for path, value in values.items():
        parts = path.split(".")
        top = parts[0]
        if top in _LIST_MODELS:
            records = variant.setdefault(top, [])
            record = next((r for r in records if r.get("id") == parts[1]), None)
            if record is None:
                record = copy.deepcopy(_list_record(raw, top, parts[1]) or {"id": parts[1]})
                records.append(record)
            _set_nested(record, parts[2:], value)
        else:
            section = variant.setdefault(top, copy.deepcopy(dict(raw.get(top, {}))))
            _set_nested(section, parts[1:], value)
    return variant


def _axis_values(file: str, where: str, values: Any) -> list[Any]:
    if not isinstance(values, list):
        raise _bad(file, where, "must be a list of values", f"write {where} = [value, ...]")
    if not values:
        raise _bad(file, where, "the axis is empty", "give at least one value, or delete the axis")
    return values


def _seeds(file: str, sweep: Mapping[str, Any], key: str) -> list[int | None]:
    if key not in sweep:
        return [None]
    values = _axis_values(file, f"[sweep].{key}", sweep[key])
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 2**31 - 1:
            raise _bad(file, f"[sweep].{key}", f"{v!r} is not a seed", "use whole numbers >= 0")
    return list(values)


def _bases(file: str, folder: Path, sweep: Mapping[str, Any]) -> list[str]:
    if "scenario" in sweep and "scenarios" in sweep:
        raise _bad(file, "[sweep]", "both scenario and scenarios are given", "keep one")
    names = sweep.get("scenarios", [sweep["scenario"]] if "scenario" in sweep else None)
    if names is None:
        raise _bad(
            file, "[sweep]", "no base scenario", 'add scenario = "scenario.toml" (beside this file)'
        )
    names = _axis_values(file, "[sweep].scenarios", names)
    for name in names:
        if not isinstance(name, str) or not (folder / name).is_file():
            raise _bad(
                file,
                "[sweep].scenarios",
                f"scenario file {name!r} not found in {folder}",
                "name scenario files relative to the sweep file",
            )
    return list(names)


def _cases_table(file: str, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    cases = raw.get("cases", [])
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise _bad(file, "[[cases]]", "must be an array of tables", "write each as [[cases]]")
    names = [c.get("name") for c in cases]
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise _bad(file, f"[[cases]] #{i + 1}", "has no name", 'add name = "short-name"')
    if len(set(names)) != len(names):
        raise _bad(file, "[[cases]]", "two cases have the same name", "give each a new name")
    return [dict(c) for c in cases] or [{}]


def _scenario_problems(
    err: InputError, file: str, case: str, values: Mapping[str, Any]
) -> list[Problem]:
    """A case's scenario problems, renamed to the sweep file and the values that caused them."""
    set_text = ", ".join(f"{k} = {_value_text(v)!s}" for k, v in values.items()) or "no change"
    return [
        Problem(
            file,
            f"case '{case}' ({set_text})",
            f"{p.where}: {p.what}" if p.where else p.what,
            f"{p.fix.rstrip('.')}; change that value in the sweep file" if p.fix else _DOC,
        )
        for p in err.problems
    ]


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file and build (and validate) every case's scenario.

    Raises
    ------
    InputError
        Naming the sweep file, the axis or case, and the fix, before anything runs.
    """
    path = Path(path)
    file = str(path)
    raw = _read_toml(path, file)
    unknown = sorted(set(raw) - {"sweep", "axes", "cases"})
    if unknown:
        raise _bad(file, f"[{unknown[0]}]", "unknown section", "use [sweep], [axes] and [[cases]]")
    sweep = raw.get("sweep")
    if not isinstance(sweep, dict):
        raise _bad(file, "[sweep]", "section is missing", f"add a [sweep] section ({_DOC})")
    bad_keys = sorted(set(sweep) - _SWEEP_KEYS)
    if bad_keys:
        raise _bad(
            file, f"[sweep].{bad_keys[0]}", "unknown key", f"use {', '.join(sorted(_SWEEP_KEYS))}"
        )
    stage = sweep.get("stage", "plan")
    if stage not in ("plan", "sites", "routes"):
        raise _bad(file, "[sweep].stage", f"unknown stage {stage!r}", "use plan, sites or routes")
    limit = sweep.get("time_limit_s")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit <= 86_400
    ):
        raise _bad(file, "[sweep].time_limit_s", f"{limit!r} is not seconds", "use 1 to 86400")
    bases = _bases(file, path.parent, sweep)
    seeds = _seeds(file, sweep, "seeds")
    demand_seeds = _seeds(file, sweep, "demand_seeds")
    axes = raw.get("axes", {})
    if not isinstance(axes, dict):
        raise _bad(file, "[axes]", "must be a table", '[axes] then "section.field" = [values]')
    grid_axes = {k: _axis_values(file, f'[axes] "{k}"', v) for k, v in axes.items()}
    cases_in = _cases_table(file, raw)
    base_raw = {name: read_base_raw(path.parent / name) for name in bases}
    problems: list[Problem] = []
    for axis in grid_axes:
        for name, braw in base_raw.items():
            why = path_problem(braw, axis)
            if why:
                problems.append(
                    Problem(file, f'[axes] "{axis}"', f"{why} in {name}", "fix the dotted path")
                )
    for case in cases_in:
        for key in set(case) - _CASE_KEYS:
            for name, braw in base_raw.items():
                if case.get("scenario") not in (None, name):
                    continue
                why = path_problem(braw, key)
                if why:
                    where = f"case '{case.get('name')}' \"{key}\""
                    problems.append(Problem(file, where, f"{why} in {name}", "fix the dotted path"))
    if problems:
        raise InputError(_unique(problems))
    cases = _build_cases(file, base_raw, bases, cases_in, grid_axes, seeds, demand_seeds)
    name = sweep.get("name", path.stem)
    return SweepSpec(path, str(name), stage, limit, tuple(cases))


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _build_cases(
    file: str,
    base_raw: Mapping[str, dict[str, Any]],
    bases: Sequence[str],
    cases_in: Sequence[Mapping[str, Any]],
    grid_axes: Mapping[str, list[Any]],
    seeds: Sequence[int | None],
    demand_seeds: Sequence[int | None],
) -> list[Case]:
    """The cross product of bases × cases × grid × demand seeds × seeds, each validated."""
    folder = Path(file).parent
    out: list[Case] = []
    problems: list[Problem] = []
    grid = list(itertools.product(*grid_axes.values()))
    for base, case, combo, dseed, seed in itertools.product(
        bases, cases_in, grid, demand_seeds, seeds
    ):
        if case.get("scenario") not in (None, base):
            continue
        values: dict[str, Any] = {k: v for k, v in case.items() if k not in _CASE_KEYS}
        values.update(zip(grid_axes, combo, strict=True))
        if dseed is not None:
            values["generation.seed"] = dseed
        parts = [Path(base).stem] if len(bases) > 1 else []
        parts += [str(case["name"])] if "name" in case else []
        parts += [
            f"{k.rsplit('.', 1)[-1]}={_value_text(v)}"
            for k, v in zip(grid_axes, combo, strict=True)
        ]
        parts += [f"demand{dseed}"] if dseed is not None and len(demand_seeds) > 1 else []
        parts += [f"seed{seed}"] if seed is not None and len(seeds) > 1 else []
        name = _safe("_".join(parts) or "base")
        raw = _merge_variant(base_raw[base], variant_of(base_raw[base], values))
        try:
            scenario = scenario_from_dict(
                raw, base_dir=(folder / base).parent.resolve(), source_file=str(folder / base)
            )
        except InputError as err:
            problems += _scenario_problems(err, file, name, values)
            continue
        chosen = seed if seed is not None else scenario.solver.seed
        out.append(Case(name, base, values, chosen, scenario))
    if problems:
        raise InputError(_unique(problems))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _bad(file, f"case '{dup}'", "two cases get the same name", "name the [[cases]] apart")
    if not out:
        raise _bad(file, "[[cases]]", "no case applies to any scenario", "check scenario = ...")
    return out
