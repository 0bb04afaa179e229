"""Reader of OR-Library capacitated warehouse location files (Beasley, ``cap*``).

Format: ``m n``; then *m* lines ``capacity fixed_cost``; then per customer its
demand followed by *m* numbers, the cost of serving **all** of that customer's
demand from each warehouse. ``capa``/``capb``/``capc`` write the word ``capacity``
instead of a number; the value is supplied separately (``capacity``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimizer.errors import InputError
from optimizer.location.problem import FacilityProblem


def read_orlib_cap(
    path: str | Path, *, capacity: float | None = None, single_source: bool = False
) -> FacilityProblem:
    """Read an OR-Library ``cap`` file into a :class:`FacilityProblem`.

    Costs are converted to per-unit costs (total cost / demand), so that
    ``demand * cost`` is the file's allocation cost.
    """
    p = Path(path)
    try:
        tokens = p.read_text().split()
    except OSError as e:
        raise InputError.one(str(p), "", f"cannot read file ({e})", "check the path") from e
    try:
        m, n = int(tokens[0]), int(tokens[1])
        pos = 2
        cap = np.empty(m)
        fixed = np.empty(m)
        for j in range(m):
            tok = tokens[pos]
            if tok.lower() == "capacity":
                if capacity is None:
                    raise InputError.one(
                        str(p),
                        f"warehouse {j + 1}",
                        "capacity is given as the word 'capacity'",
                        "pass capacity= (see optimal.csv capacity_override)",
                    )
                cap[j] = capacity
            else:
                cap[j] = float(tok) if capacity is None else capacity
            fixed[j] = float(tokens[pos + 1])
            pos += 2
        need = n * (m + 1)
        vals = np.array(tokens[pos : pos + need], dtype=np.float64)
        if vals.size != need:
            raise ValueError(f"expected {need} numbers for customers, got {vals.size}")
    except (IndexError, ValueError) as e:
        raise InputError.one(
            str(p),
            "",
            f"not an OR-Library cap file ({e})",
            "give a cap41..cap134 / capa / capb file",
        ) from e
    block = vals.reshape(n, m + 1)
    demand = block[:, 0]
    total = block[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(demand[:, None] > 0, total / demand[:, None], 0.0)
    return FacilityProblem(
        client_ids=tuple(f"c{i + 1}" for i in range(n)),
        facility_ids=tuple(f"w{j + 1}" for j in range(m)),
        demand=demand,
        cost=unit,
        fixed_cost=fixed,
        capacity=cap,
        single_source=single_source,
    )
