"""Two tiers and streams, siting exclusion, economics, robustness."""

from __future__ import annotations

import re

import numpy as np
import pytest
from shapely.geometry import box

from optimizer.errors import InfeasibleError
from optimizer.location.economics import FACTORS, evaluate_plan, npv
from optimizer.location.problem import FacilityProblem
from optimizer.location.robust import capacity_reliability, chance_constrained_plan
from optimizer.location.siting import Candidate, SitingRules, exclude_candidates
from optimizer.location.solve import solve_facility
from optimizer.location.tiers import Tier, TwoTierProblem, check_two_tier, solve_two_tier

INF = np.inf


def two_tier(rate: float | None) -> TwoTierProblem:
    streams = ("msw", "recyclables", "medical")
    supply = np.array([[10.0, 4.0, 0.5], [8.0, 6.0, 0.0]])
    tier1 = Tier(
        ids=("T", "S"),
        kind=("transfer", "sorting"),
        accepts=np.array([[True, True, False], [True, True, False]]),
        capacity=np.array([100.0, 100.0]),
        fixed_cost=np.array([5.0, 20.0]),
        must_open=np.array([False, False]),
        may_open=np.array([True, True]),
        recovery=np.array([[0.0, 0.0, 0.0], [0.1, 0.8, 0.0]]),
    )
    tier2 = Tier(
        ids=("L", "M"),
        kind=("landfill", "treatment"),
        accepts=np.array([[True, False, False], [False, False, True]]),
        capacity=np.array([1000.0, 10.0]),
        fixed_cost=np.array([0.0, 3.0]),
        must_open=np.array([True, False]),
        may_open=np.array([True, True]),
    )
    return TwoTierProblem(
        point_ids=("p1", "p2"),
        streams=streams,
        supply=supply,
        tier1=tier1,
        tier2=tier2,
        cost1=np.array([[1.0, 2.0], [1.0, 2.0]]),
        cost2=np.array([[1.0, INF], [1.0, INF]]),
        direct_cost=np.array([[3.0, 2.0], [3.0, 2.0]]),
        min_recycling_rate=rate,
    )


def test_two_tier_streams_and_recycling_target() -> None:
    p = two_tier(None)
    d = solve_two_tier(p)
    assert d.status == "optimal" and check_two_tier(p, d) == []
    # medical waste goes straight to the licensed treatment site only
    assert all(s != "medical" for (_, _, s) in d.to_tier1)
    assert d.to_tier2[("p1", "M", "medical")] == pytest.approx(0.5)
    assert "S" not in d.open_tier1  # cheapest: transfer only, no recycling
    q = two_tier(0.25)
    e = solve_two_tier(q)
    assert check_two_tier(q, e) == []
    assert "S" in e.open_tier1 and e.recycling_rate >= 0.25 - 1e-9
    with pytest.raises(InfeasibleError, match="recycling"):
        solve_two_tier(two_tier(0.9))


def test_two_tier_checker_catches_licence_violation() -> None:
    p = two_tier(None)
    d = solve_two_tier(p)
    from dataclasses import replace

    bad = dict(d.to_tier2)
    bad[("p1", "L", "medical")] = bad.pop(("p1", "M", "medical"))
    errs = check_two_tier(p, replace(d, to_tier2=bad))
    assert any("not licensed for stream medical" in e for e in errs)


def test_exclusion_reasons_by_kind_and_size() -> None:
    lon0, lat0 = 71.43, 51.13
    deg_m = 1 / (111_320 * np.cos(np.radians(lat0)))  # degrees of longitude per metre
    res = {"Yesil block": box(lon0 - 0.01, lat0 - 0.01, lon0 + 0.01, lat0 + 0.01)}
    water = [box(lon0 - 0.05, lat0 - 0.05, lon0 + 0.05, lat0 - 0.0499)]
    x700 = lon0 + 0.01 + 700 * deg_m
    cands = [
        Candidate("inside", lon0, lat0, "landfill"),
        Candidate("lf700", x700, lat0, "landfill"),
        Candidate("tr700", x700, lat0, "transfer"),
        Candidate("small700", x700, lat0, "sorting", 30_000),
        Candidate("big700", x700, lat0, "sorting", 250_000),
        Candidate("far", lon0 + 0.3, lat0 + 0.2, "landfill"),
        Candidate("river", lon0 + 0.03, lat0 - 0.048, "transfer"),
    ]
    out = dict(exclude_candidates(cands, res, water, SitingRules()))
    assert set(out) == {"inside", "lf700", "big700", "river"}
    assert "inside residential area 'Yesil block'" in out["inside"]
    metres = re.match(r"(\d+) m from residential area", out["lf700"])
    assert metres is not None and 690 <= int(metres.group(1)) <= 710
    assert "1,000 m sanitary protection zone" in out["big700"]
    assert "water body 1" in out["river"] and "docs/sources.md" in out["river"]


def test_economics_npv_and_co2e() -> None:
    assert npv(100.0, 10.0, 0.0, years=2, rate=0.0, growth=0.0) == pytest.approx(120.0)
    assert npv(0.0, 0.0, 100.0, years=2, rate=0.1, growth=0.1) == pytest.approx(
        100 / 1.1 + 110 / 1.21
    )
    p = FacilityProblem(
        ("a", "b"),
        ("F", "G"),
        np.array([1.0, 2.0]),
        np.array([[1.0, 5.0], [5.0, 1.0]]),
        np.array([1.0, 1.0]),
        np.array([INF, INF]),
    )
    d = solve_facility(p)
    dist = np.array([[10.0, 50.0], [50.0, 10.0]])
    econ = evaluate_plan(
        p,
        d,
        distance_km=dist,
        capex_kzt=np.array([5.0, 7.0]),
        opex_kzt_per_year=np.array([1.0, 1.0]),
        landfilled_t_per_year=100.0,
        recycled_t_per_year=10.0,
    )
    assert econ.transport_tkm_per_year == pytest.approx(30.0 * 365)
    assert econ.capex_kzt == 12.0
    f = FACTORS
    assert econ.co2e_landfill_t_per_year == pytest.approx(
        100 * f["landfill_msw_co2e_t_per_t"].value
    )
    assert any("GLEC" in a for a in econ.assumptions)


def test_robustness_share_and_chance_plan() -> None:
    rng = np.random.default_rng(0)
    p = FacilityProblem(
        ("a", "b", "c"),
        ("F", "G"),
        np.array([3.0, 3.0, 3.0]),
        np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]]),
        np.array([1.0, 1.0]),
        np.array([10.0, 10.0]),
    )
    d = solve_facility(p)
    samples = rng.normal(3.0, 1.0, size=(500, 3)).clip(0)
    rel = capacity_reliability(p, d, samples)
    assert 0.0 <= rel.share <= 1.0 and rel.samples == 500
    plan, rel2, alpha = chance_constrained_plan(p, samples, 0.99)
    assert rel2.share >= 0.99 and alpha >= 1.0
    assert len(plan.open_ids) >= 1
