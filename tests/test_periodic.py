"""The periodic VRP with intermediate facilities: reader, calendars, verifier, solver.

Real data: the PVRP-IF benchmark of Taverna & Tilk in ``../shared/data``; values
checked by hand against ``Milano_020_4_0.geojson`` and its published solution report.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from optimizer.errors import InfeasibleError, InputError
from optimizer.periodic import PeriodicProblem, PeriodicSolution, solve_periodic, verify_periodic
from optimizer.periodic.bench import run_pvrpif_benchmark
from optimizer.periodic.patterns import (
    admissible_patterns,
    allowed_patterns,
    holds_between_visits,
    spaced_patterns,
)
from optimizer.periodic.readers import read_bks, read_pvrpif, read_solution_report
from optimizer.periodic.week import Data, resplit

FOLDER = "waste/pvrpif_taverna_tilk"
MILANO = "planning_horizon_4/Milano_020_4_0.geojson"
REPORT = "solutions/solutions_planning_horizon_4/report_Milano_020_4_0_feasible_562_0.txt"


@pytest.fixture
def pvrpif(shared_data: Path) -> Path:
    folder = shared_data / FOLDER
    if not (folder / MILANO).is_file():
        pytest.skip(f"{folder / MILANO} not found")
    return folder


# ----------------------------------------------------------------------- reader
def test_reader_values_checked_by_hand(pvrpif: Path) -> None:
    p = read_pvrpif(pvrpif / MILANO)
    assert (p.horizon, p.vehicles_per_day, p.capacity, p.max_duration) == (4, 2, 107, 149)
    assert p.depot == 0 and p.facilities == (21, 22) and p.bins == tuple(range(1, 21))
    assert p.unload_before_depot
    # customer 1: frequency 2, demand 23, service 6; the depot to customer 18 takes 8
    assert (p.frequency[0], p.demand[1], p.service[1]) == (2, 23.0, 6.0)
    assert p.patterns[0] == ((0, 2), (1, 3))
    assert p.travel[0][18] == 8.0 and p.travel[0][1] == 16.0 and p.travel[1][0] == 16.0
    assert p.travel[2][0] == 20.0 and p.travel[0][2] == 18.0  # asymmetric, kept as given
    # the file's info: 18 bins twice, one every day, one once
    assert sorted(p.frequency).count(2) == 18
    assert p.patterns[p.frequency.index(4)] == ((0, 1, 2, 3),)
    assert p.patterns[p.frequency.index(1)] == ((0,), (1,), (2,), (3,))


def test_bks_marks_proven_optima(pvrpif: Path) -> None:
    bks = read_bks(pvrpif / "bks.csv")
    assert len(bks) == 80
    assert bks["Milano_020_4_0"] == (562.0, True)
    assert bks["Roma_020_4_2"] == (539.0, False)


def test_published_solution_verifies_at_its_cost(pvrpif: Path) -> None:
    p = read_pvrpif(pvrpif / MILANO)
    ref = read_solution_report(pvrpif / REPORT, p)
    assert ref.cost == 562.0 and ref.vehicles_per_day == (2, 2, 2, 2)
    assert verify_periodic(p, ref) == []


def _edited(pvrpif: Path, tmp_path: Path, edit: object) -> Path:
    data = json.loads((pvrpif / MILANO).read_text())
    edit(data)  # type: ignore[operator]
    out = tmp_path / "edited.geojson"
    out.write_text(json.dumps(data))
    return out


def test_frequency_no_calendar_satisfies_names_the_customer(pvrpif: Path, tmp_path: Path) -> None:
    def three_in_four(data: dict) -> None:  # type: ignore[type-arg]
        data["features"][5]["properties"]["frequency"] = 3.0

    with pytest.raises(InputError) as err:
        read_pvrpif(_edited(pvrpif, tmp_path, three_in_four))
    text = str(err.value)
    assert "customer 5" in text and "3 visits in 4 days" in text and "edited.geojson" in text


def test_unknown_feature_names_the_record(pvrpif: Path, tmp_path: Path) -> None:
    def time_window(data: dict) -> None:  # type: ignore[type-arg]
        data["features"][7]["properties"]["timeWindow"] = [0, 60]

    with pytest.raises(InputError, match=r"features\[7\]\.properties\.timeWindow"):
        read_pvrpif(_edited(pvrpif, tmp_path, time_window))

    def new_kind(data: dict) -> None:  # type: ignore[type-arg]
        data["features"][3]["properties"]["type"] = "transferStation"

    with pytest.raises(InputError, match=r"features\[3\].*transferStation"):
        read_pvrpif(_edited(pvrpif, tmp_path, new_kind))

    def new_info(data: dict) -> None:  # type: ignore[type-arg]
        data["info"]["timeWindows"] = True

    with pytest.raises(InputError, match=r"info\.timeWindows"):
        read_pvrpif(_edited(pvrpif, tmp_path, new_info))


# --------------------------------------------------------------------- patterns
@pytest.mark.parametrize(
    ("frequency", "horizon", "expected"),
    [
        (1, 4, ((0,), (1,), (2,), (3,))),
        (2, 4, ((0, 2), (1, 3))),
        (4, 4, ((0, 1, 2, 3),)),
        (1, 6, ((0,), (1,), (2,), (3,), (4,), (5,))),
        (2, 6, ((0, 3), (1, 4), (2, 5))),
        (3, 6, ((0, 2, 4), (1, 3, 5))),
        (6, 6, ((0, 1, 2, 3, 4, 5),)),
        (1, 7, tuple((d,) for d in range(7))),
        (7, 7, (tuple(range(7)),)),
    ],
)
def test_spaced_patterns(frequency: int, horizon: int, expected: tuple) -> None:  # type: ignore[type-arg]
    assert spaced_patterns(frequency, horizon) == expected


@pytest.mark.parametrize(("frequency", "horizon"), [(4, 6), (0, 4), (5, 4), (3, 7)])
def test_no_spaced_pattern_is_an_input_error(frequency: int, horizon: int) -> None:
    with pytest.raises(InputError, match="bin 9"):
        spaced_patterns(frequency, horizon, where="bin 9")


def test_forbidden_days_fixed_calendars_and_container_capacity() -> None:
    pats = spaced_patterns(2, 6)
    assert allowed_patterns(pats, forbidden_days=[0]) == ((1, 4), (2, 5))
    assert allowed_patterns(pats, fixed=(4, 1)) == ((1, 4),)
    with pytest.raises(InputError, match="site 3"):
        allowed_patterns(pats, forbidden_days=[0, 1, 2], where="site 3")
    with pytest.raises(InputError, match="fixed calendar"):
        allowed_patterns(pats, fixed=(0, 1), where="site 3")
    # 3 days between visits (wrapping round the week) at 30 a day: 90 fits 100, not 80
    assert holds_between_visits((1, 4), 6, 30.0, 100.0)
    assert not holds_between_visits((1, 4), 6, 30.0, 80.0)
    assert not holds_between_visits((0,), 6, 20.0, 100.0)  # six days: 120
    assert admissible_patterns(spaced_patterns(1, 6), 6, 10.0, 60.0) == spaced_patterns(1, 6)
    with pytest.raises(InputError, match=r"site 12.*overflows"):
        admissible_patterns(spaced_patterns(2, 6), 6, 40.0, 100.0, where="site 12")


# --------------------------------------------------------------------- verifier
def _tiny(**changes: object) -> PeriodicProblem:
    """Depot 0, bins 1-3, facility 4, every leg 1; bin 1 twice in 2 days, 2 and 3 once."""
    one = tuple(tuple(0.0 if i == j else 1.0 for j in range(5)) for i in range(5))
    fields: dict[str, object] = dict(
        name="tiny",
        horizon=2,
        depot=0,
        facilities=(4,),
        bins=(1, 2, 3),
        frequency=(2, 1, 1),
        patterns=(((0, 1),), ((0,), (1,)), ((0,), (1,))),
        demand=(0.0, 4.0, 4.0, 4.0, 0.0),
        service=(0.0, 1.0, 1.0, 1.0, 0.0),
        travel=one,
        capacity=10.0,
        max_duration=10.0,
        vehicles_per_day=1,
    )
    fields.update(changes)
    return PeriodicProblem(**fields)  # type: ignore[arg-type]


GOOD = PeriodicSolution(
    patterns=((0, 1), (0,), (1,)),
    days=(((0, 1, 2, 4, 0),), ((0, 1, 3, 4, 0),)),
    cost=8.0,
)


def _with(**changes: object) -> PeriodicSolution:
    fields = dict(patterns=GOOD.patterns, days=GOOD.days, cost=GOOD.cost)
    fields.update(changes)
    return PeriodicSolution(**fields)  # type: ignore[arg-type]


def test_verifier_accepts_the_valid_week() -> None:
    assert verify_periodic(_tiny(), GOOD) == []


@pytest.mark.parametrize(
    ("solution", "problem", "message"),
    [
        (_with(days=(((0, 1, 4, 0),), ((0, 1, 3, 4, 0),)), cost=7.0), {}, "bin 2: visited 0 times on day 0"),
        (_with(days=(((0, 1, 2, 2, 4, 0),), ((0, 1, 3, 4, 0),)), cost=9.0), {}, "bin 2: visited 2 times"),
        (_with(days=(((0, 1, 3, 4, 0),), ((0, 1, 2, 4, 0),)), patterns=((0, 1), (1,), (0,))), {"patterns": (((0, 1),), ((0,),), ((0,), (1,)))}, "bin 2: calendar [1] is not allowed"),
        (_with(days=(((0, 1, 2, 0),), ((0, 1, 3, 4, 0),)), cost=7.0), {}, "without unloading"),
        (_with(days=(((0, 1, 2, 3, 4, 0),), ((0, 1, 4, 0),))), {}, "load 12 over the capacity 10"),
        (GOOD, {"max_duration": 5.0}, "lasts 6, over the maximum 5"),
        (_with(days=(((0, 1, 4, 0), (0, 2, 4, 0)), ((0, 1, 3, 4, 0),)), cost=10.0), {}, "2 trucks, only 1 available"),
        (_with(cost=7.0), {}, "cost 7 reported, 8 recomputed"),
        (_with(days=(((0, 1, 0, 2, 4, 0),), ((0, 1, 3, 4, 0),)), cost=9.0), {}, "passes the depot mid-route"),
    ],
)  # fmt: skip
def test_verifier_catches_each_violation(
    solution: PeriodicSolution, problem: dict[str, object], message: str
) -> None:
    issues = verify_periodic(_tiny(**problem), solution)
    assert any(message in issue for issue in issues), issues


def test_problem_refuses_a_bin_bigger_than_the_truck() -> None:
    with pytest.raises(InputError, match="bin 2: demand 14"):
        _tiny(demand=(0.0, 4.0, 14.0, 4.0, 0.0))


def test_resplit_places_unloads_only_where_capacity_needs_them() -> None:
    p = _tiny(capacity=8.0)
    d = Data.of(p)
    nodes = resplit([0, 1, 2, 3, 4, 0], d)
    assert nodes[0] == nodes[-1] == 0 and nodes[-2] == 4
    assert nodes.count(4) == 2  # 12 kg on an 8 kg truck: two trips


# ----------------------------------------------------------------------- solver
def test_solver_reaches_the_proven_optimum_closely(pvrpif: Path) -> None:
    """Milano_020_4_0: proven optimum 562; measured 562-575 at 3 s on a busy machine
    (seeds 0-2; construction alone gives 3-6 % above), so the bound is 4 %."""
    p = read_pvrpif(pvrpif / MILANO)
    solution = solve_periodic(p, time_limit_s=3.0, seed=1)
    assert verify_periodic(p, solution) == []
    assert 562.0 <= solution.cost <= 562.0 * 1.04
    assert max(solution.vehicles_per_day) <= p.vehicles_per_day
    for k, pattern in enumerate(solution.patterns):
        assert pattern in p.patterns[k]


def test_solver_on_the_tiny_week_is_optimal() -> None:
    p = _tiny()
    solution = solve_periodic(p, time_limit_s=0.5)
    assert solution.cost == 8.0 and verify_periodic(p, solution) == []


def test_polish_with_the_product_router_keeps_a_valid_week(pvrpif: Path) -> None:
    """Re-routing the proven optimum (562) day by day can only keep it."""
    from optimizer.periodic.polish import day_problem, polish

    p = read_pvrpif(pvrpif / MILANO)
    ref = read_solution_report(pvrpif / REPORT, p)
    routing, nodes = day_problem(p, [1, 2, 3])
    assert nodes == [0, 1, 2, 3, 21, 22] and routing.facilities == (4, 5)
    assert int(routing.time_s[0, 1]) == 16 * 60 and int(routing.demand_kg[1]) == 23
    out = polish(p, ref, seconds_per_day=0.5)
    assert out.cost == 562.0 and verify_periodic(p, out) == []
    assert out.patterns == ref.patterns


def test_no_week_within_the_maximum_duration_is_infeasible() -> None:
    # a bin alone takes 3 legs and 1 of service: 4 > 3
    with pytest.raises(InfeasibleError, match="maximum duration 3"):
        solve_periodic(_tiny(max_duration=3.0), time_limit_s=0.3)


def test_benchmark_rows(pvrpif: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pvrpif"
    (folder / "planning_horizon_4").mkdir(parents=True)
    shutil.copy(pvrpif / MILANO, folder / "planning_horizon_4")
    shutil.copy(pvrpif / "bks.csv", folder)
    rows = run_pvrpif_benchmark(folder, 1.0)
    assert len(rows) == 1
    row = rows[0]
    assert row["instance"] == "Milano_020_4_0" and row["n"] == 20 and row["horizon"] == 4
    assert row["feasible"] is True and row["proven_optimal"] is True and row["bks"] == 562.0
    assert math.isclose(row["gap_pct"], 100 * (row["cost"] - 562.0) / 562.0, abs_tol=1e-3)
    assert row["vehicles"] <= 2
