"""Regenerate benchmarks/cflp/results.csv and pmedian.csv (until `optimizer bench cflp`).

Usage: .venv/bin/python benchmarks/cflp/run.py [--instances DIR] [--time-limit S]
       [--solver NAME] [--pmedian [--matrix-cache FILE.npz]]
"""

from __future__ import annotations

import argparse
import logging
import platform
from pathlib import Path

from optimizer.location.bench import (
    run_cflp_benchmark,
    run_pmedian_benchmark,
    run_pmedian_network_benchmark,
    write_pmedian_rows,
    write_rows,
)

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[1].parent / "shared/data/facility_location/orlib_cap"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=Path, default=DEFAULT)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solver", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "results.csv")
    ap.add_argument("--pmedian", action="store_true", help="only the p-median rows")
    ap.add_argument(
        "--matrix-cache", type=Path, default=None, help=".npz keeping the Astana travel block"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.info("machine: %s, python %s", platform.platform(), platform.python_version())
    if args.pmedian:
        rows = [
            run_pmedian_benchmark(time_limit_s=args.time_limit, solver=args.solver),
            run_pmedian_network_benchmark(
                time_limit_s=args.time_limit, solver=args.solver, cache=args.matrix_cache
            ),
        ]
        write_pmedian_rows(rows, HERE / "pmedian.csv")
        for row in rows:
            logging.info("%s", row)
        return
    rows = run_cflp_benchmark(args.instances, args.time_limit, args.solver)
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
