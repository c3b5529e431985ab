from __future__ import annotations

import pytest

from geo.geometry import haversine_km
from geo.model import Feature
from geo.resolution import APPROXIMATE_MAX_CONFIDENCE, find_dateline


def top(result, text):
    (m,) = [m for m in result.mentions if m.text == text][:1]
    return m.candidate


def test_dateline_is_read():
    d = find_dateline("TASHKENT, Uzbekistan – America's hasty withdrawal")
    assert d is not None and d.place == "TASHKENT" and d.qualifier == "Uzbekistan"
    assert find_dateline("Nothing like a dateline here.") is None


@pytest.mark.parametrize(
    ("text", "place", "qualifier"),
    [
        ("BEIRUT (AP) — A Kurdish militia spokesman says", "BEIRUT", ""),
        ("WASHINGTON, April 5 (Reuters Foundation) - A landmark case", "WASHINGTON", ""),
        ("SOUTH WAZIRISTAN, April 5 (APP):Chief of Army Staff", "SOUTH WAZIRISTAN", ""),
        ("PLEASANTON, Calif.--(BUSINESS WIRE)--A leader in cold chains", "PLEASANTON", "Calif."),
        ("WASHINGTON—President Trump is scaling back", "WASHINGTON", ""),
        ("CAMP MURRAY, Wash. - Lt. Col. Thomas jokes", "CAMP MURRAY", "Wash."),
        ("By Jane Doe, Associated Press WASHINGTON (AP) — China vowed on Friday", "WASHINGTON", ""),
        ("By Jane Doe. NEW YORK (Reuters) - Stocks fell", "NEW YORK", ""),
    ],
)
def test_dateline_styles(text, place, qualifier):
    d = find_dateline(text)
    assert d is not None and (d.place, d.qualifier) == (place, qualifier)
    assert text[d.start : d.start + len(d.place)] == place


@pytest.mark.parametrize("text", ["US - China talks resume", "UPDATE 2-Oil prices rise", "I - went home"])
def test_not_a_dateline(text):
    assert find_dateline(text) is None


def test_qualifier_pattern_picks_the_named_state(engine):
    r = engine.parse("The storm hit Alexandria, Louisiana, late on Monday.")
    c = top(r, "Alexandria")
    assert c.country_code == "US" and c.admin1 == "US.LA"


def test_without_qualifier_the_big_city_wins(engine):
    r = engine.parse("Protesters gathered in Alexandria on Monday.")
    assert top(r, "Alexandria").country_code == "EG"


def test_country_context_changes_the_reading(engine):
    text = (
        "Canadian police said the suspect was arrested in London, Ontario. "
        "Police in London said more arrests were possible."
    )
    r = engine.parse(text)
    assert all(m.candidate.country_code == "CA" for m in r.mentions if m.text == "London")


def test_a_small_town_needs_more_than_its_country_in_the_story(engine):
    text = (
        "NEWARK, N.J. (AP) - An airline apologised to a woman who flew to San Francisco instead of Paris "
        "from a New Jersey airport. She reached Paris two days later."
    )
    assert top(engine.parse(text), "Paris").country_code == "FR"
    # Naming the town's state is enough: then Paris is the Kentucky town.
    text = "LEXINGTON, Ky. (AP) - Farmers near Paris said the Kentucky harvest was late this year."
    paris = top(engine.parse(text), "Paris")
    assert paris.country_code == "US" and paris.admin1 == "US.KY"


def test_one_sense_per_name(engine):
    r = engine.parse("Officials in Paris, Texas, met. Paris has a small airport. Residents of Paris voted.")
    readings = {m.candidate.key for m in r.mentions if m.text == "Paris"}
    assert len(readings) == 1
    assert top(r, "Paris").admin1 == "US.TX"


def test_dateline_sets_the_scene(engine):
    r = engine.parse("HYDERABAD, Pakistan – Flooding in the province left thousands homeless.")
    assert top(r, "HYDERABAD").country_code == "PK"


def test_town_preferred_over_same_named_province_unless_said(engine):
    r = engine.parse("Fighting was reported in Kandahar on Monday.")
    assert top(r, "Kandahar").feature is Feature.CITY
    r = engine.parse("Fighting was reported in Kandahar province on Monday.")
    assert top(r, "Kandahar").feature is Feature.ADMIN1  # the span is the name; the word after it still counts


def test_a_division_word_also_reads_other_countries_divisions_of_the_name(engine):
    # Pakistan has a "Karak District"; in a story about Jordan the name is Jordan's Karak governorate.
    text = "Jordan's army said the attack in Karak district killed four people. Amman condemned it."
    m = next(m for m in engine.resolve(text, _spans(text, ["Jordan", "Karak district", "Amman"])).mentions
             if m.text == "Karak district")
    assert (m.candidate.country_code, m.candidate.feature) == ("JO", Feature.ADMIN1)
    assert "PK" in {a.candidate.country_code for a in m.alternatives}
    # In one country a unit named with the word is another unit than the one named without it: Kentucky's
    # Ohio County is not the state of Ohio.
    r = engine.parse("Owensboro, Kentucky: flooding closed roads in Daviess County and Ohio County.")
    assert top(r, "Ohio County").feature is Feature.ADMIN2
    assert top(r, "Ohio County").admin1 == "US.KY"


def test_confidence_is_a_probability_and_alternatives_rank_below(engine):
    r = engine.parse("Officials flew from Doha to Kabul.")
    for m in r.mentions:
        assert 0 <= m.confidence <= 1
        assert all(a.confidence <= m.confidence for a in m.alternatives)


def test_resolve_given_spans_exactly_one_per_span(engine):
    text = "Talks in Doha and the Afghan side, near Xyzzyplace."
    spans = [(9, 13), (22, 28), (40, 50)]
    r = engine.resolve(text, spans)
    assert [(m.start, m.end) for m in r.mentions] == spans
    assert r.mentions[0].candidate.country_code == "QA"
    assert r.mentions[1].candidate.country_code == "AF"  # a demonym given as a span resolves to its country
    # Nothing is named Xyzzyplace: it is placed, flagged, at the nearest place the article names.
    assert r.mentions[2].candidate.name == "Doha" and r.mentions[2].approximate
    assert r.mentions[2].confidence <= APPROXIMATE_MAX_CONFIDENCE
    bare = engine.resolve("Xyzzyplace.", [(0, 10)])
    assert bare.mentions[0].candidate is None and bare.places == []


