"""Solve a :class:`FacilityProblem` with one of the formulations in ``models``.

Large assignment models are first restricted to the *k* cheapest candidates per
client and solved as the relaxed restriction (see ``models``). *k* is doubled for
every client whose dummy is used, until no dummy is used; the final model is then a
proof that the restriction did not cut the optimum. Large multi-source capacitated
models and large p-medians take the Lagrangian paths in
:mod:`optimizer.location.large`.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import numpy as np

from optimizer.errors import InfeasibleError, VerificationError
from optimizer.location.backend import MipResult, solve_mip
from optimizer.location.models import (
    Built,
    arcs_all,
    arcs_nearest,
    build_assignment_model,
    build_coverage_model,
    coverage_sets,
)
from optimizer.location.problem import (
    MODELS,
    FacilityProblem,
    FloatArray,
    SiteDecision,
    relative_gap,
)

log = logging.getLogger(__name__)

#: models whose size n*m exceeds this are solved on the nearest-k restriction first
FULL_MODEL_MAX_ARCS = 250_000
DEFAULT_K = 10
#: multi-source capacitated models at least this large use the Lagrangian kernel
KERNEL_MIN_ARCS = 50_000


def _ids(problem: FacilityProblem, idx: np.ndarray, kind: str) -> str:
    names = problem.client_ids if kind == "client" else problem.facility_ids
    shown = [names[int(i)] for i in idx[:5]]
    more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
    return ", ".join(shown) + more


def max_capacity(problem: FacilityProblem) -> float:
    """Largest total capacity that can be opened (one size option per group)."""
    cap = np.where(problem.may_open, problem.capacity, 0.0)
    if problem.group is None:
        return float(cap.sum())
    g = problem.group
    total = float(cap[g < 0].sum())
    for gid in np.unique(g[g >= 0]):
        total += float(cap[g == gid].max())
    return total


def precheck(problem: FacilityProblem, model: str) -> None:
    """Raise :class:`InfeasibleError` for infeasibilities visible before solving."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    n_must = int(problem.must_open.sum())
    n_may = int(problem.may_open.sum())
    if problem.p is not None and n_must > problem.p:
        raise InfeasibleError(
            f"p = {problem.p} open sites requested but {n_must} sites must stay open"
        )
    if problem.p is not None and n_may < problem.p and model != "max-coverage":
        raise InfeasibleError(
            f"p = {problem.p} open sites requested but only {n_may} sites may open"
        )
    if problem.budget is not None:
        need = float(problem.bcost[problem.must_open].sum())
        if need > problem.budget + 1e-9:
            raise InfeasibleError(
                f"budget {problem.budget:g} is below the {need:g} of the sites that must stay open"
            )
    if model in ("max-coverage",):
        return
    if model == "set-cover":
        cov = coverage_sets(problem)
        bad = np.flatnonzero(~cov.any(axis=1))
        if bad.size:
            raise InfeasibleError(
                f"clients {_ids(problem, bad, 'client')} have no site that may open "
                f"within the coverage radius {problem.radius:g}"
            )
        return
    allowed = problem.allowed()
    bad = np.flatnonzero(~allowed.any(axis=1))
    if bad.size:
        raise InfeasibleError(
            f"clients {_ids(problem, bad, 'client')} have no allowed facility "
            "(every pair has infinite cost or the sites are excluded)"
        )
    if model == "cflp":
        total = float(problem.demand.sum())
        cap = max_capacity(problem)
        if total > cap * (1 + 1e-9):
            raise InfeasibleError(
                f"total demand {total:g} exceeds the total capacity {cap:g} of all "
                "sites that may open (capacity constraint)"
            )
        if problem.single_source:
            best = np.where(allowed, problem.capacity[None, :], 0.0).max(axis=1)
            bad = np.flatnonzero(problem.demand > best * (1 + 1e-9))
            if bad.size:
                raise InfeasibleError(
                    f"with single sourcing, clients {_ids(problem, bad, 'client')} "
                    "have more demand than any allowed facility can take"
                )


