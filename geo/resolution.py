"""Resolution: choose, for each toponym, the gazetteer entry the article means.

Each distinct name in a document gets one reading (one sense per name per
document), in two passes: the first ranks each name's readings by prior alone
(population, kind of feature, how the name matched, the dateline, a qualifier)
to learn what the article is about: its countries, provinces and the centre of
its local places, each name's context being what the *other* names say. The
second weighs every reading with the learned ranker (:mod:`geo.features`: one
list of named features, coefficients in ``geo/data/ranker.json``): its
confidence is the calibrated probability that it is right, each reading keeps
each feature's share of its score (``why``), and the runners-up are kept as
alternatives the user may pick instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache

from geo.cache import CorrectionStore
from geo.dateline import Dateline, find_dateline
from geo.features import (
    ARTICLE,
    FIRST_LOOK_TEMPERATURE,
    LOCAL,
    STRAY_COUNTRY_WEIGHT,
    STRAY_TOWN_POPULATION,
    Approximation,
    Ranker,
    Situation,
    approximate_vector,
    feature_vector,
    first_look_score,
    is_small_town,
    prior,
    softmax,
)
from geo.features import inside as _inside
from geo.gazetteer import ABBR, ALT, NAME, Gazetteer
from geo.geometry import haversine_km, mean_point
from geo.model import HIGH_CONFIDENCE, LOW_CONFIDENCE, Alternative, Candidate, Feature, Mention, MentionKind, Reason
from geo.names import (
    ADMIN_WORDS,
    ALASKA_HAWAII_TIME_ZONES,
    COUNTY_WORDS,
    GENERIC_REGION_WORDS,
    KIND_WORDS,
    NORTH_AMERICAN_TIME_ZONES,
    SHORT_WATER_WORDS,
    TIME_ZONE_COUNTRIES,
    area_stems,
    country_stems,
    division_word_after,
    names_area,
    normalize,
    same_name,
    variants,
)

MAX_ALTERNATIVES = 3
PART_CONFIDENCE = 0.6  # a reading found through part of the name is less certain
BIG_COUNTRY_POPULATION = 1_000_000  # a country whose abbreviation inside a name ("US Federal Reserve") names it
# An approximate reading's confidence is learned (geo.features.ApproximateModel, in the ranker's file): the chance
# it is within 161 km. Without a learned one (an older model file), a fixed guess: measured before the learned
# ranker, 44% to 57% of approximate readings were within 161 km of gold.
BACKOFF_CONFIDENCE = 0.45
# An approximate reading (backed off, or taken from one word of a longer name) is shown at its learned chance of
# being within 161 km, but never as sure (under geo.model.HIGH_CONFIDENCE). It is always marked approximate (a
# dashed grey marker, "approximate location: placed near ..."); it is flagged low-confidence, as any reading is,
# when its chance is under geo.model.LOW_CONFIDENCE. Flagging every approximate reading whatever its chance flagged
# the many that are right (11% of GeoWebNews' right readings) as doubtful; capping them at 0.75 put them all under
# the line. So the cap is the line: one whose chance reaches the line is shown at it, marked approximate, unflagged.
APPROXIMATE_MAX_CONFIDENCE = LOW_CONFIDENCE
NEAR_KM = 161.0  # "near" for the article's places, as for the accuracy the calibration predicts
LOCAL_STORY_PLACES = 3  # village_far_from_home: a local story names at least this many places...
LOCAL_STORY_KM = 100.0  # ...two thirds of them this near the one amid them
assert BACKOFF_CONFIDENCE <= APPROXIMATE_MAX_CONFIDENCE < HIGH_CONFIDENCE
DEMONYM_CONFIDENCE = 0.9  # "Afghan" as Afghanistan, without a learned rate (Ranker.demonym)
PROVINCE_TOWN_SHARE = 0.1

# Resolution rules that can be switched off one by one (the bench measures what each is worth): (name, what it does)
RESOLUTION_RULES: tuple[tuple[str, str], ...] = (
    (
        "qualifier_contradicts",
        'a town whose qualifier names a province or country none of its readings is in ("Holliday, Missouri" when '
        "the gazetteer knows only Holliday, Texas), or whose possessive names a town, province or country none of "
        "its readings is in or near (\"Cairo's Abbasiya\", when the gazetteer knows Abbasiya only as an old name of "
        "a town in Israel), is a place the gazetteer lacks: it is read approximately",
    ),
    (
        "governor_of_province",
        '"New York Gov. Andrew Cuomo", "the California governor", "the governor of New York": a governor\'s place '
        'is the state or province, not its same-named city (as if the text said "state")',
    ),
    (
        "abbreviated_own_name",
        '"St. Petersburg" matches Saint Petersburg\'s own name written short ("St." for "Saint", "Mt." for "Mount"), '
        "not an alternate name of it: it is not weighed as an old or foreign name against St. Petersburg, Florida",
    ),
    (
        "regional_demonym",
        'a given name for a people of no country ("Kurdish", "English", "Basque", "Tamil") is read as the '
        "biggest country, province or region whose own name it begins (Kurdistan, England, the Basque Provinces, "
        "Tamil Nadu), as a country's demonym is read as the country",
    ),
    (
        "named_container",
        'a name nothing knows, written "X in Y", "X, Y" or "Y\'s X" with Y a known town or province, is put at Y '
        '("Foua and Kfraya in Idlib", "Palais des Nations in Geneva"), not at the closest place named',
    ),
    (
        "embedded_country",
        'a name nothing knows, not even in part, that contains a country\'s or continent\'s own name ("Bank of '
        'Japan", "Nazi Germany", "Council of Europe") or begins with its people\'s name ("Mexican Senate", '
        '"European Commission", "British Embassy") is read approximately as that country or continent, not put '
        "at the closest place the article names",
    ),
    (
        "dateline_in_context",
        'an unqualified dateline ("VICTORIA -") is read as the article\'s other places say (Victoria, British '
        "Columbia, in an article on British Columbia), by the learned ranker like any name, not by its prior alone "
        "(Hong Kong's old name): the dateline sets the scene for every other name, so a wrong one misleads them all",
    ),
    (
        "dateline_in_qualifier",
        'a dateline place nothing knows ("CAMP MURRAY, Wash. -", "FORT HOOD, Texas -") is read as its qualifier, the '
        "state or country that contains it, so the story is still set there: its other names are read near it, and "
        '"Washington" in it is the state',
    ),
    (
        "town_word",
        '"the city of Turkey", "the town of Lebanon": a name the text calls a city, town or village is read as a '
        "town or district, never as the country, province or sea of that name; with no such reading it is a town "
        'the gazetteer lacks, read approximately (not "the capital city of Iraq" or "the largest city of Texas", '
        "where the name is what contains the town)",
    ),
    (
        "division_word_abroad",
        'a name with a division word ("Karak district") is also read as the provinces and districts the rest names '
        "in countries none of its own readings is in: one country's district is another's governorate, so Jordan's "
        "Karak governorate stands beside Pakistan's Karak District and the article decides; not in the same "
        "country, where a unit named with the word (Kentucky's Ohio County) is another than the one without it",
    ),
    (
        "ocean_word",
        '"the Atlantic", "the Pacific": an ocean\'s one-word name is the ocean, not a town of that name (Atlantic, '
        'Iowa), unless a qualifier says which town ("Atlantic, Iowa")',
    ),
    (
        "qualifier_is_container",
        'the Y of "X, Y" is the province or country that contains X when one of its readings does ("Albany, New '
        'York", "Bronx, New York": the state, though a province whose same-named city holds much of its people is '
        'otherwise read as the city); not a list ("London, Paris"), nor "New York, New York"',
    ),
    (
        "shared_name",
        '"North and South Korea", "Eastern and Southern Europe", "West and Central Africa": a compass word joined to '
        "a compass-word name shares its name (North Korea, Eastern Europe), when the gazetteer knows the name so "
        "formed; not the province called North, West or Eastern in Cameroon or Uganda",
    ),
    (
        "water_kind_word",
        '"the Gulf", "the Channel": a water body\'s kind word alone is the body of that kind the story is nearest, '
        "allowing for its size (the Persian Gulf in a story on Qatar and Saudi Arabia, the Gulf of Mexico in one on "
        "Louisiana), not Papua New Guinea's Gulf province; unless a qualifier says which place (\"Gulf, Texas\"). "
        "The story is where its towns are, else its dateline, else the countries it names (\"Gulf states such as "
        'Qatar")',
    ),
    (
        "shared_people_name",
        'a people\'s name that several countries\' names are built on ("Korean": North and South Korea; "Congolese", '
        '"Sudanese") is the one of them the article is about most ("Korean Peninsula" in a story on the DPRK is put '
        "at North Korea), else the most populous, as before; a people's name a territory also bears (\"French\", "
        "Réunion) is not shared so",
    ),
    (
        "time_zone_country",
        'a clock time written with a North American time zone ("7 a.m. CT", "8 p.m. EDT") says the story is set in '
        "the United States or Canada: each counts once as a mention of those countries, so Birmingham in a story "
        "that gives its festival's hours in Central Time is Birmingham, Alabama",
    ),
    (
        "village_far_from_home",
        'in a local story (three or more places, all in one country, two thirds of them within 100 km of the one '
        "amid them), an unqualified village of fewer than 20,000 people more than 161 km from every other place is "
        'one the gazetteer lacks ("Overton" in a story on Dewsbury is not Overton, Hampshire): it is read '
        "approximately, near the story's places; not in a travel piece across a country",
    ),
    (
        "state_word_before",
        '"the state of New York", "upstate New York", "the province of Alberta": a name the words before it call a '
        "state or province is read as the province, as if the text said \"New York state\"; a name with no such "
        'reading keeps its own ("the State of Israel")',
    ),
    (
        "county_word",
        '"Suffolk county", "Orleans parish", "Enfield borough": a county\'s word after a name allows its counties '
        'as well as its provinces, and the county named with the word ("Suffolk County", New York) is one of its '
        'readings; not only the province, or, with none, any town of the name. Not "district", which names a '
        "province in some countries and a county in others",
    ),
    (
        "division_word_after_list",
        '"Dallas and Tarrant counties", "Hunan and Hubei provinces", "Donetsk and Luhansk regions": a division '
        "word's plural after a list of names is each one's, as if each were written with the word",
    ),
    (
        "one_place_per_unknown_name",
        "a name nothing knows, read approximately at several places (\"Ghouta\" at Douma where Douma was named "
        "near it, at Idlib where Idlib was), is put, for all its mentions, at the place its mentions' learned "
        "chances, summed by place, back most: one name, one marker, as one sense per name holds for the names the "
        "gazetteer knows",
    ),
)
GOVERNOR_WORDS = frozenset({"governor", "gov", "governors"})
# "the city of X", "the small town of X" just before a name (town_word)...
_TOWN_BEFORE = re.compile(
    r"(?:^|[^\w-])(?:([\w-]+)\s+)?(?:city|town|village|township|borough)\s+of\s+(?:the\s+)?$", re.IGNORECASE
)
# ...unless the word before says the name contains the town: "the capital city of Iraq", "the largest city of Texas"
_CONTAINER_WORDS = frozenset({"capital", "chief", "main", "principal", "second", "third", "major", "biggest"})
RESOLUTION_RULE_NAMES = tuple(name for name, _ in RESOLUTION_RULES)
# "X in Y", "X, Y", "X at Y", "X near Y", "X outside Y": what may stand between a name and the place containing it.
# "7 a.m. CT", "11:59 p.m. (EDT)", "noon ET": a clock time and the zone written after it (rule time_zone_country)
_CLOCK_TIME_ZONE = re.compile(r"\b(?:\d{1,2}(?::\d\d)?\s*[ap]\.?m\.?|noon|midnight)\s*\(?([A-Z]{2,4})\b")
_LIST_NEXT = re.compile(r"\s*(?:,?\s+and|,?\s+or|\s*&|,)\s+")  # what may follow a list's member
_LIST_PREVIOUS = re.compile(r"(?:,|\s+and|\s+or|\s*&)\s*$")  # ...or come before one
_JOINED = re.compile(r"\s+(?:and|or|&)\s+")  # "North and South Korea"
# "upstate New York", "the state of New York", "the province of Alberta" (rule state_word_before)
_STATE_BEFORE = re.compile(
    r"(?:\b(?:up|down)state|\b(?:state|province|prefecture|oblast|governorate|county)\s+of(?:\s+the)?)\s+$",
    re.IGNORECASE,
)
_GOVERNOR_BEFORE = re.compile(r"\bgov(?:ernor|\.)?\s+of\s+(?:the\s+)?$", re.IGNORECASE)
_CONTAINER_AFTER = re.compile(r"(?:\s*,\s*|\s+(?:in|at|near|outside)\s+)(?:the\s+)?")


@dataclass(frozen=True, slots=True)
class Ranked:
    """One reading of a name with its probability of being right and each feature's share of its lead over (or
    gap to) its rival reading."""

    candidate: Candidate
    probability: float
    why: tuple[Reason, ...] = ()

    def alternative(self) -> Alternative:
        return Alternative(self.candidate, round(self.probability, 4), self.why)


@dataclass(frozen=True, slots=True)
class Toponym:
    """A recognised (or caller-given) span to resolve."""

    start: int
    end: int
    text: str
    label: str = "GPE"
    kind: MentionKind = MentionKind.TOPONYM
    sentence_start: int = 0
    sentence_end: int = 0


@dataclass(frozen=True)
class _Context:
    """What the article is about, as the ranking sees it."""

    countries: dict[str, float] = field(default_factory=dict)  # country code -> weight in [0, 1]
    admins: dict[str, float] = field(default_factory=dict)  # GeoNames admin1 code -> weight in [0, 1]
    centroid: tuple[float, float] | None = None  # of the confidently placed local places
    dateline: list[Candidate] = field(default_factory=list)  # readings of the dateline place
    dateline_name: str = ""  # the dateline place as written, normalised ("kabul" for "KABUL (AP) —")


@dataclass
class _Name:
    """All mentions of one normalised name, resolved together."""

    norm: str
    toponyms: list[Toponym]
    candidates: list[tuple[Candidate, int]]
    qualifiers: list[list[Candidate]]
    admin_word: bool = False
    county_word: bool = False  # "Suffolk county": its counties too (rule county_word)
    town_word: bool = False  # "the city of X" (rule town_word)
    siblings: set[str] = field(default_factory=set)  # names listed with it ("Alberta, Saskatchewan and Manitoba")
    sibling_readings: tuple[Candidate, ...] = ()  # their readings in pass one
    waters: tuple[tuple[Candidate, float], ...] = ()  # "the Gulf": the bodies of that kind, with areas (km²)
    shared: str = ""  # "North" in "North and South Korea" read as "North Korea" (rule shared_name)
    contains: set[str] = field(default_factory=set)  # "Albany, New York": the readings that contain Albany


class Resolver:
    """Context-aware ranking of candidates; stateless between documents."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        corrections: CorrectionStore | None = None,
        backoff: bool = True,
        ranker: Ranker | None = None,
        rules: Iterable[str] = RESOLUTION_RULE_NAMES,
    ) -> None:
        self.gazetteer = gazetteer
        self.rules = frozenset(rules)  # of RESOLUTION_RULE_NAMES, those switched on
        self.corrections = corrections
        self.backoff = backoff
        self._ranker = ranker
        # The benchmark scores each document with a model that did not see it, and records pass two's features.
        self.choose_ranker: Callable[[str], Ranker] | None = None
        self.recorder: list[dict] | None = None
        self.approximate_recorder: list[dict] | None = None  # approximate readings' features (geo.learn)
        self._text: str | None = None

    @property
    def ranker(self) -> Ranker:
        """The model that weighs the readings: the shipped one unless given (read on first use)."""
        if self._ranker is None:
            self._ranker = default_ranker()
        return self._ranker

    @ranker.setter
    def ranker(self, ranker: Ranker) -> None:
        self._ranker = ranker

    def _current_ranker(self) -> Ranker:
        if self.choose_ranker is not None and self._text is not None:
            return self.choose_ranker(self._text)
        return self.ranker

    def demonym_confidence(self) -> float:
        """How often a demonym read as its country is right: learned with the ranker (out of fold in the bench)."""
        learned = self._current_ranker().demonym
        return DEMONYM_CONFIDENCE if learned is None else learned

    def resolve(
        self,
        text: str,
        toponyms: list[Toponym],
        candidates: dict[str, list[Candidate]],
    ) -> tuple[list[Mention], str]:
        """Mentions for ``toponyms`` (same order) and the document's context key for corrections."""
        self._text = text
        names = self._group(text, toponyms, candidates)
        dateline = find_dateline(text)
        dateline_cands = self._dateline_candidates(dateline, candidates, names)
        base = _Context(dateline=dateline_cands, dateline_name=normalize(dateline.place) if dateline else "")

        first, votes = self._first_pass(names, base)
        for name in names.values():
            name.sibling_readings = tuple(first[other][0].candidate for other in sorted(name.siblings) if first[other])
        dateline_cc = _dateline_country(dateline_cands)
        everyone = _Votes.total(votes.values())
        if "time_zone_country" in self.rules:
            zoned = _time_zone_countries(text)
            for cc in (c for c in TIME_ZONE_COUNTRIES if c in zoned):  # in a fixed order: a tie goes the same way
                everyone.countries[cc] += ARTICLE.vote_country
        countries = everyone.context(base).countries
        context_key = dateline_cc or (max(countries, key=countries.get) if countries else "")

        mentions_by_span: dict[tuple[int, int], Mention] = {}
        parts: dict[tuple[int, int], float] = {}  # spans read through part of their name: the part's probability
        strays: set[tuple[int, int]] = set()  # spans whose only reading, a village abroad, was dropped
        for norm, name in names.items():
            # A name must not vote for itself: its context is what the article's other names say.
            ctx = everyone.without(votes[norm]).context(base)
            ranked = self._rank(name, ctx, record=True)
            partial = False
            if not ranked and self.backoff:
                ranked = self._rank_parts(name, ctx)
                if not ranked and "embedded_country" in self.rules:
                    ranked = self._embedded_country(name, ctx)
                partial = bool(ranked)
            mentions = self._mentions(name, ranked, context_key)
            if partial:
                # "Chicago Union Station" read as Chicago is near Chicago, not Chicago.
                mentions = [m if m.corrected else replace(m, approximate=True) for m in mentions]
                parts.update(((t.start, t.end), ranked[0].probability / PART_CONFIDENCE) for t in name.toponyms)
            if self.backoff:
                kept = [_unless_stray(m, ctx.countries) for m in mentions]
                strays.update((m.start, m.end) for m, k in zip(mentions, kept, strict=True) if k is not m)
                mentions = kept
            for t, m in zip(name.toponyms, mentions, strict=True):
                mentions_by_span[(t.start, t.end)] = m
        out = []
        for t in toponyms:
            m = mentions_by_span.get((t.start, t.end))
            out.append(m if m is not None else _mention(t, None, 0.0, ()))
        if self.backoff and "qualifier_contradicts" in self.rules:
            out = self._unless_contradicted(text, out, names)
        if self.backoff and "village_far_from_home" in self.rules:
            out = _unless_far_from_home(out, names)
        local = _local_places(out, context_key)  # a reading its qualifier contradicts is no anchor
        contained: set[tuple[int, int]] = set()  # spans put at the place the text says contains them
        if self.backoff:
            if "named_container" in self.rules:
                out, contained = _in_named_container(text, out)
            out = _nearest_local_backoff(out, local)
        # Last: a partly-named reading still anchors the back-off above, as it did before it was flagged.
        sure: dict[str, float] = {}  # each place's own reading: how sure it is at best
        in_country: Counter[str] = Counter()  # the article's placed mentions, by country
        for m in out:
            if m.candidate is not None and not m.approximate:
                sure[m.candidate.key] = max(sure.get(m.candidate.key, 0.0), m.confidence)
                in_country[m.candidate.country_code] += 1
        share = {cc: n / in_country.total() for cc, n in in_country.items()}
        recorded = len(self.approximate_recorder) if self.approximate_recorder is not None else 0
        rated = [self._approximate(m, parts, strays, contained, local, context_key, sure, share) for m in out]
        if "one_place_per_unknown_name" in self.rules:
            rated = _one_place_per_name(rated)
            if self.approximate_recorder is not None:  # the chance shown (before the cap) is its name's place's
                final = {(m.start, m.end): p for m, p in rated if m.approximate}
                for r in self.approximate_recorder[recorded:]:
                    r["probability"] = final.get(r["span"], r["probability"])
        cap = APPROXIMATE_MAX_CONFIDENCE
        shown = [replace(m, confidence=round(min(p, cap), 4)) if m.approximate and m.candidate else m for m, p in rated]
        return shown, context_key

    def _unless_contradicted(self, text: str, mentions: list[Mention], names: dict[str, _Name]) -> list[Mention]:
        """Names whose qualifier contradicts every reading, unplaced (then put near the qualifier, or backed off).

        "two miles south of Holliday, Missouri" with no Holliday in Missouri in the gazetteer is not Holliday,
        Texas. Only a town or district can be qualified so (in a list of provinces, "Alberta, Saskatchewan", the
        second is not the first's container), only by a province or country it was read as, and only when every
        reading's province is known. "Cairo's Abbasiya" says so too: a possessive town, province or country that
        no reading is in or near. One sense per name: all its mentions are unplaced.
        """
        by_start = {m.start: m for m in mentions if m.candidate is not None and not m.approximate}
        placed_by_end = {m.end: m for m in by_start.values()}
        by_end = {m.end: m for m in mentions}
        contradicted: set[str] = set()
        for m in mentions:
            c = m.candidate
            if c is None or m.approximate or m.corrected or m.kind is not MentionKind.TOPONYM:
                continue
            if c.feature not in (Feature.CITY, Feature.ADMIN2):
                continue
            gap = re.match(r"\s*,\s*", text[m.end : m.end + 6])
            q = by_start.get(m.end + gap.end()) if gap else None
            if q is not None and q.candidate.feature in (Feature.ADMIN1, Feature.COUNTRY):
                if _in_list(text, m, q, by_start, by_end):
                    continue  # "Saipan, Guam, Alaska" is a list, not Saipan in Guam
            else:
                q = placed_by_end.get(_possessor_end(text, m.start))
                if q is None or q.candidate.feature not in (Feature.CITY, Feature.ADMIN1, Feature.COUNTRY):
                    continue
            container = q.candidate
            name = names.get(normalize(m.text))
            if name is None:
                continue
            readings = [r for r, _ in self._candidates(name)]
            if any(_within(r, container) for r in readings):
                continue
            if container.feature is Feature.ADMIN1 and any(
                not r.admin1 for r in readings if r.country_code == container.country_code
            ):
                continue  # a reading in the country whose province is unknown may be in it
            contradicted.add(name.norm)
        if not contradicted:
            return mentions
        return _unplace_names(mentions, names, contradicted)

    def _approximate(
        self,
        m: Mention,
        parts: dict[tuple[int, int], float],
        strays: set[tuple[int, int]],
        contained: set[tuple[int, int]],
        local: list[Mention],
        main_country: str,
        sure: dict[str, float],
        share: dict[str, float],
    ) -> tuple[Mention, float]:
        """An approximate reading and its learned chance of being right (shown up to a cap by the caller)."""
        if not m.approximate or m.candidate is None:
            return m, m.confidence
        span = (m.start, m.end)
        how = (
            "container" if span in contained else "stray" if span in strays else "part" if span in parts else "backoff"
        )
        place = m.candidate
        chars, after = 0, False
        if how not in ("part", "container") and local:
            anchor = _anchor(m, local)
            after = anchor.start > m.start
            chars = max(0, anchor.start - m.end if after else m.start - anchor.end)
        others = {x.candidate.key: x.candidate for x in local if x.candidate.key != place.key}
        km = [haversine_km(place.lat, place.lon, c.lat, c.lon) for c in others.values()]
        near = sum(d <= NEAR_KM for d in km)
        situation = Approximation(
            how=how,
            place=place,
            text=m.text,
            part_probability=parts.get(span, 0.0) if how == "part" else 0.0,
            chars_to_anchor=chars,
            anchor_after=after,
            main_country=bool(main_country) and place.country_code == main_country,
            local_near=near / len(others) if others else 1.0,
            local_count=len({x.candidate.key for x in local}),
            km_to_local=min(km, default=0.0),
            place_confidence=parts.get(span, 0.0) if how == "part" else sure.get(place.key, 1.0),
            country_share=share.get(place.country_code, 0.0) if place.country_code else 0.0,
        )
        x = approximate_vector(situation)
        model = self._current_ranker().approximate
        fixed = BACKOFF_CONFIDENCE if how != "part" else m.confidence  # without a learned model
        confidence = fixed if model is None else model.probability(x)
        if self.approximate_recorder is not None:
            self.approximate_recorder.append(
                {"span": span, "point": (place.lat, place.lon), "x": x, "how": how, "probability": confidence}
            )
        return m, confidence

    def _rank_parts(self, name: _Name, ctx: _Context) -> list[tuple[Candidate, float]]:
        """For an unknown multi-word name, a known part of it in the article's countries.

        "Granville County Fire Marshal" -> Granville (if the article is in the
        US); "Toronto's Pearson International Airport" -> Toronto. A part whose
        best reading lies outside the article's countries is not used.
        """
        words = name.toponyms[0].text.replace("’s", "").replace("'s", "").split()
        if len(words) < 2:
            return []
        last_is_kind = normalize(words[-1]) in KIND_WORDS
        for size in range(len(words) - 1, 0, -1):
            # The last word of a name is mostly its kind ("Peninsula", "Union", "Hospital"), not a place; where
            # it is not, it may be the place ("University of California", "Robinson College Cambridge").
            for i in range(len(words) - size + (not last_is_kind)):
                part = " ".join(words[i : i + size])
                if not part[:1].isupper() or set(normalize(part).split()) <= KIND_WORDS:
                    continue  # "University of California" is not University, Florida
                found = self.gazetteer.lookup_with_kind(part)
                if not found:
                    continue
                sub = _Name(normalize(part), name.toponyms, found, name.qualifiers, name.admin_word)
                ranked = self._rank(sub, ctx)
                best = ranked[0].candidate
                in_country = (
                    not ctx.countries
                    or ctx.countries.get(best.country_code, 0.0) > 0
                    or any(best.country_code == d.country_code for d in ctx.dateline)
                )
                # A small town sharing a word with a street or building ("Royal Street" -> Royal City) is
                # worse than the nearest place the article names; a big or nearby one is what is meant.
                local = (
                    not ctx.countries
                    or best.feature not in (Feature.CITY, Feature.ADMIN2)
                    or best.population >= 1_000_000
                    or ctx.admins.get(best.admin1, 0.0) > 0
                )
                if in_country and local:
                    return [replace(r, probability=r.probability * PART_CONFIDENCE) for r in ranked]
        return []

    def _embedded_country(self, name: _Name, ctx: _Context | None = None) -> list[Ranked]:
        """For an unknown multi-word name no part of which gives a reading, the country or continent it names.

        "Bank of Japan", "Nazi Germany", "US Federal Reserve", "Council of Europe" contain the country's (or
        continent's) own name or an alternate written in full, or a big country's abbreviation written in capitals
        ("US");
        "Mexican Senate", "European Commission" begin with its people's name. Codes and dotted abbreviations
        ("St." is not Sao Tome's ST) do not count, nor a people's name inside ("Percy French Hotel"), nor an
        alternate as the last word, which mostly says what the name is ("Fire Island" is no Iceland).
        """
        words = name.toponyms[0].text.replace("’s", "").replace("'s", "").split()
        if len(words) < 2:
            return []
        countries = ctx.countries if ctx is not None and "shared_people_name" in self.rules else None
        found = _country_by_people(self.gazetteer, words[0], countries) or self._country_inside(words)
        return [Ranked(found, PART_CONFIDENCE)] if found is not None else []

    def _country_inside(self, words: list[str]) -> Candidate | None:
        """The country or continent named by the longest run of ``words`` (leftmost first), as
        :meth:`_embedded_country` counts it."""
        for size in range(len(words) - 1, 0, -1):
            for i in range(len(words) - size + 1):
                part = " ".join(words[i : i + size])
                if not part[:1].isupper():
                    continue
                last = i + size == len(words)
                for c, kind in self.gazetteer.lookup_with_kind(part):
                    if not _is_country_or_continent(c):
                        continue
                    own = normalize(c.name) == normalize(part)
                    # "US Federal Reserve"; not a small territory's initials ("SB Smith Electrical")
                    written_short = kind == ABBR and part.isalpha() and part.isupper()
                    written_in_full = kind in (NAME, ALT) or (written_short and c.population >= BIG_COUNTRY_POPULATION)
                    if written_in_full and (own or not last):
                        return c
        return None

    # -- grouping and context -------------------------------------------------------------
    def _group(self, text: str, toponyms: list[Toponym], candidates: dict[str, list[Candidate]]) -> dict[str, _Name]:
        names: dict[str, _Name] = {}
        by_start = {t.start: t for t in toponyms}
        by_end = {t.end: t for t in toponyms}
        norm_at: dict[int, str] = {}  # each toponym's name, by its start
        for t in toponyms:
            shared = self._shared_name(text, t, by_start) if "shared_name" in self.rules else None
            norm = norm_at[t.start] = normalize(shared or t.text)
            if not norm:
                continue
            name = names.get(norm)
            if name is None:
                found = candidates.get(t.text) if shared is None else self.gazetteer.lookup(shared)
                if found is None:
                    found = candidates.get(norm, [])
                short = "abbreviated_own_name" in self.rules
                kinds = {
                    c.key: NAME if short and k == ALT and same_name(t.text, c.name) else k
                    for c, k in self.gazetteer.lookup_with_kind(shared or t.text)
                }
                if kinds and "division_word_abroad" in self.rules:
                    found = found + self._divisions_abroad(t.text, found)
                name = _Name(norm, [], [(c, kinds.get(c.key, NAME)) for c in found], [], shared=shared or "")
                if "water_kind_word" in self.rules and norm in SHORT_WATER_WORDS and t.text[:1].isupper():
                    name.waters = self.gazetteer.waters_named_with(norm)
                    name.candidates += [(c, ALT) for c, _ in name.waters]
                if not kinds:  # found through a shorter form: was an admin word dropped?
                    name.admin_word = any(admin for _, admin in variants(t.text))
                names[norm] = name
            name.toponyms.append(t)
            if "qualifier_is_container" in self.rules:
                name.contains |= self._containing(text, t, norm, by_start, by_end, name.candidates, candidates)
            qualifier = self._qualifier(text, t, by_start, candidates)
            if qualifier:
                name.qualifiers.append(qualifier)
            following = text[t.end : t.end + 16].split()
            word = following[0].lower().strip(".,;") if following else ""
            if word in ADMIN_WORDS or ("governor_of_province" in self.rules and word in GOVERNOR_WORDS):
                name.admin_word = True
            if "state_word_before" in self.rules and _STATE_BEFORE.search(text, max(0, t.start - 40), t.start):
                name.admin_word = True
            # "Dallas and Tarrant counties", "Cook, DuPage and Will counties": each is a county
            listed = division_word_after(text, t.start, t.end) if "division_word_after_list" in self.rules else None
            if listed is not None:
                name.admin_word = True
            if "county_word" in self.rules and (word in COUNTY_WORDS or listed in COUNTY_WORDS):
                self._county_readings(name, t, listed or word)
            if "governor_of_province" in self.rules and _GOVERNOR_BEFORE.search(text, max(0, t.start - 30), t.start):
                name.admin_word = True  # "the governor of New York"
            if "town_word" in self.rules and _says_town(text[max(0, t.start - 40) : t.start]):
                name.town_word = True
        for chain in _lists(text, toponyms):
            norms = {norm_at[t.start] for t in chain} - {""}
            for norm in norms:
                names[norm].siblings |= norms - {norm}
        return names

    def _county_readings(self, name: _Name, t: Toponym, word: str) -> None:
        """ "Suffolk county": mark the name as a county's, and add the readings of the name written with the word
        ("Suffolk County") that it lacks (rule county_word)."""
        name.admin_word = name.county_word = True
        seen = {c.key for c, _ in name.candidates}
        for c, kind in self.gazetteer.lookup_with_kind(f"{t.text} {word.title()}"):
            if c.key not in seen and c.feature in (Feature.ADMIN1, Feature.ADMIN2):
                seen.add(c.key)
                name.candidates.append((c, kind))

    def _containing(
        self,
        text: str,
        t: Toponym,
        norm: str,
        by_start: dict[int, Toponym],
        by_end: dict[int, Toponym],
        readings: list[tuple[Candidate, int]],
        candidates: dict[str, list[Candidate]],
    ) -> set[str]:
        """The readings of ``t`` that contain a reading of the name just before it and its comma: in "Albany, New
        York", the state (rule ``qualifier_is_container``); none in "London, Paris" or "New York, New York"."""
        comma = re.search(r"\s*,\s*$", text[max(0, t.start - 6) : t.start])
        before = by_end.get(t.start - len(comma.group())) if comma else None
        if before is None or normalize(before.text) == norm:
            return set()
        # "Washington, New York and Boston", "Ottawa, Montreal, Quebec & Vancouver": a list, not a town in a province
        after = _LIST_NEXT.match(text, t.end)
        earlier = _LIST_PREVIOUS.search(text[max(0, before.start - 6) : before.start])
        if (after and after.end() in by_start) or (earlier and before.start - len(earlier.group()) in by_end):
            return set()
        towns = candidates.get(before.text) or self.gazetteer.lookup(before.text)
        return {
            c.key
            for c, _ in readings
            if c.feature in (Feature.ADMIN1, Feature.COUNTRY) and any(_inside(town, c) for town in towns)
        }

    def _shared_name(self, text: str, t: Toponym, by_start: dict[int, Toponym]) -> str | None:
        """ "North" in "North and South Korea" as "North Korea": a compass word whose partner after "and" or "or"
        is a compass word with a name (rule ``shared_name``); None unless the gazetteer knows the name so formed."""
        if normalize(t.text) not in GENERIC_REGION_WORDS:
            return None
        joined = _JOINED.match(text, t.end)
        partner = by_start.get(joined.end()) if joined else None
        if partner is None:
            return None
        first, _, rest = partner.text.partition(" ")
        if normalize(first) not in GENERIC_REGION_WORDS or not rest:
            return None
        shared = f"{t.text} {rest}"
        return shared if self.gazetteer.lookup(shared) else None

    def _qualifier(
        self, text: str, t: Toponym, by_start: dict[int, Toponym], candidates: dict[str, list[Candidate]]
    ) -> list[Candidate]:
        """Readings of the Y in "X, Y" (the next toponym after a comma), if any."""
        gap = re.match(r"\s*,\s*", text[t.end : t.end + 6])
        if not gap:
            return []
        nxt = by_start.get(t.end + gap.end())
        if nxt is None:
            return []
        after = re.match(r"\s+(?:and|or)\s+", text[nxt.end : nxt.end + 8])
        if after and nxt.end + after.end() in by_start:
            return []  # "Washington, New York and Boston" is a list, not a Washington in New York
        return [
            c
            for c in (candidates.get(nxt.text) or self.gazetteer.lookup(nxt.text))
            if c.feature in (Feature.COUNTRY, Feature.ADMIN1, Feature.ADMIN2)
        ]

    def _dateline_candidates(
        self, dateline: Dateline | None, candidates: dict[str, list[Candidate]], names: dict[str, _Name]
    ) -> list[Candidate]:
        """The dateline place's reading: the one its qualifier contains; else, when the dateline is one of the
        article's names, its best reading in the context of the other names (``dateline_in_context``); else the
        likeliest by prior."""
        if dateline is None:
            return []
        found = candidates.get(dateline.place) or self.gazetteer.lookup(dateline.place)
        if dateline.qualifier:
            qualifiers = self.gazetteer.lookup(dateline.qualifier)
            qualified = [c for c in found if any(_inside(c, q) for q in qualifiers)]
            if qualified:
                return qualified
            containers = [q for q in qualifiers if q.feature in (Feature.ADMIN1, Feature.COUNTRY)]
            if not found and containers and "dateline_in_qualifier" in self.rules:
                return [max(containers, key=prior)]
        name = names.get(normalize(dateline.place))
        if "dateline_in_context" in self.rules and name is not None and len(name.candidates) > 1:
            # Pass one and two as for any name, with no dateline known yet: what do the others say?
            _, votes = self._first_pass(names, _Context())
            others = _Votes.total(votes.values()).without(votes[name.norm]).context(_Context())
            ranked = self._rank(name, others)
            if ranked:
                return [ranked[0].candidate]
        return sorted(found, key=prior, reverse=True)[:1]

    def _story_centre(self, ctx: _Context | None) -> tuple[float, float] | None:
        """Where the story is, for "the Gulf": the centre of its confidently placed towns, else its dateline, else
        the weighted mean of the countries it is about ("Tankers crossed the Gulf from Qatar to Iran")."""
        if ctx is None:
            return None
        if ctx.centroid is not None:
            return ctx.centroid
        if ctx.dateline:
            return ctx.dateline[0].lat, ctx.dateline[0].lon
        points = [
            (country.lat, country.lon, weight)
            for code, weight in ctx.countries.items()
            if (country := self.gazetteer.country(code)) is not None
        ]
        return mean_point(points) if sum(w for *_, w in points) > VOTE_EPSILON else None

    # -- ranking -------------------------------------------------------------------------
    def _candidates(self, name: _Name, ctx: _Context | None = None) -> list[tuple[Candidate, int]]:
        cands = self._plausible(name, "ocean_word" in self.rules)
        if name.waters and not any(_inside(c, q) for c, _ in cands for quals in name.qualifiers for q in quals):
            # "in the Gulf, Qatar" is a list; "Gulf, Texas" a place
            cands = [_nearest_water(name.waters, self._story_centre(ctx))]
        if _looks_like_ap_abbreviation(name.toponyms[0].text):
            # "Ga.", "Ky.", "La." are states; a country's ISO code is never written that way.
            cands = [(c, k) for c, k in cands if not (k >= ABBR and c.feature is Feature.COUNTRY)] or cands
        return cands

    @staticmethod
    def _qualifies(name: _Name, cands: list[tuple[Candidate, int]]) -> bool:
        """Whether "X, Y" qualifies X. "Paris, Ky." is the town in Kentucky; but in "ties to Russia, U.S.
        officials said" a country's name before another country is a list, not Russia, Ohio."""
        return bool(name.qualifiers) and not (
            any(c.feature is Feature.COUNTRY for c, _ in cands)
            and all(q.feature is Feature.COUNTRY for quals in name.qualifiers for q in quals)
        )

    def _first_pass(
        self, names: dict[str, _Name], base: _Context
    ) -> tuple[dict[str, list[Ranked]], dict[str, _Votes]]:
        """Pass one over every name, and each name's votes for what the article is about."""
        first = {norm: self._first_look(n, base) for norm, n in names.items()}
        return first, {norm: _votes(ranked, len(names[norm].toponyms)) for norm, ranked in first.items()}

    def _first_look(self, name: _Name, ctx: _Context) -> list[Ranked]:
        """Pass one, before the article's countries are known: prior, dateline and qualifier only
        (``geo.features.FIRST_LOOK``).

        Its only use is to learn what the article is about (``_votes``); the readings shown come from the
        learned ranker in pass two.
        """
        cands = self._candidates(name, ctx)
        if not cands:
            return []
        situation = self._situation(name, cands, ctx)
        scores = [first_look_score(c, kind, situation) for c, kind in cands]
        top = max(scores)
        weights = [math.exp((s - top) / FIRST_LOOK_TEMPERATURE) for s in scores]
        total = sum(weights)
        return sorted(
            (Ranked(c, w / total) for (c, _), w in zip(cands, weights, strict=True)), key=lambda r: -r.probability
        )

    def _situation(self, name: _Name, cands: list[tuple[Candidate, int]], ctx: _Context) -> Situation:
        """What ``name``'s readings are judged against, in either pass."""
        return Situation(
            text=name.shared or name.toponyms[0].text,
            written_as_code=_looks_like_code(name.toponyms[0].text),
            qualifies=self._qualifies(name, cands),
            qualifiers=tuple(q for quals in name.qualifiers for q in quals),
            dateline_own=frozenset(d.key for d in ctx.dateline) if name.norm == ctx.dateline_name else frozenset(),
            dateline=tuple(ctx.dateline),
            countries=ctx.countries,
            admins=ctx.admins,
            centroid=ctx.centroid,
            max_population=max(c.population for c, _ in cands),
            primary_population=max(
                (c.population for c, k in cands if k == NAME and c.feature is Feature.CITY), default=-1
            ),
            count=len(name.toponyms),
            siblings=name.sibling_readings,
            best_country=max(
                (ctx.countries.get(c.country_code, 0.0) for c, _ in cands if not is_small_town(c)), default=0.0
            ),
        )

    def _rank(self, name: _Name, ctx: _Context, record: bool = False) -> list[Ranked]:
        """Pass two: each reading's probability of being right, by the learned ranker (geo.features)."""
        cands = self._candidates(name, ctx)
        if not cands:
            return []
        ranker = self._current_ranker()
        situation = self._situation(name, cands, ctx)
        rows = [feature_vector(c, kind, situation) for c, kind in cands]
        if record and self.recorder is not None:
            self.recorder.append(
                {
                    "spans": [(t.start, t.end) for t in name.toponyms],
                    "points": [(c.lat, c.lon) for c, _ in cands],
                    "ids": [c.geonameid for c, _ in cands],
                    "x": rows,
                }
            )
        columns = ranker.columns()
        xs = [[row[i] for i in columns] for row in rows]
        shares = [ranker.contributions(x) for x in xs]
        chances = softmax([sum(v) for v in shares])
        order = sorted(range(len(cands)), key=lambda i: -chances[i])
        # The top reading's confidence is calibrated; the others keep their share of it (the calibration is
        # learned on top readings only).
        best = order[0]
        sure = ranker.calibrated(chances[best], xs[best]) / chances[best]
        # Only the readings a mention shows (its own and its alternatives) are explained: the rest are never read.
        return [
            Ranked(
                cands[i][0],
                min(1.0, chances[i] * sure),
                _why(ranker.names, xs, shares, i, order) if rank <= MAX_ALTERNATIVES else (),
            )
            for rank, i in enumerate(order)
        ]

    def _divisions_abroad(self, written: str, found: list[Candidate]) -> list[Candidate]:
        """Provinces and districts named like ``written`` without its division word ("Karak district" ->
        Karak), in countries none of ``found`` is in (rule ``division_word_abroad``)."""
        countries = {c.country_code for c in found}
        seen = {c.key for c in found}
        extra: list[Candidate] = []
        for variant, admin in variants(written):
            for c, kind in self.gazetteer.lookup_with_kind(variant) if admin else ():
                division_abroad = c.feature in (Feature.ADMIN1, Feature.ADMIN2) and c.country_code not in countries
                if division_abroad and kind < ABBR and c.key not in seen:  # not "LA County" as Louisiana
                    seen.add(c.key)
                    extra.append(c)
        return extra

    @staticmethod
    def _plausible(name: _Name, ocean_word: bool = True) -> list[tuple[Candidate, int]]:
        """Drop a province when its same-named main town is there, unless the text says "province".

        "Kandahar" and "Moscow" mean the city; "Queensland" still means the
        state, though a hamlet in it has the same name.
        """
        cands = name.candidates
        if name.contains:  # "Albany, New York": the state that contains Albany (rule qualifier_is_container)
            return [(c, k) for c, k in cands if c.key in name.contains]
        if name.admin_word:
            kinds = (Feature.ADMIN1, Feature.ADMIN2) if name.county_word else (Feature.ADMIN1,)
            admins = [ck for ck in cands if ck[0].feature in kinds]
            return admins or cands
        if name.town_word:
            # "the city of Turkey": its towns and districts only; none is a town the gazetteer lacks.
            return [(c, k) for c, k in cands if c.feature in (Feature.CITY, Feature.ADMIN2)]
        if any(c.feature is Feature.COUNTRY and k == NAME for c, k in cands):
            # A country's own name is not a town's other name: "Mexico" (not Mexico City), "Kuwait".
            cands = [(c, k) for c, k in cands if not (c.feature is Feature.CITY and k == ALT)]
        if ocean_word and not name.qualifiers and any(_is_ocean(c) and k == NAME for c, k in cands):
            # "the Atlantic" is the ocean, not Atlantic, Iowa (rule ocean_word).
            cands = [(c, k) for c, k in cands if c.feature is not Feature.CITY]
        if any(c.feature is Feature.WATER and k == NAME for c, k in cands):
            # A province or district named like a sea is named after it: "Red Sea" is the sea, not Sudan's
            # Red Sea state (unless the text says "state" or "province", above).
            cands = [(c, k) for c, k in cands if c.feature not in (Feature.ADMIN1, Feature.ADMIN2)]
        towns: dict[str, int] = {}
        for c, _ in cands:
            if c.feature is Feature.CITY:
                towns[c.admin1] = max(towns.get(c.admin1, 0), c.population)
        return [
            (c, k)
            for c, k in cands
            if not (
                c.feature is Feature.ADMIN1
                and k < ABBR
                and towns.get(c.admin1, -1) >= PROVINCE_TOWN_SHARE * c.population
            )
        ]

    def _mentions(self, name: _Name, ranked: list[Ranked], context: str) -> list[Mention]:
        correction = None
        if self.corrections is not None:
            correction = self.corrections.get(name.norm, context) or self.corrections.get(name.norm, "*")
        alternatives = tuple(r.alternative() for r in ranked[1 : 1 + MAX_ALTERNATIVES])
        if correction is not None:
            alternatives = tuple(
                r.alternative()
                for r in ranked[: 1 + MAX_ALTERNATIVES]
                if correction.candidate is None or r.candidate.key != correction.candidate.key
            )
            return [
                _mention(t, correction.candidate, 1.0, alternatives[:MAX_ALTERNATIVES], corrected=True)
                for t in name.toponyms
            ]
        if not ranked:
            return [_mention(t, None, 0.0, ()) for t in name.toponyms]
        best = ranked[0]
        return [
            replace(_mention(t, best.candidate, round(best.probability, 4), alternatives), why=best.why)
            for t in name.toponyms
        ]


