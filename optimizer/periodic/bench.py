"""``optimizer bench pvrpif``: every PVRP-IF instance of a folder, scored against ``bks.csv``.

Instances are found in the folder and its subfolders (``planning_horizon_4``,
``planning_horizon_6``); ``bks.csv`` is looked up in the folder and its parent.
Each solution is checked by :func:`~optimizer.periodic.verify.verify_periodic`
before it counts as feasible.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from optimizer.errors import InfeasibleError, InputError
from optimizer.periodic.readers import read_bks, read_pvrpif
from optimizer.periodic.solve import solve_periodic
from optimizer.periodic.verify import verify_periodic

log = logging.getLogger(__name__)


def list_instances(folder: Path) -> list[Path]:
    """The ``*.geojson`` instances under ``folder``, by horizon, size and name."""
    files = [p for p in folder.rglob("*.geojson") if p.is_file()]

    def key(p: Path) -> tuple[int, int, str]:
        parts = p.stem.split("_")
        try:
            return int(parts[2]), int(parts[1]), p.stem
        except (IndexError, ValueError):
            return 0, 0, p.stem

    return sorted(files, key=key)


def _bks(folder: Path) -> dict[str, tuple[float, bool]]:
    for place in (folder, folder.parent, folder.parent.parent):
        if (place / "bks.csv").is_file():
            return read_bks(place / "bks.csv")
    return {}


def run_pvrpif_benchmark(folder: Path, time_limit_s: float, seed: int = 0) -> list[dict[str, Any]]:
    """Solve every instance (one process, ``time_limit_s`` each) and return one row each:
    ``instance,n,solver,time_limit_s,runtime_s,cost,vehicles,bks,gap_pct,feasible``,
    then ``horizon,proven_optimal,verified``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError.one(str(folder), "", "instance folder not found", "pass a folder")
    best = _bks(folder)
    rows: list[dict[str, Any]] = []
    for path in list_instances(folder):
        problem = read_pvrpif(path)
        bks, proven = best.get(problem.name, (math.nan, False))
        t0 = time.perf_counter()
        try:
            solution = solve_periodic(problem, time_limit_s=time_limit_s, seed=seed)
        except InfeasibleError as exc:
            log.warning("%s: %s", problem.name, exc)
            cost, vehicles, feasible, issues = math.nan, 0, False, [str(exc)]
        else:
            issues = verify_periodic(problem, solution)
            cost, vehicles, feasible = solution.cost, solution.fleet, not issues
        runtime = time.perf_counter() - t0
        gap = 100.0 * (cost - bks) / bks if feasible and bks == bks else math.nan
        rows.append(
            {
                "instance": problem.name,
                "n": len(problem.bins),
                "solver": "optimizer",
                "time_limit_s": time_limit_s,
                "runtime_s": round(runtime, 2),
                "cost": cost,
                "vehicles": vehicles,
                "bks": bks,
                "gap_pct": round(gap, 3) if gap == gap else math.nan,
                "feasible": feasible,
                "horizon": problem.horizon,
                "proven_optimal": proven,
                "verified": not issues,
            }
        )
        log.info("%s: cost %s, gap %s %%", problem.name, cost, rows[-1]["gap_pct"])
    return rows
