"""What the correction box builds on: readings in words, the gazetteer search, coordinates (geo/search.py)."""

from __future__ import annotations

import pytest

from geo.app import ui
from geo.cache import Correction
from geo.model import Feature
from geo.search import USER_SOURCE, CoordinateError, find, full_name, parse_point, point_candidate, search


def newarks(gazetteer):
    return [c for c in gazetteer.lookup("Newark") if c.feature is Feature.CITY and c.country_code == "US"]


def test_namesakes_are_told_apart_by_province_country_and_population(gazetteer):
    towns = newarks(gazetteer)
    assert len(towns) >= 4  # "the four Newarks" of the issue, and more
    labels = [ui.candidate_label(c, 0.5, gazetteer=gazetteer) for c in towns]
    assert len(set(labels)) == len(labels)
    nj = next(c for c in towns if c.admin1 == "US.NJ")
    assert full_name(gazetteer, nj) == "Newark, New Jersey, United States"
    assert ui.candidate_label(nj, 0.92, gazetteer=gazetteer) == (
        f"Newark, New Jersey, United States · city / town · pop. {nj.population:,} · 92%"
    )


def test_provinces_and_countries_are_named_once(gazetteer):
    georgia_state = next(c for c in gazetteer.lookup("Georgia") if c.feature is Feature.ADMIN1)
    georgia = gazetteer.country("GE")
    assert full_name(gazetteer, georgia_state) == "Georgia, United States"
    assert full_name(gazetteer, georgia) == "Georgia"
    assert "pop." in ui.candidate_label(georgia, gazetteer=gazetteer)


def test_saved_corrections_read_as_sentences(gazetteer):
    nj = next(c for c in newarks(gazetteer) if c.admin1 == "US.NJ")
    assert ui.correction_label(Correction("Newark", "US", nj), gazetteer=gazetteer) == (
        "Newark → Newark, New Jersey, United States (articles set in United States)"
    )
    assert ui.correction_label(Correction("Ga.", "*", None), gazetteer=gazetteer) == (
        "Ga. → not a place (every article)"
    )
    point = point_candidate(gazetteer, "Royal Street", 29.9581, -90.0636)
    assert ui.correction_label(Correction("Royal Street", "US", point), gazetteer=gazetteer) == (
        "Royal Street → Royal Street, Louisiana, United States (29.9581, -90.0636) (articles set in United States)"
    )


@pytest.mark.parametrize(
    ("typed", "admin1", "country"),
    [
        ("Newark, Delaware", "US.DE", "US"),  # a qualifier picks the namesake
        ("Newark, N.J.", "US.NJ", "US"),  # a province's abbreviation
        ("Newark, UK", None, "GB"),  # a country's
        ("Paris, Illinois", "US.IL", "US"),
        ("Tashknet", None, "UZ"),  # a misspelling
        ("spin boldak", None, "AF"),  # case and accents do not matter
        ("Kabul, Afghanistan", None, "AF"),
    ],
)
def test_search_finds_the_place_the_editor_means(gazetteer, typed, admin1, country):
    found = search(gazetteer, typed)
    assert found, typed
    best = found[0]
    assert best.country_code == country, (typed, best)
    if admin1:
        assert best.admin1 == admin1, (typed, best)


def test_search_ranks_bigger_places_first_and_caps_the_list(gazetteer):
    found = search(gazetteer, "Newark")
    assert 1 < len(found) <= 10
    assert found[0].admin1 == "US.NJ"  # the biggest Newark leads
    exact = [c for c in found if c.name == "Newark"]
    assert exact == sorted(exact, key=lambda c: -c.population)


def test_nothing_found_is_one_line(gazetteer):
    found = find(gazetteer, "Qxzvbn", "Newark")
    assert found.candidates == () and "\n" not in found.message and "Qxzvbn" in found.message
    assert find(gazetteer, "   ", "Newark").message


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("40.73, -74.17", (40.73, -74.17)),
        ("40.73 -74.17", (40.73, -74.17)),
        ("40.73°N, 74.17°W", (40.73, -74.17)),
        ("33.9S 18.4E", (-33.9, 18.4)),
        ("−12.5; 130.8", (-12.5, 130.8)),
    ],
)
def test_coordinates_in_the_usual_forms(text, point):
    assert parse_point(text) == pytest.approx(point)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("91, 10", "Latitude must be between -90 and 90"),
        ("10, 200", "Longitude must be between -180 and 180"),
        ("40.7", "Give a latitude and a longitude"),
        ("12N 5N", "latitude (N or S) first"),
    ],
)
def test_bad_coordinates_get_one_line(gazetteer, text, says):
    with pytest.raises(CoordinateError, match=r"^[^\n]+$") as caught:
        parse_point(text)
    assert says in str(caught.value)
    found = find(gazetteer, text, "Newark")
    assert found.candidates == () and found.message == str(caught.value)


def test_words_are_not_coordinates():
    assert parse_point("Newark") is None
    assert parse_point("Route 66") is None


def test_a_point_is_named_as_written_and_placed_in_its_province(gazetteer):
    (point,) = find(gazetteer, "40.7357, -74.1724", "Newark").candidates
    assert (point.name, point.lat, point.lon, point.source) == ("Newark", 40.7357, -74.1724, USER_SOURCE)
    assert (point.country_code, point.admin1) == ("US", "US.NJ")
    assert point.key == "user:Newark:40.7357,-74.1724"
    at_sea = point_candidate(gazetteer, "Mid-Atlantic", 0.0, -30.0)
    assert at_sea.country_code == "" and full_name(gazetteer, at_sea) == "Mid-Atlantic"
    assert ui.candidate_label(at_sea, gazetteer=gazetteer) == "Mid-Atlantic · your point · 0.0000, -30.0000"