@cache
def default_ranker() -> Ranker:
    """The shipped model (geo/data/ranker.json), read once."""
    return Ranker.load()


def _unless_stray(mention: Mention, countries: dict[str, float]) -> Mention:
    """A village abroad is not what an article about somewhere else means: treat it as unplaceable.

    "Belgravia" in a London story is not Belgravia, Alberta (pop. 2,000). The
    reading is dropped (it stays among the alternatives) and the backoff
    places the name near the article's own places, flagged as a guess.
    """
    c = mention.candidate
    if (
        c is None
        or mention.corrected
        or not countries
        or c.feature is not Feature.CITY
        or c.population >= STRAY_TOWN_POPULATION
        or countries.get(c.country_code, 0.0) >= STRAY_COUNTRY_WEIGHT
    ):
        return mention
    kept = (Alternative(c, mention.confidence), *mention.alternatives)[:MAX_ALTERNATIVES]
    return replace(mention, candidate=None, confidence=0.0, alternatives=kept, approximate=False)


def _unless_far_from_home(mentions: list[Mention], names: dict[str, _Name]) -> list[Mention]:
    """In a local story, a village far from all its other places is one the gazetteer lacks: unplace it.

    A local story names hamlets the gazetteer does not know; the villages that share their names elsewhere in the
    country are not what it means ("Overton" in a story on Dewsbury is not Overton, Hampshire, 225 km off). A
    story is local when it names at least ``LOCAL_STORY_PLACES`` places, all in one country, two thirds of them
    within ``LOCAL_STORY_KM`` of the one amid them (a travel piece across a country is not). Only an unqualified
    town of fewer than ``STRAY_TOWN_POPULATION`` people, more than ``NEAR_KM`` from every other place, is so read.
    One sense per name: all its mentions are unplaced, then put near the story's places.
    """
    placed = [m for m in _local_places(mentions) if not m.approximate]  # not a guess put near another place
    by_span = {(m.start, m.end): m for m in mentions}
    far: set[str] = set()
    for norm, name in names.items():
        spans = {(t.start, t.end) for t in name.toponyms}
        first = by_span.get(min(spans))
        if first is None or first.candidate is None or first.approximate or first.corrected or any(name.qualifiers):
            continue
        c = first.candidate
        if c.feature is not Feature.CITY or c.population >= STRAY_TOWN_POPULATION:
            continue
        others = list({m.candidate.key: m.candidate for m in placed if (m.start, m.end) not in spans}.values())
        if len(others) < LOCAL_STORY_PLACES or any(o.country_code != c.country_code for o in others):
            continue
        if any(haversine_km(c.lat, c.lon, o.lat, o.lon) <= NEAR_KM for o in others):
            continue
        # only now the costlier test: is the story local (most of its places near the one amid them)?
        amid = min(others, key=lambda p: sum(haversine_km(p.lat, p.lon, q.lat, q.lon) for q in others))
        if 3 * sum(haversine_km(amid.lat, amid.lon, q.lat, q.lon) <= LOCAL_STORY_KM for q in others) >= 2 * len(others):
            far.add(norm)
    return _unplace_names(mentions, names, far) if far else mentions


