"""Shared fixtures: where the team's shared benchmark and OSM data live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run (a red CI must mean a real regression);
# local runs explore new random examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_DATA = Path(os.environ.get("OPTIMIZER_SHARED_DATA", _DEFAULT_SHARED))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder beside the checkout; skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared benchmark data not found at {SHARED_DATA} "
            "(clone the project beside ../shared or set OPTIMIZER_SHARED_DATA)"
        )
    return SHARED_DATA
