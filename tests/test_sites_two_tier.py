"""The two-tier site model inside the pipeline: demo scenario, plan.json, map, errors.

The demo has a landfill and two candidate sorting stations (one inside a housing
zone), so ``location_model = "auto"`` picks the two-tier model: sorting residue must
be hauled to the landfill and fit its capacity.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from optimizer.cli import main
from optimizer.errors import InfeasibleError
from optimizer.location.tiers import (
    Tier,
    TwoTierProblem,
    check_two_tier,
    robust_two_tier,
    solve_two_tier,
    two_tier_reliability,
)
from optimizer.plan import demo_scenario_path
from optimizer.scenario import load_scenario
from optimizer.stages.sites import location_model


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    dst = tmp_path / "scenario"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst / "scenario.toml"


def _set(path: Path, section: str, line: str) -> None:
    text = path.read_text()
    assert f"[{section}]\n" in text
    path.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1))


def _sites(scenario: Path, out: Path) -> dict:
    assert main(["sites", str(scenario), "--out", str(out), "--time-limit", "5"]) == 0
    return json.loads((out / "plan.json").read_text())


def test_auto_picks_two_tier_when_residue_has_a_landfill() -> None:
    sc = load_scenario(demo_scenario_path())
    assert location_model(sc) == "two-tier"
    only_landfill = sc.model_copy(
        update={"facilities": tuple(f for f in sc.facilities if f.type == "landfill")}
    )
    assert location_model(only_landfill) == "cflp"


def test_recycling_target_routes_residue_to_the_landfill(scenario: Path, tmp_path: Path) -> None:
    _set(scenario, "siting", "min_recycling_rate = 0.12")
    plan = _sites(scenario, tmp_path / "out")
    kpis = plan["kpis"]
    assert kpis["recycling_rate"] >= 0.12 - 1e-4
    facs = {f["id"]: f for f in plan["facilities"]}
    assert facs["sorting_north"]["state"] == "excluded" and not facs["sorting_north"]["open"]
    flows = plan["residue_flows"]
    assert flows and {(f["from"], f["to"]) for f in flows} == {("sorting_south", "landfill")}
    # Mass balance: what enters the sorting station = recovered + residue hauled on.
    sorting_in = facs["sorting_south"]["used_t_per_day"]
    residue = sum(f["t_per_day"] for f in flows)
    recovery = facs["sorting_south"]["recovery_rate"]
    assert residue == pytest.approx(sorting_in * (1 - recovery), rel=1e-3)
    assert kpis["recycled_t_per_day"] == pytest.approx(sorting_in * recovery, abs=0.01)
    # The landfill's load counts the residue as well as direct deliveries, and fits.
    direct = kpis["tonnes_generated_per_day"] - sorting_in
    assert facs["landfill"]["used_t_per_day"] == pytest.approx(direct + residue, abs=0.01)
    assert facs["landfill"]["used_t_per_day"] <= facs["landfill"]["capacity_t_per_day"]
    assert flows[0]["road_km"] > 0 and kpis["residue_haul_tkm_per_year"] > 0
    assert any("Residue haul" in a for a in plan["assumptions"])
    assert "Residue hauls to landfill" in (tmp_path / "out" / "map.html").read_text()


def test_unreachable_recycling_target_is_infeasible(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The only usable sorting station recovers 19 %: 30 % cannot be met.
    _set(scenario, "siting", "min_recycling_rate = 0.3")
    out = tmp_path / "out"
    code = main(["sites", str(scenario), "--out", str(out), "--time-limit", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "recycling rate 30% is out of reach" in err and "Traceback" not in err
    assert not out.exists()


def test_cflp_stays_available(scenario: Path, tmp_path: Path) -> None:
    _set(scenario, "solver", 'location_model = "cflp"')
    text = scenario.read_text().replace('location_model = "auto"\n', "", 1)
    scenario.write_text(text)
    plan = _sites(scenario, tmp_path / "out")
    assert plan["residue_flows"] == []
    assert "residue_t_per_day" not in plan["kpis"]


def _tiny(capacity_landfill: float) -> TwoTierProblem:
    """One point, one sorting station recovering half, one landfill."""
    return TwoTierProblem(
        point_ids=("p",),
        streams=("msw",),
        supply=np.array([[10.0]]),
        tier1=Tier(
            ids=("S",),
            kind=("sorting",),
            accepts=np.array([[True]]),
            capacity=np.array([100.0]),
            fixed_cost=np.array([0.0]),
            must_open=np.array([True]),
            may_open=np.array([True]),
            recovery=np.array([[0.5]]),
        ),
        tier2=Tier(
            ids=("L",),
            kind=("landfill",),
            accepts=np.array([[True]]),
            capacity=np.array([capacity_landfill]),
            fixed_cost=np.array([0.0]),
            must_open=np.array([False]),
            may_open=np.array([True]),
        ),
        cost1=np.array([[1.0]]),
        cost2=np.array([[1.0]]),
        direct_cost=np.array([[5.0]]),
    )


def test_reliability_counts_residue_at_the_landfill() -> None:
    p = _tiny(capacity_landfill=6.0)  # mean residue 5 t fits; 13 t of supply gives 6.5
    d = solve_two_tier(p)
    assert check_two_tier(p, d) == []
    assert d.residue[("S", "L")] == pytest.approx(5.0)
    samples = np.array([[[10.0]], [[12.0]], [[13.0]], [[8.0]]])
    share, worst = two_tier_reliability(p, d, samples)
    assert share == pytest.approx(0.75)
    assert worst == pytest.approx(6.5 / 6.0)


def test_check_flags_an_excluded_landfill() -> None:
    p = _tiny(capacity_landfill=50.0)
    d = solve_two_tier(p)
    closed = p.replace(tier2=dataclasses.replace(p.tier2, may_open=np.array([False])))
    assert any("excluded site L" in e for e in check_two_tier(closed, d))


SMALL_SORTING = """
[[facilities]]
id = "sorting_south_small"
name = "Candidate sorting station, south-east, small size"
type = "sorting"
state = "candidate"
lon = 24.9515
lat = 60.1650
capacity_t_per_day = 6
accepts = ["msw", "dry_recyclables"]
capex_kzt = 30_000_000
opex_kzt_per_year = 6_000_000
fixed_cost_kzt_per_year = 9_000_000
gate_fee_kzt_per_t = 1000
recovery_rate = 0.19
size_group = "south"
"""


def _with_sizes(scenario: Path, target: float, budget: float | None) -> None:
    text = scenario.read_text()
    text = text.replace('id = "sorting_south"\n', 'id = "sorting_south"\nsize_group = "south"\n', 1)
    scenario.write_text(text + SMALL_SORTING)
    _set(scenario, "siting", f"min_recycling_rate = {target}")
    if budget is not None:
        _set(scenario, "economics", f"capex_budget_kzt = {budget}")


def test_size_options_open_one_size_within_the_budget(scenario: Path, tmp_path: Path) -> None:
    # 5 % needs about 4.2 t/day through sorting: the small size (6 t/day) suffices and,
    # with a 50 M budget, the large one (70 M capex) is not allowed.
    _with_sizes(scenario, 0.05, 50_000_000)
    plan = _sites(scenario, tmp_path / "small")
    opened = {f["id"] for f in plan["facilities"] if f["open"]}
    assert "sorting_south_small" in opened and "sorting_south" not in opened
    built = sum(
        f["capex_kzt"] for f in plan["facilities"] if f["open"] and f["state"] == "proposed"
    )
    assert built <= 50_000_000


def test_size_options_never_open_together(scenario: Path, tmp_path: Path) -> None:
    # 12 % needs about 10 t/day through sorting: only the large size holds it, alone.
    _with_sizes(scenario, 0.12, None)
    plan = _sites(scenario, tmp_path / "large")
    opened = {f["id"] for f in plan["facilities"] if f["open"]}
    assert "sorting_south" in opened and "sorting_south_small" not in opened


def test_budget_too_small_for_the_target_is_infeasible(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_sizes(scenario, 0.12, 50_000_000)
    out = tmp_path / "out"
    code = main(["sites", str(scenario), "--out", str(out), "--time-limit", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "budget 50,000,000" in err and "Traceback" not in err
    assert not out.exists()


def test_size_group_of_mixed_types_is_an_input_error(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = scenario.read_text()
    text = text.replace('id = "landfill"\n', 'id = "landfill"\nsize_group = "south"\n', 1)
    scenario.write_text(text + SMALL_SORTING)
    assert main(["validate", str(scenario)]) == 1
    err = capsys.readouterr().err
    assert "size group 'south' mixes" in err and "same type" in err


def test_robust_plan_spreads_residue_until_the_samples_fit() -> None:
    base = _tiny(capacity_landfill=5.5)  # mean residue 5 t fits, 6.5 t at 13 t supply does not
    spare = dataclasses.replace(
        base.tier2,
        ids=("L", "L2"),
        kind=("landfill", "landfill"),
        accepts=np.array([[True], [True]]),
        capacity=np.array([5.5, 100.0]),
        fixed_cost=np.array([0.0, 1.0]),
        must_open=np.array([False, False]),
        may_open=np.array([True, True]),
    )
    p = base.replace(tier2=spare, cost2=np.array([[1.0, 3.0]]), direct_cost=np.array([[5.0, 9.0]]))
    samples = np.array([[[10.0]], [[12.0]], [[13.0]], [[8.0]]])
    cheap = solve_two_tier(p)
    assert cheap.open_tier2 == ("L",)
    assert two_tier_reliability(p, cheap, samples)[0] == pytest.approx(0.5)
    robust, share, alpha = robust_two_tier(p, samples, 1.0)
    assert share == 1.0 and alpha > 1.0 and set(robust.open_tier2) == {"L", "L2"}
    # Scaled back to the mean supply: still a valid plan for the mean.
    assert check_two_tier(p, robust) == []
    assert sum(robust.to_tier1.values()) == pytest.approx(10.0)


def test_robustness_target_is_wired_through(scenario: Path, tmp_path: Path) -> None:
    _set(scenario, "economics", "target_robustness = 0.9")
    plan = _sites(scenario, tmp_path / "out")
    kpis = plan["kpis"]
    assert kpis["robustness_target"] == 0.9 and kpis["robustness"] >= 0.9
    assert kpis["demand_inflation"] >= 1.0


def test_robustness_target_needs_samples(
    scenario: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _set(scenario, "economics", "target_robustness = 0.9")
    text = scenario.read_text()
    scenario.write_text(text.replace("robustness_samples = 50", "robustness_samples = 0"))
    assert "robustness_samples = 0" in scenario.read_text()
    code = main(["sites", str(scenario), "--out", str(tmp_path / "out"), "--time-limit", "5"])
    assert code == 1 and "robustness_samples" in capsys.readouterr().err


def test_sorting_without_a_landfill_for_its_residue_is_named() -> None:
    p = _tiny(capacity_landfill=50.0)
    no_landfill = p.replace(
        tier2=dataclasses.replace(
            p.tier2,
            ids=(),
            kind=(),
            accepts=np.zeros((0, 1), bool),
            capacity=np.zeros(0),
            fixed_cost=np.zeros(0),
            must_open=np.zeros(0, bool),
            may_open=np.zeros(0, bool),
        ),
        cost2=np.zeros((1, 0)),
        direct_cost=np.zeros((1, 0)),
    )
    with pytest.raises(InfeasibleError, match="landfill that may open can take its residue"):
        solve_two_tier(no_landfill)


def test_check_rejects_residue_to_a_site_that_takes_none_and_negative_flows() -> None:
    p = _tiny(capacity_landfill=50.0)
    d = solve_two_tier(p)
    treatment = p.replace(tier2=dataclasses.replace(p.tier2, kind=("treatment",)))
    assert any("does not take residue" in e for e in check_two_tier(treatment, d))
    negative = dataclasses.replace(d, residue={("S", "L"): -1.0})
    assert any("negative" in e for e in check_two_tier(p, negative))