def test_unknown_sub_place_backs_off_to_its_part_or_the_local_place(engine):
    text = (
        "A fire broke out in Granville County on Sunday. Firefighters from Oxford, North Carolina, "
        "said the blaze started near Hillcrest Memorial Hall."
    )
    r = engine.parse(text)
    granville = top(r, "Granville County")
    assert granville is not None and granville.country_code == "US"
    spans = [(text.index("Hillcrest Memorial Hall"), text.index("Hillcrest Memorial Hall") + 23)]
    given = engine.resolve(text, spans)
    (hall,) = given.mentions
    # Nothing is named Hillcrest Memorial Hall: it is placed at the nearest place the article names, flagged.
    assert hall.candidate is not None and hall.confidence <= 0.3


def test_a_name_does_not_vote_for_itself(engine):
    # Said four times, "London" would outvote the article's Ontario context if it counted itself.
    text = (
        "London police arrested a man on Friday. The London man was later taken to a hospital in Toronto. "
        "Police in London said officers from Hamilton and Kitchener helped. "
        "Ontario's police watchdog is investigating the arrest in London."
    )
    r = engine.parse(text)
    assert {m.candidate.country_code for m in r.mentions if m.text == "London"} == {"CA"}


def test_ap_style_abbreviation_is_a_state_not_a_country(engine):
    r = engine.parse("He flew in from Atlanta, Ga. on Sunday.")
    ga = top(r, "Ga.")
    assert ga.name == "Georgia" and ga.country_code == "US"


def test_a_village_abroad_is_not_what_a_local_story_means(engine):
    # Belgravia, Alberta (a village) is the only gazetteer "Belgravia"; in a London story it is a stray.
    text = "Rents in Belgravia rose again, as they did across London and Manchester."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Belgravia", "London", "Manchester")]
    belgravia = engine.resolve(text, spans).mentions[0]
    assert belgravia.candidate is not None and belgravia.candidate.country_code == "GB"
    assert belgravia.approximate  # placed near the article's places, flagged as a guess
    assert belgravia.confidence <= APPROXIMATE_MAX_CONFIDENCE
    assert any(a.candidate.country_code == "CA" for a in belgravia.alternatives)  # the village stays pickable


def test_an_airport_is_read_by_its_own_word_where_the_story_is(engine):
    """ "Heathrow" is London's airport in a London story (airportsdata), and the village in a Florida one."""
    r = engine.parse("Flights from Heathrow were cancelled as snow hit London and Manchester.")
    heathrow = top(r, "Heathrow")
    assert (heathrow.feature, heathrow.country_code) == (Feature.AIRPORT, "GB")
    assert haversine_km(heathrow.lat, heathrow.lon, 51.47, -0.46) < 5
    r = engine.parse("Voters in Heathrow, near Sanford and Orlando in Florida, went to the polls.")
    assert (top(r, "Heathrow").feature, top(r, "Heathrow").country_code) == (Feature.CITY, "US")
    r = engine.parse("He landed at Washington Dulles International Airport on Monday.")
    assert top(r, "Washington Dulles International Airport").feature is Feature.AIRPORT


def test_given_demonym_named_like_a_county_is_the_country(engine):
    text = "The Canadian said he would return."
    r = engine.resolve(text, [(4, 12)])
    assert r.mentions[0].candidate.name == "Canada"


def test_a_street_is_not_a_far_town_sharing_its_first_word(engine):
    """ "Royal Street" is in the article's New Orleans, not Royal City, Washington (2,000 km away)."""
    text = "The parade went down Royal Street in New Orleans, Louisiana, on Sunday."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Royal Street", "New Orleans", "Louisiana")]
    street = engine.resolve(text, spans).mentions[0]
    assert street.candidate.name == "New Orleans" and street.approximate
    assert street.confidence <= APPROXIMATE_MAX_CONFIDENCE


def test_a_country_before_another_country_is_not_a_town_in_it(engine):
    text = "He reported on the president's ties to Russia, U.S. officials said on Wednesday in Washington."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Russia", "U.S.", "Washington")]
    russia = engine.resolve(text, spans).mentions[0]
    assert russia.candidate.feature is Feature.COUNTRY and russia.candidate.country_code == "RU"
    text = "The fire was in Paris, Ky., on Sunday."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Paris", "Ky.")]
    assert engine.resolve(text, spans).mentions[0].candidate.admin1 == "US.KY"


def test_a_list_of_places_is_not_a_town_and_its_province(engine):
    # "Washington, New York and Boston" names three cities, not a Washington in New York state.
    text = "After stops in Washington, New York and Boston, the prince flew west."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Washington", "New York", "Boston")]
    assert engine.resolve(text, spans).mentions[0].candidate.admin1 == "US.DC"
    text = "He grew up in Springfield, Illinois, and moved away."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("Springfield", "Illinois")]
    assert engine.resolve(text, spans).mentions[0].candidate.admin1 == "US.IL"


def test_a_second_wire_story_on_the_page_has_its_dateline_found():
    from geo.dateline import find_datelines

    text = "A" * 400 + " creating a supporting role for the Guard. WASHINGTON (AP) - President Trump has renewed calls."
    (dateline,) = find_datelines(text)
    assert dateline.place == "WASHINGTON" and dateline.start > 400
    # Without an agency, a capitalised word after a full stop far into the text is not a dateline.
    assert find_datelines("A" * 400 + " the end. NOTE - this is not one.") == []


def test_a_names_context_is_every_other_names_votes_with_nothing_left_of_its_own():
    from geo.resolution import Ranked, _Context, _Votes, _votes
    from tests.factories import CHAMAN, SPIN_BOLDAK

    spin_boldak = _votes([Ranked(SPIN_BOLDAK, 0.9)], count=3)
    chaman = _votes([Ranked(CHAMAN, 0.7)], count=1)
    everyone = _Votes.total([spin_boldak, chaman])
    for_spin_boldak = everyone.without(spin_boldak).context(_Context())
    assert for_spin_boldak.countries == {"PK": 1.0} and for_spin_boldak.admins == {"PK.02": 1.0}
    assert for_spin_boldak.centroid == pytest.approx((CHAMAN.lat, CHAMAN.lon))
    alone = _Votes.total([spin_boldak]).without(spin_boldak).context(_Context(dateline=[CHAMAN]))
    assert alone.countries == {"PK": 1.0} and alone.admins == {} and alone.centroid is None  # the dateline's


