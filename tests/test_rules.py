"""The recognition rule table: every rule named, switchable, and recorded on the spans it decides.

Rules are tested on ``spacy.blank("en")`` docs with hand-set entities: the model is not the point here.
"""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

from geo.recognize import (
    DEMONYM,
    DROPPED_KEY,
    RULE_NAMES,
    RULES,
    SPAN_KEY,
    RecognitionSettings,
    Stage,
    ToponymFinder,
    load_pipeline,
    name_tables,
)
from tests.factories import doc_with_ents

# Exercises most stages: a demonym, a model place, a gazetteer name the model missed, an organisation
# named like a place, a surname, a comma-joined entity, a ", D.C." to extend and a dotted abbreviation.
TEXT = (
    "Afghan forces met in Kabul on Friday. Fighting went on in Afghanistan's Spin Boldak. "
    "The White House said talks in Thruxton, Hampshire went well. Imran Khan spoke in Lahore. "
    "Later Khan said more. Fires burned in Washington, D.C. and in Oakland, Calif. near the US border."
)
ENTS = [
    ("Afghan", "NORP"), ("Kabul", "GPE"), ("Afghanistan", "GPE"), ("Spin", "GPE"), ("White House", "ORG"),
    ("Thruxton, Hampshire", "GPE"), ("Imran Khan", "PERSON"), ("Lahore", "GPE"), ("Khan", "PERSON"),
    ("Washington", "GPE"), ("Oakland", "GPE"), ("US", "GPE"),
]


@pytest.fixture(scope="module")
def blank():
    return spacy.blank("en")


def run(gazetteer, blank, disabled: frozenset[str] = frozenset(), text: str = TEXT, ents=ENTS) -> Doc:
    finder = ToponymFinder(str(gazetteer.path), RecognitionSettings(disabled_rules=disabled))
    return finder(doc_with_ents(blank, text, ents))


def decided(doc: Doc) -> list[tuple[str, str, str]]:
    return [(s.text, s.label_, s.id_) for s in doc.spans[SPAN_KEY]]


def test_rule_names_are_unique_and_every_stage_has_rules():
    assert len(RULE_NAMES) == len(set(RULE_NAMES))
    assert {rule.stage for rule in RULES} == set(Stage)
    assert all(rule.why for rule in RULES)


def test_each_kept_span_records_the_rule_that_kept_it(gazetteer, blank):
    found = decided(run(gazetteer, blank))
    assert ("Afghan", DEMONYM, "demonym_entity") in found
    assert ("Kabul", "GPE", "model_place") in found
    assert ("Spin Boldak", "GPE", "extend_to_longer_name") in found
    assert ("Washington, D.C.", "GPE", "extend_to_full_name") in found
    assert all(rule in RULE_NAMES for *_, rule in found)


def test_each_dropped_span_records_the_rule_that_dropped_it(gazetteer, blank):
    doc = run(gazetteer, blank)
    dropped = {(s.text, s.id_) for s in doc.spans[DROPPED_KEY]}
    assert ("White House", "organisation_named_like_place") in dropped or "White House" not in TEXT
    assert all(rule in RULE_NAMES for _, rule in dropped)
    assert "Khan" not in [t for t, *_ in decided(doc)]


@pytest.mark.parametrize("name", RULE_NAMES)
def test_every_rule_can_be_disabled(gazetteer, blank, name):
    """Switched off, a rule decides nothing: no kept or dropped span carries its name, and the rest still run."""
    doc = run(gazetteer, blank, frozenset({name}))
    assert name not in {s.id_ for s in doc.spans[SPAN_KEY]} | {s.id_ for s in doc.spans[DROPPED_KEY]}
    if name != "gazetteer_place":
        assert doc.spans[SPAN_KEY], "the other rules still find places"


def test_disabling_a_rule_changes_what_is_found(gazetteer, blank):
    assert ("Kabul", "GPE", "model_place") not in decided(run(gazetteer, blank, frozenset({"model_place"})))
    without = decided(run(gazetteer, blank, frozenset({"extend_to_longer_name"})))
    assert ("Spin Boldak", "GPE", "extend_to_longer_name") not in without
    assert ("Spin", "GPE", "model_place") not in without  # a lone unknown word: the person rule drops it
    assert "Washington" in [t for t, *_ in decided(run(gazetteer, blank, frozenset({"extend_to_full_name"})))]


