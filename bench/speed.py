"""Speed of the explorer as a reader meets it (a measurement, not a test).

    python bench/speed.py [--clicks 12] [--runs 3] [--cache-dir cache]

For each of ``--runs`` fresh ``streamlit run app.py`` servers (offline assets, the gazetteer already built in
``--cache-dir``), headless Chromium (Debian's; requests off this machine refused) measures:

* **first map**: server process start -> the first marker of the seed article's map (what a reader who opens
  the app right after it starts waits), and navigation start -> first marker;
* **click -> panel**: ``--clicks`` clicks on markers that nothing covers, click -> the side panel names the
  new place;
* **reload**: a page reload -> the first marker again;
* **server RSS** after all that, and once the server has loaded the language model it loads in a quiet spell
  (``server_rss_before_model_mb`` is the first).

Times are taken by the page's own clock: a script in every frame notes when a marker is first put in the map
(a MutationObserver), so the figures are what a reader sees and leave out how often Playwright polls (up to
0.5 s; those figures are kept too, as ``*_seen_s``). Requests off this machine are refused by Chromium itself
(its resolver and a dead proxy), not by a Playwright route: a route sends every request through Python and
switches the browser's HTTP cache off, which a reader's reload has.

Then ``python -m geo parse seeds/tashkent-conference.txt`` end to end (process start to exit), and where the
time of ``Engine()`` goes (gazetteer, name tables, spaCy). Results go to bench/results/speed.json; the
figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak import CHANGED_JS, MAP_IFRAME, NAMES_JS, TITLE_JS, rss_mb  # noqa: E402
from geo.app.devserver import FIRST_MARKER_SCRIPT  # noqa: E402
from geo.app.server import QUIET_S  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SEED = ROOT / "seeds" / "tashkent-conference.txt"
SETTLED_JS = """() => {
  const app = document.querySelector("[data-testid=stApp]");
  return app && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector("[data-stale=true]");
}"""
# Nothing but this machine resolves, and whatever is not local (an IP address too) goes to a proxy that is
# not there: the browser refuses it without a round trip through Python for each request.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                 "--proxy-server=127.0.0.1:9"]
# The page's own clock for its first marker (ms since navigation start; see geo.app.devserver).
FIRST_MARKER_INIT = FIRST_MARKER_SCRIPT
FIRST_MARKER_JS = "() => window.__dlFirstMarker === undefined ? null : performance.timeOrigin + window.__dlFirstMarker"


def _is_local(url: str) -> bool:
    host = url.split("/")[2].rsplit(":", 1)[0] if "://" in url else ""
    return not host or host in ("127.0.0.1", "localhost", "[::1]")


def watch_requests(page, refused: list[str]) -> None:
    """Note every request off this machine (Chromium refuses them): the map must need none."""
    page.on("request", lambda request: None if _is_local(request.url) else refused.append(request.url))


def first_marker_epoch(page) -> float:
    """When (epoch seconds, the page's clock) the map's first marker was put in the page."""
    return page.wait_for_function(FIRST_MARKER_JS, timeout=60_000).json_value() / 1000


def one_server(cache_dir: Path | None, clicks: int, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    from geo.app.devserver import running_app

    env = {**os.environ, "DATELINE_OFFLINE_ASSETS": "1"}
    if cache_dir:
        env["DATELINE_CACHE_DIR"] = str(cache_dir)
    out: dict = {"clicks_ms": [], "refused_requests": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 960})
        context.add_init_script(FIRST_MARKER_INIT)
        page = context.new_page()
        watch_requests(page, out["refused_requests"])
        with running_app(ROOT / "app.py", cwd=ROOT, env=env, log=Path(tmp) / "server.log", timeout=120) as app:
            server_started = time.time() - (time.monotonic() - app.started)  # the same instant, epoch clock
            asked = time.time()
            page.goto(app.url, wait_until="domcontentloaded")
            marker = page.frame_locator(MAP_IFRAME).locator("path.dl-place").first
            marker.wait_for(state="attached", timeout=120_000)
            seen = time.time()
            drawn = first_marker_epoch(page)
            out["navigation_to_first_map_s"] = round(drawn - asked, 2)
            out["server_start_to_first_map_s"] = round(drawn - server_started, 2)
            out["navigation_to_first_map_seen_s"] = round(seen - asked, 2)
            out["server_start_to_first_map_seen_s"] = round(seen - server_started, 2)
            page.wait_for_function(SETTLED_JS, timeout=60_000)

            frame = page.query_selector(MAP_IFRAME).content_frame()
            for _ in range(clicks):
                before = page.evaluate(TITLE_JS)
                names = [m for m in frame.evaluate(NAMES_JS) if m["top"] and m["index"] >= 0 and m["name"]
                         and m["name"].split(" · ")[0] != before]
                if not names:
                    break
                target = names[len(out["clicks_ms"]) % len(names)]
                started = time.perf_counter()
                page.frame_locator(MAP_IFRAME).locator("path.dl-place").nth(target["index"]).click()
                try:
                    page.wait_for_function(CHANGED_JS, arg=before, timeout=20_000)
                    out["clicks_ms"].append(round(1000 * (time.perf_counter() - started)))
                except Exception:  # the click landed on the map, not the marker: not a timing
                    pass
                page.wait_for_function(SETTLED_JS, timeout=60_000)

            asked = time.time()
            page.reload(wait_until="domcontentloaded")
            page.frame_locator(MAP_IFRAME).locator("path.dl-place").first.wait_for(state="attached", timeout=60_000)
            seen = time.time()
            out["reload_to_first_map_s"] = round(first_marker_epoch(page) - asked, 2)
            out["reload_to_first_map_seen_s"] = round(seen - asked, 2)
            page.wait_for_function(SETTLED_JS, timeout=60_000)
            out["server_rss_before_model_mb"] = round(rss_mb(app.pid))
            time.sleep(QUIET_S + 6)  # the server loads the language model once no page has run for QUIET_S
            out["server_rss_mb"] = round(rss_mb(app.pid))
        browser.close()
    ms = sorted(out["clicks_ms"])
    if ms:
        out["click_median_ms"] = statistics.median(ms)
        out["click_max_ms"] = ms[-1]
    return out


def geo_parse(cache_dir: Path | None, runs: int) -> list[float]:
    times = []
    command = [sys.executable, "-m", "geo"] + (["--cache-dir", str(cache_dir)] if cache_dir else [])
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "parse", str(SEED)], cwd=ROOT, check=True, capture_output=True)
        times.append(round(time.perf_counter() - start, 2))
    return times


def engine_profile(cache_dir: Path | None) -> dict:
    """Where Engine() spends its time, in a fresh process (nothing cached in memory)."""
    code = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import geo.pipeline, spacy
t1 = time.perf_counter()
from geo.gazetteer import Gazetteer
from geo.recognize import RecognitionSettings, name_tables
cache = Path(sys.argv[1]) if sys.argv[1] else None
g = Gazetteer.open(cache)
t2 = time.perf_counter()
name_tables(str(g.path), RecognitionSettings())
t3 = time.perf_counter()
engine = geo.pipeline.Engine(cache)
t4 = time.perf_counter()
engine.nlp  # loaded at first use
t5 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 2), "gazetteer_open_s": round(t2 - t1, 2),
                  "name_tables_s": round(t3 - t2, 2), "rest_of_engine_s": round(t4 - t3, 2),
                  "spacy_pipeline_s": round(t5 - t4, 2)}))
"""
    done = subprocess.run([sys.executable, "-c", code, str(cache_dir or "")], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chromium = args.chromium or shutil.which("chromium") or "/usr/bin/chromium"
    servers = [one_server(args.cache_dir, args.clicks, chromium) for _ in range(args.runs)]
    clicks = sorted(ms for s in servers for ms in s["clicks_ms"])

    def median(key: str) -> float:
        return statistics.median(s[key] for s in servers)

    result = {
        "server_start_to_first_map_s": median("server_start_to_first_map_s"),
        "navigation_to_first_map_s": median("navigation_to_first_map_s"),
        "reload_to_first_map_s": median("reload_to_first_map_s"),
        "server_start_to_first_map_seen_s": median("server_start_to_first_map_seen_s"),
        "reload_to_first_map_seen_s": median("reload_to_first_map_seen_s"),
        "refused_requests": sorted({url for s in servers for url in s["refused_requests"]}),
        "click_to_panel_median_ms": statistics.median(clicks) if clicks else None,
        "click_to_panel_p90_ms": clicks[max(0, round(0.9 * len(clicks)) - 1)] if clicks else None,
        "clicks": len(clicks),
        "server_rss_mb": median("server_rss_mb"),
        "geo_parse_s": geo_parse(args.cache_dir, args.runs),
        "engine": engine_profile(args.cache_dir),
        "servers": servers,
        "load_average": os.getloadavg(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "servers"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