def _unplace_names(mentions: list[Mention], names: dict[str, _Name], norms: set[str]) -> list[Mention]:
    """Every mention of the names ``norms`` unplaced (one sense per name), unless a user corrected it."""
    spans = {(t.start, t.end) for norm in norms for t in names[norm].toponyms}
    return [_unplaced(m) if (m.start, m.end) in spans and not m.corrected else m for m in mentions]


def _one_place_per_name(rated: list[tuple[Mention, float]]) -> list[tuple[Mention, float]]:
    """Every approximate mention of a name at the one place its mentions' learned chances back most.

    Each mention of an unknown name is put near the place named closest to it, so a name said five times may
    land at two or three places. Each place gets the sum of the chances of the mentions put there (so four
    mentions by Douma outvote one by Idlib, and one sure mention outvotes two doubtful ones); the first placed
    wins a tie. The mentions moved there take the best chance any mention had there.
    """
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    best: dict[tuple[str, str], tuple[Mention, float]] = {}
    for m, chance in rated:
        if m.approximate and m.candidate is not None and not m.corrected:
            name, key = normalize(m.text), m.candidate.key
            votes[name][key] += chance
            if (name, key) not in best or chance > best[name, key][1]:
                best[name, key] = (m, chance)
    out = []
    for m, chance in rated:
        name = normalize(m.text)
        if m.approximate and m.candidate is not None and not m.corrected and len(votes[name]) > 1:
            key = max(votes[name], key=votes[name].get)  # dicts keep the first placed first: it wins a tie
            if key != m.candidate.key:
                top, chance = best[name, key]
                m = replace(m, candidate=top.candidate, alternatives=top.alternatives, why=top.why)
        out.append((m, chance))
    return out


