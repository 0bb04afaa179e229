"""The result of routing: one route per used vehicle, visits in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VisitKind = Literal["depot_start", "stop", "unload", "break", "depot_end"]
Status = Literal["optimal", "feasible", "infeasible", "timeout"]


@dataclass(frozen=True)
class Visit:
    """One event of a route.

    ``arrival_s`` is when service starts (after any waiting), ``departure_s`` when it
    ends. For a ``break`` the node is where the truck was last and the times are the
    break's start and end. Loads are after the visit (0 after an unload).
    """

    node: int
    kind: VisitKind
    arrival_s: int
    departure_s: int
    load_after_kg: int
    load_after_l: int
    distance_m_so_far: int


@dataclass(frozen=True)
class Route:
    """The day of one vehicle."""

    vehicle_id: str
    visits: tuple[Visit, ...]
    distance_m: int
    duration_s: int
    cost: float

    @property
    def stops(self) -> tuple[int, ...]:
        """The stops served, in order."""
        return tuple(v.node for v in self.visits if v.kind == "stop")


@dataclass(frozen=True)
class RoutePlan:
    """All routes of a day, the stops left out (with reasons) and the cost.

    ``engine`` names the routing engine whose plan this is (``ortools``, ``pyvrp``; a
    day routed in areas names the engines its areas kept, e.g. ``ortools+pyvrp``; None
    for plans made otherwise); ``engine_note`` says how it was chosen: why another
    engine declined, lost the race, crashed or failed verification, or per area.
    """

    status: Status
    objective: float
    routes: tuple[Route, ...]
    unserved: tuple[tuple[int, str], ...]
    runtime_s: float
    engine: str | None = None
    engine_note: str = ""

    @property
    def distance_m(self) -> int:
        """Total distance driven."""
        return sum(r.distance_m for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        """Number of routes that serve at least one stop."""
        return sum(1 for r in self.routes if r.stops)

    def sequences(self) -> dict[str, list[int]]:
        """Vehicle id -> the ordered non-depot nodes (stops and unloads)."""
        return {
            r.vehicle_id: [v.node for v in r.visits if v.kind in ("stop", "unload")]
            for r in self.routes
        }
