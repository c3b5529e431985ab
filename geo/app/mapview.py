"""The Folium map of an analysis, plus the HTML snippets that show article text.

No Streamlit here: the app composes a constant :func:`base_map` with a
:func:`places_feature_group` (streamlit-folium's ``feature_group_to_add``), so
panning and zooming never rebuild the map, and :func:`place_at` turns a click
reported by streamlit-folium back into the place that was clicked.

Escaping: every string that comes from an article or a gazetteer is escaped
with :func:`markupsafe.escape` before it becomes HTML. Tooltips go into
JavaScript template literals (backtick strings, as folium writes them), so
:func:`_js_template_safe` additionally turns ``${``, backticks and backslashes
into HTML entities, which render as the same text; popups go in as JSON string
literals that cannot close a ``<script>`` element (:func:`_js_string`).
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from jinja2 import Template
from markupsafe import Markup, escape

from geo.geometry import haversine_km
from geo.model import Excerpt, Feature, Place, Result, under_line

# LOW_CONFIDENCE (geo.model): places under it are drawn dashed and faint and flagged in the popup and lists;
# approximate places are drawn dashed and grey whatever their confidence, and flagged only when under the line.

# Fill colours by kind (Okabe-Ito palette: distinguishable with colour-blindness).
KIND_COLORS: dict[str, str] = {
    "city": "#D55E00",
    "admin": "#0072B2",
    "country": "#009E73",
    "region": "#CC79A7",
    "water": "#56B4E9",
    "airport": "#E69F00",
}
KIND_LABELS: dict[str, str] = {
    "city": "City / town",
    "admin": "Province / district",
    "country": "Country",
    "region": "Region",
    "water": "Sea / gulf",
    "airport": "Airport",
}
APPROXIMATE_COLOR = "#BBBBBB"  # fill of a place nothing knows, drawn near a known place (always dashed)
APPROXIMATE_LABEL = "Approximate: placed near a named place"
DEFAULT_STROKE = "#333333"  # outline when only one article is shown
SELECTED_STROKE = "#000000"
FALLBACK_COLOR = "#555555"  # used when a layer colour is not a plain CSS colour

MIN_RADIUS = 6.0  # pixels, for a place named once
MAX_RADIUS = 20.0
DEFAULT_CENTER = (20.0, 0.0)
DEFAULT_ZOOM = 2
FIT_MAX_ZOOM = 8  # a single place should not zoom in to street level
# Room for the buttons (top left), the scale and the credits (bottom) when fitting: no marker under them.
FIT_PADDING = {"paddingTopLeft": [56, 24], "paddingBottomRight": [24, 48]}
FOCUS_NEAR_KM = 1000.0  # places this close to the focus country's places belong to the region the map opens on

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
GEONAMES_ATTRIBUTION = (
    'Places: <a href="https://www.geonames.org/">GeoNames</a> '
    '(<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>), '
    'seas: <a href="https://www.naturalearthdata.com/">Natural Earth</a>, '
    'airports: <a href="https://github.com/mborsetti/airportsdata">airportsdata</a>'
)

_COLOR_RE = re.compile(r"^(#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,20})$")
_WS_RE = re.compile(r"\s+")


@dataclass
class MapLayer:
    """One article shown on the map, drawn with its own outline colour."""

    result: Result
    color: str
    label: str


# --------------------------------------------------------------------------- helpers


def kind_of(feature: Feature) -> str:
    """Legend group of a gazetteer feature (ADMIN1 and ADMIN2 share a colour)."""
    if feature in (Feature.ADMIN1, Feature.ADMIN2):
        return "admin"
    return feature.value if feature.value in KIND_COLORS else "city"


def safe_color(color: str) -> str:
    """A layer colour fit for SVG and CSS attributes; anything odd falls back to grey."""
    return color if isinstance(color, str) and _COLOR_RE.match(color) else FALLBACK_COLOR


def marker_radius(count: int) -> float:
    """Pixel radius growing with the square root of the mention count (area ~ count)."""
    return min(MAX_RADIUS, MIN_RADIUS + 3.0 * (math.sqrt(max(count, 1)) - 1.0))


def is_low_confidence(place: Place) -> bool:
    """Flagged "check this reading": its calibrated chance of being right is under the line. An approximate place
    is marked as such (dashed, grey, "approximate location") but flagged only by its chance, like any other."""
    return under_line(place.confidence)


def approximate_text(place: Place) -> str:
    """Plain text saying where an approximate place was put and why; empty for a known place."""
    if place.near is None:
        return ""
    where = f", {place.near.country_code}" if place.near.country_code else ""
    return f"Approximate location: placed near {place.near.name}{where} (no gazetteer knows this name)"


def _js_template_safe(html: str) -> str:
    """Make escaped HTML safe inside a JS template literal (folium's popups/tooltips).

    Backticks, ``$`` and backslashes are the characters that end the literal,
    interpolate (``${...}``) or start an escape; as entities they display the same.
    """
    return html.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def _js_string(value: str) -> str:
    """A JSON string literal that cannot close the surrounding <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _norm_text(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def _visible_places(layer: MapLayer, show_low_confidence: bool) -> Iterator[Place]:
    for place in layer.result.places:
        if show_low_confidence or not is_low_confidence(place):
            yield place


def tooltip_text(layer: MapLayer, place: Place, *, several: bool) -> str:
    """Plain text of a marker's tooltip: the name, plus the article when several are shown."""
    return f"{place.name} · {layer.label}" if several else place.name


# --------------------------------------------------------------------------- popup


def popup_html(layer: MapLayer, place: Place, *, several: bool, max_alternatives: int = 3) -> Markup:
    """Escaped HTML describing a place: where, how often, how sure, what else it could be."""
    cand = place.candidate
    parts: list[Markup] = [Markup("<b>{}</b>").format(cand.name)]
    if cand.country_code:
        parts[0] += Markup(" ({})").format(cand.country_code)
    if several or layer.result.title:
        parts.append(Markup("<i>{}</i>").format(layer.result.title or layer.label))
    parts.append(Markup("{:.4f}, {:.4f}").format(cand.lat, cand.lon))
    times = "time" if place.count == 1 else "times"
    parts.append(
        Markup("Mentioned {} {} · confidence {}%").format(place.count, times, round(place.confidence * 100))
    )
    if place.approximate:
        parts.append(Markup('<span class="dl-approximate-note">{}</span>').format(approximate_text(place)))
    if is_low_confidence(place):
        parts.append(Markup('<span style="color:#b00020">Low confidence: check this reading</span>'))
    alts = list(place.alternatives)[:max_alternatives]
    if alts:
        items = Markup("").join(
            Markup("<li>{}{} · {} · {}%</li>").format(
                a.candidate.name,
                Markup(", {}").format(a.candidate.country_code) if a.candidate.country_code else "",
                a.candidate.feature.value,
                round(a.confidence * 100),
            )
            for a in alts
        )
        parts.append(
            Markup('Other readings:<ul style="margin:0;padding-left:1.2em">{}</ul>').format(items)
        )
    return Markup('<div class="dateline-popup" style="min-width:12em">{}</div>').format(
        Markup("<br>").join(parts)
    )


# --------------------------------------------------------------------------- map pieces


class _Attribution(MacroElement):
    """Adds a credit line to the map's attribution control (works with or without tiles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text_js }});
        }
        {% endmacro %}
        """
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "DatelineAttribution"
        self.text_js = _js_string(html)


class _Legend(MacroElement):
    """A Leaflet control listing the kind colours; part of the constant base map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "dateline-legend");
                div.innerHTML = {{ this.html_js }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatelineLegend"
        self.html_js = _js_string(str(legend_html()))


class _FocusWithoutScrolling(MacroElement):
    """Leaflet focuses the map on mousedown (for its arrow keys); focusing an iframe scrolls the page.

    On a scrolled page (say, after picking a row in the list below the map) that scroll moved the
    marker from under the pointer between mousedown and mouseup, so the browser sent the click to
    the map instead and the reader's first click was lost. Same focus, without the scroll.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (keyboard) {
            if (!keyboard) { return; }
            keyboard.disable();
            keyboard._onMouseDown = function () {
                if (!this._focused) { this._map._container.focus({preventScroll: true}); }
            };
            keyboard.enable();
        })({{ this._parent.get_name() }}.keyboard);
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatelineFocusWithoutScrolling"


