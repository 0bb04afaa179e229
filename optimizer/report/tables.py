"""Tabular outputs: ``routes.csv``, ``sites.csv`` and printable route sheets."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .common import (
    esc,
    find_point,
    fmt_hhmm,
    fmt_num,
    points_by_id,
    route_label,
    sorted_routes,
    stop_stream,
    streams_by_id,
)

__all__ = [
    "ROUTE_COLUMNS",
    "SITE_COLUMNS",
    "route_rows",
    "site_rows",
    "write_route_sheets",
    "write_routes_csv",
    "write_sites_csv",
]

ROUTE_COLUMNS: tuple[str, ...] = (
    "route_id",
    "vehicle_id",
    "vehicle_type",
    "day",
    "seq",
    "kind",
    "ref_id",
    "name",
    "stream",
    "lon",
    "lat",
    "arrival",
    "departure",
    "arrival_min",
    "departure_min",
    "service_min",
    "collected_t",
    "load_after_t",
    "load_after_m3",
    "distance_km_so_far",
)

SITE_COLUMNS: tuple[str, ...] = (
    "site_kind",
    "id",
    "name",
    "type",
    "state",
    "open",
    "lon",
    "lat",
    "accepts",
    "capacity_t_per_day",
    "used_t_per_day",
    "utilisation",
    "capex_kzt",
    "opex_kzt_per_year",
    "catchment_points",
    "excluded_reason",
)

_KIND_LABEL = {
    "depot_start": "Leave depot",
    "stop": "Collect",
    "unload": "Unload",
    "break": "Break",
    "depot_end": "Return to depot",
}


def _names(plan: Mapping[str, Any]) -> dict[str, str]:
    """Display names of depots and facilities keyed by id."""
    out: dict[str, str] = {}
    for key in ("depots", "facilities"):
        for item in plan.get(key) or []:
            out[str(item["id"])] = str(item.get("name") or item["id"])
    return out


def route_rows(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per stop per vehicle per day, in visiting order."""
    pts = points_by_id(plan)
    names = _names(plan)
    rows: list[dict[str, Any]] = []
    for route in sorted_routes(plan):
        prev = 0.0
        stops = sorted(route.get("stops") or [], key=lambda s: s.get("seq", 0))
        for stop in stops:
            ref = str(stop.get("ref_id") or "")
            load = float(stop.get("load_after_t") or 0.0)
            point = find_point(pts, ref) if stop.get("kind") == "stop" else None
            collected = max(0.0, load - prev) if stop.get("kind") == "stop" else 0.0
            rows.append(
                {
                    "route_id": route["id"],
                    "vehicle_id": route.get("vehicle_id", ""),
                    "vehicle_type": route.get("vehicle_type", ""),
                    "day": route.get("day", ""),
                    "seq": stop.get("seq", ""),
                    "kind": stop.get("kind", ""),
                    "ref_id": ref,
                    "name": names.get(ref, (point or {}).get("district", "")),
                    "stream": stop_stream(ref, point) if stop.get("kind") == "stop" else "",
                    "lon": stop.get("lon"),
                    "lat": stop.get("lat"),
                    "arrival": fmt_hhmm(stop.get("arrival_min")),
                    "departure": fmt_hhmm(stop.get("departure_min")),
                    "arrival_min": stop.get("arrival_min"),
                    "departure_min": stop.get("departure_min"),
                    "service_min": stop.get("service_min"),
                    "collected_t": round(collected, 3),
                    "load_after_t": stop.get("load_after_t"),
                    "load_after_m3": stop.get("load_after_m3"),
                    "distance_km_so_far": stop.get("distance_km_so_far"),
                }
            )
            prev = load
    return rows


