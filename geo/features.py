"""Ranking features: the one list of what the resolver weighs, and the learned model that weighs them.

Each feature is a named function of one reading (a name, one of its candidates, what the article is about).
The weights are not set by hand: a logistic regression learned from annotated news (``python -m geo train``)
gives each feature a coefficient, saved with its scaling in ``geo/data/ranker.json`` and read here without
pickle. A reading's score is the model's probability that it is right (within 161 km of where the text
means); each feature's share of the log-odds is kept so the app can show why a reading won.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from geo.gazetteer import ABBR, ALT, NAME
from geo.geometry import haversine_km
from geo.model import Candidate, Feature
from geo.names import GENERIC_REGION_WORDS, WIDE_KIND_WORDS, normalize

if TYPE_CHECKING:
    import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "data" / "ranker.json"
SPATIAL_SCALE_KM = 1000.0
DATELINE_SCALE_KM = 300.0
SMALL_TOWN_POPULATION = 100_000  # below this, being in the article's country is weaker evidence for a town
STRAY_TOWN_POPULATION = 20_000  # a town smaller than this, in a country the article is not about, is a stray
STRAY_COUNTRY_WEIGHT = 0.25
# Places a town-sized story happens in, narrowest first (the resolver prefers the narrower of two containers).
LOCAL = (Feature.CITY, Feature.ADMIN2, Feature.ADMIN1)


@dataclass(frozen=True)
class Situation:
    """What one name's readings are judged against: the name as written and what the article is about."""

    text: str
    written_as_code: bool = False  # "EU", "U.S.": capitals (and dots) only
    qualifies: bool = False  # a qualifier follows ("Paris, Texas") and is not just a list of countries
    qualifiers: tuple[Candidate, ...] = ()
    dateline_own: frozenset[str] = frozenset()  # keys of the dateline place when this name is the dateline's name
    dateline: tuple[Candidate, ...] = ()
    countries: dict[str, float] = field(default_factory=dict)  # the article's countries, weights in [0, 1]
    admins: dict[str, float] = field(default_factory=dict)  # its provinces (GeoNames admin1 codes)
    centroid: tuple[float, float] | None = None  # of its confidently placed local places
    max_population: int = 0  # of this name's candidates
    primary_population: int = -1  # the biggest town that bears the name as its own (-1: none does)
    count: int = 1  # how often the article names it
    best_country: float = 0.0  # the article's weight for the country of this name's big reading most about it
    siblings: tuple[Candidate, ...] = ()  # pass one's readings of the names listed with it ("A, B and C")


def _log_pop(c: Candidate) -> float:
    return math.log10(max(c.population, 100))


def inside(c: Candidate, container: Candidate) -> bool:
    """Whether ``c`` lies in ``container`` (a country or province), by codes."""
    if container.feature is Feature.COUNTRY:
        return bool(c.country_code) and c.country_code == container.country_code and c.key != container.key
    if container.feature is Feature.ADMIN1:
        return bool(c.admin1) and c.admin1 == container.admin1 and c.key != container.key
    return False


def is_small_town(c: Candidate) -> bool:
    """A town under SMALL_TOWN_POPULATION: weaker evidence for its province, and no big namesake."""
    return c.feature is Feature.CITY and c.population < SMALL_TOWN_POPULATION


def _small_town_outside_named_province(c: Candidate, s: Situation) -> float:
    """A story about the US that names no Kentucky means Paris, France, not Paris, Kentucky."""
    if is_small_town(c) and not s.admins.get(c.admin1):
        return s.countries.get(c.country_code, 0.0)
    return 0.0


def _stray(c: Candidate, s: Situation) -> float:
    """A village abroad ("Belgravia, Alberta" in a London story) is rarely meant."""
    return float(
        bool(s.countries)
        and c.feature is Feature.CITY
        and c.population < STRAY_TOWN_POPULATION
        and s.countries.get(c.country_code, 0.0) < STRAY_COUNTRY_WEIGHT
    )


def _near_article(c: Candidate, s: Situation) -> float:
    if s.centroid is None or c.feature not in LOCAL:
        return 0.0
    return math.exp(-haversine_km(c.lat, c.lon, *s.centroid) / SPATIAL_SCALE_KM)


