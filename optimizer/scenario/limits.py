"""Upper bounds on what a scenario may ask for, checked before anything is allocated.

Each limit is far above any real city and far below what would exhaust memory or
overflow the solvers' integer units, so a typo (``population = 1e12``) is refused
with a reason instead of crashing the machine later.
"""

from __future__ import annotations

#: Collection points (explicit + generated + sources). The travel matrix holds two
#: int64 values per pair of locations: 20,000 points need 6.4 GB.
MAX_POINTS = 20_000
#: Trucks over all fleet entries. Each truck adds a start and an end node to every
#: routing model; Almaty's whole municipal fleet is under 200.
MAX_TRUCKS = 1_000
#: People in one district: above the largest city on earth (about 40 million).
MAX_DISTRICT_POPULATION = 50_000_000
#: How far a point may be moved onto a street. Farther than this the point is not
#: beside that street (wrong coordinates, or the street is missing from the map), and
#: routes to it would silently start kilometres away from the container.
MAX_SNAP_M = 5_000.0
#: Rows of all demand samples together (samples × point-stream rows): each row is a
#: pandas row of 14 columns, so 5 million rows take about 1 GB.
MAX_SAMPLE_ROWS = 5_000_000
#: Seeds feed numpy and OR-Tools, which take non-negative 32-bit values.
MAX_SEED = 2**31 - 1
#: A routing time limit above a day is a typo (the limit applies to each plan day).
MAX_TIME_LIMIT_S = 86_400.0


def matrix_gigabytes(locations: int) -> float:
    """Memory of a travel matrix over this many locations: metres and seconds as int64."""
    return 2 * 8 * locations * locations / 1e9
