"""Several plan days in one plan: frequencies, numbering, totals, the command line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.stages.calendar import is_daily, pattern_days, visits_in_week, week_patterns
from optimizer.stages.routes import due_on_day


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("week") / "plan"
    assert main(["demo", "--out", str(out), "--days", "3", "--time-limit", "2"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    plan["_dir"] = str(out)
    return plan


def test_each_stop_is_collected_exactly_on_its_days(week: dict) -> None:
    served = Counter(
        (s["ref_id"], s["stream"], r["day"])
        for r in week["routes"]
        for s in r["stops"]
        if s["kind"] == "stop"
    )
    assert set(r["day"] for r in week["routes"]) == {1, 2, 3}
    assert week["kpis"]["calendar"] == "chosen"  # several days: calendars are chosen
    for point in week["points"]:
        visits = point["visits_per_week"]
        due = point["due_days"]
        if is_daily(visits):
            assert due == [1, 2, 3]
        else:  # one calendar of its visits a week, cut to the plan's three days
            patterns = week_patterns(visits_in_week(visits))
            assert due in [list(pattern_days(p, 3)) for p in patterns]
        for d in (1, 2, 3):
            assert served[(point["id"], point["stream"], d)] == (1 if d in due else 0)
    # The demo has a daily stream and a three-a-week one.
    counts = Counter(len(p["due_days"]) for p in week["points"])
    assert counts[3] > 0 and (counts[1] + counts[2]) > 0


def test_fixed_calendar_is_the_stable_hash(tmp_path: Path) -> None:
    out = tmp_path / "fixed"
    args = ["demo", "--out", str(out), "--days", "2", "--time-limit", "2", "--calendar", "fixed"]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert plan["kpis"]["calendar"] == "fixed"
    for point in plan["points"]:
        assert point["due_days"] == [
            d for d in (1, 2)
            if due_on_day(point["id"], point["stream"], point["visits_per_week"], d)
        ]  # fmt: skip


def test_totals_and_numbering_cover_all_days(week: dict) -> None:
    k = week["kpis"]
    assert k["plan_days"] == 3 and len(k["route_kpis_by_day"]) == 3
    assert len({r["id"] for r in week["routes"]}) == len(week["routes"])
    assert k["distance_km"] == pytest.approx(
        sum(r["distance_km"] for r in week["routes"]), abs=0.05
    )
    assert k["vehicles_used"] == max(d["vehicles_used"] for d in k["route_kpis_by_day"])
    assert k["stops_served"] == sum(d["stops_served"] for d in k["route_kpis_by_day"])
    report = (Path(week["_dir"]) / "report.html").read_text()
    assert "Plan days" in report and "totals over 3 plan days" in report


@pytest.mark.parametrize("days", ["0", "8", "week"])
def test_days_out_of_range_is_an_input_error(days: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--days", days])
    assert stop.value.code == 1
    assert "number of days from 1 to 7" in capsys.readouterr().err


def test_trucks_to_own_count_each_depots_busiest_day(week: dict) -> None:
    from optimizer.stages.assemble import fleet_needed

    def route(day: int, vehicle: str, depot: str) -> dict:
        return {"day": day, "vehicle_id": vehicle, "depot_id": depot, "vehicle_type": "t"}

    # the north depot peaks on day 1 (2 trucks), the west on day 2 (3 trucks): the busiest
    # day has 4 trucks out, but the city owns 5; a truck's second route adds none
    routes = [
        route(1, "n1", "north"), route(1, "n2", "north"), route(1, "w1", "west"),
        route(1, "w1", "west"), route(1, "w2", "west"), route(2, "n1", "north"),
        route(2, "w1", "west"), route(2, "w2", "west"), route(2, "w3", "west"),
    ]  # fmt: skip
    assert fleet_needed(routes) == 5  # type: ignore[arg-type]
    k = week["kpis"]
    assert (
        k["fleet_needed"]
        >= k["vehicles_used"]
        == max(d["vehicles_used"] for d in k["route_kpis_by_day"])
    )
