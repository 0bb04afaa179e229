r"""Robustness of a site plan against demand samples.

Given *S* demand samples :math:`D \in \mathbb{R}^{S \times n}` (from the generation
estimates) and a fixed plan (open sites and shares :math:`x_{ij}`), the load of
site *j* in sample *s* is :math:`L_{sj} = \sum_i D_{si} x_{ij}`. The plan *holds*
in sample *s* when :math:`L_{sj} \le Q_j` for every *j*; the reliability is the
share of samples in which it holds.

:func:`chance_constrained_plan` finds a plan holding in at least a target share
of the samples by solving the CFLP on inflated demand
:math:`\alpha \cdot \bar d` and raising :math:`\alpha` (bisection on the
reliability measured on the samples). It is a sample-based heuristic, not an exact
chance-constrained programme; the reliability it reports is measured, not
assumed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.location.problem import FacilityProblem, FloatArray, SiteDecision
from optimizer.location.solve import solve_facility

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reliability:
    """Share of samples in which capacities hold, overall and per site."""

    share: float
    per_site: dict[str, float]
    worst_overload: float  # max over samples and sites of load / capacity
    samples: int


def capacity_reliability(
    problem: FacilityProblem, decision: SiteDecision, demand_samples: FloatArray
) -> Reliability:
    """Evaluate ``decision`` on ``demand_samples`` of shape (S, n)."""
    samples = np.asarray(demand_samples, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != problem.n:
        raise ValueError(f"demand samples must have shape (S, {problem.n})")
    fidx = {f: j for j, f in enumerate(problem.facility_ids)}
    x = np.zeros((problem.n, problem.m))
    for i, c in enumerate(problem.client_ids):
        for f, s in decision.flows.get(c, {}).items():
            x[i, fidx[f]] = s
    load = samples @ x  # (S, m)
    cap = problem.capacity
    ok = load <= cap[None, :] * (1 + 1e-9) + 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(cap) & (cap > 0), load / cap, 0.0)
    per_site = {f: float(ok[:, fidx[f]].mean()) for f in decision.open_ids}
    return Reliability(
        float(ok.all(axis=1).mean()), per_site, float(ratio.max(initial=0.0)), samples.shape[0]
    )


def chance_constrained_plan(
    problem: FacilityProblem,
    demand_samples: FloatArray,
    target: float = 0.95,
    *,
    solver: str | None = None,
    time_limit_s: float = 30.0,
    max_iter: int = 12,
) -> tuple[SiteDecision, Reliability, float]:
    """A CFLP plan holding in at least ``target`` of the samples.

    Returns ``(decision, reliability, alpha)``; the decision's flows are the
    shares of the plan solved on ``alpha`` x mean demand.
    """
    samples = np.asarray(demand_samples, dtype=float)
    base = samples.mean(axis=0)

    def attempt(alpha: float) -> tuple[SiteDecision, Reliability] | None:
        try:
            d = solve_facility(
                problem.replace(demand=base * alpha), solver=solver, time_limit_s=time_limit_s
            )
        except InfeasibleError:
            return None
        if not d.feasible:
            return None
        return d, capacity_reliability(problem, d, samples)

    lo, hi = 1.0, float(np.max(samples.sum(axis=1)) / max(base.sum(), 1e-12))
    first = attempt(lo)
    if first is not None and first[1].share >= target:
        return first[0], first[1], lo
    best = attempt(hi)
    if best is None or best[1].share < target:
        raise InfeasibleError(
            f"no plan holds in {target:.0%} of the {samples.shape[0]} demand samples "
            "(capacity constraint binds even at the largest sampled demand)"
        )
    best_alpha = hi
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        got = attempt(mid)
        if got is not None and got[1].share >= target:
            best, best_alpha, hi = got, mid, mid
        else:
            lo = mid
        if hi - lo < 1e-3:
            break
    log.info("chance-constrained plan: alpha=%.4f reliability=%.3f", best_alpha, best[1].share)
    return best[0], best[1], best_alpha