def solve_facility(
    problem: FacilityProblem,
    *,
    model: Literal["cflp", "p-median", "p-center", "max-coverage", "set-cover"] = "cflp",
    solver: str | None = None,
    time_limit_s: float = 30.0,
    mip_gap: float = 1e-6,
    k_nearest: int | None = None,
    threads: int | None = None,
    seed: int = 0,
    verify: bool = True,
    method: Literal["auto", "full", "kernel"] = "auto",
) -> SiteDecision:
    """Solve ``problem`` with ``model``; raise ``InfeasibleError`` if impossible.

    ``k_nearest``: restrict each client to its k cheapest candidates (proved exact
    by the relaxed restriction); ``None`` = automatic (full model up to
    ``FULL_MODEL_MAX_ARCS`` arcs, else k = 10), ``0`` = always the full model.
    ``method``: ``"kernel"`` (multi-source CFLP with capacities) runs the
    Lagrangian bound and heuristic of :mod:`optimizer.location.lagrange`, then the
    exact MIP on a kernel of the most promising sites; the result is optimal only
    when the kernel holds every site not fixed closed, otherwise ``feasible``
    with the Lagrangian lower bound. ``"auto"`` uses it when such a model has at
    least ``KERNEL_MIN_ARCS`` arcs.
    The returned decision is checked with :func:`check_sites` when ``verify``.
    """
    from optimizer.location import large

    precheck(problem, model)
    name = solver or "highs"
    t0 = time.perf_counter()
    if model in ("max-coverage", "set-cover"):
        built = build_coverage_model(problem, model)
        res = solve_mip(
            built.mip,
            solver=name,
            time_limit_s=time_limit_s,
            mip_gap=mip_gap,
            threads=threads,
            seed=seed,
        )
        _raise_if_infeasible(res, problem, model)
        decision = _decode_coverage(problem, model, built, res, time.perf_counter() - t0)
    elif large.use_kernel(problem, model, method):
        decision = large.solve_kernel(problem, name, time_limit_s, mip_gap, threads, seed, t0)
    else:
        decision = _solve_assignment(
            problem, model, name, time_limit_s, mip_gap, k_nearest, threads, seed, t0
        )
    if verify and decision.feasible:
        from optimizer.location.check import check_sites

        errors = check_sites(problem, decision)
        if errors:
            raise VerificationError(
                "facility decision rejected by the checker: " + "; ".join(errors[:5])
            )
    return decision


def _raise_if_infeasible(res: MipResult, problem: FacilityProblem, model: str) -> None:
    if res.status == "infeasible":
        parts = []
        if model == "cflp" and np.isfinite(problem.capacity).any():
            parts.append("capacities")
        if problem.single_source and model == "cflp":
            parts.append("single sourcing")
        if problem.p is not None:
            parts.append(f"p = {problem.p}")
        if problem.budget is not None:
            parts.append(f"budget {problem.budget:g}")
        if problem.group is not None:
            parts.append("one size option per site")
        what = ", ".join(parts) or "the site constraints"
        raise InfeasibleError(
            f"the {model} model is infeasible ({res.reason}); binding together: {what}"
        )


def _solve_assignment(
    problem: FacilityProblem,
    model: str,
    name: str,
    time_limit_s: float,
    mip_gap: float,
    k_nearest: int | None,
    threads: int | None,
    seed: int,
    t0: float,
) -> SiteDecision:
    n, m = problem.n, problem.m
    use_k = model != "p-center" and (
        (k_nearest is None and n * m > FULL_MODEL_MAX_ARCS) or bool(k_nearest)
    )
    from optimizer.location import large

    rounds = 0
    if model == "p-median" and use_k:
        return large.solve_pmedian_radius(
            problem, name, time_limit_s, mip_gap, k_nearest, threads, seed, t0
        )
    if not use_k:
        ai, aj = arcs_all(problem)
        built = build_assignment_model(problem, model, ai, aj)
        res = solve_mip(
            built.mip,
            solver=name,
            time_limit_s=time_limit_s,
            mip_gap=mip_gap,
            threads=threads,
            seed=seed,
        )
        _raise_if_infeasible(res, problem, model)
    else:
        k = np.full(n, k_nearest or DEFAULT_K, dtype=np.int64)
        while True:
            rounds += 1
            ai, aj, nxt = arcs_nearest(problem, k)
            built = build_assignment_model(problem, model, ai, aj, dummy_cost=nxt)
            left = time_limit_s - (time.perf_counter() - t0)
            res = solve_mip(
                built.mip,
                solver=name,
                time_limit_s=max(left, 0.5),
                mip_gap=mip_gap,
                threads=threads,
                seed=seed,
            )
            _raise_if_infeasible(res, problem, model)
            used = _dummies_used(built, res)
            log.info(
                "k-nearest round %d: k<=%d, %d arcs, %s, %d dummies used",
                rounds,
                int(k.max()),
                ai.size,
                res.status,
                used.size,
            )
            if res.x is None or used.size == 0:
                break
            if time.perf_counter() - t0 > time_limit_s:
                break
            k[used] = np.minimum(k[used] * 2, m)
        if res.x is not None and _dummies_used(built, res).size:
            return _repair(problem, model, built, res, name, time.perf_counter() - t0, rounds)
    return _decode_assignment(problem, model, built, res, time.perf_counter() - t0, rounds)


def _dummies_used(built: Built, res: MipResult) -> np.ndarray:
    if res.x is None or built.dummy_clients.size == 0:
        return np.zeros(0, np.int64)
    dv = res.x[built.d0 : built.d0 + built.dummy_clients.size]
    return built.dummy_clients[dv > 1e-7]


def _objective(problem: FacilityProblem, model: str, y: np.ndarray, flows: FloatArray) -> float:
    d = problem.demand
    # Disallowed pairs cost inf and carry no flow; keep them out of the product.
    served = np.where(flows > 0, problem.cost, 0.0) * flows
    if model == "cflp":
        return float(problem.fixed_cost @ y + np.sum(d[:, None] * served))
    if model == "p-median":
        return float(np.sum(d[:, None] * served))
    return float(np.max(np.where(flows > 1e-9, problem.dist, 0.0), initial=0.0))


