"""Disk caches for networks and matrices, keyed by content hashes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.network.graph import EdgeGeometry, RoadNetwork

log = logging.getLogger("optimizer")
CACHE_VERSION = "1"
#: Part of every network cache key: bumped when a saved network gains data (2: street
#: names) or a reader changes what it builds (3: Geofabrik shapefiles, the centerline
#: jump repair), so networks cached before are read again from their source. Not part
#: of CACHE_VERSION, which would also drop travel-matrix caches whose content is unchanged.
NETWORK_FORMAT = 3
_DIGESTS: weakref.WeakKeyDictionary[RoadNetwork, str] = weakref.WeakKeyDictionary()


def default_cache_dir() -> Path:
    """``$OPTIMIZER_CACHE`` or ``~/.cache/optimizer``: where online downloads are kept."""
    env = os.environ.get("OPTIMIZER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "optimizer"


def digest(*parts: Any) -> str:
    """A short sha256 of arrays and plain values, for cache keys."""
    h = hashlib.sha256(CACHE_VERSION.encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str(part.dtype).encode() + str(part.shape).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"|")
    return h.hexdigest()[:24]


def network_digest(net: RoadNetwork) -> str:
    """A content hash of a network's graph arrays (memoised per object)."""
    known = _DIGESTS.get(net)
    if known is None:
        known = digest(
            net.node_lon,
            net.node_lat,
            net.edge_u,
            net.edge_v,
            net.edge_length_m,
            net.edge_time_s,
        )
        _DIGESTS[net] = known
    return known


def _atomic_savez(path: Path, arrays: dict[str, Any]) -> None:
    """Write an .npz next to its final name and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_network_npz(net: RoadNetwork, path: Path) -> None:
    """Store a network as one .npz file.

    Street names are stored once each (``name_vocab``) with a per-edge index
    (``edge_name_id``), which keeps the file small and needs no pickling.
    """
    vocab, name_id = np.unique(np.array(net.edge_name, dtype=str), return_inverse=True)
    _atomic_savez(
        path,
        {
            "name": np.array(net.name),
            "stats": np.array(json.dumps(dict(net.stats), default=str)),
            "node_lon": net.node_lon,
            "node_lat": net.node_lat,
            "edge_u": net.edge_u,
            "edge_v": net.edge_v,
            "edge_length_m": net.edge_length_m,
            "edge_time_s": net.edge_time_s,
            "geom_coords": net.edge_geometry.coords,
            "geom_offsets": net.edge_geometry.offsets,
            "name_vocab": vocab,
            "edge_name_id": name_id.reshape(-1).astype(np.int32),
        },
    )


def load_network_npz(path: Path) -> RoadNetwork | None:
    """Read a network stored by :func:`save_network_npz`; None when absent or unreadable.

    A file written before street names were stored loads with no names ("").
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            names: tuple[str, ...] = ()
            if "name_vocab" in data.files and "edge_name_id" in data.files:
                vocab = data["name_vocab"].tolist()
                names = tuple(map(vocab.__getitem__, data["edge_name_id"].tolist()))
            return RoadNetwork(
                name=str(data["name"]),
                node_lon=data["node_lon"],
                node_lat=data["node_lat"],
                edge_u=data["edge_u"],
                edge_v=data["edge_v"],
                edge_length_m=data["edge_length_m"],
                edge_time_s=data["edge_time_s"],
                edge_geometry=EdgeGeometry(data["geom_coords"], data["geom_offsets"]),
                stats={**json.loads(str(data["stats"])), "from_cache": str(path)},
                edge_name=names,
            )
    except (OSError, ValueError, KeyError, IndexError) as exc:
        log.warning("ignoring unreadable network cache %s: %s", path, exc)
        return None


def save_arrays(path: Path, **arrays: Any) -> None:
    """Store named arrays (a matrix) atomically."""
    _atomic_savez(path, arrays)


def load_arrays(path: Path) -> dict[str, Any] | None:
    """Named arrays stored by :func:`save_arrays`; None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cache %s: %s", path, exc)
        return None
