"""The editor in the explorer (AppTest): typed corrections, one spelling at a time, the saved list, empty
articles, the "Mainly about" line, the geocoder warning and the upload limit.

These tests save corrections, so they run on a cache directory of their own (the session's gazetteer,
linked, and fresh stores): another test run sharing the session's cache never sees them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.app import corrections, ui
from geo.app.mapview import MapLayer
from geo.cache import CorrectionStore, StoreError
from geo.model import Feature
from geo.textio import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB
from tests.factories import AFGHANISTAN, PAKISTAN, sample_result
from tests.test_app import click, html_of, marker_named, markers, start

ROOT = Path(__file__).resolve().parent.parent
NEWARK_TEXT = "NEWARK, N.J. (AP) — The mayor of Newark said on Monday that the city would repave its roads."
US_TEXT = "The United States sent aid on Monday. US officials said the US would help more."
NO_PLACES_TEXT = "The committee met on Tuesday and agreed to meet again next week, the chair said."


@pytest.fixture(scope="module", autouse=True)
def own_cache(cache_dir: Path, gazetteer, tmp_path_factory) -> Iterator[Path]:
    """A cache dir with the session's gazetteer and stores of its own, for the app under test."""
    del gazetteer  # built first
    mine = tmp_path_factory.mktemp("corrections-cache")
    (mine / "gazetteer.sqlite3").symlink_to((cache_dir / "gazetteer.sqlite3").resolve())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATELINE_CACHE_DIR", str(mine))
        yield mine


@pytest.fixture(autouse=True)
def no_corrections(own_cache: Path) -> Iterator[CorrectionStore]:
    store = CorrectionStore(own_cache / "corrections.sqlite3")
    yield store
    for fix in store.all():
        store.remove(fix.name, fix.context)


def paste(at: AppTest, text: str, title: str) -> AppTest:
    """Paste an article: it joins the articles on the map."""
    at.text_area(key="paste_text").input(text)
    at.text_input(key="paste_title").input(title)
    next(b for b in at.button if b.label == "Map this text").click()
    at.run()
    assert not at.exception, at.exception
    return at


def only(at: AppTest, text: str, title: str) -> AppTest:
    """Paste an article and show it alone on the map."""
    paste(at, text, title)
    pasted = [a for a in at.session_state[ui.SHOWN] if a.startswith("paste:")]
    at.multiselect(key=ui.SHOWN).set_value(pasted)
    at.run()
    assert not at.exception, at.exception
    return at


def select(at: AppTest, name: str) -> tuple[str, float, float]:
    tip, lat, lon = marker_named(at, name)
    click(at, tip, lat, lon)
    return tip, lat, lon


def widget(elements, prefix: str):
    return next(w for w in elements if w.key and w.key.startswith(prefix))


def type_place(at: AppTest, text: str) -> AppTest:
    widget(at.text_input, "find:").input(text)
    at.run()
    assert not at.exception, at.exception
    return at


def saved_list(at: AppTest) -> list[str]:
    return [t.value for t in at.sidebar.get("text")]


def test_a_typed_place_is_saved_and_used_on_the_next_parse(gazetteer, no_corrections):
    delaware = next(c for c in gazetteer.lookup("Newark") if c.admin1 == "US.DE" and c.feature is Feature.CITY)
    at = only(start(), NEWARK_TEXT, "Newark roads")
    _, lat, lon = select(at, "Newark")
    assert (lat, lon) != (delaware.lat, delaware.lon)
    card = html_of(at)
    assert "City / town in New Jersey, United States" in card
    assert re.search(r"Why this reading over Newark, [A-Z][\w ]+, United States", card)  # the namesake, named
    labels = widget(at.selectbox, "fix:").options
    assert labels[0].startswith("✓ Newark, New Jersey, United States · city / town · pop. ")
    type_place(at, "Newark, Delaware")
    matches = widget(at.selectbox, "found:")
    assert matches.options[0].startswith("Newark, Delaware, United States · city / town · pop. ")
    next(b for b in at.button if b.label == "Use this place").click()
    at.run()
    assert not at.exception, at.exception
    assert markers(at)["Newark"][:2] == (delaware.lat, delaware.lon)
    assert "your correction" in html_of(at)
    fix, = no_corrections.all()
    assert (fix.name, fix.context, fix.candidate.key) == ("Newark", "US", delaware.key)
    assert saved_list(at) == ["Newark → Newark, Delaware, United States (articles set in United States)"]
    # A new session reads the article again: the correction is used, from the store.
    again = only(start(), NEWARK_TEXT, "Newark roads")
    assert markers(again)["Newark"][:2] == (delaware.lat, delaware.lon)


