"""Scenario inputs beyond the corpus: what must load, rules shared by every entry point.

A UTF-8 byte-order mark, Cyrillic ids and HTML in names must load (and plan);
cross-record rules hold for a ``Scenario`` built in Python as for a file; one
mistake gives one message; size limits say why; docs/scenarios.md lists every key.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.network import demo_network, snap_points
from optimizer.network.snap import MAX_SNAP_M
from optimizer.plan import demo_scenario_path
from optimizer.scenario import Scenario, load_scenario
from optimizer.scenario import schema as sch
from optimizer.scenario.limits import MAX_SNAP_M as SCHEMA_MAX_SNAP_M
from optimizer.validate import validate_scenario_file

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
POINTS = (
    "id,lon,lat,stream,tonnes_per_day,district\n"
    "P1,24.9400,60.1700,msw,0.5,North\n"
    "P2,24.9450,60.1690,msw,0.4,North\n"
    "P3,24.9480,60.1720,msw,0.6,Centre\n"
)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A writable copy of the embedded demo scenario."""
    dst = tmp_path / "demo"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _use_points(folder: Path, text: str, *, bom: bool = False) -> Path:
    data = text.encode("utf-8")
    (folder / "points.csv").write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    path = folder / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "points.csv"')
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def test_bom_in_toml_and_csv_loads(demo_dir: Path) -> None:
    path = _use_points(demo_dir, POINTS, bom=True)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    sc = load_scenario(path)
    assert [p.id for p in sc.points] == ["P1", "P2", "P3"]
    assert validate_scenario_file(path)[0].startswith("scenario demo")


def test_unclosed_quote_loses_no_row(demo_dir: Path) -> None:
    """The reported bug: 13 rows read as 5 points, the rest inside one district value."""
    rows = [f"P{i},24.94{i % 10},60.17,msw,0.5,North" for i in range(1, 14)]
    rows[4] = rows[4].replace(",North", ',"North')
    path = _use_points(demo_dir, POINTS.split("\n", 1)[0] + "\n" + "\n".join(rows) + "\n")
    (problem,) = _problems(path)
    assert "points.csv: line 6" in problem and "quot" in problem


def test_kazakh_ids_and_html_names_plan(demo_dir: Path, tmp_path: Path) -> None:
    points = POINTS.replace("P1,", "Нүкте-1,").replace("P2,", "Алматы №2,")
    points = points.replace("North", "Сарыарқа <b>&amp;</b>")
    path = _use_points(demo_dir, points)
    _edit(path, 'id = "garage"', 'id = "гараж"')
    _edit(path, 'depot = "garage"', 'depot = "гараж"')
    _edit(path, 'depot = "garage"', 'depot = "гараж"')
    _edit(path, 'id = "landfill"', 'id = "полигон"')
    _edit(path, 'name = "Truck depot (hypothetical)"', 'name = "<script>alert(1)</script> депо"')
    _edit(path, 'id = "side_loader"', 'id = "КамАЗ"')
    sc = load_scenario(path)
    assert {p.id for p in sc.points} >= {"Нүкте-1", "Алматы №2"}
    validate_scenario_file(path)
    out = tmp_path / "plan"
    assert main(["plan", str(path), "--out", str(out), "--time-limit", "2"]) == 0
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert {"Нүкте-1", "Алматы №2"} <= {p["id"] for p in plan["points"]}
    assert plan["depots"][0]["name"].startswith("<script>")
    assert "<script>alert(1)</script>" not in (out / "map.html").read_text(encoding="utf-8")


def _demo_fields() -> dict[str, Any]:
    sc = load_scenario(demo_scenario_path())
    return {name: getattr(sc, name) for name in Scenario.model_fields}


def test_scenario_built_in_python_applies_cross_record_rules() -> None:
    fields = _demo_fields()
    fleet = list(fields["fleet"])
    fleet[0] = fleet[0].model_copy(update={"depot": "nowhere"})
    with pytest.raises(ValidationError) as info:
        Scenario(**{**fields, "fleet": tuple(fleet)})
    assert "fleet 'side_loader'.depot: unknown depot 'nowhere'" in str(info.value)


def test_python_and_file_report_every_cross_record_problem() -> None:
    fields = _demo_fields()
    fleet = [v.model_copy(update={"depot": "nowhere"}) for v in fields["fleet"]]
    facilities = [f.model_copy(update={"accepts": ("mws",)}) for f in fields["facilities"]]
    with pytest.raises(ValidationError) as info:
        Scenario(**{**fields, "fleet": tuple(fleet), "facilities": tuple(facilities)})
    text = str(info.value)
    assert text.count("unknown depot 'nowhere'") == 2
    assert text.count("unknown stream 'mws'") == 3
    assert "no facility accepts stream 'msw'" in text


def test_missing_accepted_by_is_one_message(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, 'accepted_by = ["landfill", "sorting", "transfer"]\n', "")
    (problem,) = _problems(path)
    assert "streams 'msw'.accepted_by: required value is missing" in problem


