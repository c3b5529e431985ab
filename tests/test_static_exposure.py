"""Nothing but the map assets (vendored scripts, basemap files) can be read through the running app.

Streamlit serves ``static/`` (for the offline map) and each component's folder; a path
with ``..``, encoded or not, must not reach ``cache/`` (the user's corrections), the
source, or anything else on the machine.
"""

from __future__ import annotations

import http.client
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from geo.app.devserver import running_app
from geo.app.offline_assets import DEFAULT_STATIC_DIR, ensure_static_assets

pytestmark = pytest.mark.slow  # starts a Streamlit server

ROOT = Path(__file__).resolve().parent.parent

PROBES = [
    "app/static/../cache/{canary}",
    "app/static/..%2fcache%2f{canary}",
    "app/static/%2e%2e/cache/{canary}",
    "app/static/%2e%2e%2fcache%2f{canary}",
    "app/static/vendor/../../cache/{canary}",
    "app/static/vendor/..%2f..%2fcache%2f{canary}",
    "app/static/..%5ccache%5c{canary}",
    "app/static/....//cache/{canary}",
    "app/static/%252e%252e/cache/{canary}",
    "app/static//{root}/cache/{canary}",
    "app/static/%2f{root}/cache/{canary}",
    "app/static/cache/{canary}",
    "app/static/../app.py",
    "app/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "app/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "component/streamlit_folium.st_folium/../../../../{root}/cache/{canary}",
    "component/streamlit_folium.st_folium/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "component/streamlit_folium.st_folium/%2f{root}/cache/{canary}",
    "static/../cache/{canary}",
    "static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "media/..%2f..%2f..%2f..%2fetc%2fpasswd",
]


def _get(url: str, path: str) -> tuple[int, bytes]:
    """GET exactly ``path`` (no client-side normalisation of ``..`` or escapes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path + path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def canary():
    """A file in the app's own cache/ folder, where the user's corrections live."""
    folder = ROOT / "cache"
    folder.mkdir(exist_ok=True)
    secret = f"dateline-canary-{secrets.token_hex(8)}"
    path = folder / f"{secret}.txt"
    path.write_text(secret, encoding="utf-8")
    yield path.name, secret.encode()
    path.unlink(missing_ok=True)


def test_the_static_folder_holds_only_the_vendored_assets():
    """The copied map assets and the basemap files (made from package data and the gazetteer's public
    GeoNames names), nothing else."""
    ensure_static_assets()
    assert sorted(p.name for p in DEFAULT_STATIC_DIR.iterdir()) == ["basemap", "vendor"]
    made = {p.suffix for p in (DEFAULT_STATIC_DIR / "basemap").rglob("*") if p.is_file()}
    assert made == {".json"}, made


def test_no_path_reads_a_file_outside_the_served_assets(canary, tmp_path):
    name, secret = canary
    ensure_static_assets()
    source = (ROOT / "app.py").read_bytes()[:200]
    with running_app(ROOT / "app.py", cwd=ROOT, env={**os.environ, "DATELINE_CACHE_DIR": str(tmp_path)}) as app:
        status, body = _get(app.url, "app/static/vendor/leaflet/leaflet.js")
        assert status == 200 and b"Leaflet" in body  # static serving is on, so the probes below mean something
        for probe in PROBES:
            path = probe.format(canary=name, root=str(ROOT).lstrip("/"))
            status, body = _get(app.url, path)
            leaked = secret in body or source in body or b"root:x:0:0" in body
            assert not leaked, f"{path} answered {status} with a file it must not serve"

