"""Travel matrices between snapped points and the street geometry of legs.

Times come from the fastest path; distances are the length of that same path.
A point sits at a fraction of a directed edge: it is left toward the edge's head
(or, on a two-way street, along the reverse edge) and reached from the edge's tail
(or along the reverse edge), so partial edges at both ends are counted exactly.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from optimizer.errors import InputError, Problem
from optimizer.network.cache import digest, load_arrays, network_digest, save_arrays
from optimizer.network.contract import (
    CM_PER_M,
    MAX_MS,
    MS_PER_S,
    PACK,
    compact_graph,
    decode,
    eliminate_nodes,
    encode,
)
from optimizer.network.graph import FloatArray, IntArray, RoadNetwork, _readonly
from optimizer.network.snap import SnappedPoints

log = logging.getLogger("optimizer")
BLOCK_ROWS = 128  # sources per Dijkstra call: bounds memory at rows x compact nodes
COMBINE_CELLS = 4_000_000  # matrix cells per block when combining junction distances


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Asymmetric road distances (m) and times (s) between points, int64, zero diagonal."""

    ids: tuple[str, ...]
    distance_m: IntArray
    time_s: IntArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(self.ids))
        n = len(self.ids)
        for name in ("distance_m", "time_s"):
            arr = _readonly(getattr(self, name), np.int64)
            if arr.shape != (n, n):
                raise ValueError(f"{name} must be {n} x {n}, got {arr.shape}")
            object.__setattr__(self, name, arr)


@dataclass(frozen=True)
class _Reps:
    """The ways each point joins the compact graph, one row per (point, edge) placement.

    A point has a placement on its edge, one on the reverse edge of a two-way street,
    and, when it sits exactly on a chain-interior node, one on every edge at that
    node. Each placement leaves toward its chain's end junction and is reached from
    its chain's start junction.
    """

    point: IntArray
    chain: IntArray
    pos: FloatArray  # encoded position from the chain start
    pos_ms: FloatArray  # unrounded time from the chain start, to order points on a chain
    penalty: FloatArray  # encoded extra cost to leave this way (U-turn at the stop)
    exit_node: IntArray
    exit_w: FloatArray
    entry_node: IntArray
    entry_w: FloatArray
    at_node: IntArray  # (n,) compact junction the point sits on, or -1


def _placements(
    net: RoadNetwork, points: SnappedPoints, uturn_penalty_s: float
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, IntArray]:
    """(point, edge, fraction, penalty in ms) rows and the node each point sits on (or -1)."""
    n = len(points)
    idx = np.arange(n)
    twin = net.edge_twin[points.edge]
    has = twin >= 0
    node = np.where(points.fraction <= 0.0, net.edge_u[points.edge], -1)
    node = np.where(points.fraction >= 1.0, net.edge_v[points.edge], node)
    on = np.flatnonzero(node >= 0)
    # Every edge leaving or entering a node a point sits on.
    out_rows = np.flatnonzero(np.isin(net.edge_u, node[on]))
    in_rows = np.flatnonzero(np.isin(net.edge_v, node[on]))
    owner_out: dict[int, list[int]] = {int(x): [] for x in node[on]}
    for e in out_rows.tolist():
        owner_out[int(net.edge_u[e])].append(e)
    owner_in: dict[int, list[int]] = {int(x): [] for x in node[on]}
    for e in in_rows.tolist():
        owner_in[int(net.edge_v[e])].append(e)
    extra_p: list[int] = []
    extra_e: list[int] = []
    extra_f: list[float] = []
    for i in on.tolist():
        x = int(node[i])
        for e in owner_out[x]:
            extra_p.append(i)
            extra_e.append(e)
            extra_f.append(0.0)
        for e in owner_in[x]:
            extra_p.append(i)
            extra_e.append(e)
            extra_f.append(1.0)
    point = np.concatenate([idx, idx[has], np.array(extra_p, dtype=np.int64)])
    edge = np.concatenate([points.edge, twin[has], np.array(extra_e, dtype=np.int64)])
    frac = np.concatenate([points.fraction, 1.0 - points.fraction[has], np.array(extra_f)])
    pen = np.concatenate(
        [np.zeros(n), np.full(int(has.sum()), uturn_penalty_s * MS_PER_S), np.zeros(len(extra_p))]
    )
    return point, edge, frac, pen, node


