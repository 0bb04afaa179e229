r"""Vertex substitution (Teitz–Bart, fast interchange) local search for the p-median.

For an open set :math:`S` keep, per client *i*, its nearest and second-nearest open
site (weighted costs :math:`a_i \le b_i`). Swapping site *j* out and *k* in costs

.. math::

    \Delta_{jk} = \sum_i \min(a_i, w_{ik})
      + \sum_{i : \mathrm{near}(i) = j} \big(\min(b_i, w_{ik}) - \min(a_i, w_{ik})\big)
      - \mathrm{cost}(S),

which is exact: a client keeps its nearest site unless that site leaves, and then
falls back to the second nearest or to *k*. All :math:`p \times m` swaps are priced
in one pass of numpy array operations (one ``(p, n) @ (n, m)`` product), and the
best improving swap is applied until none improves (steepest descent).
"""

from __future__ import annotations

import time

import numpy as np

from optimizer.location.problem import BoolArray, FacilityProblem, FloatArray

#: weighted cost standing for a disallowed (client, site) pair
BIG = 1e18


def weighted_costs(problem: FacilityProblem) -> FloatArray:
    """``d_i * c_ij`` for allowed pairs, :data:`BIG` otherwise."""
    allowed = problem.allowed()
    return np.where(allowed, problem.demand[:, None] * np.where(allowed, problem.cost, 0.0), BIG)


def assignment_cost(w: FloatArray, open_mask: BoolArray) -> float:
    """Cost of serving every client from its cheapest open site."""
    return float(w[:, open_mask].min(axis=1).sum())


def fast_interchange(
    w: FloatArray,
    open_mask: BoolArray,
    *,
    may_open: BoolArray | None = None,
    must_open: BoolArray | None = None,
    time_limit_s: float = 10.0,
    max_iter: int = 1000,
) -> tuple[float, BoolArray, int]:
    """Steepest-descent swaps from ``open_mask``; never returns a worse set.

    Returns ``(cost, open_mask, swaps_made)``; the cost is recomputed from ``w``.
    """
    t0 = time.perf_counter()
    n, m = w.shape
    may = np.ones(m, bool) if may_open is None else may_open
    must = np.zeros(m, bool) if must_open is None else must_open
    s = open_mask.copy()
    cost = assignment_cost(w, s)
    ar = np.arange(n)
    swaps = 0
    while swaps < max_iter and time.perf_counter() - t0 < time_limit_s:
        cols = np.flatnonzero(s)
        if cols.size == 0 or cols.size >= m:
            break
        sub = w[:, cols]
        if cols.size > 1:
            o = np.argpartition(sub, 1, axis=1)[:, :2]
            v0, v1 = sub[ar, o[:, 0]], sub[ar, o[:, 1]]
            swap01 = v1 < v0
            near = np.where(swap01, o[:, 1], o[:, 0])
            a = np.minimum(v0, v1)
            b = np.maximum(v0, v1)
        else:
            near = np.zeros(n, np.int64)
            a = sub[:, 0]
            b = np.full(n, BIG)
        add = np.minimum(a[:, None], w)  # cost of each client after adding k
        loss = np.minimum(b[:, None], w) - add  # extra when its nearest site leaves
        onehot = np.zeros((cols.size, n))
        onehot[near, ar] = 1.0
        gain_out = onehot @ loss  # (p, m): extra cost of removing each open site
        delta = add.sum(axis=0)[None, :] + gain_out - cost
        delta[:, s | ~may] = np.inf
        delta[must[cols], :] = np.inf
        jj, kk = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[jj, kk] < -1e-9 * max(1.0, abs(cost)):
            break
        new = s.copy()
        new[cols[jj]], new[kk] = False, True
        c2 = assignment_cost(w, new)
        if c2 >= cost:  # guard against round-off: never accept a non-improvement
            break
        s, cost = new, c2
        swaps += 1
    return cost, s, swaps
