"""A sweep's results: one row per case (every KPI of its plan.json), as CSV and Parquet.

Each finished case leaves ``rows/<case>.json`` (its row) and, when it succeeded,
``cases/<case>/`` (its plan folder), so that ``--resume`` knows what is done and
an interrupted sweep loses no finished case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.outputs import write_file
from optimizer.sweep.spec import Case, SweepSpec

#: The columns every row starts with; the KPIs follow in plan.json's order.
ID_COLUMNS = ("case", "base", "status", "error", "seed", "wall_s")
#: The file at the top of a sweep folder that marks it as one (and says what it ran).
MARKER = "sweep.json"


def case_row(case: Case, outcome: Mapping[str, Any]) -> dict[str, Any]:
    """A case's row: its name, the values it set, its status and every scalar KPI."""
    row: dict[str, Any] = {
        "case": case.name,
        "base": case.base,
        "status": outcome["status"],
        "error": outcome.get("error", ""),
        "seed": case.seed,
        "wall_s": outcome.get("wall_s"),
    }
    row.update({f"set:{k}": v for k, v in case.values.items()})
    plan = outcome.get("plan")
    if plan is not None:
        row["open_sites"] = " ".join(f["id"] for f in plan["facilities"] if f.get("open"))
        for key, value in plan["kpis"].items():
            if isinstance(value, dict):  # e.g. unserved_by_reason: one column per reason
                row.update({f"{key}:{k}": v for k, v in value.items()})
            elif not isinstance(value, list):
                row[key] = value
    return row


def row_path(out: Path, name: str) -> Path:
    return out / "rows" / f"{name}.json"


def case_folder(out: Path, name: str) -> Path:
    return out / "cases" / name


def write_row(out: Path, row: Mapping[str, Any]) -> None:
    """Keep a finished case's row (atomically), so that --resume can skip it."""
    path = row_path(out, str(row["case"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(row, indent=1, default=str)
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_row(out: Path, name: str) -> dict[str, Any] | None:
    """A case's kept row, or None when it has none (or an unreadable one)."""
    try:
        row = json.loads(row_path(out, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def is_done(out: Path, case: Case) -> bool:
    """Whether --resume may skip a case: it succeeded and its plan folder is there."""
    row = read_row(out, case.name)
    return (
        row is not None
        and row.get("status") == "ok"
        and (case_folder(out, case.name) / "plan.json").is_file()
    )


def rows_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame: the id columns, the values set, then the KPIs."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=list(ID_COLUMNS))
    set_cols = [c for c in frame.columns if c.startswith("set:")]
    rest = [c for c in frame.columns if c not in ID_COLUMNS and c not in set_cols]
    return frame[[*ID_COLUMNS, *set_cols, *rest]]


def write_tables(out: Path, frame: pd.DataFrame) -> list[Path]:
    """results.csv and results.parquet (every column; mixed ones stored as text)."""
    csv_path, parquet_path = out / "results.csv", out / "results.parquet"
    write_file(csv_path, lambda tmp: frame.to_csv(tmp, index=False))
    typed = frame.copy()
    for column in typed.columns:  # Parquet needs one type a column: mixed ones become text
        values = typed[column].dropna()
        if typed[column].dtype == object and len({type(v) for v in values}) > 1:
            typed[column] = typed[column].map(lambda v: None if v is None else str(v))
    write_file(parquet_path, lambda tmp: typed.to_parquet(tmp, index=False, engine="pyarrow"))
    return [csv_path, parquet_path]


def write_marker(out: Path, spec: SweepSpec, stage: str, names: Sequence[str]) -> None:
    """``sweep.json``: what this folder holds, read by --force and --resume."""
    data = {
        "sweep": spec.name,
        "file": str(spec.file),
        "stage": stage,
        "cases": list(names),
    }
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1)
    write_file(out / MARKER, lambda tmp: tmp.write_text(text, encoding="utf-8"))
