"""PyVRP as a routing engine: the mapping of a :class:`RoutingProblem` to PyVRP's
``ProblemData``, one search with a deadline, and its solution as a :class:`RoutePlan`.

The mapping (every part exact, or :func:`supports` declines with the reason):

* kilograms and litres are two load dimensions (``pickup``: the load grows along a
  trip); stops some truck may not serve (its ``streams``, ``allowed_vehicles``) get a
  unit load in one extra dimension per set of trucks that may serve them, in which
  every other truck has capacity 0;
* facilities are PyVRP *reload depots* with their unload time and opening hours; a
  truck may unload at those that accept every stream it may carry;
* "unload before the garage": with facilities, the arcs from a stop to a garage cost
  :data:`NO_RETURN` times the longest arc, so every route ends stop → facility →
  garage (PyVRP allows that last, empty trip); a route that still drives home loaded
  is refused when decoded;
* the shift: leave within ``[shift_start_s, + shift_start_flex_s]`` and inside the
  depot's hours (``tw_early``/``start_late``), back by the end of the latest shift
  and the depot's closing (``tw_late``), at most ``shift_s`` long (``shift_duration``);
* fixed, per-km and per-hour costs in integer units of ``1/scale`` of the currency;
* optional stops (``drop_penalty``) are clients with that prize, ``required=False``;
* several depots, a mixed fleet (one vehicle type per group of equal trucks) and
  speed factors (one duration matrix per factor).

Not stated by PyVRP as such:

* driver breaks: the engine solves the problem with room left for them and inserts
  them afterwards (:mod:`breaks`);
* a day capacity across unload trips (PyVRP's loads restart at every unload): held as
  a cap on trips and their loads (:func:`trip_limit`), a restriction, never a
  relaxation;
* a stop limit per day that could bind: left to the verifier, which refuses a plan
  over it (:func:`checked_afterwards`);
* balanced routes and depot service times: declined.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from optimizer.routing import reasons as R
from optimizer.routing.breaks import tightened, timed_route, with_breaks
from optimizer.routing.interrupt import stop_requested
from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, VisitKind

log = logging.getLogger(__name__)

NAME = "pyvrp"
NO_RETURN = 1000  # a stop -> garage arc costs this many times the longest arc
MAX_SCALE = 10**6  # finest cost unit: a millionth of the currency
MAX_UNIT_COST = 10_000  # largest cost of a metre or a second, in cost units
INF = 2**62  # "no limit" for PyVRP integers


def has_breaks(problem: RoutingProblem) -> bool:
    """Whether some truck of the problem takes a driver break."""
    return any(v.break_window is not None and v.break_s > 0 for v in problem.vehicles)


def _carried(problem: RoutingProblem, vehicle: Vehicle, stops: Sequence[int]) -> set[str | None]:
    """The streams (None for stops without one) this truck may collect."""
    return {problem.stream[s] for s in stops if problem.vehicle_may_serve(vehicle, s)}


def _reload_sites(problem: RoutingProblem, carried: set[str | None]) -> tuple[list[int], bool]:
    """Facilities where a truck carrying ``carried`` may always unload, and whether
    that is exact (no facility accepts only part of what it may carry)."""
    streams = {s for s in carried if s is not None}
    sites, exact = [], True
    for f in problem.facilities:
        accepts = problem.facility_streams.get(f)
        if accepts is None or streams <= accepts:
            sites.append(f)
        elif streams & accepts or None in carried:
            exact = False  # usable for some trips only: PyVRP has no such rule
    return sites, exact


@dataclasses.dataclass(frozen=True)
class TripLimit:
    """A day capacity held as at most ``trips`` loaded trips of at most ``kg``/``litres``
    each: any plan within it keeps the day capacity (a restriction, never a relaxation)."""

    trips: int
    kg: int
    litres: int

    def text(self, vehicle: Vehicle) -> str:
        per_trip = [
            f"{q} {u}"
            for q, cap, u in (
                (self.kg, vehicle.capacity_kg, "kg"),
                (self.litres, vehicle.capacity_l, "l"),
            )
            if q < cap
        ]
        smaller = f" of at most {' and '.join(per_trip)}" if per_trip else ""
        trips = f"{self.trips} trip" + ("s" if self.trips > 1 else "")
        return f"truck {vehicle.id}: day capacity held as at most {trips}{smaller}"


def trip_limit(problem: RoutingProblem, vehicle: Vehicle) -> TripLimit | None:
    """How PyVRP keeps ``vehicle``'s day capacity, or None where it cannot bind.

    PyVRP's loads restart at every unload, so a day capacity is stated as at most
    ``T`` trips of at most ``day // T`` each, which together never exceed the day. ``T``
    keeps the most of both capacities (the smaller of the trip's and the day's share
    kept): Kim's 102 (280 yd3 a trip, 400 a day) gets two trips of 200 (71 % of a
    trip, all the day) rather than one of 280 (70 % of the day); its 2100 (462 and
    2,000) four full trips (92 % of the day) rather than five of 400 (87 % of a trip).
    """
    p = problem
    if not p.facilities:
        return None  # one trip: the per-trip capacity is the day's
    may = [s for s in p.stops if p.vehicle_may_serve(vehicle, s)]
    trips = p.max_unload_trips
    dims = []  # (day, trip capacity, largest stop) where the day capacity can bind
    for day, cap, demand in (
        (vehicle.day_capacity_kg, vehicle.capacity_kg, p.demand_kg),
        (vehicle.day_capacity_l, vehicle.capacity_l, p.demand_l),
    ):
        total = int(demand[may].sum()) if may else 0
        largest = int(demand[may].max()) if may else 0
        binds = day is not None and day < min(cap * trips, total)
        dims.append((day, cap, largest) if binds and day is not None else None)
    if not any(dims):
        return None

    def per_trip(t: int, dim: tuple[int, int, int] | None, cap: int) -> int:
        return cap if dim is None else min(cap, dim[0] // t)

    def kept(t: int) -> float:
        """The smaller share of trip and day capacity kept; -1 when a stop no longer fits."""
        shares = [
            min(per_trip(t, d, d[1]) / max(d[1], 1), t * per_trip(t, d, d[1]) / max(d[0], 1))
            if per_trip(t, d, d[1]) >= d[2]
            else -1.0
            for d in dims
            if d is not None
        ]
        return min(shares)

    best = max(range(1, trips + 1), key=lambda t: (kept(t), -t))
    return TripLimit(
        best,
        per_trip(best, dims[0], vehicle.capacity_kg),
        per_trip(best, dims[1], vehicle.capacity_l),
    )


def stop_limit_may_bind(problem: RoutingProblem, vehicle: Vehicle) -> bool:
    """Whether ``vehicle``'s stop limit could bind: it is below the stops it may serve
    and the services of one more stop than the limit fit in its shift."""
    p = problem
    if vehicle.max_stops is None:
        return False
    may = [s for s in p.stops if p.vehicle_may_serve(vehicle, s)]
    if vehicle.max_stops >= len(may):
        return False
    shortest = np.sort(p.service_s[may])[: vehicle.max_stops + 1]
    breaks = vehicle.break_s if vehicle.break_window is not None else 0
    return int(shortest.sum()) <= vehicle.shift_s - breaks


def checked_afterwards(problem: RoutingProblem) -> list[str]:
    """What the mapping does not state but the verifier checks in PyVRP's plan (a plan
    breaking it is refused and the other engine's is used)."""
    return [
        f"truck {v.id}: the limit of {v.max_stops} stops a day is checked afterwards"
        for v in problem.vehicles
        if stop_limit_may_bind(problem, v)
    ]


