"""The routing problem: plain, immutable data handed to the solver.

Integer units throughout: metres, seconds, kilograms, litres. Node indices refer to
rows of the matrices; every node is a ``depot``, a ``stop`` or a ``facility`` (a
place where a truck unloads: landfill, sorting or transfer station).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.errors import InputError, Problem

IntArray = npt.NDArray[np.int64]

KINDS = ("depot", "stop", "facility")
_FILE = "routing problem"
_KIND_WORDS = {"depot": "depot", "stop": "stop", "facility": "facility"}
UNLIMITED_S = 10**9  # "no limit" for shifts and time windows (about 31 years)


@dataclass(frozen=True, order=True)
class NodeKey:
    """The identity of a node: its kind, its id and (stops) its stream.

    A depot and a facility may share an id, and one collection point gives a stop
    per stream; the key tells them apart without joining strings.
    """

    kind: str
    id: str
    stream: str | None = None


def clock(seconds: int) -> str:
    """Seconds from midnight as ``HH:MM`` (``24:00`` and beyond past midnight)."""
    minutes = round(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Vehicle:
    """One truck of the fleet for one day.

    ``start``/``end`` are node indices of depots. Capacities are per trip (between
    unloads); ``day_capacity_*`` and ``max_stops`` bound the whole day (a driver's
    route capacity, as in Kim et al. 2006). ``break_window`` is the interval in
    which the break must *start* (seconds from midnight).

    The shift: the truck leaves its depot at ``shift_start_s``, or up to
    ``shift_start_flex_s`` later, and is back within ``shift_s`` of leaving (so by
    ``shift_start_s + shift_start_flex_s + shift_s`` at the latest). Waiting counts as
    work: a truck does not leave late to meet a facility's opening hours.
    ``available_from_s`` is the former name of ``shift_start_s`` (still accepted).
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
    shift_start_s: int = 0
    shift_start_flex_s: int = 0
    available_from_s: int | None = None
    day_capacity_kg: int | None = None
    day_capacity_l: int | None = None
    max_stops: int | None = None

    def __post_init__(self) -> None:
        if self.available_from_s is not None:  # the former name of shift_start_s
            object.__setattr__(self, "shift_start_s", int(self.available_from_s))
            object.__setattr__(self, "available_from_s", None)

    @property
    def latest_end_s(self) -> int:
        """When the shift ends at the latest (latest start plus the shift)."""
        return self.shift_start_s + self.shift_start_flex_s + self.shift_s

    def shift_text(self) -> str:
        """The shift in words, e.g. ``07:00-15:00`` or ``07:00(+30 min)-15:30``."""
        flex = f" (start up to {round(self.shift_start_flex_s / 60)} min later)"
        if self.shift_s >= 7 * 24 * 3600:  # benchmark and from_matrix trucks: no shift
            return f"from {clock(self.shift_start_s)}, no shift limit"
        return f"{clock(self.shift_start_s)}-{clock(self.latest_end_s)}" + (
            flex if self.shift_start_flex_s else ""
        )

    def accepts(self, stream: str | None) -> bool:
        """Whether this truck may collect a stop of ``stream``."""
        return self.streams is None or stream is None or stream in self.streams


