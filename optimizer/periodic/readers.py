"""Readers for the PVRP-IF benchmark of Taverna & Tilk (Milan, Rome, Turin; MIT licence).

An instance is a GeoJSON ``FeatureCollection`` with ``info`` (``planningHorizon``,
``numVehicles``, ``maxDuration``, ``maxCapacity``, ...), one feature per node
(``id``, ``type`` = ``depot`` | ``customer`` | ``intermediateFacility``, ``frequency``,
``demand``, ``service``) and ``duration``, the OSRM travel-time matrix in minutes,
rows in feature-id order. The rules, as the published solution reports check them:
a customer of frequency ``f`` follows one of the equally spaced calendars; every
route starts and ends at the depot, unloads at a facility before returning; the
load between unloads is at most ``maxCapacity``; a route's time (travel plus
service, counted on leaving a node) is at most ``maxDuration``; at most
``numVehicles`` routes a day; the cost is the total travel time.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from optimizer.errors import InputError
from optimizer.periodic.patterns import spaced_patterns
from optimizer.periodic.problem import PeriodicProblem, PeriodicSolution

KNOWN_TYPES = ("depot", "customer", "intermediateFacility")
INFO_KEYS = ("planningHorizon", "numVehicles", "maxDuration", "maxCapacity")
KNOWN_INFO = (*INFO_KEYS, "customer", "intermediateFacility", "depot", "frequency", "totDemand", "area")  # fmt: skip
PROPERTY_KEYS = ("id", "type", "frequency", "demand", "service")


def _number(file: str, where: str, value: Any) -> float:
    """A finite number, or an :class:`InputError` naming the record."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError.one(file, where, f"expected a number, got {value!r}", "fix the value")
    if value != value or value < 0:
        raise InputError.one(file, where, f"expected a number >= 0, got {value!r}", "")
    return float(value)


