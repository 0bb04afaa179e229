"""Stage 2: the facility-location problem of a scenario, solved and checked."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, mapping

from optimizer.errors import VerificationError
from optimizer.scenario import District, Scenario
from optimizer.stages.prepare import Prepared

log = logging.getLogger("optimizer")
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class SitePlan:
    """The outcome of the site stage: the problem, the checked decision and its appraisal."""

    problem: Any  # optimizer.location.FacilityProblem
    decision: Any  # optimizer.location.SiteDecision
    excluded: dict[str, str] = field(default_factory=dict)  # facility id -> reason
    zones: list[dict[str, Any]] = field(default_factory=list)  # plan.json "zones"
    kpis: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def stream_allowed(scenario: Scenario, stream_id: str, fac_index: int) -> bool:
    """Whether facility ``fac_index`` is licensed for the stream (both lists agree)."""
    fac = scenario.facilities[fac_index]
    stream = scenario.stream(stream_id)
    return stream_id in fac.accepts and fac.type in stream.accepted_by


def _polygons(layer: tuple[District, ...]) -> dict[str, Polygon]:
    """Named shapely polygons (exterior rings only) of a residential or water layer."""
    out: dict[str, Polygon] = {}
    for k, item in enumerate(layer):
        for r, ring in enumerate(item.rings):
            if len(ring) >= 4:
                out[f"{item.name}#{r}" if len(item.rings) > 1 else item.name or f"area {k}"] = (
                    Polygon(ring)
                )
    return out


def siting_exclusions(scenario: Scenario) -> tuple[dict[str, str], list[dict[str, Any]], list[str]]:
    """Candidates inside sanitary protection zones, the zones to draw, and warnings.

    Existing facilities are never excluded (they exist), but a warning names any
    that sit inside a zone.
    """
    from optimizer.location import Candidate, SitingRules, exclude_candidates
    from optimizer.location.siting import local_projection

    residential = _polygons(scenario.residential)
    water = _polygons(scenario.water)
    if not residential and not water:
        return {}, [], []
    spec = scenario.siting
    rules = SitingRules(
        landfill_m=spec.landfill_m,
        sorting_small_m=spec.sorting_small_m,
        sorting_large_m=spec.sorting_large_m,
        sorting_threshold_t_per_year=spec.sorting_threshold_t_per_year,
        transfer_m=spec.transfer_m,
        composting_m=spec.composting_m,
        treatment_m=spec.treatment_m,
        water_factor=spec.water_factor,
    )
    candidates = [
        Candidate(f.id, f.lon, f.lat, f.type, f.capacity_t_per_day * DAYS_PER_YEAR)
        for f in scenario.facilities
    ]
    hits = dict(exclude_candidates(candidates, residential, water, rules))
    state = {f.id: f.state for f in scenario.facilities}
    excluded = {fid: why for fid, why in hits.items() if state[fid] == "candidate"}
    warnings = [
        f"Existing facility {fid} lies inside a sanitary protection zone: {why}"
        for fid, why in hits.items()
        if state[fid] == "existing"
    ]
    # Draw, around each residential area and water body, the widest buffer that
    # applies to a candidate kind present in the scenario.
    widths = [
        rules.buffer_m(c.kind, c.capacity_t_per_year)
        for c in candidates
        if state[c.id] == "candidate"
    ] or [(0.0, "")]
    width_m, source = max(widths, key=lambda w: w[0])
    zones: list[dict[str, Any]] = []
    if width_m > 0:
        lon0 = float(np.mean([f.lon for f in scenario.facilities]))
        lat0 = float(np.mean([f.lat for f in scenario.facilities]))
        fwd = local_projection(lon0, lat0)
        back = _inverse_projection(lon0, lat0)
        for kind, layer, factor in (
            ("residential", residential, 1.0),
            ("water", water, spec.water_factor),
        ):
            for name, poly in layer.items():
                metres = shapely.transform(poly, fwd)
                zone = shapely.transform(metres.buffer(width_m * factor).simplify(20.0), back)
                zones.append(
                    {
                        "id": f"Z{len(zones) + 1}",
                        "kind": "sanitary_protection",
                        "reason": f"{width_m * factor:,.0f} m around {kind} area '{name}' ({source})",
                        "geometry": mapping(zone),
                    }
                )
    return excluded, zones, warnings


def _inverse_projection(lon0: float, lat0: float) -> Any:
    """Metres back to lon/lat for the same local projection as the siting rules."""
    from pyproj import Transformer

    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m +datum=WGS84"
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def back(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return back


def point_facility_km(prep: Prepared) -> np.ndarray:
    """Road km from every point-stream row of the demand to every facility."""
    sc = prep.scenario
    fac_idx = [prep.location_index[f"fac:{f.id}"] for f in sc.facilities]
    pt_idx = [prep.location_index[f"pt:{p}"] for p in prep.demand["point_id"]]
    km: np.ndarray = prep.matrix.distance_m[np.ix_(pt_idx, fac_idx)] / 1000.0
    return km


def facility_problem(prep: Prepared, excluded: dict[str, str] | None = None) -> Any:
    """The location model of a scenario: point-stream rows × facilities, cost per day.

    Serving one tonne of a point from a facility costs the road distance to it times
    the transport rate plus the gate fee; opening a facility costs its yearly fixed
    cost spread over 365 days.
    """
    from optimizer.location import FacilityProblem

    sc = prep.scenario
    rate = sc.solver.transport_cost_kzt_per_t_km
    gate = np.array([f.gate_fee_kzt_per_t for f in sc.facilities])
    cost = point_facility_km(prep) * rate + gate[None, :]
    # Each stream only to facilities licensed for it.
    allowed = {
        st.id: np.array([stream_allowed(sc, st.id, j) for j in range(len(sc.facilities))])
        for st in sc.streams
    }
    rows_allowed = np.array([allowed[str(s)] for s in prep.demand["stream"]])
    cost[~rows_allowed] = np.inf
    return FacilityProblem(
        client_ids=tuple(
            f"{p}|{s}" for p, s in zip(prep.demand["point_id"], prep.demand["stream"], strict=True)
        ),
        facility_ids=tuple(f.id for f in sc.facilities),
        demand=prep.demand["tonnes_per_day"].to_numpy(dtype=float),
        cost=cost,
        fixed_cost=np.array([f.fixed_cost_kzt_per_year / 365.0 for f in sc.facilities]),
        capacity=np.array([f.capacity_t_per_day for f in sc.facilities]),
        must_open=np.array([f.must_stay_open for f in sc.facilities]),
        may_open=np.array([f.id not in (excluded or {}) for f in sc.facilities]),
        p=sc.solver.p,
        single_source=True,
    )


def _economics(prep: Prepared, problem: Any, decision: Any) -> tuple[dict[str, Any], list[str]]:
    """Capex, opex, present cost, tonne-km and CO2e of the site plan, per year."""
    from optimizer.location import EconomicInputs, evaluate_plan

    sc = prep.scenario
    by_id = {f.id: f for f in sc.facilities}
    recycled = 0.0
    landfilled = 0.0
    for fid in decision.open_ids:
        load = float(decision.load.get(fid, 0.0))
        fac = by_id[fid]
        recycled += load * fac.recovery_rate
        if fac.type in ("landfill", "sorting", "transfer"):
            landfilled += load * (1.0 - fac.recovery_rate)
    inputs = EconomicInputs(
        horizon_years=sc.economics.horizon_years,
        discount_rate=sc.economics.discount_rate,
        demand_growth=sc.economics.demand_growth,
        transport_kzt_per_tkm=sc.solver.transport_cost_kzt_per_t_km,
    )
    econ = evaluate_plan(
        problem,
        decision,
        distance_km=point_facility_km(prep),
        capex_kzt=np.array([f.capex_kzt for f in sc.facilities]),
        opex_kzt_per_year=np.array([f.opex_kzt_per_year for f in sc.facilities]),
        landfilled_t_per_year=landfilled * DAYS_PER_YEAR,
        recycled_t_per_year=recycled * DAYS_PER_YEAR,
        inputs=inputs,
    )
    generated = float(problem.demand.sum())
    kpis = {
        "capex_kzt": round(econ.capex_kzt),
        "opex_kzt_per_year": round(econ.opex_kzt_per_year),
        "npv_kzt": round(econ.npv_kzt),
        "site_transport_tkm_per_year": round(econ.transport_tkm_per_year),
        "site_transport_kzt_per_year": round(econ.transport_kzt_per_year),
        "co2e_transport_t_per_year": round(econ.co2e_transport_t_per_year, 1),
        "co2e_landfill_t_per_year": round(econ.co2e_landfill_t_per_year, 1),
        "co2e_avoided_t_per_year": round(econ.co2e_avoided_t_per_year, 1),
        "co2e_net_t_per_year": round(econ.co2e_net_t_per_year, 1),
        "recycling_rate": round(recycled / generated, 4) if generated else 0.0,
        "recycled_t_per_day": round(recycled, 2),
        "landfilled_t_per_day": round(landfilled, 2),
    }
    notes = [
        f"Present cost (NPV) over {inputs.horizon_years} years at {inputs.discount_rate:.0%} "
        f"discount and {inputs.demand_growth:.0%} yearly demand growth; positive = cost.",
        *econ.assumptions,
    ]
    return kpis, notes


def _robustness(prep: Prepared, problem: Any, decision: Any) -> dict[str, Any]:
    """Share of demand samples (from the generation ranges) in which capacities hold."""
    from optimizer.demand import sample_demand
    from optimizer.location import capacity_reliability

    count = prep.scenario.economics.robustness_samples
    if count <= 0:
        return {}
    samples = sample_demand(
        prep.scenario, samples=count, seed=prep.scenario.solver.seed, network=prep.network
    )
    keyed = samples.set_index(["sample", "point_id", "stream"])["tonnes_per_day"]
    wide = keyed.unstack(["point_id", "stream"])
    order = list(zip(prep.demand["point_id"], prep.demand["stream"], strict=True))
    matrix = wide.reindex(columns=order).to_numpy(dtype=float)
    if np.isnan(matrix).any():
        log.warning("demand samples do not cover every point; robustness not computed")
        return {}
    rel = capacity_reliability(problem, decision, matrix)
    return {
        "robustness": round(rel.share, 4),
        "robustness_samples": rel.samples,
        "worst_overload": round(rel.worst_overload, 3),
    }


def solve_sites(prep: Prepared, *, time_limit_s: float, seed: int) -> SitePlan:
    """Choose which facilities to open; check, appraise and stress-test the choice."""
    from optimizer.location import check_sites, solve_facility

    excluded, zones, warnings = siting_exclusions(prep.scenario)
    problem = facility_problem(prep, excluded)
    decision = solve_facility(
        problem, model=prep.scenario.solver.location_model, time_limit_s=time_limit_s, seed=seed
    )
    issues = check_sites(problem, decision)
    if issues:
        raise VerificationError("site plan failed the independent check: " + "; ".join(issues[:10]))
    kpis, notes = _economics(prep, problem, decision)
    kpis |= _robustness(prep, problem, decision)
    if not prep.scenario.residential and not prep.scenario.water:
        warnings.append(
            "No residential or water layers given: sanitary protection zones were not checked."
        )
    return SitePlan(problem, decision, excluded, zones, kpis, notes, warnings)
