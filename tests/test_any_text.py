"""Any text at all: the engine, the batch command, the exports and the app's HTML hold for every input.

Property-based (Hypothesis, seeded profile in conftest.py): texts are built from arbitrary
Unicode of every plane, lone and reversed surrogates, control and format characters,
combining marks, right-to-left text, emoji sequences, NUL, mixed line ends, very long
tokens, and real place names so that recognition and resolution have work to do.
"""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from geo.app.mapview import MapLayer, highlight_html, popup_html
from geo.app.ui import article_from_paste, article_legend_html, excerpts_html, mentions_for_highlight, place_card_html
from geo.cli import main
from geo.export import to_csv, to_geojson
from geo.textio import clean_text, replace_surrogates

ANY_CHAR = st.characters(exclude_categories=())  # every plane, surrogates (category Cs) included
PLACES = [
    "Kabul", "Paris, Texas", "New York", "TASHKENT, Uzbekistan – ", "Afghan", "the Netherlands", "U.S.",
    "Portland, Ore.", "Spin Boldak", "BEIRUT (AP) — ", "Springfield, IL", "Tamil Nadu",
]  # fmt: skip
ODD = [
    "\r\n", "\r", "\n\n", "\x00", "\t", "\u200f", "\u202e", "\u2066", "\u0301\u0301\u0301", "\u200d",
    "👩\u200d👩\u200d👧\u200d👦", "🇦🇫", "\ud800", "\udfff", "\udc00\ud800", "\ufeff", "\u2028", "\x85", "\x1b",
    "مرحبا بكم في كابل", "שלום", "東京", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "&amp;", "${x}",
    "=cmd|' /C calc'!A0", "\\", "..", ". ",
]  # fmt: skip
LONG_TOKEN = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["x", "é", "字", "\u0301", "🙂", "(", "-"]),
    st.sampled_from([150, 2_000, 100_000]),
)
PIECE = st.one_of(st.text(ANY_CHAR, max_size=30), st.sampled_from(PLACES), st.sampled_from(ODD), st.just(" "))
TEXTS = st.builds(
    lambda pieces, long, at: "".join(pieces[:at] + [long] + pieces[at:]),
    st.lists(PIECE, max_size=24),
    st.one_of(st.just(""), LONG_TOKEN),  # at most one very long word a text
    st.integers(0, 24),
)
HUNDRED_K_TOKEN = "Kabul " + "(" * 100_000 + " Paris"  # spaCy's tokenizer is quadratic in such a word


def _check_result(text: str, result) -> None:
    """What holds for any parse: offsets give back the text, the exports are valid and encodable."""
    assert result.text == replace_surrogates(text) and len(result.text) == len(text)
    for m in result.mentions:
        assert result.text[m.start : m.end] == m.text
        assert m.sentence_start <= m.start < m.end <= m.sentence_end <= len(text)
        assert 0.0 <= m.confidence <= 1.0
    for place in result.places:
        for excerpt in place.excerpts(result.text):
            assert excerpt.text[excerpt.start : excerpt.end] in place.surface_forms
    geojson = json.dumps(to_geojson([result]), ensure_ascii=False, allow_nan=False)
    geojson.encode("utf-8")  # strict: no surrogate survives
    assert json.loads(geojson)["type"] == "FeatureCollection"
    table = to_csv([result])
    table.encode("utf-8")
    rows = list(csv.reader(io.StringIO(table)))
    assert len(rows) == 1 + len(result.places) and len({len(r) for r in rows}) == 1


@given(text=TEXTS, title=st.text(ANY_CHAR, max_size=20))
@example(text=HUNDRED_K_TOKEN, title="")
@example(text="Kabul \ud800 Kandahar \udc00\ud800 Herat", title="\udfff")
def test_parse_holds_for_any_text(engine, text, title):
    result = engine.parse(text, title=title, include_demonyms=True)
    result.title.encode("utf-8")
    _check_result(text, result)


@st.composite
def text_and_spans(draw):
    text = draw(TEXTS.filter(bool))
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=12))
    spans = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    spans += [(b, a) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b < a]
    return text, spans


@given(text_and_spans())
@example(("Flights to \ud800Kabul and Kandahar", [(12, 17), (22, 30)]))
def test_resolve_gives_one_mention_per_span_for_any_text(engine, case):
    text, spans = case
    result = engine.resolve(text, spans)
    assert [(m.start, m.end) for m in result.mentions] == spans
    _check_result(text, result)


