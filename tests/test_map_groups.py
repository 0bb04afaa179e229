"""City-scale maps: neighbouring routes get different colours; groups by depot and type."""

from __future__ import annotations

import math
from typing import Any

from optimizer.report.common import ROUTE_PALETTE
from optimizer.report.map_groups import NEIGHBOURS, group_label, neighbour_colours


def _route(i: int, lon: float, lat: float, day: int = 1) -> Any:
    return {
        "id": f"R{i}",
        "day": day,
        "depot_id": "D1",
        "vehicle_type": "side_loader",
        "stops": [{"kind": "stop", "lon": lon, "lat": lat}],
    }


def test_no_route_shares_a_colour_with_its_nearest_neighbours() -> None:
    # 12 × 12 routes on a grid, in an order that puts neighbours far apart in the list
    cells = [(i, j) for i in range(12) for j in range(12)]
    cells = cells[::2] + cells[1::2]
    routes = [_route(k, 71.3 + 0.01 * i, 51.1 + 0.007 * j) for k, (i, j) in enumerate(cells)]
    colours = neighbour_colours(routes)
    assert set(colours) <= set(ROUTE_PALETTE)
    kx = math.cos(math.radians(51.1))
    for a, ra in enumerate(routes):
        sa = ra["stops"][0]
        dist = sorted(
            (
                ((sa["lon"] - rb["stops"][0]["lon"]) * kx) ** 2
                + (sa["lat"] - rb["stops"][0]["lat"]) ** 2,
                b,
            )
            for b, rb in enumerate(routes)
            if b != a
        )
        # the 4 adjacent cells always differ (each is among the others' 8 nearest)
        for _, b in dist[:4]:
            assert colours[a] != colours[b], (a, b)
    # the palette is used evenly, not the first colours only
    counts = [colours.count(c) for c in ROUTE_PALETTE]
    assert max(counts) - min(counts) <= NEIGHBOURS


def test_group_label_names_depot_type_and_day_only_when_several_days() -> None:
    r = _route(0, 71.3, 51.1, day=3)
    assert group_label(r, {"D1": "North depot"}, 1) == "North depot · side_loader"
    assert group_label(r, {"D1": "North depot"}, 7) == "Day 3 · North depot · side_loader"
