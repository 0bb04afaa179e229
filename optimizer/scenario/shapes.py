"""Siting layers from shapefiles: water bodies, waterways and housing as a GIS office has them.

Geofabrik's "free" OpenStreetMap shapefiles (``gis_osm_water_a_free_1``,
``gis_osm_waterways_free_1``, ``gis_osm_landuse_a_free_1``), zipped or not, or any
polygon or line shapefile. Lines (rivers, canals) become thin polygons so the
sanitary-protection rules measure distances from the water's edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from optimizer.errors import Problem
from optimizer.scenario.schema import District

__all__ = ["LINE_HALF_WIDTH_M", "NOT_WATER", "SHAPE_SUFFIXES", "load_shape_layer"]

SHAPE_SUFFIXES = (".zip", ".shp")
#: Half the width given to a waterway drawn as a line (a small river or canal).
LINE_HALF_WIDTH_M = 5.0
#: Geofabrik waterway classes that are not water bodies: storm-water drains.
NOT_WATER = frozenset({"drain"})
#: Layer-name words that pick the layers of a zip holding several (a whole Geofabrik
#: download): the water key takes water areas and waterways, residential the land use.
_LAYER_WORDS = {"water": ("water",), "residential": ("landuse", "residential")}


def _layers(path: Path, key: str, label: str, problems: list[Problem]) -> list[str] | None:
    """The layers of the file to read, or None with a Problem."""
    import pyogrio

    try:
        found = [str(name) for name, _ in pyogrio.list_layers(_uri(path))]
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        problems.append(Problem(label, "", f"cannot read it as a shapefile ({exc})", _FIX))
        return None
    if len(found) <= 1:
        return found
    words = _LAYER_WORDS.get(key, (key,))
    chosen = [name for name in found if any(w in name.lower() for w in words)]
    if not chosen:
        problems.append(
            Problem(
                label,
                "",
                f"none of its {len(found)} layers is a {key} layer ({', '.join(found[:8])})",
                f"give the {key} layer's own file, or a zip whose layer names contain "
                f"{' or '.join(repr(w) for w in words)}",
            )
        )
        return None
    return chosen


_FIX = "give a zipped or plain ESRI shapefile (.zip or .shp with its .shx and .dbf), or GeoJSON"


def _uri(path: Path) -> str:
    return f"zip://{path}" if path.suffix.lower() == ".zip" else str(path)


def _metres_crs(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat} +lon_0={lon} +units=m +datum=WGS84"


def load_shape_layer(path: Path, label: str, key: str, problems: list[Problem]) -> list[District]:
    """The polygons of a shapefile layer (lines widened), named, for the siting rules.

    ``key`` is the scenario key (``water`` or ``residential``): it picks layers in a
    multi-layer zip, drops drains from water, and keeps only residential land use.
    """
    import geopandas as gpd

    if not path.is_file():
        problems.append(
            Problem(label, "", "file not found", "check the path (relative to the scenario)")
        )
        return []
    layers = _layers(path, key, label, problems)
    if layers is None:
        return []
    out: list[District] = []
    skipped = 0
    for layer in layers:
        try:
            frame = gpd.read_file(_uri(path), layer=layer)
        except Exception as exc:  # a broken .dbf or .shx
            problems.append(Problem(label, f"layer {layer}", f"cannot be read ({exc})", _FIX))
            continue
        where = f"layer {layer}"
        if frame.crs is None:
            x0, y0, x1, y1 = (float(v) for v in frame.total_bounds) if len(frame) else (0, 0, 0, 0)
            if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
                problems.append(
                    Problem(
                        label,
                        where,
                        "has no coordinate system (.prj) and its coordinates are not longitude/latitude",
                        "export it with its .prj file, or in WGS84 (EPSG:4326)",
                    )
                )
                continue
        elif frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)  # a projected layer (e.g. UTM 43N) back to lon/lat
        if "fclass" in frame.columns:
            fclass = frame["fclass"].astype(str)
            if key == "water":
                frame = frame[~fclass.isin(NOT_WATER)]
            elif key == "residential" and "landuse" in layer.lower():
                frame = frame[fclass == "residential"]
        if frame.empty:
            continue
        x0, y0, x1, y1 = (float(v) for v in frame.total_bounds)
        geoms = frame.geometry.copy()
        lines = geoms.geom_type.isin(["LineString", "MultiLineString"])
        if lines.any():  # widened in local metres, then back to lon/lat
            metres = _metres_crs((x0 + x1) / 2, (y0 + y1) / 2)
            geoms[lines] = (
                geoms[lines].to_crs(metres).buffer(LINE_HALF_WIDTH_M, quad_segs=2).to_crs(4326)
            )
        for i, geom in enumerate(geoms):
            shape = _as_area(geom)
            if shape is None:
                skipped += 1
                continue
            row = frame.iloc[i]
            name = _name(row.get("name"), row.get("fclass"), row.get("osm_id"), layer, i)
            rings = tuple(
                tuple((float(x), float(y)) for x, y in np.asarray(p.exterior.coords)[:, :2])
                for p in _polygons(shape)
            )
            try:
                out.append(District(name=name, population=0.0, rings=rings))
            except ValidationError:
                skipped += 1
    if skipped and not out:
        problems.append(
            Problem(label, "", f"no usable polygon or line ({skipped} empty or broken)", _FIX)
        )
    return out


def _as_area(geom: BaseGeometry | None) -> BaseGeometry | None:
    """A polygon feature (repaired if invalid); anything else is skipped."""
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    return geom if geom.is_valid else shapely.make_valid(geom)


def _polygons(shape: BaseGeometry) -> list[shapely.Polygon]:
    if isinstance(shape, shapely.Polygon):
        return [shape]
    return [g for g in getattr(shape, "geoms", []) if isinstance(g, shapely.Polygon)]


def _name(name: object, fclass: object, osm_id: object, layer: str, index: int) -> str:
    """A feature's name, else its class and OSM id (``river 123``), else its row."""
    for value in (name,):
        if isinstance(value, str) and value.strip():
            return value.strip()
    kind = str(fclass) if isinstance(fclass, str) and fclass else layer
    return (
        f"{kind} {osm_id}" if osm_id is not None and str(osm_id) != "nan" else f"{kind} {index + 1}"
    )
