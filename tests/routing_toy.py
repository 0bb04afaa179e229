"""A small hand-made waste-collection day used by the routing tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.routing.problem import RoutingProblem, Vehicle

H = 3600


def waste_problem(**changes: Any) -> RoutingProblem:
    """One depot, two landfills, eight stops; capacity forces an unload trip.

    Node 0 depot (06:00-18:00), 1 and 2 facilities (2 accepts only "msw"), 3..10
    stops of 400 kg / 2000 l each, so a 1500 kg truck must unload mid-route. A
    30-minute lunch must start between 11:00 and 12:00. Speed 10 m/s.
    """
    xy = np.array(
        [
            [0, 0],
            [4000, 0],
            [-4000, 500],
            [1000, 1000],
            [2000, 1500],
            [3000, 500],
            [1500, -1000],
            [-1000, 1200],
            [-2000, -800],
            [-2500, 600],
            [-800, -1500],
        ],
        dtype=float,
    )
    dist = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)).astype(np.int64)
    n = len(xy)
    kind = ("depot", "facility", "facility") + ("stop",) * (n - 3)
    tw = np.array([[6 * H, 18 * H]] + [[6 * H, 20 * H]] * 2 + [[6 * H, 18 * H]] * (n - 3))
    tw[3] = [8 * H, 10 * H]
    tw[7] = [13 * H, 15 * H]
    demand = np.array([0, 0, 0] + [400] * (n - 3))
    service = np.array([0, 900, 900] + [600] * (n - 3))
    vehicle = Vehicle(
        id="T1",
        start=0,
        end=0,
        capacity_kg=1500,
        capacity_l=10_000,
        fixed_cost=1000,
        cost_per_km=100.0,
        cost_per_h=2000.0,
        shift_s=11 * H,
        available_from_s=7 * H,
        break_window=(11 * H, 12 * H),
        break_s=1800,
    )
    base: dict[str, Any] = dict(
        node_ids=tuple(["D1", "F1", "F2"] + [f"P{i}" for i in range(3, n)]),
        kind=kind,
        distance_m=dist,
        time_s=dist // 10,
        demand_kg=demand,
        demand_l=demand * 5,
        service_s=service,
        time_window=tw,
        stream=(None, None, None) + ("msw",) * (n - 3),
        facility_streams={1: frozenset({"msw", "paper"}), 2: frozenset({"msw"})},
        vehicles=(vehicle,),
        name="toy",
    )
    base.update(changes)
    return RoutingProblem(**base)
