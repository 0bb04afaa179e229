"""A realistic-size plan on Astana's real street network (../shared/data/osm/astana).

The routes are synthetic (random walks along the real streets, ~100 stops each,
unload at the nearest open facility when nearly full) because the solvers live
in other modules; what is measured here is the report package on real street
geometry: build time, file sizes, and a browser load with the network cut off.
``OPTIMIZER_SCREENSHOTS=DIR`` also saves ``map_astana.png`` / ``report_astana.png``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from optimizer.report import write_outputs
from optimizer.report.map import count_stops

CENTRE = (71.43, 51.13)
SPEED_KMH = 20.0


def _km(a: np.ndarray, b: np.ndarray) -> float:
    dx = (b[0] - a[0]) * 111.32 * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * 110.57
    return math.hypot(dx, dy)


class _Graph:
    """Street graph from noded centrelines (largest connected component)."""

    def __init__(self, lines: list[list[list[float]]]) -> None:
        noded = shapely.node(shapely.MultiLineString(lines))
        coords: dict[tuple[float, float], int] = {}
        rows: list[int] = []
        cols: list[int] = []
        wts: list[float] = []
        for seg in noded.geoms:
            pts = np.round(shapely.get_coordinates(seg), 6)
            ids = [coords.setdefault((float(x), float(y)), len(coords)) for x, y in pts]
            for (a, b), pa, pb in zip(itertools.pairwise(ids), pts, pts[1:], strict=False):
                if a != b:
                    d = max(_km(pa, pb), 1e-4)
                    rows += [a, b]
                    cols += [b, a]
                    wts += [d, d]
        xy = np.array(list(coords), dtype=float)
        full = csr_matrix((wts, (rows, cols)), shape=(len(xy), len(xy)))
        _, labels = connected_components(full, directed=False)
        keep = np.flatnonzero(labels == np.bincount(labels).argmax())
        self.xy = xy[keep]
        self.adj = full[keep][:, keep].tocsr()

    def nearest(self, lon: float, lat: float) -> int:
        d = (self.xy[:, 0] - lon) ** 2 * math.cos(math.radians(lat)) ** 2 + (
            self.xy[:, 1] - lat
        ) ** 2
        return int(d.argmin())

    def tree(self, source: int) -> tuple[np.ndarray, np.ndarray]:
        dist, pred = dijkstra(self.adj, indices=source, return_predecessors=True)
        return dist, pred

    @staticmethod
    def path_from(pred: np.ndarray, source: int, target: int) -> list[int]:
        """Nodes source→target using the predecessor tree rooted at source."""
        out = [target]
        while out[-1] != source:
            out.append(int(pred[out[-1]]))
        return out[::-1]


def astana_plan(
    streets_geojson: Path,
    districts_geojson: Path | None = None,
    n_routes: int = 30,
    stops_per_route: int = 100,
    seed: int = 7,
) -> dict[str, Any]:
    """Build a schema-v1 plan over Astana's streets (synthetic routes, real geometry)."""
    rng = np.random.default_rng(seed)
    feats = json.loads(streets_geojson.read_text(encoding="utf-8"))["features"]
    lines = [f["geometry"]["coordinates"] for f in feats if f["geometry"]["type"] == "LineString"]
    g = _Graph(lines)
    districts: list[tuple[str, Any]] = []
    if districts_geojson and districts_geojson.exists():
        for f in json.loads(districts_geojson.read_text(encoding="utf-8"))["features"]:
            districts.append(
                (str(f["properties"].get("name_object")), shapely.geometry.shape(f["geometry"]))
            )

    def district(lon: float, lat: float) -> str:
        p = shapely.Point(lon, lat)
        return next((n for n, poly in districts if poly.contains(p)), "")

    def ll(i: int) -> dict[str, float]:
        return {"lon": round(float(g.xy[i, 0]), 6), "lat": round(float(g.xy[i, 1]), 6)}

    depot_n = g.nearest(71.46, 51.15)
    fac_spec = [
        ("F1", "Landfill south-west (illustrative)", "landfill", "existing", (71.36, 51.08)),
        ("F2", "Sorting station east (proposed)", "sorting", "proposed", (71.52, 51.14)),
        ("F3", "Transfer station north", "transfer", "excluded", (71.42, 51.20)),
    ]
    fac_nodes = {fid: g.nearest(*xy) for fid, *_, xy in fac_spec}
    open_ids = ["F1", "F2"]
    trees = {fid: g.tree(fac_nodes[fid]) for fid in open_ids}
    _dep_dist, dep_pred = g.tree(depot_n)
    near = np.flatnonzero(np.hypot((g.xy[:, 0] - CENTRE[0]) * 0.63, g.xy[:, 1] - CENTRE[1]) < 0.06)
    points: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    catchment: dict[str, list[str]] = {f: [] for f in open_ids}
    used: dict[str, float] = dict.fromkeys(open_ids, 0.0)
    indptr, indices = g.adj.indptr, g.adj.indices
    for r in range(n_routes):
        start = int(rng.choice(near))
        fid = min(open_ids, key=lambda f: trees[f][0][start])
        f_node = fac_nodes[fid]
        f_pred = trees[fid][1]
        nodes = g.path_from(dep_pred, depot_n, start)
        events: list[tuple[int, str, str]] = [(depot_n, "depot_start", "D1")]
        cur, visited, walked, load = start, {start}, 0.0, 0.0
        n_stops = 0
        while n_stops < stops_per_route:
            nbrs = indices[indptr[cur] : indptr[cur + 1]]
            fresh = [int(n) for n in nbrs if int(n) not in visited]
            nxt = int(rng.choice(fresh)) if fresh else int(rng.choice(nbrs))
            walked += _km(g.xy[cur], g.xy[nxt])
            nodes.append(nxt)
            visited.add(nxt)
            cur = nxt
            if walked >= 0.12:
                walked = 0.0
                n_stops += 1
                pid = f"P{len(points) + 1:05d}"
                t = float(rng.uniform(0.05, 0.16))
                stream = "rec" if rng.random() < 0.2 else "msw"
                points.append(
                    {
                        "id": pid,
                        **ll(cur),
                        "stream": stream,
                        "district": district(*g.xy[cur]),
                        "tonnes_per_day": round(t, 3),
                        "m3_per_day": round(t * 5, 2),
                        "visits_per_week": 7,
                        "snap_distance_m": round(float(rng.uniform(1, 25)), 1),
                    }
                )
                catchment[fid].append(pid)
                events.append((len(nodes) - 1, "stop", pid))
                load += t
                if load > 7.5 and n_stops < stops_per_route:  # unload mid-shift, come back
                    there = g.path_from(f_pred, f_node, cur)[::-1]
                    nodes += there[1:]
                    events.append((len(nodes) - 1, "unload", fid))
                    nodes += there[::-1][1:]
                    used[fid] += load
                    load = 0.0
        nodes += g.path_from(f_pred, f_node, cur)[::-1][1:]
        events.append((len(nodes) - 1, "unload", fid))
        used[fid] += load
        nodes += g.path_from(dep_pred, depot_n, f_node)[::-1][1:]
        events.append((len(nodes) - 1, "depot_end", "D1"))
        # distances along the path, then times and loads per event
        cum = [0.0]
        for a, b in itertools.pairwise(nodes):
            cum.append(cum[-1] + _km(g.xy[a], g.xy[b]))
        stops: list[dict[str, Any]] = []
        clock, load, last_km, tonnes = 420.0, 0.0, 0.0, 0.0
        pts_by_id = {p["id"]: p for p in points[-n_stops:]}
        for seq, (pos, kind, ref) in enumerate(events):
            km = cum[pos] if kind != "depot_start" else 0.0
            clock += (km - last_km) / SPEED_KMH * 60
            last_km = km
            service = {"stop": 2, "unload": 15}.get(kind, 0)
            if kind == "stop":
                load += pts_by_id[ref]["tonnes_per_day"]
                tonnes += pts_by_id[ref]["tonnes_per_day"]
            elif kind == "unload":
                load = 0.0
            node = nodes[pos] if kind != "depot_start" else depot_n
            stops.append(
                {
                    "seq": seq,
                    "kind": kind,
                    "ref_id": ref,
                    **ll(node),
                    "arrival_min": round(clock),
                    "departure_min": round(clock) + service,
                    "service_min": service,
                    "load_after_t": round(load, 3),
                    "load_after_m3": round(load * 5, 2),
                    "distance_km_so_far": round(km, 3),
                }
            )
            clock += service
        geom = [[round(float(g.xy[n, 0]), 6), round(float(g.xy[n, 1]), 6)] for n in nodes]
        routes.append(
            {
                "id": f"R{r + 1}",
                "vehicle_id": f"T{r % 15 + 1}",
                "vehicle_type": "rear_loader" if r % 3 else "side_loader",
                "day": r // 15 + 1,
                "depot_id": "D1",
                "distance_km": round(cum[-1], 2),
                "duration_min": round(clock - 420),
                "tonnes": round(tonnes, 2),
                "cost_kzt": round(cum[-1] * 320 + (clock - 420) / 60 * 4000),
                "stops": stops,
                "geometry": geom,
            }
        )
    facilities = []
    for fid, name, ftype, state, _ in fac_spec:
        is_open = fid in open_ids
        cap = {"F1": 1500.0, "F2": 120.0, "F3": 300.0}[fid]
        facilities.append(
            {
                "id": fid,
                "name": name,
                "type": ftype,
                "state": state,
                "open": is_open,
                **ll(fac_nodes[fid]),
                "accepts": ["msw", "rec"],
                "capacity_t_per_day": cap,
                "used_t_per_day": round(used.get(fid, 0.0), 1),
                "utilisation": round(used.get(fid, 0.0) / cap, 4),
                "capex_kzt": {"F2": 1_200_000_000, "F3": 600_000_000}.get(fid, 0),
                "opex_kzt_per_year": {"F1": 250_000_000, "F2": 140_000_000}.get(fid, 0),
                "excluded_reason": "inside sanitary protection zone Z1" if not is_open else None,
                "catchment": catchment.get(fid, []),
            }
        )
    f3 = g.xy[fac_nodes["F3"]]
    zone = shapely.Point(float(f3[0]), float(f3[1])).buffer(0.012, quad_segs=8)
    dist_km = sum(r["distance_km"] for r in routes)
    tonnes_all = sum(r["tonnes"] for r in routes)
    fuel = dist_km * 0.42
    rec = sum(p["tonnes_per_day"] for p in points if p["stream"] == "rec")
    return {
        "schema_version": 1,
        "scenario": {
            "name": "astana_streets_synthetic",
            "title": "Astana — real streets, synthetic collection routes",
            "source": str(streets_geojson.name),
            "generated_at": "2026-11-27T00:00:00Z",
            "solver": {"time_limit_s": 0, "seed": seed},
        },
        "network": {
            "source": "OpenStreetMap via AstanaSafe (ODbL)",
            "nodes": len(g.xy),
            "edges": int(g.adj.nnz // 2),
            "bbox": [
                float(g.xy[:, 0].min()),
                float(g.xy[:, 1].min()),
                float(g.xy[:, 0].max()),
                float(g.xy[:, 1].max()),
            ],
            "streets": lines,
        },
        "streams": [
            {"id": "msw", "name": "Mixed household waste", "color": "#6b7280"},
            {"id": "rec", "name": "Dry recyclables", "color": "#2563eb"},
        ],
        "points": points,
        "depots": [{"id": "D1", "name": "Depot Yesil", **ll(depot_n)}],
        "facilities": facilities,
        "zones": [
            {
                "id": "Z1",
                "kind": "sanitary_protection",
                "reason": "illustrative 1 km protection zone",
                "geometry": shapely.geometry.mapping(zone),
            }
        ],
        "routes": routes,
        "unserved": [],
        "kpis": {
            "distance_km": round(dist_km, 1),
            "driving_h": round(dist_km / SPEED_KMH, 1),
            "working_h": round(sum(r["duration_min"] for r in routes) / 60, 1),
            "tonnes": round(tonnes_all, 1),
            "tonne_km": round(tonnes_all * dist_km / 60, 1),
            "fuel_l": round(fuel, 0),
            "co2e_t": round(fuel * 2.68 / 1000, 2),
            "cost_kzt": sum(r["cost_kzt"] for r in routes),
            "vehicles_used": 15,
            "stops_served": len(points),
            "unserved_stops": 0,
            "recycling_rate": round(rec / tonnes_all, 3),
            "sites_cost_kzt_per_year": 390_000_000,
        },
        "assumptions": [
            "Routes are random walks along real streets (report test data)",
            f"Average speed {SPEED_KMH:.0f} km/h; 2 min per stop, 15 min per unload",
        ],
        "warnings": ["Synthetic routes: not a solver result"],
    }


@pytest.fixture(scope="module")
def astana_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = shared_data / "osm" / "astana"
    streets = base / "astana_streets.geojson"
    if not streets.exists():
        pytest.skip(f"{streets} missing")
    plan = astana_plan(streets, base / "astana_districts.geojson")
    out = tmp_path_factory.mktemp("astana")
    t0 = time.perf_counter()
    write_outputs(plan, out)
    (out / "write_seconds.txt").write_text(f"{time.perf_counter() - t0:.2f}")
    return out


def test_astana_outputs_sizes(astana_dir: Path) -> None:
    plan = json.loads((astana_dir / "plan.json").read_text(encoding="utf-8"))
    assert count_stops(plan) == 3000
    seconds = float((astana_dir / "write_seconds.txt").read_text())
    assert seconds < 30
    assert (astana_dir / "map.html").stat().st_size < 6_000_000
    assert (astana_dir / "report.html").stat().st_size < 2_000_000


@pytest.mark.browser
def test_astana_map_in_browser(astana_dir: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    chromium = os.environ.get("OPTIMIZER_CHROMIUM") or shutil.which("chromium") or ""
    if not chromium or not Path(chromium).exists():
        pytest.skip("chromium not found (apt-get install chromium)")
    from test_report_browser import _COUNT_JS, ARGS, _open

    plan = json.loads((astana_dir / "plan.json").read_text(encoding="utf-8"))
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        t0 = time.perf_counter()
        page, attempts, errors = _open(browser, astana_dir / "map.html")
        load_s = time.perf_counter() - t0
        assert attempts == [] and errors == []
        n = page.evaluate(_COUNT_JS)
        # A two-day plan opens on day 1; day 2 waits in the layer list.
        day1 = [r for r in plan["routes"] if r["day"] == 1]
        assert 0 < len(day1) < len(plan["routes"])
        assert n["routes"] == len(day1)
        assert n["stopCircles"] == sum(1 for r in day1 for s in r["stops"] if s["kind"] == "stop")
        assert load_s < 20
        shots = os.environ.get("OPTIMIZER_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / "map_astana.png"))
            rep, _, _ = _open(browser, astana_dir / "report.html", 1280, 900)
            rep.screenshot(path=str(Path(shots) / "report_astana.png"), full_page=True)
        browser.close()