def test_a_countrys_name_under_its_capitals_dateline_is_the_country(engine):
    # GeoNames also calls Mexico City "Mexico"; neither that nor the dateline makes the country's name the city.
    r = engine.parse("MEXICO CITY (AP) — Mexico's Senate has passed a resolution against U.S. troops at the border.")
    assert top(r, "Mexico").feature is Feature.COUNTRY
    assert top(r, "MEXICO CITY").name == "Mexico City"


def test_a_province_named_like_a_sea_leaves_the_name_to_the_sea(engine):
    result = engine.parse("Tankers waited in the Red Sea and the Gulf of Aden before turning north.")
    assert top(result, "Red Sea").feature is Feature.WATER
    assert top(result, "Gulf of Aden").feature is Feature.WATER
    said = engine.parse("Floods hit Red Sea state in Sudan on Monday.")
    assert top(said, "Red Sea").feature is Feature.ADMIN1


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Offsets of each word in turn, a repeated word at its next occurrence."""
    spans, after = [], {}
    for w in words:
        i = text.index(w, after.get(w, 0))
        after[w] = i + len(w)
        spans.append((i, i + len(w)))
    return spans


def test_a_name_nothing_knows_is_its_own_approximate_place(engine):
    """A river nothing knows is placed near the article's places, but is never a spelling of them."""

    text = (
        "Flooding along the Kishwaukee River in DeKalb County, Illinois, closed roads. "
        "The Kishwaukee River rose again near Sycamore."
    )
    words = ["Kishwaukee River", "DeKalb County", "Illinois", "Kishwaukee River", "Sycamore"]
    r = engine.resolve(text, _spans(text, words))
    river = [m for m in r.mentions if m.text == "Kishwaukee River"]
    assert len(river) == 2 and all(m.approximate and m.candidate is not None for m in river)
    assert all(m.confidence <= APPROXIMATE_MAX_CONFIDENCE for m in river)
    assert not any(m.approximate for m in r.mentions if m.text != "Kishwaukee River")
    (place,) = [p for p in r.places if p.approximate]
    assert place.name == "Kishwaukee River" and place.count == 2 and place.confidence <= APPROXIMATE_MAX_CONFIDENCE
    assert place.near is not None and place.near.key == river[0].candidate.key
    assert (place.candidate.lat, place.candidate.lon) == (place.near.lat, place.near.lon)
    assert place.key not in {m.candidate.key for m in r.mentions if not m.approximate}
    for known in (p for p in r.places if not p.approximate):
        assert "Kishwaukee River" not in known.surface_forms
        assert known.confidence == max(m.confidence for m in known.mentions if not m.approximate)


def test_a_name_read_through_one_of_its_words_is_approximate(engine):
    """ "Chicago Union Station" read as Chicago is near Chicago: flagged, low confidence, its own place."""

    text = "Crowds gathered at Chicago Union Station and in Springfield, Illinois, on Friday."
    r = engine.resolve(text, _spans(text, ["Chicago Union Station", "Springfield", "Illinois"]))
    station = r.mentions[0]
    assert station.approximate and station.candidate.name == "Chicago"
    assert station.confidence <= APPROXIMATE_MAX_CONFIDENCE
    (place,) = [p for p in r.places if p.approximate]
    assert place.name == "Chicago Union Station" and place.near.name == "Chicago"
    assert not r.mentions[1].approximate and not r.mentions[2].approximate


def test_a_correction_of_an_approximate_reading_is_not_approximate():
    from geo.model import Candidate, Mention
    from geo.resolution import with_candidate

    near = Candidate(4887398, "Chicago", 41.85, -87.65, Feature.CITY, "US", "US.IL")
    m = Mention(0, 7, "Station", "FAC", candidate=near, confidence=0.25, approximate=True)
    fixed = with_candidate(m, near)
    assert fixed.corrected and not fixed.approximate and fixed.confidence == 1.0


def test_an_approximate_readings_confidence_is_learned_but_never_sure(engine):
    """However sure the approximate model is, a guess is shown at APPROXIMATE_MAX_CONFIDENCE at most, never in the
    sure band (and always marked approximate by the app); an unsure one lower."""
    from dataclasses import replace

    from geo.features import APPROXIMATE_NAMES, ApproximateModel
    from geo.model import HIGH_CONFIDENCE
    from geo.resolution import APPROXIMATE_MAX_CONFIDENCE

    n = len(APPROXIMATE_NAMES)
    text = "Crowds gathered at Chicago Union Station and on Royal Street in New Orleans, Louisiana, on Friday."
    spans = _spans(text, ["Chicago Union Station", "Royal Street", "New Orleans", "Louisiana"])
    resolver = engine.resolver
    shipped = resolver.ranker

    def confidences(intercept: float) -> list[float]:
        model = ApproximateModel(tuple(APPROXIMATE_NAMES), (0.0,) * n, (1.0,) * n, (0.0,) * n, intercept)
        resolver.ranker = replace(shipped, approximate=model)
        resolver.approximate_recorder = []
        try:
            r = engine.resolve(text, spans)
            hows = {rec["span"]: rec["how"] for rec in resolver.approximate_recorder}
        finally:
            resolver.ranker = shipped
            resolver.approximate_recorder = None
        assert [m.approximate for m in r.mentions] == [True, True, False, False]
        assert hows == {spans[0]: "part", spans[1]: "container"}  # "Royal Street in New Orleans"
        return [m.confidence for m in r.mentions[:2]]

    assert confidences(10.0) == [APPROXIMATE_MAX_CONFIDENCE] * 2 and APPROXIMATE_MAX_CONFIDENCE < HIGH_CONFIDENCE
    assert confidences(-2.0) == [pytest.approx(0.1192, abs=1e-4)] * 2


def test_a_demonym_is_read_as_its_country_with_the_learned_confidence(engine):
    from dataclasses import replace

    from geo.resolution import DEMONYM_CONFIDENCE

    text = "Afghan officials met in Kabul."
    resolver = engine.resolver
    shipped = resolver.ranker
    try:
        resolver.ranker = replace(shipped, demonym=0.97)
        afghan = engine.resolve(text, [(0, 6)]).mentions[0]
        resolver.ranker = replace(shipped, demonym=None)
        fixed = engine.resolve(text, [(0, 6)]).mentions[0]
    finally:
        resolver.ranker = shipped
    assert afghan.candidate is not None and afghan.candidate.country_code == "AF" and afghan.confidence == 0.97
    assert fixed.confidence == DEMONYM_CONFIDENCE


