"""Independent checker of a :class:`SiteDecision` against its problem.

Written from the problem's definition only (it does not import the model builders
or reuse their index arithmetic): it walks the decision's mappings by id and
recomputes loads, coverage and the objective in plain Python/numpy.
"""

from __future__ import annotations

import math

import numpy as np

from optimizer.location.problem import FacilityProblem, SiteDecision

TOL = 1e-6


def check_sites(problem: FacilityProblem, decision: SiteDecision) -> list[str]:
    """Every violated rule as a message; ``[]`` when the decision is valid."""
    errs: list[str] = []
    if decision.status not in ("optimal", "feasible"):
        return [f"decision has no solution (status {decision.status})"]
    fidx = {f: j for j, f in enumerate(problem.facility_ids)}
    cidx = {c: i for i, c in enumerate(problem.client_ids)}
    opened: set[str] = set()
    for f in decision.open_ids:
        if f not in fidx:
            errs.append(f"unknown facility {f!r} is open")
        else:
            opened.add(f)
    if len(opened) != len(decision.open_ids):
        errs.append("open_ids has duplicates or unknown ids")
    for j, f in enumerate(problem.facility_ids):
        if problem.must_open[j] and f not in opened:
            errs.append(f"facility {f} must stay open but is closed")
        if not problem.may_open[j] and f in opened:
            errs.append(f"facility {f} is excluded but open")
    if problem.p is not None:
        k = len(opened)
        if decision.model == "max-coverage":
            if k > problem.p:
                errs.append(f"{k} facilities open, more than p = {problem.p}")
        elif k != problem.p:
            errs.append(f"{k} facilities open, p = {problem.p} required")
    if problem.budget is not None:
        spent = sum(float(problem.bcost[fidx[f]]) for f in opened)
        if spent > problem.budget * (1 + TOL) + TOL:
            errs.append(f"budget exceeded: {spent:g} > {problem.budget:g}")
    if problem.group is not None:
        seen: dict[int, str] = {}
        for f in sorted(opened):
            g = int(problem.group[fidx[f]])
            if g >= 0 and g in seen:
                errs.append(f"size options {seen[g]} and {f} of one site are both open")
            seen.setdefault(g, f)
    if decision.model in ("max-coverage", "set-cover"):
        errs += _check_coverage(problem, decision, opened, fidx, cidx)
    else:
        errs += _check_assignment(problem, decision, opened, fidx, cidx)
    return errs


def _check_assignment(
    problem: FacilityProblem,
    decision: SiteDecision,
    opened: set[str],
    fidx: dict[str, int],
    cidx: dict[str, int],
) -> list[str]:
    errs: list[str] = []
    load = dict.fromkeys(problem.facility_ids, 0.0)
    cost = 0.0
    radius = 0.0
    for c in decision.flows:
        if c not in cidx:
            errs.append(f"unknown client {c!r} assigned")
    for i, c in enumerate(problem.client_ids):
        shares = decision.flows.get(c)
        if not shares:
            errs.append(f"client {c} is not assigned")
            continue
        total = sum(shares.values())
        if abs(total - 1.0) > 1e-5:
            errs.append(f"client {c} is served {total:.6f} of its demand, not 1")
        if problem.single_source and decision.model == "cflp" and len(shares) > 1:
            errs.append(f"client {c} is split over {len(shares)} sites (single source)")
        for f, s in shares.items():
            if f not in fidx:
                errs.append(f"client {c} assigned to unknown facility {f!r}")
                continue
            j = fidx[f]
            if s < -TOL:
                errs.append(f"negative flow {c}->{f}")
            if f not in opened:
                errs.append(f"client {c} assigned to closed facility {f}")
            if not math.isfinite(float(problem.cost[i, j])):
                errs.append(f"pair {c}->{f} is not allowed (infinite cost)")
                continue
            if not problem.may_open[j]:
                errs.append(f"client {c} assigned to excluded facility {f}")
            q = float(problem.demand[i]) * s
            load[f] += q
            cost += q * float(problem.cost[i, j])
            radius = max(radius, float(problem.dist[i, j]))
    if decision.model == "cflp":
        for f, q in load.items():
            cap = float(problem.capacity[fidx[f]])
            if q > cap * (1 + TOL) + TOL:
                errs.append(f"facility {f} over capacity: {q:.6g} > {cap:.6g}")
        cost += sum(float(problem.fixed_cost[fidx[f]]) for f in opened)
    if decision.model == "p-center":
        cost = radius
    for f, q in decision.load.items():
        if f in load and abs(load[f] - q) > 1e-6 * max(1.0, abs(q)):
            errs.append(f"reported load of {f} ({q:g}) differs from flows ({load[f]:g})")
    if not errs and abs(cost - decision.objective) > 1e-6 * max(1.0, abs(cost)):
        errs.append(
            f"reported objective {decision.objective:.9g} differs from the recomputed {cost:.9g}"
        )
    return errs


def _check_coverage(
    problem: FacilityProblem,
    decision: SiteDecision,
    opened: set[str],
    fidx: dict[str, int],
    cidx: dict[str, int],
) -> list[str]:
    errs: list[str] = []
    r = problem.radius if problem.radius is not None else -np.inf
    truly = set()
    for i, c in enumerate(problem.client_ids):
        if any(float(problem.dist[i, fidx[f]]) <= r for f in opened):
            truly.add(c)
    for c in decision.covered:
        if c not in truly:
            errs.append(f"client {c} reported covered but no open site is within {r:g}")
    if decision.model == "set-cover":
        for c in problem.client_ids:
            if c not in truly:
                errs.append(f"client {c} is not covered")
    else:
        got = sum(float(problem.demand[cidx[c]]) for c in truly)
        if abs(got - decision.objective) > 1e-6 * max(1.0, got):
            errs.append(f"reported covered demand {decision.objective:g} != {got:g}")
    return errs
