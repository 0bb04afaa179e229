"""Collection calendars: areas of equal work (wedges around each depot), placed on days that carry even work."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.plan import demo_scenario_path
from optimizer.scenario import load_scenario
from optimizer.stages.calendar import (
    _place_areas,
    allowed_patterns,
    balanced_areas,
    days_since_visit,
    fleet_pools,
    is_daily,
    pattern_days,
    plan_calendar,
    sector_areas,
    visits_in_week,
    week_patterns,
)
from optimizer.stages.prepare import Location, prepare
from optimizer.stages.routes import due_on_day


def _blobs(sizes: list[int], gap: float = 5000.0) -> np.ndarray:
    """Travel times (s) between points in tight blobs ``gap`` apart along a line."""
    rng = np.random.default_rng(0)
    xy = np.vstack(
        [rng.normal((gap * b, 0.0), 60.0, (n, 2)) for b, n in enumerate(sizes)]
    )  # fmt: skip
    return np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) / 8.0


def test_areas_follow_the_blobs_and_balance_work() -> None:
    times = _blobs([40, 40, 40])
    area = balanced_areas(times, np.ones(120), 3, seed=4)
    # each blob is one area: no area mixes points of two blobs
    for b in range(3):
        assert len(set(area[40 * b : 40 * (b + 1)])) == 1
    assert sorted(np.bincount(area)) == [40, 40, 40]


def test_areas_respect_the_work_limit_when_blobs_are_uneven() -> None:
    times = _blobs([90, 30])  # one big blob: it must be split, not kept whole
    work = np.ones(120)
    area = balanced_areas(times, work, 2, seed=1)
    loads = np.bincount(area, weights=work)
    assert loads.max() <= 60 * 1.03 + 1
    # the small blob stays in one area
    assert len(set(area[90:])) == 1


def test_areas_place_heavy_work_on_fewer_days() -> None:
    # two patterns over 7 days: days 1,3,5,7 and days 2,4,6. With 10 units of daily
    # work already on days 2,4,6, the heavier area goes to the first.
    day_work = np.array([0.0, 10, 0, 10, 0, 10, 0])
    options = [frozenset({1, 3, 5, 7}), frozenset({2, 4, 6})]
    placement = _place_areas([5.0, 15.0], options, day_work)
    assert placement == [1, 0]
    assert day_work.tolist() == [15.0, 15, 15, 15, 15, 15, 15]


def test_patterns_without_a_plan_day_take_areas_blind_to_size() -> None:
    # a weekly stream in a 3-day plan: the patterns of days 4-7 fall outside the plan;
    # the last four areas go there whatever their size (no lighter plan by choice).
    work = [1.0] * 3 + [9.0, 9.0, 9.0, 9.0]
    day_work = np.zeros(3)
    placement = _place_areas(work, week_patterns(1), day_work)
    assert placement[3:] == [3, 4, 5, 6]
    assert sorted(placement[:3]) == [0, 1, 2]
    assert day_work.sum() == pytest.approx(3.0)


@pytest.mark.parametrize("visits", [2, 3, 4])
def test_wedges_of_a_day_sit_side_by_side(visits: int) -> None:
    # seven wedges around a depot of nearly equal work, some work already on the days:
    # the days' wedges should form few slices (placed largest first onto the least
    # loaded days they make 12-16 here; one slice a day would be 7), at no real cost in
    # balance.
    rng = np.random.default_rng(visits)
    options = week_patterns(visits)
    work = list(1 + 0.03 * rng.standard_normal(len(options)))
    before = rng.uniform(0, 0.05, 7)
    day_work = before.copy()
    placement = _place_areas(work, options, day_work, ordered=True)
    slices = 0
    for day in range(1, 8):
        covered = [day in options[placement[a]] for a in range(len(work))]
        slices += sum(c and (a == 0 or not covered[a - 1]) for a, c in enumerate(covered))
    assert slices <= 10
    balanced = before.copy()
    _place_areas(work, options, balanced)  # the same areas, blind to their order
    assert day_work.max() <= balanced.max() * 1.005 + 1e-9
    assert day_work.sum() == pytest.approx(before.sum() + visits * sum(work))


def test_sectors_give_every_day_near_and_far_work_in_equal_shares() -> None:
    # a town west of its depot: a dense core 2 km out and sparse outskirts 12 km out,
    # spread over 150 degrees either side of due west (across the +-180 degree cut)
    rng = np.random.default_rng(1)
    angle = np.pi + rng.uniform(-1.3, 1.3, 400)
    radius = np.where(np.arange(400) < 300, 2000.0, 12000.0) * rng.uniform(0.8, 1.2, 400)
    xy = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    work = np.where(radius > 6000, 3.0, 1.0)  # outlying stops take longer to reach
    area = sector_areas(xy, (0.0, 0.0), work, 3)
    shares = [float(work[area == a].sum()) / float(work.sum()) for a in range(3)]
    assert shares == pytest.approx([1 / 3] * 3, abs=0.02)
    far = radius > 6000
    for a in range(3):  # each day has core and outskirts, not one district a day
        assert 0.2 < far[area == a].mean() < 0.6
        # a wedge is one run of bearings: the cut at +-180 degrees does not split one
        bearing = np.mod(angle[area == a], 2 * np.pi)
        assert np.ptp(bearing) < 2.6 * 2 / 3 + 0.1


def test_week_patterns_spread_the_visits_evenly() -> None:
    three = {tuple(sorted(p)) for p in week_patterns(3)}
    assert three == {(1, 3, 5), (1, 3, 6), (1, 4, 6), (2, 4, 6), (2, 4, 7), (2, 5, 7), (3, 5, 7)}
    assert len(week_patterns(1)) == 7 and len(week_patterns(2)) == 7
    assert len(week_patterns(5)) == 14 and week_patterns(7) == (frozenset(range(1, 8)),)
    for n in range(1, 8):
        for pattern in week_patterns(n):
            waits = [days_since_visit(pattern, d) for d in sorted(pattern)]
            # exactly n visits, a week's waste in all, no wait above an even spread's
            assert len(pattern) == n and sum(waits) == 7 and max(waits) == -(-7 // n)
    assert pattern_days(frozenset({1, 3, 5}), 4) == (1, 3)
    assert days_since_visit(frozenset({1, 3, 5}), 1) == 3  # Fri to Mon
    assert days_since_visit(frozenset({1, 3, 5}), 8) == 3  # the next week alike
    assert visits_in_week(7 / 3) == 3 and visits_in_week(3) == 3 and visits_in_week(3.5) == 4
    assert is_daily(7) and is_daily(16 / 3) and not is_daily(3) and not is_daily(1)


@pytest.fixture(scope="module")
def demo_prep():  # type: ignore[no-untyped-def]
    return prepare(load_scenario(demo_scenario_path()))


def _nearest_neighbour_s(prep, calendar, stream: str, day: int) -> float:  # type: ignore[no-untyped-def]
    rows = prep.day_demand[prep.day_demand["stream"] == stream]
    visits = float(rows["visits_per_week"].iloc[0])
    due = [p for p in rows["point_id"].astype(str) if calendar.due(p, stream, visits, day)]
    idx = [prep.location_index[Location("point", p)] for p in due]
    times = prep.matrix.time_s[np.ix_(idx, idx)].astype(float)
    np.fill_diagonal(times, np.inf)
    return float(times.min(axis=1).mean())


def test_chosen_calendar_is_compact_and_keeps_frequencies(demo_prep) -> None:  # type: ignore[no-untyped-def]
    open_ids = {f.id for f in demo_prep.scenario.facilities if f.state == "existing"}
    chosen = plan_calendar(demo_prep, open_ids, days=7, mode="chosen")
    fixed = plan_calendar(demo_prep, open_ids, days=7, mode="fixed")
    stream = "dry_recyclables"
    rows = demo_prep.day_demand[demo_prep.day_demand["stream"] == stream]
    visits = float(rows["visits_per_week"].iloc[0])
    assert visits == 3
    calendars = [list(pattern_days(p, 7)) for p in week_patterns(3)]
    for pid in rows["point_id"].astype(str):
        days = chosen.days_of(pid, stream, visits, 7)
        assert days in calendars
        # three visits take the week's waste once: none is collected twice or left
        assert sum(chosen.days_of_waste(pid, stream, visits, d) for d in days) == 7
        assert fixed.days_of(pid, stream, visits, 7) == [
            d for d in range(1, 8) if due_on_day(pid, stream, visits, d)
        ]
    # every day carries some of the stream, about 3/7 of its points
    per_day = Counter(
        d for pid in rows["point_id"].astype(str) for d in chosen.days_of(pid, stream, visits, 7)
    )
    assert all(0.25 * len(rows) < per_day[d] < 0.6 * len(rows) for d in range(1, 8))
    # neighbours share days: a due stop's nearest due neighbour is closer than under the hash
    assert _nearest_neighbour_s(demo_prep, chosen, stream, 1) < _nearest_neighbour_s(
        demo_prep, fixed, stream, 1
    )
    # the daily stream is always due
    msw = demo_prep.day_demand[demo_prep.day_demand["stream"] == "msw"]
    assert all(
        chosen.due(p, "msw", float(v), d)
        for p, v in zip(msw["point_id"], msw["visits_per_week"], strict=True)
        for d in range(1, 8)
    )


def _with_allowed_days(prep, stream_id: str, days: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """``prep`` with one stream's ``allowed_days`` set to ``days``."""
    sc = prep.scenario
    streams = tuple(
        s.model_copy(update={"allowed_days": days}) if s.id == stream_id else s for s in sc.streams
    )
    return type(prep)(**{**prep.__dict__, "scenario": sc.model_copy(update={"streams": streams})})


