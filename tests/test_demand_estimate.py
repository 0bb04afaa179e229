"""Estimates from districts, explicit points and sources; seeded placement; sampling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from optimizer.demand import (
    COLUMNS,
    StreetSegments,
    demand_summary,
    estimate_demand,
    municipal_tonnes_per_day,
    sample_demand,
    write_demand_csv,
)
from optimizer.errors import InputError
from optimizer.network import build_network
from optimizer.scenario import District, load_scenario

# Two square districts side by side near Astana (about 2.1 km x 2.2 km each).
WEST = [[71.40, 51.10], [71.43, 51.10], [71.43, 51.12], [71.40, 51.12], [71.40, 51.10]]
EAST = [[71.43, 51.10], [71.46, 51.10], [71.46, 51.12], [71.43, 51.12], [71.43, 51.10]]

BASE_TOML = """
districts = "districts.geojson"
{points_line}

[scenario]
name = "t"

[network]
bbox = [71.39, 51.09, 71.47, 51.13]

[[streams]]
id = "msw"
density_t_per_m3 = 0.2
density_low_t_per_m3 = 0.18
density_high_t_per_m3 = 0.25
accepted_by = ["landfill"]

[[streams]]
id = "dry"
density_t_per_m3 = 0.07
accepted_by = ["sorting"]

[[streams]]
id = "medical"
kind = "medical"
density_t_per_m3 = 0.1
accepted_by = ["treatment"]
dedicated_vehicles = true

[generation]
norm_kg_per_person_day = 1.0
norm_low = 0.8
norm_high = 1.2
stream_shares = {{ msw = 0.9, dry = 0.1 }}
stream_coverage = {{ dry = 0.5 }}
seasonal_factor_warm = 1.1
seasonal_factor_cold = 0.9
cold_months = 5
container_m3 = 1.1
fill_level = 0.85
people_per_point = 500
seed = 3
{generation_extra}

[[depots]]
id = "d"
lon = 71.43
lat = 51.11

[[facilities]]
id = "lf"
type = "landfill"
state = "existing"
lon = 71.47
lat = 51.13
capacity_t_per_day = 500
accepts = ["msw"]

[[facilities]]
id = "so"
type = "sorting"
state = "existing"
lon = 71.47
lat = 51.12
capacity_t_per_day = 50
accepts = ["dry"]

[[facilities]]
id = "med"
type = "treatment"
state = "existing"
lon = 71.46
lat = 51.13
capacity_t_per_day = 5
accepts = ["medical"]

[[fleet]]
id = "truck"
count = 2
depot = "d"
capacity_t = 11
capacity_m3 = 20
streams = ["msw", "dry"]

