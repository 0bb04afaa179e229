"""Collection calendars: on which plan days each point's stream is emptied.

A stream collected every ``k`` days is due on the plan days ``d`` with
``(d - 1) % k == offset``; a calendar is the offset of every point-stream.

* ``fixed`` spreads the offsets over the points by a stable hash of the id, so each
  day carries about the same work and a point keeps its days from run to run.
* ``chosen`` gives neighbours the same days: the points of a stream (those nearest
  each depot that may serve it, depot by depot) are split into ``k`` compact areas of
  equal work along the road network (travel times), and the areas are put on the
  offsets that even out the plan days' work of the trucks that carry the stream
  (streams sharing trucks are balanced together). Trucks then work one dense area a
  day, near each of their depots, instead of a thinned-out city.

A stream's ``allowed_days`` (days 1-7 of the week cycle) limit the offsets in both.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from optimizer.errors import InputError
from optimizer.scenario import Scenario
from optimizer.stages.prepare import Location, Prepared
from optimizer.stages.sites import PointStream, stream_allowed

CalendarMode = Literal["chosen", "fixed"]

#: Work of an area may exceed the mean by this share when points are assigned.
AREA_SLACK = 0.03
#: Rounds of assign-then-recentre when splitting a stream into areas.
AREA_ROUNDS = 12
#: Above this many areas the areas are placed on days greedily, not by enumeration.
MAX_ENUMERATED_AREAS = 6
WEEK = 7


def collection_period_days(visits_per_week: float) -> int:
    """Days between two collections of a container (1 = daily)."""
    return max(1, round(7.0 / max(visits_per_week, 1e-9)))


def offset_days(period: int, offset: int, days: int) -> tuple[int, ...]:
    """The plan days 1..``days`` of the calendar ``offset`` of an every-``period``-days stream."""
    return tuple(d for d in range(1, days + 1) if (d - 1) % period == offset)


def hash_offset(point_id: str, stream: str, offsets: Sequence[int]) -> int:
    """The ``fixed`` calendar: one of ``offsets`` picked by a stable hash of the point-stream."""
    return offsets[zlib.crc32(f"{point_id}|{stream}".encode()) % len(offsets)]


@dataclass(frozen=True)
class Calendar:
    """The calendar offset of every point-stream collected less than daily."""

    mode: CalendarMode
    offsets: Mapping[PointStream, int]

    def due(self, point_id: str, stream: str, visits_per_week: float, day: int) -> bool:
        """Whether the point's stream is collected on plan day ``day`` (1-based)."""
        period = collection_period_days(visits_per_week)
        if period == 1:
            return True
        offset = self.offsets.get(PointStream(point_id, stream))
        if offset is None:
            offset = hash_offset(point_id, stream, range(period))
        return (day - 1) % period == offset

    def days_of(self, point_id: str, stream: str, visits_per_week: float, days: int) -> list[int]:
        """The plan days 1..``days`` the point's stream is collected on."""
        return [d for d in range(1, days + 1) if self.due(point_id, stream, visits_per_week, d)]


#: The hash calendar of every point-stream (what a plan without a chosen calendar uses).
FIXED = Calendar("fixed", {})


def allowed_offsets(prep: Prepared, stream_id: str, period: int) -> list[int]:
    """The offsets whose days over a whole week cycle all lie in the stream's ``allowed_days``.

    Raises :class:`InputError` naming the stream when none does.
    """
    allowed = prep.scenario.stream(stream_id).allowed_days
    offsets = list(range(period))
    if not allowed:
        return offsets
    ok = set(allowed)
    kept = [o for o in offsets if set(offset_days(period, o, max(WEEK, period))) <= ok]
    if not kept:
        raise InputError.one(
            prep.scenario.source_file,
            f"[[streams]] '{stream_id}' allowed_days",
            f"the stream is collected every {period} days, and every such calendar falls on "
            f"a day outside allowed_days {sorted(ok)}",
            "allow more days of the week, or raise min_visits_per_week so it is collected "
            "more often",
        )
    return kept


@dataclass(frozen=True)
class _Group:
    """The point-streams of one stream that share a collection period."""

    stream: str
    period: int
    members: list[PointStream]
    locations: list[int]  # rows of prep.matrix
    work_s: NDArray[np.float64]  # route seconds one visit takes: service + share of unloading


