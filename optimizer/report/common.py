"""Small helpers shared by the report modules: formats, colours, lookups."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optimizer.plan_types import (
    LonLat,
    MultiPolygonGeometry,
    Plan,
    Point,
    PolygonGeometry,
    Route,
    Stop,
    Stream,
)

__all__ = [
    "FACILITY_LETTER",
    "FACILITY_TYPE_COLOR",
    "ROUTE_PALETTE",
    "PointIndex",
    "esc",
    "find_point",
    "fmt_hhmm",
    "fmt_int",
    "fmt_money",
    "fmt_num",
    "natural_key",
    "points_by_id",
    "points_by_key",
    "route_color",
    "route_geometry",
    "route_label",
    "shift_times",
    "sorted_routes",
    "stop_stream",
    "streams_by_id",
    "zone_polygons",
]

#: Collection points keyed by ``(point id, stream id)``: one physical site has
#: one record per stream collected there, all sharing the point id.
PointIndex = dict[tuple[str, str], Point]

# Distinct, colour-blind-friendly-ish hues; red is kept for protection zones and
# grey for streets, so neither appears here.
ROUTE_PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#17becf",
    "#e377c2",
    "#8c564b",
    "#bcbd22",
    "#0b3d91",
    "#f4a300",
    "#00897b",
    "#6a1b9a",
    "#c2185b",
    "#5d4037",
    "#33691e",
    "#01579b",
)

FACILITY_TYPE_COLOR: dict[str, str] = {
    "landfill": "#7c2d12",
    "sorting": "#0e7490",
    "transfer": "#6d28d9",
    "composting": "#4d7c0f",
    "treatment": "#be123c",
}
FACILITY_LETTER: dict[str, str] = {
    "landfill": "L",
    "sorting": "S",
    "transfer": "T",
    "composting": "C",
    "treatment": "M",
}


_JS_SAFE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def esc(value: Any) -> str:
    """HTML-escape any value (``None`` becomes an empty string).

    Backticks, ``$`` and backslashes become character references too, so the
    text is also safe inside the JavaScript template literals folium writes
    tooltips and popups into; the rendered HTML reads the same.
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_JS_SAFE)


def fmt_hhmm(minutes: float | None) -> str:
    """Minutes from midnight as ``hh:mm`` (hours may pass 24 on long shifts)."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return ""
    total = round(float(minutes))
    return f"{total // 60:02d}:{total % 60:02d}"


def fmt_num(value: Any, digits: int = 1) -> str:
    """A number with thin thousands grouping, or an em dash when missing."""
    if value is None:
        return "—"
    try:
        num = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(num):
        return "—"
    return f"{num:,.{digits}f}".replace(",", " ")


def fmt_int(value: Any) -> str:
    """A whole number with thousands grouping, or an em dash when missing."""
    return fmt_num(value, 0)


def fmt_money(value: Any) -> str:
    """Compact money: ``21 549``, ``215.0 M``, ``1.20 bn`` (em dash when missing)."""
    if value is None:
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(v):
        return "—"
    if abs(v) >= 1e9:
        return f"{v / 1e9:.2f} bn"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f} M"
    return fmt_int(v)


def sorted_routes(plan: Plan) -> list[Route]:
    """The plan's routes ordered by day, vehicle and id (stable colour order)."""
    routes: Sequence[Route] = plan.get("routes") or []
    return sorted(
        routes,
        key=lambda r: (
            r.get("day", 0),
            natural_key(r.get("vehicle_id", "")),
            natural_key(r["id"]),
        ),
    )


def natural_key(value: Any) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``T2`` before ``T10``."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def route_color(index: int) -> str:
    """Colour of the ``index``-th route in :func:`sorted_routes` order."""
    return ROUTE_PALETTE[index % len(ROUTE_PALETTE)]


def route_label(route: Route) -> str:
    """Short human label: ``T1 · day 1 · R1``."""
    return f"{route.get('vehicle_id', '?')} · day {route.get('day', '?')} · {route['id']}"


def points_by_id(plan: Plan) -> dict[str, Point]:
    """Collection points keyed by id."""
    return {str(p["id"]): p for p in plan.get("points") or []}


def streams_by_id(plan: Plan) -> dict[str, Stream]:
    """Waste streams keyed by id."""
    return {str(s["id"]): s for s in plan.get("streams") or []}


def iter_lonlat(plan: Plan) -> Iterable[tuple[float, float]]:
    """Every coordinate that must be visible when the map opens."""
    located: list[Mapping[str, Any]] = [
        *(plan.get("points") or []),
        *(plan.get("depots") or []),
        *(plan.get("facilities") or []),
    ]
    for item in located:
        if item.get("lon") is not None and item.get("lat") is not None:
            yield float(item["lon"]), float(item["lat"])
    for route in plan.get("routes") or []:
        for lon, lat in route_geometry(route):
            yield float(lon), float(lat)
        for stop in route.get("stops") or []:
            yield float(stop["lon"]), float(stop["lat"])


