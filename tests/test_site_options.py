"""Sites chosen by the routes they induce: options, the fleet estimate, the choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from routing_toy import waste_problem

from optimizer.cli import main
from optimizer.plan import demo_scenario_path
from optimizer.scenario import load_scenario
from optimizer.stages.prepare import prepare
from optimizer.stages.site_options import candidate_ids, option_sets, stem_cost
from optimizer.stages.sites import solve_sites


def test_stem_cost_is_each_stops_share_of_a_round_trip() -> None:
    p = waste_problem()
    v = p.vehicles[0]
    per_s = v.cost_per_h / 3600 + v.fixed_cost / v.shift_s
    expected = 0.0
    for s in p.stops:  # msw: both facilities accept it; the nearer round trip counts
        trips = [(int(p.time_s[s, f] + p.time_s[f, s] + p.service_s[f]), f) for f in (1, 2)]
        seconds, f = min(trips)
        metres = int(p.distance_m[s, f] + p.distance_m[f, s])
        share = max(p.demand_kg[s] / v.capacity_kg, p.demand_l[s] / v.capacity_l)
        expected += share * (seconds * per_s + metres * v.cost_per_km / 1000)
    assert stem_cost(p) == pytest.approx(expected)
    # a stream no facility takes: no estimate rather than a wrong one
    paperless = waste_problem(facility_streams={1: frozenset({"paper"}), 2: frozenset({"glass"})})
    assert stem_cost(paperless) is None


@pytest.fixture(scope="module")
def demo_prep():  # type: ignore[no-untyped-def]
    return prepare(load_scenario(demo_scenario_path()))


def test_options_are_every_set_of_allowed_candidates(demo_prep) -> None:  # type: ignore[no-untyped-def]
    candidates = candidate_ids(demo_prep)
    # sorting_north lies inside the housing buffer: not an option
    assert candidates == ["sorting_south"]
    sets = option_sets(demo_prep, seconds=5, seed=0)
    assert sets == [frozenset(), frozenset({"sorting_south"})]


def test_a_fixed_option_opens_exactly_its_candidates(demo_prep) -> None:  # type: ignore[no-untyped-def]
    with_south = solve_sites(demo_prep, time_limit_s=10, seed=0, fixed=frozenset({"sorting_south"}))
    assert "sorting_south" in with_south.decision.open_ids
    assert with_south.kpis is not None and with_south.kpis["capex_kzt"] > 0


def test_routes_model_lists_options_and_keeps_the_best_routed(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(demo_scenario_path().parent, folder)
    variant = folder / "routes.toml"
    variant.write_text('extends = "scenario.toml"\n[solver]\nlocation_model = "routes"\n')
    out = tmp_path / "plan"
    assert main(["plan", str(variant), "--out", str(out), "--time-limit", "12"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    options = plan["site_options"]
    assert len(options) == 2
    chosen = [o for o in options if o["status"] == "chosen"]
    assert len(chosen) == 1
    best = chosen[0]
    assert set(best["open"]) == {f["id"] for f in plan["facilities"] if f["open"]}
    routed = [o for o in options if o["trucks"] is not None]
    assert best in routed
    assert min((o["unserved_stops"], o["present_cost_with_fleet_kzt"]) for o in routed) == (
        best["unserved_stops"],
        best["present_cost_with_fleet_kzt"],
    )
    # a one-day plan keeps the chosen option's routed day rather than routing it again
    (day,) = plan["kpis"]["route_kpis_by_day"]
    assert (day["vehicles_used"], round(day["cost_kzt"])) == (
        best["trucks"],
        best["route_cost_kzt"],
    )
    # without a sorting site the dry stream has nowhere to go: refused, with the reason
    refused = [o for o in options if o["status"] == "refused"]
    assert refused and "dry_recyclables" in refused[0]["reason"]
    report = (out / "report.html").read_text()
    assert "Site options, compared by the routes they induce" in report
    # the candidate's popup on the map compares the routed options with and without it
    page = (out / "map.html").read_text()
    assert page.count("Site options routed for day 1") == 1  # the one candidate, not the others
    assert "(chosen)" in page


def test_many_candidates_give_the_optimum_and_its_one_site_changes(
    demo_prep, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from optimizer.stages import site_options

    monkeypatch.setattr(site_options, "MAX_ENUMERATED_CANDIDATES", 0)
    sets = option_sets(demo_prep, seconds=5, seed=0)
    # the tonne-km optimum opens the south plant (the only allowed candidate) ...
    assert sets[0] == frozenset({"sorting_south"})
    # ... and closing it is the one change
    assert sets[1:] == [frozenset()]


def test_location_model_option_overrides_the_scenario(tmp_path: Path) -> None:
    out = tmp_path / "sites"
    args = ["sites", str(demo_scenario_path()), "--out", str(out), "--time-limit", "8"]
    assert main([*args, "--location-model", "routes"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [o["status"] for o in plan["site_options"]].count("chosen") == 1


def test_a_decided_candidate_stays_open_in_every_option(demo_prep) -> None:  # type: ignore[no-untyped-def]
    sc = demo_prep.scenario
    decided = tuple(
        f.model_copy(update={"must_stay_open": True}) if f.id == "sorting_south" else f
        for f in sc.facilities
    )
    prep = type(demo_prep)(
        **{**demo_prep.__dict__, "scenario": sc.model_copy(update={"facilities": decided})}
    )
    assert candidate_ids(prep) == []  # not an option: it is open in all of them
    sites = solve_sites(prep, time_limit_s=10, seed=0, fixed=frozenset())
    assert "sorting_south" in sites.decision.open_ids


def test_an_options_day_is_reused_only_on_the_plans_own_day_one(demo_prep) -> None:  # type: ignore[no-untyped-def]
    """The option was routed on the fixed calendar: a plan on that calendar may keep it,
    a plan whose calendar puts other stops on day 1 may not."""
    from optimizer.stages.calendar import FIXED, hash_offset, plan_calendar
    from optimizer.stages.routes import solve_day_routes
    from optimizer.stages.site_options import DayOne, day_one_for_plan

    existing = {f.id for f in demo_prep.scenario.facilities if f.state == "existing"}
    open_ids = existing | {"sorting_south"}  # the only site for dry recyclables
    day = DayOne(*solve_day_routes(demo_prep, open_ids, time_limit_s=2, seed=0))
    kept = day_one_for_plan(demo_prep, day, open_ids, FIXED)
    assert kept is not None and kept.plan is day.plan
    chosen = plan_calendar(demo_prep, open_ids, days=2, mode="chosen", seed=0)
    moved = [ps for ps, k in chosen.patterns.items() if k != hash_offset(*ps, range(7))]
    assert moved  # the chosen calendar changes which stops are due on day 1
    assert day_one_for_plan(demo_prep, day, open_ids, chosen) is None
