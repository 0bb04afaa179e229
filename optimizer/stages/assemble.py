"""Stage 4: the plan dictionary (plan.json schema, docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from optimizer.location.economics import FACTORS
from optimizer.network import paths_for_sequence, street_names
from optimizer.plan_types import (
    SCHEMA_VERSION,
    DayKpis,
    Facility,
    FacilityState,
    FleetType,
    Kpis,
    NetworkInfo,
    Plan,
    Point,
    ResidueFlow,
    Route,
    SiteKpis,
    Stage,
    Stop,
    Unserved,
)
from optimizer.routing import RoutePlan, RoutingProblem
from optimizer.routing.reasons import count_by_category
from optimizer.scenario import VehicleTypeSpec
from optimizer.stages.calendar import CalendarMode
from optimizer.stages.prepare import Location, Prepared
from optimizer.stages.sites import DAYS_PER_YEAR, SitePlan, present_cost_with_fleet

__all__ = ["SCHEMA_VERSION", "DayRoutes", "Stage", "assemble_plan"]

#: KPIs that only a routed day has (None in a sites-only plan).
ROUTE_KPIS = (
    "distance_km", "driving_h", "working_h", "tonnes", "tonne_km", "fuel_l", "co2e_t",
    "cost_kzt", "vehicles_used", "stops_served", "unserved_stops", "unload_trips",
    "unserved_by_reason",
)  # fmt: skip

#: Diesel combustion, kg CO2e per litre: the same sourced factor the site economics use.
DIESEL = FACTORS["diesel_co2e_kg_per_l"]


def _round(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def _facility_records(
    prep: Prepared,
    sites: SitePlan | None,
    open_ids: set[str],
) -> list[Facility]:
    """Facilities with their state, load from the site decision, catchment and exclusion."""
    sc = prep.scenario
    load: dict[str, float] = {}
    catchment: dict[str, list[str]] = {f.id: [] for f in sc.facilities}
    excluded = sites.excluded if sites is not None else {}
    if sites is not None:
        load = {k: float(v) for k, v in dict(sites.decision.load).items()}
        for fac_id, points in sites.catchments().items():
            if fac_id in catchment:
                catchment[fac_id] = points
    records: list[Facility] = []
    for fac in sc.facilities:
        i = prep.location_index[Location("facility", fac.id)]
        is_open = fac.id in open_ids
        state: FacilityState = (
            fac.state if fac.state == "existing" else ("proposed" if is_open else "candidate")
        )
        if fac.state == "existing" and not is_open:
            state = "closed"
        if fac.id in excluded:
            state = "excluded"
        used = load.get(fac.id, 0.0)
        records.append(
            {
                "id": fac.id,
                "name": fac.name or fac.id,
                "type": fac.type,
                "state": state,
                "open": is_open,
                "lon": _round(fac.lon if fac.access else prep.snapped.lon[i], 6),
                "lat": _round(fac.lat if fac.access else prep.snapped.lat[i], 6),
                "accepts": list(fac.accepts),
                "capacity_t_per_day": fac.capacity_t_per_day,
                "used_t_per_day": _round(used),
                "utilisation": _round(used / fac.capacity_t_per_day, 4),
                "capex_kzt": fac.capex_kzt,
                "opex_kzt_per_year": fac.opex_kzt_per_year,
                "recovery_rate": fac.recovery_rate,
                "excluded_reason": excluded.get(fac.id),
                "catchment": catchment[fac.id],
                "access": {
                    "lon": _round(prep.snapped.lon[i], 6),
                    "lat": _round(prep.snapped.lat[i], 6),
                    "km": fac.access.km,
                }
                if fac.access
                else None,
                "source": fac.source,
            }
        )
    return records


def _residue_records(prep: Prepared, sites: SitePlan | None) -> list[ResidueFlow]:
    """Residue hauled from transfer/sorting sites to landfills (two-tier site model)."""
    if sites is None or not sites.residue:
        return []
    index = prep.location_index
    out: list[ResidueFlow] = []
    for (src, dst), tonnes in sorted(sites.residue.items()):
        i, j = index[Location("facility", src)], index[Location("facility", dst)]
        out.append(
            {
                "from": src,
                "to": dst,
                "t_per_day": _round(tonnes),
                "road_km": _round(float(prep.matrix.distance_m[i, j]) / 1000.0, 2),
            }
        )
    return out


@dataclass(frozen=True)
class DayRoutes:
    """The verified routes of one plan day, with the problem they solve."""

    day: int
    problem: RoutingProblem
    plan: RoutePlan
    node_loc: list[Location]  # the location of each node of the problem


def _route_records(
    prep: Prepared,
    problem: RoutingProblem,
    route_plan: RoutePlan,
    node_loc: list[Location],
    day: int,
    first: int,
) -> tuple[list[Route], dict[str, float]]:
    """Routes as plan records (numbered from ``first``) with street geometry, and KPIs."""
    sc = prep.scenario
    vt_by_vehicle = {f"{vt.id}-{k + 1}": vt for vt in sc.fleet for k in range(vt.count)}
    off_network = {
        Location("facility", f.id): (f.lon, f.lat) for f in sc.facilities if f.access is not None
    }
    records: list[Route] = []
    totals = {"distance_km": 0.0, "driving_h": 0.0, "working_h": 0.0, "tonnes": 0.0, "tonne_km": 0.0,
              "fuel_l": 0.0, "cost_kzt": 0.0}  # fmt: skip
    number = first - 1
    for route in route_plan.routes:
        if not any(v.kind == "stop" for v in route.visits):
            continue
        number += 1
        vt = vt_by_vehicle.get(route.vehicle_id)
        stops: list[Stop] = []
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
            # an out-of-town site is where the driver unloads, beyond the street file
            lonlat = off_network.get(loc) or (prep.snapped.lon[mi], prep.snapped.lat[mi])
            stops.append(
                {
                    "seq": seq,
                    "kind": visit.kind,
                    "ref_id": problem.node_ids[visit.node],
                    "stream": None if visit.kind == "break" else problem.stream[visit.node],
                    "lon": _round(lonlat[0], 6),
                    "lat": _round(lonlat[1], 6),
                    "arrival_min": _round(visit.arrival_s / 60.0, 1),
                    "departure_min": _round(visit.departure_s / 60.0, 1),
                    "service_min": _round((visit.departure_s - visit.arrival_s) / 60.0, 1),
                    "load_after_t": _round(visit.load_after_kg / 1000.0),
                    "load_after_m3": _round(visit.load_after_l / 1000.0),
                    "distance_km_so_far": _round(visit.distance_m_so_far / 1000.0),
                }
            )
        geometry = paths_for_sequence(prep.network, prep.snapped, order, time_s=prep.matrix.time_s)
        distance_km = route.distance_m / 1000.0
        fuel = distance_km * (vt.fuel_l_per_km if vt else 0.6)
        records.append(
            {
                "id": f"R{number}",
                "vehicle_id": route.vehicle_id,
                "vehicle_type": vt.id if vt else "",
                "day": day,
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


def _fleet_record(vt: VehicleTypeSpec) -> FleetType:
    """One truck type as the route sheets show it: payload, body volume, shift."""
    return {
        "id": vt.id,
        "count": vt.count,
        "depot_id": vt.depot,
        "capacity_t": vt.capacity_t,
        "body_m3": vt.capacity_m3,
        "compaction_ratio": vt.compaction_ratio,
        "shift_start": vt.shift_start,
        "shift_min": vt.shift_min,
        "streams": list(vt.streams) if vt.streams is not None else None,
    }


def fleet_needed(routes: Sequence[Route]) -> int:
    """Trucks to own: for each depot and truck type, the most it sends out on one day,
    summed. A week's busiest day can count fewer when depots peak on different days."""
    out: dict[tuple[str, str], Counter[int]] = {}
    seen: set[tuple[int, str]] = set()
    for r in routes:
        if (r["day"], r["vehicle_id"]) in seen:
            continue
        seen.add((r["day"], r["vehicle_id"]))
        key = (str(r["depot_id"]), str(r["vehicle_type"]))
        out.setdefault(key, Counter())[int(r["day"])] += 1
    return sum(max(days.values()) for days in out.values())


