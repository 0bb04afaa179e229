"""The capacitated location-routing problem (CLRP) and its solution, as plain data.

Candidate sites :math:`j` (opening cost :math:`f_j`, capacity :math:`W_j`) and
customers :math:`i` (demand :math:`q_i`) share one integer cost matrix, sites first
(rows ``0..m-1``) then customers (rows ``m..m+n-1``). Vehicles of capacity :math:`Q`
leave an open site, serve customers and come back to the same site; each route costs
``route_cost`` plus its arcs. Generic: the Prodhon benchmark and the city model both
build one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.errors import InputError, Problem

IntArray = npt.NDArray[np.int64]

_SRC = "location-routing problem"


def _frozen_ints(values: Any, ndim: int, name: str, source: str) -> IntArray:
    array = np.array(values, copy=True)
    if array.ndim != ndim:
        raise InputError.one(source, name, f"expected a {ndim}-D array, got {array.shape}", "")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InputError.one(source, name, "has non-finite values", "give finite numbers")
        array = np.rint(array)
    out = array.astype(np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class LocationRoutingProblem:
    """Candidate sites and customers on one integer cost matrix (validated, read-only)."""

    name: str
    site_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]
    opening_cost: IntArray  # per site
    site_capacity: IntArray  # per site, same unit as demand
    demand: IntArray  # per customer
    vehicle_capacity: int
    route_cost: int  # fixed cost of each route (a vehicle and its driver for the route)
    cost: IntArray  # (m + n) x (m + n), sites first
    source: str = _SRC  # how messages name the input (a file path for the benchmark)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "site_ids", tuple(self.site_ids))
        set_(self, "customer_ids", tuple(self.customer_ids))
        for name, ndim in (
            ("opening_cost", 1),
            ("site_capacity", 1),
            ("demand", 1),
            ("cost", 2),
        ):
            set_(self, name, _frozen_ints(getattr(self, name), ndim, name, self.source))
        set_(self, "metadata", MappingProxyType(dict(self.metadata)))
        self._validate()

    @property
    def m(self) -> int:
        """Number of candidate sites."""
        return len(self.site_ids)

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.customer_ids)

    def node(self, customer: int) -> int:
        """Row of customer ``customer`` in the cost matrix."""
        return self.m + customer

    @property
    def total_demand(self) -> int:
        """Sum of all customers' demand."""
        return int(self.demand.sum())

    def _validate(self) -> None:
        problems: list[Problem] = []

        def bad(where: str, what: str, fix: str) -> None:
            problems.append(Problem(self.source, where, what, fix))

        m, n = self.m, self.n
        if m == 0:
            bad("sites", "no candidate site", "give at least one candidate site")
        for name, size in (("opening_cost", m), ("site_capacity", m), ("demand", n)):
            array = getattr(self, name)
            if array.shape != (size,):
                bad(name, f"has {array.shape[0]} entries, expected {size}", "one per record")
            elif (array < 0).any():
                at = int(np.flatnonzero(array < 0)[0])
                ids = self.customer_ids if name == "demand" else self.site_ids
                bad(f"{name} of {ids[at]}", "is negative", "use a value >= 0")
        if self.cost.shape != (m + n, m + n):
            bad(
                "cost",
                f"shape {self.cost.shape}, expected {(m + n, m + n)}",
                "sites then customers",
            )
        elif (self.cost < 0).any():
            bad("cost", "has negative entries", "costs must be >= 0")
        if self.vehicle_capacity <= 0:
            bad("vehicle capacity", f"is {self.vehicle_capacity}", "give a positive capacity")
        if self.route_cost < 0:
            bad("route cost", f"is {self.route_cost}", "give a value >= 0")
        if len(set(self.site_ids)) != m or len(set(self.customer_ids)) != n:
            bad("ids", "site or customer ids are not unique", "give each record its own id")
        if problems:
            raise InputError(problems)
        for i in np.flatnonzero(self.demand > self.vehicle_capacity):
            bad(
                f"customer {self.customer_ids[int(i)]}",
                f"demand {int(self.demand[i])} exceeds the vehicle capacity "
                f"{self.vehicle_capacity}: no truck can serve it in one visit",
                "raise the vehicle capacity or split the customer",
            )
        if self.demand.size and self.demand.max() > self.site_capacity.max(initial=0):
            big = int(np.argmax(self.demand))
            bad(
                f"customer {self.customer_ids[big]}",
                f"demand {int(self.demand[big])} exceeds every site's capacity",
                "raise a site's capacity",
            )
        if self.total_demand > int(self.site_capacity.sum()):
            bad(
                "site capacities",
                f"all candidate sites together hold {int(self.site_capacity.sum())}, "
                f"the customers need {self.total_demand}: no site set can serve them",
                "add candidate sites or raise their capacities",
            )
        if problems:
            raise InputError(problems)


@dataclass(frozen=True)
class LrpRoute:
    """One vehicle trip: from ``site`` through ``customers`` (indices) back to ``site``."""

    site: int
    customers: tuple[int, ...]


@dataclass(frozen=True)
class LrpSolution:
    """Open sites, routes and the total cost (opening + route fixed + arc costs)."""

    open_sites: tuple[int, ...]
    routes: tuple[LrpRoute, ...]
    cost: int
    runtime_s: float = 0.0
    status: str = "feasible"
    unserved: tuple[int, ...] = ()  # customers left out (city model; never in the benchmark)


def route_arc_cost(problem: LocationRoutingProblem, route: LrpRoute) -> int:
    """Arc cost of one route on the problem's matrix."""
    path = [route.site, *(problem.m + c for c in route.customers), route.site]
    return int(problem.cost[path[:-1], path[1:]].sum())


def solution_cost(
    problem: LocationRoutingProblem, open_sites: tuple[int, ...], routes: tuple[LrpRoute, ...]
) -> int:
    """Opening costs plus, per non-empty route, the fixed route cost and its arcs."""
    used = [r for r in routes if r.customers]
    return (
        int(problem.opening_cost[list(open_sites)].sum())
        + problem.route_cost * len(used)
        + sum(route_arc_cost(problem, r) for r in used)
    )
