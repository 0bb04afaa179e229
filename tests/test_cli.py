"""The command end to end: the demo writes a full plan folder; bad input writes nothing.

Each bad-input case checks the contract: exit code 1 (input) or 2 (infeasible), a
message naming the record, no traceback, and no output folder left behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.plan import demo_scenario_path

PLAN_FILES = {
    "plan.json",
    "routes.csv",
    "sites.csv",
    "routes.geojson",
    "sites.geojson",
    "map.html",
    "report.html",
}


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run once for the module (a few seconds of solver time)."""
    out = tmp_path_factory.mktemp("demo") / "plan"
    assert main(["demo", "--out", str(out), "--time-limit", "3"]) == 0
    return out


def test_demo_writes_every_output(demo_plan: Path) -> None:
    assert {p.name for p in demo_plan.iterdir()} >= PLAN_FILES
    assert not [p for p in demo_plan.parent.iterdir() if p.name.startswith(".")]


def test_demo_plan_is_complete_and_consistent(demo_plan: Path) -> None:
    plan = json.loads((demo_plan / "plan.json").read_text())
    assert plan["schema_version"] == 1
    # 18,000 people x 1.62 m3/yr x 0.2 t/m3 / 365 = 15.98 t/day in the annual average.
    assert plan["kpis"]["tonnes_generated_per_day"] == pytest.approx(15.98, rel=0.02)
    assert plan["network"]["nodes"] > 500
    served = [
        (s["ref_id"], s["stream"])
        for r in plan["routes"]
        for s in r["stops"]
        if s["kind"] == "stop"
    ]
    assert len(served) == len(set(served))  # no stop twice
    unserved = {(u["point_id"], u["stream"]) for u in plan["unserved"]}
    due = {(p["id"], p["stream"]) for p in plan["points"] if p["due_today"]}
    assert set(served) | unserved == due
    # Mixed waste is emptied daily in the warm season; dry recyclables every 3 days.
    msw = [p for p in plan["points"] if p["stream"] == "msw"]
    dry = [p for p in plan["points"] if p["stream"] == "dry_recyclables"]
    assert all(p["due_today"] for p in msw)
    assert 0.15 * len(dry) < sum(p["due_today"] for p in dry) < 0.55 * len(dry)
    assert plan["kpis"]["unload_trips"] >= len(plan["routes"])  # every truck unloads before home
    for route in plan["routes"]:
        assert route["stops"][0]["kind"] == "depot_start"
        assert route["stops"][-1]["kind"] == "depot_end"
        assert len(route["geometry"]) > len(route["stops"])  # drawn along the streets
    assert any(f["open"] for f in plan["facilities"] if f["type"] == "landfill")


