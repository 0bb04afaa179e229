"""Street centerlines from municipal GIS (GeoJSON, GeoPackage, Shapefile)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.network.assemble import PROFILE_TAGS, _assemble, _fail, street_name
from optimizer.network.graph import IntArray, RoadNetwork, haversine_m
from optimizer.network.profile import TruckProfile

log = logging.getLogger("optimizer")

#: Attributes that hold a street's name in municipal layers, in order of preference
#: (compared in lower case); the first present one is read as ``name``.
NAME_COLUMNS = (
    "name",
    "street",
    "street_name",
    "streetname",
    "st_name",
    "str_name",
    "full_name",
    "fullname",
    "road_name",
    "name_ru",
    "name_kk",
    "name_en",
)


def _name_column(columns: list[Any]) -> Any:
    """The attribute holding the street name, or None (see :data:`NAME_COLUMNS`)."""
    lower = {str(c).lower(): c for c in reversed(columns)}
    return next((lower[n] for n in NAME_COLUMNS if n in lower), None)


def _read_centerlines(
    path: Path, profile: TruckProfile | None, max_segment_m: float | None = None
) -> RoadNetwork:
    """Street centerlines (LineStrings): noded where lines cross or share vertices.

    Every vertex becomes a node, so edges are straight segments. Attributes named
    like OSM tags (``highway``, ``oneway``, ``maxspeed``, ...) are used when present;
    a line without them is a two-way street at the profile's default speed.
    Crossings are treated as junctions: the file carries no bridge/tunnel levels.
    Streets are named from the first attribute in :data:`NAME_COLUMNS` (else ``ref``).
    """
    import geopandas as gpd
    import shapely

    frame = gpd.read_file(path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame.explode(index_parts=False)
    frame = frame[frame.geom_type == "LineString"].reset_index(drop=True)
    if frame.empty:
        raise _fail(
            str(path), "contains no LineString streets", "export the street centerlines as lines"
        )
    frame, n_long = _cut_long_segments(frame, max_segment_m)
    lines = frame.geometry.to_numpy()
    attrs = frame.drop(columns=frame.geometry.name)
    columns = [c for c in attrs.columns if str(c).lower() in (*PROFILE_TAGS, "ref")]
    name_column = _name_column(list(attrs.columns))
    pieces = shapely.get_parts(shapely.node(shapely.MultiLineString(list(lines))))
    if any(str(c).lower() != "ref" for c in columns):  # tags the profile reads
        pieces, source = _attribute_pieces(lines, pieces)
    elif columns or name_column is not None:  # names only: two-way, pieces keep their direction
        source = _piece_lines(lines, pieces)
    else:  # no attributes: every street is two-way at the default speed, unnamed
        source = np.zeros(len(pieces), dtype=np.int64)
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    keys, node_of = np.unique(np.round(coords, 7), axis=0, return_inverse=True)
    node_of = node_of.reshape(-1)
    same = owner[:-1] == owner[1:]
    a, b = node_of[:-1][same], node_of[1:][same]
    seg_line = source[owner[:-1][same]]
    # Drop zero-length segments and duplicates (overlapping lines), keeping the first.
    proper = a != b
    a, b, seg_line = a[proper], b[proper], seg_line[proper]
    pair = np.sort(np.stack([a, b], axis=1), axis=1)
    _, first = np.unique(pair, axis=0, return_index=True)
    first.sort()
    a, b, seg_line = a[first], b[first], seg_line[first]
    records = attrs[columns].rename(columns=str.lower).astype(object)
    per_line = records.where(records.notna(), None).to_dict("records")
    if name_column is not None:
        named = attrs[name_column].astype(object)
        for rec, value in zip(per_line, named.where(named.notna(), None).tolist(), strict=True):
            rec["name"] = value
    return _assemble(
        path.name,
        keys[:, 0],
        keys[:, 1],
        a,
        b,
        (per_line[i] for i in seg_line.tolist()),
        profile or TruckProfile(),
        directed=False,
        names=np.array([street_name(rec) for rec in per_line], dtype=object)[seg_line],
        stats={
            "source": str(path),
            "reader": "centerlines",
            "lines_read": len(lines),
            "long_segments": n_long,
            "max_segment_m": max_segment_m,
        },
        require_highway=False,
    )


LONG_SEGMENT_M = 2000.0  # straight segments longer than this are suspicious in a city


def _cut_long_segments(frame: Any, max_segment_m: float | None) -> tuple[Any, int]:
    """Split lines at segments longer than max_segment_m; count segments over 2 km."""
    import geopandas as gpd
    import shapely

    coords, owner = shapely.get_coordinates(frame.geometry.to_numpy(), return_index=True)
    same = owner[:-1] == owner[1:]
    seg = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    n_long = int((same & (seg > LONG_SEGMENT_M)).sum())
    if max_segment_m is None:
        if n_long:
            log.warning(
                "%d straight segments longer than %.0f m in the street lines; if they join "
                "separate parts of a street, load with max_segment_m to cut them",
                n_long,
                LONG_SEGMENT_M,
            )
        return frame, n_long
    cut = np.flatnonzero(~same | (seg > max_segment_m))  # last vertex of each piece
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut + 1, [len(coords)]])
    keep = ends - starts >= 2
    starts, ends = starts[keep], ends[keep]
    parts = [
        shapely.LineString(coords[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    rows = owner[starts]
    out = gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name).iloc[rows].reset_index(drop=True),
        geometry=parts,
        crs=frame.crs,
    )
    return out, n_long


#: Lines are cut into parts of at most this many degrees (~150-200 m) for the index of
#: :func:`_piece_lines`: long straight segments would otherwise have huge boxes.
_INDEX_STEP_DEG = 0.002


def _piece_lines(lines: Any, pieces: Any) -> IntArray:
    """The source line of every noded piece: the line nearest the middle of its first segment.

    A quicker :func:`_attribute_pieces` for naming: distances to short straight
    segments of the lines rather than to whole lines; pieces are not turned. Where
    lines overlap, the piece goes to the first of them.
    """
    import shapely

    eps = 1e-9
    coords, owner = shapely.get_coordinates(
        shapely.segmentize(lines, _INDEX_STEP_DEG), return_index=True
    )
    seg = np.flatnonzero(owner[:-1] == owner[1:])
    x0, y0, x1, y1 = coords[seg, 0], coords[seg, 1], coords[seg + 1, 0], coords[seg + 1, 1]
    seg_line = owner[seg]
    boxes = shapely.box(
        np.minimum(x0, x1) - eps,
        np.minimum(y0, y1) - eps,
        np.maximum(x0, x1) + eps,
        np.maximum(y0, y1) + eps,
    )
    # The middle of each piece's first segment: on its line, and cheaper than the
    # middle of the whole piece.
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    start = np.searchsorted(owner, np.arange(len(pieces)))
    mids = (coords[start] + coords[start + 1]) / 2
    piece_idx, seg_idx = shapely.STRtree(boxes).query(shapely.points(mids))
    px, py = mids[piece_idx, 0], mids[piece_idx, 1]
    dx, dy = x1[seg_idx] - x0[seg_idx], y1[seg_idx] - y0[seg_idx]
    len2 = dx * dx + dy * dy
    t = (px - x0[seg_idx]) * dx + (py - y0[seg_idx]) * dy
    t = np.clip(t / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    gap = np.hypot(px - x0[seg_idx] - t * dx, py - y0[seg_idx] - t * dy)
    order = np.lexsort((seg_line[seg_idx], gap, piece_idx))
    piece_idx, seg_idx = piece_idx[order], seg_idx[order]
    first = np.ones(len(piece_idx), dtype=bool)
    first[1:] = piece_idx[1:] != piece_idx[:-1]
    source = np.zeros(len(pieces), dtype=np.int64)
    source[piece_idx[first]] = seg_line[seg_idx[first]]
    found = np.zeros(len(pieces), dtype=bool)
    found[piece_idx] = True
    missing = np.flatnonzero(~found)
    if len(missing):  # not expected: a midpoint lies on its line; ask for the nearest
        _, near = shapely.STRtree(lines).query_nearest(
            shapely.points(mids[missing]), all_matches=False
        )
        source[missing] = near
    return source


def _attribute_pieces(lines: Any, pieces: Any) -> tuple[Any, IntArray]:
    """The source line of every noded piece, and each piece turned to run like its line."""
    import shapely

    tree = shapely.STRtree(lines)
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    piece_idx, line_idx = tree.query(mids)
    gap = shapely.distance(mids[piece_idx], lines[line_idx])
    order = np.lexsort((gap, piece_idx))
    piece_idx, line_idx = piece_idx[order], line_idx[order]
    first = np.ones(len(piece_idx), dtype=bool)
    first[1:] = piece_idx[1:] != piece_idx[:-1]
    source = np.full(len(pieces), -1, dtype=np.int64)
    source[piece_idx[first]] = line_idx[first]
    found = source >= 0
    pieces, source = pieces[found], source[found]
    start = shapely.line_locate_point(lines[source], shapely.get_point(pieces, 0))
    end = shapely.line_locate_point(lines[source], shapely.get_point(pieces, -1))
    flip = end < start
    pieces[flip] = shapely.reverse(pieces[flip])
    return pieces, source
