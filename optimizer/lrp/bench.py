"""Prodhon CLRP benchmark: one row per instance, verified, scored against best-known.

``optimizer bench lrp --instances DIR --time-limit S --out results.csv`` runs every
``*.dat`` file of DIR for S seconds each (one process). The campaign's second setting,
a limit proportional to the instance (2.4 s per customer), is
``python -m optimizer.lrp.bench --instances DIR --per-customer 2.4 --out FILE``.

Costs are read with ``rounding="ceil"`` (see :mod:`readers`), the convention of the
best-known values in ``bks.csv``, so ``gap_pct`` compares like with like.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from optimizer.errors import OptimizerError
from optimizer.lrp.readers import read_bks, read_prodhon
from optimizer.lrp.solve import solve_lrp
from optimizer.lrp.verify import verify_lrp

log = logging.getLogger(__name__)

SOLVER = "optimizer"


def list_instances(folder: Path) -> list[Path]:
    """The ``.dat`` files of ``folder``, smallest first (then by name)."""

    def size(p: Path) -> tuple[int, str]:
        digits = "".join(c if c.isdigit() else " " for c in p.stem).split()
        return (int(digits[0]) if digits else 0, p.stem)

    return sorted((p for p in folder.glob("*.dat") if p.is_file()), key=size)


def run_lrp_benchmark(
    folder: Path,
    time_limit_s: float,
    seed: int = 0,
    *,
    per_customer_s: float | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Solve every instance of ``folder``; ``per_customer_s`` (when given) replaces the
    fixed limit by that many seconds per customer. ``only`` keeps the named instances."""
    folder = Path(folder)
    bks_file = folder / "bks.csv"
    bks = read_bks(bks_file) if bks_file.is_file() else {}
    rows: list[dict[str, Any]] = []
    for path in list_instances(folder):
        if only is not None and path.stem not in only:
            continue
        problem = read_prodhon(path, rounding="ceil")
        limit = per_customer_s * problem.n if per_customer_s is not None else time_limit_s
        best = bks.get(path.stem)
        row: dict[str, Any] = {
            "instance": path.stem,
            "n": problem.n,
            "solver": SOLVER,
            "time_limit_s": round(limit, 1),
            "bks": best if best is not None else "",
        }
        t0 = time.perf_counter()
        try:
            solution = solve_lrp(problem, limit, seed)
        except OptimizerError as e:  # a failure is a row, not the end of the campaign
            log.error("%s: %s", path.name, e)
            row.update(
                runtime_s=round(time.perf_counter() - t0, 2),
                cost="",
                vehicles="",
                gap_pct=float("nan"),
                feasible=False,
                depots_open="",
                routes="",
                error=str(e),
            )
            rows.append(row)
            continue
        feasible = not verify_lrp(problem, solution)
        gap = 100.0 * (solution.cost - best) / best if best else float("nan")
        row.update(
            runtime_s=round(time.perf_counter() - t0, 2),
            cost=solution.cost,
            vehicles=len(solution.routes),
            gap_pct=round(gap, 3),
            feasible=feasible,
            depots_open=" ".join(problem.site_ids[j] for j in solution.open_sites),
            routes=len(solution.routes),
        )
        log.info("%s: cost %d gap %.2f %%", path.stem, solution.cost, gap)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """The campaign with a per-customer time limit (the CLI takes a fixed one)."""
    from optimizer.benchrun import SOLVER_COLUMNS, format_table, summary_line, write_rows

    parser = argparse.ArgumentParser(prog="python -m optimizer.lrp.bench")
    parser.add_argument("--instances", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--time-limit", type=float, help="seconds per instance")
    group.add_argument("--per-customer", type=float, help="seconds per customer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="instance names to run (default: all)")
    args = parser.parse_args(argv)
    rows = run_lrp_benchmark(
        args.instances,
        args.time_limit or 0.0,
        args.seed,
        per_customer_s=args.per_customer,
        only=args.only,
    )
    write_rows(rows, args.out, SOLVER_COLUMNS)
    print(format_table(rows, [*SOLVER_COLUMNS, "depots_open", "routes"]))
    print(summary_line(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