def _rounded(values: Any) -> IntArray:
    """Numbers as int64, floats rounded to the nearest integer."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        array = np.rint(array)
    return array.astype(np.int64)


def _readonly(values: Any, ndim: int, name: str) -> IntArray:
    array = np.array(values, dtype=np.int64, copy=True)
    if array.ndim != ndim:
        raise InputError.one(_FILE, name, f"expected a {ndim}-D array, got shape {array.shape}", "")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A day's collection routing problem (immutable; validated on creation)."""

    node_ids: tuple[str, ...]  # as users know them; unique together with kind and stream
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
    labels: tuple[str, ...] | None = None  # how messages name each node

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
        if self.labels is not None:
            set_(self, "labels", tuple(self.labels))
        self._validate()

    @classmethod
    def from_matrix(
        cls,
        distance: Any,
        demand: Any,
        capacity: int,
        *,
        vehicles: int = 1,
        time: Any = None,
        service: Any = None,
        time_windows: Any = None,
        shift_s: int = UNLIMITED_S,
        drop_penalty: int | None = None,
        node_ids: Sequence[str] | None = None,
        name: str = "routing",
    ) -> RoutingProblem:
        """A plain (capacitated) problem from a distance matrix: node 0 is the depot,
        every other node a stop with its ``demand``, served by ``vehicles`` trucks
        of ``capacity`` that leave node 0 and come back to it.

        ``distance`` is an ``n × n`` matrix (metres; rounded to integers), ``demand``
        has ``n`` entries (kilograms; ``demand[0]`` must be 0). Optional: travel
        ``time`` (``n × n`` seconds; default none), ``service`` times (``n``
        seconds), ``time_windows`` (``n × 2`` seconds from midnight; default open all
        the time), each truck's ``shift_s``, a ``drop_penalty`` that lets stops go
        unserved, and ``node_ids`` (default ``"0"``, ``"1"``, ... as the matrix rows).
        Each truck costs 1 per km; anything richer is built with the constructor.
        """
        d = _rounded(distance)
        n = d.shape[0] if d.ndim else 0
        zeros = np.zeros(n, dtype=np.int64)
        windows = (
            np.tile(np.array([0, UNLIMITED_S], dtype=np.int64), (n, 1))
            if time_windows is None
            else _rounded(time_windows)
        )
        fleet = tuple(
            Vehicle(
                id=f"v{k + 1}",
                start=0,
                end=0,
                capacity_kg=int(capacity),
                capacity_l=0,
                shift_s=int(shift_s),
            )
            for k in range(int(vehicles))
        )
        return cls(
            node_ids=tuple(str(i) for i in range(n)) if node_ids is None else tuple(node_ids),
            kind=("depot",) + ("stop",) * (n - 1),
            distance_m=d,
            time_s=np.zeros_like(d) if time is None else _rounded(time),
            demand_kg=_rounded(demand),
            demand_l=zeros,
            service_s=zeros if service is None else _rounded(service),
            time_window=windows,
            stream=(None,) * n,
            facility_streams={},
            vehicles=fleet,
            drop_penalty=drop_penalty,
            name=name,
        )

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

    def key(self, node: int) -> NodeKey:
        """The typed identity of a node (kind, id, stream)."""
        return NodeKey(self.kind[node], self.node_ids[node], self.stream[node])

    def label(self, node: int) -> str:
        """A node as messages name it, e.g. ``collection point P4 (msw)``, ``depot D1``."""
        if self.labels is not None:
            return self.labels[node]
        kind, ident, stream = self.kind[node], self.node_ids[node], self.stream[node]
        if kind == "stop":
            return f"stop {ident}" + (f" ({stream})" if stream else "")
        return f"{_KIND_WORDS.get(kind, kind)} {ident}"

    def departure_window(self, vehicle: Vehicle) -> tuple[int, int]:
        """Earliest and latest time ``vehicle`` may leave its depot (shift and depot hours)."""
        opens, closes = (int(x) for x in self.time_window[vehicle.start])
        earliest = max(vehicle.shift_start_s, opens)
        latest = min(vehicle.shift_start_s + vehicle.shift_start_flex_s, closes)
        return earliest, latest

    def return_by(self, vehicle: Vehicle) -> int:
        """Latest time ``vehicle`` may be back (end of its shift, depot closing)."""
        return min(int(self.time_window[vehicle.end, 1]), vehicle.latest_end_s)

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
                bad(self.label(i), f"negative {name}")
        if self.time_window.shape != (n, 2):
            bad("time_window", f"shape {self.time_window.shape}, expected {(n, 2)}")
        if self.labels is not None and len(self.labels) != n:
            bad("labels", f"has {len(self.labels)} entries for {n} nodes")
        counts = Counter(zip(self.kind, self.node_ids, self.stream, strict=False))
        for (kind, ident, stream), times in counts.items():
            if times > 1:
                bad(
                    "node ids",
                    f"{kind} {ident}"
                    + (f" ({stream})" if stream else "")
                    + f" appears {times} times",
                    "give each depot, facility and collection point (per stream) its own id",
                )
        if problems:
            raise InputError(problems)
        for i, k in enumerate(self.kind):
            if k not in KINDS:
                bad(self.label(i), f"unknown kind {k!r}", f"use {KINDS}")
            opens, closes = (int(x) for x in self.time_window[i])
            if closes < opens:
                bad(
                    self.label(i),
                    f"time window closes ({closes} s) before it opens ({opens} s)",
                    "swap or correct the opening and closing times",
                )
            if k != "stop" and (self.demand_kg[i] or self.demand_l[i]):
                bad(self.label(i), f"a {k} cannot have a demand")
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
            if v.shift_start_flex_s < 0:
                bad(f"vehicle {v.id}", "shift start flexibility must be >= 0")
            elif 0 <= v.start < n and self.kind[v.start] == "depot":
                early, late = self.departure_window(v)
                if early > late:
                    opens, closes = (int(x) for x in self.time_window[v.start])
                    bad(
                        f"vehicle {v.id}",
                        f"its shift starts at {clock(v.shift_start_s)} but "
                        f"{self.label(v.start)} is open {clock(opens)}-{clock(closes)}",
                        "move the shift start into the depot's opening hours",
                    )
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
