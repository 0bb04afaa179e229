r"""Lagrangian bound, primal heuristic and variable fixing for the multi-source CFLP.

Relaxing the assignment rows :math:`\sum_j x_{ij} = 1` with multipliers
:math:`\lambda_i` splits the strong CFLP into one continuous knapsack per site and
a covering knapsack over the sites:

.. math::

    L(\lambda) = \sum_i \lambda_i + \min_{y}\Big\{\sum_j v_j(\lambda) y_j :
    \sum_j Q_j y_j \ge \textstyle\sum_i d_i,\ 0 \le y \le 1\Big\},

    v_j(\lambda) = f_j + \min\Big\{\sum_i (d_i c_{ij} - \lambda_i) x_{ij} :
    \sum_i d_i x_{ij} \le Q_j,\ 0 \le x_{ij} \le 1\Big\}.

Both inner problems are solved exactly by sorting (fractional knapsacks), so
:math:`L(\lambda)` is a valid lower bound for every :math:`\lambda`; subgradient
steps raise it. Each distinct open set met on the way is completed to enough
capacity and priced exactly by a transportation LP (an upper bound). Finally a site
whose forced opening (closing) lifts the bound above the best upper bound is fixed
closed (open): this is exact reduced-cost fixing, so the MIP that follows on the
remaining sites still proves optimality for the full problem.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from optimizer.location.backend import MatrixMip, RowBuilder, solve_mip
from optimizer.location.problem import BoolArray, FacilityProblem, FloatArray, IntArray

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LagrangeResult:
    """Best bound, best plan found and the sites fixed by reduced costs."""

    bound: float
    upper: float
    open_mask: BoolArray
    flows: FloatArray  # (n, m) shares of the best plan
    fixed_closed: BoolArray
    fixed_open: BoolArray
    site_value: FloatArray  # v_j at the best multipliers (lower = more attractive)
    iterations: int


def _site_values(
    big_c: FloatArray, d: FloatArray, q: FloatArray, f: FloatArray, lam: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """v_j and the knapsack solution x (n, m) for multipliers ``lam``."""
    r = big_c - lam[:, None]
    neg = r < 0
    ratio = np.where(neg, r / d[:, None], np.inf)
    order = np.argsort(ratio, axis=0, kind="stable")
    rs = np.take_along_axis(r, order, axis=0)
    ds = np.take_along_axis(np.broadcast_to(d[:, None], r.shape), order, axis=0)
    ok = np.take_along_axis(neg, order, axis=0)
    dsk = np.where(ok, ds, 0.0)
    cum = np.cumsum(dsk, axis=0)
    prev = cum - dsk
    frac = np.clip((q[None, :] - prev) / np.where(dsk > 0, dsk, 1.0), 0.0, 1.0)
    frac = np.where(ok, frac, 0.0)
    v = f + np.sum(frac * np.where(ok, rs, 0.0), axis=0)
    x = np.zeros_like(r)
    np.put_along_axis(x, order, frac, axis=0)
    return v, x


def _cover(
    v: FloatArray, q: FloatArray, need: float, lo: BoolArray, hi: BoolArray
) -> tuple[float, FloatArray]:
    """LP of min v.y s.t. q.y >= need, lo <= y <= hi (greedy by v/q)."""
    y = lo.astype(float)
    take = hi & ~lo & (v < 0)
    y[take] = 1.0
    have = float(q @ y)
    if have < need:
        cand = np.flatnonzero(hi & (y < 1))
        cand = cand[np.argsort(v[cand] / np.maximum(q[cand], 1e-12))]
        for j in cand:
            if have >= need:
                break
            add = min(1.0, (need - have) / q[j]) if q[j] > 0 else 1.0
            y[j] = add
            have += add * q[j]
        if have < need - 1e-9:
            return np.inf, y
    return float(v @ y), y


def transport_lp(
    problem: FacilityProblem, open_mask: BoolArray, time_limit_s: float = 30.0
) -> tuple[float, FloatArray | None]:
    """Exact cost (fixed + assignment) of an open set, and its shares (n, m)."""
    allowed = problem.allowed() & open_mask[None, :]
    ai, aj = np.nonzero(allowed)
    d, q = problem.demand, problem.capacity
    na = ai.size
    rb = RowBuilder()
    rb.add(ai, np.arange(na), 1.0, 1.0, 1.0, problem.n)
    js = np.flatnonzero(open_mask & np.isfinite(q))
    loc = np.full(problem.m, -1)
    loc[js] = np.arange(js.size)
    sel = loc[aj] >= 0
    rb.add(loc[aj[sel]], np.flatnonzero(sel), d[ai[sel]], -np.inf, q[js], js.size)
    r, c, v, lo, hi = rb.arrays()
    mip = MatrixMip(
        d[ai] * problem.cost[ai, aj],
        np.zeros(na),
        np.ones(na),
        np.zeros(na, bool),
        r,
        c,
        v,
        lo,
        hi,
    )
    res = solve_mip(mip, solver="highs", time_limit_s=time_limit_s)
    if res.x is None or res.status != "optimal":
        return np.inf, None
    flows = np.zeros((problem.n, problem.m))
    flows[ai, aj] = res.x
    used = flows.sum(axis=0) > 1e-9
    fixed = float(problem.fixed_cost[open_mask & (used | problem.must_open)].sum())
    return fixed + res.objective, flows


def lagrangian_cflp(
    problem: FacilityProblem,
    *,
    time_limit_s: float = 10.0,
    max_iter: int = 3000,
    heuristic_every: int = 15,
) -> LagrangeResult:
    """Subgradient optimisation of L(lambda) with a transportation-LP heuristic."""
    t0 = time.perf_counter()
    d = problem.demand
    q = np.where(np.isfinite(problem.capacity), problem.capacity, d.sum())
    f = problem.fixed_cost
    allowed = problem.allowed()
    big_c = np.where(allowed, d[:, None] * np.where(allowed, problem.cost, 0.0), 1e30)
    lo, hi = problem.must_open.copy(), problem.may_open.copy()
    need = float(d.sum())
    lam = np.min(big_c, axis=1)  # start: cheapest assignment of each client
    best_lb, best_lam = -np.inf, lam.copy()
    best_ub, best_open, best_flows = np.inf, np.zeros(problem.m, bool), None
    seen: set[bytes] = set()
    theta, stall, it = 2.0, 0, 0
    for it in range(1, max_iter + 1):
        v, x = _site_values(big_c, d, q, f, lam)
        kval, y = _cover(v, q, need, lo, hi)
        lb = float(lam.sum() + kval)
        if lb > best_lb + 1e-9 * abs(lb):
            best_lb, best_lam, stall = lb, lam.copy(), 0
        else:
            stall += 1
            if stall >= 25:
                theta, stall = theta / 2, 0
        if it % heuristic_every == 1 or it <= 3:
            om = (y > 1e-9) | lo
            om = _complete(om, v, q, need, hi)
            key = om.tobytes()
            if key not in seen:
                seen.add(key)
                ub, fl = transport_lp(problem, om)
                if ub < best_ub:
                    best_ub, best_flows = ub, fl
                    assert fl is not None
                    best_open = om & ((fl.sum(axis=0) > 1e-9) | problem.must_open)
                    log.debug("lagrange it %d: ub %.6g lb %.6g", it, ub, best_lb)
        g = 1.0 - (x * y[None, :]).sum(axis=1)
        gn = float(g @ g)
        if gn < 1e-12 or theta < 1e-6 or time.perf_counter() - t0 > time_limit_s:
            break
        if np.isfinite(best_ub) and best_ub - best_lb <= 1e-6 * abs(best_ub):
            break
        target = best_ub if np.isfinite(best_ub) else best_lb + 0.05 * abs(best_lb) + 1
        lam = lam + theta * (target - lb) / gn * g
    # reduced-cost fixing at the best multipliers
    v, _ = _site_values(big_c, d, q, f, best_lam)
    base = float(best_lam.sum())
    fixed_closed = np.zeros(problem.m, bool)
    fixed_open = np.zeros(problem.m, bool)
    if np.isfinite(best_ub):
        lim = best_ub * (1 + 1e-9) + 1e-6
        for j in np.flatnonzero(hi & ~lo):
            lo1 = lo.copy()
            lo1[j] = True
            if base + _cover(v, q, need, lo1, hi)[0] > lim:
                fixed_closed[j] = True
                continue
            hi0 = hi.copy()
            hi0[j] = False
            if base + _cover(v, q, need, lo, hi0)[0] > lim:
                fixed_open[j] = True
    log.info(
        "lagrange: %d it, lb %.9g ub %.9g, fixed %d closed %d open, %.2fs",
        it,
        best_lb,
        best_ub,
        fixed_closed.sum(),
        fixed_open.sum(),
        time.perf_counter() - t0,
    )
    flows = best_flows if best_flows is not None else np.zeros((problem.n, problem.m))
    return LagrangeResult(best_lb, best_ub, best_open, flows, fixed_closed, fixed_open, v, it)


def _complete(om: BoolArray, v: FloatArray, q: FloatArray, need: float, hi: BoolArray) -> BoolArray:
    """Add sites by v/q until the open capacity covers the demand."""
    om = om & hi
    have = float(q[om].sum())
    if have >= need:
        return om
    cand = np.flatnonzero(hi & ~om)
    for j in cand[np.argsort(v[cand] / np.maximum(q[cand], 1e-12))]:
        om[j] = True
        have += q[j]
        if have >= need:
            break
    return om


def kernel_sites(problem: FacilityProblem, lag: LagrangeResult, size: int) -> BoolArray:
    """The best plan's sites plus the most attractive others by v_j / Q_j."""
    q = np.where(np.isfinite(problem.capacity), problem.capacity, problem.demand.sum())
    sel = lag.open_mask | problem.must_open | lag.fixed_open
    free = np.flatnonzero(problem.may_open & ~lag.fixed_closed & ~sel)
    order = free[np.argsort(lag.site_value[free] / np.maximum(q[free], 1e-12))]
    extra = max(0, size - int(sel.sum()))
    sel[order[:extra]] = True
    return sel


