"""Collection calendars: on which days of the week each point's stream is emptied.

A stream collected ``n`` times a week (less than daily) has as its calendars the sets
of ``n`` days of the week cycle whose gaps are as even as they can be
(:func:`week_patterns`): three a week gives Mon/Wed/Fri, Tue/Thu/Sat, ... (gaps 2, 2
and 3 days), seven calendars in all. A calendar is the choice of one of them for every
point-stream, and a visit takes the waste of the days since the one before.

* ``fixed`` spreads the patterns over the points by a stable hash of the id, so each
  day carries about the same work and a point keeps its days from run to run.
* ``chosen`` gives neighbours the same days: the points of a stream (those nearest
  each depot that may serve it, depot by depot) are split into one wedge around the
  depot per pattern, of equal work (:func:`sector_areas`; compact areas grown along the
  roads, :func:`balanced_areas`, remain as ``AREA_SHAPE = "compact"``), and the wedges
  are put on the patterns that even out the plan days' work of the trucks that carry
  the stream (streams sharing trucks are balanced together), each day's wedges side by
  side where the balance allows. Trucks then work a few wedges a day instead of a
  thinned-out city, and every day has near and far work.

A stream's ``allowed_days`` (days 1-7 of the week cycle) limit the patterns in both, and
so do a point's own ``closed_days`` and ``collection_days`` (an existing contract, kept
as is). A point collected daily skips its closed days (or the days outside its
contract), and its next visit takes the waste of the days skipped.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from optimizer.errors import InputError, Problem
from optimizer.scenario import Scenario
from optimizer.stages.prepare import Location, Prepared
from optimizer.stages.sites import PointStream, stream_allowed

CalendarMode = Literal["chosen", "fixed"]

#: Work of an area may exceed the mean by this share when points are assigned.
AREA_SLACK = 0.03
#: Rounds of assign-then-recentre when splitting a stream into areas.
AREA_ROUNDS = 12
#: How a depot's points are split over the days: ``sectors`` (wedges around the depot)
#: or ``compact`` (areas of equal work grown along the roads).
AREA_SHAPE: Literal["sectors", "compact"] = "sectors"
#: Above this many areas the areas are placed on days greedily, not by enumeration
#: (seven, every week pattern set, is 5,040 placements, a few milliseconds).
MAX_ENUMERATED_AREAS = 7
#: A placement whose busiest day carries at most this share more work than the
#: lightest possible may be kept for keeping each day's wedges side by side.
PLACE_SLACK = 0.005
#: Work (seconds) below which two placements count as equally loaded.
EPS_WORK = 1e-6
WEEK = 7


def collection_period_days(visits_per_week: float) -> int:
    """Days between two collections of a container (1 = daily)."""
    return max(1, round(7.0 / max(visits_per_week, 1e-9)))


def is_daily(visits_per_week: float) -> bool:
    """Whether a stream with these visits per week is collected every day (5.33 a week,
    a year's mean, counts as daily; 3 or 4 a week do not)."""
    return collection_period_days(visits_per_week) == 1


def visits_in_week(visits_per_week: float) -> int:
    """Visits in each week cycle of a stream collected less than daily: the visits per
    week rounded up (never fewer than the rule asks), 1 to 7."""
    return min(WEEK, max(1, math.ceil(visits_per_week - 1e-9)))


@functools.cache
def week_patterns(visits: int) -> tuple[frozenset[int], ...]:
    """The calendars of a stream collected ``visits`` times a week: every set of that many
    days 1-7 whose gaps around the week are all ``7 // visits`` or one more (so no wait
    is longer than an even spread gives), in the order of their days."""
    short, long = WEEK // visits, -(-WEEK // visits)
    found = []
    for days in itertools.combinations(range(1, WEEK + 1), visits):
        gaps = [b - a for a, b in itertools.pairwise(days)] + [days[0] + WEEK - days[-1]]
        if all(g in (short, long) for g in gaps):
            found.append(frozenset(days))
    return tuple(found)


def pattern_days(pattern: frozenset[int], days: int) -> tuple[int, ...]:
    """The plan days 1..``days`` whose day of the week cycle is in ``pattern``."""
    return tuple(d for d in range(1, days + 1) if week_day(d) in pattern)


def days_since_visit(pattern: frozenset[int], day: int) -> int:
    """Days of waste a visit on week day ``day`` of ``pattern`` takes: those since the
    pattern's previous day, around the week (a pattern's gaps add up to 7)."""
    back = 1
    while back < WEEK and week_day(day - back) not in pattern:
        back += 1
    return back


def pattern_text(pattern: frozenset[int]) -> str:
    """A pattern as its days, e.g. ``[1, 3, 5]``."""
    return str(sorted(pattern))


def hash_offset(point_id: str, stream: str, choices: Sequence[int]) -> int:
    """The ``fixed`` calendar: one of ``choices`` picked by a stable hash of the point-stream."""
    return choices[zlib.crc32(f"{point_id}|{stream}".encode()) % len(choices)]


def week_day(day: int) -> int:
    """The day 1-7 of the week cycle of plan day ``day`` (1-based)."""
    return (day - 1) % WEEK + 1


@dataclass(frozen=True)
class Calendar:
    """The pattern of every point-stream collected less than daily (an index into
    :func:`week_patterns` of its visits), and the days of the week cycle that daily
    point-streams skip (their own closed days)."""

    mode: CalendarMode
    patterns: Mapping[PointStream, int]
    skipped: Mapping[PointStream, frozenset[int]] = field(default_factory=dict)

    def pattern(self, point_id: str, stream: str, visits_per_week: float) -> frozenset[int]:
        """The week days a point-stream collected less than daily is emptied on."""
        options = week_patterns(visits_in_week(visits_per_week))
        index = self.patterns.get(PointStream(point_id, stream))
        if index is None:
            index = hash_offset(point_id, stream, range(len(options)))
        return options[index]

    def due(self, point_id: str, stream: str, visits_per_week: float, day: int) -> bool:
        """Whether the point's stream is collected on plan day ``day`` (1-based)."""
        if is_daily(visits_per_week):
            return week_day(day) not in self.skipped.get(PointStream(point_id, stream), ())
        return week_day(day) in self.pattern(point_id, stream, visits_per_week)

    def days_of_waste(self, point_id: str, stream: str, visits_per_week: float, day: int) -> float:
        """How many days of the point's waste a collection on plan day ``day`` takes: the
        days since its pattern's previous visit; for a daily point, a day's worth plus
        the days it skipped just before."""
        if not is_daily(visits_per_week):
            return float(days_since_visit(self.pattern(point_id, stream, visits_per_week), day))
        per_visit = 7.0 / max(visits_per_week, 1e-9)
        skipped = self.skipped.get(PointStream(point_id, stream), frozenset())
        before = 0
        while before < WEEK - 1 and week_day(day - 1 - before) in skipped:
            before += 1
        return per_visit * (1 + before)

    def days_of(self, point_id: str, stream: str, visits_per_week: float, days: int) -> list[int]:
        """The plan days 1..``days`` the point's stream is collected on."""
        return [d for d in range(1, days + 1) if self.due(point_id, stream, visits_per_week, d)]


#: The hash calendar of every point-stream (what a plan without a chosen calendar uses).
FIXED = Calendar("fixed", {})


def allowed_patterns(scenario: Scenario, stream_id: str, visits: int) -> list[int]:
    """The patterns (indexes into :func:`week_patterns`) whose days all lie in the
    stream's ``allowed_days``.

    Raises :class:`InputError` naming the stream when none does.
    """
    allowed = scenario.stream(stream_id).allowed_days
    options = week_patterns(visits)
    if not allowed:
        return list(range(len(options)))
    kept = [i for i, days in enumerate(options) if days <= set(allowed)]
    if not kept:
        raise InputError.one(
            scenario.source_file,
            f"[[streams]] '{stream_id}' allowed_days",
            f"the stream is collected {_times(visits)} a week, and every such calendar "
            f"({_calendars_text(options, range(len(options)))}) falls on a day outside "
            f"allowed_days {sorted(allowed)}",
            "allow more days of the week, or raise min_visits_per_week so it is collected "
            "more often",
        )
    return kept


@dataclass(frozen=True)
class PointDays:
    """A point's own limits on its days (``closed_days``, ``collection_days``)."""

    closed: frozenset[int]
    contract: tuple[int, ...] | None


def point_days(scenario: Scenario) -> dict[PointStream, PointDays]:
    """The points of the scenario that limit their own collection days."""
    return {
        PointStream(p.id, p.stream): PointDays(frozenset(p.closed_days or ()), p.collection_days)
        for p in scenario.points
        if p.closed_days or p.collection_days
    }


def _times(visits: int) -> str:
    return {1: "once", 2: "twice"}.get(visits, f"{visits} times")


def _calendars_text(options: Sequence[frozenset[int]], chosen: Sequence[int]) -> str:
    return ", ".join(pattern_text(options[i]) for i in chosen)


def point_patterns(
    scenario: Scenario, member: PointStream, limits: PointDays, visits: int, allowed: Sequence[int]
) -> list[int]:
    """The ``allowed`` patterns (already the stream's) that keep clear of the point's
    closed days and, under a contract, give exactly its days.

    Raises :class:`InputError` naming the points file and the point when none does.
    """
    sc = scenario
    options = week_patterns(visits)
    kept = [i for i in allowed if not options[i] & limits.closed]
    where = f"point '{member.point_id}' ({member.stream})"
    if limits.contract is not None:
        kept = [i for i in kept if options[i] == set(limits.contract)]
        if not kept:
            raise InputError.one(
                sc.files.get("points", sc.source_file),
                f"{where} collection_days",
                f"{list(limits.contract)} is not a calendar of this stream, collected "
                f"{_times(visits)} a week: its calendars are {_calendars_text(options, allowed)} "
                "(days of the week cycle)",
                "write one of those, or leave collection_days empty to let the plan choose",
            )
    if not kept:
        raise InputError.one(
            sc.files.get("points", sc.source_file),
            f"{where} closed_days",
            f"every calendar of this stream ({_calendars_text(options, allowed)}, collected "
            f"{_times(visits)} a week) falls on a closed day {sorted(limits.closed)}",
            "open the site on more days, or collect the stream more often",
        )
    return kept


def _rows(day_demand: pd.DataFrame) -> Iterator[tuple[PointStream, float]]:
    """Every point-stream of ``day_demand`` with its visits per week."""
    for pid, stream, visits in zip(
        day_demand["point_id"].astype(str),
        day_demand["stream"].astype(str),
        day_demand["visits_per_week"].astype(float),
        strict=True,
    ):
        yield PointStream(pid, stream), visits


def _daily_skip(off: frozenset[int], own: PointDays | None) -> frozenset[int]:
    """The days a daily point-stream is not collected: its stream's days outside
    ``allowed_days`` (``off``), its closed days and the days outside its contract."""
    skipped = set(off)
    if own is not None:
        skipped |= own.closed
        if own.contract:
            skipped |= set(range(1, WEEK + 1)) - set(own.contract)
    return frozenset(skipped)


def _less_than_daily(day_demand: pd.DataFrame) -> Iterator[tuple[str, str, int]]:
    """Point id, stream and visits in the week of every row collected less than daily."""
    for member, visits in _rows(day_demand):
        if not is_daily(visits):
            yield member.point_id, member.stream, visits_in_week(visits)


def _never_due_daily(
    scenario: Scenario, day_demand: pd.DataFrame, limits: Mapping[PointStream, PointDays]
) -> Iterator[tuple[PointStream, frozenset[int]]]:
    """Daily point-streams whose own days and the stream's allowed days leave none."""
    for member, visits in _rows(day_demand):
        if member in limits and is_daily(visits):
            off = stream_off_days(scenario, member.stream)
            skipped = _daily_skip(off, limits[member])
            if len(skipped) >= WEEK:
                yield member, skipped


def calendar_problems(scenario: Scenario, day_demand: pd.DataFrame) -> list[Problem]:
    """Every point whose own days no calendar of its stream meets, in the season of
    ``day_demand`` (what a plan would refuse), and streams whose ``allowed_days`` no
    calendar meets."""
    limits = point_days(scenario)
    problems: list[Problem] = []
    refused: set[tuple[str, int]] = set()
    for member, skipped in _never_due_daily(scenario, day_demand, limits):
        problems.append(
            Problem(
                scenario.files.get("points", scenario.source_file),
                f"point '{member.point_id}' ({member.stream}) closed_days",
                f"the stream is collected daily, but the point's closed days and the "
                f"stream's allowed_days leave no day of the week open ({sorted(skipped)})",
                "open the site on one of the stream's allowed days, or allow more days",
            )
        )
    for pid, stream, visits in _less_than_daily(day_demand):
        if (stream, visits) in refused:
            continue
        try:
            allowed = allowed_patterns(scenario, stream, visits)
        except InputError as exc:  # the stream's own days: said once
            problems += exc.problems
            refused.add((stream, visits))
            continue
        member = PointStream(pid, stream)
        if member in limits:
            try:
                point_patterns(scenario, member, limits[member], visits, allowed)
            except InputError as exc:
                problems += exc.problems
    return problems


def stream_off_days(scenario: Scenario, stream_id: str) -> frozenset[int]:
    """Days of the week cycle outside the stream's ``allowed_days`` (empty: any day)."""
    allowed = scenario.stream(stream_id).allowed_days
    return frozenset(set(range(1, WEEK + 1)) - set(allowed)) if allowed else frozenset()


def skipped_days(prep: Prepared) -> dict[PointStream, frozenset[int]]:
    """The days of the week cycle each daily point-stream skips: the stream's days
    outside ``allowed_days``, its closed days and the days outside its contract."""
    limits = point_days(prep.scenario)
    off = {st.id: stream_off_days(prep.scenario, st.id) for st in prep.scenario.streams}
    if not limits and not any(off.values()):
        return {}
    out: dict[PointStream, frozenset[int]] = {}
    for member, visits in _rows(prep.day_demand):
        own = limits.get(member)
        if is_daily(visits) and (own is not None or off.get(member.stream)):
            out[member] = _daily_skip(off.get(member.stream, frozenset()), own)
    return out


def _nearest_allowed(
    prep: Prepared,
    group: _Group,
    i: int,
    allowed: Sequence[int],
    chosen: Mapping[PointStream, int],
) -> int:
    """Of a restricted point's ``allowed`` patterns, the one of its nearest neighbour (by
    travel time both ways) among the stream's points on those patterns."""
    on = {o: [j for j, m in enumerate(group.members) if chosen.get(m) == o] for o in allowed}
    me = group.locations[i]
    best, best_s = allowed[0], float("inf")
    for o, members in on.items():
        if not members:
            continue
        locs = [group.locations[j] for j in members]
        there = prep.matrix.time_s[me, locs].astype(np.float64)
        back = prep.matrix.time_s[locs, me].astype(np.float64)
        near = float((there + back).min())
        if near < best_s:
            best, best_s = o, near
    return best


@dataclass(frozen=True)
class _Group:
    """The point-streams of one stream that share their visits a week."""

    stream: str
    visits: int  # in each week cycle
    members: list[PointStream]
    locations: list[int]  # rows of prep.matrix
    work_s: NDArray[np.float64]  # route seconds a visit takes: service, unloading, reaching it


def _groups(prep: Prepared, open_ids: set[str]) -> list[_Group]:
    """Point-streams collected less than daily, grouped by stream and visits, with work."""
    sc = prep.scenario
    stop_s = 60 * sc.solver.stop_service_min
    per_container_s = 60 * sc.solver.service_min_per_container
    own_service = {p.id: 60 * p.service_min for p in sc.points if p.service_min is not None}
    rows = prep.day_demand
    containers = rows["containers"].fillna(0) if "containers" in rows else np.zeros(len(rows))
    per_tonne: dict[str, dict[str, float]] = {}  # stream -> point -> unload seconds per t
    found: dict[tuple[str, int], list[tuple[PointStream, int, float]]] = {}
    for pid, stream, visits, tonnes, count in zip(
        rows["point_id"].astype(str),
        rows["stream"].astype(str),
        rows["visits_per_week"].astype(float),
        rows["tonnes_per_day"].astype(float),
        np.asarray(containers, dtype=np.float64),
        strict=True,
    ):
        if is_daily(visits):
            continue
        n = visits_in_week(visits)
        if stream not in per_tonne:
            capacity = _capacity_t(prep, stream)
            trips = _trips_s(prep, open_ids, stream)
            per_tonne[stream] = {p: t / capacity if capacity > 0 else 0.0 for p, t in trips.items()}
        service = own_service.get(pid, stop_s + per_container_s * count)
        work = service + per_tonne[stream].get(pid, 0.0) * tonnes * WEEK / n
        location = prep.location_index[Location("point", pid)]
        found.setdefault((stream, n), []).append((PointStream(pid, stream), location, work))
    groups = []
    for (stream, n), items in found.items():
        locations = [loc for _, loc, _ in items]
        work = np.array([w for _, _, w in items], dtype=np.float64)
        groups.append(
            _Group(
                stream,
                n,
                [m for m, _, _ in items],
                locations,
                work + _reach_s(prep, locations),
            )
        )
    return groups


def _reach_s(prep: Prepared, locations: Sequence[int]) -> NDArray[np.float64]:
    """Per point, the driving that reaches it: the time from its nearest neighbour of
    the same group (a chosen calendar keeps neighbours on the same days). Outlying
    areas with sparse stops need more trucks than their service and unloading say."""
    if len(locations) < 2:
        return np.zeros(len(locations), dtype=np.float64)
    sub = prep.matrix.time_s[np.ix_(locations, locations)].astype(np.float64)
    sub = np.minimum(sub, sub.T)
    np.fill_diagonal(sub, np.inf)
    nearest = sub.min(axis=1)
    return np.where(np.isfinite(nearest), nearest, 0.0)


def _trips_s(prep: Prepared, open_ids: set[str], stream: str) -> dict[str, float]:
    """Per point of the stream, a round trip to its nearest accepting open facility plus
    unloading (none when no open facility takes the stream): far points cost more."""
    sc = prep.scenario
    facs = [
        (prep.location_index[Location("facility", f.id)], 60 * f.unload_min)
        for j, f in enumerate(sc.facilities)
        if f.id in open_ids and stream_allowed(sc, stream, j)
    ]
    rows = prep.day_demand
    ids = [str(p) for p in rows.loc[rows["stream"].astype(str) == stream, "point_id"]]
    pts = [prep.location_index[Location("point", p)] for p in ids]
    if not facs or not pts:
        return {}
    cols = [i for i, _ in facs]
    there = prep.matrix.time_s[np.ix_(pts, cols)].astype(np.float64)
    back = prep.matrix.time_s[np.ix_(cols, pts)].T.astype(np.float64)
    unload = np.array([u for _, u in facs], dtype=np.float64)
    return dict(zip(ids, (there + back + unload).min(axis=1).tolist(), strict=True))


def _capacity_t(prep: Prepared, stream: str) -> float:
    """The largest load in tonnes a truck allowed to carry the stream takes."""
    density = prep.scenario.stream(stream).density_t_per_m3
    caps = [
        min(vt.capacity_t, vt.capacity_m3 * vt.compaction_ratio * density)
        for vt in prep.scenario.fleet
        if vt.streams is None or stream in vt.streams
    ]
    return max(caps, default=0.0)


def balanced_areas(
    time_s: NDArray[np.float64], work: NDArray[np.float64], k: int, *, seed: int
) -> NDArray[np.int64]:
    """Split points into ``k`` compact areas of about equal work; the area of each point.

    ``time_s`` is the points' symmetric travel-time matrix. Areas grow around centres
    chosen far apart (k-means++ on travel time); each round assigns points in order of
    regret (how much a second-best area would cost them) to the nearest area with room
    left (mean work × (1 + AREA_SLACK)), then moves each centre to the point that is
    closest in total to its area.
    """
    n = len(work)
    if k >= n:
        return np.arange(n, dtype=np.int64) % max(k, 1)
    rng = np.random.default_rng(seed)
    centres = [int(rng.integers(n))]
    nearest = time_s[centres[0]].copy()
    while len(centres) < k:
        weights = nearest**2
        total = float(weights.sum())
        pick = int(rng.choice(n, p=weights / total)) if total > 0 else int(rng.integers(n))
        if pick in centres:
            pick = int(np.argmax(nearest))
        centres.append(pick)
        nearest = np.minimum(nearest, time_s[pick])
    room = float(work.sum()) / k * (1 + AREA_SLACK) + float(work.max(initial=0.0))
    area = np.zeros(n, dtype=np.int64)
    for _ in range(AREA_ROUNDS):
        cost = time_s[:, centres]  # n x k
        ranked = np.sort(cost, axis=1)
        regret = ranked[:, 1] - ranked[:, 0] if k > 1 else np.zeros(n)
        load = np.zeros(k)
        for i in np.argsort(-regret, kind="stable"):
            choices = np.argsort(cost[i], kind="stable")
            fits = [c for c in choices if load[c] + work[i] <= room]
            c = int(fits[0]) if fits else int(np.argmin(load))
            area[i] = c
            load[c] += work[i]
        moved = []
        for c in range(k):
            members = np.flatnonzero(area == c)
            if len(members) == 0:
                moved.append(centres[c])
                continue
            inner = time_s[np.ix_(members, members)].sum(axis=0)
            moved.append(int(members[int(np.argmin(inner))]))
        if moved == centres:
            break
        centres = moved
    return area


def sector_areas(
    xy: NDArray[np.float64], centre: tuple[float, float], work: NDArray[np.float64], k: int
) -> NDArray[np.int64]:
    """Split points into ``k`` wedges around ``centre`` (a depot) of about equal work;
    the wedge of each point. Every wedge reaches from near the depot to the edge of its
    territory, so each day gets near and far work alike and its trucks fill their
    shifts the same way (compact areas put a whole outlying district on one day, whose
    trucks fit fewer unload trips in a shift). ``xy`` in local metres."""
    n = len(work)
    if k <= 1 or n == 0:
        return np.zeros(n, dtype=np.int64)
    angle = np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0])
    order = np.argsort(angle, kind="stable")
    ordered = angle[order]
    gaps = np.diff(np.append(ordered, ordered[0] + 2 * np.pi))
    order = np.roll(order, -((int(np.argmax(gaps)) + 1) % n))  # start at the widest gap
    cum = np.cumsum(work[order])
    total = float(cum[-1]) if cum[-1] > 0 else 1.0
    labels = np.empty(n, dtype=np.int64)
    labels[order] = np.minimum(((cum - work[order] / 2) / total * k).astype(np.int64), k - 1)
    return labels


