"""``sweep.html``: the cases ranked by cost and the trade-offs drawn, offline.

One self-contained page: a table of the cases (cheapest first) and scatter charts
of present cost against CO2e and against the recycling rate, as inline SVG, with
the non-dominated cases (no other case is better on both axes) marked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

#: Present cost (or the route cost of a routes-only sweep): lower is better.
COST_KEYS = ("npv_kzt", "cost_kzt")
#: Emissions: the site model's net CO2e a year, else the trucks' CO2e.
CO2_KEYS = ("co2e_net_t_per_year", "co2e_t")
MARKER = '<meta name="generator" content="optimizer sweep">'

_LABELS = {
    "npv_kzt": "present cost, KZT",
    "cost_kzt": "route cost, KZT",
    "co2e_net_t_per_year": "net CO2e, t a year",
    "co2e_t": "trucks' CO2e, t",
    "recycling_rate": "recycling rate",
}
_TABLE = (
    "npv_kzt", "capex_kzt", "cost_kzt", "co2e_net_t_per_year", "co2e_t", "recycling_rate",
    "robustness", "sites_open", "vehicles_used", "distance_km", "unserved_stops", "wall_s",
)  # fmt: skip


def first_column(frame: pd.DataFrame, keys: Sequence[str]) -> str | None:
    """The first of ``keys`` with a number in some row, or None."""
    for key in keys:
        if key in frame.columns and pd.to_numeric(frame[key], errors="coerce").notna().any():
            return key
    return None


def non_dominated(points: Sequence[tuple[float, float]], *, maximize_y: bool) -> list[bool]:
    """For each (cost, y) point: whether no other point is as good on both and better on one."""
    sign = -1.0 if maximize_y else 1.0
    flags = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox <= x and sign * oy <= sign * y) and (ox < x or sign * oy < sign * y)
            for j, (ox, oy) in enumerate(points)
            if j != i
        )
        flags.append(not dominated)
    return flags


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        for scale, word in ((1e9, "bn"), (1e6, "M")):
            if abs(value) >= scale:
                return f"{value / scale:,.2f} {word}"
        if isinstance(value, int):
            return f"{value:,}"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return escape(str(value))


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / (n - 1) for i in range(n)]


def scatter_svg(
    rows: Sequence[Mapping[str, Any]], x_key: str, y_key: str, *, maximize_y: bool
) -> str:
    """An SVG scatter of the cases, the non-dominated ones red, joined, numbered by rank
    (the table's #) and listed under the chart."""
    rank = {str(r["case"]): i for i, r in enumerate(rows, 1)}
    pts = [
        (float(r[x_key]), float(r[y_key]), str(r["case"]))
        for r in rows
        if _number(r.get(x_key)) and _number(r.get(y_key))
    ]
    if not pts:
        return f"<p>No case has both {escape(x_key)} and {escape(y_key)}.</p>"
    width, height, left, bottom, top, right = 760, 380, 90, 50, 20, 60
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pad_x = (max(xs) - min(xs)) * 0.05 or abs(xs[0]) * 0.05 or 1.0
    pad_y = (max(ys) - min(ys)) * 0.05 or abs(ys[0]) * 0.05 or 1.0
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (width - left - right)

    def sy(v: float) -> float:
        return height - bottom - (v - y0) / (y1 - y0) * (height - bottom - top)

    front = non_dominated([(x, y) for x, y, _ in pts], maximize_y=maximize_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img">',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for t in _ticks(x0 + pad_x, x1 - pad_x):
        parts.append(
            f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
    for t in _ticks(y0 + pad_y, y1 - pad_y):
        parts.append(
            f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{_fmt(t)}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 10}" font-size="12" '
        f'text-anchor="middle">{escape(_LABELS.get(x_key, x_key))} (lower is better)</text>'
    )
    better = "higher" if maximize_y else "lower"
    parts.append(
        f'<text transform="translate(16 {(top + height - bottom) / 2}) rotate(-90)" '
        f'font-size="12" text-anchor="middle">'
        f"{escape(_LABELS.get(y_key, y_key))} ({better} is better)</text>"
    )
    line = sorted((x, y) for (x, y, _), f in zip(pts, front, strict=True) if f)
    if len(line) > 1:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="#dc2626" stroke-dasharray="4 3"/>'
        )
    labels: dict[tuple[float, float], list[str]] = {}
    for (x, y, name), best in zip(pts, front, strict=True):
        fill = "#dc2626" if best else "#9ca3af"
        parts.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{6 if best else 4}" fill="{fill}" '
            f'class="{"front" if best else "case"}"><title>#{rank[name]} {escape(name)}: '
            f"{_fmt(x)}, {_fmt(y)}</title></circle>"
        )
        if best:  # cases on the same spot share one label
            labels.setdefault((round(sx(x)), round(sy(y))), []).append(f"#{rank[name]}")
    for (px, py), names in labels.items():
        parts.append(
            f'<text x="{px + 9}" y="{py - 7}" font-size="11" fill="#991b1b">'
            f"{escape(', '.join(names))}</text>"
        )
    parts.append("</svg>")
    listed = "".join(
        f"<li>#{rank[name]} {escape(name)}: {_fmt(x)}, {_fmt(y)}</li>"
        for (x, y, name), best in sorted(zip(pts, front, strict=True), key=lambda p: p[0][0])
        if best
    )
    return "\n".join(parts) + f'\n<p class="note">Non-dominated:</p><ul class="note">{listed}</ul>'


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def sweep_html(frame: pd.DataFrame, *, title: str, stage: str) -> str:
    """The whole page for a sweep's results."""
    rows: list[dict[str, Any]] = [
        {str(k): (None if _is_nan(v) else v) for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") != "ok"]
    cost = first_column(frame, COST_KEYS)
    co2 = first_column(frame, CO2_KEYS)
    if cost:
        ok.sort(key=lambda r: (r.get(cost) is None, r.get(cost) or 0.0))
    set_cols = [c for c in frame.columns if str(c).startswith("set:")]
    shown = [c for c in _TABLE if any(r.get(c) is not None for r in ok)]  # the stage's KPIs
    head = ["#", "case", *[c[4:] for c in set_cols], "open sites", *shown]
    body = []
    for rank, r in enumerate(ok, 1):
        cells = [str(rank), escape(str(r["case"]))]
        cells += [_fmt(r.get(c)) for c in set_cols]
        cells += [escape(str(r.get("open_sites") or ""))]
        cells += [_fmt(r.get(c)) for c in shown]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    charts = []
    if cost and co2:
        charts.append(("Present cost against CO2e", scatter_svg(ok, cost, co2, maximize_y=False)))
    if cost and first_column(frame, ["recycling_rate"]):
        charts.append(
            (
                "Present cost against recycling rate",
                scatter_svg(ok, cost, "recycling_rate", maximize_y=True),
            )
        )
    failed_html = "".join(
        f"<li><b>{escape(str(r['case']))}</b>: {escape(str(r.get('error') or ''))}</li>"
        for r in failed
    )
    chart_html = "".join(f"<h2>{escape(t)}</h2>\n{svg}" for t, svg in charts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
{MARKER}
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #111; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 8px; text-align: right; white-space: nowrap; }}
td:nth-child(2), th:nth-child(2) {{ text-align: left; }}
th {{ background: #f3f4f6; }}
tr:first-child td {{ background: #fef2f2; }}
.note {{ color: #555; font-size: 13px; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p class="note">Stage: {escape(stage)}. {len(ok)} case(s) solved, {len(failed)} failed.
Ranked by {escape(_LABELS.get(cost or "", "cost"))}, cheapest first. In the charts the red
cases are non-dominated: no other case is at least as good on both axes and better on
one; each case's plan is in cases/&lt;case&gt;/.</p>
<div style="overflow-x: auto"><table><thead><tr>{"".join(f"<th>{escape(h)}</th>" for h in head)}</tr></thead>
<tbody>
{"".join(body)}
</tbody></table></div>
{chart_html}
{f"<h2>Failed cases</h2><ul>{failed_html}</ul>" if failed else ""}
</body></html>
"""


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
