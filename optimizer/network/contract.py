"""Chain contraction: a compact graph of junctions for fast many-to-many Dijkstra.

Most nodes of an OSM or centerline graph are polyline vertices with exactly one way
in and one way out (or two neighbours on a two-way street). Contracting these
chains leaves only junctions; a point on a chain reaches the chain's end junction
and is reached from its start junction, so shortest paths stay exact. Trucks do
not turn back at a vertex in the middle of a street; they may at junctions and
dead ends, and may leave a stop in either direction of a two-way street.

Weights are encoded as one exact float: ``milliseconds * 2**27 + centimetres``. One
Dijkstra on that weight finds the fastest path and, among equally fast ones, the
shortest, and the decoded low part is the length of that path. Valid while paths
stay under 2**27 cm (1,342 km) and 2**26 ms (18.6 h): city and region networks.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from optimizer.network.graph import FloatArray, IntArray, RoadNetwork

PACK = float(2**27)  # centimetre capacity of the low part
MS_PER_S = 1000.0
CM_PER_M = 100.0
MAX_MS = float(2**26)


def encode(t_ms: FloatArray, l_cm: FloatArray) -> FloatArray:
    """Pack rounded milliseconds and centimetres into one exact float weight."""
    return np.rint(t_ms) * PACK + np.rint(l_cm)


def decode(w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unpack an encoded weight (or sum of weights) into (ms, cm)."""
    t = np.floor(w / PACK)
    return t, w - t * PACK


@dataclass(frozen=True, eq=False)
class Compact:
    """The contracted graph and where every original edge sits on its chain."""

    csr: csr_matrix  # compact nodes x compact nodes, encoded weights
    kept_nodes: IntArray  # original node index of each compact node
    compact_of: IntArray  # compact index of each original node, or -1
    chain_of_edge: IntArray
    off_ms: FloatArray  # time from the chain start to the edge's start
    off_cm: FloatArray
    chain_start: IntArray  # compact node index
    chain_end: IntArray
    chain_ms: FloatArray
    chain_cm: FloatArray
    edge_ms: FloatArray
    edge_cm: FloatArray
    speed_cm_per_ms: float  # fastest edge, to bound path lengths


@dataclass(frozen=True, eq=False)
class Full:
    """The uncontracted graph with encoded weights, for drawing paths."""

    csr: csr_matrix
    edge_at: IntArray  # edge index of each stored csr entry (fastest of parallel edges)
    edge_w: FloatArray  # encoded weight of every edge


_COMPACT: weakref.WeakKeyDictionary[RoadNetwork, Compact] = weakref.WeakKeyDictionary()
_FULL: weakref.WeakKeyDictionary[RoadNetwork, Full] = weakref.WeakKeyDictionary()


