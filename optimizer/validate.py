"""``optimizer validate``: everything ``plan`` would refuse, checked before any solving.

Loading the scenario applies every per-record and cross-record rule. Then the road
network is loaded, demand is estimated (which places generated points and bounds
their number), every point, depot and facility is snapped and the travel matrix is
computed, as ``plan`` does before its solvers start. A missing file, a point outside
the network or too far from a street is reported here, all together, instead of
minutes into a plan. For a city of 3,000 points this takes about 20 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputError, Problem
from optimizer.scenario import Scenario, load_scenario, summarize


def validate_scenario_file(path: Path, *, network_override: Path | None = None) -> list[str]:
    """Summary lines of a scenario that ``plan`` would accept.

    Raises
    ------
    InputError
        Listing every problem found: in the files, between records, and on the map.
    """
    scenario = load_scenario(path)
    problems: list[Problem] = []
    network = _network(scenario, network_override, problems)
    locations = _locations(scenario, network, problems) if network is not None else None
    snapped = _snap(scenario, network, locations, problems) if locations is not None else None
    if snapped is not None:
        _matrix(network, snapped, problems)
    if problems:
        raise InputError(problems)
    lines = list(summarize(scenario))
    if locations is not None:
        points = sum(1 for i in locations[0] if i.startswith("pt:"))
        lines.append(f"  collection points placed: {points:,} (given, generated and sources)")
    if network is not None:
        lines.append(f"  road network: {network.name}, {network.n_edges:,} edges")
    return lines


def _network(scenario: Scenario, override: Path | None, problems: list[Problem]) -> Any:
    """The road network the plan would use, or None with the reason in ``problems``."""
    from optimizer.stages.prepare import load_road_network

    try:
        return load_road_network(scenario, override)
    except InputError as exc:
        problems += exc.problems
        return None


def _locations(
    scenario: Scenario, network: Any, problems: list[Problem]
) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Ids and coordinates of every stop: points (given and generated), depots, facilities."""
    from optimizer.demand import estimate_demand

    try:
        demand = estimate_demand(scenario, network=network, season="annual")
    except InputError as exc:
        problems += exc.problems
        return None
    if demand.empty:
        problems.append(
            Problem(
                scenario.source_file,
                "points / districts",
                "no waste to collect (every population and amount is zero)",
                "add points or districts with people",
            )
        )
        return None
    points = demand.drop_duplicates("point_id")
    ids = [f"pt:{p}" for p in points["point_id"]]
    ids += [f"depot:{d.id}" for d in scenario.depots]
    ids += [f"fac:{f.id}" for f in scenario.facilities]
    lon = [*points["lon"].astype(float), *(d.lon for d in scenario.depots)]
    lat = [*points["lat"].astype(float), *(d.lat for d in scenario.depots)]
    lon += [f.lon for f in scenario.facilities]
    lat += [f.lat for f in scenario.facilities]
    return ids, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _snap(
    scenario: Scenario,
    network: Any,
    locations: tuple[list[str], np.ndarray, np.ndarray],
    problems: list[Problem],
) -> Any:
    """Every location placed on a street within ``max_snap_m``, or a problem for each."""
    from optimizer.network import snap_points

    ids, lon, lat = locations
    files = {
        "pt": scenario.files.get("points", scenario.source_file),
        "depot": scenario.source_file,
        "fac": scenario.source_file,
    }
    try:
        return snap_points(
            network,
            ids,
            lon,
            lat,
            max_snap_m=scenario.network.max_snap_m,
            file=scenario.source_file,
            files=files,
        )
    except InputError as exc:
        problems += exc.problems
        return None


def _matrix(network: Any, snapped: Any, problems: list[Problem]) -> None:
    """The travel matrix the plan would compute: refuses unreachable points."""
    from optimizer.network import travel_matrix

    try:
        travel_matrix(network, snapped)
    except InputError as exc:
        problems += exc.problems
