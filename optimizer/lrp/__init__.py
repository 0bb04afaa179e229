"""Location-routing: choose sites by the routes they induce (capacitated LRP).

``LocationRoutingProblem`` -> :func:`solve_lrp` -> ``LrpSolution``, checked by the
independent :func:`verify_lrp`. The same code serves the Prodhon benchmark
(:func:`read_prodhon`, :mod:`bench`) and the city model's site stage.
"""

from optimizer.lrp.problem import LocationRoutingProblem, LrpRoute, LrpSolution, solution_cost
from optimizer.lrp.readers import read_bks, read_prodhon
from optimizer.lrp.solve import solve_lrp
from optimizer.lrp.verify import verify_lrp

__all__ = [
    "LocationRoutingProblem",
    "LrpRoute",
    "LrpSolution",
    "read_bks",
    "read_prodhon",
    "solution_cost",
    "solve_lrp",
    "verify_lrp",
]