def _near_dateline(c: Candidate, s: Situation) -> float:
    """Closeness to the dateline place; a country or province that contains it is as close as can be."""
    if not s.dateline or c.key in s.dateline_own:
        return 0.0
    d = s.dateline[0]
    if inside(d, c):
        return 1.0
    if c.feature not in LOCAL:
        return 0.0
    return math.exp(-haversine_km(c.lat, c.lon, d.lat, d.lon) / DATELINE_SCALE_KM)


def _compass_word_abroad(c: Candidate, s: Situation) -> float:
    """ "West" or "Western" alone, read as a province or region of a country the article is not about."""
    words = set(normalize(s.text).replace("-", " ").split())
    return float(
        bool(words)
        and words <= GENERIC_REGION_WORDS
        and c.feature in (Feature.ADMIN1, Feature.ADMIN2, Feature.REGION)
        and s.countries.get(c.country_code, 0.0) < STRAY_COUNTRY_WEIGHT
    )


def _listed_share(s: Situation, same: Callable[[Candidate], bool]) -> float:
    """Share of the names listed with this one whose reading is like this candidate (``same``)."""
    return sum(map(same, s.siblings)) / len(s.siblings) if s.siblings else 0.0


FeatureFn = Callable[[Candidate, int, Situation], float]

# (name, function of (candidate, how the name matched, situation), why it is here)
FEATURES: list[tuple[str, FeatureFn, str]] = [
    ("log_population", lambda c, k, s: _log_pop(c), "bigger places are named more often"),
    (
        "population_gap",
        lambda c, k, s: _log_pop(c) - math.log10(max(s.max_population, 100)),
        "a bare well-known name is its biggest bearer, not a small namesake",
    ),
    ("country", lambda c, k, s: float(c.feature is Feature.COUNTRY), "kind of feature"),
    ("province", lambda c, k, s: float(c.feature is Feature.ADMIN1), "a state is not its same-named city"),
    ("district", lambda c, k, s: float(c.feature is Feature.ADMIN2), "kind of feature"),
    ("region", lambda c, k, s: float(c.feature is Feature.REGION), "kind of feature"),
    ("water", lambda c, k, s: float(c.feature is Feature.WATER), "a named sea is what its bare name means"),
    ("airport", lambda c, k, s: float(c.feature is Feature.AIRPORT), "kind of feature: an airport has no people"),
    ("capital", lambda c, k, s: float(c.capital), "national capitals are in the news"),
    ("primary_name", lambda c, k, s: float(k == NAME), "the name a place bears today"),
    (
        "country_by_its_own_name",
        lambda c, k, s: float(c.feature is Feature.COUNTRY and k == NAME),
        '"Mexico" is the country, not the state or city that also bears the name',
    ),
    ("alternate_name", lambda c, k, s: float(k == ALT), "a historical or foreign name is a weaker match"),
    (
        "alternate_while_a_bigger_place_bears_it",
        lambda c, k, s: float(k == ALT and c.feature is Feature.CITY and c.population < s.primary_population),
        "an old name (Alexandria for Mashhad) loses to a bigger town that bears the name today",
    ),
    ("abbreviation", lambda c, k, s: float(k >= ABBR), "matched as a code or abbreviation"),
    (
        "written_as_code",
        lambda c, k, s: float(s.written_as_code and k >= ABBR),
        '"EU" written in capitals is the European Union, not the town of Eu',
    ),
    (
        "country_abbreviation",
        lambda c, k, s: float(c.feature is Feature.COUNTRY and k >= ABBR),
        '"U.S.", "UK": abbreviations of countries are the usual ones',
    ),
    ("article_country", lambda c, k, s: s.countries.get(c.country_code, 0.0), "the countries the article is about"),
    (
        "small_town_outside_named_province",
        lambda c, k, s: _small_town_outside_named_province(c, s),
        "the article's country is weaker evidence for a small town in a province it does not name",
    ),
    ("article_province", lambda c, k, s: s.admins.get(c.admin1, 0.0), "the provinces the article is about"),
    ("dateline_place", lambda c, k, s: float(c.key in s.dateline_own), '"KABUL (AP) -": the dateline\'s own name'),
    (
        "dateline_country",
        lambda c, k, s: float(any(c.country_code and c.country_code == d.country_code for d in s.dateline)),
        "the dateline sets the scene",
    ),
    ("near_dateline", lambda c, k, s: _near_dateline(c, s), "local places are near the dateline"),
    (
        "qualifier",
        lambda c, k, s: float(s.qualifies and any(inside(c, q) for q in s.qualifiers)),
        '"Paris, Texas", "Springfield, IL": the qualifier contains the place',
    ),
    ("near_article_places", lambda c, k, s: _near_article(c, s), "an article's places are near each other"),
    ("stray_abroad", lambda c, k, s: _stray(c, s), "a village abroad is rarely what an article means"),
    (
        "compass_word_abroad",
        lambda c, k, s: _compass_word_abroad(c, s),
        '"the West", "Western" alone are rarely the West Region of a country the article is not about',
    ),
    (
        "listed_with_its_kind",
        lambda c, k, s: _listed_share(s, lambda d: d.feature is c.feature),
        '"New South Wales, Western Australia and Queensland": a list names places of one kind (the state, not a '
        "town)",
    ),
    (
        "rival_in_article_country",
        lambda c, k, s: max(0.0, s.best_country - s.countries.get(c.country_code, 0.0)) if c.country_code else 0.0,
        "another big reading of the name is in a country the article is about and this one is not (London, "
        "England, in a story on Canada): the sure pick may be the famous namesake",
    ),
    (
        "country_repeated",
        lambda c, k, s: float(c.feature is Feature.COUNTRY) * math.log(s.count),
        "a name said many times is more often the country",
    ),
]
FEATURE_NAMES = [name for name, _, _ in FEATURES]
# Features that tell how sure to be of the top reading but not which reading to pick: the ranker gives them no
# weight (what they add to ranking, article_country already says) and only the calibration weighs them.
CALIBRATION_ONLY = frozenset({"rival_in_article_country"})


