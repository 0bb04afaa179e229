"""Street centerlines from municipal GIS (GeoJSON, GeoPackage, Shapefile)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
    path: Path,
    profile: TruckProfile | None,
    max_segment_m: float | None = None,
    *,
    layer: str | None = None,
) -> RoadNetwork:
    """Street centerlines (LineStrings): noded where lines cross or share vertices.

    Every vertex becomes a node, so edges are straight segments. Attributes named
    like OSM tags (``highway``, ``oneway``, ``maxspeed``, ...) are used when present;
    a line without them is a two-way street at the profile's default speed.
    Crossings are treated as junctions: the file carries no bridge/tunnel levels.
    Streets are named from the first attribute in :data:`NAME_COLUMNS` (else ``ref``).
    With ``max_segment_m``, straight segments longer than that are jumps between
    separate parts of a street: see :func:`_keep_jumps` for which are kept.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    frame = gpd.read_file(path, layer=layer)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame.explode(index_parts=False)
    frame = frame[frame.geom_type == "LineString"].reset_index(drop=True)
    if frame.empty:
        raise _fail(
            str(path), "contains no LineString streets", "export the street centerlines as lines"
        )
    frame, jumps, n_long = _cut_long_segments(frame, max_segment_m)
    lines = frame.geometry.to_numpy()
    n_lines = len(lines)
    if len(lines):
        pieces = shapely.get_parts(shapely.node(shapely.MultiLineString(list(lines))))
    else:
        pieces = np.empty(0, dtype=object)
    gaps = np.empty(0, dtype=object)
    if max_segment_m is not None and len(pieces):
        gaps = _gap_connectors(pieces)
    with_gaps = np.concatenate([pieces, gaps])
    kept = _keep_jumps(with_gaps, jumps.geometry.to_numpy()) if len(jumps) else np.zeros(0, bool)
    no_attrs = gpd.GeoDataFrame(
        {c: [None] * len(gaps) for c in jumps.columns if c != jumps.geometry.name},
        geometry=list(gaps),
        crs=frame.crs,
    )
    frame = pd.concat([frame, jumps[kept], no_attrs], ignore_index=True)
    attrs = frame.drop(columns=frame.geometry.name)
    columns = [c for c in attrs.columns if str(c).lower() in (*PROFILE_TAGS, "ref")]
    name_column = _name_column(list(attrs.columns))
    if not len(pieces):
        source = np.zeros(0, dtype=np.int64)
    elif any(str(c).lower() != "ref" for c in columns):  # tags the profile reads
        pieces, source = _attribute_pieces(lines, pieces)
    elif columns or name_column is not None:  # names only: two-way, pieces keep their direction
        source = _piece_lines(lines, pieces)
    else:  # no attributes: every street is two-way at the default speed, unnamed
        source = np.zeros(len(pieces), dtype=np.int64)
    # Kept jumps and gap connectors join only their two ends: they are not noded where
    # they cross streets.
    pieces = np.concatenate([pieces, jumps.geometry.to_numpy()[kept], gaps])
    n_extra = int(kept.sum()) + len(gaps)
    source = np.concatenate([source, n_lines + np.arange(n_extra, dtype=np.int64)])
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
    n_kept = int(kept.sum())
    if max_segment_m is not None:
        log.info(
            "%s: %d straight segments longer than max_segment_m = %g m: dropped %d (the "
            "streets join their ends within %g x the straight distance, an end touches no "
            "street, it is over %.0f km, or it leads to a scrap of street), kept %d; %d "
            "gaps under %g m between separate parts joined",
            path.name,
            len(jumps),
            max_segment_m,
            len(jumps) - n_kept,
            DETOUR_FACTOR,
            MAX_KEPT_JUMP_M / 1000,
            n_kept,
            len(gaps),
            JOIN_GAP_M,
        )
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
            "lines_read": n_lines + n_kept,
            "long_segments": n_long,
            "max_segment_m": max_segment_m,
            "jumps_found": len(jumps),
            "jumps_dropped": len(jumps) - n_kept,
            "jumps_kept": n_kept,
            "gaps_joined": len(gaps),
        },
        require_highway=False,
    )


