"""``make maps``: regenerate the example plans and maps in ``maps/`` from ``instances/``.

Runs the embedded demo and every ``instances/*/scenario.toml`` whose road network is
available on this machine (a local file that exists); scenarios that need a download
are skipped with a note, so the gallery also builds offline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optimizer.errors import OptimizerError
from optimizer.plan import demo_scenario_path, run_and_write
from optimizer.scenario import load_scenario


def _offline_ready(path: Path) -> tuple[bool, str]:
    """Whether a scenario's network can be had without internet, and why not."""
    try:
        scenario = load_scenario(path)
    except OptimizerError as exc:
        return False, f"invalid: {exc}"
    spec = scenario.network
    if spec.demo:
        return True, ""
    if spec.file is not None:
        file = scenario.resolve(spec.file)
        return (True, "") if file.exists() else (False, f"network file {file} not found")
    return False, "needs an online download (run `optimizer network --place ...` first)"


def main(argv: list[str] | None = None) -> int:
    """Write maps/<scenario>/ for the demo and each offline-ready instance."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", default="instances", type=Path)
    parser.add_argument("--out", default="maps", type=Path)
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    jobs = [("demo", demo_scenario_path())]
    jobs += [(p.parent.name, p) for p in sorted(args.instances.glob("*/scenario.toml"))]
    failures = 0
    for name, path in jobs:
        ready, why = _offline_ready(path)
        if not ready:
            print(f"skip {name}: {why}")
            continue
        start = time.perf_counter()
        try:
            out = run_and_write(path, args.out / name, force=True, time_limit_s=args.time_limit)
        except OptimizerError as exc:
            failures += 1
            print(f"FAILED {name}: {exc}", file=sys.stderr)
            continue
        print(f"{name}: {out / 'map.html'} ({time.perf_counter() - start:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
