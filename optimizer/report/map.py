"""The interactive plan map (``map.html``), built from the plan dictionary alone.

What is drawn, bottom to top: the street network as light grey lines (the
offline base layer), optional OpenStreetMap tiles (``online=True`` only),
catchment areas of open facilities, sanitary protection zones (red, hatched),
one toggleable layer per route (vehicle and day) with the line along the
streets, direction arrows and numbered stops in visiting order, unload stops,
depots, and facilities by type and state.  A legend, a KPI box, the layer
control and a scale bar sit in the corners.

Plans with more than :data:`LARGE_PLAN_STOPS` stops switch to a light mode:
canvas rendering, stops as small circle markers created by one compact script
per route (popups built on click), fewer arrows and simplified geometry.
"""

from __future__ import annotations

import math

import folium
import shapely
from branca.element import Element, Figure

from optimizer.plan_types import MultiPolygonGeometry, Plan, PolygonGeometry

from .common import (
    FACILITY_TYPE_COLOR,
    data_bounds,
    esc,
    find_point,
    fmt_num,
    points_by_id,
    points_by_key,
    route_color,
    simplify_lines,
    sorted_routes,
    zone_polygons,
)
from .map_groups import GROUPED_ROUTES, RouteGroupsControl, group_label, neighbour_colours
from .map_parts import (
    CSS,
    HATCH_JS,
    STREET_COLOR,
    ZONE_COLOR,
    arrow_positions,
    control_js,
    facility_icon_html,
    facility_popup,
    kpi_html,
    legend_html,
    popup_table,
    site_options_html,
)
from .map_route import Script as _Script
from .map_route import add_route as _add_route
from .map_route import ll as _ll
from .offline import add_osm_tiles, make_offline

__all__ = ["LARGE_PLAN_STOPS", "arrow_positions", "build_map", "count_stops"]

LARGE_PLAN_STOPS = 500


def count_stops(plan: Plan) -> int:
    """Number of collection stops (``kind == "stop"``) over all routes."""
    return sum(
        1 for r in plan.get("routes") or [] for s in r.get("stops") or [] if s.get("kind") == "stop"
    )


def _tolerances(plan: Plan, n_stops: int) -> tuple[float, float]:
    """Simplification tolerance in degrees for (streets, routes), by plan size."""
    streets = (plan.get("network") or {}).get("streets") or []
    vertices = sum(len(s) for s in streets)
    street_tol = 0.0
    if vertices > 20_000:
        # ~3 m at 20k vertices, growing with the square root of the size, max ~25 m.
        street_tol = min(2.5e-4, 3e-5 * math.sqrt(vertices / 20_000))
    route_tol = 2e-5 if n_stops > LARGE_PLAN_STOPS else 0.0
    return street_tol, route_tol


def _add_streets(m: folium.Map, plan: Plan, tolerance: float) -> None:
    streets = (plan.get("network") or {}).get("streets") or []
    lines = simplify_lines(streets, tolerance)
    if not lines:
        return
    fg = folium.FeatureGroup(name="Streets (road network)", show=True)
    folium.PolyLine(
        [_ll(ln) for ln in lines],
        color=STREET_COLOR,
        weight=1.5,
        opacity=0.9,
        interactive=False,
        class_name="street-line",
    ).add_to(fg)
    fg.add_to(m)


def _add_catchments(m: folium.Map, plan: Plan, *, show: bool = True) -> None:
    """The hull of each open site's points (and the site, unless it is out of town).

    ``show=False`` (city maps) leaves them off until ticked: a landfill taking one
    stream from the whole city would cover the map."""
    pts = points_by_id(plan)
    fg = folium.FeatureGroup(name="Catchment areas", show=show)
    drawn = 0
    for fac in plan.get("facilities") or []:
        if not fac.get("open") or not fac.get("catchment"):
            continue
        colour = FACILITY_TYPE_COLOR.get(str(fac.get("type")), "#374151")
        coords = [
            (float(pts[p]["lon"]), float(pts[p]["lat"])) for p in fac["catchment"] if p in pts
        ]
        if not fac.get("access"):  # an out-of-town site would stretch the hull across the land
            coords.append((float(fac["lon"]), float(fac["lat"])))
        hull = shapely.MultiPoint(coords).convex_hull
        tip = f"Catchment of {fac.get('name') or fac['id']}: {len(fac['catchment'])} points"
        if isinstance(hull, shapely.Polygon):
            ring = list(hull.buffer(0.0015, quad_segs=4).exterior.coords)
            folium.Polygon(
                _ll(ring),
                color=colour,
                weight=1.5,
                dash_array="5 5",
                fill=True,
                fill_color=colour,
                fill_opacity=0.08,
                tooltip=esc(tip),
                class_name="catchment",
            ).add_to(fg)
        else:
            for lon, lat in coords[: len(coords) - (0 if fac.get("access") else 1)]:
                folium.PolyLine(
                    [[lat, lon], [float(fac["lat"]), float(fac["lon"])]],
                    color=colour,
                    weight=1,
                    dash_array="4 4",
                    tooltip=esc(tip),
                    class_name="catchment",
                ).add_to(fg)
        drawn += 1
    if drawn:
        fg.add_to(m)