def _in_list(text: str, first: Mention, second: Mention, by_start: dict, by_end: dict[int, Mention]) -> bool:
    """Whether "first, second" is part of a list of places: another follows second ("Saipan, Guam, Alaska",
    "Bath, Somerset and Devon") or one comes just before first ("Guam, Saipan, Alaska")."""
    after = re.match(r"\s*(?:,|and|or)\s*(?:and\s+|or\s+)?", text[second.end : second.end + 8])
    if after and after.group().strip() and second.end + after.end() in by_start:
        return True
    before = re.search(r",\s*$", text[max(0, first.start - 4) : first.start])
    return before is not None and first.start - len(before.group()) in by_end


_LIST_GAP = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


def _lists(text: str, toponyms: list[Toponym]) -> list[list[Toponym]]:
    """Lists of places: toponyms joined by commas, "and" or "or", three or more of them, or two joined by "and" or
    "or" ("Alberta, Saskatchewan and Newfoundland", "California or Washington"; not "Paris, Texas")."""
    chains: list[list[Toponym]] = []
    linked = False
    for t in sorted(toponyms, key=lambda t: t.start):
        if chains and chains[-1][-1].end <= t.start:
            gap = _LIST_GAP.fullmatch(text, chains[-1][-1].end, t.start)
            if gap:
                chains[-1].append(t)
                linked |= bool(gap.group().strip(" ,"))
                continue
        if chains and not (len(chains[-1]) >= 3 or (len(chains[-1]) == 2 and linked)):
            chains.pop()
        chains.append([t])
        linked = False
    if chains and not (len(chains[-1]) >= 3 or (len(chains[-1]) == 2 and linked)):
        chains.pop()
    return chains


