"""Hand-built Results for tests of the map, exports and text views (no NLP, no gazetteer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from geo.model import Alternative, Candidate, Feature, Mention, MentionKind, Place, Result

CHAMAN = Candidate(1180436, "Chaman", 30.92077, 66.45043, Feature.CITY, "PK", "PK.02", 123191)
SPIN_BOLDAK = Candidate(1127110, "Spin Boldak", 31.00575, 66.39960, Feature.CITY, "AF", "AF.23", 14000)
KANDAHAR_PROVINCE = Candidate(1138335, "Kandahar", 31.0, 65.75, Feature.ADMIN1, "AF", "AF.23")
AFGHANISTAN = Candidate(1149361, "Afghanistan", 33.0, 66.0, Feature.COUNTRY, "AF", population=37172386)
PAKISTAN = Candidate(1168579, "Pakistan", 30.0, 70.0, Feature.COUNTRY, "PK", population=212215030)
SOUTH_ASIA = Candidate(None, "South Asia", 22.0, 79.0, Feature.REGION, source="curated")
CHAMAN_ALT = Candidate(9999901, "Chaman", 35.1, 69.2, Feature.CITY, "AF", "AF.17", 800)

SAMPLE_TEXT = (
    "Clashes near Chaman closed the border crossing on Monday. "
    "Traders in Spin Boldak said trucks were stuck for hours.\n\n"
    "Officials in Chaman blamed Afghan forces. "
    "The Kandahar governor said Spin Boldak was calm again."
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_bounds(text: str, start: int) -> tuple[int, int]:
    """Start and end of the sentence containing ``start`` (split after . ! ? and whitespace)."""
    s, e = 0, len(text)
    for m in _SENTENCE_END.finditer(text):
        if m.start() <= start:
            s = m.end()
        else:
            e = m.start()
            break
    return s, e


def mention(
    text: str,
    surface: str,
    candidate: Candidate | None,
    *,
    occurrence: int = 0,
    confidence: float = 0.9,
    alternatives: Sequence[Alternative] = (),
    kind: MentionKind = MentionKind.TOPONYM,
    approximate: bool = False,
) -> Mention:
    """The ``occurrence``-th appearance of ``surface`` in ``text``, resolved to ``candidate``."""
    starts = [m.start() for m in re.finditer(re.escape(surface), text)]
    start = starts[occurrence]
    s, e = sentence_bounds(text, start)
    return Mention(
        start=start,
        end=start + len(surface),
        text=surface,
        label="GPE",
        kind=kind,
        sentence_start=s,
        sentence_end=e,
        candidate=candidate,
        confidence=confidence,
        alternatives=tuple(alternatives),
        approximate=approximate,
    )


def result_from(text: str, mentions: list[Mention], title: str = "") -> Result:
    """A Result whose places group the resolved mentions by candidate key (first-seen order).

    As in the pipeline, an approximate mention is a place of its own, named as written, near its reading.
    """
    places: dict[str, Place] = {}
    for m in sorted(mentions, key=lambda m: m.start):
        if m.candidate is None:
            continue
        if m.approximate:
            key = f"approximate:{m.text}"
            places.setdefault(key, Place(m.candidate.approximately(m.text), near=m.candidate)).mentions.append(m)
        else:
            places.setdefault(m.candidate.key, Place(m.candidate)).mentions.append(m)
    return Result(text=text, mentions=sorted(mentions, key=lambda m: m.start), places=list(places.values()),
                  title=title)


APPROXIMATE_TEXT = (
    "Trucks queued on the Friendship Gate road near Chaman on Monday. "
    "Officials in Chaman said the Friendship Gate road was open again."
)


def approximate_result(title: str = "Border road", confidence: float = 0.25) -> Result:
    """Chaman twice, and a road nothing knows twice, placed near Chaman (approximate, by default low confidence)."""
    t = APPROXIMATE_TEXT
    return result_from(
        t,
        [
            mention(t, "Friendship Gate road", CHAMAN, confidence=confidence, approximate=True),
            mention(t, "Chaman", CHAMAN, confidence=0.97),
            mention(t, "Chaman", CHAMAN, occurrence=1, confidence=0.97),
            mention(t, "Friendship Gate road", CHAMAN, occurrence=1, confidence=confidence, approximate=True),
        ],
        title=title,
    )


def sample_result(title: str = "Border crossing closed") -> Result:
    """Chaman twice (with a losing alternative), Spin Boldak twice, Kandahar once (low confidence)."""
    t = SAMPLE_TEXT
    alt = (Alternative(CHAMAN_ALT, 0.08),)
    return result_from(
        t,
        [
            mention(t, "Chaman", CHAMAN, occurrence=0, confidence=0.92, alternatives=alt),
            mention(t, "Spin Boldak", SPIN_BOLDAK, occurrence=0, confidence=0.88),
            mention(t, "Chaman", CHAMAN, occurrence=1, confidence=0.9, alternatives=alt),
            mention(t, "Kandahar", KANDAHAR_PROVINCE, confidence=0.35),
            mention(t, "Spin Boldak", SPIN_BOLDAK, occurrence=1, confidence=0.8),
        ],
        title=title,
    )


HOSTILE_NAMES = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    'javascript:alert("x")',
    "`${alert(1)}`\\",
    "O'Brien \"Town\" & Co",
)


def hostile_result() -> Result:
    """An article whose title, text and gazetteer names are all markup/JS injection attempts."""
    pieces = [f"Trouble in {name} today." for name in HOSTILE_NAMES]
    text = " ".join(pieces)
    mentions = []
    for i, name in enumerate(HOSTILE_NAMES):
        cand = Candidate(
            700 + i, name, 10.0 + i, 20.0 + i, Feature.CITY, "<b>", population=1,
        )
        alt = Alternative(Candidate(800 + i, name + " alt", -5.0, -5.0, Feature.ADMIN1, "X"), 0.2)
        mentions.append(mention(text, name, cand, confidence=0.3 + 0.1 * i, alternatives=(alt,)))
    return result_from(text, mentions, title="<script>alert('title')</script>")


def doc_with_ents(nlp, text: str, ents: Sequence[tuple[str, str]]):
    """``nlp``'s tokens of ``text`` with exactly ``ents`` as the model's entities: (phrase, label) pairs in
    text order, each phrase found after the previous one. Tests the rules apart from what a model predicts."""
    doc = nlp.make_doc(text)
    spans, at = [], 0
    for phrase, label in ents:
        at = text.index(phrase, at)
        spans.append(doc.char_span(at, at + len(phrase), label=label))
        at += len(phrase)
    doc.ents = spans
    return doc


def write_store(engine, articles, path, per_partition: int = 2):
    """A Parquet store of ``articles`` (geo.archive.sources.Article) geoparsed in this process with ``engine``:
    what ``geo index`` writes, without starting a cluster (for tests of the store's readers)."""
    from geo.archive.store import Store, partition_name, partition_tables
    from geo.batch import process_records

    store = Store(path)
    settings = {"format": 1, "demonyms": False}
    store.create(settings)
    for index, first in enumerate(range(0, len(articles), per_partition)):
        chunk = articles[first : first + per_partition]
        lines = process_records(engine, (a.as_record() for a in chunk), details=True)
        name = partition_name(index, chunk, settings)
        store.write(name, partition_tables(name, chunk, lines))
    return path
