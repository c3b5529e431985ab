"""The explorer's server (app.py's ``st.App``) readies the engine as it starts, and its import stays light."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from geo.app import server, ui

ROOT = Path(__file__).resolve().parent.parent


def test_importing_app_py_gives_the_server_and_leaves_the_page_unrun():
    """`streamlit run app.py` imports app.py to find `app` before the server starts: nothing heavy may load."""
    code = (
        "import sys, app, streamlit as st; "
        "print(isinstance(app.app, st.App), sorted(m for m in ('pandas', 'folium', 'spacy', 'streamlit_folium', "
        "'geo.app.ui', 'geo.pipeline') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True []"


@pytest.fixture()
def cache_env(monkeypatch):
    def point_at(path: Path) -> None:
        monkeypatch.setenv("DATELINE_CACHE_DIR", str(path))

    return point_at


def test_warm_up_builds_the_engine_and_reads_the_default_article(cache_dir: Path, cache_env):
    cache_env(cache_dir)
    server.warm_up()
    cache = ui.cache_dir()
    assert ui.engine_ready(cache, ui.OFFLINE)
    engine = ui.get_engine(cache, ui.OFFLINE)
    seeds = ui.seed_articles()
    state: dict = {}
    ui.init_state(state, seeds)
    (article,) = [a for a in seeds if a.id in state[ui.SHOWN]]
    revision = ui.corrections_revision(engine)
    calls: list[str] = []
    original = engine.parse
    engine.parse = lambda *a, **k: calls.append("parsed") or original(*a, **k)  # type: ignore[method-assign]
    try:
        result = ui.parse(cache, ui.OFFLINE, article, include_demonyms=False, revision=revision)
    finally:
        del engine.parse
    assert result.places and calls == []  # the page finds the reading ready: nothing is parsed again


def test_warm_up_leaves_a_missing_gazetteer_to_the_first_visitor(tmp_path: Path, cache_env):
    """The first build shows its progress on the page, so the warm-up does not start it unseen."""
    cache_env(tmp_path)
    server.warm_up()
    assert not ui.engine_ready(tmp_path.resolve(), ui.OFFLINE)
    assert list(tmp_path.iterdir()) == []


def test_the_lifespan_answers_at_once_and_warms_in_a_thread(monkeypatch):
    started = threading.Event()
    release = threading.Event()

    def slow_warm_up(argv: object = ()) -> None:
        started.set()
        release.wait(10)
        raise RuntimeError("no model")  # logged, never raised into the server

    monkeypatch.setattr(server, "warm_up", slow_warm_up)

    async def serve() -> None:
        async with server.warm_server(object()):
            assert started.wait(10)  # running, and the server is already serving

    asyncio.run(serve())
    release.set()


def test_a_store_on_the_command_line_is_opened_instead_of_the_engine(tmp_path: Path, cache_env, monkeypatch):
    """`streamlit run app.py -- --store PATH` opens the Collection view, which needs no engine."""
    from geo.app import collection

    opened: list[str] = []
    monkeypatch.setattr(collection, "open_collection", lambda path: opened.append(path))
    cache_env(tmp_path)
    server.warm_up(["--store", str(tmp_path / "store")])
    assert opened == [str(tmp_path / "store")]
    assert not ui.engine_ready(tmp_path.resolve(), ui.OFFLINE)


def test_a_bad_store_is_left_for_the_page_to_report(tmp_path: Path, cache_env):
    cache_env(tmp_path)
    server.warm_up(["--store", str(tmp_path / "not-a-store")])  # no exception: the page says what is wrong
