"""Applying the truck profile to way segments and building the directed network."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from optimizer.errors import InputError
from optimizer.network.graph import (
    EdgeGeometry,
    RoadNetwork,
    build_network,
    join_names,
    polyline_lengths_m,
)
from optimizer.network.profile import TruckProfile, parse_oneway, way_allowed, way_speed_kmh

# Tags the profile reads; osmnx only keeps the tags listed in its settings.
PROFILE_TAGS = (
    "highway",
    "oneway",
    "junction",
    "maxspeed",
    "access",
    "vehicle",
    "motor_vehicle",
    "service",
    "hgv",
    "maxweight",
    "maxheight",
)


def street_name(tags: Mapping[str, object]) -> str:
    """A way's street name: its ``name`` (a list when osmnx merged ways: the distinct
    names joined by " / "), else its ``ref`` (a road number), else ""."""
    for key in ("name", "ref"):
        value = tags.get(key)
        if value is None:
            continue
        name = join_names(value if isinstance(value, list | tuple | set) else [value])
        if name:
            return name
    return ""


def _fail(file: str, what: str, fix: str) -> InputError:
    """An InputError about a whole network file."""
    return InputError.one(file=file, where="road network", what=what, fix=fix)


def _assemble(
    name: str,
    node_lon: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    way_u: npt.ArrayLike,
    way_v: npt.ArrayLike,
    tags: Iterable[Mapping[str, object]],
    profile: TruckProfile,
    *,
    directed: bool,
    geometry: EdgeGeometry | None = None,
    length_m: npt.ArrayLike | None = None,
    stats: Mapping[str, Any] | None = None,
    require_highway: bool = True,
    names: Sequence[str] | None = None,
) -> RoadNetwork:
    """Apply the truck profile to way segments and build the directed network.

    ``directed=False`` means each row is a way segment in digitised order whose
    ``oneway`` tag decides the directions; ``directed=True`` means rows are
    already directed edges (osmnx graphs). Each edge is named after its row's
    ``name`` (or ``ref``) tag, see :func:`street_name`, unless ``names`` gives
    every row's street name.
    """
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(way_u, dtype=np.int64)
    v = np.asarray(way_v, dtype=np.int64)
    allowed, speed, direction = [], [], []
    row_names: list[str] = []
    known_names = names is not None
    memo: dict[tuple[str, ...], tuple[bool, float, int]] = {}
    name_memo: dict[tuple[object, object], str] = {}
    for row in tags:
        key = tuple(str(row.get(k)) for k in PROFILE_TAGS)
        known = memo.get(key)
        if known is None:
            ok = way_allowed(row, profile, require_highway=require_highway)
            d = (
                1
                if directed
                else parse_oneway(
                    row.get("oneway"),
                    highway=str(row.get("highway") or ""),
                    junction=str(row.get("junction") or ""),
                )
            )
            known = (ok and d is not None, way_speed_kmh(row, profile), 0 if d is None else d)
            memo[key] = known
        if not known_names:
            raw = (row.get("name"), row.get("ref"))
            if isinstance(raw[0], list) or isinstance(raw[1], list):
                row_names.append(street_name(row))
            else:
                street = name_memo.get(raw)
                if street is None:
                    street = name_memo[raw] = street_name(row)
                row_names.append(street)
        allowed.append(known[0])
        speed.append(known[1])
        direction.append(known[2])
    ok_arr = np.array(allowed, dtype=bool).reshape(-1)
    speed_ms = np.array(speed, dtype=np.float64).reshape(-1) / 3.6
    dir_arr = np.array(direction, dtype=np.int64).reshape(-1)
    geom = geometry if geometry is not None else EdgeGeometry.straight(lon, lat, u, v)
    length = (
        np.asarray(length_m, dtype=np.float64) if length_m is not None else polyline_lengths_m(geom)
    )
    fwd = np.flatnonzero(ok_arr & (dir_arr >= 0))
    bwd = np.flatnonzero(ok_arr & (dir_arr <= 0) & (not directed))
    fwd_geom, rev_geom = geom.take(fwd), geom.take(bwd).reversed()
    eu = np.concatenate([u[fwd], v[bwd]])
    ev = np.concatenate([v[fwd], u[bwd]])
    geometry_all = EdgeGeometry(
        np.concatenate([fwd_geom.coords, rev_geom.coords]),
        np.concatenate([fwd_geom.offsets, fwd_geom.offsets[-1] + rev_geom.offsets[1:]]),
    )
    rows = np.concatenate([fwd, bwd])
    edge_len = length[rows]
    edge_time = edge_len / speed_ms[rows]
    per_row = names if names is not None else row_names
    if len(per_row) != len(u):
        raise ValueError(f"{len(per_row)} street names for {len(u)} way segments")
    edge_name = np.asarray(per_row, dtype=object)[rows].tolist()
    # Keep only nodes used by an edge.
    used = np.zeros(len(lon), dtype=bool)
    used[eu] = True
    used[ev] = True
    new_id = np.cumsum(used) - 1
    info = {
        "profile": profile.name,
        "ways_read": len(u),
        "ways_allowed": int(ok_arr.sum()),
        **(stats or {}),
    }
    return build_network(
        name,
        lon[used],
        lat[used],
        new_id[eu],
        new_id[ev],
        edge_time,
        edge_length_m=edge_len,
        edge_geometry=geometry_all,
        edge_name=edge_name,
        stats={**info, "nodes_read": int(used.sum()), "edges_read": len(eu)},
    )