TEMPLATE_TAGS = frozenset({"div", "span", "b", "i", "br", "ul", "ol", "li", "mark"})  # what geo.app.ui/mapview write


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def _html_of(result) -> list[str]:
    layer = MapLayer(result, "#1f77b4", "article")
    out = [
        highlight_html(result.text, mentions_for_highlight(result), {m.start for m in result.mentions[:1]}),
        article_legend_html([(result.title, "#1f77b4")]),
    ]
    for place in result.places:
        out.append(popup_html(layer, place, several=True))
        country = place.candidate.country_code
        out.append(place_card_html(place, country=country, article_title=result.title, color="red"))
        out.append(excerpts_html(place, result, color="#1f77b4"))
    return out


@given(text=TEXTS, title=st.sampled_from(["", "<b>x</b>", "<script>alert(1)</script>", "\ud800"]))
@example(text='Kabul <img src=x onerror="alert(1)"> and <script>alert(1)</script> Paris', title="<i>")
def test_the_apps_html_never_carries_a_tag_from_the_text(engine, text, title):
    article = article_from_paste(text + " Kabul.", title)  # the paste box's own cleaning, then the engine
    result = engine.parse(article.text, title=article.title)
    for html in _html_of(result):
        html.encode("utf-8")
        parser = _Tags()
        parser.feed(html)
        assert parser.tags <= TEMPLATE_TAGS and not parser.handlers


def test_cleaning_replaces_surrogates_one_for_one():
    assert replace_surrogates("a\ud800b\udc00\ud83dc") == "a\ufffdb\ufffd\ufffdc"
    assert clean_text("Kabul\ud800\r\n") == "Kabul\ufffd\n"
    assert replace_surrogates("plain 🙂") == "plain 🙂"


@given(st.lists(st.tuples(st.one_of(st.none(), st.text(ANY_CHAR, max_size=8)), TEXTS), min_size=1, max_size=6))
def test_batch_writes_one_valid_line_per_document_for_any_text(engine, tmp_path_factory, records):
    """JSON escapes lone surrogates ("\\ud800"); every document still comes out, ids exactly as given."""
    folder = tmp_path_factory.mktemp("batch")
    source, target = folder / "in.jsonl", folder / "out.jsonl"
    lines = [{"id": i, "text": t} for i, t in records if t.strip()]
    source.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("geo.cli._engine", lambda args: engine)
        assert main(["batch", str(source), "-o", str(target)]) == 0
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in lines]
    for record, line in zip(lines, out, strict=True):
        clean = replace_surrogates(record["text"])
        assert all(clean[m["start"] : m["end"]] == m["text"] for m in line["mentions"])


class _FailsOn:
    """The real engine, except that a document containing ``word`` raises inside the engine."""

    def __init__(self, engine, word: str, exc: BaseException) -> None:
        self.engine, self.word, self.exc = engine, word, exc

    def parse_many(self, texts, **options):
        for text, result in zip(texts, self.engine.parse_many(texts, **options), strict=True):
            if self.word in text:
                raise self.exc
            yield result

    def resolve(self, text, spans, **options):
        if self.word in text:
            raise self.exc
        return self.engine.resolve(text, spans, **options)


def _batch_input(folder, texts):
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return source


def test_a_document_that_fails_is_reported_by_id_and_the_batch_goes_on(engine, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("geo.cli._engine", lambda args: _FailsOn(engine, "BOOM", RuntimeError("tokenizer broke")))
    texts = ["Kabul is far.", "BOOM in Paris.", "Moscow is cold.", "Lima is warm."]
    source, target = _batch_input(tmp_path, texts), tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(target), "--batch-size", "8"]) == 0
    out = [json.loads(line) for line in target.read_text().splitlines()]
    assert [o["id"] for o in out] == ["d0", "d2", "d3"]
    assert [m["text"] for m in out[1]["mentions"]] == ["Moscow"]
    err = capsys.readouterr().err
    assert "in.jsonl:2: document 'd1' failed: RuntimeError: tokenizer broke" in err
    assert "3 documents" in err and "1 documents failed" in err and "Traceback" not in err


def test_an_interrupted_batch_keeps_every_line_already_done(engine, monkeypatch, tmp_path):
    monkeypatch.setattr("geo.cli._engine", lambda args: _FailsOn(engine, "STOP", KeyboardInterrupt()))
    texts = ["Kabul is far.", "Moscow is cold.", "STOP in Paris.", "Lima is warm."]
    source, target = _batch_input(tmp_path, texts), tmp_path / "out.jsonl"
    assert main(["batch", str(source), "-o", str(target), "--batch-size", "8"]) == 130
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == ["d0", "d1"]


def test_a_library_caller_sees_the_error_when_no_handler_is_given(engine):
    from geo.batch import process_records

    flaky = _FailsOn(engine, "BOOM", RuntimeError("broke"))
    with pytest.raises(RuntimeError, match="broke"):
        list(process_records(flaky, [{"id": 1, "text": "BOOM in Paris."}]))
