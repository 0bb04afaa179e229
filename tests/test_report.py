"""Structural tests of the plan outputs (map, report, CSV, GeoJSON, comparison)."""

from __future__ import annotations

import copy
import csv
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from optimizer.report import build_map, write_comparison, write_outputs
from optimizer.report.common import fmt_hhmm
from optimizer.report.compare import render_comparison
from optimizer.report.geojson import routes_geojson, sites_geojson
from optimizer.report.html_report import render_report
from optimizer.report.map import arrow_positions, count_stops
from optimizer.report.tables import ROUTE_COLUMNS, route_rows

FIXTURE = Path(__file__).parent / "fixtures" / "plan_small.json"

# src/href of tags that make the browser fetch something.
_FETCHING_TAG = re.compile(
    r"<(script|link|img|iframe|source|embed|object|image|use)\b[^>]*?"
    r"\b(src|href|data|xlink:href)\s*=\s*[\"']?([^\"' >]+)",
    re.IGNORECASE,
)


def external_refs(html: str) -> list[str]:
    """URLs of fetching tags that point off the machine."""
    refs = [m.group(3) for m in _FETCHING_TAG.finditer(html)]
    # CSS url(...) and @import would also fetch
    refs += re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)", html)
    refs += re.findall(r"@import\s+['\"]?((?:https?:)?//[^'\";]+)", html)
    return [r for r in refs if re.match(r"(?i)(https?:)?//", r)]


@pytest.fixture()
def plan() -> dict[str, Any]:
    with FIXTURE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture()
def map_html(plan: dict[str, Any]) -> str:
    return build_map(plan).get_root().render()


# ----------------------------------------------------------------- fixture sanity
def test_fixture_follows_schema(plan: dict[str, Any]) -> None:
    assert plan["schema_version"] == 1
    assert len(plan["routes"]) == 2
    assert count_stops(plan) == 12
    states = {f["state"] for f in plan["facilities"]}
    assert {"existing", "proposed", "excluded"} <= states
    for r in plan["routes"]:
        kinds = [s["kind"] for s in r["stops"]]
        assert kinds[0] == "depot_start" and kinds[-1] == "depot_end"
        assert kinds.count("unload") == 1
        assert [s["seq"] for s in r["stops"]] == list(range(len(kinds)))


# ------------------------------------------------------------------------ the map
def test_map_one_layer_and_line_per_route(plan: dict[str, Any], map_html: str) -> None:
    assert map_html.count('"className": "route-line"') == len(plan["routes"])
    for r in plan["routes"]:
        label = f"{r['vehicle_id']} · day {r['day']} · {r['id']}"
        # the layer control lists every route under its own name
        assert map_html.count(label) >= 2
    assert "L.control.layers" in map_html


def test_map_one_marker_per_stop_facility_depot(plan: dict[str, Any], map_html: str) -> None:
    n_unload = sum(1 for r in plan["routes"] for s in r["stops"] if s["kind"] == "unload")
    assert map_html.count('"className": "stop-icon"') == count_stops(plan)
    assert map_html.count('"className": "unload-icon"') == n_unload
    assert map_html.count('"className": "fac-icon"') == len(plan["facilities"])
    assert map_html.count('"className": "depot-icon"') == len(plan["depots"])
    assert map_html.count('"className": "unserved"') == len(plan["unserved"])
    # numbered in visiting order, coloured per route
    for r in plan["routes"]:
        for s in r["stops"]:
            if s["kind"] == "stop":
                assert f"\\u003e{s['seq']}\\u003c/div\\u003e" in map_html


def test_map_popups_carry_stop_details(plan: dict[str, Any], map_html: str) -> None:
    stop = plan["routes"][0]["stops"][3]
    assert stop["ref_id"] in map_html
    assert fmt_hhmm(stop["arrival_min"]) in map_html
    assert f"{stop['load_after_t']:.2f} t" in map_html
    assert "Mixed household waste" in map_html
    excluded = next(f for f in plan["facilities"] if f["state"] == "excluded")
    assert excluded["excluded_reason"] in map_html
    assert "fac-proposed" in map_html and "fac-existing" in map_html
    assert "fac-excluded" in map_html


