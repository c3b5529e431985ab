"""Soak benchmark: does Dateline stay flat over long runs? (a measurement, not a test)

    python bench/soak.py engine [--articles 5000]      # novel articles through one Engine
    python bench/soak.py app [--sessions 10 --minutes 10]   # browser sessions against one app server

``engine``: every article is a development-corpus text (``../shared/eval``; the seed articles
where that is absent) with every seventh word replaced by a made-up one, so each article brings
words spaCy has never seen. It reports the process's RSS after warm-up and at the end, the size
of spaCy's string store, throughput, and the same run's first articles without the memory zone
(the zone's cost in throughput).

``app``: starts ``streamlit run app.py`` on localhost (offline assets, a fresh cache folder) and
drives it from ``--sessions`` concurrent headless-Chromium sessions (Debian's chromium; every
request off this machine is refused). Each session pastes a novel article, waits for its map,
then clicks markers; click -> side panel times and the server's RSS are recorded, and any error
shown by the app, console error or time-out is counted. Results go to bench/results/soak-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.bench import DEFAULT_EVAL_DIR, load_corpus  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def base_texts() -> list[str]:
    texts = [d["text"] for name in ("gwn.jsonl", "trnews.jsonl") if (DEFAULT_EVAL_DIR / name).exists()
             for d in load_corpus(DEFAULT_EVAL_DIR / name)]  # fmt: skip
    return texts or [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]


def novel(text: str, rng: random.Random) -> str:
    """``text`` with every seventh word made up: new strings for spaCy's vocabulary, real places kept mostly."""
    words = text.split(" ")
    for i in range(rng.randrange(7), len(words), 7):
        made_up = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 11)))
        words[i] = made_up.capitalize() if words[i][:1].isupper() else made_up
    return " ".join(words)


def soak_engine(args: argparse.Namespace) -> dict:
    from geo.pipeline import Engine

    cache = Path(tempfile.mkdtemp(prefix="dateline-soak-"))
    shared = Path(args.cache_dir or ROOT / "cache") / "gazetteer.sqlite3"
    if shared.exists():  # reuse the built gazetteer; the geocode cache starts empty
        shutil.copy(shared, cache / "gazetteer.sqlite3")
    engine = Engine(cache)
    rng = random.Random(20261130)
    texts = base_texts()
    articles = (novel(texts[i % len(texts)], rng) for i in range(args.articles))
    samples, done, tokens, started = [], 0, 0, time.perf_counter()
    batch: list[str] = []

    def run(batch: list[str]) -> None:
        nonlocal done, tokens
        for result in engine.parse_many(batch, batch_size=32):
            done += 1
            tokens += len(result.text.split())
            if done % args.every == 0:
                seconds = time.perf_counter() - started
                samples.append({"articles": done, "rss_mb": round(rss_mb(), 1), "seconds": round(seconds, 1),
                                "strings": len(engine.nlp.vocab.strings), "cache_entries": engine.cache.count()})
                print(json.dumps(samples[-1]), flush=True)

    for text in articles:
        batch.append(text)
        if len(batch) == 32:
            run(batch)
            batch = []
    run(batch)
    seconds = time.perf_counter() - started
    warm = next(s for s in samples if s["articles"] >= args.warmup)
    after = [s["rss_mb"] for s in samples if s["articles"] >= args.warmup]

    # The memory zone's cost: the same novel articles with and without it, taking turns.
    sample = [novel(texts[i % len(texts)], rng) for i in range(args.compare)]
    timings = {"zone": [], "no_zone": []}
    real_zone = engine.nlp.memory_zone
    for _ in range(3):
        for mode in ("zone", "no_zone"):
            engine.nlp.memory_zone = real_zone if mode == "zone" else contextlib.nullcontext
            t0 = time.perf_counter()
            for _result in engine.parse_many(sample, batch_size=32):
                pass
            timings[mode].append(time.perf_counter() - t0)
    engine.nlp.memory_zone = real_zone
    words = sum(len(t.split()) for t in sample)
    report = {
        "articles": done,
        "seconds": round(seconds, 1),
        "articles_per_s": round(done / seconds, 1),
        "words_per_s": round(tokens / seconds),
        "rss_after_warmup_mb": warm["rss_mb"],
        "rss_max_after_warmup_mb": max(after),
        "rss_end_mb": samples[-1]["rss_mb"],
        "rss_growth_after_warmup_mb": round(max(after) - warm["rss_mb"], 1),
        "strings_after_warmup": warm["strings"],
        "strings_end": samples[-1]["strings"],
        "zone_words_per_s": round(words / min(timings["zone"])),
        "no_zone_words_per_s": round(words / min(timings["no_zone"])),
        "samples": samples,
    }
    shutil.rmtree(cache, ignore_errors=True)
    return report


