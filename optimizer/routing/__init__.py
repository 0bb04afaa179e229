"""Collection routing: problem in, verified route plan out, on two engines.

``RoutingProblem`` and ``Vehicle`` describe a day; :func:`solve_routes` returns a
:class:`RoutePlan` checked by :func:`verify_routes`, independent code. The engines
(OR-Tools and PyVRP, :mod:`optimizer.routing.engines`) race or are chosen per problem;
``ENGINES`` names them and the plan records which one made it.
:func:`request_stop` (from a signal handler or thread) ends running solves, which
then raise :class:`Interrupted`, a ``KeyboardInterrupt``.
"""

from optimizer.routing.engines import ENGINES
from optimizer.routing.interrupt import (
    Interrupted,
    clear_stop,
    request_stop,
    stop_on_signals,
    stop_requested,
)
from optimizer.routing.problem import NodeKey, RoutingProblem, Vehicle
from optimizer.routing.result import Route, RoutePlan, Visit
from optimizer.routing.solve import solve_routes
from optimizer.routing.verify import verify_routes

__all__ = [
    "ENGINES",
    "Interrupted",
    "NodeKey",
    "Route",
    "RoutePlan",
    "RoutingProblem",
    "Vehicle",
    "Visit",
    "clear_stop",
    "request_stop",
    "solve_routes",
    "stop_on_signals",
    "stop_requested",
    "verify_routes",
]
