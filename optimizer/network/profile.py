"""The garbage-truck profile: which roads a collection truck may use and how fast.

All speeds are *assumptions* for a loaded rear- or side-loader (26 t gross) in a
Kazakh city, chosen by the project and labelled as such in every plan. The legal
urban limit in Kazakhstan is 60 km/h (Rules of the Road, §10.2: "KZ:urban"); a heavy
truck in city traffic with junctions and traffic lights averages well below that, so
the class speeds below are *effective* average speeds, not limits. A tagged
``maxspeed`` only ever lowers a speed: the truck drives at most
``maxspeed_factor`` x the posted car limit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Effective urban speeds (km/h) of a heavy collection truck by OSM highway class.
# ASSUMPTION (project choice, not measured): 60 km/h urban limit, reduced for
# junctions, traffic lights and congestion; see the module docstring.
DEFAULT_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 60.0,
    "motorway_link": 40.0,
    "trunk": 50.0,
    "trunk_link": 35.0,
    "primary": 40.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 30.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "road": 20.0,
    "living_street": 10.0,
    "service": 10.0,
}

# Implicit limits (km/h) for zone values of ``maxspeed`` such as ``RU:urban``.
# Kazakhstan and Russia: 60 in built-up areas, 90 outside, 110 on motorways,
# 20 in living streets (Rules of the Road of both countries).
ZONE_LIMITS_KMH: Mapping[str, float] = {
    "urban": 60.0,
    "rural": 90.0,
    "motorway": 110.0,
    "trunk": 90.0,
    "living_street": 20.0,
}
_COUNTRY_URBAN_KMH: Mapping[str, float] = {"DE": 50.0, "FR": 50.0, "AT": 50.0, "CH": 50.0}

# Service-road kinds a collection truck should not use (parking aisles, driveways).
EXCLUDED_SERVICE: frozenset[str] = frozenset(
    {"driveway", "parking_aisle", "drive-through", "emergency_access"}
)


@dataclass(frozen=True)
class TruckProfile:
    """Which highway classes a truck may use, its speeds and its size (for HGV tags).

    ``uturn_penalty_s`` is a documented simplification: it is added when a route
    leaves a stop against the direction the stop was snapped to (turning around at
    the stop); turns at junctions are not modelled.
    """

    name: str = "garbage_truck"
    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))
    default_speed_kmh: float = 25.0  # ASSUMPTION: street without a highway class
    maxspeed_factor: float = 0.8  # truck drives at most 80 % of the posted car limit
    max_speed_kmh: float = 60.0  # absolute cap for a heavy truck in a city
    weight_t: float = 26.0  # gross weight of a loaded 3-axle collection truck
    height_m: float = 3.6
    allow_private: bool = True  # municipal collection serves private courtyards
    uturn_penalty_s: float = 0.0

    @property
    def allowed_highways(self) -> frozenset[str]:
        """The highway classes this profile may drive on (the keys of its speeds)."""
        return frozenset(self.speeds_kmh)

    def key(self) -> str:
        """A stable text key of every setting, for cache file names."""
        data: dict[str, Any] = asdict(self)
        data["speeds_kmh"] = dict(sorted(self.speeds_kmh.items()))
        return json.dumps(data, sort_keys=True)


_NUM = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([a-z/ ]*)\s*$")


def parse_maxspeed(value: object) -> float | None:
    """A tagged ``maxspeed`` in km/h, or None when absent, unlimited or unparseable.

    Handles numbers, ``"60 mph"``, ``"walk"``, zone values (``"RU:urban"``,
    ``"KZ:rural"``) and lists (``"50;60"`` or a Python list from osmnx): a list
    gives its *lowest* value, the safe choice for a truck.
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        speeds = [s for s in (parse_maxspeed(v) for v in value) if s is not None]
        return min(speeds) if speeds else None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    text = str(value).strip().lower()
    if not text:
        return None
    if ";" in text or "|" in text:
        return parse_maxspeed(re.split(r"[;|]", text))
    if text in {"walk", "walking"}:
        return 5.0
    if text in {"none", "signals", "variable", "no", "unknown", "implicit"}:
        return None
    if ":" in text:
        country, _, zone = text.partition(":")
        zone = zone.strip().replace("-", "_")
        if zone in ZONE_LIMITS_KMH:
            if zone == "urban":
                return _COUNTRY_URBAN_KMH.get(country.upper(), ZONE_LIMITS_KMH[zone])
            return ZONE_LIMITS_KMH[zone]
        digits = re.search(r"[0-9]+", zone)  # e.g. "DE:zone30"
        return float(digits.group()) if digits else None
    match = _NUM.match(text)
    if not match:
        return None
    number = float(match.group(1).replace(",", "."))
    unit = match.group(2).strip()
    if unit in {"mph"}:
        return number * 1.609344
    if unit in {"knots", "kn"}:
        return number * 1.852
    if unit in {"", "km/h", "kmh", "kph"}:
        return number if number > 0 else None
    return None


