"""Snapping and travel matrices against networkx on random small directed graphs."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError
from optimizer.network import (
    RoadNetwork,
    SnappedPoints,
    build_network,
    leg_path,
    paths_for_sequence,
    snap_points,
    travel_matrix,
)

LEX = 10_000_000  # time * LEX + length: networkx's lexicographic (time, length) weight


@st.composite
def graphs(draw: st.DrawFn) -> RoadNetwork:
    """A random directed graph with integer times (s) and lengths (m), largest SCC kept."""
    n = draw(st.integers(2, 9))
    arcs = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.integers(1, 60),
                st.integers(1, 900),
            ),
            min_size=2,
            max_size=30,
        )
    )
    arcs = [a for a in arcs if a[0] != a[1]]
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    lon = 71.4 + rng.random(n) * 0.02
    lat = 51.1 + rng.random(n) * 0.02
    u = [a[0] for a in arcs]
    v = [a[1] for a in arcs]
    net = build_network(
        "random",
        lon,
        lat,
        u,
        v,
        [float(a[2]) for a in arcs],
        edge_length_m=[float(a[3]) for a in arcs],
    )
    return net


def _nx(net: RoadNetwork) -> nx.DiGraph:
    """networkx graph with the lightest of parallel arcs."""
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for e in range(net.n_edges):
        a, b = int(net.edge_u[e]), int(net.edge_v[e])
        w = round(net.edge_time_s[e]) * LEX + round(net.edge_length_m[e])
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(a, b, w=w)
    return g


def _at_nodes(net: RoadNetwork) -> SnappedPoints:
    """One point on every node: fraction 0 of one of its out-edges."""
    edge = np.array([int(np.flatnonzero(net.edge_u == x)[0]) for x in range(net.n_nodes)])
    return SnappedPoints(
        ids=tuple(f"n{x}" for x in range(net.n_nodes)),
        lon=net.node_lon,
        lat=net.node_lat,
        edge=edge,
        fraction=np.zeros(net.n_nodes),
        distance_m=np.zeros(net.n_nodes),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(graphs())
def test_matrix_equals_networkx(net: RoadNetwork) -> None:
    if net.n_edges == 0:
        return
    pts = _at_nodes(net)
    m = travel_matrix(net, pts, workers=1)
    lengths = dict(nx.all_pairs_dijkstra_path_length(_nx(net), weight="w"))
    expected = np.array([[lengths[i][j] for j in range(net.n_nodes)] for i in range(net.n_nodes)])
    np.testing.assert_array_equal(m.time_s, expected // LEX)
    np.testing.assert_array_equal(m.distance_m, expected % LEX)
    assert (np.diag(m.time_s) == 0).all()
    assert not m.time_s.flags.writeable
    t = m.time_s
    assert (t[:, None, :] <= t[:, :, None] + t[None, :, :]).all()  # triangle inequality


@settings(max_examples=80, deadline=None)
@given(graphs(), st.data())
def test_partial_edges_equal_networkx_on_split_graph(net: RoadNetwork, data: st.DataObject) -> None:
    """Points mid-edge: compare with networkx on the graph split at each point."""
    if net.n_edges == 0:
        return
    k = data.draw(st.integers(1, 5))
    edges = np.array(data.draw(st.lists(st.integers(0, net.n_edges - 1), min_size=k, max_size=k)))
    # On a node exactly, or clearly inside the edge: the matrix works in milliseconds,
    # so a point within a millisecond of a node counts as on it (see the oracle below).
    frac = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.01, 0.99))
    fracs = np.array(data.draw(st.lists(frac, min_size=k, max_size=k)))
    pts = SnappedPoints(
        tuple(f"p{i}" for i in range(k)), np.zeros(k), np.zeros(k), edges, fracs, np.zeros(k)
    )
    m = travel_matrix(net, pts, workers=1)
    g = nx.MultiDiGraph()
    for e in range(net.n_edges):
        g.add_edge(int(net.edge_u[e]), int(net.edge_v[e]), key=e, t=float(net.edge_time_s[e]))
    twin = net.edge_twin
    for i, (e, f) in enumerate(zip(edges.tolist(), fracs.tolist(), strict=True)):
        p = ("p", i)
        # Split the edge (and its reverse twin) at the point, through a chain of points.
        for edge, frac in ((e, f), (int(twin[e]), 1 - f)):
            if edge < 0:
                continue
            a, b = int(net.edge_u[edge]), int(net.edge_v[edge])
            t = float(net.edge_time_s[edge])
            g.add_edge(a, p, t=frac * t)
            g.add_edge(p, b, t=(1 - frac) * t)
        if f in (0.0, 1.0):  # a point on a node may leave and arrive any way
            x = int(net.edge_u[e]) if f == 0.0 else int(net.edge_v[e])
            g.add_edge(x, p, t=0.0)
            g.add_edge(p, x, t=0.0)
    # Points on one edge reach each other directly along it.
    for i in range(k):
        for j in range(k):
            for ei, fi in ((edges[i], fracs[i]), (twin[edges[i]], 1 - fracs[i])):
                for ej, fj in ((edges[j], fracs[j]), (twin[edges[j]], 1 - fracs[j])):
                    if ei == ej and ei >= 0 and i != j and fj >= fi:
                        g.add_edge(("p", i), ("p", j), t=(fj - fi) * float(net.edge_time_s[ei]))
    for i in range(k):
        dist = nx.single_source_dijkstra_path_length(g, ("p", i), weight="t")
        for j in range(k):
            expected = 0.0 if i == j else dist[("p", j)]
            assert abs(m.time_s[i, j] - expected) <= 1.0


def test_one_way_is_respected() -> None:
    # A -> B is one-way (10 s); back from B to A goes round via C (50 + 50 s).
    net = build_network(
        "oneway",
        [71.40, 71.41, 71.405],
        [51.10, 51.10, 51.11],
        [0, 1, 2, 2, 0],
        [1, 2, 1, 0, 2],
        [10.0, 50.0, 50.0, 50.0, 50.0],
    )
    pts = _at_nodes(net)
    m = travel_matrix(net, pts, workers=1)
    assert m.time_s[0, 1] == 10
    assert m.time_s[1, 0] == 100


def _line_network() -> RoadNetwork:
    """A straight two-way street of 3 segments, 100 s each way per segment."""
    lon = [71.40, 71.41, 71.42, 71.43]
    lat = [51.10] * 4
    u = [0, 1, 2, 1, 2, 3]
    v = [1, 2, 3, 0, 1, 2]
    return build_network("line", lon, lat, u, v, [100.0] * 6)


def test_snapping_projects_onto_the_edge() -> None:
    net = _line_network()
    pts = snap_points(net, ["a", "b"], [71.405, 71.4275], [51.1005, 51.0995])
    np.testing.assert_allclose(pts.lat, 51.10)
    np.testing.assert_allclose(pts.lon, [71.405, 71.4275])
    assert 50 < pts.distance_m[0] < 60  # 0.0005 degrees of latitude is about 56 m
    # North of an eastbound street is its left: the point goes on the westbound edge.
    assert net.edge_u[pts.edge[0]] == 1 and net.edge_v[pts.edge[0]] == 0
    assert pts.fraction[0] == pytest.approx(0.5)
    assert net.edge_u[pts.edge[1]] == 2 and net.edge_v[pts.edge[1]] == 3
    assert pts.fraction[1] == pytest.approx(0.75)


def test_same_edge_points_are_direct_and_partial_edges_count() -> None:
    net = _line_network()
    pts = snap_points(net, ["a", "b", "c"], [71.4025, 71.4075, 71.425], [51.10] * 3)
    m = travel_matrix(net, pts, workers=1)
    assert m.time_s[0, 1] == 50 and m.time_s[1, 0] == 50
    assert m.time_s[0, 2] == 225
    assert m.distance_m[0, 2] == pytest.approx(net.edge_length_m[0] * 2.25, abs=1)
    line = leg_path(net, pts, 0, 2)
    assert line[0] == pytest.approx((71.4025, 51.10))
    assert line[-1] == pytest.approx((71.425, 51.10))
    assert len(line) == 4  # start, two junctions, end
    route = paths_for_sequence(net, pts, [0, 2, 1])
    assert route[0] == pytest.approx((71.4025, 51.10))
    assert route[-1] == pytest.approx((71.4075, 51.10))


def test_far_points_are_one_error_naming_each() -> None:
    net = _line_network()
    with pytest.raises(InputError) as info:
        snap_points(
            net,
            ["ok", "far", "nan"],
            [71.41, 71.41, float("nan")],
            [51.10, 51.12, 51.1],
            file="p.csv",
        )
    assert [p.where for p in info.value.problems] == ["point far", "point nan"]
    far, nan = (p.what for p in info.value.problems)
    # 0.02° of latitude north of the street: 2224 m away, outside the network's box
    assert "lies outside the road network" in far
    assert "2224 m from the nearest street" in far
    assert nan == "has no valid coordinates"


def test_matrix_cache(tmp_path: Path) -> None:
    net = _line_network()
    pts = snap_points(net, ["a", "b"], [71.401, 71.429], [51.10, 51.10])
    first = travel_matrix(net, pts, cache_dir=tmp_path)
    assert list(tmp_path.glob("matrix-*.npz"))
    second = travel_matrix(net, pts, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.time_s, second.time_s)


def test_processes_match_single_worker() -> None:
    rng = np.random.default_rng(3)
    net = _grid_network(12)
    n = 300
    lo, la, hi, ha = net.bbox()
    pts = snap_points(
        net, [str(i) for i in range(n)], rng.uniform(lo, hi, n), rng.uniform(la, ha, n)
    )
    one = travel_matrix(net, pts, workers=1)
    two = travel_matrix(net, pts, workers=2)
    np.testing.assert_array_equal(one.time_s, two.time_s)
    np.testing.assert_array_equal(one.distance_m, two.distance_m)


def _grid_network(k: int) -> RoadNetwork:
    """A k x k two-way grid with one-way rows every third line."""
    idx = np.arange(k * k).reshape(k, k)
    lon = 71.4 + (idx % k) * 0.002
    lat = 51.1 + (idx // k) * 0.002
    u: list[int] = []
    v: list[int] = []
    for r in range(k):
        for c in range(k - 1):
            u.append(idx[r, c])
            v.append(idx[r, c + 1])
            if r % 3:
                u.append(idx[r, c + 1])
                v.append(idx[r, c])
    for c in range(k):
        for r in range(k - 1):
            u += [idx[r, c], idx[r + 1, c]]
            v += [idx[r + 1, c], idx[r, c]]
    return build_network("grid", lon.ravel(), lat.ravel(), u, v, np.full(len(u), 20.0))


@settings(max_examples=40, deadline=None)
@given(graphs(), st.data(), st.integers(1, 20))
def test_junction_and_point_searches_agree(
    net: RoadNetwork, data: st.DataObject, cells: int
) -> None:
    """Both search strategies (from junctions, from point nodes) give the same costs."""
    from optimizer.network import matrix as mx
    from optimizer.network.contract import compact_graph, eliminate_nodes

    if net.n_edges == 0:
        return
    k = data.draw(st.integers(1, 8))
    edges = data.draw(st.lists(st.integers(0, net.n_edges - 1), min_size=k, max_size=k))
    fracs = data.draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=k, max_size=k))
    pts = SnappedPoints(
        tuple(map(str, range(k))), np.zeros(k), np.zeros(k), edges, fracs, np.zeros(k)
    )
    reps = mx._reps(net, pts, 0.0)
    graph = compact_graph(net).csr
    saved, mx.COMBINE_CELLS = mx.COMBINE_CELLS, cells  # small blocks: rows straddle them
    try:
        by_junction = mx._from_junctions(graph, reps, k, 1)
    finally:
        mx.COMBINE_CELLS = saved
    augmented, p_out, p_in = mx._with_point_nodes(graph, reps)
    by_point = mx._many_to_many(augmented, p_out, p_in, 1) - 2.0
    np.testing.assert_array_equal(by_junction, by_point)
    keep = np.zeros(augmented.shape[0], dtype=bool)
    keep[p_out] = keep[p_in] = True
    reduced, new_id = eliminate_nodes(augmented, keep, rounds=10, max_degree=8)
    by_reduced = mx._many_to_many(reduced, new_id[p_out], new_id[p_in], 1) - 2.0
    np.testing.assert_array_equal(by_reduced, by_point)


def test_leg_geometry_matches_matrix_distance() -> None:
    from optimizer.network.graph import haversine_m

    rng = np.random.default_rng(7)
    net = _grid_network(8)
    lo, la, hi, ha = net.bbox()
    n = 12
    pts = snap_points(
        net, [str(i) for i in range(n)], rng.uniform(lo, hi, n), rng.uniform(la, ha, n)
    )
    m = travel_matrix(net, pts, workers=1)
    for i in range(n):
        for j in range(n):
            line = np.array(leg_path(net, pts, i, j))
            if i == j:
                assert len(line) == 1
                continue
            length = haversine_m(line[:-1, 0], line[:-1, 1], line[1:, 0], line[1:, 1]).sum()
            assert abs(length - m.distance_m[i, j]) <= 1 + 0.005 * length
    route = paths_for_sequence(net, pts, list(range(n)))
    assert route[0] == pytest.approx((pts.lon[0], pts.lat[0]))
    assert route[-1] == pytest.approx((pts.lon[-1], pts.lat[-1]))
