"""Stage 2: the facility-location problem of a scenario, solved and checked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon, mapping
from shapely.geometry.base import BaseGeometry

from optimizer.demand import sample_demand
from optimizer.errors import InputError, Problem, VerificationError
from optimizer.location import (
    Candidate,
    EconomicInputs,
    FacilityProblem,
    PlanEconomics,
    SiteDecision,
    SitingRules,
    Tier,
    TwoTierDecision,
    TwoTierProblem,
    appraise,
    capacity_reliability,
    chance_constrained_plan,
    check_sites,
    check_two_tier,
    evaluate_plan,
    exclude_candidates,
    robust_two_tier,
    solve_facility,
    solve_two_tier,
    two_tier_reliability,
)
from optimizer.location.economics import npv
from optimizer.location.problem import Model, Status
from optimizer.location.siting import local_projection
from optimizer.plan_types import (
    MultiPolygonGeometry,
    PolygonGeometry,
    SiteKpis,
    SiteOption,
    Zone,
)
from optimizer.scenario import District, FacilitySpec, Scenario
from optimizer.stages.prepare import Location, Prepared

FloatArray = npt.NDArray[np.float64]

log = logging.getLogger("optimizer")
DAYS_PER_YEAR = 365.0
#: Sites waste is delivered to first, whose residue goes on (two-tier model).
TIER1_TYPES = ("sorting", "transfer", "composting")
#: Final destinations: landfill (takes residue), treatment, recycler.
TIER2_TYPES = ("landfill", "treatment", "recycler")


class PointStream(NamedTuple):
    """One row of the site models: a collection point's waste of one stream."""

    point_id: str
    stream: str


def client_id(client: PointStream) -> str:
    """The site models' id of a point-stream: opaque, never parsed back.

    The location models take any unique strings as client ids; the stage keeps the
    typed :class:`PointStream` beside them (:attr:`SitePlan.clients`).
    """
    return f"{client.point_id}|{client.stream}"


def point_streams(prep: Prepared) -> tuple[PointStream, ...]:
    """The point-stream rows of the demand table, in its order."""
    return tuple(
        PointStream(str(p), str(s))
        for p, s in zip(prep.demand["point_id"], prep.demand["stream"], strict=True)
    )


@dataclass(frozen=True)
class SitePlan:
    """The outcome of the site stage: the problem, the checked decision and its appraisal."""

    problem: FacilityProblem | TwoTierProblem
    decision: SiteDecision  # two-tier flows folded in
    excluded: dict[str, str] = field(default_factory=dict)  # facility id -> reason
    # Two-tier model: residue hauled from a tier-1 site to a landfill, t/day.
    residue: dict[tuple[str, str], float] = field(default_factory=dict)
    zones: list[Zone] = field(default_factory=list)  # plan.json "zones"
    kpis: SiteKpis | None = None  # merged into plan.json "kpis"
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The point-stream behind each client id of ``decision.assignment``.
    clients: dict[str, PointStream] = field(default_factory=dict)
    #: ``location_model = "routes"``: every site option appraised (plan.json "site_options").
    options: list[SiteOption] = field(default_factory=list)

    def catchments(self) -> dict[str, list[str]]:
        """Facility id → the collection points delivering to it, first-seen order."""
        out: dict[str, list[str]] = {}
        for client, fac_id in self.decision.assignment.items():
            points = out.setdefault(fac_id, [])
            point_id = self.clients[client].point_id
            if point_id not in points:
                points.append(point_id)
        return out


def _geojson(shape: BaseGeometry) -> PolygonGeometry | MultiPolygonGeometry:
    """A zone's GeoJSON geometry with lists, as plan.json holds it (shapely gives tuples)."""

    def lists(value: object) -> object:
        return [lists(v) for v in value] if isinstance(value, list | tuple) else value

    geometry = mapping(shape)
    return cast(
        PolygonGeometry | MultiPolygonGeometry,
        {"type": geometry["type"], "coordinates": lists(geometry["coordinates"])},
    )


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


