"""The typed plan (optimizer/plan_types.py) and its JSON Schema (docs/plan.schema.json).

* The committed schema is the one the types generate (regenerate with
  ``python -m optimizer.plan_types``).
* Real plans (the demo, sites-only, three-day and routes-only runs) validate against the
  types strictly: an undeclared key or a wrong type is rejected.
* Saved plans are checked when read back (``optimizer compare``): a malformed
  plan.json is an InputError naming the file, not a KeyError.
* The report modules read only keys the types declare.
"""

from __future__ import annotations

import copy
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.plan_types import (
    SCHEMA_PATH,
    Plan,
    load_plan,
    schema_text,
    validate_plan,
)
from optimizer.plan_upgrade import upgrade_plan

HERE = Path(__file__).parent
ROOT = HERE.parent
SCENARIO = ROOT / "optimizer" / "data" / "demo" / "scenario.toml"
FIXTURE = HERE / "fixtures" / "plan_small.json"


def test_committed_schema_matches_the_types() -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "docs/plan.schema.json is out of date with optimizer/plan_types.py; "
        "regenerate it with `python -m optimizer.plan_types` and commit it"
    )


def test_schema_forbids_undeclared_keys() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """plan.json of the demo, a sites-only run, a three-day run and a routes-only run."""
    base = tmp_path_factory.mktemp("plans")
    runs = {
        "demo": ["demo", "--out", str(base / "demo"), "--time-limit", "3"],
        "sites": ["sites", str(SCENARIO), "--out", str(base / "sites"), "--time-limit", "3"],
        "days": ["plan", str(SCENARIO), "--out", str(base / "days"), "--days", "3",
                 "--time-limit", "6"],
        "routes": ["routes", str(SCENARIO), "--sites", str(base / "sites"),
                   "--out", str(base / "routes"), "--time-limit", "3"],
    }  # fmt: skip
    out = {}
    for name, argv in runs.items():
        assert main(["-q", *argv]) == 0
        out[name] = json.loads((base / name / "plan.json").read_text(encoding="utf-8"))
    return out


@pytest.mark.parametrize("name", ["demo", "sites", "days", "routes"])
def test_real_plans_validate_strictly(plans: dict[str, dict[str, Any]], name: str) -> None:
    plan = plans[name]
    validated = validate_plan(plan)
    assert validated == plan  # nothing coerced, dropped or added


def test_real_plans_cover_the_optional_parts(plans: dict[str, dict[str, Any]]) -> None:
    """The runs exercise what the types leave optional or nullable."""
    sites, days = plans["sites"]["kpis"], plans["days"]["kpis"]
    assert sites["distance_km"] is None and "plan_days" not in sites
    assert days["plan_days"] == 3 and len(days["route_kpis_by_day"]) == 3
    assert "npv_kzt" in days and "robustness" in days
    assert plans["sites"]["points"][0]["due_days"] is None
    assert "npv_kzt" not in plans["routes"]["kpis"]  # no site stage, no site figures
    assert all(p["due_days"] is not None for p in plans["days"]["points"])


def _first_stop(plan: dict[str, Any]) -> dict[str, Any]:
    stop: dict[str, Any] = plan["routes"][0]["stops"][1]
    return stop


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: p.__setitem__("warnigns", p.pop("warnings")), id="top-level"),
        pytest.param(lambda p: p["kpis"].__setitem__("npv_kz", 1), id="kpis"),
        pytest.param(
            lambda p: _first_stop(p).__setitem__("arival_min", _first_stop(p).pop("arrival_min")),
            id="stop",
        ),
        pytest.param(lambda p: p["facilities"][0].__setitem__("open", "yes"), id="type"),
        pytest.param(lambda p: p["facilities"][0].__setitem__("state", "shut"), id="state"),
        pytest.param(lambda p: p["routes"][0].__setitem__("day", True), id="bool-for-int"),
    ],
)
def test_misspelt_key_or_wrong_type_is_rejected(
    plans: dict[str, dict[str, Any]], spoil: Any
) -> None:
    plan = copy.deepcopy(plans["demo"])
    spoil(plan)
    with pytest.raises(ValidationError):
        validate_plan(plan)


def test_load_plan_names_the_file_of_a_malformed_plan(
    plans: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    plan = copy.deepcopy(plans["demo"])
    plan["kpis"]["distance_kms"] = plan["kpis"].pop("distance_km")
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_plan(folder)
    text = err.value.render()
    assert str(folder / "plan.json") in text and "distance_km" in text
    # the compare command reports it and exits 1
    good = tmp_path / "good"
    good.mkdir()
    (good / "plan.json").write_text(json.dumps(plans["demo"]), encoding="utf-8")
    assert main(["-q", "compare", str(good), str(folder), "--out", str(tmp_path / "c.html")]) == 1


def test_load_plan_rejects_other_versions_and_non_plans(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"schema_version": 2}), encoding="utf-8")
    with pytest.raises(InputError, match="schema version 2"):
        load_plan(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="not a plan"):
        load_plan(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable plan"):
        load_plan(path)


def test_an_older_schema_1_plan_is_completed_and_validates() -> None:
    """tests/fixtures/plan_small.json predates the fleet, residue flows, stages, …"""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError):
        validate_plan(data)
    plan = load_plan(FIXTURE)
    assert plan["fleet"] == [] and plan["residue_flows"] == []
    assert plan["scenario"]["stage"] == "plan"
    assert plan["kpis"]["sites_open"] == sum(1 for f in plan["facilities"] if f["open"])
    assert validate_plan(upgrade_plan(data)) == plan


def test_an_older_plans_point_stream_ref_ids_become_ref_id_and_stream() -> None:
    """Plans before each stop had a stream named stops "<point id>|<stream>"."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    stops = data["routes"][0]["stops"]
    k = next(i for i, s in enumerate(stops) if s["kind"] == "stop")
    d = next(i for i, s in enumerate(stops) if s["kind"] != "stop")
    point_id = stops[k]["ref_id"]
    stops[k]["ref_id"] = f"{point_id}|recyclables"
    stops[d]["ref_id"] = "garage|north"  # not a collection stop: left as it is
    for i in (k, d):
        stops[i].pop("stream", None)
    upgraded = upgrade_plan(data)["routes"][0]["stops"]
    assert (upgraded[k]["ref_id"], upgraded[k]["stream"]) == (point_id, "recyclables")
    assert (upgraded[d]["ref_id"], upgraded[d]["stream"]) == ("garage|north", None)


def _declared_keys() -> set[str]:
    """Every key of every TypedDict reachable from Plan."""
    keys: set[str] = set()
    seen: set[Any] = set()

    def walk(tp: Any) -> None:
        if tp in seen:
            return
        if typing.is_typeddict(tp) or hasattr(tp, "__required_keys__"):
            seen.add(tp)
            hints = typing.get_type_hints(tp)
            keys.update(hints)
            for hint in hints.values():
                walk(hint)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    walk(Plan)
    return keys


def test_report_modules_read_only_declared_keys() -> None:
    """mypy checks plan["key"]; this checks the .get("key") reads mypy lets through."""
    declared = _declared_keys()
    undeclared: dict[str, set[str]] = {}
    for path in sorted((ROOT / "optimizer" / "report").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for key in re.findall(r"""\.get\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""", text):
            if key not in declared:
                undeclared.setdefault(path.name, set()).add(key)
    assert not undeclared, f"report modules read keys no plan type declares: {undeclared}"
