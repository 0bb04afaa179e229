"""The immutable facility-location problem and the decision that comes back.

Indices: clients :math:`i \\in I` (collection points or districts, demand
:math:`d_i`), candidate facilities :math:`j \\in J` (fixed cost :math:`f_j`,
capacity :math:`Q_j`), unit cost :math:`c_{ij}` of serving one unit of
:math:`d_i` from :math:`j` (``np.inf`` = pair not allowed). Units are the caller's;
they only have to be consistent (e.g. tonnes per day and KZT per tonne).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from optimizer.errors import InputError, Problem

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

Model = Literal["cflp", "p-median", "p-center", "max-coverage", "set-cover"]
MODELS: tuple[str, ...] = ("cflp", "p-median", "p-center", "max-coverage", "set-cover")
Status = Literal["optimal", "feasible", "infeasible", "no_solution"]

_SRC = "facility problem"


def _frozen(a: npt.ArrayLike, dtype: Any) -> Any:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _per_site(values: npt.ArrayLike, m: int) -> FloatArray:
    """A number repeated for ``m`` sites, or the given per-site values."""
    array = np.asarray(values, dtype=np.float64)
    return np.full(m, float(array)) if array.ndim == 0 else array


@dataclass(frozen=True, eq=False)
class FacilityProblem:
    """Clients x candidate facilities; validated on construction, arrays read-only.

    Optional parts:

    * ``must_open`` (existing sites that stay open), ``may_open`` (``False`` =
      excluded, e.g. by a sanitary zone); default all ``False`` / all ``True``.
    * ``p``: exactly ``p`` open facilities (p-median, p-center, max-coverage; an
      extra equality for ``cflp``).
    * ``budget`` on :math:`\\sum_j b_j y_j` with ``budget_cost`` :math:`b`
      (default: ``fixed_cost``).
    * ``group``: capacity size options. Several candidates with the same group
      number are size options of one site (e.g. 100/250/450 kt/yr with their own
      cost and capacity); at most one of them opens. ``-1`` = no group.
    * ``distance`` (default ``cost``) and ``radius`` for p-center, max-coverage
      and set-cover: client *i* is covered by *j* when
      :math:`\\mathrm{dist}_{ij} \\le` ``radius``.
    """

    client_ids: tuple[str, ...]
    facility_ids: tuple[str, ...]
    demand: FloatArray
    cost: FloatArray
    fixed_cost: FloatArray
    capacity: FloatArray
    must_open: BoolArray = field(default=None)  # type: ignore[arg-type]
    may_open: BoolArray = field(default=None)  # type: ignore[arg-type]
    p: int | None = None
    single_source: bool = True
    budget: float | None = None
    budget_cost: FloatArray | None = None
    group: IntArray | None = None
    distance: FloatArray | None = None
    radius: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "client_ids", tuple(str(c) for c in self.client_ids))
        set_(self, "facility_ids", tuple(str(f) for f in self.facility_ids))
        n, m = len(self.client_ids), len(self.facility_ids)
        problems: list[Problem] = []

        def bad(where: str, what: str, fix: str) -> None:
            problems.append(Problem(_SRC, where, what, fix))

        if len(set(self.client_ids)) != n:
            bad("client_ids", "client ids are not unique", "give every client its own id")
        if len(set(self.facility_ids)) != m:
            bad("facility_ids", "facility ids are not unique", "give every site its own id")
        if m == 0:
            bad("facility_ids", "there are no candidate facilities", "add candidates")
        set_(self, "demand", _frozen(self.demand, np.float64))
        set_(self, "cost", _frozen(self.cost, np.float64))
        set_(self, "fixed_cost", _frozen(self.fixed_cost, np.float64))
        set_(self, "capacity", _frozen(self.capacity, np.float64))
        mo = np.zeros(m, bool) if self.must_open is None else self.must_open
        ma = np.ones(m, bool) if self.may_open is None else self.may_open
        set_(self, "must_open", _frozen(mo, np.bool_))
        set_(self, "may_open", _frozen(ma, np.bool_))
        for name, arr, shape in (
            ("demand", self.demand, (n,)),
            ("cost", self.cost, (n, m)),
            ("fixed_cost", self.fixed_cost, (m,)),
            ("capacity", self.capacity, (m,)),
            ("must_open", self.must_open, (m,)),
            ("may_open", self.may_open, (m,)),
        ):
            if arr.shape != shape:
                bad(name, f"has shape {arr.shape}, expected {shape}", "fix the array size")
        if problems:
            raise InputError(problems)
        for name, arr in (("demand", self.demand), ("fixed_cost", self.fixed_cost)):
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                bad(name, "has negative, NaN or infinite entries", "use finite values >= 0")
        if np.any(np.isnan(self.cost)) or np.any(self.cost < 0):
            bad("cost", "has NaN or negative entries", "use >= 0, or inf for not allowed")
        if np.any(np.isnan(self.capacity)) or np.any(self.capacity < 0):
            bad("capacity", "has NaN or negative entries", "use >= 0, or inf")
        both = self.must_open & ~self.may_open
        if both.any():
            ids = [self.facility_ids[j] for j in np.flatnonzero(both)]
            bad("must_open", f"sites {ids} must stay open but are excluded", "drop one flag")
        if self.p is not None and (self.p < 1 or self.p > m):
            bad("p", f"p={self.p} is outside 1..{m}", "choose p between 1 and the sites")
        if self.budget is not None and not self.budget >= 0:
            bad("budget", "must be >= 0", "give a non-negative budget")
        if self.budget_cost is not None:
            set_(self, "budget_cost", _frozen(self.budget_cost, np.float64))
            assert self.budget_cost is not None
            if self.budget_cost.shape != (m,):
                bad("budget_cost", f"shape must be ({m},)", "one value per site")
        if self.group is not None:
            set_(self, "group", _frozen(self.group, np.int64))
            assert self.group is not None
            if self.group.shape != (m,):
                bad("group", f"shape must be ({m},)", "one group number per site")
        if self.distance is not None:
            set_(self, "distance", _frozen(self.distance, np.float64))
            assert self.distance is not None
            if self.distance.shape != (n, m) or np.any(np.isnan(self.distance)):
                bad("distance", f"must be a ({n}, {m}) matrix without NaN", "fix it")
        if self.radius is not None and not self.radius >= 0:
            bad("radius", "must be >= 0", "give a coverage radius in distance units")
        if problems:
            raise InputError(problems)

    @classmethod
    def from_costs(
        cls,
        cost: npt.ArrayLike,
        demand: npt.ArrayLike,
        capacity: npt.ArrayLike,
        fixed_cost: npt.ArrayLike,
        *,
        client_ids: Sequence[str] | None = None,
        facility_ids: Sequence[str] | None = None,
        **options: Any,
    ) -> FacilityProblem:
        """A problem from its arrays: ``cost[i, j]`` per unit of client *i*'s
        ``demand`` served by site *j* (``inf`` = not allowed), each site's
        ``capacity`` and opening ``fixed_cost`` (a number or one per site).

        Ids default to the row and column numbers (``"0"``, ``"1"``, ...); the
        other fields (``must_open``, ``p``, ``single_source``, ``budget``, ...) pass
        through ``options``.
        """
        c = np.asarray(cost, dtype=np.float64)
        n, m = c.shape if c.ndim == 2 else (np.size(demand), 0)
        return cls(
            client_ids=tuple(map(str, range(n) if client_ids is None else client_ids)),
            facility_ids=tuple(map(str, range(m) if facility_ids is None else facility_ids)),
            demand=np.asarray(demand, dtype=np.float64),
            cost=c,
            fixed_cost=_per_site(fixed_cost, m),
            capacity=_per_site(capacity, m),
            **options,
        )

    # -- conveniences -----------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of clients."""
        return len(self.client_ids)

    @property
    def m(self) -> int:
        """Number of candidate facilities."""
        return len(self.facility_ids)

    @property
    def dist(self) -> FloatArray:
        """The distance used by p-center and coverage models (default: cost)."""
        return self.cost if self.distance is None else self.distance

    @property
    def bcost(self) -> FloatArray:
        """Per-site cost counted against the budget."""
        return self.fixed_cost if self.budget_cost is None else self.budget_cost

    def allowed(self) -> BoolArray:
        """Pairs (i, j) that may be used: finite cost and the site may open."""
        ok: BoolArray = np.isfinite(self.cost) & self.may_open[None, :]
        return ok

    def replace(self, **changes: Any) -> FacilityProblem:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SiteDecision:
    """Which sites open and who they serve.

    ``flows[client][facility]`` is the share (0..1) of the client's demand served
    by the facility (one entry of 1.0 with single sourcing); ``assignment`` names
    the facility taking the largest share. ``load`` is the demand served per open
    facility. ``covered`` lists covered clients (coverage models only).
    """

    status: Status
    model: str
    objective: float
    bound: float
    gap: float
    runtime_s: float
    open_ids: tuple[str, ...]
    assignment: Mapping[str, str]
    flows: Mapping[str, Mapping[str, float]]
    load: Mapping[str, float]
    solver: str
    covered: tuple[str, ...] = ()
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """Whether a solution is present."""
        return self.status in ("optimal", "feasible")


def relative_gap(objective: float, bound: float) -> float:
    """|objective - bound| / max(|objective|, 1e-9); nan when either is missing."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("nan")
    return abs(objective - bound) / max(abs(objective), 1e-9)