def siting_exclusions(scenario: Scenario) -> tuple[dict[str, str], list[Zone], list[str]]:
    """Candidates inside sanitary protection zones, the zones to draw, and warnings.

    Existing facilities are never excluded (they exist), but a warning names any
    that sit inside a zone.
    """
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
    zones: list[Zone] = []
    if width_m > 0:
        lon0 = float(np.mean([f.lon for f in scenario.facilities]))
        lat0 = float(np.mean([f.lat for f in scenario.facilities]))
        fwd = local_projection(lon0, lat0)
        back = _inverse_projection(lon0, lat0)
        for kind, layer, factor in (
            ("residential", residential, 1.0),
            ("water", water, spec.water_factor),
        ):
            shapes = _zone_shapes(layer, width_m * factor, fwd, back)
            for name, zone in shapes:
                zones.append(
                    {
                        "id": f"Z{len(zones) + 1}",
                        "kind": "sanitary_protection",
                        "reason": f"{width_m * factor:,.0f} m around {kind} {name} ({source})",
                        "geometry": _geojson(zone),
                    }
                )
    return excluded, zones, warnings


#: Above this many areas in a layer, its zones are drawn merged into one.
MERGE_ZONES_ABOVE = 25


def _zone_shapes(
    layer: dict[str, Polygon],
    width_m: float,
    fwd: Callable[[FloatArray], FloatArray],
    back: Callable[[FloatArray], FloatArray],
) -> list[tuple[str, BaseGeometry]]:
    """The protection zone around each area of a layer, named; a large layer (a city's
    rivers and ponds) as one merged zone so the map and plan stay light."""
    coarse = len(layer) > MERGE_ZONES_ABOVE  # merged anyway: fewer arc vertices
    buffered = {
        name: shapely.transform(poly, fwd).buffer(width_m, quad_segs=4 if coarse else 16)
        for name, poly in layer.items()
    }
    if not coarse:
        return [
            (f"area '{name}'", shapely.transform(zone.simplify(20.0), back))
            for name, zone in buffered.items()
        ]
    named = sorted({n for n in layer if not n.split()[-1].isdigit()})
    examples = ", ".join(named[:3]) + (", …" if len(named) > 3 else "")
    merged = shapely.union_all(list(buffered.values())).simplify(50.0)
    label = f"areas ({len(layer)}{': ' + examples if examples else ''})"
    return [(label, shapely.transform(merged, back))]


def _inverse_projection(lon0: float, lat0: float) -> Callable[[FloatArray], FloatArray]:
    """Metres back to lon/lat for the same local projection as the siting rules."""
    from pyproj import Transformer

    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m +datum=WGS84"
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def back(xy: FloatArray) -> FloatArray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return back


def location_model(scenario: Scenario) -> str:
    """The site model to solve: ``auto`` picks two tiers when residue has somewhere to go."""
    chosen = scenario.solver.location_model
    if chosen not in ("auto", "routes"):  # routes: options of the auto model, routed
        return chosen
    types = {f.type for f in scenario.facilities}
    return "two-tier" if types & set(TIER1_TYPES) and "landfill" in types else "cflp"


def _points(ids: Sequence[object]) -> list[Location]:
    return [Location("point", str(p)) for p in ids]


def _facilities(ids: Sequence[str]) -> list[Location]:
    return [Location("facility", f) for f in ids]


def _km(prep: Prepared, origins: list[Location], destinations: list[Location]) -> FloatArray:
    """Road km between two lists of locations."""
    rows = [prep.location_index[k] for k in origins]
    cols = [prep.location_index[k] for k in destinations]
    km: FloatArray = prep.matrix.distance_m[np.ix_(rows, cols)] / 1000.0
    return km


def point_facility_km(prep: Prepared) -> FloatArray:
    """Road km from every point-stream row of the demand to every facility."""
    return _km(
        prep,
        _points(list(prep.demand["point_id"])),
        _facilities([f.id for f in prep.scenario.facilities]),
    )