def _runs(cover: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per placement, how many separate runs of neighbouring areas the plan days hold in
    all: ``cover[p, a, d]`` says whether area ``a`` (in wedge order) works on day ``d``
    under placement ``p``. One run a day means each day works one unbroken slice."""
    starts = cover.copy()
    starts[:, 1:, :] &= ~cover[:, :-1, :]
    return np.asarray(starts.sum(axis=(1, 2)), dtype=np.int64)


def _place_areas(
    area_work: Sequence[float],
    options: Sequence[frozenset[int]],
    day_work: NDArray[np.float64],
    *,
    ordered: bool = False,
) -> list[int]:
    """Of the week patterns ``options`` (one per area), the one of each area (its index
    in ``options``) so that the busiest plan day carries the least work.

    ``day_work`` (one entry per plan day) holds the work already placed; it is updated.
    Patterns with no day inside the plan (a plan shorter than the week) take the last
    areas in index order, blind to their size, so that the plan is not made lighter by
    leaving its largest areas out. The others are placed by trying every placement (up
    to MAX_ENUMERATED_AREAS areas) or, above, largest area first onto the pattern whose
    days end least loaded. With ``ordered`` areas (wedges in turn around a depot), of
    the placements within PLACE_SLACK of the lightest busiest day the one is kept whose
    days work the fewest separate slices: Monday's three wedges side by side rather than
    scattered round the depot, so each day's trucks work one district of compact areas.
    """
    days = len(day_work)
    cover = {o: [d - 1 for d in pattern_days(days_of, days)] for o, days_of in enumerate(options)}
    inside = [o for o in cover if cover[o]]
    outside = [o for o in cover if not cover[o]]
    placement = [-1] * len(area_work)  # one area per pattern
    for a, o in zip(range(len(inside), len(area_work)), outside, strict=True):
        placement[a] = o
    placed = list(range(len(inside)))

    if len(placed) <= MAX_ENUMERATED_AREAS:
        orders = np.array(list(itertools.permutations(inside, len(placed))), dtype=np.int64)
        orders = orders.reshape(-1, len(placed))
        onto = np.zeros((len(options), days), dtype=bool)
        for o, ds in cover.items():
            onto[o, ds] = True
        works = onto[orders]  # order x area x day
        weight = np.asarray([area_work[a] for a in placed], dtype=np.float64)
        loads = day_work[None, :] + np.einsum("pad,a->pd", works, weight)
        peak = loads.max(axis=1)
        spread = (loads**2).sum(axis=1)
        runs = _runs(works) if ordered else np.zeros(len(orders), dtype=np.int64)
        near = peak <= peak.min() * (1 + PLACE_SLACK) + EPS_WORK
        # lexsort: the last key sorts first
        best = int(np.lexsort((spread, peak, np.where(near, runs, np.iinfo(np.int64).max)))[0])
        for a, o in zip(placed, orders[best].tolist(), strict=True):
            placement[a] = int(o)
    else:
        free = list(inside)
        current = day_work.copy()
        for a in sorted(placed, key=lambda a: -area_work[a]):

            def peak_of(o: int, a: int = a) -> tuple[float, float]:
                trial = current.copy()
                trial[cover[o]] += area_work[a]
                return (float(trial.max()), float((trial**2).sum()))

            o = min(free, key=peak_of)
            free.remove(o)
            placement[a] = o
            current[cover[o]] += area_work[a]
    for a in placed:
        day_work[cover[placement[a]]] += area_work[a]
    return placement


def fleet_pools(scenario: Scenario) -> dict[str, int]:
    """A pool number per stream: streams that share trucks (any fleet entry carrying
    both, directly or through another stream) share a pool."""
    ids = [st.id for st in scenario.streams]
    root = {s: s for s in ids}

    def find(s: str) -> str:
        while root[s] != s:
            s = root[s]
        return s

    for vt in scenario.fleet:
        carried = [s for s in ids if vt.streams is None or s in vt.streams]
        for other in carried[1:]:
            root[find(other)] = find(carried[0])
    numbers: dict[str, int] = {}
    return {s: numbers.setdefault(find(s), len(numbers)) for s in ids}


def _stream_depots(scenario: Scenario, stream: str) -> list[str]:
    """The depots whose trucks may carry ``stream``, in the order :func:`home_depots` numbers them."""
    return sorted({vt.depot for vt in scenario.fleet if vt.streams is None or stream in vt.streams})


def _local_xy(
    prep: Prepared, depot: str | None, locations: Sequence[int]
) -> tuple[tuple[float, float], NDArray[np.float64]]:
    """The depot and the points in local metres (the depot at the origin); without a
    depot, the points' mean is the origin."""
    lon = np.asarray(prep.snapped.lon, dtype=np.float64)
    lat = np.asarray(prep.snapped.lat, dtype=np.float64)
    rows = np.asarray(locations)
    if depot is not None:
        at = prep.location_index[Location("depot", depot)]
        lon0, lat0 = float(lon[at]), float(lat[at])
    else:
        lon0, lat0 = float(lon[rows].mean()), float(lat[rows].mean())
    scale = 111_320.0 * np.cos(np.radians(lat0))
    xy = np.column_stack([(lon[rows] - lon0) * scale, (lat[rows] - lat0) * 110_540.0])
    return (0.0, 0.0), xy


def home_depots(prep: Prepared, group: _Group) -> NDArray[np.int64]:
    """Per point of ``group``, the nearest depot (by travel time) among the depots whose
    trucks may carry its stream; each depot's home points are split into their own areas,
    so every plan day has work near every depot."""
    sc = prep.scenario
    depots = sorted(
        {vt.depot for vt in sc.fleet if vt.streams is None or group.stream in vt.streams}
    )
    if len(depots) <= 1:
        return np.zeros(len(group.members), dtype=np.int64)
    rows = [prep.location_index[Location("depot", d)] for d in depots]
    out = prep.matrix.time_s[np.ix_(rows, group.locations)].astype(np.float64)
    back = prep.matrix.time_s[np.ix_(group.locations, rows)].T.astype(np.float64)
    return np.asarray(np.argmin(out + back, axis=0), dtype=np.int64)


def fixed_calendar(prep: Prepared) -> Calendar:
    """The hash calendar: each point-stream's pattern spread by a stable hash of its id over
    the patterns its stream's ``allowed_days`` and its own days leave. It needs no open
    sites, so one serves every site option's day 1."""
    limits = point_days(prep.scenario)
    patterns: dict[PointStream, int] = {}
    allowed: dict[tuple[str, int], list[int]] = {}
    for pid, stream, visits in _less_than_daily(prep.day_demand):
        if (stream, visits) not in allowed:
            allowed[stream, visits] = allowed_patterns(prep.scenario, stream, visits)
        member = PointStream(pid, stream)
        ok = allowed[stream, visits]
        if member in limits:
            ok = point_patterns(prep.scenario, member, limits[member], visits, ok)
        patterns[member] = hash_offset(pid, stream, ok)
    return Calendar("fixed", patterns, skipped_days(prep))


def plan_calendar(
    prep: Prepared, open_ids: set[str], *, days: int, mode: CalendarMode, seed: int = 0
) -> Calendar:
    """The calendar of a plan of ``days`` days: ``fixed`` (hash) or ``chosen`` (areas)."""
    if mode == "fixed":
        return fixed_calendar(prep)
    patterns: dict[PointStream, int] = {}
    groups = sorted(_groups(prep, open_ids), key=lambda g: -float(g.work_s.sum()))
    pool = fleet_pools(prep.scenario)
    # the work of each pool of trucks per plan day: the days even out per pool
    day_work = {p: np.zeros(days, dtype=np.float64) for p in set(pool.values())}
    limits = point_days(prep.scenario)
    for group in groups:
        allowed = allowed_patterns(prep.scenario, group.stream, group.visits)
        options = [week_patterns(group.visits)[i] for i in allowed]
        own = {
            i: point_patterns(prep.scenario, m, limits[m], group.visits, allowed)
            for i, m in enumerate(group.members)
            if m in limits
        }
        work = day_work[pool[group.stream]]
        home = home_depots(prep, group)
        depots = _stream_depots(prep.scenario, group.stream)
        for depot in sorted(set(home), key=lambda d: -float(group.work_s[home == d].sum())):
            rows = np.flatnonzero(home == depot)
            locs = [group.locations[i] for i in rows]
            if AREA_SHAPE == "sectors":
                centre, xy = _local_xy(prep, depots[int(depot)] if depots else None, locs)
                area = sector_areas(xy, centre, group.work_s[rows], len(allowed))
            else:
                times = prep.matrix.time_s[np.ix_(locs, locs)].astype(np.float64)
                area = balanced_areas(
                    (times + times.T) / 2, group.work_s[rows], len(allowed), seed=seed
                )
            area_work = [float(group.work_s[rows][area == a].sum()) for a in range(len(allowed))]
            placement = _place_areas(area_work, options, work, ordered=AREA_SHAPE == "sectors")
            for i, a in zip(rows, area, strict=True):
                patterns[group.members[i]] = allowed[placement[int(a)]]
        for k, ok in own.items():  # points with limits of their own join a nearby area
            if patterns[group.members[k]] not in ok:
                patterns[group.members[k]] = _nearest_allowed(prep, group, k, ok, patterns)
    return Calendar(mode, patterns, skipped_days(prep))
