"""The benchmark runner: rows, gaps, peers on a tiny instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.routing.bench import COLUMNS, run_benchmark


@pytest.mark.parametrize("solver", ["optimizer", "ortools", "pyvrp", "vroom"])
def test_cvrp_rows(shared_data: Path, solver: str) -> None:
    if solver in ("pyvrp", "vroom"):
        pytest.importorskip(solver)
    rows = run_benchmark("cvrp", shared_data / "cvrplib" / "E", 1.0, solver, instances=["E-n13-k4"])
    (row,) = rows
    assert tuple(row) == COLUMNS
    assert row["feasible"] and row["bks"] == 247
    assert row["gap_pct"] is not None and row["gap_pct"] < 5


def test_vrptw_row(shared_data: Path) -> None:
    (row,) = run_benchmark(
        "vrptw", shared_data / "vrptw" / "solomon", 2.0, "optimizer", instances=["C101"]
    )
    assert row["feasible"] and row["n"] == 100
    assert row["gap_pct"] is not None and row["gap_pct"] < 5


def test_unknown_solver_and_kind(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown solver"):
        run_benchmark("cvrp", tmp_path, 1.0, "cplex")
    with pytest.raises(InputError, match="unknown kind"):
        run_benchmark("tsp", tmp_path, 1.0)


@pytest.mark.slow
def test_kim_smallest_feasible(shared_data: Path) -> None:
    (row,) = run_benchmark(
        "wcvrptw", shared_data / "waste" / "kim2006_wcvrptw", 10.0, instances=["102_stop"]
    )
    assert row["feasible"] and row["vehicles"] >= 1
