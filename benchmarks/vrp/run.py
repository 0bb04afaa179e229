"""Run the routing benchmarks: sets x solvers x instances, as Dask tasks (one per core).

Usage:
    python benchmarks/vrp/run.py --sets x,solomon --solvers optimizer,ortools,pyvrp,vroom \
        --time-limit 30 [--jobs 2] [--max-n 401] [--scheduler tcp://host:8786]

Each (set, solver) writes ``{set}_{solver}[-{tag}][_wN]_{limit}s.csv`` beside this file, a row as
each instance finishes (rows are appended, so an interrupted run keeps what it has;
delete the file to start over). Every job is one process solving one instance, so two
jobs use the two cores and no job shares a core with another.
"""

from __future__ import annotations

import argparse
import csv
import logging
import re
from pathlib import Path

from distributed import as_completed

from optimizer.routing.bench import COLUMNS, list_instances, read_instance, run_instance
from optimizer.sweep.run import connect

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "shared" / "data"
#: set name -> (benchmark kind, folder)
SETS = {
    "x": ("cvrp", DATA / "cvrplib" / "X"),
    "a": ("cvrp", DATA / "cvrplib" / "A"),
    "b": ("cvrp", DATA / "cvrplib" / "B"),
    "e": ("cvrp", DATA / "cvrplib" / "E"),
    "p": ("cvrp", DATA / "cvrplib" / "P"),
    "m": ("cvrp", DATA / "cvrplib" / "M"),
    "solomon": ("vrptw", DATA / "vrptw" / "solomon"),
    "homberger200": ("vrptw", DATA / "vrptw" / "homberger_200"),
    "kim": ("wcvrptw", DATA / "waste" / "kim2006_wcvrptw"),
}


def _customers(path: Path) -> int | None:
    """Customers from a CVRPLIB name (X-n101-k25 -> 100), else None."""
    found = re.search(r"-n(\d+)-", path.stem)
    return int(found.group(1)) - 1 if found else None


def _job(kind: str, path: str, solver: str, limit: float, workers: int) -> dict[str, object]:
    return run_instance(read_instance(kind, Path(path)), solver, limit, workers=workers)


def main() -> None:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="x")
    parser.add_argument("--solvers", default="optimizer")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=2, help="local Dask worker processes")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler (docs/sweeps.md)")
    parser.add_argument("--workers", type=int, default=1, help="processes per optimizer run")
    parser.add_argument("--max-n", type=int, default=None, help="skip larger CVRPLIB instances")
    parser.add_argument("--only", default="", help="comma-separated instance names")
    parser.add_argument("--tag", default="", help="file names say {solver}-{tag}")
    args = parser.parse_args()
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    jobs = []
    suffix = f"_w{args.workers}" if args.workers > 1 else ""
    tag = f"-{args.tag}" if args.tag else ""
    for name in args.sets.split(","):
        kind, folder = SETS[name]
        outputs = {
            solver: HERE / f"{name}_{solver}{tag}{suffix}_{int(args.time_limit)}s.csv"
            for solver in args.solvers.split(",")
        }
        done: dict[str, set[str]] = {}
        for solver, out in outputs.items():
            done[solver] = set()
            if out.exists():
                with out.open() as handle:
                    # rows name the instance as its file does inside (Solomon-style files
                    # say R1_2_1 in r1_2_1.txt): compare without case
                    done[solver] = {row["instance"].lower() for row in csv.DictReader(handle)}
        # instance by instance, every solver on it: a partial run stays comparable
        for path in list_instances(kind, folder):
            n = _customers(path)
            if args.max_n is not None and n is not None and n > args.max_n:
                continue
            if only and path.stem.lower() not in only:
                continue
            for solver, out in outputs.items():
                if path.stem.lower() not in done[solver]:
                    jobs.append((kind, path, solver, out))
    print(f"{len(jobs)} jobs")
    with connect(args.scheduler, args.jobs) as pool:  # a dask.distributed Client
        futures = {
            pool.submit(_job, kind, str(path), solver, args.time_limit, args.workers): out
            for kind, path, solver, out in jobs
        }
        for future in as_completed(futures):
            out = futures[future]
            row = future.result()
            new = not out.exists()
            with out.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerow(row)
            print(out.name, row["instance"], row["gap_pct"], flush=True)


if __name__ == "__main__":
    main()