def restrictions(problem: RoutingProblem) -> list[str]:
    """Where the mapping is stricter than the problem (its plans stay feasible)."""
    out = []
    for v in problem.vehicles:
        limit = trip_limit(problem, v)
        if limit is not None:
            out.append(limit.text(v))
    return out


def supports(problem: RoutingProblem, *, balance: bool = False) -> str | None:
    """Why PyVRP cannot state ``problem`` exactly (None when it can).

    Driver breaks are not a reason: they are inserted afterwards (see the module); nor
    are day capacities (held by :func:`trip_limit`) and stop limits (checked by the
    verifier, :func:`checked_afterwards`).
    """
    if balance:
        return "balanced route lengths are not in PyVRP's objective"
    stops = problem.stops
    if any(
        int(problem.service_s[v.start]) or int(problem.service_s[v.end]) for v in problem.vehicles
    ):
        return "a depot has a service time, which PyVRP does not give garages"
    for v in problem.vehicles:
        if problem.facilities:
            may = [s for s in stops if problem.vehicle_may_serve(v, s)]
            _, exact = _reload_sites(problem, _carried(problem, v, may))
            if not exact:
                return (
                    f"truck {v.id} may carry streams that some facility accepts only in "
                    "part; PyVRP cannot make a facility depend on what is on board"
                )
    return None


