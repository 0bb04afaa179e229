"""Measure a sweep against the same cases run one after another, and check they agree.

    python -m optimizer.sweep.speed instances/astana/sweep_sites.toml --workers 2

Runs every case alone first (each loads its own network and matrix and writes its
plan folder, as separate ``optimizer sites`` runs would), then the sweep on a local
cluster, and prints both wall times, the speed-up and whether every case's KPIs
(the deterministic ones of an optimal site model) are the same.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from optimizer.sweep.spec import read_sweep

#: KPIs an optimal site model fixes: equal in a sweep and in a run alone.
SAME_KPIS = ("npv_kzt", "capex_kzt", "recycling_rate", "co2e_net_t_per_year", "sites_open")


def run_alone(spec_path: Path, out: Path, time_limit_s: float | None) -> dict[str, dict[str, Any]]:
    """Every case on its own, one after another: name -> plan KPIs (and open sites)."""
    from optimizer.outputs import write_plan_folder
    from optimizer.plan import build_plan
    from optimizer.plan_types import Plan

    spec = read_sweep(spec_path)
    limit = time_limit_s if time_limit_s is not None else spec.time_limit_s
    kpis: dict[str, dict[str, Any]] = {}
    for case in spec.cases:
        plan: Any = build_plan(case.scenario, stage=spec.stage, time_limit_s=limit, seed=case.seed)
        write_plan_folder(cast(Plan, plan), out / case.name, force=True)
        opened = " ".join(f["id"] for f in plan["facilities"] if f.get("open"))
        kpis[case.name] = {**plan["kpis"], "open_sites": opened}
    return kpis


def differences(alone: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
    """The cases whose sweep row differs from the run alone, with the KPI that differs."""
    found = []
    for row in rows:
        ref = alone.get(str(row["case"]))
        if ref is None or row.get("status") != "ok":
            found.append(f"{row['case']}: {row.get('status')} {row.get('error') or ''}".strip())
            continue
        for key in (*SAME_KPIS, "open_sites"):
            a, b = ref.get(key), row.get(key)
            same = a == b or (
                isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
            )
            if not same:
                found.append(f"{row['case']}: {key} alone {a} vs sweep {b}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Time both ways, print the speed-up and the cases that differ (exit 1 if any)."""
    from optimizer.sweep.command import run_sweep

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep_file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sweep-speed-") as tmp:
        t0 = time.perf_counter()
        alone = run_alone(Path(args.sweep_file), Path(tmp) / "alone", args.time_limit)
        t_alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = run_sweep(
            args.sweep_file, Path(tmp) / "sweep", workers=args.workers, time_limit_s=args.time_limit
        )
        t_sweep = time.perf_counter() - t0
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")
    ]
    diff = differences(alone, rows)
    print(f"{len(rows)} cases: one after another {t_alone:.1f} s")
    print(
        f"sweep on {args.workers} local workers {t_sweep:.1f} s: speed-up {t_alone / t_sweep:.2f}x"
    )
    print("results identical per case" if not diff else "DIFFERENT:\n  " + "\n  ".join(diff))
    return 1 if diff else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
