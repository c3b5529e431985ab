"""The explorer's server: it readies the engine as it starts, so the first visitor does not wait for it.

``streamlit run app.py`` imports app.py to find its ``st.App`` before the server starts, outside any script
run; this module is what that import needs, so it stays light (no folium, pandas or spaCy at import). The
lifespan starts :func:`warm_up` in a thread: the server answers at once, and a visitor who comes before the
engine is ready waits for it on the page as before (the engine and the readings are built once, under the
locks of :mod:`geo.app.ui`'s shared caches).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Ready what a reader's first page needs: the page's modules, the engine, and the default article's
    reading, in the caches the page reads. Nothing is built when the gazetteer is missing: its first build
    shows its progress to the first visitor instead."""
    import folium  # noqa: F401  (the map; it imports pandas)

    from geo.app import ui
    from geo.gazetteer import Gazetteer

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
            warm_up()
        except Exception:  # the visitor's page meets the same problem and says what it is
            log.exception("getting the engine ready at start failed")

    threading.Thread(target=run, name="dateline-warm-up", daemon=True).start()
    yield
