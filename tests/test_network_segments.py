"""Long straight jumps in street centerlines: cut, kept only where nothing else connects."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from optimizer.cli import main
from optimizer.network import load_network
from optimizer.network.graph import RoadNetwork
from optimizer.scenario.schema import NetworkSpec
from optimizer.stages.prepare import network_of

X0, Y0, STEP = 71.40, 51.10, 0.005  # ~350 m east, ~556 m north per step


def _xy(i: float, j: float) -> list[float]:
    return [X0 + i * STEP, Y0 + j * STEP]


def _write(path: Path, lines: dict[str, list[tuple[float, float]]]) -> Path:
    """Named LineStrings (grid coordinates) as GeoJSON."""
    features = [
        {
            "type": "Feature",
            "properties": {"name": name.rstrip("0123456789") if name[-1].isdigit() else name},
            "geometry": {"type": "LineString", "coordinates": [_xy(*p) for p in points]},
        }
        for name, points in lines.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _streets() -> dict[str, list[tuple[float, float]]]:
    """A 4 x 4 grid of streets (sharing vertices), a separate street east of it, and jumps.

    Diag: from grid corner (1, 1) to (3, 3) straight, 1.3 km; the grid joins its ends
    by 1.8 km (1.4 x): dropped. Spur and Spur2: 1.4 km east from the grid to the
    separate street; nothing else joins them, so the first is kept, and the second is
    then dropped (2.5 km round by the first, 1.8 x). Loose: 1.7 km north from the
    grid to a point on no street: dropped.
    """
    grid: dict[str, list[tuple[float, float]]] = {}
    for k in range(4):
        grid[f"H{k}"] = [(i, k) for i in range(4)]
        grid[f"V{k}"] = [(k, j) for j in range(4)]
    return {
        **grid,
        "Far": [(7, 0), (7, 1), (7, 2), (7, 3)],
        "Diag": [(1, 1), (3, 3)],
        "Spur": [(3, 1), (7, 1)],
        "Spur2": [(3, 2), (7, 2)],
        "Loose": [(0, 3), (0, 6)],
    }


def _has_node(net: RoadNetwork, i: float, j: float) -> bool:
    x, y = _xy(i, j)
    return bool(((np.abs(net.node_lon - x) < 1e-7) & (np.abs(net.node_lat - y) < 1e-7)).any())


def test_jump_with_a_detour_is_dropped_and_one_without_is_kept(tmp_path: Path) -> None:
    net = load_network(_write(tmp_path / "streets.geojson", _streets()), max_segment_m=1000)
    s = net.stats
    assert (s["jumps_found"], s["jumps_dropped"], s["jumps_kept"]) == (4, 3, 1)
    # The grid and the separate street, joined by one kept spur, are one component.
    assert net.n_nodes == 16 + 4 and s["nodes_dropped_scc"] == 0
    assert _has_node(net, 7, 3) and not _has_node(net, 0, 6)
    spur_m = 4 * STEP * 111_320 * np.cos(np.radians(Y0 + STEP))
    assert net.edge_length_m.max() == pytest.approx(spur_m, rel=0.01)  # the kept spur
    assert int((net.edge_length_m > 1000).sum()) == 2  # its two directions, nothing else


def test_without_the_setting_jumps_are_noded_like_streets(tmp_path: Path) -> None:
    net = load_network(_write(tmp_path / "streets.geojson", _streets()))
    assert net.stats["jumps_found"] == 0
    assert _has_node(net, 0, 6)  # the loose jump is a street to nowhere
    assert _has_node(net, 2, 2)  # the diagonal crosses the grid at (2, 2)


def test_kept_jump_is_not_noded_where_it_crosses(tmp_path: Path) -> None:
    # The separate street lies beyond a vertical street x = 5 that the spur crosses.
    lines = {**_streets(), "Cross": [(5, 0.5), (5, 1.5)]}
    del lines["Spur2"]
    net = load_network(_write(tmp_path / "cross.geojson", lines), max_segment_m=1000)
    assert net.stats["jumps_kept"] == 1
    assert not _has_node(net, 5, 1)  # no junction in the middle of the jump
    assert not _has_node(net, 5, 0.5)  # so the crossed street stays a separate part


def test_long_segments_warning_names_the_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = {**_streets(), "Far": [(3, 0), (12, 0)]}  # 3.1 km straight
    with caplog.at_level(logging.WARNING, logger="optimizer"):
        load_network(_write(tmp_path / "long.geojson", lines))
    text = caplog.text
    assert "1 straight segments longer than 2000 m" in text
    assert "max_segment_m" in text and "[network]" in text and "--max-segment-m" in text


def test_scenario_key_reaches_the_reader(tmp_path: Path) -> None:
    _write(tmp_path / "streets.geojson", _streets())
    spec = NetworkSpec(file="streets.geojson", max_segment_m=1000)
    net = network_of(spec, tmp_path, "scenario.toml")
    assert net.stats["max_segment_m"] == 1000 and net.stats["jumps_kept"] == 1
    assert NetworkSpec(file="x.geojson").max_segment_m is None
    with pytest.raises(ValidationError):
        NetworkSpec(file="x.geojson", max_segment_m=0)


def test_cli_network_max_segment_m(tmp_path: Path) -> None:
    path = _write(tmp_path / "streets.geojson", _streets())
    out = tmp_path / "net.graphml"
    code = main(
        ["-q", "network", "--file", str(path), "--max-segment-m", "1000", "--out", str(out)]
    )
    assert code == 0
    assert load_network(out).n_nodes == 20


def test_streets_that_nearly_touch_are_joined(tmp_path: Path) -> None:
    # A separate street ends ~10 m short of the grid's vertex (3, 2): no shared vertex.
    lines = {**_streets(), "Near": [(3.03, 2), (3.03, 2.5), (4, 2.5)]}
    del lines["Spur"], lines["Spur2"]
    cut = load_network(_write(tmp_path / "near.geojson", lines), max_segment_m=1000)
    assert cut.stats["gaps_joined"] == 1
    assert _has_node(cut, 4, 2.5)  # joined, so in the largest component
    plain = load_network(_write(tmp_path / "near.geojson", lines))
    assert not _has_node(plain, 4, 2.5)  # without the repair it is a separate part


def test_long_jump_to_a_scrap_of_street_is_dropped(tmp_path: Path) -> None:
    # 2.8 km east to a 0.5 km street: less street than a quarter of the jump.
    lines = {**_streets(), "Far": [(11, 1), (11, 2)], "Spur": [(3, 1), (11, 1)]}
    del lines["Spur2"]
    net = load_network(_write(tmp_path / "scrap.geojson", lines), max_segment_m=1000)
    assert net.stats["jumps_kept"] == 0 and not _has_node(net, 11, 2)


def test_jumps_over_5_km_are_never_kept(tmp_path: Path) -> None:
    # 6.3 km east to a long separate street: no other path, but too long to be a street.
    far = [(21, j) for j in range(0, 30)]
    lines = {**_streets(), "Far": far, "Spur": [(3, 1), (21, 1)]}
    del lines["Spur2"]
    net = load_network(_write(tmp_path / "far.geojson", lines), max_segment_m=1000)
    assert net.stats["jumps_kept"] == 0
    assert net.edge_length_m.max() < 1000