# --------------------------------------------------------------------------- the app under many sessions

STRIP_JS = 's => s.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").trim()'
NAMES_JS = f"""() => {{
  const strip = {STRIP_JS};
  const paths = [...document.querySelectorAll("path.dl-place")];
  const out = [];
  for (const fg of window.feature_group || []) fg.eachLayer(l => {{
    const tip = l.getTooltip ? l.getTooltip() : null;
    const name = tip ? strip(String(tip.getContent()).replace(/<[^>]*>/g, "")) : "";
    const box = l._path ? l._path.getBoundingClientRect() : null;
    const top = !!box && document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === l._path;
    out.push({{name: name, index: paths.indexOf(l._path), top: top}});
  }});
  return out;
}}"""
TITLE_JS = f"""() => {{
  const strip = {STRIP_JS};
  const el = document.querySelector(".dl-card-title");
  return el ? strip(el.textContent) : "";
}}"""
CHANGED_JS = f"""(before) => {{
  const strip = {STRIP_JS};
  const el = document.querySelector(".dl-card-title");
  return !!el && strip(el.textContent) !== before;
}}"""
MAP_IFRAME = "iframe[title='streamlit_folium.st_folium']"
CLICKED_JS = f"""() => {{
  const strip = {STRIP_JS};
  const d = window.__GLOBAL_DATA__ || {{}};
  return {{count: d.last_object_clicked_count ?? -1, name: strip(String(d.last_object_clicked_tooltip || ""))}};
}}"""


