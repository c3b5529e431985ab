"""Shared fixtures: one gazetteer and engine per test session, in a temporary cache directory.

The gazetteer is built once (about 25 s) from the installed data packages, so
the tests exercise the real build; nothing touches the user's ``cache/``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property-based tests are part of the normal test command: seeded (the same examples every run, no example
# database), bounded, and without per-example deadlines (spaCy's first call on a long text is slow).
settings.register_profile(
    "dateline",
    derandomize=True,
    database=None,
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("dateline-long", parent=settings.get_profile("dateline"), max_examples=500)
settings.load_profile(os.environ.get("DATELINE_HYPOTHESIS_PROFILE", "dateline"))

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "tashkent-conference.txt"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Fail loudly if a test tries to reach anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise OSError(f"test tried to reach {host}: tests never touch the internet")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    shared = os.environ.get("DATELINE_TEST_CACHE")
    if shared:
        return Path(shared)
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def gazetteer(cache_dir):
    from geo.gazetteer import Gazetteer

    return Gazetteer.open(cache_dir)


@pytest.fixture(scope="session")
def engine(cache_dir, gazetteer):
    from geo.pipeline import Engine

    return Engine(cache_dir)


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_result(engine, seed_text):
    return engine.parse(seed_text, title="Tashkent conference")
