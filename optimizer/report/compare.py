"""Side-by-side comparison of several plan folders (``compare.html``).

One column per plan, one row per figure an investor asks about; the best
value of each row is marked (★, green), and every plan after the first gets a
difference column against the first (the baseline).  Figures come from each
plan's ``kpis`` when present, otherwise they are derived from the plan itself,
and the derivation is written under the table.  Route figures are per day
(multi-day plans: the average over their plan days).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from optimizer.plan_types import Facility, Plan, load_plan

from .common import esc, fmt_money, fmt_num
from .svg import mini_map_svg

__all__ = ["ROWS", "Row", "load_plan", "render_comparison"]

DAYS_PER_YEAR = 365
#: The Kpis keys the rows read (a Literal, so mypy checks them against Kpis).
_KpiName = Literal[
    "site_transport_tkm_per_year",
    "residue_haul_tkm_per_year",
    "cost_kzt",
    "distance_km",
    "co2e_t",
    "co2e_net_t_per_year",
    "tonnes",
    "recycling_rate",
    "landfilled_t_per_day",
    "vehicles_used",
    "fleet_needed",
    "unserved_stops",
    "robustness",
    "present_cost_with_fleet_kzt",
    "fleet_cost_kzt_per_year",
    "working_h",
]


@dataclass(frozen=True)
class Row:
    """One comparison row: how to get the value, its unit and which way is better."""

    label: str
    unit: str
    better: str  # "low" or "high"
    get: Callable[[Plan], float | None]
    digits: int = 1
    percent: bool = False
    money: bool = False


def _kpi(name: _KpiName) -> Callable[[Plan], float | None]:
    def get(plan: Plan) -> float | None:
        value = (plan.get("kpis") or {}).get(name)
        return None if value is None else float(value)

    return get


def _kpi_per_day(name: _KpiName) -> Callable[[Plan], float | None]:
    """A route KPI per day: multi-day plans store totals over ``plan_days``."""

    def get(plan: Plan) -> float | None:
        k = plan.get("kpis") or {}
        value = k.get(name)
        days = max(1, int(k.get("plan_days") or 1))
        return None if value is None else float(value) / days

    return get


def _open_facilities(plan: Plan) -> list[Facility]:
    return [f for f in plan.get("facilities") or [] if f.get("open")]


def capex(plan: Plan) -> float | None:
    """``kpis.capex_kzt`` or the capex of the open facilities."""
    k = plan.get("kpis") or {}
    if k.get("capex_kzt") is not None:
        return float(k["capex_kzt"])
    return float(sum(float(f.get("capex_kzt") or 0) for f in _open_facilities(plan)))


def opex(plan: Plan) -> float | None:
    """``kpis.opex_kzt_per_year`` or open sites' opex + daily transport x 365."""
    k = plan.get("kpis") or {}
    if k.get("opex_kzt_per_year") is not None:
        return float(k["opex_kzt_per_year"])
    sites = sum(float(f.get("opex_kzt_per_year") or 0) for f in _open_facilities(plan))
    return float(sites + float(k.get("cost_kzt") or 0) * DAYS_PER_YEAR)


def _npv(plan: Plan) -> float | None:
    k = plan.get("kpis") or {}
    value = k.get("npv_kzt")
    return None if value is None else float(value)


def _fac_use(plan: Plan) -> float | None:
    vals = [
        float(f["utilisation"]) for f in _open_facilities(plan) if f.get("utilisation") is not None
    ]
    return sum(vals) / len(vals) if vals else None


ROWS: tuple[Row, ...] = (
    Row("Capex", "KZT, once", "low", capex, 0, money=True),
    Row("Opex", "KZT per year", "low", opex, 0, money=True),
    Row("Present cost (NPV)", "KZT", "low", _npv, 0, money=True),
    Row(
        "Present cost with the routed fleet",
        "KZT",
        "low",
        _kpi("present_cost_with_fleet_kzt"),
        0,
        money=True,
    ),
    Row("Fleet cost", "KZT per year", "low", _kpi("fleet_cost_kzt_per_year"), 0, money=True),
    Row("Site transport", "t·km per year", "low", _kpi("site_transport_tkm_per_year"), 0),
    Row("of which residue haul", "t·km per year", "low", _kpi("residue_haul_tkm_per_year"), 0),
    Row("Transport cost", "KZT per day", "low", _kpi_per_day("cost_kzt"), 0, money=True),
    Row("Distance", "km per day", "low", _kpi_per_day("distance_km"), 1),
    Row("Driver hours", "h per day", "low", _kpi_per_day("working_h"), 1),
    Row("CO₂e of collection", "t per day", "low", _kpi_per_day("co2e_t"), 2),
    Row("CO₂e net of sites", "t per year", "low", _kpi("co2e_net_t_per_year"), 0),
    Row("Waste collected", "t per day", "high", _kpi_per_day("tonnes"), 1),
    Row("Recycling rate", "%", "high", _kpi("recycling_rate"), 1, percent=True),
    Row("Landfilled", "t per day", "low", _kpi("landfilled_t_per_day"), 1),
    Row("Vehicles used", "trucks on the busiest day", "low", _kpi("vehicles_used"), 0),
    Row("Trucks to own", "busiest day per depot and type", "low", _kpi("fleet_needed"), 0),
    Row("Unserved stops", "", "low", _kpi("unserved_stops"), 0),
    Row("Facility use (avg)", "%", "high", _fac_use, 0, percent=True),
    Row("Robustness", "share of demand samples", "high", _kpi("robustness"), 2),
)


