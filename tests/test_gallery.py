"""``make maps``: which examples can be drawn offline, and the demo is drawn."""

from __future__ import annotations

from pathlib import Path

from optimizer.gallery import _offline_ready, main
from optimizer.plan import demo_scenario_path

INSTANCES = Path(__file__).resolve().parents[1] / "instances"


def test_examples_needing_a_download_are_skipped() -> None:
    assert _offline_ready(demo_scenario_path()) == (True, "")
    ready, why = _offline_ready(INSTANCES / "shymkent" / "scenario.toml")
    assert not ready and "online download" in why


def test_missing_street_file_is_named(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    text = demo_scenario_path().read_text().replace("demo = true", 'file = "streets.geojson"')
    scenario.write_text(text)
    for name in ("districts.geojson", "residential.geojson"):
        (tmp_path / name).write_text((demo_scenario_path().parent / name).read_text())
    ready, why = _offline_ready(scenario)
    assert not ready and "streets.geojson" in why


def test_gallery_draws_the_demo(tmp_path: Path) -> None:
    empty = tmp_path / "no-instances"
    empty.mkdir()
    out = tmp_path / "maps"
    assert main(["--instances", str(empty), "--out", str(out), "--time-limit", "3"]) == 0
    assert (out / "demo" / "map.html").is_file()


def test_almaty_runs_offline_on_its_shared_roads(shared_data: Path) -> None:
    """Almaty's Geofabrik roads file is found beside the checkout: no download needed."""
    assert _offline_ready(INSTANCES / "almaty" / "scenario.toml") == (True, "")
