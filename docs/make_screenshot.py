"""Make docs/screenshot.png and time the explorer in a real browser, with no network.

    python docs/make_screenshot.py [--cache-dir DIR] [--out docs/screenshot.png]

Starts ``streamlit run app.py`` headless on a free port with
DATELINE_OFFLINE_ASSETS=1 (Leaflet from the app's own static files, the
offline basemap instead of tiles), opens it in the system Chromium
through Playwright, clicks the Spin Boldak marker and saves a screenshot.
Requests that are not to this machine are refused twice over: host names
do not resolve, and a Playwright route aborts any that get that far. Local
requests are not intercepted at all (routing every Streamlit chunk through
Playwright stalled the page).

Prints three timings (seconds): server start to first map, page load to
first map in the same server, and marker click to the panel showing the place.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import Frame, Page, Route, sync_playwright

from geo.app.devserver import running_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 # No name resolves except this machine's: nothing can leave it, whatever asks.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
VIEWPORT = {"width": 1440, "height": 960}
FIRST_MAP_TIMEOUT_MS = 240_000  # a fresh cache builds the gazetteer first
VIEW_OFFSET = (3.5, 1.5)  # degrees from the target to the screenshot's centre
TARGET = "Boldak"  # the marker to click (its tooltip is the gazetteer name, "Spīn Bōldak")


NON_LOCAL = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)[:/])(?!data:|blob:|about:)")


def refuse(route: Route) -> None:
    """Only requests that are not to this machine reach this handler (local ones are not intercepted)."""
    print(f"blocked: {route.request.url[:100]}", file=sys.stderr)
    route.abort()


def map_frame(page: Page, timeout_ms: int) -> Frame:
    """The streamlit-folium iframe, once its markers are drawn."""
    page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.query_selector("path.dl-place"):
                    return frame
            except Exception:  # noqa: BLE001 - frames come and go while Streamlit renders
                pass
        time.sleep(0.05)
    raise TimeoutError("no markers drawn")


FIND_TARGET = """([target]) => {
  const layers = [];
  for (const fg of window.feature_group || []) fg.eachLayer(l => layers.push(l));
  const tip = l => (l.getTooltip && l.getTooltip() ? String(l.getTooltip().getContent()) : "");
  const strip = s => s.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "");
  const hit = layers.find(l => strip(tip(l)).includes(target));
  if (!hit) return null;
  const ll = hit.getLatLng();
  return {lat: ll.lat, lng: ll.lng};
}"""

POINT_OF = """([lat, lng, view]) => {
  if (view !== null) window.map.setView([view[0], view[1]], view[2], {animate: false});
  // Where each marker is drawn: overlapping markers are drawn apart from their true places.
  const drawn = l => l._point ? window.map.layerPointToContainerPoint(l._point)
                              : window.map.latLngToContainerPoint(l.getLatLng());
  let p = window.map.latLngToContainerPoint([lat, lng]);
  const box = document.getElementById("map_div").getBoundingClientRect();
  const layers = [];
  for (const fg of window.feature_group || []) fg.eachLayer(l => layers.push(l));
  const self = layers.find(l => { const ll = l.getLatLng(); return ll.lat === lat && ll.lng === lng; });
  if (self) p = drawn(self);
  // Every other marker's pixel centre, to click the target where no other marker covers it.
  const others = [];
  for (const l of layers) {
    if (l === self) continue;
    const q = drawn(l);
    others.push([q.x, q.y, l.getRadius()]);
  }
  return {x: p.x + box.left, y: p.y + box.top, others: others.map(o => [o[0] + box.left, o[1] + box.top, o[2]])};
}"""


def click_point(info: dict, radius: float = 6.0) -> tuple[float, float]:
    """A pixel inside the target marker and as far as possible from every other marker."""
    best, best_gap = (info["x"], info["y"]), -math.inf
    for step in range(16):
        angle = step * math.pi / 8
        for r in (0.0, radius * 0.4, radius * 0.7):
            x, y = info["x"] + r * math.cos(angle), info["y"] + r * math.sin(angle)
            gap = min((math.hypot(x - ox, y - oy) - orad for ox, oy, orad in info["others"]), default=99)
            if gap > best_gap:
                best, best_gap = (x, y), gap
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="DATELINE_CACHE_DIR for the server")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--zoom", type=int, default=5, help="map zoom for the click and the screenshot")
    args = parser.parse_args()

    env = {**os.environ, "DATELINE_OFFLINE_ASSETS": "1"}
    if args.cache_dir is not None:
        env["DATELINE_CACHE_DIR"] = str(args.cache_dir)
    with running_app(ROOT / "app.py", cwd=ROOT, env=env) as app:
        t_start = app.started
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.route(NON_LOCAL, refuse)
            page.goto(app.url, wait_until="domcontentloaded")
            map_frame(page, FIRST_MAP_TIMEOUT_MS)
            first_map = time.monotonic() - t_start

            t_load = time.monotonic()
            page.reload(wait_until="domcontentloaded")
            frame = map_frame(page, FIRST_MAP_TIMEOUT_MS)
            warm_map = time.monotonic() - t_load

            target = frame.evaluate(FIND_TARGET, [TARGET])
            if target is None:
                raise RuntimeError(f"no marker for {TARGET}")
            # North of the target, so Tashkent and Kabul are in the picture too.
            view = [target["lat"] + VIEW_OFFSET[0], target["lng"] + VIEW_OFFSET[1], args.zoom]
            info = frame.evaluate(POINT_OF, [target["lat"], target["lng"], view])
            page.wait_for_timeout(1500)  # the zoom change reruns the app once; let it settle
            info = frame.evaluate(POINT_OF, [target["lat"], target["lng"], None])
            x, y = click_point(info)
            frame_box = page.query_selector("iframe[title='streamlit_folium.st_folium']").bounding_box()
            t_click = time.monotonic()
            page.mouse.click(frame_box["x"] + x, frame_box["y"] + y)
            page.wait_for_function(
                """(t) => [...document.querySelectorAll('.dl-card-title')].some(e =>
                     e.textContent.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').includes(t))""",
                arg=TARGET, timeout=30_000)
            panel = time.monotonic() - t_click
            page.wait_for_timeout(1200)  # let the highlight and fonts settle
            # Clicking scrolled the map into view; show the page from its top again.
            page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })")
            page.wait_for_timeout(300)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
        print(f"server start -> first map: {first_map:.1f} s")
        print(f"page load -> map (server warm): {warm_map:.1f} s")
        print(f"marker click -> panel shows the place: {panel:.2f} s")
        print(f"screenshot: {args.out}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
