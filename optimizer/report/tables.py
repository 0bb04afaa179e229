"""Tabular outputs: ``routes.csv``, ``sites.csv`` and printable route sheets.

The CSV files are UTF-8 with a byte-order mark so Excel reads Cyrillic and
Kazakh names correctly, and text cells that start with ``= + - @`` (or a tab
or carriage return) get a leading ``'`` so a spreadsheet never runs them as a
formula; numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from optimizer.plan_types import Plan, Point, Route, Stream

from .common import (
    PointIndex,
    esc,
    find_point,
    fmt_hhmm,
    fmt_num,
    points_by_key,
    route_label,
    shift_times,
    sorted_routes,
    stop_stream,
    streams_by_id,
)

__all__ = [
    "ROUTE_COLUMNS",
    "SITE_COLUMNS",
    "csv_cell",
    "route_rows",
    "safe_file_names",
    "site_rows",
    "vehicle_spec",
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
    "street",
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


def _names(plan: Plan) -> dict[str, str]:
    """Display names of depots and facilities keyed by id."""
    out: dict[str, str] = {}
    sites: list[Mapping[str, Any]] = [*(plan.get("depots") or []), *(plan.get("facilities") or [])]
    for item in sites:
        out[str(item["id"])] = str(item.get("name") or item["id"])
    return out


def route_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per stop per vehicle per day, in visiting order."""
    pts = points_by_key(plan)
    names = _names(plan)
    rows: list[dict[str, Any]] = []
    for route in sorted_routes(plan):
        prev = 0.0
        stops = sorted(route.get("stops") or [], key=lambda s: s.get("seq", 0))
        for stop in stops:
            ref = str(stop.get("ref_id") or "")
            load = float(stop.get("load_after_t") or 0.0)
            is_stop = stop.get("kind") == "stop"
            stream = stop_stream(stop, pts) if is_stop else ""
            point = find_point(pts, ref, stream) if is_stop else None
            collected = max(0.0, load - prev) if is_stop else 0.0
            rows.append(
                {
                    "route_id": route["id"],
                    "vehicle_id": route.get("vehicle_id", ""),
                    "vehicle_type": route.get("vehicle_type", ""),
                    "day": route.get("day", ""),
                    "seq": stop.get("seq", ""),
                    "kind": stop.get("kind", ""),
                    "ref_id": ref,
                    "name": names.get(ref, point.get("district", "") if point else ""),
                    "street": _street(point),
                    "stream": stream,
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


def site_rows(plan: Plan) -> list[dict[str, Any]]:
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


def _street(point: Point | None) -> str:
    """The street of a collection point (from the network's OSM names; "" when unnamed)."""
    return point.get("street", "") if point is not None else ""


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as written, never runs as a formula.

    Missing values become empty; text starting with ``= + - @``, a tab or a
    carriage return gets a leading ``'``; numbers (and booleans) pass unchanged,
    so ``-3.5`` stays a number.
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    """Write rows as UTF-8-with-BOM CSV (Excel-friendly, formula-safe cells)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: csv_cell(row.get(c)) for c in columns})
    return path


def write_routes_csv(plan: Plan, path: Path) -> Path:
    """Write ``routes.csv`` (columns :data:`ROUTE_COLUMNS`, UTF-8 with BOM)."""
    return _write_csv(path, ROUTE_COLUMNS, route_rows(plan))


def write_sites_csv(plan: Plan, path: Path) -> Path:
    """Write ``sites.csv`` (columns :data:`SITE_COLUMNS`, UTF-8 with BOM)."""
    return _write_csv(path, SITE_COLUMNS, site_rows(plan))


#: The columns of ``calendar.csv`` before one column per plan day.
CALENDAR_COLUMNS: tuple[str, ...] = (
    "point_id",
    "stream",
    "district",
    "street",
    "lon",
    "lat",
    "visits_per_week",
    "collection_days",
)


def calendar_rows(plan: Plan) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The collection calendar: one row per point and stream, a 1 under each day it is due."""
    days = int((plan.get("kpis") or {}).get("plan_days") or 0)
    day_columns = tuple(f"day_{d}" for d in range(1, days + 1))
    rows = []
    for p in plan.get("points") or []:
        due = p.get("due_days") or []
        rows.append(
            {
                "point_id": p["id"],
                "stream": p["stream"],
                "district": p.get("district", ""),
                "street": p.get("street", ""),
                "lon": p["lon"],
                "lat": p["lat"],
                "visits_per_week": p["visits_per_week"],
                "collection_days": " ".join(str(d) for d in due),
                **{f"day_{d}": 1 if d in due else "" for d in range(1, days + 1)},
            }
        )
    return CALENDAR_COLUMNS + day_columns, rows


def write_calendar_csv(plan: Plan, path: Path) -> Path:
    """Write ``calendar.csv`` (:func:`calendar_rows`, UTF-8 with BOM)."""
    columns, rows = calendar_rows(plan)
    return _write_csv(path, columns, rows)


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
.truck { margin: 2px 0 8px; }
.route { page-break-after: always; break-after: page; }
.route:last-child { page-break-after: auto; break-after: auto; }
@media print { body { margin: 8mm; } a { color: inherit; text-decoration: none; } }
@page { size: A4; margin: 10mm; }
"""


def vehicle_spec(plan: Plan, route: Route) -> dict[str, Any]:
    """Payload (t) and body volume (m³, as stated in the fleet) of a route's truck.

    Read from the ``fleet`` entry whose ``id`` is the route's vehicle type; missing
    values are ``None`` (plans written before the fleet was recorded).
    """
    vtype = str(route.get("vehicle_type") or "")
    spec = next((vt for vt in plan.get("fleet") or [] if str(vt.get("id")) == vtype), None)
    if spec is None:
        return {"capacity_t": None, "body_m3": None, "compaction_ratio": None}
    return {
        "capacity_t": spec.get("capacity_t"),
        "body_m3": spec.get("body_m3"),
        "compaction_ratio": spec.get("compaction_ratio"),
    }


def _truck_line(plan: Plan, route: Route) -> str:
    """ "Truck: side_loader · payload 11 t · body 20 m³" (says so when unknown)."""
    spec = vehicle_spec(plan, route)
    payload = (
        f"payload {fmt_num(spec['capacity_t'], 1)} t"
        if spec["capacity_t"] is not None
        else "payload not in the plan"
    )
    body = (
        f"body {fmt_num(spec['body_m3'], 1)} m³"
        if spec["body_m3"] is not None
        else "body volume not in the plan"
    )
    if spec["body_m3"] is not None and spec["compaction_ratio"]:
        loose = float(spec["body_m3"]) * float(spec["compaction_ratio"])
        body += (
            f" (holds {fmt_num(loose, 0)} m³ of loose waste at compaction "
            f"{fmt_num(spec['compaction_ratio'], 1)})"
        )
    return (
        f"<div class='truck'>Truck {esc(route.get('vehicle_id'))} "
        f"({esc(route.get('vehicle_type'))}) · {payload} · {body}</div>"
    )


def _stop_action(kind: str, unload_no: int, place: str) -> str:
    """The action column: "Collect", "Unload 2 at Alash landfill", "Break"…"""
    if kind == "unload":
        return f"Unload {unload_no} at {place}" if place else f"Unload {unload_no}"
    return _KIND_LABEL.get(kind, kind)


def _sheet_route_html(
    plan: Plan,
    route: Route,
    names: Mapping[str, str],
    pts: PointIndex,
    streams: Mapping[str, Stream],
) -> str:
    """One route of a sheet: header (shift, truck) and the stop table."""
    stops = sorted(route.get("stops") or [], key=lambda s: s.get("seq", 0))
    start_min, end_min = shift_times(route)
    body: list[str] = []
    prev = 0.0
    unload_no = 0
    for s in stops:
        kind = str(s.get("kind", ""))
        ref = str(s.get("ref_id") or "")
        load = float(s.get("load_after_t") or 0.0)
        sid = stop_stream(s, pts) if kind == "stop" else ""
        point = find_point(pts, ref, sid) if kind == "stop" else None
        place = names.get(ref, "")
        if point:
            place = str(point.get("district") or "")
        stream = ""
        amount = ""
        if kind == "stop":
            known = streams.get(sid)
            stream = str(known.get("name", sid)) if known else sid
            amount = f"{max(0.0, load - prev):.2f}"
        elif kind == "unload":
            unload_no += 1
            amount = f"−{max(0.0, prev - load):.2f}"
        cls = {"unload": "unload", "break": "break"}.get(kind, "")
        if kind.startswith("depot"):
            cls = "depot"
        body.append(
            f'<tr class="{cls}" data-seq="{esc(s.get("seq"))}" data-stream="{esc(sid)}">'
            f'<td class="n">{esc(s.get("seq"))}</td>'
            f"<td>{fmt_hhmm(s.get('arrival_min'))}</td>"
            f"<td>{fmt_hhmm(s.get('departure_min'))}</td>"
            f"<td>{esc(_stop_action(kind, unload_no, names.get(ref, ref)))}</td>"
            f"<td>{esc(ref)}</td><td>{esc(place)}</td><td>{esc(_street(point))}</td>"
            f'<td class="ll">{float(s["lat"]):.5f}, {float(s["lon"]):.5f}</td>'
            f'<td class="stream">{esc(stream)}</td>'
            f'<td class="n">{amount}</td>'
            f'<td class="n">{fmt_num(s.get("load_after_t"), 2)}</td>'
            f'<td class="n">{fmt_num(s.get("load_after_m3"), 1)}</td>'
            f'<td class="n">{fmt_num(s.get("distance_km_so_far"), 1)}</td>'
            f'<td class="chk">☐</td></tr>'
        )
        prev = load
    depot_name = names.get(str(route.get("depot_id")), str(route.get("depot_id", "")))
    n_collect = sum(1 for s in stops if s.get("kind") == "stop")
    return (
        f'<section class="route" data-route="{esc(route["id"])}"><h2>Day '
        f"{esc(route.get('day'))} · route {esc(route['id'])}</h2>"
        f'<div class="meta">Depot: {esc(depot_name)} ({esc(route.get("depot_id"))})'
        f" · leave {fmt_hhmm(start_min) or '—'} · back {fmt_hhmm(end_min) or '—'} · "
        f"{n_collect} collection stops · {unload_no} unload(s) · "
        f"{fmt_num(route.get('distance_km'), 1)} km · {fmt_num(route.get('tonnes'), 2)} t</div>"
        f"{_truck_line(plan, route)}"
        "<table><thead><tr><th>#</th><th>Arrive</th><th>Leave</th><th>Action</th>"
        "<th>Point / site</th><th>Place</th><th>Street</th><th>Lat, lon</th><th>Stream</th>"
        "<th>t</th><th>Load t</th><th>Load m³ (loose)</th><th>km</th><th>Done</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


#: Longest file-name stem (characters) derived from an id; leaves room for a
#: collision suffix and ``.html`` within every file system's 255-byte limit.
MAX_STEM = 60
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+|\s+')
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)
}


def _safe_stem(text: str) -> str:
    """A file-name stem from an id: no separators, ``..``, control characters or
    markup; letters of any script (Cyrillic, Kazakh) kept; at most :data:`MAX_STEM`."""
    stem = unicodedata.normalize("NFC", text)
    stem = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in stem)
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"\.{2,}", "_", stem).strip("._ ")[:MAX_STEM].rstrip("._ ")
    if not stem or stem.lower().split(".")[0] in _WINDOWS_RESERVED:
        stem = f"vehicle_{stem}" if stem else "vehicle"
    return stem


def safe_file_names(ids: Iterable[str]) -> dict[str, str]:
    """Map each id to a distinct safe file-name stem.

    Ids that clean to the same stem (``a/b`` and ``a_b``; names equal but for
    case, for case-insensitive file systems) get a short hash of the id
    appended, so each keeps its own file whatever the order.
    """
    ids = list(dict.fromkeys(ids))
    stems = {i: _safe_stem(i) for i in ids}
    counts: dict[str, int] = defaultdict(int)
    for stem in stems.values():
        counts[stem.lower()] += 1
    out: dict[str, str] = {}
    taken: set[str] = set()
    for i in ids:
        stem = stems[i]
        if counts[stem.lower()] > 1 or stem.lower() in taken:
            digest = hashlib.sha1(i.encode("utf-8")).hexdigest()[:8]
            stem = f"{stem}-{digest}"
        while stem.lower() in taken:  # astronomically unlikely hash clash
            stem += "_"
        taken.add(stem.lower())
        out[i] = stem
    return out


def write_route_sheets(plan: Plan, out_dir: Path) -> dict[str, Path]:
    """One printable HTML sheet per vehicle (all its routes, one page per day).

    Files are ``out_dir/<safe vehicle id>.html`` (see :func:`safe_file_names`);
    returns ``{vehicle_id: path}`` in route order.
    """
    names = _names(plan)
    pts = points_by_key(plan)
    streams = streams_by_id(plan)
    by_vehicle: dict[str, list[Route]] = defaultdict(list)
    for route in sorted_routes(plan):
        by_vehicle[str(route.get("vehicle_id", "?"))].append(route)
    scen = plan.get("scenario") or {}
    title = str(scen.get("title") or scen.get("name") or "Plan")
    files = safe_file_names(by_vehicle)
    paths: dict[str, Path] = {}
    if by_vehicle:
        out_dir.mkdir(parents=True, exist_ok=True)
    for vehicle, routes in by_vehicle.items():
        sections = "".join(_sheet_route_html(plan, r, names, pts, streams) for r in routes)
        vtype = routes[0].get("vehicle_type", "")
        doc = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Route sheet {esc(vehicle)}</title><style>{_SHEET_CSS}</style>"
            f"</head><body><h1>Route sheet · vehicle {esc(vehicle)} ({esc(vtype)})</h1>"
            f"<div class='meta'>{esc(title)} · {len(routes)} route(s): "
            f"{esc(', '.join(route_label(r) for r in routes))}</div>{sections}"
            "</body></html>"
        )
        path = out_dir / f"{files[vehicle]}.html"
        path.write_text(doc, encoding="utf-8")
        paths[vehicle] = path
    return paths