def _chain_interior(net: RoadNetwork) -> tuple[np.ndarray, IntArray, IntArray, IntArray]:
    """Which nodes lie inside a chain, and their out-edges (first, second or -1)."""
    n, u, v = net.n_nodes, net.edge_u, net.edge_v
    out_deg = np.bincount(u, minlength=n)
    in_deg = np.bincount(v, minlength=n)
    out_order = np.argsort(u, kind="stable")
    in_order = np.argsort(v, kind="stable")
    out_ptr = np.concatenate([[0], np.cumsum(out_deg)])
    in_ptr = np.concatenate([[0], np.cumsum(in_deg)])
    interior = np.zeros(n, dtype=bool)
    first = np.full(n, -1, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    x1 = np.flatnonzero((out_deg == 1) & (in_deg == 1))
    oe, ie = out_order[out_ptr[x1]], in_order[in_ptr[x1]]
    interior[x1] = (v[oe] != u[ie]) & (v[oe] != x1) & (u[ie] != x1)
    first[x1] = oe
    x2 = np.flatnonzero((out_deg == 2) & (in_deg == 2))
    oa, ob = out_order[out_ptr[x2]], out_order[out_ptr[x2] + 1]
    ia, ib = in_order[in_ptr[x2]], in_order[in_ptr[x2] + 1]
    o_lo, o_hi = np.minimum(v[oa], v[ob]), np.maximum(v[oa], v[ob])
    i_lo, i_hi = np.minimum(u[ia], u[ib]), np.maximum(u[ia], u[ib])
    # A two-way street vertex: both out-edges are the reverse twins of the in-edges.
    # (Elsewhere a node stays a junction, where turning back is allowed.)
    twin = net.edge_twin
    twins = ((twin[oa] == ia) | (twin[oa] == ib)) & ((twin[ob] == ia) | (twin[ob] == ib))
    interior[x2] = (
        (o_lo == i_lo) & (o_hi == i_hi) & (o_lo != o_hi) & (o_lo != x2) & (o_hi != x2) & twins
    )
    first[x2], second[x2] = oa, ob
    return interior, first, second, out_order


def compact_graph(net: RoadNetwork) -> Compact:
    """Contract degree-2 chains (memoised per network)."""
    known = _COMPACT.get(net)
    if known is not None:
        return known
    interior, first, second, out_order = _chain_interior(net)
    e_ms = np.asarray(net.edge_time_s * MS_PER_S, dtype=np.float64)
    e_cm = np.asarray(net.edge_length_m * CM_PER_M, dtype=np.float64)
    ul, vl = net.edge_u.tolist(), net.edge_v.tolist()
    tl, ll = e_ms.tolist(), e_cm.tolist()
    kept = (~interior).tolist()
    n1, n2 = first.tolist(), second.tolist()
    chain_of = [-1] * net.n_edges
    off_t = [0.0] * net.n_edges
    off_l = [0.0] * net.n_edges
    starts: list[int] = []
    ends: list[int] = []
    totals_t: list[float] = []
    totals_l: list[float] = []
    out_deg = np.bincount(net.edge_u, minlength=net.n_nodes)
    out_ptr = np.concatenate([[0], np.cumsum(out_deg)]).tolist()
    out_edges = out_order.tolist()

    def walk(e: int) -> None:
        cid, start, t_sum, l_sum = len(starts), ul[e], 0.0, 0.0
        while True:
            chain_of[e], off_t[e], off_l[e] = cid, t_sum, l_sum
            t_sum += tl[e]
            l_sum += ll[e]
            x = vl[e]
            if kept[x]:
                break
            nxt = n1[x]
            if n2[x] >= 0 and vl[nxt] == ul[e]:
                nxt = n2[x]
            e = nxt
        starts.append(start)
        ends.append(x)
        totals_t.append(t_sum)
        totals_l.append(l_sum)

    def walk_from(x: int) -> None:
        for k in range(out_ptr[x], out_ptr[x + 1]):
            if chain_of[out_edges[k]] < 0:
                walk(out_edges[k])

    for x in np.flatnonzero(~interior).tolist():
        walk_from(x)
    for e in range(net.n_edges):  # rings with no junction at all
        if chain_of[e] < 0:
            kept[ul[e]] = True
            walk_from(ul[e])
    kept_nodes = np.flatnonzero(np.array(kept, dtype=bool))
    compact_of = np.full(net.n_nodes, -1, dtype=np.int64)
    compact_of[kept_nodes] = np.arange(len(kept_nodes))
    c_start = compact_of[np.array(starts, dtype=np.int64)]
    c_end = compact_of[np.array(ends, dtype=np.int64)]
    c_ms, c_cm = np.array(totals_t), np.array(totals_l)
    csr, _ = _min_csr(c_start, c_end, encode(np.maximum(c_ms, 1.0), c_cm), len(kept_nodes))
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(e_ms > 0, e_cm / np.maximum(e_ms, 1e-9), 0.0)
    result = Compact(
        csr=csr,
        kept_nodes=kept_nodes,
        compact_of=compact_of,
        chain_of_edge=np.array(chain_of, dtype=np.int64),
        off_ms=np.array(off_t),
        off_cm=np.array(off_l),
        chain_start=c_start,
        chain_end=c_end,
        chain_ms=c_ms,
        chain_cm=c_cm,
        edge_ms=e_ms,
        edge_cm=e_cm,
        speed_cm_per_ms=float(speed.max()) if len(speed) else 0.0,
    )
    _COMPACT[net] = result
    return result


def _min_csr(a: IntArray, b: IntArray, w: FloatArray, n: int) -> tuple[csr_matrix, IntArray]:
    """A CSR matrix keeping the lightest of parallel arcs and dropping self-loops.

    Returns the matrix and, per stored entry, the index of the arc it came from.
    """
    ok = np.flatnonzero(a != b)
    order = ok[np.lexsort((w[ok], b[ok], a[ok]))]
    key = a[order] * n + b[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    sel = order[first]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(a[sel], minlength=n))])
    csr = csr_matrix((w[sel], b[sel].astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    return csr, sel


def full_graph(net: RoadNetwork) -> Full:
    """The uncontracted graph with encoded weights (memoised per network)."""
    known = _FULL.get(net)
    if known is not None:
        return known
    w = encode(np.maximum(net.edge_time_s * MS_PER_S, 1.0), net.edge_length_m * CM_PER_M)
    csr, sel = _min_csr(net.edge_u, net.edge_v, w, net.n_nodes)
    result = Full(csr=csr, edge_at=sel, edge_w=w)
    _FULL[net] = result
    return result


def eliminate_nodes(
    graph: csr_matrix,
    keep: npt.NDArray[np.bool_],
    *,
    rounds: int = 8,
    max_degree: int = 6,
) -> tuple[csr_matrix, IntArray]:
    """Remove low-degree nodes, adding shortcut arcs so distances between the rest stay exact.

    Each round removes an independent set of nodes with at most ``max_degree`` arcs
    in and out (none in ``keep``); every in-arc/out-arc pair through a removed node
    becomes a shortcut, and the lightest of parallel arcs is kept. Dijkstra on the
    smaller graph settles fewer nodes. Returns the new graph and, per old node, its
    new index (or -1 when removed).
    """
    n = graph.shape[0]
    coo = graph.tocoo()
    a, b, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    alive = np.ones(n, dtype=bool)
    # A fixed pseudo-random priority makes the independent sets deterministic.
    priority = np.random.default_rng(0).random(n)
    for _ in range(rounds):
        out_deg = np.bincount(a, minlength=n)
        in_deg = np.bincount(b, minlength=n)
        candidate = alive & ~keep & (out_deg <= max_degree) & (in_deg <= max_degree)
        score = np.where(candidate, priority, 2.0)
        lowest_neighbour = np.full(n, 3.0)
        np.minimum.at(lowest_neighbour, a, score[b])
        np.minimum.at(lowest_neighbour, b, score[a])
        gone = candidate & (score < lowest_neighbour)
        if not gone.any():
            break
        a, b, w = _shortcut(a, b, w, gone, n)
        alive &= ~gone
    new_id = np.where(alive, np.cumsum(alive) - 1, -1)
    m = int(alive.sum())
    reduced, _ = _min_csr(new_id[a], new_id[b], w, m)
    return reduced, new_id


def _shortcut(
    a: IntArray, b: IntArray, w: FloatArray, gone: npt.NDArray[np.bool_], n: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Arcs after removing the independent node set ``gone`` (one arc per pair, lightest)."""
    into, out_of = gone[b], gone[a]
    ins = np.flatnonzero(into)
    outs = np.flatnonzero(out_of)
    ins = ins[np.argsort(b[ins], kind="stable")]
    outs = outs[np.argsort(a[outs], kind="stable")]
    cnt_in = np.bincount(b[ins], minlength=n)
    cnt_out = np.bincount(a[outs], minlength=n)
    first_in = np.concatenate([[0], np.cumsum(cnt_in)])
    first_out = np.concatenate([[0], np.cumsum(cnt_out)])
    nodes = np.flatnonzero(gone)
    pairs = cnt_in[nodes] * cnt_out[nodes]
    node = np.repeat(nodes, pairs)
    local = np.arange(int(pairs.sum())) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    width = cnt_out[node]
    i = ins[first_in[node] + local // width]
    o = outs[first_out[node] + local % width]
    sa, sb, sw = a[i], b[o], w[i] + w[o]
    loop = sa == sb
    rest = ~(into | out_of)
    na = np.concatenate([a[rest], sa[~loop]])
    nb = np.concatenate([b[rest], sb[~loop]])
    nw = np.concatenate([w[rest], sw[~loop]])
    order = np.lexsort((nw, nb, na))
    na, nb, nw = na[order], nb[order], nw[order]
    first = np.ones(len(na), dtype=bool)
    first[1:] = (na[1:] != na[:-1]) | (nb[1:] != nb[:-1])
    return na[first], nb[first], nw[first]
