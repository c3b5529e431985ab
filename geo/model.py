"""The data that flows between the stages of the engine.

Plain frozen dataclasses so every stage (recognition, lookup, resolution, map,
export) can be tested on its own and results can be cached and serialised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

# A reading below this is flagged "low confidence: check this reading" (dashed marker, ⚠ in lists). The confidence is
# a calibrated chance of being within 161 km; the line is the bench's ``flag_line``: the highest that flags at most
# a tenth of the right readings in each development corpus, out of fold (``python -m geo bench`` prints it, with the
# shares at other lines; lines are compared in whole percents, as readers see them, by ``under_line``). At 0.5, where
# a calibrated reading is as likely wrong as right, half of the wrong readings went unflagged. The line was 0.82 until
# the bench gave 0.85 in three runs in a row (gazetteer build 16), and 0.86 once approximate readings' confidence
# learned how sure the place they are put at is and how much of the article is in its country (gazetteer build 19).
# An approximate reading is shown at its learned chance up to the line (geo.resolution.APPROXIMATE_MAX_CONFIDENCE):
# flagged unless that chance reaches it.
LOW_CONFIDENCE = 0.86
HIGH_CONFIDENCE = 0.9  # at or above this a reading is "sure": an approximate reading never is
APPROXIMATE_SOURCE = "approximate"  # Candidate.source of a place drawn near the known place it was put at


def under_line(confidence: float, line: float = LOW_CONFIDENCE) -> bool:
    """Whether a confidence is under a flag line as a reader sees it, in whole percents: every list and popup
    shows 0.8159 as "82 %", which must not be flagged "under 82 %"."""
    return round(confidence * 100) < round(line * 100)


class Feature(StrEnum):
    """Kind of gazetteer entry; drives ranking and the map's colours."""

    CITY = "city"
    ADMIN1 = "admin1"
    ADMIN2 = "admin2"
    COUNTRY = "country"
    REGION = "region"  # continents, CLDR/M49 macro-regions, GeoNames regions, curated regions
    WATER = "water"  # oceans, seas, gulfs, bays and straits (Natural Earth's marine areas)
    AIRPORT = "airport"  # airports with an IATA code (airportsdata)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One gazetteer (or online geocoder) entry that a name may refer to."""

    geonameid: int | None
    name: str
    lat: float
    lon: float
    feature: Feature
    country_code: str = ""
    admin1: str = ""  # GeoNames admin1 code ("AF.23"), empty for countries/regions
    population: int = 0
    source: str = "gazetteer"
    member_countries: tuple[str, ...] = ()  # for regions: ISO alpha-2 codes
    capital: bool = False  # national capital: a strong prior when a name is ambiguous

    @property
    def key(self) -> str:
        """Stable identity across sources (used for corrections and one-sense-per-name)."""
        if self.geonameid is not None:
            return f"gn:{self.geonameid}"
        return f"{self.source}:{self.name}:{self.lat:.4f},{self.lon:.4f}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature"] = self.feature.value
        data["member_countries"] = list(self.member_countries)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        data = dict(data)
        data["feature"] = Feature(data["feature"])
        data["member_countries"] = tuple(data.get("member_countries") or ())
        return cls(**data)

    def approximately(self, name: str) -> Candidate:
        """A stand-in for a place nothing knows, named ``name``, at this candidate's point and in its country."""
        return replace(
            self, geonameid=None, name=name, population=0, source=APPROXIMATE_SOURCE, member_countries=(), capital=False
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """One ranking feature's part in choosing a reading over its rival (geo.features)."""

    feature: str
    share: float  # of the log-odds gap between the two readings: positive speaks for this one
    value: float  # the feature's value for this reading...
    rival_value: float  # ...and for the rival


    def to_list(self) -> list[Any]:
        return [self.feature, self.share, self.value, self.rival_value]

    @classmethod
    def from_list(cls, data: list[Any]) -> Reason:
        return cls(*data)


@dataclass(frozen=True, slots=True)
class Alternative:
    """A candidate that lost, with the score it got (for the user to pick instead)."""

    candidate: Candidate
    confidence: float
    why: tuple[Reason, ...] = ()  # each ranking feature's share of its log-odds gap to the chosen reading

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate.to_dict(), "confidence": self.confidence,
                "why": [r.to_list() for r in self.why]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alternative:
        return cls(Candidate.from_dict(data["candidate"]), data["confidence"],
                   tuple(Reason.from_list(r) for r in data["why"]))


class MentionKind(StrEnum):
    TOPONYM = "toponym"
    DEMONYM = "demonym"  # "Afghan", "Pakistani": resolvable to a country, hidden by default


@dataclass(frozen=True, slots=True)
class Mention:
    """One occurrence of a place name in the text, resolved or not."""

    start: int  # Python string offsets into the document text
    end: int
    text: str
    label: str  # spaCy label or "GAZ" for gazetteer-found spans
    kind: MentionKind = MentionKind.TOPONYM
    sentence_start: int = 0
    sentence_end: int = 0
    candidate: Candidate | None = None  # the chosen reading; None when nothing fits
    confidence: float = 0.0
    alternatives: tuple[Alternative, ...] = ()
    corrected: bool = False  # True when the reading comes from a user's correction
    # True when nothing knows the name itself and the reading is only where it probably is: the nearest place the
    # article names (a river, a street), or the place one word of a longer name is ("Toronto's Pearson Airport").
    approximate: bool = False
    # Each ranking feature's share of the chosen reading's log-odds lead over the runner-up (geo.features);
    # empty when the name has one reading.
    why: tuple[Reason, ...] = ()

    @property
    def resolved(self) -> bool:
        return self.candidate is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "text": self.text, "label": self.label, "kind": self.kind.value,
            "sentence_start": self.sentence_start, "sentence_end": self.sentence_end,
            "candidate": self.candidate.to_dict() if self.candidate else None, "confidence": self.confidence,
            "alternatives": [a.to_dict() for a in self.alternatives], "corrected": self.corrected,
            "approximate": self.approximate, "why": [r.to_list() for r in self.why],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        return cls(
            start=data["start"], end=data["end"], text=data["text"], label=data["label"],
            kind=MentionKind(data["kind"]), sentence_start=data["sentence_start"], sentence_end=data["sentence_end"],
            candidate=Candidate.from_dict(data["candidate"]) if data["candidate"] else None,
            confidence=data["confidence"], alternatives=tuple(Alternative.from_dict(a) for a in data["alternatives"]),
            corrected=data["corrected"], approximate=data["approximate"],
            why=tuple(Reason.from_list(r) for r in data["why"]),
        )


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A passage (sentence) that names a place, with the mention's offsets inside it."""

    text: str
    start: int  # offset of the mention inside ``text``
    end: int
    doc_start: int  # offset of ``text`` in the document


@dataclass(slots=True)
class Place:
    """A distinct resolved place of a document: one map marker, many mentions.

    An approximate place (a name nothing knows, put near a known place) has ``near`` set to that known place
    and a ``candidate`` of its own, named as written, at ``near``'s point: it is never merged into the known
    place, so that place's spellings, count and confidence are its own.
    """

    candidate: Candidate
    mentions: list[Mention] = field(default_factory=list)
    near: Candidate | None = None  # the known place an approximate place was put at

    @property
    def key(self) -> str:
        return self.candidate.key

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def approximate(self) -> bool:
        return self.near is not None

    @property
    def count(self) -> int:
        return len(self.mentions)

    @property
    def confidence(self) -> float:
        return max((m.confidence for m in self.mentions), default=0.0)

    @property
    def alternatives(self) -> tuple[Alternative, ...]:
        return self.mentions[0].alternatives if self.mentions else ()

    @property
    def why(self) -> tuple[Reason, ...]:
        """Why the reading won: each ranking feature's share of its score, from the surest mention (empty when
        the reading is the user's correction)."""
        sure = max(self.mentions, key=lambda m: m.confidence, default=None)
        return sure.why if sure is not None and not sure.corrected else ()

    @property
    def surface_forms(self) -> list[str]:
        return sorted({m.text for m in self.mentions})

    def excerpts(self, text: str) -> list[Excerpt]:
        """Sentences naming this place, in article order; one per mention."""
        out = []
        for m in sorted(self.mentions, key=lambda m: m.start):
            out.append(
                Excerpt(
                    text=text[m.sentence_start : m.sentence_end],
                    start=m.start - m.sentence_start,
                    end=m.end - m.sentence_start,
                    doc_start=m.sentence_start,
                )
            )
        return out

    def sentences(self, text: str) -> list[Excerpt]:
        """One excerpt per sentence naming this place, in article order: a sentence naming it twice comes once
        (at its first mention), so a download or a list never repeats a sentence."""
        first: dict[int, Excerpt] = {}
        for excerpt in self.excerpts(text):
            first.setdefault(excerpt.doc_start, excerpt)
        return list(first.values())


@dataclass(slots=True)
class Result:
    """Everything the engine found in one document."""

    text: str
    mentions: list[Mention]
    places: list[Place]
    title: str = ""
    focus: Candidate | None = None  # the place the article is mainly about
    notices: list[str] = field(default_factory=list)  # e.g. "Nominatim failed; used offline gazetteer"
    context: str = ""  # key under which the user's corrections for this document are stored

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data that :meth:`from_dict` turns back into an equal Result (a place's mentions are
        the result's own, by position)."""
        position = {id(m): i for i, m in enumerate(self.mentions)}
        return {
            "text": self.text,
            "title": self.title,
            "mentions": [m.to_dict() for m in self.mentions],
            "places": [
                {
                    "candidate": p.candidate.to_dict(),
                    "near": p.near.to_dict() if p.near else None,
                    "mentions": [position[id(m)] if id(m) in position else m.to_dict() for m in p.mentions],
                }
                for p in self.places
            ],
            "focus": self.focus.to_dict() if self.focus else None,
            "notices": list(self.notices),
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        mentions = [Mention.from_dict(m) for m in data["mentions"]]
        places = [
            Place(
                candidate=Candidate.from_dict(p["candidate"]),
                mentions=[mentions[m] if isinstance(m, int) else Mention.from_dict(m) for m in p["mentions"]],
                near=Candidate.from_dict(p["near"]) if p["near"] else None,
            )
            for p in data["places"]
        ]
        return cls(
            text=data["text"], mentions=mentions, places=places, title=data["title"],
            focus=Candidate.from_dict(data["focus"]) if data["focus"] else None,
            notices=list(data["notices"]), context=data["context"],
        )

    def place(self, name: str) -> Place | None:
        """First place whose name or surface form equals ``name`` (case-insensitive)."""
        wanted = name.casefold()
        for p in self.places:
            if p.name.casefold() == wanted or any(s.casefold() == wanted for s in p.surface_forms):
                return p
        return None
