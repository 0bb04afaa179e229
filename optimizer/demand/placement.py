"""Where generated collection points go: along streets, inside polygons, or near centroids.

A district without explicit points gets ``round(population / people_per_point)``
container sites. With a road network they are spread along the streets inside the
district (systematic sampling along the street length, so points fall in proportion
to length and never bunch up on one street); without one they fill the district
polygon on a jittered grid; without a polygon they scatter around its centroid.
Every placement is reproducible from a numpy random generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from optimizer.network import RoadNetwork
    from optimizer.scenario import District

FloatArray = npt.NDArray[np.float64]
Method = Literal["network", "polygon", "centroid"]

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
#: Area served by one site when only a centroid is known (≈ 220 m spacing): assumption.
CENTROID_AREA_PER_SITE_M2 = 50_000.0


def m_per_deg_lon(lat: float) -> float:
    """Metres per degree of longitude at a latitude."""
    return M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))


def district_geometry(district: District) -> BaseGeometry | None:
    """The district's polygons as one valid shapely geometry, or None without rings."""
    parts = [Polygon(ring) for ring in district.rings if len(ring) >= 3]
    if not parts:
        return None
    geom = shapely.union_all([shapely.make_valid(p) for p in parts])
    return None if geom.is_empty or geom.area == 0 else geom


def area_m2(geom: BaseGeometry) -> float:
    """Approximate area in m² of a lon/lat geometry (local equirectangular scale)."""
    lat0 = geom.centroid.y
    return float(geom.area) * m_per_deg_lon(lat0) * M_PER_DEG_LAT


def points_in_polygon(
    geom: BaseGeometry, n: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """``n`` points inside ``geom``, evenly spread: one jittered point per grid cell.

    The cell side is ``sqrt(area / n)``; cells whose point falls outside are dropped,
    surplus points are removed at random, and missing ones are drawn uniformly.
    """
    if n <= 0:
        return np.empty(0), np.empty(0)
    minx, miny, maxx, maxy = geom.bounds
    lat0 = geom.centroid.y
    cell = math.sqrt(area_m2(geom) / n)
    dlon, dlat = cell / m_per_deg_lon(lat0), cell / M_PER_DEG_LAT
    nx, ny = max(1, math.ceil((maxx - minx) / dlon)), max(1, math.ceil((maxy - miny) / dlat))
    gx, gy = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    x = minx + (gx.ravel() + rng.random(gx.size)) * dlon
    y = miny + (gy.ravel() + rng.random(gy.size)) * dlat
    inside = shapely.contains_xy(geom, x, y)
    x, y = x[inside], y[inside]
    if len(x) > n:
        keep = np.sort(rng.choice(len(x), size=n, replace=False))
        x, y = x[keep], y[keep]
    while len(x) < n:
        need = n - len(x)
        cx = rng.uniform(minx, maxx, 4 * need + 16)
        cy = rng.uniform(miny, maxy, 4 * need + 16)
        ok = shapely.contains_xy(geom, cx, cy)
        x = np.concatenate([x, cx[ok][:need]])
        y = np.concatenate([y, cy[ok][:need]])
    return x, y


def points_around(
    lon: float,
    lat: float,
    n: int,
    rng: np.random.Generator,
    area_per_site_m2: float = CENTROID_AREA_PER_SITE_M2,
) -> tuple[FloatArray, FloatArray]:
    """``n`` points uniformly in a disc around a centroid, sized ``n × area_per_site``."""
    radius = math.sqrt(max(n, 1) * area_per_site_m2 / math.pi)
    r = radius * np.sqrt(rng.random(n))
    theta = rng.uniform(0.0, 2.0 * math.pi, n)
    return (
        lon + r * np.cos(theta) / m_per_deg_lon(lat),
        lat + r * np.sin(theta) / M_PER_DEG_LAT,
    )


@dataclass(frozen=True)
class StreetSegments:
    """Straight pieces of every street (each two-way street once), in lon/lat."""

    lon0: FloatArray
    lat0: FloatArray
    lon1: FloatArray
    lat1: FloatArray
    length_m: FloatArray

    @property
    def mid_lon(self) -> FloatArray:
        """Longitude of each segment's midpoint."""
        return (self.lon0 + self.lon1) / 2.0

    @property
    def mid_lat(self) -> FloatArray:
        """Latitude of each segment's midpoint."""
        return (self.lat0 + self.lat1) / 2.0

    @classmethod
    def from_network(cls, network: RoadNetwork | Any, max_piece_m: float = 50.0) -> StreetSegments:
        """Segments of a RoadNetwork-like object (``node_lon/lat``, ``edge_u/v``,
        ``edge_length_m``, ``edge_geometry``); a street's reverse edge is skipped and
        pieces longer than ``max_piece_m`` are cut, so that district borders are
        followed closely."""
        u = np.asarray(network.edge_u, dtype=np.int64)
        v = np.asarray(network.edge_v, dtype=np.int64)
        metres = np.round(np.asarray(network.edge_length_m, dtype=float)).astype(np.int64)
        key = np.stack([np.minimum(u, v), np.maximum(u, v), metres], axis=1)
        _, first = np.unique(key, axis=0, return_index=True)
        node_lon = np.asarray(network.node_lon, dtype=float)
        node_lat = np.asarray(network.node_lat, dtype=float)
        geometry = getattr(network, "edge_geometry", None)
        pieces = []
        for e in np.sort(first).tolist():
            coords = None if geometry is None else geometry[e]
            line = _as_lonlat(coords)
            if line is None:
                line = np.array(
                    [[node_lon[u[e]], node_lat[u[e]]], [node_lon[v[e]], node_lat[v[e]]]]
                )
            pieces.append(np.stack([line[:-1], line[1:]], axis=1))
        seg = np.concatenate(pieces) if pieces else np.empty((0, 2, 2))
        lon0, lat0, lon1, lat1 = seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0], seg[:, 1, 1]
        length = _lengths_m(lon0, lat0, lon1, lat1)
        parts = np.maximum(1, np.ceil(length / max_piece_m)).astype(np.int64)
        if parts.max(initial=1) > 1:
            idx = np.repeat(np.arange(len(length)), parts)
            first = np.repeat(np.cumsum(parts) - parts, parts)
            k = np.arange(len(idx)) - first
            f0, f1 = k / parts[idx], (k + 1) / parts[idx]
            dlon, dlat = lon1[idx] - lon0[idx], lat1[idx] - lat0[idx]
            lon0, lat0, lon1, lat1 = (
                lon0[idx] + f0 * dlon,
                lat0[idx] + f0 * dlat,
                lon0[idx] + f1 * dlon,
                lat0[idx] + f1 * dlat,
            )
            length = _lengths_m(lon0, lat0, lon1, lat1)
        return cls(lon0, lat0, lon1, lat1, length)


