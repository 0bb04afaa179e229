"""Run the routing benchmark subset used in README.md; one CSV per set and solver.

Usage: python benchmarks/vrp/run.py SET SOLVER [TIME_LIMIT_S]
SET is x, solomon or kim. Rows are appended as instances finish.
"""

from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path

from optimizer.routing.bench import COLUMNS, run_benchmark

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SETS = {
    "x": (
        "cvrp",
        DATA / "cvrplib" / "X",
        [
            "X-n101-k25",
            "X-n129-k18",
            "X-n157-k13",
            "X-n186-k15",
            "X-n219-k73",
            "X-n256-k16",
            "X-n284-k15",
            "X-n322-k28",
            "X-n351-k40",
            "X-n393-k38",
        ],
    ),
    "solomon": (
        "vrptw",
        DATA / "vrptw" / "solomon",
        [
            "C101",
            "C205",
            "R101",
            "R109",
            "R202",
            "RC103",
            "RC201",
            "RC208",
        ],
    ),
    "kim": ("wcvrptw", DATA / "waste" / "kim2006_wcvrptw", None),
}


def main() -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    name, solver = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    kind, folder, subset = SETS[name]
    out = Path(__file__).parent / f"{name}_{solver}_{int(limit)}s.csv"
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()

        def write(row: dict[str, object]) -> None:
            writer.writerow(row)
            handle.flush()

        run_benchmark(kind, folder, limit, solver, instances=subset, on_row=write)


if __name__ == "__main__":
    main()
