"""Collection calendars: compact areas of equal work, placed on days that carry even work."""

from __future__ import annotations

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
    allowed_offsets,
    balanced_areas,
    collection_period_days,
    fleet_pools,
    offset_days,
    plan_calendar,
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
    # every-other-day stream over 7 days: offset 0 has days 1,3,5,7, offset 1 days 2,4,6.
    # With 10 units of daily work already on days 2,4,6, the heavier area goes to offset 0.
    day_work = np.array([0.0, 10, 0, 10, 0, 10, 0])
    placement = _place_areas([5.0, 15.0], [0, 1], 2, day_work)
    assert placement == [1, 0]
    assert day_work.tolist() == [15.0, 15, 15, 15, 15, 15, 15]


def test_offsets_without_a_plan_day_take_areas_blind_to_size() -> None:
    # every-10-days stream in a 7-day plan: offsets 7, 8, 9 fall outside the plan;
    # the last three areas go there whatever their size (no lighter week by choice).
    work = [1.0] * 7 + [9.0, 9.0, 9.0]
    day_work = np.zeros(7)
    placement = _place_areas(work, list(range(10)), 10, day_work)
    assert placement[7:] == [7, 8, 9]
    assert sorted(placement[:7]) == list(range(7))
    assert day_work.sum() == pytest.approx(7.0)


def test_offset_days() -> None:
    assert offset_days(2, 0, 7) == (1, 3, 5, 7)
    assert offset_days(3, 2, 7) == (3, 6)
    assert offset_days(10, 8, 7) == ()
    assert collection_period_days(7 / 3) == 3 and collection_period_days(3) == 2


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
    period = collection_period_days(visits)
    assert period == 2
    for pid in rows["point_id"].astype(str):
        days = chosen.days_of(pid, stream, visits, 7)
        assert days in ([1, 3, 5, 7], [2, 4, 6])
        assert fixed.days_of(pid, stream, visits, 7) == [
            d for d in range(1, 8) if due_on_day(pid, stream, visits, d)
        ]
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


def test_allowed_days_limit_both_calendars(demo_prep) -> None:  # type: ignore[no-untyped-def]
    stream = demo_prep.scenario.stream("dry_recyclables")
    no_sunday = stream.model_copy(update={"allowed_days": (1, 2, 3, 4, 5, 6)})
    sc = demo_prep.scenario.model_copy(
        update={
            "streams": tuple(
                no_sunday if s.id == stream.id else s for s in demo_prep.scenario.streams
            )
        }
    )
    prep = type(demo_prep)(**{**demo_prep.__dict__, "scenario": sc})
    assert allowed_offsets(prep, stream.id, 2) == [1]  # offset 0 collects on day 7
    open_ids = {f.id for f in sc.facilities if f.state == "existing"}
    for mode in ("chosen", "fixed"):
        calendar = plan_calendar(prep, open_ids, days=7, mode=mode)
        assert Counter(calendar.offsets[k] for k in calendar.offsets if k.stream == stream.id) == {
            1: len(prep.day_demand[prep.day_demand["stream"] == stream.id])
        }
    only_sunday = stream.model_copy(update={"allowed_days": (7,)})
    sc2 = sc.model_copy(
        update={"streams": tuple(only_sunday if s.id == stream.id else s for s in sc.streams)}
    )
    prep2 = type(demo_prep)(**{**demo_prep.__dict__, "scenario": sc2})
    with pytest.raises(InputError) as err:
        plan_calendar(prep2, open_ids, days=7, mode="chosen")
    text = str(err.value)
    assert "dry_recyclables" in text and "allowed_days" in text and "every 2 days" in text


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
    # every-other-day points are on exactly one of the two days
    dry = [p for p in plan["points"] if p["stream"] == "dry_recyclables"]
    assert dry and all(len(p["due_days"]) == 1 for p in dry)
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
