"""The 'done means' of the engine: the seed article, offline, placed within 25 km."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic

from geo.model import Feature

# GeoNames coordinates of the cities the article names (geonames.org, by geonameid).
CITIES = {
    "Tashkent": (1512569, 41.26465, 69.21627),
    "Chaman": (1181611, 30.91769, 66.45259),
    "Spin Boldak": (1123906, 31.00575, 66.40001),
    "Doha": (290030, 25.28545, 51.53096),
    "Kabul": (1138958, 34.52813, 69.17233),
    "Islamabad": (1176615, 33.72148, 73.04329),
    "Moscow": (524901, 55.75204, 37.61781),
}
COUNTRIES = {"Qatar": "QA", "Iran": "IR", "Tajikistan": "TJ", "Uzbekistan": "UZ", "Pakistan": "PK", "Afghanistan": "AF"}
PEOPLE = ["Isachenkov", "Gannon", "Khan", "Lavrov", "Khalilzad", "Abdullah", "Zakharova", "Ghani"]


@pytest.mark.parametrize("name", sorted(CITIES))
def test_cities_found_and_placed_within_25_km(seed_result, name):
    place = seed_result.place(name)
    assert place is not None, f"{name} not found"
    geonameid, lat, lon = CITIES[name]
    assert geodesic((lat, lon), (place.candidate.lat, place.candidate.lon)).km <= 25
    assert place.candidate.geonameid == geonameid


@pytest.mark.parametrize("name", sorted(COUNTRIES))
def test_countries_found(seed_result, gazetteer, name):
    place = seed_result.place(name)
    assert place is not None, f"{name} not found"
    assert place.candidate.feature is Feature.COUNTRY
    assert place.candidate.country_code == COUNTRIES[name]


def test_central_asia_is_a_region_placed_among_its_countries(seed_result):
    place = seed_result.place("Central Asia")
    assert place is not None and place.candidate.feature is Feature.REGION
    assert set(place.candidate.member_countries) >= {"KZ", "KG", "TJ", "TM", "UZ"}
    # The region's point lies within the box of its five member states.
    assert 35 < place.candidate.lat < 56 and 46 < place.candidate.lon < 88


def test_no_person_is_placed(seed_result):
    surfaces = {s for p in seed_result.places for s in p.surface_forms}
    for person in PEOPLE:
        assert person not in surfaces, f"{person} was placed on the map"


def test_every_mention_carries_its_sentence(seed_result):
    text = seed_result.text
    for m in seed_result.mentions:
        assert text[m.start : m.end] == m.text
        assert m.sentence_start <= m.start < m.end <= m.sentence_end
    chaman = seed_result.place("Chaman")
    (excerpt,) = chaman.excerpts(text)
    assert excerpt.text[excerpt.start : excerpt.end] == "Chaman"
    assert "border town of Chaman" in excerpt.text


def test_demonyms_are_kept_apart(engine, seed_text, seed_result):
    assert all(m.kind.value == "toponym" for p in seed_result.places for m in p.mentions)
    with_demonyms = engine.parse(seed_text, include_demonyms=True)
    afghan = [m for m in with_demonyms.mentions if m.text == "Afghan"]
    assert afghan and all(m.candidate.country_code == "AF" for m in afghan)


def test_confidence_and_alternatives(seed_result):
    for p in seed_result.places:
        assert 0.0 <= p.confidence <= 1.0
    doha = seed_result.place("Doha")
    assert doha.confidence > 0.5
    assert any(a.candidate.country_code == "IN" for a in doha.alternatives)


def test_focus_is_afghanistan(seed_result):
    assert seed_result.focus is not None and seed_result.focus.country_code == "AF"
