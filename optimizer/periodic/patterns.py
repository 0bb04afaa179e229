"""The visit calendars a bin may follow over a planning horizon.

A *pattern* is the sorted tuple of the days (0-based) on which a bin is emptied.
The benchmark of Taverna & Tilk allows, for ``f`` visits in ``H`` days with ``f``
dividing ``H``, the equally spaced calendars ``(s, s + H/f, s + 2H/f, ...)`` for each
start ``s < H/f``; a daily bin has the single all-days pattern.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from optimizer.errors import InputError

Pattern = tuple[int, ...]


def spaced_patterns(frequency: int, horizon: int, *, where: str = "bin") -> tuple[Pattern, ...]:
    """The equally spaced calendars of ``frequency`` visits in ``horizon`` days.

    Raises :class:`InputError` naming ``where`` when no such calendar exists (the
    frequency is below 1, above the horizon or does not divide it).
    """
    if horizon < 1:
        raise InputError.one(where, "horizon", f"planning horizon {horizon} days", "use >= 1 day")
    if frequency < 1 or frequency > horizon or horizon % frequency:
        raise InputError.one(
            where,
            "frequency",
            f"{frequency} visits in {horizon} days: no equally spaced calendar exists",
            f"use a frequency that divides {horizon} (one of "
            f"{', '.join(str(f) for f in range(1, horizon + 1) if horizon % f == 0)})",
        )
    step = horizon // frequency
    return tuple(tuple(range(start, horizon, step)) for start in range(step))


def allowed_patterns(
    candidates: Iterable[Pattern],
    *,
    forbidden_days: Sequence[int] = (),
    fixed: Pattern | None = None,
    where: str = "bin",
) -> tuple[Pattern, ...]:
    """The candidates that avoid ``forbidden_days`` (or only ``fixed``, an existing contract).

    Raises :class:`InputError` naming ``where`` when none is left.
    """
    pool = tuple(tuple(sorted(p)) for p in candidates)
    if fixed is not None:
        kept = tuple(p for p in pool if p == tuple(sorted(fixed)))
        why = f"its fixed calendar {list(fixed)} is not one of the allowed {list(map(list, pool))}"
    else:
        banned = set(forbidden_days)
        kept = tuple(p for p in pool if not banned & set(p))
        why = f"every calendar {list(map(list, pool))} uses a forbidden day {sorted(banned)}"
    if not kept:
        raise InputError.one(where, "calendar", why, "allow more days or change the frequency")
    return kept


def holds_between_visits(
    pattern: Pattern, horizon: int, daily_load: float, container_capacity: float
) -> bool:
    """Whether a container filling ``daily_load`` a day never overflows under ``pattern``.

    The week repeats, so the longest gap wraps around from the last visit to the first.
    """
    if not pattern:
        return False
    days = sorted(pattern)
    gaps = [b - a for a, b in itertools.pairwise(days)] + [days[0] + horizon - days[-1]]
    return max(gaps) * daily_load <= container_capacity + 1e-9


def admissible_patterns(
    candidates: Iterable[Pattern],
    horizon: int,
    daily_load: float,
    container_capacity: float,
    *,
    where: str = "bin",
) -> tuple[Pattern, ...]:
    """The candidates under which the container never overflows between visits.

    Raises :class:`InputError` naming ``where`` when it overflows under every one.
    """
    pool = tuple(candidates)
    kept = tuple(
        p for p in pool if holds_between_visits(p, horizon, daily_load, container_capacity)
    )
    if not kept:
        raise InputError.one(
            where,
            "calendar",
            f"the container ({container_capacity:g}) overflows between the visits of every "
            f"allowed calendar at {daily_load:g} a day",
            "collect it more often, or add container capacity",
        )
    return kept
