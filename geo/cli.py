"""``python -m geo``: parse an article, geoparse a JSONL batch, manage the gazetteer.

Errors are one line on stderr with a distinct exit code, never a traceback:
2 usage (for ``index``: also a missing or unreadable source, a store of other sources),
3 unreadable input file, 4 bad input content (for ``query``: a query that cannot run),
5 gazetteer/model/cluster problem, 6 output not writable; ``index`` exits 1 when some
partitions failed (rerunning it retries them).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from geo.batch import (
    EngineStartError,
    engine_from_options,
    json_line,
    mention_record,
    process_records,
    progress_bar,
    reported_mentions,
)

EXIT_USAGE, EXIT_READ, EXIT_INPUT, EXIT_SETUP, EXIT_WRITE = 2, 3, 4, 5, 6


def _engine(args: argparse.Namespace):
    """The engine the options ask for (a seam the tests replace with a shared engine)."""
    return engine_from_options(
        args.cache_dir,
        geocoder=getattr(args, "geocoder", "offline"),
        domain=getattr(args, "geocoder_domain", None),
        scheme=getattr(args, "geocoder_scheme", None),
        progress=progress_bar(),
    )


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _read_text(path: str) -> str:
    from geo.textio import HTML_SUFFIXES, TEXT_SUFFIXES, InputError, read_upload

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_READ) from exc
    name = Path(path).name if path != "-" else "stdin"
    if Path(name).suffix.lower() not in TEXT_SUFFIXES + HTML_SUFFIXES:
        name = Path(name).stem.replace(".", "_")  # any other file is read as text (HTML sniffed), e.g. news.log
    try:
        _, text = read_upload(name, data)
    except InputError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from exc
    if not text.strip():
        raise CliError(f"{path}: the file has no text", EXIT_INPUT)
    return text


def cmd_parse(args: argparse.Namespace) -> int:
    from geo.export import to_csv, to_geojson

    text = _read_text(args.file)
    engine = _engine(args)
    result = engine.parse(text, title=Path(args.file).stem, include_demonyms=args.demonyms)
    for notice in result.notices:
        print(f"notice: {notice}", file=sys.stderr)
    if args.format == "json":
        out = json.dumps(
            {
                "title": result.title,
                "focus": result.focus.name if result.focus else None,
                "places": [_place_record(p) for p in result.places],
                "mentions": [mention_record(m) for m in reported_mentions(result, args.demonyms)],
            },
            ensure_ascii=False,
            indent=2,
        )
    elif args.format == "geojson":
        out = json.dumps(to_geojson([result]), ensure_ascii=False, indent=2)
    elif args.format == "csv":
        out = to_csv([result])
    else:
        out = _table(result)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def _place_record(p) -> dict[str, Any]:
    c = p.candidate
    return {
        "name": c.name,
        "lat": c.lat,
        "lon": c.lon,
        "country_code": c.country_code,
        "feature": c.feature.value,
        "geonameid": c.geonameid,
        "mentions": p.count,
        "confidence": round(p.confidence, 4),
        "surface_forms": p.surface_forms,
        "approximate": p.approximate,
        "placed_near": p.near.name if p.near else None,
    }


def _table(result) -> str:
    buf = io.StringIO()
    rows = [("place", "kind", "country", "lat", "lon", "mentions", "conf")]
    for p in result.places:
        c = p.candidate
        rows.append(
            (
                c.name,
                f"near {p.near.name}" if p.near else c.feature.value,
                c.country_code,
                f"{c.lat:.4f}",
                f"{c.lon:.4f}",
                str(p.count),
                f"{p.confidence:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        buf.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n")
    if result.focus:
        buf.write(f"\nFocus: {result.focus.name}\n")
    return buf.getvalue()


def _batch_lines(path: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, record or None, error or None) for each non-empty line."""
    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_READ) from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON ({exc.msg})"
                continue
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                yield number, None, 'needs an object with a "text" string'
                continue
            spans = record.get("spans")
            if spans is not None and not (
                isinstance(spans, list)
                and all(
                    isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(v, int) for v in s) for s in spans
                )
            ):
                yield number, None, '"spans" must be a list of [start, end] integer pairs'
                continue
            yield number, record, None


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cmd_batch(args: argparse.Namespace) -> int:
    """Geoparse a JSONL file; bad lines and failing documents are reported and skipped, the rest go on.

    Each output line is written and flushed as its document finishes, so an interrupted run keeps
    everything done before it.
    """
    engine = _engine(args)
    try:
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}", EXIT_WRITE) from exc
    counts = {"bad": 0, "failed": 0, "done": 0, "chars": 0}
    started = time.perf_counter()

    def valid() -> Iterator[dict]:
        for number, record, error in _batch_lines(args.input):
            error = error or _record_problem(record)
            if error is not None:
                counts["bad"] += 1
                print(f"{args.input}:{number}: skipped: {error}", file=sys.stderr)
                continue
            counts["chars"] += len(record["text"])
            yield {**record, "_line": number}  # for the failure report; not part of the output

    def failed(record: dict, exc: Exception) -> None:
        counts["failed"] += 1
        print(
            f"{args.input}:{record['_line']}: document {record.get('id')!r} failed: {_one_line(exc)}", file=sys.stderr
        )

    with out if out is not sys.stdout else contextlib.nullcontext():
        for line in process_records(
            engine, valid(), demonyms=args.demonyms, batch_size=args.batch_size, on_error=failed
        ):
            out.write(json_line(line) + "\n")
            out.flush()
            counts["done"] += 1
    seconds = time.perf_counter() - started
    print(
        f"{counts['done']} documents, {counts['chars']:,} characters in {seconds:.1f} s; "
        f"{counts['bad']} bad lines skipped; {counts['failed']} documents failed",
        file=sys.stderr,
    )
    return EXIT_INPUT if (counts["bad"] or counts["failed"]) and not counts["done"] else 0


