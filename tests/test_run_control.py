"""What a run may destroy, how it stops, and how long it takes.

``--force`` replaces only a plan folder written earlier; a signal at any moment
leaves either the old folder intact or the new one complete, never a hidden
temporary folder; ``--time-limit`` bounds the whole run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from optimizer import outputs
from optimizer import plan as plan_module
from optimizer.cli import main
from optimizer.outputs import check_output_folder, commit
from optimizer.plan import SCHEMA_VERSION, demo_scenario_path
from optimizer.scenario import load_scenario
from optimizer.summary import routes_summary

SCENARIO = str(demo_scenario_path())


def _hidden(folder: Path) -> list[str]:
    """Leftovers of a write: hidden entries beside the output folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, to prove nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def old_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan folder written earlier (the site stage: the cheapest real plan)."""
    out = tmp_path_factory.mktemp("old") / "plan"
    assert main(["sites", SCENARIO, "--out", str(out), "--time-limit", "2", "-q"]) == 0
    return out


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    dst = tmp_path / "scenario"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run a command that must be refused before any work; return its stderr."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, err
    assert "road network, demand" not in err  # refused before loading anything
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------------------------
# What --force may replace


def test_force_refuses_the_folder_holding_the_scenario(
    scenario_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(scenario_dir)
    scenario = str(scenario_dir / "scenario.toml")
    _refused(
        capsys,
        ["plan", scenario, "--out", str(scenario_dir), "--force"],
        "will not replace",
        "holds an input",
    )
    # ...and any folder above it.
    _refused(capsys, ["plan", scenario, "--out", str(scenario_dir.parent), "--force"])
    assert _snapshot(scenario_dir) == before
    assert not _hidden(scenario_dir.parent)


def test_force_refuses_the_folder_of_a_table_or_network_file(
    scenario_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (scenario_dir / "districts.geojson").rename(tables / "districts.geojson")
    path = scenario_dir / "scenario.toml"
    text = path.read_text()
    path.write_text(text.replace('"districts.geojson"', '"../tables/districts.geojson"', 1))
    _refused(capsys, ["plan", str(path), "--out", str(tables), "--force"], "districts.geojson")
    networks = tmp_path / "networks"
    networks.mkdir()
    (networks / "city.graphml").write_text("<graphml/>")
    argv = ["plan", str(path), "--network", str(networks / "city.graphml")]
    _refused(capsys, [*argv, "--out", str(networks), "--force"], "city.graphml")
    assert (tables / "districts.geojson").exists() and (networks / "city.graphml").exists()


def test_force_refuses_the_plan_whose_sites_are_read(
    old_plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sites = tmp_path / "sites"
    shutil.copytree(old_plan, sites)
    before = _snapshot(sites)
    argv = ["routes", SCENARIO, "--sites", str(sites), "--out", str(sites), "--force"]
    _refused(capsys, argv, "holds an input")
    assert _snapshot(sites) == before


def test_force_refuses_home_working_folder_and_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    work = home / "work"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    _refused(capsys, ["demo", "--out", ".", "--force"], "current folder")
    _refused(capsys, ["demo", "--out", str(home), "--force"], "home folder")
    _refused(capsys, ["demo", "--out", "/", "--force"], "filesystem root")
    assert (work / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"notes.txt": "mine"}, "not a plan folder"),
        ({"plan.json": '{"schema_version": 999}'}, "not a plan folder"),
        ({"plan.json": "not json"}, "not a plan folder"),
        (
            {"plan.json": json.dumps({"schema_version": SCHEMA_VERSION}), "notes.txt": "mine"},
            "did not write (notes.txt)",
        ),
    ],
)
def test_force_refuses_what_is_not_our_plan_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], needle: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    _refused(capsys, ["demo", "--out", str(out), "--force"], needle)
    assert {p.name: p.read_text() for p in out.iterdir()} == files
    assert not _hidden(tmp_path)


def test_unwritable_place_fails_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "first_points.csv"
    blocker.write_text("not a folder")
    _refused(
        capsys,
        ["demo", "--out", str(blocker / "sub")],
        f"{blocker} is a file, so it can't hold the folder sub",
    )
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_out_that_is_a_file_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], force: list[str]
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    err = _refused(capsys, ["demo", "--out", str(target), *force], "is a file, not a folder")
    assert "--force" not in err
    assert target.read_text() == "mine"


def test_out_name_too_long_says_to_choose_a_shorter_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ("p" * 300)
    err = _refused(capsys, ["demo", "--out", str(out)], "is 300 characters long")
    assert "choose a shorter folder name for --out" in err
    assert "Errno" not in err
    assert list(tmp_path.iterdir()) == []


def test_force_refuses_a_symlink_and_leaves_nothing_hidden(
    old_plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "earlier"
    shutil.copytree(old_plan, target)
    before = _snapshot(target)
    link = tmp_path / "link"
    link.symlink_to(target)
    err = _refused(capsys, ["demo", "--out", str(link), "--force"], "is a symbolic link")
    assert f"--out {target.resolve()}" in err  # the fix names the folder itself
    assert link.is_symlink() and _snapshot(target) == before
    assert _hidden(tmp_path) == []


def test_force_refuses_a_folder_it_could_not_delete(
    old_plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "roplan"
    shutil.copytree(old_plan, out)
    real_access = os.access

    def read_only(path: Any, mode: int, **kwargs: Any) -> bool:  # chmod 555 as a user
        if Path(path) == out and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", read_only)
    assert "read-only" in (outputs.removal_refusal(out) or "")
    err = _refused(capsys, ["demo", "--out", str(out), "--force"], "--force cannot replace")
    assert str(out) in err and "chmod -R u+w" in err
    monkeypatch.undo()
    assert outputs.removal_refusal(out) is None
    assert _hidden(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may delete from a read-only folder")
def test_force_refuses_a_read_only_plan_folder(
    old_plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "roplan"
    shutil.copytree(old_plan, out)
    out.chmod(0o555)
    try:
        _refused(capsys, ["demo", "--out", str(out), "--force"], "is read-only")
    finally:
        out.chmod(0o755)
    assert _hidden(tmp_path) == []


def test_old_folder_left_behind_is_reported_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    out, tmp = _new_and_old(tmp_path)

    def rmtree_fails(path: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", rmtree_fails)
    commit(tmp, out, force=True)
    assert json.loads((out / "plan.json").read_text())["v"] == "new"
    (left,) = _hidden(tmp_path)
    assert left.startswith(".plan.old-")
    assert str(tmp_path / left) in caplog.text and "delete that folder by hand" in caplog.text


def test_demand_refuses_to_overwrite_an_input(
    scenario_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = scenario_dir / "districts.geojson"
    before = target.read_bytes()
    argv = ["demand", str(scenario_dir / "scenario.toml"), "--out", str(target)]
    assert main(argv) == 1
    assert "is an input of this run" in capsys.readouterr().err
    assert target.read_bytes() == before


# ---------------------------------------------------------------------------------
# Single output files: compare, demand, network, bench


@pytest.fixture
def two_plans(old_plan: Path, tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(old_plan, a)
    shutil.copytree(old_plan, b)
    return a, b


def test_compare_never_overwrites_a_scenario_or_a_plan_file(
    two_plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_plans
    scenario = tmp_path / "s.toml"
    scenario.write_text("[scenario]\n")
    before = {p: _snapshot(p) for p in (a, b)}
    cases = [
        (["--out", str(scenario)], "file already exists"),
        (["--out", str(scenario), "--force"], "not a comparison page written by the optimizer"),
        (["--out", str(a / "plan.json"), "--force"], "an input of this run"),
        (["--out", str(a / "report.html"), "--force"], "an input of this run"),
        (["--out", str(a)], "an input of this run"),  # a folder gets compare.html: inside A
    ]
    for extra, needle in cases:
        assert main(["compare", str(a), str(b), *extra]) == 1, extra
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, err
    assert scenario.read_text() == "[scenario]\n"
    assert {p: _snapshot(p) for p in (a, b)} == before
    assert _hidden(tmp_path) == []


def test_compare_replaces_only_its_own_page(
    two_plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_plans
    page = tmp_path / "cmp.html"
    mask = os.umask(0o022)
    try:
        assert main(["compare", str(a), str(b), "--out", str(page)]) == 0
    finally:
        os.umask(mask)
    assert outputs.COMPARE_MARKER in page.read_text()
    assert page.stat().st_mode & 0o777 == 0o644
    assert main(["compare", str(a), str(b), "--out", str(page)]) == 1
    assert "pass --force" in capsys.readouterr().err
    page.write_text(page.read_text().replace("Scenario comparison", "OLD"))
    assert main(["compare", str(a), str(b), "--out", str(page), "--force"]) == 0
    assert "OLD" not in page.read_text()
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("text", ["{not json", "\xff\xfe", "[1, 2]"])
def test_compare_names_a_plan_json_it_cannot_read(
    two_plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    a, b = two_plans
    (a / "plan.json").write_bytes(text.encode("latin-1"))
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c.html")]) == 1
    err = capsys.readouterr().err
    assert f"{a / 'plan.json'}: not" in err and "Traceback" not in err, err
    assert not (tmp_path / "c.html").exists()


def test_demand_replaces_only_its_own_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.csv"
    old.write_text("id,notes\n1,mine\n")
    argv = ["demand", SCENARIO, "--out", str(old)]
    assert main(argv) == 1
    assert "file already exists" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 1
    assert "not a demand CSV written by the optimizer" in capsys.readouterr().err
    assert old.read_text() == "id,notes\n1,mine\n"
    ours = tmp_path / "demand.csv"
    assert main(["demand", SCENARIO, "--out", str(ours)]) == 0
    assert main(["demand", SCENARIO, "--out", str(ours), "--samples", "2", "--force"]) == 0
    assert ours.read_text().startswith("sample,point_id,")
    assert main(["demand", SCENARIO, "--out", str(ours), "--force"]) == 0  # samples are ours
    assert ours.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert _hidden(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_bench_checks_its_csv_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instances = tmp_path / "instances"
    instances.mkdir()
    (instances / "X-n10.vrp").write_text("NAME : X-n10\n")
    notes = tmp_path / "notes.csv"
    notes.write_text("a,b\n")
    base = ["bench", "cvrp", "--instances", str(instances), "--time-limit", "1"]
    for extra, needle in [
        (["--out", str(notes)], "file already exists"),
        (["--out", str(notes), "--force"], "not a benchmark CSV"),
        (["--out", str(instances / "X-n10.vrp"), "--force"], "an input of this run"),
    ]:
        assert main([*base, *extra]) == 1
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, err
    assert notes.read_text() == "a,b\n"
    assert (instances / "X-n10.vrp").read_text() == "NAME : X-n10\n"


def test_bench_csv_is_written_atomically_and_recognised(tmp_path: Path) -> None:
    from optimizer.benchrun import MATRIX_COLUMNS, SOLVER_COLUMNS, write_rows

    out = tmp_path / "r.csv"
    write_rows([{"instance": "X", "n": 10, "extra": 1}], out, SOLVER_COLUMNS)
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert outputs.csv_header_is(SOLVER_COLUMNS, MATRIX_COLUMNS)(out)
    assert _hidden(tmp_path) == []


def test_network_refuses_its_input_and_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = tmp_path / "city.graphml"
    city.write_text("<?xml version='1.0'?><graphml></graphml>")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for extra, needle in [
        (["--file", str(city), "--out", str(city), "--force"], "an input of this run"),
        (["--file", str(city), "--out", str(notes)], "file already exists"),
        (["--file", str(city), "--out", str(notes), "--force"], "not a GraphML network"),
    ]:
        assert main(["network", *extra]) == 1
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, err
    assert notes.read_text() == "mine"
    assert outputs.is_graphml(city) and not outputs.is_graphml(notes)


def test_force_replaces_an_earlier_plan_readable_by_others(
    old_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "plan"
    shutil.copytree(old_plan, out)
    (out / "plan.json").write_text(
        json.dumps({"schema_version": SCHEMA_VERSION, "marker": "old"}), encoding="utf-8"
    )
    mask = os.umask(0o022)
    try:
        assert main(["sites", SCENARIO, "--out", str(out), "--force", "--time-limit", "2"]) == 0
    finally:
        os.umask(mask)
    plan = json.loads((out / "plan.json").read_text())
    assert "marker" not in plan and plan["schema_version"] == SCHEMA_VERSION
    assert not _hidden(tmp_path)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [out, *out.rglob("*")]}
    dirs = {p.name for p in [out, *out.rglob("*")] if p.is_dir()}
    assert {m for n, m in modes.items() if n in dirs} == {0o755}
    assert {m for n, m in modes.items() if n not in dirs} == {0o644}


def test_every_output_name_is_known_to_force(old_plan: Path) -> None:
    """A new output file must be added to PLAN_ENTRIES, or --force would refuse our folders."""
    written = {p.name for p in old_plan.iterdir()}
    assert written <= outputs.PLAN_ENTRIES
    assert outputs.replace_refusal(old_plan) is None


def test_make_demo_folder_stays_replaceable(
    old_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Makefile runs 'optimizer demo --out maps/demo --force' again and again."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(old_plan, tmp_path / "maps" / "demo")
    inputs = outputs.scenario_inputs(load_scenario(demo_scenario_path()))
    assert Path(SCENARIO) in inputs
    check_output_folder(Path("maps/demo"), force=True, inputs=inputs)  # does not raise


# ---------------------------------------------------------------------------------
# The swap into place holds signals


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _new_and_old(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "v": "old"}))
    tmp = tmp_path / ".plan.tmp-abcdefgh"
    tmp.mkdir()
    (tmp / "plan.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "v": "new"}))
    return out, tmp


def test_signal_during_the_swap_waits_until_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigint_raises: None
) -> None:
    out, tmp = _new_and_old(tmp_path)
    real_rename = Path.rename

    def rename_then_signal(self: Path, target: Any) -> Path:
        done = real_rename(self, target)
        os.kill(os.getpid(), signal.SIGINT)  # between setting the old folder aside and the new
        return done

    monkeypatch.setattr(Path, "rename", rename_then_signal)
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):  # obeyed once the new folder is in place
        commit(tmp, out, force=True)
    monkeypatch.undo()
    assert json.loads((out / "plan.json").read_text())["v"] == "new"
    assert _hidden(tmp_path) == []
    assert outputs.written_since(started) == [out]  # so the CLI can say it is complete


def test_failed_swap_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigint_raises: None
) -> None:
    out, tmp = _new_and_old(tmp_path)
    real_rename = Path.rename

    def second_rename_fails(self: Path, target: Any) -> Path:
        if self == tmp:
            os.kill(os.getpid(), signal.SIGINT)
            raise OSError(28, "No space left on device")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", second_rename_fails)
    with pytest.raises(KeyboardInterrupt):  # the user's interrupt wins over the file error
        commit(tmp, out, force=True)
    monkeypatch.undo()
    assert json.loads((out / "plan.json").read_text())["v"] == "old"
    assert _hidden(tmp_path) == [tmp.name]  # the caller discards it (run_plan's finally)


# ---------------------------------------------------------------------------------
# Signals sent to the command at different stages


def _start(out: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "optimizer.cli", "demo", "--out", str(out), "--force", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _signal_at(proc: subprocess.Popen[str], line_start: str, sig: int) -> tuple[int, str, str]:
    """Send ``sig`` as soon as a progress line containing ``line_start`` appears."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line_start in line:
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, "".join(seen) + err


