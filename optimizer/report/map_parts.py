"""HTML, CSS and JavaScript snippets of the plan map (popups, legend, KPI box).

Kept apart from :mod:`optimizer.report.map` so that module stays about the
layers; nothing here imports folium.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from optimizer.plan_types import Facility, Plan, Point, Route, SiteOption, Stop

from .common import (
    FACILITY_LETTER,
    FACILITY_TYPE_COLOR,
    esc,
    fmt_hhmm,
    fmt_int,
    fmt_money,
    fmt_num,
    route_color,
    route_label,
)

STREET_COLOR = "#a3a3a3"
ZONE_COLOR = "#dc2626"

CSS = """
<style>
.leaflet-container { background: #f5f5f0; font-family: system-ui, -apple-system,
  'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; }
.stop-icon div { width: 20px; height: 20px; border-radius: 50%; color: #fff;
  font: bold 11px/16px 'DejaVu Sans', Arial, sans-serif; text-align: center;
  border: 2px solid #fff; box-shadow: 0 0 0 1px rgba(0,0,0,.45); box-sizing: border-box; }
.stop-icon div.n3 { font-size: 9px; }
.unload-icon div { width: 24px; height: 24px; background: #111827; color: #fff;
  font: bold 12px/18px 'DejaVu Sans', Arial, sans-serif; text-align: center;
  border: 3px solid; box-sizing: border-box; transform: rotate(45deg); }
.unload-icon div span { display: inline-block; transform: rotate(-45deg); }
.break-icon div { width: 18px; height: 18px; border-radius: 3px; background: #fff;
  color: #374151; font: bold 10px/14px 'DejaVu Sans', Arial, sans-serif;
  text-align: center; border: 2px solid #374151; box-sizing: border-box; }
.depot-icon div { width: 28px; height: 28px; background: #111827; color: #fff;
  font: bold 15px/24px 'DejaVu Sans', Arial, sans-serif; text-align: center;
  border: 2px solid #fff; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.6);
  box-sizing: border-box; }
.fac-icon .fac { position: relative; width: 30px; height: 30px; border-radius: 50%;
  font: bold 15px/24px 'DejaVu Sans', Arial, sans-serif; text-align: center;
  box-sizing: border-box; box-shadow: 0 1px 4px rgba(0,0,0,.5); }
.route-groups { max-height: 55vh; overflow-y: auto; min-width: 230px;
  font: 12px/1.35 system-ui, 'DejaVu Sans', sans-serif; }
.route-groups .rg-title { font-weight: bold; margin-bottom: 4px; }
.route-groups .rg-head { display: block; font-weight: 600; cursor: pointer; }
.route-groups .rg-more { display: inline-block; width: 1.1em; color: #374151; }
.route-groups .rg-list { margin: 2px 0 4px 1.4em; }
.route-groups .rg-route { display: block; white-space: nowrap; }
.route-groups .rg-swatch { display: inline-block; width: 14px; height: 4px;
  margin: 0 4px 2px 2px; vertical-align: middle; }
.fac-existing { background: var(--c); color: #fff; border: 3px solid #fff; }
.fac-proposed { background: #fff; color: var(--c); border: 3px dashed var(--c); }
.fac-candidate { background: #fff; color: var(--c); border: 2px dotted var(--c); }
.fac-excluded, .fac-closed { background: #e5e7eb; color: #6b7280;
  border: 2px solid #9ca3af; }
.fac .badge { position: absolute; top: -9px; right: -9px; font-size: 14px;
  line-height: 14px; }
.fac-proposed .badge { color: #f59e0b; text-shadow: 0 0 2px #000; }
.fac-excluded .badge, .fac-closed .badge { color: #dc2626; font-weight: bold; }
.route-arrow svg { display: block; }
.plan-box { background: rgba(255,255,255,.95); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,.35); font: 12px/1.35 system-ui, 'DejaVu Sans',
  Arial, sans-serif; color: #111827; max-width: 260px; }
.plan-box h4 { margin: 0 0 4px; font-size: 13px; }
.plan-box summary { cursor: pointer; font-size: 13px; }
.plan-box table { border-collapse: collapse; }
.plan-box td { padding: 1px 6px 1px 0; vertical-align: middle; }
.plan-box td.v { text-align: right; font-weight: 600; font-variant-numeric: tabular-nums; }
.plan-box .warn { color: #b91c1c; }
.legend .sw { display: inline-block; width: 22px; height: 4px; vertical-align: middle;
  border-radius: 2px; }
.legend .mk { display: inline-block; width: 16px; height: 16px; border-radius: 50%;
  vertical-align: middle; text-align: center; font: bold 9px/12px sans-serif;
  color: #fff; box-sizing: border-box; }
.legend .sec { margin-top: 5px; font-weight: 600; color: #374151; }
.popup h4 { margin: 0 0 4px; font-size: 13px; }
.popup table { border-collapse: collapse; font-size: 12px; }
.popup td { padding: 1px 8px 1px 0; }
.popup td:first-child { color: #6b7280; }
.popup .bar { width: 140px; height: 8px; background: #e5e7eb; border-radius: 4px;
  overflow: hidden; display: inline-block; vertical-align: middle; }
.popup .bar span { display: block; height: 100%; }
</style>
"""

HATCH_JS = """
var map = fg;
function hatch() {
  var ns = 'http://www.w3.org/2000/svg';
  map.getPanes().overlayPane.querySelectorAll('svg').forEach(function (svg) {
    if (!svg.querySelector('#spz-hatch')) {
      var defs = document.createElementNS(ns, 'defs');
      var p = document.createElementNS(ns, 'pattern');
      p.setAttribute('id', 'spz-hatch'); p.setAttribute('width', '9');
      p.setAttribute('height', '9'); p.setAttribute('patternUnits', 'userSpaceOnUse');
      p.setAttribute('patternTransform', 'rotate(45)');
      var r = document.createElementNS(ns, 'rect');
      r.setAttribute('width', '9'); r.setAttribute('height', '9');
      r.setAttribute('fill', '#dc2626'); r.setAttribute('fill-opacity', '0.10');
      var l = document.createElementNS(ns, 'rect');
      l.setAttribute('width', '3'); l.setAttribute('height', '9');
      l.setAttribute('fill', '#dc2626'); l.setAttribute('fill-opacity', '0.45');
      p.appendChild(r); p.appendChild(l); defs.appendChild(p);
      svg.insertBefore(defs, svg.firstChild);
    }
    svg.querySelectorAll('path.spz-zone').forEach(function (el) {
      el.setAttribute('fill', 'url(#spz-hatch)');
      el.setAttribute('fill-opacity', '1');
    });
  });
}
map.whenReady(function () { setTimeout(hatch, 0); });
map.on('overlayadd zoomend moveend', hatch);
"""

ARROW_JS = """
var c = %s, d = %s;
for (var i = 0; i < d.length; i++) {
  var a = d[i];
  L.marker([a[0], a[1]], {interactive: false, keyboard: false, icon: L.divIcon({
    className: 'route-arrow', iconSize: [16, 16], iconAnchor: [8, 8],
    html: '<svg width="16" height="16" viewBox="0 0 10 10" style="transform:rotate('
      + a[2] + 'deg)"><path d="M1,1.2 L9,5 L1,8.8 L3,5 Z" fill="' + c
      + '" stroke="#fff" stroke-width="0.8"/></svg>'})}).addTo(fg);
}
"""

STOPS_JS = """
var c = %s, info = %s, names = %s, d = %s;
function hm(m) { m = Math.round(m); var h = Math.floor(m / 60), n = m %% 60;
  return (h < 10 ? '0' : '') + h + ':' + (n < 10 ? '0' : '') + n; }
function pop(a) {
  return '<div class="popup"><h4>Stop ' + a[2] + ' · ' + a[3] + '</h4><table>'
    + '<tr><td>Route</td><td>' + info + '</td></tr>'
    + '<tr><td>Stream</td><td>' + (names[a[10]] || a[10] || '') + '</td></tr>'
    + '<tr><td>Collected</td><td>' + a[9].toFixed(2) + ' t</td></tr>'
    + '<tr><td>Arrival</td><td>' + hm(a[4]) + ' (service ' + a[6] + ' min)</td></tr>'
    + '<tr><td>Departure</td><td>' + hm(a[5]) + '</td></tr>'
    + '<tr><td>Load after</td><td>' + a[7].toFixed(2) + ' t · ' + a[8].toFixed(1)
    + ' m³ loose</td></tr><tr><td>Distance so far</td><td>' + a[11].toFixed(1)
    + ' km</td></tr></table></div>';
}
for (var i = 0; i < d.length; i++) {
  (function (a) {
    L.circleMarker([a[0], a[1]], {radius: 4, color: '#ffffff', weight: 1,
      fillColor: c, fillOpacity: 0.95, className: 'stop-marker'})
      .bindPopup(function () { return pop(a); })
      .bindTooltip(a[2] + '. ' + a[3] + ' · ' + (names[a[10]] || a[10] || '') + ' · '
        + hm(a[4]))
      .addTo(fg);
  })(d[i]);
}
"""


def control_js(position: str, html_text: str, css_class: str) -> str:
    """JS adding a static Leaflet control holding ``html_text``."""
    return (
        f"var ctl = L.control({{position: {json.dumps(position)}}});"
        "ctl.onAdd = function () {"
        f"  var div = L.DomUtil.create('div', {json.dumps(css_class)});"
        f"  div.innerHTML = {json.dumps(html_text)};"
        "  L.DomEvent.disableClickPropagation(div);"
        "  L.DomEvent.disableScrollPropagation(div);"
        "  return div; };"
        "ctl.addTo(fg);"
    )


def popup_table(
    title: str, rows: Sequence[tuple[str, str]], data: Mapping[str, Any] | None = None
) -> str:
    """A popup body: a bold title over a two-column table (values are HTML).

    ``data`` becomes escaped ``data-*`` attributes (machine-readable ids, so a
    check can tie a popup to its plan record).
    """
    body = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in rows)
    attrs = "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in (data or {}).items())
    return f'<div class="popup"{attrs}><h4>{title}</h4><table>{body}</table></div>'


def stop_popup(
    stop: Stop,
    route: Route,
    collected: float,
    point: Point | None,
    stream_name: str,
    stream_id: str = "",
) -> str:
    """Popup of a collection stop: route, stream, tonnes, times, load, distance.

    ``stream_id``/``stream_name`` are the stop's own stream (never the point's:
    several streams share a point id).
    """
    rows = [
        ("Route", esc(route_label(route))),
        ("Stream", esc(stream_name)),
        ("Collected", f"{collected:.2f} t"),
        (
            "Arrival",
            f"{fmt_hhmm(stop.get('arrival_min'))} (service "
            f"{fmt_num(stop.get('service_min'), 0)} min)",
        ),
        ("Departure", fmt_hhmm(stop.get("departure_min"))),
        (
            "Load after",
            f"{fmt_num(stop.get('load_after_t'), 2)} t · "
            f"{fmt_num(stop.get('load_after_m3'), 1)} m³ loose",
        ),
        ("Distance so far", f"{fmt_num(stop.get('distance_km_so_far'), 1)} km"),
    ]
    if point and point.get("district"):
        rows.insert(2, ("District", esc(point["district"])))
    data = {"route": route.get("id"), "seq": stop.get("seq"), "stream": stream_id}
    return popup_table(f"Stop {esc(stop.get('seq'))} · {esc(stop.get('ref_id'))}", rows, data)


def facility_popup(fac: Facility) -> str:
    """Popup of a facility: type, state, capacity use bar, costs, exclusion reason."""
    util = fac.get("utilisation")
    cap = fac.get("capacity_t_per_day")
    used = fac.get("used_t_per_day")
    if util is None and cap and used is not None:
        util = float(used) / float(cap)
    rows: list[tuple[str, str]] = [
        ("Type", esc(fac.get("type"))),
        ("State", esc(fac.get("state")) + (" · open" if fac.get("open") else " · not used")),
        ("Accepts", esc(", ".join(fac.get("accepts") or []))),
        ("Capacity", f"{fmt_num(cap, 1)} t/day"),
        ("Used", f"{fmt_num(used, 1)} t/day"),
    ]
    if util is not None:
        pct = max(0.0, float(util)) * 100
        colour = "#16a34a" if pct < 85 else ("#f59e0b" if pct <= 100 else "#dc2626")
        rows.append(
            (
                "Utilisation",
                f'<span class="bar"><span style="width:{min(pct, 100):.0f}%;'
                f'background:{colour}"></span></span> {pct:.0f}%',
            )
        )
    if fac.get("capex_kzt"):
        rows.append(("Capex", f"{fmt_int(fac['capex_kzt'])} KZT"))
    if fac.get("opex_kzt_per_year"):
        rows.append(("Opex", f"{fmt_int(fac['opex_kzt_per_year'])} KZT/yr"))
    if fac.get("catchment"):
        rows.append(("Catchment", f"{len(fac['catchment'])} points"))
    if fac.get("excluded_reason"):
        rows.append(("Excluded", f'<b style="color:#b91c1c">{esc(fac["excluded_reason"])}</b>'))
    return popup_table(f"{esc(fac.get('name') or fac['id'])} ({esc(fac['id'])})", rows)


def site_options_html(fac: Facility, options: Sequence[SiteOption]) -> str:
    """For a candidate site of a plan whose sites were chosen by their routes: each
    routed option with and without it, its day-1 fleet and present cost with the fleet."""
    routed = [o for o in options if o.get("trucks") is not None]
    if fac.get("state") == "existing" or fac.get("excluded_reason") or not routed:
        return ""  # open in every option, or in none
    rows = []
    for o in sorted(routed, key=lambda o: o.get("present_cost_with_fleet_kzt") or 0):
        name = ", ".join(o.get("candidates_opened") or []) or "no new site"
        mark = "&#10003; " if fac["id"] in (o.get("open") or []) else "&ndash; "
        chosen = " <b>(chosen)</b>" if o.get("status") == "chosen" else ""
        rows.append(
            f"<tr><td>{mark}{esc(name)}{chosen}</td><td>{fmt_int(o.get('trucks'))}</td>"
            f"<td>{fmt_money(o.get('route_cost_kzt'))}</td>"
            f"<td>{fmt_int(o.get('unserved_stops'))}</td>"
            f"<td>{fmt_money(o.get('present_cost_with_fleet_kzt'))}</td></tr>"
        )
    head = (
        "<tr><th>option (&#10003; opens this site)</th><th>trucks</th><th>KZT/day</th>"
        "<th>unserved</th><th>present cost with fleet</th></tr>"
    )
    return (
        '<div class="popup site-options"><h4>Site options routed for day 1</h4>'
        f"<table>{head}{''.join(rows)}</table></div>"
    )


def facility_icon_html(fac: Facility) -> str:
    """Marker HTML of a facility: colour and letter by type, outline by state."""
    ftype = str(fac.get("type", ""))
    state = str(fac.get("state", "existing"))
    colour = FACILITY_TYPE_COLOR.get(ftype, "#374151")
    letter = FACILITY_LETTER.get(ftype, "F")
    badge = {"proposed": "★", "excluded": "✕", "closed": "✕"}.get(state, "")
    badge_html = f'<span class="badge">{badge}</span>' if badge else ""
    return f'<div class="fac fac-{esc(state)}" style="--c:{colour}">{letter}{badge_html}</div>'


def kpi_html(plan: Plan) -> str:
    """Contents of the KPI box (title and the plan's headline figures).

    Route figures are per day (or totals over the plan days); a sites-only plan
    shows its site figures instead of empty route figures.
    """
    k = plan.get("kpis") or {}
    scen = plan.get("scenario") or {}
    title = esc(scen.get("title") or scen.get("name") or "Plan")
    routes = plan.get("routes") or []
    if not routes and str(scen.get("stage") or "") == "sites":
        site_rows = [
            ("Sites open", fmt_int(k.get("sites_open"))),
            ("Capex", f"{fmt_money(k.get('capex_kzt'))} KZT"),
            ("Opex", f"{fmt_money(k.get('opex_kzt_per_year'))} KZT/yr"),
            ("Present cost", f"{fmt_money(k.get('npv_kzt'))} KZT"),
            ("Site transport", f"{fmt_int(k.get('site_transport_tkm_per_year'))} t·km/yr"),
            ("Landfilled", f"{fmt_num(k.get('landfilled_t_per_day'), 1)} t/day"),
        ]
        if k.get("recycling_rate") is not None:
            site_rows.append(
                ("Recycling rate", f"{fmt_num(float(k['recycling_rate']) * 100, 1)} %")
            )
        body = "".join(f"<tr><td>{a}</td><td class='v'>{b}</td></tr>" for a, b in site_rows)
        return f"<h4>{title}</h4><div>Sites only: no routes planned</div><table>{body}</table>"
    unserved = k.get("unserved_stops", len(plan.get("unserved") or []))
    days = int(k.get("plan_days") or 1)
    per = "/day" if days == 1 else f" in {days} days"
    rows = [
        ("Distance", f"{fmt_num(k.get('distance_km'), 1)} km{per}"),
        ("Waste collected", f"{fmt_num(k.get('tonnes'), 1)} t{per}"),
        ("Vehicles", fmt_int(k.get("vehicles_used"))),
        ("Routes", fmt_int(len(routes))),
        ("Stops served", fmt_int(k.get("stops_served"))),
        ("Cost", f"{fmt_int(k.get('cost_kzt'))} KZT{per}"),
        ("CO₂e", f"{fmt_num(k.get('co2e_t'), 2)} t{per}"),
    ]
    if days > 1:  # totals over the days; trucks = the busiest day
        rows.insert(0, ("Plan days", f"{days} (day 1 shown)"))
        rows[3] = ("Trucks (busiest day)", fmt_int(k.get("vehicles_used")))
    body = "".join(f"<tr><td>{a}</td><td class='v'>{b}</td></tr>" for a, b in rows)
    cls = " class='warn'" if unserved else ""
    body += f"<tr{cls}><td>Unserved stops</td><td class='v'>{fmt_int(unserved)}</td></tr>"
    return f"<h4>{title}</h4><table>{body}</table>"


def legend_html(plan: Plan, routes: Sequence[Route], *, grouped: bool = False) -> str:
    """Contents of the legend control (routes, markers, facilities, areas).

    ``grouped``: a city map lists its routes in the route panel, by depot and truck
    type, each coloured apart from its neighbours; the legend says so instead.
    """
    parts = ["<details open><summary><b>Legend</b></summary>"]
    if routes:
        parts.append('<div class="sec">Routes (vehicle · day)</div>')
    if grouped:
        parts.append(
            f"<div>{len(routes)} routes, listed by depot and truck type in the route "
            "panel (top right); neighbouring routes have different colours</div>"
        )
    for i, r in enumerate(routes[:8] if not grouped else ()):
        parts.append(
            f'<div><span class="sw" style="background:{route_color(i)}"></span> '
            f"{esc(route_label(r))}</div>"
        )
    if len(routes) > 8 and not grouped:
        parts.append(f"<div>… {len(routes) - 8} more in the layer list</div>")
    parts.append(
        '<div class="sec">Stops</div>'
        '<div><span class="mk" style="background:#1f77b4;border:2px solid #fff;'
        'box-shadow:0 0 0 1px #555">3</span> collection stop, visiting order</div>'
        '<div><span class="mk" style="background:#111827;border:2px solid #1f77b4;'
        'border-radius:0;transform:rotate(45deg)"><span style="display:inline-block;'
        'transform:rotate(-45deg)">U</span></span> unload at a facility</div>'
        '<div><svg width="14" height="12" viewBox="0 0 10 10"><path d="M1,1.2 L9,5 '
        'L1,8.8 L3,5 Z" fill="#555"/></svg> direction of travel</div>'
        '<div><span class="mk" style="background:#111827;border-radius:3px">D</span>'
        " depot</div>"
        '<div><span class="mk" style="background:#fff;border:3px solid #dc2626">'
        "</span> unserved point</div>"
        '<div class="sec">Facilities</div>'
    )
    types = sorted({str(f.get("type")) for f in plan.get("facilities") or []})
    for t in types:
        colour = FACILITY_TYPE_COLOR.get(t, "#374151")
        parts.append(
            f'<div><span class="mk" style="background:{colour}">'
            f"{FACILITY_LETTER.get(t, 'F')}</span> {esc(t)}</div>"
        )
    parts.append(
        '<div><span class="mk" style="background:#555;border:2px solid #fff;'
        'box-shadow:0 0 0 1px #555"></span> existing &nbsp;'
        '<span class="mk" style="background:#fff;border:2px dashed #555"></span>'
        ' <span style="color:#f59e0b">★</span> proposed &nbsp;'
        '<span class="mk" style="background:#e5e7eb;border:2px solid #9ca3af"></span>'
        ' <b style="color:#dc2626">✕</b> excluded</div>'
        '<div class="sec">Areas</div>'
        '<div><span class="sw" style="height:10px;background:rgba(37,99,235,.12);'
        'border:1px dashed #2563eb"></span> catchment of a facility</div>'
        '<div><span class="sw" style="height:10px;background:repeating-linear-gradient('
        "45deg,rgba(220,38,38,.5) 0 2px,rgba(220,38,38,.1) 2px 6px);border:1px solid "
        '#dc2626"></span> sanitary protection zone</div>'
        f'<div><span class="sw" style="height:2px;background:{STREET_COLOR}"></span>'
        " street network</div></details>"
    )
    return "".join(parts)


def _screen_angle(a: Sequence[float], b: Sequence[float]) -> float:
    """Clockwise screen angle (degrees, 0 = east) of segment a→b in Web Mercator."""
    dx = math.radians(float(b[0]) - float(a[0]))

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dy = merc(float(b[1])) - merc(float(a[1]))
    return -math.degrees(math.atan2(dy, dx))


def arrow_positions(
    geometry: Sequence[Sequence[float]], max_arrows: int, spacing_km: float
) -> list[tuple[float, float, float]]:
    """Evenly spaced ``(lat, lon, angle)`` arrows along a lon/lat polyline."""
    if len(geometry) < 2:
        return []
    seg_len: list[float] = []
    for a, b in itertools.pairwise(geometry):
        mid = math.radians((float(a[1]) + float(b[1])) / 2)
        dx = (float(b[0]) - float(a[0])) * math.cos(mid) * 111.32
        dy = (float(b[1]) - float(a[1])) * 110.57
        seg_len.append(math.hypot(dx, dy))
    total = sum(seg_len)
    if total <= 0:
        return []
    n = max(1, min(max_arrows, round(total / spacing_km)))
    step = total / n
    out: list[tuple[float, float, float]] = []
    targets = [(k + 0.5) * step for k in range(n)]
    acc = 0.0
    i = 0
    for t in targets:
        while i < len(seg_len) - 1 and acc + seg_len[i] < t:
            acc += seg_len[i]
            i += 1
        if seg_len[i] <= 0:
            continue
        f = min(max((t - acc) / seg_len[i], 0.0), 1.0)
        a, b = geometry[i], geometry[i + 1]
        lon = float(a[0]) + f * (float(b[0]) - float(a[0]))
        lat = float(a[1]) + f * (float(b[1]) - float(a[1]))
        out.append((round(lat, 5), round(lon, 5), round(_screen_angle(a, b), 1)))
    return out


# --------------------------------------------------------------------------- CSS
