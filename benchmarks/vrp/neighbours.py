"""PyVRP engine with different granular neighbourhood sizes, run side by side.

Usage:
    python benchmarks/vrp/neighbours.py --neighbours 50,25 --time-limit 30 --min-n 401 \
        [--every 2 --offset 0] [--out benchmarks/vrp/x_neighbours_50-25_30s.csv]

For each CVRPLIB X instance (customers >= ``--min-n``), every neighbourhood size runs
at the same time in its own process (one per size, so two sizes use the two cores
and share the machine's noise equally), through the product's PyVRP mapping and
search (``pyvrp_engine.build_data`` / ``search``); the plan is checked by the
independent verifier. Prints a table and appends a CSV row per run.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from optimizer.routing import pyvrp_engine
from optimizer.routing.bench import list_instances, read_instance
from optimizer.routing.verify import verify_routes

HERE = Path(__file__).resolve().parent
X_DIR = HERE.parents[2] / "shared" / "data" / "cvrplib" / "X"
FIELDS = ("instance", "n", "neighbours", "time_limit_s", "cost", "bks", "gap_pct", "feasible")


def _customers(path: Path) -> int:
    found = re.search(r"-n(\d+)-", path.stem)
    return int(found.group(1)) - 1 if found else 0


def run_one(path: str, neighbours: int, limit: float) -> dict[str, object]:
    """One search of one instance with ``neighbours`` per stop: a result row."""
    instance = read_instance("cvrp", Path(path))
    problem = instance.problem
    t0 = time.perf_counter()
    mapping = pyvrp_engine.build_data(problem, list(problem.stops))
    found = pyvrp_engine.search(mapping, t0 + limit, seed=0, neighbours=neighbours)
    plan = None
    if found is not None:
        plan = pyvrp_engine.decode(problem, mapping, found, time.perf_counter() - t0)
    feasible = plan is not None and not verify_routes(problem, plan) and not plan.unserved
    cost = instance.cost(plan.distance_m) if plan is not None else None
    gap = (
        100.0 * (cost - instance.bks) / instance.bks if feasible and cost and instance.bks else None
    )
    return {
        "instance": instance.name,
        "n": len(problem.stops),
        "neighbours": neighbours,
        "time_limit_s": limit,
        "cost": cost,
        "bks": instance.bks,
        "gap_pct": round(gap, 3) if gap is not None else None,
        "feasible": feasible,
    }


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neighbours", default="50,25", help="sizes to compare, comma-separated")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--min-n", type=int, default=401, help="smallest customer count")
    parser.add_argument("--every", type=int, default=1, help="take every k-th instance ...")
    parser.add_argument("--offset", type=int, default=0, help="... starting at this one")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.neighbours.split(",")]
    paths = [p for p in list_instances("cvrp", X_DIR) if _customers(p) >= args.min_n]
    paths = paths[args.offset :: args.every]
    out = args.out or HERE / f"x_neighbours_{'-'.join(map(str, sizes))}_{args.time_limit:g}s.csv"
    rows: list[dict[str, object]] = []
    with ProcessPoolExecutor(max_workers=len(sizes)) as pool:
        for path in paths:
            futures = [pool.submit(run_one, str(path), k, args.time_limit) for k in sizes]
            pair = [f.result() for f in futures]
            rows.extend(pair)
            new = not out.exists()
            with out.open("a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS)
                if new:
                    writer.writeheader()
                writer.writerows(pair)
            print(
                path.stem, "  ".join(f"{r['neighbours']}: {r['gap_pct']}" for r in pair), flush=True
            )
    print(f"\n{'neighbours':>10} {'mean gap %':>10} {'feasible':>8} {'cheapest':>8}")
    by_instance: dict[object, list[dict[str, object]]] = {}
    for r in rows:
        by_instance.setdefault(r["instance"], []).append(r)
    for k in sizes:
        mine = [r for r in rows if r["neighbours"] == k]
        gaps = [float(r["gap_pct"]) for r in mine if r["gap_pct"] is not None]  # type: ignore[arg-type]
        wins = sum(
            1
            for group in by_instance.values()
            if all(
                r["cost"] is not None and (o["cost"] is None or float(r["cost"]) < float(o["cost"]))  # type: ignore[arg-type]
                for r in group
                if r["neighbours"] == k
                for o in group
                if o["neighbours"] != k
            )
        )
        mean = statistics.fmean(gaps) if gaps else float("nan")
        print(f"{k:>10} {mean:>10.3f} {len(gaps):>4}/{len(mine):<3} {wins:>8}")


if __name__ == "__main__":
    main()
