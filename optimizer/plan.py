"""The pipeline: scenario → network → demand → sites → routes → plan folder.

Each stage is a function from plain data to plain data; this module only wires
them together, builds the problem objects from a scenario, and assembles the plan
dictionary (``plan.json`` schema, docs/architecture.md). Writing is atomic: a plan
folder appears complete or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from optimizer.errors import InputError, VerificationError
from optimizer.scenario import Scenario, load_scenario, parse_hhmm, parse_window

log = logging.getLogger("optimizer")

SCHEMA_VERSION = 1
Stage = Literal["plan", "sites", "routes"]

#: Diesel combustion, DEFRA 2024 (../shared/DOMAIN.md §10): kg CO2e per litre.
CO2E_KG_PER_L_DIESEL = 2.66


def demo_scenario_path() -> Path:
    """The scenario file embedded in the package for ``optimizer demo``."""
    return Path(str(resources.files("optimizer") / "data" / "demo" / "scenario.toml"))


# ---------------------------------------------------------------------------------
# Stage 1: network, demand, snapping, matrix


@dataclass(frozen=True)
class Prepared:
    """Everything upstream of the models, shared by the site and route stages."""

    scenario: Scenario
    network: Any  # optimizer.network.RoadNetwork
    demand: pd.DataFrame  # one row per point and stream, annual average (sizes sites)
    day_demand: pd.DataFrame  # the same rows for the season of the plan day (routes)
    snapped: Any  # optimizer.network.SnappedPoints over locations
    matrix: Any  # optimizer.network.TravelMatrix over locations
    location_index: dict[str, int]  # location id -> matrix index


def load_road_network(scenario: Scenario, override: Path | None = None) -> Any:
    """The road network a scenario names, or the override given on the command line."""
    from optimizer import network as nw

    spec = scenario.network
    if override is not None:
        return nw.load_network(override)
    if spec.demo:
        return nw.demo_network()
    if spec.file is not None:
        path = scenario.resolve(spec.file)
        if not path.exists():
            raise InputError.one(
                scenario.source_file,
                "[network].file",
                f"road network file not found ({path})",
                "point it at a street file (path relative to the scenario) or pass --network FILE",
            )
        return nw.load_network(path)
    if spec.place is not None:
        return nw.network_from_place(spec.place)
    assert spec.bbox is not None  # exactly one source, checked by load_scenario
    return nw.network_from_bbox(spec.bbox)


def _location_tables(
    scenario: Scenario, demand: pd.DataFrame
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Ids and coordinates of every place a truck may stop: points, depots, facilities."""
    points = demand.drop_duplicates("point_id")
    ids = [f"pt:{p}" for p in points["point_id"]]
    lon = list(points["lon"].astype(float))
    lat = list(points["lat"].astype(float))
    for depot in scenario.depots:
        ids.append(f"depot:{depot.id}")
        lon.append(depot.lon)
        lat.append(depot.lat)
    for fac in scenario.facilities:
        ids.append(f"fac:{fac.id}")
        lon.append(fac.lon)
        lat.append(fac.lat)
    return ids, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def prepare(
    scenario: Scenario,
    *,
    network_override: Path | None = None,
    cache_dir: Path | None = None,
) -> Prepared:
    """Load the network, estimate demand, snap every location and compute the matrix."""
    from optimizer import network as nw
    from optimizer.demand import estimate_demand

    t0 = time.perf_counter()
    net = load_road_network(scenario, network_override)
    log.info(
        "network %s: %d nodes, %d edges (%.1f s)",
        net.name,
        len(net.node_lon),
        len(net.edge_u),
        time.perf_counter() - t0,
    )
    demand = estimate_demand(scenario, network=net, season="annual")
    day = estimate_demand(scenario, network=net, season=scenario.solver.plan_season)
    day = day.set_index(["point_id", "stream"]).reindex(
        pd.MultiIndex.from_frame(demand[["point_id", "stream"]])
    )
    if day["tonnes_per_day"].isna().any():  # pragma: no cover - same seed, same points
        raise RuntimeError("seasonal demand does not cover the annual collection points")
    if demand.empty:
        raise InputError.one(
            scenario.source_file,
            "points / districts",
            "no waste to collect",
            "add points or districts",
        )
    ids, lon, lat = _location_tables(scenario, demand)
    label = scenario.files.get("points", scenario.source_file)
    snapped = nw.snap_points(net, ids, lon, lat, max_snap_m=scenario.network.max_snap_m, file=label)
    t1 = time.perf_counter()
    matrix = nw.travel_matrix(net, snapped, cache_dir=cache_dir)
    log.info("travel matrix %d x %d (%.1f s)", len(ids), len(ids), time.perf_counter() - t1)
    return Prepared(
        scenario=scenario,
        network=net,
        demand=demand.reset_index(drop=True),
        day_demand=day.reset_index(),
        snapped=snapped,
        matrix=matrix,
        location_index={loc: i for i, loc in enumerate(ids)},
    )


