"""A thin, vectorised bridge from a matrix MIP to OR-Tools MathOpt.

Location models here are written as one sparse matrix problem

.. math::

    \\min / \\max \\; c^\\top x + c_0 \\quad \\text{s.t.}\\quad
    r^{lo} \\le A x \\le r^{hi},\\; l \\le x \\le u,\\; x_j \\in \\mathbb{Z}\\ (j \\in I).

The matrix is loaded in bulk through MathOpt's C++ model storage
(the ``ModelProto`` repeated fields are filled from numpy arrays), the model proto is
handed to the MathOpt core solver, and the primal values come back as a numpy
array. No Python object is created per variable or per constraint, so a
million-variable p-median is built in well under a second.

Solvers: ``highs`` (default), ``scip``, ``cp-sat`` (pure integer models only: CP-SAT
would silently round continuous variables, so it is refused for them), ``glop`` and
``pdlp`` (LP relaxations).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.math_opt import model_pb2, result_pb2, solution_pb2
from ortools.math_opt.core.python import solver as core_solver
from ortools.math_opt.python import mathopt

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SOLVERS: dict[str, mathopt.SolverType] = {
    "highs": mathopt.SolverType.HIGHS,
    "scip": mathopt.SolverType.GSCIP,
    "cp-sat": mathopt.SolverType.CP_SAT,
    "glop": mathopt.SolverType.GLOP,
    "pdlp": mathopt.SolverType.PDLP,
}


@dataclass
class MatrixMip:
    """A sparse MIP in matrix form; rows in COO triplets ``(row, col, value)``."""

    obj: FloatArray
    lb: FloatArray
    ub: FloatArray
    integer: BoolArray
    rows: IntArray
    cols: IntArray
    vals: FloatArray
    row_lb: FloatArray
    row_ub: FloatArray
    maximize: bool = False
    offset: float = 0.0

    @property
    def num_vars(self) -> int:
        return int(self.obj.shape[0])

    @property
    def num_rows(self) -> int:
        return int(self.row_lb.shape[0])


@dataclass(frozen=True)
class MipResult:
    """What came back from the solver, as plain numbers."""

    status: str  # "optimal" | "feasible" | "infeasible" | "no_solution"
    objective: float
    bound: float
    x: FloatArray | None
    runtime_s: float
    build_s: float
    solver: str
    reason: str


class RowBuilder:
    """Accumulates constraint blocks as numpy COO arrays."""

    def __init__(self) -> None:
        self._r: list[IntArray] = []
        self._c: list[IntArray] = []
        self._v: list[FloatArray] = []
        self._lo: list[FloatArray] = []
        self._hi: list[FloatArray] = []
        self.n = 0

    def add(
        self,
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        count: int,
    ) -> IntArray:
        """Add ``count`` rows; ``rows`` are local (0..count-1). Returns global ids."""
        r = np.asarray(rows, dtype=np.int64) + self.n
        c = np.asarray(cols, dtype=np.int64)
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape)
        self._r.append(r)
        self._c.append(c)
        self._v.append(np.array(v, dtype=np.float64))
        self._lo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (count,)))
        self._hi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (count,)))
        ids = np.arange(self.n, self.n + count, dtype=np.int64)
        self.n += count
        return ids

    def arrays(self) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
        if not self._r:
            e = np.zeros(0)
            return e.astype(np.int64), e.astype(np.int64), e, e, e
        return (
            np.concatenate(self._r),
            np.concatenate(self._c),
            np.concatenate(self._v),
            np.concatenate(self._lo).astype(np.float64),
            np.concatenate(self._hi).astype(np.float64),
        )


def _build_proto(mip: MatrixMip) -> model_pb2.ModelProto:
    """Fill a MathOpt ``ModelProto`` straight from the numpy arrays."""
    proto = model_pb2.ModelProto(name="location")
    n = mip.num_vars
    var = proto.variables
    var.ids.extend(range(n))
    var.lower_bounds.extend(mip.lb.tolist())
    var.upper_bounds.extend(mip.ub.tolist())
    var.integers.extend(mip.integer.tolist())
    nz = np.flatnonzero(mip.obj)
    obj = proto.objective
    obj.maximize = bool(mip.maximize)
    obj.offset = float(mip.offset)
    obj.linear_coefficients.ids.extend(nz.tolist())
    obj.linear_coefficients.values.extend(mip.obj[nz].tolist())
    m = mip.num_rows
    if m:
        con = proto.linear_constraints
        con.ids.extend(range(m))
        con.lower_bounds.extend(mip.row_lb.tolist())
        con.upper_bounds.extend(mip.row_ub.tolist())
        keep = mip.vals != 0
        r, c, v = mip.rows[keep], mip.cols[keep], mip.vals[keep]
        order = np.lexsort((c, r))
        mat = proto.linear_constraint_matrix
        mat.row_ids.extend(r[order].tolist())
        mat.column_ids.extend(c[order].tolist())
        mat.coefficients.extend(v[order].tolist())
    return proto


_TERMINATION_OPTIMAL = result_pb2.TERMINATION_REASON_OPTIMAL
_TERMINATION_INFEASIBLE = (
    result_pb2.TERMINATION_REASON_INFEASIBLE,
    result_pb2.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED,
)


def solve_mip(
    mip: MatrixMip,
    *,
    solver: str = "highs",
    time_limit_s: float = 30.0,
    mip_gap: float = 1e-6,
    threads: int | None = None,
    seed: int = 0,
    hint: FloatArray | None = None,
    verbose: bool = False,
) -> MipResult:
    """Build ``mip`` in bulk and solve it with MathOpt's ``solver``."""
    name = solver.lower()
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {sorted(SOLVERS)}")
    if name == "cp-sat" and not bool(mip.integer.all()):
        raise ValueError(
            "CP-SAT rounds continuous variables to integers; this model has "
            "continuous variables, use highs or scip"
        )
    t0 = time.perf_counter()
    proto = _build_proto(mip)
    build_s = time.perf_counter() - t0
    params = mathopt.SolveParameters(
        time_limit=_td(time_limit_s),
        relative_gap_tolerance=mip_gap,
        absolute_gap_tolerance=0.0,
        enable_output=verbose,
        random_seed=seed,
    )
    if threads is not None:
        params.threads = threads
    if name == "glop" or name == "pdlp":
        params.relative_gap_tolerance = None
        params.absolute_gap_tolerance = None
    model_params = mathopt.ModelSolveParameters()
    model_params_proto = model_params.to_proto()
    if hint is not None and name in ("highs", "scip", "cp-sat"):
        h = model_params_proto.solution_hints.add()
        h.variable_values.ids.extend(np.arange(mip.num_vars).tolist())
        h.variable_values.values.extend(hint.tolist())
    init = mathopt.StreamableSolverInitArguments().to_proto()
    t1 = time.perf_counter()
    res = core_solver.solve(
        proto,
        SOLVERS[name].value,
        init,
        params.to_proto(),
        model_params_proto,
        None,
        mathopt.CallbackRegistration().to_proto(),
        None,
        None,
    )
    runtime = time.perf_counter() - t1
    return _parse(res, mip, name, runtime, build_s)


