"""The explorer's server: it readies the engine as it starts, so the first visitor does not wait for it.

``streamlit run app.py`` imports app.py to find its ``st.App`` before the server starts, outside any script
run; this module is what that import needs, so it stays light (no folium, pandas or spaCy at import). The
lifespan starts :func:`warm_up` in a thread: the server answers at once, and a visitor who comes before the
engine is ready waits for it on the page as before (the engine and the readings are built once, under the
locks of :mod:`geo.app.ui`'s shared caches).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


def warm_up(argv: Sequence[str] = ()) -> None:
    """Ready what a reader's first page needs, in the caches the page reads: the page's modules, then either
    the collection given with ``--store`` (the view that opens then, which needs no engine), or the engine and
    the default article's reading. Nothing is built when the gazetteer is missing: its first build shows its
    progress to the first visitor instead."""
    import folium  # noqa: F401  (the map; it imports pandas)

    from geo.app import collection, ui
    from geo.archive.store import StoreError
    from geo.gazetteer import Gazetteer

    store = collection.store_from_argv(argv)
    if store:
        with contextlib.suppress(StoreError):  # the page says, in one line, what is wrong with it
            collection.open_collection(store)
        return
    cache = ui.cache_dir()
    if not Gazetteer.ready_in(cache):
        return
    engine = ui.get_engine(cache, ui.OFFLINE)
    revision = ui.corrections_revision(engine)
    seeds = ui.seed_articles()
    state: dict[str, Any] = {}
    ui.init_state(state, seeds)
    for article in (a for a in seeds if a.id in state[ui.SHOWN]):
        ui.parse(cache, ui.OFFLINE, article, include_demonyms=False, revision=revision)


@asynccontextmanager
async def warm_server(app: object) -> AsyncIterator[None]:
    """app.py's ``st.App`` lifespan: :func:`warm_up` in a thread while the server starts and serves."""
    del app

    def run() -> None:
        try:
            warm_up(sys.argv[1:])  # `streamlit run app.py -- --store PATH` gives the script these
        except Exception:  # the visitor's page meets the same problem and says what it is
            log.exception("getting the engine ready at start failed")

    threading.Thread(target=run, name="dateline-warm-up", daemon=True).start()
    yield