# ---------------------------------------------------------------------------------
# Stage 2: sites


def _allowed(scenario: Scenario, stream_id: str, fac_index: int) -> bool:
    fac = scenario.facilities[fac_index]
    stream = scenario.stream(stream_id)
    return stream_id in fac.accepts and fac.type in stream.accepted_by


def facility_problem(prep: Prepared) -> Any:
    """The location model of a scenario: point-stream rows × facilities, cost per day.

    Serving one tonne of a point from a facility costs the road distance to it times
    the transport rate plus the gate fee; opening a facility costs its yearly fixed
    cost spread over 365 days.
    """
    from optimizer.location import FacilityProblem

    sc = prep.scenario
    rate = sc.solver.transport_cost_kzt_per_t_km
    fac_idx = [prep.location_index[f"fac:{f.id}"] for f in sc.facilities]
    pt_idx = [prep.location_index[f"pt:{p}"] for p in prep.demand["point_id"]]
    dist_km = prep.matrix.distance_m[np.ix_(pt_idx, fac_idx)] / 1000.0
    gate = np.array([f.gate_fee_kzt_per_t for f in sc.facilities])
    cost = dist_km * rate + gate[None, :]
    for i, stream in enumerate(prep.demand["stream"]):
        for j in range(len(sc.facilities)):
            if not _allowed(sc, str(stream), j):
                cost[i, j] = np.inf
    return FacilityProblem(
        client_ids=tuple(
            f"{p}|{s}" for p, s in zip(prep.demand["point_id"], prep.demand["stream"], strict=True)
        ),
        facility_ids=tuple(f.id for f in sc.facilities),
        demand=prep.demand["tonnes_per_day"].to_numpy(dtype=float),
        cost=cost,
        fixed_cost=np.array([f.fixed_cost_kzt_per_year / 365.0 for f in sc.facilities]),
        capacity=np.array([f.capacity_t_per_day for f in sc.facilities]),
        must_open=np.array([f.state == "existing" and f.must_stay_open for f in sc.facilities]),
        may_open=np.ones(len(sc.facilities), dtype=bool),
        p=sc.solver.p,
        single_source=True,
    )


def solve_sites(prep: Prepared, *, time_limit_s: float, seed: int) -> tuple[Any, Any]:
    """Choose which facilities to open; verified independently before it is returned."""
    from optimizer.location import check_sites, solve_facility

    problem = facility_problem(prep)
    model = "p-median" if prep.scenario.solver.location_model == "p-median" else "cflp"
    decision = solve_facility(problem, model=model, time_limit_s=time_limit_s)
    issues = check_sites(problem, decision)
    if issues:
        raise VerificationError("site plan failed the independent check: " + "; ".join(issues[:10]))
    return problem, decision


# ---------------------------------------------------------------------------------
# Stage 3: routes


