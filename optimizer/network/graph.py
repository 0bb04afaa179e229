"""The one network object: a directed road graph held as read-only numpy arrays."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EARTH_RADIUS_M = 6_371_008.8
NAME_SEP = " / "  # between the names of a street that has several
log = logging.getLogger("optimizer")


def join_names(names: Iterable[object]) -> str:
    """One street name from several: the distinct non-empty ones, in order, joined by " / ".

    Already joined names are split first, so joining twice changes nothing; ``None``,
    NaN and blank values are skipped. ``["A", "B", "A"]`` gives ``"A / B"``.
    """
    seen: dict[str, None] = {}
    for raw in names:
        if raw is None or (isinstance(raw, float) and raw != raw):
            continue
        for part in str(raw).split(NAME_SEP):
            part = part.strip()
            if part:
                seen.setdefault(part, None)
    return NAME_SEP.join(seen)


def _readonly(array: npt.ArrayLike, dtype: type) -> Any:
    """A contiguous read-only copy, so nobody mutates a shared network by accident."""
    out: npt.NDArray[Any] = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


class EdgeGeometry(Sequence[FloatArray]):
    """Per-edge (k, 2) lon/lat polylines stored compactly as one coordinate array.

    ``geometry[e]`` is a read-only view of edge ``e``'s points, end points included.
    """

    __slots__ = ("coords", "offsets")

    def __init__(self, coords: npt.ArrayLike, offsets: npt.ArrayLike) -> None:
        self.coords: FloatArray = _readonly(np.asarray(coords).reshape(-1, 2), np.float64)
        self.offsets: IntArray = _readonly(offsets, np.int64)

    @classmethod
    def straight(cls, lon: FloatArray, lat: FloatArray, u: IntArray, v: IntArray) -> EdgeGeometry:
        """Two-point geometries from node coordinates (edges that are straight segments)."""
        coords = np.empty((len(u), 2, 2))
        coords[:, 0, 0], coords[:, 0, 1] = lon[u], lat[u]
        coords[:, 1, 0], coords[:, 1, 1] = lon[v], lat[v]
        return cls(coords.reshape(-1, 2), np.arange(0, 2 * len(u) + 1, 2))

    @classmethod
    def from_list(cls, parts: Sequence[npt.ArrayLike]) -> EdgeGeometry:
        """Pack a list of (k, 2) arrays."""
        arrays = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts]
        sizes = np.array([len(a) for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        coords = np.concatenate(arrays) if arrays else np.empty((0, 2))
        return cls(coords, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> FloatArray: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[FloatArray]: ...
    def __getitem__(self, index: int | slice) -> FloatArray | Sequence[FloatArray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.coords[self.offsets[index] : self.offsets[index + 1]]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[FloatArray]:
        for i in range(len(self)):
            yield self[i]

    def reversed(self) -> EdgeGeometry:
        """Every polyline in the opposite direction (for reverse edges of two-way streets)."""
        off = self.offsets
        sizes = np.diff(off)
        owner = np.repeat(np.arange(len(sizes)), sizes)
        idx = off[owner + 1] - 1 - (np.arange(len(self.coords)) - off[owner])
        return EdgeGeometry(self.coords[idx], off)

    def take(self, edges: IntArray) -> EdgeGeometry:
        """The geometries of a subset of edges, in that order."""
        starts, ends = self.offsets[edges], self.offsets[edges + 1]
        sizes = ends - starts
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        idx = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1])
        return EdgeGeometry(self.coords[idx], offsets)


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def polyline_lengths_m(geometry: EdgeGeometry) -> FloatArray:
    """Length of every edge's polyline in metres."""
    c, off = geometry.coords, geometry.offsets
    if len(c) < 2:
        return np.zeros(len(geometry))
    seg = haversine_m(c[:-1, 0], c[:-1, 1], c[1:, 0], c[1:, 1])
    # Segments that straddle two edges are not part of either: zero them via a mask.
    inside = np.ones(len(c) - 1, dtype=bool)
    inside[off[1:-1] - 1] = False
    cum = np.concatenate([[0.0], np.cumsum(np.where(inside, seg, 0.0))])
    return np.asarray(cum[off[1:] - 1] - cum[off[:-1]], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph as read-only arrays; every stage shares this one object.

    ``edge_name`` is each edge's street name ("" when the source has none); it
    defaults to "" for every edge.
    """

    name: str
    node_lon: FloatArray
    node_lat: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_length_m: FloatArray
    edge_time_s: FloatArray
    edge_geometry: EdgeGeometry
    stats: Mapping[str, Any] = field(default_factory=dict)
    edge_name: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, dtype in (
            ("node_lon", np.float64),
            ("node_lat", np.float64),
            ("edge_u", np.int64),
            ("edge_v", np.int64),
            ("edge_length_m", np.float64),
            ("edge_time_s", np.float64),
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name), dtype))
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))
        n_nodes, n_edges = len(self.node_lon), len(self.edge_u)
        if len(self.node_lat) != n_nodes:
            raise ValueError("node_lon and node_lat differ in length")
        for name in ("edge_v", "edge_length_m", "edge_time_s"):
            if len(getattr(self, name)) != n_edges:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} values, expected {n_edges}"
                )
        if len(self.edge_geometry) != n_edges:
            raise ValueError("edge_geometry must have one polyline per edge")
        names = tuple(map(str, self.edge_name)) if len(self.edge_name) else ("",) * n_edges
        if len(names) != n_edges:
            raise ValueError(f"edge_name has {len(names)} values, expected {n_edges}")
        object.__setattr__(self, "edge_name", names)
        if n_edges and (
            self.edge_u.min() < 0 or max(self.edge_u.max(), self.edge_v.max()) >= n_nodes
        ):
            raise ValueError("edge end points must index nodes")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edge_u)

    def bbox(self) -> tuple[float, float, float, float]:
        """Bounding box of the nodes: ``(min_lon, min_lat, max_lon, max_lat)``."""
        return (
            float(self.node_lon.min()),
            float(self.node_lat.min()),
            float(self.node_lon.max()),
            float(self.node_lat.max()),
        )

    @cached_property
    def edge_twin(self) -> IntArray:
        """Index of the reverse edge of each edge (same street, other way), or -1."""
        twin = np.full(self.n_edges, -1, dtype=np.int64)
        index: dict[tuple[int, int, float], int] = {}
        lengths = np.round(self.edge_length_m, 1)
        for e, (u, v, length) in enumerate(
            zip(self.edge_u.tolist(), self.edge_v.tolist(), lengths.tolist(), strict=True)
        ):
            index.setdefault((u, v, length), e)
        for e, (u, v, length) in enumerate(
            zip(self.edge_u.tolist(), self.edge_v.tolist(), lengths.tolist(), strict=True)
        ):
            if u != v:
                twin[e] = index.get((v, u, length), -1)
        twin.setflags(write=False)
        return twin

    def street_polylines(self, max_points: int = 20000) -> list[list[tuple[float, float]]]:
        """Simplified undirected street lines for a map's base layer, about max_points points.

        Two-way streets are drawn once, edges are joined into long strokes, and the
        lines are simplified to the budget (see :mod:`optimizer.network.draw`).
        """
        from optimizer.network.draw import street_polylines

        return street_polylines(self, max_points)


def build_network(
    name: str,
    node_lon: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    edge_u: npt.ArrayLike,
    edge_v: npt.ArrayLike,
    edge_time_s: npt.ArrayLike,
    *,
    edge_length_m: npt.ArrayLike | None = None,
    edge_geometry: EdgeGeometry | None = None,
    edge_name: Sequence[str] | None = None,
    stats: Mapping[str, Any] | None = None,
    keep_largest_scc: bool = True,
) -> RoadNetwork:
    """A RoadNetwork from raw arrays, keeping only the largest strongly connected part.

    Lengths default to the geometry's great-circle length and geometries to straight
    segments; street names (one per edge) to "". What was dropped is recorded in
    ``stats``.
    """
    lon = np.asarray(node_lon, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    u = np.asarray(edge_u, dtype=np.int64)
    v = np.asarray(edge_v, dtype=np.int64)
    time_s = np.asarray(edge_time_s, dtype=np.float64)
    geometry = edge_geometry if edge_geometry is not None else EdgeGeometry.straight(lon, lat, u, v)
    length = (
        np.asarray(edge_length_m, dtype=np.float64)
        if edge_length_m is not None
        else polyline_lengths_m(geometry)
    )
    names: tuple[str, ...] = tuple(edge_name) if edge_name is not None else ("",) * len(u)
    if len(names) != len(u):
        raise ValueError(f"edge_name has {len(names)} values, expected {len(u)}")
    info: dict[str, Any] = dict(stats or {})
    info.setdefault("nodes_read", len(lon))
    info.setdefault("edges_read", len(u))
    if keep_largest_scc and len(u):
        graph = csr_matrix((np.ones(len(u)), (u, v)), shape=(len(lon), len(lon)))
        n_comp, labels = connected_components(graph, directed=True, connection="strong")
        sizes = np.bincount(labels)
        # Among components touched by edges, the one with most nodes.
        big = int(np.argmax(sizes))
        keep_node = labels == big
        keep_edge = keep_node[u] & keep_node[v]
        new_id = np.cumsum(keep_node) - 1
        info["components"] = int(n_comp)
        info["nodes_dropped_scc"] = int((~keep_node).sum())
        info["edges_dropped_scc"] = int((~keep_edge).sum())
        lon, lat = lon[keep_node], lat[keep_node]
        edges = np.flatnonzero(keep_edge)
        u, v = new_id[u[edges]], new_id[v[edges]]
        time_s, length = time_s[edges], length[edges]
        geometry = geometry.take(edges)
        names = tuple(names[e] for e in edges.tolist())
        if info["nodes_dropped_scc"]:
            log.info(
                "%s: kept the largest strongly connected component; dropped %d of %d nodes",
                name,
                info["nodes_dropped_scc"],
                info["nodes_read"],
            )
    info["nodes"], info["edges"] = len(lon), len(u)
    info["edges_named"] = sum(1 for n in names if n)
    return RoadNetwork(
        name=name,
        node_lon=lon,
        node_lat=lat,
        edge_u=u,
        edge_v=v,
        edge_length_m=length,
        edge_time_s=time_s,
        edge_geometry=geometry,
        stats=info,
        edge_name=names,
    )
