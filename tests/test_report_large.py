"""A synthetic large plan (thousands of stops): the map stays light and fast."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from optimizer.report import build_map, write_outputs
from optimizer.report.map import count_stops

LON0, LAT0 = 71.30, 51.05  # Astana, south-west corner of the synthetic grid
DLON, DLAT = 0.0024, 0.0015  # ~170 m blocks


def _node(i: int, j: int) -> list[float]:
    return [round(LON0 + i * DLON, 6), round(LAT0 + j * DLAT, 6)]


def _km(a: list[float], b: list[float]) -> float:
    dx = (b[0] - a[0]) * 111.32 * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * 110.57
    return math.hypot(dx, dy)


def synthetic_plan(n_stops: int = 3000, per_route: int = 100, grid: int = 90) -> dict[str, Any]:
    """A schema-v1 plan on a ``grid`` x ``grid`` street grid with ``n_stops`` stops.

    Streets are one polyline per block edge (3 vertices, like OSM ways split at
    junctions); routes run along the grid (Manhattan paths) from one depot, unload
    at the nearest of four facilities when 10 t are on board, and return.
    """
    streets: list[list[list[float]]] = []
    for i in range(grid):
        for j in range(grid):
            if i + 1 < grid:
                a, b = _node(i, j), _node(i + 1, j)
                streets.append([a, [(a[0] + b[0]) / 2, a[1]], b])
            if j + 1 < grid:
                a, b = _node(i, j), _node(i, j + 1)
                streets.append([a, [a[0], (a[1] + b[1]) / 2], b])
    fac_nodes = [(2, 2), (grid - 3, 2), (2, grid - 3), (grid - 3, grid - 3)]
    facilities = [
        {
            "id": f"F{k + 1}",
            "name": f"Facility {k + 1}",
            "type": ["landfill", "sorting", "transfer", "composting"][k],
            "state": ["existing", "proposed", "existing", "excluded"][k],
            "open": k != 3,
            "lon": _node(*ij)[0],
            "lat": _node(*ij)[1],
            "accepts": ["msw"],
            "capacity_t_per_day": 800,
            "used_t_per_day": 0,
            "utilisation": 0,
            "capex_kzt": 0,
            "opex_kzt_per_year": 0,
            "excluded_reason": "inside protection zone" if k == 3 else None,
            "catchment": [],
        }
        for k, ij in enumerate(fac_nodes)
    ]
    depot_ij = (grid // 2, grid // 2)
    depot = {
        "id": "D1",
        "name": "Central depot",
        "lon": _node(*depot_ij)[0],
        "lat": _node(*depot_ij)[1],
    }
    points: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    n_routes = math.ceil(n_stops / per_route)
    band = max(1, grid // n_routes)
    for r in range(n_routes):
        cells = []
        j0 = (r * band) % (grid - 1)
        for k in range(min(per_route, n_stops - r * per_route)):
            row = j0 + (k // (grid - 2)) % max(1, band)
            col = 1 + (k % (grid - 2)) if (k // (grid - 2)) % 2 == 0 else grid - 2 - k % (grid - 2)
            cells.append((col, min(row, grid - 1)))
        geom: list[list[float]] = [_node(*depot_ij)]
        cur = depot_ij
        t, dist, load, seq = 360.0, 0.0, 0.0, 0
        stops = [
            {
                "seq": 0,
                "kind": "depot_start",
                "ref_id": "D1",
                **_ll(depot_ij),
                "arrival_min": 360,
                "departure_min": 360,
                "service_min": 0,
                "load_after_t": 0.0,
                "load_after_m3": 0.0,
                "distance_km_so_far": 0.0,
            }
        ]

        def go(target: tuple[int, int], geom: list[list[float]] = geom) -> None:
            nonlocal cur, t, dist
            i0, j0_ = cur
            i1, j1 = target
            path = [(i, j0_) for i in _rng(i0, i1)] + [(i1, j) for j in _rng(j0_, j1)]
            for ij in path:
                p = _node(*ij)
                d = _km(geom[-1], p)
                dist += d
                t += d / 20 * 60
                if d > 0:
                    geom.append(p)
            cur = target

        facility = min(
            fac_nodes[:3], key=lambda f: abs(f[0] - cells[0][0]) + abs(f[1] - cells[0][1])
        )
        fid = f"F{fac_nodes.index(facility) + 1}"
        for ij in cells:
            go(ij)
            pid = f"P{len(points) + 1:05d}"
            tonnes = 0.08 + (len(points) % 7) * 0.01
            points.append(
                {
                    "id": pid,
                    **_ll(ij),
                    "stream": "msw",
                    "district": f"D{r % 9}",
                    "tonnes_per_day": tonnes,
                    "m3_per_day": tonnes * 5,
                    "visits_per_week": 7,
                    "snap_distance_m": 5.0,
                }
            )
            seq += 1
            load += tonnes
            stops.append(
                {
                    "seq": seq,
                    "kind": "stop",
                    "ref_id": pid,
                    **_ll(ij),
                    "arrival_min": round(t),
                    "departure_min": round(t) + 2,
                    "service_min": 2,
                    "load_after_t": round(load, 3),
                    "load_after_m3": round(load * 5, 2),
                    "distance_km_so_far": round(dist, 3),
                }
            )
            t += 2
            if load >= 10:
                go(facility)
                seq += 1
                stops.append(
                    {
                        "seq": seq,
                        "kind": "unload",
                        "ref_id": fid,
                        **_ll(facility),
                        "arrival_min": round(t),
                        "departure_min": round(t) + 15,
                        "service_min": 15,
                        "load_after_t": 0.0,
                        "load_after_m3": 0.0,
                        "distance_km_so_far": round(dist, 3),
                    }
                )
                t += 15
                load = 0.0
        if load > 0:
            go(facility)
            seq += 1
            stops.append(
                {
                    "seq": seq,
                    "kind": "unload",
                    "ref_id": fid,
                    **_ll(facility),
                    "arrival_min": round(t),
                    "departure_min": round(t) + 15,
                    "service_min": 15,
                    "load_after_t": 0.0,
                    "load_after_m3": 0.0,
                    "distance_km_so_far": round(dist, 3),
                }
            )
            t += 15
        go(depot_ij)
        seq += 1
        stops.append(
            {
                "seq": seq,
                "kind": "depot_end",
                "ref_id": "D1",
                **_ll(depot_ij),
                "arrival_min": round(t),
                "departure_min": round(t),
                "service_min": 0,
                "load_after_t": 0.0,
                "load_after_m3": 0.0,
                "distance_km_so_far": round(dist, 3),
            }
        )
        tonnes_r = sum(p["tonnes_per_day"] for p in points[-len(cells) :])
        routes.append(
            {
                "id": f"R{r + 1}",
                "vehicle_id": f"T{r % 12 + 1}",
                "vehicle_type": "rear_loader",
                "day": r // 12 + 1,
                "depot_id": "D1",
                "distance_km": round(dist, 2),
                "duration_min": round(t - 360),
                "tonnes": round(tonnes_r, 2),
                "cost_kzt": round(dist * 300),
                "stops": stops,
                "geometry": geom,
            }
        )
    kpis = {
        "distance_km": round(sum(r["distance_km"] for r in routes), 1),
        "tonnes": round(sum(r["tonnes"] for r in routes), 1),
        "cost_kzt": sum(r["cost_kzt"] for r in routes),
        "vehicles_used": 12,
        "stops_served": n_stops,
        "unserved_stops": 0,
        "co2e_t": 1.0,
        "recycling_rate": 0.0,
    }
    return {
        "schema_version": 1,
        "scenario": {
            "name": f"synthetic_{n_stops}",
            "title": f"Synthetic {n_stops}-stop plan",
            "source": "embedded",
            "generated_at": "2026-01-01T00:00:00Z",
            "solver": {"time_limit_s": 0, "seed": 0},
        },
        "network": {
            "source": "synthetic grid",
            "nodes": grid * grid,
            "edges": len(streets),
            "bbox": [LON0, LAT0, *_node(grid - 1, grid - 1)],
            "streets": streets,
        },
        "streams": [{"id": "msw", "name": "Mixed household waste", "color": "#6b7280"}],
        "points": points,
        "depots": [depot],
        "facilities": facilities,
        "zones": [
            {
                "id": "Z1",
                "kind": "sanitary_protection",
                "reason": "water intake",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            _node(grid - 8, grid - 8),
                            _node(grid - 1, grid - 8),
                            _node(grid - 1, grid - 1),
                            _node(grid - 8, grid - 1),
                            _node(grid - 8, grid - 8),
                        ]
                    ],
                },
            }
        ],
        "routes": routes,
        "unserved": [],
        "kpis": kpis,
        "assumptions": [],
        "warnings": [],
    }


def _ll(ij: tuple[int, int]) -> dict[str, float]:
    lon, lat = _node(*ij)
    return {"lon": lon, "lat": lat}


def _rng(a: int, b: int) -> list[int]:
    step = 1 if b >= a else -1
    return list(range(a + step, b + step, step))


@pytest.fixture(scope="module")
def big_plan() -> dict[str, Any]:
    return synthetic_plan(3000)


def test_synthetic_plan_shape(big_plan: dict[str, Any]) -> None:
    assert count_stops(big_plan) == 3000
    assert len(big_plan["routes"]) == 30


def test_large_map_is_light(big_plan: dict[str, Any], tmp_path: Path) -> None:
    t0 = time.perf_counter()
    html = build_map(big_plan).get_root().render()
    seconds = time.perf_counter() - t0
    assert '"preferCanvas": true' in html
    assert '"className": "stop-icon"' not in html  # no per-stop DivIcons
    assert html.count('"className": "route-line"') == len(big_plan["routes"])
    assert len(html.encode()) < 8_000_000
    assert seconds < 30


def test_large_outputs_written(big_plan: dict[str, Any], tmp_path: Path) -> None:
    paths = write_outputs(big_plan, tmp_path)
    assert (tmp_path / "report.html").stat().st_size < 3_000_000
    assert len([p for p in paths if p.parent.name == "sheets"]) == 12