def _with_rules(engine, rules):
    """The engine's resolver with only ``rules`` of RESOLUTION_RULES switched on, as a context manager."""
    import contextlib

    @contextlib.contextmanager
    def switched():
        kept = engine.resolver.rules
        engine.resolver.rules = frozenset(rules)
        try:
            yield engine
        finally:
            engine.resolver.rules = kept

    return switched()


def test_an_unknown_name_in_a_named_place_is_put_there(engine):
    """ "Kfraya in Idlib" and "Idlib's Kfraya" are at Idlib, not at Damascus, the place named before."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    for text, words in [
        ("Damascus said on Monday that rebels shelled Kfraya in Idlib.", ["Damascus", "Kfraya", "Idlib"]),
        ("Damascus said on Monday that rebels shelled Idlib's Kfraya again.", ["Damascus", "Idlib", "Kfraya"]),
    ]:
        village = next(m for m in engine.resolve(text, _spans(text, words)).mentions if m.text == "Kfraya")
        assert village.approximate and village.candidate.name == "Idlib"
    text = "In Damascus, the Kfraya Agricultural Cooperative in Idlib was shelled."
    spans = _spans(text, ["Damascus", "Kfraya Agricultural Cooperative", "Idlib"])
    assert engine.resolve(text, spans).mentions[1].candidate.name == "Idlib"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"named_container"}):
        farm = engine.resolve(text, spans).mentions[1]
    assert farm.approximate and farm.candidate.name == "Damascus"  # the place named closest to it


def test_of_two_named_containers_the_narrower_holds_the_name(engine):
    """ "Whittier's Penn Park, the Los Angeles County Fire Department said": the possessive names the town, the
    comma the county; an unknown park is put at the town. "Texas's Big Bend, Brewster County": at the county."""
    text = "A tree fell at Whittier's Penn Park, the Los Angeles County Fire Department said."
    spans = _spans(text, ["Whittier", "Penn Park", "Los Angeles County"])
    park = engine.resolve(text, spans).mentions[1]
    assert park.approximate and park.candidate.name == "Whittier"
    text = "Texas's Big Bend, Brewster County, saw record heat."
    bend = engine.resolve(text, _spans(text, ["Texas", "Big Bend", "Brewster County"])).mentions[1]
    assert bend.approximate and bend.candidate.name == "Brewster County"


def test_a_part_of_the_name_gives_way_to_the_place_that_contains_it(engine):
    """ "Loyola University in Los Angeles" is in Los Angeles, not in the town of Loyola 500 km away."""
    text = "A researcher at Loyola University in Los Angeles reviewed a billion ballots."
    spans = _spans(text, ["Loyola University", "Los Angeles"])
    university, city = engine.resolve(text, spans).mentions
    assert university.approximate and university.candidate.name == "Los Angeles" == city.candidate.name
    with _with_rules(engine, ()):
        assert engine.resolve(text, spans).mentions[0].candidate.name == "Loyola"


def test_a_qualifier_that_no_reading_is_in_makes_the_name_approximate(engine):
    """The gazetteer's only Holliday is in Texas: "Holliday, Missouri" is put in Missouri, flagged as a guess."""
    text = "The car skidded two miles south of Holliday, Missouri, near Moberly, on Friday."
    spans = _spans(text, ["Holliday", "Missouri", "Moberly"])
    town = engine.resolve(text, spans).mentions[0]
    assert town.approximate and town.candidate.name == "Missouri"
    assert town.alternatives[0].candidate.name == "Holliday"  # the contradicted reading stays the first alternative
    with _with_rules(engine, ()):
        assert engine.resolve(text, spans).mentions[0].candidate.admin1 == "US.TX"


def test_a_possessive_that_no_reading_is_in_or_near_makes_the_name_approximate(engine):
    """ "Cairo's Abbasiya": the gazetteer knows Abbasiya only as an old name of Yehud, in Israel, 400 km off, so
    the neighbourhood is put at Cairo as a guess; "London's Brixton" is the Brixton near London."""
    text = "Police sealed off a church in Cairo's Abbasiya neighbourhood after the blast, Egypt's officials said."
    spans = _spans(text, ["Cairo", "Abbasiya", "Egypt"])
    quarter = engine.resolve(text, spans).mentions[1]
    assert quarter.approximate and quarter.candidate.name == "Cairo"
    with _with_rules(engine, ()):
        assert engine.resolve(text, spans).mentions[1].candidate.country_code == "IL"  # what the rule fixes
    text = "Crowds filled London's Brixton on Saturday."
    brixton = engine.resolve(text, _spans(text, ["London", "Brixton"])).mentions[1]
    assert not brixton.approximate and brixton.candidate.name == "Brixton"


def test_the_qualifier_of_a_town_is_the_province_that_contains_it(engine):
    """ "Albany, New York" and "Bronx, New York" name the state, though "New York" alone is the city; "London,
    Paris" is a list and "New York, New York" the city (rule qualifier_is_container)."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "The firm moved from Albany, New York, to a hospital in Bronx, New York."
    spans = _spans(text, ["Albany", "New York", "Bronx", "New York"])
    mentions = engine.resolve(text, spans).mentions
    assert [(m.candidate.name, m.candidate.feature) for m in mentions[1::2]] == [("New York", Feature.ADMIN1)] * 2
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"qualifier_is_container"}):
        assert engine.resolve(text, spans).mentions[1].candidate.feature is Feature.CITY  # what the rule fixes
    text = "She flew from London, Paris and Berlin, then home to New York, New York."
    mentions = engine.resolve(text, _spans(text, ["London", "Paris", "Berlin", "New York", "New York"])).mentions
    assert [m.candidate.feature for m in mentions] == [Feature.CITY] * 5


def test_a_list_of_places_is_not_a_qualifier(engine):
    """In "Saipan, Guam, Alaska" Guam does not contain Saipan: each is read as itself."""
    text = "Her trips took her to Saipan, Guam, Alaska, Hawaii and Florida."
    mentions = engine.resolve(text, _spans(text, ["Saipan", "Guam", "Alaska", "Hawaii", "Florida"])).mentions
    assert not any(m.approximate for m in mentions)
    assert mentions[0].candidate.name == "Saipan" and mentions[0].candidate.country_code == "MP"


def test_a_governors_place_is_the_state(engine):
    """ "New York Gov. Andrew Cuomo": the state, and one sense per name for the other mention."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "New York Gov. Andrew Cuomo spoke in New York on Monday."
    spans = _spans(text, ["New York", "New York"])
    assert [m.candidate.feature for m in engine.resolve(text, spans).mentions] == [Feature.ADMIN1] * 2
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"governor_of_province"}):
        assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.CITY


