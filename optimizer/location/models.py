r"""Matrix formulations of the location models, built with numpy only.

Common notation: :math:`y_j \in \{0,1\}` opens site *j*; :math:`x_{ij} \in [0,1]`
is the share of client *i*'s demand :math:`d_i` served by *j*, defined only on the
allowed arcs :math:`A` (finite cost, site may open; optionally only the *k*
cheapest per client, see :func:`optimizer.location.solve.solve_facility`).
Side constraints shared by all models:

.. math::

    y_j = 1 \ (j \in \text{must\_open}),\quad y_j = 0 \ (j \notin \text{may\_open}),
    \quad \sum_{j \in g} y_j \le 1 \ (\text{size-option group } g),

    \sum_j y_j = p \ (\text{when } p \text{ is set}),\quad
    \sum_j b_j y_j \le B \ (\text{when a budget is set}).

**CFLP** (capacitated facility location, fixed costs; single sourcing when
:math:`x \in \{0,1\}`, multi-sourcing when continuous):

.. math::

    \min \sum_j f_j y_j + \sum_{(i,j)\in A} d_i c_{ij} x_{ij}
    \ \text{s.t.}\ \sum_j x_{ij} = 1\ \forall i,\quad
    \sum_i d_i x_{ij} \le Q_j y_j\ \forall j: Q_j < \infty,\quad
    x_{ij} \le y_j,\quad \sum_j Q_j y_j \ge \sum_i d_i .

The last (aggregate capacity) row is redundant but tightens the LP relaxation.

**p-median**: :math:`\min \sum d_i c_{ij} x_{ij}` s.t. assignment, linking and
:math:`\sum_j y_j = p` (fixed costs and capacities are ignored; with continuous
:math:`x` the optimum still assigns each client wholly to its cheapest open site).

**p-center**: :math:`\min z` s.t. :math:`\sum_j \mathrm{dist}_{ij} x_{ij} \le z\
\forall i`, assignment and linking with binary :math:`x`, :math:`\sum_j y_j = p`.

**Maximal coverage** (radius *r*, :math:`N_i = \{j : \mathrm{dist}_{ij} \le r\}`):
:math:`\max \sum_i d_i u_i` s.t. :math:`u_i \le \sum_{j \in N_i} y_j`,
:math:`u_i \in [0,1]`, :math:`\sum_j y_j = p` (or :math:`\le p`/budget).

**Set cover**: :math:`\min \sum_j w_j y_j` (:math:`w = f`, or 1 when all fixed costs
are zero) s.t. :math:`\sum_{j \in N_i} y_j \ge 1\ \forall i`.

**Relaxed restriction** (used to prove a nearest-*k* restriction exact): a dummy
:math:`x_{i0} \ge 0` with cost :math:`d_i \bar c_i`, :math:`\bar c_i` the cheapest
cost outside the arcs kept for *i*, joins the assignment row and uses no capacity.
Any full solution serving *i* outside its kept arcs pays at least
:math:`\bar c_i`, so the model is a relaxation of the full one; an optimum that
uses no dummy is therefore optimal for the full model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.location.backend import MatrixMip, RowBuilder
from optimizer.location.problem import BoolArray, FacilityProblem, FloatArray, IntArray


@dataclass
class Built:
    """A built model and where its variables sit."""

    mip: MatrixMip
    ai: IntArray  # client index of each x arc
    aj: IntArray  # facility index of each x arc
    x0: int  # offset of the x block (y block is 0..m-1)
    dummy_clients: IntArray  # clients having a dummy variable
    d0: int  # offset of the dummy block
    z: int  # p-center radius variable, -1 otherwise
    u0: int  # offset of coverage variables, -1 otherwise


def arcs_all(problem: FacilityProblem) -> tuple[IntArray, IntArray]:
    """All allowed (client, facility) pairs, row-major."""
    ai, aj = np.nonzero(problem.allowed())
    return ai.astype(np.int64), aj.astype(np.int64)


def arcs_nearest(problem: FacilityProblem, k: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """The ``k[i]`` cheapest allowed arcs of each client, and the next cost.

    Returns ``(ai, aj, next_cost)`` where ``next_cost[i]`` is the cheapest cost not
    kept for client *i* (``inf`` when all allowed arcs were kept).
    """
    c = np.where(problem.allowed(), problem.cost, np.inf)
    order = np.argsort(c, axis=1, kind="stable")
    cs = np.take_along_axis(c, order, axis=1)
    n, m = c.shape
    kk = np.minimum(k, m)
    keep = (np.arange(m)[None, :] < kk[:, None]) & np.isfinite(cs)
    ai, pos = np.nonzero(keep)
    aj = order[ai, pos]
    nxt = np.full(n, np.inf)
    has = kk < m
    nxt[has] = cs[np.flatnonzero(has), kk[has]]
    return ai.astype(np.int64), aj.astype(np.int64), nxt


def _site_rows(
    problem: FacilityProblem, rb: RowBuilder, lb: FloatArray, ub: FloatArray, p_mode: str
) -> None:
    m = problem.m
    lb[:m] = np.where(problem.must_open, 1.0, 0.0)
    ub[:m] = np.where(problem.may_open, 1.0, 0.0)
    if problem.p is not None:
        lo = float(problem.p) if p_mode == "eq" else 0.0
        rb.add(np.zeros(m, np.int64), np.arange(m), 1.0, lo, float(problem.p), 1)
    if problem.budget is not None:
        rb.add(
            np.zeros(m, np.int64), np.arange(m), problem.bcost, -np.inf, float(problem.budget), 1
        )
    if problem.group is not None:
        g = problem.group
        groups = np.unique(g[g >= 0])
        if groups.size:
            sel = np.flatnonzero(g >= 0)
            local = np.searchsorted(groups, g[sel])
            rb.add(local, sel, 1.0, -np.inf, 1.0, int(groups.size))


def build_assignment_model(
    problem: FacilityProblem,
    model: str,
    ai: IntArray,
    aj: IntArray,
    dummy_cost: FloatArray | None = None,
) -> Built:
    """CFLP, p-median or p-center on arcs ``(ai, aj)`` (see module docstring)."""
    n, m = problem.n, problem.m
    d = problem.demand
    na = ai.shape[0]
    dummy_clients = (
        np.flatnonzero(np.isfinite(dummy_cost)) if dummy_cost is not None else np.zeros(0, np.int64)
    ).astype(np.int64)
    nd = dummy_clients.shape[0]
    x0, d0 = m, m + na
    z = m + na + nd if model == "p-center" else -1
    nv = m + na + nd + (1 if z >= 0 else 0)
    obj = np.zeros(nv)
    lb = np.zeros(nv)
    ub = np.ones(nv)
    integer = np.zeros(nv, bool)
    integer[:m] = True
    if (problem.single_source and model == "cflp") or model == "p-center":
        integer[x0:d0] = True
    rb = RowBuilder()
    _site_rows(problem, rb, lb, ub, "eq")
    # assignment rows: sum_j x_ij (+ dummy) = 1
    rb.add(
        np.concatenate([ai, dummy_clients]),
        np.concatenate([x0 + np.arange(na), d0 + np.arange(nd)]),
        1.0,
        1.0,
        1.0,
        n,
    )
    # linking x_ij <= y_j
    arange = np.arange(na)
    rb.add(
        np.concatenate([arange, arange]),
        np.concatenate([x0 + arange, aj]),
        np.concatenate([np.ones(na), -np.ones(na)]),
        -np.inf,
        0.0,
        na,
    )
    if model == "cflp":
        obj[:m] = problem.fixed_cost
        obj[x0:d0] = d[ai] * problem.cost[ai, aj]
        cap = problem.capacity
        fin = np.isfinite(cap)
        fj = np.flatnonzero(fin)
        if fj.size:
            loc = np.full(m, -1, np.int64)
            loc[fj] = np.arange(fj.size)
            arc_fin = fin[aj]
            rows = np.concatenate([loc[aj[arc_fin]], np.arange(fj.size)])
            cols = np.concatenate([x0 + np.flatnonzero(arc_fin), fj])
            vals = np.concatenate([d[ai[arc_fin]], -cap[fj]])
            rb.add(rows, cols, vals, -np.inf, 0.0, int(fj.size))
            if fin.all():
                rb.add(np.zeros(m, np.int64), np.arange(m), cap, float(d.sum()), np.inf, 1)
    elif model == "p-median":
        obj[x0:d0] = d[ai] * problem.cost[ai, aj]
    elif model == "p-center":
        dist = problem.dist
        obj[z] = 1.0
        ub[z] = np.inf
        rows = np.concatenate([ai, dummy_clients, np.arange(n)])
        cols = np.concatenate([x0 + np.arange(na), d0 + np.arange(nd), np.full(n, z, np.int64)])
        dv = dist[ai, aj]
        vals = np.concatenate(
            [dv, np.zeros(nd) if dummy_cost is None else dummy_cost[dummy_clients], -np.ones(n)]
        )
        rb.add(rows, cols, vals, -np.inf, 0.0, n)
    else:
        raise ValueError(model)
    if nd:
        assert dummy_cost is not None
        w = 1.0 if model == "p-center" else d[dummy_clients]
        if model != "p-center":
            obj[d0 : d0 + nd] = w * dummy_cost[dummy_clients]
    r, c, v, lo, hi = rb.arrays()
    mip = MatrixMip(obj, lb, ub, integer, r, c, v, lo, hi)
    return Built(mip, ai, aj, x0, dummy_clients, d0, z, -1)


def coverage_sets(problem: FacilityProblem) -> BoolArray:
    """``cov[i, j]``: site *j* may open and covers client *i* within the radius."""
    if problem.radius is None:
        raise ValueError("coverage models need problem.radius")
    cov: BoolArray = (problem.dist <= problem.radius) & problem.may_open[None, :]
    return cov


def build_coverage_model(problem: FacilityProblem, model: str) -> Built:
    """Maximal coverage or set cover (see module docstring)."""
    n, m = problem.n, problem.m
    cov = coverage_sets(problem)
    ci, cj = np.nonzero(cov)
    rb = RowBuilder()
    if model == "set-cover":
        nv = m
        obj = problem.fixed_cost.copy() if problem.fixed_cost.any() else np.ones(m)
        lb, ub = np.zeros(nv), np.ones(nv)
        _site_rows(problem, rb, lb, ub, "eq")
        rb.add(ci, cj, 1.0, 1.0, np.inf, n)
        integer = np.ones(nv, bool)
        u0 = -1
        maximize = False
    else:
        nv = m + n
        u0 = m
        obj = np.zeros(nv)
        obj[u0:] = problem.demand
        lb, ub = np.zeros(nv), np.ones(nv)
        _site_rows(problem, rb, lb, ub, "le")
        rows = np.concatenate([np.arange(n), ci])
        cols = np.concatenate([u0 + np.arange(n), cj])
        vals = np.concatenate([np.ones(n), -np.ones(ci.shape[0])])
        rb.add(rows, cols, vals, -np.inf, 0.0, n)
        integer = np.zeros(nv, bool)
        integer[:m] = True
        maximize = True
    r, c, v, lo, hi = rb.arrays()
    mip = MatrixMip(obj, lb, ub, integer, r, c, v, lo, hi, maximize=maximize)
    e = np.zeros(0, np.int64)
    return Built(mip, e, e, m, e, nv, -1, u0)


@dataclass
class RadiusBuilt:
    """The radius (cumulative) p-median model and its level layout."""

    mip: MatrixMip
    level_client: IntArray  # client of each z variable
    level_pos: IntArray  # 1-based level of each z variable
    z0: int
    truncated: BoolArray  # (n,) client has levels beyond the model


def build_pmedian_radius(problem: FacilityProblem, k: IntArray) -> RadiusBuilt:
    r"""Radius formulation of the p-median on the ``k[i]`` nearest sites of each client.

    With client *i*'s allowed sites sorted by cost :math:`D_{i1} \le D_{i2} \le \dots`
    (sites :math:`j_{i1}, j_{i2}, \dots`) and :math:`z_{ik} \in [0,1]` meaning "none
    of the *k* nearest is open":

    .. math::

        \min \sum_i d_i \Big(D_{i1} + \sum_{k=1}^{K_i} (D_{i,k+1} - D_{ik}) z_{ik}\Big)
        \ \text{s.t.}\ z_{i1} + y_{j_{i1}} \ge 1,\quad
        z_{ik} - z_{i,k-1} + y_{j_{ik}} \ge 0,\quad \sum_j y_j = p.

    Summing the chain gives :math:`z_{ik} \ge 1 - \sum_{l \le k} y_{j_{il}}`, the
    usual radius constraint, with 3 non-zeros per row instead of *k*. Dropping the
    levels beyond :math:`K_i` only lowers the objective, so the model is a
    relaxation; when no :math:`z_{iK_i}` of a truncated client is positive its
    optimum is optimal for the full p-median. For a client whose every allowed
    site is kept, :math:`z_{iK_i} = 0` (it must be served).
    """
    m = problem.m
    c = np.where(problem.allowed(), problem.cost, np.inf)
    order = np.argsort(c, axis=1, kind="stable")
    cs = np.take_along_axis(c, order, axis=1)
    count = np.isfinite(cs).sum(axis=1)
    kk = np.minimum(k, count)
    truncated = kk < count
    pos_mask = np.arange(m)[None, :] < kk[:, None]
    li, lp0 = np.nonzero(pos_mask)  # client, 0-based level
    nz = li.size
    z0 = m
    nv = m + nz
    d = problem.demand
    # coefficient of z_ik: D_{i,k+1} - D_{ik}; 0 at the last level of a full client
    nxt = np.where(lp0 + 1 < count[li], cs[li, np.minimum(lp0 + 1, m - 1)], cs[li, lp0])
    coef = d[li] * (nxt - cs[li, lp0])
    obj = np.zeros(nv)
    obj[z0:] = coef
    lb, ub = np.zeros(nv), np.ones(nv)
    last_full = (lp0 == kk[li] - 1) & ~truncated[li]
    ub[z0 + np.flatnonzero(last_full)] = 0.0
    integer = np.zeros(nv, bool)
    integer[:m] = True
    rb = RowBuilder()
    _site_rows(problem, rb, lb, ub, "eq")
    zid = z0 + np.arange(nz)
    site = order[li, lp0]
    first = lp0 == 0
    rows_local = np.arange(nz)
    rows = np.concatenate([rows_local, rows_local, rows_local[~first]])
    cols = np.concatenate([zid, site, zid[~first] - 1])
    vals = np.concatenate([np.ones(nz), np.ones(nz), -np.ones(int((~first).sum()))])
    lo = np.where(first, 1.0, 0.0)
    rb.add(rows, cols, vals, lo, np.inf, nz)
    r, cc, v, rlo, rhi = rb.arrays()
    offset = float(np.sum(d * np.where(count > 0, cs[:, 0], 0.0)))
    mip = MatrixMip(obj, lb, ub, integer, r, cc, v, rlo, rhi, offset=offset)
    return RadiusBuilt(mip, li.astype(np.int64), (lp0 + 1).astype(np.int64), z0, truncated)