def _lengths_m(
    lon0: FloatArray, lat0: FloatArray, lon1: FloatArray, lat1: FloatArray
) -> FloatArray:
    """Lengths in metres of short lon/lat segments (local equirectangular scale)."""
    mid_lat = (lat0 + lat1) / 2.0
    dx = (lon1 - lon0) * M_PER_DEG_LON_EQUATOR * np.cos(np.radians(mid_lat))
    dy = (lat1 - lat0) * M_PER_DEG_LAT
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def _as_lonlat(coords: Any) -> FloatArray | None:
    """A (k, 2) lon/lat array from a (k, 2) or (2, k) polyline; None if unusable."""
    if coords is None:
        return None
    arr = np.asarray(coords, dtype=float)
    if arr.ndim != 2:
        return None
    if arr.shape[1] != 2 and arr.shape[0] == 2:
        arr = arr.T
    return arr if arr.shape[1] == 2 and len(arr) >= 2 else None


def points_on_streets(
    segments: StreetSegments, geom: BaseGeometry, n: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray] | None:
    """``n`` points along the streets inside ``geom``, in proportion to street length.

    Systematic sampling: one random start, then a fixed step of (street length inside
    the polygon) / n along the streets, so spacing is even. Segments count as inside
    when their midpoint is; a point that still lands outside moves to its segment's
    midpoint. None when no street lies inside.
    """
    if n <= 0:
        return np.empty(0), np.empty(0)
    minx, miny, maxx, maxy = geom.bounds
    mx, my = segments.mid_lon, segments.mid_lat
    near = np.flatnonzero((mx >= minx) & (mx <= maxx) & (my >= miny) & (my <= maxy))
    inside = near[shapely.contains_xy(geom, mx[near], my[near])]
    inside = inside[segments.length_m[inside] > 0]
    if len(inside) == 0:
        return None
    lengths = segments.length_m[inside]
    cum = np.cumsum(lengths)
    step = cum[-1] / n
    pos = (rng.random() + np.arange(n)) * step
    k = np.minimum(np.searchsorted(cum, pos, side="right"), len(inside) - 1)
    t = np.clip((pos - (cum[k] - lengths[k])) / lengths[k], 0.0, 1.0)
    seg = inside[k]
    lon = segments.lon0[seg] + t * (segments.lon1[seg] - segments.lon0[seg])
    lat = segments.lat0[seg] + t * (segments.lat1[seg] - segments.lat0[seg])
    out = ~shapely.contains_xy(geom, lon, lat)
    lon[out], lat[out] = mx[seg[out]], my[seg[out]]
    return lon, lat


def place_points(
    district: District,
    n: int,
    rng: np.random.Generator,
    segments: StreetSegments | None = None,
) -> tuple[FloatArray, FloatArray, Method]:
    """``n`` site positions for a district and how they were placed.

    Raises
    ------
    ValueError
        When the district has neither a polygon nor a centroid.
    """
    geom = district_geometry(district)
    if geom is not None:
        if segments is not None:
            placed = points_on_streets(segments, geom, n, rng)
            if placed is not None:
                return placed[0], placed[1], "network"
        x, y = points_in_polygon(geom, n, rng)
        return x, y, "polygon"
    if district.centroid is not None:
        x, y = points_around(district.centroid[0], district.centroid[1], n, rng)
        return x, y, "centroid"
    msg = f"district '{district.name}' has neither a polygon nor a centroid"
    raise ValueError(msg)
