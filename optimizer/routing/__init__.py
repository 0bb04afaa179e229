"""Collection routing on OR-Tools: problem in, verified route plan out.

``RoutingProblem`` and ``Vehicle`` describe a day; :func:`solve_routes` returns a
:class:`RoutePlan` checked by :func:`verify_routes`, independent code.
"""

from optimizer.routing.problem import RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, Visit
from optimizer.routing.solve import solve_routes
from optimizer.routing.verify import verify_routes

__all__ = [
    "Route",
    "RoutePlan",
    "RoutingProblem",
    "Vehicle",
    "Visit",
    "solve_routes",
    "verify_routes",
]
