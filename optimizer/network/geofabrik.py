"""Geofabrik "free" road shapefiles (``gis_osm_roads_free_1``), zipped or not.

Geofabrik's shapefile extracts flatten OSM ways into a fixed table: ``fclass`` (the
highway class), ``oneway`` (F/T/B), ``maxspeed`` (0 = unknown), ``layer``, ``bridge``
and ``tunnel`` (T/F), ``name`` and ``ref``. Ways join where they share a coordinate,
except that a bridge or tunnel (or a way on another ``layer``) never joins the street
it crosses in mid-way; see :func:`_node_ids`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.network.assemble import _assemble, _fail
from optimizer.network.graph import IntArray, RoadNetwork
from optimizer.network.profile import TruckProfile, way_allowed

log = logging.getLogger("optimizer")

#: Columns that mark a layer as Geofabrik's roads table.
GEOFABRIK_COLUMNS = ("fclass", "oneway")
#: Columns read from it (those present).
READ_COLUMNS = (
    "osm_id",
    "fclass",
    "name",
    "ref",
    "oneway",
    "maxspeed",
    "layer",
    "bridge",
    "tunnel",
)
#: Geofabrik ``oneway`` codes as OSM ``oneway`` values: F digitised direction only,
#: T against it only, B both.
ONEWAY = {"F": "yes", "T": "-1", "B": "no"}
#: fclass values that are not OSM highway values; every other fclass is one
#: (motorway ... residential, living_street, service, footway, steps, ...), so the
#: truck profile's classes and speeds apply unchanged. ``unknown`` maps to no class
#: the profile allows.
FCLASS_HIGHWAY = {
    "track_grade1": "track",
    "track_grade2": "track",
    "track_grade3": "track",
    "track_grade4": "track",
    "track_grade5": "track",
    "unknown": "unknown",
}
_GROUND = (0, False, False)  # (layer, bridge, tunnel) of a street at street level
_MAX_IDS_SHOWN = 5


def _fields(path: Path, layer: str | None) -> list[str]:
    """The attribute names of one layer, lower case."""
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    return [str(f).lower() for f in info["fields"]]


def is_geofabrik(path: Path, layer: str | None = None) -> bool:
    """Whether a layer has Geofabrik's road columns (at least ``fclass`` and ``oneway``)."""
    fields = _fields(path, layer)
    return all(c in fields for c in GEOFABRIK_COLUMNS)


def zip_roads_layer(path: Path) -> str:
    """The roads layer of a zipped shapefile set: the one named ``*roads*``.

    A zip whose only layer has Geofabrik's road columns (a clipped copy renamed) is
    read too; anything else is an InputError listing the layers the zip has.
    """
    import pyogrio

    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    roads = [name for name in layers if "roads" in name.lower()]
    if roads:
        # Geofabrik's own name first (a full extract also has no other *roads* layer).
        roads.sort(key=lambda name: (not name.lower().startswith("gis_osm_roads"), name))
        return roads[0]
    if len(layers) == 1 and is_geofabrik(path, layers[0]):
        return layers[0]
    raise _fail(
        str(path),
        "has no roads layer (a layer named like gis_osm_roads_free_1 or roads_a); its layers: "
        + (", ".join(layers) if layers else "none"),
        "use the Geofabrik .shp.zip of the region, which holds gis_osm_roads_free_1",
    )


def _to_wgs84(frame: Any, file: str) -> tuple[Any, str | None]:
    """The frame in EPSG:4326, and the CRS it came in when it was reprojected."""
    if frame.crs is None:
        lon_lat = frame.total_bounds if len(frame) else np.zeros(4)
        ok = np.all(np.isfinite(lon_lat)) and (
            -180 <= lon_lat[0] <= lon_lat[2] <= 180 and -90 <= lon_lat[1] <= lon_lat[3] <= 90
        )
        if not ok:
            raise _fail(
                file,
                "has no coordinate reference system (no .prj file) and its coordinates are "
                f"not longitude/latitude (bounds {[round(float(b), 3) for b in lon_lat]})",
                "keep the .prj file beside the .shp (or inside the zip), or export the "
                "layer in WGS84 (EPSG:4326)",
            )
        return frame, None
    if frame.crs.equals("EPSG:4326"):
        return frame, None
    before = frame.crs.to_string()
    log.info("%s: reprojected the roads from %s to EPSG:4326", Path(file).name, before)
    return frame.to_crs("EPSG:4326"), before