def test_an_unknown_rule_name_is_an_error():
    with pytest.raises(ValueError, match="no_such_rule"):
        RecognitionSettings(disabled_rules=frozenset({"no_such_rule"}))


def test_settings_come_from_the_factory_config(gazetteer):
    settings = RecognitionSettings.from_config(["model_place"], {"speech_verbs": ["said"]}, min_population=5000)
    assert settings.speech_verbs == frozenset({"said"}) and settings.disabled_rules == frozenset({"model_place"})
    with pytest.raises(ValueError, match="unknown recognition setting"):
        RecognitionSettings.from_config([], {"no_such_setting": 1})


def test_name_tables_are_read_once_per_gazetteer(gazetteer):
    """Engines in one process share the recogniser's name tables (reading them is most of an Engine's start)."""
    first = name_tables(str(gazetteer.path), RecognitionSettings())
    again = name_tables(str(gazetteer.path), RecognitionSettings(disabled_rules=frozenset({"model_place"})))
    assert again is first


@pytest.mark.slow
def test_the_pipeline_passes_disabled_rules_to_the_component(gazetteer):
    nlp = load_pipeline(gazetteer, disabled_rules=["names_a_person"])
    assert nlp.get_pipe_config("dateline_toponyms")["disabled_rules"] == ["names_a_person"]
    assert "names_a_person" not in {r.name for rules in nlp.get_pipe("dateline_toponyms").rules.values() for r in rules}


def test_qualified_town_keeps_a_small_town_named_with_its_province(gazetteer, blank):
    """A town under the population floor is a place when its province follows ("Holliday, Texas"); the bench's
    corpora barely have the case, so this test is what shows the rule pays."""
    text = "Storms damaged homes in Holliday, Texas on Monday."
    ents = [("Texas", "GPE")]
    on = run(gazetteer, blank, text=text, ents=ents)
    assert ("Holliday", "GPE", "gazetteer_place") in decided(on)
    off = run(gazetteer, blank, frozenset({"qualified_town"}), text=text, ents=ents)
    assert "Holliday" not in [t for t, *_ in decided(off)]


def test_a_compass_word_that_shares_the_name_after_its_partner_is_kept(gazetteer, blank):
    """ "Eastern" in "Eastern and Southern Europe" is a place (Eastern Europe) though the model tags only "Southern
    Europe"; a compass word joined to a name it cannot share ("Northern and Southern Italy": no "Northern Italy"
    in the gazetteer) is not taken up by this rule."""
    text = "Exports to Eastern and Southern Europe fell, but Northern and Southern Italy did well."
    ents = [("Southern Europe", "LOC"), ("Southern Italy", "LOC")]
    on = run(gazetteer, blank, text=text, ents=ents)
    assert ("Eastern", "GPE", "gazetteer_place") in decided(on)
    assert "Northern" not in [t for t, *_ in decided(on)]
    off = run(gazetteer, blank, frozenset({"shared_compass_name"}), text=text, ents=ents)
    assert "Eastern" not in [t for t, *_ in decided(off)]


def test_a_model_place_in_lower_case_words_is_a_common_noun(gazetteer, blank):
    """ "mosques", "midtown", the "coast" of "western coast": the model tags ordinary words as places, and the
    resolver could only guess where they are (GeoWebNews' "mosques" was put at Newark at 0.86). Kept where the
    document writes the same words with capitals too (a line of lower-case tags), and in a lower-cased text."""
    text = "He left a streetcar in midtown Toronto. Informants went to mosques in Newark."
    ents = [("midtown", "GPE"), ("Toronto", "GPE"), ("mosques", "FAC"), ("Newark", "GPE")]
    on = [t for t, *_ in decided(run(gazetteer, blank, text=text, ents=ents))]
    assert on == ["Toronto", "Newark"]
    off = [t for t, *_ in decided(run(gazetteer, blank, frozenset({"lower_case_entity"}), text=text, ents=ents))]
    assert off == ["midtown", "Toronto", "mosques", "Newark"]

    tags = "Visit Niagara Falls in May. Tags: niagara falls hotels."
    kept = decided(run(gazetteer, blank, text=tags, ents=[("Niagara Falls", "GPE"), ("niagara falls", "GPE")]))
    assert [t for t, *_ in kept] == ["Niagara Falls", "niagara falls"]

    lowered = "flooding in jakarta displaced thousands of people on monday."
    assert [t for t, *_ in decided(run(gazetteer, blank, text=lowered, ents=[("jakarta", "GPE")]))] == ["jakarta"]


