"""Road networks: reading OSM and GIS streets, snapping points, travel matrices, paths.

Only this package imports osmnx and pyrosm. The public API is re-exported here.
"""

from __future__ import annotations

from optimizer.network.graph import EdgeGeometry, RoadNetwork, build_network
from optimizer.network.matrix import TravelMatrix, travel_matrix
from optimizer.network.paths import leg_path, paths_for_sequence
from optimizer.network.profile import TruckProfile, parse_maxspeed, parse_oneway
from optimizer.network.snap import SnappedPoints, snap_points, street_names
from optimizer.network.sources import (
    demo_network,
    load_network,
    network_from_bbox,
    network_from_place,
    save_graphml,
)

__all__ = [
    "EdgeGeometry",
    "RoadNetwork",
    "SnappedPoints",
    "TravelMatrix",
    "TruckProfile",
    "build_network",
    "demo_network",
    "leg_path",
    "load_network",
    "network_from_bbox",
    "network_from_place",
    "parse_maxspeed",
    "parse_oneway",
    "paths_for_sequence",
    "save_graphml",
    "snap_points",
    "street_names",
    "travel_matrix",
]
