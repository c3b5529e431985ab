"""Run a Streamlit app headless on a free local port, wait until it answers, and stop it.

The browser tests and ``docs/make_screenshot.py`` all need the same careful start and stop: a port
nobody holds, no usage statistics or file watcher, a health check that gives up when the process dies,
and the whole process group ended afterwards (Streamlit starts children). This module does not import
Streamlit; it runs ``python -m streamlit`` as a separate process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOG_TAIL_CHARS = 3000  # how much of the server's output a start failure quotes

# A browser init script for the page (it does nothing in frames): every 5 ms it looks into the map's
# (same-origin) frame and notes in ``window.__dlFirstMarker`` when a marker (``path.dl-place``, the Collection
# view's too) is first in it, in ms since the page's navigation start (``performance.timeOrigin`` turns it into
# epoch time). The page resets it on reload. A script in the frame itself would watch the frame's first, empty
# document, which the map's page replaces.
FIRST_MARKER_SCRIPT = """
(() => {
  if (window.top !== window) return;
  const look = setInterval(() => {
    for (const frame of document.querySelectorAll("iframe")) {
      let doc = null;
      try { doc = frame.contentDocument; } catch (e) { continue; }
      if (doc && doc.querySelector("path.dl-place")) {
        window.__dlFirstMarker = performance.now();
        clearInterval(look);
        return;
      }
    }
  }, 5);
})();
"""


class ServerStartError(RuntimeError):
    """The app did not answer its health check: it exited or took too long. The message ends with its log."""


@dataclass(frozen=True)
class RunningApp:
    url: str  # ends with "/", includes the base path
    started: float  # time.monotonic() when the process was started
    log: Path  # the server's stdout and stderr
    pid: int  # the server process (for measuring it, e.g. its memory)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    app: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    options: Sequence[str] = (),
    base_path: str = "",
    timeout: float = 60.0,
) -> Iterator[RunningApp]:
    """``streamlit run app`` on 127.0.0.1 until the block ends; ``options`` are further ``--server.*`` flags.

    Raises ServerStartError if the health check does not answer within ``timeout`` seconds.
    """
    port = free_port()
    if base_path:
        options = [*options, "--server.baseUrlPath", base_path]
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *options,
    ]
    url = f"http://127.0.0.1:{port}/" + (f"{base_path.strip('/')}/" if base_path else "")
    with tempfile.TemporaryDirectory(prefix="dateline-server-") as scratch:
        log = log or Path(scratch) / "server.log"
        with log.open("wb") as out:
            started = time.monotonic()
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=dict(env or os.environ), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                _wait_healthy(proc, url, log, timeout)
                yield RunningApp(url=url, started=started, log=log, pid=proc.pid)
            finally:
                _stop(proc)


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]
            raise ServerStartError(f"streamlit did not start (exit code {proc.poll()}):\n{tail}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