def test_every_kind_of_problem_at_once(demo_dir: Path) -> None:
    path = _use_points(demo_dir, POINTS.replace("0.4,", "x,").replace("msw,0.6", "glass,0.6"))
    _edit(path, "count = 3", "count = true")
    _edit(path, 'depot = "garage"\ncapacity_t = 6', 'depot = "nowhere"\ncapacity_t = 6')
    _edit(path, "max_snap_m = 250", "max_snap_m = 1e7")
    text = "\n".join(_problems(path))
    for expected in (
        "fleet 'side_loader'.count",
        "fleet 'recyclables_truck'.depot: unknown depot 'nowhere'",
        "network.max_snap_m",
        "points.csv: line 3 (id P2): column tonnes_per_day: 'x' is not a number",
        "points.csv: point 'P3': unknown stream 'glass'",
    ):
        assert expected in text


def test_a_bad_section_is_reported_once(demo_dir: Path) -> None:
    """A [generation] that fails its own checks does not also count as missing."""
    _edit(demo_dir / "scenario.toml", "people_per_point = 535", "people_per_point = 0.0001")
    (problem,) = _problems(demo_dir / "scenario.toml")
    assert "generation.people_per_point" in problem and "fewer than 10 people" in problem


def test_limits_say_why(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, "max_snap_m = 250", "max_snap_m = 9000")
    _edit(path, "people_per_point = 535", "people_per_point = 10")
    gj = demo_dir / "districts.geojson"
    gj.write_text(gj.read_text().replace('"population": 6500', '"population": 4000000'))
    text = "\n".join(_problems(path))
    assert "at most 5,000" in text and "not beside it" in text
    assert "at most 20,000 are supported" in text and "GB of memory" in text


def test_snapping_refuses_absurd_moves_whatever_the_limit() -> None:
    assert MAX_SNAP_M == SCHEMA_MAX_SNAP_M
    net = demo_network()
    _, min_lat, max_lon, max_lat = net.bbox()
    # About 8 km east of the last street: refused although the caller allows 1e9 m.
    lon, lat = max_lon + 0.14, (min_lat + max_lat) / 2
    with pytest.raises(InputError) as info:
        snap_points(net, ["depot:d"], np.array([lon]), np.array([lat]), max_snap_m=1e9, file="x")
    assert "depot d" in str(info.value)


def test_validate_finds_problems_on_the_map_all_at_once(demo_dir: Path) -> None:
    path = _use_points(demo_dir, POINTS.replace("24.9480,60.1720", "71.43,51.13"))
    _edit(path, "lon = 24.9375\nlat = 60.1655", "lon = 60.1655\nlat = 24.9375")
    with pytest.raises(InputError) as info:
        validate_scenario_file(path)
    text = str(info.value)
    assert "points.csv: point P3" in text
    assert "scenario.toml: depot garage" in text


def test_first_scenario_in_the_docs_validates(tmp_path: Path) -> None:
    """The copy-ready example of docs/scenarios.md stays valid on the demo network."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## A first scenario") :]
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    csv = re.search(r"```csv\n(.*?)```", section, re.S)
    assert toml and csv
    (tmp_path / "first.toml").write_text(toml.group(1), encoding="utf-8")
    (tmp_path / "first_points.csv").write_text(csv.group(1), encoding="utf-8")
    lines = validate_scenario_file(tmp_path / "first.toml")
    assert "collection points: 4" in "\n".join(lines)


def test_validate_lists_file_and_map_problems_together(demo_dir: Path) -> None:
    """A bad value does not hide a depot or a point off the map: one run lists all."""
    path = _use_points(demo_dir, POINTS.replace("24.9480,60.1720", "71.43,51.13"))
    _edit(path, "capacity_t = 11", "capacity_t = -11")
    _edit(path, "lon = 24.9375\nlat = 60.1655", "lon = 60.1655\nlat = 24.9375")
    with pytest.raises(InputError) as info:
        validate_scenario_file(path)
    text = str(info.value)
    assert "3 problems found" in text
    assert "fleet 'side_loader'.capacity_t" in text
    assert "scenario.toml: depot garage" in text and "points.csv: point P3" in text


def _models() -> list[type[BaseModel]]:
    """Every model of the schema a scenario file can contain."""
    return [
        sch.ScenarioMeta,
        sch.NetworkSpec,
        sch.StreamSpec,
        sch.GenerationSpec,
        sch.GenerationSpec.Source,
        sch.DepotSpec,
        sch.FacilitySpec,
        sch.VehicleTypeSpec,
        sch.SolverSpec,
        sch.SitingSpec,
        sch.EconomicsSpec,
        sch.PointRecord,
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_schema_key_is_documented(model: type[BaseModel]) -> None:
    """docs/scenarios.md has a table row (`| `key` |`) for every field: no drift."""
    documented = set(re.findall(r"^\| `([a-z_0-9]+)`", DOCS.read_text(encoding="utf-8"), re.M))
    missing = sorted(set(model.model_fields) - documented)
    assert not missing, f"{model.__name__}: document {missing} in docs/scenarios.md"
