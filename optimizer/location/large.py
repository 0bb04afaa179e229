"""Large-instance paths of :func:`optimizer.location.solve.solve_facility`.

* Multi-source CFLP with capacities (``method="kernel"``): Lagrangian bound,
  heuristic and reduced-cost fixing (:mod:`optimizer.location.lagrange`), then the
  exact MIP on a kernel of the most promising sites.
* p-median on the nearest-k restriction: Lagrangian bound with locate-allocate and
  swap search, then the radius formulation
  (:func:`optimizer.location.models.build_pmedian_radius`), deepened for every
  client whose tail level is used, so the restriction never cuts the optimum.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.location.backend import MipResult, solve_mip
from optimizer.location.lagrange import kernel_sites, lagrangian_cflp, lagrangian_pmedian
from optimizer.location.models import build_pmedian_radius
from optimizer.location.problem import FacilityProblem, SiteDecision, Status, relative_gap
from optimizer.location.solve import (
    DEFAULT_K,
    KERNEL_MIN_ARCS,
    _make_decision,
    _nearest_open,
    _objective,
    _raise_if_infeasible,
    _solve_assignment,
)

log = logging.getLogger(__name__)


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
    """Radius p-median on nearest-k levels, deepened until no tail level is used."""
    n, m = problem.n, problem.m
    p = problem.p or 1
    lag_lb, lag_ub, lag_open = lagrangian_pmedian(problem, time_limit_s=0.85 * time_limit_s)
    lag_y = lag_open.astype(float)
    if relative_gap(lag_ub, lag_lb) <= mip_gap or (time.perf_counter() - t0 > 0.8 * time_limit_s):
        runtime = time.perf_counter() - t0
        res0 = MipResult("feasible", lag_ub, lag_lb, None, runtime, 0.0, name, "lagrange")
        st: Status = "optimal" if relative_gap(lag_ub, lag_lb) <= mip_gap else "feasible"
        out = _make_decision(
            problem, "p-median", lag_y, _nearest_open(problem, lag_y), res0, st, runtime, 0
        )
        return dataclasses.replace(out, bound=lag_lb, gap=relative_gap(out.objective, lag_lb))
    k = np.full(n, k_nearest or max(DEFAULT_K, min(m, 4 * ((m + p - 1) // p))))
    rounds = 0
    best: tuple[float, np.ndarray, MipResult] | None = None
    while True:
        rounds += 1
        rb = build_pmedian_radius(problem, k)
        left = time_limit_s - (time.perf_counter() - t0)
        res = solve_mip(
            rb.mip,
            solver=name,
            time_limit_s=max(left, 0.5),
            mip_gap=mip_gap,
            threads=threads,
            seed=seed,
        )
        _raise_if_infeasible(res, problem, "p-median")
        if res.x is None:
            break
        y = np.round(res.x[:m])
        flows = _nearest_open(problem, y)
        obj = _objective(problem, "p-median", y, flows)
        if best is None or obj < best[0]:
            best = (obj, y, res)
        zl = res.x[rb.z0 :]
        last = rb.level_pos == k[rb.level_client]
        tail = np.unique(rb.level_client[last & rb.truncated[rb.level_client] & (zl > 1e-7)])
        log.info(
            "radius p-median round %d: k<=%d, %d levels, %s, %d tails used",
            rounds,
            int(k.max()),
            zl.size,
            res.status,
            tail.size,
        )
        if tail.size == 0 or time.perf_counter() - t0 > time_limit_s:
            break
        k[tail] = np.minimum(k[tail] * 2, m)
    runtime = time.perf_counter() - t0
    if best is None or lag_ub < best[0]:
        best = (lag_ub, lag_y, res)
    obj, y, bres = best
    # the bound of the last (deepest) relaxation is valid for the full problem
    bound = max(float(res.bound), lag_lb)
    proved = res.status == "optimal" and relative_gap(obj, bound) <= max(mip_gap, 1e-9)
    status: Status = "optimal" if proved else "feasible"
    flows = _nearest_open(problem, y)
    out = _make_decision(problem, "p-median", y, flows, bres, status, runtime, rounds)
    return dataclasses.replace(out, bound=bound, gap=relative_gap(obj, bound))