@pytest.mark.parametrize(
    "text, lists",
    [
        ("Alberta, Saskatchewan and Newfoundland are oil provinces.", [["Alberta", "Saskatchewan", "Newfoundland"]]),
        ("Firms leave states such as California or Washington, because of costs.", [["California", "Washington"]]),
        ("She lives in Paris, Texas, near Dallas.", []),
        ("From Kabul, Kandahar, Herat and Mazar to Paris, France.", [["Kabul", "Kandahar", "Herat", "Mazar"]]),
    ],
)
def test_lists_of_places(text, lists):
    """Three or more places joined by commas, or two by "and"/"or"; "Paris, Texas" is no list."""
    from geo.resolution import Toponym, _lists

    words = [w.strip(".,") for w in text.split() if w[:1].isupper() and w not in ("She", "From", "Firms", "New")]
    toponyms = [Toponym(s, e, text[s:e]) for s, e in _spans(text, words)]
    assert [[t.text for t in chain] for chain in _lists(text, toponyms)] == lists


def test_a_list_names_places_of_one_kind(engine):
    """In a story about Alberta, "New South Wales, Western Australia and Queensland" is the Australian state."""
    text = (
        "Alberta should learn how to fight wildfires from New South Wales, Western Australia and Queensland, "
        "the Alberta minister said."
    )
    spans = _spans(text, ["Alberta", "New South Wales", "Western Australia", "Queensland", "Alberta"])
    queensland = engine.resolve(text, spans).mentions[3].candidate
    assert queensland.country_code == "AU" and queensland.feature is Feature.ADMIN1


def test_a_name_nothing_knows_is_put_at_the_place_named_closest_to_it():
    """Before or after it in the text, whichever is closer; the earlier on a tie."""
    from geo.model import Candidate, Mention
    from geo.resolution import _anchor

    def at(start: int, name: str) -> Mention:
        place = Candidate(1, name, 0.0, 0.0, Feature.CITY)
        return Mention(start, start + len(name), name, "GPE", candidate=place, confidence=0.9)

    local = [at(0, "Leeds"), at(100, "Bradford")]
    assert _anchor(at(90, "Mill"), local).text == "Bradford"
    assert _anchor(at(20, "Mill"), local).text == "Leeds"
    assert _anchor(at(50, "Mill"), local).text == "Leeds"


def test_a_people_of_no_country_is_read_as_its_area(engine):
    """ "Kurdish" is Kurdistan and "English" England, as "Afghan" is Afghanistan; not a town named English."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "A Kurdish militia said the English city of Salisbury and Tamil parties were at odds."
    spans = _spans(text, ["Kurdish", "English", "Tamil"])
    kurdish, english, tamil = engine.resolve(text, spans).mentions
    assert kurdish.candidate.name == "Kurdistan" and kurdish.candidate.feature is Feature.REGION
    assert english.candidate.name == "England" and english.candidate.country_code == "GB"
    assert tamil.candidate.country_code == "IN" and tamil.candidate.feature is Feature.ADMIN1
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"regional_demonym"}):
        without = engine.resolve(text, spans).mentions
    assert without[0].candidate is None or without[0].candidate.name != "Kurdistan"
    assert without[1].candidate is None or without[1].candidate.name != "England"


@pytest.mark.parametrize("word", ["Grand", "Democrat", "Sunni", "Western"])
def test_an_ordinary_word_is_no_peoples_name(engine, word):
    """A word that begins several areas' names ("Grand Est", "Grand Port"), or begins one only as the start of a
    longer word ("Democratic Republic of the Congo", "Sunnerbo"), is not read as an area."""
    from geo.resolution import resolve_demonyms

    (m,) = resolve_demonyms(engine.gazetteer, [_toponym(word)])
    assert m.candidate is None


def _toponym(text):
    from geo.resolution import Toponym

    return Toponym(0, len(text), text)


def test_a_name_written_with_st_is_the_places_own_name(engine):
    """ "St. Petersburg" in a story about Russia is Saint Petersburg: "St." is how its own name is written short,
    not an alternate name that a same-named Florida city bears as its own."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "Russia will close the US consulate in St. Petersburg and expel diplomats, Moscow said."
    spans = _spans(text, ["Russia", "US", "St. Petersburg", "Moscow"])

    def russian_chance(mention):
        readings = [(mention.candidate, mention.confidence)]
        readings += [(a.candidate, a.confidence) for a in mention.alternatives]
        return next(p for c, p in readings if c is not None and c.country_code == "RU")

    city = engine.resolve(text, spans).mentions[2]
    assert city.candidate.country_code == "RU"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"abbreviated_own_name"}):
        without = engine.resolve(text, spans).mentions[2]
    assert russian_chance(without) < russian_chance(city)


def test_same_name_up_to_abbreviations():
    from geo.names import same_name

    assert same_name("St. Petersburg", "Saint Petersburg") and same_name("Mt. Kenya", "Mount Kenya")
    assert same_name("Ft. Worth", "Fort Worth") and same_name("Saint Paul", "St. Paul")
    assert not same_name("St. Petersburg", "Petersburg") and not same_name("Leningrad", "Saint Petersburg")


