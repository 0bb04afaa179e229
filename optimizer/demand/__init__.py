"""Waste-generation estimates: tonnes per collection point, stream, season.

The pipeline calls :func:`estimate_demand`; ``optimizer demand`` also uses
:func:`sample_demand`, :func:`demand_summary` and :func:`write_demand_csv`. The
collection-frequency rule and the norm arithmetic live in :mod:`.rules`, point
placement in :mod:`.placement`. See ``docs/demand.md``.
"""

from optimizer.demand.estimate import COLUMNS, estimate_demand
from optimizer.demand.output import (
    MUNICIPAL_KINDS,
    demand_summary,
    municipal_tonnes_per_day,
    write_demand_csv,
)
from optimizer.demand.placement import StreetSegments, place_points
from optimizer.demand.rules import (
    FREQUENCY_RULES,
    FrequencyRule,
    Season,
    containers_needed,
    kg_per_person_day,
    max_storage_days,
    seasonal_factors,
    stream_kind,
    tonnes_per_day,
    visits_per_week,
)
from optimizer.demand.sampling import sample_demand

__all__ = [
    "COLUMNS",
    "FREQUENCY_RULES",
    "MUNICIPAL_KINDS",
    "FrequencyRule",
    "Season",
    "StreetSegments",
    "containers_needed",
    "demand_summary",
    "estimate_demand",
    "kg_per_person_day",
    "max_storage_days",
    "municipal_tonnes_per_day",
    "place_points",
    "sample_demand",
    "seasonal_factors",
    "stream_kind",
    "tonnes_per_day",
    "visits_per_week",
    "write_demand_csv",
]