def test_demo_refuses_to_overwrite_without_force(
    demo_plan: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (demo_plan / "plan.json").read_text()
    assert main(["demo", "--out", str(demo_plan)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert (demo_plan / "plan.json").read_text() == before


# ---------------------------------------------------------------------------------
# Bad input


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "scenario"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _run_plan(scenario: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["plan", str(scenario), "--out", str(out), "--time-limit", "2"])
    captured = capsys.readouterr()
    return code, captured.err


def _assert_clean_failure(
    code: int, err: str, out: Path, expected_code: int, *needles: str
) -> None:
    assert code == expected_code, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_missing_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, err = _run_plan(tmp_path / "missing.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "missing.toml", "scenario file not found")


def test_wrong_column(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (scenario_dir / "points.csv").write_text("id,lon,lat,stream,tons\nP1,24.94,60.17,msw,1\n")
    _edit(
        scenario_dir / "scenario.toml", 'districts = "districts.geojson"', 'points = "points.csv"'
    )
    out = tmp_path / "out"
    code, err = _run_plan(scenario_dir / "scenario.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "points.csv", "unknown column(s) tons")


def test_unknown_key(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(scenario_dir / "scenario.toml", "max_snap_m = 250", "max_snap_m = 250\nsnap = 1")
    out = tmp_path / "out"
    code, err = _run_plan(scenario_dir / "scenario.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "network.snap", "unknown key")


def test_negative_capacity(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(scenario_dir / "scenario.toml", "capacity_t = 11", "capacity_t = -11")
    out = tmp_path / "out"
    code, err = _run_plan(scenario_dir / "scenario.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "fleet 'side_loader'.capacity_t")


def test_swapped_coordinates_outside_network(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        scenario_dir / "scenario.toml",
        "lon = 24.9375\nlat = 60.1655",
        "lon = 60.1655\nlat = 24.9375",
    )
    out = tmp_path / "out"
    code, err = _run_plan(scenario_dir / "scenario.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "garage")


def test_duplicate_ids(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(scenario_dir / "scenario.toml", 'id = "recyclables_truck"', 'id = "side_loader"')
    out = tmp_path / "out"
    code, err = _run_plan(scenario_dir / "scenario.toml", out, capsys)
    _assert_clean_failure(code, err, out, 1, "fleet id 'side_loader'", "duplicate id")


def test_stream_no_facility_accepts(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_dir / "scenario.toml"
    path.write_text(
        path.read_text().replace('accepts = ["msw", "dry_recyclables"]', 'accepts = ["msw"]')
    )
    out = tmp_path / "out"
    code, err = _run_plan(path, out, capsys)
    _assert_clean_failure(code, err, out, 1, "no facility accepts stream 'dry_recyclables'")


def test_fleet_too_small(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One truck with a 2-hour shift cannot collect ~14 t of mixed waste in 1.1 t loads.
    path = scenario_dir / "scenario.toml"
    _edit(path, "count = 3", "count = 1")
    _edit(path, "capacity_t = 11", "capacity_t = 1.1")
    _edit(path, "shift_min = 480", "shift_min = 120")
    out = tmp_path / "out"
    code, err = _run_plan(path, out, capsys)
    _assert_clean_failure(code, err, out, 2, "Infeasible")


def test_validate_reports_all_problems(
    scenario_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario_dir / "scenario.toml"
    _edit(path, "capacity_t = 11", "capacity_t = -11")
    _edit(path, "lat = 60.1655", "lat = 160.1655")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "2 problems found" in err
    assert "Traceback" not in err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(demo_scenario_path())]) == 0
    assert "OK" in capsys.readouterr().out


def test_usage_error_is_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["plan"])
    assert info.value.code == 1


@pytest.mark.parametrize("limit", ["0", "-5", "abc", "nan"])
def test_time_limit_must_be_positive(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--time-limit", limit])
    assert info.value.code == 1
    assert "positive number of seconds" in capsys.readouterr().err


def test_unwritable_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = blocker / "plan"  # its parent is a file: cannot be created
    code = main(["demo", "--out", str(out), "--time-limit", "2"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and str(out) in err


def test_sites_stage_alone_has_no_fleet_figures(tmp_path: Path) -> None:
    out = tmp_path / "sites"
    assert main(["sites", str(demo_scenario_path()), "--out", str(out), "--time-limit", "4"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert plan["routes"] == []
    assert plan["kpis"]["distance_km"] is None  # not routed, rather than zero
    kpis = plan["kpis"]
    # The candidate inside the housing zone is excluded, with the rule as its reason.
    excluded = {
        f["id"]: f["excluded_reason"] for f in plan["facilities"] if f["state"] == "excluded"
    }
    assert list(excluded) == ["sorting_north"] and "500 m" in excluded["sorting_north"]
    assert plan["zones"] and plan["zones"][0]["geometry"]["type"] == "Polygon"
    # Whatever opens, the loads written to the plan fit the capacities.
    assert all(f["used_t_per_day"] <= f["capacity_t_per_day"] + 1e-6 for f in plan["facilities"])
    assert kpis["capex_kzt"] >= 0 and kpis["npv_kzt"] > 0
    assert 0 <= kpis["robustness"] <= 1


def test_routes_stage_uses_sites_of_an_earlier_plan(tmp_path: Path) -> None:
    scenario = str(demo_scenario_path())
    sites = tmp_path / "sites"
    assert main(["sites", scenario, "--out", str(sites), "--time-limit", "4"]) == 0
    chosen = {
        f["id"] for f in json.loads((sites / "plan.json").read_text())["facilities"] if f["open"]
    }
    routes = tmp_path / "routes"
    assert (
        main(["routes", scenario, "--sites", str(sites), "--out", str(routes), "--time-limit", "3"])
        == 0
    )
    plan = json.loads((routes / "plan.json").read_text())
    assert {f["id"] for f in plan["facilities"] if f["open"]} == chosen
    unloads = {s["ref_id"] for r in plan["routes"] for s in r["stops"] if s["kind"] == "unload"}
    assert unloads and unloads <= chosen


def test_routes_stage_rejects_a_foreign_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "plan.json").write_text('{"facilities": [{"id": "nowhere", "open": true}]}')
    out = tmp_path / "routes"
    code = main(["routes", str(demo_scenario_path()), "--sites", str(other), "--out", str(out)])
    assert code == 1
    assert "nowhere" in capsys.readouterr().err and not out.exists()


def test_a_full_disk_names_the_output_and_the_fix() -> None:
    """OS errors without a file name (a full disk while writing) name the folder."""
    import errno

    from optimizer.cli import _file_error_text

    text = _file_error_text(OSError(errno.ENOSPC, "No space left on device"), Path("plans/x"))
    assert text.startswith("writing plans/x: No space left on device. Fix: free disk space")
    named = _file_error_text(PermissionError(errno.EACCES, "Permission denied", "a.csv"))
    assert named.startswith("a.csv: Permission denied. Fix: choose a file or folder")