class _ClickWithoutDelay(MacroElement):
    """Sends a marker click to Python at once, not after streamlit-folium's 250 ms debounce.

    streamlit-folium reports every change of the map (clicks, pans, zooms) through one function
    debounced by 250 ms: right for a pan, which fires many events, but a click is one event, and the
    wait was most of the time from click to panel. After its own click handlers have run, this builds
    the same value it would send (the fields listed in ``returned_objects``, in its order), records it
    as sent (``previous_data``, which its debounced call compares against, so the click is not sent
    twice) and posts it to Streamlit as its component library does. Anything else still goes through
    the debounce; without streamlit-folium's state this does nothing.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            function send() {
                var data = window.__GLOBAL_DATA__;
                if (!data || !data.returned_objects) { return; }
                var all = {
                    last_clicked: data.lat_lng_clicked, last_object_clicked: data.last_object_clicked,
                    last_object_clicked_count: data.last_object_clicked_count,
                    last_object_clicked_tooltip: data.last_object_clicked_tooltip,
                    last_object_clicked_popup: data.last_object_clicked_popup, all_drawings: data.all_drawings,
                    last_active_drawing: data.last_active_drawing, last_geocoder_result: data.last_geocoder_result,
                    bounds: map.getBounds(), zoom: map.getZoom(), last_circle_radius: data.last_circle_radius,
                    last_circle_polygon: data.last_circle_polygon, center: map.getCenter(),
                    selected_layers: Object.values(data.selected_layers || {}), selected_tags: data.selected_tags
                };
                if (data.wrap_longitude) { return; }  // its value would differ (wrapped points): leave it the debounce
                var value = {};
                Object.keys(all).forEach(function (k) {
                    if (data.returned_objects.indexOf(k) >= 0) { value[k] = all[k]; }
                });
                if (JSON.stringify(value) === JSON.stringify(data.previous_data)) { return; }
                data.previous_data = value;
                window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setComponentValue",
                                           value: value, dataType: "json"}, "*");
            }
            // Any click in the map: the timeout runs after Leaflet has dispatched it to the marker's handlers
            // (streamlit-folium's among them); a click that changed none of the returned fields sends nothing.
            map.getContainer().addEventListener("click", function () { setTimeout(send, 0); }, true);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatelineClickWithoutDelay"


class FitOnce(MacroElement):
    """Fits the map to a box the first time the browser sees this scene, and never again.

    It rides in the markers' feature group, so the base map's script (which streamlit-folium
    hashes into the component's identity) stays the same for every article: the map's iframe is
    made once per browser session and never swapped, and the reader's pans and zooms survive
    every click. A new scene (other articles, other places) fits the view once more.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent._parent.get_name() }};
            if (window.datelineScene !== {{ this.scene_js }}) {
                window.datelineScene = {{ this.scene_js }};
                map.fitBounds({{ this.box_js }}, L.extend({{ this.padding_js }}, {maxZoom: {{ this.max_zoom }}}));
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, box: list[list[float]], scene: str, max_zoom: int = FIT_MAX_ZOOM) -> None:
        super().__init__()
        self._name = "DatelineFitOnce"
        self.padding_js = json.dumps(FIT_PADDING)
        self.box_js = json.dumps([[float(v) for v in corner] for corner in box], allow_nan=False)
        self.scene_js = _js_string(scene)
        self.max_zoom = int(max_zoom)