def _make_decision(
    problem: FacilityProblem,
    model: str,
    y: np.ndarray,
    flows: FloatArray,
    res: MipResult,
    status: str,
    runtime: float,
    rounds: int,
    covered: tuple[str, ...] = (),
    objective: float | None = None,
) -> SiteDecision:
    fids, cids = problem.facility_ids, problem.client_ids
    open_idx = np.flatnonzero(y > 0.5)
    fl: dict[str, dict[str, float]] = {}
    assignment: dict[str, str] = {}
    ii, jj = np.nonzero(flows > 1e-9)
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        fl.setdefault(cids[i], {})[fids[j]] = float(flows[i, j])
    for c, shares in fl.items():
        assignment[c] = max(shares, key=lambda f: shares[f])
    loads = (problem.demand[:, None] * flows).sum(axis=0)
    obj = _objective(problem, model, y, flows) if objective is None else objective
    bound = res.bound
    if status == "optimal":
        bound = obj if not np.isfinite(bound) else bound
    return SiteDecision(
        status=status,  # type: ignore[arg-type]
        model=model,
        objective=obj,
        bound=bound,
        gap=relative_gap(obj, bound),
        runtime_s=runtime,
        open_ids=tuple(fids[j] for j in open_idx),
        assignment=assignment,
        flows=fl,
        load={fids[j]: float(loads[j]) for j in open_idx},
        solver=res.solver,
        covered=covered,
        stats={"build_s": res.build_s, "solve_s": res.runtime_s, "rounds": rounds},
    )


def _flows_from(problem: FacilityProblem, built: Built, x: FloatArray) -> FloatArray:
    flows = np.zeros((problem.n, problem.m))
    xv = x[built.x0 : built.x0 + built.ai.size]
    xv = np.where(xv > 1e-7, xv, 0.0)
    if built.mip.integer[built.x0 : built.x0 + built.ai.size].all():
        xv = np.round(xv)
    flows[built.ai, built.aj] = xv
    s = flows.sum(axis=1, keepdims=True)
    return np.divide(flows, s, out=flows, where=s > 0)


def _decode_assignment(
    problem: FacilityProblem, model: str, built: Built, res: MipResult, runtime: float, rounds: int
) -> SiteDecision:
    if res.x is None:
        return _empty(problem, model, res, runtime)
    y = np.round(res.x[: problem.m])
    flows = _flows_from(problem, built, res.x)
    if model == "p-median":
        flows = _nearest_open(problem, y)
    return _make_decision(problem, model, y, flows, res, res.status, runtime, rounds)


def _nearest_open(problem: FacilityProblem, y: np.ndarray) -> FloatArray:
    c = np.where(problem.allowed() & (y > 0.5)[None, :], problem.cost, np.inf)
    best = np.argmin(c, axis=1)
    flows = np.zeros((problem.n, problem.m))
    ok = np.isfinite(c[np.arange(problem.n), best])
    flows[np.flatnonzero(ok), best[ok]] = 1.0
    return flows


def _repair(
    problem: FacilityProblem,
    model: str,
    built: Built,
    res: MipResult,
    name: str,
    runtime: float,
    rounds: int,
) -> SiteDecision:
    """Time ran out with dummies in use: serve those clients from open sites."""
    assert res.x is not None
    y = np.round(res.x[: problem.m])
    if model == "p-median" or not np.isfinite(problem.capacity).any():
        flows = _nearest_open(problem, y)
        status = "feasible" if flows.sum(axis=1).min() > 0 else "no_solution"
        return _make_decision(problem, model, y, flows, res, status, runtime, rounds)
    log.warning("time limit hit on the restricted capacitated model; no repair")
    return _empty(problem, model, res, runtime)


def _empty(problem: FacilityProblem, model: str, res: MipResult, runtime: float) -> SiteDecision:
    return SiteDecision(
        "no_solution",
        model,
        float("nan"),
        res.bound,
        float("nan"),
        runtime,
        (),
        {},
        {},
        {},
        res.solver,
    )


def _decode_coverage(
    problem: FacilityProblem, model: str, built: Built, res: MipResult, runtime: float
) -> SiteDecision:
    if res.x is None:
        return _empty(problem, model, res, runtime)
    y = np.round(res.x[: problem.m])
    cov = coverage_sets(problem) & (y > 0.5)[None, :]
    covered_mask = cov.any(axis=1)
    dist = np.where(problem.may_open[None, :] & (y > 0.5)[None, :], problem.dist, np.inf)
    best = np.argmin(dist, axis=1)
    flows = np.zeros((problem.n, problem.m))
    ok = np.isfinite(dist[np.arange(problem.n), best])
    flows[np.flatnonzero(ok), best[ok]] = 1.0
    covered = tuple(problem.client_ids[i] for i in np.flatnonzero(covered_mask))
    if model == "max-coverage":
        obj = float(problem.demand[covered_mask].sum())
    else:
        w = problem.fixed_cost if problem.fixed_cost.any() else np.ones(problem.m)
        obj = float(w @ y)
    return _make_decision(
        problem, model, y, flows, res, res.status, runtime, 0, covered=covered, objective=obj
    )
