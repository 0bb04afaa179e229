r"""Two-tier, multi-stream facility location.

Collection points :math:`i` supply :math:`s_{ik}` tonnes of stream :math:`k`.
Tier 1 sites :math:`j` (transfer / sorting / composting stations) and tier 2 sites
:math:`l` (landfill, recycler, treatment) each accept only the streams they are
licensed for (``accepts``). At a tier-1 site a share :math:`\rho_{jk}` of stream
*k* is recovered and leaves for recycling; the residue goes on to a tier-2 site
that accepts residue. Points may also deliver straight to tier 2 (``direct_cost``).

Variables: :math:`a_{ijk} \ge 0` (point to tier 1), :math:`b_{ilk} \ge 0` (point
to tier 2), :math:`r_{jl} \ge 0` (residue tier 1 to tier 2), :math:`y_j, z_l \in
\{0,1\}`.

.. math::

    \min \sum_j f_j y_j + \sum_l g_l z_l + \sum c^1_{ij} a_{ijk}
      + \sum c^3_{il} b_{ilk} + \sum c^2_{jl} r_{jl}

    \text{s.t.}\quad \sum_j a_{ijk} + \sum_l b_{ilk} = s_{ik}, \qquad
    \sum_{i,k} a_{ijk} \le Q_j y_j, \qquad
    \sum_{i,k} b_{ilk} + \sum_j r_{jl} \le Q_l z_l,

    \sum_l r_{jl} = \sum_{i,k} (1 - \rho_{jk}) a_{ijk}, \qquad
    a_{ijk} \le s_{ik} y_j,\ b_{ilk} \le s_{ik} z_l,

    \sum_{i,j,k} \rho_{jk} a_{ijk} + \sum_{i,k,\ l \in \text{recyclers}} b_{ilk}
    \ge \tau \sum_{i,k} s_{ik}  \quad (\text{minimum recycling rate } \tau),

with :math:`a_{ijk}` only where site *j* accepts stream *k*, :math:`b_{ilk}` only
where *l* accepts *k*, :math:`r_{jl}` only where *l* accepts residue, and
``must_open`` / ``may_open`` fixing :math:`y, z`. Optionally, size options: sites of
one tier sharing a ``group`` number are sizes of one site, at most one opens
(:math:`\sum_{j \in g} y_j \le 1`); and a budget on the capital cost of both tiers,
:math:`\sum_j c_j y_j + \sum_l c_l z_l \le B` with ``budget_cost`` :math:`c`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.errors import InfeasibleError, InputError, Problem
from optimizer.location.backend import MatrixMip, RowBuilder, solve_mip
from optimizer.location.problem import BoolArray, FloatArray, relative_gap

_SRC = "two-tier problem"


#: Tier-2 kinds where a delivered tonne counts as recovered (recycled or composted).
RECOVERY_KINDS = ("recycler", "composting")


def _ro(a: Any, dtype: Any) -> Any:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Tier:
    """The candidate sites of one tier."""

    ids: tuple[str, ...]
    kind: tuple[str, ...]
    accepts: BoolArray  # (m, K) licensed streams
    capacity: FloatArray  # (m,)
    fixed_cost: FloatArray  # (m,)
    must_open: BoolArray
    may_open: BoolArray
    recovery: FloatArray | None = None  # (m, K) share recovered (tier 1)
    accepts_residue: BoolArray | None = None  # (m,) tier 2
    group: Any = None  # (m,) int: size options of one site share a number; -1 = none
    budget_cost: FloatArray | None = None  # (m,) counted against the problem's budget

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "ids", tuple(self.ids))
        set_(self, "kind", tuple(self.kind))
        for name, dt in (
            ("accepts", np.bool_),
            ("capacity", np.float64),
            ("fixed_cost", np.float64),
            ("must_open", np.bool_),
            ("may_open", np.bool_),
            ("recovery", np.float64),
            ("accepts_residue", np.bool_),
            ("group", np.int64),
            ("budget_cost", np.float64),
        ):
            v = getattr(self, name)
            if v is not None:
                set_(self, name, _ro(v, dt))


@dataclass(frozen=True, eq=False)
class TwoTierProblem:
    """Points x streams supply, tier-1 and tier-2 candidates, costs per tonne."""

    point_ids: tuple[str, ...]
    streams: tuple[str, ...]
    supply: FloatArray  # (n, K)
    tier1: Tier
    tier2: Tier
    cost1: FloatArray  # (n, m1) per tonne, inf = not allowed
    cost2: FloatArray  # (m1, m2) per tonne
    direct_cost: FloatArray | None = None  # (n, m2) per tonne
    min_recycling_rate: float | None = None
    budget: float | None = None  # on the tiers' budget_cost of open sites

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "point_ids", tuple(self.point_ids))
        set_(self, "streams", tuple(self.streams))
        set_(self, "supply", _ro(self.supply, np.float64))
        set_(self, "cost1", _ro(self.cost1, np.float64))
        set_(self, "cost2", _ro(self.cost2, np.float64))
        if self.direct_cost is not None:
            set_(self, "direct_cost", _ro(self.direct_cost, np.float64))
        n, k = len(self.point_ids), len(self.streams)
        m1, m2 = len(self.tier1.ids), len(self.tier2.ids)
        probs: list[Problem] = []
        checks: list[tuple[str, Any, tuple[int, ...]]] = [
            ("supply", self.supply, (n, k)),
            ("cost1", self.cost1, (n, m1)),
            ("cost2", self.cost2, (m1, m2)),
            ("tier1.accepts", self.tier1.accepts, (m1, k)),
            ("tier2.accepts", self.tier2.accepts, (m2, k)),
            ("tier1.capacity", self.tier1.capacity, (m1,)),
            ("tier2.capacity", self.tier2.capacity, (m2,)),
        ]
        if self.direct_cost is not None:
            checks.append(("direct_cost", self.direct_cost, (n, m2)))
        if self.tier1.recovery is not None:
            checks.append(("tier1.recovery", self.tier1.recovery, (m1, k)))
        for name, tier, m in (("tier1", self.tier1, m1), ("tier2", self.tier2, m2)):
            for part in ("group", "budget_cost"):
                if getattr(tier, part) is not None:
                    checks.append((f"{name}.{part}", getattr(tier, part), (m,)))
        for name, arr, shape in checks:
            if arr.shape != shape:
                probs.append(
                    Problem(
                        _SRC, name, f"shape {arr.shape}, expected {shape}", "fix the array size"
                    )
                )
        if not probs and (np.any(self.supply < 0) or not np.isfinite(self.supply).all()):
            probs.append(Problem(_SRC, "supply", "negative or non-finite", "use >= 0"))
        rec = self.tier1.recovery
        if rec is not None and (np.any(rec < 0) or np.any(rec > 1)):
            probs.append(Problem(_SRC, "tier1.recovery", "outside [0, 1]", "use shares"))
        r = self.min_recycling_rate
        if r is not None and not 0 <= r <= 1:
            probs.append(
                Problem(
                    _SRC, "min_recycling_rate", "outside [0, 1]", "e.g. 0.4 for the 40 % target"
                )
            )
        if self.budget is not None and not self.budget >= 0:
            probs.append(Problem(_SRC, "budget", "must be >= 0", "give a non-negative budget"))
        if probs:
            raise InputError(probs)

    def replace(self, **changes: Any) -> TwoTierProblem:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TwoTierDecision:
    """Open sites per tier, flows in tonnes and the recycling rate achieved."""

    status: str
    objective: float
    bound: float
    gap: float
    runtime_s: float
    open_tier1: tuple[str, ...]
    open_tier2: tuple[str, ...]
    to_tier1: dict[tuple[str, str, str], float]  # (point, site, stream) -> t
    to_tier2: dict[tuple[str, str, str], float]  # direct (point, site, stream) -> t
    residue: dict[tuple[str, str], float]  # (tier1, tier2) -> t
    recycled_t: float
    recycling_rate: float
    solver: str


def _budget_cost(tier: Tier) -> FloatArray:
    """What opening each site of a tier counts against the budget (default: fixed cost)."""
    return tier.fixed_cost if tier.budget_cost is None else tier.budget_cost


def solve_two_tier(
    problem: TwoTierProblem,
    *,
    solver: str | None = None,
    time_limit_s: float = 30.0,
    mip_gap: float = 1e-6,
) -> TwoTierDecision:
    """Solve the two-tier model (see module docstring)."""
    t0 = time.perf_counter()
    P = problem
    t1, t2 = P.tier1, P.tier2
    n, K = P.supply.shape
    m1, m2 = len(t1.ids), len(t2.ids)
    rec = t1.recovery if t1.recovery is not None else np.zeros((m1, K))
    acc_res = (
        t2.accepts_residue
        if t2.accepts_residue is not None
        else np.array([k == "landfill" for k in t2.kind], dtype=bool)
    )
    recycler = np.array([k in RECOVERY_KINDS for k in t2.kind], dtype=bool)
    # arcs
    ok2 = np.isfinite(P.cost2) & acc_res[None, :] & t2.may_open[None, :]
    # A tier-1 site can take a stream only if its residue has somewhere to go.
    passes_on = ok2.any(axis=1)[:, None] | (rec >= 1.0)  # (m1, K)
    ok1 = (
        np.isfinite(P.cost1)[:, :, None]
        & t1.accepts[None, :, :]
        & t1.may_open[None, :, None]
        & passes_on[None, :, :]
        & (P.supply[:, None, :] > 0)
    )
    ai, aj, ak = (v.astype(np.int64) for v in np.nonzero(ok1))
    if P.direct_cost is not None:
        ok3 = (
            np.isfinite(P.direct_cost)[:, :, None]
            & t2.accepts[None, :, :]
            & t2.may_open[None, :, None]
            & (P.supply[:, None, :] > 0)
        )
        bi, bl, bk = (v.astype(np.int64) for v in np.nonzero(ok3))
    else:
        bi = bl = bk = np.zeros(0, np.int64)
    rj, rl = (v.astype(np.int64) for v in np.nonzero(ok2))
    # precheck: every (point, stream) with supply has a destination
    reach = ok1.any(axis=1)
    if P.direct_cost is not None:
        reach |= ok3.any(axis=1)
    miss = np.argwhere((P.supply > 0) & ~reach)
    if miss.size:
        i, k = miss[0]
        raise InfeasibleError(
            f"stream {P.streams[k]!r} at point {P.point_ids[i]} has no licensed "
            f"facility it can reach ({len(miss)} point-stream pairs in all; a sorting or "
            "transfer site counts only when a landfill that may open can take its residue)"
        )
    total_supply = float(P.supply.sum())
    if P.min_recycling_rate and total_supply > 0:
        # Upper bound ignoring capacities: every tonne to its best licensed recovery.
        best = np.zeros_like(P.supply)
        if ai.size:
            np.maximum.at(best, (ai, ak), rec[aj, ak])
        if bi.size:
            direct_rec = recycler[bl]
            np.maximum.at(best, (bi[direct_rec], bk[direct_rec]), 1.0)
        reach_rate = float((best * P.supply).sum()) / total_supply
        if reach_rate < P.min_recycling_rate - 1e-9:
            raise InfeasibleError(
                f"minimum recycling rate {P.min_recycling_rate:.0%} is out of reach: sending "
                f"every tonne to its best licensed site recovers at most {reach_rate:.1%}. "
                "Lower the target, or add sorting/recycling sites or recovery"
            )
    na, nb, nr = ai.size, bi.size, rj.size
    Y, Z, A = 0, m1, m1 + m2
    B, R = A + na, A + na + nb
    nv = R + nr
    obj = np.zeros(nv)
    obj[Y:Z], obj[Z:A] = t1.fixed_cost, t2.fixed_cost
    obj[A:B] = P.cost1[ai, aj]
    if nb:
        assert P.direct_cost is not None
        obj[B:R] = P.direct_cost[bi, bl]
    obj[R:] = P.cost2[rj, rl]
    lb, ub = np.zeros(nv), np.full(nv, np.inf)
    lb[Y:Z], ub[Y:Z] = t1.must_open, t1.may_open
    lb[Z:A], ub[Z:A] = t2.must_open, t2.may_open
    integer = np.zeros(nv, bool)
    integer[:A] = True
    rb = RowBuilder()
    # supply rows (i, k)
    rb.add(
        np.concatenate([ai * K + ak, bi * K + bk]),
        np.concatenate([A + np.arange(na), B + np.arange(nb)]),
        1.0,
        P.supply.ravel(),
        P.supply.ravel(),
        n * K,
    )
    # tier-1 capacity
    cap1 = np.where(np.isfinite(t1.capacity), t1.capacity, P.supply.sum())
    rb.add(
        np.concatenate([aj, np.arange(m1)]),
        np.concatenate([A + np.arange(na), Y + np.arange(m1)]),
        np.concatenate([np.ones(na), -cap1]),
        -np.inf,
        0.0,
        m1,
    )
    # tier-2 capacity
    cap2 = np.where(np.isfinite(t2.capacity), t2.capacity, P.supply.sum())
    rb.add(
        np.concatenate([bl, rl, np.arange(m2)]),
        np.concatenate([B + np.arange(nb), R + np.arange(nr), Z + np.arange(m2)]),
        np.concatenate([np.ones(nb + nr), -cap2]),
        -np.inf,
        0.0,
        m2,
    )
    # residue balance at tier 1
    rb.add(
        np.concatenate([rj, aj]),
        np.concatenate([R + np.arange(nr), A + np.arange(na)]),
        np.concatenate([np.ones(nr), -(1.0 - rec[aj, ak])]),
        0.0,
        0.0,
        m1,
    )
    # linking
    ar = np.arange(na)
    rb.add(
        np.concatenate([ar, ar]),
        np.concatenate([A + ar, Y + aj]),
        np.concatenate([np.ones(na), -P.supply[ai, ak]]),
        -np.inf,
        0.0,
        na,
    )
    if nb:
        br = np.arange(nb)
        rb.add(
            np.concatenate([br, br]),
            np.concatenate([B + br, Z + bl]),
            np.concatenate([np.ones(nb), -P.supply[bi, bk]]),
            -np.inf,
            0.0,
            nb,
        )
    total = float(P.supply.sum())
    if P.min_recycling_rate:
        dr = recycler[bl]
        rb.add(
            np.zeros(na + int(dr.sum()), np.int64),
            np.concatenate([A + ar, B + np.flatnonzero(dr)]),
            np.concatenate([rec[aj, ak], np.ones(int(dr.sum()))]),
            P.min_recycling_rate * total,
            np.inf,
            1,
        )
    # size options: at most one size per site group, per tier
    for tier, first in ((t1, Y), (t2, Z)):
        if tier.group is not None:
            sel = np.flatnonzero(tier.group >= 0)
            groups = np.unique(tier.group[sel])
            if groups.size:
                rb.add(
                    np.searchsorted(groups, tier.group[sel]),
                    first + sel,
                    1.0,
                    -np.inf,
                    1.0,
                    int(groups.size),
                )
    if P.budget is not None:
        spend = [_budget_cost(t1), _budget_cost(t2)]
        rb.add(
            np.zeros(m1 + m2, np.int64),
            np.arange(Y, A),
            np.concatenate(spend),
            -np.inf,
            float(P.budget),
            1,
        )
    r, c, v, lo, hi = rb.arrays()
    mip = MatrixMip(obj, lb, ub, integer, r, c, v, lo, hi)
    res = solve_mip(mip, solver=solver or "highs", time_limit_s=time_limit_s, mip_gap=mip_gap)
    if res.status == "infeasible":
        what = "licensing, capacities of both tiers"
        if P.budget is not None:
            what += f", budget {P.budget:,.0f}"
        if P.min_recycling_rate:
            what += f", minimum recycling rate {P.min_recycling_rate:.0%}"
        raise InfeasibleError(f"the two-tier model is infeasible; binding together: {what}")
    runtime = time.perf_counter() - t0
    if res.x is None:
        return TwoTierDecision(
            res.status,
            float("nan"),
            res.bound,
            float("nan"),
            runtime,
            (),
            (),
            {},
            {},
            {},
            0.0,
            0.0,
            res.solver,
        )
    x = res.x
    st = P.streams
    to1 = {
        (P.point_ids[i], t1.ids[j], st[k]): float(x[A + e])
        for e, (i, j, k) in enumerate(zip(ai, aj, ak, strict=True))
        if x[A + e] > 1e-7
    }
    to2 = {
        (P.point_ids[i], t2.ids[l_], st[k]): float(x[B + e])
        for e, (i, l_, k) in enumerate(zip(bi, bl, bk, strict=True))
        if x[B + e] > 1e-7
    }
    resid = {
        (t1.ids[j], t2.ids[l_]): float(x[R + e])
        for e, (j, l_) in enumerate(zip(rj, rl, strict=True))
        if x[R + e] > 1e-7
    }
    recycled = float(rec[aj, ak] @ x[A:B]) + float(x[B:R][recycler[bl]].sum() if nb else 0.0)
    return TwoTierDecision(
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        gap=relative_gap(res.objective, res.bound),
        runtime_s=runtime,
        open_tier1=tuple(t1.ids[j] for j in np.flatnonzero(x[Y:Z] > 0.5)),
        open_tier2=tuple(t2.ids[l_] for l_ in np.flatnonzero(x[Z:A] > 0.5)),
        to_tier1=to1,
        to_tier2=to2,
        residue=resid,
        recycled_t=recycled,
        recycling_rate=recycled / total if total > 0 else 0.0,
        solver=res.solver,
    )


def check_two_tier(problem: TwoTierProblem, d: TwoTierDecision) -> list[str]:
    """Independent check: supply served, licences, capacities, balance, rate."""
    P = problem
    errs: list[str] = []
    pidx = {p: i for i, p in enumerate(P.point_ids)}
    sidx = {s: k for k, s in enumerate(P.streams)}
    j1 = {f: j for j, f in enumerate(P.tier1.ids)}
    j2 = {f: j for j, f in enumerate(P.tier2.ids)}
    served = np.zeros_like(P.supply)
    in1 = dict.fromkeys(P.tier1.ids, 0.0)
    in2 = dict.fromkeys(P.tier2.ids, 0.0)
    residue_due = dict.fromkeys(P.tier1.ids, 0.0)
    recycled = 0.0
    rec = P.tier1.recovery
    negative = [
        t for t in (*d.to_tier1.values(), *d.to_tier2.values(), *d.residue.values()) if t < -1e-9
    ]
    if negative:
        errs.append(f"{len(negative)} negative flows")
    if d.to_tier2 and P.direct_cost is None:
        errs.append("direct deliveries to tier 2 although the problem allows none")
    for (p, f, s), t in d.to_tier1.items():
        i, j, k = pidx[p], j1[f], sidx[s]
        served[i, k] += t
        in1[f] += t
        if not P.tier1.accepts[j, k]:
            errs.append(f"{f} is not licensed for stream {s}")
        if f not in d.open_tier1:
            errs.append(f"flow to closed tier-1 site {f}")
        share = float(rec[j, k]) if rec is not None else 0.0
        recycled += share * t
        residue_due[f] += (1 - share) * t
    for (p, f, s), t in d.to_tier2.items():
        i, j, k = pidx[p], j2[f], sidx[s]
        served[i, k] += t
        in2[f] += t
        if not P.tier2.accepts[j, k]:
            errs.append(f"{f} is not licensed for stream {s}")
        if f not in d.open_tier2:
            errs.append(f"flow to closed tier-2 site {f}")
        if P.tier2.kind[j] in RECOVERY_KINDS:
            recycled += t
    out1 = dict.fromkeys(P.tier1.ids, 0.0)
    for (f, g), t in d.residue.items():
        out1[f] += t
        in2[g] += t
        if g not in d.open_tier2:
            errs.append(f"residue to closed tier-2 site {g}")
        takes_residue = (
            P.tier2.accepts_residue[j2[g]]
            if P.tier2.accepts_residue is not None
            else P.tier2.kind[j2[g]] == "landfill"
        )
        if not takes_residue:
            errs.append(f"residue from {f} sent to {g}, which does not take residue")
    tol = 1e-5 * max(1.0, float(P.supply.sum()))
    bad = np.argwhere(np.abs(served - P.supply) > tol)
    for i, k in bad[:10]:
        errs.append(
            f"point {P.point_ids[i]} stream {P.streams[k]}: served "
            f"{served[i, k]:g} of {P.supply[i, k]:g} t"
        )
    for f in P.tier1.ids:
        if in1[f] > P.tier1.capacity[j1[f]] + tol:
            errs.append(f"tier-1 site {f} over capacity")
        if abs(out1[f] - residue_due[f]) > tol:
            errs.append(f"residue balance of {f} is off")
        if f in d.open_tier1 and not P.tier1.may_open[j1[f]]:
            errs.append(f"excluded site {f} is open")
    for f in P.tier2.ids:
        if in2[f] > P.tier2.capacity[j2[f]] + tol:
            errs.append(f"tier-2 site {f} over capacity")
        if f in d.open_tier2 and not P.tier2.may_open[j2[f]]:
            errs.append(f"excluded site {f} is open")
    for tier, opened in ((P.tier1, d.open_tier1), (P.tier2, d.open_tier2)):
        for j, f in enumerate(tier.ids):
            if tier.must_open[j] and f not in opened:
                errs.append(f"site {f} must stay open")
    for tier, opened in ((P.tier1, d.open_tier1), (P.tier2, d.open_tier2)):
        if tier.group is not None:
            sizes: dict[int, list[str]] = {}
            for j, f in enumerate(tier.ids):
                if f in opened and tier.group[j] >= 0:
                    sizes.setdefault(int(tier.group[j]), []).append(f)
            errs += [
                f"two sizes of one site open: {', '.join(v)}" for v in sizes.values() if len(v) > 1
            ]
    if P.budget is not None:
        spent = sum(
            float(cost[j])
            for tier, opened in ((P.tier1, d.open_tier1), (P.tier2, d.open_tier2))
            for cost in [tier.fixed_cost if tier.budget_cost is None else tier.budget_cost]
            for j, f in enumerate(tier.ids)
            if f in opened
        )
        if spent > P.budget * (1 + 1e-9) + 1e-6:
            errs.append(f"budget exceeded: {spent:,.0f} > {P.budget:,.0f}")
    total = float(P.supply.sum())
    if P.min_recycling_rate and recycled < P.min_recycling_rate * total - tol:
        errs.append(f"recycling rate {recycled / total:.3f} below {P.min_recycling_rate:.3f}")
    return errs


def two_tier_reliability(
    problem: TwoTierProblem, d: TwoTierDecision, supply_samples: FloatArray
) -> tuple[float, float]:
    """Share of supply samples (S, n, K) in which both tiers' capacities hold, and the
    worst load / capacity ratio.

    Each point-stream keeps the plan's split between sites (shares of its mean
    supply) and each tier-1 site keeps its split of residue between landfills.
    """
    P = problem
    S = np.asarray(supply_samples, dtype=float)
    n, K = P.supply.shape
    if S.ndim != 3 or S.shape[1:] != (n, K):
        raise ValueError(f"supply samples must have shape (S, {n}, {K})")
    pidx = {p: i for i, p in enumerate(P.point_ids)}
    sidx = {s: k for k, s in enumerate(P.streams)}
    j1 = {f: j for j, f in enumerate(P.tier1.ids)}
    j2 = {f: j for j, f in enumerate(P.tier2.ids)}
    m1, m2 = len(j1), len(j2)
    mean = np.where(P.supply > 0, P.supply, 1.0)
    share1 = np.zeros((n * K, m1))
    share2 = np.zeros((n * K, m2))
    keep = np.zeros((n * K, m1))  # residue share left at tier 1 per tonne delivered
    rec = P.tier1.recovery if P.tier1.recovery is not None else np.zeros((m1, K))
    for (p, f, s), t in d.to_tier1.items():
        i, j, k = pidx[p], j1[f], sidx[s]
        share1[i * K + k, j] += t / mean[i, k]
        keep[i * K + k, j] += (1.0 - rec[j, k]) * t / mean[i, k]
    for (p, f, s), t in d.to_tier2.items():
        i, k = pidx[p], sidx[s]
        share2[i * K + k, j2[f]] += t / mean[i, k]
    out = np.zeros(m1)
    split = np.zeros((m1, m2))
    for (f, g), t in d.residue.items():
        out[j1[f]] += t
        split[j1[f], j2[g]] += t
    split = np.divide(split, out[:, None], out=np.zeros_like(split), where=out[:, None] > 0)
    flat = S.reshape(S.shape[0], n * K)
    load1 = flat @ share1
    load2 = flat @ share2 + (flat @ keep) @ split
    cap1 = np.where(np.isfinite(P.tier1.capacity), P.tier1.capacity, np.inf)
    cap2 = np.where(np.isfinite(P.tier2.capacity), P.tier2.capacity, np.inf)
    ok = (load1 <= cap1 * (1 + 1e-9) + 1e-9).all(axis=1) & (load2 <= cap2 * (1 + 1e-9) + 1e-9).all(
        axis=1
    )
    ratio = max(float(np.max(load1 / cap1, initial=0.0)), float(np.max(load2 / cap2, initial=0.0)))
    return float(ok.mean()), ratio


def _scaled(problem: TwoTierProblem, d: TwoTierDecision, factor: float) -> TwoTierDecision:
    """``d`` with every flow multiplied by ``factor`` and its objective recomputed.

    With the open sites fixed the model is linear in the flows, so a plan solved on
    inflated supply, scaled back, serves the mean supply with the same shares and
    leaves ``1 - factor`` of each used capacity free.
    """
    P = problem
    pidx = {p: i for i, p in enumerate(P.point_ids)}
    j1 = {f: j for j, f in enumerate(P.tier1.ids)}
    j2 = {f: j for j, f in enumerate(P.tier2.ids)}
    to1 = {key: t * factor for key, t in d.to_tier1.items()}
    to2 = {key: t * factor for key, t in d.to_tier2.items()}
    resid = {key: t * factor for key, t in d.residue.items()}
    variable = sum(float(P.cost1[pidx[p], j1[f]]) * t for (p, f, _), t in to1.items())
    if P.direct_cost is not None:
        variable += sum(float(P.direct_cost[pidx[p], j2[f]]) * t for (p, f, _), t in to2.items())
    variable += sum(float(P.cost2[j1[f], j2[g]]) * t for (f, g), t in resid.items())
    fixed = sum(float(P.tier1.fixed_cost[j1[f]]) for f in d.open_tier1) + sum(
        float(P.tier2.fixed_cost[j2[f]]) for f in d.open_tier2
    )
    return dataclasses.replace(
        d,
        objective=fixed + variable,
        to_tier1=to1,
        to_tier2=to2,
        residue=resid,
        recycled_t=d.recycled_t * factor,
    )


def robust_two_tier(
    problem: TwoTierProblem,
    supply_samples: FloatArray,
    target: float,
    *,
    time_limit_s: float = 30.0,
    max_iter: int = 8,
) -> tuple[TwoTierDecision, float, float]:
    """A two-tier plan whose capacities hold in at least ``target`` of the samples.

    Sample-based heuristic (as :func:`optimizer.location.robust.chance_constrained_plan`):
    solve on ``alpha`` × mean supply, scale the flows back to the mean, measure the
    reliability on the samples, and bisect on ``alpha``. Returns ``(decision,
    reliability, alpha)``; the reliability is measured, not assumed.
    """
    S = np.asarray(supply_samples, dtype=float)
    # At the largest per-point ratio every sample is below alpha x mean everywhere, so a
    # plan for that alpha holds in all of them (loads grow with supply).
    mean = problem.supply
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean[None] > 0, S / np.where(mean > 0, mean, 1.0)[None], 0.0)
    hi = max(1.0, float(ratio.max(initial=1.0)))
    each_s = max(1.0, time_limit_s / 4)

    def attempt(alpha: float) -> tuple[TwoTierDecision, float] | None:
        try:
            d = solve_two_tier(problem.replace(supply=problem.supply * alpha), time_limit_s=each_s)
        except InfeasibleError:
            if alpha == 1.0:
                raise  # the mean itself cannot be served: say why, not "robustness"
            return None
        if d.status not in ("optimal", "feasible"):
            return None
        plan = _scaled(problem, d, 1.0 / alpha)
        return plan, two_tier_reliability(problem, plan, S)[0]

    first = attempt(1.0)
    if first is not None and first[1] >= target:
        return first[0], first[1], 1.0
    best = attempt(hi)
    if best is None or best[1] < target:
        raise InfeasibleError(
            f"no site plan holds in {target:.0%} of the {S.shape[0]} demand samples: "
            "capacities (or the budget) bind even at the largest sampled demand"
        )
    lo, best_alpha = 1.0, hi
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        got = attempt(mid)
        if got is not None and got[1] >= target:
            best, best_alpha, hi = got, mid, mid
        else:
            lo = mid
        if hi - lo < 1e-3:
            break
    return best[0], best[1], best_alpha
