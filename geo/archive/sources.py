"""Reading articles from archives: JSONL (optionally .gz), Parquet, CSV, or a folder of .txt/.md/.html files.

Every reader yields :class:`Article` for what can be geoparsed and :class:`Skipped` (with where and why) for
what cannot, so one bad line never stops a run. :func:`check_sources` finds the problems that would stop it
(a missing file, an unknown format, a table without a text column) before any cluster starts.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from geo.textio import HTML_SUFFIXES, MAX_CHARS, TEXT_SUFFIXES, InputError, read_upload

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)
OPTIONAL_FIELDS = ("id", "title", "date", "url", "source")


class SourceError(ValueError):
    """A source cannot be read at all (one line for the user; the CLI's exit code 2)."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article to geoparse; everything but the text is optional."""

    id: str
    text: str
    title: str = ""
    date: date | None = None
    url: str = ""
    source: str = ""

    def as_record(self) -> dict[str, Any]:
        """The batch contract's input record (:func:`geo.batch.process_records`)."""
        return {"id": self.id, "text": self.text}


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input item that is not an article, with where it is and why."""

    where: str  # "file:line" or a file path
    id: str | None
    reason: str

    def message(self) -> str:
        who = f" (id {self.id!r})" if self.id is not None else ""
        return f"{self.where}{who}: skipped: {self.reason}"


def _kind(path: Path) -> str:
    """'jsonl', 'parquet', 'csv' or 'folder' for a source path (a trailing .gz is allowed on JSONL and CSV)."""
    if path.is_dir():
        return "folder"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
        if suffixes and (suffixes[-1] in JSONL_SUFFIXES or suffixes[-1] in CSV_SUFFIXES):
            return "jsonl" if suffixes[-1] in JSONL_SUFFIXES else "csv"
        raise SourceError(f"{path}: a .gz source must be .jsonl.gz or .csv.gz")
    suffix = suffixes[-1] if suffixes else ""
    for kind, known in (("jsonl", JSONL_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("csv", CSV_SUFFIXES)):
        if suffix in known:
            return kind
    raise SourceError(f"{path}: unknown source format (use .jsonl[.gz], .parquet, .csv[.gz] or a folder)")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")  # noqa: SIM115


def check_sources(paths: Sequence[Path], text_column: str = "text") -> None:
    """Raise :class:`SourceError` if a source is missing, of unknown format or has no text column."""
    if not paths:
        raise SourceError("no source given")
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        kind = _kind(path)
        try:
            if kind == "csv":
                with _open_text(path) as handle:
                    header = next(csv.reader(handle), [])
                if text_column not in header:
                    raise SourceError(_no_column(path, text_column, header))
            elif kind == "parquet":
                import pyarrow.parquet as pq

                names = pq.ParquetFile(path).schema_arrow.names
                if text_column not in names:
                    raise SourceError(_no_column(path, text_column, names))
            elif kind == "jsonl":
                with _open_text(path) as handle:
                    handle.read(1)
        except (OSError, EOFError, csv.Error, UnicodeError) as exc:
            raise SourceError(f"{path}: cannot read: {' '.join(str(exc).split())}") from exc
        except Exception as exc:  # pyarrow's errors (ArrowInvalid) for a file that is not Parquet
            if isinstance(exc, SourceError):
                raise
            raise SourceError(f"{path}: cannot read as Parquet: {' '.join(str(exc).split())[:200]}") from exc


def _no_column(path: Path, column: str, names: Iterable[str]) -> str:
    shown = ", ".join(list(names)[:12]) or "none"
    return f"{path}: no {column!r} column (columns: {shown}); name the text column with --text-column"


def read_articles(paths: Sequence[Path], text_column: str = "text") -> Iterator[Article | Skipped]:
    """Every article of every source, in order; ids default to ``file:line`` (``file:row``, a file's path)."""
    for path in paths:
        kind = _kind(path)
        if kind == "folder":
            yield from _folder(path)
        elif kind == "jsonl":
            yield from _jsonl(path, text_column)
        elif kind == "csv":
            yield from _csv(path, text_column)
        else:
            yield from _parquet(path, text_column)


def _jsonl(path: Path, text_column: str) -> Iterator[Article | Skipped]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skipped(where, None, f"not JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                yield Skipped(where, None, "not a JSON object")
                continue
            yield _article(record, text_column, where, f"{path.name}:{number}")


def _csv(path: Path, text_column: str) -> Iterator[Article | Skipped]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                yield _article(row, text_column, where, f"{path.name}:{reader.line_num}")
        except csv.Error as exc:
            yield Skipped(f"{path}:{reader.line_num}", None, f"unreadable CSV, rest of file skipped ({exc})")


def _parquet(path: Path, text_column: str) -> Iterator[Article | Skipped]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    columns = [c for c in (text_column, *OPTIONAL_FIELDS) if c in parquet.schema_arrow.names]
    row = 0
    for batch in parquet.iter_batches(columns=columns, batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            yield _article(record, text_column, f"{path}:row {row}", f"{path.name}:{row}")


def _folder(path: Path) -> Iterator[Article | Skipped]:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES + HTML_SUFFIXES)
    for file in files:
        name = file.relative_to(path).as_posix()
        try:
            title, text = read_upload(file.name, file.read_bytes())
        except (InputError, OSError) as exc:
            yield Skipped(str(file), name, str(exc))
            continue
        yield _article({"id": name, "title": title, "text": text}, "text", str(file), name)


def _article(record: dict[str, Any], text_column: str, where: str, default_id: str) -> Article | Skipped:
    """An :class:`Article` from a record's fields, or why it is not one."""
    raw_id = record.get("id")
    article_id = default_id if raw_id is None or raw_id == "" else str(raw_id)
    text = record.get(text_column)
    if not isinstance(text, str):
        return Skipped(where, article_id, f"needs a {text_column!r} string")
    if not text.strip():
        return Skipped(where, article_id, "the text is empty")
    if len(text) > MAX_CHARS:
        return Skipped(where, article_id, f"text has {len(text):,} characters, over the {MAX_CHARS:,} limit")
    return Article(
        id=article_id,
        text=text,
        title=_string(record.get("title")),
        date=parse_date(record.get("date")),
        url=_string(record.get("url")),
        source=_string(record.get("source")),
    )


def _string(value: Any) -> str:
    return "" if value is None else str(value)


def parse_date(value: Any) -> date | None:
    """A calendar date from an ISO 8601 string (date or date-time), a date or a datetime; None otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
