"""Outputs of a plan: map, report, route sheets, CSV, GeoJSON, comparison.

Everything is drawn from the plan dictionary (``plan.json`` schema v1) alone,
so any saved plan can be redrawn.  This is the only package that imports
folium.  The HTML files are self-contained and work offline.

Outputs:

* ``routes.csv`` / ``sites.csv`` are UTF-8 *with a byte-order mark* so Excel
  opens Cyrillic and Kazakh text correctly; text cells starting with
  ``= + - @`` (or a tab/carriage return) are prefixed with ``'`` so a
  spreadsheet shows them instead of running them as formulas.  Numbers,
  negative ones included, are written as numbers.  Read them back with
  ``encoding="utf-8-sig"``.
* Every stop prints its own ``stream`` (plan.json route stops), never the
  stream of another record sharing the point id.
* ``sheets/<vehicle>.html`` file names are made safe from the vehicle id (no
  path separators, ``..`` or control characters; letters of any script kept;
  at most 60 characters); ids that clean to the same name get a short hash.
* Names from the scenario are HTML-escaped in every page.
* Figures are labelled per day (routes; totals over the plan days for
  multi-day plans) or per year (sites, money, CO₂e); sources behind the
  factors are listed in ``docs/sources.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from optimizer.plan_types import Plan, load_plan

from .compare import relative_href, render_comparison
from .geojson import routes_geojson, sites_geojson, write_geojson
from .html_report import render_report
from .map import build_map
from .tables import write_calendar_csv, write_route_sheets, write_routes_csv, write_sites_csv

__all__ = [
    "build_map",
    "render_comparison",
    "render_report",
    "write_comparison",
    "write_map",
    "write_outputs",
]


def _json_default(value: Any) -> Any:
    """JSON for values other stages may leave in a plan (numpy scalars/arrays, paths)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"plan value of type {type(value).__name__} is not JSON serialisable")


def write_map(plan: Plan, path: Path, *, online: bool = False) -> Path:
    """Render the plan map to ``path`` (self-contained unless ``online``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    build_map(plan, online=online).save(str(path))
    return path


def write_outputs(plan: Plan, out_dir: Path, *, online: bool = False) -> list[Path]:
    """Write the plan folder and return the paths written.

    Files: ``plan.json``, ``routes.csv``, ``sites.csv``, ``calendar.csv`` (routed plans:
    the days each point is collected on), ``routes.geojson``,
    ``sites.geojson``, ``map.html``, ``report.html`` and ``sheets/<vehicle>.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    plan_path = out_dir / "plan.json"
    with plan_path.open("w", encoding="utf-8") as fh:
        json.dump(plan, fh, ensure_ascii=False, indent=1, default=_json_default)
    written.append(plan_path)
    written.append(write_routes_csv(plan, out_dir / "routes.csv"))
    written.append(write_sites_csv(plan, out_dir / "sites.csv"))
    routed = bool((plan.get("kpis") or {}).get("plan_days"))
    if routed:
        written.append(write_calendar_csv(plan, out_dir / "calendar.csv"))
    written.append(write_geojson(routes_geojson(plan), out_dir / "routes.geojson"))
    written.append(write_geojson(sites_geojson(plan), out_dir / "sites.geojson"))
    written.append(write_map(plan, out_dir / "map.html", online=online))
    sheet_paths = write_route_sheets(plan, out_dir / "sheets")
    sheets = {vid: f"sheets/{quote(p.name)}" for vid, p in sheet_paths.items()}
    links = [
        ("Interactive map", "map.html"),
        ("routes.csv", "routes.csv"),
        ("sites.csv", "sites.csv"),
        *([("calendar.csv", "calendar.csv")] if routed else []),
        ("routes.geojson", "routes.geojson"),
        ("sites.geojson", "sites.geojson"),
        ("plan.json", "plan.json"),
    ]
    report_path = out_dir / "report.html"
    report_path.write_text(render_report(plan, sheets=sheets, links=links), encoding="utf-8")
    written.append(report_path)
    written.extend(sheet_paths.values())
    return written


def write_comparison(plan_dirs: Sequence[Path], out: Path) -> Path:
    """Compare plan folders side by side; write and return ``compare.html``.

    ``out`` is the HTML file to write (a directory gets ``compare.html``).
    """
    out = Path(out)
    if out.is_dir():
        out = out / "compare.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    dirs = [Path(d) for d in plan_dirs]
    plans = [load_plan(d) for d in dirs]
    names = [d.name if d.is_dir() else d.parent.name for d in dirs]
    links = []
    for d in dirs:
        folder = d if d.is_dir() else d.parent
        items = []
        for label, fname in (("report", "report.html"), ("map", "map.html")):
            if (folder / fname).exists():
                items.append((label, relative_href(folder / fname, out.parent)))
        links.append(items)
    out.write_text(render_comparison(plans, names=names, links=links), encoding="utf-8")
    return out
