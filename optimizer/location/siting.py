"""Exclusion of candidate sites inside sanitary protection zones (shapely).

A candidate of kind *k* is excluded when it lies within the buffer distance
:math:`b_k` of a residential area or of a water body, measured in metres in a
local azimuthal-equidistant projection centred on the candidates (exact for
distances from the centre, < 0.1 % off over a city). The reason reported names
the zone, the distance and the rule.

Buffers are **assumptions** (sources in ``docs/sources.md#siting``): the annex
tables of the Kazakh sanitary rules ҚР ДСМ-2 (11.01.2022) were not read, so

* landfill 1,000 m: the figure commonly cited in Kazakhstan (silkwaytv.kz, ~2021);
* sorting / processing plant 500 m up to 40 kt/yr, 1,000 m above 40 kt/yr:
  the Russian analogue SanPiN 2.2.1/2.1.1.1200-03 classes II and I
  (unverified estimate);
* composting 500 m (SanPiN class II, same source); incineration / treatment
  1,000 m (SanPiN class I);
* transfer station 300 m: our choice within the suggested 100–300 m.

Water bodies use the same distances by default (the Water Code forbids landfills
in water-protection zones; open-source siting models use 500–600 m from
waterways, see ``docs/sources.md#siting``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Where each buffer comes from, in words a reader of the report can check
#: (``docs/sources.md#siting`` lists the documents).
SOURCES: dict[str, str] = {
    "landfill": "1,000 m, the distance commonly cited in Kazakhstan (silkwaytv.kz); "
    "unverified estimate: the annex of Sanitary Rules ҚР ДСМ-2/2022 was not read; "
    "see docs/sources.md#siting",
    "sorting": "500 m up to 40 kt/yr, 1,000 m above (Russian SanPiN 2.2.1/2.1.1.1200-03 "
    "classes II/I); unverified estimate; see docs/sources.md#siting",
    "transfer": "300 m, our assumption within the suggested 100–300 m; see docs/sources.md#siting",
    "composting": "500 m (Russian SanPiN 2.2.1/2.1.1.1200-03 class II); unverified "
    "estimate; see docs/sources.md#siting",
    "treatment": "1,000 m (Russian SanPiN 2.2.1/2.1.1.1200-03 class I); unverified "
    "estimate; see docs/sources.md#siting",
}


@dataclass(frozen=True)
class SitingRules:
    """Buffer distances in metres by facility kind (see module docstring)."""

    landfill_m: float = 1000.0
    sorting_small_m: float = 500.0
    sorting_large_m: float = 1000.0
    sorting_threshold_t_per_year: float = 40_000.0
    transfer_m: float = 300.0
    composting_m: float = 500.0
    treatment_m: float = 1000.0
    water_factor: float = 1.0  # water buffer = factor x residential buffer
    extra_m: Mapping[str, float] = field(default_factory=dict)  # other kinds

    def buffer_m(self, kind: str, capacity_t_per_year: float | None) -> tuple[float, str]:
        """Buffer for a facility kind and size, with the rule's source."""
        k = kind.lower()
        if k == "landfill":
            return self.landfill_m, SOURCES["landfill"]
        if k == "sorting":
            cap = capacity_t_per_year
            big = cap is None or cap > self.sorting_threshold_t_per_year
            return (self.sorting_large_m if big else self.sorting_small_m, SOURCES["sorting"])
        if k == "transfer":
            return self.transfer_m, SOURCES["transfer"]
        if k == "composting":
            return self.composting_m, SOURCES["composting"]
        if k in ("treatment", "incineration"):
            return self.treatment_m, SOURCES["treatment"]
        if k in self.extra_m:
            return float(self.extra_m[k]), "scenario rule"
        return 0.0, "no rule for this kind"


@dataclass(frozen=True)
class Candidate:
    """A candidate site in WGS84."""

    id: str
    lon: float
    lat: float
    kind: str
    capacity_t_per_year: float | None = None


def local_projection(lon0: float, lat0: float) -> Callable[[FloatArray], FloatArray]:
    """A function (N,2) lon/lat -> (N,2) metres, azimuthal equidistant at lon0/lat0."""
    from pyproj import Transformer

    tr = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m +datum=WGS84",
        always_xy=True,
    )

    def fwd(coords: FloatArray) -> FloatArray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return fwd


def _named(
    polys: Mapping[str, BaseGeometry] | Iterable[BaseGeometry], prefix: str
) -> tuple[list[str], list[BaseGeometry]]:
    if isinstance(polys, Mapping):
        return [str(k) for k in polys], list(polys.values())
    geoms = list(polys)
    return [f"{prefix} {i + 1}" for i in range(len(geoms))], geoms


def exclude_candidates(
    candidates: Sequence[Candidate],
    residential_polygons: Mapping[str, BaseGeometry] | Iterable[BaseGeometry],
    water_polygons: Mapping[str, BaseGeometry] | Iterable[BaseGeometry] = (),
    rules: SitingRules | None = None,
) -> list[tuple[str, str]]:
    """``(candidate_id, reason)`` for every candidate inside a protection zone.

    Polygons are WGS84 lon/lat shapely geometries, plain or named in a mapping.
    A candidate is reported once, for the nearest offending zone.
    """
    rules = rules or SitingRules()
    if not candidates:
        return []
    lon = np.array([c.lon for c in candidates], dtype=float)
    lat = np.array([c.lat for c in candidates], dtype=float)
    proj = local_projection(float(lon.mean()), float(lat.mean()))
    pts: npt.NDArray[np.object_] = np.asarray(shapely.points(proj(np.column_stack([lon, lat]))))
    rnames, rgeoms = _named(residential_polygons, "residential area")
    wnames, wgeoms = _named(water_polygons, "water body")
    layers = [
        ("residential area", rnames, rgeoms, 1.0),
        ("water body", wnames, wgeoms, rules.water_factor),
    ]
    out: list[tuple[str, str]] = []
    buffers = [rules.buffer_m(c.kind, c.capacity_t_per_year) for c in candidates]
    hits: dict[int, tuple[float, str]] = {}
    for label, names, geoms, factor in layers:
        if not geoms:
            continue
        g: npt.NDArray[np.object_] = np.asarray(shapely.transform(list(geoms), proj))
        tree = shapely.STRtree(g)
        dist_lim = np.array([b * factor for b, _ in buffers])
        pi, gi = tree.query(pts, predicate="dwithin", distance=dist_lim)
        if pi.size == 0:
            continue
        d = np.asarray(shapely.distance(pts[pi], g[gi]), dtype=float)
        for p_, g_, dd in zip(pi.tolist(), gi.tolist(), d.tolist(), strict=True):
            c = candidates[p_]
            lim, src = buffers[p_][0] * factor, buffers[p_][1]
            if lim <= 0 and dd > 0:
                continue
            if dd <= 0:
                why = f"inside {label} {names[g_]!r}"
            else:
                why = f"{dd:,.0f} m from {label} {names[g_]!r}"
            reason = (
                f"{why}, within the {lim:,.0f} m sanitary protection zone of a "
                f"{c.kind} (rule: {src})"
            )
            if p_ not in hits or dd < hits[p_][0]:
                hits[p_] = (dd, reason)
    for p_ in sorted(hits):
        out.append((candidates[p_].id, hits[p_][1]))
    log.info("siting: %d of %d candidates excluded", len(out), len(candidates))
    return out