def test_a_sizeable_town_is_a_place_whatever_the_model_calls_it(gazetteer, blank):
    """ "visited Goma and Bukavu in eastern Congo": two people to the model, two cities of the country the sentence
    names. Not a word of someone's full name ("Hamilton" after "Lewis Hamilton"), not after a title, and not
    where the document names no country the town is in."""
    text = "The minister visited Goma and Bukavu in eastern Congo."
    ents = [("Goma", "PERSON"), ("Bukavu", "PERSON"), ("Congo", "GPE")]
    on = decided(run(gazetteer, blank, text=text, ents=ents))
    assert [(t, rule) for t, _, rule in on] == [
        ("Goma", "mislabelled_sizeable_town"), ("Bukavu", "mislabelled_sizeable_town"), ("Congo", "model_place"),
    ]
    off = decided(run(gazetteer, blank, frozenset({"mislabelled_sizeable_town"}), text=text, ents=ents))
    assert [t for t, *_ in off] == ["Congo"]

    # an alternate spelling ("Raqqa", of Ar Raqqah) that the model calls an organisation, in a story on Syria
    syria = "Syrian officials said the SDF controls Raqqa."
    kept = decided(run(gazetteer, blank, text=syria, ents=[("Syrian", "NORP"), ("SDF", "ORG"), ("Raqqa", "ORG")]))
    assert ("Raqqa", "GPE", "mislabelled_sizeable_town") in kept

    people = "Lewis Hamilton won in Montreal; Hamilton thanked Canada. Mr. Goma spoke in Congo."
    ents = [("Lewis Hamilton", "PERSON"), ("Montreal", "GPE"), ("Hamilton", "PERSON"), ("Canada", "GPE"),
            ("Goma", "PERSON"), ("Congo", "GPE")]
    assert [t for t, *_ in decided(run(gazetteer, blank, text=people, ents=ents))] == ["Montreal", "Canada", "Congo"]

    # after a location cue, in any spelling ("Mekelle" is an alternate name of Mek'ele), with no country named
    cue = "Tigrayan forces withdrew from Mekelle."
    assert ("Mekelle", "GPE", "mislabelled_sizeable_town") in decided(
        run(gazetteer, blank, text=cue, ents=[("Tigrayan", "NORP"), ("Mekelle", "PERSON")])
    )

    # a sentence's subject is as often a person: kept only before a possessive or punctuation
    subject = "Jackson scored 20 points as Mississippi beat Alabama. Douma's fall worried Syria."
    ents = [("Jackson", "PERSON"), ("Mississippi", "GPE"), ("Alabama", "GPE"), ("Douma", "PERSON"), ("Syria", "GPE")]
    kept = [t for t, *_ in decided(run(gazetteer, blank, text=subject, ents=ents))]
    assert "Jackson" not in kept and "Douma" in kept

    elsewhere = "The minister visited Goma and Bukavu in eastern Peru."
    ents = [("Goma", "PERSON"), ("Bukavu", "PERSON"), ("Peru", "GPE")]
    assert [t for t, *_ in decided(run(gazetteer, blank, text=elsewhere, ents=ents))] == ["Peru"]


def test_a_public_body_named_after_a_place_is_that_place(gazetteer, blank):
    """ "Metcalfe County Sheriff's Office", "the Los Angeles County Fire Department": the model calls the body a
    GPE, and the map showed it as an approximate place of its own. The body is no place; the county it serves is.
    A building named after a place ("Cook County Jail") is a place, and stays whole."""
    text = (
        "Officers from the Los Angeles County Fire Department and the Metcalfe County Sheriff's Office met. "
        "He was sent to Cook County Jail."
    )
    ents = [
        ("Los Angeles County Fire Department", "GPE"), ("Metcalfe County Sheriff's Office", "GPE"),
        ("Cook County Jail", "FAC"),
    ]
    on = decided(run(gazetteer, blank, text=text, ents=ents))
    assert ("Los Angeles County", "GPE", "public_body") in on
    assert ("Metcalfe County", "GPE", "public_body") in on
    assert ("Cook County Jail", "FAC", "model_place") in on
    # without it, a name ending with the body's word is still dropped (public_body_name) and the county inside
    # found as a gazetteer match; one ending otherwise ("Sheriff's Office") stays whole
    off = [t for t, *_ in decided(run(gazetteer, blank, frozenset({"public_body"}), text=text, ents=ents))]
    assert "Metcalfe County Sheriff's Office" in off and "Metcalfe County" not in off
    both = frozenset({"public_body", "public_body_name"})
    assert "Los Angeles County Fire Department" in [t for t, *_ in decided(run(gazetteer, blank, both, text, ents))]

    council = "On Monday, Toronto City Council voted."
    kept = decided(run(gazetteer, blank, text=council, ents=[("Toronto City Council", "GPE")]))
    assert [(t, rule) for t, _, rule in kept] == [("Toronto", "public_body")]