def test_coordinates_are_saved_as_the_editors_point_and_bad_ones_get_one_line(no_corrections):
    at = only(start(), NEWARK_TEXT, "Newark roads")
    select(at, "Newark")
    type_place(at, "91, -75.75")
    assert [e.value.replace("\\", "") for e in at.error] == ["Latitude must be between -90 and 90; 91 is not."]
    assert widget(at.text_input, "find:").value == "91, -75.75"  # what was typed stays, to be fixed
    assert no_corrections.all() == []
    type_place(at, "39.6837, -75.7497")
    assert at.error.len == 0
    (label,) = widget(at.selectbox, "found:").options
    assert label == "Newark, Delaware, United States · your point · 39.6837, -75.7497"
    next(b for b in at.button if b.label == "Use this place").click()
    at.run()
    assert not at.exception, at.exception
    assert markers(at)["Newark"][:2] == (39.6837, -75.7497)
    fix, = no_corrections.all()
    assert fix.candidate.source == "user"


def test_not_a_place_drops_one_spelling_and_keeps_the_others(no_corrections):
    at = only(start(), US_TEXT, "Aid")
    select(at, "United States")
    spelling = widget(at.selectbox, "form:")
    assert spelling.options == [
        "“US” (2 mentions)", "“United States” (1 mention)", "every spelling (US, United States)"]
    spelling.set_value(0)
    at.run()
    next(b for b in at.button if b.label == "Not a place").click()
    at.run()
    assert not at.exception, at.exception
    assert "United States" in markers(at)  # the other spelling still names the place
    table = at.dataframe[0].value
    assert int(table.loc[table["Place"] == "United States", "Mentions"].iloc[0]) == 1
    assert [(f.name, f.candidate) for f in no_corrections.all()] == [("US", None)]
    assert saved_list(at) == ["US → not a place (articles set in United States)"]
    # Removing it from the saved list brings the spelling back.
    next(b for b in at.sidebar.button if b.label == "Remove").click()
    at.run()
    table = at.dataframe[0].value
    assert int(table.loc[table["Place"] == "United States", "Mentions"].iloc[0]) == 3


def test_an_article_with_no_places_says_so_and_shows_its_text():
    at = only(start(), NO_PLACES_TEXT, "Committee")
    assert [i.value.replace("\\", "") for i in at.info] == ["No places found in “Committee”: its text is on the right."]
    assert any(h.value == "No places found" for h in at.subheader)
    html = html_of(at)
    assert 'class="dl-article"' in html and NO_PLACES_TEXT in html
    assert at.dataframe.len == 0 and not markers(at)


def test_an_article_without_places_among_others_keeps_its_text_in_reach():
    at = only(start(), NO_PLACES_TEXT, "Committee")
    seed = next(a for a in at.multiselect(key=ui.SHOWN).options if "Tashkent" in a)
    at.multiselect(key=ui.SHOWN).select(seed)
    at.run()
    assert any("No places found in “Committee”" in i.value for i in at.info)
    assert any(e.label == "Text of Committee (no places found)" for e in at.expander)


def test_mainly_about_reads_as_a_sentence_with_several_articles():
    at = paste(start(), NEWARK_TEXT, "Newark roads")
    (focus,) = [h.value for h in at.get("html") if "dl-focus" in h.value and "<style>" not in h.value]
    assert focus == (
        '<div class="dl-focus">Mainly about: <b>Afghanistan</b> (<span style="color:#1f77b4">Tashkent conference'
        '</span>) and <b>United States</b> (<span style="color:#d62728">Newark roads</span>).</div>'
    )