def test_allowed_days_limit_both_calendars(demo_prep) -> None:  # type: ignore[no-untyped-def]
    stream = demo_prep.scenario.stream("dry_recyclables")
    prep = _with_allowed_days(demo_prep, stream.id, (1, 2, 3, 4, 5, 6))
    sc = prep.scenario
    kept = allowed_patterns(prep.scenario, stream.id, 3)
    assert [sorted(week_patterns(3)[i]) for i in kept] == [
        [1, 3, 5],
        [1, 3, 6],
        [1, 4, 6],
        [2, 4, 6],
    ]
    open_ids = {f.id for f in sc.facilities if f.state == "existing"}
    for mode in ("chosen", "fixed"):
        calendar = plan_calendar(prep, open_ids, days=7, mode=mode)
        used = Counter(calendar.patterns[k] for k in calendar.patterns if k.stream == stream.id)
        assert sum(used.values()) == len(prep.day_demand[prep.day_demand["stream"] == stream.id])
        assert set(used) == set(kept)  # each pattern without a Sunday, and only those
    only_sunday = stream.model_copy(update={"allowed_days": (7,)})
    sc2 = sc.model_copy(
        update={"streams": tuple(only_sunday if s.id == stream.id else s for s in sc.streams)}
    )
    prep2 = type(demo_prep)(**{**demo_prep.__dict__, "scenario": sc2})
    with pytest.raises(InputError) as err:
        plan_calendar(prep2, open_ids, days=7, mode="chosen")
    text = str(err.value)
    assert "dry_recyclables" in text and "allowed_days" in text and "3 times a week" in text


