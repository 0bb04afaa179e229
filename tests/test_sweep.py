"""optimizer sweep: the sweep file's checks, the local cluster, a scheduler, --resume."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.plan import build_plan, demo_scenario_path
from optimizer.sweep import read_sweep, run_sweep
from optimizer.sweep.html import non_dominated
from optimizer.sweep.run import prepared_key

DEMO = demo_scenario_path()
DEMO_SWEEP = DEMO.parent / "sweep.toml"
# KPIs the site model decides exactly (an optimal MIP): equal in a sweep and alone
SITE_KPIS = ("npv_kzt", "capex_kzt", "recycling_rate", "co2e_net_t_per_year", "sites_open")


def write_sweep(folder: Path, body: str) -> Path:
    """A sweep file over the demo scenario (named by its absolute path)."""
    path = folder / "sweep.toml"
    head = f'[sweep]\nscenario = "{DEMO.as_posix()}"\nstage = "sites"\ntime_limit_s = 10\n'
    path.write_text(head + body, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------
# The sweep file


def test_demo_sweep_has_four_cases_sharing_one_network() -> None:
    spec = read_sweep(DEMO_SWEEP)
    assert len(spec.cases) == 4
    assert len({c.name for c in spec.cases}) == 4
    growth = {c.scenario.economics.demand_growth for c in spec.cases}
    target = {c.scenario.siting.min_recycling_rate for c in spec.cases}
    assert growth == {0.02, 0.06} and target == {0.0, 0.1}
    assert len({prepared_key(c.scenario) for c in spec.cases}) == 1


def test_record_paths_set_one_field_of_one_record(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[axes]\n"facilities.sorting_south.capacity_t_per_day" = [33]\n')
    (case,) = read_sweep(path).cases
    caps = {f.id: f.capacity_t_per_day for f in case.scenario.facilities}
    assert caps["sorting_south"] == 33 and caps["sorting_north"] == 20
    assert case.scenario.facilities[-1].recovery_rate == 0.19  # the rest of the record kept
    # a facility position changes the matrix: not shared with the unchanged case
    moved = write_sweep(tmp_path, '[axes]\n"facilities.sorting_south.lon" = [24.9515, 24.95]\n')
    assert len({prepared_key(c.scenario) for c in read_sweep(moved).cases}) == 2


@pytest.mark.parametrize(
    ("axes", "expected"),
    [
        ('"facilities.sorting_nowhere.capacity_t_per_day" = [1]', "no facilities record"),
        ('"economics.growth_rate" = [0.1]', "economics has no field 'growth_rate'"),
        ('"fleets.side_loader.count" = [1]', "unknown section 'fleets'"),
        ('"economics.demand_growth" = []', "the axis is empty"),
        ('"economics.demand_growth" = ["fast"]', "economics.demand_growth"),
        ('"fleet.side_loader.count" = [-2]', "count"),
    ],
)
def test_bad_axes_are_input_errors_naming_file_and_axis(
    tmp_path: Path, axes: str, expected: str
) -> None:
    path = write_sweep(tmp_path, f"[axes]\n{axes}\n")
    with pytest.raises(InputError) as err:
        read_sweep(path)
    text = str(err.value)
    assert str(path) in text
    assert expected in text
    assert axes.split("=")[0].strip().strip('"').split(".")[0] in text  # the axis is named


def test_wrong_value_names_the_case_and_the_value(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[axes]\n"economics.demand_growth" = [0.02, "fast"]\n')
    with pytest.raises(InputError) as err:
        read_sweep(path)
    assert "economics.demand_growth = fast" in str(err.value)
    assert "0.02" not in str(err.value)  # only the bad case is named


def test_non_dominated_marks_the_trade_off_front() -> None:
    points = [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0)]
    assert non_dominated(points, maximize_y=False) == [True, True, False, True]
    assert non_dominated(points, maximize_y=True) == [True, False, False, False]


# ---------------------------------------------------------------------------------
# Running


def test_demo_sweep_on_local_cluster_matches_single_runs(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    frame = run_sweep(DEMO_SWEEP, out, workers=2)
    assert list(frame["status"]) == ["ok"] * 4
    spec = read_sweep(DEMO_SWEEP)
    for case in spec.cases:
        alone = build_plan(case.scenario, stage="sites", time_limit_s=10, seed=case.seed)
        row = frame.set_index("case").loc[case.name]
        for key in SITE_KPIS:
            assert row[key] == pytest.approx(alone["kpis"][key]), (case.name, key)  # type: ignore[literal-required]
        opened = " ".join(f["id"] for f in alone["facilities"] if f.get("open"))
        assert row["open_sites"] == opened
        plan = json.loads((out / "cases" / case.name / "plan.json").read_text(encoding="utf-8"))
        assert plan["kpis"]["npv_kzt"] == alone["kpis"]["npv_kzt"]  # type: ignore[typeddict-item]
    # the recycling target costs money: each 10 % case is dearer than its 0 % twin
    by_target = frame.groupby("set:siting.min_recycling_rate")["npv_kzt"].mean()
    assert by_target[0.1] > by_target[0.0]
    assert pd.read_parquet(out / "results.parquet")["npv_kzt"].tolist() == frame["npv_kzt"].tolist()
    assert pd.read_csv(out / "results.csv")["case"].tolist() == frame["case"].tolist()
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and 'class="front"' in page
    assert "cdn" not in page.lower() and "<script" not in page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dask_cluster() -> Iterator[str]:
    """'dask scheduler' and one 'dask worker' on localhost, as on separate machines."""
    dask = [sys.executable, "-m", "dask"]  # the 'dask' command of this Python
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
        **quiet,
    )
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=30)
        yield address
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_sweep_on_a_started_scheduler_records_failures_and_resumes(tmp_path: Path) -> None:
    # 0.9 is out of reach of the demo's sorting stations: that case fails, the other goes on
    path = write_sweep(tmp_path, '[axes]\n"siting.min_recycling_rate" = [0.0, 0.9]\n')
    out = tmp_path / "out"
    with dask_cluster() as address:
        frame = run_sweep(path, out, scheduler=address)
        statuses = dict(zip(frame["case"], frame["status"], strict=True))
        assert statuses == {"min_recycling_rate=0": "ok", "min_recycling_rate=0.9": "failed"}
        error = frame.set_index("case").loc["min_recycling_rate=0.9", "error"]
        assert "recycling" in error.lower()
        assert not (out / "cases" / "min_recycling_rate=0.9").exists()
        done_row = out / "rows" / "min_recycling_rate=0.json"
        before = done_row.stat().st_mtime_ns
        # --resume runs only the failed case again; the finished one is not touched
        again = run_sweep(path, out, scheduler=address, resume=True)
        assert done_row.stat().st_mtime_ns == before
        assert list(again["status"]) == ["ok", "failed"]
    with pytest.raises(InputError, match="already exists"):
        run_sweep(path, out)


def test_resume_with_everything_done_runs_nothing(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[axes]\n"economics.demand_growth" = [0.02]\n')
    out = tmp_path / "out"
    first = run_sweep(path, out, workers=1)
    # no scheduler answers at this address: a sweep with nothing left never connects
    again = run_sweep(path, out, scheduler="tcp://127.0.0.1:9", resume=True)
    assert again["npv_kzt"].tolist() == first["npv_kzt"].tolist()


def test_unreachable_scheduler_is_a_quick_input_error(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[axes]\n"economics.demand_growth" = [0.02]\n')
    started = time.perf_counter()
    with pytest.raises(InputError, match="no Dask scheduler answered"):
        run_sweep(path, tmp_path / "out", scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert time.perf_counter() - started < 30  # a bound on a hang, not a speed test


def test_cli_bad_axis_exits_1_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_sweep(tmp_path, '[axes]\n"economics.nothing" = [1]\n')
    code = main(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert code == 1
    assert "economics has no field 'nothing'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_worker_dying_twice_is_a_failed_case_and_the_cluster_goes_on() -> None:
    import os

    from optimizer.sweep.run import _outcome, connect

    with connect(None, 1) as client:
        dying = client.submit(os._exit, 1, key="sweep-test-die", pure=False)
        outcome = _outcome(dying)
        assert outcome["status"] == "failed"
        assert "died twice (retried once)" in outcome["error"]
        assert client.submit(sum, [1, 2], pure=False).result() == 3  # the cluster goes on