def _polygon_rings(
    geometry: PolygonGeometry | MultiPolygonGeometry | None,
) -> list[list[list[list[float]]]]:
    """Polygons of a GeoJSON Polygon/MultiPolygon as lists of lat/lon rings."""
    return [[_ll(ring) for ring in poly] for poly in zone_polygons(geometry)]


def _add_zones(m: folium.Map, plan: Plan) -> None:
    zones = plan.get("zones") or []
    if not zones:
        return
    fg = folium.FeatureGroup(name="Sanitary protection zones", show=True)
    for zone in zones:
        tip = f"{zone.get('id')}: {zone.get('reason') or zone.get('kind')}"
        for rings in _polygon_rings(zone.get("geometry")):
            folium.Polygon(
                rings,
                color=ZONE_COLOR,
                weight=2,
                dash_array="6 4",
                fill=True,
                fill_color=ZONE_COLOR,
                fill_opacity=0.2,
                tooltip=esc(tip),
                popup=folium.Popup(
                    popup_table(
                        f"Protection zone {esc(zone.get('id'))}",
                        [("Kind", esc(zone.get("kind"))), ("Reason", esc(zone.get("reason")))],
                    ),
                    max_width=320,
                ),
                class_name="spz-zone",
            ).add_to(fg)
    fg.add_to(m)
    m.add_child(_Script(HATCH_JS))


def _add_unserved(m: folium.Map, plan: Plan) -> None:
    """Collection points left out of every route: red rings with the reason."""
    unserved = plan.get("unserved") or []
    if not unserved:
        return
    pts = points_by_key(plan)
    fg = folium.FeatureGroup(name=f"Unserved points ({len(unserved)})", show=True)
    for item in unserved:
        point = find_point(pts, item.get("point_id"), item.get("stream"))
        if not point:
            continue
        tip = f"Unserved {item.get('point_id')}: {item.get('reason') or ''}"
        folium.CircleMarker(
            [float(point["lat"]), float(point["lon"])],
            radius=7,
            color="#dc2626",
            weight=3,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.9,
            tooltip=esc(tip),
            popup=folium.Popup(
                popup_table(
                    f"Unserved point {esc(item.get('point_id'))}",
                    [
                        ("Reason", esc(item.get("reason"))),
                        ("Stream", esc(item.get("stream") or point.get("stream"))),
                        ("Tonnes/day", fmt_num(point.get("tonnes_per_day"), 2)),
                    ],
                ),
                max_width=320,
            ),
            class_name="unserved",
        ).add_to(fg)
    fg.add_to(m)


def _add_residue(m: folium.Map, plan: Plan) -> None:
    """Residue hauls between sites (two-tier plans): dashed lines labelled in t/day."""
    flows = plan.get("residue_flows") or []
    sites = {f["id"]: f for f in plan.get("facilities") or []}
    if not flows:
        return
    fg = folium.FeatureGroup(name=f"Residue hauls to landfill ({len(flows)})", show=True)
    for flow in flows:
        a, b = sites.get(flow.get("from")), sites.get(flow.get("to"))
        if not a or not b:
            continue
        tip = (
            f"Residue {a.get('name') or a['id']} → {b.get('name') or b['id']}: "
            f"{fmt_num(flow.get('t_per_day'), 1)} t/day, {fmt_num(flow.get('road_km'), 1)} km by road"
        )
        folium.PolyLine(
            [[float(a["lat"]), float(a["lon"])], [float(b["lat"]), float(b["lon"])]],
            color="#57534e",
            weight=3,
            opacity=0.85,
            dash_array="10 6",
            tooltip=esc(tip),
            class_name="residue",
        ).add_to(fg)
    fg.add_to(m)


