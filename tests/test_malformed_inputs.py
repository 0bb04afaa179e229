"""A corpus of malformed and hostile scenarios: each is refused cleanly, naming file and record.

Every case copies the demo scenario, plants one defect, then runs ``optimizer plan``
through the command's ``main`` and :func:`optimizer.validate.validate_scenario_file`.
Both must refuse it as bad input (exit 1 / ``InputError``) with a message naming the
file and the record, without a traceback and without leaving an output folder.
Failing plans stop before any solving, so the whole corpus runs in seconds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.plan import demo_scenario_path
from optimizer.validate import validate_scenario_file

POINTS = (
    "id,lon,lat,stream,tonnes_per_day,district\n"
    "P1,24.9400,60.1700,msw,0.5,North\n"
    "P2,24.9450,60.1690,msw,0.4,North\n"
    "P3,24.9480,60.1720,msw,0.6,Centre\n"
    "P4,24.9420,60.1740,msw,0.3,Centre\n"
    "P5,24.9500,60.1680,msw,0.2,South\n"
)


@dataclass(frozen=True)
class Case:
    """One defect: how to plant it, which file must be named, which record."""

    name: str
    plant: Callable[[Path], Path]  # demo folder -> the scenario file to run
    file: str  # the file name the message must contain
    record: str  # the record (line, id, key) the message must contain


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _toml(folder: Path) -> Path:
    return folder / "scenario.toml"


def _sub(old: str, new: str) -> Callable[[Path], Path]:
    """A defect made by one text substitution in scenario.toml."""

    def plant(folder: Path) -> Path:
        _edit(_toml(folder), old, new)
        return _toml(folder)

    return plant


def _subs(*pairs: tuple[str, str]) -> Callable[[Path], Path]:
    """A defect made by several substitutions in scenario.toml."""

    def plant(folder: Path) -> Path:
        for old, new in pairs:
            _edit(_toml(folder), old, new)
        return _toml(folder)

    return plant


def _points(text: str | bytes, name: str = "points.csv") -> Callable[[Path], Path]:
    """A defect in the points table, which replaces the demo's districts."""

    def plant(folder: Path) -> Path:
        target = folder / name
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        _edit(_toml(folder), 'districts = "districts.geojson"', f'points = "{name}"')
        return _toml(folder)

    return plant


def _backslash_points(folder: Path) -> Path:
    """``points = "data\\points.csv"`` (a Windows path) with the file in data/."""
    (folder / "data").mkdir()
    (folder / "data" / "points.csv").write_text(POINTS, encoding="utf-8")
    _edit(_toml(folder), 'districts = "districts.geojson"', 'points = "data\\\\points.csv"')
    return _toml(folder)


def _folder_points(folder: Path) -> Path:
    (folder / "data").mkdir()
    _edit(_toml(folder), 'districts = "districts.geojson"', 'points = "data"')
    return _toml(folder)


def _geo_points(data: object) -> Callable[[Path], Path]:
    return _points(json.dumps(data), "points.geojson")


def _districts(change: Callable[[dict[str, object]], object]) -> Callable[[Path], Path]:
    """A defect in districts.geojson: ``change`` edits the parsed FeatureCollection."""

    def plant(folder: Path) -> Path:
        path = folder / "districts.geojson"
        data = json.loads(path.read_text(encoding="utf-8"))
        replaced = change(data)
        text = replaced if isinstance(replaced, str) else json.dumps(replaced or data)
        path.write_text(text, encoding="utf-8")
        return _toml(folder)

    return plant


def _first_props(data: dict[str, object], key: str, value: object) -> None:
    data["features"][0]["properties"][key] = value  # type: ignore[index]


def _variant(text: str, name: str = "variant.toml") -> Callable[[Path], Path]:
    def plant(folder: Path) -> Path:
        (folder / name).write_text(text, encoding="utf-8")
        return folder / name

    return plant


