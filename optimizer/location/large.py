"""Large-instance paths of :func:`optimizer.location.solve.solve_facility`.

* Multi-source CFLP with capacities (``method="kernel"``): Lagrangian bound,
  heuristic and reduced-cost fixing (:mod:`optimizer.location.lagrange`), then the
  exact MIP on a kernel of the most promising sites.
* p-median (more than ``FULL_MODEL_MAX_ARCS`` pairs): Lagrangian bound with
  locate-allocate and fast interchange (:mod:`optimizer.location.interchange`),
  reduced-cost fixing of sites, then the radius formulation
  (:func:`optimizer.location.models.build_pmedian_radius`) on the sites left, deepened
  for every client whose tail level is used; its bound, capped by the fixing floor,
  is a lower bound for the full problem. The best plan is polished by interchange.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.location.backend import MipResult, solve_mip
from optimizer.location.interchange import fast_interchange, weighted_costs
from optimizer.location.lagrange import (
    kernel_sites,
    lagrangian_cflp,
    lagrangian_pmedian,
    pmedian_fixing,
)
from optimizer.location.models import RadiusBuilt, build_pmedian_radius
from optimizer.location.problem import FacilityProblem, SiteDecision, Status, relative_gap
from optimizer.location.solve import (
    KERNEL_MIN_ARCS,
    _make_decision,
    _nearest_open,
    _objective,
    _raise_if_infeasible,
    _solve_assignment,
)

log = logging.getLogger(__name__)

#: share of the time limit for the p-median Lagrangian phase
LAG_SHARE = 0.3
#: seconds kept for the final interchange polish
POLISH_S = 1.5
#: radius levels kept beyond each client's incumbent site
INC_EXTRA_LEVELS = 1
#: fewest radius levels per client in the first round
MIN_LEVELS = 8


def use_kernel(problem: FacilityProblem, model: str, method: str) -> bool:
    if model != "cflp" or problem.single_source or method == "full":
        return False
    if not np.isfinite(problem.capacity[problem.may_open]).all():
        return False
    if problem.p is not None or problem.budget is not None or problem.group is not None:
        return False
    return method == "kernel" or int(problem.allowed().sum()) >= KERNEL_MIN_ARCS


def solve_kernel(
    problem: FacilityProblem,
    name: str,
    time_limit_s: float,
    mip_gap: float,
    threads: int | None,
    seed: int,
    t0: float,
) -> SiteDecision:
    lag = lagrangian_cflp(problem, time_limit_s=min(10.0, 0.25 * time_limit_s))
    size = max(20, 3 * int(lag.open_mask.sum()))
    kernel = kernel_sites(problem, lag, size)
    reachable = problem.may_open & ~lag.fixed_closed
    sub = problem.replace(may_open=kernel, must_open=problem.must_open | lag.fixed_open)
    left = time_limit_s - (time.perf_counter() - t0)
    try:
        dec = _solve_assignment(
            sub, "cflp", name, max(left, 1.0), mip_gap, 0, threads, seed, time.perf_counter()
        )
    except InfeasibleError:
        dec = None
    runtime = time.perf_counter() - t0
    stats = {
        "lagrange_bound": lag.bound,
        "lagrange_upper": lag.upper,
        "kernel_sites": float(kernel.sum()),
        "fixed_closed": float(lag.fixed_closed.sum()),
    }
    if dec is None or not dec.feasible or dec.objective > lag.upper:
        if not np.isfinite(lag.upper):
            raise InfeasibleError("no feasible plan found for the capacitated model")
        y = lag.open_mask.astype(float)
        res = MipResult(
            "feasible", lag.upper, lag.bound, None, runtime, 0.0, name, "lagrangian heuristic"
        )
        out = _make_decision(problem, "cflp", y, lag.flows, res, "feasible", runtime, 0)
        return dataclasses.replace(out, stats={**out.stats, **stats})
    exact = dec.status == "optimal" and bool(np.all(kernel >= reachable))
    bound = dec.bound if exact else lag.bound
    status: Status = "optimal" if exact else "feasible"
    return dataclasses.replace(
        dec,
        status=status,
        bound=bound,
        gap=relative_gap(dec.objective, bound),
        runtime_s=runtime,
        stats={**dec.stats, **stats},
    )


def _radius_hint(rb: RadiusBuilt, problem: FacilityProblem, y: np.ndarray) -> np.ndarray:
    """Values of every radius-model variable for the open set ``y`` (a MIP start)."""
    m = problem.m
    c = np.where(problem.allowed(), problem.cost, np.inf)
    order = np.argsort(c, axis=1, kind="stable")
    site = order[rb.level_client, rb.level_pos - 1]
    opened = y[site] > 0.5
    # z_ik = 1 while none of the first k sites of client i is open (levels of a
    # client are consecutive, level 1 first)
    starts = np.flatnonzero(rb.level_pos == 1)
    csum = np.cumsum(opened.astype(float))
    first = np.repeat(csum[starts] - opened[starts], np.diff(np.append(starts, opened.size)))
    n_open_upto = csum - first
    hint = np.zeros(rb.mip.num_vars)
    hint[:m] = y
    hint[rb.z0 :] = (n_open_upto < 0.5).astype(float)
    return hint


def solve_pmedian_radius(
    problem: FacilityProblem,
    name: str,
    time_limit_s: float,
    mip_gap: float,
    k_nearest: int | None,
    threads: int | None,
    seed: int,
    t0: float,
) -> SiteDecision:
    """Large p-median: Lagrangian bound and fast interchange, fixing, radius MIP, polish.

    1. Subgradient Lagrangian (:func:`lagrangian_pmedian`, at most ``LAG_SHARE`` of
       the time) gives a lower bound and a locally optimal plan (swap search).
    2. Reduced-cost fixing (:func:`pmedian_fixing`) closes (opens) every site whose
       forced opening (closing) lifts the Lagrangian bound above the incumbent.
    3. The radius MIP on the remaining sites, nearest-k levels deepened while a
       tail level is used, warm-started with the incumbent; its dual bound is
       valid for the plans that respect the fixings, and every other plan costs at
       least the fixing floor, so ``min(mip bound, floor)`` bounds the full problem.
    4. The MIP's plan is polished by fast interchange on all sites.
    """
    m = problem.m
    w = weighted_costs(problem)
    lag = lagrangian_pmedian(
        problem, time_limit_s=LAG_SHARE * time_limit_s, target_gap=mip_gap, w=w
    )
    lag_lb = lag.bound
    best_obj, best_y = lag.upper, lag.open_mask.astype(float)
    res = MipResult("feasible", lag.upper, lag_lb, None, 0.0, 0.0, name, "lagrange")
    bound = lag_lb
    rounds = 0
    fixed_closed, fixed_open, floor = pmedian_fixing(problem, w, lag.lam, lag.upper)
    log.info(
        "p-median fixing: %d closed, %d open, floor %.9g",
        int(fixed_closed.sum()),
        int(fixed_open.sum()),
        floor,
    )
    if relative_gap(best_obj, bound) > mip_gap and time.perf_counter() - t0 < time_limit_s - 1:
        sub = problem.replace(
            may_open=problem.may_open & ~fixed_closed,
            must_open=problem.must_open | fixed_open,
        )
        m_eff = int(sub.may_open.sum())
        if k_nearest:
            k = np.full(problem.n, k_nearest)
        else:
            # at least MIN_LEVELS levels, and one beyond the incumbent's site (a small
            # relaxation, deepened below where a tail level is used)
            inc = np.where(sub.allowed(), problem.cost, np.inf)
            mine = inc[:, best_y > 0.5].min(axis=1)
            rank = (inc <= mine[:, None]).sum(axis=1)
            k = np.minimum(np.maximum(rank + INC_EXTRA_LEVELS, MIN_LEVELS), m_eff)
        while True:
            rounds += 1
            rb = build_pmedian_radius(sub, k)
            left = time_limit_s - POLISH_S - (time.perf_counter() - t0)
            r = solve_mip(
                rb.mip,
                solver=name,
                time_limit_s=max(left, 0.5),
                mip_gap=mip_gap,
                threads=threads,
                seed=seed,
                hint=_radius_hint(rb, sub, best_y),
            )
            _raise_if_infeasible(r, sub, "p-median")
            # a truncated radius model is a relaxation of the restricted problem
            bound = max(bound, min(float(r.bound), floor))
            if r.x is None:
                break
            res = r
            y = np.round(r.x[:m])
            obj = _objective(problem, "p-median", y, _nearest_open(problem, y))
            if obj < best_obj:
                best_obj, best_y = obj, y
            zl = r.x[rb.z0 :]
            last = rb.level_pos == k[rb.level_client]
            tail = np.unique(rb.level_client[last & rb.truncated[rb.level_client] & (zl > 1e-7)])
            log.info(
                "radius p-median round %d: %d sites, k<=%d, %d levels, %s, bound %.9g, "
                "%d tails used",
                rounds,
                m_eff,
                int(k.max()),
                zl.size,
                r.status,
                r.bound,
                tail.size,
            )
            if tail.size == 0 or time.perf_counter() - t0 > time_limit_s - POLISH_S:
                break
            k[tail] = np.minimum(k[tail] * 2, m)
        left = time_limit_s - (time.perf_counter() - t0)
        pol, mask, swaps = fast_interchange(
            w,
            best_y > 0.5,
            may_open=problem.may_open,
            must_open=problem.must_open,
            time_limit_s=max(left, 0.5),
        )
        if pol < best_obj:
            log.info("interchange polish: %d swaps, %.9g -> %.9g", swaps, best_obj, pol)
            best_obj, best_y = pol, mask.astype(float)
    runtime = time.perf_counter() - t0
    flows = _nearest_open(problem, best_y)
    gap = relative_gap(best_obj, bound)
    status: Status = "optimal" if gap <= max(mip_gap, 1e-9) else "feasible"
    out = _make_decision(problem, "p-median", best_y, flows, res, status, runtime, rounds)
    stats = {
        **out.stats,
        "lagrange_bound": lag_lb,
        "lagrange_upper": lag.upper,
        "fixed_closed": float(fixed_closed.sum()),
        "fixed_open": float(fixed_open.sum()),
    }
    return dataclasses.replace(
        out, bound=bound, gap=relative_gap(out.objective, bound), stats=stats
    )
