"""Make folium maps self-contained: Leaflet and its images embedded, no CDN.

Leaflet 1.9.4 comes from the installed ``django-js-lib-leaflet`` wheel (plain
files, no Django needed at runtime).  The JavaScript and the stylesheet are
inlined into the page header; every image the stylesheet refers to becomes a
``data:`` URI, and ``L.Icon.Default`` is pointed at data URIs too, so opening
the HTML file makes no network request.
"""

from __future__ import annotations

import base64
import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import folium
from branca.element import Element, Figure

__all__ = [
    "LEAFLET_VERSION",
    "OSM_ATTRIBUTION",
    "add_osm_tiles",
    "leaflet_css",
    "leaflet_js",
    "make_offline",
    "png_data_uri",
]

LEAFLET_VERSION = "1.9.4"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
_PKG = "js_lib_leaflet"
_DIR = ("static", "js_lib_leaflet")


def _asset(*parts: str) -> bytes:
    """Read one file shipped by the Leaflet wheel."""
    node = resources.files(_PKG).joinpath(*_DIR, *parts)
    return node.read_bytes()


@cache
def png_data_uri(name: str) -> str:
    """``data:image/png;base64,...`` for one image of the Leaflet wheel."""
    raw = _asset("images", name)
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified JavaScript, without its source-map comment."""
    text = _asset("leaflet.js").decode("utf-8")
    text = re.sub(r"//# sourceMappingURL=\S+", "", text)
    # Never let the inlined code close the surrounding <script> element.
    return text.replace("</script", "<\\/script")


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's stylesheet with ``url(images/x.png)`` replaced by data URIs."""
    text = _asset("leaflet.css").decode("utf-8")

    def repl(match: re.Match[str]) -> str:
        return f'url("{png_data_uri(match.group(1))}")'

    return re.sub(r"url\(\s*['\"]?images/([\w.-]+\.png)['\"]?\s*\)", repl, text)


# folium's Popup template and Map.objects_in_front call jQuery's ``$``; jQuery is a
# CDN asset we drop, so this shim covers exactly the two uses: ``$(html)[0]``
# (parse an HTML snippet) and ``$(document).ready(fn)``.
_JQUERY_SHIM = (
    "if(typeof window.$!=='function'){window.$=function(a){"
    "if(typeof a==='string'){var t=document.createElement('template');"
    "t.innerHTML=a.trim();return [t.content.firstElementChild];}"
    "return {ready:function(f){if(document.readyState!=='loading'){f();}"
    "else{document.addEventListener('DOMContentLoaded',f);}}};};}"
)


def _header_html() -> str:
    """The inline ``<style>`` and ``<script>`` blocks placed in the page head."""
    icon_js = (
        "L.Icon.Default.imagePath='';"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl:'{png_data_uri('marker-icon.png')}',"
        f"iconRetinaUrl:'{png_data_uri('marker-icon-2x.png')}',"
        f"shadowUrl:'{png_data_uri('marker-shadow.png')}'"
        "});"
    )
    return (
        f"<style>/* Leaflet {LEAFLET_VERSION} (embedded) */\n{leaflet_css()}</style>\n"
        f"<script>/* Leaflet {LEAFLET_VERSION} (embedded) */\n{leaflet_js()}\n"
        f"{icon_js}</script>\n"
        f"<script>{_JQUERY_SHIM}</script>\n"
    )


def make_offline(m: folium.Map) -> folium.Map:
    """Strip folium's CDN links from ``m`` and embed Leaflet in its page.

    Must be called before the map is rendered.  Returns ``m`` for chaining.
    """
    m.default_js = []
    m.default_css = []
    figure = m.get_root()
    if isinstance(figure, Figure):
        figure.header.add_child(Element(_header_html()), name="leaflet_embedded", index=0)
    return m


def add_osm_tiles(m: folium.Map, *, show: bool = False) -> Any:
    """Add OpenStreetMap tiles as an optional overlay (the only online asset)."""
    layer = folium.TileLayer(
        tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attr=OSM_ATTRIBUTION,
        name="OpenStreetMap tiles (online)",
        overlay=True,
        control=True,
        show=show,
        max_zoom=19,
    )
    layer.add_to(m)
    return layer