def _loop(folder: Path) -> Path:
    (folder / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (folder / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    return folder / "a.toml"


def _missing(folder: Path) -> Path:
    return folder / "no_such_scenario.toml"


def _latin1_toml(folder: Path) -> Path:
    path = _toml(folder)
    text = path.read_text(encoding="utf-8").replace('title = "Demo', 'title = "Démo', 1)
    path.write_bytes(text.encode("latin-1", errors="replace"))
    return path


def _network_file(content: str | None) -> Callable[[Path], Path]:
    def plant(folder: Path) -> Path:
        if content is not None:
            (folder / "streets.geojson").write_text(content, encoding="utf-8")
        _edit(_toml(folder), "demo = true", 'file = "streets.geojson"')
        return _toml(folder)

    return plant


_FLEET = '[[fleet]]\nid = "side_loader"'
CASES = [
    # files and syntax
    Case("missing scenario file", _missing, "no_such_scenario.toml", "not found"),
    Case("TOML syntax", _sub("[scenario]", "[scenario"), "scenario.toml", "line"),
    Case("TOML in latin-1", _latin1_toml, "scenario.toml", "line 4"),  # the © of line 4
    Case("unknown section", _sub("[solver]", "[solvr]"), "scenario.toml", "[solvr]"),
    # fields and types
    Case("wrong field name", _sub("capacity_t = 11", "capasity_t = 11"), "scenario.toml",
         "fleet 'side_loader'.capasity_t"),
    Case("wrong type", _sub("capacity_t = 11", 'capacity_t = "eleven"'), "scenario.toml",
         "fleet 'side_loader'.capacity_t"),
    Case("missing required key", _sub('count = 3\ndepot = "garage"', "count = 3"),
         "scenario.toml", "fleet 'side_loader'.depot"),
    Case("bool as count", _sub("count = 3", "count = true"), "scenario.toml",
         "fleet 'side_loader'.count"),
    Case("bool as capacity", _sub("capacity_t = 11", "capacity_t = true"), "scenario.toml",
         "fleet 'side_loader'.capacity_t: Input should be a valid number (got true). Fix: write a number without quotes (true and false are not numbers)"),
    Case("bool as site capacity", _sub("capacity_t_per_day = 60", "capacity_t_per_day = false"),
         "scenario.toml", "facilities 'landfill'.capacity_t_per_day"),
    Case("bool in bbox", _sub("demo = true", "bbox = [true, 60.16, 24.96, 60.18]"),
         "scenario.toml", "network.bbox item 1"),
    Case("bool as share", _sub("msw = 0.85,", "msw = true,"), "scenario.toml",
         "generation.stream_shares.msw"),
    Case("quoted number", _sub("capacity_m3 = 20", 'capacity_m3 = "20"'), "scenario.toml",
         "fleet 'side_loader'.capacity_m3"),
    Case("empty accepts", _sub('accepts = ["msw"]', "accepts = []"), "scenario.toml",
         "facilities 'landfill'.accepts: the list is empty. Fix: list at least one stream id, "
         'e.g. accepts = ["msw"]'),
    Case("empty fleet entry", _sub("[siting]", "[[fleet]]\n\n[siting]"), "scenario.toml",
         "fleet entry 3 (the third [[fleet]]).id: required value is missing"),
    Case("depot without id", _sub("[[facilities]]", "[[depots]]\nlon = 24.94\nlat = 60.17\n\n"
         "[[facilities]]"), "scenario.toml", "depots entry 2 (the second [[depots]]).id"),
    Case("bool in a source", _sub("[[depots]]", '[[generation.sources]]\nid = "market"\n'
         'stream = "msw"\nlon = true\nlat = 60.17\ntonnes_per_day = 1\n\n[[depots]]'),
         "scenario.toml", "generation.sources entry 1 (the first [[generation.sources]]).lon"),
    Case("fractional count", _sub("count = 3", "count = 2.5"), "scenario.toml",
         "fleet 'side_loader'.count"),
    Case("negative capacity", _sub("capacity_t = 11", "capacity_t = -11"), "scenario.toml",
         "fleet 'side_loader'.capacity_t"),
    Case("zero volume", _sub("capacity_m3 = 20", "capacity_m3 = 0"), "scenario.toml",
         "fleet 'side_loader'.capacity_m3"),
    Case("nan capacity", _sub("capacity_t = 11", "capacity_t = nan"), "scenario.toml",
         "fleet 'side_loader'.capacity_t"),
    Case("inf capacity", _sub("capacity_t = 11", "capacity_t = inf"), "scenario.toml",
         "fleet 'side_loader'.capacity_t"),
    Case("inf site capacity", _sub("capacity_t_per_day = 60", "capacity_t_per_day = inf"),
         "scenario.toml", "facilities 'landfill'.capacity_t_per_day"),
    Case("20,000 trucks", _sub("count = 3", "count = 20000"), "scenario.toml",
         "fleet 'side_loader'.count"),
    Case("negative seed", _sub("seed = 7", "seed = -1"), "scenario.toml", "generation.seed"),
    Case("absurd time limit", _sub("time_limit_s = 8", "time_limit_s = 1e300"),
         "scenario.toml", "solver.time_limit_s"),
    Case("tiny people_per_point", _sub("people_per_point = 535", "people_per_point = 0.0001"),
         "scenario.toml", "people_per_point"),
    Case("huge max_snap_m", _sub("max_snap_m = 250", "max_snap_m = 1e7"), "scenario.toml",
         "network.max_snap_m"),
    Case("bbox corners swapped", _sub("demo = true", "bbox = [24.96, 60.18, 24.93, 60.16]"),
         "scenario.toml", "network.bbox"),
    Case("two network sources", _sub("demo = true", 'demo = true\nplace = "Helsinki"'),
         "scenario.toml", "network: 2 road-network sources"),
    Case("gate fee 1e300", _sub("gate_fee_kzt_per_t = 1500", "gate_fee_kzt_per_t = 1e300"),
         "scenario.toml", "facilities 'landfill'.gate_fee_kzt_per_t"),
    Case("transport cost 1e300", _sub("transport_cost_kzt_per_t_km = 60",
         "transport_cost_kzt_per_t_km = 1e300"), "scenario.toml",
         "solver.transport_cost_kzt_per_t_km"),
    Case("density 1e-300", _sub("density_t_per_m3 = 0.2", "density_t_per_m3 = 1e-300"),
         "scenario.toml", "streams 'msw'.density_t_per_m3"),
    Case("norm 1e300", _sub("norm_m3_per_person_year = 1.62", "norm_m3_per_person_year = 1e300"),
         "scenario.toml", "generation.norm_m3_per_person_year"),
    Case("speed factor 1e-300", _sub("shift_min = 480 ", "speed_factor = 1e-300\nshift_min = 480 "),
         "scenario.toml", "fleet 'side_loader'.speed_factor"),
    Case("fuel 1e300", _sub("fuel_l_per_km = 0.6", "fuel_l_per_km = 1e300"), "scenario.toml",
         "fleet 'side_loader'.fuel_l_per_km"),
    Case("p above facilities", _sub('location_model = "auto"', 'location_model = "p-median"\np = 9'),
         "scenario.toml", "solver.p"),
    Case("robustness without samples", _sub("robustness_samples = 50",
         "robustness_samples = 0\ntarget_robustness = 0.9"), "scenario.toml", "economics"),
    Case("name with spaces", _sub('name = "demo"', 'name = "my demo"'), "scenario.toml",
         "scenario.name"),
    Case("empty stream list", _variant('extends = "scenario.toml"\n'
                                       'remove = ["msw", "dry_recyclables"]\n'),
         "variant.toml", "[[streams]]: no entries"),
    Case("section not a table", _variant('extends = "scenario.toml"\nsolver = 5\n'),
         "variant.toml", "[solver]: must be a table"),
    Case("table name not a string", _sub('districts = "districts.geojson"', "districts = 5"),
         "scenario.toml", "districts"),
    Case("extends not a string", _variant("extends = 5\n"), "variant.toml", "extends"),
    Case("samples times points", _subs(("robustness_samples = 50", "robustness_samples = 10000"),
         ("people_per_point = 535", "people_per_point = 10")), "scenario.toml",
         "economics.robustness_samples"),
    # references and ids
    Case("unknown depot", _sub('depot = "garage"', 'depot = "nowhere"'), "scenario.toml",
         "fleet 'side_loader'.depot"),
    Case("unknown accepted stream", _sub('accepts = ["msw"]', 'accepts = ["mws"]'),
         "scenario.toml", "facilities 'landfill'.accepts"),
    Case("unknown fleet stream", _sub('streams = ["msw"]', 'streams = ["glass"]'),
         "scenario.toml", "fleet 'side_loader'.streams"),
    Case("unknown stream share", _sub("msw = 0.85,", "mws = 0.85,"), "scenario.toml",
         "generation.stream_shares.mws"),
    Case("duplicate depot id", _sub("[[facilities]]", '[[depots]]\nid = "garage"\nlon = 24.94\n'
         "lat = 60.17\n\n[[facilities]]"), "scenario.toml", "depots id 'garage'"),
    Case("duplicate facility id", _sub('id = "sorting_south"', 'id = "sorting_north"'),
         "scenario.toml", "facilities id 'sorting_north'"),
    Case("no fleet", _variant('extends = "scenario.toml"\n'
                              'remove = ["side_loader", "recyclables_truck"]\n'),
         "variant.toml", "[[fleet]]: no entries"),
    Case("misspelt list", _sub(_FLEET, "[[fleets]]\nid = \"side_loader\""), "scenario.toml",
         "[fleets]"),
    # clock times
    Case("hour 25", _sub('shift_start = "07:00"', 'shift_start = "25:00"'), "scenario.toml",
         "fleet 'side_loader'.shift_start"),
    Case("7am", _sub('shift_start = "07:00"', 'shift_start = "7am"'), "scenario.toml",
         "fleet 'side_loader'.shift_start"),
    Case("window closes before it opens",
         _sub('opening_hours = "06:00-22:00"', 'opening_hours = "22:00-06:00"'),
         "scenario.toml", "facilities 'landfill'.opening_hours"),
    Case("break longer than shift", _sub("break_min = 30", "break_min = 600"), "scenario.toml",
         "fleet 'side_loader'.break_min"),
    Case("shift starts at 24:00", _sub('shift_start = "07:00"', 'shift_start = "24:00"'),
         "scenario.toml", "fleet 'side_loader'.shift_start: shift_start = '24:00' is the end"),
    Case("night shift across midnight", _sub('shift_start = "07:00"', 'shift_start = "22:00"'),
         "scenario.toml", "fleet 'side_loader': the shift starting at 22:00"),
    Case("flex pushes the shift past midnight", _sub('shift_start = "07:00"',
         'shift_start = "15:00"\nshift_start_flex_min = 120'), "scenario.toml",
         "night shifts crossing midnight are not supported"),
    Case("opening hours not a window", _sub('opening_hours = "06:00-22:00"',
         'opening_hours = "6-22"'), "scenario.toml", "facilities 'landfill'.opening_hours"),
    # variants
    Case("extends loop", _loop, "a.toml", "extends"),
    Case("extends itself", _variant('extends = "variant.toml"\n'), "variant.toml", "extends"),
    Case("extends missing file", _variant('extends = "base.toml"\n'), "variant.toml",
         "extends"),
    Case("remove unknown id", _variant('extends = "scenario.toml"\nremove = ["sorting_west"]\n'),
         "variant.toml", "remove"),
    Case("variant removes a used depot", _variant('extends = "scenario.toml"\n'
                                                  'remove = ["garage"]\n'), "variant.toml",
         "fleet 'side_loader'.depot: depot 'garage' is removed by this variant's remove = "
         '["garage"] but fleet \'side_loader\' still uses it. Fix: keep the depot (take '
         "'garage' out of remove), or make fleet 'side_loader' use another depot added as a "
         "[[depots]] entry (none is left)"),
    Case("variant removes a used stream", _variant('extends = "scenario.toml"\n'
                                                   'remove = ["dry_recyclables"]\n'),
         "variant.toml", "fleet 'recyclables_truck'.streams: stream 'dry_recyclables' is "
         "removed by this variant's remove"),
    Case("remove not a list", _variant('extends = "scenario.toml"\nremove = "landfill"\n'),
         "variant.toml", "remove"),
    # places on the map
    Case("depot lon/lat swapped", _sub("lon = 24.9375\nlat = 60.1655", "lon = 60.1655\nlat = 24.9375"),
         "scenario.toml", "depot garage"),
    Case("facility outside the network", _sub("lon = 24.9525", "lon = 25.9525"),
         "scenario.toml", "facility landfill"),
    Case("latitude 95", _sub("lat = 60.1655", "lat = 95"), "scenario.toml",
         "depots 'garage'.lat"),
    Case("network file missing", _network_file(None), "scenario.toml", "[network].file"),
    Case("network file not GeoJSON", _network_file("hello"), "streets.geojson", ""),
    Case("network file with NaN", _network_file(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "LineString", "coordinates": [[24.94, 60.17], [NaN, 60.18]]}}]}'),
         "streets.geojson", "not finite WGS84"),
    Case("network file in metres", _network_file(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "LineString", "coordinates": [[385000, 6672000], '
        '[385500, 6672000]]}}]}'), "streets.geojson", "EPSG:4326"),
    # points.csv
    Case("CSV unclosed quote", _points(POINTS.replace("0.4,North", '0.4,"North')),
         "points.csv", "line 3"),
    Case("CSV field with a newline", _points(POINTS.replace("0.4,North", '0.4,"Nor\nth"')),
         "points.csv", "line 3"),
    Case("CSV short row", _points(POINTS.replace("0.6,Centre", "0.6")), "points.csv",
         "line 4"),
    Case("CSV long row", _points(POINTS.replace("0.6,Centre", "0.6,Centre,extra")),
         "points.csv", "line 4"),
    Case("CSV duplicate header", _points(POINTS.replace(",district\n", ",id\n", 1)),
         "points.csv", "header"),
    Case("CSV empty id", _points(POINTS.replace("P3,", ",")), "points.csv", "line 4"),
    Case("CSV header only", _points(POINTS.split("\n", 1)[0] + "\n"), "points.csv", "no collection points"),
    Case("CSV empty file", _points(""), "points.csv", "empty"),
    Case("CSV latin-1 bytes", _points(POINTS.replace("North", "Nørth").encode("latin-1")),
         "points.csv", "line 2"),
    Case("CSV fractional containers",
         _points(POINTS.replace("tonnes_per_day", "containers").replace("0.5,", "2.5,")),
         "points.csv", "line 2"),
    Case("CSV nan tonnes", _points(POINTS.replace("0.5,", "nan,")), "points.csv", "line 2"),
    Case("CSV hour 25 window", _points(POINTS.replace("\n", ",\n").replace(
        "district,", "district,time_window").replace("North,", "North,25:00-26:00", 1)),
         "points.csv", "line 2"),
    Case("CSV unknown stream", _points(POINTS.replace("msw,0.6", "glass,0.6")), "points.csv",
         "P3"),
    Case("CSV duplicate row", _points(POINTS + "P1,24.9400,60.1700,msw,0.5,North\n"),
         "points.csv", "P1"),
    Case("CSV point far away", _points(POINTS.replace("24.9480,60.1720", "71.43,51.13")),
         "points.csv", "point P3"),
    Case("CSV separated by tabs", _points(POINTS.replace(",", "\t")), "points.csv",
         "header: this file is separated by tabs, not commas. Fix: save it as comma-separated "
         "CSV (UTF-8)"),
    Case("CSV decimal comma", _points(POINTS.replace("msw,0.5,", "msw,0,5,")), "points.csv",
         "line 2: column tonnes_per_day: '0,5' has a decimal comma"),
    Case("CSV path with backslashes", _backslash_points, "scenario.toml",
         "points: file not found (data\\points.csv): the path uses backslashes (\\), and "
         'data/points.csv exists. Fix: use forward slashes, also on Windows: '
         'points = "data/points.csv"'),
    Case("points is a folder", _folder_points, "data", "is a folder, not a file"),
    Case("points in an Excel workbook", _points(b"PK\x03\x04\x14\x00\x06\x00", "points.xlsx"),
         "points.xlsx", "spreadsheet workbook (Excel or LibreOffice), which can't be read. "
         "Fix: save it as CSV UTF-8"),
    Case("Excel workbook named .csv", _points(b"PK\x03\x04\x14\x00\x06\x00"), "points.csv",
         "spreadsheet workbook"),
    Case("GeoJSON truncated", _points('{"type": "FeatureCollection", "features": [',
         "points.geojson"), "points.geojson", "line 1: not valid JSON"),
    Case("GeoJSON decimal comma", _geo_points({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"id": "P1", "stream": "msw", "tonnes_per_day": "0,5"}}]}),
         "points.geojson", "'0,5' has a decimal comma"),
    Case("CSV point heavier than any truck", _points(POINTS.replace("msw,0.6", "msw,12")),
         "points.csv", "point 'P3' (stream msw): one visit every 1 day(s) collects 12.984 t"),
    Case("CSV missing file", _sub('districts = "districts.geojson"', 'points = "gone.csv"'),
         "gone.csv", "not found"),
    # points.geojson
    Case("GeoJSON bare array", _geo_points([{"type": "Feature"}]), "points.geojson",
         "FeatureCollection"),
    Case("GeoJSON empty coordinates", _geo_points({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": []},
         "properties": {"id": "P1", "stream": "msw", "tonnes_per_day": 1}}]}),
         "points.geojson", "feature 1"),
    Case("GeoJSON line not point", _geo_points({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[24.94, 60.17],
         [24.95, 60.17]]}, "properties": {"id": "P1", "stream": "msw", "tonnes_per_day": 1}}]}),
         "points.geojson", "feature 1"),
    Case("GeoJSON text coordinates", _geo_points({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["24.94", "x"]},
         "properties": {"id": "P1", "stream": "msw", "tonnes_per_day": 1}}]}),
         "points.geojson", "feature 1"),
    Case("GeoJSON lat property disagrees", _geo_points({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"id": "P1", "stream": "msw", "tonnes_per_day": 1, "lat": 61.17}}]}),
         "points.geojson", "feature 1 (id P1)"),
    Case("GeoJSON feature not an object", _geo_points({"type": "FeatureCollection",
         "features": [7]}), "points.geojson", "feature 1"),
    # districts.geojson
    Case("districts population 1e12", _districts(lambda d: _first_props(d, "population", 1e12)),
         "districts.geojson", "North quarter"),
    Case("districts negative population",
         _districts(lambda d: _first_props(d, "population", -5)), "districts.geojson",
         "North quarter"),
    Case("districts population text",
         _districts(lambda d: _first_props(d, "population", "many")), "districts.geojson",
         "North quarter"),
    Case("districts bad ring", _districts(lambda d: d["features"][0]["geometry"].update(  # type: ignore[index]
        coordinates=[[[24.9], [1]]])), "districts.geojson", "North quarter"),
    Case("districts without geometry", _districts(lambda d: d["features"][0].update(
        geometry=None)), "districts.geojson", "North quarter"),
    Case("no people anywhere", _districts(lambda d: [f["properties"].update(population=0)
         for f in d["features"]] and None), "scenario.toml", "points / districts"),
    Case("GeoJSON NaN literal", _points('{"type": "FeatureCollection", "features": [{"type": '
         '"Feature", "geometry": {"type": "Point", "coordinates": [NaN, 60.17]}, "properties": '
         '{"id": "P1", "stream": "msw", "tonnes_per_day": 1}}]}', "points.geojson"),
         "points.geojson", "NaN"),
    Case("districts not a collection", _districts(lambda d: d["features"]),
         "districts.geojson", "FeatureCollection"),
    Case("districts invalid JSON", _districts(lambda d: "{"), "districts.geojson", "line 1"),
]  # fmt: skip


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A writable copy of the embedded demo scenario."""
    dst = tmp_path / "demo"
    shutil.copytree(demo_scenario_path().parent, dst)
    return dst


def test_case_names_are_distinct() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_defect_is_refused(
    case: Case, demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = case.plant(demo_dir)
    out = tmp_path / "out"
    code = main(["plan", str(scenario), "--out", str(out), "--time-limit", "2"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert case.file in err and case.record in err, err
    assert "Traceback" not in err
    assert not [p.name for p in tmp_path.iterdir() if "out" in p.name]
    with pytest.raises(InputError) as info:
        validate_scenario_file(scenario)
    message = str(info.value)
    assert case.file in message and case.record in message, message