[[fleet]]
id = "med_van"
count = 1
depot = "d"
capacity_t = 1
capacity_m3 = 8
streams = ["medical"]
"""

HOSPITAL = """
[[generation.sources]]
id = "hospital_1"
stream = "medical"
kind = "hospital"
lon = 71.445
lat = 51.115
district = "East"
quantity = 400
unit = "beds"
norm_kg_per_unit_day = 0.5
relative_range = 0.2
source = "test value"
"""


def _write(
    tmp_path: Path,
    *,
    populations: tuple[float, float] = (20_000, 10_000),
    points_csv: str | None = None,
    generation_extra: str = "",
) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": name, "population": pop},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for name, pop, ring in (("West", populations[0], WEST), ("East", populations[1], EAST))
    ]
    (tmp_path / "districts.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    points_line = ""
    if points_csv is not None:
        (tmp_path / "points.csv").write_text(points_csv)
        points_line = 'points = "points.csv"'
    path = tmp_path / "scenario.toml"
    path.write_text(BASE_TOML.format(points_line=points_line, generation_extra=generation_extra))
    return path


def test_district_estimate_totals_and_columns(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    df = estimate_demand(sc)
    assert list(df.columns) == COLUMNS
    # 30,000 people x 1 kg/day = 30 t/day, split 90/10
    assert df["tonnes_per_day"].sum() == pytest.approx(30.0)
    by_stream = df.groupby("stream")["tonnes_per_day"].sum()
    assert by_stream["msw"] == pytest.approx(27.0)
    assert by_stream["dry"] == pytest.approx(3.0)
    assert np.allclose(
        df["m3_per_day"], df["tonnes_per_day"] / df["stream"].map({"msw": 0.2, "dry": 0.07})
    )
    # sites in proportion to population: 40 and 20
    sites = df[df.stream == "msw"].groupby("district")["point_id"].nunique()
    assert sites["West"] == 40 and sites["East"] == 20
    # dry containers at half of the sites
    dry_sites = df[df.stream == "dry"].groupby("district")["point_id"].nunique()
    assert dry_sites["West"] == 20 and dry_sites["East"] == 10
    assert df["point_id"].is_unique is False  # one row per point and stream
    assert not df.duplicated(["point_id", "stream"]).any()
    assert (df["people_served"] == 500).all()


def test_seasons_scale_tonnage_and_visits(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    warm = estimate_demand(sc, season="warm")["tonnes_per_day"].sum()
    cold = estimate_demand(sc, season="cold")["tonnes_per_day"].sum()
    annual = estimate_demand(sc)["tonnes_per_day"].sum()
    assert (warm * 7 + cold * 5) / 12 == pytest.approx(annual)
    assert warm / cold == pytest.approx(1.1 / 0.9)
    msw_cold = estimate_demand(sc, season="cold").query("stream == 'msw'")
    assert (msw_cold["visits_per_week"] == 3).all()
    msw_warm = estimate_demand(sc, season="warm").query("stream == 'msw'")
    assert (msw_warm["visits_per_week"] == 7).all()
    # annual containers cover the worse season
    ann = estimate_demand(sc).set_index(["point_id", "stream"])["containers"]
    worst = np.maximum(
        msw_cold.set_index(["point_id", "stream"])["containers"],
        msw_warm.set_index(["point_id", "stream"])["containers"],
    )
    assert (ann.loc[worst.index] == worst).all()


def test_generated_points_reproducible_and_inside(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    a, b = estimate_demand(sc), estimate_demand(sc)
    pd.testing.assert_frame_equal(a, b)
    c = estimate_demand(sc, rng_seed=99)
    assert not np.allclose(a["lon"], c["lon"])
    for name, ring in (("West", WEST), ("East", EAST)):
        part = a[a.district == name]
        assert shapely.contains_xy(Polygon(ring), part["lon"], part["lat"]).all()
    assert (a["source"] == "generated:polygon").all()


def test_generated_points_are_spread(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    pts = estimate_demand(sc).drop_duplicates("point_id").query("district == 'West'")
    x = pts["lon"].to_numpy() * 111_320 * np.cos(np.radians(51.11))
    y = pts["lat"].to_numpy() * 110_574
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(d, np.inf)
    # 40 sites on about 4.6 km2: a grid cell of about 340 m; jitter keeps most apart
    assert np.median(d.min(axis=1)) > 150


def _grid_network() -> Any:
    """A 5 x 5 street grid covering both districts (two-way streets)."""
    lons, lats = np.linspace(71.401, 71.459, 5), np.linspace(51.101, 51.119, 5)
    lon, lat = np.meshgrid(lons, lats)
    node_lon, node_lat = lon.ravel(), lat.ravel()
    u, v = [], []
    for r in range(5):
        for c in range(5):
            k = r * 5 + c
            if c < 4:
                u += [k, k + 1]
                v += [k + 1, k]
            if r < 4:
                u += [k, k + 5]
                v += [k + 5, k]
    return build_network("grid", node_lon, node_lat, u, v, np.full(len(u), 30.0))


def test_points_on_network_lie_on_streets_inside(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    net = _grid_network()
    df = estimate_demand(sc, network=net)
    assert (df["source"] == "generated:network").all()
    pts = df.drop_duplicates("point_id")
    for name, ring in (("West", WEST), ("East", EAST)):
        part = pts[pts.district == name]
        assert shapely.contains_xy(Polygon(ring), part["lon"], part["lat"]).all()
    # on a street: the latitude or longitude equals a grid line
    lons, lats = np.linspace(71.401, 71.459, 5), np.linspace(51.101, 51.119, 5)
    on_lon = np.isclose(pts["lon"].to_numpy()[:, None], lons[None, :], atol=1e-9).any(axis=1)
    on_lat = np.isclose(pts["lat"].to_numpy()[:, None], lats[None, :], atol=1e-9).any(axis=1)
    assert (on_lon | on_lat).all()
    pd.testing.assert_frame_equal(df, estimate_demand(sc, network=net))


def test_street_segments_skip_reverse_edges() -> None:
    whole = StreetSegments.from_network(_grid_network(), max_piece_m=1e9)
    assert len(whole.length_m) == 40  # 2 x 5 x 4 undirected streets
    assert whole.length_m.sum() == pytest.approx(5 * 4 * 1006 + 5 * 4 * 500, rel=0.02)
    cut = StreetSegments.from_network(_grid_network())
    assert cut.length_m.max() <= 50.0 + 1e-6
    assert cut.length_m.sum() == pytest.approx(whole.length_m.sum())


def test_network_stand_in_object(tmp_path: Path) -> None:
    """Any object with the RoadNetwork fields works (straight edges, no geometry)."""

    class StandIn:
        node_lon = np.array([71.405, 71.455])
        node_lat = np.array([51.110, 51.110])
        edge_u = np.array([0, 1])
        edge_v = np.array([1, 0])
        edge_length_m = np.array([3490.0, 3490.0])
        edge_geometry = None

    sc = load_scenario(_write(tmp_path))
    df = estimate_demand(sc, network=StandIn())
    assert np.allclose(df["lat"], 51.11)
    assert (df["source"] == "generated:network").all()


def test_explicit_points_and_containers(tmp_path: Path) -> None:
    csv = (
        "id,lon,lat,stream,tonnes_per_day,containers,container_m3,fill_level\n"
        "P1,71.41,51.11,msw,0.5,,,\n"
        "P2,71.42,51.11,msw,,4,1.1,0.8\n"
    )
    sc = load_scenario(_write(tmp_path, points_csv=csv))
    warm = estimate_demand(sc, season="warm").set_index("point_id")
    # P1 given as the annual average, scaled to the warm season
    assert warm.loc["P1", "tonnes_per_day"] == pytest.approx(0.5 * 1.1 / ((1.1 * 7 + 0.9 * 5) / 12))
    # P2: 4 x 1.1 m3 x 0.8 x 7/7 visits a day x 0.2 t/m3
    assert warm.loc["P2", "tonnes_per_day"] == pytest.approx(4 * 1.1 * 0.8 * 0.2)
    assert warm.loc["P2", "containers"] == 4
    cold = estimate_demand(sc, season="cold").set_index("point_id")
    assert cold.loc["P2", "tonnes_per_day"] == pytest.approx(4 * 1.1 * 0.8 * 3 / 7 * 0.2)
    # both points fall in West, so West gets no generated points; East does
    assert set(warm["district"]) == {"West", "East"}
    assert warm[warm.district == "West"].index.tolist() == ["P1", "P2"]


def test_commercial_source_medical(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, generation_extra=HOSPITAL))
    df = estimate_demand(sc).set_index("point_id")
    row = df.loc["hospital_1"]
    assert row["stream"] == "medical"
    assert row["tonnes_per_day"] == pytest.approx(0.2)
    assert row["visits_per_week"] == 7
    assert row["source"] == "source:hospital"
    # medical waste is not municipal
    assert municipal_tonnes_per_day(df.reset_index(), sc) == pytest.approx(30.0)


def test_dedicated_vehicles_required(tmp_path: Path) -> None:
    path = _write(tmp_path, generation_extra=HOSPITAL)
    text = path.read_text().replace('streams = ["medical"]', 'streams = ["medical", "msw"]')
    path.write_text(text)
    with pytest.raises(InputError, match="dedicated vehicles"):
        load_scenario(path)


def test_bad_generation_ranges_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("norm_high = 1.2", "norm_high = 0.9"))
    with pytest.raises(InputError, match="norm_high"):
        load_scenario(path)
    path.write_text(
        path.read_text()
        .replace("norm_high = 0.9", "norm_high = 1.2")
        .replace("msw = 0.9, dry = 0.1", "msw = 0.5, dry = 0.1")
    )
    with pytest.raises(InputError, match=r"sum to 0\.600"):
        load_scenario(path)


def test_district_without_polygon_uses_centroid(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    centred = District(name="Centre", population=5000, centroid=(71.43, 51.11))
    sc2 = sc.model_copy(update={"districts": (centred,)})
    df = estimate_demand(sc2)
    assert (df["source"] == "generated:centroid").all()
    assert df["point_id"].nunique() == 10
    assert np.abs(df["lon"] - 71.43).max() < 0.02
    bare = District(name="Nowhere", population=5000)
    with pytest.raises(InputError, match="neither a polygon nor a centroid"):
        estimate_demand(sc.model_copy(update={"districts": (bare,)}))


def test_sampling_reproducible_and_centred(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, generation_extra=HOSPITAL))
    s1 = sample_demand(sc, samples=400, seed=5)
    s2 = sample_demand(sc, samples=400, seed=5)
    pd.testing.assert_frame_equal(s1, s2)
    assert list(s1.columns) == ["sample", *COLUMNS]
    totals = s1[s1.stream != "medical"].groupby("sample")["tonnes_per_day"].sum()
    assert totals.mean() == pytest.approx(30.0, rel=0.02)  # triangular 0.8/1.0/1.2
    assert totals.min() >= 24.0 and totals.max() <= 36.0
    assert totals.std() > 0.5
    med = s1[s1.stream == "medical"]["tonnes_per_day"]
    assert med.mean() == pytest.approx(0.2, rel=0.03)
    # same points in every sample
    assert s1[s1["sample"] == 0]["point_id"].tolist() == s1[s1["sample"] == 7]["point_id"].tolist()
    other = sample_demand(sc, samples=400, seed=6)
    assert not np.allclose(other["tonnes_per_day"], s1["tonnes_per_day"])


def test_summary_and_csv(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path))
    df = estimate_demand(sc)
    text = demand_summary(df)
    assert "msw" in text and "27.0" in text and "all streams" in text
    out = tmp_path / "demand.csv"
    write_demand_csv(df, out)
    back = pd.read_csv(out)
    assert list(back.columns) == COLUMNS
    assert back["tonnes_per_day"].sum() == pytest.approx(30.0, abs=0.01)
    samples = sample_demand(sc, samples=5, seed=1)
    assert "5 demand samples" in demand_summary(samples)
    assert "no demand" in demand_summary(df.iloc[0:0])


def test_m3_norm_district_norms_and_pert(tmp_path: Path) -> None:
    extra = "district_norms = { West = 2.0 }\nnorm_density_low_t_per_m3 = 0.18\nnorm_density_high_t_per_m3 = 0.22"
    path = _write(tmp_path, generation_extra=extra)
    text = path.read_text()
    text = text.replace("norm_kg_per_person_day = 1.0", "norm_m3_per_person_year = 1.62")
    text = text.replace("norm_low = 0.8\nnorm_high = 1.2", "norm_low = 1.4\nnorm_high = 1.8")
    path.write_text(text)
    sc = load_scenario(path)
    sc = sc.model_copy(
        update={"generation": sc.generation.model_copy(update={"distribution": "pert"})}  # type: ignore[union-attr]
    )
    df = estimate_demand(sc)
    by_district = df.groupby("district")["tonnes_per_day"].sum()
    # West: 20,000 x 2.0 m3 x 0.2 t/m3 / 365; East: 10,000 x 1.62 x 0.2 / 365
    assert by_district["West"] == pytest.approx(20_000 * 2.0 * 0.2 / 365)
    assert by_district["East"] == pytest.approx(10_000 * 1.62 * 0.2 / 365)
    samples = sample_demand(sc, samples=300, seed=2)
    totals = samples.groupby("sample")["tonnes_per_day"].sum()
    assert totals.mean() == pytest.approx(by_district.sum(), rel=0.03)
    assert totals.std() > 0
