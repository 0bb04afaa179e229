"""Snapping points onto the nearest street: the projected point on the nearest edge."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from optimizer.errors import InputError, Problem
from optimizer.network.graph import EARTH_RADIUS_M, FloatArray, IntArray, RoadNetwork, _readonly

#: No point is moved farther than this onto a street, whatever the caller allows: a
#: point kilometres from the nearest street is not beside it (the same bound as
#: ``max_snap_m`` in the scenario schema, see optimizer/scenario/limits.py).
MAX_SNAP_M = 5_000.0

#: How location ids are prefixed by the pipeline (``pt:P1``), and what to call them.
_KINDS = {"pt": "point", "depot": "depot", "fac": "facility"}


@dataclass(frozen=True, eq=False)
class SnappedPoints:
    """Points placed on the network: which directed edge, how far along it, how far moved.

    For a two-way street the edge is the direction that has the point on its right
    (traffic drives on the right in Kazakhstan, so a truck stops at that kerb); the
    matrix also lets a truck leave or reach the point along the reverse edge.
    """

    ids: tuple[str, ...]
    lon: FloatArray
    lat: FloatArray
    edge: IntArray
    fraction: FloatArray
    distance_m: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        for name, dtype in (
            ("lon", np.float64),
            ("lat", np.float64),
            ("edge", np.int64),
            ("fraction", np.float64),
            ("distance_m", np.float64),
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name), dtype))
            if len(getattr(self, name)) != len(self.ids):
                raise ValueError(f"{name} must have one value per id")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class _SegmentIndex:
    """Every edge polyline cut into straight segments in a local metric plane."""

    lon0: float
    lat0: float
    kx: float
    ky: float
    x0: FloatArray
    y0: FloatArray
    x1: FloatArray
    y1: FloatArray
    edge: IntArray
    start_m: FloatArray  # planar length of the edge before this segment
    edge_len: FloatArray  # planar length of each edge
    tree: Any

    def to_xy(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Local equirectangular coordinates in metres (accurate to ~0.1 % across a city)."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky


_INDEXES: weakref.WeakKeyDictionary[RoadNetwork, _SegmentIndex] = weakref.WeakKeyDictionary()


def _segment_index(net: RoadNetwork) -> _SegmentIndex:
    """Build (once per network) an STRtree over the segments of one edge per street side pair."""
    known = _INDEXES.get(net)
    if known is not None:
        return known
    min_lon, min_lat, max_lon, max_lat = net.bbox()
    lon0, lat0 = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    ky = np.radians(1.0) * EARTH_RADIUS_M
    kx = ky * np.cos(np.radians(lat0))
    twin = net.edge_twin
    edges = np.flatnonzero((twin < 0) | (np.arange(net.n_edges) < twin))
    geom = net.edge_geometry.take(edges)
    c, off = geom.coords, geom.offsets
    x, y = (c[:, 0] - lon0) * kx, (c[:, 1] - lat0) * ky
    inside = np.ones(max(len(c) - 1, 0), dtype=bool)
    inside[off[1:-1] - 1] = False
    first = np.flatnonzero(inside)
    owner = np.searchsorted(off, first, side="right") - 1
    seg_len = np.hypot(x[first + 1] - x[first], y[first + 1] - y[first])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    owner_first_seg = np.searchsorted(owner, np.arange(len(edges)))
    start_m = cum[:-1] - cum[owner_first_seg[owner]]
    edge_len = np.zeros(net.n_edges)
    np.add.at(edge_len, edges[owner], seg_len)
    lines = shapely.linestrings(
        np.stack([np.stack([x[first], y[first]], 1), np.stack([x[first + 1], y[first + 1]], 1)], 1)
    )
    index = _SegmentIndex(
        lon0=lon0,
        lat0=lat0,
        kx=float(kx),
        ky=float(ky),
        x0=x[first],
        y0=y[first],
        x1=x[first + 1],
        y1=y[first + 1],
        edge=edges[owner],
        start_m=start_m,
        edge_len=edge_len,
        tree=shapely.STRtree(np.asarray(lines)),
    )
    _INDEXES[net] = index
    return index


def snap_points(
    net: RoadNetwork,
    ids: Sequence[str],
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    max_snap_m: float = 300.0,
    file: str = "",
    files: Mapping[str, str] | None = None,
) -> SnappedPoints:
    """Project each point onto its nearest street edge; one InputError lists every bad point.

    A point is bad when its coordinates are not finite, it lies outside the network's
    bounding box (widened by ``max_snap_m``), or its nearest drivable street is
    farther than ``max_snap_m`` (e.g. in a river, or beside a street that is not
    connected to the main network and was dropped). ``max_snap_m`` is capped at
    :data:`MAX_SNAP_M`. Ids prefixed ``pt:``, ``depot:`` or ``fac:`` are reported as
    a point, depot or facility, in the file ``files`` gives for that prefix (default
    ``file``).
    """
    ids_t = tuple(str(i) for i in ids)
    lon_a = np.asarray(lon, dtype=np.float64).reshape(-1)
    lat_a = np.asarray(lat, dtype=np.float64).reshape(-1)
    if not (len(ids_t) == len(lon_a) == len(lat_a)):
        raise ValueError("ids, lon and lat must have the same length")
    n = len(ids_t)
    if n == 0:
        empty = np.empty(0)
        return SnappedPoints((), empty, empty, empty.astype(np.int64), empty, empty)
    index = _segment_index(net)
    finite = np.isfinite(lon_a) & np.isfinite(lat_a)
    x, y = index.to_xy(np.where(finite, lon_a, index.lon0), np.where(finite, lat_a, index.lat0))
    pts = shapely.points(x, y)
    which, nearest = index.tree.query_nearest(pts, all_matches=False)
    seg = np.zeros(n, dtype=np.int64)
    seg[which] = nearest
    dx, dy = index.x1[seg] - index.x0[seg], index.y1[seg] - index.y0[seg]
    seg_len2 = dx * dx + dy * dy
    t = np.where(
        seg_len2 > 0,
        ((x - index.x0[seg]) * dx + (y - index.y0[seg]) * dy)
        / np.where(seg_len2 > 0, seg_len2, 1.0),
        0.0,
    )
    t = np.clip(t, 0.0, 1.0)
    px, py = index.x0[seg] + t * dx, index.y0[seg] + t * dy
    dist = np.hypot(x - px, y - py)
    edge = index.edge[seg].copy()
    along = index.start_m[seg] + t * np.sqrt(seg_len2)
    elen = index.edge_len[edge]
    frac = np.where(elen > 0, along / np.where(elen > 0, elen, 1.0), 0.0)
    # Prefer the direction with the point on its right-hand kerb.
    cross = dx * (y - index.y0[seg]) - dy * (x - index.x0[seg])
    twin = net.edge_twin[edge]
    swap = (cross > 0) & (twin >= 0)
    edge[swap] = twin[swap]
    frac[swap] = 1.0 - frac[swap]
    frac = np.clip(frac, 0.0, 1.0)
    plon, plat = px / index.kx + index.lon0, py / index.ky + index.lat0
    limit = min(float(max_snap_m), MAX_SNAP_M) if np.isfinite(max_snap_m) else MAX_SNAP_M
    _check(net, ids_t, lon_a, lat_a, finite, dist, limit, files or {}, file)
    return SnappedPoints(ids_t, plon, plat, edge, frac, dist)


def _check(
    net: RoadNetwork,
    ids: tuple[str, ...],
    lon: FloatArray,
    lat: FloatArray,
    finite: npt.NDArray[np.bool_],
    dist: FloatArray,
    max_snap_m: float,
    files: Mapping[str, str],
    file: str,
) -> None:
    """Raise one InputError naming every point that cannot be placed on the network."""
    min_lon, min_lat, max_lon, max_lat = net.bbox()
    pad_lat = max_snap_m / (np.radians(1.0) * EARTH_RADIUS_M)
    pad_lon = pad_lat / max(np.cos(np.radians((min_lat + max_lat) / 2)), 1e-6)
    problems: list[Problem] = []
    for i in range(len(ids)):
        kind, _, name = ids[i].partition(":") if ":" in ids[i] else ("pt", "", ids[i])
        where = f"{_KINDS.get(kind, 'point')} {name if kind in _KINDS else ids[i]}"
        if not finite[i]:
            what, fix = "has no valid coordinates", "give lon and lat as numbers in WGS84 degrees"
        elif not (
            min_lon - pad_lon <= lon[i] <= max_lon + pad_lon
            and min_lat - pad_lat <= lat[i] <= max_lat + pad_lat
        ):
            what = (
                f"({lon[i]:.6f}, {lat[i]:.6f}) lies outside the road network "
                f"({min_lon:.4f}..{max_lon:.4f} E, {min_lat:.4f}..{max_lat:.4f} N), "
                f"{dist[i]:.0f} m from the nearest street"
            )
            fix = "check the coordinates (lon/lat swapped?) or use a road network that covers this point"
        elif dist[i] > max_snap_m:
            what = (
                f"is {dist[i]:.0f} m from the nearest drivable street connected to the network "
                f"(limit {max_snap_m:.0f} m)"
            )
            fix = (
                "move the point next to a street, fix the street data, or raise max_snap_m "
                f"(at most {MAX_SNAP_M:,.0f} m)"
            )
        else:
            continue
        problems.append(Problem(file=files.get(kind, file), where=where, what=what, fix=fix))
    if problems:
        raise InputError(problems)


_INCIDENT: weakref.WeakKeyDictionary[RoadNetwork, tuple[IntArray, IntArray]] = (
    weakref.WeakKeyDictionary()
)


def _incident_edges(net: RoadNetwork) -> tuple[IntArray, IntArray]:
    """Edges touching each node (in or out) as CSR ``(pointer, edges)``, memoised."""
    known = _INCIDENT.get(net)
    if known is None:
        ends = np.concatenate([net.edge_u, net.edge_v])
        order = np.argsort(ends, kind="stable")
        edges = order % max(net.n_edges, 1)
        ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=net.n_nodes))])
        known = (ptr.astype(np.int64), edges.astype(np.int64))
        _INCIDENT[net] = known
    return known


def _distance_to_polyline_m(lon: float, lat: float, line: FloatArray) -> float:
    """Metres from a point to a lon/lat polyline (local equirectangular plane)."""
    ky = np.radians(1.0) * EARTH_RADIUS_M
    kx = ky * np.cos(np.radians(lat))
    x, y = (line[:, 0] - lon) * kx, (line[:, 1] - lat) * ky
    if len(x) < 2:
        return float(np.hypot(x, y).min()) if len(x) else float("inf")
    dx, dy = np.diff(x), np.diff(y)
    len2 = dx * dx + dy * dy
    t = np.clip(-(x[:-1] * dx + y[:-1] * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    return float(np.hypot(x[:-1] + t * dx, y[:-1] + t * dy).min())


def street_names(net: RoadNetwork, snapped: SnappedPoints) -> tuple[str, ...]:
    """The street of each snapped point, for route sheets: its edge's name.

    When that edge has no name (a service road, a driveway, an unnamed line), the
    name of the named edge nearest the point among the edges sharing one of its end
    nodes; "" when there is none. ``snapped`` must come from :func:`snap_points` on
    this network.
    """
    edges = np.asarray(snapped.edge, dtype=np.int64)
    if len(edges) and (edges.min() < 0 or edges.max() >= net.n_edges):
        raise ValueError("snapped points refer to edges this network does not have")
    names = net.edge_name
    out = [names[e] for e in edges.tolist()]
    missing = [i for i, name in enumerate(out) if not name]
    if not missing:
        return tuple(out)
    ptr, incident = _incident_edges(net)
    for i in missing:
        e = int(edges[i])
        best, best_d = "", float("inf")
        for node in (int(net.edge_u[e]), int(net.edge_v[e])):
            for f in incident[ptr[node] : ptr[node + 1]].tolist():
                if not names[f]:
                    continue
                d = _distance_to_polyline_m(
                    float(snapped.lon[i]), float(snapped.lat[i]), net.edge_geometry[f]
                )
                if d < best_d:
                    best, best_d = names[f], d
        out[i] = best
    return tuple(out)
