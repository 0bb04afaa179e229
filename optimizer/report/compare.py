"""Side-by-side comparison of several plan folders (``compare.html``).

One column per plan, one row per figure an investor asks about; the best
value of each row is marked (★, green).  Figures come from each plan's
``kpis`` when present, otherwise they are derived from the plan itself, and
the derivation is written under the table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import esc, fmt_num
from .svg import mini_map_svg

__all__ = ["ROWS", "Row", "load_plan", "render_comparison"]

DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Row:
    """One comparison row: how to get the value, its unit and which way is better."""

    label: str
    unit: str
    better: str  # "low" or "high"
    get: Callable[[Mapping[str, Any]], float | None]
    digits: int = 1
    percent: bool = False


def _kpi(name: str) -> Callable[[Mapping[str, Any]], float | None]:
    def get(plan: Mapping[str, Any]) -> float | None:
        value = (plan.get("kpis") or {}).get(name)
        return None if value is None else float(value)

    return get


def _open_facilities(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in plan.get("facilities") or [] if f.get("open")]


def capex(plan: Mapping[str, Any]) -> float | None:
    """``kpis.capex_kzt`` or the capex of the open facilities."""
    k = plan.get("kpis") or {}
    if k.get("capex_kzt") is not None:
        return float(k["capex_kzt"])
    return float(sum(float(f.get("capex_kzt") or 0) for f in _open_facilities(plan)))


def opex(plan: Mapping[str, Any]) -> float | None:
    """``kpis.opex_kzt_per_year`` or open sites' opex + daily transport x 365."""
    k = plan.get("kpis") or {}
    if k.get("opex_kzt_per_year") is not None:
        return float(k["opex_kzt_per_year"])
    sites = sum(float(f.get("opex_kzt_per_year") or 0) for f in _open_facilities(plan))
    return float(sites + float(k.get("cost_kzt") or 0) * DAYS_PER_YEAR)


def _npv(plan: Mapping[str, Any]) -> float | None:
    k = plan.get("kpis") or {}
    value = k.get("npv_kzt")
    return None if value is None else float(value)


def _fac_use(plan: Mapping[str, Any]) -> float | None:
    vals = [
        float(f["utilisation"]) for f in _open_facilities(plan) if f.get("utilisation") is not None
    ]
    return sum(vals) / len(vals) if vals else None


ROWS: tuple[Row, ...] = (
    Row("Capex", "KZT", "low", capex, 0),
    Row("Opex", "KZT/yr", "low", opex, 0),
    Row("Present cost (NPV)", "KZT", "low", _npv, 0),
    Row("Site transport", "t·km/yr", "low", _kpi("site_transport_tkm_per_year"), 0),
    Row("of which residue haul", "t·km/yr", "low", _kpi("residue_haul_tkm_per_year"), 0),
    Row("Transport cost", "KZT/day", "low", _kpi("cost_kzt"), 0),
    Row("Distance", "km/day", "low", _kpi("distance_km"), 1),
    Row("CO₂e of collection", "t/day", "low", _kpi("co2e_t"), 2),
    Row("CO₂e net of sites", "t/yr", "low", _kpi("co2e_net_t_per_year"), 0),
    Row("Waste collected", "t/day", "high", _kpi("tonnes"), 1),
    Row("Recycling rate", "%", "high", _kpi("recycling_rate"), 1, percent=True),
    Row("Landfilled", "t/day", "low", _kpi("landfilled_t_per_day"), 1),
    Row("Vehicles used", "", "low", _kpi("vehicles_used"), 0),
    Row("Unserved stops", "", "low", _kpi("unserved_stops"), 0),
    Row("Facility use (avg)", "%", "high", _fac_use, 0, percent=True),
    Row("Robustness", "", "high", _kpi("robustness"), 2),
)


def load_plan(plan_dir: Path) -> dict[str, Any]:
    """Read ``plan.json`` from a plan folder (or a path to the file itself)."""
    path = plan_dir / "plan.json" if plan_dir.is_dir() else plan_dir
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


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
"""


def _format(row: Row, value: float | None) -> str:
    if value is None:
        return "—"
    if row.percent:
        return fmt_num(value * 100, row.digits) + " %"
    return fmt_num(value, row.digits)


def render_comparison(
    plans: Sequence[Mapping[str, Any]],
    *,
    names: Sequence[str] | None = None,
    links: Sequence[Sequence[tuple[str, str]]] | None = None,
) -> str:
    """The comparison document for plan dicts (one column each)."""
    names = list(names or [])
    heads = []
    for i, plan in enumerate(plans):
        scen = plan.get("scenario") or {}
        name = names[i] if i < len(names) else str(scen.get("name") or f"plan {i + 1}")
        title = scen.get("title") or ""
        link_html = ""
        if links and i < len(links):
            link_html = " · ".join(f'<a href="{esc(h)}">{esc(lbl)}</a>' for lbl, h in links[i])
        heads.append(
            f"<th><div>{esc(name)}</div><div class='note'>{esc(title)}</div>"
            f"{mini_map_svg(plan, 300, 220)}<div class='note'>{link_html}</div></th>"
        )
    body = []
    for row in ROWS:
        values = [row.get(p) for p in plans]
        present = [v for v in values if v is not None]
        if not present:
            continue
        target = min(present) if row.better == "low" else max(present)
        mark = len(plans) > 1 and len(set(present)) > 1
        cells = []
        for v in values:
            best = mark and v is not None and abs(v - target) <= 1e-9 * max(1.0, abs(target))
            cls = "n best" if best else "n"
            star = " ★" if best else ""
            cells.append(f"<td class='{cls}'>{_format(row, v)}{star}</td>")
        arrow = "lower is better" if row.better == "low" else "higher is better"
        unit = f" ({esc(row.unit)})" if row.unit else ""
        body.append(
            f"<tr><th class='row'>{esc(row.label)}<span class='u'>{unit} · {arrow}"
            f"</span></th>{''.join(cells)}</tr>"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Scenario comparison</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Scenario comparison ({len(plans)} plans)</h1>"
        "<div class='note'>★ and green: best value in the row. Capex: from kpis.capex_kzt, "
        "else the capex of the open facilities. Opex: from kpis.opex_kzt_per_year, else "
        f"the open facilities' opex plus the daily transport cost × {DAYS_PER_YEAR}. NPV "
        "and robustness only where the plan's kpis carry them (rows without any value are "
        "left out).</div>"
        f"<table class='cmp'><thead><tr><th></th>{''.join(heads)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></main></body></html>"
    )


def relative_href(target: Path, base_dir: Path) -> str:
    """A relative URL from ``base_dir`` to ``target`` (forward slashes)."""
    return os.path.relpath(target.resolve(), base_dir.resolve()).replace(os.sep, "/")