def _td(seconds: float) -> object:
    import datetime

    return datetime.timedelta(seconds=max(0.0, float(seconds)))


def _parse(
    res: result_pb2.SolveResultProto,
    mip: MatrixMip,
    solver: str,
    runtime: float,
    build_s: float,
) -> MipResult:
    term = res.termination
    reason = result_pb2.TerminationReasonProto.Name(term.reason)
    x: FloatArray | None = None
    objective = float("nan")
    for sol in res.solutions:
        if sol.HasField("primal_solution"):
            ps = sol.primal_solution
            if ps.feasibility_status != solution_pb2.SOLUTION_STATUS_FEASIBLE:
                continue
            x = np.zeros(mip.num_vars)
            ids = np.asarray(ps.variable_values.ids, dtype=np.int64)
            x[ids] = np.asarray(ps.variable_values.values, dtype=np.float64)
            objective = float(ps.objective_value)
            break
    bound = float(term.objective_bounds.dual_bound)
    if term.reason == _TERMINATION_OPTIMAL:
        status = "optimal"
    elif term.reason in _TERMINATION_INFEASIBLE:
        status = "infeasible"
    elif x is not None:
        status = "feasible"
    else:
        status = "no_solution"
    log.debug(
        "%s: %s obj=%s bound=%s build=%.3fs solve=%.3fs",
        solver,
        reason,
        objective,
        bound,
        build_s,
        runtime,
    )
    return MipResult(status, objective, bound, x, runtime, build_s, solver, reason)


__all__ = ["SOLVERS", "MatrixMip", "MipResult", "RowBuilder", "solve_mip"]
