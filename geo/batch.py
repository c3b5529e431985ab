"""Batch processing shared by the command line, the bench and the archive indexer (``geo.archive``).

One JSONL contract: a record ``{"id", "text"[, "spans"]}`` in, a line ``{"id", "mentions": [...]}``
out (:func:`mention_record`). :func:`process_records` is the one loop that turns records into lines,
and :func:`engine_from_options` builds the engine that ``--cache-dir`` and ``--geocoder`` describe, so
neither the CLI nor the bench reaches into the other's private names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.model import Mention, MentionKind, Result

if TYPE_CHECKING:
    from geo.pipeline import Engine


class EngineStartError(RuntimeError):
    """The gazetteer or the language model could not be loaded (the CLI's exit code 5)."""


def progress_bar() -> Callable[[float, str], None]:
    """A tqdm bar on stderr for the gazetteer build, created only if a build actually starts."""
    from tqdm import tqdm

    bar = None

    def update(fraction: float, message: str) -> None:
        nonlocal bar
        if bar is None:
            if fraction >= 1.0:
                return
            bar = tqdm(total=100, desc="Building gazetteer", unit="%", file=sys.stderr, leave=False)
        bar.set_postfix_str(message[:40])
        bar.update(max(0, round(fraction * 100) - bar.n))
        if fraction >= 1.0:
            bar.close()

    return update


def engine_from_options(
    cache_dir: Path | None,
    *,
    geocoder: str = "offline",
    domain: str | None = None,
    scheme: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    disabled_rules: Iterable[str] = (),
) -> Engine:
    """The engine for these command-line options; any failure to start is one :class:`EngineStartError`."""
    from geo.gazetteer import GazetteerError
    from geo.pipeline import Engine

    online = None
    if geocoder != "offline":
        from geo.geocoders import online_geocoder

        online = online_geocoder(geocoder, domain=domain, scheme=scheme)
    try:
        return Engine(cache_dir, geocoder=online, progress=progress, disabled_rules=disabled_rules)
    except (GazetteerError, RuntimeError, OSError, ValueError) as exc:  # ValueError: an unknown rule name
        raise EngineStartError(f"cannot start the engine: {exc}") from exc


def ensure_gazetteer(cache_dir: Path | None, progress: Callable[[float, str], None] | None = None) -> None:
    """Build the gazetteer now if it is missing or outdated, so that many worker processes do not each build it."""
    from geo.gazetteer import Gazetteer, GazetteerError

    try:
        Gazetteer.open(cache_dir, progress)
    except (GazetteerError, OSError) as exc:
        raise EngineStartError(f"cannot start the engine: {exc}") from exc


def mention_record(m: Mention) -> dict[str, Any]:
    """One mention in the batch contract's shape."""
    c = m.candidate
    return {
        "start": m.start,
        "end": m.end,
        "text": m.text,
        "name": c.name if c else None,
        "lat": c.lat if c else None,
        "lon": c.lon if c else None,
        "country_code": c.country_code if c else None,
        "feature": c.feature.value if c else None,
        "geonameid": c.geonameid if c else None,
        "confidence": round(m.confidence, 4),
        "kind": m.kind.value,
        "approximate": m.approximate,
    }


def reported_mentions(result: Result, demonyms: bool) -> list[Mention]:
    """The mentions a command reports: demonyms ("Afghan") only when asked for, as with the places."""
    return [m for m in result.mentions if demonyms or m.kind is MentionKind.TOPONYM]


def output_lines(
    engine: Engine, records: list[dict], demonyms: bool, batch_size: int, details: bool = False
) -> Iterator[dict]:
    """Batch-contract output lines for ``records``, in order; plain texts are recognised with ``nlp.pipe``.

    ``details`` adds what an archive store keeps beyond the contract: ``focus_country``, ``places`` (the
    number of distinct places) and each mention's ``sentence_start``/``sentence_end``.
    """
    plain = [r for r in records if r.get("spans") is None]
    results = engine.parse_many([r["text"] for r in plain], include_demonyms=demonyms, batch_size=batch_size)
    for record in records:
        if record.get("spans") is None:
            result = next(results)
            mentions = reported_mentions(result, demonyms)
        else:
            result = engine.resolve(record["text"], [tuple(s) for s in record["spans"]])
            mentions = result.mentions
        line = {"id": record.get("id"), "mentions": [mention_record(m) for m in mentions]}
        if details:
            for m, out in zip(mentions, line["mentions"], strict=True):
                out["sentence_start"], out["sentence_end"] = m.sentence_start, m.sentence_end
            line["focus_country"] = result.focus.country_code if result.focus else None
            line["places"] = len(result.places)
        if result.notices:
            line["notices"] = result.notices
        yield line


def process_records(
    engine: Engine,
    records: Iterable[dict],
    *,
    demonyms: bool = False,
    batch_size: int = 32,
    on_error: Callable[[dict, Exception], None] | None = None,
    details: bool = False,
) -> Iterator[dict]:
    """Batch-contract output lines for valid records, each yielded as soon as its document is done.

    A document whose processing raises is handed to ``on_error(record, exc)`` and left out, so one
    document can never stop a run; the other documents of its batch are redone one at a time. Without
    ``on_error`` the exception propagates (the benchmark wants every document or none). ``details``: see
    :func:`output_lines`.
    """
    pending: list[dict] = []

    def flush() -> Iterator[dict]:
        done = 0
        try:
            for line in output_lines(engine, pending, demonyms, batch_size, details):
                done += 1
                yield line
        except Exception:
            if on_error is None:
                raise
            for record in pending[done:]:
                try:
                    yield from output_lines(engine, [record], demonyms, batch_size, details)
                except Exception as exc:  # this document's own failure: report it, go on with the rest
                    on_error(record, exc)
        pending.clear()

    for record in records:
        pending.append(record)
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()


def json_line(obj: Any) -> str:
    """One JSON line, UTF-8 text where it can be; surrogates (e.g. in an id) stay as JSON escapes."""
    from geo.textio import has_surrogates

    line = json.dumps(obj, ensure_ascii=False)
    if has_surrogates(line):
        line = json.dumps(obj)  # \ud800 escapes: valid JSON that gives back the same string
    return line