def test_a_public_body_that_holds_no_place_is_no_place(gazetteer, blank):
    """ "the Highway Patrol reported", "help South Central Ambulance Service": a FAC or LOC to the model, and a
    dashed marker put near some other place of the story. A known name ending with such a word stays: one word
    alone ("outside Parliament") is not looked at."""
    text = "The Highway Patrol reported a crash near Boston. Drivers help South Central Ambulance Service in Oxford."
    ents = [("Highway Patrol", "FAC"), ("Boston", "GPE"), ("South Central Ambulance Service", "LOC"), ("Oxford", "GPE")]
    doc = run(gazetteer, blank, text=text, ents=ents)
    assert [t for t, *_ in decided(doc)] == ["Boston", "Oxford"]
    rule = "public_body_name"
    assert {(s.text, s.id_) for s in doc.spans[DROPPED_KEY]} >= {
        ("Highway Patrol", rule), ("South Central Ambulance Service", rule),
    }
    off = [t for t, *_ in decided(run(gazetteer, blank, frozenset({rule}), text=text, ents=ents))]
    assert "Highway Patrol" in off and "South Central Ambulance Service" in off

    alone = "Protesters gathered outside Parliament in London."
    kept = [t for t, *_ in decided(run(gazetteer, blank, text=alone, ents=[("Parliament", "FAC"), ("London", "GPE")]))]
    assert kept == ["Parliament", "London"]
    ring = "Japan lies along the Ring of Fire."
    kept = [t for t, *_ in decided(run(gazetteer, blank, text=ring, ents=[("Japan", "GPE"), ("Ring of Fire", "LOC")]))]
    assert kept == ["Japan", "Ring of Fire"]


def test_a_news_agency_named_like_a_town_is_no_place(gazetteer, blank):
    """ "the Xinhua news agency reported", then "according to Xinhua": a Chinese district's name to the gazetteer,
    a big one, so the organisation rules kept it and the map put the agency in a town. Once the text says the
    name is a news agency's, it is the agency throughout, but not where the text gives it a place's cue, and a
    country's name before "News Agency" is still the country."""
    text = (
        "Homes were buried in Sichuan, the Xinhua news agency reported. The river was blocked, according to "
        "Xinhua. Xinhua said more rain is due."
    )
    ents = [("Sichuan", "GPE"), ("Xinhua news agency", "ORG"), ("Xinhua", "ORG"), ("Xinhua", "GPE")]
    doc = run(gazetteer, blank, text=text, ents=ents)
    assert [t for t, *_ in decided(doc)] == ["Sichuan"]
    assert {(s.text, s.id_) for s in doc.spans[DROPPED_KEY]} >= {("Xinhua", "news_agency")}
    off = run(gazetteer, blank, frozenset({"news_agency", "news_agency_name"}), text=text, ents=ents)
    assert [t for t, *_ in decided(off)].count("Xinhua") == 3

    apposition = "A man was hurt in a shop, state media agency Xinhua said. Xinhua named no suspect."
    doc = run(gazetteer, blank, text=apposition, ents=[("Xinhua", "ORG"), ("Xinhua", "ORG")])
    assert decided(doc) == []

    cue = "Protests spread in Fars, the Fars news agency said, and across Fars province."
    doc = run(gazetteer, blank, text=cue, ents=[])
    assert [(s.text, s.start_char) for s in doc.spans[SPAN_KEY]] == [
        ("Fars", cue.index("Fars,")), ("Fars", cue.index("Fars province")),
    ]

    country = "Troops left Amman, the Jordan News Agency said. The Iraqi News Agency said Iraqi troops stayed."
    ents = [("Amman", "GPE"), ("Jordan News Agency", "ORG"), ("Iraqi News Agency", "ORG")]
    kept = [t for t, *_ in decided(run(gazetteer, blank, text=country, ents=ents))]
    assert "Jordan" in kept and "Iraqi" in kept
    finder = ToponymFinder(str(gazetteer.path))
    tokens = blank.make_doc(country)
    assert finder._news_agencies(country, [t.text for t in tokens], [t.idx for t in tokens]) == frozenset()


