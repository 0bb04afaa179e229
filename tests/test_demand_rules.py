"""Norm arithmetic, seasonal factors, the collection-frequency rule, containers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.demand import (
    FREQUENCY_RULES,
    containers_needed,
    kg_per_person_day,
    seasonal_factors,
    stream_kind,
    tonnes_per_day,
    visits_per_week,
)
from optimizer.scenario import StreamSpec


def _stream(**extra: object) -> StreamSpec:
    fields: dict[str, object] = {"id": "msw", "density_t_per_m3": 0.2, "accepted_by": ["landfill"]}
    fields.update(extra)
    return StreamSpec(**fields)  # type: ignore[arg-type]


def test_m3_norm_to_kg_per_day() -> None:
    # 1.62 m3/person/yr x 0.2 t/m3 = 324 kg/yr = 0.8877 kg/day
    kg = kg_per_person_day(norm_m3_per_person_year=1.62, density_t_per_m3=0.2)
    assert kg == pytest.approx(324 / 365)
    assert tonnes_per_day(1_000_000, kg) == pytest.approx(887.67, abs=0.01)


def test_kg_norm_passes_through() -> None:
    assert kg_per_person_day(norm_kg_per_person_day=1.04) == 1.04
    assert tonnes_per_day(1_511_807, 1.04) == pytest.approx(1572.28, abs=0.01)
    with pytest.raises(ValueError, match="no per-capita norm"):
        kg_per_person_day()


def test_seasonal_factors_average_to_one() -> None:
    f = seasonal_factors(1.1, 0.9, cold_months=5)
    assert f["annual"] == 1.0
    assert (f["warm"] * 7 + f["cold"] * 5) / 12 == pytest.approx(1.0)
    assert f["warm"] / f["cold"] == pytest.approx(1.1 / 0.9)
    assert seasonal_factors(1.0, 1.0, 3) == {"warm": 1.0, "cold": 1.0, "annual": 1.0}


@given(st.floats(0.5, 2.0), st.floats(0.5, 2.0), st.floats(0.0, 12.0, allow_subnormal=False))
def test_seasonal_factors_property(warm: float, cold: float, months: float) -> None:
    f = seasonal_factors(warm, cold, months)
    assert (f["warm"] * (12 - months) + f["cold"] * months) / 12 == pytest.approx(1.0)


def test_frequency_rule_msw_daily_warm_every_three_days_cold() -> None:
    msw = _stream()
    assert visits_per_week(msw, "warm") == 7
    assert visits_per_week(msw, "cold") == 3
    # annual: month-weighted mean, 7 warm months and 5 cold months
    assert visits_per_week(msw, "annual", cold_months=5) == pytest.approx((7 * 7 + 3 * 5) / 12)
    assert "recalled" in FREQUENCY_RULES["msw"].status


def test_frequency_rule_other_streams() -> None:
    assert visits_per_week("bulky", "warm") == 1
    assert visits_per_week("bulky", "cold") == 1
    assert visits_per_week("medical", "cold") == 7
    assert visits_per_week("dry", "warm") == 3
    assert visits_per_week("wet", "cold") == 3


def test_frequency_overrides_and_policy() -> None:
    assert visits_per_week(_stream(min_visits_per_week=7), "cold") == 7
    assert visits_per_week(_stream(max_storage_days_cold=2), "cold") == 4
    assert visits_per_week(_stream(id="food_bins", kind="bulky"), "warm") == 1


def test_stream_kind_guessed_from_id() -> None:
    assert stream_kind(_stream(id="dry_recyclables")) == "dry"
    assert stream_kind(_stream(id="organics")) == "wet"
    assert stream_kind(_stream(id="whatever")) == "msw"
    assert stream_kind(_stream(id="whatever", kind="medical")) == "medical"


def test_containers_needed() -> None:
    # 2.3 m3/day emptied daily in 0.75 m3 containers filled to 85 %: 2.3 / 0.6375 -> 4
    assert containers_needed(2.3, 7, 0.75, 0.85) == 4
    # every 3 days: 6.9 m3 -> 11
    assert containers_needed(2.3, 3, 0.75, 0.85) == 11
    # twice a week: the longest gap is 4 days
    assert containers_needed(1.0, 2, 1.0, 1.0) == 4
    assert containers_needed(0.0, 7, 1.1, 0.85) == 0
    assert containers_needed(0.01, 7, 1.1, 0.85) == 1
    with pytest.raises(ValueError):
        containers_needed(1.0, 7, 0.0, 0.85)


@given(
    st.floats(0.001, 50), st.sampled_from([1, 2, 3, 7, 14]), st.floats(0.1, 10), st.floats(0.3, 1)
)
def test_containers_hold_the_longest_gap(m3: float, visits: int, size: float, fill: float) -> None:
    n = containers_needed(m3, visits, size, fill)
    gap = math.ceil(7 / visits)
    assert n * size * fill >= m3 * gap - 1e-6
    assert (n - 1) * size * fill < m3 * gap + 1e-6