# ------------------------------------------------------------------ mapping
@dataclasses.dataclass(frozen=True)
class Mapping:
    """A problem stated for PyVRP and the maps back to problem nodes."""

    data: Any  # pyvrp.ProblemData
    depot_node: tuple[int, ...]  # PyVRP depot index -> problem node
    client_node: tuple[int, ...]  # PyVRP client index -> problem node
    type_vehicles: tuple[tuple[Vehicle, ...], ...]  # PyVRP vehicle type -> its trucks
    scale: int  # cost units per currency unit


def cost_scale(vehicles: Sequence[Vehicle]) -> int:
    """Integer cost units per currency unit: 1000 (a metre at ``cost_per_km`` costs
    ``cost_per_km`` units), ten times finer while a rate is fractional and every rate
    stays below :data:`MAX_UNIT_COST` (PyVRP's penalties are tuned to small costs)."""
    scale = 1000

    def rates(k: int) -> list[float]:
        return [v.cost_per_km * k / 1000 for v in vehicles] + [
            v.cost_per_h * k / 3600 for v in vehicles
        ]

    while scale < MAX_SCALE and max(rates(scale * 10), default=0) < MAX_UNIT_COST:
        if all(abs(r - round(r)) < 1e-9 for r in rates(scale)):
            break
        scale *= 10
    return scale


def penalty_unit(mapping: Mapping) -> float:
    """What a metre costs on the dearest truck, in cost units (PyVRP's default
    penalties are for distance costing 1 a unit; ours are scaled by this)."""
    return float(max(1, max(vt.unit_distance_cost for vt in mapping.data.vehicle_types())))


def _type_key(v: Vehicle, compat: tuple[int, ...]) -> tuple[Any, ...]:
    fields = dataclasses.asdict(v)
    fields.pop("id")
    fields["streams"] = tuple(sorted(v.streams)) if v.streams is not None else None
    return (*sorted(fields.items()), compat)


