"""The Collection view: a store's places on the map, a place's articles, opening one (geo.archive.explore, the
app under AppTest). The store is written in this process with the session's engine (what ``geo index`` writes,
without a cluster: tests/test_archive.py covers the cluster)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.app import collection, ui
from geo.archive.explore import Box, Collection, Scope
from geo.archive.sources import Article
from tests.conftest import ROOT
from tests.factories import write_store

APP = str(ROOT / "app.py")
TIMEOUT = 120
ARTICLES = [
    Article("k-1", "Floods hit Karachi and Lahore. Rescue teams from Islamabad arrived. Karachi port closed.",
            "Floods", date(2024, 6, 11), "https://example.org/k1", "wire"),
    Article("k-2", "Karachi port reopened after the storm, officials in Karachi said.", "Port", date(2024, 6, 20)),
    Article("k-3", "Traders in Karachi expect more ships next year.", "Trade <b>outlook</b>", date(2023, 11, 2),
            source="desk"),
    Article("e-1", "Leaders met in Paris before flying to Berlin.", "Summit", date(2024, 7, 1), source="desk"),
    Article("u-1", "Heavy snow closed roads around Denver and Boulder.", "", None),
    Article("p-1", "Ministers from Fiji and Samoa met in Suva; a ship left Apia for Fiji.", "Pacific",
            date(2023, 1, 5)),
]
MARKER = re.compile(r"L\.circleMarker\(\[(?P<lat>[-\d.e]+), (?P<lon>[-\d.e]+)\], (?P<opts>\{.*?\})\).*?"
                    r"bindTooltip\(`<div>(?P<tip>.*?)</div>`")


@pytest.fixture(scope="module")
def store(engine, tmp_path_factory) -> Path:
    return write_store(engine, ARTICLES, tmp_path_factory.mktemp("collection") / "store")


@pytest.fixture(scope="module")
def coll(store) -> Collection:
    return Collection(store)


def key_of(coll: Collection, name: str) -> str:
    return next(p.key for p in coll.places(limit=1000).places if p.name == name)


# --------------------------------------------------------------------------- the queries


def test_places_are_ranked_by_articles_then_mentions(coll):
    found = coll.places()
    assert found.total == len(found.places) >= 10
    first = found.places[0]
    assert (first.name, first.country_code, first.articles, first.mentions) == ("Karachi", "PK", 3, 5)
    assert first.key.startswith("g:")
    ranks = [(p.articles, p.mentions) for p in found.places]
    assert ranks == sorted(ranks, reverse=True)
    top = coll.places(limit=2)
    assert len(top.places) == 2 and top.total == found.total


def test_the_map_box_limits_places_even_across_the_antimeridian(coll):
    south_asia = coll.places(box=Box(20, 60, 40, 80))
    assert {p.name for p in south_asia.places} == {"Karachi", "Lahore", "Islamabad"}
    pacific = coll.places(box=Box(-30, 170, 0, 190))  # Leaflet's longitudes run on past 180 when panned east
    assert {p.name for p in pacific.places} >= {"Suva", "Apia"}
    assert not {p.name for p in pacific.places} & {"Karachi", "Paris"}
    world = coll.places(box=Box(-85, -400, 85, 400))
    assert world.total == coll.places().total
    assert Box(-30, 170, 0, 190).longitude_ranges() == [(170.0, 180.0), (-180.0, -170.0)]
    assert Box.from_leaflet({"_southWest": {"lat": 1, "lng": 2}, "_northEast": {"lat": 3, "lng": 4}}) == Box(1, 2, 3, 4)
    assert Box.from_leaflet(None) is None and Box.from_leaflet({"_southWest": {}}) is None


def test_filters_by_date_country_and_text(coll):
    summer = coll.places(Scope(date_from=date(2024, 6, 15), date_to=date(2024, 12, 31)))
    assert {p.name: p.articles for p in summer.places} == {"Karachi": 1, "Paris": 1, "Berlin": 1}
    pakistan = coll.places(Scope(country="pk"))
    assert {p.country_code for p in pakistan.places} == {"PK"}
    snow = coll.places(Scope(text="  HEAVY   snow "))
    assert {p.name for p in snow.places} == {"Denver", "Boulder"}
    outlook = coll.places(Scope(text="outlook"))  # words of the title count too
    assert {p.name for p in outlook.places} == {"Karachi"}


def test_a_places_articles_are_newest_first_with_every_sentence_naming_it(coll):
    karachi = key_of(coll, "Karachi")
    found = coll.articles(karachi)
    assert found.total == 3 and [a.id for a in found.articles] == ["k-2", "k-1", "k-3"]
    floods = found.articles[1]
    assert (floods.title, floods.source, floods.url, floods.mentions) == ("Floods", "wire", "https://example.org/k1", 2)
    assert [p.text for p in floods.passages] == ["Floods hit Karachi and Lahore.", "Karachi port closed."]
    port = found.articles[0]
    (passage,) = port.passages
    assert [passage.text[s:e] for s, e in passage.names] == ["Karachi", "Karachi"]
    newest = coll.articles(karachi, limit=1)
    assert newest.total == 3 and [a.id for a in newest.articles] == ["k-2"]
    assert coll.articles(karachi, Scope(text="ships")).total == 1
    assert coll.articles("g:0").total == 0


def test_months_count_articles_for_the_histogram(coll):
    assert coll.months() == [(date(2023, 1, 1), 1), (date(2023, 11, 1), 1), (date(2024, 6, 1), 2),
                             (date(2024, 7, 1), 1)]
    assert coll.months(place=key_of(coll, "Karachi")) == [(date(2023, 11, 1), 1), (date(2024, 6, 1), 2)]
    assert coll.months(Scope(country="FJ")) == [(date(2023, 1, 1), 1)]


def test_summary_and_a_stored_article(coll):
    summary = coll.summary()
    assert summary.articles == len(ARTICLES)
    assert (summary.first_date, summary.last_date) == (date(2023, 1, 5), date(2024, 7, 1))
    assert summary.countries[0] == ("PK", 3)
    stored = coll.article("e-1")
    assert stored is not None and stored.text == ARTICLES[3].text and stored.title == "Summit"
    assert coll.article("nope") is None


# --------------------------------------------------------------------------- pure helpers of the view


def test_the_store_comes_from_the_command_line_or_the_environment(monkeypatch):
    monkeypatch.delenv(collection.ENV_STORE, raising=False)
    assert collection.store_from_argv(["--store", "/data/wire"]) == "/data/wire"
    assert collection.store_from_argv(["--other", "x"]) == ""
    monkeypatch.setenv(collection.ENV_STORE, "/data/env")
    assert collection.store_from_argv([]) == "/data/env"


def test_markers_grow_with_articles_and_text_is_escaped(coll):
    places = coll.places().places
    specs = [spec for spec, _ in collection.markers(places, selected=places[-1].key)]
    assert specs[-1].options["className"].endswith("dl-selected")  # drawn last, on top
    radii = {s.tooltip.split(",")[0]: s.options["radius"] for s in specs}
    assert radii["Karachi"] == collection.MAX_RADIUS and min(radii.values()) >= collection.MIN_RADIUS
    assert collection.radius(1, 4) < collection.radius(2, 4) < collection.radius(4, 4)
    hit = coll.articles(key_of(coll, "Karachi")).articles[2]
    assert "<b>" not in collection.article_heading(hit) and "outlook" in collection.article_heading(hit)
    html = collection.passages_html(hit)
    assert html.count("<mark>Karachi</mark>") == 1


# --------------------------------------------------------------------------- the app


@pytest.fixture(scope="module", autouse=True)
def app_env(cache_dir: Path, store: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("DATELINE_CACHE_DIR", collection.ENV_STORE)}
    os.environ["DATELINE_CACHE_DIR"] = str(cache_dir)
    os.environ[collection.ENV_STORE] = str(store)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def map_markers(at: AppTest) -> dict[str, tuple[float, float, dict]]:
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["feature_group"] or ""
    return {m["tip"]: (float(m["lat"]), float(m["lon"]), json.loads(m["opts"])) for m in MARKER.finditer(script)}


def click(at: AppTest, tooltip: str | None, lat: float, lon: float, bounds: dict | None = None) -> AppTest:
    """What streamlit-folium stores under its key after a click (or a pan, with bounds)."""
    at.session_state[collection.MAP_KEY] = {
        "last_object_clicked": {"lat": lat, "lng": lon}, "last_object_clicked_tooltip": tooltip,
        "last_object_clicked_count": 1, "bounds": bounds, "zoom": 4,
    }
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_collection_view_maps_places_and_lists_a_places_articles():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.session_state[collection.VIEW_MODE] == collection.COLLECTION_VIEW  # a store given at start
    drawn = map_markers(at)
    tip = next(t for t in drawn if t.startswith("Karachi"))
    assert tip == "Karachi, PK · 3 articles"
    lat, lon, options = drawn[tip]
    assert options["radius"] == max(o["radius"] for _, _, o in drawn.values())

    click(at, tip, lat + 0.3, lon - 0.2)  # a big marker reports where the mouse was, not its centre
    assert at.session_state[collection.PLACE].startswith("g:")
    text = "\n".join(m.value for m in at.markdown)
    assert "Named in 3 articles" in text
    headings = [m.value for m in at.markdown if m.value.startswith("**20")]
    assert [h.split(" · ")[0] for h in headings] == ["**2024\\-06\\-20", "**2024\\-06\\-11", "**2023\\-11\\-02"]
    passages = "\n".join(h.value for h in at.get("html"))
    assert "<mark>Karachi</mark> port reopened" in passages
    assert map_markers(at)[tip][2]["className"].endswith("dl-selected")

    # zoomed in on Europe: only its places are drawn, the chosen place stays
    at = click(at, None, 0.0, 0.0, bounds={"_southWest": {"lat": 35, "lng": -10}, "_northEast": {"lat": 60, "lng": 30}})
    names = {t.split(",")[0] for t in map_markers(at)}
    assert names == {"Paris", "Berlin", "Karachi"}

    at.text_input(key=collection.TEXT).set_value("ships").run()
    assert "Named in 1 article (containing “ships”)" in "\n".join(m.value for m in at.markdown)

    # open the article in the single-article view; the filters and the place survive the trip back
    at.button(key="open:k-3").click().run()
    assert not at.exception, at.exception
    assert at.session_state[collection.VIEW_MODE] == collection.ARTICLES_VIEW
    assert at.session_state[ui.SHOWN] == ["store:k-3"]
    assert any(t.startswith("Karachi") for t in _article_markers(at))
    at.radio(key=collection.VIEW_MODE).set_value(collection.COLLECTION_VIEW).run()
    assert not at.exception, at.exception
    assert at.session_state[collection.TEXT] == "ships"
    assert at.session_state[collection.PLACE].startswith("g:")


def test_the_histogram_has_every_month_and_the_map_a_box():
    frame = collection.month_series([(date(2023, 11, 1), 2), (date(2024, 2, 1), 1)], date(2023, 10, 20), None)
    assert list(frame["month"]) == ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]
    assert list(frame["articles"]) == [0, 2, 0, 0, 1]
    assert collection.month_series([], None, None).empty
    assert collection.box_around([]) is None


def test_the_month_chart_draws_one_bar_per_month_to_scale():
    frame = collection.month_series([(date(2023, 11, 1), 4), (date(2024, 2, 1), 1)], date(2023, 10, 20), None)
    html = collection.month_chart_html(frame, 'Articles naming <Springfield> & "Paris" per month')
    bars = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"><title>([^<]+)</title>', html)
    assert [title for _, title in bars] == ["2023-10: 0 articles", "2023-11: 4 articles", "2023-12: 0 articles",
                                             "2024-01: 0 articles", "2024-02: 1 article"]
    heights = [float(h) for h, _ in bars]
    assert heights[1] == pytest.approx(collection.CHART_HEIGHT) and heights[4] == pytest.approx(heights[1] / 4)
    assert "<Springfield>" not in html and "&lt;Springfield&gt; &amp; &#34;Paris&#34;" in html
    assert ">2023-10<" in html and ">2024-02<" in html and "most in a month: 4" in html
    assert collection.month_chart_html(collection.month_series([], None, None), "x") == ""


def test_a_click_is_matched_by_tooltip_then_by_reach():
    drawn = [("Springfield, US · 2 articles", 39.8, -89.6, "g:1"), ("Springfield, US · 2 articles", 37.2, -93.3, "g:2"),
             ("Paris, FR · 1 article", 48.85, 2.35, "g:3")]

    def value(tip, lat, lon, zoom=6):
        return {"last_object_clicked": {"lat": lat, "lng": lon}, "last_object_clicked_tooltip": tip, "zoom": zoom}

    assert collection.clicked_place(value("Springfield, US · 2 articles", 37.25, -93.2), drawn) == "g:2"
    assert collection.clicked_place(value(None, 48.86, 2.36), drawn) == "g:3"
    assert collection.clicked_place(value(None, 10.0, 10.0), drawn) is None  # nowhere near a marker
    assert collection.clicked_place({"bounds": {}}, drawn) is None and collection.clicked_place(None, drawn) is None


def _article_markers(at: AppTest) -> list[str]:
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["feature_group"] or ""
    return [m["tip"] for m in MARKER.finditer(script)]


def test_a_long_list_shows_the_newest_then_more_on_request(monkeypatch):
    monkeypatch.setattr(collection, "ARTICLES_LISTED", 2)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    tip, (lat, lon, _) = next((t, v) for t, v in map_markers(at).items() if t.startswith("Karachi"))
    click(at, tip, lat, lon)
    assert "the newest 2 are listed" in "\n".join(m.value for m in at.markdown)
    at.button(key="coll_more").click().run()
    assert not at.exception, at.exception
    headings = [m.value for m in at.markdown if m.value.startswith("**20")]
    assert len(headings) == 3 and not [b for b in at.button if b.key == "coll_more"]


def test_a_folder_that_is_not_a_store_is_one_line_and_the_app_carries_on(tmp_path):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key=collection.STORE).set_value(str(tmp_path)).run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "not a Dateline store" in error.value and "\n" not in error.value
    assert "python -m geo index" in "\n".join(i.value for i in at.info)
    at.radio(key=collection.VIEW_MODE).set_value(collection.ARTICLES_VIEW).run()
    assert not at.exception and _article_markers(at)  # the seed article, as ever