def _unplaced(mention: Mention) -> Mention:
    """``mention`` with no reading; the one it had stays first among its alternatives."""
    if mention.candidate is None:
        return mention
    kept = (Alternative(mention.candidate, mention.confidence), *mention.alternatives)[:MAX_ALTERNATIVES]
    return replace(mention, candidate=None, confidence=0.0, alternatives=kept, approximate=False, why=())


def _local_places(mentions: list[Mention], main_country: str = "") -> list[Mention]:
    """The article's confidently placed towns and provinces, those in its main country if it names any."""
    local = [m for m in mentions if m.candidate is not None and m.candidate.feature in LOCAL and m.confidence >= 0.5]
    home = [m for m in local if m.candidate.country_code == main_country]
    return home or local


def _anchor(mention: Mention, local: list[Mention]) -> Mention:
    """Of ``local`` (not empty), the mention closest to ``mention`` in the text, before or after it (the earlier
    one on a tie). Measured on the development corpora, the closest either way was as often right on GeoWebNews
    and right 3 more times on TR-News than the closest before ("... in Hertford Road, Edmonton")."""
    return min(local, key=lambda x: (abs(x.start - mention.start), x.start))


def _in_named_container(text: str, mentions: list[Mention]) -> tuple[list[Mention], set[tuple[int, int]]]:
    """Names nothing knows (or knows only in part) put at the known town or province the text says contains them.

    "the villages of Foua and Kfraya in Idlib", "the Palais des Nations in Geneva", "Celebrity Cake Studio in
    Tacoma, Washington", "Cairo's Abbasiya": the place after "in" (or a comma), or before "'s", is where the name
    is, whatever the article named before it; where the text names both, the narrower of the two ("Whittier's
    Penn Park, the Los Angeles County ..."). A reading through part of the name ("Loyola University in Los
    Angeles" read as the town of Loyola) gives way to the container when it is not near it. Returns the
    mentions and the spans so placed.
    """
    known = {
        m.start: m
        for m in mentions
        if m.candidate is not None
        and not m.approximate
        and m.kind is MentionKind.TOPONYM
        and m.candidate.feature in LOCAL
    }
    by_end = {m.end: m for m in known.values()}
    out, placed = [], set()
    for m in mentions:
        if m.kind is MentionKind.TOPONYM and not m.corrected and (m.candidate is None or m.approximate):
            after = _CONTAINER_AFTER.match(text, m.end)
            named = [known[after.end()]] if after and after.end() in known else []
            possessor = by_end.get(_possessor_end(text, m.start))
            named += [possessor] if possessor is not None else []
            # Both named ("Whittier's Penn Park, the Los Angeles County Fire Department said"): the narrower,
            # which says more (LOCAL runs narrowest first).
            container = min(named, key=lambda c: LOCAL.index(c.candidate.feature), default=None)
            near = (
                container is not None
                and m.candidate is not None
                and haversine_km(m.candidate.lat, m.candidate.lon, container.candidate.lat, container.candidate.lon)
                <= NEAR_KM
            )
            if container is not None and not near:
                m = replace(m, candidate=container.candidate, confidence=BACKOFF_CONFIDENCE, approximate=True)
                placed.add((m.start, m.end))
        out.append(m)
    return out, placed


