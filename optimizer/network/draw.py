"""Street lines for drawing a map's base layer: few, long, simplified polylines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from optimizer.network.graph import RoadNetwork

# Continue a line through a junction only when it bends less than this (degrees).
MAX_BEND_DEG = 45.0


def _leaving_angle(coords: np.ndarray, at_start: bool) -> float:
    """Direction (radians) in which a polyline leaves its start or its end point."""
    a, b = (coords[0], coords[1]) if at_start else (coords[-1], coords[-2])
    return math.atan2(float(b[1] - a[1]), float(b[0] - a[0]) * math.cos(math.radians(a[1])))


def _pair_at_nodes(
    ends: dict[int, list[tuple[int, int, float]]],
) -> dict[tuple[int, int], tuple[int, int]]:
    """At each node, pair the line ends that continue most straight ("strokes")."""
    partner: dict[tuple[int, int], tuple[int, int]] = {}
    limit = math.radians(MAX_BEND_DEG)
    for half in ends.values():
        if len(half) < 2:
            continue
        options = []
        for i in range(len(half)):
            for j in range(i + 1, len(half)):
                bend = abs(abs(half[i][2] - half[j][2]) - math.pi)
                bend = min(bend, 2 * math.pi - bend)
                if len(half) == 2 or bend <= limit:
                    options.append((bend, i, j))
        options.sort()
        used: set[int] = set()
        for _, i, j in options:
            if i in used or j in used:
                continue
            used.update((i, j))
            a, b = half[i][:2], half[j][:2]
            partner[a] = b
            partner[b] = a
    return partner


def street_polylines(net: RoadNetwork, max_points: int = 20000) -> list[list[tuple[float, float]]]:
    """Undirected street lines joined into strokes and simplified to about max_points points.

    Each two-way street is drawn once. Edges join where a street continues nearly
    straight through a node. The lines are then simplified (Douglas-Peucker, with a
    tolerance that grows until the budget is met), and the shortest lines are dropped
    if they still do not fit.
    """
    twin = net.edge_twin
    edges = np.flatnonzero((twin < 0) | (np.arange(net.n_edges) < twin))
    if len(edges) == 0:
        return []
    geoms = [net.edge_geometry[int(e)] for e in edges]
    u = net.edge_u[edges].tolist()
    v = net.edge_v[edges].tolist()
    ends: dict[int, list[tuple[int, int, float]]] = {}
    for k, g in enumerate(geoms):
        if len(g) < 2:
            continue
        ends.setdefault(u[k], []).append((k, 0, _leaving_angle(g, True)))
        ends.setdefault(v[k], []).append((k, 1, _leaving_angle(g, False)))
    partner = _pair_at_nodes(ends)
    used = np.zeros(len(edges), dtype=bool)
    lines: list[np.ndarray] = []

    def walk(k: int, entry_end: int) -> np.ndarray:
        """Follow a stroke from edge k, entered at its end ``entry_end``."""
        parts: list[np.ndarray] = []
        while True:
            used[k] = True
            g = geoms[k] if entry_end == 0 else geoms[k][::-1]
            parts.append(g if not parts else g[1:])
            nxt = partner.get((k, 1 - entry_end))
            if nxt is None or used[nxt[0]]:
                return np.concatenate(parts)
            k, entry_end = nxt

    for k in range(len(edges)):  # strokes that start at an unpaired end
        for end in (0, 1):
            if not used[k] and (k, end) not in partner:
                lines.append(walk(k, end))
    for k in range(len(edges)):  # closed loops
        if not used[k]:
            lines.append(walk(k, 0))
    return _fit_budget(lines, max_points)


def _fit_budget(lines: list[np.ndarray], max_points: int) -> list[list[tuple[float, float]]]:
    """Simplify lines, then drop the shortest, until at most max_points points remain."""
    geoms = np.array([shapely.LineString(line) for line in lines if len(line) >= 2], dtype=object)
    tolerance = 0.0
    simple: np.ndarray = geoms
    for _ in range(12):
        total = int(shapely.get_num_coordinates(simple).sum())
        if total <= max_points:
            break
        tolerance = 1e-5 if tolerance == 0 else tolerance * 2
        simple = np.asarray(shapely.simplify(geoms, tolerance, preserve_topology=False))
    counts = shapely.get_num_coordinates(simple)
    if counts.sum() > max_points:
        order = np.argsort(-shapely.length(simple))
        keep = order[np.cumsum(counts[order]) <= max_points]
        simple = simple[np.sort(keep)]
    out = []
    for geom in np.asarray(simple, dtype=object).tolist():
        coords = shapely.get_coordinates(geom)
        if len(coords) >= 2:
            out.append([(round(float(x), 6), round(float(y), 6)) for x, y in coords])
    return out