@dataclass(frozen=True)
class Approximation:
    """An approximate reading: a name nothing knows (or knows only in part), put at a place the article names.

    ``how`` is how the reading was made: "backoff" (no reading at all: put at the nearest place the article
    names), "stray" (its only reading was a village abroad, dropped, then backed off), "part" (one word of a
    longer name: "Toronto's Pearson Airport" read as Toronto) or "container" (put at the place the text says
    contains it: "Foua in Idlib").
    """

    how: str
    place: Candidate  # where the name is put: the anchor place, or the reading of the part
    text: str = ""  # the name as written
    part_probability: float = 0.0  # "part": the ranker's calibrated probability of the part's reading
    chars_to_anchor: int = 0  # back-off: characters from this mention to the anchor's mention
    anchor_after: bool = False  # back-off: the anchor is named after it (the closest place named is a later one)
    main_country: bool = False  # the place is in the article's main country
    local_near: float = 1.0  # share of the article's confident local places within 161 km of the place
    local_count: int = 0  # how many confidently placed local places the article has
    km_to_local: float = 0.0  # from the place to the nearest other confidently placed local place (0: none)
    place_confidence: float = 1.0  # how sure the article's own reading of that place is (a part's: its probability)
    country_share: float = 0.0  # share of the article's placed mentions in that place's country


def _wide_kind(a: Approximation) -> float:
    words = a.text.replace("’s", "").replace("'s", "").split()
    return float(bool(words) and words[-1].lower().strip(".,") in WIDE_KIND_WORDS)


ApproximateFn = Callable[[Approximation], float]

