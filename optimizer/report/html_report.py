"""``report.html``: KPIs, charts, tables, assumptions and warnings of one plan.

Self-contained: inline CSS and inline SVG, no scripts, no external links other
than relative links to the sibling files of the plan folder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from optimizer.plan_types import Plan, Route, SiteOption

from .common import (
    FACILITY_TYPE_COLOR,
    esc,
    fmt_hhmm,
    fmt_int,
    fmt_money,
    fmt_num,
    route_color,
    route_label,
    shift_times,
    sorted_routes,
)
from .svg import Bar, hbar_chart, mini_map_svg

__all__ = ["MAX_CHART_ROWS", "has_routes", "render_report"]

MAX_CHART_ROWS = 40
DAYS_PER_YEAR = 365

_CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto,
  'DejaVu Sans', Arial, sans-serif; color: var(--ink); background: #f8fafc; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 2px solid var(--line);
  padding-bottom: 3px; }
.sub { color: var(--muted); margin-bottom: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 10px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .u { font-size: 12px; color: var(--muted); font-weight: 400; }
.card.bad .v { color: var(--bad); }
.row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.row > .panel { flex: 0 1 auto; max-width: 100%; }
.panel .note { max-width: 560px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 12px; }
table.t { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
table.t th, table.t td { border-bottom: 1px solid var(--line); padding: 4px 6px;
  text-align: left; }
table.t th { background: #f3f4f6; position: sticky; top: 0; }
table.t td.n, table.t th.n { text-align: right; font-variant-numeric: tabular-nums; }
.sw { display: inline-block; width: 14px; height: 4px; vertical-align: middle;
  border-radius: 2px; margin-right: 4px; }
.warn li { color: var(--bad); }
.note { color: var(--muted); font-size: 12px; }
a { color: #1d4ed8; }
@media print { body { background: #fff; } .panel, .card { break-inside: avoid; } }
"""


def _money(value: Any) -> str:
    """Compact money (see :func:`fmt_money`)."""
    return fmt_money(value)


def _card(label: str, value: str, unit: str = "", bad: bool = False) -> str:
    cls = "card bad" if bad else "card"
    unit_html = f' <span class="u">{esc(unit)}</span>' if unit else ""
    return (
        f'<div class="{cls}"><div class="k">{esc(label)}</div>'
        f'<div class="v">{value}{unit_html}</div></div>'
    )


def has_routes(plan: Plan) -> bool:
    """Whether the plan planned collection routes (a ``sites`` run has none)."""
    stage = str((plan.get("scenario") or {}).get("stage") or "")
    return bool(plan.get("routes")) or stage not in ("sites", "")


def _route_unit(plan: Plan, unit: str) -> str:
    """A route figure's unit: ``km per day`` or ``km over 7 days``."""
    days = _days(plan)
    return f"{unit} per day" if days == 1 else f"{unit} over {days} days"


def _pct(value: Any, digits: int = 0) -> str:
    return fmt_num(float(value) * 100, digits) if value is not None else "—"