class Session:
    """One reader: pastes articles and clicks their markers until time is up."""

    def __init__(self, number: int, browser, url: str, texts: list[str], deadline: float) -> None:
        self.number, self.browser, self.url, self.texts, self.deadline = number, browser, url, texts, deadline
        self.rng = random.Random(number)
        self.clicks: list[float] = []
        self.errors: list[str] = []
        self.articles = 0
        self.covered = 0
        self.missed = 0
        self.sent = 0  # websocket messages this page has sent to the app

    async def run(self) -> None:
        context = await self.browser.new_context(viewport={"width": 1400, "height": 900})
        await context.route("**/*", self._local_only)
        page = await context.new_page()
        page.on("console", lambda msg: self._console(msg))
        page.on("websocket", self._websocket)
        page.set_default_timeout(60_000)
        try:
            await page.goto(self.url, wait_until="domcontentloaded")
            await page.frame_locator(MAP_IFRAME).last.locator("path.dl-place").first.wait_for(
                state="attached", timeout=180_000
            )
            while time.monotonic() < self.deadline:
                try:
                    await self._paste(page)
                    for _ in range(3):
                        if time.monotonic() >= self.deadline:
                            break
                        await self._click(page)
                except Exception as exc:  # a time-out or a page error: count it and carry on
                    self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                if await page.locator("[data-testid=stException]").count():
                    self.errors.append("the app showed an exception")
                    await page.reload()
        finally:
            await context.close()

    async def _local_only(self, route) -> None:
        host = route.request.url.split("/")[2].split(":")[0]
        await (route.continue_() if host in ("127.0.0.1", "localhost") else route.abort())

    def _websocket(self, ws) -> None:
        """A closed app connection means the reader saw "Connecting…" and lost what they clicked meanwhile."""
        opened = time.monotonic()
        if "/_stcore/stream" in ws.url:
            ws.on("framesent", lambda _payload: setattr(self, "sent", self.sent + 1))
            ws.on("close", lambda _ws: self.errors.append(
                f"websocket closed after {time.monotonic() - opened:.0f} s"))

    def _console(self, msg) -> None:
        if msg.type == "warning" and ("Component" in msg.text or "registered" in msg.text):
            self.errors.append(f"console warning: {msg.text[:200]}")
        if msg.type == "error" and "ERR_FAILED" not in msg.text:
            self.errors.append(f"console: {msg.text[:160]}")

    async def _settle(self, page) -> None:
        await page.wait_for_function(
            """() => { const a = document.querySelector("[data-testid=stApp]");
                       return a && a.getAttribute("data-test-script-state") === "notRunning"; }""",
            timeout=120_000,
        )

    async def _paste(self, page) -> None:
        text = self.texts[self.rng.randrange(len(self.texts))]
        expander = page.get_by_text("Add articles: upload or paste")
        if not await page.get_by_label("…or paste an article").is_visible():
            await expander.click()
        await page.get_by_label("…or paste an article").fill(novel(text, self.rng)[:6000])
        await page.get_by_role("button", name="Map this text").click()
        await self._settle(page)
        self.articles += 1

    async def _map(self, page):
        """The map iframe's frame once there is exactly one (Streamlit swaps iframes during a rerun)."""
        deadline = time.monotonic() + 30
        while True:
            await self._settle(page)
            handles = await page.query_selector_all(MAP_IFRAME)
            inner = await handles[0].content_frame() if len(handles) == 1 else None
            with contextlib.suppress(Exception):
                if inner is not None and await inner.evaluate("() => !!(window.map && window.feature_group)"):
                    return inner
            if time.monotonic() > deadline:
                raise TimeoutError(f"no single map iframe with a map ({len(handles)} iframes)")
            await asyncio.sleep(0.1)

    async def _click(self, page) -> None:
        """Click a marker as a reader would (once it stands still and nothing covers it); time the panel.

        A click the marker itself never registered (the map was still moving, or a marker slid on
        top) is retried elsewhere and counted as ``missed``; a click it registered must be answered.
        """
        inner = await self._map(page)
        names = [m for m in await inner.evaluate(NAMES_JS) if m["index"] >= 0 and m["name"]]
        before = await page.evaluate(TITLE_JS)
        for m in names:
            m["name"] = m["name"].split(" · ")[0]  # "Kabul · article title" when several articles are shown
        names = [m for m in names if m["top"] and m["name"] != before]  # clickable, and not the place shown now
        if not names:
            return
        target = self.rng.choice(names)
        clicks_before = (await inner.evaluate(CLICKED_JS))["count"]
        started = time.perf_counter()
        sent_before = self.sent
        try:
            await inner.locator("path.dl-place").nth(target["index"]).click(timeout=15_000)
        except Exception:
            self.missed += 1  # covered or moving for 15 s: a reader would click something else
            return
        clicked = await inner.evaluate(CLICKED_JS)
        if clicked["count"] == clicks_before or clicked["name"].split(" · ")[0] == before:
            self.missed += 1  # the click landed on the map or on the place already shown: nothing to answer
            return
        try:
            await page.wait_for_function(CHANGED_JS, arg=before, timeout=60_000)  # the side panel shows a new place
        except Exception as exc:
            now = await page.evaluate(TITLE_JS)
            iframes = len(await page.query_selector_all(MAP_IFRAME))
            sent = self.sent - sent_before
            raise TimeoutError(
                f"the marker took the click on {clicked['name']!r} but after 60 s the panel still shows {now!r} "
                f"({iframes} map iframes; {sent} messages sent to the server since the click)"
            ) from exc
        self.clicks.append(time.perf_counter() - started)
        if await page.evaluate(TITLE_JS) != target["name"]:
            self.covered += 1  # another marker lay on top and took the click (the panel still answered)
        await self._settle(page)