def build_data(problem: RoutingProblem, stops: Sequence[int]) -> Mapping:
    """PyVRP ``ProblemData`` for serving ``stops`` (breaks ignored: see :func:`solve`)."""
    import pyvrp

    p = problem
    garages = sorted({v.start for v in p.vehicles} | {v.end for v in p.vehicles})
    facilities = list(p.facilities)
    depot_node = tuple(garages + facilities)
    client_node = tuple(stops)
    nodes = list(depot_node) + list(client_node)
    depot_index = {node: k for k, node in enumerate(depot_node)}
    scale = cost_scale(p.vehicles)

    # compatibility: one extra dimension per set of trucks that may serve a stop
    everyone = frozenset(v.id for v in p.vehicles)
    classes: dict[frozenset[str], int] = {}
    stop_class: list[int | None] = []
    for s in client_node:
        may = frozenset(v.id for v in p.vehicles if p.vehicle_may_serve(v, s))
        if may == everyone:
            stop_class.append(None)
        else:
            stop_class.append(classes.setdefault(may, len(classes)))
    counts = [0] * len(classes)
    for c in stop_class:
        if c is not None:
            counts[c] += 1
    use_kg = bool(len(client_node) and p.demand_kg[list(client_node)].any())
    use_l = bool(len(client_node) and p.demand_l[list(client_node)].any())

    def loads(s: int, c: int | None) -> list[int]:
        out = ([int(p.demand_kg[s])] if use_kg else []) + ([int(p.demand_l[s])] if use_l else [])
        return out + [1 if k == c else 0 for k in range(len(classes))]

    limits = {v.id: trip_limit(p, v) for v in p.vehicles}

    def capacity(v: Vehicle) -> list[int]:
        limit = limits[v.id]
        kg, litres = (limit.kg, limit.litres) if limit else (v.capacity_kg, v.capacity_l)
        out = ([kg] if use_kg else []) + ([litres] if use_l else [])
        return out + [
            n if v.id in members else 0 for members, n in zip(classes, counts, strict=True)
        ]

    # matrices: distances shared, durations per speed factor; no stop -> garage with facilities
    ix = np.ix_(nodes, nodes)
    distance = np.array(p.distance_m[ix], dtype=np.int64)
    np.fill_diagonal(distance, 0)  # PyVRP insists; no route drives from a node to itself
    if facilities and client_node:
        longest = max(1, int(distance.max()))
        first = len(depot_node)
        distance[first:, : len(garages)] = NO_RETURN * longest
    factors = sorted({v.speed_factor for v in p.vehicles})
    travel = np.array(p.time_s[ix], dtype=np.int64)
    np.fill_diagonal(travel, 0)
    durations = [np.ascontiguousarray(np.rint(travel * f).astype(np.int64)) for f in factors]
    distances = [np.ascontiguousarray(distance) for _ in factors]

    depots = [
        pyvrp.Depot(
            location=k,
            tw_early=int(p.time_window[node, 0]),
            tw_late=int(p.time_window[node, 1]),
            service_duration=int(p.service_s[node]) if p.kind[node] == "facility" else 0,
        )
        for k, node in enumerate(depot_node)
    ]
    prize = round((p.drop_penalty or 0) * scale)
    clients = [
        pyvrp.Client(
            location=len(depot_node) + k,
            pickup=loads(s, stop_class[k]),
            service_duration=int(p.service_s[s]),
            tw_early=int(p.time_window[s, 0]),
            tw_late=int(p.time_window[s, 1]),
            prize=prize if p.drop_penalty is not None else 0,
            required=p.drop_penalty is None,
        )
        for k, s in enumerate(client_node)
    ]

    # vehicle types: equal trucks (all but the id) share one
    groups: dict[tuple[Any, ...], list[Vehicle]] = {}
    for v in p.vehicles:
        compat = tuple(int(v.id in members) for members in classes)
        groups.setdefault(_type_key(v, compat), []).append(v)
    types, type_vehicles = [], []
    for members in groups.values():
        v = members[0]
        early, late = p.departure_window(v)
        sites, _ = _reload_sites(p, _carried(p, v, client_node)) if facilities else ([], True)
        limit = limits[v.id]
        trips = limit.trips if limit else p.max_unload_trips
        types.append(
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=capacity(v),
                start_depot=depot_index[v.start],
                end_depot=depot_index[v.end],
                fixed_cost=round(v.fixed_cost * scale),
                tw_early=early,
                start_late=late,
                tw_late=p.return_by(v),
                shift_duration=int(v.shift_s),
                unit_distance_cost=round(v.cost_per_km * scale / 1000),
                unit_duration_cost=round(v.cost_per_h * scale / 3600),
                profile=factors.index(v.speed_factor),
                reload_depots=[depot_index[f] for f in sites],
                max_reloads=trips if sites else 0,
                name=v.id,
            )
        )
        type_vehicles.append(tuple(members))
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=0.0, y=0.0) for _ in nodes],
        clients=clients,
        depots=depots,
        vehicle_types=types,
        distance_matrices=distances,  # type: ignore[arg-type]
        duration_matrices=durations,  # type: ignore[arg-type]
    )
    return Mapping(data, depot_node, client_node, tuple(type_vehicles), scale)


