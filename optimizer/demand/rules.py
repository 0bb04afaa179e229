"""Rates and rules as data: stream families, the collection-frequency rule, norms.

Everything here is plain arithmetic on numbers a scenario gives (or on the defaults
below, each with its source and status as in ``../shared/DOMAIN.md``):

* per-capita norms: ``m³/person/year × t/m³ ÷ 365`` or ``kg/person/day``;
* seasonal factors, rescaled so that the year's month-weighted mean is 1;
* the Kazakh sanitary rule for how long waste may stay in a container, giving the
  visits per week a site needs in each season;
* how many containers a site needs at that frequency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from optimizer.scenario import GenerationSpec, StreamSpec

Season = Literal["warm", "cold", "annual"]
SEASONS: tuple[Season, ...] = ("warm", "cold", "annual")
StreamKind = Literal["msw", "dry", "wet", "bulky", "medical", "industrial", "agricultural"]


@dataclass(frozen=True)
class FrequencyRule:
    """How long waste of one stream family may be stored at a collection point.

    ``warm`` is the season with mean daily air temperature above 0 °C, ``cold`` the
    season at 0 °C and below (the Kazakh rule's threshold).
    """

    kind: StreamKind
    max_storage_days_warm: float
    max_storage_days_cold: float
    source: str
    status: str


_KZ_RULE = (
    "Sanitary Rules ҚР ДСМ-331/2020 of 25.12.2020 (reg. 21934; amended 05.04.2023 "
    "No 60), https://adilet.zan.kz/rus/docs/V2000021934/compare; earlier rules 2012 "
    "No 291 and 2018 No 187 say the same in substance: at most 3 days at 0 °C and "
    "below, at most 1 day above 0 °C"
)

#: The collection-frequency rule per stream family (a scenario may override it per
#: stream with ``max_storage_days_warm`` / ``max_storage_days_cold``).
FREQUENCY_RULES: dict[str, FrequencyRule] = {
    "msw": FrequencyRule("msw", 1, 3, _KZ_RULE, "recalled — verify the exact clause"),
    "wet": FrequencyRule(
        "wet", 1, 3, _KZ_RULE + " (food waste is putrescible MSW)", "recalled — verify"
    ),
    "dry": FrequencyRule(
        "dry",
        3,
        3,
        "assumption: dry recyclables do not rot, so the 3-day limit is applied all year",
        "assumption",
    ),
    "bulky": FrequencyRule(
        "bulky",
        7,
        10,
        "Russian analogue SanPiN 2.1.3684-21 p. 11 (every 7 days warm, 10 days cold), "
        "https://spzv.ru/novosti/kak-chasto-dolzhnyi-vyivozit-tko; no Kazakh clause read",
        "Russian analogue — verify the Kazakh clause",
    ),
    "medical": FrequencyRule(
        "medical",
        1,
        1,
        "classes Б/В stored at most 24 h without refrigeration (Russian SanPiN "
        "2.1.3684-21 practice; Kazakh ДСМ-331/2020 not read)",
        "recalled — verify",
    ),
    "industrial": FrequencyRule(
        "industrial", 7, 7, "assumption: weekly removal of non-putrescible waste", "assumption"
    ),
    "agricultural": FrequencyRule(
        "agricultural", 7, 7, "assumption: weekly removal from farms", "assumption"
    ),
}

_KIND_BY_ID: dict[str, StreamKind] = {
    "msw": "msw",
    "mixed": "msw",
    "residual": "msw",
    "dry": "dry",
    "dry_recyclables": "dry",
    "recyclables": "dry",
    "wet": "wet",
    "organic": "wet",
    "organics": "wet",
    "food": "wet",
    "bulky": "bulky",
    "medical": "medical",
    "industrial": "industrial",
    "agricultural": "agricultural",
}


def stream_kind(stream: StreamSpec | str) -> StreamKind:
    """The family a stream belongs to: its ``kind``, else guessed from its id, else ``msw``."""
    if isinstance(stream, str):
        return _KIND_BY_ID.get(stream, "msw")
    if stream.kind is not None:
        return stream.kind
    return _KIND_BY_ID.get(stream.id, "msw")


def max_storage_days(stream: StreamSpec | str, season: Literal["warm", "cold"]) -> float:
    """How many days waste may wait at a site in a season (scenario override, else rule)."""
    rule = FREQUENCY_RULES[stream_kind(stream)]
    if not isinstance(stream, str):
        override = (
            stream.max_storage_days_warm if season == "warm" else stream.max_storage_days_cold
        )
        if override is not None:
            return float(override)
    return float(rule.max_storage_days_warm if season == "warm" else rule.max_storage_days_cold)


def visits_per_week(stream: StreamSpec | str, season: Season, *, cold_months: float = 5.0) -> float:
    """Visits per week a collection point needs under the frequency rule.

    In a season: ``ceil(7 / max storage days)`` (daily → 7, every 3 days → 3, weekly
    → 1), raised to the stream's ``min_visits_per_week`` policy when it is higher.
    ``annual`` is the month-weighted mean of the two seasons (a fraction).
    """
    if season == "annual":
        warm = visits_per_week(stream, "warm")
        cold = visits_per_week(stream, "cold")
        return (warm * (12.0 - cold_months) + cold * cold_months) / 12.0
    visits = float(math.ceil(7.0 / max_storage_days(stream, season) - 1e-9))
    policy = None if isinstance(stream, str) else stream.min_visits_per_week
    return max(visits, float(policy or 0.0))


def longest_gap_days(visits: float) -> float:
    """Longest wait between two visits when ``visits`` per week are spread evenly."""
    if visits <= 0:
        msg = "visits per week must be positive"
        raise ValueError(msg)
    return float(math.ceil(7.0 / visits - 1e-9)) if visits >= 1 else 7.0 / visits


def containers_needed(
    m3_per_day: float, visits_per_week: float, container_m3: float, fill_level: float
) -> int:
    """Containers a site needs so that the waste of the longest gap fits.

    ``ceil(m3_per_day × longest gap ÷ (container_m3 × fill_level))``; 0 when nothing
    is generated. The longest gap of ``v`` evenly spread weekly visits is
    ``ceil(7 / v)`` days (7 → 1 day, 3 → 3 days, 2 → 4 days, 1 → 7 days).
    """
    if m3_per_day < 0 or container_m3 <= 0 or not 0 < fill_level <= 1:
        msg = "need m3_per_day >= 0, container_m3 > 0 and 0 < fill_level <= 1"
        raise ValueError(msg)
    if m3_per_day == 0:
        return 0
    volume = m3_per_day * longest_gap_days(visits_per_week)
    return max(1, math.ceil(volume / (container_m3 * fill_level) - 1e-9))


def kg_per_person_day(
    *,
    norm_kg_per_person_day: float | None = None,
    norm_m3_per_person_year: float | None = None,
    density_t_per_m3: float = 0.2,
) -> float:
    """A per-capita norm in kg/person/day: given, or ``m³/yr × t/m³ × 1000 ÷ 365``."""
    if norm_kg_per_person_day is not None:
        return float(norm_kg_per_person_day)
    if norm_m3_per_person_year is None:
        msg = "no per-capita norm given"
        raise ValueError(msg)
    return float(norm_m3_per_person_year) * float(density_t_per_m3) * 1000.0 / 365.0


def tonnes_per_day(people: float, kg_person_day: float) -> float:
    """Tonnes per day generated by ``people`` at ``kg_person_day``."""
    return people * kg_person_day / 1000.0


def generation_norm_kg(gen: GenerationSpec, district: str | None = None) -> float:
    """The scenario's base norm in kg/person/day, for one district when it has its own."""
    own = gen.district_norms.get(district or "")
    if gen.norm_m3_per_person_year is not None:
        return kg_per_person_day(
            norm_m3_per_person_year=own if own is not None else gen.norm_m3_per_person_year,
            density_t_per_m3=gen.norm_density_t_per_m3,
        )
    return kg_per_person_day(
        norm_kg_per_person_day=own if own is not None else gen.norm_kg_per_person_day
    )


def seasonal_factors(
    warm: float = 1.0, cold: float = 1.0, cold_months: float = 5.0
) -> dict[Season, float]:
    """Factors on the annual-average norm per season, rescaled to a yearly mean of 1.

    ``warm`` and ``cold`` are relative (e.g. +10 % / −10 %); dividing both by their
    month-weighted mean keeps the norm the annual average, so ``annual`` is 1.
    """
    if warm <= 0 or cold <= 0 or not 0 <= cold_months <= 12:
        msg = "seasonal factors must be positive and cold_months within 0..12"
        raise ValueError(msg)
    mean = (warm * (12.0 - cold_months) + cold * cold_months) / 12.0
    return {"warm": warm / mean, "cold": cold / mean, "annual": 1.0}


def season_factor(gen: GenerationSpec | None, season: Season) -> float:
    """The scenario's factor for one season (1 when there is no generation section)."""
    if gen is None:
        return 1.0
    factors = seasonal_factors(gen.seasonal_factor_warm, gen.seasonal_factor_cold, gen.cold_months)
    return factors[season]