def test_map_layers_zones_catchments_streets_legend(map_html: str) -> None:
    assert map_html.count('"className": "spz-zone"') == 1
    assert map_html.count('"className": "catchment"') == 2  # two open facilities
    assert map_html.count('"className": "street-line"') == 1
    assert "Sanitary protection zones" in map_html
    assert "Legend" in map_html and "kpi-box" in map_html
    assert "L.control.scale()" in map_html
    assert "route-arrow" in map_html


def test_map_fits_bounds_to_data(plan: dict[str, Any], map_html: str) -> None:
    calls = re.findall(
        r"map_\w+\.fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*"
        r"\[([-\d.]+),\s*([-\d.]+)\]\]",
        map_html,
    )
    assert len(calls) == 1, "one fitBounds call on the map expected"
    s, w, n, e = (float(x) for x in calls[0])
    lons = [s_["lon"] for r in plan["routes"] for s_ in r["stops"]]
    lats = [s_["lat"] for r in plan["routes"] for s_ in r["stops"]]
    lons += [f["lon"] for f in plan["facilities"]]
    lats += [f["lat"] for f in plan["facilities"]]
    assert s <= min(lats) and n >= max(lats) and w <= min(lons) and e >= max(lons)
    assert n - s < (max(lats) - min(lats)) + 0.01  # tight, not the whole world
    assert e - w < (max(lons) - min(lons)) + 0.01


def test_map_offline_has_no_external_urls(map_html: str) -> None:
    assert external_refs(map_html) == []
    assert "cdn.jsdelivr" not in map_html and "code.jquery" not in map_html
    assert "tile.openstreetmap.org" not in map_html
    assert "L.Icon.Default.mergeOptions" in map_html  # default icons embedded too
    assert "Leaflet 1.9.4 (embedded)" in map_html


def test_map_online_adds_only_tiles(plan: dict[str, Any]) -> None:
    html = build_map(plan, online=True).get_root().render()
    assert "tile.openstreetmap.org" in html
    assert external_refs(html) == []  # tiles are requested by Leaflet, not by tags


def test_external_ref_detector_catches_cdn_tags() -> None:
    bad = '<script src="https://cdn.example/x.js"></script><link href="//x/y.css">'
    assert len(external_refs(bad)) == 2
    assert external_refs('<a href="https://www.openstreetmap.org/copyright">OSM</a>') == []


def test_large_plan_uses_canvas_and_compact_stops(plan: dict[str, Any]) -> None:
    html = build_map(plan, large_threshold=5).get_root().render()
    assert '"preferCanvas": true' in html
    assert '"className": "stop-icon"' not in html
    assert html.count("className: 'stop-marker'") == len(plan["routes"])
    assert html.count('"className": "route-line"') == len(plan["routes"])


def test_arrow_positions_follow_direction() -> None:
    east = arrow_positions([[71.0, 51.0], [71.1, 51.0]], 5, 1.0)
    assert len(east) == 5 and all(abs(a[2]) < 1e-6 for a in east)
    north = arrow_positions([[71.0, 51.0], [71.0, 51.1]], 3, 1.0)
    assert all(abs(a[2] + 90) < 1e-6 for a in north)  # up on screen
    lons = [a[1] for a in east]
    assert lons == sorted(lons)


# --------------------------------------------------------------------- CSV tables
def test_routes_csv_rows_in_order(plan: dict[str, Any], tmp_path: Path) -> None:
    write_outputs(plan, tmp_path)
    with (tmp_path / "routes.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    required = [
        "route_id",
        "vehicle_id",
        "day",
        "seq",
        "kind",
        "ref_id",
        "lon",
        "lat",
        "arrival",
        "departure",
        "service_min",
        "load_after_t",
        "load_after_m3",
        "distance_km_so_far",
    ]
    assert set(required) <= set(rows[0])
    assert len(rows) == sum(len(r["stops"]) for r in plan["routes"])
    for r in plan["routes"]:
        mine = [x for x in rows if x["route_id"] == r["id"]]
        assert [int(x["seq"]) for x in mine] == [s["seq"] for s in r["stops"]]
        assert [x["kind"] for x in mine] == [s["kind"] for s in r["stops"]]
        assert mine[1]["arrival"] == fmt_hhmm(r["stops"][1]["arrival_min"])
        kms = [float(x["distance_km_so_far"]) for x in mine]
        assert kms == sorted(kms)
    assert {x["kind"] for x in rows} >= {"depot_start", "stop", "unload", "depot_end"}