@dataclass(frozen=True)
class PMedianLagrange:
    """Best bound, best plan and the multipliers that gave the bound."""

    bound: float
    upper: float
    open_mask: BoolArray
    lam: FloatArray
    iterations: int


def lagrangian_pmedian(
    problem: FacilityProblem,
    *,
    time_limit_s: float = 20.0,
    max_iter: int = 5000,
    target_gap: float = 1e-6,
    w: FloatArray | None = None,
    stall_limit: int = 40,
) -> PMedianLagrange:
    r"""Lagrangian bound and locate-allocate heuristic for the p-median.

    Relaxing :math:`\sum_j x_{ij} = 1`:
    :math:`L(\lambda) = \sum_i \lambda_i + \min_{|S| = p} \sum_{j \in S} v_j`,
    :math:`v_j = \sum_i \min(0, d_i c_{ij} - \lambda_i)`, solved by taking the *p*
    smallest :math:`v_j` (must-open sites forced in). Every chosen set is priced
    exactly and improved by locate-allocate (move each median to the best site of
    its cluster) and the fast interchange of
    :mod:`optimizer.location.interchange`. Stops when the gap is below
    ``target_gap`` or the time is up.
    """
    from optimizer.location.interchange import fast_interchange, weighted_costs

    t0 = time.perf_counter()
    p = int(problem.p or 1)
    big = weighted_costs(problem) if w is None else w
    must, may = problem.must_open, problem.may_open
    n_must = int(must.sum())

    def choose(v: FloatArray) -> BoolArray:
        s = must.copy()
        free = np.flatnonzero(may & ~must)
        s[free[np.argsort(v[free], kind="stable")[: p - n_must]]] = True
        return s

    def price(s: BoolArray) -> tuple[float, IntArray]:
        cols = np.flatnonzero(s)
        sub = big[:, cols]
        best = np.argmin(sub, axis=1)
        return float(sub[np.arange(problem.n), best].sum()), cols[best]

    def improve(s: BoolArray) -> tuple[float, BoolArray]:
        cost, lab = price(s)
        for _ in range(20):
            cols = np.flatnonzero(s)
            new = s.copy()
            changed = False
            for j in cols:
                if must[j]:
                    continue
                members = lab == j
                if not members.any():
                    continue
                cand_cost = big[members].sum(axis=0)
                cand_cost[~may | (new & (np.arange(problem.m) != j))] = np.inf
                k = int(np.argmin(cand_cost))
                if k != j and cand_cost[k] < cand_cost[j] - 1e-9:
                    new[j], new[k] = False, True
                    changed = True
            if not changed:
                break
            c2, lab2 = price(new)
            if c2 >= cost - 1e-9:
                break
            s, cost, lab = new, c2, lab2
        return cost, s

    def swap(s: BoolArray) -> tuple[float, BoolArray]:
        left = max(0.0, time_limit_s - (time.perf_counter() - t0))
        cost, s2, _ = fast_interchange(
            big, s, may_open=may, must_open=must, time_limit_s=left, max_iter=200
        )
        return cost, s2

    lam = np.min(big, axis=1)
    best_lb, best_ub = -np.inf, np.inf
    best_lam = lam.copy()
    best_s = choose(np.zeros(problem.m))
    theta, stall = 2.0, 0
    seen: set[bytes] = set()
    it = 0
    for it in range(1, max_iter + 1):
        r = np.minimum(big - lam[:, None], 0.0)
        v = r.sum(axis=0)
        s = choose(v)
        lb = float(lam.sum() + v[s].sum())
        if lb > best_lb + 1e-12 * abs(lb):
            best_lb, best_lam, stall = lb, lam.copy(), 0
        else:
            stall += 1
            if stall >= stall_limit:
                theta, stall = theta / 2, 0
        key = s.tobytes()
        if key not in seen and (it <= 3 or it % 50 == 0):
            seen.add(key)
            ub, s2 = swap(improve(s)[1])
            if ub < best_ub:
                best_ub, best_s = ub, s2
        if best_ub - best_lb <= target_gap * abs(best_ub) or theta < 1e-7:
            break
        if time.perf_counter() - t0 > time_limit_s:
            break
        g = 1.0 - (r[:, s] < 0).sum(axis=1)
        gn = float(g @ g)
        if gn == 0:
            break
        lam = lam + theta * (best_ub - lb) / gn * g
    log.info(
        "lagrange p-median: %d it, lb %.9g ub %.9g, %.2fs",
        it,
        best_lb,
        best_ub,
        time.perf_counter() - t0,
    )
    return PMedianLagrange(best_lb, best_ub, best_s, best_lam, it)


