"""OR-Library CFLP benchmark runner: one row per instance (and capacity value)."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputError, OptimizerError
from optimizer.location.check import check_sites
from optimizer.location.orlib import read_orlib_cap
from optimizer.location.problem import FacilityProblem
from optimizer.location.solve import solve_facility

log = logging.getLogger(__name__)

FIELDS = (
    "instance",
    "n",
    "solver",
    "time_limit_s",
    "runtime_s",
    "cost",
    "bks",
    "gap_pct",
    "feasible",
)


def _optimal_rows(instances_dir: Path) -> list[dict[str, str]]:
    f = instances_dir / "optimal.csv"
    if not f.is_file():
        raise InputError.one(
            str(f),
            "",
            "optimal.csv not found",
            "put optimal.csv (instance,capacity_override,cflp_optimal) beside the instances",
        )
    with f.open(newline="") as fh:
        return list(csv.DictReader(fh))


def run_cflp_benchmark(
    instances_dir: str | Path,
    time_limit_s: float,
    solver: str | None = None,
    *,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Solve every OR-Library ``cap`` instance listed in ``optimal.csv``.

    Multi-sourcing (the setting of the published optima). ``gap_pct`` is the
    cost's excess over the best known solution in percent; ``feasible`` is the
    independent checker's verdict.
    """
    d = Path(instances_dir)
    rows: list[dict[str, Any]] = []
    for rec in _optimal_rows(d):
        name = rec["instance"]
        if only is not None and name not in only:
            continue
        path = d / f"{name}.txt"
        if not path.is_file():
            log.warning("skipping %s: %s missing", name, path)
            continue
        override = rec.get("capacity_override") or ""
        cap = float(override) if override else None
        label = f"{name}-{int(cap)}" if cap is not None else name
        problem = read_orlib_cap(path, capacity=cap)
        bks = float(rec["cflp_optimal"])
        t0 = time.perf_counter()
        try:
            dec = solve_facility(
                problem,
                model="cflp",
                solver=solver,
                time_limit_s=time_limit_s,
                mip_gap=1e-6,
                verify=False,
            )
            runtime = time.perf_counter() - t0
            ok = dec.feasible and not check_sites(problem, dec)
            cost = dec.objective if dec.feasible else float("nan")
            used = dec.solver
        except OptimizerError as e:
            runtime = time.perf_counter() - t0
            log.error("%s: %s", label, e)
            ok, cost, used = False, float("nan"), solver or "highs"
        rows.append(
            {
                "instance": label,
                "n": problem.n,
                "solver": used,
                "time_limit_s": time_limit_s,
                "runtime_s": round(runtime, 3),
                "cost": round(cost, 3),
                "bks": bks,
                "gap_pct": round(100.0 * (cost - bks) / bks, 5),
                "feasible": ok,
            }
        )
        log.info("%s", rows[-1])
    return rows


def write_rows(rows: list[dict[str, Any]], out: str | Path) -> None:
    """Write CFLP benchmark rows as CSV with exactly :data:`FIELDS`."""
    from optimizer.benchrun import write_rows as write_csv

    write_csv(rows, out, FIELDS, extras=False)


def random_pmedian(
    n: int = 5000, m: int = 200, p: int = 20, seed: int = 0, side_km: float = 20.0
) -> FacilityProblem:
    """Random points in a square, euclidean km, demand 1..5 t, p sites to open."""
    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2)) * side_km
    cand = rng.random((m, 2)) * side_km
    dist = np.sqrt(((pts[:, None, :] - cand[None, :, :]) ** 2).sum(axis=2))
    return FacilityProblem(
        client_ids=tuple(f"p{i}" for i in range(n)),
        facility_ids=tuple(f"f{j}" for j in range(m)),
        demand=rng.integers(1, 6, n).astype(float),
        cost=dist,
        fixed_cost=np.zeros(m),
        capacity=np.full(m, np.inf),
        p=p,
    )


PMEDIAN_FIELDS = (
    "instance",
    "n",
    "candidates",
    "p",
    "solver",
    "time_limit_s",
    "runtime_s",
    "cost",
    "bound",
    "gap_pct",
    "status",
    "rounds",
    "fixed_closed",
    "feasible",
)


def _pmedian_row(
    problem: FacilityProblem,
    instance: str,
    time_limit_s: float,
    solver: str | None,
    k_nearest: int | None,
    mip_gap: float,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    dec = solve_facility(
        problem,
        model="p-median",
        solver=solver,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        k_nearest=k_nearest,
    )
    runtime = time.perf_counter() - t0
    return {
        "instance": instance,
        "n": problem.n,
        "candidates": problem.m,
        "p": problem.p,
        "solver": dec.solver,
        "time_limit_s": time_limit_s,
        "runtime_s": round(runtime, 3),
        "cost": round(dec.objective, 4),
        "bound": round(dec.bound, 4),
        "gap_pct": round(100.0 * dec.gap, 5),
        "status": dec.status,
        "rounds": dec.stats.get("rounds", 0),
        "fixed_closed": int(dec.stats.get("fixed_closed", 0)),
        "feasible": dec.feasible and not check_sites(problem, dec),
    }


def run_pmedian_benchmark(
    n: int = 5000,
    m: int = 200,
    p: int = 20,
    *,
    seed: int = 0,
    time_limit_s: float = 60.0,
    solver: str | None = None,
    k_nearest: int | None = None,
    mip_gap: float = 1e-6,
) -> dict[str, Any]:
    """One random euclidean p-median; the row reports the gap to the proven bound."""
    problem = random_pmedian(n, m, p, seed)
    name = f"random-pmedian-n{n}-m{m}-p{p}-seed{seed}"
    return _pmedian_row(problem, name, time_limit_s, solver, k_nearest, mip_gap)


def run_pmedian_network_benchmark(
    n: int = 5000,
    m: int = 200,
    p: int = 20,
    *,
    seed: int = 0,
    streets: str | Path | None = None,
    cache: str | Path | None = None,
    time_limit_s: float = 60.0,
    solver: str | None = None,
    k_nearest: int | None = None,
    mip_gap: float = 1e-6,
) -> dict[str, Any]:
    """The p-median on the Astana road network (:func:`network_pmedian`), travel time.

    ``runtime_s`` is the solve only; building the travel matrix (10-30 s) is not
    counted.
    """
    problem = network_pmedian(n, m, p, seed, streets or ASTANA_STREETS, cache=cache)
    name = f"astana-network-pmedian-time-n{n}-m{m}-p{p}-seed{seed}"
    return _pmedian_row(problem, name, time_limit_s, solver, k_nearest, mip_gap)


def write_pmedian_rows(rows: list[dict[str, Any]], out: str | Path) -> None:
    """Write p-median benchmark rows with exactly :data:`PMEDIAN_FIELDS`."""
    from optimizer.benchrun import write_rows as write_csv

    write_csv(rows, out, PMEDIAN_FIELDS, extras=False)


ASTANA_STREETS = Path(__file__).resolve().parents[2].parent / (
    "shared/data/osm/astana/astana_streets.geojson"
)


def network_pmedian(
    n: int = 5000,
    m: int = 200,
    p: int = 20,
    seed: int = 0,
    streets: str | Path = ASTANA_STREETS,
    *,
    cache: str | Path | None = None,
) -> FacilityProblem:
    """p-median on a road network: travel time (s) from each client to each candidate.

    ``n + m`` points are sampled on the streets (``sample_points(net, n + m, seed)``,
    uniform along the street length); the first ``n`` are clients, the last ``m``
    candidates. One ``travel_matrix`` over all of them gives the ``n x m`` block of
    road travel times. Demand: random integers 1..5 t from ``default_rng(seed)``, as in
    :func:`random_pmedian`. ``cache``: an ``.npz`` file keeping the block between runs.
    """
    block: np.ndarray | None = None
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as z:
            if z["time_s"].shape == (n, m):
                block = z["time_s"]
    if block is None:
        from optimizer.network import load_network, travel_matrix
        from optimizer.network.bench_matrix import sample_points

        net = load_network(streets)
        pts = sample_points(net, n + m, seed)
        tm = travel_matrix(net, pts, workers=2)
        block = np.asarray(tm.time_s[:n, n:])
        if cache is not None:
            np.savez(cache, time_s=block, distance_m=np.asarray(tm.distance_m[:n, n:]))
    rng = np.random.default_rng(seed)
    return FacilityProblem(
        client_ids=tuple(f"p{i}" for i in range(n)),
        facility_ids=tuple(f"f{j}" for j in range(m)),
        demand=rng.integers(1, 6, n).astype(float),
        cost=block.astype(float),
        fixed_cost=np.zeros(m),
        capacity=np.full(m, np.inf),
        p=p,
    )