def routing_problem(prep: Prepared, open_facility_ids: set[str]) -> tuple[Any, list[str]]:
    """The collection VRP of a scenario's day: depots, every stop due, open facilities."""
    from optimizer.routing import RoutingProblem, Vehicle

    sc = prep.scenario
    node_loc: list[str] = []
    node_ids: list[str] = []
    kinds: list[str] = []
    demand_kg: list[int] = []
    demand_l: list[int] = []
    service: list[int] = []
    windows: list[tuple[int, int]] = []
    streams: list[str | None] = []
    day = (0, 24 * 3600)
    for depot in sc.depots:
        node_loc.append(f"depot:{depot.id}")
        node_ids.append(depot.id)
        kinds.append("depot")
        demand_kg.append(0)
        demand_l.append(0)
        service.append(0)
        windows.append(day)
        streams.append(None)
    stop_service = sc.solver.stop_service_min
    point_windows = {p.id: p.time_window for p in sc.points if p.time_window}
    point_service = {p.id: p.service_min for p in sc.points if p.service_min is not None}
    for row in prep.day_demand.itertuples(index=False):
        per_visit = 7.0 / max(float(row.visits_per_week), 1e-9)
        node_loc.append(f"pt:{row.point_id}")
        node_ids.append(f"{row.point_id}|{row.stream}")
        kinds.append("stop")
        demand_kg.append(round(float(row.tonnes_per_day) * per_visit * 1000))
        demand_l.append(round(float(row.m3_per_day) * per_visit * 1000))
        service.append(round(60 * point_service.get(str(row.point_id), stop_service)))
        tw = point_windows.get(str(row.point_id))
        windows.append(tuple(60 * x for x in parse_window(tw)) if tw else day)  # type: ignore[misc]
        streams.append(str(row.stream))
    facility_streams: dict[int, frozenset[str]] = {}
    for j, fac in enumerate(sc.facilities):
        if fac.id not in open_facility_ids:
            continue
        accepted = frozenset(s.id for s in sc.streams if _allowed(sc, s.id, j))
        if not accepted:
            continue
        facility_streams[len(node_ids)] = accepted
        node_loc.append(f"fac:{fac.id}")
        node_ids.append(fac.id)
        kinds.append("facility")
        demand_kg.append(0)
        demand_l.append(0)
        service.append(round(60 * fac.unload_min))
        windows.append(tuple(60 * x for x in parse_window(fac.opening_hours)))  # type: ignore[arg-type]
        streams.append(None)
    depot_node = {d.id: i for i, d in enumerate(sc.depots)}
    vehicles = []
    for vt in sc.fleet:
        start_s = parse_hhmm(vt.shift_start) * 60
        brk = tuple(60 * x for x in parse_window(vt.break_window)) if vt.break_window else None
        for k in range(vt.count):
            vehicles.append(
                Vehicle(
                    id=f"{vt.id}-{k + 1}",
                    start=depot_node[vt.depot],
                    end=depot_node[vt.depot],
                    capacity_kg=round(vt.capacity_t * 1000),
                    capacity_l=round(vt.capacity_m3 * vt.compaction_ratio * 1000),
                    fixed_cost=round(vt.cost_per_day_kzt),
                    cost_per_km=vt.cost_per_km_kzt,
                    cost_per_h=vt.cost_per_hour_kzt,
                    shift_s=round(vt.shift_min * 60),
                    speed_factor=vt.speed_factor,
                    streams=frozenset(vt.streams) if vt.streams is not None else None,
                    break_window=brk,  # type: ignore[arg-type]
                    break_s=round(vt.break_min * 60),
                    available_from_s=start_s,
                )
            )
    idx = [prep.location_index[loc] for loc in node_loc]
    problem = RoutingProblem(
        node_ids=tuple(node_ids),
        kind=tuple(kinds),
        distance_m=prep.matrix.distance_m[np.ix_(idx, idx)],
        time_s=prep.matrix.time_s[np.ix_(idx, idx)],
        demand_kg=np.array(demand_kg, dtype=np.int64),
        demand_l=np.array(demand_l, dtype=np.int64),
        service_s=np.array(service, dtype=np.int64),
        time_window=np.array(windows, dtype=np.int64),
        stream=tuple(streams),
        facility_streams=facility_streams,
        vehicles=tuple(vehicles),
    )
    return problem, node_loc