def _reps(net: RoadNetwork, points: SnappedPoints, uturn_penalty_s: float) -> _Reps:
    """Where each point enters and leaves the compact graph."""
    comp = compact_graph(net)
    point, edge, frac, pen_ms, node = _placements(net, points, uturn_penalty_s)
    chain = comp.chain_of_edge[edge]
    pos_ms = comp.off_ms[edge] + frac * comp.edge_ms[edge]
    pos_cm = comp.off_cm[edge] + frac * comp.edge_cm[edge]
    at_node = np.where(node >= 0, comp.compact_of[np.maximum(node, 0)], -1)
    return _Reps(
        point=point,
        chain=chain,
        pos=encode(pos_ms, pos_cm),
        pos_ms=pos_ms,
        penalty=encode(pen_ms, np.zeros(len(pen_ms))),
        exit_node=comp.chain_end[chain],
        exit_w=encode(comp.chain_ms[chain] - pos_ms + pen_ms, comp.chain_cm[chain] - pos_cm),
        entry_node=comp.chain_start[chain],
        entry_w=encode(pos_ms, pos_cm),
        at_node=at_node,
    )


_WORKER_GRAPH: csr_matrix | None = None


def _init_worker(graph: csr_matrix) -> None:
    """Hold the graph once per worker process."""
    global _WORKER_GRAPH
    _WORKER_GRAPH = graph


def _dijkstra_rows(
    sources: IntArray, targets: IntArray, graph: csr_matrix | None = None
) -> FloatArray:
    """Encoded shortest distances from sources to targets, in blocks to bound memory."""
    graph = graph if graph is not None else _WORKER_GRAPH
    out = np.empty((len(sources), len(targets)))
    for start in range(0, len(sources), BLOCK_ROWS):
        rows = sources[start : start + BLOCK_ROWS]
        dist = dijkstra(graph, directed=True, indices=rows)
        out[start : start + len(rows)] = dist[:, targets]
    return out


def _many_to_many(
    graph: csr_matrix, sources: IntArray, targets: IntArray, workers: int
) -> FloatArray:
    """Split sources across worker processes (scipy's Dijkstra holds the GIL: measured)."""
    if workers <= 1 or len(sources) < 2 * BLOCK_ROWS:
        return _dijkstra_rows(sources, targets, graph)
    parts = [p for p in np.array_split(sources, workers * 4) if len(p)]
    # Worker processes are forked (they inherit the graph). Forking is unsafe once
    # other threads run, and spawning would re-import the caller's main module, so
    # then the search stays in this process.
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        log.debug("travel matrix: one process (no fork, or other threads running)")
        return _dijkstra_rows(sources, targets, graph)
    context = mp.get_context("fork")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(graph,)
    ) as pool:
        results = list(pool.map(_dijkstra_rows, parts, [targets] * len(parts)))
    return np.concatenate(results)


def _default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def travel_matrix(
    net: RoadNetwork,
    points: SnappedPoints,
    *,
    cache_dir: Path | None = None,
    workers: int | None = None,
    uturn_penalty_s: float = 0.0,
) -> TravelMatrix:
    """Fastest-path times (s) and their lengths (m) between all snapped points.

    Dijkstra runs on the chain-contracted graph from each point's exit junctions,
    split across ``workers`` threads; results are cached in ``cache_dir`` keyed by a
    hash of the graph arrays and the points.
    """
    n = len(points)
    cache_path = None
    if cache_dir is not None:
        key = digest(network_digest(net), points.ids, points.edge, points.fraction, uturn_penalty_s)
        cache_path = Path(cache_dir) / f"matrix-{key}.npz"
        stored = load_arrays(cache_path)
        if stored is not None:
            return TravelMatrix(points.ids, stored["distance_m"], stored["time_s"])
    if n == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return TravelMatrix((), empty, empty)
    comp = compact_graph(net)
    reps = _reps(net, points, uturn_penalty_s)
    used = workers or _default_workers()
    junctions = np.unique(np.concatenate([reps.exit_node, reps.at_node[reps.at_node >= 0]]))
    if len(junctions) < n:  # many points on few junctions: search from the junctions
        best = _from_junctions(comp.csr, reps, n, used)
    else:  # search from each point (a virtual node covers both directions of its street)
        graph, p_out, p_in = _with_point_nodes(comp.csr, reps)
        keep = np.zeros(graph.shape[0], dtype=bool)
        keep[p_out] = keep[p_in] = True
        graph, new_id = eliminate_nodes(graph, keep)
        best = _many_to_many(graph, new_id[p_out], new_id[p_in], used)
        best -= 2.0  # the 1 cm added to each virtual arc
    _same_chain(reps, best)
    np.fill_diagonal(best, 0.0)
    if not np.isfinite(best).all():
        bad = np.argwhere(~np.isfinite(best))[:5]
        raise InputError(
            [
                Problem(
                    file=net.name,
                    where=f"point {points.ids[i]}",
                    what=f"cannot reach point {points.ids[j]} on the road network",
                    fix="keep only the largest strongly connected part (build_network does this)",
                )
                for i, j in bad
            ]
        )
    t_ms, l_cm = decode(best)
    longest = float(t_ms.max())
    if longest * max(comp.speed_cm_per_ms, 1e-9) >= PACK or longest >= MAX_MS:
        raise InputError.one(
            file=net.name,
            where="road network",
            what="paths are too long for the matrix encoding (over about 1,300 km or 18 h)",
            fix="use a city- or region-sized road network",
        )
    result = TravelMatrix(
        points.ids,
        np.rint(l_cm / CM_PER_M).astype(np.int64),
        np.rint(t_ms / MS_PER_S).astype(np.int64),
    )
    if cache_path is not None:
        save_arrays(cache_path, distance_m=result.distance_m, time_s=result.time_s)
    return result