LONG_SEGMENT_M = 2000.0  # straight segments longer than this are suspicious in a city
#: A jump (a segment longer than max_segment_m) is dropped when the other streets join
#: its two ends by a path at most this many times its straight length. Measured on
#: Astana (docs/networks.md): 1.5 and 2 give the same connectivity and route lengths,
#: 2 keeps fewer straight jumps (102 of 381 instead of 127).
DETOUR_FACTOR = 2.0
#: With max_segment_m, separate parts whose vertices come this close (metres) are
#: linked (a street ending just short of the one it meets).
JOIN_GAP_M = 20.0
#: A jump joining two separate parts is kept only when the smaller part has at least
#: this many metres of street per metre of jump.
MIN_PART_PER_JUMP = 0.25
#: No jump longer than this is kept: a false line across a city also draws the
#: points beside it (they snap to the nearest street) onto a detour.
MAX_KEPT_JUMP_M = 5000.0


def _cut_long_segments(frame: Any, max_segment_m: float | None) -> tuple[Any, Any, int]:
    """Split lines at segments longer than max_segment_m; count segments over 2 km.

    Returns the pieces, the cut segments (jumps) as two-point lines with their
    line's attributes, and the number of segments over :data:`LONG_SEGMENT_M`.
    """
    import geopandas as gpd
    import shapely

    coords, owner = shapely.get_coordinates(frame.geometry.to_numpy(), return_index=True)
    same = owner[:-1] == owner[1:]
    seg = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    n_long = int((same & (seg > LONG_SEGMENT_M)).sum())
    if max_segment_m is None:
        if n_long:
            log.warning(
                "%d straight segments longer than %.0f m in the street lines (the longest "
                "%.1f km); if they join separate parts of a street, set max_segment_m "
                "(metres) under [network] in the scenario, or --max-segment-m on "
                "'optimizer network', to cut them",
                n_long,
                LONG_SEGMENT_M,
                float(seg[same].max()) / 1000,
            )
        return frame, frame.iloc[:0], n_long
    long = same & (seg > max_segment_m)
    cut = np.flatnonzero(~same | long)  # last vertex of each piece
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut + 1, [len(coords)]])
    keep = ends - starts >= 2
    starts, ends = starts[keep], ends[keep]
    parts = [
        shapely.LineString(coords[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    attrs = frame.drop(columns=frame.geometry.name)
    out = gpd.GeoDataFrame(
        attrs.iloc[owner[starts]].reset_index(drop=True), geometry=parts, crs=frame.crs
    )
    at = np.flatnonzero(long)
    jumps = gpd.GeoDataFrame(
        attrs.iloc[owner[at]].reset_index(drop=True),
        geometry=shapely.linestrings(np.stack([coords[at], coords[at + 1]], axis=1)),
        crs=frame.crs,
    )
    return out, jumps, n_long


def _piece_graph(pieces: Any) -> tuple[Any, IntArray, IntArray, Any]:
    """The noded pieces as an undirected graph: node coordinates, edge ends, metres."""
    import shapely

    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    keys, node_of = np.unique(np.round(coords, 7), axis=0, return_inverse=True)
    node_of = node_of.reshape(-1)
    same = owner[:-1] == owner[1:]
    a, b = node_of[:-1][same], node_of[1:][same]
    w = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])[same]
    return keys, a, b, w


def _gap_connectors(pieces: Any) -> Any:
    """Short straight links between separate parts whose vertices nearly touch.

    Street files often end a street a few metres short of the one it meets; a long
    jump's noding used to hide that, and cutting the jump leaves the parts apart.
    Closest pairs of vertices under :data:`JOIN_GAP_M` are linked, closest first,
    only between parts not yet joined, so no part gains a second link (no shortcut).
    """
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    keys, a, b, w = _piece_graph(pieces)
    n = len(keys)
    _, label = connected_components(coo_matrix((w, (a, b)), shape=(n, n)), directed=False)
    metres = 111_320.0
    xy = np.column_stack(
        [keys[:, 0] * metres * np.cos(np.radians(float(keys[:, 1].mean()))), keys[:, 1] * metres]
    )
    pairs = cKDTree(xy).query_pairs(JOIN_GAP_M, output_type="ndarray")
    pairs = pairs[label[pairs[:, 0]] != label[pairs[:, 1]]]
    p, q = keys[pairs[:, 0]], keys[pairs[:, 1]]
    gap = haversine_m(p[:, 0], p[:, 1], q[:, 0], q[:, 1])
    parent = list(range(int(label.max()) + 1))

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    links = []
    for k in np.argsort(gap, kind="stable").tolist():
        if gap[k] > JOIN_GAP_M:
            break
        cp, cq = root(int(label[pairs[k, 0]])), root(int(label[pairs[k, 1]]))
        if cp != cq:
            parent[cp] = cq
            links.append(np.stack([p[k], q[k]]))
    return shapely.linestrings(links) if links else np.empty(0, dtype=object)


def _keep_jumps(pieces: Any, jumps: Any) -> npt.NDArray[np.bool_]:
    """Which jumps to keep: those whose ends the streets do not join by a short path.

    The streets are the noded pieces, as an undirected graph weighted by metres.
    Shortest jumps are decided first, and a kept jump is added to the graph for the
    next ones, so two jumps across the same gap keep only one. A jump is dropped when
    a path between its ends is at most :data:`DETOUR_FACTOR` x its length, when an
    end touches no street (it leads nowhere), or when it joins two separate parts and
    the smaller has less street than :data:`MIN_PART_PER_JUMP` x the jump's length (a
    long false line for a few hundred metres of street: the part is left out instead).
    Profile exclusions and one-way attributes are not considered here.
    """
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    keep = np.zeros(len(jumps), dtype=bool)
    if not len(pieces):
        return keep
    keys, a, b, w = _piece_graph(pieces)
    n = len(keys)
    index = {(x, y): i for i, (x, y) in enumerate(keys.tolist())}
    ends = np.round(shapely.get_coordinates(jumps), 7).reshape(-1, 2, 2)
    length = haversine_m(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])
    _, label = connected_components(coo_matrix((w, (a, b)), shape=(n, n)), directed=False)
    parent = list(range(int(label.max()) + 1))  # union-find over components
    street_m = np.bincount(label[a], weights=w, minlength=len(parent)).tolist()

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    graph = None
    extra_a: list[int] = []
    extra_b: list[int] = []
    extra_w: list[float] = []
    for j in np.argsort(length, kind="stable").tolist():
        p = index.get((float(ends[j, 0, 0]), float(ends[j, 0, 1])))
        q = index.get((float(ends[j, 1, 0]), float(ends[j, 1, 1])))
        if p is None or q is None or p == q or length[j] > MAX_KEPT_JUMP_M:
            continue
        cp, cq = root(int(label[p])), root(int(label[q]))
        if cp != cq and min(street_m[cp], street_m[cq]) < MIN_PART_PER_JUMP * length[j]:
            continue
        if cp == cq:
            if graph is None:
                ea, eb = np.concatenate([a, extra_a]), np.concatenate([b, extra_b])
                ew = np.concatenate([w, extra_w])
                graph = coo_matrix((ew, (ea, eb)), shape=(n, n)).tocsr()
            limit = DETOUR_FACTOR * float(length[j])
            dist = dijkstra(graph, directed=False, indices=p, limit=limit)
            if dist[q] <= limit:
                continue
        keep[j] = True
        if cp != cq:
            parent[cp] = cq
            street_m[cq] += street_m[cp] + float(length[j])
        extra_a.append(p)
        extra_b.append(q)
        extra_w.append(float(length[j]))
        graph = None
    return keep


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