@pytest.mark.parametrize("mode", ["chosen", "fixed"])
def test_a_daily_stream_keeps_off_its_disallowed_days(demo_prep, mode: str) -> None:  # type: ignore[no-untyped-def]
    """allowed_days of a daily stream: no visit on the other days, and the next visit
    takes their waste (it used to be ignored: collected on all seven days)."""
    prep = _with_allowed_days(demo_prep, "msw", (1, 2, 3, 4, 5, 6))
    sc = prep.scenario
    open_ids = {f.id for f in sc.facilities if f.state == "existing"}
    cal = plan_calendar(prep, open_ids, days=7, mode=mode)  # type: ignore[arg-type]
    msw = prep.day_demand[prep.day_demand["stream"] == "msw"]
    assert len(msw) > 0
    for pid, v in zip(msw["point_id"].astype(str), msw["visits_per_week"], strict=True):
        assert cal.days_of(pid, "msw", float(v), 7) == [1, 2, 3, 4, 5, 6]
        week = sum(cal.days_of_waste(pid, "msw", float(v), d) for d in range(1, 7))
        assert week == pytest.approx(7.0)  # Monday takes Sunday's waste too


def test_more_than_one_visit_a_day_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan visits a point once a day: 14 visits a week would collect half of each
    day's waste, so the scenario is refused with the reason (it used to plan it)."""
    scenario = demo_scenario_path().read_text()
    for key, value in (("min_visits_per_week", "14"), ("max_storage_days_warm", "0.5")):
        bad = scenario.replace('id = "msw"', f'id = "msw"\n{key} = {value}', 1)
        assert bad != scenario
        path = tmp_path / "bad.toml"
        path.write_text(bad)
        for name in ("demo.geojson", "points.csv"):
            src = demo_scenario_path().parent / name
            if src.exists():
                (tmp_path / name).write_bytes(src.read_bytes())
        code = main(["validate", str(path)])
        err = capsys.readouterr().err
        assert code == 1 and key in err and "at most once a day" in err