def _budget_cost(fac: FacilitySpec) -> float:
    """Capex counted against the budget: what building the site would cost (0 if it exists)."""
    return 0.0 if fac.state == "existing" else float(fac.capex_kzt)


def _size_groups(facilities: list[FacilitySpec]) -> npt.NDArray[np.int64]:
    """One integer per facility: its size-option group, or -1."""
    names = {
        g: k for k, g in enumerate(dict.fromkeys(f.size_group for f in facilities if f.size_group))
    }
    return np.array([names.get(f.size_group, -1) for f in facilities], dtype=np.int64)


def present_cost_with_fleet(
    scenario: Scenario, site: SiteKpis | None, route_kzt_per_day: float
) -> float:
    """Capex, site opex, the residue haul and the routed fleet's daily cost x 365 over
    the horizon, discounted, the fleet and haul growing with demand (positive = cost).
    The routes replace the site model's tonne-km estimate of collection."""
    if site is None:
        return float("nan")
    haul = float(site.get("residue_haul_tkm_per_year") or 0) * _haul_rate(scenario)
    econ = scenario.economics
    return npv(
        float(site["capex_kzt"]),
        float(site["opex_kzt_per_year"]),
        route_kzt_per_day * DAYS_PER_YEAR + haul,
        years=econ.horizon_years,
        rate=econ.discount_rate,
        growth=econ.demand_growth,
    )


def _may_open(fac: FacilitySpec, excluded: Mapping[str, str], fixed: frozenset[str] | None) -> bool:
    """Whether the model may open ``fac``: not excluded, and with a fixed candidate set
    ``fixed`` (a site option), a candidate only when the set names it."""
    if fac.id in excluded:
        return False
    if fac.must_stay_open:  # a decided investment is part of every option
        return True
    return fixed is None or fac.state != "candidate" or fac.id in fixed


def _must_open(fac: FacilitySpec, fixed: frozenset[str] | None) -> bool:
    return fac.must_stay_open or (fixed is not None and fac.id in fixed)


def facility_problem(
    prep: Prepared,
    excluded: dict[str, str] | None = None,
    fixed: frozenset[str] | None = None,
) -> FacilityProblem:
    """The location model of a scenario: point-stream rows × facilities, cost per day.

    Serving one tonne of a point from a facility costs the road distance to it times
    the transport rate plus the gate fee; opening a facility costs its yearly fixed
    cost spread over 365 days. ``fixed``: exactly these candidates open (a site option).
    """
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
        client_ids=tuple(client_id(c) for c in point_streams(prep)),
        facility_ids=tuple(f.id for f in sc.facilities),
        demand=prep.demand["tonnes_per_day"].to_numpy(dtype=float),
        cost=cost,
        fixed_cost=np.array([f.fixed_cost_kzt_per_year / 365.0 for f in sc.facilities]),
        capacity=np.array([f.capacity_t_per_day for f in sc.facilities]),
        must_open=np.array([_must_open(f, fixed) for f in sc.facilities]),
        may_open=np.array([_may_open(f, excluded or {}, fixed) for f in sc.facilities]),
        p=sc.solver.p,
        single_source=True,
        budget=sc.economics.capex_budget_kzt,
        budget_cost=np.array([_budget_cost(f) for f in sc.facilities]),
        group=_size_groups(list(sc.facilities)),
    )


def _economics(
    prep: Prepared, problem: FacilityProblem, decision: SiteDecision
) -> tuple[SiteKpis, list[str]]:
    """Capex, opex, present cost, tonne-km and CO2e of the site plan, per year."""
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
    kpis = _kpis(econ, recycled, landfilled, float(problem.demand.sum()))
    return kpis, [*_npv_note(inputs), *econ.assumptions]