def _days_assumption(
    season: str, days: int, calendar: CalendarMode = "fixed", levelled: int = 0
) -> str:
    """How the plan days relate to collection frequencies, in words."""
    load = (
        "A stop's load is the waste accumulated since its last visit (tonnes per day × "
        "the days since). Sites are sized on the annual average."
    )
    if days <= 1:
        return (
            f"Routes are planned for one {season}-season day: the stops due on day 1 of the "
            f"collection calendar (daily streams every day; a stream collected n times a week on n "
            f"days of the week, as evenly spread as a week allows). {load}"
        )
    how = (
        "chosen by the planner: neighbouring points share their days, in wedges around "
        "each depot of equal work placed so that the days carry even work"
        + (
            f"; then, routed, the points of {levelled} truck{'s' if levelled != 1 else ''} of "
            "the busiest days moved to their stream's other days where trucks were to spare"
            if levelled
            else ""
        )
        if calendar == "chosen"
        else "spread over the points by a stable hash of their id, so the days carry similar work"
    )
    return (
        f"Routes are planned for {days} consecutive {season}-season days: daily streams are "
        f"collected every day, a stream collected n times a week on n days of the week as "
        f"evenly spread as a week allows (3 a week: Mon/Wed/Fri, Tue/Thu/Sat, ...); which "
        f"days are {how}. {load}"
    )


