"""Geofabrik "free" road shapefiles: classes, one-way codes, levels, zips, CRS, broken rows."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from shapely import LineString, Point

from optimizer.errors import InputError
from optimizer.network import load_network, snap_points, travel_matrix
from optimizer.network.geofabrik import _usable_parts
from optimizer.network.graph import RoadNetwork, haversine_m

X0, Y0, STEP = 71.40, 51.10, 0.001  # ~70 m east, ~110 m north per step


def _xy(i: float, j: float) -> tuple[float, float]:
    return (X0 + i * STEP, Y0 + j * STEP)


def _way(points: list[tuple[float, float]], **attrs: Any) -> dict[str, Any]:
    """One Geofabrik row: street-level two-way residential unless told otherwise."""
    row: dict[str, Any] = {
        "osm_id": "1",
        "code": 5122,
        "fclass": "residential",
        "name": None,
        "ref": None,
        "oneway": "B",
        "maxspeed": 0,
        "layer": 0,
        "bridge": "F",
        "tunnel": "F",
    }
    row.update(attrs)
    row["geometry"] = LineString([_xy(*p) for p in points]) if points else None
    return row


def _ring() -> list[dict[str, Any]]:
    """A 2 x 2 square of streets with a vertex at the middle of each side."""
    sides = [
        [(0, 0), (1, 0), (2, 0)],
        [(2, 0), (2, 1), (2, 2)],
        [(2, 2), (1, 2), (0, 2)],
        [(0, 2), (0, 1), (0, 0)],
    ]
    return [_way(s, osm_id=f"r{k}", name=f"Ring {k}") for k, s in enumerate(sides)]


def _write(path: Path, rows: list[dict[str, Any]], crs: str | None = "EPSG:4326") -> Path:
    """Rows as a shapefile (every Geofabrik column present)."""
    gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(path)
    return path


def _zip(path: Path, folder: Path) -> Path:
    """Zip every file of a folder (its shapefile sets) flat."""
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return path


def _nodes_at(net: RoadNetwork, i: float, j: float) -> int:
    x, y = _xy(i, j)
    return int(((np.abs(net.node_lon - x) < 1e-7) & (np.abs(net.node_lat - y) < 1e-7)).sum())


def _edge(net: RoadNetwork, a: tuple[float, float], b: tuple[float, float]) -> list[int]:
    """Directed edges from grid point a to grid point b."""
    (ax, ay), (bx, by) = _xy(*a), _xy(*b)
    lon, lat = net.node_lon, net.node_lat
    u_ok = (np.abs(lon[net.edge_u] - ax) < 1e-7) & (np.abs(lat[net.edge_u] - ay) < 1e-7)
    v_ok = (np.abs(lon[net.edge_v] - bx) < 1e-7) & (np.abs(lat[net.edge_v] - by) < 1e-7)
    return np.flatnonzero(u_ok & v_ok).tolist()


def test_fclass_keeps_truck_roads_only(tmp_path: Path) -> None:
    excluded = ["footway", "steps", "path", "cycleway", "bridleway", "pedestrian", "track"]
    excluded += ["track_grade2", "unknown", "busway"]
    rows = _ring()
    # Excluded classes as spurs from the ring's corners: none may appear.
    rows += [_way([(0, 0), (-1, -1 - k)], fclass=f, osm_id=f"x{k}") for k, f in enumerate(excluded)]
    rows.append(_way([(2, 2), (3, 3)], fclass="service", osm_id="s"))
    rows.append(_way([(3, 3), (2, 2)], fclass="living_street", osm_id="l"))  # closes a loop
    net = load_network(_write(tmp_path / "roads.shp", rows))
    assert net.stats["reader"] == "geofabrik"
    assert net.stats["ways_drivable"] == 4 + 2
    assert net.n_nodes == 8 + 1  # ring vertices and the service road's far end
    # 8 ring segments x 2 directions, service and living street 2 each
    assert net.n_edges == 16 + 4
    spur = _edge(net, (2, 2), (3, 3))
    speeds = sorted(round(float(net.edge_length_m[e] / net.edge_time_s[e] * 3.6)) for e in spur)
    assert speeds == [10, 10]  # service and living_street: the profile's low speed


def test_oneway_codes(tmp_path: Path) -> None:
    # A one-way loop around the square: F along digitisation, T against it, B both.
    rows = [
        _way([(0, 0), (2, 0)], oneway="F"),  # drive east
        _way([(2, 2), (2, 0)], oneway="T"),  # digitised south, driven north
        _way([(2, 2), (0, 2)], oneway="B"),
        _way([(0, 2), (0, 0)], oneway="F"),
    ]
    net = load_network(_write(tmp_path / "oneway.shp", rows))
    assert _edge(net, (0, 0), (2, 0)) and not _edge(net, (2, 0), (0, 0))
    assert _edge(net, (2, 0), (2, 2)) and not _edge(net, (2, 2), (2, 0))
    assert _edge(net, (2, 2), (0, 2)) and _edge(net, (0, 2), (2, 2))
    assert net.n_edges == 5


def test_maxspeed_zero_is_unknown(tmp_path: Path) -> None:
    rows = [
        _way([(0, 0), (2, 0)], fclass="primary", maxspeed=0),
        _way([(2, 0), (2, 2)], fclass="primary", maxspeed=30),
        _way([(2, 2), (0, 2), (0, 0)], fclass="primary", maxspeed=0),
    ]
    net = load_network(_write(tmp_path / "speed.shp", rows))
    kmh = {
        k: float(net.edge_length_m[e] / net.edge_time_s[e] * 3.6)
        for k, e in (("zero", _edge(net, (0, 0), (2, 0))[0]), ("30", _edge(net, (2, 0), (2, 2))[0]))
    }
    assert kmh["zero"] == pytest.approx(40.0)  # the profile's primary speed
    assert kmh["30"] == pytest.approx(24.0)  # 80 % of the posted 30 km/h


def _crossing(bridge: bool) -> list[dict[str, Any]]:
    """The ring, a street across it west-east, and a way south-north crossing that street
    at a shared interior vertex (1, 1): a bridge when ``bridge``."""
    level = {"bridge": "T", "layer": 1} if bridge else {}
    return [
        *_ring(),
        _way([(0, 1), (1, 1), (2, 1)], name="Street", osm_id="st"),
        _way([(1, 0), (1, 1), (1, 2)], name="Bridge", osm_id="br", **level),
    ]


def test_bridge_does_not_join_the_street_it_crosses(tmp_path: Path) -> None:
    flat = load_network(_write(tmp_path / "flat.shp", _crossing(bridge=False)))
    assert _nodes_at(flat, 1, 1) == 1  # an ordinary crossing is a junction
    net = load_network(_write(tmp_path / "bridge.shp", _crossing(bridge=True)))
    assert _nodes_at(net, 1, 1) == 2  # one node per level: no junction
    assert net.n_nodes == flat.n_nodes + 1
    # The bridge joins the ring at its ends (else it would be a separate component).
    assert net.stats["nodes_dropped_scc"] == 0
    assert _edge(net, (1, 0), (1, 1)) and _edge(net, (1, 1), (1, 2))
    # Street to bridge beside the crossing point: around by the ring, not on the spot.
    (sx, sy), (bx, by) = _xy(0.6, 1), _xy(1, 1.4)
    on_bridge = travel_matrix(net, snap_points(net, ["s", "b"], [sx, bx], [sy, by]))
    at_grade = travel_matrix(flat, snap_points(flat, ["s", "b"], [sx, bx], [sy, by]))
    assert at_grade.distance_m[0, 1] < 100  # ~28 m east then ~44 m north
    assert on_bridge.distance_m[0, 1] > 200  # to the ring and back along the bridge


def test_bridge_end_joins_a_street_that_passes_through(tmp_path: Path) -> None:
    # The bridge ends at the street's interior vertex (1, 1): an end joins.
    rows = [*_ring(), _way([(0, 1), (1, 1), (2, 1)]), _way([(1, 0), (1, 1)], bridge="T", layer=1)]
    net = load_network(_write(tmp_path / "end.shp", rows))
    assert _nodes_at(net, 1, 1) == 1
    assert net.stats["nodes_dropped_scc"] == 0


def test_names_come_from_name_then_ref(tmp_path: Path) -> None:
    rows = _ring()
    rows[0]["name"], rows[1]["name"], rows[1]["ref"] = "проспект Абая", None, "A-2"
    net = load_network(_write(tmp_path / "names.shp", rows))
    assert {net.edge_name[e] for e in _edge(net, (0, 0), (1, 0))} == {"проспект Абая"}
    assert {net.edge_name[e] for e in _edge(net, (2, 0), (2, 1))} == {"A-2"}


def test_zip_picks_the_roads_layer(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    _write(folder / "gis_osm_roads_free_1.shp", _ring())
    water = [{"osm_id": "w", "fclass": "water", "geometry": Point(*_xy(1, 1)).buffer(STEP / 2)}]
    gpd.GeoDataFrame(water, crs="EPSG:4326").to_file(folder / "gis_osm_water_a_free_1.shp")
    net = load_network(_zip(tmp_path / "kz-latest-free.shp.zip", folder))
    assert net.stats["layer"] == "gis_osm_roads_free_1"
    assert net.n_nodes == 8


def test_zip_without_roads_layer_names_its_layers(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    for name in ("gis_osm_water_a_free_1", "gis_osm_buildings_a_free_1"):
        poly = [{"osm_id": "w", "fclass": "x", "geometry": Point(*_xy(1, 1)).buffer(STEP)}]
        gpd.GeoDataFrame(poly, crs="EPSG:4326").to_file(folder / f"{name}.shp")
    path = _zip(tmp_path / "nothing.zip", folder)
    with pytest.raises(InputError) as err:
        load_network(path)
    text = str(err.value)
    assert "nothing.zip" in text and "no roads layer" in text
    assert "gis_osm_water_a_free_1" in text and "gis_osm_buildings_a_free_1" in text


def test_projected_layer_is_reprojected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = gpd.GeoDataFrame(_ring(), geometry="geometry", crs="EPSG:4326").to_crs("EPSG:32642")
    frame.to_file(tmp_path / "utm.shp")
    with caplog.at_level(logging.INFO, logger="optimizer"):
        net = load_network(tmp_path / "utm.shp")
    assert "EPSG:4326" in caplog.text and "reprojected" in caplog.text
    assert net.stats["reprojected_from"] == "EPSG:32642"
    assert _nodes_at(net, 2, 2) == 1  # back on the same lon/lat (to 1e-7 degrees)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_and_metres_is_an_error(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(_ring(), geometry="geometry", crs="EPSG:4326").to_crs("EPSG:32642")
    frame.set_crs(None, allow_override=True).to_file(tmp_path / "bare.shp")
    assert not (tmp_path / "bare.prj").exists()
    with pytest.raises(InputError, match="no coordinate reference system"):
        load_network(tmp_path / "bare.shp")


def test_broken_geometry_is_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = _ring()
    rows.append(_way([], osm_id="none1"))  # no geometry
    rows.append(_way([(1, 1), (1, 1)], osm_id="dot2"))  # two equal points
    with caplog.at_level(logging.WARNING, logger="optimizer"):
        net = load_network(_write(tmp_path / "broken.shp", rows))
    assert net.stats["broken_geometries"] == 2
    assert net.n_nodes == 8
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 way(s)" in warnings[0].getMessage() and "none1, dot2" in warnings[0].getMessage()


def test_non_lines_and_empty_lines_are_broken() -> None:
    frame = gpd.GeoDataFrame(
        {"osm_id": ["ok", "pt", "empty", "none", "dot"]},
        geometry=[
            LineString([(0, 0), (1, 1)]),
            Point(0, 0),
            LineString(),
            None,
            LineString([(2, 2), (2, 2)]),
        ],
    )
    parts, rows, broken = _usable_parts(frame)
    assert len(parts) == 1 and rows.tolist() == [0]
    assert broken.tolist() == [1, 2, 3, 4]


def test_nothing_usable_is_an_error(tmp_path: Path) -> None:
    rows = [_way([(0, 0), (1, 0)], fclass="footway"), _way([(1, 1), (1, 1)])]
    with pytest.raises(InputError, match="no usable road"):
        load_network(_write(tmp_path / "paths.shp", rows))


def test_plain_shapefile_is_still_read_as_centerlines(tmp_path: Path) -> None:
    rows = [{"name": "A", "geometry": LineString([_xy(0, 0), _xy(2, 0)])}]
    gpd.GeoDataFrame(rows, crs="EPSG:4326").to_file(tmp_path / "plain.shp")
    assert load_network(tmp_path / "plain.shp").stats["reader"] == "centerlines"


@pytest.fixture(scope="module")
def almaty(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RoadNetwork:
    """The Almaty Geofabrik roads (25,028 ways), loaded once (about 1-3 s)."""
    return load_network(shared_data / "osm" / "almaty" / "almaty_roads_a_geofabrik.zip")


def test_almaty_geofabrik_zip(almaty: RoadNetwork) -> None:
    s = almaty.stats
    assert s["layer"] == "roads_a"
    assert s["lines_read"] == 25_028
    assert s["ways_drivable"] == 19_944  # footway, steps, path, track, cycleway... dropped
    assert s["broken_geometries"] == 0
    assert s["levels"] == 9  # layers -2..2 with and without bridge/tunnel
    assert almaty.n_nodes == 106_448 and almaty.n_edges == 217_512
    assert almaty.n_nodes / s["nodes_read"] > 0.97  # largest strongly connected share
    assert sum(1 for n in almaty.edge_name if n) == 96_789  # service roads have no name
    pair = np.sort(np.stack([almaty.edge_u, almaty.edge_v], axis=1), axis=1)
    _, first = np.unique(pair, axis=0, return_index=True)
    road_km = almaty.edge_length_m[first].sum() / 1000  # each street once, not per direction
    assert 4_700 < road_km < 4_950  # 4,822 km of drivable road


def test_almaty_routes_are_plausible(almaty: RoadNetwork) -> None:
    lon = [76.82, 77.05, 76.95, 76.90, 77.05]
    lat = [43.20, 43.33, 43.24, 43.35, 43.20]
    m = travel_matrix(almaty, snap_points(almaty, list("abcde"), lon, lat, max_snap_m=2000))
    for i in range(5):
        for j in range(5):
            if i != j:
                straight = haversine_m(lon[i], lat[i], lon[j], lat[j])
                assert 1.1 < m.distance_m[i, j] / straight < 2.0, (i, j)


def test_cache_returns_the_same_network(tmp_path: Path) -> None:
    path = _write(tmp_path / "roads.shp", _crossing(bridge=True))
    first = load_network(path, cache_dir=tmp_path / "cache")
    again = load_network(path, cache_dir=tmp_path / "cache")
    assert "from_cache" not in first.stats and "from_cache" in again.stats
    assert np.array_equal(first.edge_u, again.edge_u)
    assert np.array_equal(first.node_lon, again.node_lon)
    assert again.edge_name == first.edge_name and "Bridge" in again.edge_name