def _kpis(econ: PlanEconomics, recycled: float, landfilled: float, generated: float) -> SiteKpis:
    """The site KPIs of plan.json from an appraisal and the daily tonnages."""
    return {
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


def _npv_note(inputs: EconomicInputs) -> list[str]:
    return [
        f"Present cost (NPV) over {inputs.horizon_years} years at {inputs.discount_rate:.0%} "
        f"discount and {inputs.demand_growth:.0%} yearly demand growth; positive = cost."
    ]


def _demand_samples(prep: Prepared) -> tuple[list[tuple[str, str]], FloatArray] | None:
    """Demand samples from the generation ranges as (point, stream) columns, or None."""
    count = prep.scenario.economics.robustness_samples
    if count <= 0:
        return None
    samples = sample_demand(
        prep.scenario, samples=count, seed=prep.scenario.solver.seed, network=prep.network
    )
    keyed = samples.set_index(["sample", "point_id", "stream"])["tonnes_per_day"]
    wide = keyed.unstack(["point_id", "stream"])
    order = list(zip(prep.demand["point_id"], prep.demand["stream"], strict=True))
    matrix = wide.reindex(columns=order).to_numpy(dtype=float)
    if np.isnan(matrix).any():
        log.warning("demand samples do not cover every point; robustness not computed")
        return None
    return order, matrix


def _robustness(
    prep: Prepared, problem: FacilityProblem, decision: SiteDecision
) -> dict[str, float]:
    """Share of demand samples (from the generation ranges) in which capacities hold."""
    samples = _demand_samples(prep)
    if samples is None:
        return {}
    rel = capacity_reliability(problem, decision, samples[1])
    return {
        "robustness": round(rel.share, 4),
        "robustness_samples": rel.samples,
        "worst_overload": round(rel.worst_overload, 3),
    }


def _haul_rate(sc: Scenario) -> float:
    """KZT per tonne-km of residue haul: its own rate, else the collection rate."""
    haul = sc.solver.residue_haul_kzt_per_t_km
    return sc.solver.transport_cost_kzt_per_t_km if haul is None else haul


def two_tier_problem(
    prep: Prepared,
    excluded: dict[str, str] | None = None,
    fixed: frozenset[str] | None = None,
) -> TwoTierProblem:
    """The two-tier model of a scenario, cost per day (``fixed``: exactly these
    candidates open).

    Tier 1 = transfer, sorting and composting sites; tier 2 = landfills (which take
    residue), treatment plants and recyclers. A tonne costs road km × the collection
    rate plus the gate fee of the site it enters; residue costs km × the haul rate plus
    the landfill's gate fee. Points may also deliver straight to tier 2.
    """
    sc = prep.scenario
    excluded = excluded or {}
    demand = prep.demand
    points = list(dict.fromkeys(str(p) for p in demand["point_id"]))
    streams = [st.id for st in sc.streams]
    pidx = {p: i for i, p in enumerate(points)}
    sidx = {st: k for k, st in enumerate(streams)}
    supply = np.zeros((len(points), len(streams)))
    np.add.at(
        supply,
        (
            np.array([pidx[str(p)] for p in demand["point_id"]], dtype=np.int64),
            np.array([sidx[str(st)] for st in demand["stream"]], dtype=np.int64),
        ),
        demand["tonnes_per_day"].to_numpy(dtype=float),
    )
    idx1 = [j for j, f in enumerate(sc.facilities) if f.type in TIER1_TYPES]
    idx2 = [j for j, f in enumerate(sc.facilities) if f.type in TIER2_TYPES]

    def tier(idx: list[int], recovery: bool) -> Tier:
        facs = [sc.facilities[j] for j in idx]
        accepts = np.array(
            [[stream_allowed(sc, st, j) for st in streams] for j in idx], dtype=bool
        ).reshape(len(idx), len(streams))
        return Tier(
            ids=tuple(f.id for f in facs),
            kind=tuple(f.type for f in facs),
            accepts=accepts,
            capacity=np.array([f.capacity_t_per_day for f in facs]),
            fixed_cost=np.array([f.fixed_cost_kzt_per_year / DAYS_PER_YEAR for f in facs]),
            must_open=np.array([_must_open(f, fixed) for f in facs], dtype=bool),
            may_open=np.array([_may_open(f, excluded, fixed) for f in facs], dtype=bool),
            recovery=accepts * np.array([[f.recovery_rate] for f in facs]).reshape(-1, 1)
            if recovery
            else None,
            group=_size_groups(facs),
            budget_cost=np.array([_budget_cost(f) for f in facs]),
            # sorting residue is mixed waste: only a landfill licensed for a mixed
            # (msw) stream takes it, not e.g. a bulky-waste landfill (any landfill when
            # the scenario names no stream's kind)
            accepts_residue=None
            if recovery or not mixed
            else np.array(
                [f.type == "landfill" and any(s in mixed for s in f.accepts) for f in facs],
                dtype=bool,
            ),
        )

    mixed = {st.id for st in sc.streams if st.kind == "msw"}
    t1, t2 = tier(idx1, True), tier(idx2, False)
    rate = sc.solver.transport_cost_kzt_per_t_km
    haul = _haul_rate(sc)
    pt_keys = _points(points)
    keys1 = _facilities([sc.facilities[j].id for j in idx1])
    keys2 = _facilities([sc.facilities[j].id for j in idx2])
    gate1 = np.array([sc.facilities[j].gate_fee_kzt_per_t for j in idx1])
    gate2 = np.array([sc.facilities[j].gate_fee_kzt_per_t for j in idx2])
    return TwoTierProblem(
        point_ids=tuple(points),
        streams=tuple(streams),
        supply=supply,
        tier1=t1,
        tier2=t2,
        cost1=_km(prep, pt_keys, keys1) * rate + gate1[None, :],
        cost2=_km(prep, keys1, keys2) * haul + gate2[None, :],
        direct_cost=_km(prep, pt_keys, keys2) * rate + gate2[None, :],
        min_recycling_rate=sc.siting.min_recycling_rate,
        budget=sc.economics.capex_budget_kzt,
    )


def fold_two_tier(problem: TwoTierProblem, d: TwoTierDecision) -> SiteDecision:
    """The two-tier decision seen as a single-tier one: where each point-stream goes.

    Residue arriving at a landfill counts in its load, so capacity use is complete.
    """
    P = problem
    pidx = {p: i for i, p in enumerate(P.point_ids)}
    sidx = {st: k for k, st in enumerate(P.streams)}
    flows: dict[str, dict[str, float]] = {}
    load: dict[str, float] = {}
    for (p, f, st), t in (*d.to_tier1.items(), *d.to_tier2.items()):
        share = t / float(P.supply[pidx[p], sidx[st]])
        client = flows.setdefault(client_id(PointStream(p, st)), {})
        client[f] = client.get(f, 0.0) + share
        load[f] = load.get(f, 0.0) + t
    for (_, g), t in d.residue.items():
        load[g] = load.get(g, 0.0) + t
    return SiteDecision(
        status=cast(Status, d.status),
        model="two-tier",
        objective=d.objective,
        bound=d.bound,
        gap=d.gap,
        runtime_s=d.runtime_s,
        open_ids=(*d.open_tier1, *d.open_tier2),
        assignment={c: max(fl, key=lambda f: fl[f]) for c, fl in flows.items()},
        flows=flows,
        load=load,
        solver=d.solver,
        stats={"residue_t_per_day": float(sum(d.residue.values()))},
    )


def _two_tier_economics(
    prep: Prepared, problem: TwoTierProblem, d: TwoTierDecision
) -> tuple[SiteKpis, list[str]]:
    """Capex, opex, NPV, tonne-km (collection and residue haul) and CO2e per year."""
    sc = prep.scenario
    by_id = {f.id: f for f in sc.facilities}
    rate = sc.solver.transport_cost_kzt_per_t_km
    haul = _haul_rate(sc)
    index, metres = prep.location_index, prep.matrix.distance_m
    collect_tkm = sum(
        t * float(metres[index[Location("point", p)], index[Location("facility", f)]]) / 1000.0
        for (p, f, _), t in (*d.to_tier1.items(), *d.to_tier2.items())
    )
    haul_tkm = sum(
        t * float(metres[index[Location("facility", f)], index[Location("facility", g)]]) / 1000.0
        for (f, g), t in d.residue.items()
    )
    landfilled = sum(t for (_, g), t in d.residue.items() if by_id[g].type == "landfill") + sum(
        t for (_, f, _), t in d.to_tier2.items() if by_id[f].type == "landfill"
    )
    opened = (*d.open_tier1, *d.open_tier2)
    inputs = EconomicInputs(
        horizon_years=sc.economics.horizon_years,
        discount_rate=sc.economics.discount_rate,
        demand_growth=sc.economics.demand_growth,
        transport_kzt_per_tkm=rate,
    )
    econ = appraise(
        capex_kzt=float(sum(by_id[f].capex_kzt for f in opened)),
        opex_kzt_per_year=float(sum(by_id[f].opex_kzt_per_year for f in opened)),
        transport_tkm_per_year=(collect_tkm + haul_tkm) * DAYS_PER_YEAR,
        transport_kzt_per_year=(collect_tkm * rate + haul_tkm * haul) * DAYS_PER_YEAR,
        landfilled_t_per_year=landfilled * DAYS_PER_YEAR,
        recycled_t_per_year=d.recycled_t * DAYS_PER_YEAR,
        inputs=inputs,
    )
    kpis = _kpis(econ, d.recycled_t, landfilled, float(problem.supply.sum()))
    kpis |= {
        "residue_t_per_day": round(float(sum(d.residue.values())), 2),
        "residue_haul_tkm_per_year": round(haul_tkm * DAYS_PER_YEAR),
    }
    notes = [
        *_npv_note(inputs),
        f"Residue haul from transfer/sorting sites to landfills at {haul:g} KZT per tonne-km"
        + (" (same as collection: no separate rate given)." if haul == rate else "."),
        *econ.assumptions,
    ]
    if sc.siting.min_recycling_rate:
        notes.append(
            f"Constraint: at least {sc.siting.min_recycling_rate:.0%} of generated waste recovered."
        )
    return kpis, notes


def _supply_cube(prep: Prepared, problem: TwoTierProblem) -> FloatArray | None:
    """Demand samples shaped (samples, points, streams) for the two-tier model."""
    samples = _demand_samples(prep)
    if samples is None:
        return None
    keys, matrix = samples
    pidx = {p: i for i, p in enumerate(problem.point_ids)}
    sidx = {st: k for k, st in enumerate(problem.streams)}
    cube = np.zeros((matrix.shape[0], *problem.supply.shape))
    for c, (p, st) in enumerate(keys):
        cube[:, pidx[str(p)], sidx[str(st)]] += matrix[:, c]
    return cube


def _two_tier_robustness(
    prep: Prepared, problem: TwoTierProblem, d: TwoTierDecision
) -> dict[str, float]:
    """Share of demand samples in which both tiers' capacities hold."""
    cube = _supply_cube(prep, problem)
    if cube is None:
        return {}
    share, worst = two_tier_reliability(problem, d, cube)
    return {
        "robustness": round(share, 4),
        "robustness_samples": int(cube.shape[0]),
        "worst_overload": round(worst, 3),
    }


def _target(prep: Prepared) -> float | None:
    """The robustness to solve for, checked against the sample count."""
    econ = prep.scenario.economics
    if econ.target_robustness is not None and econ.robustness_samples <= 0:
        raise InputError(
            [
                Problem(
                    prep.scenario.source_file,
                    "economics.target_robustness",
                    "needs demand samples, but robustness_samples = 0",
                    "set [economics] robustness_samples to e.g. 50, or drop the target",
                )
            ]
        )
    return econ.target_robustness


def _no_samples(prep: Prepared) -> InputError:
    return InputError(
        [
            Problem(
                prep.scenario.source_file,
                "economics.target_robustness",
                "the demand samples do not cover every collection point",
                "give every point a generation estimate, or drop the target",
            )
        ]
    )


def _solve_two_tier_plan(
    prep: Prepared, problem: TwoTierProblem, time_limit_s: float
) -> tuple[TwoTierDecision, dict[str, float]]:
    """The two-tier decision, robust to the demand samples when a target is set."""
    target = _target(prep)
    if target is None:
        return solve_two_tier(problem, time_limit_s=time_limit_s), {}
    cube = _supply_cube(prep, problem)
    if cube is None:
        raise _no_samples(prep)
    decision, _, alpha = robust_two_tier(problem, cube, target, time_limit_s=time_limit_s)
    return decision, {"robustness_target": target, "demand_inflation": round(alpha, 4)}


def _solve_single_tier_plan(
    prep: Prepared, problem: FacilityProblem, model: str, time_limit_s: float, seed: int
) -> tuple[SiteDecision, dict[str, float]]:
    """The single-tier decision, robust to the demand samples when a target is set."""
    target = _target(prep)
    if target is None or model != "cflp":
        if target is not None:
            log.warning("target_robustness applies to the cflp and two-tier models only")
        decision = solve_facility(
            problem, model=cast(Model, model), time_limit_s=time_limit_s, seed=seed
        )
        return decision, {}
    samples = _demand_samples(prep)
    if samples is None:
        raise _no_samples(prep)
    decision, _, alpha = chance_constrained_plan(
        problem, samples[1], target, time_limit_s=time_limit_s
    )
    return decision, {"robustness_target": target, "demand_inflation": round(alpha, 4)}


def solve_sites(
    prep: Prepared, *, time_limit_s: float, seed: int, fixed: frozenset[str] | None = None
) -> SitePlan:
    """Choose which facilities to open; check, appraise and stress-test the choice.

    ``fixed``: open exactly these candidates (existing sites as the model decides), as
    :mod:`optimizer.stages.site_options` does for each option it appraises.
    """
    excluded, zones, warnings = siting_exclusions(prep.scenario)
    if not prep.scenario.residential and not prep.scenario.water:
        warnings.append(
            "No residential or water layers given: sanitary protection zones were not checked."
        )
    model = location_model(prep.scenario)
    clients = {client_id(c): c for c in point_streams(prep)}
    if model == "two-tier":
        problem = two_tier_problem(prep, excluded, fixed)
        tiers, extra = _solve_two_tier_plan(prep, problem, time_limit_s)
        if tiers.status not in ("optimal", "feasible"):
            raise VerificationError(f"the two-tier site model returned no plan ({tiers.status})")
        issues = check_two_tier(problem, tiers)
        if issues:
            raise VerificationError(
                "two-tier site plan failed the independent check: " + "; ".join(issues[:10])
            )
        kpis, notes = _two_tier_economics(prep, problem, tiers)
        kpis = cast(SiteKpis, {**kpis, **_two_tier_robustness(prep, problem, tiers), **extra})
        decision = fold_two_tier(problem, tiers)
        return SitePlan(
            problem,
            decision,
            excluded=excluded,
            residue=dict(tiers.residue),
            zones=zones,
            kpis=kpis,
            assumptions=notes,
            warnings=warnings,
            clients=clients,
        )
    single = facility_problem(prep, excluded, fixed)
    decision, extra = _solve_single_tier_plan(prep, single, model, time_limit_s, seed)
    issues = check_sites(single, decision)
    if issues:
        raise VerificationError("site plan failed the independent check: " + "; ".join(issues[:10]))
    kpis, notes = _economics(prep, single, decision)
    kpis = cast(SiteKpis, {**kpis, **_robustness(prep, single, decision), **extra})
    return SitePlan(
        single,
        decision,
        excluded=excluded,
        zones=zones,
        kpis=kpis,
        assumptions=notes,
        warnings=warnings,
        clients=clients,
    )
