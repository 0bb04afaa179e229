"""Readers for benchmark instances: VRPLIB/CVRPLIB, Solomon and Kim et al. (2006).

Each reader returns an :class:`Instance`: a :class:`RoutingProblem` plus the
best-known cost (when a ``bks.csv`` is found beside the files) and the factor
between the integer model units and the published cost unit.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.errors import InputError
from optimizer.routing.problem import IntArray, RoutingProblem, Vehicle

SOLOMON_SCALE = 1000  # Solomon distances are real; the model keeps 3 decimals
KIM_VOLUME_SCALE = 100  # Kim volumes are in cubic yards with 2 decimals
FEET_TO_M = 0.3048
MILE_FT = 5280.0


@dataclass(frozen=True)
class Instance:
    """A benchmark instance ready to solve and score."""

    name: str
    kind: str  # "cvrp" | "vrptw" | "wcvrptw"
    problem: RoutingProblem
    bks: float | None
    cost_scale: float  # model distance units per published cost unit
    coords: np.ndarray | None = None

    def cost(self, distance_units: int) -> float:
        """Model distance -> the published cost unit."""
        return distance_units / self.cost_scale


def _err(path: Path, where: str, what: str, fix: str = "") -> InputError:
    return InputError.one(str(path), where, what, fix)


def _numbers(path: Path, section: str, line: str, count: int) -> list[float]:
    """The first ``count`` numbers of a section line, or an error naming the line."""
    parts = line.split()
    where = f"{section} line '{line}'"
    if len(parts) < count:
        raise _err(path, where, f"{len(parts)} value(s), {count} needed", "complete the line")
    try:
        return [float(x) for x in parts[:count]]
    except ValueError as exc:
        raise _err(path, where, "not a number", f"write {count} numbers on the line") from exc


def _header_int(path: Path, header: dict[str, str], key: str) -> int:
    """A positive whole-number header field (DIMENSION, CAPACITY)."""
    try:
        value = int(float(header[key]))
    except ValueError as exc:
        raise _err(path, key, f"{header[key]!r} is not a number", "write a whole number") from exc
    if value <= 0:
        raise _err(path, key, f"must be positive (got {value})", "write a positive whole number")
    return value


# --------------------------------------------------------------------------- BKS
def _find_bks_file(path: Path) -> Path | None:
    for parent in list(path.parents)[:3]:
        candidate = parent / "bks.csv"
        if candidate.is_file():
            return candidate
    return None


def lookup_bks(path: Path, name: str) -> float | None:
    """Best-known cost of ``name`` from the nearest ``bks.csv`` (or None)."""
    bks_file = _find_bks_file(path)
    if bks_file is None:
        return None
    with bks_file.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("instance", "").lower() != name.lower():
                continue
            # Distance-minimisation best-knowns first: Solomon's own, then CVRPLIB's
            # (distances truncated to 1 decimal, a little below ours at 3 decimals;
            # the only distance-minimisation value for Gehring-Homberger), then the
            # vehicles-first best-known.
            for column in ("distmin_distance", "cvrplib_distance_1dec", "bks_distance", "bks"):
                value = (row.get(column) or "").strip()
                if not value:
                    continue
                try:
                    return float(value)
                except ValueError as exc:
                    raise _err(
                        bks_file,
                        f"instance {row.get('instance')} column {column}",
                        f"{value!r} is not a number",
                        "write the best-known cost as a number, or leave it empty",
                    ) from exc
    return None


# ----------------------------------------------------------------------- VRPLIB
def _nint(x: np.ndarray) -> IntArray:
    return np.floor(x + 0.5).astype(np.int64)


def _explicit_matrix(values: list[float], n: int, fmt: str, path: Path) -> IntArray:
    m = np.zeros((n, n), dtype=np.float64)
    it = iter(values)
    try:
        if fmt == "FULL_MATRIX":
            m = np.array(values[: n * n], dtype=np.float64).reshape(n, n)
        elif fmt in ("LOWER_ROW", "LOWER_DIAG_ROW", "UPPER_ROW", "UPPER_DIAG_ROW"):
            diag = "DIAG" in fmt
            for i in range(n):
                if fmt.startswith("LOWER"):
                    cols = range(i + 1) if diag else range(i)
                else:
                    cols = range(i, n) if diag else range(i + 1, n)
                for j in cols:
                    m[i, j] = m[j, i] = next(it)
        else:
            raise _err(path, "EDGE_WEIGHT_FORMAT", f"unsupported format {fmt!r}")
    except (StopIteration, ValueError) as exc:
        raise _err(path, "EDGE_WEIGHT_SECTION", "too few weights for DIMENSION") from exc
    return _nint(m)


def read_vrplib(path: str | Path, vehicles: int | None = None) -> Instance:
    """Read a CVRPLIB ``.vrp`` file (TSPLIB style).

    EUC_2D distances are rounded to the nearest integer (the CVRPLIB convention for
    the A, B, E, P, M and X sets), CEIL_2D rounded up, EXPLICIT taken as given.
    The fleet is the ``-kN`` of the name (or ``VEHICLES``) plus some slack.
    """
    path = Path(path)
    if not path.is_file():
        raise _err(path, "", "file not found", "check the path")
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        key = line.split()[0].rstrip(":").upper()
        if key.endswith("_SECTION"):
            current = key
            sections[current] = []
            rest = line[len(line.split()[0]) :].strip()
            if rest:
                sections[current].append(rest)
        elif ":" in line and not line[0].isdigit() and line[0] != "-":
            k, _, v = line.partition(":")
            header[k.strip().upper()] = v.strip()
            current = None
        elif current is not None:
            sections[current].append(line)
    name = header.get("NAME", path.stem)
    for required in ("DIMENSION", "CAPACITY"):
        if required not in header:
            raise _err(path, required, "missing header field", "add it to the file")
    n = _header_int(path, header, "DIMENSION")
    capacity = _header_int(path, header, "CAPACITY")
    if "DEMAND_SECTION" not in sections:
        raise _err(path, "DEMAND_SECTION", "missing section", "add the demands")
    weight_type = header.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper()
    coords = None
    if "NODE_COORD_SECTION" in sections:
        lines = sections["NODE_COORD_SECTION"]
        if len(lines) < n:
            raise _err(
                path,
                "NODE_COORD_SECTION",
                f"{len(lines)} rows for {n} nodes",
                "give one row (node x y) per node, or correct DIMENSION",
            )
        coords = np.array([_numbers(path, "NODE_COORD_SECTION", r, 3)[1:] for r in lines[:n]])
    if weight_type == "EXPLICIT":
        if "EDGE_WEIGHT_SECTION" not in sections:
            raise _err(path, "EDGE_WEIGHT_SECTION", "missing section")
        values = [
            v
            for r in sections["EDGE_WEIGHT_SECTION"]
            for v in _numbers(path, "EDGE_WEIGHT_SECTION", r, len(r.split()))
        ]
        fmt = header.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX").upper()
        dist = _explicit_matrix(values, n, fmt, path)
    else:
        if coords is None:
            raise _err(path, "NODE_COORD_SECTION", "missing section")
        d = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
        if weight_type == "EUC_2D":
            dist = _nint(d)
        elif weight_type == "CEIL_2D":
            dist = np.ceil(d).astype(np.int64)
        elif weight_type in ("EXACT_2D", "FLOAT_2D"):
            dist = _nint(d * 1000)
        else:
            raise _err(path, "EDGE_WEIGHT_TYPE", f"unsupported type {weight_type!r}")
    demand = np.zeros(n, dtype=np.int64)
    for r in sections["DEMAND_SECTION"]:
        node, amount = _numbers(path, "DEMAND_SECTION", r, 2)
        idx = int(node) - 1
        if not 0 <= idx < n:
            raise _err(path, f"DEMAND_SECTION node {int(node)}", "outside DIMENSION")
        if amount < 0:
            raise _err(
                path,
                f"DEMAND_SECTION node {int(node)}",
                f"negative demand ({amount:g})",
                "write a demand of 0 or more",
            )
        demand[idx] = int(amount)
    depots = [
        int(x) - 1
        for r in sections.get("DEPOT_SECTION", ["1"])
        for x in _numbers(path, "DEPOT_SECTION", r, len(r.split()))
        if int(x) > 0
    ]
    depot = depots[0] if depots else 0
    demand[depot] = 0
    if vehicles is None:
        match = re.search(r"-k(\d+)", name)
        fleet = int(header.get("VEHICLES") or (match.group(1) if match else 0))
        fleet = max(fleet, math.ceil(demand.sum() / max(capacity, 1)))
        vehicles = fleet + max(2, fleet // 10)
    scale = 1000.0 if weight_type in ("EXACT_2D", "FLOAT_2D") else 1.0
    problem = RoutingProblem(
        node_ids=tuple(str(i + 1) for i in range(n)),
        kind=tuple("depot" if i == depot else "stop" for i in range(n)),
        distance_m=dist,
        time_s=np.zeros((n, n), dtype=np.int64),
        demand_kg=demand,
        demand_l=np.zeros(n, dtype=np.int64),
        service_s=np.zeros(n, dtype=np.int64),
        time_window=np.tile(np.array([0, 10**9], dtype=np.int64), (n, 1)),
        stream=(None,) * n,
        facility_streams={},
        vehicles=tuple(
            Vehicle(
                id=f"v{k}",
                start=depot,
                end=depot,
                capacity_kg=capacity,
                capacity_l=0,
                shift_s=10**9,
            )
            for k in range(vehicles)
        ),
        name=name,
    )
    return Instance(name, "cvrp", problem, lookup_bks(path, name), scale, coords)


# ---------------------------------------------------------------------- Solomon
def read_solomon(path: str | Path, max_customers: int | None = None) -> Instance:
    """Read a Solomon / Gehring-Homberger VRPTW text file.

    Distances are Euclidean, kept to 3 decimals (×1000) so that the gap to the
    distance-minimisation best-knowns is meaningful; travel time equals distance.
    ``max_customers`` keeps only the first customers (for small tests).
    """
    path = Path(path)
    if not path.is_file():
        raise _err(path, "", "file not found", "check the path")
    lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
    try:
        v_at = next(i for i, ln in enumerate(lines) if ln.upper().startswith("VEHICLE"))
        num, cap = (int(x) for x in lines[v_at + 2].split()[:2])
    except (StopIteration, ValueError, IndexError) as exc:
        raise _err(path, "VEHICLE", "missing or malformed section") from exc
    try:
        c_at = next(i for i, ln in enumerate(lines) if ln.upper().startswith("CUSTOMER"))
    except StopIteration as exc:
        raise _err(path, "CUSTOMER", "missing section") from exc
    rows = []
    for ln in lines[c_at + 1 :]:
        parts = ln.split()
        if len(parts) >= 7 and parts[0].isdigit():
            rows.append([float(x) for x in parts[:7]])
    if len(rows) < 2:
        raise _err(path, "CUSTOMER", "no customer rows")
    if max_customers is not None:
        rows = rows[: max_customers + 1]
    data = np.array(rows)
    n = len(data)
    coords = data[:, 1:3]
    d = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
    dist = _nint(d * SOLOMON_SCALE)
    tw = _nint(data[:, 4:6] * SOLOMON_SCALE)
    for i in range(n):
        if tw[i, 1] < tw[i, 0]:
            raise _err(
                path,
                f"customer {int(data[i, 0])}",
                "due date is before ready time",
                "correct the time window",
            )
    name = path.stem.upper() if path.stem[0].isalpha() and len(path.stem) <= 6 else path.stem
    problem = RoutingProblem(
        node_ids=tuple(str(int(x)) for x in data[:, 0]),
        kind=tuple("depot" if i == 0 else "stop" for i in range(n)),
        distance_m=dist,
        time_s=dist,
        demand_kg=np.r_[0, data[1:, 3]].astype(np.int64),
        demand_l=np.zeros(n, dtype=np.int64),
        service_s=np.r_[0, _nint(data[1:, 6] * SOLOMON_SCALE)],
        time_window=tw,
        stream=(None,) * n,
        facility_streams={},
        vehicles=tuple(
            Vehicle(id=f"v{k}", start=0, end=0, capacity_kg=cap, capacity_l=0, shift_s=10**9)
            for k in range(num)
        ),
        name=name,
    )
    bks = lookup_bks(path, name) if max_customers is None else None
    return Instance(name, "vrptw", problem, bks, float(SOLOMON_SCALE), coords)


# -------------------------------------------------------------------------- Kim
def _hhmm(text: str) -> int:
    value = int(text)
    return (value // 100) * 3600 + (value % 100) * 60


def read_kim(path: str | Path, vehicles: int | None = None) -> Instance:
    """Read a Kim, Kim & Sahoo (2006) waste-collection VRPTW file.

    As the benchmark page recommends: Manhattan distance on the coordinates (feet)
    at the given speed (mph). Volumes are in 1/100 cubic yard (``demand_l`` and
    ``capacity_l`` hold that unit here). The depot is type 0, landfills type 2; a
    one-hour lunch must start between 11:00 and 12:00. Cost is miles driven.
    """
    path = Path(path)
    if not path.is_file():
        raise _err(path, "", "file not found", "check the path")
    lines = path.read_text(errors="replace").splitlines()
    try:
        head = [float(lines[i].split()[0]) for i in range(5)]
    except (IndexError, ValueError) as exc:
        raise _err(path, "header", "the five header lines are missing") from exc
    cap_yd, day_yd, max_stops, lunch_s, mph = head
    rows = []
    for number, ln in enumerate(lines[6:], start=7):
        parts = ln.split()
        if not parts:
            continue
        if len(parts) < 8:
            raise _err(path, f"line {number}", "expected 8 columns")
        rows.append(parts)
    if not rows:
        raise _err(path, "stops", "no stop rows")
    n = len(rows)
    xy = np.array([[float(r[1]), float(r[2])] for r in rows])
    manhattan_ft = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    dist = _nint(manhattan_ft * FEET_TO_M)
    time = _nint(manhattan_ft / MILE_FT * 3600.0 / mph)
    kinds = []
    for r in rows:
        t = int(r[7])
        if t not in (0, 1, 2):
            raise _err(path, f"stop {r[0]}", f"unknown stop type {t}")
        kinds.append({0: "depot", 1: "stop", 2: "facility"}[t])
    if kinds.count("depot") != 1 or "facility" not in kinds:
        raise _err(path, "stops", "need exactly one depot and at least one landfill")
    tw = np.array([[_hhmm(r[3]), _hhmm(r[4])] for r in rows], dtype=np.int64)
    for i, r in enumerate(rows):
        if tw[i, 1] < tw[i, 0]:
            raise _err(
                path,
                f"stop {r[0]}",
                "time window closes before it opens",
                "correct Early_St_Time / Late_St_Time",
            )
    volume = np.array(
        [
            round(float(r[6]) * KIM_VOLUME_SCALE) if k == "stop" else 0
            for r, k in zip(rows, kinds, strict=True)
        ],
        dtype=np.int64,
    )
    depot = kinds.index("depot")
    cap = round(cap_yd * KIM_VOLUME_SCALE)
    day = round(day_yd * KIM_VOLUME_SCALE)
    if vehicles is None:
        stops = kinds.count("stop")
        by_volume = math.ceil(volume.sum() / max(day, 1))
        by_count = math.ceil(stops / max_stops)
        horizon = int(tw[depot, 1] - tw[depot, 0])
        by_time = math.ceil(
            (sum(int(r[5]) for r, k in zip(rows, kinds, strict=True) if k == "stop"))
            / max(horizon - lunch_s, 1)
        )
        base = max(by_volume, by_count, by_time, 1)
        vehicles = base + max(3, base)
    name = path.stem
    problem = RoutingProblem(
        node_ids=tuple(r[0] for r in rows),
        kind=tuple(kinds),
        distance_m=dist,
        time_s=time,
        demand_kg=np.zeros(n, dtype=np.int64),
        demand_l=volume,
        service_s=np.array([int(float(r[5])) for r in rows], dtype=np.int64),
        time_window=tw,
        stream=tuple("msw" if k == "stop" else None for k in kinds),
        facility_streams={i: frozenset({"msw"}) for i, k in enumerate(kinds) if k == "facility"},
        vehicles=tuple(
            Vehicle(
                id=f"v{k}",
                start=depot,
                end=depot,
                capacity_kg=0,
                capacity_l=cap,
                fixed_cost=300,
                cost_per_km=1.0,
                shift_s=int(tw[depot, 1] - tw[depot, 0]),
                shift_start_s=int(tw[depot, 0]),
                break_window=(11 * 3600, 12 * 3600),
                break_s=int(lunch_s),
                day_capacity_l=day,
                max_stops=int(max_stops),
            )
            for k in range(vehicles)
        ),
        max_unload_trips=max(2, math.ceil(day / max(cap, 1)) + 1),
        name=name,
        metadata={"volume_unit": "0.01 yd3", "cost_unit": "mile"},
    )
    return Instance(name, "wcvrptw", problem, lookup_bks(path, name), MILE_FT * FEET_TO_M, xy)
