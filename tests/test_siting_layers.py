"""Siting layers from shapefiles (water bodies, waterways, housing), as GIS offices keep them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Polygon, box

from optimizer.errors import Problem
from optimizer.location.siting import local_projection
from optimizer.scenario.shapes import LINE_HALF_WIDTH_M, load_shape_layer
from optimizer.stages.sites import MERGE_ZONES_ABOVE, _polygons, _zone_shapes


def _write(frame: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.shp"
    frame.to_file(path)
    return path


def _zip(files: list[Path], out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as z:
        for shp in files:
            for part in shp.parent.glob(shp.stem + ".*"):
                z.write(part, part.name)
    return out


def _area_m2(ring: tuple[tuple[float, float], ...]) -> float:
    proj = local_projection(ring[0][0], ring[0][1])
    import numpy as np

    return float(Polygon(proj(np.asarray(ring))).area)


def test_a_waterway_line_becomes_a_thin_polygon_and_drains_are_dropped(tmp_path: Path) -> None:
    river = LineString([(76.90, 43.25), (76.91, 43.25)])  # about 811 m along a parallel
    frame = gpd.GeoDataFrame(
        {"osm_id": ["1", "2"], "fclass": ["river", "drain"], "name": ["Esentai", ""]},
        geometry=[river, LineString([(76.92, 43.26), (76.93, 43.26)])],
        crs=4326,
    )
    problems: list[Problem] = []
    layer = load_shape_layer(_write(frame, tmp_path, "waterways"), "w", "water", problems)
    assert problems == []
    assert [d.name for d in layer] == ["Esentai"]  # the drain is not a water body
    area = _area_m2(layer[0].rings[0])
    assert area == pytest.approx(811 * 2 * LINE_HALF_WIDTH_M, rel=0.05)


def test_a_projected_layer_is_read_back_in_lon_lat(tmp_path: Path) -> None:
    pond = gpd.GeoDataFrame(
        {"name": ["Sairan"]}, geometry=[box(76.85, 43.23, 76.86, 43.24)], crs=4326
    ).to_crs(32643)  # UTM 43N, as a GIS office may export it
    problems: list[Problem] = []
    layer = load_shape_layer(_write(pond, tmp_path, "water_a"), "w", "water", problems)
    assert problems == []
    xs = [x for x, _ in layer[0].rings[0]]
    ys = [y for _, y in layer[0].rings[0]]
    assert min(xs) == pytest.approx(76.85, abs=1e-6) and max(ys) == pytest.approx(43.24, abs=1e-6)


def test_a_zip_without_a_water_layer_names_its_layers(tmp_path: Path) -> None:
    roads = gpd.GeoDataFrame(
        {"fclass": ["primary"]}, geometry=[LineString([(76.9, 43.2), (76.91, 43.2)])], crs=4326
    )
    rail = roads.copy()
    shp = [
        _write(roads, tmp_path / "a", "gis_osm_roads_free_1"),
        _write(rail, tmp_path / "b", "railways"),
    ]
    problems: list[Problem] = []
    assert load_shape_layer(_zip(shp, tmp_path / "city.zip"), "city.zip", "water", problems) == []
    assert len(problems) == 1
    assert "gis_osm_roads_free_1" in problems[0].what and "water" in problems[0].fix


def test_a_file_that_is_not_a_shapefile_is_one_clear_problem(tmp_path: Path) -> None:
    bad = tmp_path / "water.zip"
    bad.write_bytes(b"not a zip")
    problems: list[Problem] = []
    assert load_shape_layer(bad, str(bad), "water", problems) == []
    assert len(problems) == 1 and problems[0].file == str(bad)
    assert "shapefile" in problems[0].what


def test_almaty_water_layers(shared_data: Path) -> None:
    folder = shared_data / "osm" / "almaty"
    problems: list[Problem] = []
    areas = load_shape_layer(folder / "almaty_water_a.zip", "a", "water", problems)
    lines = load_shape_layer(folder / "almaty_waterways_a.zip", "b", "water", problems)
    assert problems == []
    # SOURCES.md §10a: 173 water polygons; 539 waterways of which 79 drains
    assert len(areas) == 173 and len(lines) == 539 - 79
    assert any(d.name == "Большая Алматинка" for d in lines)
    # many areas: drawn as one merged zone, named by examples
    layer = _polygons(tuple(areas + lines))
    assert len(layer) > MERGE_ZONES_ABOVE
    lon0, lat0 = 76.9, 43.25
    from optimizer.stages.sites import _inverse_projection

    zones = _zone_shapes(
        layer, 500.0, local_projection(lon0, lat0), _inverse_projection(lon0, lat0)
    )
    assert len(zones) == 1 and zones[0][0].startswith(f"areas ({len(layer)}: ")
