"""Build the OR-Tools routing model of a :class:`RoutingProblem`.

Model nodes are the depots used by the fleet, the stops the model may serve, and
``copies`` of every facility: each copy is an optional unload visit (OR-Tools'
reload pattern). Every capacity dimension gives a stop its demand and an unload
copy ``-big`` with a slack of up to ``big``, so the load drops to anything between
0 and what was on board; routes must end empty when the problem has facilities.
All transits are registered matrices or unary vectors: no Python callbacks.

Cost units inside the model are thousandths of a currency unit: an arc costs
``cost_per_km * metres``, a vehicle ``1000 * fixed_cost``, a second
``cost_per_h / 3.6``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp

from optimizer.routing.problem import IntArray, RoutingProblem, Vehicle

COST_SCALE = 1000
UNLOAD_PENALTY = COST_SCALE  # one currency unit per unload visit


@dataclass
class Model:
    """An OR-Tools routing model and the maps back to the problem."""

    problem: RoutingProblem
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    node_of: IntArray  # model node -> problem node
    stop_nodes: tuple[int, ...]  # problem stops present in the model
    copies: dict[int, list[int]]  # facility -> its model nodes (unload copies)
    time_dim: pywrapcp.RoutingDimension | None
    breaks: dict[int, pywrapcp.IntervalVar] = field(default_factory=dict)
    keep_alive: list[object] = field(default_factory=list)  # callbacks OR-Tools holds

    def index_of_stop(self, stop: int) -> int:
        """Routing index of a problem stop."""
        return int(self.manager.NodeToIndex(self._model_node[stop]))

    def __post_init__(self) -> None:
        self._model_node = {
            int(p): m for m, p in enumerate(self.node_of) if self.problem.kind[p] == "stop"
        }

    def is_unload(self, model_node: int) -> bool:
        """Whether a model node is an unload copy of a facility."""
        return self.problem.kind[int(self.node_of[model_node])] == "facility"


def unload_copies(problem: RoutingProblem, stops: tuple[int, ...]) -> int:
    """How many optional unload visits to offer per facility."""
    if not problem.facilities or not stops:
        return 0
    nv = len(problem.vehicles)
    trips = 0
    for dim, cap in (("demand_kg", "capacity_kg"), ("demand_l", "capacity_l")):
        total = int(getattr(problem, dim)[list(stops)].sum())
        if total:
            smallest = max(1, min(getattr(v, cap) for v in problem.vehicles) or 1)
            trips = max(trips, math.ceil(total / smallest))
    cap_all = problem.max_unload_trips * nv
    return int(min(cap_all, max(nv, math.ceil(1.3 * trips) + nv)))


def _shift_bounds(
    p: RoutingProblem,
    time_dim: pywrapcp.RoutingDimension,
    routing: pywrapcp.RoutingModel,
    k: int,
    v: Vehicle,
    horizon: int,
) -> None:
    """The shift of vehicle ``k``: leave at its start (or within the flexibility),
    be back within ``shift_s`` of leaving and by the depot's closing time.

    Any flexibility is used only to save paid hours; otherwise the truck leaves at
    the shift start (a soft bound there, and the finalizer takes the earliest start).
    The other cumuls are only *a* feasible schedule: with break intervals OR-Tools'
    scheduler sets them and minimises nothing but the dimension's costs, so the
    decoder retimes every route to its earliest times (:mod:`decode`, :mod:`breaks`).
    """
    early, late = p.departure_window(v)
    start = time_dim.CumulVar(routing.Start(k))
    end = time_dim.CumulVar(routing.End(k))
    start.SetRange(min(early, horizon), min(late, horizon))
    end.SetRange(0, min(p.return_by(v), horizon))
    if v.shift_s < horizon:
        time_dim.SetSpanUpperBoundForVehicle(int(v.shift_s), k)
    coeff = round(v.cost_per_h * COST_SCALE / 3600)
    if coeff:
        time_dim.SetSpanCostCoefficientForVehicle(coeff, k)
    if late > early:
        time_dim.SetCumulVarSoftUpperBound(routing.Start(k), early, 1)
    routing.AddVariableMinimizedByFinalizer(start)
    routing.AddVariableMinimizedByFinalizer(end)


def _break_outside_shift(p: RoutingProblem, v: Vehicle) -> bool:
    """Whether the break can always be taken before the shift starts or after it
    ends (then no route needs it; OR-Tools would otherwise force it into the route)."""
    assert v.break_window is not None
    early, late = v.break_window
    return late >= p.return_by(v) or early + v.break_s <= p.departure_window(v)[0]


def _matrix(values: np.ndarray) -> list[list[int]]:
    return np.asarray(values, dtype=np.int64).tolist()  # type: ignore[no-any-return]


def build_model(
    problem: RoutingProblem,
    stops: tuple[int, ...] | None = None,
    *,
    balance: bool = False,
    min_copies: Mapping[int, int] | None = None,
) -> Model:
    """Build the routing model over ``stops`` (default: every stop)."""
    p = problem
    stops = p.stops if stops is None else tuple(stops)
    vehicles = p.vehicles
    nv = len(vehicles)
    depots = sorted({v.start for v in vehicles} | {v.end for v in vehicles})
    n_copies = unload_copies(p, stops)
    copies_nodes: list[int] = []
    for f in p.facilities:  # enough copies for a warm start's unloads too
        copies_nodes += [f] * max(n_copies, (min_copies or {}).get(f, 0))
    node_of = np.array(depots + list(stops) + copies_nodes, dtype=np.int64)
    first_copy = len(depots) + len(stops)
    copies: dict[int, list[int]] = {f: [] for f in p.facilities}
    for m in range(first_copy, len(node_of)):
        copies[int(node_of[m])].append(m)
    model_of_depot = {d: i for i, d in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(node_of),
        nv,
        [model_of_depot[v.start] for v in vehicles],
        [model_of_depot[v.end] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    ix = np.ix_(node_of, node_of)
    dist = p.distance_m[ix]
    is_stop = np.zeros(len(node_of), dtype=bool)
    is_stop[len(depots) : first_copy] = True
    is_copy = np.zeros(len(node_of), dtype=bool)
    is_copy[first_copy:] = True
    has_facilities = bool(copies_nodes)

    # ---- arc costs, one registered matrix per distinct cost per km
    cost_cb: dict[float, int] = {}
    for k, v in enumerate(vehicles):
        if v.cost_per_km not in cost_cb:
            arc = np.rint(dist * v.cost_per_km).astype(np.int64)
            arc[:, is_copy] += UNLOAD_PENALTY  # no free, pointless unload visits
            cost_cb[v.cost_per_km] = routing.RegisterTransitMatrix(_matrix(arc))
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.cost_per_km], k)
        if v.fixed_cost:
            routing.SetFixedCostOfVehicle(int(v.fixed_cost * COST_SCALE), k)

    # ---- capacity dimensions with the reload pattern
    def add_load(demand: np.ndarray, caps: list[int], name: str) -> None:
        big = max(caps)
        vec = np.where(is_copy, -big, demand[node_of]).astype(np.int64)
        vec[~(is_stop | is_copy)] = 0
        cb = routing.RegisterUnaryTransitVector(vec.tolist())
        slack = big if has_facilities else 0
        routing.AddDimensionWithVehicleCapacity(cb, slack, caps, True, name)
        dim = routing.GetDimensionOrDie(name)
        if has_facilities:
            for m in np.flatnonzero(is_stop):
                dim.SlackVar(manager.NodeToIndex(int(m))).SetValue(0)
            for k in range(nv):
                dim.SlackVar(routing.Start(k)).SetValue(0)
                dim.CumulVar(routing.End(k)).SetMax(0)

    stop_list = list(stops)
    if stop_list and p.demand_kg[stop_list].any():
        add_load(p.demand_kg, [v.capacity_kg for v in vehicles], "kg")
    if stop_list and p.demand_l[stop_list].any():
        add_load(p.demand_l, [v.capacity_l for v in vehicles], "l")

    # ---- day totals (no reset at unloads) and stop counts
    big_day = 2**40
    for attr, demand, name in (
        ("day_capacity_kg", p.demand_kg, "day_kg"),
        ("day_capacity_l", p.demand_l, "day_l"),
    ):
        caps = [getattr(v, attr) for v in vehicles]
        if any(c is not None for c in caps):
            vec = np.where(is_stop, demand[node_of], 0).astype(np.int64)
            cb = routing.RegisterUnaryTransitVector(vec.tolist())
            routing.AddDimensionWithVehicleCapacity(
                cb, 0, [big_day if c is None else int(c) for c in caps], True, name
            )
    if any(v.max_stops is not None for v in vehicles):
        cb = routing.RegisterUnaryTransitVector(is_stop.astype(np.int64).tolist())
        routing.AddDimensionWithVehicleCapacity(
            cb,
            0,
            [len(node_of) if v.max_stops is None else v.max_stops for v in vehicles],
            True,
            "stops",
        )

    # ---- streams that some facility refuses: count them since the last unload
    stop_streams = {p.stream[s] for s in stops} - {None}
    for s in sorted(x for x in stop_streams if x is not None):
        refusing = [
            f for f in p.facilities if f in p.facility_streams and s not in p.facility_streams[f]
        ]
        if not refusing or not has_facilities:
            continue
        big = len(node_of)
        vec = np.zeros(len(node_of), dtype=np.int64)
        for m in range(len(node_of)):
            node = int(node_of[m])
            if is_stop[m] and p.stream[node] == s:
                vec[m] = 1
            elif is_copy[m] and node not in refusing:
                vec[m] = -big
        cb = routing.RegisterUnaryTransitVector(vec.tolist())
        name = f"stream:{s}"
        routing.AddDimension(cb, big, big, True, name)
        dim = routing.GetDimensionOrDie(name)
        for m in range(len(node_of)):
            index = manager.NodeToIndex(m)
            if is_stop[m]:
                dim.SlackVar(index).SetValue(0)
            elif is_copy[m] and int(node_of[m]) in refusing:
                dim.CumulVar(index).SetMax(0)
        for k in range(nv):
            dim.SlackVar(routing.Start(k)).SetValue(0)
            dim.CumulVar(routing.End(k)).SetMax(0)

    # ---- time: travel (per speed factor) plus service at the origin
    time_dim = None
    needs_time = bool(p.time_s.any() or p.service_s.any()) or any(
        v.break_window is not None for v in vehicles
    )
    if needs_time:
        service = p.service_s[node_of]
        travel = p.time_s[ix]
        horizon = int(max(int(p.time_window[:, 1].max()), max(v.latest_end_s for v in vehicles)))
        horizon = min(horizon, 10**12)
        time_cb: dict[float, int] = {}
        per_vehicle = []
        for v in vehicles:
            if v.speed_factor not in time_cb:
                scaled = np.rint(travel * v.speed_factor).astype(np.int64)
                time_cb[v.speed_factor] = routing.RegisterTransitMatrix(
                    _matrix(scaled + service[:, None])
                )
            per_vehicle.append(time_cb[v.speed_factor])
        routing.AddDimensionWithVehicleTransits(per_vehicle, horizon, horizon, False, "time")
        time_dim = routing.GetDimensionOrDie("time")
        for m in range(len(node_of)):
            if is_stop[m] or is_copy[m]:
                node = int(node_of[m])
                lo, hi = (int(x) for x in p.time_window[node])
                time_dim.CumulVar(manager.NodeToIndex(m)).SetRange(lo, min(hi, horizon))
        for k, v in enumerate(vehicles):
            _shift_bounds(p, time_dim, routing, k, v, horizon)
        if balance:
            time_dim.SetGlobalSpanCostCoefficient(100)
    elif balance:
        cb = routing.RegisterTransitMatrix(_matrix(dist))
        routing.AddDimension(cb, 0, int(dist.sum()) + 1, True, "distance")
        routing.GetDimensionOrDie("distance").SetGlobalSpanCostCoefficient(100)

    model = Model(p, manager, routing, node_of, tuple(stops), copies, time_dim)

    # ---- breaks
    if time_dim is not None:
        solver = routing.solver()
        visit = [0] * routing.Size()
        for index in range(routing.Size()):
            visit[index] = int(p.service_s[node_of[manager.IndexToNode(index)]])
        for k, v in enumerate(vehicles):
            if v.break_window is None or v.break_s <= 0 or _break_outside_shift(p, v):
                continue
            interval = solver.FixedDurationIntervalVar(
                int(v.break_window[0]),
                int(v.break_window[1]),
                int(v.break_s),
                False,
                f"break:{k}",
            )
            time_dim.SetBreakIntervalsOfVehicle([interval], k, visit)
            model.breaks[k] = interval

    # ---- optional stops, compatibility, optional unload copies
    for stop in stops:
        index = model.index_of_stop(stop)
        allowed = [k for k, v in enumerate(vehicles) if p.vehicle_may_serve(v, stop)]
        if len(allowed) < nv:
            routing.VehicleVar(index).SetValues([-1, *allowed])
        if p.drop_penalty is not None:
            routing.AddDisjunction([index], int(p.drop_penalty * COST_SCALE))
    # Unload copies are optional. Forbidding copy-to-copy arcs would be natural but
    # starves the insertion heuristics; pointless unloads cost UNLOAD_PENALTY and
    # the extraction drops any unload made with an empty truck.
    for nodes in copies.values():
        for m in nodes:
            routing.AddDisjunction([manager.NodeToIndex(m)], 0)
    return model