def read_pvrpif(path: str | Path) -> PeriodicProblem:
    """One PVRP-IF instance as a :class:`PeriodicProblem` (``InputError`` naming the
    file and record on a missing field or a feature this reader does not know)."""
    path = Path(path)
    file = str(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError.one(file, "", f"cannot read the instance: {exc}", "") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InputError.one(file, "type", "not a GeoJSON FeatureCollection", "")
    info = data.get("info")
    if not isinstance(info, dict):
        raise InputError.one(file, "info", "missing", "give planningHorizon, numVehicles, ...")
    for key in INFO_KEYS:
        if key not in info:
            raise InputError.one(file, f"info.{key}", "missing", "add it")
    unknown = sorted(set(info) - set(KNOWN_INFO))
    if unknown:
        raise InputError.one(
            file, f"info.{unknown[0]}", "unknown feature of the instance", "this reader "
            f"knows {', '.join(KNOWN_INFO)}; extend optimizer.periodic.readers first",
        )  # fmt: skip
    horizon = int(_number(file, "info.planningHorizon", info["planningHorizon"]))
    features = data.get("features")
    matrix = data.get("duration")
    if not isinstance(features, list) or not features:
        raise InputError.one(file, "features", "missing or empty", "")
    if not isinstance(matrix, list) or len(matrix) != len(features):
        raise InputError.one(
            file, "duration", f"expected a {len(features)} x {len(features)} matrix", ""
        )
    n = len(features)
    props: list[dict[str, Any]] = [{} for _ in range(n)]
    for k, feature in enumerate(features):
        p = feature.get("properties") if isinstance(feature, dict) else None
        where = f"features[{k}]"
        if not isinstance(p, dict):
            raise InputError.one(file, where, "has no properties", "")
        for key in PROPERTY_KEYS:
            if key not in p:
                raise InputError.one(file, f"{where}.properties.{key}", "missing", "add it")
        extra = sorted(set(p) - set(PROPERTY_KEYS))
        if extra:
            raise InputError.one(
                file, f"{where}.properties.{extra[0]}", "unknown feature of the instance",
                f"this reader knows {', '.join(PROPERTY_KEYS)}",
            )  # fmt: skip
        if p["type"] not in KNOWN_TYPES:
            raise InputError.one(
                file, f"{where} (id {p['id']})", f"unknown node type {p['type']!r}",
                f"use one of {', '.join(KNOWN_TYPES)}",
            )  # fmt: skip
        node = int(_number(file, f"{where}.properties.id", p["id"]))
        if not 0 <= node < n or props[node]:
            raise InputError.one(
                file, f"{where}.properties.id", f"id {node} out of range or repeated", ""
            )
        props[node] = p
    depots = [i for i in range(n) if props[i]["type"] == "depot"]
    if len(depots) != 1:
        raise InputError.one(file, "features", f"{len(depots)} depots, expected exactly 1", "")
    facilities = tuple(i for i in range(n) if props[i]["type"] == "intermediateFacility")
    bins = tuple(i for i in range(n) if props[i]["type"] == "customer")
    travel = []
    for i, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != n:
            raise InputError.one(file, f"duration[{i}]", f"expected {n} entries", "")
        travel.append(tuple(_number(file, f"duration[{i}][{j}]", v) for j, v in enumerate(row)))
    frequency = []
    patterns = []
    for b in bins:
        raw = _number(file, f"customer {b}.frequency", props[b]["frequency"])
        if raw != int(raw):
            raise InputError.one(file, f"customer {b}", f"fractional frequency {raw}", "")
        frequency.append(int(raw))
        patterns.append(spaced_patterns(int(raw), horizon, where=f"{file}: customer {b}"))
    return PeriodicProblem(
        name=path.stem,
        horizon=horizon,
        depot=depots[0],
        facilities=facilities,
        bins=bins,
        frequency=tuple(frequency),
        patterns=tuple(patterns),
        demand=tuple(_number(file, f"node {i}.demand", props[i]["demand"]) for i in range(n)),
        service=tuple(_number(file, f"node {i}.service", props[i]["service"]) for i in range(n)),
        travel=tuple(travel),
        capacity=_number(file, "info.maxCapacity", info["maxCapacity"]),
        max_duration=_number(file, "info.maxDuration", info["maxDuration"]),
        vehicles_per_day=int(_number(file, "info.numVehicles", info["numVehicles"])),
        unload_before_depot=True,
        labels=tuple(str(props[i]["id"]) for i in range(n)),
        source=file,
        metadata={"area": info.get("area", "")},
    )


def read_bks(path: str | Path) -> dict[str, tuple[float, bool]]:
    """``bks.csv``: instance -> (best upper bound, proven optimal); ``*`` marks a proof."""
    out: dict[str, tuple[float, bool]] = {}
    with Path(path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            raw = (row.get("best_ub") or "").strip()
            if not raw:
                continue
            out[row["instance"].strip()] = (float(raw.rstrip("*")), raw.endswith("*"))
    return out


def read_solution_report(path: str | Path, problem: PeriodicProblem) -> PeriodicSolution:
    """A published solution report (``report_<instance>_feasible_<cost>_0.txt``) as a
    :class:`PeriodicSolution` of ``problem``: each route's ``path`` row, day by day;
    a bin's calendar is the days it is visited on."""
    path = Path(path)
    text = path.read_text()
    days: list[list[tuple[int, ...]]] = [[] for _ in range(problem.horizon)]
    header = re.compile(r"^Day: (\d+): Vehicle:(\d+)")
    day = -1
    for line in text.splitlines():
        m = header.match(line)
        if m:
            day = int(m.group(1))
            continue
        if line.startswith("path") and day >= 0:
            if not 0 <= day < problem.horizon:
                raise InputError.one(str(path), f"Day: {day}", "outside the planning horizon", "")
            days[day].append(tuple(int(float(x)) for x in line.split()[1:]))
            day = -1
    m = re.search(r"with cost ([\d.]+)", text)
    if not m:
        raise InputError.one(str(path), "first line", "no 'with cost' found", "")
    visited = [{n for r in routes for n in r} for routes in days]
    patterns = tuple(
        tuple(d for d in range(problem.horizon) if b in visited[d]) for b in problem.bins
    )
    return PeriodicSolution(patterns, tuple(tuple(r) for r in days), float(m.group(1)))
