"""The cost of one route: the model's objective terms, unrounded.

Shared by the extraction of a plan, the search's comparisons and the break fallback.
The independent verifier (:mod:`verify`) does not use it.
"""

from __future__ import annotations

from optimizer.routing.problem import Vehicle


def route_cost(vehicle: Vehicle, distance_m: int, duration_s: int) -> float:
    """A day's fixed cost plus ``cost_per_km`` per km driven and ``cost_per_h`` per
    hour from leaving the depot to coming back."""
    return (
        vehicle.fixed_cost
        + vehicle.cost_per_km * distance_m / 1000.0
        + vehicle.cost_per_h * duration_s / 3600.0
    )