def _record_problem(record: dict) -> str | None:
    """Why a batch record cannot be processed (checked up front so one bad line never stops a batch)."""
    from geo.pipeline import MAX_CHARS

    text = record["text"]
    if len(text) > MAX_CHARS:
        return f"text has {len(text):,} characters, over the {MAX_CHARS:,}-character limit"
    for start, end in record.get("spans") or ():
        if not (0 <= start < end <= len(text)):
            return f"span [{start}, {end}] is outside the text (length {len(text)})"
    return None


def cmd_gazetteer(args: argparse.Namespace) -> int:
    from geo.gazetteer import DEFAULT_CACHE_DIR, Gazetteer, GazetteerError
    from geo.recognize import model_description

    try:
        gazetteer = Gazetteer.open(
            args.cache_dir or DEFAULT_CACHE_DIR, progress=progress_bar(), rebuild=args.action == "build"
        )
    except (GazetteerError, OSError) as exc:
        raise CliError(f"gazetteer: {exc}", EXIT_SETUP) from exc
    info = gazetteer.info()
    print(f"gazetteer: {info.path}")
    print(f"size: {info.size_bytes / 1e6:.1f} MB, built {info.built_at} in {info.build_seconds:.1f} s")
    print("places: " + ", ".join(f"{k} {v:,}" for k, v in sorted(info.places.items())) + f"; names: {info.names:,}")
    print(f"language model: {model_description()}")
    print("sources:")
    for key, source in info.sources.items():
        built_from = info.data_versions.get(key, "")
        print(f"  - {source}" + (f" [{built_from}]" if built_from else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geo", description="Dateline geoparser (offline by default).")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the gazetteer and caches live")
    sub = parser.add_subparsers(dest="command", required=True)

    def geocoder_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--geocoder", default="offline", help="offline (default) or a geopy service name such as nominatim"
        )
        p.add_argument("--geocoder-domain", default=None, help="host[:port] of the online geocoder")
        p.add_argument("--geocoder-scheme", default=None, choices=["http", "https"])
        p.add_argument("--demonyms", action="store_true", help="also report demonyms (Afghan -> Afghanistan)")

    p = sub.add_parser("parse", help="print the places of one article")
    p.add_argument("file", help="a .txt, .md or .html file, or - for standard input")
    p.add_argument("--format", choices=["table", "json", "geojson", "csv"], default="table")
    geocoder_options(p)
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("batch", help="geoparse a JSONL file of {id, text[, spans]} records")
    p.add_argument("input")
    p.add_argument("-o", "--output", default="-")
    p.add_argument("--batch-size", type=int, default=32)
    geocoder_options(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("index", help="geoparse an archive on Dask into a Parquet store (documents, mentions)")
    p.add_argument("sources", nargs="+", help=".jsonl[.gz], .parquet or .csv[.gz] files, or folders of .txt/.md/.html")
    p.add_argument("-o", "--output", required=True, help="the store folder (rerunning the command resumes it)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--partition-size", type=int, default=200, help="articles per partition (one file each)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--text-column", default="text", help="the text field of CSV, Parquet and JSONL sources")
    p.add_argument("--demonyms", action="store_true", help="also store demonyms (Afghan -> Afghanistan)")
    p.add_argument("--overwrite", action="store_true", help="replace partitions of other sources in the store")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("query", help="query a store built by index (DuckDB)")
    p.add_argument("store")
    p.add_argument(
        "what", choices=["places", "articles", "months", "sql"],
        help="places by number of articles; articles naming PLACE; places per month; any SQL",
    )
    p.add_argument("place", nargs="?", default=None, help="a place name or GeoNames id (for sql: the query)")
    p.add_argument("--from", dest="date_from", default=None, help="articles dated on or after (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", default=None, help="articles dated on or before (YYYY-MM-DD)")
    p.add_argument("--country", default=None, help="places in this country (ISO code, e.g. AF)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--per-month", type=int, default=5, help="places listed per month (months)")
    p.add_argument("--format", choices=["table", "csv", "json", "geojson"], default="table")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("gazetteer", help="build or describe the offline gazetteer")
    p.add_argument("action", choices=["build", "info"])
    p.set_defaults(func=cmd_gazetteer)

    p = sub.add_parser("bench", help="score the engine on a JSONL evaluation corpus")
    p.add_argument("corpora", nargs="*", help="corpus files (default: ../shared/eval/*.jsonl)")
    p.add_argument("--limit", type=int, default=None, help="only the first N documents of each corpus")
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="where to write JSON and Markdown")
    p.add_argument("--geocoder", default="offline", help=argparse.SUPPRESS)
    p.add_argument(
        "--disable-rule", action="append", default=[], metavar="RULE",
        help="switch a recognition rule off (repeatable; names in geo/recognize.py RULES), for ablation",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("train", help="fit the shipped ranker (geo/data/ranker.json) on the development corpora")
    p.add_argument("corpora", nargs="*", help="development corpus files (default: ../shared/eval/gwn, trnews)")
    p.add_argument("--model", type=Path, default=None, help="where to write the model (default: the shipped one)")
    p.add_argument("--geocoder", default="offline", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_train)
    return parser


def cmd_index(args: argparse.Namespace) -> int:
    """Geoparse an archive into a Parquet store on Dask; exit 1 if some partitions failed (a rerun retries them)."""
    from geo.archive.index import ClusterError, IndexOptions, run_index
    from geo.archive.sources import SourceError
    from geo.archive.store import StoreError

    options = IndexOptions(
        sources=tuple(Path(s) for s in args.sources),
        store=Path(args.output),
        cache_dir=args.cache_dir,
        workers=args.workers,
        scheduler=args.scheduler,
        partition_size=args.partition_size,
        batch_size=args.batch_size,
        demonyms=args.demonyms,
        text_column=args.text_column,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    try:
        report = run_index(options)
    except (SourceError, StoreError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    except ClusterError as exc:
        raise CliError(str(exc), EXIT_SETUP) from exc
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}", EXIT_WRITE) from exc
    print(report.summary(), file=sys.stderr)
    return 1 if report.failed_partitions else 0


def cmd_query(args: argparse.Namespace) -> int:
    from datetime import date

    from geo.archive import query
    from geo.archive.store import StoreError

    try:
        filters = query.Filters(
            date_from=date.fromisoformat(args.date_from) if args.date_from else None,
            date_to=date.fromisoformat(args.date_to) if args.date_to else None,
            country=args.country,
        )
    except ValueError as exc:
        raise CliError(f"--from/--to need a date like 2024-05-31 ({exc})", EXIT_USAGE) from exc
    store = Path(args.store)
    try:
        if args.what == "places":
            rows = query.top_places(store, filters, limit=args.limit)
        elif args.what == "articles":
            if not args.place:
                raise CliError("articles needs a place: a name or a GeoNames id", EXIT_USAGE)
            rows = query.articles_naming(store, args.place, filters, limit=args.limit)
        elif args.what == "months":
            rows = query.places_per_month(store, args.place, filters, per_month=args.per_month)
        else:
            if not args.place:
                raise CliError('sql needs a query, e.g. "SELECT count(*) FROM documents"', EXIT_USAGE)
            rows = query.run_sql(store, args.place)
        out = query.render(rows, args.format)
    except StoreError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    except query.QueryError as exc:
        raise CliError(str(exc), EXIT_INPUT) from exc
    sys.stdout.write(out)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from geo.bench import main as bench_main

    return bench_main(args)


def cmd_train(args: argparse.Namespace) -> int:
    from geo.bench import train_main
    from geo.features import MODEL_PATH

    args.model = args.model or MODEL_PATH
    return train_main(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except EngineStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