def _route_cards(plan: Plan) -> str:
    """Collection figures (per plan day, or totals over the plan's days)."""
    k = plan.get("kpis") or {}
    routes = plan.get("routes") or []
    unserved = int(k.get("unserved_stops", len(plan.get("unserved") or [])) or 0)
    shift_h = (
        sum(float(r.get("duration_min") or 0) for r in routes) / 60 / len(routes)
        if routes
        else None
    )
    u = lambda unit: _route_unit(plan, unit)  # noqa: E731
    trucks = "Trucks used" if _days(plan) == 1 else "Trucks used (busiest day)"
    cards = [
        _card("Distance", fmt_num(k.get("distance_km"), 1), u("km")),
        _card("Driving", fmt_num(k.get("driving_h"), 1), u("h")),
        _card("Working", fmt_num(k.get("working_h"), 1), u("h")),
        _card("Waste collected", fmt_num(k.get("tonnes"), 1), u("t")),
        _card("Transport work", fmt_num(k.get("tonne_km"), 0), u("t·km")),
        _card("Fuel", fmt_num(k.get("fuel_l"), 0), u("l")),
        _card("CO₂e of collection", fmt_num(k.get("co2e_t"), 2), u("t")),
        _card("Transport cost", _money(k.get("cost_kzt")), u("KZT")),
        _card(trucks, fmt_int(k.get("vehicles_used")), "trucks"),
        *(
            [_card("Trucks to own", fmt_int(k.get("fleet_needed")), "trucks")]
            if _days(plan) > 1 and k.get("fleet_needed") is not None
            else []
        ),
        _card("Routes", fmt_int(len(routes))),
        _card("Avg shift", fmt_num(shift_h, 1), "h per route"),
        _card("Stops served", fmt_int(k.get("stops_served"))),
        _card("Unserved stops", fmt_int(unserved), bad=unserved > 0),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


#: The Kpis keys shown as site cards (a Literal, so mypy checks them against Kpis).
_SiteKpi = Literal[
    "capex_kzt", "opex_kzt_per_year", "npv_kzt", "sites_cost_kzt_per_year",
    "site_transport_tkm_per_year", "site_transport_kzt_per_year", "tonnes_generated_per_day",
    "recycled_t_per_day", "landfilled_t_per_day", "residue_t_per_day",
    "residue_haul_tkm_per_year", "co2e_net_t_per_year", "sites_open", "vehicles_available",
    "present_cost_with_fleet_kzt", "fleet_cost_kzt_per_year",
]  # fmt: skip


def _site_cards(plan: Plan) -> str:
    """Site and investment figures: capex once, money and CO₂e per year, flows per day."""
    k = plan.get("kpis") or {}
    open_fac = [
        f
        for f in plan.get("facilities") or []
        if f.get("open") and f.get("utilisation") is not None
    ]
    fac_util = sum(float(f["utilisation"]) for f in open_fac) / len(open_fac) if open_fac else None
    num0 = lambda v: fmt_num(v, 0)  # noqa: E731
    num1 = lambda v: fmt_num(v, 1)  # noqa: E731
    # (label, kpi key, unit, format); shown only when the plan has the figure.
    rows: tuple[tuple[str, _SiteKpi, str, Any], ...] = (
        ("Capex", "capex_kzt", "KZT, once", _money),
        ("Opex", "opex_kzt_per_year", "KZT per year", _money),
        ("Present cost (NPV)", "npv_kzt", "KZT, whole horizon", _money),
        (
            "Present cost with the fleet",
            "present_cost_with_fleet_kzt",
            "KZT, whole horizon",
            _money,
        ),
        ("Fleet cost", "fleet_cost_kzt_per_year", "KZT per year", _money),
        ("Sites cost", "sites_cost_kzt_per_year", "KZT per year", _money),
        ("Site transport", "site_transport_tkm_per_year", "t·km per year", num0),
        ("Site transport cost", "site_transport_kzt_per_year", "KZT per year", _money),
        ("Waste generated", "tonnes_generated_per_day", "t per day", num1),
        ("Recycled", "recycled_t_per_day", "t per day", lambda v: fmt_num(v, 2)),
        ("Landfilled", "landfilled_t_per_day", "t per day", num1),
        ("Residue to landfill", "residue_t_per_day", "t per day", lambda v: fmt_num(v, 2)),
        ("Residue haul", "residue_haul_tkm_per_year", "t·km per year", num0),
        ("CO₂e net of sites", "co2e_net_t_per_year", "t per year", num0),
        ("Sites open", "sites_open", "", fmt_int),
        ("Trucks in the fleet", "vehicles_available", "trucks", fmt_int),
    )
    cards = [
        _card(label, fmt(k[key]), unit) for label, key, unit, fmt in rows if k.get(key) is not None
    ]
    if k.get("recycling_rate") is not None:
        cards.append(_card("Recycling rate", _pct(k["recycling_rate"], 1), "% of waste"))
    if fac_util is not None:
        cards.append(_card("Facility use (avg)", _pct(fac_util), "% of capacity"))
    if k.get("robustness") is not None:
        share = float(k["robustness"])
        cards.append(
            _card(
                f"Capacity holds in ({fmt_int(k.get('robustness_samples'))} demand samples)",
                _pct(share),
                "%",
                bad=share < 0.9,
            )
        )
    if not cards:
        return '<p class="note">The plan carries no site figures.</p>'
    return f'<div class="cards">{"".join(cards)}</div>'


def _residue_table(plan: Plan) -> str:
    """Residue hauls from sorting/transfer sites to landfills (two-tier plans)."""
    flows = plan.get("residue_flows") or []
    if not flows:
        return ""
    names = {str(f["id"]): str(f.get("name") or f["id"]) for f in plan.get("facilities") or []}
    body = "".join(
        f"<tr><td>{esc(names.get(str(f.get('from')), f.get('from')))}</td>"
        f"<td>{esc(names.get(str(f.get('to')), f.get('to')))}</td>"
        f"<td class='n'>{fmt_num(f.get('t_per_day'), 2)}</td>"
        f"<td class='n'>{fmt_num(f.get('road_km'), 1)}</td>"
        f"<td class='n'>{fmt_num(float(f.get('t_per_day') or 0) * float(f.get('road_km') or 0) * DAYS_PER_YEAR, 0)}</td></tr>"
        for f in flows
    )
    return (
        "<h2>Residue hauls to landfill</h2><table class='t residue'><thead><tr>"
        "<th>From</th><th>To</th><th class='n'>t per day</th><th class='n'>Road km</th>"
        f"<th class='n'>t·km per year</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _load_chart(routes: Sequence[Route]) -> str:
    bars = []
    for i, r in enumerate(routes[:MAX_CHART_ROWS]):
        peak = max((float(s.get("load_after_t") or 0) for s in r.get("stops") or []), default=0)
        bars.append(
            Bar(
                label=route_label(r),
                value=float(r.get("tonnes") or 0),
                color=route_color(i),
                text=f"{fmt_num(r.get('tonnes'), 1)} t (peak {peak:.1f} t)",
                marker=peak,
            )
        )
    note = (
        f'<div class="note">First {MAX_CHART_ROWS} of {len(routes)} routes.</div>'
        if len(routes) > MAX_CHART_ROWS
        else ""
    )
    return (
        hbar_chart(bars, title="Waste collected per route (tick = peak load on board)", unit="t")
        + note
    )


def _util_chart(plan: Plan) -> str:
    bars = []
    for f in (plan.get("facilities") or [])[:MAX_CHART_ROWS]:
        util = float(f.get("utilisation") or 0.0)
        used = f.get("open") and f.get("state") not in ("excluded", "closed")
        colour = FACILITY_TYPE_COLOR.get(str(f.get("type")), "#374151") if used else "#d1d5db"
        if used and util > 1.0:
            colour = "#dc2626"  # over capacity
        text = (
            f"{util * 100:.0f}% ({fmt_num(f.get('used_t_per_day'), 1)} / "
            f"{fmt_num(f.get('capacity_t_per_day'), 0)} t/day)"
            if used
            else f"{f.get('state')}, not used"
        )
        bars.append(Bar(f"{f['id']} {f.get('type', '')}", util * 100, colour, text))
    return hbar_chart(
        bars,
        title="Capacity use per facility",
        unit="%",
        max_value=max([100.0, *(b.value for b in bars)]),
        ref_value=100.0,
        ref_label="capacity",
    )


def _cost_chart(plan: Plan) -> str:
    """Transport cost by truck type plus the day's share of the yearly site costs."""
    by_type: dict[str, float] = defaultdict(float)
    for r in plan.get("routes") or []:
        by_type[str(r.get("vehicle_type") or "vehicle")] += float(r.get("cost_kzt") or 0)
    bars = [
        Bar(f"transport: {t}", v, "#2563eb", f"{fmt_int(v)} KZT")
        for t, v in sorted(by_type.items(), key=lambda kv: -kv[1])
    ]
    sites = (plan.get("kpis") or {}).get("sites_cost_kzt_per_year")
    days = _days(plan)
    if sites:
        share = float(sites) / DAYS_PER_YEAR * days
        label = "sites (share of a day)" if days == 1 else f"sites (share of {days} days)"
        bars.append(Bar(label, share, "#7c2d12", f"{fmt_int(share)} KZT"))
    title = (
        "Cost breakdown per day (KZT)"
        if days == 1
        else f"Cost breakdown over {days} plan days (KZT)"
    )
    chart = hbar_chart(bars, title=title, unit="KZT")
    return chart + (
        f'<div class="note">Site costs per year ÷ {DAYS_PER_YEAR} days × plan days; transport '
        "cost is the sum over the plan's routes.</div>"
    )


def _site_cost_chart(plan: Plan) -> str:
    """Yearly money of a site plan: fixed site costs, opex, transport to the sites."""
    k = plan.get("kpis") or {}
    items: tuple[tuple[str, _SiteKpi, str], ...] = (
        ("fixed site costs", "sites_cost_kzt_per_year", "#7c2d12"),
        ("opex", "opex_kzt_per_year", "#b45309"),
        ("transport to sites", "site_transport_kzt_per_year", "#2563eb"),
    )
    bars = [
        Bar(label, float(k[key]), colour, f"{fmt_money(k[key])} KZT")
        for label, key, colour in items
        if k.get(key) is not None
    ]
    if not bars:
        return ""
    capex = (
        f" Capex ({fmt_money(k['capex_kzt'])} KZT) is paid once and is not in the bars."
        if k.get("capex_kzt") is not None
        else ""
    )
    return hbar_chart(bars, title="Site costs per year (KZT)", unit="KZT") + (
        f'<div class="note">From the site model, per year.{esc(capex)}</div>'
    )


def _figures_scope(plan: Plan) -> str:
    """How the collection figures are counted: per day, or totals over the days."""
    days = _days(plan)
    if days == 1:
        return "per day: one plan day"
    return f"totals over {days} plan days; trucks = the busiest day"


def _days(plan: Plan) -> int:
    """How many consecutive days the plan routes (1 for a day plan or a site plan)."""
    return int((plan.get("kpis") or {}).get("plan_days") or 1)


def _days_table(plan: Plan) -> str:
    """One row per plan day (multi-day plans only)."""
    rows = (plan.get("kpis") or {}).get("route_kpis_by_day") or []
    if len(rows) < 2:
        return ""
    body = "".join(
        f"<tr><td class='n'>{esc(r.get('day'))}</td><td class='n'>{fmt_int(r.get('vehicles_used'))}</td>"
        f"<td class='n'>{fmt_int(r.get('stops_served'))}</td><td class='n'>{fmt_int(r.get('unserved_stops'))}</td>"
        f"<td class='n'>{fmt_int(r.get('unload_trips'))}</td><td class='n'>{fmt_num(r.get('distance_km'), 1)}</td>"
        f"<td class='n'>{fmt_num(r.get('working_h'), 1)}</td><td class='n'>{fmt_num(r.get('tonnes'), 1)}</td>"
        f"<td class='n'>{fmt_int(r.get('cost_kzt'))}</td><td>{esc(r.get('engine') or '')}</td></tr>"
        for r in rows
    )
    return (
        "<h2>Plan days</h2><table class='t days'><thead><tr><th class='n'>Day</th>"
        "<th class='n'>Trucks</th><th class='n'>Stops</th><th class='n'>Unserved</th>"
        "<th class='n'>Unloads</th><th class='n'>km</th><th class='n'>Working h</th>"
        f"<th class='n'>t</th><th class='n'>Cost KZT</th><th>Engine</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _site_options_table(plan: Plan) -> str:
    """Every site option of the routes model: sites, money and the fleet it needs."""
    options = plan.get("site_options") or []
    if not options:
        return ""
    names = {f["id"]: f.get("name") or f["id"] for f in plan.get("facilities") or []}

    def label(o: SiteOption) -> str:
        opened = ", ".join(names.get(c, c) for c in o["candidates_opened"])
        return opened or "no new site"

    order = {"chosen": 0, "routed": 1, "estimated": 2, "refused": 3}
    rows = []
    for o in sorted(options, key=lambda o: order[o["status"]]):
        cells = [
            _money(o["capex_kzt"]) if o["capex_kzt"] is not None else "—",
            _money(o["npv_kzt"]) if o["npv_kzt"] is not None else "—",
            fmt_int(o["fleet_estimate_kzt_per_day"]),
            fmt_int(o["trucks"]),
            fmt_num(o["driver_h"], 1),
            fmt_num(o["route_km"], 1),
            fmt_int(o["route_cost_kzt"]),
            fmt_int(o["unserved_stops"]),
            _money(o["present_cost_with_fleet_kzt"])
            if o["present_cost_with_fleet_kzt"] is not None
            else "—",
        ]
        status = o["status"] + (f": {o['reason']}" if o["reason"] else "")
        rows.append(
            f"<tr><td>{esc(label(o))}</td><td>{esc(status)}</td>"
            + "".join(f"<td class='n'>{c}</td>" for c in cells)
            + "</tr>"
        )
    head = "".join(
        f"<th class='n'>{h}</th>"
        for h in (
            "Capex KZT",
            "Present cost (tonne-km)",
            "Fleet estimate KZT/day",
            "Trucks day 1",
            "Driver h",
            "km",
            "Route cost KZT",
            "Unserved",
            "Present cost with the fleet",
        )
    )
    return (
        "<h3>Site options, compared by the routes they induce</h3>"
        "<div class='note'>Each option was solved by the site model with exactly its "
        "candidates open; the best by the fleet estimate were routed for day 1. The chosen "
        "one serves the most stops at the lowest present cost with the routed fleet.</div>"
        f"<table class='t'><thead><tr><th>Option</th><th>Status</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _calendar_table(plan: Plan) -> str:
    """Stops and tonnes per stream and plan day, and how the days were chosen."""
    k = plan.get("kpis") or {}
    rows = k.get("route_kpis_by_day") or []
    if len(rows) < 2 or not any(r.get("stops_by_stream") for r in rows):
        return ""
    names = {s["id"]: s.get("name") or s["id"] for s in plan.get("streams") or []}
    streams = [s for s in names if any(s in (r.get("stops_by_stream") or {}) for r in rows)]
    head = "".join(f"<th class='n'>Day {esc(r.get('day'))}</th>" for r in rows)
    body = "".join(
        f"<tr><td>{esc(names[s])}</td>"
        + "".join(
            f"<td class='n'>{fmt_int((r.get('stops_by_stream') or {}).get(s, 0))}"
            f"<br><span class='note'>{fmt_num((r.get('tonnes_by_stream') or {}).get(s, 0), 1)} t"
            "</span></td>"
            for r in rows
        )
        + "</tr>"
        for s in streams
    )
    how = (
        "chosen: neighbouring points share their days, in wedges around each depot of "
        "equal work placed so that the days carry even work"
        if k.get("calendar") == "chosen"
        else "fixed: spread over the points by a stable hash of their id"
    )
    return (
        "<h2>Collection calendar</h2>"
        f"<div class='note'>Stops served (and tonnes) per stream and day. Days of streams "
        f"collected less than daily: {esc(how)}. Each point's days are in calendar.csv "
        "(one row per point and stream).</div>"
        f"<table class='t days'><thead><tr><th>Stream</th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _routes_table(routes: Sequence[Route], sheets: Mapping[str, str]) -> str:
    head = (
        "<tr><th>Route</th><th>Vehicle</th><th>Type</th><th class='n'>Day</th>"
        "<th class='n'>Stops</th><th class='n'>Unloads</th><th>Leaves depot</th><th>Back</th>"
        "<th class='n'>km</th><th class='n'>h</th><th class='n'>t</th>"
        "<th class='n'>Peak t</th><th class='n'>Cost KZT</th><th>Sheet</th></tr>"
    )
    rows = []
    for i, r in enumerate(routes):
        stops = r.get("stops") or []
        peak = max((float(s.get("load_after_t") or 0) for s in stops), default=0)
        start, end = shift_times(r)
        vid = str(r.get("vehicle_id", ""))
        link = f'<a href="{esc(sheets[vid])}">print</a>' if vid in sheets else ""
        rows.append(
            f"<tr><td><span class='sw' style='background:{route_color(i)}'></span>"
            f"{esc(r['id'])}</td><td>{esc(vid)}</td><td>{esc(r.get('vehicle_type'))}</td>"
            f"<td class='n'>{esc(r.get('day'))}</td>"
            f"<td class='n'>{sum(1 for s in stops if s.get('kind') == 'stop')}</td>"
            f"<td class='n'>{sum(1 for s in stops if s.get('kind') == 'unload')}</td>"
            f"<td>{fmt_hhmm(start)}</td><td>{fmt_hhmm(end)}</td>"
            f"<td class='n'>{fmt_num(r.get('distance_km'), 1)}</td>"
            f"<td class='n'>{fmt_num(float(r.get('duration_min') or 0) / 60, 1)}</td>"
            f"<td class='n'>{fmt_num(r.get('tonnes'), 1)}</td>"
            f"<td class='n'>{peak:.1f}</td><td class='n'>{fmt_int(r.get('cost_kzt'))}</td>"
            f"<td>{link}</td></tr>"
        )
    return f'<table class="t routes"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _facilities_table(plan: Plan) -> str:
    head = (
        "<tr><th>Id</th><th>Name</th><th>Type</th><th>State</th><th>Open</th>"
        "<th class='n'>Capacity t per day</th><th class='n'>Used t per day</th><th class='n'>Use</th>"
        "<th class='n'>Capex KZT</th><th class='n'>Opex KZT per year</th>"
        "<th class='n'>Points</th><th>Note</th></tr>"
    )
    rows = []
    for f in plan.get("facilities") or []:
        util = f.get("utilisation")
        rows.append(
            f"<tr><td>{esc(f['id'])}</td><td>{esc(f.get('name'))}</td>"
            f"<td>{esc(f.get('type'))}</td><td>{esc(f.get('state'))}</td>"
            f"<td>{'yes' if f.get('open') else 'no'}</td>"
            f"<td class='n'>{fmt_num(f.get('capacity_t_per_day'), 0)}</td>"
            f"<td class='n'>{fmt_num(f.get('used_t_per_day'), 1)}</td>"
            f"<td class='n'>{fmt_num(float(util) * 100, 0) + '%' if util is not None else '—'}</td>"
            f"<td class='n'>{fmt_int(f.get('capex_kzt'))}</td>"
            f"<td class='n'>{fmt_int(f.get('opex_kzt_per_year'))}</td>"
            f"<td class='n'>{len(f.get('catchment') or [])}</td>"
            f"<td>{esc(f.get('excluded_reason') or '')}</td></tr>"
        )
    return (
        f'<table class="t facilities"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _list(items: Sequence[Any], css: str = "") -> str:
    if not items:
        return '<p class="note">None.</p>'
    cls = f' class="{css}"' if css else ""
    return f"<ul{cls}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def render_report(
    plan: Plan,
    *,
    sheets: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """The full ``report.html`` document for a plan dict.

    ``sheets`` maps vehicle id to a relative route-sheet link; ``links`` are
    ``(label, relative href)`` pairs to the plan folder's other files.
    """
    scen = plan.get("scenario") or {}
    title = str(scen.get("title") or scen.get("name") or "Plan")
    solver = scen.get("solver") or {}
    net = plan.get("network") or {}
    routes = sorted_routes(plan)
    unserved = plan.get("unserved") or []
    sub = (
        f"Scenario <b>{esc(scen.get('name'))}</b> · generated {esc(scen.get('generated_at'))}"
        f" · solver time limit {esc(solver.get('time_limit_s'))} s, seed "
        f"{esc(solver.get('seed'))} · road network: {esc(net.get('source'))} "
        f"({fmt_int(net.get('nodes'))} nodes, {fmt_int(net.get('edges'))} edges)"
    )
    link_html = " · ".join(f'<a href="{esc(h)}">{esc(lbl)}</a>' for lbl, h in links)
    head = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Report — {esc(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{esc(title)}</h1><div class='sub'>{sub}</div>"
        f"<div class='sub'>{link_html}</div>"
    )
    overview = (
        "<div class='row'>"
        f"<div class='panel'>{mini_map_svg(plan, 560, 400)}"
        "<div class='note'>Grey: streets · coloured: routes · filled circles: open "
        "facilities · dashed: proposed · grey: excluded · red: protection zones · "
        "black squares: depots. The interactive map has the details.</div></div>"
        f"<div class='panel'>{_util_chart(plan)}</div></div>"
    )
    sites = (
        "<h2>Sites and investment (capex once; money, transport and CO₂e per year; "
        f"flows per day)</h2>{_site_cards(plan)}{_site_options_table(plan)}"
    )
    tail = (
        f"<h2>Facilities</h2>{_facilities_table(plan)}{_residue_table(plan)}"
        f"<h2>Warnings</h2>{_list(plan.get('warnings') or [], 'warn')}"
        f"<h2>Assumptions</h2>{_list(plan.get('assumptions') or [])}"
        "</main></body></html>"
    )
    if not has_routes(plan):
        cost = _site_cost_chart(plan)
        return (
            head + "<p class='note'>This plan places sites only: collection routes were not "
            "planned, so there are no route, truck-day or unserved-stop figures. Run "
            "<code>optimizer plan</code> (or <code>optimizer routes</code> with these sites) "
            "for them.</p>"
            + sites
            + f"<h2>Overview</h2>{overview}"
            + (
                f"<h2>Costs</h2><div class='row'><div class='panel'>{cost}</div></div>"
                if cost
                else ""
            )
            + tail
        )
    unserved_html = (
        _list(
            [
                f"{u.get('point_id')} ({u.get('stream')}): {u.get('reason')}"
                if u.get("stream")
                else f"{u.get('point_id')}: {u.get('reason')}"
                for u in unserved
            ],
            "warn",
        )
        if unserved
        else '<p class="note">Every collection point due on the plan days is served.</p>'
    )
    return (
        head
        + f"<h2>Collection routes ({_figures_scope(plan)})</h2>{_route_cards(plan)}"
        + _days_table(plan)
        + _calendar_table(plan)
        + sites
        + f"<h2>Overview</h2>{overview}"
        + "<h2>Loads and costs</h2><div class='row'>"
        + f"<div class='panel'>{_load_chart(routes)}</div>"
        + f"<div class='panel'>{_cost_chart(plan)}</div></div>"
        + f"<h2>Routes</h2>{_routes_table(routes, sheets or {})}"
        + f"<h2>Unserved collection points ({len(unserved)})</h2>{unserved_html}"
        + tail
    )