def test_route_rows_columns_are_declared(plan: dict[str, Any]) -> None:
    rows = route_rows(plan)
    assert set(rows[0]) == set(ROUTE_COLUMNS)
    collected = sum(float(x["collected_t"]) for x in rows)
    assert collected == pytest.approx(sum(r["tonnes"] for r in plan["routes"]), abs=0.01)


def test_sites_csv(plan: dict[str, Any], tmp_path: Path) -> None:
    write_outputs(plan, tmp_path)
    with (tmp_path / "sites.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(plan["facilities"]) + len(plan["depots"])
    excluded = [r for r in rows if r["state"] == "excluded"]
    assert excluded and excluded[0]["excluded_reason"]


def test_route_sheets_one_per_vehicle(plan: dict[str, Any], tmp_path: Path) -> None:
    write_outputs(plan, tmp_path)
    sheets = sorted((tmp_path / "sheets").glob("*.html"))
    assert [p.stem for p in sheets] == sorted({r["vehicle_id"] for r in plan["routes"]})
    text = sheets[0].read_text(encoding="utf-8")
    assert "Unload" in text and "Return to depot" in text and "@page" in text
    assert external_refs(text) == []


# ------------------------------------------------------------------------ GeoJSON
def _check_position(pos: list[float]) -> None:
    assert len(pos) == 2
    lon, lat = pos
    assert -180 <= lon <= 180 and -90 <= lat <= 90
    assert 60 < lon < 80 and 40 < lat < 56  # lon/lat order (Astana), not lat/lon


def _walk_positions(coords: Any) -> list[list[float]]:
    if coords and isinstance(coords[0], (int, float)):
        return [coords]
    out: list[list[float]] = []
    for c in coords:
        out.extend(_walk_positions(c))
    return out


@pytest.mark.parametrize("kind", ["routes", "sites"])
def test_geojson_rfc7946(plan: dict[str, Any], tmp_path: Path, kind: str) -> None:
    write_outputs(plan, tmp_path)
    data = json.loads((tmp_path / f"{kind}.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert "crs" not in data
    assert data["features"]
    for f in data["features"]:
        assert f["type"] == "Feature"
        assert isinstance(f["properties"], dict)
        geom = f["geometry"]
        assert geom["type"] in {"Point", "LineString", "Polygon", "MultiPolygon"}
        for pos in _walk_positions(geom["coordinates"]):
            _check_position(pos)
        if geom["type"] == "LineString":
            assert len(geom["coordinates"]) >= 2
        if geom["type"] == "Polygon":
            ring = geom["coordinates"][0]
            assert ring[0] == ring[-1] and len(ring) >= 4
            # exterior ring counter-clockwise (RFC 7946 §3.1.6): positive area
            area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
            assert area > 0


def test_geojson_counts(plan: dict[str, Any]) -> None:
    routes = routes_geojson(plan)["features"]
    lines = [f for f in routes if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(plan["routes"])
    assert len(routes) - len(lines) == sum(len(r["stops"]) for r in plan["routes"])
    sites = sites_geojson(plan)["features"]
    assert len(sites) == len(plan["facilities"]) + len(plan["depots"]) + len(plan["zones"])


# ------------------------------------------------------------------------- report
def test_report_contents_and_offline(plan: dict[str, Any]) -> None:
    html = render_report(plan)
    assert external_refs(html) == []
    assert "<script" not in html
    assert html.count("<svg") >= 4  # mini map + three charts
    for text in ("Capacity use per facility", "Waste collected per route", "Cost breakdown"):
        assert text in html
    for w in plan["warnings"] + plan["assumptions"]:
        assert w in html
    assert "P013" in html  # unserved point listed
    assert "14.0" in html  # recycling rate in %


def test_write_outputs_files(plan: dict[str, Any], tmp_path: Path) -> None:
    paths = write_outputs(plan, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in paths}
    assert {
        "plan.json",
        "routes.csv",
        "sites.csv",
        "routes.geojson",
        "sites.geojson",
        "map.html",
        "report.html",
        "sheets/T1.html",
        "sheets/T2.html",
    } == names
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    again = json.loads((tmp_path / "out" / "plan.json").read_text(encoding="utf-8"))
    assert again == plan  # the plan can be redrawn from plan.json
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'href="sheets/T1.html"' in report and 'href="map.html"' in report


# --------------------------------------------------------------------- comparison
def test_compare_marks_best_values(plan: dict[str, Any], tmp_path: Path) -> None:
    other = copy.deepcopy(plan)
    other["scenario"]["name"] = "cheaper"
    other["kpis"]["distance_km"] = 20.0
    other["kpis"]["co2e_t"] = 0.5
    other["kpis"]["recycling_rate"] = 0.3
    plan["kpis"]["robustness"] = 0.8
    other["kpis"]["robustness"] = 0.6
    write_outputs(plan, tmp_path / "a")
    write_outputs(other, tmp_path / "b")
    out = write_comparison([tmp_path / "a", tmp_path / "b"], tmp_path / "cmp.html")
    html = out.read_text(encoding="utf-8")
    assert external_refs(html) == []
    assert html.count('class="minimap"') == 2
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"<tr><th class='row'>([^<]+)<span.*?</th>(.*?)</tr>", html)
    }

    def best_col(label: str) -> list[int]:
        cells = re.findall(r"<td class='([^']*)'>", rows[label])
        return [i for i, c in enumerate(cells) if "best" in c]

    assert best_col("Distance") == [1]
    assert best_col("CO₂e of collection") == [0]
    assert best_col("Recycling rate") == [1]
    assert best_col("Robustness") == [0]
    assert best_col("Capex") == []  # tie: nothing to choose
    assert "Present cost (NPV)" not in rows  # no plan carries it
    assert 'href="a/report.html"' in html


def test_compare_single_plan_renders(plan: dict[str, Any]) -> None:
    html = render_comparison([plan])
    assert "<td class='n best'>" not in html
    assert html.count('class="minimap"') == 1


def test_hostile_names_are_escaped(plan: dict[str, Any]) -> None:
    evil = "<b>x</b>`${alert(1)}`\\</script>"
    plan["facilities"][0]["name"] = evil
    plan["facilities"][2]["excluded_reason"] = evil
    plan["routes"][0]["vehicle_id"] = evil
    for large in (False, True):
        html = build_map(plan, large_threshold=5 if large else 500).get_root().render()
        assert "${alert" not in html
        assert "<b>x</b>" not in html
        assert html.count("</script>") == html.count("<script")
    assert "${alert" not in render_report(plan)


def test_numpy_values_in_plan_are_written(plan: dict[str, Any], tmp_path: Path) -> None:
    import numpy as np

    plan["kpis"]["distance_km"] = np.float64(32.31)
    plan["kpis"]["vehicles_used"] = np.int64(2)
    plan["routes"][0]["geometry"] = np.asarray(plan["routes"][0]["geometry"])
    write_outputs(plan, tmp_path)
    again = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert again["kpis"]["vehicles_used"] == 2
    assert len(again["routes"][0]["geometry"]) == len(plan["routes"][0]["geometry"])


def test_long_bar_labels_are_not_clipped() -> None:
    """A facility id such as 'sorting_south_candidate sorting' must fit left of the
    axis (the Astana report cut it to 'ng_south_candidate')."""
    from optimizer.report.svg import Bar, hbar_chart

    label = "sorting_south_candidate sorting"
    svg = hbar_chart(
        [Bar(label, 40.0, "#000", "40%"), Bar("short", 10.0, "#000", "10%")], title="t"
    )
    x = float(re.search(r'<g class="bar"><text x="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert x >= 6.0 * len(label)  # right-aligned at x: the text starts at x - its width
    assert 'width="640"' in svg  # the chart keeps its width; the plot gives way
