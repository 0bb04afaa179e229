"""Scenario loading: a valid file loads; every kind of mistake is reported with its place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.plan import demo_scenario_path
from optimizer.scenario import load_scenario, parse_hhmm, parse_window

POINTS_HEADER = "id,lon,lat,stream,tonnes_per_day,containers,container_m3\n"


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A writable copy of the embedded demo scenario."""
    src = demo_scenario_path().parent
    dst = tmp_path / "demo"
    shutil.copytree(src, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def test_demo_scenario_loads() -> None:
    sc = load_scenario(demo_scenario_path())
    assert sc.scenario.name == "demo"
    assert {s.id for s in sc.streams} == {"msw", "dry_recyclables"}
    assert sum(d.population for d in sc.districts) == 18000
    assert sc.fleet[0].compaction_ratio == 4


def test_clock_parsing() -> None:
    assert parse_hhmm("07:30") == 450
    assert parse_window("08:00-20:00") == (480, 1200)
    with pytest.raises(ValueError, match="closes before it opens"):
        parse_window("20:00-08:00")
    with pytest.raises(ValueError):
        parse_hhmm("25:00")


def test_missing_scenario_file(tmp_path: Path) -> None:
    problems = _problems(tmp_path / "nope.toml")
    assert "scenario file not found" in problems[0]


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scenario\nname = 1")
    assert "not valid TOML" in _problems(path)[0]


def test_unknown_key_is_named_with_its_section(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, "count = 3", "count = 3\ncapacity_kg = 11000")
    problems = _problems(path)
    assert len(problems) == 1
    assert "fleet 'side_loader'.capacity_kg" in problems[0]
    assert "unknown key" in problems[0]


def test_negative_capacity(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, "capacity_t_per_day = 60", "capacity_t_per_day = -60")
    (problem,) = _problems(path)
    assert "facilities 'landfill'.capacity_t_per_day" in problem
    assert "greater than 0" in problem


def test_every_problem_is_reported_at_once(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, "capacity_t_per_day = 60", "capacity_t_per_day = -60")
    _edit(path, "lat = 60.1655", "lat = 160.1655")
    _edit(path, 'break_window = "11:30-13:30"', 'break_window = "13:30-11:30"')
    problems = _problems(path)
    assert len(problems) == 3
    text = "\n".join(problems)
    assert "depots 'garage'.lat" in text
    assert "fleet 'side_loader'.break_window: window '13:30-11:30' closes before" in text


def test_unknown_depot_reference(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, 'depot = "garage"', 'depot = "garag"')
    (problem,) = _problems(path)
    assert "fleet 'side_loader'.depot: unknown depot 'garag'" in problem


def test_duplicate_ids(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, 'id = "sorting_south"', 'id = "sorting_north"')
    (problem,) = _problems(path)
    assert "facilities id 'sorting_north'" in problem
    assert "duplicate id" in problem


def test_stream_no_facility_accepts(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    text = path.read_text().replace('accepts = ["msw", "dry_recyclables"]', 'accepts = ["msw"]')
    path.write_text(text)
    (problem,) = _problems(path)
    assert "no facility accepts stream 'dry_recyclables'" in problem
    assert "Fix:" in problem


def test_two_network_sources(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, "demo = true", 'demo = true\nplace = "Astana, Kazakhstan"')
    assert "2 road-network sources" in _problems(path)[0]


def test_points_csv_wrong_column(demo_dir: Path) -> None:
    (demo_dir / "points.csv").write_text("id,lng,lat,stream,tonnes_per_day\nP1,24.94,60.17,msw,1\n")
    path = demo_dir / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "points.csv"')
    (problem,) = _problems(path)
    assert "points.csv: header: unknown column(s) lng" in problem


def test_points_csv_missing_file(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "missing.csv"')
    problems = _problems(path)
    assert any("missing.csv" in p and "file not found" in p for p in problems)


def test_points_csv_rows_are_checked_by_line(demo_dir: Path) -> None:
    rows = [
        "P1,24.94,60.17,msw,1.0,,",
        "P2,24.95,95.0,msw,1.0,,",  # latitude out of range (swapped or typo)
        "P3,24.95,60.17,glass,1.0,,",  # unknown stream
        "P1,24.94,60.17,msw,1.0,,",  # duplicate
        "P4,24.94,60.17,msw,abc,,",  # not a number
        "P5,24.94,60.17,msw,,,",  # no quantity
    ]
    (demo_dir / "points.csv").write_text(POINTS_HEADER + "\n".join(rows) + "\n")
    path = demo_dir / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "points.csv"')
    text = "\n".join(_problems(path))
    assert "line 3 (id P2), column lat" in text
    assert "unknown stream 'glass'" in text
    assert "point 'P1': duplicate row" in text
    assert "line 6 (id P4)" in text and "not a number" in text
    assert "point 'P5': neither tonnes_per_day nor containers" in text


def test_points_csv_loads(demo_dir: Path) -> None:
    rows = ["P1,24.94,60.17,msw,1.5,,", "P1,24.94,60.17,dry_recyclables,,2,1.1"]
    (demo_dir / "points.csv").write_text(POINTS_HEADER + "\n".join(rows) + "\n")
    path = demo_dir / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "points.csv"')
    sc = load_scenario(path)
    assert len(sc.points) == 2
    assert sc.points[1].containers == 2
    assert sc.resolve("points.csv") == demo_dir / "points.csv"


def test_district_without_population(demo_dir: Path) -> None:
    gj = demo_dir / "districts.geojson"
    gj.write_text(gj.read_text().replace('"population": 6500', '"people": 6500'))
    (problem,) = _problems(demo_dir / "scenario.toml")
    assert "feature 1 (North quarter)" in problem and "population" in problem


def test_variant_extends_base(demo_dir: Path) -> None:
    (demo_dir / "variant.toml").write_text(
        'extends = "scenario.toml"\n'
        'remove = ["sorting_north"]\n'
        '[scenario]\nname = "demo-b"\n'
        "[solver]\ntime_limit_s = 3\n"
        '[[fleet]]\nid = "side_loader"\ncount = 5\ndepot = "garage"\n'
        'capacity_t = 11\ncapacity_m3 = 20\nstreams = ["msw"]\n'
    )
    sc = load_scenario(demo_dir / "variant.toml")
    assert sc.scenario.name == "demo-b"
    assert sc.scenario.title.startswith("Demo")  # kept from the base table
    assert sc.solver.time_limit_s == 3 and sc.solver.seed == 0
    assert [f.id for f in sc.facilities] == ["landfill", "sorting_south"]
    assert {v.id: v.count for v in sc.fleet} == {"recyclables_truck": 1, "side_loader": 5}
    assert len(sc.districts) == 3  # tables still resolve beside the files


def test_variant_of_a_variant_is_refused(demo_dir: Path) -> None:
    (demo_dir / "a.toml").write_text('extends = "scenario.toml"\n')
    (demo_dir / "b.toml").write_text('extends = "a.toml"\n')
    (problem,) = _problems(demo_dir / "b.toml")
    assert "cannot extend another variant" in problem


def test_remove_without_extends_is_refused(demo_dir: Path) -> None:
    path = demo_dir / "scenario.toml"
    path.write_text('remove = ["landfill"]\n' + path.read_text())
    (problem,) = _problems(path)
    assert "only a variant" in problem


def test_points_csv_with_semicolons_and_decimal_commas(demo_dir: Path) -> None:
    (demo_dir / "points.csv").write_text(
        "id;lon;lat;stream;tonnes_per_day\nP1;24,94;60,17;msw;1,5\nP2;24,95;60,171;msw;inf\n"
    )
    path = demo_dir / "scenario.toml"
    _edit(path, 'districts = "districts.geojson"', 'points = "points.csv"')
    (problem,) = _problems(path)  # P1 reads fine; P2's "inf" is refused
    assert "line 3 (id P2)" in problem and "not a finite number" in problem
    (demo_dir / "points.csv").write_text(
        "id;lon;lat;stream;tonnes_per_day\nP1;24,94;60,17;msw;1,5\n"
    )
    sc = load_scenario(path)
    assert (sc.points[0].lon, sc.points[0].tonnes_per_day) == (24.94, 1.5)