def _from_junctions(graph: csr_matrix, reps: _Reps, n: int, workers: int) -> FloatArray:
    """Point-to-point costs from Dijkstra between the junctions where points join.

    First the best way from each junction into each point, then the best way out
    of each point to a junction; the second step runs in blocks to bound memory.
    """
    on = np.flatnonzero(reps.at_node >= 0)
    out_point = np.concatenate([reps.point, on])
    out_node = np.concatenate([reps.exit_node, reps.at_node[on]])
    out_w = np.concatenate([reps.exit_w, np.zeros(len(on))])
    in_point = np.concatenate([reps.point, on])
    in_node = np.concatenate([reps.entry_node, reps.at_node[on]])
    in_w = np.concatenate([reps.entry_w, np.zeros(len(on))])
    src, src_of = np.unique(out_node, return_inverse=True)
    tgt, tgt_of = np.unique(in_node, return_inverse=True)
    dist = _many_to_many(graph, src, tgt, workers)
    # Best way into each point from each source junction, then out of each point.
    col_order = np.argsort(in_point, kind="stable")
    col_starts = np.searchsorted(in_point[col_order], np.arange(n))
    into = dist[:, tgt_of[col_order]] + in_w[None, col_order]
    into = np.minimum.reduceat(into, col_starts, axis=1)  # (junctions, n)
    row_order = np.argsort(out_point, kind="stable")
    row_point = out_point[row_order]
    best = np.empty((n, n))
    step = max(1, COMBINE_CELLS // max(n, 1))
    for lo in range(0, len(row_order), step):
        rows = row_order[lo : lo + step]
        cand = into[src_of[rows]] + out_w[rows, None]
        owners = row_point[lo : lo + step]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        block = np.minimum.reduceat(cand, starts, axis=0)
        first = owners[starts]
        # A point's rows may straddle two blocks: merge with what is there.
        if lo and first[0] == row_point[lo - 1]:
            block[0] = np.minimum(block[0], best[first[0]])
        best[first] = block
    return best


def _with_point_nodes(graph: csr_matrix, reps: _Reps) -> tuple[csr_matrix, IntArray, IntArray]:
    """The compact graph plus a source node and a target node per point.

    A source node has arcs to the point's exit junctions, a target node arcs from
    its entry junctions, so one Dijkstra per point covers both directions of its
    street and the partial edges. Virtual arcs carry 1 cm extra, so none is zero.
    """
    k, n = graph.shape[0], reps.at_node.shape[0]
    p_out = np.arange(k, k + n)
    p_in = np.arange(k + n, k + 2 * n)
    coo = graph.tocoo()
    # A point exactly on a junction also leaves and arrives through it directly.
    on = np.flatnonzero(reps.at_node >= 0)
    rows = np.concatenate(
        [coo.row, p_out[reps.point], reps.entry_node, p_out[on], reps.at_node[on]]
    )
    cols = np.concatenate([coo.col, reps.exit_node, p_in[reps.point], reps.at_node[on], p_in[on]])
    data = np.concatenate([coo.data, reps.exit_w + 1.0, reps.entry_w + 1.0, np.ones(2 * len(on))])
    size = k + 2 * n
    # Parallel virtual arcs (a point whose two sides share a junction): keep the lighter.
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    augmented = csr_matrix((data[first], (rows[first], cols[first])), shape=(size, size))
    return augmented, p_out, p_in


def _same_chain(reps: _Reps, best: FloatArray) -> None:
    """Lower ``best`` for points on one chain reached directly along it, in order."""
    order = np.argsort(reps.chain, kind="stable")
    bounds = np.flatnonzero(np.diff(reps.chain[order])) + 1
    for group in np.split(order, bounds):
        if len(group) < 2:
            continue
        who, pos = reps.point[group], reps.pos[group]
        diff = pos[None, :] - pos[:, None] + reps.penalty[group][:, None]
        raw = reps.pos_ms[group]
        ok = (raw[None, :] >= raw[:, None]) & (who[:, None] != who[None, :])
        i, j = np.nonzero(ok)
        np.minimum.at(best, (who[i], who[j]), diff[i, j])
