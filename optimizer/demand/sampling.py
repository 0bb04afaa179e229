"""Demand samples for robustness checks: N draws of the uncertain rates, one seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer.demand.estimate import COLUMNS, design_containers, estimate_frame
from optimizer.demand.rules import Season
from optimizer.errors import InputError
from optimizer.scenario.limits import MAX_SAMPLE_ROWS

if TYPE_CHECKING:
    from optimizer.network import RoadNetwork
    from optimizer.scenario import Scenario


def _draw(
    rng: np.random.Generator,
    base: float,
    low: float | None,
    high: float | None,
    distribution: str,
    size: int,
) -> npt.NDArray[np.float64]:
    """``size`` draws of a rate given as base with an optional low/high range."""
    lo = base if low is None else low
    hi = base if high is None else high
    if hi <= lo:
        return np.full(size, base)
    if distribution == "uniform":
        return rng.uniform(lo, hi, size)
    if distribution == "pert":
        span = hi - lo
        alpha = 1 + 4 * (base - lo) / span
        beta = 1 + 4 * (hi - base) / span
        return lo + rng.beta(alpha, beta, size) * span
    return rng.triangular(lo, base, hi, size)


def sample_demand(
    scenario: Scenario,
    *,
    samples: int,
    seed: int,
    season: Season = "annual",
    network: RoadNetwork | Any | None = None,
) -> pd.DataFrame:
    """``samples`` demand scenarios drawn from the ranges, stacked with a ``sample`` column.

    The points are those of :func:`estimate_demand` (same seed, same places); each
    sample draws the per-capita norm (``norm_low``/``norm_high``, in the chosen
    ``distribution``), the density that converts an m³ norm, each stream's density
    (it changes m³ and, for container-counted points, tonnes) and each source's
    ``relative_range``. Containers are re-sized for every sample unless given.
    """
    if samples < 1:
        raise InputError.one("--samples", "", f"{samples} samples", "draw at least 1 sample")
    base = estimate_frame(scenario, season, network, None)
    if samples * len(base) > MAX_SAMPLE_ROWS:
        raise InputError.one(
            scenario.source_file,
            "samples",
            f"{samples:,} samples of {len(base):,} point-stream rows are {samples * len(base):,} "
            f"rows; at most {MAX_SAMPLE_ROWS:,} fit in memory (about 1 GB)",
            "draw fewer samples",
        )
    if base.empty:
        return base.assign(sample=pd.Series(dtype=int))[["sample", *COLUMNS]]
    rng = np.random.default_rng(seed)
    gen = scenario.generation
    dist = gen.distribution if gen is not None else "triangular"
    norm_mult = np.ones(samples)
    if gen is not None:
        norm = gen.norm_kg_per_person_day or gen.norm_m3_per_person_year
        if norm is not None:
            norm_mult = _draw(rng, norm, gen.norm_low, gen.norm_high, dist, samples) / norm
        if gen.norm_m3_per_person_year is not None:
            d = gen.norm_density_t_per_m3
            lo, hi = gen.norm_density_low_t_per_m3, gen.norm_density_high_t_per_m3
            norm_mult = norm_mult * _draw(rng, d, lo, hi, dist, samples) / d
    densities: dict[str, npt.NDArray[np.float64]] = {}
    for stream in scenario.streams:
        densities[stream.id] = _draw(
            rng,
            stream.density_t_per_m3,
            stream.density_low_t_per_m3,
            stream.density_high_t_per_m3,
            dist,
            samples,
        )
    source_mult = {
        f"src:{s.id}": rng.triangular(1 - s.relative_range, 1, 1 + s.relative_range, samples)
        if s.relative_range > 0
        else np.ones(samples)
        for s in (gen.sources if gen is not None else ())
    }
    driver = base["_driver"].to_numpy()
    stream_ids = base["stream"].to_numpy()
    base_t = base["tonnes_per_day"].to_numpy(float)
    base_m3 = base["m3_per_day"].to_numpy(float)
    frames = []
    for k in range(samples):
        dens = np.array([densities[s][k] for s in stream_ids])
        mult = np.ones(len(base))
        mult[driver == "norm"] = norm_mult[k]
        for key, values in source_mult.items():
            mult[driver == key] = values[k]
        tonnes = np.where(driver == "volume", base_m3 * dens, base_t * mult)
        frame = base.copy()
        frame["tonnes_per_day"] = tonnes
        frame["m3_per_day"] = tonnes / dens
        frame["containers"] = design_containers(frame, scenario, season)
        frame.insert(0, "sample", k)
        frames.append(frame[["sample", *COLUMNS]])
    return pd.concat(frames, ignore_index=True)