@pytest.mark.parametrize(
    ("moment", "sig"),
    [
        ("road network, demand", signal.SIGTERM),  # loading
        ("routes day 1", signal.SIGTERM),  # solving
        ("routes day 1", signal.SIGINT),
        ("writing the plan folder", signal.SIGTERM),  # writing
    ],
)
def test_signal_leaves_old_folder_intact_and_no_temp_folder(
    old_plan: Path, tmp_path: Path, moment: str, sig: int
) -> None:
    out = tmp_path / "plan"
    shutil.copytree(old_plan, out)
    before = _snapshot(out)
    code, stdout, stderr = _signal_at(_start(out, "--time-limit", "6"), moment, sig)
    assert "Traceback" not in stderr
    assert _hidden(tmp_path) == [], stderr
    if code == 0:  # the signal came once the new folder was in place: the run succeeded
        assert moment == "writing the plan folder", stderr
        assert stdout.splitlines()[-1] == LATE_NOTE
        assert json.loads((out / "plan.json").read_text())["routes"]
    else:
        assert code == 130, stderr
        assert "Interrupted; nothing was written." in stderr
        assert _snapshot(out) == before


LATE_NOTE = "(an interrupt arrived after the plan was written; it is complete)"

# The command with a signal sent to itself right after the new folder is swapped in
# (or, with "after", once run_plan has returned, before the summary is printed).
_LATE_SIGNAL = """
import os, signal, sys
from optimizer import cli, outputs
real = outputs._swap
def swap(tmp, out):
    real(tmp, out)
    os.kill(os.getpid(), signal.{sig})
if "{when}" == "swap":
    outputs._swap = swap
else:
    real_print = cli._print_plan
    def print_plan(*args):
        os.kill(os.getpid(), signal.{sig})
        real_print(*args)
    cli._print_plan = print_plan
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("sig", "when"), [("SIGINT", "swap"), ("SIGTERM", "swap"), ("SIGINT", "after")]
)
def test_interrupt_once_the_new_folder_is_in_place_is_a_success(
    old_plan: Path, tmp_path: Path, sig: str, when: str
) -> None:
    out = tmp_path / "plan"
    shutil.copytree(old_plan, out)
    (out / "plan.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "v": "old"}))
    code = _LATE_SIGNAL.format(sig=sig, when=when)
    argv = ["sites", SCENARIO, "--out", str(out), "--force", "--time-limit", "2", "-q"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == LATE_NOTE
    assert "sites open" in lines[-2]  # the normal summary came first
    assert "Interrupted" not in proc.stderr and "Traceback" not in proc.stderr
    assert "v" not in json.loads((out / "plan.json").read_text())  # the new plan
    assert _hidden(tmp_path) == []


def test_signal_without_old_folder_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    code, _, stderr = _signal_at(_start(out), "sites", signal.SIGTERM)
    assert code == 130, stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------
# The time limit is the whole run's


class _Clock:
    """A perf_counter the fake stages move forward."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def _fake_pipeline(
    monkeypatch: pytest.MonkeyPatch, prep_s: float, used: list[float]
) -> tuple[_Clock, list[tuple[str, float]]]:
    """Stages that record their budget and use ``used`` seconds of it each, in turn."""
    clock = _Clock()
    budgets: list[tuple[str, float]] = []

    def prepare(*_: Any, **__: Any) -> Any:
        clock.now += prep_s
        return SimpleNamespace(day_demand={})

    def solve_sites(_prep: Any, *, time_limit_s: float, seed: int) -> Any:
        budgets.append(("sites", time_limit_s))
        clock.now += min(used.pop(0), time_limit_s)
        return SimpleNamespace(decision=SimpleNamespace(open_ids=("F1",)))

    def solve_day_routes(*_: Any, time_limit_s: float, day: int, **__: Any) -> Any:
        budgets.append((f"day {day}", time_limit_s))
        clock.now += min(used.pop(0), time_limit_s)
        return None, None, []

    monkeypatch.setattr(plan_module, "time", clock)
    monkeypatch.setattr(plan_module, "prepare", prepare)
    monkeypatch.setattr(plan_module, "solve_sites", solve_sites)

    def sites_and_day_one(prep: Any, *, time_limit_s: float, seed: int) -> Any:
        sites = solve_sites(prep, time_limit_s=time_limit_s, seed=seed)
        return sites, SimpleNamespace(problem="P", plan="R", node_loc=[])

    monkeypatch.setattr(plan_module, "solve_day_routes", solve_day_routes)
    monkeypatch.setattr(plan_module, "sites_and_day_one", sites_and_day_one)
    monkeypatch.setattr(plan_module, "day_one_for_plan", lambda _prep, day_one, *_: day_one)
    monkeypatch.setattr(plan_module, "assemble_plan", lambda *_, **__: {})
    monkeypatch.setattr(plan_module, "plan_calendar", lambda *_, **__: plan_module.FIXED)
    monkeypatch.setattr(plan_module, "calendar_problems", lambda *_: [])
    return clock, budgets