# (name, function of the approximation, why it is here): the calibration of approximate readings' confidence.
APPROXIMATE_FEATURES: list[tuple[str, ApproximateFn, str]] = [
    ("part_of_name", lambda a: float(a.how == "part"), "a known word of a longer name is often where the name is"),
    ("stray_dropped", lambda a: float(a.how == "stray"), "its only reading, a village abroad, was dropped"),
    (
        "in_named_place",
        lambda a: float(a.how == "container"),
        'put at the place the text says contains it ("Foua in Idlib"), not the closest one named',
    ),
    ("part_probability", lambda a: a.part_probability, "how sure the ranker is of the part's reading"),
    ("at_city", lambda a: float(a.place.feature is Feature.CITY), "a town is a precise place to put a name"),
    ("at_province", lambda a: float(a.place.feature is Feature.ADMIN1), "a province's point is far from much of it"),
    ("at_district", lambda a: float(a.place.feature is Feature.ADMIN2), "kind of place it is put at"),
    (
        "at_wide_place",
        lambda a: float(a.place.feature in (Feature.COUNTRY, Feature.REGION, Feature.WATER)),
        "a country's or a sea's point is far from most places in it",
    ),
    ("place_log_population", lambda a: _log_pop(a.place), "a big town's story is about the town"),
    (
        "log_chars_to_anchor",
        lambda a: math.log1p(a.chars_to_anchor) if a.how != "part" else 0.0,
        "a place named just before is more likely where it is than one named paragraphs away",
    ),
    ("anchor_after", lambda a: float(a.anchor_after), "the place it is put at is named after it"),
    ("in_main_country", lambda a: float(a.main_country), "put in the country the article is about"),
    (
        "local_places_near",
        lambda a: a.local_near,
        "an article whose places are all close together leaves little room to be wrong",
    ),
    ("log_local_places", lambda a: math.log1p(a.local_count), "how many places the article places confidently"),
    (
        "log_km_to_local_place",
        lambda a: math.log1p(a.km_to_local),
        '"Stoke Newington" read through "Stoke" as Stoke-on-Trent, 200 km from the London the story is about',
    ),
    ("wide_kind_word", _wide_kind, "a river, range or desert runs far from any one town"),
    (
        "country_share",
        lambda a: a.country_share,
        "a name put in the country most of the article's places are in is more often right than one put in a "
        'dateline\'s country the story is not about ("Eastern Ghouta" by a "Moscow" dateline in a story on Syria)',
    ),
    (
        "place_confidence",
        lambda a: a.place_confidence,
        'a name put near a place is as doubtful as that place\'s reading ("St Edmund" by an Edmonton read at 0.63)',
    ),
]
APPROXIMATE_NAMES = [name for name, _, _ in APPROXIMATE_FEATURES]


def approximate_vector(a: Approximation, names: Sequence[str] = APPROXIMATE_NAMES) -> list[float]:
    wanted = set(names)
    return [fn(a) for name, fn, _ in APPROXIMATE_FEATURES if name in wanted]


@dataclass(frozen=True)
class ApproximateModel:
    """Logistic regression of "the approximate reading is within 161 km" on standardised named features."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def columns(self) -> list[int]:
        return [APPROXIMATE_NAMES.index(n) for n in self.names]

    def probability(self, x: Sequence[float]) -> float:
        """Of a full :func:`approximate_vector` (all approximate features)."""
        columns = self.columns()
        z = self.intercept + sum(
            w * (x[i] - m) / s for w, i, m, s in zip(self.coef, columns, self.mean, self.scale, strict=True)
        )
        return sigmoid(z)

    def to_json(self) -> dict:
        return {
            "names": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict) -> ApproximateModel:
        return cls(
            names=tuple(data["names"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
        )


def fit_approximate(
    rows: Sequence[Sequence[float]], right: Sequence[int], names: Sequence[str] = APPROXIMATE_NAMES, l2: float = 1.0
) -> ApproximateModel | None:
    """Logistic regression by Newton's method on full approximate vectors; None without both outcomes."""
    import numpy as np

    if not rows or not 0 < sum(right) < len(right):
        return None
    columns = [APPROXIMATE_NAMES.index(n) for n in names]
    x = np.asarray(rows, dtype=float)[:, columns]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    y = np.asarray(right, dtype=float)
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 1e-6  # the intercept is not shrunk
    beta = _penalised_logistic(z, y, penalty)
    return ApproximateModel(
        names=tuple(names),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in beta[1:]),
        intercept=float(beta[0]),
    )


def feature_vector(c: Candidate, kind: int, s: Situation, names: Sequence[str] = FEATURE_NAMES) -> list[float]:
    """The values of ``names`` (all features by default) for one reading."""
    if names is FEATURE_NAMES:  # the resolver's case, once per reading: no filtering
        return [fn(c, kind, s) for _, fn, _ in FEATURES]
    wanted = set(names)
    return [fn(c, kind, s) for name, fn, _ in FEATURES if name in wanted]


_FUNCTIONS: dict[str, FeatureFn] = {name: fn for name, fn, _ in FEATURES}

