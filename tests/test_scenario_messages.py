"""Messages for inputs a tester got wrong: one problem each, in plain words."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.plan import demo_scenario_path
from optimizer.scenario import load_scenario


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A writable copy of the embedded demo scenario."""
    dst = tmp_path / "demo"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "FeatureCollection", "features": [', "not valid JSON"),
        (None, "file not found"),
    ],
)
def test_unreadable_geojson_is_one_problem(demo_dir: Path, text: str | None, expected: str) -> None:
    path = demo_dir / "districts.geojson"
    if text is None:
        path.unlink()
    else:
        path.write_text(text, encoding="utf-8")
    problems = _problems(demo_dir / "scenario.toml")
    assert len(problems) == 1, problems
    assert expected in problems[0] and "NoneType" not in problems[0]


def test_json_null_is_named_in_words(demo_dir: Path) -> None:
    (demo_dir / "districts.geojson").write_text("null", encoding="utf-8")
    (problem,) = _problems(demo_dir / "scenario.toml")
    assert "not a GeoJSON FeatureCollection (got null)" in problem


@pytest.mark.parametrize("removed", ['["garage"]', '["msw", "dry_recyclables"]'])
def test_nothing_to_choose_from_is_never_an_empty_list(demo_dir: Path, removed: str) -> None:
    variant = demo_dir / "variant.toml"
    variant.write_text(f'extends = "scenario.toml"\nremove = {removed}\n', encoding="utf-8")
    problems = _problems(variant)
    assert problems
    assert not [p for p in problems if "[]" in p], problems
    assert any("is removed by this variant's remove" in p for p in problems), problems


def test_unknown_reference_with_nothing_to_choose_says_what_to_add() -> None:
    from optimizer.scenario.checks import Parts, fleet_depots_exist
    from optimizer.scenario.schema import VehicleTypeSpec

    truck = VehicleTypeSpec(id="t", count=1, depot="garage", capacity_t=5, capacity_m3=10)
    (problem,) = fleet_depots_exist(Parts(file="s.toml", fleet=(truck,)))
    assert problem.what == "unknown depot 'garage'"
    assert problem.fix == (
        'add a [[depots]] entry with id = "garage" (there is no depot to choose from)'
    )


def test_load_no_truck_can_carry_names_the_point(demo_dir: Path) -> None:
    from optimizer.demand import estimate_demand
    from optimizer.demand.loads import oversized_loads

    (demo_dir / "points.csv").write_text(
        "id,lon,lat,stream,tonnes_per_day\nP1,24.9400,60.1700,msw,0.5\nP2,24.9450,60.1690,msw,30\n",
        encoding="utf-8",
    )
    toml = demo_dir / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace('districts = "districts.geojson"', 'points = "points.csv"'), "utf-8"
    )
    sc = load_scenario(toml)
    (problem,) = oversized_loads(sc, estimate_demand(sc, season=sc.solver.plan_season))
    assert problem.file.endswith("points.csv") and problem.where == "point 'P2' (stream msw)"
    assert "largest truck allowed to carry 'msw' holds: fleet 'side_loader', 11 t" in problem.what
    assert "allow_unserved = true under [solver]" in problem.fix
    assert "drop penalty" not in str(problem)
    lenient = sc.model_copy(
        update={"solver": sc.solver.model_copy(update={"allow_unserved": True})}
    )
    assert oversized_loads(lenient, estimate_demand(lenient, season="warm")) == []


def test_routing_refusal_is_said_in_scenario_terms(demo_dir: Path) -> None:
    from types import SimpleNamespace

    import pandas as pd

    from optimizer.demand.estimate import COLUMNS
    from optimizer.errors import Problem
    from optimizer.stages.routes import _scenario_input_error

    sc = load_scenario(demo_dir / "scenario.toml")
    prep = SimpleNamespace(scenario=sc, day_demand=pd.DataFrame(columns=COLUMNS))
    refused = InputError(
        [Problem("routing problem", "collection point P1 (msw)", "no truck may serve it", "x")]
    )
    (problem,) = _scenario_input_error(prep, refused).problems  # type: ignore[arg-type]
    assert problem.file == sc.source_file and problem.where == "collection point P1 (msw)"
    assert "allow_unserved = true under [solver]" in problem.fix
    assert "drop penalty" not in str(problem)
