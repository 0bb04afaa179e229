"""Investor view: the site plan's present cost with the routed fleet, in plan and compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.plan import demo_scenario_path
from optimizer.report import write_comparison
from optimizer.scenario import load_scenario


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("fleet") / "plan"
    assert main(["demo", "--out", str(out), "--days", "2", "--time-limit", "3"]) == 0
    return out, json.loads((out / "plan.json").read_text())


def test_present_cost_adds_the_routed_fleet(demo_plan: tuple[Path, dict]) -> None:
    _, plan = demo_plan
    k = plan["kpis"]
    scenario = load_scenario(demo_scenario_path())
    econ, solver = scenario.economics, scenario.solver
    haul_rate = solver.residue_haul_kzt_per_t_km or solver.transport_cost_kzt_per_t_km
    haul = k["residue_haul_tkm_per_year"] * haul_rate  # the demo hauls sorting residue
    per_day = k["cost_kzt"] / k["plan_days"]
    assert k["fleet_cost_kzt_per_year"] == pytest.approx(
        per_day * 365, abs=365
    )  # cost_kzt is rounded
    # year t pays opex plus the fleet (growing with demand), discounted; capex up front
    expected = k["capex_kzt"] + sum(
        (k["opex_kzt_per_year"] + (per_day * 365 + haul) * (1 + econ.demand_growth) ** (t - 1))
        / (1 + econ.discount_rate) ** t
        for t in range(1, econ.horizon_years + 1)
    )
    assert haul > 0
    assert k["present_cost_with_fleet_kzt"] == pytest.approx(expected, rel=1e-5)
    assert k["present_cost_with_fleet_kzt"] > k["npv_kzt"]
    assert any("Present cost with the fleet" in a for a in plan["assumptions"])


def test_compare_shows_fleet_rows(demo_plan: tuple[Path, dict], tmp_path: Path) -> None:
    out, plan = demo_plan
    page = write_comparison([out, out], tmp_path / "compare.html").read_text()
    for label in ("Present cost with the routed fleet", "Fleet cost", "Driver hours"):
        assert label in page
    hours = f"{plan['kpis']['working_h'] / 2:.1f}"
    assert hours in page