def _point_records(prep: Prepared, days: Sequence[DayRoutes]) -> list[Point]:
    """Collection points per stream, with the days each is due and its street."""
    index = prep.location_index
    due_days: dict[tuple[str, str | None], list[int]] = {}
    for d in days:
        for i in d.problem.stops:
            due_days.setdefault((d.problem.node_ids[i], d.problem.stream[i]), []).append(d.day)
    rows: list[dict[Any, Any]] = prep.demand.to_dict("records")
    # routed plans follow the rule of the planned season, not the annual mean
    season_visits = {
        (str(r["point_id"]), str(r["stream"])): float(r["visits_per_week"])
        for r in prep.day_demand[["point_id", "stream", "visits_per_week"]].to_dict("records")
    }
    # snapped holds the locations in the order of location_index
    streets = dict(zip(index, street_names(prep.network, prep.snapped), strict=True))
    points: list[Point] = []
    for row in rows:
        loc = Location("point", str(row["point_id"]))
        due = due_days.get((loc.id, str(row["stream"])), [])
        points.append(
            {
                "id": loc.id,
                "lon": _round(prep.snapped.lon[index[loc]], 6),
                "lat": _round(prep.snapped.lat[index[loc]], 6),
                "stream": str(row["stream"]),
                "district": str(row.get("district") or ""),
                "tonnes_per_day": _round(row["tonnes_per_day"], 4),
                "m3_per_day": _round(row["m3_per_day"], 4),
                "visits_per_week": _round(
                    season_visits.get((loc.id, str(row["stream"])), row["visits_per_week"])
                    if days
                    else row["visits_per_week"],
                    2,
                ),
                "containers": int(row.get("containers") or 0),
                "due_today": None if not days else 1 in due,
                "due_days": due if days else None,
                "snap_distance_m": _round(prep.snapped.distance_m[index[loc]], 1),
                "street": streets[loc],
            }
        )
    return points


@dataclass(frozen=True)
class _RoutedDays:
    """The route records of every plan day, the stops left out, and their totals."""

    routes: list[Route]
    unserved: list[Unserved]
    totals: dict[str, float]
    by_day: list[DayKpis]


def _routed_days(prep: Prepared, days: Sequence[DayRoutes]) -> _RoutedDays:
    """Routes numbered across the days, unserved stops, and per-day KPIs."""
    routes: list[Route] = []
    unserved: list[Unserved] = []
    totals: dict[str, float] = {}
    by_day: list[DayKpis] = []
    for d in days:
        records, day_totals = _route_records(
            prep, d.problem, d.plan, d.node_loc, d.day, len(routes) + 1
        )
        day_unserved: list[Unserved] = [
            {
                "point_id": d.problem.node_ids[n],
                "stream": d.problem.stream[n],
                "day": d.day,
                "reason": reason,
            }
            for n, reason in d.plan.unserved
        ]
        routes += records
        unserved += day_unserved
        for key, value in day_totals.items():
            totals[key] = totals.get(key, 0.0) + value
        stops, tonnes = _by_stream(d)
        by_day.append(
            {
                "day": d.day,
                "distance_km": _round(day_totals["distance_km"], 2),
                "working_h": _round(day_totals["working_h"], 2),
                "tonnes": _round(day_totals["tonnes"], 2),
                "cost_kzt": _round(day_totals["cost_kzt"], 0),
                "vehicles_used": len(records),
                "stops_served": _count_kind(records, "stop"),
                "unserved_stops": len(day_unserved),
                "unserved_by_reason": count_by_category(u["reason"] for u in day_unserved),
                "unload_trips": _count_kind(records, "unload"),
                "engine": d.plan.engine,
                "stops_by_stream": stops,
                "tonnes_by_stream": tonnes,
            }
        )
    return _RoutedDays(routes, unserved, totals, by_day)


