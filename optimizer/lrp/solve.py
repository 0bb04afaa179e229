"""Solve a capacitated location-routing problem: estimate, route, search, verify.

1. **Propose** site sets with the MathOpt model of :mod:`estimate` (route cost per
   catchment by continuous approximation), best estimate first, each with its
   estimated catchments (single-source, within the site capacities).
2. **Route** a proposal with the real router (:mod:`route`): all its sites together
   from the estimated catchments, then again from the routed ones, alternating moves
   into sites with room and exchanges under capped fleets, while that improves; each
   catchment on its own (cached) when the joint routing finds nothing.
3. **Local search** over open / close / swap moves from the best routed set: each
   neighbour gets its estimated catchments (the MIP with the sites fixed), the most
   promising are routed first, an improvement becomes the new centre.
4. **Polish** the best set with longer joint passes while they improve.

Every step keeps the best solution; it is verified independently before it is returned.
Time shares are of ``time_limit_s``; one process throughout.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np

from optimizer.errors import VerificationError
from optimizer.lrp.estimate import Proposal, assignment_costs, marginal_costs, propose, split
from optimizer.lrp.problem import LocationRoutingProblem, LrpRoute, LrpSolution, solution_cost
from optimizer.lrp.route import route_catchment, route_jointly
from optimizer.lrp.verify import verify_lrp

log = logging.getLogger(__name__)

PROPOSE_SHARE = 0.12  # of the time, for the MIP proposals
PROPOSALS = 4  # site sets proposed by the MIP
POLISH_SHARE = 0.3  # of the time, kept for routing the best set's sites together
ROUTE_S_PER_CUSTOMER = 0.012  # catchment routing time while searching
ROUTE_MIN_S, ROUTE_MAX_S = 0.1, 2.0
JOINT_PASSES = 3  # joint passes per evaluated site set (while they improve)
JOINT_S_PER_CUSTOMER, JOINT_MAX_S = 0.01, 3.0  # joint routing time while searching
REASSIGN_PASSES = 1  # marginal-cost re-splits per evaluated site set (while they help)
MIP_S = 2.0  # time limit of one catchment split MIP
ESTIMATE_MARGIN = 0.08  # route only site sets estimated within 8 % of the best one's
NEIGHBOURS_ROUTED = 12  # neighbours routed per local-search round (best estimates first)


def _cost(problem: LocationRoutingProblem, routes: Sequence[LrpRoute]) -> int:
    """Total cost of some routes, opening only the sites they leave from."""
    return solution_cost(problem, tuple(sorted({r.site for r in routes})), tuple(routes))


class _Evaluator:
    """Routes site sets with the real router (catchment routes cached)."""

    def __init__(self, problem: LocationRoutingProblem, seed: int, deadline: float) -> None:
        self.problem = problem
        self.seed = seed
        self.deadline = deadline  # routing calls shrink to end by then (at least ROUTE_MIN_S)
        self.cache: dict[tuple[int, frozenset[int]], tuple[int, list[LrpRoute]]] = {}
        self.routed = 0

    def budget(self, limit: float) -> float:
        """``limit`` seconds, or less to end by the deadline (never below ROUTE_MIN_S)."""
        return max(ROUTE_MIN_S, min(limit, self.deadline - time.perf_counter()))

    def late(self) -> bool:
        """Whether the deadline has passed."""
        return time.perf_counter() >= self.deadline

    def catchment(self, site: int, customers: Sequence[int]) -> tuple[int, list[LrpRoute]]:
        key = (site, frozenset(customers))
        if key not in self.cache:
            limit = self.budget(ROUTE_MAX_S)
            limit = min(limit, max(ROUTE_MIN_S, ROUTE_S_PER_CUSTOMER * len(customers)))
            self.cache[key] = route_catchment(
                self.problem, site, sorted(customers), limit, self.seed
            )
            self.routed += 1
        return self.cache[key]

    def evaluate(self, proposal: Proposal) -> tuple[int, list[LrpRoute]]:
        """Total cost (opening + routes) and the routes of a proposal: all its sites
        routed together from the estimated catchments, again from the routed ones while
        that helps; each catchment on its own (cached) when the joint routing fails."""
        p = self.problem
        sites = proposal.sites
        assignment = {i: int(proposal.assignment[i]) for i in range(p.n)}
        best: tuple[int, list[LrpRoute]] | None = None
        limit = min(JOINT_MAX_S, max(ROUTE_MIN_S, JOINT_S_PER_CUSTOMER * p.n))
        failed = 0
        for k in range(2 * JOINT_PASSES if len(sites) > 1 else 0):
            if k > 0 and self.late():
                break
            # alternate: moves into sites with room, then exchanges under capped fleets
            joint = route_jointly(
                p, sites, assignment, self.budget(limit), self.seed, bounded=k % 2 == 1
            )
            self.routed += 1
            cost = math.inf if joint is None else _cost(p, joint)
            if joint is None or (best is not None and cost >= best[0]):
                failed += 1
                if failed == 2:
                    break
                continue
            failed = 0
            best = (int(cost), joint)
            assignment = {c: r.site for r in joint for c in r.customers}
        if best is None:
            best = self._by_catchment(proposal)
        best = self.exchange(sites, best, limit, REASSIGN_PASSES)
        log.debug("sites %s: estimate %.0f, routed %d", sites, proposal.estimate, best[0])
        return best

    def exchange(
        self,
        sites: tuple[int, ...],
        best: tuple[int, list[LrpRoute]],
        limit: float,
        passes: int,
    ) -> tuple[int, list[LrpRoute]]:
        """Re-split the customers by their marginal route costs (a MIP: exchanges
        between full sites) and route the new catchments jointly, while that helps."""
        p = self.problem
        for k in range(passes if len(sites) > 1 else 0):
            if self.late():
                break
            current = {c: r.site for r in best[1] for c in r.customers}
            guess = split(p, marginal_costs(p, best[1], sites), sites, MIP_S, self.seed)
            if guess is None:
                break
            moved = {i: int(guess.assignment[i]) for i in range(p.n)}
            if moved == current:
                break
            joint = route_jointly(p, sites, moved, self.budget(limit), self.seed + k)
            self.routed += 1
            if joint is None or _cost(p, joint) >= best[0]:
                break
            best = (_cost(p, joint), joint)
        return best

    def _by_catchment(self, proposal: Proposal) -> tuple[int, list[LrpRoute]]:
        p = self.problem
        routes: list[LrpRoute] = []
        for j in proposal.sites:
            members = [int(i) for i in np.flatnonzero(proposal.assignment == j)]
            routes += self.catchment(j, members)[1]
        return _cost(p, routes), routes


def _neighbours(sites: tuple[int, ...], m: int) -> list[tuple[int, ...]]:
    """Site sets one open, close or swap away."""
    inside = set(sites)
    out: set[tuple[int, ...]] = set()
    for j in range(m):
        if j in inside:
            if len(inside) > 1:
                out.add(tuple(sorted(inside - {j})))
            for k in range(m):
                if k not in inside:
                    out.add(tuple(sorted((inside - {j}) | {k})))
        else:
            out.add(tuple(sorted(inside | {j})))
    return sorted(out)


def solve_lrp(
    problem: LocationRoutingProblem, time_limit_s: float = 60.0, seed: int = 0
) -> LrpSolution:
    """The best verified solution found within about ``time_limit_s`` seconds."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s

    def left() -> float:
        return deadline - time.perf_counter()

    assign = assignment_costs(problem)
    shares = propose(problem, assign, PROPOSALS, PROPOSE_SHARE * time_limit_s, seed)
    proposals = [
        guess
        for share in shares  # one site per customer (the proposal MIP may split them)
        for guess in [split(problem, assign, share.sites, min(MIP_S, max(0.1, left())), seed)]
        if guess is not None
    ]
    if not proposals:  # the MIP found nothing in time: open the cheapest sites that fit
        proposals = [_fallback(problem, assign, seed)]
    search_end = deadline - POLISH_SHARE * time_limit_s
    evaluator = _Evaluator(problem, seed, search_end)
    best_cost, best_routes = evaluator.evaluate(proposals[0])
    best_sites, best_estimate = proposals[0].sites, proposals[0].estimate
    seen = {proposals[0].sites}

    def promising(guess: Proposal) -> bool:
        return guess.estimate <= best_estimate * (1 + ESTIMATE_MARGIN)

    def route_and_keep(guess: Proposal) -> bool:
        """Route a site set; keep it when it beats the best so far (and say so)."""
        nonlocal best_cost, best_routes, best_sites, best_estimate
        seen.add(guess.sites)
        cost, routes = evaluator.evaluate(guess)
        if cost >= best_cost:
            return False
        best_cost, best_routes, best_sites = cost, routes, guess.sites
        best_estimate = guess.estimate
        return True

    for proposal in proposals[1:]:
        if time.perf_counter() > search_end or not promising(proposal):
            break
        route_and_keep(proposal)
    improved = True
    while improved and time.perf_counter() < search_end:
        improved = False
        ranked: list[Proposal] = []
        for sites in _neighbours(best_sites, problem.m):
            if sites in seen or time.perf_counter() > search_end:
                continue
            guess = split(
                problem, assign, sites, min(2.0, max(0.1, search_end - time.perf_counter()))
            )
            if guess is not None:
                ranked.append(guess)
        ranked.sort(key=lambda g: g.estimate)
        for guess in ranked[:NEIGHBOURS_ROUTED]:
            if time.perf_counter() > search_end or not promising(guess):
                break
            if route_and_keep(guess):
                improved = True
                break
    open_sites = tuple(sorted({r.site for r in best_routes}))
    evaluator.deadline = deadline - 0.2
    failed, k = 0, 0
    while left() > 0.5 and len(open_sites) > 1 and failed < 2:  # polish: longer passes
        assignment = {c: r.site for r in best_routes for c in r.customers}
        limit = min(left() - 0.2, max(JOINT_MAX_S, POLISH_SHARE * time_limit_s / 2))
        joint = route_jointly(
            problem, open_sites, assignment, limit, seed + 1 + k, reach=3, bounded=k % 2 == 1
        )
        k += 1
        if joint is None or _cost(problem, joint) >= best_cost:
            failed += 1
            if left() > 1.0:  # the routes did not improve: exchange customers instead
                best_cost, best_routes = evaluator.exchange(
                    open_sites, (best_cost, best_routes), min(limit, left() - 0.2), 1
                )
            continue
        failed = 0
        best_cost, best_routes = _cost(problem, joint), joint
    open_sites = tuple(sorted({r.site for r in best_routes}))
    solution = LrpSolution(
        open_sites=open_sites,
        routes=tuple(best_routes),
        cost=solution_cost(problem, open_sites, tuple(best_routes)),
        runtime_s=round(time.perf_counter() - t0, 3),
    )
    errors = verify_lrp(problem, solution)
    if errors:
        raise VerificationError(
            f"{problem.source}: the location-routing solution failed {len(errors)} "
            "independent check(s): " + "; ".join(errors[:5])
        )
    log.info(
        "lrp %s: cost %d, %d sites, %d routes, %d catchments routed, %.1f s",
        problem.name,
        solution.cost,
        len(open_sites),
        len(solution.routes),
        evaluator.routed,
        solution.runtime_s,
    )
    return solution


def _fallback(problem: LocationRoutingProblem, assign: np.ndarray, seed: int) -> Proposal:
    """Sites by opening cost per unit of capacity until the demand fits, split by MIP."""
    order = np.argsort(problem.opening_cost / np.maximum(problem.site_capacity, 1), kind="stable")
    chosen: list[int] = []
    for j in order:
        chosen.append(int(j))
        if int(problem.site_capacity[chosen].sum()) >= problem.total_demand:
            guess = split(problem, assign, tuple(sorted(chosen)), 30.0, seed)
            if guess is not None:
                return guess
    raise VerificationError(f"{problem.source}: no catchment split found for any site set")
