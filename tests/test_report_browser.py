"""Open the map and the report in headless Chromium with the network cut off.

Needs the ``browser`` extra (playwright) and Debian's chromium
(``apt-get install chromium``; ``playwright install`` is not used).  Set
``OPTIMIZER_CHROMIUM`` to use another binary, and ``OPTIMIZER_SCREENSHOTS`` to a
folder to also save screenshots of the fixture plan's map and report.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from optimizer.report import write_outputs
from optimizer.report.map import count_stops

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).parent / "fixtures" / "plan_small.json"
CHROMIUM = os.environ.get("OPTIMIZER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Count what Leaflet actually drew, from the live map object.
_COUNT_JS = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  const map = window[key];
  const n = {routes: 0, stopCircles: 0, lines: 0};
  map.eachLayer(l => {
    if (l instanceof L.Polyline && (l.options.className || '').includes('route-line')) n.routes++;
    if (l instanceof L.CircleMarker && (l.options.className || '').includes('stop-marker')) n.stopCircles++;
  });
  n.stopIcons = document.querySelectorAll('.stop-icon').length;
  n.facIcons = document.querySelectorAll('.fac-icon').length;
  n.unloadIcons = document.querySelectorAll('.unload-icon').length;
  n.hatched = document.querySelectorAll('path.spz-zone[fill="url(#spz-hatch)"]').length;
  n.legend = document.querySelectorAll('.legend').length;
  n.kpi = document.querySelectorAll('.kpi-box').length;
  n.layerInputs = document.querySelectorAll('.leaflet-control-layers-overlays input').length;
  const b = map.getBounds();
  n.bounds = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];
  return n;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install .[browser])"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(
    browser: Any, path: Path, width: int = 1400, height: int = 900
) -> tuple[Any, list[str], list[str]]:
    """Open a local file with every non-file request blocked and recorded."""
    page = browser.new_page(viewport={"width": width, "height": height})
    attempts: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:", "about:")):
            r.continue_()
        else:
            attempts.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    return page, attempts, errors


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    with FIXTURE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="module")
def out_dir(plan: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan")
    write_outputs(plan, out)
    return out


def test_map_loads_offline_and_draws_every_route(
    browser: Any, plan: dict[str, Any], out_dir: Path
) -> None:
    page, attempts, errors = _open(browser, out_dir / "map.html")
    assert attempts == []
    assert errors == []
    assert page.evaluate("typeof window.L !== 'undefined' && L.version") == "1.9.4"
    n = page.evaluate(_COUNT_JS)
    assert n["routes"] == len(plan["routes"])
    assert n["stopIcons"] == count_stops(plan)
    assert n["facIcons"] == len(plan["facilities"])
    assert n["unloadIcons"] == 2
    assert n["hatched"] == len(plan["zones"])
    assert n["legend"] == 1 and n["kpi"] == 1
    assert n["layerInputs"] >= len(plan["routes"]) + 3
    s, w, north, e = n["bounds"]
    for r in plan["routes"]:
        for st in r["stops"]:
            assert s <= st["lat"] <= north and w <= st["lon"] <= e
    shots = os.environ.get("OPTIMIZER_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "map_demo_fixture.png"))
    # a popup opens with the stop's details
    page.locator(".stop-icon").first.click()
    page.wait_for_selector(".leaflet-popup-content .popup")
    assert "Load after" in page.inner_text(".leaflet-popup-content")
    page.close()


def test_report_and_sheets_load_offline(browser: Any, out_dir: Path) -> None:
    for name in ("report.html", "sheets/T1.html"):
        page, attempts, errors = _open(browser, out_dir / name, 1280, 900)
        assert attempts == [], name
        assert errors == [], name
        if name == "report.html":
            assert page.locator("svg").count() >= 4
            shots = os.environ.get("OPTIMIZER_SCREENSHOTS")
            if shots:
                page.screenshot(path=str(Path(shots) / "report_fixture.png"), full_page=True)
        page.close()


def test_large_map_canvas_mode(browser: Any, tmp_path: Path) -> None:
    from test_report_large import synthetic_plan

    big = synthetic_plan(800, per_route=100, grid=40)
    write_outputs(big, tmp_path)
    page, attempts, errors = _open(browser, tmp_path / "map.html")
    assert attempts == [] and errors == []
    n = page.evaluate(_COUNT_JS)
    assert n["routes"] == len(big["routes"])
    assert n["stopCircles"] == 800
    assert n["stopIcons"] == 0
    assert page.locator("canvas").count() >= 1
    page.close()


def test_online_tiles_only_when_switched_on(
    browser: Any, plan: dict[str, Any], tmp_path: Path
) -> None:
    from optimizer.report import write_map

    path = write_map(plan, tmp_path / "map.html", online=True)
    page, attempts, errors = _open(browser, path)
    assert attempts == [] and errors == []  # tile layer is off at start
    page.locator(".leaflet-control-layers-overlays label", has_text="OpenStreetMap").click()
    page.wait_for_timeout(300)
    assert attempts and all("tile.openstreetmap.org" in u for u in attempts)
    page.close()


def test_city_map_lists_routes_by_group_and_hides_a_groups_stops(
    browser: Any, tmp_path: Path
) -> None:
    """Above a dozen routes the map lists them by depot and truck type; unticking a
    group removes its route lines and stop markers, ticking one route brings it back."""
    from test_report_large import synthetic_plan

    big = synthetic_plan(800, per_route=50, grid=40)  # 16 routes from one depot
    for k, route in enumerate(big["routes"]):
        route["vehicle_type"] = "side_loader" if k % 2 else "rear_loader"
        route["day"] = 1  # one day: every route is shown at first
    write_outputs(big, tmp_path)
    page, attempts, errors = _open(browser, tmp_path / "map.html")
    assert attempts == [] and errors == []
    heads = page.locator(".route-groups .rg-head")
    assert heads.count() == 2
    assert "(8 routes" in heads.nth(0).inner_text()
    # the route lines are not in Leaflet's own layer list any more
    assert page.evaluate(_COUNT_JS)["layerInputs"] < 8
    before = page.evaluate(_COUNT_JS)
    assert before["routes"] == 16 and before["stopCircles"] == 800
    heads.nth(0).locator("input").uncheck()
    after = page.evaluate(_COUNT_JS)
    assert after["routes"] == 8 and after["stopCircles"] == 400
    heads.nth(0).locator(".rg-more").click()  # open the group, tick one route
    page.locator(".route-groups .rg-list").nth(0).locator("input").nth(0).check()
    one = page.evaluate(_COUNT_JS)
    assert one["routes"] == 9 and one["stopCircles"] == 450
    assert heads.nth(0).locator("input").evaluate("e => e.indeterminate")
    page.close()