def _groups(prep: Prepared, open_ids: set[str]) -> list[_Group]:
    """Point-streams collected less than daily, grouped by stream and period, with work."""
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
        period = collection_period_days(visits)
        if period == 1:
            continue
        if stream not in per_tonne:
            capacity = _capacity_t(prep, stream)
            trips = _trips_s(prep, open_ids, stream)
            per_tonne[stream] = {p: t / capacity if capacity > 0 else 0.0 for p, t in trips.items()}
        service = own_service.get(pid, stop_s + per_container_s * count)
        work = service + per_tonne[stream].get(pid, 0.0) * tonnes * 7 / visits
        location = prep.location_index[Location("point", pid)]
        found.setdefault((stream, period), []).append((PointStream(pid, stream), location, work))
    return [
        _Group(
            stream,
            period,
            [m for m, _, _ in items],
            [loc for _, loc, _ in items],
            np.array([w for _, _, w in items], dtype=np.float64),
        )
        for (stream, period), items in found.items()
    ]


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


def _place_areas(
    area_work: Sequence[float], offsets: Sequence[int], period: int, day_work: NDArray[np.float64]
) -> list[int]:
    """The offset of each area so that the busiest plan day carries the least work.

    ``day_work`` (one entry per plan day) holds the work already placed; it is updated.
    Offsets with no day inside the plan (a period longer than the plan) take the last
    areas in index order, blind to their size, so that the plan is not made lighter by
    leaving its largest areas out. The others are placed by trying every placement (up
    to MAX_ENUMERATED_AREAS areas) or, above, largest area first onto the offset whose
    days end least loaded.
    """
    days = len(day_work)
    cover = {o: [d - 1 for d in offset_days(period, o, days)] for o in offsets}
    inside = [o for o in offsets if cover[o]]
    outside = [o for o in offsets if not cover[o]]
    placement = [-1] * len(area_work)  # one area per offset
    for a, o in zip(range(len(inside), len(area_work)), outside, strict=True):
        placement[a] = o
    placed = list(range(len(inside)))

    def after(order: Sequence[int]) -> NDArray[np.float64]:
        out = day_work.copy()
        for a, o in zip(placed, order, strict=True):
            out[cover[o]] += area_work[a]
        return out

    if len(placed) <= MAX_ENUMERATED_AREAS:
        best = min(
            itertools.permutations(inside, len(placed)),
            key=lambda p: (float(after(p).max()), float((after(p) ** 2).sum()), p),
        )
        for a, o in zip(placed, best, strict=True):
            placement[a] = o
    else:
        free = list(inside)
        current = day_work.copy()
        for a in sorted(placed, key=lambda a: -area_work[a]):

            def peak(o: int, a: int = a) -> tuple[float, float]:
                trial = current.copy()
                trial[cover[o]] += area_work[a]
                return (float(trial.max()), float((trial**2).sum()))

            o = min(free, key=peak)
            free.remove(o)
            placement[a] = o
            current[cover[o]] += area_work[a]
    day_work[:] = after([placement[a] for a in placed])
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


def plan_calendar(
    prep: Prepared, open_ids: set[str], *, days: int, mode: CalendarMode, seed: int = 0
) -> Calendar:
    """The calendar of a plan of ``days`` days: ``fixed`` (hash) or ``chosen`` (areas)."""
    offsets: dict[PointStream, int] = {}
    groups = sorted(_groups(prep, open_ids), key=lambda g: -float(g.work_s.sum()))
    pool = fleet_pools(prep.scenario)
    # the work of each pool of trucks per plan day: the days even out per pool
    day_work = {p: np.zeros(days, dtype=np.float64) for p in set(pool.values())}
    for group in groups:
        allowed = allowed_offsets(prep, group.stream, group.period)
        if mode == "fixed":
            for member in group.members:
                offsets[member] = hash_offset(member.point_id, member.stream, allowed)
            continue
        work = day_work[pool[group.stream]]
        home = home_depots(prep, group)
        for depot in sorted(set(home), key=lambda d: -float(group.work_s[home == d].sum())):
            rows = np.flatnonzero(home == depot)
            locs = [group.locations[i] for i in rows]
            times = prep.matrix.time_s[np.ix_(locs, locs)].astype(np.float64)
            area = balanced_areas(
                (times + times.T) / 2, group.work_s[rows], len(allowed), seed=seed
            )
            area_work = [float(group.work_s[rows][area == a].sum()) for a in range(len(allowed))]
            placement = _place_areas(area_work, allowed, group.period, work)
            for i, a in zip(rows, area, strict=True):
                offsets[group.members[i]] = placement[int(a)]
    return Calendar(mode, offsets)
