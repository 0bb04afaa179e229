"""Readers on real extracts, centerline noding and the errors users see."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optimizer.errors import InputError
from optimizer.network import (
    demo_network,
    load_network,
    network_from_place,
    save_graphml,
    snap_points,
    travel_matrix,
)
from optimizer.network.graph import RoadNetwork


def _check_routable(net: RoadNetwork) -> None:
    """Arrays agree, times are positive, and the graph is one strongly connected part."""
    assert net.n_nodes > 0 and net.n_edges > 0
    assert np.all(net.edge_time_s > 0)
    assert np.all(net.edge_length_m >= 0)
    assert net.stats["nodes"] == net.n_nodes
    assert net.stats["edges"] == net.n_edges
    lo, la, hi, ha = net.bbox()
    assert lo < hi and la < ha
    assert not net.edge_u.flags.writeable


def _lines(path: Path, features: list[tuple[list[tuple[float, float]], dict[str, object]]]) -> Path:
    """Write LineString features as GeoJSON."""
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


def _grid(lon0: float = 71.40, lat0: float = 51.15, n: int = 4, step: float = 0.005) -> list:
    """n horizontal and n vertical streets crossing without shared vertices."""
    span = step * (n - 1)
    rows = [([(lon0, lat0 + i * step), (lon0 + span, lat0 + i * step)], {}) for i in range(n)]
    cols = [([(lon0 + i * step, lat0), (lon0 + i * step, lat0 + span)], {}) for i in range(n)]
    return rows + cols


def test_astana_centerlines(shared_data: Path) -> None:
    net = load_network(shared_data / "osm/astana/astana_streets.geojson")
    _check_routable(net)
    assert net.stats["lines_read"] == 1515
    assert 40_000 < net.n_nodes < 50_000  # noded at crossings and shared vertices
    assert net.stats["nodes_dropped_scc"] < 0.05 * net.stats["nodes_read"]
    lines = net.street_polylines(max_points=5000)
    assert len(lines) > 1000 and sum(len(line) for line in lines) <= 5000


def test_osm_xml_west_oakland(shared_data: Path) -> None:
    net = load_network(shared_data / "osm/osm_xml_samples/West-Oakland.osm.bz2")
    _check_routable(net)
    assert net.stats["reader"] == "osmnx.graph_from_xml"


def test_graphml_without_streets_is_an_input_error(shared_data: Path) -> None:
    with pytest.raises(InputError, match="no streets"):
        load_network(shared_data / "osm/osm_xml_samples/short.graphml")


def test_liechtenstein_pbf(shared_data: Path) -> None:
    net = load_network(shared_data / "osm/pbf_samples/liechtenstein-latest.osm.pbf")
    _check_routable(net)
    assert 10_000 < net.n_nodes < 20_000


def test_demo_network_and_graphml_round_trip(tmp_path: Path) -> None:
    net = demo_network()
    _check_routable(net)
    target = tmp_path / "demo.graphml"
    save_graphml(net, target)
    back = load_network(target)
    assert back.n_nodes == net.n_nodes
    np.testing.assert_array_equal(back.edge_u, net.edge_u)
    np.testing.assert_array_equal(back.edge_v, net.edge_v)
    np.testing.assert_allclose(back.edge_time_s, net.edge_time_s)
    np.testing.assert_allclose(back.edge_length_m, net.edge_length_m)
    np.testing.assert_allclose(back.edge_geometry.coords, net.edge_geometry.coords)
    lines = net.street_polylines(max_points=500)
    assert lines and sum(len(line) for line in lines) <= 1000


def test_network_cache(tmp_path: Path) -> None:
    path = _lines(tmp_path / "grid.geojson", _grid())
    first = load_network(path, cache_dir=tmp_path / "cache")
    second = load_network(path, cache_dir=tmp_path / "cache")
    assert "from_cache" in second.stats
    np.testing.assert_array_equal(first.edge_time_s, second.edge_time_s)


def test_centerlines_are_noded_where_they_cross(tmp_path: Path) -> None:
    net = load_network(_lines(tmp_path / "grid.geojson", _grid()))
    # The lines share no vertex inside: 4 x 4 crossings (the corners are line ends).
    assert net.n_nodes == 16
    assert net.n_edges == 8 * 3 * 2  # 8 lines x 3 pieces, both directions


def test_centerline_attributes(tmp_path: Path) -> None:
    features = _grid()
    features[0] = (features[0][0], {"oneway": "yes", "highway": "primary"})
    features[1] = (features[1][0], {"highway": "footway"})
    net = load_network(_lines(tmp_path / "attrs.geojson", features))
    lat0 = 51.15
    on_first = np.isclose(net.node_lat[net.edge_u], lat0) & np.isclose(
        net.node_lat[net.edge_v], lat0
    )
    assert on_first.sum() == 3  # one-way: 3 pieces, one direction only
    assert np.all(net.node_lon[net.edge_v[on_first]] > net.node_lon[net.edge_u[on_first]])
    on_second = np.isclose(net.node_lat[net.edge_u], lat0 + 0.005) & np.isclose(
        net.node_lat[net.edge_v], lat0 + 0.005
    )
    assert on_second.sum() == 0  # footway dropped


def test_gap_in_centerlines_reports_points_in_the_small_part(tmp_path: Path) -> None:
    island = [([(71.50, 51.15), (71.51, 51.15)], {}), ([(71.505, 51.145), (71.505, 51.155)], {})]
    net = load_network(_lines(tmp_path / "gap.geojson", _grid() + island))
    assert net.stats["nodes_dropped_scc"] == 5
    with pytest.raises(InputError) as info:
        snap_points(
            net,
            ["ok", "island", "river"],
            [71.4051, 71.5051, 71.45],
            [51.1501, 51.1501, 51.30],
            file="points.csv",
        )
    problems = info.value.problems
    assert [p.where for p in problems] == ["point island", "point river"]
    assert all(p.file == "points.csv" for p in problems)
    assert "m from the nearest" in problems[0].what


@pytest.mark.parametrize("content", ["", '{"type": "FeatureCollection", "features": []}'])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text(content)
    with pytest.raises(InputError, match=r"empty\.geojson"):
        load_network(path)


def test_missing_broken_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_network(tmp_path / "nope.osm.pbf")
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node")
    with pytest.raises(InputError, match="could not be read"):
        load_network(broken)
    odd = tmp_path / "streets.txt"
    odd.write_text("x")
    with pytest.raises(InputError, match="unknown road network format"):
        load_network(odd)


def test_offline_place_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("no network")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    with pytest.raises(InputError, match="could not download"):
        network_from_place("Astana, Kazakhstan", cache_dir=tmp_path)


def test_astana_snap_and_small_matrix(shared_data: Path) -> None:
    net = load_network(shared_data / "osm/astana/astana_streets.geojson")
    pts = snap_points(
        net, ["a", "b", "c"], [71.43, 71.41, 71.45], [51.13, 51.16, 51.12], max_snap_m=2000
    )
    m = travel_matrix(net, pts)
    assert (np.diag(m.time_s) == 0).all()
    assert (m.time_s[~np.eye(3, dtype=bool)] > 0).all()


def test_long_segments_can_be_cut(tmp_path: Path) -> None:
    # One "street" made of two parts joined by a 7 km straight jump that crosses the grid.
    jump = ([(71.38, 51.1575), (71.385, 51.1575), (71.48, 51.1575), (71.485, 51.1575)], {})
    path = _lines(tmp_path / "jump.geojson", [*_grid(), jump])
    joined = load_network(path)
    assert joined.stats["long_segments"] == 1
    assert joined.n_nodes > 16  # the jump crosses the four vertical streets
    cut = load_network(path, max_segment_m=3000)
    assert cut.n_nodes == 16  # the two stubs are separate parts, dropped from the largest
    assert cut.stats["nodes_dropped_scc"] == 4