def _nearest_local_backoff(mentions: list[Mention], local: list[Mention]) -> list[Mention]:
    """Unplaceable names (streets, buildings, rivers) go to the nearest town or province the article names.

    ``local`` is :func:`_local_places`: places in the article's main country are preferred ("Ghouta" in a
    Syria story that also names Moscow goes near Damascus); among them the mention closest to it in the text
    wins (:func:`_anchor`). The confidence, set afterwards, is learned, and the map flags the reading as a guess.
    """
    if not local:
        return mentions
    out = []
    for m in mentions:
        if m.candidate is None and m.kind is MentionKind.TOPONYM and not m.corrected:
            m = replace(m, candidate=_anchor(m, local).candidate, confidence=BACKOFF_CONFIDENCE, approximate=True)
        out.append(m)
    return out


def resolve_demonyms(
    gazetteer: Gazetteer,
    toponyms: Iterable[Toponym],
    confidence: float = DEMONYM_CONFIDENCE,
    regional: bool = True,
    countries: Mapping[str, float] | None = None,
) -> list[Mention]:
    """Demonyms resolve to their country ("Afghan" -> Afghanistan) with ``confidence``, or stay unresolved; with
    ``regional`` (the rule ``regional_demonym``), one of no country to its area ("Kurdish" -> Kurdistan); with the
    article's ``countries`` (the rule ``shared_people_name``), one several countries share to the one the article is
    about most ("Korean" in a story on the DPRK)."""
    out = []
    for t in toponyms:
        country = _people_country(gazetteer, t.text, countries) or _country_by_stem(gazetteer, t.text)
        if country is None and regional:
            country = _area_by_stem(gazetteer, t.text)
        out.append(_mention(t, country, round(confidence, 4) if country else 0.0, ()))
    return out


