"""The Collection view in a real browser, offline: a store's places on the map; clicking one lists its articles,
and an article opens in the single-article view."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.app.devserver import RunningApp
from tests.factories import write_store
from tests.test_collection import ARTICLES

from .conftest import Report, serve_app
from .test_browser import (
    FIRST_MAP_MS,
    UI_MS,
    click_marker,
    eventually,
    map_frame,
    map_locator,
    markers,
    set_view,
    settle,
    shot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the conftest's chromium_path fixture skips or fails first
    pytest.skip("the browser tests need the Python package playwright", allow_module_level=True)


@pytest.fixture(scope="module")
def collection_server(chromium_path: str, cache_dir: Path, engine: Any, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[RunningApp]:
    """``streamlit run app.py`` with DATELINE_STORE set to a small store (what ``-- --store PATH`` sets)."""
    del chromium_path
    store = write_store(engine, ARTICLES, tmp_path_factory.mktemp("collection-e2e") / "store")
    yield from serve_app(cache_dir, tmp_path_factory, "streamlit-server-collection", {"DATELINE_STORE": str(store)})


def test_clicking_a_place_lists_its_articles_and_one_opens(open_page: Any, collection_server: RunningApp,
                                                           artifacts: Path, report: Report) -> None:
    page, watch = open_page("collection")
    page.goto(collection_server.url, wait_until="domcontentloaded")
    expect(map_locator(page).locator("path.dl-place.dl-collection").first).to_be_attached(timeout=FIRST_MAP_MS)
    settle(page)
    found = markers(page)
    assert "Karachi, PK · 3 articles" in found and "Paris, FR · 1 article" in found
    shot(page, artifacts, "20-collection-map")

    # the reader zooms in on Pakistan (at the world view its three places overlap), then clicks Karachi
    set_view(map_frame(page), 29, 70, 5)
    settle(page)
    eventually(lambda: markers(page), lambda found: "Paris, FR · 1 article" not in found)  # only what is in view
    started = time.monotonic()
    click_marker(page, "Karachi, PK · 3 articles")
    heading = page.get_by_role("heading", name="Karachi, Pakistan")
    expect(heading).to_be_visible(timeout=UI_MS)
    report.timings.append(f"collection: click on a place -> its article list: {time.monotonic() - started:.2f} s "
                          "(hover and tooltip check included)")
    expect(page.get_by_text("Named in 3 articles")).to_be_visible()
    passages = page.locator(".dl-coll-passages")
    expect(passages).to_have_count(3)
    expect(passages.first).to_contain_text("port reopened after the storm")  # newest first
    expect(passages.first.locator("mark")).to_have_count(2)
    expect(map_locator(page).locator("path.dl-place.dl-selected")).to_have_count(1)
    settle(page)
    shot(page, artifacts, "21-collection-place-clicked")

    page.get_by_role("button", name="Open this article").first.click()
    # the first article opened on this server loads the language model (the collection view never needs it)
    expect(page.get_by_role("heading", name="Read the passages")).to_be_visible(timeout=FIRST_MAP_MS)
    expect(map_locator(page).locator("path.dl-place").first).to_be_attached(timeout=UI_MS)
    settle(page)
    assert any(name.startswith("Karachi") for name in markers(page))
    shot(page, artifacts, "22-collection-article-opened")
    assert watch.succeeded == [] and watch.attempted == [] and watch.blocked == []
    assert watch.errors == [] and watch.dialogs == []
