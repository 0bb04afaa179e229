"""Stage 1: road network, demand estimates, snapping and the travel matrix."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer import network as nw
from optimizer.demand import estimate_demand
from optimizer.errors import InputError
from optimizer.network import RoadNetwork, SnappedPoints, TravelMatrix
from optimizer.scenario import NetworkSpec, Scenario

log = logging.getLogger("optimizer")


LocationKind = Literal["point", "depot", "facility"]


class Location(NamedTuple):
    """A place a truck may stop: a collection point, a depot or a facility, by id."""

    kind: LocationKind
    id: str


#: The prefix :func:`optimizer.network.snap_points` reads from an id to name its kind.
_SNAP_PREFIX: dict[LocationKind, str] = {"point": "pt", "depot": "depot", "facility": "fac"}


def snap_ids(locations: Iterable[Location]) -> list[str]:
    """The ids :func:`optimizer.network.snap_points` takes for ``locations``.

    The one place a :class:`Location` becomes a string: snapping names a bad location
    as a point, depot or facility from the prefix (``pt:``, ``depot:``, ``fac:``).
    """
    return [f"{_SNAP_PREFIX[loc.kind]}:{loc.id}" for loc in locations]


@dataclass(frozen=True)
class Prepared:
    """Everything upstream of the models, shared by the site and route stages."""

    scenario: Scenario
    network: RoadNetwork
    demand: pd.DataFrame  # one row per point and stream, annual average (sizes sites)
    day_demand: pd.DataFrame  # the same rows for the season of the plan day (routes)
    snapped: SnappedPoints  # over the locations, in the order of location_index
    matrix: TravelMatrix  # over the locations
    location_index: dict[Location, int]  # location -> row of snapped and matrix


def load_road_network(scenario: Scenario, override: Path | None = None) -> RoadNetwork:
    """The road network a scenario names, or the override given on the command line."""
    return network_of(scenario.network, Path(scenario.base_dir), scenario.source_file, override)


def network_of(
    spec: NetworkSpec | None, base_dir: Path, source_file: str, override: Path | None = None
) -> RoadNetwork:
    """The road network a [network] section names (paths relative to ``base_dir``)."""
    if override is not None:
        return nw.load_network(override, max_segment_m=spec.max_segment_m if spec else None)
    assert spec is not None  # a scenario always has one; validate checks before calling
    if spec.demo:
        return nw.demo_network()
    if spec.file is not None:
        path = Path(spec.file).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.exists():
            raise InputError.one(
                source_file,
                "[network].file",
                f"road network file not found ({path})",
                "point it at a street file (path relative to the scenario) or pass --network FILE",
            )
        return nw.load_network(path, max_segment_m=spec.max_segment_m)
    if spec.place is not None:
        return nw.network_from_place(spec.place)
    assert spec.bbox is not None  # exactly one source, checked by NetworkSpec
    return nw.network_from_bbox(spec.bbox)


def location_tables(
    scenario: Scenario, demand: pd.DataFrame
) -> tuple[list[Location], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every place a truck may stop (points, depots, facilities) and its coordinates."""
    points = demand.drop_duplicates("point_id")
    ids = [Location("point", str(p)) for p in points["point_id"]]
    lon = list(points["lon"].astype(float))
    lat = list(points["lat"].astype(float))
    for depot in scenario.depots:
        ids.append(Location("depot", depot.id))
        lon.append(depot.lon)
        lat.append(depot.lat)
    for fac in scenario.facilities:
        ids.append(Location("facility", fac.id))
        # a site beyond the network's edge is snapped where its access road leaves it
        lon.append(fac.access.lon if fac.access else fac.lon)
        lat.append(fac.access.lat if fac.access else fac.lat)
    return ids, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def with_access_roads(
    matrix: nw.TravelMatrix, scenario: Scenario, index: dict[Location, int]
) -> nw.TravelMatrix:
    """The matrix with each off-network site's access road added to every trip to and
    from it (``[[facilities]] access``): ``km`` and ``km / speed_kmh`` each way."""
    extra_m = np.zeros(len(matrix.ids))
    extra_s = np.zeros(len(matrix.ids))
    for fac in scenario.facilities:
        if fac.access is not None:
            i = index[Location("facility", fac.id)]
            extra_m[i] = fac.access.km * 1000.0
            extra_s[i] = fac.access.km / fac.access.speed_kmh * 3600.0
    if not extra_m.any():
        return matrix
    off_diagonal = 1 - np.eye(len(matrix.ids), dtype=np.int64)
    add_m = np.rint(extra_m[:, None] + extra_m[None, :]).astype(np.int64) * off_diagonal
    add_s = np.rint(extra_s[:, None] + extra_s[None, :]).astype(np.int64) * off_diagonal
    return nw.TravelMatrix(matrix.ids, matrix.distance_m + add_m, matrix.time_s + add_s)


def location_files(scenario: Scenario) -> dict[str, str]:
    """The file each kind of location comes from, so a snapping error names the right one
    (keyed by the prefixes of :func:`snap_ids`)."""
    return {
        _SNAP_PREFIX["point"]: scenario.files.get("points", scenario.source_file),
        _SNAP_PREFIX["depot"]: scenario.source_file,
        _SNAP_PREFIX["facility"]: scenario.source_file,
    }


def prepare(
    scenario: Scenario,
    *,
    network_override: Path | None = None,
    cache_dir: Path | None = None,
) -> Prepared:
    """Load the network, estimate demand, snap every location and compute the matrix."""
    t0 = time.perf_counter()
    net = load_road_network(scenario, network_override)
    log.info(
        "network %s: %d nodes, %d edges (%.1f s)",
        net.name,
        len(net.node_lon),
        len(net.edge_u),
        time.perf_counter() - t0,
    )
    demand = estimate_demand(scenario, network=net, season="annual")
    if demand.empty:
        raise InputError.one(
            scenario.source_file,
            "points / districts",
            "no waste to collect",
            "add points or districts",
        )
    day = estimate_demand(scenario, network=net, season=scenario.solver.plan_season)
    day = day.set_index(["point_id", "stream"]).reindex(
        pd.MultiIndex.from_frame(demand[["point_id", "stream"]])
    )
    if day["tonnes_per_day"].isna().any():  # pragma: no cover - same seed, same points
        raise RuntimeError("seasonal demand does not cover the annual collection points")
    ids, lon, lat = location_tables(scenario, demand)
    snapped = nw.snap_points(
        net,
        snap_ids(ids),
        lon,
        lat,
        max_snap_m=scenario.network.max_snap_m,
        file=scenario.source_file,
        files=location_files(scenario),
    )
    t1 = time.perf_counter()
    index = {loc: i for i, loc in enumerate(ids)}
    matrix = with_access_roads(nw.travel_matrix(net, snapped, cache_dir=cache_dir), scenario, index)
    log.info("travel matrix %d x %d (%.1f s)", len(ids), len(ids), time.perf_counter() - t1)
    return Prepared(
        scenario=scenario,
        network=net,
        demand=demand.reset_index(drop=True),
        day_demand=day.reset_index(),
        snapped=snapped,
        matrix=matrix,
        location_index=index,
    )
