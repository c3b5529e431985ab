"""The editor's corrections and an article with no places, in a real browser cut off from the internet.

The server of this module runs on a cache directory of its own (the session's gazetteer, linked, and fresh
stores), so the corrections saved here never reach another test's app. The guard of conftest.py blocks
every request that leaves this machine; the last test checks that none was made and nothing logged an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.app.devserver import RunningApp

from .conftest import Report, serve_app
from .test_browser import (
    UI_MS,
    click_marker,
    eventually,
    expect,
    km_between,
    map_locator,
    markers,
    open_app,
    settle,
    shot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEWARK_TEXT = "NEWARK, N.J. (AP) — The mayor of Newark said on Monday that the city would repave its roads."
NO_PLACES_TEXT = "The committee met on Tuesday and agreed to meet again next week, the chair said."


@pytest.fixture(scope="module")
def app_server(chromium_path: str, cache_dir: Path, gazetteer: Any, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RunningApp]:
    """``streamlit run app.py`` with offline assets on a cache dir of its own (the session's gazetteer)."""
    del chromium_path, gazetteer  # only ordering: skip before starting, build the gazetteer first
    mine = tmp_path_factory.mktemp("browser-corrections-cache")
    (mine / "gazetteer.sqlite3").symlink_to((cache_dir / "gazetteer.sqlite3").resolve())
    yield from serve_app(mine, tmp_path_factory, "streamlit-corrections-server")


@pytest.fixture(scope="module", autouse=True)
def _expect_timeout() -> Iterator[None]:
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


def paste_alone(page: Any, text: str, title: str) -> None:
    """Take the seed article off the map and map a pasted text instead."""
    page.get_by_role("button", name="Remove Tashkent conference").click()
    expect(page.get_by_text("Pick an article in the sidebar")).to_be_visible(timeout=UI_MS)
    settle(page)
    page.get_by_text("Add articles: upload or paste").click()
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_label("Title (optional)").press("Enter")
    settle(page)
    box = page.get_by_label("…or paste an article")
    box.fill(text)
    box.press("Control+Enter")
    settle(page)
    page.get_by_role("button", name="Map this text").click()
    expect(page.locator("[data-testid=stMultiSelect]")).to_contain_text(title, timeout=UI_MS)
    settle(page)


def test_a_typed_correction_is_saved_and_used(open_page: Any, app_server: RunningApp, gazetteer: Any,
                                              artifacts: Path) -> None:
    """Newark (New Jersey, as the resolver reads it) typed as "Newark, Delaware": the marker moves there, the
    saved list says so in words, and a new session reading the article again gets the corrected place."""
    delaware = next(c for c in gazetteer.lookup("Newark") if c.admin1 == "US.DE" and c.feature.value == "city")
    page, _, _ = open_app(open_page, app_server, "typed-correction page")
    paste_alone(page, NEWARK_TEXT, "Newark roads")
    expect(map_locator(page).locator("path.dl-place").first).to_be_attached(timeout=UI_MS)
    before = markers(page)["Newark"]
    assert km_between(before["lat"], before["lng"], delaware.lat, delaware.lon) > 50
    click_marker(page, "Newark")
    expect(page.locator(".dl-card-title")).to_have_text("Newark", timeout=UI_MS)
    settle(page)
    expect(page.get_by_role("combobox", name="Reading")).to_have_value(
        re.compile(r"Newark, New Jersey, United States · city / town · pop\. [\d,]+ · \d+%"))

    search = page.get_by_role("textbox", name="Not listed? Type a place or coordinates")
    search.fill("Newark, Delaware")
    search.press("Enter")
    expect(page.get_by_role("combobox", name="Matches")).to_have_value(
        re.compile(r"^Newark, Delaware, United States · city / town · pop\. [\d,]+$"), timeout=UI_MS)
    settle(page)
    shot(page, artifacts, "10-typed-correction-matches")
    page.get_by_role("button", name="Use this place").click()

    moved = eventually(lambda: markers(page).get("Newark"),
                       lambda m: m is not None and km_between(m["lat"], m["lng"], delaware.lat, delaware.lon) < 1)
    assert moved and km_between(moved["lat"], moved["lng"], delaware.lat, delaware.lon) < 1, moved
    expect(page.locator(".dl-card")).to_contain_text("your correction", timeout=UI_MS)
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Your corrections (1)").click()
    expect(sidebar).to_contain_text("Newark → Newark, Delaware, United States (articles set in United States)")
    settle(page)
    shot(page, artifacts, "11-typed-correction-saved")

    again, _, _ = open_app(open_page, app_server, "typed-correction, next session")
    paste_alone(again, NEWARK_TEXT, "Newark roads")
    used = eventually(lambda: markers(again).get("Newark"),
                      lambda m: m is not None and km_between(m["lat"], m["lng"], delaware.lat, delaware.lon) < 1)
    assert used and km_between(used["lat"], used["lng"], delaware.lat, delaware.lon) < 1, used


def test_an_article_with_no_places_says_so_and_shows_its_text(open_page: Any, app_server: RunningApp,
                                                              artifacts: Path) -> None:
    page, _, _ = open_app(open_page, app_server, "no-places page")
    paste_alone(page, NO_PLACES_TEXT, "Committee")
    expect(page.get_by_text("No places found in “Committee”: its text is on the right.")).to_be_visible(
        timeout=UI_MS)
    expect(page.get_by_role("heading", name="No places found")).to_be_visible()
    article = page.locator(".dl-article")
    expect(article).to_be_visible()
    expect(article).to_have_text(NO_PLACES_TEXT)
    expect(map_locator(page).locator("path.dl-place")).to_have_count(0)
    settle(page)
    shot(page, artifacts, "12-no-places-message")


def test_no_external_requests_no_console_errors(report: Report) -> None:
    """Every page of this module: nothing left this machine, nothing logged an error, no dialog."""
    watches = [w for w in report.watches if w.name.startswith(("typed-correction", "no-places"))]
    assert len(watches) == 3
    for w in watches:
        assert w.succeeded == [] and w.attempted == [] and w.blocked == [], f"{w.name}: {w.attempted}"
        assert w.errors == [], f"{w.name}: console errors: {w.errors}"
        assert w.dialogs == [], f"{w.name}: dialogs: {w.dialogs}"
