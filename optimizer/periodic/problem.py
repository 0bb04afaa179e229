"""The periodic routing problem and its solution: plain, immutable data.

Nodes are rows of ``travel``: one depot, the bins and the intermediate facilities
(where a truck unloads mid-route). Every visit to a bin collects ``demand`` and
takes ``service``; a route leaves the depot empty, unloads at a facility whenever
it must (and, with ``unload_before_depot``, before going back) and lasts at most
``max_duration`` (travel plus service). The cost of a week is its travel time plus
``fleet_cost`` per truck of the busiest day.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from optimizer.errors import InputError, Problem
from optimizer.periodic.patterns import Pattern

Matrix = tuple[tuple[float, ...], ...]
DayRoutes = tuple[tuple[int, ...], ...]  # node sequences, depot to depot


@dataclass(frozen=True)
class PeriodicProblem:
    """A week (``horizon`` days) of collection with chosen calendars (validated on creation)."""

    name: str
    horizon: int
    depot: int
    facilities: tuple[int, ...]
    bins: tuple[int, ...]
    frequency: tuple[int, ...]  # per bin, visits in the horizon
    patterns: tuple[tuple[Pattern, ...], ...]  # per bin, its allowed calendars
    demand: tuple[float, ...]  # per node, per visit
    service: tuple[float, ...]  # per node
    travel: Matrix
    capacity: float
    max_duration: float
    vehicles_per_day: int
    unload_before_depot: bool = True
    fleet_cost: float = 0.0
    labels: tuple[str, ...] = ()
    source: str = "periodic problem"
    metadata: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.travel)
        problems = []
        if any(len(row) != n for row in self.travel):
            problems.append(("travel", "is not a square matrix"))
        for name in ("demand", "service"):
            if len(getattr(self, name)) != n:
                problems.append((name, f"has {len(getattr(self, name))} entries for {n} nodes"))
        if not (len(self.frequency) == len(self.patterns) == len(self.bins)):
            problems.append(("bins", "frequency and patterns must have one entry per bin"))
        if not self.labels:
            object.__setattr__(self, "labels", tuple(str(i) for i in range(n)))
        if not self.facilities and self.unload_before_depot:
            problems.append(("facilities", "none given but routes must unload before the depot"))
        for b, f, pats in zip(self.bins, self.frequency, self.patterns, strict=False):
            if not pats:
                problems.append((self.label(b), f"no allowed calendar for {f} visits"))
            for p in pats:
                if len(p) != f or any(not 0 <= d < self.horizon for d in p):
                    problems.append((self.label(b), f"calendar {list(p)} is not {f} days"))
            if self.demand[b] > self.capacity:
                problems.append(
                    (self.label(b), f"demand {self.demand[b]} exceeds the capacity {self.capacity}")
                )
        if self.vehicles_per_day < 1:
            problems.append(("vehicles", "at least one vehicle per day is needed"))
        if problems:
            raise InputError([Problem(self.source, w, what, "") for w, what in problems])

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.travel)

    def label(self, node: int) -> str:
        """How messages name a node, e.g. ``bin 7``."""
        kind = "depot" if node == self.depot else "facility" if node in self.facilities else "bin"
        ident = self.labels[node] if self.labels else str(node)
        return f"{kind} {ident}"


@dataclass(frozen=True)
class PeriodicSolution:
    """One chosen calendar per bin and every day's routes (node sequences, depot to depot)."""

    patterns: tuple[Pattern, ...]  # per bin of the problem, in its order
    days: tuple[DayRoutes, ...]
    cost: float
    runtime_s: float = 0.0
    feasible: bool = True

    @property
    def vehicles_per_day(self) -> tuple[int, ...]:
        """Trucks used on each day."""
        return tuple(sum(1 for r in day if len(r) > 2) for day in self.days)

    @property
    def fleet(self) -> int:
        """Trucks of the busiest day."""
        return max(self.vehicles_per_day, default=0)


def route_travel(problem: PeriodicProblem, route: tuple[int, ...]) -> float:
    """Travel time along a node sequence."""
    t = problem.travel
    return float(sum(t[a][b] for a, b in itertools.pairwise(route)))


def week_cost(problem: PeriodicProblem, days: tuple[DayRoutes, ...]) -> float:
    """The objective: total travel of the week plus the fleet cost of the busiest day."""
    travel = sum(route_travel(problem, r) for day in days for r in day)
    busiest = max((sum(1 for r in day if len(r) > 2) for day in days), default=0)
    return travel + problem.fleet_cost * busiest
