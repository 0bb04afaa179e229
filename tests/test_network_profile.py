"""The truck profile: maxspeed, oneway and HGV tag parsing."""

from __future__ import annotations

import math

import pytest

from optimizer.network.profile import (
    TruckProfile,
    parse_height_m,
    parse_maxspeed,
    parse_oneway,
    parse_weight_t,
    way_allowed,
    way_speed_kmh,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (60, 60.0),
        ("60 km/h", 60.0),
        ("RU:urban", 60.0),
        ("KZ:urban", 60.0),
        ("RU:rural", 90.0),
        ("KZ:rural", 90.0),
        ("RU:motorway", 110.0),
        ("RU:living_street", 20.0),
        ("DE:urban", 50.0),
        ("DE:zone30", 30.0),
        ("60 mph", 60 * 1.609344),
        ("30mph", 30 * 1.609344),
        ("walk", 5.0),
        ("50;60", 50.0),
        ("60|40", 40.0),
        (["50", "70"], 50.0),
        ("none", None),
        ("signals", None),
        ("", None),
        (None, None),
        (float("nan"), None),
        ("fast", None),
    ],
)
def test_parse_maxspeed(value: object, expected: float | None) -> None:
    got = parse_maxspeed(value)
    if expected is None:
        assert got is None
    else:
        assert got is not None and math.isclose(got, expected)


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("yes", {}, 1),
        ("true", {}, 1),
        ("1", {}, 1),
        ("-1", {}, -1),
        ("reverse", {}, -1),
        ("no", {}, 0),
        (None, {}, 0),
        ("reversible", {}, None),
        ("alternating", {}, 0),
        (None, {"junction": "roundabout"}, 1),
        (None, {"highway": "motorway"}, 1),
        ("no", {"highway": "motorway"}, 0),
        (True, {}, 1),
    ],
)
def test_parse_oneway(value: object, kwargs: dict[str, str], expected: int | None) -> None:
    assert parse_oneway(value, **kwargs) == expected


def test_weights_and_heights() -> None:
    assert parse_weight_t("7.5") == 7.5
    assert parse_weight_t("3.5 t") == 3.5
    assert parse_weight_t("5000 kg") == 5.0
    assert parse_weight_t("junk") is None
    assert parse_height_m("3.5 m") == 3.5
    assert parse_height_m("12'6\"") == pytest.approx(3.81)
    assert parse_height_m("default") is None


def test_allowed_classes_and_hgv_restrictions() -> None:
    truck = TruckProfile()
    assert way_allowed({"highway": "residential"}, truck)
    assert way_allowed({}, truck)  # centerlines without classes
    assert not way_allowed({}, truck, require_highway=True)  # OSM way that is no road
    for closed in ("footway", "cycleway", "path", "track", "steps", "pedestrian"):
        assert not way_allowed({"highway": closed}, truck)
    assert way_allowed({"highway": "service"}, truck)
    assert not way_allowed({"highway": "service", "service": "driveway"}, truck)
    assert not way_allowed({"highway": "service", "service": "parking_aisle"}, truck)
    assert not way_allowed({"highway": "primary", "hgv": "no"}, truck)
    assert not way_allowed({"highway": "primary", "maxweight": "10"}, truck)
    assert way_allowed({"highway": "primary", "maxweight": "40"}, truck)
    assert not way_allowed({"highway": "primary", "maxheight": "3.2"}, truck)
    assert not way_allowed({"highway": "primary", "access": "no"}, truck)
    assert way_allowed({"highway": "primary", "access": "no", "hgv": "destination"}, truck)
    assert way_allowed({"highway": "residential", "access": "private"}, truck)
    assert not way_allowed(
        {"highway": "residential", "access": "private"}, TruckProfile(allow_private=False)
    )


def test_speeds_are_capped_below_the_posted_limit() -> None:
    truck = TruckProfile()
    assert way_speed_kmh({"highway": "primary"}, truck) == 40.0
    assert way_speed_kmh({"highway": "residential"}, truck) == 20.0
    assert way_speed_kmh({}, truck) == truck.default_speed_kmh
    # 30 km/h posted: truck at 80 % of it.
    assert way_speed_kmh({"highway": "primary", "maxspeed": "30"}, truck) == pytest.approx(24.0)
    assert way_speed_kmh({"highway": "motorway", "maxspeed": "RU:motorway"}, truck) <= 60.0
    assert way_speed_kmh({"highway": "living_street", "maxspeed": "walk"}, truck) == 4.0
    assert TruckProfile().key() == TruckProfile().key()
    assert TruckProfile(weight_t=10).key() != TruckProfile().key()
