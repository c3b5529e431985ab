"""The explorer's server: it readies the engine as it starts, so the first visitor does not wait for it.

``streamlit run app.py`` imports app.py to find its ``st.App`` before the server starts, outside any script
run; this module is what that import needs, so it stays light (no folium, pandas or spaCy at import). The
lifespan starts :func:`warm_up` in a thread: the server answers at once, and a visitor who comes before the
engine is ready waits for it on the page as before (the engine and the readings are built once, under the
locks of :mod:`geo.app.ui`'s shared caches).

The first page needs neither spaCy nor its model when the default article's reading is kept on disk
(:class:`geo.cache.ReadingCache`): the warm-up readies that page first, and loads the language model (for
articles not read before) once the first visitor's map is drawn and no page has run for a few seconds: the
load holds the interpreter for about a second, and a reader's page or click made meanwhile would wait.

Then it freezes what it loaded out of the garbage collector's sight (:func:`gc.freeze`): Streamlit runs a full
collection after every rerun, and walking the engine's long-lived objects each time cost every click about
60 ms.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo.pipeline import Engine

log = logging.getLogger(__name__)

LANGUAGE_MODEL_WAIT_S = 10.0  # the longest the language model waits for a first visitor's map
QUIET_S = 3.0  # ...and then for this long without a page run


def warm_up(argv: Sequence[str] = ()) -> Engine | None:
    """Ready what a reader's first page needs, in the caches the page reads: the page's modules, then either
    the collection given with ``--store`` (the view that opens then, which needs no engine), or the engine and
    the default article's reading. Nothing is built when the gazetteer is missing: its first build shows its
    progress to the first visitor instead. Returns the engine readied, if any."""
    import folium  # noqa: F401  (the map; it imports pandas)

    from geo.app import collection, ui
    from geo.archive.store import StoreError
    from geo.gazetteer import Gazetteer

    store = collection.store_from_argv(argv)
    if store:
        with contextlib.suppress(StoreError):  # the page says, in one line, what is wrong with it
            collection.open_collection(store)
        return None
    cache = ui.cache_dir()
    if not Gazetteer.ready_in(cache):
        return None
    engine = ui.get_engine(cache, ui.OFFLINE)
    revision = ui.corrections_revision(engine)
    seeds = ui.seed_articles()
    state: dict[str, Any] = {}
    ui.init_state(state, seeds)
    for article in (a for a in seeds if a.id in state[ui.SHOWN]):
        ui.parse(cache, ui.OFFLINE, article, include_demonyms=False, revision=revision)
    return engine


def finish_loading(
    engine: Engine | None,
    first_page: threading.Event,
    last_run: Callable[[], float],
    wait_s: float = LANGUAGE_MODEL_WAIT_S,
    quiet_s: float = QUIET_S,
) -> None:
    """When the first map is drawn (or after ``wait_s``) and no page has run for ``quiet_s`` (``last_run``: the
    monotonic time a page last ran): the language model, then a full collection and :func:`gc.freeze`."""
    if engine is not None:
        first_page.wait(wait_s)
        while (quiet := time.monotonic() - last_run()) < quiet_s:
            time.sleep(quiet_s - quiet)
        engine.nlp  # noqa: B018  (loads it)
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def warm_server(app: object) -> AsyncIterator[None]:
    """app.py's ``st.App`` lifespan: :func:`warm_up` in a thread while the server starts and serves."""
    del app

    def run() -> None:
        try:
            engine = warm_up(sys.argv[1:])  # `streamlit run app.py -- --store PATH` gives the script these
            from geo.app import ui

            finish_loading(engine, ui.FIRST_PAGE, ui.last_page_run)
        except Exception:  # the visitor's page meets the same problem and says what it is
            log.exception("getting the engine ready at start failed")

    threading.Thread(target=run, name="dateline-warm-up", daemon=True).start()
    yield