def test_a_company_s_legal_form_is_no_place(gazetteer, blank):
    """ "Dimond Kaplan & Rothstein, P.A.": the model calls the legal form (a professional association) a GPE and
    the map put a law firm in Panama. After a town the model mistook for an organisation, known to the gazetteer or
    in a dateline's capitals, the abbreviation is still the town's province."""
    text = "Visit Dimond Kaplan & Rothstein, P.A. today. Shares of Acme Holdings, S.A. fell in Madrid."
    ents = [("Dimond Kaplan & Rothstein", "ORG"), ("P.A.", "GPE"), ("Acme Holdings", "ORG"), ("S.A.", "ORG"),
            ("Madrid", "GPE")]
    doc = run(gazetteer, blank, text=text, ents=ents)
    assert [t for t, *_ in decided(doc)] == ["Madrid"]
    assert {(s.text, s.id_) for s in doc.spans[DROPPED_KEY]} >= {("P.A.", "legal_form"), ("S.A.", "legal_form")}
    assert "P.A." in [t for t, *_ in decided(run(gazetteer, blank, frozenset({"legal_form"}), text, ents))]

    towns = "RALEIGH, N.C. - Rain fell. He moved to Columbia, S.C. last year."
    ents = [("RALEIGH", "ORG"), ("N.C.", "GPE"), ("Columbia", "ORG"), ("S.C.", "GPE")]
    kept = [t for t, *_ in decided(run(gazetteer, blank, text=towns, ents=ents))]
    assert "N.C." in kept and "S.C." in kept


def test_names_with_a_possessive_or_an_elided_article_are_found_whole(gazetteer, blank):
    """ "the Democratic People's Republic of Korea" was found as "Republic of Korea" (South Korea) because the
    gazetteer matcher stopped at "'s"; "Côte d'Ivoire" and "Coeur d'Alene", organisations to the model, were not
    found at all, as "d'Ivoire" starts with a small letter; "St. John's" was trimmed to "St. John". A lone word's
    possessive is still not part of the name ("America's" is America, not the Americas), nor a saint's name before
    a building's ("St. George's Chapel")."""
    text = (
        "Envoys of the Democratic People's Republic of Korea met. Exports from Côte d'Ivoire fell. "
        "Fires burned near Coeur d'Alene. Ferries left St. John's harbour. America's malls are empty. "
        "They wed in St. George's Chapel."
    )
    ents = [
        ("the Democratic People's Republic of Korea", "ORG"), ("Côte d'Ivoire", "ORG"), ("Coeur d'Alene", "ORG"),
        ("St. John's", "GPE"), ("America", "GPE"),
    ]
    found = [t for t, *_ in decided(run(gazetteer, blank, text=text, ents=ents))]
    assert found[:5] == [
        "Democratic People's Republic of Korea", "Côte d'Ivoire", "Coeur d'Alene", "St. John's", "America",
    ]
    assert "St. George's" not in found  # St. George's, Grenada ("St. George", Utah, is found, as before)


def test_an_organisation_named_as_a_country_is_the_country(gazetteer, blank):
    """ "Delegates from Eswatini": the model, trained before the name was, calls it an organisation, and the
    gazetteer matcher does not look for a country's other names, most of them words of other languages, so the
    country was lost. "the Saudi military": a people to the model, a country's short name to the gazetteer."""
    text = "Delegates from Eswatini met. The Saudi military struck. The Holy See Press Office said so."
    ents = [("Eswatini", "ORG"), ("Saudi", "NORP"), ("Holy See Press Office", "ORG")]
    doc = run(gazetteer, blank, text=text, ents=ents)
    assert [(t, label, rule) for t, label, rule in decided(doc) if rule == "country_named_entity"] == [
        ("Eswatini", "GPE", "country_named_entity"), ("Saudi", "GPE", "country_named_entity"),
    ]
    off = [t for t, *_ in decided(run(gazetteer, blank, frozenset({"country_named_entity"}), text, ents))]
    assert "Eswatini" not in off and "Saudi" not in off