_CSS = """
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto,
  'DejaVu Sans', Arial, sans-serif; color: #111827; background: #f8fafc; }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
.note { color: #6b7280; font-size: 12px; }
table.cmp { border-collapse: collapse; background: #fff; margin-top: 12px; }
table.cmp th, table.cmp td { border: 1px solid #e5e7eb; padding: 6px 10px; }
table.cmp thead th { background: #f3f4f6; vertical-align: top; }
table.cmp td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.cmp td.best { background: #dcfce7; font-weight: 700; color: #166534; }
table.cmp th.row { text-align: left; white-space: nowrap; }
table.cmp .u { color: #6b7280; font-weight: 400; font-size: 12px; }
table.cmp .diff { color: #374151; font-size: 12px; white-space: nowrap; }
table.cmp td.better { color: #166534; }
table.cmp td.worse { color: #b91c1c; }
"""


def _format(row: Row, value: float | None) -> str:
    """A value as the report prints it (grouped thousands, compact money, %)."""
    if value is None:
        return "—"
    if row.percent:
        return fmt_num(value * 100, row.digits) + " %"
    if row.money:
        return fmt_money(value)
    return fmt_num(value, row.digits)


def _difference(row: Row, value: float | None, base: float | None) -> tuple[str, str]:
    """``(text, css class)`` of ``value - base``: signed, in the row's unit,
    with the relative change; the class says whether it is better or worse."""
    if value is None or base is None:
        return "—", "diff"
    delta = value - base
    if abs(delta) <= 1e-9 * max(1.0, abs(base)):
        return "±0", "diff"
    sign = "+" if delta > 0 else "−"
    if row.percent:
        text = f"{sign}{fmt_num(abs(delta) * 100, row.digits)} pp"
    elif row.money:
        text = f"{sign}{fmt_money(abs(delta))}"
    else:
        text = f"{sign}{fmt_num(abs(delta), row.digits)}"
    if base and not row.percent:
        text += f" ({sign}{fmt_num(abs(delta) / abs(base) * 100, 0)} %)"
    better = delta < 0 if row.better == "low" else delta > 0
    return text, "diff better" if better else "diff worse"


def render_comparison(
    plans: Sequence[Plan],
    *,
    names: Sequence[str] | None = None,
    links: Sequence[Sequence[tuple[str, str]]] | None = None,
) -> str:
    """The comparison document for plan dicts (one column each, the first is the
    baseline; each later plan has a difference column against it)."""
    names = list(names or [])
    labels = []
    heads = []
    for i, plan in enumerate(plans):
        scen = plan.get("scenario") or {}
        name = names[i] if i < len(names) else str(scen.get("name") or f"plan {i + 1}")
        labels.append(name)
        title = scen.get("title") or ""
        link_html = ""
        if links and i < len(links):
            link_html = " · ".join(f'<a href="{esc(h)}">{esc(lbl)}</a>' for lbl, h in links[i])
        role = "<div class='note'>baseline</div>" if i == 0 and len(plans) > 1 else ""
        heads.append(
            f"<th><div>{esc(name)}</div>{role}<div class='note'>{esc(title)}</div>"
            f"{mini_map_svg(plan, 300, 220)}<div class='note'>{link_html}</div></th>"
        )
        if i > 0:
            heads.append(f'<th class="diff">Δ vs {esc(labels[0])}</th>')
    body = []
    for row in ROWS:
        values = [row.get(p) for p in plans]
        present = [v for v in values if v is not None]
        if not present:
            continue
        target = min(present) if row.better == "low" else max(present)
        mark = len(plans) > 1 and len(set(present)) > 1
        cells = []
        for i, v in enumerate(values):
            best = mark and v is not None and abs(v - target) <= 1e-9 * max(1.0, abs(target))
            cls = "n best" if best else "n"
            star = " ★" if best else ""
            cells.append(f"<td class='{cls}'>{_format(row, v)}{star}</td>")
            if i > 0:
                text, dcls = _difference(row, v, values[0])
                cells.append(f'<td class="n {dcls}">{text}</td>')
        arrow = "lower is better" if row.better == "low" else "higher is better"
        unit = f" ({esc(row.unit)})" if row.unit else ""
        body.append(
            f"<tr><th class='row'>{esc(row.label)}<span class='u'>{unit} · {arrow}"
            f"</span></th>{''.join(cells)}</tr>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        '<meta name="generator" content="optimizer compare">'  # outputs.COMPARE_MARKER
        f"<title>Scenario comparison</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Scenario comparison ({len(plans)} plans)</h1>"
        "<div class='note'>★ and green: best value in the row. Δ: each plan minus the "
        "first (baseline), with the relative change; green when better, red when worse "
        "(pp = percentage points). Route figures are per day (multi-day plans: the "
        "average over their plan days); trucks are the busiest day. Capex: from "
        "kpis.capex_kzt, else the capex of the open facilities. Opex: from "
        "kpis.opex_kzt_per_year, else the open facilities' opex plus the daily transport "
        f"cost × {DAYS_PER_YEAR}. NPV and robustness only where the plan's kpis carry "
        "them (rows without any value are left out). Money: M = million, bn = billion "
        "KZT.</div>"
        f"<table class='cmp'><thead><tr><th></th>{''.join(heads)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></main></body></html>"
    )


def relative_href(target: Path, base_dir: Path) -> str:
    """A relative URL from ``base_dir`` to ``target`` (forward slashes)."""
    return os.path.relpath(target.resolve(), base_dir.resolve()).replace(os.sep, "/")
