"""Regenerate benchmarks/cflp/results.csv and pmedian.csv (until `optimizer bench cflp`).

Usage: .venv/bin/python benchmarks/cflp/run.py [--instances DIR] [--time-limit S]
       [--solver NAME] [--pmedian]
"""

from __future__ import annotations

import argparse
import csv
import logging
import platform
from pathlib import Path

from optimizer.location.bench import run_cflp_benchmark, run_pmedian_benchmark, write_rows

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[1].parent / "shared/data/facility_location/orlib_cap"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=Path, default=DEFAULT)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solver", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "results.csv")
    ap.add_argument("--pmedian", action="store_true", help="only the p-median row")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.info("machine: %s, python %s", platform.platform(), platform.python_version())
    if args.pmedian:
        row = run_pmedian_benchmark(time_limit_s=args.time_limit, solver=args.solver)
        with (HERE / "pmedian.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            w.writeheader()
            w.writerow(row)
        logging.info("%s", row)
        return
    rows = run_cflp_benchmark(args.instances, args.time_limit, args.solver)
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
