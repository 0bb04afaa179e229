"""Street geometry of legs and routes: the polylines drawn on the map.

Paths are searched on the uncontracted graph with the same encoded weights as the
matrix, so a leg's length equals the matrix distance.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from optimizer.errors import InputError
from optimizer.network.contract import MS_PER_S, PACK, full_graph
from optimizer.network.graph import FloatArray, RoadNetwork, haversine_m
from optimizer.network.snap import SnappedPoints


def _sub_polyline(coords: FloatArray, f0: float, f1: float) -> list[tuple[float, float]]:
    """The part of a lon/lat polyline between two fractions of its length."""
    seg = np.hypot(
        np.diff(coords[:, 0]) * np.cos(np.radians(coords[:, 1].mean())), np.diff(coords[:, 1])
    )
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return [(float(coords[0, 0]), float(coords[0, 1]))]
    d0, d1 = f0 * total, f1 * total
    inner = (cum > d0) & (cum < d1)
    xs = [np.interp(d0, cum, coords[:, 0]), *coords[inner, 0], np.interp(d1, cum, coords[:, 0])]
    ys = [np.interp(d0, cum, coords[:, 1]), *coords[inner, 1], np.interp(d1, cum, coords[:, 1])]
    return [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]


class _PathFinder:
    """Fastest paths on the full graph from points, reusing each source's Dijkstra tree."""

    def __init__(self, net: RoadNetwork, points: SnappedPoints, uturn_penalty_s: float) -> None:
        self.net, self.points = net, points
        self.full = full_graph(net)
        self.penalty = uturn_penalty_s * MS_PER_S * PACK
        self.trees: dict[int, tuple[Any, Any, float]] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = net.edge_length_m / net.edge_time_s
        self.fastest_m_per_s = max(float(np.nanmax(speed)) if net.n_edges else 1.0, 0.1)

    def _sides(self, i: int) -> list[tuple[int, float, float]]:
        """(edge, fraction, extra cost) of a point's forward and reverse placement."""
        e, f = int(self.points.edge[i]), float(self.points.fraction[i])
        out = [(e, f, 0.0)]
        twin = int(self.net.edge_twin[e])
        if twin >= 0:
            out.append((twin, 1.0 - f, self.penalty))
        return out

    def _node(self, i: int) -> int:
        """The node a point sits on (fraction 0 or 1), or -1."""
        e, f = int(self.points.edge[i]), float(self.points.fraction[i])
        if f <= 0.0:
            return int(self.net.edge_u[e])
        if f >= 1.0:
            return int(self.net.edge_v[e])
        return -1

    def _tree(self, i: int, starts: list[int], limit: float) -> tuple[Any, Any, float]:
        """A Dijkstra tree from point i's start nodes, searched at least up to ``limit``."""
        known = self.trees.get(i)
        if known is None or known[2] < limit:
            dist, pred = dijkstra(
                self.full.csr,
                directed=True,
                indices=starts,
                return_predecessors=True,
                limit=limit,
            )
            known = (dist, pred, limit)
            self.trees[i] = known
        return known

    def leg(self, i: int, j: int, known_s: float | None = None) -> list[tuple[float, float]]:
        """The lon/lat polyline of the fastest path from point i to point j.

        The search is cut off at a time limit — the leg's travel time when the
        caller knows it from the matrix (``known_s``), else a guess from the
        straight-line distance — and widened until the best path found lies within
        it, so legs between nearby stops explore only their neighbourhood.
        """
        net, w, geom = self.net, self.full.edge_w, self.net.edge_geometry
        here = [(float(self.points.lon[i]), float(self.points.lat[i]))]
        there = [(float(self.points.lon[j]), float(self.points.lat[j]))]
        if i == j:
            return here
        direct_cost, direct = np.inf, None
        for ea, fa, pen in self._sides(i):
            for eb, fb, _ in self._sides(j):
                if ea == eb and fb >= fa and (fb - fa) * w[ea] + pen < direct_cost:
                    direct_cost, direct = (fb - fa) * w[ea] + pen, (ea, fa, fb)
        # (node, cost, polyline from the point to the node) to leave i; reverse to reach j.
        Part = tuple[int, float, float] | None
        starts: list[tuple[int, float, Part]] = [
            (int(net.edge_v[e]), (1 - f) * w[e] + pen, (e, f, 1.0)) for e, f, pen in self._sides(i)
        ]
        ends: list[tuple[int, float, Part]] = [
            (int(net.edge_u[e]), f * w[e], (e, 0.0, f)) for e, f, _ in self._sides(j)
        ]
        if self._node(i) >= 0:
            starts.append((self._node(i), 0.0, None))
        if self._node(j) >= 0:
            ends.append((self._node(j), 0.0, None))
        straight = float(haversine_m(here[0][0], here[0][1], there[0][0], there[0][1]))
        guess_s = 60.0 + 2.0 * straight / self.fastest_m_per_s if known_s is None else known_s + 5.0
        limit = guess_s * MS_PER_S * PACK
        while True:
            dist, pred, reached = self._tree(i, [s[0] for s in starts], limit)
            best_cost, best = direct_cost, None
            for k, (_a, cost_a, _) in enumerate(starts):
                for m, (b, cost_b, _) in enumerate(ends):
                    cost = cost_a + dist[k, b] + cost_b
                    if cost < best_cost:
                        best_cost, best = cost, (k, m)
            if best_cost <= reached or not np.isfinite(reached):
                break
            limit = reached * 4 if reached < 2**60 else np.inf
        if best is None:
            if direct is None:
                raise InputError.one(
                    net.name,
                    f"point {self.points.ids[i]}",
                    f"cannot reach point {self.points.ids[j]}",
                    "",
                )
            e, f0, f1 = direct
            return _sub_polyline(geom[e], f0, f1)
        k, m = best
        a, _, part_a = starts[k]
        b, _, part_b = ends[m]
        line = _sub_polyline(geom[part_a[0]], part_a[1], part_a[2]) if part_a else here
        for e in self._edges_to(pred[k], a, b):
            line.extend((float(x), float(y)) for x, y in geom[e][1:])
        tail = _sub_polyline(geom[part_b[0]], part_b[1], part_b[2]) if part_b else there
        return line + tail[1:]

    def _edges_to(self, pred: npt.NDArray[np.int32], start: int, end: int) -> list[int]:
        """Edge indices along a Dijkstra tree from start to end."""
        csr, nodes = self.full.csr, []
        node = end
        while node != start:
            nodes.append(node)
            node = int(pred[node])
            if node < 0:
                raise RuntimeError("broken predecessor tree")
        nodes.append(start)
        nodes.reverse()
        edges = []
        for a, b in itertools.pairwise(nodes):
            lo, hi = csr.indptr[a], csr.indptr[a + 1]
            pos = lo + int(np.searchsorted(csr.indices[lo:hi], b))
            edges.append(int(self.full.edge_at[pos]))
        return edges