_WEIGHT = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(t|st|lbs|kg)?\s*$")
_FEET = re.compile(r"^\s*([0-9]+)\s*'\s*(?:([0-9]+)\s*\")?\s*$")


def parse_weight_t(value: object) -> float | None:
    """A ``maxweight`` tag in tonnes (accepts ``7.5``, ``"7.5 t"``, ``"3 st"``, kg, lbs)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (list, tuple)):
        parsed = [w for w in (parse_weight_t(v) for v in value) if w is not None]
        return min(parsed) if parsed else None
    match = _WEIGHT.match(str(value).strip().lower().replace(",", "."))
    if not match:
        return None
    number = float(match.group(1))
    unit = match.group(2) or "t"
    factor = {"t": 1.0, "st": 0.90718474, "lbs": 0.00045359237, "kg": 0.001}[unit]
    return number * factor


def parse_height_m(value: object) -> float | None:
    """A ``maxheight`` tag in metres (accepts ``3.5``, ``"3.5 m"``, ``12'6"``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (list, tuple)):
        parsed = [h for h in (parse_height_m(v) for v in value) if h is not None]
        return min(parsed) if parsed else None
    text = str(value).strip().lower().replace(",", ".")
    feet = _FEET.match(text)
    if feet:
        return int(feet.group(1)) * 0.3048 + int(feet.group(2) or 0) * 0.0254
    match = re.match(r"^([0-9]+(?:\.[0-9]+)?)\s*(m)?$", text)
    return float(match.group(1)) if match else None


def parse_oneway(value: object, *, highway: str = "", junction: str = "") -> int | None:
    """Direction of travel: 1 forward only, -1 backward only, 0 both, None closed.

    ``reversible`` roads change direction during the day, so a plan that cannot
    know the time of the change treats them as closed; ``alternating`` (one lane,
    both directions in turn) is two-way. Roundabouts and motorways are one-way
    unless tagged otherwise.
    """
    if isinstance(value, bool):
        return 1 if value else 0
    text = "" if value is None else str(value).strip().lower()
    if text in {"nan", "none"}:
        text = ""
    if text in {"yes", "true", "1"}:
        return 1
    if text in {"-1", "reverse"}:
        return -1
    if text == "reversible":
        return None
    if text in {"no", "false", "0", "alternating"}:
        return 0
    if junction in {"roundabout", "circular"} or highway == "motorway":
        return 1
    return 0


def _text(value: object) -> str:
    """A tag value as lower-case text; lists give their first element (osmnx merges)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip().lower()


def way_allowed(
    tags: Mapping[str, object], profile: TruckProfile, *, require_highway: bool = False
) -> bool:
    """Whether the truck may drive on a way with these OSM tags.

    A way without a ``highway`` tag is drivable in municipal centerlines and
    not in OSM data (``require_highway``), where it is a building or a boundary.
    HGV tags are honoured: ``hgv=no``, ``maxweight`` below the truck's weight and
    ``maxheight`` below its height close the way; ``hgv=yes|designated|destination|
    delivery`` reopens a way closed by generic access tags.
    """
    highway = _text(tags.get("highway"))
    if not highway and require_highway:
        return False
    if highway and highway not in profile.allowed_highways:
        return False
    if highway == "service" and _text(tags.get("service")) in EXCLUDED_SERVICE:
        return False
    hgv = _text(tags.get("hgv"))
    if hgv in {"no", "private"} and not (hgv == "private" and profile.allow_private):
        return False
    closed = {"no"} if profile.allow_private else {"no", "private"}
    generic = [_text(tags.get(k)) for k in ("access", "vehicle", "motor_vehicle")]
    if any(v in closed for v in generic) and hgv not in {
        "yes",
        "designated",
        "destination",
        "delivery",
    }:
        return False
    weight = parse_weight_t(tags.get("maxweight"))
    if weight is not None and weight < profile.weight_t:
        return False
    height = parse_height_m(tags.get("maxheight"))
    return not (height is not None and height < profile.height_m)


def way_speed_kmh(tags: Mapping[str, object], profile: TruckProfile) -> float:
    """The truck's speed on a way: class speed, capped by the posted limit and the truck cap."""
    highway = _text(tags.get("highway"))
    speed = profile.speeds_kmh.get(highway, profile.default_speed_kmh)
    posted = parse_maxspeed(tags.get("maxspeed"))
    if posted is not None:
        speed = min(speed, posted * profile.maxspeed_factor)
    return max(1.0, min(speed, profile.max_speed_kmh))
