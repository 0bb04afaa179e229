"""One route's layer of the plan map: line, direction arrows, numbered stops, unloads
and breaks (split from :mod:`optimizer.report.map`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from optimizer.plan_types import Plan, Route

from .common import (
    esc,
    find_point,
    fmt_hhmm,
    fmt_num,
    points_by_key,
    route_geometry,
    route_label,
    simplify_lines,
    stop_stream,
    streams_by_id,
)
from .map_parts import ARROW_JS, STOPS_JS, arrow_positions, popup_table, stop_popup

__all__ = ["MAX_UNLOAD_MARKERS", "Script", "add_route", "ll"]


class Script(MacroElement):
    """A script run with ``fg`` bound to the parent layer (or the map)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function(fg){ {{ this.code }} })({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "PlanScript"
        self.code = code


def ll(coords: Sequence[Sequence[float]], digits: int = 5) -> list[list[float]]:
    """``[[lon, lat], ...]`` to Leaflet's ``[[lat, lon], ...]``, rounded."""
    return [[round(float(c[1]), digits), round(float(c[0]), digits)] for c in coords]


#: Unload markers drawn beside one facility before the rest are left to the sheets.
MAX_UNLOAD_MARKERS = 6


def add_route(
    m: folium.Map,
    plan: Plan,
    route: Route,
    colour: str,
    large: bool,
    tolerance: float,
    weight: float,
    stop_slots: dict[tuple[float, float], int],
    show: bool = True,
    control: bool = True,
) -> folium.FeatureGroup:
    """One route layer: line, arrows, numbered stops, unloads and breaks.

    ``stop_slots`` counts markers already placed at a position, so stops of
    several routes at the same place (one truck per stream) sit side by side.
    ``show=False`` leaves the layer off until it is ticked in the layer list;
    ``control=False`` keeps it out of that list (city maps list routes by group).
    """
    pts = points_by_key(plan)
    streams = streams_by_id(plan)
    name = (
        f'<span style="color:{colour};font-weight:bold">━━</span> '
        f"{esc(route_label(route))} · {fmt_num(route.get('distance_km'), 1)} km · "
        f"{fmt_num(route.get('tonnes'), 1)} t"
    )
    fg = folium.FeatureGroup(name=name, show=show, control=control)
    geometry = route_geometry(route)
    simple = simplify_lines([geometry], tolerance)
    line = simple[0] if simple else []
    if line:
        folium.PolyLine(
            ll(line),
            color=colour,
            weight=weight,
            opacity=0.9,
            tooltip=esc(
                f"{route_label(route)} · {fmt_num(route.get('distance_km'), 1)} km · "
                f"{fmt_num(route.get('tonnes'), 1)} t · "
                f"{fmt_num(route.get('duration_min'), 0)} min"
            ),
            class_name="route-line",
        ).add_to(fg)
        arrows = arrow_positions(line, 12 if large else 40, 1.5 if large else 0.45)
        fg.add_child(Script(ARROW_JS % (json.dumps(colour), json.dumps(arrows))))

    site_names = {str(f["id"]): str(f.get("name") or f["id"]) for f in plan.get("facilities") or []}
    prev_load = 0.0
    unload_no = 0
    compact: list[list[Any]] = []
    for stop in route.get("stops") or []:
        kind = stop.get("kind")
        load = float(stop.get("load_after_t") or 0.0)
        lat, lon = float(stop["lat"]), float(stop["lon"])
        seq = stop.get("seq")
        if kind == "stop":
            collected = max(0.0, load - prev_load)
            stream_id = stop_stream(stop, pts)
            point = find_point(pts, stop.get("ref_id"), stream_id)
            known = streams.get(stream_id)
            stream_name = str(known.get("name", stream_id)) if known else stream_id
            if large:
                compact.append(
                    [
                        round(lat, 5),
                        round(lon, 5),
                        seq,
                        esc(stop.get("ref_id")),
                        stop.get("arrival_min") or 0,
                        stop.get("departure_min") or 0,
                        stop.get("service_min") or 0,
                        round(load, 3),
                        round(float(stop.get("load_after_m3") or 0.0), 2),
                        round(collected, 3),
                        esc(stream_id),
                        round(float(stop.get("distance_km_so_far") or 0.0), 2),
                    ]
                )
            else:
                key = (round(lat, 5), round(lon, 5))
                slot = stop_slots.get(key, 0)
                stop_slots[key] = slot + 1
                small = " class='n3'" if seq is not None and int(seq) >= 100 else ""
                folium.Marker(
                    [lat, lon],
                    icon=folium.DivIcon(
                        html=f'<div{small} style="background:{colour}">{esc(seq)}</div>',
                        icon_size=(20, 20),
                        icon_anchor=(10 - 18 * slot, 10),
                        class_name="stop-icon",
                    ),
                    tooltip=esc(
                        f"{seq}. {stop.get('ref_id')} · {stream_name} · "
                        f"{fmt_hhmm(stop.get('arrival_min'))} · {route_label(route)}"
                    ),
                    popup=folium.Popup(
                        stop_popup(stop, route, collected, point, stream_name, stream_id),
                        max_width=320,
                    ),
                ).add_to(fg)
        elif kind == "unload":
            unload_no += 1
            site = site_names.get(str(stop.get("ref_id")), str(stop.get("ref_id")))
            tonnes = max(0.0, prev_load - load)
            ukey = (round(lat, 5) + 1000.0, round(lon, 5))  # own slots, beside the site
            uslot = stop_slots.get(ukey, 0)
            stop_slots[ukey] = uslot + 1
            if uslot >= MAX_UNLOAD_MARKERS:
                # A busy facility would grow a column of markers across the map; the
                # route's tooltip and sheet still list every unload.
                prev_load = load
                continue
            folium.Marker(
                [lat, lon],
                icon=folium.DivIcon(
                    html=f'<div style="border-color:{colour}"><span>U</span></div>',
                    icon_size=(24, 24),
                    # beside the facility icon rather than hidden under it
                    icon_anchor=(34, 30 - 26 * uslot),
                    class_name="unload-icon",
                ),
                tooltip=esc(
                    f"{seq}. unload {unload_no}: {tonnes:.1f} t at {site} · "
                    f"{fmt_hhmm(stop.get('arrival_min'))} · {route_label(route)}"
                ),
                popup=folium.Popup(
                    popup_table(
                        f"Unload {unload_no} at {esc(site)} · stop {esc(seq)}",
                        [
                            ("Route", esc(route_label(route))),
                            ("Unloaded", f"{tonnes:.2f} t"),
                            ("Arrival", fmt_hhmm(stop.get("arrival_min"))),
                            ("Departure", fmt_hhmm(stop.get("departure_min"))),
                            (
                                "Distance so far",
                                f"{fmt_num(stop.get('distance_km_so_far'), 1)} km",
                            ),
                        ],
                    ),
                    max_width=320,
                ),
                z_index_offset=500,
            ).add_to(fg)
        elif kind == "break" and not large:  # city maps: breaks are on the sheets
            folium.Marker(
                [lat, lon],
                icon=folium.DivIcon(
                    html="<div>B</div>",
                    icon_size=(18, 18),
                    icon_anchor=(9, 9),
                    class_name="break-icon",
                ),
                tooltip=esc(
                    f"{seq}. driver break {fmt_hhmm(stop.get('arrival_min'))}–"
                    f"{fmt_hhmm(stop.get('departure_min'))} · {route_label(route)}"
                ),
            ).add_to(fg)
        prev_load = load
    if compact:
        names = {esc(k): esc(v.get("name", k)) for k, v in streams.items()}
        fg.add_child(
            Script(
                STOPS_JS
                % (
                    json.dumps(colour),
                    json.dumps(esc(route_label(route))),
                    json.dumps(names, ensure_ascii=False),
                    json.dumps(compact, ensure_ascii=False),
                )
            )
        )
    fg.add_to(m)
    return fg