def test_focus_line_names_each_country_once_with_its_articles():
    def layer(title: str, focus, color: str) -> MapLayer:
        result = sample_result(title)
        result.focus = focus
        return MapLayer(result, color, title)

    layers = [layer("A", AFGHANISTAN, "#111"), layer("B", PAKISTAN, "#222"), layer("C", AFGHANISTAN, "#333"),
              layer("<i>D</i>", PAKISTAN, "#444")]
    assert ui.focus_html(layers) == (
        '<div class="dl-focus">Mainly about: <b>Afghanistan</b> (<span style="color:#111">A</span>, '
        '<span style="color:#333">C</span>) and <b>Pakistan</b> (<span style="color:#222">B</span>, '
        '<span style="color:#444">&lt;i&gt;D&lt;/i&gt;</span>).</div>'
    )
    assert ui.focus_html(layers[:1]) == '<div class="dl-focus">Mainly about: <b>Afghanistan</b></div>'


def test_a_notice_every_article_got_is_shown_once():
    def layer(title: str, notices: list[str]) -> MapLayer:
        result = sample_result(title)
        result.notices = notices
        return MapLayer(result, "#111", title)

    down = "Nominatim could not be reached; places come from the offline gazetteer."
    assert ui.page_notices([layer("A", [down]), layer("B", [down])]) == [down]
    assert ui.page_notices([layer("A", [down]), layer("B", [])]) == [f"A: {down}"]


def test_unreachable_nominatim_is_one_short_warning_for_several_articles():
    at = only(start(), NEWARK_TEXT, "Newark roads")
    seed = next(a for a in at.multiselect(key=ui.SHOWN).options if "Tashkent" in a)
    at.multiselect(key=ui.SHOWN).select(seed)
    at.radio(key="opt_geocoder").set_value(ui.NOMINATIM)
    at.run()  # the tests never reach the internet, so Nominatim cannot be reached
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and len(warnings[0]) < 100 and "offline gazetteer" in warnings[0]
    assert "Newark" in {t.split(" · ")[0] for t in markers(at)}


def test_the_uploader_states_the_limit_the_app_enforces():
    at = start()
    (uploader,) = at.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == MAX_UPLOAD_MB
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 2**20  # Streamlit's megabyte


def test_spellings_fold_case_as_the_store_does():
    from tests.factories import CHAMAN, mention, result_from

    text = "CHAMAN — Traders in Chaman and Chamān waited."
    result = result_from(text, [mention(text, form, CHAMAN) for form in ("CHAMAN", "Chaman", "Chamān")])
    (place,) = result.places
    assert corrections.spellings(place) == [("Chaman", "Chamān", "CHAMAN")]  # capitals last
    assert corrections.spelling_options(place) == [0]


def test_a_correction_the_store_refuses_is_one_line_and_nothing_typed_is_lost(own_cache, monkeypatch):
    at = only(start(), NEWARK_TEXT, "Newark roads")
    _, lat, lon = select(at, "Newark")
    engine = ui.get_engine(own_cache.resolve(), ui.OFFLINE)

    def refuse(*args, **kwargs):
        raise StoreError(f"Correction not saved: the disk holding {own_cache} is full")

    monkeypatch.setattr(engine.corrections, "set", refuse)
    type_place(at, "Newark, Delaware")
    next(b for b in at.button if b.label == "Use this place").click()
    at.run()
    assert not at.exception, at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [
        f"Correction not saved: the disk holding {own_cache} is full"]
    assert widget(at.text_input, "find:").value == "Newark, Delaware"
    assert widget(at.selectbox, "found:").options[0].startswith("Newark, Delaware, United States")
    assert markers(at)["Newark"][:2] == (lat, lon)  # the map is as it was


def test_hiding_every_low_confidence_place_says_why_the_map_is_empty():
    at = only(start(), "Officials met in Springfield on Monday, the town's mayor said.", "Springfield")
    table = at.dataframe[0].value
    assert all(name.startswith("⚠ ") for name in table["Place"])  # an ambiguous name alone: a guess
    at.toggle(key="opt_hide_low").set_value(True)
    at.run()
    assert not markers(at) and at.dataframe.len == 0
    assert [i.value.replace("\\", "") for i in at.info] == [
        "Every place is low-confidence and hidden: switch off “Hide low-confidence places” to see them."]