def leg_path(
    net: RoadNetwork, points: SnappedPoints, i: int, j: int, *, uturn_penalty_s: float = 0.0
) -> list[tuple[float, float]]:
    """The lon/lat polyline along the streets of the fastest path from point i to point j."""
    return _PathFinder(net, points, uturn_penalty_s).leg(i, j)


def paths_for_sequence(
    net: RoadNetwork,
    points: SnappedPoints,
    order: Sequence[int],
    *,
    uturn_penalty_s: float = 0.0,
    time_s: npt.NDArray[np.int64] | None = None,
) -> list[tuple[float, float]]:
    """One polyline through the points in ``order`` (legs joined, one Dijkstra per stop).

    ``time_s``: the points' travel-time matrix when known; each leg's search then
    stops at that leg's time instead of widening from a guess (several times faster
    on a city network). It is only a bound: a matrix with extra time added (an access
    road) still finds the same paths.
    """
    finder = _PathFinder(net, points, uturn_penalty_s)
    line: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(order):
        known = None if time_s is None else float(time_s[int(a), int(b)])
        leg = finder.leg(int(a), int(b), known)
        line.extend(leg if not line else leg[1:])
    if not line and len(order) == 1:
        i = int(order[0])
        line = [(float(points.lon[i]), float(points.lat[i]))]
    return line
