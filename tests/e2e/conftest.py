"""Fixtures for the browser tests: one ``streamlit run app.py`` and one headless Chromium per module.

The server runs in its own process group with DATELINE_OFFLINE_ASSETS=1 and
the session's temporary cache (tests/conftest.py ``cache_dir``, gazetteer
built first), and is always killed when the module ends. Pages get a :class:`Watch` that aborts and records every
request not addressed to this machine and collects console errors, page
errors and dialogs; the summary at the end of the run lists what was blocked,
which console errors were ignored and the measured time to first marker.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from geo.app.devserver import FIRST_MARKER_SCRIPT, RunningApp, ServerStartError, running_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium-headless-shell", "chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
    # Nothing but this machine resolves, whatever asks (the route below is the second line of defence).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1440, "height": 960}
MISSING_BROWSER = (
    "the browser tests need Chromium: install Debian's 'chromium' package (apt-get install chromium) "
    "or 'chromium-headless-shell'"
)
SERVER_START_S = 90.0
ACTION_MS = 20_000  # default for clicks and waits; Streamlit answers within a second or two

# Anything that is not http(s)/ws(s) to this machine, nor an in-page URL.
NON_LOCAL = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)[:/])(?!data:|blob:|about:)")

# Records an alert/confirm/prompt in whichever frame calls it (dialog events are checked too); then, in the
# top page, notes when the first map marker exists, for the time-to-first-marker note (FIRST_MARKER_SCRIPT).
INIT_SCRIPT = """
(() => {
  window.__dlDialogs = [];
  for (const name of ["alert", "confirm", "prompt"]) {
    const real = window[name];
    window[name] = function (...args) {
      window.__dlDialogs.push(name + ":" + String(args[0]));
      return real.apply(this, args);
    };
  }
})();
""" + FIRST_MARKER_SCRIPT


CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (CI=true) the browser is installed, so a missing one is a failure."""
    if CI:
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """DATELINE_CHROMIUM if set (an empty or wrong path means "none"), else Debian's Chromium, else None."""
    override = os.environ.get("DATELINE_CHROMIUM")
    if override is not None:
        path = override if os.path.isabs(override) else shutil.which(override)
        return path if path and os.access(path, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    return None


# --------------------------------------------------------------------------- what the page did


@dataclass
class Watch:
    """Everything one page asked for and complained about."""

    name: str
    blocked: list[str] = field(default_factory=list)  # non-local requests aborted by the route
    attempted: list[str] = field(default_factory=list)  # every non-local request the page started
    succeeded: list[str] = field(default_factory=list)  # non-local requests that got an answer
    sockets: list[str] = field(default_factory=list)  # WebSocket URLs
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    ignored: list[str] = field(default_factory=list)  # console errors caused by blocked requests
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.route(NON_LOCAL, self._refuse)
        page.on("request", lambda r: self.attempted.append(r.url) if NON_LOCAL.match(r.url) else None)
        page.on("requestfinished", lambda r: self.succeeded.append(r.url) if NON_LOCAL.match(r.url) else None)
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("dialog", self._dialog)

    def _refuse(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort()

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        text = f"{msg.text} [{where}]"
        # Chromium logs "Failed to load resource" with the failed URL as the location: for a URL this
        # watch refused, that is the blocking at work, not an error of the app.
        if msg.text.startswith("Failed to load resource") and where in self.blocked:
            self.ignored.append(text)
        else:
            self.errors.append(text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@dataclass
class Report:
    """Collected over the session and printed in the terminal summary."""

    watches: list[Watch] = field(default_factory=list)
    timings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = list(self.timings)
        for w in self.watches:
            tried = sorted(set(w.attempted) | set(w.blocked))
            out.append(f"{w.name}: {len(tried)} external request(s) attempted"
                       + (": " + ", ".join(u[:120] for u in tried) if tried else ""))
            out += [f"{w.name}: ignored console error (a blocked request): {t[:200]}" for t in w.ignored]
        return out


REPORT = Report()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print (and keep in test-artifacts/e2e-report.txt) the timings and what the pages asked for."""
    if not REPORT.watches and not REPORT.timings:
        return
    terminalreporter.section("Dateline browser tests")
    lines = REPORT.lines()
    for line in lines:
        terminalreporter.write_line(line)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "e2e-report.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- server and browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _skip_or_fail(MISSING_BROWSER)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("the browser tests need the Python package playwright (pip install -e '.[test]')")
    return path


def serve_app(cache: Path, tmp_path_factory: pytest.TempPathFactory, name: str = "streamlit-server",
              env: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """``streamlit run app.py`` on a free port with offline assets, the cache dir ``cache`` and ``env`` on top;
    its log is kept as ``test-artifacts/<name>.log``."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "DATELINE_CACHE_DIR": str(cache), "DATELINE_OFFLINE_ASSETS": "1", **(env or {})}
    try:
        with running_app(ROOT / "app.py", cwd=ROOT, env=env, log=log, timeout=SERVER_START_S) as app:
            yield app
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        if log.exists():
            shutil.copyfile(log, ARTIFACTS / f"{name}.log")  # for a failed run's post-mortem


@pytest.fixture(scope="module")
def app_server(chromium_path: str, cache_dir: Path, gazetteer: Any, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RunningApp]:
    """``streamlit run app.py`` on a free port, offline assets, the session's cache (gazetteer built)."""
    del chromium_path, gazetteer  # only ordering: skip before starting, build the gazetteer first
    yield from serve_app(cache_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Chromium for one module: Playwright's sync API allows one instance at a time, and
    other modules (tests/test_offline_assets.py) start their own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def open_page(browser: Any) -> Iterator[Callable[[str], tuple[Any, Watch]]]:
    """Factory: a page in a fresh context (a new Streamlit session), with the init script and a Watch."""
    contexts: list[Any] = []

    def make(name: str) -> tuple[Any, Watch]:
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        contexts.append(context)
        context.set_default_timeout(ACTION_MS)
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        watch = Watch(name)
        watch.attach(page)
        REPORT.watches.append(watch)
        return page, watch

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def report() -> Report:
    """The session's report: tests add timings; the terminal summary prints it."""
    return REPORT