def _usable_parts(frame: Any) -> tuple[Any, IntArray, IntArray]:
    """Line parts of every way and the ways whose geometry is unusable.

    Returns the parts (LineStrings of at least two distinct, finite points), the row
    of each part, and the rows skipped: no geometry, empty, not a line, or no part
    with two distinct points.
    """
    import shapely

    geoms = frame.geometry.to_numpy()
    kind = shapely.get_type_id(geoms)
    line = (kind == 1) | (kind == 5)  # LineString, MultiLineString (None gives -1)
    rows = np.flatnonzero(line & ~shapely.is_empty(geoms))
    parts, part_of = shapely.get_parts(geoms[rows], return_index=True)
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    finite = np.isfinite(coords).all(axis=1)
    bad_part = np.zeros(len(parts), dtype=bool)
    np.logical_or.at(bad_part, owner, ~finite)
    step = np.zeros(len(coords), dtype=bool)
    same = owner[1:] == owner[:-1]
    step[1:] = same & np.any(coords[1:] != coords[:-1], axis=1)
    moves = np.bincount(owner[step], minlength=len(parts))
    good = ~bad_part & (moves >= 1)
    part_row = rows[part_of]
    usable = np.zeros(len(frame), dtype=bool)
    usable[part_row[good]] = True
    return parts[good], part_row[good], np.flatnonzero(~usable)