def solve_day_routes(
    prep: Prepared, open_facility_ids: set[str], *, time_limit_s: float, seed: int
) -> tuple[Any, Any, list[str]]:
    """Solve and independently verify the day's collection routes."""
    from optimizer.routing import solve_routes, verify_routes

    problem, node_loc = routing_problem(prep, open_facility_ids)
    plan = solve_routes(problem, time_limit_s=time_limit_s, seed=seed)
    issues = verify_routes(problem, plan)
    if issues:
        raise VerificationError(
            "route plan failed the independent check: " + "; ".join(issues[:10])
        )
    return problem, plan, node_loc


# ---------------------------------------------------------------------------------
# Stage 4: the plan dictionary


def _round(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def _facility_records(
    prep: Prepared, decision: Any | None, problem: Any | None, open_ids: set[str]
) -> list[dict[str, Any]]:
    sc = prep.scenario
    load: dict[str, float] = {}
    catchment: dict[str, list[str]] = {f.id: [] for f in sc.facilities}
    if decision is not None and problem is not None:
        for client, fac_id in dict(decision.assignment).items():
            if isinstance(fac_id, str):
                i = problem.client_ids.index(client)
                load[fac_id] = load.get(fac_id, 0.0) + float(problem.demand[i])
                point_id = client.split("|", 1)[0]
                if point_id not in catchment[fac_id]:
                    catchment[fac_id].append(point_id)
    records = []
    for fac in sc.facilities:
        i = prep.location_index[f"fac:{fac.id}"]
        is_open = fac.id in open_ids
        state = fac.state if fac.state == "existing" else ("proposed" if is_open else "candidate")
        if fac.state == "existing" and not is_open:
            state = "closed"
        used = load.get(fac.id, 0.0)
        records.append(
            {
                "id": fac.id,
                "name": fac.name or fac.id,
                "type": fac.type,
                "state": state,
                "open": is_open,
                "lon": _round(prep.snapped.lon[i], 6),
                "lat": _round(prep.snapped.lat[i], 6),
                "accepts": list(fac.accepts),
                "capacity_t_per_day": fac.capacity_t_per_day,
                "used_t_per_day": _round(used),
                "utilisation": _round(used / fac.capacity_t_per_day, 4),
                "capex_kzt": fac.capex_kzt,
                "opex_kzt_per_year": fac.opex_kzt_per_year,
                "recovery_rate": fac.recovery_rate,
                "excluded_reason": None,
                "catchment": catchment[fac.id],
                "source": fac.source,
            }
        )
    return records


def _route_records(
    prep: Prepared, problem: Any, route_plan: Any, node_loc: list[str]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Routes as plan records with street geometry, and the fleet KPIs."""
    from optimizer import network as nw

    sc = prep.scenario
    vt_by_vehicle = {f"{vt.id}-{k + 1}": vt for vt in sc.fleet for k in range(vt.count)}
    records: list[dict[str, Any]] = []
    totals = {"distance_km": 0.0, "driving_h": 0.0, "working_h": 0.0, "tonnes": 0.0, "tonne_km": 0.0,
              "fuel_l": 0.0, "cost_kzt": 0.0}  # fmt: skip
    for number, route in enumerate(route_plan.routes, start=1):
        if not any(v.kind == "stop" for v in route.visits):
            continue
        vt = vt_by_vehicle.get(route.vehicle_id)
        stops = []
        order: list[int] = []
        driving_s = 0.0
        tonne_km = 0.0
        prev_node: int | None = None
        prev_load = 0
        collected = 0.0
        for seq, visit in enumerate(route.visits):
            loc = node_loc[visit.node]
            mi = prep.location_index[loc]
            if visit.kind != "break":
                order.append(mi)
                if prev_node is not None:
                    driving_s += float(problem.time_s[prev_node, visit.node])
                    tonne_km += (
                        prev_load
                        / 1000.0
                        * float(problem.distance_m[prev_node, visit.node])
                        / 1000.0
                    )
                prev_node = visit.node
                prev_load = visit.load_after_kg
            if visit.kind == "stop":
                collected += float(problem.demand_kg[visit.node]) / 1000.0
            stops.append(
                {
                    "seq": seq,
                    "kind": visit.kind,
                    "ref_id": problem.node_ids[visit.node].split("|", 1)[0],
                    "stream": problem.stream[visit.node],
                    "lon": _round(prep.snapped.lon[mi], 6),
                    "lat": _round(prep.snapped.lat[mi], 6),
                    "arrival_min": _round(visit.arrival_s / 60.0, 1),
                    "departure_min": _round(visit.departure_s / 60.0, 1),
                    "service_min": _round((visit.departure_s - visit.arrival_s) / 60.0, 1),
                    "load_after_t": _round(visit.load_after_kg / 1000.0),
                    "load_after_m3": _round(visit.load_after_l / 1000.0),
                    "distance_km_so_far": _round(visit.distance_m_so_far / 1000.0),
                }
            )
        geometry = nw.paths_for_sequence(prep.network, prep.snapped, order)
        distance_km = route.distance_m / 1000.0
        fuel = distance_km * (vt.fuel_l_per_km if vt else 0.6)
        records.append(
            {
                "id": f"R{number}",
                "vehicle_id": route.vehicle_id,
                "vehicle_type": vt.id if vt else "",
                "day": 1,
                "depot_id": problem.node_ids[route.visits[0].node],
                "distance_km": _round(distance_km),
                "duration_min": _round(route.duration_s / 60.0, 1),
                "tonnes": _round(collected),
                "cost_kzt": _round(route.cost, 0),
                "fuel_l": _round(fuel, 1),
                "stops": stops,
                "geometry": [[_round(x, 6), _round(y, 6)] for x, y in geometry],
            }
        )
        totals["distance_km"] += distance_km
        totals["driving_h"] += driving_s / 3600.0
        totals["working_h"] += route.duration_s / 3600.0
        totals["tonnes"] += collected
        totals["tonne_km"] += tonne_km
        totals["fuel_l"] += fuel
        totals["cost_kzt"] += float(route.cost)
    return records, totals


def assemble_plan(
    prep: Prepared,
    *,
    stage: Stage,
    site_problem: Any | None,
    decision: Any | None,
    route_problem: Any | None,
    route_plan: Any | None,
    node_loc: list[str] | None,
    time_limit_s: float,
    seed: int,
) -> dict[str, Any]:
    """Everything the map and the report need, as the plan.json dictionary."""
    sc = prep.scenario
    if decision is not None:
        open_ids = set(decision.open_ids)
    else:
        open_ids = {f.id for f in sc.facilities if f.state == "existing"}
    facilities = _facility_records(prep, decision, site_problem, open_ids)
    index = prep.location_index
    points = [
        {
            "id": str(row.point_id),
            "lon": _round(prep.snapped.lon[index[f"pt:{row.point_id}"]], 6),
            "lat": _round(prep.snapped.lat[index[f"pt:{row.point_id}"]], 6),
            "stream": str(row.stream),
            "district": str(getattr(row, "district", "") or ""),
            "tonnes_per_day": _round(row.tonnes_per_day, 4),
            "m3_per_day": _round(row.m3_per_day, 4),
            "visits_per_week": _round(row.visits_per_week, 2),
            "snap_distance_m": _round(prep.snapped.distance_m[index[f"pt:{row.point_id}"]], 1),
        }
        for row in prep.demand.itertuples(index=False)
    ]
    routes: list[dict[str, Any]] = []
    unserved: list[dict[str, str]] = []
    totals: dict[str, float] = {}
    if route_plan is not None and route_problem is not None and node_loc is not None:
        routes, totals = _route_records(prep, route_problem, route_plan, node_loc)
        unserved = [
            {
                "point_id": route_problem.node_ids[n].split("|", 1)[0],
                "stream": route_problem.stream[n],
                "reason": reason,
            }
            for n, reason in route_plan.unserved
        ]
    generated = float(prep.demand["tonnes_per_day"].sum())
    recovered = sum(
        f["used_t_per_day"] * f["recovery_rate"]
        for f in facilities
        if f["open"] and f["type"] == "sorting"
    )
    fixed_per_year = sum(f.fixed_cost_kzt_per_year for f in sc.facilities if f.id in open_ids)
    kpis = {
        "distance_km": _round(totals.get("distance_km", 0.0), 2),
        "driving_h": _round(totals.get("driving_h", 0.0), 2),
        "working_h": _round(totals.get("working_h", 0.0), 2),
        "tonnes": _round(totals.get("tonnes", 0.0), 2),
        "tonnes_generated_per_day": _round(generated, 2),
        "tonne_km": _round(totals.get("tonne_km", 0.0), 1),
        "fuel_l": _round(totals.get("fuel_l", 0.0), 1),
        "co2e_t": _round(totals.get("fuel_l", 0.0) * CO2E_KG_PER_L_DIESEL / 1000.0, 3),
        "cost_kzt": _round(totals.get("cost_kzt", 0.0), 0),
        "vehicles_used": len(routes),
        "vehicles_available": sum(vt.count for vt in sc.fleet),
        "stops_served": sum(1 for r in routes for s in r["stops"] if s["kind"] == "stop"),
        "unserved_stops": len(unserved),
        "unload_trips": sum(1 for r in routes for s in r["stops"] if s["kind"] == "unload"),
        "recycling_rate": _round(recovered / generated if generated else 0.0, 4),
        "sites_open": len(open_ids),
        "sites_cost_kzt_per_year": _round(fixed_per_year, 0),
        "site_transport_cost_kzt_per_day": _round(decision.objective, 0)
        if decision is not None
        else None,
    }
    streets = prep.network.street_polylines()
    stats = dict(prep.network.stats)
    assumptions = [
        f"CO2e from diesel at {CO2E_KG_PER_L_DIESEL} kg/L (DEFRA 2024, ../shared/DOMAIN.md §10).",
        f"Transport cost in the site model: {sc.solver.transport_cost_kzt_per_t_km} KZT per tonne-km.",
        f"Routes are planned for one {sc.solver.plan_season}-season day on which every stop is collected once; "
        "its load is the waste accumulated since the last visit (tonnes per day × 7 / visits per week). "
        "Sites are sized on the annual average.",
    ]
    if sc.generation is not None and sc.generation.source:
        assumptions.append(f"Generation norm: {sc.generation.source}")
    warnings = [f"{u['point_id']}: {u['reason']}" for u in unserved]
    dropped = stats.get("dropped_nodes")
    if dropped:
        warnings.append(
            f"Road network: {dropped} nodes outside the largest strongly connected component were dropped."
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": {
            "name": sc.scenario.name,
            "title": sc.scenario.title or sc.scenario.name,
            "description": sc.scenario.description,
            "source": sc.source_file,
            "stage": stage,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "solver": {
                "time_limit_s": time_limit_s,
                "seed": seed,
                "sites_status": getattr(decision, "status", None),
                "routes_status": getattr(route_plan, "status", None),
                "routes_objective": getattr(route_plan, "objective", None),
            },
        },
        "network": {
            "source": prep.network.name,
            "nodes": len(prep.network.node_lon),
            "edges": len(prep.network.edge_u),
            "bbox": [_round(x, 6) for x in prep.network.bbox()],
            "streets": [[[_round(x, 6), _round(y, 6)] for x, y in line] for line in streets],
            "stats": {k: v for k, v in stats.items() if isinstance(v, int | float | str)},
        },
        "streams": [{"id": s.id, "name": s.name or s.id, "color": s.color} for s in sc.streams],
        "points": points,
        "depots": [
            {
                "id": d.id,
                "name": d.name or d.id,
                "lon": _round(prep.snapped.lon[index[f"depot:{d.id}"]], 6),
                "lat": _round(prep.snapped.lat[index[f"depot:{d.id}"]], 6),
            }
            for d in sc.depots
        ],
        "facilities": facilities,
        "zones": [],
        "routes": routes,
        "unserved": unserved,
        "kpis": kpis,
        "assumptions": assumptions,
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------------
# Running and writing


def build_plan(
    scenario: Scenario,
    *,
    stage: Stage = "plan",
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the pipeline (or one stage of it) and return the plan dictionary."""
    limit = time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s
    seed = seed if seed is not None else scenario.solver.seed
    prep = prepare(scenario, network_override=network_override)
    site_problem = decision = None
    if stage in ("plan", "sites"):
        site_problem, decision = solve_sites(prep, time_limit_s=max(1.0, limit / 4), seed=seed)
        open_ids = set(decision.open_ids)
    else:
        open_ids = {f.id for f in scenario.facilities if f.state == "existing"}
    route_problem = route_plan = node_loc = None
    if stage in ("plan", "routes"):
        route_problem, route_plan, node_loc = solve_day_routes(
            prep, open_ids, time_limit_s=limit, seed=seed
        )
    return assemble_plan(
        prep,
        stage=stage,
        site_problem=site_problem,
        decision=decision,
        route_problem=route_problem,
        route_plan=route_plan,
        node_loc=node_loc,
        time_limit_s=limit,
        seed=seed,
    )


def check_output_folder(out: Path, *, force: bool) -> None:
    """Refuse to replace an existing folder unless asked to, before any work is done."""
    if out.exists() and not force:
        raise InputError.one(
            str(out),
            "",
            "output folder already exists",
            "choose another --out or pass --force to replace it",
        )
    if out.exists() and not out.is_dir():
        raise InputError.one(str(out), "", "exists and is not a folder", "choose another --out")


def write_plan_folder(plan: dict[str, Any], out: Path, *, force: bool) -> Path:
    """Write every output into a temporary folder, then move it into place at once."""
    from optimizer.report import write_outputs

    check_output_folder(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        write_outputs(plan, tmp)
        if out.exists():
            backup = out.parent / f".{out.name}.old-{tmp.name[-8:]}"
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def run_and_write(
    scenario_path: Path,
    out: Path,
    *,
    stage: Stage = "plan",
    force: bool = False,
    network_override: Path | None = None,
    time_limit_s: float | None = None,
    seed: int | None = None,
) -> Path:
    """Load a scenario, run the pipeline, write the plan folder atomically."""
    check_output_folder(out, force=force)
    scenario = load_scenario(scenario_path)
    plan = build_plan(
        scenario,
        stage=stage,
        network_override=network_override,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    return write_plan_folder(plan, out, force=force)


def demand_command(
    scenario_path: Path,
    out: Path,
    *,
    season: Literal["warm", "cold", "annual"] = "annual",
    samples: int = 0,
    seed: int = 0,
    network_override: Path | None = None,
) -> str:
    """``optimizer demand``: write the estimates (or samples) as CSV, return a summary."""
    from optimizer import demand as dm

    scenario = load_scenario(scenario_path)
    network = None
    if network_override is not None or scenario.network.demo or scenario.network.file:
        try:
            network = load_road_network(scenario, network_override)
        except InputError:
            if network_override is not None:
                raise
            log.warning("road network not available; points are placed inside the districts")
    if samples > 0:
        df = dm.sample_demand(scenario, samples=samples, seed=seed, season=season, network=network)
    else:
        df = dm.estimate_demand(scenario, season=season, network=network)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    dm.write_demand_csv(df, tmp)
    tmp.replace(out)
    return dm.demand_summary(df) + f"\nwritten to {out}"