def test_allowed_days_are_checked_in_the_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = demo_scenario_path().read_text()
    bad = scenario.replace(
        'id = "dry_recyclables"', 'id = "dry_recyclables"\nallowed_days = [1, 1, 8]', 1
    )
    assert bad != scenario
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    for name in ("demo.geojson", "points.csv"):
        src = demo_scenario_path().parent / name
        if src.exists():
            (tmp_path / name).write_bytes(src.read_bytes())
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and "allowed_days" in err


def test_week_plan_writes_the_calendar_by_stream(tmp_path: Path) -> None:
    out = tmp_path / "week"
    assert main(["demo", "--out", str(out), "--days", "2", "--time-limit", "2"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    k = plan["kpis"]
    assert k["calendar"] == "chosen"
    by_day = k["route_kpis_by_day"]
    for day in by_day:
        assert sum(day["stops_by_stream"].values()) == day["stops_served"]
        assert sum(day["tonnes_by_stream"].values()) == pytest.approx(day["tonnes"], abs=0.05)
    # three-a-week points are on one of the two days or neither (Wed/Fri/Sun)
    dry = [p for p in plan["points"] if p["stream"] == "dry_recyclables"]
    assert dry and all(len(p["due_days"]) <= 1 for p in dry)
    assert {tuple(p["due_days"]) for p in dry} == {(1,), (2,), ()}
    # the visits a sheet states are the planned season's rule (msw daily in the warm
    # season), not the year's mean of the two seasons (5.33 with the cold months)
    msw = [p for p in plan["points"] if p["stream"] == "msw"]
    assert msw and all(p["visits_per_week"] == 7 and p["due_days"] == [1, 2] for p in msw)
    with (out / "calendar.csv").open(encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["stream"] == "msw"]
    assert rows and all(float(r["visits_per_week"]) == 7 for r in rows)
    report = (out / "report.html").read_text()
    assert "Collection calendar" in report and "chosen" in report


def test_streams_sharing_trucks_are_balanced_together() -> None:
    sc = load_scenario(demo_scenario_path())
    pools = fleet_pools(sc)
    carried = {vt.id: vt.streams for vt in sc.fleet}
    assert carried["side_loader"] == ("msw",) and carried["recyclables_truck"] == (
        "dry_recyclables",
    )
    assert pools["msw"] != pools["dry_recyclables"]
    # one truck type carrying both streams joins their pools
    both = sc.fleet[0].model_copy(update={"streams": ("msw", "dry_recyclables")})
    joined = fleet_pools(sc.model_copy(update={"fleet": (both, *sc.fleet[1:])}))
    assert joined["msw"] == joined["dry_recyclables"]


# ------------------------------------------------------------ a point's own days
def _with_points(prep, records):  # type: ignore[no-untyped-def]
    """``prep`` whose scenario lists ``records`` (ids of points it already has)."""
    sc = prep.scenario.model_copy(update={"points": tuple(records)})
    return type(prep)(**{**prep.__dict__, "scenario": sc})


def _record(prep, pid: str, stream: str, **days):  # type: ignore[no-untyped-def]
    from optimizer.scenario import PointRecord

    row = prep.day_demand[prep.day_demand["point_id"].astype(str) == pid].iloc[0]
    return PointRecord(
        id=pid,
        lon=float(row["lon"]),
        lat=float(row["lat"]),
        stream=stream,
        tonnes_per_day=0.1,
        **days,
    )


def _ids(prep, stream: str) -> list[str]:  # type: ignore[no-untyped-def]
    rows = prep.day_demand[prep.day_demand["stream"] == stream]
    return [str(p) for p in rows["point_id"]]


@pytest.mark.parametrize("mode", ["chosen", "fixed"])
def test_a_points_contract_and_closed_days_hold_in_both_calendars(demo_prep, mode: str) -> None:  # type: ignore[no-untyped-def]
    from optimizer.stages.routes import routing_problem

    dry = _ids(demo_prep, "dry_recyclables")
    msw = _ids(demo_prep, "msw")
    visits = {
        s: float(
            demo_prep.day_demand.loc[demo_prep.day_demand["stream"] == s, "visits_per_week"].iloc[0]
        )
        for s in ("dry_recyclables", "msw")
    }
    prep = _with_points(
        demo_prep,
        [
            _record(demo_prep, dry[0], "dry_recyclables", collection_days="2 4 6"),
            _record(demo_prep, dry[1], "dry_recyclables", closed_days=[2, 4]),
            _record(demo_prep, msw[0], "msw", closed_days="2;3"),
            _record(demo_prep, msw[1], "msw", collection_days="1 2 3 4 5"),
        ],
    )
    open_ids = {f.id for f in prep.scenario.facilities if f.state == "existing"}
    cal = plan_calendar(prep, open_ids, days=7, mode=mode)  # type: ignore[arg-type]
    assert cal.days_of(dry[0], "dry_recyclables", visits["dry_recyclables"], 7) == [2, 4, 6]
    assert cal.days_of(dry[1], "dry_recyclables", visits["dry_recyclables"], 7) in (
        [1, 3, 5],
        [1, 3, 6],
        [3, 5, 7],
    )  # the calendars without a Tuesday or a Thursday
    assert cal.days_of(msw[0], "msw", visits["msw"], 7) == [1, 4, 5, 6, 7]
    assert cal.days_of(msw[1], "msw", visits["msw"], 7) == [1, 2, 3, 4, 5]
    # a daily point's next visit takes the waste of the days it skipped
    assert cal.days_of_waste(msw[0], "msw", visits["msw"], 4) == pytest.approx(3.0)
    assert cal.days_of_waste(msw[0], "msw", visits["msw"], 5) == pytest.approx(1.0)
    assert cal.days_of_waste(msw[1], "msw", visits["msw"], 1) == pytest.approx(3.0)  # 6, 7 off

    def load_kg(day: int, pid: str) -> int:
        problem, _ = routing_problem(prep, open_ids, day=day, calendar=cal)
        at = [i for i in problem.stops if problem.node_ids[i] == pid and problem.stream[i] == "msw"]
        return int(problem.demand_kg[at[0]]) if at else 0

    assert load_kg(2, msw[0]) == 0 and load_kg(3, msw[0]) == 0
    assert load_kg(4, msw[0]) == pytest.approx(3 * load_kg(5, msw[0]), abs=2)
    # the other points keep their stream's calendars
    others = dry[2:]
    calendars = [list(pattern_days(p, 7)) for p in week_patterns(3)]
    assert all(
        cal.days_of(p, "dry_recyclables", visits["dry_recyclables"], 7) in calendars for p in others
    )


def test_a_point_whose_days_no_calendar_meets_is_refused_by_name(demo_prep) -> None:  # type: ignore[no-untyped-def]
    from optimizer.stages.calendar import calendar_problems

    dry = _ids(demo_prep, "dry_recyclables")
    open_ids = {f.id for f in demo_prep.scenario.facilities if f.state == "existing"}
    cases = {
        "collection_days": _record(demo_prep, dry[0], "dry_recyclables", collection_days="1 4"),
        "closed_days": _record(demo_prep, dry[0], "dry_recyclables", closed_days="3 4 5"),
    }
    for key, record in cases.items():
        prep = _with_points(demo_prep, [record])
        with pytest.raises(InputError) as err:
            plan_calendar(prep, open_ids, days=7, mode="chosen")
        text = str(err.value)
        assert f"point '{dry[0]}' (dry_recyclables) {key}" in text
        assert "[1, 3, 5], [1, 3, 6], [1, 4, 6], [2, 4, 6]" in text  # the calendars it could have
        # validate finds the same, without solving
        problems = calendar_problems(prep.scenario, prep.day_demand)
        assert len(problems) == 1 and problems[0].where.endswith(key)


def test_a_visit_on_a_points_closed_day_fails_the_independent_check(demo_prep) -> None:  # type: ignore[no-untyped-def]
    from optimizer.routing.result import Route, RoutePlan, Visit
    from optimizer.stages.calendar import FIXED
    from optimizer.stages.routes import own_day_violations, routing_problem

    msw = _ids(demo_prep, "msw")
    prep = _with_points(demo_prep, [_record(demo_prep, msw[0], "msw", closed_days="2")])
    open_ids = {f.id for f in prep.scenario.facilities if f.state == "existing"}
    problem, _ = routing_problem(prep, open_ids, day=2, calendar=FIXED)  # blind to its days
    stop = next(i for i in problem.stops if problem.node_ids[i] == msw[0])
    other = next(i for i in problem.stops if problem.node_ids[i] != msw[0])

    def plan_of(node: int) -> RoutePlan:
        route = Route("T-1", (Visit(node, "stop", 0, 0, 0, 0, 0),), 0, 0, 0.0)
        return RoutePlan("feasible", 0.0, (route,), (), 0.0)

    assert own_day_violations(prep.scenario, problem, plan_of(other), 2) == []
    found = own_day_violations(prep.scenario, problem, plan_of(stop), 2)
    assert len(found) == 1 and msw[0] in found[0] and "plan day 2" in found[0]
    assert own_day_violations(prep.scenario, problem, plan_of(stop), 3) == []


def _demo_with_points(tmp_path: Path, rows: str) -> Path:
    """A copy of the demo scenario with a points file of ``rows`` (CSV lines after the
    header ``id,lon,lat,stream,tonnes_per_day,closed_days,collection_days``)."""
    folder = tmp_path / "scenario"
    folder.mkdir()
    for src in demo_scenario_path().parent.iterdir():
        (folder / src.name).write_bytes(src.read_bytes())
    toml = folder / "scenario.toml"
    text = toml.read_text()
    toml.write_text(
        text.replace(
            'districts = "districts.geojson"',
            'districts = "districts.geojson"\npoints = "points.csv"',
            1,
        )
    )
    (folder / "points.csv").write_text(
        "id,lon,lat,stream,tonnes_per_day,closed_days,collection_days\n" + rows
    )
    return toml


def test_a_plan_refuses_a_contract_no_calendar_meets_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = _demo_with_points(
        tmp_path,
        "market-1,24.9415,60.1765,dry_recyclables,0.3,,1 4\n"
        "shop-1,24.9503,60.1759,dry_recyclables,0.2,3 4 5,\n",
    )
    out = tmp_path / "plan"
    args = ["plan", str(toml), "--out", str(out), "--days", "3", "--time-limit", "6"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "point 'market-1' (dry_recyclables) collection_days" in err
    assert "point 'shop-1' (dry_recyclables) closed_days" in err  # every one, not the first
    assert "points.csv" in err and "Traceback" not in err
    assert not out.exists()


def test_a_daily_points_days_off_count_in_its_load_check(demo_prep) -> None:  # type: ignore[no-untyped-def]
    from optimizer.demand.loads import longest_skip, oversized_loads

    msw = _ids(demo_prep, "msw")
    row = demo_prep.day_demand[demo_prep.day_demand["point_id"].astype(str) == msw[0]].iloc[0]
    assert float(row["visits_per_week"]) >= 7  # the demo collects msw daily
    biggest_t = max(vt.capacity_t for vt in demo_prep.scenario.fleet)
    # a load that one day fits in a truck and three days (after Sat, Sun off) do not
    heavy = demo_prep.day_demand.copy()
    heavy = heavy[(heavy["point_id"].astype(str) == msw[0]) & (heavy["stream"] == "msw")]
    heavy["tonnes_per_day"] = biggest_t / 2
    heavy["m3_per_day"] = 0.1
    closed = _with_points(demo_prep, [_record(demo_prep, msw[0], "msw", closed_days="6 7")])
    assert longest_skip(closed.scenario) == {(msw[0], "msw"): 2}
    assert oversized_loads(demo_prep.scenario, heavy) == []
    found = oversized_loads(closed.scenario, heavy)
    assert len(found) == 1 and msw[0] in found[0].where
    # the days off wrap round the week: 7 and 1 closed is a run of two as well
    wrapped = _with_points(demo_prep, [_record(demo_prep, msw[0], "msw", closed_days="1 7")])
    assert longest_skip(wrapped.scenario) == {(msw[0], "msw"): 2}


def test_days_read_from_a_cell_a_list_or_a_number() -> None:
    from pydantic import ValidationError

    from optimizer.scenario import PointRecord

    def days(value: object) -> tuple[int, ...] | None:
        rec = PointRecord(id="p", lon=0, lat=0, stream="msw", tonnes_per_day=1, closed_days=value)
        return rec.closed_days

    assert days("6 7") == days("7;6") == days("6/7") == days([7, 6]) == (6, 7)
    assert days(6) == (6,) and days("") is None
    for bad in ("6 8", "sat", "6 6", "²", [0], "1 2 3 4 5 6 7"):
        with pytest.raises(ValidationError):
            days(bad)


def test_a_week_plan_keeps_each_points_own_days(tmp_path: Path) -> None:
    toml = _demo_with_points(
        tmp_path,
        "school-1,24.9424,60.1729,msw,0.5,2,\n"
        "market-1,24.9415,60.1765,dry_recyclables,0.3,,2 4 6\n"
        "shop-1,24.9503,60.1759,dry_recyclables,0.2,1;3,\n",
    )
    out = tmp_path / "plan"
    args = ["plan", str(toml), "--out", str(out), "--days", "3", "--time-limit", "6"]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    due = {(p["id"], p["stream"]): p["due_days"] for p in plan["points"]}
    assert due[("school-1", "msw")] == [1, 3]
    assert due[("market-1", "dry_recyclables")] == [2]
    assert due[("shop-1", "dry_recyclables")] == [2]
    served = {
        (s["ref_id"], r["day"]) for r in plan["routes"] for s in r["stops"] if s["kind"] == "stop"
    }
    assert ("school-1", 1) in served and ("school-1", 2) not in served and ("school-1", 3) in served
    # the next visit after the closed day takes two days of waste
    taken = {}
    for r in plan["routes"]:
        for before, stop in zip(r["stops"], r["stops"][1:], strict=False):
            if stop.get("ref_id") == "school-1":
                taken[r["day"]] = stop["load_after_t"] - before["load_after_t"]
    assert taken[1] == pytest.approx(0.5, rel=0.15)  # 0.5 t a day, scaled by the season
    assert taken[3] == pytest.approx(2 * taken[1], abs=0.002)