def _levels(frame: Any) -> tuple[IntArray, int]:
    """A level id per way from (layer, bridge, tunnel), and the id of street level (or -1)."""

    def flag(column: str) -> Any:
        if column not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        return frame[column].astype(str).str.upper().isin(["T", "TRUE", "Y", "YES", "1"])

    layer = (
        pd.to_numeric(frame["layer"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
        if "layer" in frame.columns
        else np.zeros(len(frame), dtype=np.int64)
    )
    keys = list(
        zip(layer.tolist(), np.asarray(flag("bridge")), np.asarray(flag("tunnel")), strict=True)
    )
    ids: dict[tuple[int, bool, bool], int] = {}
    level = np.array([ids.setdefault((a, bool(b), bool(c)), len(ids)) for a, b, c in keys])
    return level.astype(np.int64), ids.get(_GROUND, -1)


def _node_ids(
    coord_id: IntArray, level: IntArray, is_end: npt.NDArray[np.bool_], ground: int
) -> IntArray:
    """A graph node per vertex occurrence, applying the level rule.

    Two ways join at a shared coordinate only if they are on the same level, or the
    coordinate is an end of at least one of them (a bridge joins its approach roads).
    Interior vertices get one node per (coordinate, level); a way's end joins the
    node of its own level there if one exists, else the only level passing through,
    else (several levels pass through) street level, else the lowest level id. Ends
    meeting only other ends all join one node.
    """
    occ = pd.DataFrame({"c": coord_id, "lev": level, "end": is_end.astype(bool)})
    inner = occ.loc[~occ["end"], ["c", "lev"]].drop_duplicates()
    n_inner = inner.groupby("c").size()
    inner = inner.assign(rank=(inner["lev"] != ground).astype(np.int64))
    chosen = inner.sort_values(["c", "rank", "lev"]).groupby("c")["lev"].first()
    own = pd.MultiIndex.from_frame(inner[["c", "lev"]])
    target = occ["lev"].to_numpy().copy()
    ends = np.flatnonzero(occ["end"].to_numpy())
    end_c, end_lev = coord_id[ends], level[ends]
    has_own = pd.MultiIndex.from_arrays([end_c, end_lev]).isin(own)
    count = n_inner.reindex(end_c).fillna(0).to_numpy()
    pick = chosen.reindex(end_c).fillna(-1).to_numpy().astype(np.int64)
    target[ends] = np.where(has_own, end_lev, np.where(count == 0, -1, pick))
    pair = np.stack([coord_id, target], axis=1)
    _, node = np.unique(pair, axis=0, return_inverse=True)
    return np.asarray(node, dtype=np.int64).reshape(-1)


def _way_tags(rec: Mapping[str, Any]) -> dict[str, object]:
    """OSM-style tags of one Geofabrik row, for the truck profile and street names."""
    fclass = str(rec.get("fclass") or "").strip().lower()
    oneway = str(rec.get("oneway") or "").strip().upper()
    try:
        speed = float(rec.get("maxspeed") or 0)
    except (TypeError, ValueError):
        speed = 0.0
    return {
        "highway": FCLASS_HIGHWAY.get(fclass, fclass) or "unknown",
        "oneway": ONEWAY.get(oneway),
        "maxspeed": speed if math.isfinite(speed) and speed > 0 else None,  # 0: unknown
        "name": rec.get("name") or None,
        "ref": rec.get("ref") or None,
    }


def read_geofabrik(
    path: Path, profile: TruckProfile | None, layer: str | None = None
) -> RoadNetwork:
    """A Geofabrik roads layer (``.shp``, or ``layer`` of a ``.zip``) as a RoadNetwork.

    Every vertex is a node and edges are straight segments, as for centerlines;
    ways the truck profile excludes (footway, steps, path, track, ...) are dropped
    before noding, so they join nothing.
    """
    import geopandas as gpd
    import shapely

    file = str(path)
    profile = profile or TruckProfile()
    fields = _fields(path, layer)
    columns = [c for c in READ_COLUMNS if c in fields]
    frame = gpd.read_file(path, layer=layer, columns=columns, engine="pyogrio")
    frame.columns = [str(c).lower() if c != frame.geometry.name else c for c in frame.columns]
    frame, reprojected = _to_wgs84(frame, file)
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    tags = [_way_tags(rec) for rec in records]
    memo: dict[object, bool] = {}
    allowed = np.zeros(len(tags), dtype=bool)
    for i, way in enumerate(tags):  # the profile reads only the class from this table
        known = memo.get(way["highway"])
        if known is None:
            known = memo[way["highway"]] = way_allowed(way, profile, require_highway=True)
        allowed[i] = known
    parts, part_row, broken = _usable_parts(frame)
    if len(broken):
        ids = frame["osm_id"].iloc[broken[:_MAX_IDS_SHOWN]].tolist() if "osm_id" in frame else []
        log.warning(
            "%s: skipped %d way(s) with no usable line geometry (empty, not a line, or "
            "fewer than 2 points)%s",
            path.name,
            len(broken),
            f"; the first osm_id(s): {', '.join(map(str, ids))}" if ids else "",
        )
    keep = allowed[part_row]
    parts, part_row = parts[keep], part_row[keep]
    if len(parts) == 0:
        raise _fail(
            file,
            f"contains no usable road a truck may drive on ({len(frame):,} ways read, "
            f"{int(allowed.sum()):,} of drivable classes, {len(broken):,} with broken geometry)",
            "use the Geofabrik roads layer (gis_osm_roads_free_1) of an area with streets",
        )
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    keys, coord_id = np.unique(np.round(coords, 7), axis=0, return_inverse=True)
    coord_id = coord_id.reshape(-1)
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    last = np.ones(len(owner), dtype=bool)
    last[:-1] = owner[1:] != owner[:-1]
    level, ground = _levels(frame)
    node = _node_ids(coord_id, level[part_row[owner]], first | last, ground)
    node_lon = np.zeros(int(node.max()) + 1)
    node_lat = np.zeros_like(node_lon)
    node_lon[node], node_lat[node] = keys[coord_id, 0], keys[coord_id, 1]
    same = ~last[:-1]
    a, b = node[:-1][same], node[1:][same]
    seg_row = part_row[owner[:-1][same]]
    proper = a != b
    a, b, seg_row = a[proper], b[proper], seg_row[proper]
    levels_used = len(np.unique(level[part_row]))
    return _assemble(
        path.name if layer is None else f"{path.name}!{layer}",
        node_lon,
        node_lat,
        a,
        b,
        (tags[i] for i in seg_row.tolist()),
        profile,
        directed=False,
        stats={
            "source": file,
            "reader": "geofabrik",
            "layer": layer,
            "lines_read": len(frame),
            "ways_drivable": int(allowed.sum()),
            "broken_geometries": len(broken),
            "levels": levels_used,
            "reprojected_from": reprojected,
        },
    )
