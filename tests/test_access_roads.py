"""Sites beyond the road network's edge (``[[facilities]] access``).

A city's street file ends at the border while its landfill lies out of town. The site
is snapped where its access road leaves the network; the road's km and minutes are
added to every trip to and from it; the plan keeps the site's own position and says
where the access road starts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from optimizer.errors import InputError
from optimizer.plan import build_plan
from optimizer.plan_types import validate_plan
from optimizer.report.map import build_map
from optimizer.scenario import load_scenario
from optimizer.stages.prepare import Location, prepare

DEMO = Path(__file__).resolve().parents[1] / "optimizer" / "data" / "demo" / "scenario.toml"
#: The real landfill 4 km further out; its access road leaves the extract where the
#: demo file places the landfill today (on the network).
ACCESS = (
    "lon = 24.9900\nlat = 60.1950\naccess = { lon = 24.9525, lat = 60.1780, km = 4.0, "
    'speed_kmh = 50, source = "test" }\n'
)


def _scenario_with_access(tmp_path: Path, access: str = ACCESS) -> Path:
    text = DEMO.read_text(encoding="utf-8")
    text = re.sub(
        r'(id = "landfill"\n(?:.*\n)*?)lon = 24\.9525\nlat = 60\.1780\n',
        r"\1" + access,
        text,
        count=1,
    )
    assert "access" in text
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    for extra in DEMO.parent.iterdir():  # the demo's tables beside it
        if extra.name != "scenario.toml" and extra.is_file():
            (tmp_path / extra.name).write_bytes(extra.read_bytes())
    return path


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("access")
    plain = prepare(load_scenario(DEMO))
    far = prepare(load_scenario(_scenario_with_access(tmp)))
    return plain, far


def test_the_access_road_is_added_to_every_trip_to_and_from_the_site(both) -> None:  # type: ignore[no-untyped-def]
    plain, far = both
    j = plain.location_index[Location("facility", "landfill")]
    assert far.location_index == plain.location_index
    others = [i for i in range(len(plain.location_index)) if i != j]
    # snapped at the access point, which is where the demo had the landfill
    assert far.snapped.lon[j] == pytest.approx(plain.snapped.lon[j])
    np.testing.assert_array_equal(
        far.matrix.distance_m[j, others] - plain.matrix.distance_m[j, others], 4000
    )
    np.testing.assert_array_equal(
        far.matrix.distance_m[others, j] - plain.matrix.distance_m[others, j], 4000
    )
    np.testing.assert_array_equal(  # 4 km at 50 km/h = 288 s
        far.matrix.time_s[others, j] - plain.matrix.time_s[others, j], 288
    )
    assert far.matrix.distance_m[j, j] == 0
    sub = np.ix_(others, others)  # trips between other places are unchanged
    np.testing.assert_array_equal(far.matrix.distance_m[sub], plain.matrix.distance_m[sub])


def test_the_plan_keeps_the_sites_own_position_and_names_the_access_point(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(_scenario_with_access(tmp_path))
    plan = validate_plan(build_plan(scenario, stage="plan", time_limit_s=6, seed=0))
    site = next(f for f in plan["facilities"] if f["id"] == "landfill")
    assert (site["lon"], site["lat"]) == (24.99, 60.195)
    assert site["access"] == {
        "lon": pytest.approx(24.9525, abs=2e-3),
        "lat": pytest.approx(60.178, abs=2e-3),
        "km": 4.0,
    }
    others = [f for f in plan["facilities"] if f["id"] != "landfill"]
    assert all(f["access"] is None for f in others)
    # the demo's residue goes from its sorting site to the landfill: over the access road
    hauls = [r for r in plan["residue_flows"] if r["to"] == "landfill"]
    assert hauls and all(r["road_km"] > 4.0 for r in hauls)
    html = build_map(plan).get_root().render()
    assert html.count("access-road") == 1 and "beyond the street file: 4.0 km" in html


def test_an_access_point_off_the_network_is_an_input_error(tmp_path: Path) -> None:
    bad = "lon = 24.9900\nlat = 60.1950\naccess = { lon = 25.5, lat = 60.5, km = 4.0 }\n"
    with pytest.raises(InputError) as info:
        prepare(load_scenario(_scenario_with_access(tmp_path, bad)))
    assert "landfill" in str(info.value)