def pmedian_fixing(
    problem: FacilityProblem, w: FloatArray, lam: FloatArray, upper: float
) -> tuple[BoolArray, BoolArray, float]:
    """Reduced-cost fixing at multipliers ``lam`` against the upper bound ``upper``.

    Forcing site *j* open (closed) changes the Lagrangian problem to the *p*
    smallest :math:`v` with *j* in (out); if that bound exceeds ``upper`` no plan
    better than ``upper`` opens (closes) *j*. Returns ``(fixed_closed, fixed_open,
    floor)``, where ``floor`` is the smallest of those bounds (``inf`` when nothing
    is fixed): every plan that breaks a fixing costs at least ``floor``.
    """
    p = int(problem.p or 1)
    must, may = problem.must_open, problem.may_open
    v = np.minimum(w - lam[:, None], 0.0).sum(axis=0)
    base = float(lam.sum())
    free = np.flatnonzero(may & ~must)
    k = p - int(must.sum())
    closed = np.zeros(problem.m, bool)
    opened = np.zeros(problem.m, bool)
    if k <= 0 or free.size <= k:
        return closed, opened, np.inf
    order = free[np.argsort(v[free], kind="stable")]
    inside, outside = order[:k], order[k:]
    lb = base + float(v[must].sum() + v[inside].sum())
    worst_in = float(v[inside[-1]])
    best_out = float(v[outside[0]])
    lim = upper + 1e-9 * max(1.0, abs(upper))
    lb_open = lb - worst_in + v[outside]
    lb_close = lb - v[inside] + best_out
    closed[outside[lb_open > lim]] = True
    opened[inside[lb_close > lim]] = True
    floor = min(
        float(lb_open[lb_open > lim].min(initial=np.inf)),
        float(lb_close[lb_close > lim].min(initial=np.inf)),
    )
    return closed, opened, floor
