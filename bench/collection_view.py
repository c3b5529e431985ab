"""Collection view benchmark: how fast a store's map appears and a click lists a place's articles (a measurement,
not a test).

    python bench/collection_view.py STORE [--clicks 20] [--cache-dir cache]

Two parts, on the same store:

* ``queries``: :class:`geo.archive.explore.Collection` in this process — opening the store, the places of the
  world view and of a zoomed-in view, the article list of the busiest places (the DuckDB work behind a map and
  a click), each timed over repeats;
* ``browser``: a fresh ``streamlit run app.py`` with ``DATELINE_STORE=STORE`` (offline assets) driven by headless
  Chromium (Debian's; every request off this machine refused): new server -> first marker, a second visitor's
  first marker (store already open), timed by the page's clock as in bench/speed.py (Playwright's polling
  kept as ``*_seen_s``), and ``--clicks`` clicks on the busiest markers in view, click -> the place's
  heading in the panel.

Results go to bench/results/collection-view.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak import MAP_IFRAME as IFRAME  # noqa: E402
from bench.speed import (  # noqa: E402
    CHROMIUM_ARGS,
    FIRST_MARKER_INIT,
    SETTLED_JS,
    first_marker_epoch,
    watch_requests,
)

RESULTS = ROOT / "bench" / "results"
MARKERS_JS = """() => {
  const out = [];
  for (const fg of window.feature_group || []) fg.eachLayer(l => {
    const tip = l.getTooltip ? l.getTooltip() : null;
    const p = window.map.latLngToContainerPoint(l.getLatLng());
    out.push({tip: tip ? String(tip.getContent()).replace(/<[^>]*>/g, "") : "", x: p.x, y: p.y,
              r: l.getRadius ? l.getRadius() : 0});
  });
  return out;
}"""
HEADINGS_JS = "() => [...document.querySelectorAll('h3')].map(h => h.textContent).join('|')"


def timed(fn, repeat: int = 5) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def queries(store: Path) -> dict:
    from geo.archive.explore import Box, Collection

    start = time.perf_counter()
    coll = Collection(store)
    opened = round(1000 * (time.perf_counter() - start))
    summary = coll.summary()
    top = coll.places().places
    europe = Box(35, -10, 60, 30)
    return {
        "articles": summary.articles,
        "places": summary.places,
        "open_ms": opened,
        "summary": timed(coll.summary),
        "places_world": timed(lambda: coll.places()),
        "places_europe": timed(lambda: coll.places(box=europe)),
        "months": timed(lambda: coll.months()),
        "articles_busiest": timed(lambda: coll.articles(top[0].key, limit=30)),
        "articles_tenth": timed(lambda: coll.articles(top[9].key, limit=30)),
    }


def browser(store: Path, cache_dir: Path | None, clicks: int, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    from geo.app.devserver import running_app

    env = {**os.environ, "DATELINE_OFFLINE_ASSETS": "1", "DATELINE_STORE": str(store)}
    if cache_dir:
        env["DATELINE_CACHE_DIR"] = str(cache_dir)
    out: dict = {"clicks_ms": [], "refused_requests": []}
    with tempfile.TemporaryDirectory() as tmp, running_app(
        ROOT / "app.py", cwd=ROOT, env=env, log=Path(tmp) / "server.log", timeout=120
    ) as app, sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        server_started = time.time() - (time.monotonic() - app.started)

        def visit(name: str) -> object:
            """A new visitor (a fresh browser context: nothing cached) -> the first marker."""
            context = b.new_context(viewport={"width": 1440, "height": 960})
            context.add_init_script(FIRST_MARKER_INIT)
            page = context.new_page()
            watch_requests(page, out["refused_requests"])
            asked = time.time()
            page.goto(app.url, wait_until="domcontentloaded")
            page.frame_locator(IFRAME).locator("path.dl-collection").first.wait_for(state="attached", timeout=120_000)
            seen = time.time()
            drawn = first_marker_epoch(page)
            out[f"{name}_first_map_s"] = round(drawn - asked, 2)
            out[f"{name}_first_map_seen_s"] = round(seen - asked, 2)
            if name == "new_server":
                out["server_start_to_first_map_s"] = round(drawn - server_started, 2)
            page.wait_for_function(SETTLED_JS, timeout=60_000)
            return page

        visit("new_server")
        page = visit("second_visitor")
        handle = page.query_selector(IFRAME).content_frame()
        time.sleep(1)  # the map fits the store's places, then reports its bounds: one more rerun
        page.wait_for_function(SETTLED_JS, timeout=60_000)
        drawn = {m["tip"]: m for m in handle.evaluate(MARKERS_JS)}.values()  # the latest group's, by tooltip
        size = page.query_selector(IFRAME).bounding_box()
        inside = [m for m in drawn if 20 < m["x"] < size["width"] - 20 and 20 < m["y"] < size["height"] - 20]
        for marker in sorted(inside, key=lambda m: -m["r"])[:clicks]:
            before = page.evaluate(HEADINGS_JS)
            start = time.perf_counter()
            page.mouse.click(size["x"] + marker["x"], size["y"] + marker["y"])
            try:  # the panel names the place clicked (or the smaller one drawn over its centre)
                page.wait_for_function(f"prev => ({HEADINGS_JS})() !== prev", arg=before, timeout=10_000)
                out["clicks_ms"].append(round(1000 * (time.perf_counter() - start)))
            except Exception:  # the place already chosen: nothing changes, not a timing
                pass
            page.wait_for_function(SETTLED_JS, timeout=60_000)
        b.close()
    ms = out["clicks_ms"]
    if ms:
        out["click_median_ms"] = statistics.median(ms)
        out["click_p95_ms"] = sorted(ms)[max(0, round(0.95 * len(ms)) - 1)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chromium = args.chromium or shutil.which("chromium") or "/usr/bin/chromium"
    result = {"store": str(args.store), "queries": queries(args.store),
              "browser": browser(args.store, args.cache_dir, args.clicks, chromium),
              "load_average": os.getloadavg()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "collection-view.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
