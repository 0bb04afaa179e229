"""Why a stop is left unserved, in words a dispatcher understands.

Every reason starts with its category and a colon (``"time window: ..."``), so
plans can count unserved stops by the constraint that binds without parsing
prose. Messages name nodes by their labels, never by internal keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from optimizer.routing.problem import RoutingProblem, Vehicle, clock

FLEET = "fleet limit"
WINDOW = "time window"
CAPACITY = "capacity"
FACILITY = "no licensed facility"
TRUCK = "no compatible truck"
UNREACHABLE = "unreachable"
TIME_LIMIT = "time limit"
OTHER = "other"
CATEGORIES = (FLEET, WINDOW, CAPACITY, FACILITY, TRUCK, UNREACHABLE, TIME_LIMIT)


def reason(category: str, detail: str) -> str:
    """A reason string: the category, a colon, the detail."""
    return f"{category}: {detail}"


def category_of(text: str) -> str:
    """The category a reason starts with (``other`` when it names none)."""
    head = text.split(":", 1)[0].strip()
    return head if head in CATEGORIES else OTHER


def count_by_category(reasons: Iterable[str]) -> dict[str, int]:
    """Unserved stops per category, most frequent first."""
    return dict(Counter(category_of(r) for r in reasons).most_common())


def window_text(problem: RoutingProblem, node: int) -> str:
    """A node's time window as ``HH:MM-HH:MM``."""
    opens, closes = (int(x) for x in problem.time_window[node])
    return f"{clock(opens)}-{clock(closes)}"


def shifts_text(vehicles: Sequence[Vehicle]) -> str:
    """The distinct shifts of some trucks, e.g. ``07:00-15:00`` (at most three)."""
    shifts = sorted({v.shift_text() for v in vehicles})
    more = f" and {len(shifts) - 3} more" if len(shifts) > 3 else ""
    return ", ".join(shifts[:3]) + more


def has_window(problem: RoutingProblem, node: int, vehicles: Sequence[Vehicle]) -> bool:
    """Whether the node's window is narrower than the trucks' working day."""
    opens, closes = (int(x) for x in problem.time_window[node])
    if not vehicles:
        return False
    day_start = min(problem.departure_window(v)[0] for v in vehicles)
    day_end = max(problem.return_by(v) for v in vehicles)
    return opens > day_start or closes < day_end


def fleet_limit(problem: RoutingProblem, node: int) -> str:
    """A stop the search dropped although some truck could reach it alone."""
    trucks = [v for v in problem.vehicles if problem.vehicle_may_serve(v, node)]
    detail = (
        f"the {len(trucks)} truck(s) that may serve it had no capacity or working hours "
        f"left (shift {shifts_text(trucks)})"
    )
    if has_window(problem, node, trucks):
        detail += f" to reach it within its window {window_text(problem, node)}"
    return reason(FLEET, detail + "; add trucks or hours")