def test_a_name_nothing_knows_that_names_a_country_is_read_as_that_country(engine):
    """ "Bank of Japan", "Mexican Senate", "Council of Europe" are approximately Japan, Mexico and Europe, not the
    place named closest to them; a name the text puts somewhere ("... School in Cairo") stays there."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = (
        "Officials in Aberdeen said the Bank of Japan, the Mexican Senate and the Council of Europe wrote. "
        "Pupils of the British International School in Cairo played."
    )
    words = ["Aberdeen", "Bank of Japan", "Mexican Senate", "Council of Europe", "British International School"]
    spans = _spans(text, [*words, "Cairo"])
    _, bank, senate, council, school, _ = engine.resolve(text, spans).mentions
    assert bank.approximate and bank.candidate.name == "Japan" and bank.candidate.feature is Feature.COUNTRY
    assert senate.approximate and senate.candidate.name == "Mexico"
    assert council.approximate and council.candidate.name == "Europe"
    assert school.approximate and school.candidate.name == "Cairo"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"embedded_country"}):
        without = engine.resolve(text, spans).mentions
    assert without[1].candidate is None or without[1].candidate.name != "Japan"


@pytest.mark.parametrize(
    "name", ["Fire Island", "St. Michael's Hospital", "Percy French Hotel", "Kfraya Farm", "SB Smith Electrical"]
)
def test_a_word_of_a_name_is_no_country_by_accident(engine, name):
    """An alternate name as the last word ("Island", Iceland's), a code or dotted abbreviation ("St." is no Sao
    Tome), a small territory's initials ("SB", Saint Barthelemy) or a people's name inside a name ("Percy French")
    does not make the name a country."""
    from geo.resolution import _Name

    toponym = _toponym(name)
    assert engine.resolver._embedded_country(_Name(name.casefold(), [toponym], [], [])) == []


def test_an_unqualified_dateline_is_read_as_the_article_says(engine):
    """ "LONDON —" atop an article on Ontario is London, Ontario: the dateline is read by the ranker with the
    article's other places, not by its prior alone; and then it sets the scene for the others."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = ("LONDON — Ontario's health minister visited the city's hospital on Friday. Officials in Toronto and "
            "Windsor said the new wing would open in spring, and Kitchener is next.")
    london = engine.parse(text).mentions[0]
    assert (london.text, london.candidate.country_code, london.candidate.name) == ("LONDON", "CA", "London")
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"dateline_in_context"}):
        by_prior = engine.parse(text).mentions[0]
    assert by_prior.candidate.country_code == "GB"  # what the prior alone says, and what the rule fixes
    qualified = "LONDON, England — Officials in Toronto and Windsor said the new wing would open in spring."
    assert engine.parse(qualified).mentions[0].candidate.country_code == "GB"  # a qualifier still decides


def test_a_name_the_text_calls_a_town_is_read_as_a_town(engine):
    """ "the city of Lebanon" is a town, not the country; with no town of that name in the gazetteer it is read
    approximately; "the capital city of Iraq" still names the country that contains the city."""
    from geo.model import Feature
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "Crews cleared snow in the city of Lebanon on Monday, and the schools stayed shut."
    spans = _spans(text, ["Lebanon"])
    town = engine.resolve(text, spans).mentions[0]
    assert town.candidate.feature is Feature.CITY and town.candidate.country_code != "LB"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"town_word"}):
        country = engine.resolve(text, spans).mentions[0]
    assert country.candidate.feature is Feature.COUNTRY  # what the rule fixes

    text = "Baghdad, the capital city of Iraq, was calm; the largest city of Texas, Houston, was not."
    iraq, texas = (m for m in engine.resolve(text, _spans(text, ["Baghdad", "Iraq", "Texas", "Houston"])).mentions
                   if m.text in ("Iraq", "Texas"))
    assert iraq.candidate.feature is Feature.COUNTRY and texas.candidate.feature is Feature.ADMIN1


def test_an_oceans_one_word_name_is_the_ocean_unless_a_qualifier_names_a_town(engine):
    """ "the Atlantic" is the ocean, not Atlantic, Iowa; "Atlantic, Iowa" is the town (rule ocean_word)."""
    from geo.model import Feature
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "Storms over the Atlantic forced ships back to Boston."
    spans = _spans(text, ["Atlantic", "Boston"])
    ocean = engine.resolve(text, spans).mentions[0]
    assert (ocean.candidate.name, ocean.candidate.feature) == ("Atlantic Ocean", Feature.WATER)
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"ocean_word"}):
        town = engine.resolve(text, spans).mentions[0]
    assert town.candidate.feature is Feature.CITY  # what the rule fixes

    text = "She grew up in Atlantic, Iowa, and moved to Omaha."
    town = engine.resolve(text, _spans(text, ["Atlantic", "Iowa", "Omaha"])).mentions[0]
    assert (town.candidate.feature, town.candidate.admin1) == (Feature.CITY, "US.IA")


def test_a_water_kind_word_alone_is_the_body_of_that_kind_the_story_is_near(engine):
    """ "the Gulf" is the Persian Gulf in a story on Qatar (or on Qatar and Iran, naming no town), the Gulf of Mexico
    in one on Louisiana, "the Channel" the English Channel between Dover and Calais: never Papua New Guinea's Gulf
    province (rule water_kind_word)."""
    from geo.model import Feature
    from geo.resolution import RESOLUTION_RULE_NAMES

    def gulf_in(text: str, others: list[str]):
        return next(m for m in engine.resolve(text, _spans(text, ["Gulf", *others])).mentions if m.text == "Gulf")

    text = "Riyadh cut ties with Doha, and Saudi Arabia's embargo on a fellow ally in the Gulf, Qatar, goes on."
    others = ["Riyadh", "Doha", "Saudi Arabia", "Qatar"]  # "the Gulf, Qatar" is a list, not a Gulf in Qatar
    assert gulf_in(text, others).candidate.name == "Persian Gulf"
    text = "Shrimpers in Houma and Galveston say the Gulf has not recovered, Louisiana officials said."
    gulf = gulf_in(text, ["Houma", "Galveston", "Louisiana"])
    assert (gulf.candidate.name, gulf.candidate.feature) == ("Gulf of Mexico", Feature.WATER)
    text = "Tankers crossed the Gulf from Qatar to Iran."  # countries only: found where they are, not the biggest
    assert gulf_in(text, ["Qatar", "Iran"]).candidate.name == "Persian Gulf"
    text = "Ferries from Dover to Calais crossed the Channel despite the storm."
    channel = engine.resolve(text, _spans(text, ["Dover", "Calais", "Channel"])).mentions[2]
    assert channel.candidate.name == "English Channel"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"water_kind_word"}):
        province = gulf_in("Officials in the Gulf met on Monday.", [])
    assert province.candidate is None or province.candidate.feature is not Feature.WATER  # what the rule fixes