def test_time_limit_covers_loading_sites_and_every_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # 100 s: loading takes 30, sites get 20 % of the 70 left and use them all; day 1
    # finishes early (10 s), so days 2 and 3 share what it left.
    clock, budgets = _fake_pipeline(monkeypatch, 30.0, [99, 10, 99, 99])
    scenario = SimpleNamespace(
        solver=SimpleNamespace(
            time_limit_s=100.0, seed=0, plan_days=3, calendar="auto", location_model="auto"
        )
    )
    plan_module.build_plan(scenario, days=3, started=0.0)  # type: ignore[arg-type]
    assert budgets == [
        ("sites", pytest.approx(14.0)),
        ("day 1", pytest.approx(56.0 / 3)),
        ("day 2", pytest.approx((56.0 - 10.0) / 2)),
        ("day 3", pytest.approx(23.0)),
    ]
    assert clock.now == pytest.approx(100.0)


def test_time_limit_used_up_by_loading_gives_minimum_times(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, budgets = _fake_pipeline(monkeypatch, 50.0, [99, 99])
    scenario = SimpleNamespace(
        solver=SimpleNamespace(
            time_limit_s=20.0, seed=0, plan_days=1, calendar="auto", location_model="auto"
        )
    )
    plan_module.build_plan(scenario, started=0.0)  # type: ignore[arg-type]
    assert budgets == [("sites", plan_module.MIN_SITES_S), ("day 1", plan_module.MIN_DAY_S)]
    assert "loading took the whole time limit" in caplog.text


def test_routes_site_model_hands_its_day_one_to_a_one_day_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """location_model = "routes": the options get 90 % of a one-day plan's time and the
    chosen option's day 1 is the plan's (not routed again); with several days they get
    60 % and every day is routed on its calendar."""
    _, budgets = _fake_pipeline(monkeypatch, 10.0, [99])
    solver = SimpleNamespace(
        time_limit_s=110.0, seed=0, plan_days=1, calendar="auto", location_model="routes"
    )
    plan_module.build_plan(SimpleNamespace(solver=solver), started=0.0)  # type: ignore[arg-type]
    assert budgets == [("sites", pytest.approx(90.0))]
    _, budgets = _fake_pipeline(monkeypatch, 10.0, [99, 99, 99])
    plan_module.build_plan(SimpleNamespace(solver=solver), days=2, started=0.0)  # type: ignore[arg-type]
    assert [name for name, _ in budgets] == ["sites", "day 1", "day 2"]
    assert budgets[0][1] == pytest.approx(60.0)


def test_sites_stage_alone_gets_all_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    _, budgets = _fake_pipeline(monkeypatch, 5.0, [99])
    scenario = SimpleNamespace(
        solver=SimpleNamespace(time_limit_s=30.0, seed=0, plan_days=1, location_model="auto")
    )
    plan_module.build_plan(scenario, stage="sites", started=0.0)  # type: ignore[arg-type]
    assert budgets == [("sites", pytest.approx(25.0))]


# Measured on the 2-core team machine (shared): Python start-up and imports about
# 3 s, assembling and writing the demo folder about 2 s; 12 s of margin on top.
MARGIN_S = 12.0


@pytest.mark.slow
def test_demo_run_ends_close_to_its_time_limit(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    proc = _start(tmp_path / "plan", "--time-limit", "20", "-q")
    stdout, stderr = proc.communicate(timeout=120)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, stderr
    assert wall < 20 + MARGIN_S
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert stdout.splitlines()[-1].startswith(routes_summary(plan) + ", ")
