"""Can people trust what the outputs print?  Streams, units, sources, files, escaping.

The stream test builds the real multi-stream demo plan once for the module (two
streams share every container-site id) and checks that every writer prints each
stop's own stream, exactly as plan.json records it.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from optimizer.cli import main
from optimizer.report import build_map, write_outputs
from optimizer.report.common import route_label
from optimizer.report.compare import render_comparison
from optimizer.report.html_report import render_report
from optimizer.report.tables import csv_cell, safe_file_names, write_route_sheets

FIXTURE = Path(__file__).parent / "fixtures" / "plan_small.json"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo plan folder, built once for the module (a few seconds)."""
    out = tmp_path_factory.mktemp("trust") / "demo"
    assert main(["demo", "--out", str(out), "--time-limit", "3"]) == 0
    return out


@pytest.fixture(scope="module")
def demo_plan(demo_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((demo_dir / "plan.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture()
def plan(demo_plan: dict[str, Any]) -> dict[str, Any]:
    """A private copy of the demo plan a test may change."""
    return copy.deepcopy(demo_plan)


def expected_streams(plan: dict[str, Any]) -> dict[tuple[str, int], str]:
    """``(route id, seq) -> stream id`` of every collection stop in plan.json."""
    return {
        (str(r["id"]), int(s["seq"])): str(s["stream"])
        for r in plan["routes"]
        for s in r["stops"]
        if s["kind"] == "stop"
    }


class _Tables(HTMLParser):
    """Collects the text of every table cell, with the last ``h2`` before each table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._h2: list[str] | None = None
        self._last_h2 = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._h2 = []
        elif tag == "table":
            self.tables.append((self._last_h2, []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._h2 is not None:
            self._last_h2 = "".join(self._h2).strip()
            self._h2 = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._h2 is not None:
            self._h2.append(data)


def sheet_streams(sheet_dir: Path, names: dict[str, str]) -> dict[tuple[str, int], str]:
    """``(route id, seq) -> stream id`` as printed on the route sheets."""
    by_name = {v: k for k, v in names.items()}
    out: dict[tuple[str, int], str] = {}
    for path in sorted(sheet_dir.glob("*.html")):
        parser = _Tables()
        parser.feed(path.read_text(encoding="utf-8"))
        for h2, rows in parser.tables:
            m = re.search(r"route (\S+)$", h2)
            assert m, h2
            header = rows[0]
            col_seq, col_stream = header.index("#"), header.index("Stream")
            for row in rows[1:]:
                if row[col_stream]:
                    out[(m.group(1), int(row[col_seq]))] = by_name[row[col_stream]]
    return out


def map_streams(plan: dict[str, Any], large: bool) -> dict[tuple[str, int], str]:
    """``(route id, seq) -> stream id`` from the map's stop popups or stop data."""
    html = build_map(plan, large_threshold=0 if large else 10_000).get_root().render()
    names = {s["id"]: s["name"] for s in plan["streams"]}
    by_name = {v: k for k, v in names.items()}
    by_label = {route_label(r): str(r["id"]) for r in plan["routes"]}
    out: dict[tuple[str, int], str] = {}
    if large:
        for m in re.finditer(
            r"var c = [^,]+, info = (\".*?\"), names = .*?, d = (\[.*?\]);\n", html
        ):
            route = by_label[json.loads(m.group(1)).replace("&middot;", "·")]
            for a in json.loads(m.group(2)):
                out[(route, int(a[2]))] = str(a[10])
    else:
        pat = re.compile(
            r"<h4>Stop (\d+) · [^<]*</h4><table><tr><td>Route</td><td>([^<]*)</td></tr>"
            r"<tr><td>Stream</td><td>([^<]*)</td>"
        )
        for m in pat.finditer(html):
            out[(by_label[m.group(2)], int(m.group(1)))] = by_name[m.group(3)]
    return out


# ------------------------------------------------------------- 1. stream labels
def test_demo_plan_shares_point_ids_between_streams(demo_plan: dict[str, Any]) -> None:
    """The premise: several stream records per point id, and stops of both streams."""
    ids = [p["id"] for p in demo_plan["points"]]
    assert len(ids) > len(set(ids))
    assert len(set(expected_streams(demo_plan).values())) >= 2


def printed_streams(
    writer: str, demo_dir: Path, plan: dict[str, Any]
) -> dict[tuple[str, int], str]:
    """``(route id, seq) -> stream id`` as one writer prints it."""
    if writer == "routes.csv":
        with (demo_dir / "routes.csv").open(encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["kind"] == "stop"]
        return {(r["route_id"], int(r["seq"])): r["stream"] for r in rows}
    if writer == "sheets":
        names = {s["id"]: s["name"] for s in plan["streams"]}
        return sheet_streams(demo_dir / "sheets", names)
    if writer == "routes.geojson":
        gj = json.loads((demo_dir / "routes.geojson").read_text(encoding="utf-8"))
        props = [f["properties"] for f in gj["features"]]
        return {
            (str(p["route_id"]), int(p["seq"])): p.get("stream")
            for p in props
            if p["feature"] == "stop" and p["kind"] == "stop"
        }
    return map_streams(plan, large=writer == "map (large mode)")


@pytest.mark.parametrize(
    "writer", ["routes.csv", "sheets", "routes.geojson", "map", "map (large mode)"]
)
def test_every_writer_prints_each_stops_own_stream(
    writer: str, demo_dir: Path, demo_plan: dict[str, Any]
) -> None:
    expected = expected_streams(demo_plan)
    assert len(expected) >= 40
    printed = printed_streams(writer, demo_dir, demo_plan)
    wrong = {k: (v, printed.get(k)) for k, v in expected.items() if printed.get(k) != v}
    assert not wrong, f"{writer}: {len(wrong)} of {len(expected)} stops mislabelled"
    assert printed.keys() == expected.keys()


# ----------------------------------------------------------------- CSV for Excel
def test_csv_cells_are_formula_safe_but_numbers_stay_numbers() -> None:
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+7 701") == "'+7 701"
    assert csv_cell("-x") == "'-x"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell(-3.5) == -3.5
    assert csv_cell(-2) == -2
    assert csv_cell(None) == ""
    assert csv_cell("Алаш") == "Алаш"


def test_csv_files_have_bom_and_escaped_cells(plan: dict[str, Any], tmp_path: Path) -> None:
    plan["facilities"][0]["name"] = "=cmd|' /C calc'!A0"
    plan["depots"][0]["name"] = "Гараж №1"
    write_outputs(plan, tmp_path)
    for name in ("routes.csv", "sites.csv"):
        assert (tmp_path / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    with (tmp_path / "sites.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows[plan["facilities"][0]["id"]]["name"].startswith("'=cmd")
    assert rows[plan["depots"][0]["id"]]["name"] == "Гараж №1"
    with (tmp_path / "routes.csv").open(encoding="utf-8-sig", newline="") as fh:
        first = next(csv.DictReader(fh))
    assert float(first["lon"]) == pytest.approx(plan["routes"][0]["stops"][0]["lon"], abs=1e-9)


# ----------------------------------------------------------- safe sheet file names
HOSTILE_IDS = [
    "../evil",
    "a/b",
    "a_b",
    "Машина №1",
    "<b>x</b>",
    "..",
    "CON",
    "x\x00y\nz",
    "A" * 300,
]


def test_safe_file_names_are_safe_unique_and_keep_cyrillic() -> None:
    names = safe_file_names(HOSTILE_IDS)
    stems = list(names.values())
    assert len({s.lower() for s in stems}) == len(HOSTILE_IDS)
    for stem in stems:
        assert "/" not in stem and "\\" not in stem and ".." not in stem
        assert not any(ord(c) < 32 for c in stem)
        assert "<" not in stem and ">" not in stem
        assert 0 < len(stem) <= 80
        assert stem.lower() != "con"
    assert names["Машина №1"].startswith("Машина")
    assert names["a/b"] != names["a_b"]
    # the same id always gets the same name, whatever else is in the plan
    assert safe_file_names(["a/b", "a_b"]) == safe_file_names(["a_b", "a/b"])


def test_route_sheets_for_hostile_vehicle_ids(plan: dict[str, Any], tmp_path: Path) -> None:
    routes = plan["routes"]
    ids = ["../evil", "a/b", "a_b", "Машина №1", "<b>x</b>"]
    base = routes[0]
    plan["routes"] = [
        dict(copy.deepcopy(base), id=f"R{i}", vehicle_id=v) for i, v in enumerate(ids)
    ]
    out = tmp_path / "sheets"
    paths = write_route_sheets(plan, out)
    assert set(paths) == set(ids)
    assert len({p.name for p in paths.values()}) == len(ids)
    for vid, path in paths.items():
        assert path.parent == out and path.is_file(), vid
        text = path.read_text(encoding="utf-8")
        assert "<b>x</b>" not in text
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    assert not (tmp_path / "evil.html").exists()
    assert paths["Машина №1"].name.startswith("Машина")
    assert len(routes) >= 1


# ------------------------------------------------------------ 2. sites-only plan
def sites_only(plan: dict[str, Any]) -> dict[str, Any]:
    """The demo plan as ``optimizer sites`` writes it: no routes, no route figures."""
    from optimizer.stages.assemble import ROUTE_KPIS

    plan["scenario"]["stage"] = "sites"
    plan["routes"], plan["unserved"] = [], []
    for key in ROUTE_KPIS:
        plan["kpis"][key] = None
    plan["kpis"].pop("plan_days", None)
    plan["kpis"].pop("route_kpis_by_day", None)
    return plan


def card(html: str, label: str) -> tuple[str, str]:
    """``(value, unit)`` of the KPI card called ``label``."""
    m = re.search(
        rf'<div class="k">{re.escape(label)}</div><div class="v">([^<]*)'
        r'(?: <span class="u">([^<]*)</span>)?</div>',
        html,
    )
    assert m, f"no card {label!r}"
    return m.group(1), m.group(2) or ""


def test_sites_only_report_shows_site_figures(plan: dict[str, Any]) -> None:
    k = plan["kpis"]
    html = render_report(sites_only(plan))
    assert card(html, "Capex") == ("70.0 M", "KZT, once")
    assert card(html, "Present cost (NPV)")[0] == "193.8 M"
    assert card(html, "Opex")[1] == "KZT per year"
    assert card(html, "Site transport")[1] == "t·km per year"
    assert card(html, "Residue haul")[1] == "t·km per year"
    assert card(html, "Trucks in the fleet")[0] == str(k["vehicles_available"])
    assert "Residue hauls to landfill" in html
    assert "Capacity use per facility" in html and "Site costs per year" in html
    # nothing that only a routing run can say
    assert "Every collection point" not in html
    assert "Waste collected per route" not in html
    assert 'class="t routes"' not in html
    assert '<div class="k">Distance</div>' not in html
    assert "sites only" in html.lower()


def test_sites_only_map_box_shows_site_figures(plan: dict[str, Any]) -> None:
    html = build_map(sites_only(plan)).get_root().render()
    assert "Sites only: no routes planned" in html
    assert "Unserved stops" not in html


def test_sites_only_outputs_have_no_empty_sheet_folder(
    plan: dict[str, Any], tmp_path: Path
) -> None:
    write_outputs(sites_only(plan), tmp_path)
    assert not (tmp_path / "sheets").exists()
    assert (tmp_path / "report.html").is_file()


# ------------------------------------------------------- per day versus per year
def test_report_units_say_per_day_or_per_year(plan: dict[str, Any]) -> None:
    html = render_report(plan)
    for label in ("Distance", "Waste collected", "Transport cost", "Fuel", "CO₂e of collection"):
        assert card(html, label)[1].endswith("per day"), label
    for label in ("Opex", "Sites cost", "Site transport", "CO₂e net of sites", "Residue haul"):
        assert card(html, label)[1].endswith("per year"), label
    for label in ("Landfilled", "Recycled", "Residue to landfill"):
        assert card(html, label)[1] == "t per day", label
    plan["kpis"]["plan_days"] = 7
    week = render_report(plan)
    assert card(week, "Distance")[1] == "km over 7 days"
    assert card(week, "Opex")[1] == "KZT per year"


# ------------------------------------------------------------------ comparison
def test_compare_has_difference_columns_and_report_formatting(plan: dict[str, Any]) -> None:
    other = copy.deepcopy(plan)
    other["kpis"]["distance_km"] = plan["kpis"]["distance_km"] - 2.5
    other["kpis"]["capex_kzt"] = 1_500_000_000
    html = render_comparison([plan, other], names=["base", "bigger plant"])
    assert html.count('<th class="diff">Δ vs base</th>') == 1
    rows = dict(re.findall(r"<tr><th class='row'>([^<]+)<span.*?</th>(.*?)</tr>", html))
    cells = re.findall(r"<td class=[\"']([^\"']*)[\"']>([^<]*)</td>", rows["Distance"])
    assert cells[2][0] == "n diff better" and cells[2][1].startswith("−2.5")
    capex = re.findall(r"<td class=[\"']([^\"']*)[\"']>([^<]*)</td>", rows["Capex"])
    assert capex[0][1].startswith("70.0 M") and capex[1][1].startswith("1.50 bn")
    assert capex[2] == ("n diff worse", "+1.43 bn (+2 043 %)")
    transport = re.findall(r"<td class=[\"']([^\"']*)[\"']>([^<]*)</td>", rows["Site transport"])
    assert transport[0][1] == "8 806" or " " in transport[0][1]  # grouped thousands
    assert transport[2][1] == "±0"


def test_compare_route_figures_are_per_day_for_multi_day_plans(plan: dict[str, Any]) -> None:
    week = copy.deepcopy(plan)
    week["kpis"]["plan_days"] = 7
    week["kpis"]["distance_km"] = plan["kpis"]["distance_km"] * 7
    html = render_comparison([plan, week])
    rows = dict(re.findall(r"<tr><th class='row'>([^<]+)<span.*?</th>(.*?)</tr>", html))
    cells = re.findall(r"<td class=[\"'][^\"']*[\"']>([^<]*)</td>", rows["Distance"])
    assert cells[0].rstrip(" ★") == cells[1].rstrip(" ★") and cells[2] == "±0"


# -------------------------------------------------------- escaping and Cyrillic
EVIL = "<script>alert(1)</script>"


def hostile(plan: dict[str, Any]) -> dict[str, Any]:
    """Markup in every name a user supplies, Kazakh/Cyrillic ids on a truck and a point."""
    plan["scenario"]["title"] = f"Title {EVIL}"
    plan["scenario"]["name"] = f"name {EVIL}"
    for p in plan["points"]:
        p["district"] = f"District {EVIL}"
    for f in plan["facilities"]:
        f["name"] = f"Plant {EVIL}"
    for d in plan["depots"]:
        d["name"] = f"Depot {EVIL}"
    for s in plan["streams"]:
        s["name"] = f"{s['name']} {EVIL}"
    for z in plan["zones"]:
        z["reason"] = f"zone {EVIL}"
    plan["warnings"].append(f"warning {EVIL}")
    plan["assumptions"].append(f"assumption {EVIL}")
    plan["routes"][0]["vehicle_id"] = "Машина №1 · Қоқыс"
    plan["unserved"] = [
        {"point_id": plan["points"][0]["id"], "stream": "msw", "day": 1, "reason": EVIL}
    ]
    return plan


def test_markup_in_names_is_escaped_everywhere(plan: dict[str, Any], tmp_path: Path) -> None:
    plan = hostile(plan)
    paths = write_outputs(plan, tmp_path / "a")
    pages = {p.name: p.read_text(encoding="utf-8") for p in paths if p.suffix == ".html"}
    pages["map (large)"] = build_map(plan, large_threshold=0).get_root().render()
    pages["compare"] = render_comparison([plan, plan], names=[EVIL, "b"])
    assert {"map.html", "report.html", "compare"} <= set(pages)
    for name, html in pages.items():
        assert EVIL not in html, name
        assert "<script>alert" not in html, name
        assert html.count("</script>") == html.count("<script"), name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["report.html"]
    # the Cyrillic/Kazakh truck keeps its name in the report, the map and its sheet
    assert "Машина №1 · Қоқыс" in pages["report.html"]
    assert "Машина №1 · Қоқыс" in pages["map.html"]
    sheet = next(n for n in pages if n.startswith("Машина"))
    assert "Route sheet · vehicle Машина №1 · Қоқыс" in pages[sheet]


# --------------------------------------------------- sources, not internal notes
INTERNAL = re.compile(r"DOMAIN\.md|DOMAIN §|\.\./shared|\[recalled|verify\]|\[derived|\[assumption")
ROOT = Path(__file__).resolve().parents[1]


def test_user_facing_pages_cite_no_internal_notes(
    demo_dir: Path, demo_plan: dict[str, Any]
) -> None:
    texts = {
        name: (demo_dir / name).read_text(encoding="utf-8")
        for name in ("report.html", "map.html", "sites.csv", "sites.geojson")
    }
    texts["compare"] = render_comparison([demo_plan, demo_plan])
    texts["plan.json assumptions"] = "\n".join(demo_plan["assumptions"])
    texts["plan.json warnings"] = "\n".join(demo_plan["warnings"])
    texts["plan.json facilities"] = json.dumps(demo_plan["facilities"], ensure_ascii=False)
    assert demo_plan["warnings"], "the demo should warn about its landfill's protection zone"
    for name, text in texts.items():
        assert not INTERNAL.findall(text), name
    assert "docs/sources.md#siting" in texts["plan.json warnings"]


def test_sources_strings_and_scenarios_cite_only_public_sources() -> None:
    import tomllib

    from optimizer.location.economics import FACTORS
    from optimizer.location.siting import SOURCES

    strings = list(SOURCES.values()) + [f.source for f in FACTORS.values()]
    demo = ROOT / "optimizer" / "data" / "demo" / "scenario.toml"
    scenarios = [*sorted((ROOT / "instances").glob("*/*.toml")), demo]

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in scenarios:
        text = path.read_text(encoding="utf-8")
        walk(tomllib.loads(text))
        comments = [ln.split("#", 1)[1] for ln in text.splitlines() if "#" in ln]
        hits = [c for c in comments if INTERNAL.search(c)]
        assert not hits, f"{path.name}: {hits[:3]}"
    # a data path to the shared OSM extract is a file, not a citation
    data_file = re.compile(r"[\w./-]+\.(geojson|zip|shp|pbf|osm)")
    assert not [s for s in strings if INTERNAL.search(s) and not data_file.fullmatch(s)]


def test_every_cited_anchor_exists_in_docs_sources() -> None:
    doc = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', doc))
    files = [*(ROOT / "optimizer").rglob("*.py"), *(ROOT / "instances").glob("*/*.toml")]
    files.append(ROOT / "optimizer" / "data" / "demo" / "scenario.toml")
    cited = {
        (f.name, a)
        for f in files
        for a in re.findall(r"docs/sources\.md#([\w-]+)", f.read_text(encoding="utf-8"))
    }
    assert cited, "nothing cites docs/sources.md"
    assert not [c for c in cited if c[1] not in anchors]


# ----------------------------------------------------------------- route sheets
def sheet_rows(html: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return [row for _, rows in parser.tables for row in rows[1:]]


def test_sheet_numbers_unloads_and_shows_shift_times(plan: dict[str, Any], tmp_path: Path) -> None:
    route = next(r for r in plan["routes"] if sum(s["kind"] == "unload" for s in r["stops"]) >= 2)
    paths = write_route_sheets(plan, tmp_path)
    html = paths[route["vehicle_id"]].read_text(encoding="utf-8")
    names = {f["id"]: f["name"] for f in plan["facilities"]}
    unloads = [s for s in route["stops"] if s["kind"] == "unload"]
    actions = [row[3] for row in sheet_rows(html) if row[3].startswith("Unload")]
    assert actions == [f"Unload {i} at {names[s['ref_id']]}" for i, s in enumerate(unloads, 1)]
    start = next(s for s in route["stops"] if s["kind"] == "depot_start")["departure_min"]
    end = next(s for s in route["stops"] if s["kind"] == "depot_end")["arrival_min"]
    hhmm = lambda m: f"{round(m) // 60:02d}:{round(m) % 60:02d}"  # noqa: E731
    assert f"leave {hhmm(start)} · back {hhmm(end)}" in html
    report = render_report(plan)
    row = re.search(
        rf"{re.escape(route['id'])}</td><td>{re.escape(route['vehicle_id'])}</td>.*?</tr>", report
    )
    assert row and f"<td>{hhmm(start)}</td><td>{hhmm(end)}</td>" in row.group(0)


def test_shift_times_come_from_depot_stops_not_list_order(plan: dict[str, Any]) -> None:
    from optimizer.report.common import shift_times

    route = plan["routes"][0]
    stops = route["stops"]
    first = next(s for s in stops if s["kind"] == "depot_start")
    last = next(s for s in stops if s["kind"] == "depot_end")
    route["stops"] = list(reversed(stops))  # order in the file must not matter
    assert shift_times(route) == (first["departure_min"], last["arrival_min"])


def test_sheet_shows_truck_body_volume_from_the_plans_fleet(
    plan: dict[str, Any], tmp_path: Path
) -> None:
    side = next(vt for vt in plan["fleet"] if vt["id"] == "side_loader")
    html = write_route_sheets(plan, tmp_path / "a")["side_loader-1"].read_text(encoding="utf-8")
    assert f"body {side['body_m3']:.1f} m³" in html  # the plan's own fleet record
    assert "body volume not in the plan" not in html
    del plan["fleet"]  # a plan written before the fleet was recorded
    html = next(iter(write_route_sheets(plan, tmp_path / "c").values())).read_text(encoding="utf-8")
    assert "body volume not in the plan" in html
    plan["fleet"] = [
        {**vt, "capacity_t": 11, "body_m3": 20, "compaction_ratio": 4} for vt in [side]
    ]
    paths = write_route_sheets(plan, tmp_path / "b")
    html = paths["side_loader-1"].read_text(encoding="utf-8")
    assert "payload 11.0 t · body 20.0 m³ (holds 80 m³ of loose waste at compaction 4.0)" in html
    route = next(r for r in plan["routes"] if r["vehicle_id"] == "side_loader-1")
    stop = next(s for s in route["stops"] if s["kind"] == "stop")
    row = next(r for r in sheet_rows(html) if r[0] == str(stop["seq"]))
    point = next(
        p for p in plan["points"] if (p["id"], p["stream"]) == (stop["ref_id"], stop["stream"])
    )
    assert row[6] == point["street"] != ""  # the street the point was placed on
    stops = [s for r in plan["routes"] for s in r["stops"] if s["kind"] == "stop"]
    named = {(p["id"], p["stream"]) for p in plan["points"] if p["street"]}
    assert sum((s["ref_id"], s["stream"]) in named for s in stops) >= 0.8 * len(stops)