def test_a_compass_word_shares_the_name_it_is_joined_to(engine):
    """ "North and South Korea": "North" is North Korea, not Cameroon's North province; "West and Central Africa"
    and "Eastern and Southern Europe" alike (rule shared_name). A name the gazetteer does not know so formed is
    read as before."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "Talks between North and South Korea resumed, and trade with West and Central Africa grew."
    spans = _spans(text, ["North", "South Korea", "West", "Central Africa"])
    north, south, west, _ = engine.resolve(text, spans).mentions
    assert (north.candidate.name, north.candidate.feature) == ("North Korea", Feature.COUNTRY)
    assert north.confidence >= 0.85 and south.candidate.name == "South Korea"
    assert west.candidate.feature is Feature.REGION and west.candidate.lon < 0 < west.candidate.lat  # West Africa
    text = "Exports to Eastern and Southern Europe fell."
    eastern = engine.resolve(text, _spans(text, ["Eastern", "Southern Europe"])).mentions[0]
    assert eastern.candidate.name == "Eastern Europe"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"shared_name"}):
        north = engine.resolve("Talks between North and South Korea resumed.",
                               _spans("Talks between North and South Korea resumed.", ["North", "South Korea"]))
    assert north.mentions[0].candidate is None or north.mentions[0].candidate.country_code != "KP"


def test_a_name_is_read_through_its_place_word_not_its_kind_word(engine):
    """An unknown name's words that say what it is ("University", "Bay", "Hills") are no reading of it, though
    towns bear them (University, Florida; Bay Village, Ohio); its last word may be the place ("of California")."""
    text = "Students at the University of California marched on Monday, and boats crowded Biscayne Bay in Miami."
    spans = _spans(text, ["University of California", "Biscayne Bay", "Miami"])
    university, bay, _ = engine.resolve(text, spans).mentions
    assert (university.candidate.name, university.candidate.feature) == ("California", Feature.ADMIN1)
    assert university.approximate
    assert bay.approximate and bay.candidate.name == "Miami"  # the article's own place, not Bay Village, Ohio
    text = "Hikers filled Hocking Hills near Logan, Ohio, on Saturday."
    hills = engine.resolve(text, _spans(text, ["Hocking Hills", "Logan", "Ohio"])).mentions[0]
    assert hills.candidate is not None and hills.candidate.admin1 == "US.OH"


def test_a_dateline_place_nothing_knows_is_read_as_its_qualifier(engine):
    """ "CAMP X, Wash. —": the base is in no gazetteer, but its qualifier says the story is set in Washington
    state, so "at home in Washington" is the state, not the capital the text writes "Washington, D.C."."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = ("CAMP QUARTZWATER, Wash. — His team's primary focus has been at home in Washington. Trips to Saipan, "
            "Guam, Alaska, Hawaii, Florida and Washington, D.C., among many others.")

    def washington() -> Feature:
        return next(m for m in engine.parse(text).mentions if m.text == "Washington").candidate.feature

    assert washington() is Feature.ADMIN1
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"dateline_in_qualifier"}):
        assert washington() is Feature.CITY  # no scene set: the bare name is the capital


def test_an_unknown_name_is_put_at_one_place_for_all_its_mentions(engine):
    """A name nothing knows is put near the place named closest to each mention; said near Damascus twice and near
    Aleppo once, it is one marker at the place its mentions' learned chances back most, not two (rule
    one_place_per_unknown_name)."""
    import re

    from geo.resolution import RESOLUTION_RULE_NAMES

    text = (
        "Shelling hit Qarvenna on Monday, residents of Damascus said. Families fled Qarvenna overnight as the "
        "bombardment of the district went on for a third day. " + "Aid agencies said the roads were closed. " * 6 +
        "In Aleppo, the United Nations said food for Qarvenna was waiting at the border."
    )
    spans = sorted((m.start(), m.end()) for w in ("Qarvenna", "Damascus", "Aleppo") for m in re.finditer(w, text))

    def places(mentions):
        return [m.candidate.name for m in mentions if m.text == "Qarvenna" and m.approximate]

    assert places(engine.resolve(text, spans).mentions) == ["Damascus"] * 3
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"one_place_per_unknown_name"}):
        assert places(engine.resolve(text, spans).mentions) == ["Damascus", "Damascus", "Aleppo"]  # what it fixes


def test_a_people_name_two_countries_share_is_the_one_the_article_is_about(engine):
    """ "Korean", "Congolese": a people's name several countries' names are built on is the one the article is about
    most (rule shared_people_name), whether it stands alone (a demonym) or begins a name nothing knows ("Korean
    Peninsula"); a territory that also bears it ("French": Réunion) does not take it from its country."""
    import re

    from geo.resolution import RESOLUTION_RULE_NAMES

    def read(text: str, words: list[str]) -> dict[str, str]:
        spans = sorted((m.start(), m.end()) for w in words for m in re.finditer(re.escape(w), text))
        return {m.text: m.candidate.name for m in engine.resolve(text, spans).mentions if m.candidate}

    korea = "Tension on the Korean Peninsula rose as Pyongyang fired a missile. North Korea said more would follow."
    korea_words = ["Korean Peninsula", "Pyongyang", "North Korea"]
    assert read(korea, korea_words)["Korean Peninsula"] == "North Korea"
    congo = "Congolese troops crossed the river into Brazzaville on Monday, the Republic of the Congo said."
    congo_words = ["Congolese", "Brazzaville", "Republic of the Congo"]
    assert read(congo, congo_words)["Congolese"] == "Republic of the Congo"
    reunion = "French officials flew to Saint-Denis, and the Réunion council met them in Réunion on Monday."
    assert read(reunion, ["French", "Saint-Denis", "Réunion"])["French"] == "France"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"shared_people_name"}):
        assert read(korea, korea_words)["Korean Peninsula"] == "South Korea"  # what the rule fixes: the bigger one
        assert read(congo, congo_words)["Congolese"] == "Democratic Republic of the Congo"