def _by_stream(d: DayRoutes) -> tuple[dict[str, int], dict[str, float]]:
    """The stops served and tonnes collected on a day, per stream."""
    left_out = {n for n, _ in d.plan.unserved}
    stops: dict[str, int] = {}
    tonnes: dict[str, float] = {}
    for i in d.problem.stops:
        stream = d.problem.stream[i]
        if i in left_out or stream is None:
            continue
        stops[stream] = stops.get(stream, 0) + 1
        tonnes[stream] = tonnes.get(stream, 0.0) + float(d.problem.demand_kg[i]) / 1000
    return stops, {k: _round(v, 2) for k, v in tonnes.items()}


def _count_kind(routes: Sequence[Route], kind: str) -> int:
    return sum(1 for r in routes for s in r["stops"] if s["kind"] == kind)


def _kpis(
    prep: Prepared,
    sites: SitePlan | None,
    open_ids: set[str],
    routed: _RoutedDays | None,
    calendar: CalendarMode,
) -> Kpis:
    """Plan KPIs; the route figures are ``None`` when the plan has no routes."""
    sc = prep.scenario
    decision = sites.decision if sites is not None else None
    totals = routed.totals if routed is not None else {}
    generated = float(prep.demand["tonnes_per_day"].sum())
    fixed_per_year = sum(f.fixed_cost_kzt_per_year for f in sc.facilities if f.id in open_ids)

    def route_kpi(value: float) -> float | None:
        return value if routed is not None else None

    def route_count(value: int) -> int | None:
        return value if routed is not None else None

    routes = routed.routes if routed is not None else []
    unserved = routed.unserved if routed is not None else []
    by_day = routed.by_day if routed is not None else []
    kpis: Kpis = {
        "distance_km": route_kpi(_round(totals.get("distance_km", 0.0), 2)),
        "driving_h": route_kpi(_round(totals.get("driving_h", 0.0), 2)),
        "working_h": route_kpi(_round(totals.get("working_h", 0.0), 2)),
        "tonnes": route_kpi(_round(totals.get("tonnes", 0.0), 2)),
        "tonnes_generated_per_day": _round(generated, 2),
        "tonne_km": route_kpi(_round(totals.get("tonne_km", 0.0), 1)),
        "fuel_l": route_kpi(_round(totals.get("fuel_l", 0.0), 1)),
        "co2e_t": route_kpi(_round(totals.get("fuel_l", 0.0) * DIESEL.value / 1000.0, 3)),
        "cost_kzt": route_kpi(_round(totals.get("cost_kzt", 0.0), 0)),
        # the fleet a day needs: the busiest day's trucks
        "vehicles_used": route_count(max((b["vehicles_used"] for b in by_day), default=0)),
        "vehicles_available": sum(vt.count for vt in sc.fleet),
        "stops_served": route_count(_count_kind(routes, "stop")),
        "unserved_stops": route_count(len(unserved)),
        # unserved stops per binding constraint ("fleet limit", "time window", ...)
        "unserved_by_reason": count_by_category(u["reason"] for u in unserved)
        if routed is not None
        else None,
        "unload_trips": route_count(_count_kind(routes, "unload")),
        "sites_open": len(open_ids),
        "sites_cost_kzt_per_year": _round(fixed_per_year, 0),
        "site_transport_cost_kzt_per_day": _round(decision.objective, 0)
        if decision is not None
        else None,
    }
    if routed is not None:
        kpis["plan_days"] = len(by_day)
        kpis["calendar"] = calendar
        kpis["route_kpis_by_day"] = by_day
        kpis["fleet_needed"] = fleet_needed(routes)
    if sites is not None and sites.kpis is not None:
        # the site figures after the route figures, as plan.json has always listed them
        kpis = cast(Kpis, {**kpis, **sites.kpis})
        if routed is not None and by_day:
            fleet = _fleet_present_cost(prep, sites.kpis, totals["cost_kzt"] / len(by_day))
            kpis = cast(Kpis, {**kpis, **fleet})
    return kpis


def _fleet_present_cost(prep: Prepared, site: SiteKpis, route_kzt_per_day: float) -> dict[str, int]:
    """The investor's whole cost with the routed fleet (see :func:`present_cost_with_fleet`)."""
    return {
        "fleet_cost_kzt_per_year": round(route_kzt_per_day * DAYS_PER_YEAR),
        "present_cost_with_fleet_kzt": round(
            present_cost_with_fleet(prep.scenario, site, route_kzt_per_day)
        ),
    }


