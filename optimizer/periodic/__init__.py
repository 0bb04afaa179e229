"""Weekly plans that choose collection days: the periodic VRP with intermediate facilities.

:class:`PeriodicProblem` is the week (bins with their allowed visit calendars, the
facilities where trucks unload, one travel-time matrix); :func:`solve_periodic`
chooses one calendar per bin and the routes of every day together, and
:func:`verify_periodic` checks the result independently.
"""

from optimizer.periodic.patterns import spaced_patterns
from optimizer.periodic.problem import PeriodicProblem, PeriodicSolution
from optimizer.periodic.solve import solve_periodic
from optimizer.periodic.verify import verify_periodic

__all__ = [
    "PeriodicProblem",
    "PeriodicSolution",
    "solve_periodic",
    "spaced_patterns",
    "verify_periodic",
]