def site_rows(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per depot and per facility (every state, with the reason if excluded)."""
    rows: list[dict[str, Any]] = []
    for dep in plan.get("depots") or []:
        rows.append(
            {
                "site_kind": "depot",
                "id": dep["id"],
                "name": dep.get("name", ""),
                "type": "depot",
                "state": "existing",
                "open": True,
                "lon": dep.get("lon"),
                "lat": dep.get("lat"),
            }
        )
    for fac in plan.get("facilities") or []:
        rows.append(
            {
                "site_kind": "facility",
                "id": fac["id"],
                "name": fac.get("name", ""),
                "type": fac.get("type", ""),
                "state": fac.get("state", ""),
                "open": bool(fac.get("open")),
                "lon": fac.get("lon"),
                "lat": fac.get("lat"),
                "accepts": ";".join(fac.get("accepts") or []),
                "capacity_t_per_day": fac.get("capacity_t_per_day"),
                "used_t_per_day": fac.get("used_t_per_day"),
                "utilisation": fac.get("utilisation"),
                "capex_kzt": fac.get("capex_kzt"),
                "opex_kzt_per_year": fac.get("opex_kzt_per_year"),
                "catchment_points": len(fac.get("catchment") or []),
                "excluded_reason": fac.get("excluded_reason") or "",
            }
        )
    return rows


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return path


def write_routes_csv(plan: Mapping[str, Any], path: Path) -> Path:
    """Write ``routes.csv`` (columns :data:`ROUTE_COLUMNS`, UTF-8)."""
    return _write_csv(path, ROUTE_COLUMNS, route_rows(plan))


def write_sites_csv(plan: Mapping[str, Any], path: Path) -> Path:
    """Write ``sites.csv`` (columns :data:`SITE_COLUMNS`, UTF-8)."""
    return _write_csv(path, SITE_COLUMNS, site_rows(plan))


_SHEET_CSS = """
body { font: 13px/1.35 system-ui, 'DejaVu Sans', Arial, sans-serif; color: #111;
  margin: 18px; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 18px 0 4px; }
.meta { color: #374151; margin-bottom: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #9ca3af; padding: 3px 5px; text-align: left; }
th { background: #f3f4f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.unload td { background: #fef3c7; font-weight: 600; }
tr.break td { background: #e0f2fe; }
tr.depot td { background: #f3f4f6; }
td.chk { width: 40px; }
td.ll { font-size: 11px; color: #374151; white-space: nowrap; }
.route { page-break-after: always; break-after: page; }
.route:last-child { page-break-after: auto; break-after: auto; }
@media print { body { margin: 8mm; } a { color: inherit; text-decoration: none; } }
@page { size: A4; margin: 10mm; }
"""


def _sheet_route_html(
    plan: Mapping[str, Any], route: Mapping[str, Any], names: Mapping[str, str]
) -> str:
    pts = points_by_id(plan)
    streams = streams_by_id(plan)
    stops = sorted(route.get("stops") or [], key=lambda s: s.get("seq", 0))
    start = fmt_hhmm(stops[0].get("departure_min")) if stops else ""
    end = fmt_hhmm(stops[-1].get("arrival_min")) if stops else ""
    body: list[str] = []
    prev = 0.0
    for s in stops:
        kind = str(s.get("kind", ""))
        ref = str(s.get("ref_id") or "")
        load = float(s.get("load_after_t") or 0.0)
        point = find_point(pts, ref) if kind == "stop" else None
        place = names.get(ref, "")
        if point:
            place = str(point.get("district") or "")
        stream = ""
        amount = ""
        if kind == "stop":
            sid = stop_stream(ref, point)
            stream = str((streams.get(sid) or {}).get("name", sid))
            amount = f"{max(0.0, load - prev):.2f}"
        elif kind == "unload":
            amount = f"−{max(0.0, prev - load):.2f}"
        cls = {"unload": "unload", "break": "break"}.get(kind, "")
        if kind.startswith("depot"):
            cls = "depot"
        body.append(
            f'<tr class="{cls}"><td class="n">{esc(s.get("seq"))}</td>'
            f"<td>{fmt_hhmm(s.get('arrival_min'))}</td>"
            f"<td>{fmt_hhmm(s.get('departure_min'))}</td>"
            f"<td>{esc(_KIND_LABEL.get(kind, kind))}</td>"
            f"<td>{esc(ref)}</td><td>{esc(place)}</td>"
            f'<td class="ll">{float(s["lat"]):.5f}, {float(s["lon"]):.5f}</td>'
            f"<td>{esc(stream)}</td>"
            f'<td class="n">{amount}</td>'
            f'<td class="n">{fmt_num(s.get("load_after_t"), 2)}</td>'
            f'<td class="n">{fmt_num(s.get("load_after_m3"), 1)}</td>'
            f'<td class="n">{fmt_num(s.get("distance_km_so_far"), 1)}</td>'
            f'<td class="chk">☐</td></tr>'
        )
        prev = load
    depot_name = names.get(str(route.get("depot_id")), str(route.get("depot_id", "")))
    n_collect = sum(1 for s in stops if s.get("kind") == "stop")
    n_unload = sum(1 for s in stops if s.get("kind") == "unload")
    return (
        f'<section class="route"><h2>Day {esc(route.get("day"))} · route '
        f"{esc(route['id'])}</h2>"
        f'<div class="meta">Depot: {esc(depot_name)} ({esc(route.get("depot_id"))})'
        f" · start {start} · back {end} · {n_collect} collection stops · "
        f"{n_unload} unload(s) · {fmt_num(route.get('distance_km'), 1)} km · "
        f"{fmt_num(route.get('tonnes'), 2)} t</div>"
        "<table><thead><tr><th>#</th><th>Arrive</th><th>Leave</th><th>Action</th>"
        "<th>Point / site</th><th>Place</th><th>Lat, lon</th><th>Stream</th><th>t</th>"
        "<th>Load t</th><th>Load m³</th><th>km</th><th>Done</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "vehicle"


def write_route_sheets(plan: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """One printable HTML sheet per vehicle (all its routes, one page per day).

    Files are ``out_dir/<vehicle_id>.html`` (unsafe characters replaced);
    returns ``{vehicle_id: path}`` in route order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _names(plan)
    by_vehicle: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for route in sorted_routes(plan):
        by_vehicle[str(route.get("vehicle_id", "?"))].append(route)
    scen = plan.get("scenario") or {}
    title = str(scen.get("title") or scen.get("name") or "Plan")
    paths: dict[str, Path] = {}
    used: set[str] = set()
    for vehicle, routes in by_vehicle.items():
        fname = _safe_name(vehicle)
        while fname in used:
            fname += "_"
        used.add(fname)
        sections = "".join(_sheet_route_html(plan, r, names) for r in routes)
        vtype = routes[0].get("vehicle_type", "")
        doc = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Route sheet {esc(vehicle)}</title><style>{_SHEET_CSS}</style>"
            f"</head><body><h1>Route sheet · vehicle {esc(vehicle)} ({esc(vtype)})</h1>"
            f"<div class='meta'>{esc(title)} · {len(routes)} route(s): "
            f"{esc(', '.join(route_label(r) for r in routes))}</div>{sections}"
            "</body></html>"
        )
        path = out_dir / f"{fname}.html"
        path.write_text(doc, encoding="utf-8")
        paths[vehicle] = path
    return paths