def _area_by_stem(gazetteer: Gazetteer, word: str) -> Candidate | None:
    """ "Kurdish" -> Kurdistan, "English" -> England: the biggest area whose own name is built on the people's
    name; else the one area whose first word it is ("Tamil" -> Tamil Nadu). A word that begins the names of
    several areas ("Grand": Grand Est, Grand Port, Grand Bahama) is an ordinary word, not a people's."""
    for stem in area_stems(word):
        areas = [(area, c) for area, c in gazetteer.areas_named_from(stem) if names_area(stem, area)]
        built = [c for area, c in areas if " " not in area[len(stem) :]]
        if built:
            return built[0]
        led = {c.key: c for _, c in areas}
        if len(led) == 1:
            return next(iter(led.values()))
    return None


def _is_country_or_continent(c: Candidate) -> bool:
    """A country, or a region of several countries (a continent, "Middle East"): not a province's region."""
    return c.feature is Feature.COUNTRY or (c.feature is Feature.REGION and not c.country_code)


def _people_country(gazetteer: Gazetteer, word: str, countries: Mapping[str, float] | None) -> Candidate | None:
    """The country a demonym stands for: of the countries whose names are built on it ("Korean": North Korea and
    South Korea), the one ``countries`` (the article's) weighs most, else the most populous that bears it."""
    found = gazetteer.demonym_countries(word)
    if len(found) < 2 or not countries:
        return found[0] if found else None
    norm = normalize(word)
    built_on = [c for c in found if any(len(w) >= 4 and norm.startswith(w[:-1]) for w in normalize(c.name).split())]
    if len(built_on) < 2 or not any(countries.get(c.country_code, 0.0) > 0 for c in built_on):
        return found[0]
    return max(built_on, key=lambda c: (countries.get(c.country_code, 0.0), c.population))


