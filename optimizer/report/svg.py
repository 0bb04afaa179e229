"""Inline SVG drawings for the report and the comparison: bar charts, mini maps.

Everything is drawn here as plain SVG markup, so the HTML needs no chart
library and no network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from optimizer.plan_types import Plan

from .common import (
    FACILITY_TYPE_COLOR,
    data_bounds,
    esc,
    fmt_num,
    route_color,
    route_geometry,
    simplify_lines,
    sorted_routes,
    zone_polygons,
)

__all__ = ["Bar", "hbar_chart", "mini_map_svg"]

_FONT = "font-family=\"system-ui,'DejaVu Sans',Arial,sans-serif\""


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value, its colour and the text written after it."""

    label: str
    value: float
    color: str = "#2563eb"
    text: str = ""
    marker: float | None = None  # optional tick (e.g. peak load) on the bar


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    label_width: int = 170,
    max_value: float | None = None,
    ref_value: float | None = None,
    ref_label: str = "",
    css_class: str = "chart",
) -> str:
    """A horizontal bar chart as an ``<svg>`` string (one row per bar)."""
    row_h = 22
    top = 28
    bottom = 26
    # room for the longest value text after a full-length bar (~6.6 px a char)
    text_w = max(90, int(6.6 * max((len(b.text) for b in bars), default=8)) + 12)
    # and room for the longest label before the axis (``label_width`` is the least)
    label_width = max(
        label_width, min(360, int(6.6 * max((len(b.label) for b in bars), default=0)) + 12)
    )
    plot_w = max(120, width - label_width - text_w)
    height = top + bottom + row_h * max(1, len(bars))
    vmax = _nice_max(max_value or max((b.value for b in bars), default=0.0))
    if ref_value is not None and ref_value > vmax:
        vmax = _nice_max(ref_value)
    scale = plot_w / vmax if vmax > 0 else 0.0
    x0 = label_width
    out = [
        f'<svg class="{esc(css_class)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(title)}" {_FONT} font-size="12">',
        f"<title>{esc(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="600">{esc(title)}</text>',
    ]
    # grid and axis ticks
    for k in range(5):
        v = vmax * k / 4
        x = x0 + v * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
            f'y2="{height - bottom + 2}" stroke="#e5e7eb"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#6b7280">'
            f"{fmt_num(v, 0 if vmax >= 10 else 1)}</text>"
        )
    if unit:
        out.append(
            f'<text x="{x0 - 14}" y="{height - 8}" text-anchor="end" '
            f'fill="#6b7280">{esc(unit)}</text>'
        )
    for i, b in enumerate(bars):
        y = top + i * row_h
        w = max(0.0, b.value) * scale
        out.append(
            f'<g class="bar"><text x="{x0 - 6}" y="{y + 15}" text-anchor="end">'
            f"{esc(b.label)}</text>"
            f'<rect x="{x0}" y="{y + 3}" width="{w:.1f}" height="{row_h - 7}" '
            f'rx="2" fill="{esc(b.color)}"><title>{esc(b.label)}: '
            f"{esc(b.text or fmt_num(b.value, 2))}</title></rect>"
        )
        if b.marker is not None:
            mx = x0 + max(0.0, b.marker) * scale
            out.append(
                f'<line x1="{mx:.1f}" y1="{y + 1}" x2="{mx:.1f}" y2="{y + row_h - 2}" '
                'stroke="#111827" stroke-width="2"/>'
            )
        out.append(
            f'<text x="{x0 + w + 5:.1f}" y="{y + 15}" fill="#111827">'
            f"{esc(b.text or fmt_num(b.value, 1))}</text></g>"
        )
    if ref_value is not None:
        rx = x0 + ref_value * scale
        out.append(
            f'<line x1="{rx:.1f}" y1="{top - 6}" x2="{rx:.1f}" y2="{height - bottom + 2}" '
            'stroke="#dc2626" stroke-dasharray="4 3" stroke-width="1.5"/>'
            f'<text x="{rx:.1f}" y="{top - 8}" text-anchor="middle" fill="#dc2626">'
            f"{esc(ref_label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


class _Projector:
    """Lon/lat to SVG pixels (equirectangular, scaled by cos(latitude))."""

    def __init__(self, bounds: tuple[float, float, float, float], w: int, h: int) -> None:
        min_lon, min_lat, max_lon, max_lat = bounds
        self.k = math.cos(math.radians((min_lat + max_lat) / 2))
        span_x = max((max_lon - min_lon) * self.k, 1e-9)
        span_y = max(max_lat - min_lat, 1e-9)
        pad = 8
        self.s = min((w - 2 * pad) / span_x, (h - 2 * pad) / span_y)
        self.x0 = pad + ((w - 2 * pad) - span_x * self.s) / 2
        self.y0 = pad + ((h - 2 * pad) - span_y * self.s) / 2
        self.min_lon, self.max_lat = min_lon, max_lat

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Pixel position of one lon/lat."""
        x = self.x0 + (float(lon) - self.min_lon) * self.k * self.s
        y = self.y0 + (self.max_lat - float(lat)) * self.s
        return x, y

    def path(self, coords: Sequence[Sequence[float]]) -> str:
        """SVG path data (``M x,y L ...``) of a lon/lat polyline."""
        pts = [self.xy(c[0], c[1]) for c in coords]
        return "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts)


def mini_map_svg(plan: Plan, width: int = 320, height: int = 240) -> str:
    """A small static map: streets, routes, zones, depots and facilities."""
    bounds = data_bounds(plan)
    if bounds is None:
        return (
            f'<svg class="minimap" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}"><text x="10" y="20">no located data</text></svg>'
        )
    proj = _Projector(bounds, width, height)
    tol = 1.0 / proj.s  # one pixel in degrees of latitude
    out = [
        f'<svg class="minimap" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="map of the plan">'
        f'<rect width="{width}" height="{height}" fill="#f5f5f0"/>'
    ]
    streets = (plan.get("network") or {}).get("streets") or []
    paths = [proj.path(ln) for ln in simplify_lines(streets, tol)]
    if paths:
        out.append(f'<path d="{" ".join(paths)}" fill="none" stroke="#c4c4c4" stroke-width="0.7"/>')
    for zone in plan.get("zones") or []:
        for poly in zone_polygons(zone.get("geometry")):
            d = " ".join(proj.path(ring) + "Z" for ring in poly if ring)
            out.append(
                f'<path d="{d}" fill="#dc2626" fill-opacity="0.18" stroke="#dc2626" '
                'stroke-width="1" stroke-dasharray="3 2"/>'
            )
    for i, route in enumerate(sorted_routes(plan)):
        lines = simplify_lines([route_geometry(route)], tol)
        if lines:
            out.append(
                f'<path class="mm-route" d="{proj.path(lines[0])}" fill="none" '
                f'stroke="{route_color(i)}" stroke-width="1.6" stroke-opacity="0.9"/>'
            )
    for dep in plan.get("depots") or []:
        x, y = proj.xy(dep["lon"], dep["lat"])
        out.append(f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#111827"/>')
    for fac in plan.get("facilities") or []:
        x, y = proj.xy(fac["lon"], fac["lat"])
        colour = FACILITY_TYPE_COLOR.get(str(fac.get("type")), "#374151")
        state = fac.get("state")
        if state in ("excluded", "closed"):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#e5e7eb" '
                'stroke="#9ca3af" stroke-width="1.5"/>'
            )
        elif state in ("proposed", "candidate") or not fac.get("open"):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{colour}" '
                'stroke-width="2" stroke-dasharray="2 1.5"/>'
            )
        else:
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" stroke="#fff" '
                'stroke-width="1.5"/>'
            )
    out.append("</svg>")
    return "".join(out)