# Pass one ranks each name's readings before the article's countries are known, only to learn what the article
# is about (its countries, provinces and centre: ``ARTICLE`` below). It weighs a few of the features above by
# hand, from what the feature says alone, not from the corpora: the learned ranker then weighs every reading
# in pass two. (name of a feature in FEATURES, or one defined here; weight; why)
FIRST_LOOK: list[tuple[str, float, str]] = [
    ("log_population", 0.5, "a city of 1M scores 3, a hamlet of 500 about 1.3"),
    ("country", 1.2, 'a bare "Georgia" in news far more often means the country than a same-named town'),
    ("region", 0.3, '"Middle East", "Darfur"'),
    ("district", 0.1, "a county over its same-named village"),
    ("water", 1.2, "a named sea, like a country, is what its bare name in news usually means"),
    ("primary_name", 0.25, "the name a place bears today"),
    ("abbreviation", -0.6, "a code or abbreviation is a weaker match"),
    ("country_abbreviation", 0.6, '"U.S.", "UK": abbreviations of countries are the usual ones'),
    ("capital", 0.8, "national capitals are in the news"),
    ("written_as_code", 1.5, '"EU" written in capitals is the European Union, not the town of Eu'),
    ("dateline_place", 1.6, '"KABUL (AP) -": the dateline\'s own name'),
    ("dateline_country_only", 0.8, "another place in the dateline's country"),
    ("qualifier", 4.0, '"Paris, Texas": the qualifier contains the place'),
]
FIRST_LOOK_TEMPERATURE = 0.6  # of the softmax over pass one's scores
_FUNCTIONS["dateline_country_only"] = lambda c, k, s: float(
    c.key not in s.dateline_own and _FUNCTIONS["dateline_country"](c, k, s) > 0
)
_NO_CONTEXT = Situation(text="")


def first_look_score(c: Candidate, kind: int, s: Situation = _NO_CONTEXT) -> float:
    """Pass one's score of a reading: the weighted sum of ``FIRST_LOOK``."""
    return sum(weight * _FUNCTIONS[name](c, kind, s) for name, weight, _ in FIRST_LOOK)


def prior(c: Candidate, kind: int = NAME) -> float:
    """Context-free plausibility of a reading (pass one's score with nothing known about the article): how
    the offline geocoder orders a bare name's readings."""
    return first_look_score(c, kind, _NO_CONTEXT)


@dataclass(frozen=True)
class ArticleWeights:
    """How readings make what the article is about: pass one's votes for its countries, provinces and centre
    (``resolution._votes``) and the country it is mainly about (``pipeline._focus``)."""

    vote_country: float = 1.0  # a country reading votes for itself in full...
    vote_place_country: float = 0.5  # ...any other reading for its country at half weight
    vote_province: float = 1.0  # a province reading votes for itself in full...
    vote_place_province: float = 0.5  # ...a place in a province for it at half weight
    anchor_confidence: float = 0.6  # a local place this sure counts towards the article's centre
    focus_country: float = 1.0  # each mention of a country, for the focus...
    focus_place: float = 0.7  # ...of a place in a country
    focus_dateline: float = 3.0  # a dateline counts like three more mentions of its country


ARTICLE = ArticleWeights()


