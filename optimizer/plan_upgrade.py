"""Plans written by earlier versions of schema 1, completed to the current form.

Schema 1 grew keys while it shipped (the fleet, residue flows, the stage, site KPIs,
each stop's stream, …). :func:`upgrade_plan` fills the ones an older ``plan.json``
lacks so it validates against :class:`optimizer.plan_types.Plan`;
:func:`optimizer.plan_types.load_plan` calls it before the strict check.
"""

from __future__ import annotations

from typing import Any

from optimizer.plan_types import SCHEMA_VERSION

__all__ = ["upgrade_plan"]


def upgrade_plan(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 plan written by an earlier version, completed to the current form.

    Keys added since schema 1 first shipped get the value that means "not recorded":
    empty lists, ``None`` for nullable figures, the scenario defaults (recovery 0,
    no source), or a value derived from the plan itself (sites open, waste generated,
    route fuel at the default 0.6 l/km).  Unknown keys are left for validation.
    """
    plan = dict(data)
    if plan.get("schema_version") != SCHEMA_VERSION:
        return plan  # validation names the wrong version
    plan.setdefault("fleet", [])
    plan.setdefault("residue_flows", [])
    routes = plan.get("routes")
    scen = plan.get("scenario")
    if isinstance(scen, dict):
        scen = plan["scenario"] = dict(scen)
        scen.setdefault("description", "")
        scen.setdefault("stage", "plan" if routes else "sites")
        solver = scen.get("solver")
        if isinstance(solver, dict):
            solver = scen["solver"] = dict(solver)
            for key in ("sites_status", "routes_status", "routes_objective"):
                solver.setdefault(key, None)
    net = plan.get("network")
    if isinstance(net, dict):
        plan["network"] = {**net, "stats": net.get("stats", {})}
    if isinstance(plan.get("points"), list):
        plan["points"] = [
            {"containers": 0, "due_today": None, "due_days": None, "street": "", **p}
            if isinstance(p, dict)
            else p
            for p in plan["points"]
        ]
    if isinstance(plan.get("facilities"), list):
        plan["facilities"] = [
            {
                **f,
                "recovery_rate": f.get("recovery_rate", 0.0),
                "source": f.get("source", ""),
                "access": f.get("access"),
            }
            if isinstance(f, dict)
            else f
            for f in plan["facilities"]
        ]
    if isinstance(routes, list):
        plan["routes"] = [_upgrade_route(r) if isinstance(r, dict) else r for r in routes]
    if isinstance(plan.get("unserved"), list):
        plan["unserved"] = [
            {"stream": None, "day": 1, **u} if isinstance(u, dict) else u for u in plan["unserved"]
        ]
    kpis = plan.get("kpis")
    if isinstance(kpis, dict):
        plan["kpis"] = _upgrade_kpis(plan, dict(kpis))
    return plan


def _upgrade_route(route: dict[str, Any]) -> dict[str, Any]:
    """A route with ``fuel_l`` (default 0.6 l/km) and each stop's ``stream``."""
    out = dict(route)
    if "fuel_l" not in out and isinstance(out.get("distance_km"), int | float):
        out["fuel_l"] = round(float(out["distance_km"]) * 0.6, 1)
    if isinstance(out.get("stops"), list):
        out["stops"] = [_upgrade_stop(s) if isinstance(s, dict) else s for s in out["stops"]]
    return out


def _upgrade_stop(stop: dict[str, Any]) -> dict[str, Any]:
    """A stop with its own ``stream``.

    Plans before the stream key named a collection stop ``"<point id>|<stream>"`` in
    ``ref_id``; that pair is read back into ``ref_id`` and ``stream`` here, once.
    """
    out = {**stop, "stream": stop.get("stream")}
    ref = out.get("ref_id")
    if out["stream"] is None and out.get("kind") == "stop" and isinstance(ref, str):
        point_id, bar, stream = ref.rpartition("|")
        if bar and point_id and stream:
            out["ref_id"], out["stream"] = point_id, stream
    return out


def _upgrade_kpis(plan: dict[str, Any], kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs with the figures added since schema 1 shipped (derived or ``None``)."""
    points = [p for p in plan.get("points") or [] if isinstance(p, dict)]
    facilities = [f for f in plan.get("facilities") or [] if isinstance(f, dict)]
    fleet = [v for v in plan.get("fleet") or [] if isinstance(v, dict)]
    routed = bool(plan.get("routes"))
    kpis.setdefault(
        "tonnes_generated_per_day",
        round(sum(float(p.get("tonnes_per_day") or 0) for p in points), 2),
    )
    kpis.setdefault("vehicles_available", sum(int(v.get("count") or 0) for v in fleet))
    kpis.setdefault("sites_open", sum(1 for f in facilities if f.get("open")))
    kpis.setdefault("site_transport_cost_kzt_per_day", None)
    kpis.setdefault("unload_trips", _count_kind(plan, "unload") if routed else None)
    if isinstance(kpis.get("route_kpis_by_day"), list):  # engine and streams: not recorded
        kpis["route_kpis_by_day"] = [
            {"engine": None, "stops_by_stream": {}, "tonnes_by_stream": {}, **d}
            if isinstance(d, dict)
            else d
            for d in kpis["route_kpis_by_day"]
        ]
    if "unserved_by_reason" not in kpis:
        from optimizer.routing.reasons import count_by_category

        reasons = [str(u.get("reason") or "") for u in plan.get("unserved") or []]
        kpis["unserved_by_reason"] = count_by_category(reasons) if routed or reasons else None
    return kpis


def _count_kind(plan: dict[str, Any], kind: str) -> int:
    return sum(
        1
        for r in plan.get("routes") or []
        if isinstance(r, dict)
        for s in r.get("stops") or []
        if isinstance(s, dict) and s.get("kind") == kind
    )
