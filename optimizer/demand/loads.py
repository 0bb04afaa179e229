"""Loads no truck can carry: a point-stream whose waste per visit exceeds every truck
allowed to carry that stream.

A point collected ``n`` times a week is emptied on days as evenly spread as a week
allows, so one visit lifts at most ``ceil(7 / n)`` days of waste (the longest gap of its
calendar, see :mod:`optimizer.stages.calendar`); a daily point lifts a day's waste, or
more after its own days off. When that is more
than the largest truck allowed to carry the stream holds (by weight, or by loose
volume: body m³ × compaction), the plan cannot serve the point. ``optimizer
validate`` reports it as an input error, naming the file the point comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from optimizer.errors import Problem

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.scenario import Scenario, VehicleTypeSpec


def _capacity(vt: VehicleTypeSpec) -> tuple[int, int]:
    """Weight (kg) and loose volume (litres) one trip of this truck holds, as routed."""
    return round(vt.capacity_t * 1000), round(vt.capacity_m3 * vt.compaction_ratio * 1000)


def _where(scenario: Scenario, row: Mapping[Any, Any]) -> tuple[str, str]:
    """The file and record a demand row comes from: points table, source, or district."""
    origin = str(row.get("source") or "")
    point, stream = row["point_id"], row["stream"]
    if origin.startswith("source:"):
        return scenario.source_file, f"generation.sources '{point}' (stream {stream})"
    if origin.startswith("generated:"):
        file = scenario.files.get("districts", scenario.source_file)
        return file, f"district '{row.get('district')}', generated point {point} (stream {stream})"
    return scenario.files.get("points", scenario.source_file), f"point '{point}' (stream {stream})"


def longest_skip(scenario: Scenario) -> dict[tuple[str, str], int]:
    """Per point-stream with days off (its own ``closed_days`` or ``collection_days``,
    or its stream's ``allowed_days``), the most days in a row (around the week) it is
    not collected when collected daily: the visit after them takes their waste too."""
    out: dict[tuple[str, str], int] = {}
    stream_days = {st.id: st.allowed_days for st in scenario.streams}
    for p in scenario.points:
        allowed = stream_days.get(p.stream)
        skipped = set(range(1, 8)) - set(allowed) if allowed else set()
        skipped |= set(p.closed_days or ())
        if p.collection_days:
            skipped |= set(range(1, 8)) - set(p.collection_days)
        if not skipped:
            continue
        run = longest = 0
        for day in list(range(1, 8)) * 2:  # twice round: a run may wrap past day 7
            run = run + 1 if day in skipped else 0
            longest = max(longest, min(run, 6))
        out[p.id, p.stream] = longest
    return out


def oversized_loads(scenario: Scenario, demand: pd.DataFrame) -> list[Problem]:
    """One Problem per point-stream of ``demand`` whose load per visit no truck allowed
    to carry its stream can take; empty when ``[solver] allow_unserved`` is set (the
    plan then lists such points as unserved)."""
    if scenario.solver.allow_unserved or demand.empty:
        return []
    problems: list[Problem] = []
    skips = longest_skip(scenario)
    for row in demand.to_dict("records"):
        stream = str(row["stream"])
        trucks = [vt for vt in scenario.fleet if vt.streams is None or stream in vt.streams]
        if not trucks:  # a scenario rule already reports it
            continue
        visits = float(row["visits_per_week"])
        days = 7.0 / max(visits, 1e-9)
        if round(days) <= 1:  # a daily point's visit after its own days off takes theirs
            days *= 1 + skips.get((str(row["point_id"]), stream), 0)
        else:  # the longest gap of a calendar of ceil(visits) days a week
            days = float(math.ceil(7.0 / min(7, math.ceil(visits - 1e-9)) - 1e-9))
        kg = round(float(row["tonnes_per_day"]) * days * 1000)
        litres = round(float(row["m3_per_day"]) * days * 1000)
        if any(kg <= w and litres <= v for w, v in map(_capacity, trucks)):
            continue
        biggest = max(trucks, key=_capacity)
        big_kg, big_l = _capacity(biggest)
        need = 7.0 * max(kg / max(big_kg, 1), litres / max(big_l, 1)) / days
        more = (
            f"collect it more often (at least {math.ceil(need * 10) / 10:g} visits a week: "
            f"min_visits_per_week under [[streams]] '{stream}'), "
            if need <= 7  # a point is visited at most once a day
            else "give the point more or larger containers, "
        )
        file, where = _where(scenario, row)
        problems.append(
            Problem(
                file,
                where,
                f"one visit every {days:.2g} day(s) collects {kg / 1000:g} t / {litres / 1000:g} m³ "
                f"(loose), more than the largest truck allowed to carry '{stream}' holds: "
                f"fleet '{biggest.id}', {big_kg / 1000:g} t / {big_l / 1000:g} m³ loose "
                "(capacity_m3 × compaction_ratio)",
                f"{more}use a bigger truck for this stream, or set allow_unserved = true under "
                "[solver] to plan without it (listed as unserved)",
            )
        )
    return problems