async def _drive(url: str, sessions: int, minutes: float, chromium: str, server_pid: int) -> dict:
    from playwright.async_api import async_playwright

    texts = base_texts()
    rss: list[tuple[float, float]] = []
    deadline = time.monotonic() + minutes * 60
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"])  # fmt: skip
        readers = [Session(i, browser, url, texts, deadline) for i in range(sessions)]

        async def sample() -> None:
            start = time.monotonic()
            while time.monotonic() < deadline + 5:
                rss.append((round(time.monotonic() - start), round(rss_mb(server_pid), 1)))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(r.run() for r in readers), return_exceptions=False)
        sampler.cancel()
        await browser.close()
    clicks = sorted(c for r in readers for c in r.clicks)
    errors = [e for r in readers for e in r.errors]
    late = [m for t, m in rss if t >= 120]
    return {
        "sessions": sessions,
        "minutes": minutes,
        "articles_added": sum(r.articles for r in readers),
        "clicks": len(clicks),
        "clicks_taken_by_a_covering_marker": sum(r.covered for r in readers),
        "clicks_missed_no_marker_took_them": sum(r.missed for r in readers),
        "click_to_panel_p50_s": round(statistics.median(clicks), 2) if clicks else None,
        "click_to_panel_p95_s": round(clicks[int(0.95 * (len(clicks) - 1))], 2) if clicks else None,
        "errors": len(errors),
        "error_kinds": sorted({e[:300] for e in errors})[:20],
        "server_rss_max_mb": max(m for _, m in rss),
        "server_rss_after_2_min_mb": late[0] if late else None,
        "server_rss_end_mb": rss[-1][1],
        "server_rss_second_half_mb_per_min": _slope([(t, m) for t, m in rss if t >= minutes * 30]),
        "server_rss": rss,
    }


def _slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares growth in MB per minute of (seconds, MB) samples: ~0 when memory is flat."""
    if len(points) < 3:
        return None
    return round(60 * statistics.linear_regression([t for t, _ in points], [m for _, m in points]).slope, 1)


def soak_app(args: argparse.Namespace) -> dict:
    from geo.app.devserver import running_app
    from geo.app.offline_assets import ensure_static_assets

    chromium = args.chromium or shutil.which("chromium") or "/usr/bin/chromium"
    ensure_static_assets()
    cache = Path(tempfile.mkdtemp(prefix="dateline-soak-app-"))
    shared = Path(args.cache_dir or ROOT / "cache") / "gazetteer.sqlite3"
    if shared.exists():
        shutil.copy(shared, cache / "gazetteer.sqlite3")
    env = {**os.environ, "DATELINE_CACHE_DIR": str(cache), "DATELINE_OFFLINE_ASSETS": "1"}
    log = RESULTS / "soak-app-server.log"
    with running_app(ROOT / "app.py", cwd=ROOT, env=env, log=log, timeout=120) as app:
        report = asyncio.run(_drive(app.url, args.sessions, args.minutes, chromium, app.pid))
    shutil.rmtree(cache, ignore_errors=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", default=None, help="where a built gazetteer is (copied, not changed)")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("engine")
    p.add_argument("--articles", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--compare", type=int, default=200, help="articles timed with and without the memory zone")
    p = sub.add_parser("app")
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--chromium", default=None)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = soak_engine(args) if args.what == "engine" else soak_app(args)
    (RESULTS / f"soak-{args.what}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("samples", "server_rss")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
