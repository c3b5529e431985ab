"""The geopy contract of the offline gazetteer, and online geocoders against a fake local server."""

from __future__ import annotations

import pytest
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from geo.cache import GeocodeCache
from geo.geocoders import CandidateSource, OfflineGazetteer, location_to_candidate, online_geocoder
from geo.model import Feature
from geo.pipeline import Engine
from tests.fake_geocoder import FakeNominatim


@pytest.fixture(scope="module")
def offline(gazetteer):
    return OfflineGazetteer(gazetteer)


def test_offline_gazetteer_is_a_geopy_geocoder(offline):
    assert isinstance(offline, Geocoder)
    location = offline.geocode("Doha")
    assert isinstance(location, Location)
    assert location.raw["country_code"] == "QA"
    assert abs(location.latitude - 25.28545) < 0.01


def test_exactly_one_false_returns_ranked_candidates(offline):
    locations = offline.geocode("Doha", exactly_one=False)
    assert len(locations) >= 3 and all(isinstance(loc, Location) for loc in locations)
    assert locations[0].raw["country_code"] == "QA"
    only_india = offline.geocode("Doha", exactly_one=False, country_codes="in")
    assert only_india and all(loc.raw["country_code"] == "IN" for loc in only_india)
    assert len(offline.geocode("Doha", exactly_one=False, limit=1)) == 1


def test_unknown_and_empty_queries(offline):
    assert offline.geocode("Xyzzyplace") is None
    assert offline.geocode("") is None
    assert offline.geocode("   ", exactly_one=False) == []


def test_reverse(offline):
    assert offline.reverse("41.26465, 69.21627").raw["name"] == "Tashkent"
    assert len(offline.reverse((25.2854, 51.531), exactly_one=False, limit=3)) == 3


def test_location_round_trip(offline):
    loc = offline.geocode("Kabul")
    c = location_to_candidate(loc, "gazetteer")
    assert c.feature is Feature.CITY and c.country_code == "AF"


def test_online_geocoder_through_rate_limiter_and_cache(gazetteer, tmp_path):
    with FakeNominatim() as fake:
        geocoder = online_geocoder("nominatim", domain=fake.domain, scheme="http")
        cache = GeocodeCache(tmp_path / "geocode.sqlite3")
        source = CandidateSource(gazetteer, cache, geocoder, min_delay=0.0)
        answers, notices = source.candidates_many(["Doha", "Kabul", "Doha"])
        assert notices == []
        assert answers["Doha"][0].country_code == "QA" and answers["Doha"][0].source == "nominatim"
        assert fake.requests == ["Doha", "Kabul"]  # one call per distinct name
        assert all(ua.startswith("dateline-geoparser/") for ua in fake.user_agents)
        again, _ = source.candidates_many(["Doha", "Kabul"])
        assert fake.requests == ["Doha", "Kabul"]  # answered from the cache
        assert again["Kabul"][0].country_code == "AF"


@pytest.mark.parametrize("mode", ["429", "500", "garbage", "slow"])
def test_online_failure_falls_back_to_offline_and_caches_no_failure(gazetteer, tmp_path, mode):
    with FakeNominatim() as fake:
        fake.mode = mode
        geocoder = online_geocoder("nominatim", domain=fake.domain, scheme="http", timeout=0.5)
        cache = GeocodeCache(tmp_path / "geocode.sqlite3")
        source = CandidateSource(gazetteer, cache, geocoder, min_delay=0.0, max_retries=1, error_wait=0.01)
        answers, notices = source.candidates_many(["Doha", "Kabul"])
        assert notices and "offline gazetteer" in notices[0]
        assert answers["Doha"][0].country_code == "QA" and answers["Doha"][0].source == "gazetteer"
        assert cache.get("nominatim", "Doha") is None  # the failure is not cached as "no result"
        if mode in ("429", "500"):
            assert len(fake.requests) == 2  # retried once, then gave up for this document


@pytest.mark.slow  # starts a fresh engine
def test_engine_with_dead_geocoder_still_parses(cache_dir):
    # Port 9 on localhost: nothing listens, the connection is refused at once.
    geocoder = online_geocoder("nominatim", domain="127.0.0.1:9", scheme="http", timeout=0.5)
    engine = Engine(cache_dir, geocoder=geocoder, min_delay=0.0)
    engine.source.max_retries = 0
    result = engine.parse("Officials flew from Doha to Kabul.")
    assert {p.candidate.country_code for p in result.places} == {"QA", "AF"}
    assert any("offline gazetteer" in n for n in result.notices)
