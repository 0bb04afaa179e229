"""The independent check of a plan's weeks: every point's waste collected, on time.

The day checks (:func:`optimizer.routing.verify_routes`) see one day at a time; a
calendar that visits a point on the wrong days, twice in a week or with the wrong
load passes them. Here, from the demand table and the served stops alone (not from
the calendar that placed them), each point-stream over each whole week of the plan
must have its visits a week, no two visits further apart than its collection rule
allows, and, in all, exactly the waste it generated in those days (a daily stream
whose visits a week are a year's mean below 7 is only checked for being visited).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from optimizer.stages.assemble import DayRoutes
from optimizer.stages.prepare import Prepared

WEEK = 7
#: A visit's load is rounded to whole kilograms and litres.
ROUNDING_KG = 1.0


def _served(
    days: Sequence[DayRoutes],
) -> tuple[dict[tuple[str, str], list[tuple[int, int]]], set[tuple[str, str]]]:
    """Per point-stream, (plan day, kg) of each visit; and the point-streams left unserved."""
    served: dict[tuple[str, str], list[tuple[int, int]]] = {}
    unserved: set[tuple[str, str]] = set()
    for d in days:
        p = d.problem
        for r in d.plan.routes:
            for s in r.stops:
                served.setdefault((p.node_ids[s], str(p.stream[s])), []).append(
                    (d.day, int(p.demand_kg[s]))
                )
        for s, _ in d.plan.unserved:
            unserved.add((p.node_ids[s], str(p.stream[s])))
    return served, unserved


def _longest_gap(days: list[int], horizon: int) -> int:
    """The most days from one visit to the next, around the plan's whole weeks."""
    ordered = sorted(days)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    gaps.append(ordered[0] + horizon - ordered[-1])
    return max(gaps)


def week_collection_issues(prep: Prepared, days: Sequence[DayRoutes]) -> list[str]:
    """Every point-stream whose collections over the plan's whole weeks are wrong; ``[]``
    for plans shorter than a week or not a whole number of weeks (nothing to add up)."""
    horizon = len(days)
    if horizon < WEEK or horizon % WEEK:
        return []
    weeks = horizon // WEEK
    served, unserved = _served(days)
    rows = prep.day_demand
    out: list[str] = []
    for pid, stream, per_week, tonnes in zip(
        rows["point_id"].astype(str),
        rows["stream"].astype(str),
        rows["visits_per_week"].astype(float),
        rows["tonnes_per_day"].astype(float),
        strict=True,
    ):
        key = (pid, stream)
        if key in unserved:
            continue  # listed as unserved with its reason
        visits = served.get(key, [])
        where = f"point {pid} ({stream})"
        if len({d for d, _ in visits}) != len(visits):
            out.append(f"{where}: visited twice on one day")
            continue
        every = WEEK / max(per_week, 1e-9)
        if every >= 1.5:  # collected less than daily: its visits a week, never too far apart
            wanted = math.ceil(per_week - 1e-9) * weeks
            if len(visits) != wanted:
                out.append(f"{where}: {len(visits)} visits in {horizon} days, {wanted} due")
                continue
            longest = _longest_gap([d for d, _ in visits], horizon)
            if longest > math.ceil(every - 1e-9):
                out.append(
                    f"{where}: {longest} days between visits, at most {math.ceil(every - 1e-9)} allowed"
                )
        elif not visits:
            out.append(f"{where}: collected daily but never visited")
            continue
        elif per_week < WEEK - 1e-9:
            continue  # a year's mean of a daily and a less frequent season: no week to add up
        collected = sum(kg for _, kg in visits)
        generated = tonnes * 1000 * horizon
        if abs(collected - generated) > ROUNDING_KG * len(visits):
            out.append(
                f"{where}: {collected / 1000:.3f} t collected in {horizon} days, {generated / 1000:.3f} t generated"
            )
    return out