# ------------------------------------------------------------------- search
class _Deadline:
    """PyVRP stopping criterion: a wall-clock deadline (``time.perf_counter``), or a
    stop request (Ctrl-C, :func:`request_stop`), whichever comes first."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: int) -> bool:
        return stop_requested() or time.perf_counter() >= self.deadline


#: Above this many stops the local search looks at fewer neighbours per stop ...
LARGE_STOPS = 400
#: ... this many (PyVRP's default is 50): more iterations in the time limit pay off
#: more than a wider neighbourhood (benchmarks/vrp/README.md, "Fewer neighbours on
#: large instances").
LARGE_NEIGHBOURS = 25


def neighbours_for(num_clients: int) -> int | None:
    """Granular neighbourhood size for a problem of ``num_clients`` stops (None:
    PyVRP's default)."""
    return LARGE_NEIGHBOURS if num_clients > LARGE_STOPS else None


def search(
    mapping: Mapping, deadline: float, seed: int, *, neighbours: int | None = None
) -> Any | None:
    """PyVRP's iterated local search until ``deadline``: its best feasible solution.

    ``neighbours`` overrides the granular neighbourhood size chosen by
    :func:`neighbours_for`.
    """
    import pyvrp
    from pyvrp.exceptions import PenaltyBoundWarning

    unit = penalty_unit(mapping)
    defaults = pyvrp.PenaltyParams()
    size = neighbours if neighbours is not None else neighbours_for(mapping.data.num_clients)
    extra: dict[str, Any] = {}
    if size is not None:
        extra["neighbourhood"] = pyvrp.search.NeighbourhoodParams(num_neighbours=size)
    params = pyvrp.SolveParams(
        penalty=pyvrp.PenaltyParams(
            min_penalty=defaults.min_penalty * unit, max_penalty=defaults.max_penalty * unit
        ),
        **extra,
    )
    with warnings.catch_warnings():  # "penalty at its maximum": we judge by feasibility
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            mapping.data,
            stop=_Deadline(deadline),
            seed=seed,
            collect_stats=False,
            display=False,
            params=params,
        )
    best = result.best
    return best if best.is_feasible() else None


# ------------------------------------------------------------------- decode
def decode(
    problem: RoutingProblem,
    mapping: Mapping,
    solution: Any,
    runtime_s: float,
    unserved: Sequence[tuple[int, str]] = (),
) -> RoutePlan | None:
    """A PyVRP solution as a :class:`RoutePlan` (None when a route cannot be timed or
    drives home loaded)."""
    p = problem
    free = [list(vs) for vs in mapping.type_vehicles]
    routes: list[Route] = []
    served: set[int] = set()
    for r in solution.routes():
        vehicle = free[r.vehicle_type()].pop(0)
        schedule = list(r.schedule())
        nodes: list[tuple[int, VisitKind]] = []
        for k, act in enumerate(schedule):
            if act.is_client():
                node = mapping.client_node[act.idx]
                nodes.append((node, "stop"))
                served.add(node)
            elif k == 0:
                nodes.append((mapping.depot_node[act.idx], "depot_start"))
            elif k == len(schedule) - 1:
                nodes.append((mapping.depot_node[act.idx], "depot_end"))
            else:
                nodes.append((mapping.depot_node[act.idx], "unload"))
        route = timed_route(p, vehicle, nodes, int(r.start_time()))
        if route is None:
            log.info("pyvrp: route of %s cannot be timed", vehicle.id)
            return None
        if p.facilities and (route.visits[-1].load_after_kg or route.visits[-1].load_after_l):
            log.info("pyvrp: route of %s drives home loaded", vehicle.id)
            return None
        routes.append(route)
    left = list(unserved)
    for s in mapping.client_node:
        if s not in served:
            left.append((s, R.fleet_limit(p, s)))
    dropped = len(left) - len(unserved)
    objective = sum(r.cost for r in routes) + (p.drop_penalty or 0) * dropped
    return RoutePlan("feasible", objective, tuple(routes), tuple(left), round(runtime_s, 3))


def solve(
    problem: RoutingProblem,
    time_limit_s: float,
    *,
    seed: int = 0,
    unserved: Sequence[tuple[int, str]] = (),
) -> RoutePlan | None:
    """Route ``problem`` with PyVRP within ``time_limit_s`` (None when no feasible plan).

    Stops in ``unserved`` (pre-solve) are left out. Driver breaks: PyVRP solves the
    problem with the break's room taken from the shift and from the windows closing
    after the break window opens (:func:`breaks.tightened`); the breaks are then
    inserted and the routes retimed (:func:`breaks.with_breaks`). Deterministic for a
    seed up to the time limit; a stop request ends the search (the caller raises).
    """
    t0 = time.perf_counter()
    skip = {s for s, _ in unserved}
    stops = [s for s in problem.stops if s not in skip]
    target = tightened(problem) if has_breaks(problem) else problem
    mapping = build_data(target, stops)
    found = search(mapping, t0 + time_limit_s, seed)
    if found is None:
        return None
    plan = decode(target, mapping, found, time.perf_counter() - t0, unserved)
    if plan is not None and target is not problem:
        plan = with_breaks(problem, plan)
    return plan
