"""Scenario sweeps on Dask: many variants of a scenario, one row of KPIs each.

``optimizer.sweep("sweep.toml", out="sweeps/x")`` (this module is callable) or
:func:`run_sweep` returns a pandas DataFrame; ``optimizer sweep`` is the command.
The sweep file format and running on several machines: docs/sweeps.md.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from optimizer.sweep.command import run_sweep
from optimizer.sweep.spec import Case, SweepSpec, read_sweep

__all__ = ["Case", "SweepSpec", "read_sweep", "run_sweep", "sweep"]

#: ``optimizer.sweep(...)`` and ``from optimizer.sweep import sweep``: the same function.
sweep = run_sweep


class _CallableModule(types.ModuleType):
    """Makes ``optimizer.sweep(...)`` work although ``optimizer.sweep`` is this package."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return run_sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
