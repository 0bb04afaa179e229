"""GeoJSON outputs (RFC 7946): ``routes.geojson`` and ``sites.geojson``.

Coordinates are WGS84 ``[lon, lat]``; each file is a ``FeatureCollection``
without a ``crs`` member; polygon rings follow the right-hand rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape

from optimizer.plan_types import MultiPolygonGeometry, Plan, PolygonGeometry

from .common import fmt_hhmm, points_by_key, route_color, route_geometry, sorted_routes, stop_stream

__all__ = [
    "routes_geojson",
    "sites_geojson",
    "write_geojson",
]

_DIGITS = 6  # ~0.1 m; RFC 7946 §11.2 recommends not more


def _pos(lon: Any, lat: Any) -> list[float]:
    return [round(float(lon), _DIGITS), round(float(lat), _DIGITS)]


def _feature(geometry: dict[str, Any], properties: dict[str, Any], fid: str) -> dict[str, Any]:
    return {"type": "Feature", "id": fid, "geometry": geometry, "properties": properties}


def routes_geojson(plan: Plan) -> dict[str, Any]:
    """Route lines (one per vehicle and day) and their stops as points.

    Each stop feature carries the stop's own ``stream`` (collection stops only).
    """
    features: list[dict[str, Any]] = []
    pts = points_by_key(plan)
    for i, route in enumerate(sorted_routes(plan)):
        geom = route_geometry(route)
        coords = [_pos(c[0], c[1]) for c in geom]
        if len(coords) == 1:
            coords.append(list(coords[0]))
        stops = route.get("stops") or []
        common = {
            "route_id": route["id"],
            "vehicle_id": route.get("vehicle_id"),
            "vehicle_type": route.get("vehicle_type"),
            "day": route.get("day"),
        }
        if coords:
            features.append(
                _feature(
                    {"type": "LineString", "coordinates": coords},
                    {
                        "feature": "route",
                        **common,
                        "depot_id": route.get("depot_id"),
                        "distance_km": route.get("distance_km"),
                        "duration_min": route.get("duration_min"),
                        "tonnes": route.get("tonnes"),
                        "cost_kzt": route.get("cost_kzt"),
                        "stops": sum(1 for s in stops if s.get("kind") == "stop"),
                        "color": route_color(i),
                    },
                    f"route-{route['id']}",
                )
            )
        for s in stops:
            features.append(
                _feature(
                    {"type": "Point", "coordinates": _pos(s["lon"], s["lat"])},
                    {
                        "feature": "stop",
                        **common,
                        "seq": s.get("seq"),
                        "kind": s.get("kind"),
                        "ref_id": s.get("ref_id"),
                        "stream": stop_stream(s, pts) if s.get("kind") == "stop" else None,
                        "arrival": fmt_hhmm(s.get("arrival_min")),
                        "departure": fmt_hhmm(s.get("departure_min")),
                        "service_min": s.get("service_min"),
                        "load_after_t": s.get("load_after_t"),
                        "load_after_m3": s.get("load_after_m3"),
                        "distance_km_so_far": s.get("distance_km_so_far"),
                    },
                    f"stop-{route['id']}-{s.get('seq')}",
                )
            )
    return {"type": "FeatureCollection", "features": features}


def _rfc_polygon(geometry: PolygonGeometry | MultiPolygonGeometry) -> dict[str, Any] | None:
    """A Polygon/MultiPolygon with RFC 7946 winding, or ``None`` if invalid."""
    try:
        geom = shape(dict(geometry))
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    if geom.is_empty:
        return None
    geom = shapely.set_precision(geom, 10.0**-_DIGITS)
    if isinstance(geom, shapely.Polygon):
        geom = shapely.geometry.polygon.orient(geom, 1.0)
    elif isinstance(geom, shapely.MultiPolygon):
        geom = shapely.MultiPolygon([shapely.geometry.polygon.orient(p, 1.0) for p in geom.geoms])
    else:
        return None
    out = json.loads(json.dumps(mapping(geom)))
    return {"type": out["type"], "coordinates": out["coordinates"]}


def sites_geojson(plan: Plan) -> dict[str, Any]:
    """Depots and facilities as points, protection zones as polygons."""
    features: list[dict[str, Any]] = []
    for dep in plan.get("depots") or []:
        features.append(
            _feature(
                {"type": "Point", "coordinates": _pos(dep["lon"], dep["lat"])},
                {"feature": "depot", "id": dep["id"], "name": dep.get("name")},
                f"depot-{dep['id']}",
            )
        )
    for fac in plan.get("facilities") or []:
        props = {k: v for k, v in fac.items() if k not in ("lon", "lat", "catchment")}
        props["feature"] = "facility"
        props["accepts"] = ";".join(fac.get("accepts") or [])
        props["catchment_points"] = len(fac.get("catchment") or [])
        features.append(
            _feature(
                {"type": "Point", "coordinates": _pos(fac["lon"], fac["lat"])},
                props,
                f"facility-{fac['id']}",
            )
        )
    for zone in plan.get("zones") or []:
        geom = _rfc_polygon(zone.get("geometry") or {})
        if geom is None:
            continue
        features.append(
            _feature(
                geom,
                {
                    "feature": "zone",
                    "id": zone.get("id"),
                    "kind": zone.get("kind"),
                    "reason": zone.get("reason"),
                },
                f"zone-{zone.get('id')}",
            )
        )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(collection: Mapping[str, Any], path: Path) -> Path:
    """Write a FeatureCollection as UTF-8 JSON (``application/geo+json``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump(collection, fh, ensure_ascii=False, separators=(",", ":"))
    return path
