"""City-scale route maps: colours that tell neighbouring routes apart, and a route list
grouped by day and depot instead of one layer-list line per truck.

A city plan has a hundred routes or more; the plain layer list becomes a wall of
lines and a palette cycled in route order paints adjacent districts alike.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

from optimizer.plan_types import Route

from .common import ROUTE_PALETTE, esc, fmt_num, route_label

__all__ = ["GROUPED_ROUTES", "RouteGroupsControl", "group_label", "neighbour_colours"]

#: Above this many routes the map lists routes by day and depot (and colours by place).
GROUPED_ROUTES = 12
#: How many nearest routes must not share a route's colour.
NEIGHBOURS = 8


def _js_text(text: str) -> str:
    """A JS string literal that cannot end the surrounding ``<script>`` element."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e")


def _centre(route: Route) -> tuple[float, float]:
    """Mean position of a route's collection stops (all its stops when it has none)."""
    stops = route.get("stops") or []
    chosen = [s for s in stops if s.get("kind") == "stop"] or list(stops)
    if not chosen:
        return (0.0, 0.0)
    lon = sum(float(s["lon"]) for s in chosen) / len(chosen)
    lat = sum(float(s["lat"]) for s in chosen) / len(chosen)
    return lon, lat


def neighbour_colours(routes: Sequence[Route], palette: Sequence[str] = ROUTE_PALETTE) -> list[str]:
    """A colour per route such that no route shares one with its nearest neighbours.

    Routes are coloured greedily in order; each takes the least-used palette colour
    that none of its ``NEIGHBOURS`` nearest already-coloured routes of the same day
    has (distances between the routes' stop centres). With a 16-colour palette and 8
    neighbours a free colour always exists.
    """
    centres = [_centre(r) for r in routes]
    lat0 = sum(c[1] for c in centres) / len(centres) if centres else 0.0
    kx = math.cos(math.radians(lat0))
    used = dict.fromkeys(palette, 0)
    colours: list[str] = []
    for i, route in enumerate(routes):
        x, y = centres[i][0] * kx, centres[i][1]
        earlier = [
            ((centres[j][0] * kx - x) ** 2 + (centres[j][1] - y) ** 2, colours[j])
            for j in range(i)
            if routes[j].get("day") == route.get("day")
        ]
        near = {c for _, c in sorted(earlier)[:NEIGHBOURS]}
        free = [c for c in palette if c not in near] or list(palette)
        choice = min(free, key=lambda c: (used[c], palette.index(c)))
        used[choice] += 1
        colours.append(choice)
    return colours


def group_label(route: Route, depot_names: Mapping[str, str], days: int) -> str:
    """The route list's group of a route: its depot and truck type, and its day in
    multi-day plans."""
    depot = str(route.get("depot_id") or "")
    name = depot_names.get(depot, depot) or "no depot"
    kind = str(route.get("vehicle_type") or "")
    label = f"{name} · {kind}" if kind else name
    return f"Day {route.get('day') or 1} · {label}" if days > 1 else label


class RouteGroupsControl(MacroElement):
    """A panel listing routes by group, each group and route with its own checkbox.

    Unticking a group hides its routes with their stops, unloads and arrows (each
    route is one layer); a group opens to tick single routes.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function(map, groups){"
        "var ctl = L.control({position: 'topright'});"
        "ctl.onAdd = function () {"
        " var div = L.DomUtil.create('div', 'plan-box route-groups');"
        " L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);"
        " var title = L.DomUtil.create('div', 'rg-title', div);"
        " title.innerHTML = {{ this.title }};"
        " groups.forEach(function (g) {"
        "  var box = L.DomUtil.create('div', 'rg-group', div);"
        "  var head = L.DomUtil.create('label', 'rg-head', box);"
        "  var all = L.DomUtil.create('input', '', head); all.type = 'checkbox';"
        "  var more = L.DomUtil.create('span', 'rg-more', head); more.textContent = '\u25b8';"
        "  head.appendChild(document.createTextNode(' ' + g.name));"
        "  var list = L.DomUtil.create('div', 'rg-list', box); list.style.display = 'none';"
        "  var boxes = g.routes.map(function (r) {"
        "   var row = L.DomUtil.create('label', 'rg-route', list);"
        "   var cb = L.DomUtil.create('input', '', row); cb.type = 'checkbox';"
        "   cb.checked = map.hasLayer(r.layer);"
        "   var sw = L.DomUtil.create('span', 'rg-swatch', row); sw.style.background = r.colour;"
        "   row.appendChild(document.createTextNode(r.label));"
        "   cb.addEventListener('change', function () {"
        "    if (cb.checked) { map.addLayer(r.layer); } else { map.removeLayer(r.layer); }"
        "    sync(); });"
        "   return cb; });"
        "  function sync() {"
        "   var on = boxes.filter(function (b) { return b.checked; }).length;"
        "   all.checked = on === boxes.length; all.indeterminate = on > 0 && on < boxes.length; }"
        "  all.addEventListener('change', function () {"
        "   g.routes.forEach(function (r, i) { boxes[i].checked = all.checked;"
        "    if (all.checked) { map.addLayer(r.layer); } else { map.removeLayer(r.layer); } });"
        "   sync(); });"
        "  more.addEventListener('click', function (e) { e.preventDefault();"
        "   var open = list.style.display === 'none';"
        "   list.style.display = open ? 'block' : 'none';"
        "   more.textContent = open ? '\u25be' : '\u25b8'; });"
        "  sync(); });"
        " return div; };"
        "ctl.addTo(map);"
        "})({{ this._parent.get_name() }}, [{{ this.groups_js }}]);"
        "{% endmacro %}"
    )

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "RouteGroups"
        self.title = json.dumps(esc(title))
        self._groups: dict[str, list[tuple[str, str, folium.FeatureGroup, float]]] = {}

    def add(self, group: str, route: Route, colour: str, layer: folium.FeatureGroup) -> None:
        """List ``route`` (drawn on ``layer``) under ``group``."""
        label = (
            f" {route_label(route)} · {fmt_num(route.get('distance_km'), 1)} km · "
            f"{fmt_num(route.get('tonnes'), 1)} t"
        )
        km = float(route.get("distance_km") or 0.0)
        self._groups.setdefault(group, []).append((label, colour, layer, km))

    @property
    def groups_js(self) -> str:
        """The groups as a JS array literal whose layers are the route layers' variables."""
        parts = []
        for name, routes in self._groups.items():
            km = sum(r[3] for r in routes)
            heading = f"{name} ({len(routes)} routes, {km:,.0f} km)"
            # shown with textContent: plain text, no HTML escaping
            rows = ",".join(
                f"{{label:{_js_text(label)},colour:{_js_text(colour)},layer:{layer.get_name()}}}"
                for label, colour, layer, _ in routes
            )
            parts.append(f"{{name:{_js_text(heading)},routes:[{rows}]}}")
        return ",".join(parts)
