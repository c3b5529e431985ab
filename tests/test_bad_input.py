"""Bad input in the library: a clear message or an empty result, never a crash."""

from __future__ import annotations

import pytest

from geo.pipeline import NOT_ENGLISH, InputTooLarge, _chunks
from geo.textio import MAX_CHARS


@pytest.mark.parametrize("text", ["", "   \n\t  ", "\x00\x01\x02", "12345 67890"])
def test_empty_or_meaningless_text_gives_an_empty_result(engine, text):
    result = engine.parse(text)
    assert result.places == [] and result.focus is None


def test_too_large_is_refused_with_a_message(engine):
    with pytest.raises(InputTooLarge, match="limit"):
        engine.parse("a" * (MAX_CHARS + 1))


def test_non_string_is_refused(engine):
    with pytest.raises(TypeError):
        engine.parse(b"bytes are not text")  # type: ignore[arg-type]


def test_non_english_text_says_so(engine):
    text = (
        "La reunión en Madrid terminó sin acuerdo entre los ministros de España y Francia sobre la "
        "frontera en los Pirineos, según fuentes del gobierno que pidieron no ser identificadas por la "
        "sensibilidad del asunto en Bruselas y en otras capitales europeas."
    )
    assert NOT_ENGLISH in engine.parse(text).notices
    assert NOT_ENGLISH not in engine.parse("Talks were held in Doha on Monday.").notices


def test_long_text_is_processed_in_chunks_with_correct_offsets(engine):
    paragraph = "Officials met in Kabul and later flew to Doha for talks. " * 40 + "\n\n"
    text = paragraph * 60  # ~140,000 characters: more than one chunk
    assert len(list(_chunks(text, 100_000))) > 1
    result = engine.parse(text)
    for m in result.mentions:
        assert text[m.start : m.end] == m.text
        assert text[m.sentence_start : m.sentence_end].find(m.text) >= 0
    assert result.place("Kabul").count == 40 * 60


def test_very_long_line_and_control_characters(engine):
    text = "\x07Fighting near Kandahar\x1b continued. " + "word " * 20000 + "Then Herat."
    result = engine.parse(text)
    assert {p.candidate.country_code for p in result.places} == {"AF"}


def test_thousands_of_place_names(engine):
    names = ["Kabul", "Doha", "Paris", "Tokyo", "Lima", "Cairo", "Delhi", "Moscow"]
    text = " ".join(f"From {names[i % len(names)]} to {names[(i + 3) % len(names)]}." for i in range(1500))
    result = engine.parse(text)
    assert len(result.mentions) == 3000
    assert len(result.places) == len(names)


def test_html_markup_is_data_not_markup(engine):
    text = 'Fighting in <script>alert("x")</script> Kabul and <img src=x onerror=alert(1)> Doha.'
    result = engine.parse(text)
    assert {p.candidate.country_code for p in result.places} >= {"AF", "QA"}
