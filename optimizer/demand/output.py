"""What ``optimizer demand`` prints and writes: per-stream totals and the CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from optimizer.demand.rules import stream_kind

if TYPE_CHECKING:
    from optimizer.scenario import Scenario

#: Streams counted as municipal solid waste in totals (household and similar).
MUNICIPAL_KINDS = ("msw", "dry", "wet", "bulky")


def _kind(scenario: Scenario | None, stream_id: str) -> str:
    if scenario is not None:
        return stream_kind(scenario.stream(stream_id))
    return stream_kind(stream_id)


def municipal_tonnes_per_day(df: pd.DataFrame, scenario: Scenario | None = None) -> float:
    """Total tonnes/day of the municipal streams (MSW, dry, wet, bulky) in an estimate."""
    if df.empty:
        return 0.0
    kinds = df["stream"].map(lambda s: _kind(scenario, s))
    return float(df.loc[kinds.isin(MUNICIPAL_KINDS), "tonnes_per_day"].sum())


def demand_summary(df: pd.DataFrame) -> str:
    """Per-stream totals as a small text table (mean and 5–95 % range for samples)."""
    if df.empty:
        return "no demand: no collection points and no districts with population"
    lines = []
    if "sample" in df.columns:
        n = df["sample"].nunique()
        totals = df.groupby(["sample", "stream"])["tonnes_per_day"].sum().unstack(fill_value=0)
        lines.append(f"{n} demand samples; tonnes per day by stream (mean, 5 %, 95 %):")
        for stream in totals.columns:
            col = totals[stream]
            lines.append(
                f"  {stream:<18} {col.mean():10.1f}  [{col.quantile(0.05):.1f} – "
                f"{col.quantile(0.95):.1f}]"
            )
        all_streams = totals.sum(axis=1)
        lines.append(
            f"  {'all streams':<18} {all_streams.mean():10.1f}  "
            f"[{all_streams.quantile(0.05):.1f} – {all_streams.quantile(0.95):.1f}]"
        )
        return "\n".join(lines)
    grouped = df.groupby("stream", sort=False).agg(
        points=("point_id", "nunique"),
        tonnes=("tonnes_per_day", "sum"),
        m3=("m3_per_day", "sum"),
        containers=("containers", "sum"),
    )
    header = f"  {'stream':<18} {'points':>7} {'t/day':>10} {'m³/day':>10} {'kt/yr':>8} {'containers':>10}"
    lines += ["demand per stream:", header]
    for name, row in grouped.iterrows():
        lines.append(
            f"  {name!s:<18} {int(row.points):>7d} {row.tonnes:>10.1f} {row.m3:>10.1f} "
            f"{row.tonnes * 365 / 1000:>8.1f} {int(row.containers):>10d}"
        )
    tonnes = grouped["tonnes"].sum()
    lines.append(
        f"  {'all streams':<18} {df['point_id'].nunique():>7d} {tonnes:>10.1f} "
        f"{grouped['m3'].sum():>10.1f} {tonnes * 365 / 1000:>8.1f} "
        f"{int(grouped['containers'].sum()):>10d}"
    )
    return "\n".join(lines)


def write_demand_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write an estimate (or samples) as UTF-8 CSV, numbers rounded to useful precision."""
    out = df.copy()
    for column, digits in (
        ("lon", 6),
        ("lat", 6),
        ("tonnes_per_day", 4),
        ("m3_per_day", 4),
        ("visits_per_week", 3),
        ("people_served", 1),
    ):
        if column in out.columns:
            out[column] = out[column].astype(float).round(digits)
    out.to_csv(Path(path), index=False, encoding="utf-8")
