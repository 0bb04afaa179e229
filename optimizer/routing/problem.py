"""The routing problem: plain, immutable data handed to the solver.

Integer units throughout: metres, seconds, kilograms, litres. Node indices refer to
rows of the matrices; every node is a ``depot``, a ``stop`` or a ``facility`` (a
place where a truck unloads: landfill, sorting or transfer station).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.errors import InputError, Problem

IntArray = npt.NDArray[np.int64]

KINDS = ("depot", "stop", "facility")
_FILE = "routing problem"


@dataclass(frozen=True)
class Vehicle:
    """One truck of the fleet for one day.

    ``start``/``end`` are node indices of depots. Capacities are per trip (between
    unloads); ``day_capacity_*`` and ``max_stops`` bound the whole day (a driver's
    route capacity, as in Kim et al. 2006). ``break_window`` is the interval in
    which the break must *start* (seconds from midnight).
    """

    id: str
    start: int
    end: int
    capacity_kg: int
    capacity_l: int
    fixed_cost: int = 0
    cost_per_km: float = 1.0
    cost_per_h: float = 0.0
    shift_s: int = 24 * 3600
    speed_factor: float = 1.0
    streams: frozenset[str] | None = None
    break_window: tuple[int, int] | None = None
    break_s: int = 0
    available_from_s: int = 0
    day_capacity_kg: int | None = None
    day_capacity_l: int | None = None
    max_stops: int | None = None

    def accepts(self, stream: str | None) -> bool:
        """Whether this truck may collect a stop of ``stream``."""
        return self.streams is None or stream is None or stream in self.streams


def _readonly(values: Any, ndim: int, name: str) -> IntArray:
    array = np.array(values, dtype=np.int64, copy=True)
    if array.ndim != ndim:
        raise InputError.one(_FILE, name, f"expected a {ndim}-D array, got shape {array.shape}", "")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A day's collection routing problem (immutable; validated on creation)."""

    node_ids: tuple[str, ...]
    kind: tuple[str, ...]
    distance_m: IntArray
    time_s: IntArray
    demand_kg: IntArray
    demand_l: IntArray
    service_s: IntArray
    time_window: IntArray
    stream: tuple[str | None, ...]
    facility_streams: Mapping[int, frozenset[str]]
    vehicles: tuple[Vehicle, ...]
    drop_penalty: int | None = None
    allowed_vehicles: Mapping[int, frozenset[str]] | None = None
    max_unload_trips: int = 4
    name: str = "routing"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "node_ids", tuple(self.node_ids))
        set_(self, "kind", tuple(self.kind))
        set_(self, "stream", tuple(self.stream))
        set_(self, "vehicles", tuple(self.vehicles))
        set_(self, "distance_m", _readonly(self.distance_m, 2, "distance_m"))
        set_(self, "time_s", _readonly(self.time_s, 2, "time_s"))
        for name in ("demand_kg", "demand_l", "service_s"):
            set_(self, name, _readonly(getattr(self, name), 1, name))
        set_(self, "time_window", _readonly(self.time_window, 2, "time_window"))
        set_(
            self,
            "facility_streams",
            MappingProxyType({int(k): frozenset(v) for k, v in self.facility_streams.items()}),
        )
        if self.allowed_vehicles is not None:
            set_(
                self,
                "allowed_vehicles",
                MappingProxyType({int(k): frozenset(v) for k, v in self.allowed_vehicles.items()}),
            )
        set_(self, "metadata", MappingProxyType(dict(self.metadata)))
        self._validate()

    # ------------------------------------------------------------------ helpers
    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def stops(self) -> tuple[int, ...]:
        """Indices of the stops."""
        return tuple(i for i, k in enumerate(self.kind) if k == "stop")

    @property
    def facilities(self) -> tuple[int, ...]:
        """Indices of the facilities."""
        return tuple(i for i, k in enumerate(self.kind) if k == "facility")

    def vehicle_may_serve(self, vehicle: Vehicle, node: int) -> bool:
        """Stream and explicit compatibility of ``vehicle`` with stop ``node``."""
        if not vehicle.accepts(self.stream[node]):
            return False
        if self.allowed_vehicles is not None and node in self.allowed_vehicles:
            return vehicle.id in self.allowed_vehicles[node]
        return True

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle support (the read-only mappings are rebuilt on load)."""
        state = {
            f.name: dict(v) if isinstance(v, MappingProxyType) else v
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }
        return (_rebuild, (state,))

    def replace(self, **changes: Any) -> RoutingProblem:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------- validation
    def _validate(self) -> None:
        problems: list[Problem] = []

        def bad(where: str, what: str, fix: str = "") -> None:
            problems.append(Problem(_FILE, where, what, fix))

        n = len(self.node_ids)
        for name in ("kind", "stream"):
            if len(getattr(self, name)) != n:
                bad(name, f"has {len(getattr(self, name))} entries for {n} nodes")
        for name in ("distance_m", "time_s"):
            if getattr(self, name).shape != (n, n):
                bad(name, f"shape {getattr(self, name).shape}, expected {(n, n)}")
            elif (getattr(self, name) < 0).any():
                bad(name, "has negative entries")
        for name in ("demand_kg", "demand_l", "service_s"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                bad(name, f"shape {arr.shape}, expected {(n,)}")
            elif (arr < 0).any():
                i = int(np.flatnonzero(arr < 0)[0])
                bad(f"node {self.node_ids[i]}", f"negative {name}")
        if self.time_window.shape != (n, 2):
            bad("time_window", f"shape {self.time_window.shape}, expected {(n, 2)}")
        if len(set(self.node_ids)) != n:
            bad("node_ids", "are not unique")
        if problems:
            raise InputError(problems)
        for i, k in enumerate(self.kind):
            if k not in KINDS:
                bad(f"node {self.node_ids[i]}", f"unknown kind {k!r}", f"use {KINDS}")
            opens, closes = (int(x) for x in self.time_window[i])
            if closes < opens:
                bad(
                    f"node {self.node_ids[i]}",
                    f"time window closes ({closes} s) before it opens ({opens} s)",
                    "swap or correct the opening and closing times",
                )
            if k != "stop" and (self.demand_kg[i] or self.demand_l[i]):
                bad(f"node {self.node_ids[i]}", f"a {k} cannot have a demand")
        for f in self.facility_streams:
            if not 0 <= f < n or self.kind[f] != "facility":
                bad(f"facility_streams[{f}]", "is not a facility node")
        if not self.vehicles:
            bad("vehicles", "the fleet is empty", "add at least one vehicle")
        ids = [v.id for v in self.vehicles]
        if len(set(ids)) != len(ids):
            bad("vehicles", "vehicle ids are not unique")
        for v in self.vehicles:
            for end in (v.start, v.end):
                if not 0 <= end < n or self.kind[end] != "depot":
                    bad(f"vehicle {v.id}", f"start/end node {end} is not a depot")
            if v.capacity_kg < 0 or v.capacity_l < 0 or v.shift_s <= 0:
                bad(f"vehicle {v.id}", "capacity must be >= 0 and shift > 0")
            if v.speed_factor <= 0:
                bad(f"vehicle {v.id}", "speed_factor must be positive")
            if v.break_window is not None and v.break_window[1] < v.break_window[0]:
                bad(
                    f"vehicle {v.id}",
                    "break window closes before it opens",
                    "correct the break window",
                )
        if self.allowed_vehicles is not None:
            known = set(ids)
            for node, allowed in self.allowed_vehicles.items():
                if not 0 <= node < n or self.kind[node] != "stop":
                    bad(f"allowed_vehicles[{node}]", "is not a stop")
                unknown = set(allowed) - known
                if unknown:
                    bad(
                        f"allowed_vehicles[{node}]",
                        f"names unknown vehicles {sorted(unknown)}",
                    )
        if self.max_unload_trips < 1:
            bad("max_unload_trips", "must be at least 1")
        if self.drop_penalty is not None and self.drop_penalty < 0:
            bad("drop_penalty", "must be >= 0")
        if problems:
            raise InputError(problems)


def _rebuild(state: dict[str, Any]) -> RoutingProblem:
    return RoutingProblem(**state)
