"""Levelling a routed week (optimizer.stages.level) and the week's independent check."""

from __future__ import annotations

import dataclasses
import time

import pytest

from optimizer.plan import demo_scenario_path
from optimizer.routing import verify_routes
from optimizer.scenario import load_scenario
from optimizer.stages.assemble import DayRoutes
from optimizer.stages.calendar import Calendar, plan_calendar, week_patterns
from optimizer.stages.level import Week, fleet_entries, level_week, trucks_per_day
from optimizer.stages.prepare import prepare
from optimizer.stages.routes import solve_day_routes
from optimizer.stages.split import DROP_PENALTY
from optimizer.stages.week_check import week_collection_issues

DRY = "dry_recyclables"


@pytest.fixture(scope="module")
def lopsided():  # type: ignore[no-untyped-def]
    """The demo with short recyclables shifts (so a day needs several trucks) and every
    dry point on one calendar (days 1, 3, 5), routed for a week."""
    sc = load_scenario(demo_scenario_path())
    short = {"count": 8, "shift_min": 75, "break_min": 0, "break_window": None}
    fleet = tuple(
        v.model_copy(update=short) if v.id == "recyclables_truck" else v for v in sc.fleet
    )
    prep = prepare(sc.model_copy(update={"fleet": fleet}))
    open_ids = {f.id for f in prep.scenario.facilities}
    chosen = plan_calendar(prep, open_ids, days=7, mode="chosen")
    one_day_set = Calendar("chosen", dict.fromkeys(chosen.patterns, 0), chosen.skipped)
    days = []
    for d in range(1, 8):
        problem, plan, loc = solve_day_routes(
            prep, open_ids, time_limit_s=1, seed=0, day=d, calendar=one_day_set
        )
        days.append(DayRoutes(d, problem, plan, loc))
    return prep, open_ids, Week(one_day_set, tuple(days))


def test_levelling_moves_trucks_off_the_busiest_day(lopsided) -> None:  # type: ignore[no-untyped-def]
    prep, open_ids, week = lopsided
    entries = fleet_entries(prep)
    before = trucks_per_day(week.days, entries)["recyclables_truck"]
    assert before.max() >= 3 and before.min() == 0  # the lopsided week needs a big fleet
    levelled, moved = level_week(prep, open_ids, week, deadline=time.perf_counter() + 60)
    after = trucks_per_day(levelled.days, entries)["recyclables_truck"]
    assert moved >= 1
    assert after.max() < before.max()
    assert after.sum() >= before.sum() - 1  # the work went to other days, not away
    # every day passes the day check, and the week's waste is collected once, on time
    for d in levelled.days:
        checked = dataclasses.replace(d.problem, drop_penalty=DROP_PENALTY)
        assert verify_routes(checked, d.plan) == []
    assert week_collection_issues(prep, levelled.days) == []
    # moved points are on a calendar of their stream, and their stops follow it
    options = set(week_patterns(3))
    moved_points = [m for m, q in levelled.calendar.patterns.items() if q != 0]
    assert moved_points
    for m in moved_points:
        days_of = levelled.calendar.pattern(m.point_id, m.stream, 3)
        assert days_of in options and days_of != week_patterns(3)[0]
        served = {
            d.day
            for d in levelled.days
            for r in d.plan.routes
            for s in r.stops
            if (d.problem.node_ids[s], d.problem.stream[s]) == (m.point_id, m.stream)
        }
        assert served == set(days_of)


def test_the_hash_calendar_is_not_levelled(lopsided) -> None:  # type: ignore[no-untyped-def]
    prep, open_ids, week = lopsided
    fixed = Week(dataclasses.replace(week.calendar, mode="fixed"), week.days)
    same, moved = level_week(prep, open_ids, fixed, deadline=time.perf_counter() + 60)
    assert moved == 0 and same is fixed


def test_the_week_check_finds_a_visit_too_many_and_a_wrong_load(lopsided) -> None:  # type: ignore[no-untyped-def]
    prep, _, week = lopsided
    assert week_collection_issues(prep, week.days) == []
    # day 2 served like day 1: the dry points get a fourth visit
    twice = list(week.days)
    twice[1] = dataclasses.replace(week.days[0], day=2)
    issues = week_collection_issues(prep, twice)
    assert any("4 visits in 7 days, 3 due" in i for i in issues)
    # one stop's load off by 10 kg: the week no longer adds up
    day = week.days[0]
    stop = next(s for r in day.plan.routes for s in r.stops if day.problem.stream[s] == DRY)
    demand = day.problem.demand_kg.copy()
    demand[stop] += 10
    wrong = list(week.days)
    wrong[0] = dataclasses.replace(day, problem=dataclasses.replace(day.problem, demand_kg=demand))
    issues = week_collection_issues(prep, wrong)
    assert len(issues) == 1 and f"point {day.problem.node_ids[stop]} ({DRY})" in issues[0]
    assert "collected in 7 days" in issues[0]
    # a week of fewer days has nothing to add up
    assert week_collection_issues(prep, week.days[:5]) == []