def test_a_north_american_time_zone_says_where_the_story_is(engine):
    """ "from 7 a.m. CT": a clock time in a North American time zone counts as a mention of the United States and
    Canada (rule time_zone_country), so a bare "Birmingham" is Birmingham, Alabama; without a zone it is the bigger
    Birmingham, England, and a zone other countries share ("IST") or a word such as "CT scan" says nothing."""
    from geo.resolution import RESOLUTION_RULE_NAMES, _time_zone_countries

    def birmingham(text: str) -> str:
        start = text.index("Birmingham")
        return engine.resolve(text, [(start, start + len("Birmingham"))]).mentions[0].candidate.country_code

    zoned = "Organizers of the Birmingham festival cut the price of two-day passes, from 7 a.m. CT today until Sunday."
    assert birmingham(zoned) == "US"
    assert birmingham(zoned.replace(" CT", "")) == "GB"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"time_zone_country"}):
        assert birmingham(zoned) == "GB"  # what the rule fixes
    assert _time_zone_countries("until 11:59 p.m. (EDT) and at noon HST") == {"US", "CA"}
    assert not _time_zone_countries("a CT scan at 5 p.m. and a call at 9 a.m. IST")


def test_a_village_far_from_a_local_story_is_one_the_gazetteer_lacks(engine):
    """ "a bungalow in Overton" in a story on Dewsbury, Ossett and Wakefield is the West Yorkshire village the gazetteer
    does not know, not Overton, Hampshire, 250 km off: read approximately, near the story's places (rule
    village_far_from_home). A travel piece across the country keeps its far villages."""
    import re

    from geo.resolution import RESOLUTION_RULE_NAMES

    def overton(text: str, words: list[str]):
        spans = sorted((m.start(), m.end()) for w in [*words, "Overton"] for m in re.finditer(re.escape(w), text))
        return next(m for m in engine.resolve(text, spans).mentions if m.text == "Overton")

    local = (
        "The couple met in Dewsbury and married in Ossett. They rented a cottage in Wakefield, then moved to "
        "Horbury, and finally to a bungalow in Overton, where they have lived for 24 years."
    )
    places = ["Dewsbury", "Ossett", "Wakefield", "Horbury"]
    village = overton(local, places)
    assert village.approximate and village.candidate.name in places
    travel = "Our trip began in Inverness, went on to Glasgow and Manchester, then Bristol, and ended in Overton."
    assert not overton(travel, ["Inverness", "Glasgow", "Manchester", "Bristol"]).approximate
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"village_far_from_home"}):
        far = overton(local, places)
    assert not far.approximate and far.candidate.name == "Overton"  # what the rule fixes: the Hampshire village


@pytest.mark.parametrize(
    "text", ["Fracking is banned in the state of New York.", "Heavy snow hit upstate New York on Monday."]
)
def test_a_name_the_words_before_call_a_state_is_the_state(engine, text):
    """ "the state of New York", "upstate New York": the state, not the city (rule state_word_before); a name with
    no province of that name keeps its reading ("the State of Israel")."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    spans = _spans(text, ["New York"])
    assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.ADMIN1
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"state_word_before"}):
        assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.CITY  # what the rule fixes
    israel = "Leaders of the State of Israel met."
    assert engine.resolve(israel, _spans(israel, ["Israel"])).mentions[0].candidate.feature is Feature.COUNTRY


def test_the_governor_of_a_state_names_the_state(engine):
    """ "the governor of New York", like "New York Gov.": the state (rule governor_of_province)."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "The governor of New York signed the bill in Albany."
    spans = _spans(text, ["New York", "Albany"])
    assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.ADMIN1
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"governor_of_province"}):
        assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.CITY


def test_a_county_word_after_a_name_reads_the_county(engine):
    """ "Suffolk county": a county, found under the name written with the word ("Suffolk County"), not the city
    of Suffolk, Virginia (rule county_word)."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    text = "Officials in Suffolk county said the beaches on Long Island were closed."
    spans = _spans(text, ["Suffolk"])
    county = engine.resolve(text, spans).mentions[0].candidate
    assert county.feature is Feature.ADMIN2 and county.name == "Suffolk County"
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"county_word"}):
        assert engine.resolve(text, spans).mentions[0].candidate.feature is Feature.CITY  # what the rule fixes


def test_a_division_words_plural_after_a_list_is_each_members(engine):
    """ "Dallas and Tarrant counties": two Texas counties, not Tarrant, Alabama; "Kandahar and Helmand provinces":
    two provinces, not the city of Kandahar (rule division_word_after_list)."""
    from geo.resolution import RESOLUTION_RULE_NAMES

    def readings(text: str, words: list[str]) -> list[tuple[str, Feature, str]]:
        mentions = engine.resolve(text, _spans(text, words)).mentions
        return [(m.candidate.name, m.candidate.feature, m.candidate.admin1) for m in mentions]

    texas = "Voters in Dallas and Tarrant counties backed the measure."
    assert readings(texas, ["Dallas", "Tarrant"]) == [
        ("Dallas County", Feature.ADMIN2, "US.TX"),
        ("Tarrant County", Feature.ADMIN2, "US.TX"),
    ]
    afghan = "Fighting raged in Kandahar and Helmand provinces."
    assert [f for _, f, _ in readings(afghan, ["Kandahar", "Helmand"])] == [Feature.ADMIN1] * 2
    ocean = "The Pacific states have strict emissions rules."  # one name before the plural: a region's states
    assert engine.resolve(ocean, _spans(ocean, ["Pacific"])).mentions[0].candidate.feature is Feature.WATER
    with _with_rules(engine, set(RESOLUTION_RULE_NAMES) - {"division_word_after_list"}):
        assert readings(texas, ["Dallas", "Tarrant"])[1][1] is Feature.CITY  # what the rule fixes
        assert readings(afghan, ["Kandahar", "Helmand"])[0][1] is Feature.CITY


@pytest.mark.parametrize(
    "text, code",
    [
        ("Rebels seized Goma in eastern Congo.", "CD"),
        ("The president of Congo spoke in Brazzaville on Sunday.", "CG"),
    ],
)
def test_congo_is_either_congo_as_the_article_says(engine, text, code):
    """ "Congo" is both countries' name (ISO's short name gives it to the Republic only): the article decides."""
    words = ["Goma", "Congo"] if "Goma" in text else ["Congo", "Brazzaville"]
    congo = next(m for m in engine.resolve(text, _spans(text, words)).mentions if m.text == "Congo")
    assert congo.candidate.feature is Feature.COUNTRY and congo.candidate.country_code == code
