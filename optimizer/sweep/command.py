"""``optimizer sweep`` and ``optimizer.sweep(...)``: read, check, run, write the results."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import InputError
from optimizer.outputs import protected_reason, removal_refusal, write_file, write_plan_folder
from optimizer.sweep import results as res
from optimizer.sweep.html import MARKER as HTML_MARKER
from optimizer.sweep.html import sweep_html
from optimizer.sweep.run import Finished, Progress, connect, run_cases
from optimizer.sweep.spec import SweepSpec, read_sweep


def _inputs(spec: SweepSpec) -> list[Path]:
    """The files a sweep reads: the sweep file, its scenarios and their tables."""
    paths = [spec.file]
    for case in spec.cases:
        paths += [Path(case.scenario.source_file), *(Path(p) for p in case.scenario.files.values())]
    return paths


def check_sweep_folder(out: Path, *, resume: bool, force: bool, inputs: Iterable[Path]) -> None:
    """Refuse, before any work, an --out that exists unless resuming or replacing a sweep."""
    if resume and force:
        raise InputError.one(
            str(out),
            "",
            "--resume and --force together",
            "keep one: --resume continues the sweep in this folder, --force starts it again",
        )
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError.one(str(out), "", "is a file or a link", "choose a new folder for --out")
    if not out.exists() or not any(out.iterdir()):
        return
    ours = (out / res.MARKER).is_file()
    if not (resume or force):
        raise InputError.one(
            str(out),
            "",
            "output folder already exists",
            "pass --resume to finish the cases not yet done, --force to run them all again, "
            "or choose another --out",
        )
    if not ours:
        raise InputError.one(
            str(out),
            "",
            f"not a sweep folder (no {res.MARKER}); --resume and --force only touch sweep folders",
            "choose a new folder for --out",
        )
    why = protected_reason(out, inputs) or (removal_refusal(out) if force else None)
    if why:
        raise InputError.one(
            str(out), "", f"will not be replaced: it {why}", "choose another --out"
        )


def run_sweep(
    spec_path: str | Path,
    out: str | Path | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = False,
    force: bool = False,
    time_limit_s: float | None = None,
    on_progress: Progress | None = None,
) -> pd.DataFrame:
    """Run every case of a sweep file on Dask and return one row per case.

    ``out`` (optional): the folder for results.csv, results.parquet, sweep.html and
    each case's plan folder under cases/. ``scheduler``: the address of a running
    Dask scheduler (default: a local cluster of ``workers`` processes, one per core).
    ``time_limit_s`` overrides the sweep file's and the scenarios' time limit.
    """
    spec = read_sweep(spec_path)
    folder = Path(out) if out is not None else None
    if folder is not None:
        check_sweep_folder(folder, resume=resume, force=force, inputs=_inputs(spec))
    done = {c.name for c in spec.cases if folder is not None and resume and res.is_done(folder, c)}
    rows: dict[str, dict[str, Any]] = {}
    for name in done:
        row = res.read_row(folder, name) if folder is not None else None
        if row is not None:
            rows[name] = row

    def keep(finished: Finished) -> None:
        row = res.case_row(finished.case, finished.outcome)
        plan = finished.outcome.get("plan")
        if folder is not None and plan is not None:
            try:
                write_plan_folder(plan, res.case_folder(folder, finished.case.name), force=True)
            except (OSError, InputError) as exc:
                row.update(status="failed", error=f"writing the plan folder: {exc}")
        if folder is not None:
            res.write_row(folder, row)
        rows[finished.case.name] = row

    todo = [c for c in spec.cases if c.name not in done]
    # connect first: a scheduler that does not answer leaves the folder as it was
    with connect(scheduler, workers) if todo else contextlib.nullcontext() as client:
        if folder is not None:
            if force and folder.exists():
                shutil.rmtree(folder)
            res.write_marker(folder, spec, spec.stage, [c.name for c in spec.cases])
        if client is not None:
            limit = time_limit_s if time_limit_s is not None else spec.time_limit_s
            run_cases(
                client, todo, stage=spec.stage, time_limit_s=limit, on_done=keep,
                on_progress=on_progress,
            )  # fmt: skip
    frame = res.rows_frame(rows[c.name] for c in spec.cases if c.name in rows)
    if folder is not None:
        res.write_tables(folder, frame)
        page = sweep_html(frame, title=f"Sweep {spec.name}", stage=spec.stage)
        assert HTML_MARKER in page
        write_file(folder / "sweep.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return frame