def data_bounds(plan: Plan) -> tuple[float, float, float, float] | None:
    """``(min_lon, min_lat, max_lon, max_lat)`` of the plan's data, or the network
    bbox when the plan has no located objects, or ``None``."""
    lons: list[float] = []
    lats: list[float] = []
    for lon, lat in iter_lonlat(plan):
        lons.append(lon)
        lats.append(lat)
    if lons:
        return min(lons), min(lats), max(lons), max(lats)
    network = plan.get("network")
    bbox = network.get("bbox") if network else None
    if bbox and len(bbox) == 4:
        return float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])
    return None


def simplify_lines(
    lines: Sequence[Sequence[Sequence[float]]], tolerance: float
) -> list[list[list[float]]]:
    """Douglas–Peucker simplification of many lon/lat lines (tolerance in degrees).

    Lines with fewer than two vertices are dropped; ``tolerance <= 0`` only
    copies the coordinates.
    """
    import numpy as np
    import shapely

    valid = [ln for ln in lines if len(ln) >= 2]
    if tolerance <= 0 or not valid:
        return [[[float(c[0]), float(c[1])] for c in ln] for ln in valid]
    arrays = [np.asarray(ln, dtype=float)[:, :2] for ln in valid]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.intp, count=len(arrays))
    coords = np.concatenate(arrays)
    index = np.repeat(np.arange(len(arrays)), lengths)
    geoms = shapely.linestrings(coords, indices=index)
    simple = np.asarray(shapely.simplify(geoms, tolerance, preserve_topology=False))
    return [shapely.get_coordinates(g).tolist() for g in simple.tolist()]


def zone_polygons(
    geometry: PolygonGeometry | MultiPolygonGeometry | None,
) -> list[list[list[LonLat]]]:
    """The polygons (lists of lon/lat rings) of a zone's Polygon or MultiPolygon."""
    if not geometry:
        return []
    kind = geometry.get("type")
    coords: Any = geometry.get("coordinates") or []  # depth depends on the kind
    if kind == "Polygon":
        return [list(coords)]
    if kind == "MultiPolygon":
        return list(coords)
    return []


def route_geometry(route: Route) -> list[list[float]]:
    """The route's street geometry as ``[[lon, lat], ...]``; the straight stop
    sequence when the plan has none."""
    geom = route.get("geometry")
    if geom is not None and len(geom) > 0:
        return [[float(c[0]), float(c[1])] for c in geom]
    return [[float(s["lon"]), float(s["lat"])] for s in route.get("stops") or []]


def points_by_key(plan: Plan) -> PointIndex:
    """Collection points keyed by ``(point id, stream id)``.

    Several streams share one point id (a container site with a green and a
    yellow bin), so the id alone does not identify a record.
    """
    return {(str(p["id"]), str(p.get("stream") or "")): p for p in plan.get("points") or []}


def find_point(points: PointIndex, ref: Any, stream: Any = None) -> Point | None:
    """The collection-point record of a stop or unserved item.

    Looked up by ``(point id, stream)``.  Without a stream the record is returned
    only when the id has exactly one (guessing would mislabel another stream's stop).
    """
    pid = str(ref if ref is not None else "")
    sid = str(stream or "")
    if sid:
        return points.get((pid, sid))
    matches = [p for (i, _), p in points.items() if i == pid]
    return matches[0] if len(matches) == 1 else None


def stop_stream(stop: Stop, points: PointIndex | None = None) -> str:
    """Stream id of a route stop: its own ``stream``, else its point's only stream.

    Plans from disk reach the writers through :func:`optimizer.plan_types.load_plan`,
    which reads the stream of older plans out of their ``ref_id``.
    """
    own = stop.get("stream")
    if own:
        return str(own)
    point = find_point(points or {}, stop.get("ref_id"))
    return str(point.get("stream") or "") if point else ""


def shift_times(route: Route) -> tuple[float | None, float | None]:
    """``(start, end)`` minutes of a truck's day: leaving the depot, back at it.

    Taken from the ``depot_start`` / ``depot_end`` stops (first and last stop by
    ``seq`` when a plan lacks those kinds).
    """
    stops = sorted(route.get("stops") or [], key=lambda s: s.get("seq", 0))
    if not stops:
        return None, None
    start = next((s for s in stops if s.get("kind") == "depot_start"), stops[0])
    end = next((s for s in reversed(stops) if s.get("kind") == "depot_end"), stops[-1])
    return start.get("departure_min"), end.get("arrival_min")