def _notes(
    prep: Prepared,
    sites: SitePlan | None,
    n_days: int,
    unserved: Sequence[Unserved],
    calendar: CalendarMode,
    levelled: int = 0,
) -> tuple[list[str], list[str]]:
    """The plan's assumptions and warnings, in words."""
    sc = prep.scenario
    assumptions = [
        f"CO2e from diesel at {DIESEL.value} {DIESEL.unit} ({DIESEL.source}).",
        f"Transport cost in the site model: {sc.solver.transport_cost_kzt_per_t_km} KZT per tonne-km.",
    ]
    if n_days:
        assumptions.append(_days_assumption(sc.solver.plan_season, n_days, calendar, levelled))
    if n_days and sites is not None and sites.kpis is not None:
        assumptions.append(
            "Present cost with the fleet: capex, site opex, the residue haul and the routed "
            f"fleet's cost of an average planned {sc.solver.plan_season}-season day x 365, over "
            f"{sc.economics.horizon_years} years at {sc.economics.discount_rate:.0%} discount and "
            f"{sc.economics.demand_growth:.0%} yearly demand growth (the routes replace the "
            "site model's tonne-km estimate of collection)."
        )
    if sc.generation is not None and sc.generation.source:
        assumptions.append(f"Generation norm: {sc.generation.source}")
    warnings = [f"{u['point_id']}: {u['reason']}" for u in unserved]
    if sites is not None:
        assumptions += sites.assumptions
        warnings += sites.warnings
    dropped = prep.network.stats.get("dropped_nodes")
    if dropped:
        warnings.append(
            f"Road network: {dropped} nodes outside the largest strongly connected component were dropped."
        )
    return assumptions, warnings


def _network_record(prep: Prepared) -> NetworkInfo:
    """The road network's source, size and street lines for the map."""
    net = prep.network
    polylines = net.street_polylines()
    return {
        "source": net.name,
        "nodes": len(net.node_lon),
        "edges": len(net.edge_u),
        "bbox": [_round(x, 6) for x in net.bbox()],
        "streets": [[[_round(x, 6), _round(y, 6)] for x, y in line] for line in polylines],
        "stats": {k: v for k, v in dict(net.stats).items() if isinstance(v, int | float | str)},
    }


def assemble_plan(
    prep: Prepared,
    *,
    stage: Stage,
    sites: SitePlan | None,
    days: Sequence[DayRoutes] = (),
    time_limit_s: float,
    seed: int,
    open_ids: set[str] | None = None,
    calendar: CalendarMode = "fixed",
    levelled: int = 0,
) -> Plan:
    """Everything the map and the report need, as the plan.json dictionary.
    ``levelled``: trucks whose points the levelling of the week moved to other days."""
    sc = prep.scenario
    decision = sites.decision if sites is not None else None
    if decision is not None:
        open_ids = set(decision.open_ids)
    elif open_ids is None:
        open_ids = {f.id for f in sc.facilities if f.state == "existing"}
    index = prep.location_index
    # the site stage alone has no fleet figures rather than zeros
    routed = _routed_days(prep, days) if days else None
    unserved = routed.unserved if routed is not None else []
    assumptions, warnings = _notes(prep, sites, len(days), unserved, calendar, levelled)
    plan: Plan = {
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
                "routes_status": days[0].plan.status if days else None,
                "routes_objective": sum(d.plan.objective for d in days) if days else None,
            },
        },
        "network": _network_record(prep),
        "streams": [{"id": s.id, "name": s.name or s.id, "color": s.color} for s in sc.streams],
        "points": _point_records(prep, days),
        "depots": [
            {
                "id": d.id,
                "name": d.name or d.id,
                "lon": _round(prep.snapped.lon[index[Location("depot", d.id)]], 6),
                "lat": _round(prep.snapped.lat[index[Location("depot", d.id)]], 6),
            }
            for d in sc.depots
        ],
        "facilities": _facility_records(prep, sites, open_ids),
        "fleet": [_fleet_record(vt) for vt in sc.fleet],
        "zones": sites.zones if sites is not None else [],
        "residue_flows": _residue_records(prep, sites),
        "routes": routed.routes if routed is not None else [],
        "unserved": unserved,
        "kpis": _kpis(prep, sites, open_ids, routed, calendar),
        "assumptions": assumptions,
        "warnings": warnings,
    }
    if sites is not None and sites.options:
        plan["site_options"] = sites.options
    return plan
