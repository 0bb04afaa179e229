"""``optimizer bench``: the command writes the contract columns and scores against best-known."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from optimizer.benchrun import SOLVER_COLUMNS
from optimizer.cli import main


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_bench_cflp_cap41(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "facility_location" / "orlib_cap"
    folder = tmp_path / "cap"
    folder.mkdir()
    (folder / "cap41.txt").symlink_to(src / "cap41.txt")
    with (src / "optimal.csv").open() as handle:
        lines = [line for line in handle if line.startswith(("instance,", "cap41,"))]
    (folder / "optimal.csv").write_text("".join(lines))
    out = tmp_path / "cflp.csv"
    assert (
        main(["bench", "cflp", "--instances", str(folder), "--time-limit", "20", "--out", str(out)])
        == 0
    )
    (row,) = _rows(out)
    assert list(row)[: len(SOLVER_COLUMNS)] == list(SOLVER_COLUMNS)
    assert row["instance"] == "cap41"
    assert row["feasible"] == "True"
    assert float(row["gap_pct"]) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_bench_cvrp_small(shared_data: Path, tmp_path: Path, workers: str) -> None:
    src = shared_data / "cvrplib" / "E"
    folder = tmp_path / "cvrp"
    folder.mkdir()
    (folder / "E-n13-k4.vrp").symlink_to(src / "E-n13-k4.vrp")
    with (shared_data / "cvrplib" / "bks.csv").open() as handle:
        lines = [line for line in handle if line.startswith(("instance,", "E-n13-k4,"))]
    (folder / "bks.csv").write_text("".join(lines))
    out = tmp_path / "cvrp.csv"
    assert (
        main(
            [
                *("bench", "cvrp", "--instances", str(folder), "--time-limit", "2"),
                *("--workers", workers, "--out", str(out)),
            ]
        )
        == 0
    )
    (row,) = _rows(out)
    assert row["instance"] == "E-n13-k4"
    assert row["feasible"] == "True"
    assert float(row["gap_pct"]) < 1.0  # 13 nodes: the optimum (247) is found in seconds


def test_bench_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bench", "cvrp", "--instances", str(tmp_path / "nope"), "--out", str(tmp_path / "r.csv")]
    )
    assert code == 1
    assert "instance folder not found" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_bench_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "vrptw", "--instances", str(tmp_path), "--out", str(tmp_path / "r.csv")])
    assert code == 1
    assert "no vrptw instance files found" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["0", "9", "two"])
def test_bench_bad_worker_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(
            [
                *("bench", "cvrp", "--instances", str(tmp_path)),
                *("--workers", workers, "--out", str(tmp_path / "r.csv")),
            ]
        )
    assert stop.value.code == 1
    assert "process count from 1 to 8" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