class _KeepSized(MacroElement):
    """Tells Leaflet whenever the map's box changes size, not only when the window does.

    Leaflet measures its container once and again only on a window resize; streamlit-folium sizes
    its iframe after the map is made, so the SVG renderer kept the clip box of the first, smaller
    size and outlines were cut off at a rectangle in the middle of the map. A ResizeObserver calls
    ``invalidateSize`` on every change of the container, which also moves the renderers' clip box.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            function fit() {
                var box = map.getContainer();
                var size = map.getSize();
                if (box.clientWidth && box.clientHeight &&
                    (box.clientWidth !== size.x || box.clientHeight !== size.y)) {
                    map.invalidateSize({pan: false});
                }
            }
            if (window.ResizeObserver) { new ResizeObserver(fit).observe(map.getContainer()); }
            L.DomEvent.on(window, "load", fit);
            L.Util.requestAnimFrame(fit);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatelineKeepSized"


FIT_ALL_LABEL = "Show all places"


class _FitAllControl(MacroElement):
    """One button under the zoom buttons that fits the view to every marker on the map.

    It reads the markers when clicked (streamlit-folium's ``window.feature_group``, else every
    ``dl-place`` layer), so the base map's script stays the same for every article.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, label, maxZoom) {
            var control = L.control({position: "topleft"});
            control.onAdd = function () {
                var bar = L.DomUtil.create("div", "leaflet-bar leaflet-control dl-fit-all");
                var a = L.DomUtil.create("a", "", bar);
                a.href = "#";
                a.title = label;
                a.setAttribute("role", "button");
                a.setAttribute("aria-label", label);
                a.innerHTML = "&#x2922;";
                a.style.fontSize = "16px";
                L.DomEvent.disableClickPropagation(bar);
                L.DomEvent.on(a, "click", function (e) {
                    L.DomEvent.preventDefault(e);
                    var box = L.latLngBounds([]);
                    map.eachLayer(function (l) {
                        var cls = l.options && l.options.className;
                        if (cls && (" " + cls + " ").indexOf(" dl-place ") >= 0) { box.extend(l.getLatLng()); }
                    });
                    if (box.isValid()) { map.fitBounds(box, L.extend({{ this.padding_js }}, {maxZoom: maxZoom})); }
                });
                return bar;
            };
            control.addTo(map);
        })({{ this._parent.get_name() }}, {{ this.label_js }}, {{ this.max_zoom }});
        {% endmacro %}
        """
    )

    def __init__(self, max_zoom: int = FIT_MAX_ZOOM) -> None:
        super().__init__()
        self._name = "DatelineFitAll"
        self.padding_js = json.dumps(FIT_PADDING)
        self.label_js = _js_string(FIT_ALL_LABEL)
        self.max_zoom = int(max_zoom)


SPREAD_MARGIN_PX = 3  # how much of a marker's centre stays clear of the marker drawn on top of it
SPREAD_MAX_MARKERS = 800  # beyond this the pairwise spreading (n² per zoom) is skipped


class _SpreadMarkers(MacroElement):
    """Moves overlapping place markers apart on screen, at every zoom, so each one can be clicked.

    Two places a few kilometres apart (Chaman and Spin Boldak) or at the same point (a town and its
    county; an approximate place put at a known one) drew one circle over the other, and the lower one
    could not be clicked until zoom 8 or so. After each zoom, and when markers are added, markers are
    pushed apart in screen pixels until no marker's centre lies under a marker drawn above it (plus
    SPREAD_MARGIN_PX). Only where they are drawn changes: each keeps its true ``latLng`` (what a click
    on a small marker reports, and what the tests and the app read), and a thin leader line joins a
    moved marker to a dot at its true place. As the reader zooms in the offsets shrink to nothing.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, margin, maxMarkers) {
            if (!map.getPane("datelineLeaders")) {
                var pane = map.createPane("datelineLeaders");
                pane.style.zIndex = 390;
                pane.style.pointerEvents = "none";
            }
            var leaders = L.layerGroup().addTo(map);
            var pending = false;
            function isPlace(l) {
                var cls = l.options && l.options.className;
                return l instanceof L.CircleMarker && cls && (" " + cls + " ").indexOf(" dl-place ") >= 0;
            }
            function patch(m) {
                if (m._dlPatched) { return; }
                m._dlPatched = true;
                var project = m._project;
                m._project = function () {
                    project.call(this);
                    if (this._dlOffset) { this._point = this._point.add(this._dlOffset); this._updateBounds(); }
                };
            }
            function spread() {
                pending = false;
                var zoom = map.getZoom(), items = [];
                map.eachLayer(function (l) { if (isPlace(l)) { items.push(l); } });
                items.sort(function (a, b) { return L.stamp(a) - L.stamp(b); });  // drawing order
                leaders.clearLayers();
                var n = items.length;
                var base = items.map(function (m) { return map.project(m.getLatLng(), zoom); });
                var pos = base.map(function (p) { return [p.x, p.y]; });
                var radius = items.map(function (m) { return m.getRadius(); });
                if (n <= maxMarkers) {
                    for (var round = 0; round < 80; round++) {
                        var moved = false;
                        for (var j = 1; j < n; j++) {
                            for (var i = 0; i < j; i++) {  // j is drawn above i
                                var need = radius[j] + margin;
                                var dx = pos[j][0] - pos[i][0], dy = pos[j][1] - pos[i][1];
                                var d = Math.sqrt(dx * dx + dy * dy);
                                if (d >= need) { continue; }
                                var push = (need - d) / 2 + 0.01;
                                if (d < 1e-6) {  // same point: a fixed direction per pair, so every run agrees
                                    var angle = 2.399963 * (i + j);
                                    dx = Math.cos(angle); dy = Math.sin(angle); d = 1;
                                }
                                pos[j][0] += dx / d * push; pos[j][1] += dy / d * push;
                                pos[i][0] -= dx / d * push; pos[i][1] -= dy / d * push;
                                moved = true;
                            }
                        }
                        if (!moved) { break; }
                    }
                }
                items.forEach(function (m, k) {
                    var off = L.point(pos[k][0] - base[k].x, pos[k][1] - base[k].y);
                    var had = m._dlOffset;
                    patch(m);
                    m._dlOffset = (Math.abs(off.x) + Math.abs(off.y) > 0.5) ? off : null;
                    if (had || m._dlOffset) { m.redraw(); }
                    if (m._dlOffset && off.distanceTo(L.point(0, 0)) > 2) {
                        var shown = map.unproject(L.point(pos[k][0], pos[k][1]), zoom);
                        var style = {pane: "datelineLeaders", interactive: false, color: "#333", weight: 1,
                                     opacity: 0.8};
                        leaders.addLayer(L.polyline([m.getLatLng(), shown], style));
                        leaders.addLayer(L.circleMarker(m.getLatLng(), L.extend({radius: 2, fill: true, fillOpacity: 1,
                                                                                className: "dl-true-place"}, style)));
                    }
                });
            }
            function later() {
                if (!pending) { pending = true; setTimeout(spread, 0); }
            }
            map.on("zoomend viewreset", spread);
            map.on("layeradd layerremove", function (e) { if (isPlace(e.layer)) { later(); } });
            window.datelineSpreadMarkers = spread;
        })({{ this._parent.get_name() }}, {{ this.margin }}, {{ this.max_markers }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatelineSpreadMarkers"
        self.margin = SPREAD_MARGIN_PX
        self.max_markers = SPREAD_MAX_MARKERS


def legend_html() -> Markup:
    """Escaped HTML of the legend (kind colours and the low-confidence outline)."""
    swatch = Markup(
        '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        'background:{};border:1px solid #333;margin-right:4px"></span>{}'
    )
    rows = [swatch.format(KIND_COLORS[k], KIND_LABELS[k]) for k in KIND_COLORS]
    dashed = Markup(
        '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        'background:{};border:1px dashed #333;margin-right:4px"></span>{}'
    )
    rows.append(dashed.format("transparent", "Low confidence"))
    rows.append(dashed.format(APPROXIMATE_COLOR, APPROXIMATE_LABEL))
    # Folded by default: open, it covered a quarter of a narrow map and the markers under it.
    return Markup(
        '<details class="dl-legend" style="background:rgba(255,255,255,0.9);padding:2px 8px;border-radius:4px;'
        'font:12px sans-serif;line-height:18px"><summary style="cursor:pointer">Legend</summary>{}</details>'
    ).format(Markup("<br>").join(rows))


def _apply_offline_hook(m: folium.Map) -> None:
    """Let geo.app.offline_assets (a colleague's module) add local assets, if it exists.

    Only a missing ``geo.app.offline_assets`` is tolerated; errors inside it surface.
    """
    try:
        module = importlib.import_module("geo.app.offline_assets")
    except ModuleNotFoundError as exc:
        if exc.name not in ("geo.app.offline_assets", "geo.app", "geo"):
            raise
        return
    apply = getattr(module, "apply_offline", None)
    if callable(apply):
        apply(m)


class OnlineMap(folium.Map):
    """A map that loads only what it uses from the CDNs: Leaflet and jQuery (folium's popups call it).

    streamlit-folium loads scripts one after another and gives up at the first
    that fails, so every unused script (Bootstrap, awesome-markers, icon fonts)
    is a way for the whole map to go blank. The lists are set on this class,
    never on folium's shared module-level ones.
    """

    default_js = [(name, url) for name, url in folium.Map.default_js if name in ("leaflet", "jquery")]
    default_css = [(name, url) for name, url in folium.Map.default_css if name == "leaflet_css"]


def base_map(
    *,
    offline: bool = False,
    center: tuple[float, float] = DEFAULT_CENTER,
    zoom: int = DEFAULT_ZOOM,
) -> folium.Map:
    """The constant part of the map: view, tiles (online only), legend and credits."""
    m = OnlineMap(location=list(center), zoom_start=zoom, tiles=None, control_scale=True)
    if offline:
        _apply_offline_hook(m)
    else:
        folium.TileLayer(
            tiles=OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19
        ).add_to(m)
    _Attribution(GEONAMES_ATTRIBUTION).add_to(m)
    _Legend().add_to(m)
    _FocusWithoutScrolling().add_to(m)
    _ClickWithoutDelay().add_to(m)
    _KeepSized().add_to(m)
    _FitAllControl().add_to(m)
    _SpreadMarkers().add_to(m)
    return m


@dataclass(frozen=True)
class MarkerSpec:
    """One place's marker as Leaflet will draw it: a circle with a tooltip and a popup (escaped HTML)."""

    location: tuple[float, float]
    options: dict[str, object]  # Leaflet circleMarker options
    tooltip: str  # escaped, safe inside a JS template literal; also what a click reports back
    popup: str  # escaped HTML


class PlaceMarkers(MacroElement):
    """Every place marker of a map, as one element with one template compiled once.

    Folium's own CircleMarker, Popup and Tooltip compile Jinja templates for each marker whenever they are
    rendered, and streamlit-folium renders the markers on every rerun of the app: about 3 ms a marker, so a
    click on a map of 65 places cost 200 ms of server time before the panel could answer. This writes the
    same Leaflet calls (``L.circleMarker(...).bindPopup(...).bindTooltip(...)``) from plain data.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.script(this._parent.get_name()) }}
        {% endmacro %}
        """
    )

    def __init__(self, markers: list[MarkerSpec]) -> None:
        super().__init__()
        self._name = "DatelinePlaceMarkers"
        self.markers = markers

    def script(self, group: str) -> str:
        return "\n".join(
            f"L.circleMarker([{m.location[0]!r}, {m.location[1]!r}], {json.dumps(m.options, allow_nan=False)})"
            f".addTo({group}).bindPopup({_js_string(m.popup)}, {{\"maxWidth\": {POPUP_MAX_WIDTH}}})"
            f".bindTooltip(`<div>{m.tooltip}</div>`, {{\"sticky\": true}});"
            for m in self.markers
        )


POPUP_MAX_WIDTH = 320


def _marker(layer: MapLayer, place: Place, *, several: bool, selected: bool) -> MarkerSpec:
    cand = place.candidate
    low = is_low_confidence(place)
    stroke = safe_color(layer.color) if several else DEFAULT_STROKE
    # Stable CSS classes so browser tests can find markers by state.
    class_name = " ".join(
        ["dl-place"]
        + (["dl-low"] if low else [])
        + (["dl-approximate"] if place.approximate else [])
        + (["dl-selected"] if selected else [])
    )
    options: dict[str, object] = {
        "radius": marker_radius(place.count) + (2 if selected else 0),
        "className": class_name,
        "color": SELECTED_STROKE if selected else stroke,
        "weight": 4 if selected else (3 if several else 1.5),
        "opacity": 1.0,
        "fill": True,
        "fillColor": APPROXIMATE_COLOR if place.approximate else KIND_COLORS[kind_of(cand.feature)],
        "fillOpacity": 0.9 if selected else (0.45 if low else 0.7),
        "dashArray": "4 4" if low or place.approximate else None,
    }
    return MarkerSpec(
        location=(float(cand.lat), float(cand.lon)),
        options=options,
        tooltip=_js_template_safe(str(escape(tooltip_text(layer, place, several=several)))),
        popup=_js_template_safe(str(popup_html(layer, place, several=several))),
    )


def places_feature_group(
    layers: list[MapLayer],
    selected: str | None = None,
    *,
    show_low_confidence: bool = True,
) -> folium.FeatureGroup:
    """One circle marker per distinct place per article (no clustering: clicks must reach the app).

    Bigger places are drawn first and the selected place last, so small and
    selected markers stay on top and clickable.
    """
    fg = folium.FeatureGroup(name="Places")
    several = len(layers) > 1
    entries = [(layer, place) for layer in layers for place in _visible_places(layer, show_low_confidence)]
    entries.sort(key=lambda e: (e[1].key == selected, -e[1].count))
    PlaceMarkers(
        [_marker(layer, place, several=several, selected=place.key == selected) for layer, place in entries]
    ).add_to(fg)
    return fg


def bounds(layers: list[MapLayer], *, show_low_confidence: bool = True) -> list[list[float]] | None:
    """[[south, west], [north, east]] around every drawn place, or None when there is none."""
    pts = [
        (p.candidate.lat, p.candidate.lon)
        for layer in layers
        for p in _visible_places(layer, show_low_confidence)
    ]
    if not pts:
        return None
    lats, lons = zip(*pts, strict=True)
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def focus_bounds(layers: list[MapLayer], *, show_low_confidence: bool = True) -> list[list[float]] | None:
    """The box the map opens on: each article's main country, its places and the places near them.

    An article about Afghanistan that also names Washington and Moscow opens on Afghanistan and its
    neighbours, not on half the world; the map's "Show all places" button fits every marker. The
    region is the places in the focus country (``Result.focus``) plus every place within
    FOCUS_NEAR_KM of one of them. Without a focus, or with no place in it, it is :func:`bounds`.
    """
    pts: list[tuple[float, float]] = []
    for layer in layers:
        focus = layer.result.focus
        places = list(_visible_places(layer, show_low_confidence))
        core = [p for p in places if focus is not None and p.candidate.country_code == focus.country_code]
        if not core:
            pts += [(p.candidate.lat, p.candidate.lon) for p in places]
            continue
        inside = {id(p) for p in core}
        for p in places:
            c = p.candidate
            if id(p) in inside or any(
                haversine_km(c.lat, c.lon, q.candidate.lat, q.candidate.lon) <= FOCUS_NEAR_KM for q in core
            ):
                pts.append((c.lat, c.lon))
    if not pts:
        return None
    lats, lons = zip(*pts, strict=True)
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def build_map(
    layers: list[MapLayer],
    *,
    selected: str | None = None,
    offline: bool = False,
    show_low_confidence: bool = True,
) -> folium.Map:
    """A standalone map (base map + markers, fitted to the places), e.g. for HTML export."""
    m = base_map(offline=offline)
    places_feature_group(layers, selected, show_low_confidence=show_low_confidence).add_to(m)
    box = bounds(layers, show_low_confidence=show_low_confidence)
    if box is not None:
        m.fit_bounds(box, padding=(30, 30), max_zoom=FIT_MAX_ZOOM)
    return m


# --------------------------------------------------------------------------- clicks


def _degrees_per_pixel(zoom: float) -> float:
    """Longitude degrees per screen pixel in Web Mercator at ``zoom``."""
    return 360.0 / (256.0 * 2.0**zoom)


def _pixel_distance(lat: float, lon: float, place: Place, deg_per_px: float) -> float:
    """Approximate screen distance (Mercator is conformal: scale latitude by sec(lat))."""
    dlon = (place.candidate.lon - lon + 180.0) % 360.0 - 180.0
    dlat = (place.candidate.lat - lat) / max(math.cos(math.radians(lat)), 1e-6)
    return math.hypot(dlon, dlat) / deg_per_px


def place_at(
    layers: list[MapLayer],
    clicked: dict | None,
    *,
    show_low_confidence: bool = True,
) -> tuple[MapLayer, Place] | None:
    """The (layer, place) whose marker streamlit-folium reported as clicked.

    Leaflet reports a small circle marker's own centre, rounded to the pixel
    grid, and the mouse position for a large one, so coordinates only match
    within a few pixels (converted to degrees with the returned ``zoom``, if
    present). The tooltip text identifies the marker; coordinates then pick
    among markers sharing it, and are the only key when there is no tooltip.
    """
    if not clicked:
        return None
    point = clicked.get("last_object_clicked")
    if not isinstance(point, dict):
        return None
    try:
        lat, lon = float(point["lat"]), float(point["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    zoom = clicked.get("zoom")
    deg_per_px = _degrees_per_pixel(float(zoom)) if isinstance(zoom, int | float) else 1e-5
    tolerance_px = MAX_RADIUS + 3.0 if isinstance(zoom, int | float) else 10.0

    several = len(layers) > 1
    entries = [
        (_pixel_distance(lat, lon, place, deg_per_px), -index, layer, place)
        for index, layer in enumerate(layers)
        for place in _visible_places(layer, show_low_confidence)
    ]
    if not entries:
        return None
    tooltip = clicked.get("last_object_clicked_tooltip")
    if isinstance(tooltip, str) and tooltip.strip():
        wanted = _norm_text(tooltip)
        named = [e for e in entries if _norm_text(tooltip_text(e[2], e[3], several=several)) == wanted]
        if named:
            best = min(named, key=lambda e: e[:2])  # later layers are drawn on top
            return best[2], best[3]
    near = [e for e in entries if e[0] <= tolerance_px]
    if not near:
        return None
    best = min(near, key=lambda e: e[:2])
    return best[2], best[3]


# --------------------------------------------------------------------------- article text


def _marked(
    text: str, spans: Iterable[tuple[int, int, str, str]], *, newline: str = "<br>"
) -> Markup:
    """Escape ``text`` piece by piece, wrapping each (start, end, title, class) span in <mark>.

    Offsets index the raw text, so pieces are escaped separately (escaping
    changes lengths). Overlapping or out-of-range spans are dropped/clamped.
    Newlines become <br> so the result is one line (safe for Markdown containers)
    and ``$`` becomes an entity so Markdown math never triggers.
    """

    def esc(piece: str) -> Markup:
        escaped = str(escape(piece)).replace("$", "&#36;")
        return Markup(escaped.replace("\r\n", "\n").replace("\n", newline))

    out: list[Markup] = []
    pos = 0
    n = len(text)
    clamped = [(max(0, min(s, n)), max(0, min(e, n)), title, css) for s, e, title, css in spans]
    for start, end, title, css in sorted(clamped, key=lambda s: (s[0], -s[1])):
        if start < pos or end <= start:
            continue
        out.append(esc(text[pos:start]))
        attr = Markup(' title="{}"').format(title) if title else Markup("")
        out.append(Markup('<mark class="{}"{}>').format(css, attr) + esc(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(esc(text[pos:]))
    return Markup("").join(out)


def highlight_html(
    text: str,
    mentions: list[tuple[int, int, str]],
    selected: set[int] | None = None,
) -> str:
    """Escaped HTML of a whole article with every mention in a <mark>.

    ``mentions`` are (start, end, title) with raw-text offsets; ``title`` (e.g.
    the resolved place) becomes the mark's hover text. ``selected`` holds the
    *start offsets* of mentions to emphasise (class ``dl-mention dl-selected``).
    """
    chosen = selected or set()
    spans = [
        (s, e, title, "dl-mention dl-selected" if s in chosen else "dl-mention") for s, e, title in mentions
    ]
    return str(Markup('<div class="dl-article">{}</div>').format(_marked(text, spans)))


def excerpt_html(excerpt: Excerpt) -> str:
    """Escaped HTML of one sentence with its mention in a <mark>."""
    spans = [(excerpt.start, excerpt.end, "", "dl-mention dl-selected")]
    return str(_marked(excerpt.text, spans, newline=" "))