def _country_by_people(
    gazetteer: Gazetteer, word: str, countries: Mapping[str, float] | None = None
) -> Candidate | None:
    """The country ("Mexican") or continent ("European", "African") a people's name stands for, else None."""
    if not word[:1].isupper() or not word.isalpha():
        return None
    found = _people_country(gazetteer, word, countries) or _country_by_stem(gazetteer, word)
    return found if found is not None and _is_country_or_continent(found) else None


def _country_by_stem(gazetteer: Gazetteer, word: str) -> Candidate | None:
    for stem in country_stems(word):
        for c in gazetteer.lookup(stem, include_abbreviations=False):
            if c.feature in (Feature.COUNTRY, Feature.REGION):
                return c
    return None


def _mention(
    t: Toponym,
    candidate: Candidate | None,
    confidence: float,
    alternatives: tuple[Alternative, ...],
    corrected: bool = False,
) -> Mention:
    return Mention(
        start=t.start,
        end=t.end,
        text=t.text,
        label=t.label,
        kind=t.kind,
        sentence_start=t.sentence_start,
        sentence_end=t.sentence_end,
        candidate=candidate,
        confidence=confidence,
        alternatives=alternatives,
        corrected=corrected,
    )


def _possessor_end(text: str, start: int) -> int | None:
    """Where the possessor ends when the name at ``start`` follows one: "Cairo's Abbasiya" -> after "Cairo"."""
    before = re.search(r"[’']s\s+$", text[max(0, start - 6) : start])
    return start - len(before.group()) if before else None


def _within(reading: Candidate, container: Candidate) -> bool:
    """Whether a reading may be in the place the text says contains it: inside a province or country, near a town."""
    if container.feature is Feature.CITY:
        return haversine_km(reading.lat, reading.lon, container.lat, container.lon) <= NEAR_KM
    return reading.key == container.key or _inside(reading, container)


def _nearest_water(
    waters: tuple[tuple[Candidate, float], ...], centre: tuple[float, float] | None
) -> tuple[Candidate, int]:
    """The body a story calls by its kind word alone ("the Gulf"): the one whose shore, taken as a circle of its
    area round its point, is nearest where the story is (``Resolver._story_centre``); with no place placed yet,
    the biggest."""
    if centre is None:
        return max(waters, key=lambda w: w[1])[0], ALT

    def to_shore(water: tuple[Candidate, float]) -> float:
        body, area = water
        return haversine_km(*centre, body.lat, body.lon) - math.sqrt(area / math.pi)

    return min(waters, key=to_shore)[0], ALT


def _is_ocean(c: Candidate) -> bool:
    return c.feature is Feature.WATER and c.name.endswith(" Ocean")


def _looks_like_code(text: str) -> bool:
    """ "EU", "U.S.", "N.C.": capitals (and dots) only, as abbreviations are written."""
    bare = text.replace(".", "").replace(" ", "")
    return bare.isalpha() and bare.isupper() and len(bare) <= 4


def _looks_like_ap_abbreviation(text: str) -> bool:
    """ "Ga.", "Calif.", "W.Va.": a capital, lower-case letters and a final dot, as news styles write states."""
    bare = text.replace(".", "")
    return text.endswith(".") and bare[:1].isupper() and any(ch.islower() for ch in bare[1:])


@dataclass
class _Votes:
    """What names say the article is about: country and province weights, and weighted local points.

    Kept as sums so that every name's context (all votes but its own) is a subtraction over the article's
    countries and provinces, not a recount of all its names for each name.
    """

    countries: Counter[str] = field(default_factory=Counter)
    admins: Counter[str] = field(default_factory=Counter)
    points: tuple[float, float, float] = (0.0, 0.0, 0.0)  # sum of lat * w, sum of lon * w, sum of w

    @staticmethod
    def total(all_votes: Iterable[_Votes]) -> _Votes:
        out = _Votes()
        for v in all_votes:
            out.countries.update(v.countries)
            out.admins.update(v.admins)
            out.points = tuple(a + b for a, b in zip(out.points, v.points, strict=True))
        return out

    def without(self, own: _Votes) -> _Votes:
        return _Votes(
            _minus(self.countries, own.countries),
            _minus(self.admins, own.admins),
            tuple(a - b for a, b in zip(self.points, own.points, strict=True)),
        )

    def context(self, base: _Context) -> _Context:
        """``base`` (the dateline) with country and province weights scaled to 0..1, where the dateline's
        country counts in full, and the centroid of the confidently placed local places."""
        lat_w, lon_w, total = self.points
        centroid = (lat_w / total, lon_w / total) if total > VOTE_EPSILON else None
        countries = _scaled(self.countries)
        if base.dateline:
            countries[_dateline_country(base.dateline)] = 1.0
        return replace(base, countries=countries, admins=_scaled(self.admins), centroid=centroid)


VOTE_EPSILON = 1e-9  # what is left of a vote after subtracting it again


def _minus(total: Counter[str], own: Counter[str]) -> Counter[str]:
    left = Counter({k: v - own.get(k, 0.0) for k, v in total.items()})
    return Counter({k: v for k, v in left.items() if v > VOTE_EPSILON})


def _why(
    names: tuple[str, ...], xs: list[list[float]], shares: list[list[float]], i: int, order: list[int]
) -> tuple[Reason, ...]:
    """Each feature's share of the gap between reading ``i`` and its rival: for the winner, the runner-up (why
    it won); for any other, the winner (why it lost). Features on which the two readings agree are left out
    (most of them, for most pairs: kept, they were the bulk of a cached article's memory). A name with one
    reading has nothing to explain."""
    if len(order) < 2:
        return ()
    rival = order[1] if i == order[0] else order[0]
    gaps = ((f, round(shares[i][f] - shares[rival][f], 3)) for f in range(len(names)))
    return tuple(Reason(names[f], gap, xs[i][f], xs[rival][f]) for f, gap in gaps if gap)


def _votes(ranked: list[Ranked], count: int) -> _Votes:
    """One name's votes: its best reading, weighted by how often it is named and how sure the reading is."""
    votes = _Votes()
    if not ranked:
        return votes
    top, confidence = ranked[0].candidate, ranked[0].probability
    weight = count * confidence
    if top.country_code:
        share = ARTICLE.vote_country if top.feature is Feature.COUNTRY else ARTICLE.vote_place_country
        votes.countries[top.country_code] += weight * share
    if top.feature is Feature.ADMIN1:
        votes.admins[top.admin1] += ARTICLE.vote_province * weight
    elif top.admin1:
        votes.admins[top.admin1] += ARTICLE.vote_place_province * weight
    if top.feature in (Feature.CITY, Feature.ADMIN1, Feature.ADMIN2) and confidence > ARTICLE.anchor_confidence:
        votes.points = (top.lat * weight, top.lon * weight, weight)
    return votes


def _time_zone_countries(text: str) -> set[str]:
    """The countries whose time zone a clock time in ``text`` is written in ("7 a.m. CT": US, CA; "HST": US)."""
    found: set[str] = set()
    for zone in _CLOCK_TIME_ZONE.findall(text):
        if zone in NORTH_AMERICAN_TIME_ZONES:
            found.update(TIME_ZONE_COUNTRIES)
        elif zone in ALASKA_HAWAII_TIME_ZONES:
            found.add("US")
    return found


def _says_town(before: str) -> bool:
    """Whether the text just before a name calls it a town: "the city of", "the small village of"."""
    m = _TOWN_BEFORE.search(before)
    if m is None:
        return False
    word = (m.group(1) or "").lower()
    return word not in _CONTAINER_WORDS and not word.endswith("est")  # "largest", "oldest", "greatest"


def _dateline_country(dateline: list[Candidate]) -> str:
    return dateline[0].country_code if dateline else ""


def _scaled(weights: Counter[str]) -> dict[str, float]:
    top = max(weights.values(), default=0.0)
    return {k: v / top for k, v in weights.items()} if top > 0 else {}


def with_candidate(mention: Mention, candidate: Candidate | None) -> Mention:
    """A copy of ``mention`` read as ``candidate`` (used when the user corrects it)."""
    return replace(
        mention, candidate=candidate, confidence=1.0 if candidate else 0.0, corrected=True, approximate=False
    )
