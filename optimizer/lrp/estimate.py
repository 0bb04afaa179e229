"""Route-cost estimates per catchment and the MathOpt model that proposes site sets.

Continuous approximation (Daganzo): a vehicle trip from site :math:`j` to a cluster
of customers costs about twice the stem distance plus a tour term, and serves about
:math:`Q` of demand, so customer :math:`i` carries :math:`2 c_{ij} q_i / Q` of stem
cost and :math:`F q_i / Q` of the route's fixed cost. The tour term depends little on
the site and is left out of the ranking; every open site adds on average half a route
of rounding (its last vehicle is partly full). The MIP (single-source capacitated
facility location with these costs) is solved by OR-Tools MathOpt; no-good cuts give
the next-best site sets, and fixing the open sites gives a catchment split (an
assignment) for any set the local search wants to try.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optimizer.location.backend import MatrixMip, RowBuilder, solve_mip
from optimizer.lrp.problem import IntArray, LocationRoutingProblem, LrpRoute

FloatArray = npt.NDArray[np.float64]

#: Expected rounding of each open site's fleet: half a route's fixed cost.
ROUNDING_ROUTES = 0.5


@dataclass(frozen=True)
class Proposal:
    """A site set, its estimated cost and the customers' sites (one per customer)."""

    sites: tuple[int, ...]
    estimate: float
    assignment: IntArray  # site index per customer


def assignment_costs(problem: LocationRoutingProblem, stem_factor: float = 2.0) -> FloatArray:
    """Estimated routing cost of serving customer i from site j (n x m)."""
    m = problem.m
    stem = problem.cost[m:, :m].astype(np.float64) + problem.cost[:m, m:].T
    share = problem.demand.astype(np.float64)[:, None] / problem.vehicle_capacity
    return (stem * stem_factor / 2.0 + problem.route_cost) * share


def site_costs(problem: LocationRoutingProblem) -> FloatArray:
    """Opening cost plus the expected rounding of the site's fleet."""
    return problem.opening_cost.astype(np.float64) + ROUNDING_ROUTES * problem.route_cost


def _mip(
    problem: LocationRoutingProblem,
    assign: FloatArray,
    excluded: list[tuple[int, ...]],
    fixed: tuple[int, ...] | None,
    single_source: bool,
) -> MatrixMip:
    """Variables: y_j (site open) then x_ij (customer i from site j), row-major;
    ``single_source`` makes x binary (else a share of the customer, which is much
    faster to solve and ranks the site sets nearly alike)."""
    m, n = problem.m, problem.n
    nv = m + n * m
    x = (m + np.arange(n * m)).reshape(n, m)
    rows = RowBuilder()
    rows.add(np.repeat(np.arange(n), m), x.ravel(), 1.0, 1.0, 1.0, n)  # each customer once
    q = problem.demand.astype(np.float64)
    cap_rows = np.concatenate([np.arange(m), np.repeat(np.arange(m)[None, :], n, 0).ravel()])
    cap_cols = np.concatenate([np.arange(m), x.ravel()])
    cap_vals = np.concatenate([-problem.site_capacity.astype(np.float64), np.repeat(q, m)])
    rows.add(cap_rows, cap_cols, cap_vals, -np.inf, 0.0, m)  # site capacity
    link = np.arange(n * m)
    rows.add(
        np.concatenate([link, link]),
        np.concatenate([x.ravel(), np.tile(np.arange(m), n)]),
        np.concatenate([np.ones(n * m), -np.ones(n * m)]),
        -np.inf,
        0.0,
        n * m,
    )  # x_ij <= y_j
    total = float(q.sum())
    rows.add(np.zeros(m), np.arange(m), problem.site_capacity, total, np.inf, 1)  # cover
    for sites in excluded:  # no-good cut: differ from this set in at least one site
        inside = np.zeros(m, dtype=bool)
        inside[list(sites)] = True
        rows.add(np.zeros(m), np.arange(m), np.where(inside, -1.0, 1.0), 1 - len(sites), np.inf, 1)
    r, c, v, lo, hi = rows.arrays()
    lb = np.zeros(nv)
    ub = np.ones(nv)
    if fixed is not None:
        lb[:m] = 0.0
        ub[:m] = 0.0
        lb[list(fixed)] = 1.0
        ub[list(fixed)] = 1.0
    return MatrixMip(
        obj=np.concatenate([site_costs(problem), assign.ravel()]),
        lb=lb,
        ub=ub,
        integer=np.concatenate([np.ones(m, dtype=bool), np.full(n * m, single_source)]),
        rows=r,
        cols=c,
        vals=v,
        row_lb=lo,
        row_ub=hi,
    )


def _proposal(problem: LocationRoutingProblem, x: FloatArray, objective: float) -> Proposal:
    m, n = problem.m, problem.n
    y = x[:m] > 0.5
    assignment = np.argmax(x[m:].reshape(n, m), axis=1).astype(np.int64)
    return Proposal(tuple(int(j) for j in np.flatnonzero(y)), float(objective), assignment)


def propose(
    problem: LocationRoutingProblem,
    assign: FloatArray,
    count: int,
    time_limit_s: float,
    seed: int = 0,
) -> list[Proposal]:
    """Up to ``count`` site sets, best estimate first (MIP plus no-good cuts)."""
    import time

    out: list[Proposal] = []
    deadline = time.perf_counter() + time_limit_s
    while len(out) < count:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        mip = _mip(problem, assign, [p.sites for p in out], None, False)
        res = solve_mip(mip, time_limit_s=left, mip_gap=1e-4, seed=seed)
        if res.x is None:
            break
        out.append(_proposal(problem, res.x, res.objective))
    return out


def split(
    problem: LocationRoutingProblem,
    assign: FloatArray,
    sites: tuple[int, ...],
    time_limit_s: float,
    seed: int = 0,
) -> Proposal | None:
    """The estimated best catchments of a given site set; None when the sites cannot
    hold the demand (or no split was found in time)."""
    if int(problem.site_capacity[list(sites)].sum()) < problem.total_demand:
        return None
    mip = _mip(problem, assign, [], sites, True)
    res = solve_mip(mip, time_limit_s=max(0.1, time_limit_s), mip_gap=1e-3, seed=seed)
    if res.x is None:
        return None
    return _proposal(problem, res.x, res.objective)


def marginal_costs(
    problem: LocationRoutingProblem, routes: Sequence[LrpRoute], sites: Sequence[int]
) -> FloatArray:
    """Route-based assignment costs (n x m) from a routed solution: for a customer's
    own site, what its removal would save; for another open site, its cheapest
    insertion into one of that site's routes, or a new route there (fixed cost and
    there and back). Vehicle capacity is left to the router. A MIP on these costs
    exchanges customers between full sites, which no single move can."""
    m, n = problem.m, problem.n
    d = problem.cost.astype(np.float64)
    out = np.full((n, m), 1e12)
    new_route = problem.route_cost + d[m:, :m] + d[:m, m:].T  # a route of its own
    for j in sites:
        out[:, j] = new_route[:, j]
    for route in routes:
        path = np.array([route.site, *(m + c for c in route.customers), route.site])
        a, b = path[:-1], path[1:]
        # inserting every customer between every consecutive pair of the route
        insert = d[m:, a] + d[b, m:].T - d[a, b][None, :]
        out[:, route.site] = np.minimum(out[:, route.site], insert.min(axis=1))
        for pos, c in enumerate(route.customers):
            before, after = path[pos], path[pos + 2]
            saving = d[before, m + c] + d[m + c, after] - d[before, after]
            if len(route.customers) == 1:
                saving += problem.route_cost
            out[c, route.site] = saving
    return out
