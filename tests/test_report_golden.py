"""Golden snapshots of the fixture plan's HTML (report, route sheet, map).

folium's random 32-hex element ids and the embedded Leaflet bundle are
normalised away.  Regenerate after an intended change with
``OPTIMIZER_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py`` and review
the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from optimizer.report import build_map
from optimizer.report.html_report import render_report
from optimizer.report.tables import write_route_sheets

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "plan_small.json"
GOLDEN = HERE / "golden"


def normalise(html: str) -> str:
    """Replace run-dependent parts: element ids and the embedded Leaflet."""
    ids: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        return ids.setdefault(m.group(0), f"id{len(ids):04d}")

    html = re.sub(r"[0-9a-f]{32}", rename, html)
    html = re.sub(
        r"<style>/\* Leaflet [\d.]+ \(embedded\) \*/.*?</style>",
        "<style>/* LEAFLET CSS */</style>",
        html,
        flags=re.S,
    )
    html = re.sub(
        r"<script>/\* Leaflet [\d.]+ \(embedded\) \*/.*?</script>",
        "<script>/* LEAFLET JS */</script>",
        html,
        flags=re.S,
    )
    return "\n".join(line.rstrip() for line in html.splitlines() if line.strip()) + "\n"


@pytest.fixture()
def plan() -> dict[str, Any]:
    with FIXTURE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    text = normalise(text)
    if os.environ.get("OPTIMIZER_UPDATE_GOLDEN") or not path.exists():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not os.environ.get("OPTIMIZER_UPDATE_GOLDEN"):
            pytest.skip(f"golden file {name} created; rerun to compare")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate with OPTIMIZER_UPDATE_GOLDEN=1"
    )


def test_map_render_is_stable_between_runs(plan: dict[str, Any]) -> None:
    a = normalise(build_map(plan).get_root().render())
    b = normalise(build_map(plan).get_root().render())
    assert a == b


def test_golden_map(plan: dict[str, Any]) -> None:
    _check("map_fixture.html", build_map(plan).get_root().render())


def test_golden_report(plan: dict[str, Any]) -> None:
    _check("report_fixture.html", render_report(plan, sheets={"T1": "sheets/T1.html"}))


def test_golden_route_sheet(plan: dict[str, Any], tmp_path: Path) -> None:
    paths = write_route_sheets(plan, tmp_path)
    _check("sheet_T1_fixture.html", paths["T1"].read_text(encoding="utf-8"))