@dataclass(frozen=True)
class Ranker:
    """A conditional logit over standardised features, with a calibration of its choice probabilities.

    A reading's score is w . (x - mean) / scale; a name's readings share out probability by softmax over their
    scores; that probability p is then calibrated to the chance the reading is right (within 161 km), as
    sigmoid(a * logit(p) + b + w . (x - mean) / scale), fitted out of fold, since a gazetteer that lacks the
    place makes the softmax overconfident. Plain Python at run time (vectors have a couple of dozen entries);
    trained by :func:`fit` and :func:`fit_calibration`.
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    calibration: tuple[float, ...] = (1.0, 0.0)  # a, b, then one weight per feature (see fit_calibration)
    approximate: ApproximateModel | None = None  # the chance an approximate reading is right (None: a fixed guess)
    demonym: float | None = None  # the chance a demonym read as its country is right (None: a fixed guess)

    def columns(self) -> list[int]:
        """Where this model's features are in :data:`FEATURE_NAMES` (an ablated model has fewer)."""
        return [FEATURE_NAMES.index(n) for n in self.names]

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each feature's share of the score (0 for a feature at its average value)."""
        return [w * (v - m) / s for w, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)]

    def logit(self, x: Sequence[float]) -> float:
        return sum(self.contributions(x))

    def calibrated(self, p: float, x: Sequence[float]) -> float:
        """The chance that a reading with choice probability ``p`` and features ``x`` is right."""
        p = min(max(p, 1e-6), 1 - 1e-6)
        a, b, *w = self.calibration
        z = a * math.log(p / (1 - p)) + b
        if w:
            z += sum(wi * (v - m) / s for wi, v, m, s in zip(w, x, self.mean, self.scale, strict=True))
        return sigmoid(z)

    def to_json(self) -> dict:
        data = {
            "model": "conditional logit over standardised ranking features (geo/features.py), Platt-calibrated",
            "names": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "calibration": list(self.calibration),
        }
        if self.approximate is not None:
            data["approximate"] = self.approximate.to_json()
        if self.demonym is not None:
            data["demonym"] = self.demonym
        return data

    @classmethod
    def from_json(cls, data: dict) -> Ranker:
        return cls(
            names=tuple(data["names"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            calibration=tuple(data.get("calibration", (1.0, 0.0))),
            approximate=ApproximateModel.from_json(data["approximate"]) if data.get("approximate") else None,
            demonym=float(data["demonym"]) if data.get("demonym") is not None else None,
        )

    def save(self, path: Path = MODEL_PATH) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Ranker:
        """The shipped model; its features must be ones this code knows."""
        ranker = cls.from_json(json.loads(path.read_text()))
        unknown = set(ranker.names) - set(FEATURE_NAMES)
        if ranker.approximate is not None:
            unknown |= set(ranker.approximate.names) - set(APPROXIMATE_NAMES)
        if unknown:
            raise ValueError(f"{path}: features this code does not know: {sorted(unknown)}")
        return ranker


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def fit(
    choices: Sequence[tuple[Sequence[Sequence[float]], Sequence[int]]],
    names: Sequence[str] = FEATURE_NAMES,
    l2: float = 1.0,
) -> Ranker:
    """Conditional logit by Newton's method (numpy only): each choice is (candidate rows, which are right).

    The target spreads evenly over a choice's right readings; a choice with none right, or only one
    candidate, says nothing about which reading to prefer and is left out (calibration accounts for it).
    """
    import numpy as np

    rows, target, starts = [], [], []
    for x, right in choices:
        if len(right) < 2 or not any(right):
            continue
        starts.append(len(rows))
        rows.extend(x)
        target.extend(r / sum(right) for r in right)
    f = len(names)
    if not rows:
        return Ranker(tuple(names), (0.0,) * f, (1.0,) * f, (0.0,) * f)
    x = np.asarray(rows, dtype=float)
    q = np.asarray(target)
    first = np.asarray(starts)
    group = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(x))))
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    z[:, [i for i, name in enumerate(names) if name in CALIBRATION_ONLY]] = 0.0  # their weight stays 0
    beta = np.zeros(f)
    for _ in range(30):
        s = z @ beta
        e = np.exp(s - np.maximum.reduceat(s, first)[group])
        p = e / np.add.reduceat(e, first)[group]
        grad = z.T @ (p - q) + l2 * beta
        zp = z * p[:, None]
        per_group = np.add.reduceat(zp, first, axis=0)
        hess = z.T @ zp - per_group.T @ per_group + l2 * np.eye(f)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return Ranker(
        names=tuple(names),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in beta),
    )


def fit_calibration(
    model: Ranker,
    probabilities: Sequence[float],
    rows: Sequence[Sequence[float]],
    right: Sequence[int],
    l2: float = 1.0,
) -> tuple[float, ...]:
    """Logistic regression of "the top reading is right" on logit(p) and the reading's standardised features.

    p alone does not know that a gazetteer lacking the place leaves one confident wrong reading; the
    features (a small town, an old name, a country the article is not about) do. Returns (a, b, w...) for
    sigmoid(a * logit(p) + b + w . (x - mean) / scale).
    """
    import numpy as np

    p = np.clip(np.asarray(probabilities, dtype=float), 1e-6, 1 - 1e-6)
    x = (np.asarray(rows, dtype=float) - np.asarray(model.mean)) / np.asarray(model.scale)
    z = np.hstack([np.log(p / (1 - p))[:, None], np.ones((len(p), 1)), x])
    y = np.asarray(right, dtype=float)
    penalty = np.full(z.shape[1], l2)
    penalty[:2] = 1e-6  # logit(p) and the intercept are not shrunk
    beta = _penalised_logistic(z, y, penalty)
    return tuple(float(v) for v in beta)


def _penalised_logistic(z: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Coefficients of a logistic regression of ``y`` on the columns of ``z`` with an L2 penalty per column, by
    Newton's method from zero (from elsewhere it can overshoot where a column is a near-certain logit)."""
    import numpy as np

    beta = np.zeros(z.shape[1])
    for _ in range(50):
        mu = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -30, 30)))
        grad = z.T @ (mu - y) + penalty * beta
        hess = (z * (mu * (1 - mu))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta
