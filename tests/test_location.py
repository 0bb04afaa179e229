"""Facility location: formulations, checker, infeasibility, OR-Library optima."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from optimizer.errors import InfeasibleError, InputError
from optimizer.location.check import check_sites
from optimizer.location.orlib import read_orlib_cap
from optimizer.location.problem import FacilityProblem, SiteDecision
from optimizer.location.solve import solve_facility

INF = np.inf


def line_problem(**kw: object) -> FacilityProblem:
    """Clients at 0, 1, 9, 10 on a line; sites at 0.5, 5, 9.5; unit cost = distance."""
    cx = np.array([0.0, 1.0, 9.0, 10.0])
    fx = np.array([0.5, 5.0, 9.5])
    base: dict[str, object] = dict(
        client_ids=("a", "b", "c", "d"),
        facility_ids=("L", "M", "R"),
        demand=np.array([1.0, 1.0, 1.0, 1.0]),
        cost=np.abs(cx[:, None] - fx[None, :]),
        fixed_cost=np.array([10.0, 10.0, 10.0]),
        capacity=np.array([INF, INF, INF]),
    )
    base.update(kw)
    return FacilityProblem(**base)  # type: ignore[arg-type]


def test_problem_is_immutable_and_validated() -> None:
    p = line_problem()
    with pytest.raises(ValueError):
        p.demand[0] = 5.0
    q = p.replace(fixed_cost=np.array([1.0, 2.0, 3.0]))
    assert q.fixed_cost[2] == 3.0 and p.fixed_cost[2] == 10.0
    with pytest.raises(InputError, match="demand"):
        line_problem(demand=np.array([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="shape"):
        line_problem(capacity=np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="excluded"):
        line_problem(
            must_open=np.array([True, False, False]), may_open=np.array([False, True, True])
        )


def test_from_costs_matches_the_constructor() -> None:
    full = line_problem()
    p = FacilityProblem.from_costs(full.cost, [1, 1, 1, 1], INF, 10)
    assert p.client_ids == ("0", "1", "2", "3") and p.facility_ids == ("0", "1", "2")
    np.testing.assert_array_equal(p.fixed_cost, [10.0, 10.0, 10.0])
    np.testing.assert_array_equal(p.capacity, [INF, INF, INF])
    d = solve_facility(p)
    assert d.open_ids == ("0", "2") and d.objective == pytest.approx(20.0 + 4 * 0.5)
    named = FacilityProblem.from_costs(
        full.cost,
        full.demand,
        [1.0, 4.0, 1.0],
        [10.0, 10.0, 10.0],
        client_ids=full.client_ids,
        facility_ids=full.facility_ids,
        single_source=False,
    )
    assert named.facility_ids == ("L", "M", "R") and not named.single_source
    np.testing.assert_array_equal(named.capacity, [1.0, 4.0, 1.0])
    with pytest.raises(InputError, match="fixed_cost"):
        FacilityProblem.from_costs(full.cost, full.demand, INF, [1.0, 2.0])


def test_uncapacitated_cflp_opens_both_ends() -> None:
    d = solve_facility(line_problem())
    assert d.status == "optimal"
    assert d.open_ids == ("L", "R")
    assert d.assignment == {"a": "L", "b": "L", "c": "R", "d": "R"}
    assert d.objective == pytest.approx(20.0 + 4 * 0.5)
    assert check_sites(line_problem(), d) == []


def test_capacity_forces_split_or_third_site() -> None:
    p = line_problem(capacity=np.array([1.0, 4.0, 1.0]))
    single = solve_facility(p)
    assert check_sites(p, single) == []
    caps = {"L": 1.0, "M": 4.0, "R": 1.0}
    assert all(v <= caps[f] + 1e-9 for f, v in single.load.items())
    multi = solve_facility(p.replace(single_source=False))
    assert multi.objective <= single.objective + 1e-9
    assert (
        multi.load.get("L", 0.0) <= 1.0 + 1e-9
        and check_sites(p.replace(single_source=False), multi) == []
    )


def test_must_open_and_excluded_are_respected() -> None:
    p = line_problem(
        must_open=np.array([False, True, False]), may_open=np.array([True, True, False])
    )
    d = solve_facility(p)
    assert "M" in d.open_ids and "R" not in d.open_ids
    assert check_sites(p, d) == []


def test_p_median_p_center() -> None:
    p = line_problem(p=1)
    med = solve_facility(p, model="p-median")
    assert med.open_ids == ("M",)
    assert med.objective == pytest.approx(5 + 4 + 4 + 5)
    cen = solve_facility(p, model="p-center")
    assert cen.open_ids == ("M",) and cen.objective == pytest.approx(5.0)
    two = solve_facility(line_problem(p=2), model="p-center")
    assert set(two.open_ids) == {"L", "R"} and two.objective == pytest.approx(0.5)


def test_coverage_models() -> None:
    p = line_problem(p=1, radius=1.0, fixed_cost=np.zeros(3))
    mc = solve_facility(p, model="max-coverage")
    assert len(mc.open_ids) == 1 and mc.objective == pytest.approx(2.0)
    assert len(mc.covered) == 2 and check_sites(p, mc) == []
    sc = solve_facility(line_problem(radius=1.0, fixed_cost=np.zeros(3)), model="set-cover")
    assert set(sc.open_ids) == {"L", "R"}
    with pytest.raises(InfeasibleError, match="coverage radius"):
        solve_facility(line_problem(radius=0.1), model="set-cover")


def test_budget_and_size_options() -> None:
    # two size options at the middle site (group 0) and one small site at the left
    p = FacilityProblem(
        client_ids=("a", "b"),
        facility_ids=("S", "M-small", "M-big"),
        demand=np.array([3.0, 3.0]),
        cost=np.array([[0.0, 1.0, 1.0], [5.0, 1.0, 1.0]]),
        fixed_cost=np.array([1.0, 2.0, 4.0]),
        capacity=np.array([3.0, 3.0, 6.0]),
        group=np.array([-1, 0, 0]),
    )
    d = solve_facility(p)
    assert check_sites(p, d) == []
    assert not {"M-small", "M-big"} <= set(d.open_ids)
    with pytest.raises(InfeasibleError):
        solve_facility(p.replace(budget=2.5))


def test_infeasible_capacity_and_unreachable_client() -> None:
    with pytest.raises(InfeasibleError, match="total capacity"):
        solve_facility(line_problem(capacity=np.array([1.0, 1.0, 1.0])))
    cost = line_problem().cost.copy()
    cost[2, :] = INF
    with pytest.raises(InfeasibleError, match="c have no allowed facility"):
        solve_facility(line_problem(cost=cost))
    with pytest.raises(InfeasibleError, match="must stay open"):
        solve_facility(line_problem(p=1, must_open=np.array([True, False, True])), model="p-median")


def _broken(d: SiteDecision, **kw: object) -> SiteDecision:
    from dataclasses import replace

    return replace(d, **kw)  # type: ignore[arg-type]


def test_checker_catches_broken_decisions() -> None:
    p = line_problem(capacity=np.array([2.0, 4.0, 2.0]))
    good = solve_facility(p)
    assert check_sites(p, good) == []
    # capacity violation: everyone at L
    flows = {c: {"L": 1.0} for c in p.client_ids}
    over = _broken(
        good,
        open_ids=("L",),
        flows=flows,
        assignment={c: "L" for c in p.client_ids},
        load={"L": 4.0},
    )
    assert any("over capacity" in e for e in check_sites(p, over))
    # a missing client
    fl = dict(good.flows)
    fl.pop("a")
    assert any("client a is not assigned" in e for e in check_sites(p, _broken(good, flows=fl)))
    # a disallowed pair
    cost = p.cost.copy()
    cost[0, 0] = INF
    q = p.replace(cost=cost)
    assert any("not allowed" in e for e in check_sites(q, good))
    # excluded site open, must_open closed
    q2 = p.replace(may_open=np.array([False, True, True]))
    assert any("excluded" in e for e in check_sites(q2, good))
    q3 = p.replace(must_open=np.array([False, True, False]))
    assert any("must stay open" in e for e in check_sites(q3, good))
    # wrong p
    assert any("p = 1" in e for e in check_sites(p.replace(p=1), good))


def test_k_nearest_restriction_is_exact() -> None:
    rng = np.random.default_rng(3)
    cl, fa = rng.random((120, 2)), rng.random((30, 2))
    dist = np.linalg.norm(cl[:, None, :] - fa[None, :, :], axis=2)
    p = FacilityProblem(
        client_ids=tuple(f"c{i}" for i in range(120)),
        facility_ids=tuple(f"f{j}" for j in range(30)),
        demand=rng.integers(1, 5, 120).astype(float),
        cost=dist,
        fixed_cost=np.full(30, 0.6),
        capacity=np.full(30, 40.0),
        single_source=False,
    )
    full = solve_facility(p, k_nearest=0)
    small = solve_facility(p, k_nearest=2)
    assert small.objective == pytest.approx(full.objective, rel=1e-6)
    assert small.stats["rounds"] >= 1
    pm = p.replace(p=5)
    a = solve_facility(pm, model="p-median", k_nearest=0)
    b = solve_facility(pm, model="p-median", k_nearest=1)
    assert b.objective == pytest.approx(a.objective, rel=1e-6)


def test_cp_sat_refuses_continuous_variables() -> None:
    with pytest.raises(ValueError, match="CP-SAT"):
        solve_facility(line_problem(single_source=False), solver="cp-sat")
    d = solve_facility(line_problem(), solver="cp-sat")  # single source: all integer
    assert d.objective == pytest.approx(22.0)


def _optimum(shared: Path, name: str) -> float:
    with (shared / "facility_location/orlib_cap/optimal.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["instance"] == name:
                return float(row["cflp_optimal"])
    raise KeyError(name)


@pytest.mark.parametrize("name", ["cap41", "cap71", "cap113"])
@pytest.mark.parametrize("solver", ["highs", "scip"])
def test_orlib_known_optimum(shared_data: Path, name: str, solver: str) -> None:
    p = read_orlib_cap(shared_data / f"facility_location/orlib_cap/{name}.txt")
    d = solve_facility(p, solver=solver, time_limit_s=30)
    assert d.status == "optimal"
    assert d.objective == pytest.approx(_optimum(shared_data, name), rel=1e-7)
    assert check_sites(p, d) == []


def test_orlib_reader_needs_capacity_for_capa(shared_data: Path) -> None:
    f = shared_data / "facility_location/orlib_cap/capa.txt"
    with pytest.raises(InputError, match="capacity"):
        read_orlib_cap(f)
    p = read_orlib_cap(f, capacity=8000)
    assert p.n == 1000 and p.m == 100 and p.capacity.max() == 8000


@pytest.mark.parametrize("name", ["cap41", "cap113"])
def test_lagrangian_kernel_bounds_bracket_the_optimum(shared_data: Path, name: str) -> None:
    from optimizer.location.lagrange import lagrangian_cflp

    p = read_orlib_cap(shared_data / f"facility_location/orlib_cap/{name}.txt")
    opt = _optimum(shared_data, name)
    lag = lagrangian_cflp(p, time_limit_s=5)
    assert lag.bound <= opt * (1 + 1e-9) and lag.upper >= opt * (1 - 1e-9)
    d = solve_facility(p, method="kernel", time_limit_s=20)
    assert check_sites(p, d) == []
    assert d.bound <= opt * (1 + 1e-9) <= d.objective * (1 + 2e-9)
    assert d.objective <= opt * 1.001
    if d.status == "optimal":
        assert d.objective == pytest.approx(opt, rel=1e-7)


def test_large_pmedian_path_matches_full_model() -> None:
    from optimizer.location.bench import random_pmedian

    p = random_pmedian(300, 30, 4, seed=2)
    full = solve_facility(p, model="p-median", k_nearest=0, time_limit_s=30)
    fast = solve_facility(p, model="p-median", k_nearest=5, time_limit_s=30)
    assert full.status == "optimal"
    assert fast.bound <= full.objective * (1 + 1e-9)
    assert fast.objective == pytest.approx(full.objective, rel=1e-6)
    assert check_sites(p, fast) == []


def test_bench_rows_have_the_contract_columns(shared_data: Path, tmp_path: Path) -> None:
    from optimizer.location.bench import FIELDS, run_cflp_benchmark, write_rows

    rows = run_cflp_benchmark(
        shared_data / "facility_location/orlib_cap", 10.0, only=["cap41", "cap71"]
    )
    assert [r["instance"] for r in rows] == ["cap41", "cap71"]
    assert all(set(FIELDS) <= set(r) and r["feasible"] for r in rows)
    assert all(abs(r["gap_pct"]) <= 0.01 for r in rows)
    out = tmp_path / "r.csv"
    write_rows(rows, out)
    assert out.read_text().splitlines()[0] == ",".join(FIELDS)


@pytest.mark.slow
def test_capa_within_a_tenth_of_a_percent(shared_data: Path) -> None:
    p = read_orlib_cap(shared_data / "facility_location/orlib_cap/capa.txt", capacity=14000)
    d = solve_facility(p, time_limit_s=60)
    assert check_sites(p, d) == []
    assert d.objective <= 17160439.012 * 1.001