def _add_sites(m: folium.Map, plan: Plan) -> None:
    fg = folium.FeatureGroup(name="Depots and facilities", show=True)
    for dep in plan.get("depots") or []:
        folium.Marker(
            [float(dep["lat"]), float(dep["lon"])],
            icon=folium.DivIcon(
                html="<div>D</div>",
                icon_size=(28, 28),
                icon_anchor=(14, 14),
                class_name="depot-icon",
            ),
            tooltip=esc(f"Depot {dep.get('name') or dep['id']}"),
            popup=folium.Popup(
                popup_table(
                    f"Depot {esc(dep.get('name') or '')} ({esc(dep['id'])})",
                    [("Position", f"{float(dep['lat']):.5f}, {float(dep['lon']):.5f}")],
                ),
                max_width=300,
            ),
            z_index_offset=900,
        ).add_to(fg)
    for fac in plan.get("facilities") or []:
        access = fac.get("access")
        if access:  # a site beyond the street file: routes end where its road leaves it
            folium.PolyLine(
                [
                    [float(access["lat"]), float(access["lon"])],
                    [float(fac["lat"]), float(fac["lon"])],
                ],
                color="#44403c",
                weight=3,
                opacity=0.8,
                dash_array="2 7",
                tooltip=esc(
                    f"Road to {fac.get('name') or fac['id']} beyond the street file: "
                    f"{fmt_num(access.get('km'), 1)} km"
                ),
                class_name="access-road",
            ).add_to(fg)
        util = fac.get("utilisation")
        tip = f"{fac.get('name') or fac['id']} · {fac.get('type')} · {fac.get('state')}"
        if util is not None and fac.get("open"):
            tip += f" · {float(util) * 100:.0f}% used"
        if fac.get("excluded_reason"):
            tip += f" · excluded: {fac['excluded_reason']}"
        options = site_options_html(fac, plan.get("site_options") or [])
        folium.Marker(
            [float(fac["lat"]), float(fac["lon"])],
            icon=folium.DivIcon(
                html=facility_icon_html(fac),
                icon_size=(30, 30),
                icon_anchor=(15, 15),
                class_name="fac-icon",
            ),
            tooltip=esc(tip),
            popup=folium.Popup(facility_popup(fac) + options, max_width=460 if options else 340),
            z_index_offset=1000,
        ).add_to(fg)
    fg.add_to(m)


def build_map(
    plan: Plan,
    *,
    online: bool = False,
    large_threshold: int = LARGE_PLAN_STOPS,
) -> folium.Map:
    """Build the folium map of a plan dict (plan.json schema v1).

    ``online=True`` adds OpenStreetMap tiles as an optional layer (hidden at
    start); everything else is embedded and drawn from the plan itself.
    Plans with more than ``large_threshold`` stops use the light mode.
    """
    n_stops = count_stops(plan)
    large = n_stops > large_threshold
    bounds = data_bounds(plan)
    centre = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2] if bounds else [0.0, 0.0]
    m = folium.Map(
        location=centre,
        zoom_start=13,
        tiles=None,
        control_scale=True,
        prefer_canvas=large,
        max_zoom=19,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    make_offline(m)
    fig = m.get_root()
    scen = plan.get("scenario") or {}
    if isinstance(fig, Figure):
        # branca writes the title into <title> as it is: escape it here
        fig.title = esc(f"Plan map — {scen.get('title') or scen.get('name') or ''}")
        fig.header.add_child(Element(CSS), name="plan_css")

    if online:
        add_osm_tiles(m, show=False)
    street_tol, route_tol = _tolerances(plan, n_stops)
    _add_streets(m, plan, street_tol)
    routes = sorted_routes(plan)
    # A city plan lists its routes by day and depot, coloured apart from their neighbours.
    grouped = len(routes) > GROUPED_ROUTES
    _add_catchments(m, plan, show=not grouped)
    _add_zones(m, plan)
    # Multi-day plans open on their first day; the other days are in the layer list.
    first_day = min((r.get("day") or 1 for r in routes), default=1)
    slots_by_day: dict[object, dict[tuple[float, float], int]] = {}
    colours = neighbour_colours(routes) if grouped else [route_color(i) for i in range(len(routes))]
    panel = (
        RouteGroupsControl("Routes by depot and truck type — tick to show, ▸ to list")
        if grouped
        else None
    )
    depot_names = {str(d["id"]): str(d.get("name") or d["id"]) for d in plan.get("depots") or []}
    n_days = len({r.get("day") or 1 for r in routes})
    for i, route in enumerate(routes):
        # With a few routes, earlier (lower) lines are drawn wider so routes that
        # share a street stay visible as a coloured edge around the later ones.
        weight = 3.0 if large else 4.0 + (3.5 * (len(routes) - 1 - i) if len(routes) <= 6 else 0)
        day = route.get("day") or 1
        layer = _add_route(
            m, plan, route, colours[i], large, route_tol, weight,
            slots_by_day.setdefault(day, {}), show=day == first_day, control=not grouped,
        )  # fmt: skip
        if panel is not None:
            panel.add(group_label(route, depot_names, n_days), route, colours[i], layer)
    _add_unserved(m, plan)
    _add_residue(m, plan)
    _add_sites(m, plan)

    collapsed = len(routes) > 10 and not grouped
    folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)
    if panel is not None:
        m.add_child(panel)
    m.add_child(_Script(control_js("topleft", kpi_html(plan), "plan-box kpi-box")))
    m.add_child(
        _Script(
            control_js("bottomleft", legend_html(plan, routes, grouped=grouped), "plan-box legend")
        )
    )
    if bounds:
        pad = 0.002
        # Keep the data clear of the KPI box and legend (left) and of an
        # expanded layer list (right).
        m.fit_bounds(
            [[bounds[1] - pad, bounds[0] - pad], [bounds[3] + pad, bounds[2] + pad]],
            padding_top_left=(270, 10),
            padding_bottom_right=(20 if collapsed else 340, 10),
        )
    return m
