"""Site options compared by the collection routes they induce (``location_model = "routes"``).

The tonne-km site models see waste, not trucks. Here every *option* (a set of
candidate sites to open; existing sites as the model decides) is solved and
appraised by the scenario's site model with exactly that set open. Options are
ranked by an estimate of the fleet they need: each due stop's share of a round trip
to its nearest accepting open site, in truck hours and km (continuous approximation;
the tour between stops barely depends on the sites and is left out). The best few
are then routed for plan day 1 with the routing engines and verified, and the option
with the fewest unserved stops, then the lowest present cost with the routed fleet,
is the plan. Every option's figures go into the plan (``site_options``).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from optimizer import progress
from optimizer.errors import InfeasibleError, InputError, VerificationError
from optimizer.plan_types import SiteOption
from optimizer.routing import RoutePlan, RoutingProblem, verify_routes
from optimizer.routing.cost import route_cost
from optimizer.stages.calendar import Calendar, fixed_calendar
from optimizer.stages.prepare import Location, Prepared
from optimizer.stages.routes import routing_problem, solve_day_routes
from optimizer.stages.sites import (
    SitePlan,
    present_cost_with_fleet,
    siting_exclusions,
    solve_sites,
)

log = logging.getLogger("optimizer")

#: Up to this many candidates every subset is an option (2^6 = 64 site models).
MAX_ENUMERATED_CANDIDATES = 6
#: Options routed with the engines (the best by the fleet estimate).
ROUTED_OPTIONS = 3
#: Share of the stage's time for the site models of all options (the rest routes).
SITE_MODELS_SHARE = 0.15
MIN_ROUTE_S = 2.0


@dataclass(frozen=True)
class RoutedDay:
    """What the fleet needs on plan day 1 under one option."""

    trucks: int
    km: float
    hours: float
    cost_kzt: float
    unserved: int
    present_cost_kzt: float


@dataclass(frozen=True)
class Option:
    """One site option: the candidates it opens and what is known of it so far."""

    candidates: tuple[str, ...]
    sites: SitePlan | None = None
    refused: str = ""  # why the site model, the estimate or the routes found no plan
    estimate_kzt_per_day: float | None = None
    routed: RoutedDay | None = None
    day_one: DayOne | None = None  # the routes behind ``routed``


@dataclass(frozen=True)
class DayOne:
    """Day 1 as routed for the chosen option, ready for the plan when it serves every
    stop (or the scenario allows unserved ones): the plan then does not route it again."""

    problem: RoutingProblem
    plan: RoutePlan
    node_loc: list[Location]


def candidate_ids(prep: Prepared) -> list[str]:
    """Candidate sites the zones allow (existing sites are not options but always there)."""
    excluded, _, _ = siting_exclusions(prep.scenario)
    return [
        f.id
        for f in prep.scenario.facilities
        if f.state == "candidate" and f.id not in excluded and not f.must_stay_open
    ]


def option_sets(prep: Prepared, *, seconds: float, seed: int) -> list[frozenset[str]]:
    """Every subset of the candidates when there are few; otherwise the tonne-km
    optimum (solved here within ``seconds``) and every set one candidate away from it."""
    candidates = candidate_ids(prep)
    if len(candidates) <= MAX_ENUMERATED_CANDIDATES:
        return [
            frozenset(c)
            for k in range(len(candidates) + 1)
            for c in itertools.combinations(candidates, k)
        ]
    free = solve_sites(prep, time_limit_s=seconds, seed=seed)
    optimum = frozenset(free.decision.open_ids) & set(candidates)
    return [optimum] + [optimum ^ {c} for c in candidates]


def fleet_estimate(prep: Prepared, open_ids: set[str], calendar: Calendar) -> float | None:
    """KZT a day the fleet spends taking day 1's loads (on ``calendar``) to the open sites
    (None when a stop's stream has no open site or no truck)."""
    problem, _ = routing_problem(prep, open_ids, day=1, calendar=calendar)
    return stem_cost(problem)


def stem_cost(problem: RoutingProblem) -> float | None:
    """Each stop's share of a round trip to its nearest accepting facility, priced at
    the first truck allowed to carry it: hours (with a share of its truck-day) and km.
    None when a stop has no such truck or facility."""
    p = problem
    total = 0.0
    for s in p.stops:
        trucks = [v for v in p.vehicles if p.vehicle_may_serve(v, s)]
        sites = [f for f in p.facilities if p.stream[s] in p.facility_streams.get(f, ())]
        if not trucks or not sites:
            return None
        v = trucks[0]
        trip_s = [int(p.time_s[s, f]) + int(p.time_s[f, s]) + int(p.service_s[f]) for f in sites]
        best = int(np.argmin(trip_s))
        trip_m = int(p.distance_m[s, sites[best]]) + int(p.distance_m[sites[best], s])
        share = max(
            float(p.demand_kg[s]) / v.capacity_kg if v.capacity_kg else 0.0,
            float(p.demand_l[s]) / v.capacity_l if v.capacity_l else 0.0,
        )
        per_s = v.cost_per_h / 3600.0 + v.fixed_cost / max(v.shift_s, 1)
        total += share * (trip_s[best] * per_s + trip_m * v.cost_per_km / 1000.0)
    return total


def _route_cost(problem: RoutingProblem, plan: RoutePlan) -> float:
    by_id = {v.id: v for v in problem.vehicles}
    return sum(
        route_cost(by_id[r.vehicle_id], r.distance_m, r.duration_s) for r in plan.routes if r.stops
    )


def _routed(
    prep: Prepared, option: Option, calendar: Calendar, seconds: float, seed: int
) -> Option:
    """The option with its day-1 routes on ``calendar`` measured (stops the fleet cannot
    serve counted)."""
    assert option.sites is not None
    solver = prep.scenario.solver.model_copy(update={"allow_unserved": True})
    listing = dataclasses.replace(
        prep, scenario=prep.scenario.model_copy(update={"solver": solver})
    )
    open_ids = set(option.sites.decision.open_ids)
    try:
        problem, plan, node_loc = solve_day_routes(
            listing, open_ids, time_limit_s=seconds, seed=seed, calendar=calendar
        )
    except (InfeasibleError, InputError, VerificationError) as exc:
        return dataclasses.replace(option, refused=f"routes: {exc}")
    cost = _route_cost(problem, plan)
    day = RoutedDay(
        trucks=plan.vehicles_used,
        km=plan.distance_m / 1000,
        hours=sum(r.duration_s for r in plan.routes if r.stops) / 3600,
        cost_kzt=cost,
        unserved=len(plan.unserved),
        present_cost_kzt=present_cost_with_fleet(prep.scenario, option.sites.kpis, cost),
    )
    return dataclasses.replace(option, routed=day, day_one=DayOne(problem, plan, node_loc))


def _estimated_present_cost(prep: Prepared, option: Option) -> float:
    assert option.sites is not None and option.estimate_kzt_per_day is not None
    return present_cost_with_fleet(prep.scenario, option.sites.kpis, option.estimate_kzt_per_day)


def _site_plan(
    prep: Prepared, candidates: frozenset[str], calendar: Calendar, seconds: float, seed: int
) -> Option:
    """The option's site plan and fleet estimate, or why it has none."""
    names = tuple(sorted(candidates))
    try:
        sites = solve_sites(prep, time_limit_s=seconds, seed=seed, fixed=candidates)
    except (InfeasibleError, InputError, VerificationError) as exc:
        return Option(names, refused=f"site model: {exc}")
    estimate = fleet_estimate(prep, set(sites.decision.open_ids), calendar)
    if estimate is None:
        return Option(names, sites, "a stream has no open site or no truck that may carry it")
    return Option(names, sites, estimate_kzt_per_day=estimate)


def day_one_for_plan(
    prep: Prepared, day_one: DayOne | None, open_ids: set[str], calendar: Calendar
) -> DayOne | None:
    """The chosen option's day-1 routes as the plan's day 1: only when the plan's own
    day-1 problem (its calendar, its drop rule) has the same stops and loads, and the
    routes pass the verifier against that problem; None otherwise (the plan then
    routes day 1 itself)."""
    if day_one is None:
        return None
    if day_one.plan.unserved and not prep.scenario.solver.allow_unserved:
        return None
    problem, node_loc = routing_problem(prep, open_ids, day=1, calendar=calendar)
    old = day_one.problem
    same = (
        problem.node_ids == old.node_ids
        and problem.kind == old.kind
        and problem.stream == old.stream
        and np.array_equal(problem.demand_kg, old.demand_kg)
        and np.array_equal(problem.demand_l, old.demand_l)
    )
    if not same or verify_routes(problem, day_one.plan):
        return None
    return DayOne(problem, day_one.plan, node_loc)


def sites_and_day_one(
    prep: Prepared, *, time_limit_s: float, seed: int
) -> tuple[SitePlan, DayOne | None]:
    """The site plan whose induced day-1 routes serve the most stops at the least present
    cost with the fleet, among the options (see the module; its ``options`` list all),
    and the chosen option's day-1 routes."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    # a one-day plan's calendar: the hash, within each point's own days (a point whose
    # own days no calendar meets is an input error, raised here, not an option refused)
    calendar = fixed_calendar(prep)
    sets = option_sets(prep, seconds=max(1.0, SITE_MODELS_SHARE * time_limit_s / 4), seed=seed)
    per_model = max(1.0, SITE_MODELS_SHARE * time_limit_s / max(len(sets), 1))
    options: list[Option] = []
    for k, candidates in enumerate(sets):
        progress.report(f"site option {k + 1} of {len(sets)}: site model…")
        options.append(_site_plan(prep, candidates, calendar, per_model, seed))
    ranked = sorted(
        (o for o in options if o.estimate_kzt_per_day is not None),
        key=lambda o: _estimated_present_cost(prep, o),
    )
    if not ranked:
        reasons = "; ".join(sorted({o.refused for o in options}))
        raise InfeasibleError(f"no site option gives a plan the fleet can run ({reasons})")
    chosen_for_routes = ranked[:ROUTED_OPTIONS]
    for k, option in enumerate(chosen_for_routes):
        left = deadline - time.perf_counter()
        seconds = max(MIN_ROUTE_S, left / (len(chosen_for_routes) - k))
        progress.report(
            f"site option {', '.join(option.candidates) or 'no new site'}: routes ({seconds:.0f} s)…"
        )
        routed = _routed(prep, option, calendar, seconds, seed)
        options[options.index(option)] = routed
    tried = [o for o in options if o.routed is not None]
    if not tried:
        reasons = "; ".join(o.refused for o in options if o.refused)
        raise InfeasibleError(f"no site option could be routed ({reasons})")
    best = min(
        tried,
        key=lambda o: (
            (o.routed.unserved, o.routed.present_cost_kzt)  # type: ignore[union-attr]
            if o.routed is not None
            else (0, 0.0)
        ),
    )
    assert best.sites is not None
    log.info(
        "site options: %d appraised, %d routed; chosen: %s",
        len(options),
        len(tried),
        ", ".join(best.candidates) or "no new site",
    )
    records = [_record(prep, o, o is best) for o in options]
    plan = dataclasses.replace(
        best.sites,
        options=records,
        assumptions=[*best.sites.assumptions, _method_note(len(options), len(tried))],
    )
    return plan, best.day_one


def _method_note(appraised: int, routed: int) -> str:
    return (
        f"Sites chosen by the routes they induce: {appraised} site options appraised by the "
        f"site model, ranked by an estimate of the fleet they need; the best {routed} routed "
        "for day 1 with the routing engines; chosen: fewest unserved stops, then the lowest "
        "present cost with the routed fleet."
    )


def _record(prep: Prepared, o: Option, chosen: bool) -> SiteOption:
    """One option as plan.json lists it."""
    kpis = o.sites.kpis if o.sites is not None and o.sites.kpis is not None else None
    day = o.routed
    status: Literal["chosen", "routed", "estimated", "refused"]
    if chosen:
        status = "chosen"
    elif day is not None:
        status = "routed"
    elif o.estimate_kzt_per_day is not None:
        status = "estimated"
    else:
        status = "refused"
    return {
        "candidates_opened": list(o.candidates),
        "open": list(o.sites.decision.open_ids) if o.sites is not None else [],
        "status": status,
        "reason": o.refused,
        "capex_kzt": None if kpis is None else int(kpis["capex_kzt"]),
        "npv_kzt": None if kpis is None else int(kpis["npv_kzt"]),
        "fleet_estimate_kzt_per_day": None
        if o.estimate_kzt_per_day is None
        else round(o.estimate_kzt_per_day),
        "trucks": None if day is None else day.trucks,
        "driver_h": None if day is None else round(day.hours, 1),
        "route_km": None if day is None else round(day.km, 1),
        "route_cost_kzt": None if day is None else round(day.cost_kzt),
        "unserved_stops": None if day is None else day.unserved,
        "present_cost_with_fleet_kzt": None if day is None else round(day.present_cost_kzt),
    }
