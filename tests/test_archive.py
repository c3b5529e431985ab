"""Archives (``geo.archive``): sources, the Parquet store, ``geo index`` on a 2-worker LocalCluster, resume, DuckDB.

The corpus is a handful of short synthetic articles spread over every source format. A cluster's workers
each load the engine (seconds), so the cluster runs once per module and the resume test uses one worker.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from unittest import mock

import pytest

from tests.conftest import ROOT

ARTICLES = [
    {
        "id": "wire-1",
        "title": "Border talks",
        "date": "2024-05-03",
        "source": "wire",
        "url": "https://example.org/1",
        "text": "KABUL, May 3 - Officials from Kabul and Islamabad met in Doha on Friday. "
        "The talks moved to Tashkent later in the week.",
    },
    {
        "id": "wire-2",
        "title": "Floods",
        "date": "2024-06-11T08:30:00Z",
        "source": "wire",
        "text": "Floods hit Karachi and Lahore. Rescue teams from Islamabad arrived on Tuesday.",
    },
    {
        "id": "wire-3",
        "date": "2024-06-20",
        "text": "Karachi port reopened after the storm, officials in Karachi said.",
    },
    {
        "id": "desk-1",
        "title": "Summit",
        "date": "2024-07-01",
        "source": "desk",
        "text": "Leaders met in Paris before flying to Berlin. Brussels hosted the last round.",
    },
    {
        "id": "desk-2",
        "title": "Markets",
        "date": "2024-05-28",
        "source": "desk",
        "text": "Shares rose in Tokyo and Seoul while traders in Sydney waited.",
    },
    {"id": "pq-1", "title": "Rail", "date": "2024-06-02", "text": "A new rail line links Nairobi and Mombasa."},
    {"id": "pq-2", "date": None, "text": "Heavy snow closed roads around Denver and Boulder."},
]
FOLDER = {
    "notes/ports.txt": "Ships waited outside Rotterdam and Antwerp for a second day.",
    "web.html": "<html><head><title>Cairo report</title></head><body><p>Protests in Cairo and Alexandria.</p>"
    "</body></html>",
}
BAD_JSONL_LINES = ["this is not json", json.dumps({"id": "empty-1", "text": "  "})]


def write_corpus(folder: Path) -> list[Path]:
    """The articles spread over JSONL.gz (with two bad lines), CSV, Parquet and a folder of files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    jsonl = folder / "wire.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as handle:
        for line in (json.dumps(ARTICLES[0]), BAD_JSONL_LINES[0], json.dumps(ARTICLES[1]), BAD_JSONL_LINES[1]):
            handle.write(line + "\n")
        handle.write(json.dumps(ARTICLES[2]) + "\n")
    table = folder / "desk.csv"
    with open(table, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "title", "date", "source", "text"])
        writer.writeheader()
        writer.writerows({k: a.get(k, "") for k in writer.fieldnames} for a in ARTICLES[3:5])
    parquet = folder / "rail.parquet"
    pq.write_table(pa.Table.from_pylist([{k: a.get(k) for k in ("id", "date", "title", "text")} for a in ARTICLES[5:]]),
                   parquet)
    files = folder / "files"
    for name, text in FOLDER.items():
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(text, encoding="utf-8")
    return [jsonl, table, parquet, files]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def read_all(paths):
    from geo.archive.sources import Article, read_articles

    items = list(read_articles(paths))
    return [i for i in items if isinstance(i, Article)], [i for i in items if not isinstance(i, Article)]


# -- sources and store, no cluster --------------------------------------------------------------------------


def test_every_source_format_is_read_with_its_fields(corpus):
    articles, skipped = read_all(corpus)
    by_id = {a.id: a for a in articles}
    assert sorted(by_id) == sorted([a["id"] for a in ARTICLES] + list(FOLDER))
    for expected in ARTICLES:
        got = by_id[expected["id"]]
        assert got.text == expected["text"]
        assert got.title == (expected.get("title") or "")
        assert got.source == (expected.get("source") or "")
    assert by_id["wire-2"].date == date(2024, 6, 11)  # a date-time keeps its date
    assert by_id["desk-1"].date == date(2024, 7, 1)  # CSV
    assert by_id["pq-1"].date == date(2024, 6, 2) and by_id["pq-2"].date is None  # Parquet
    assert by_id["wire-1"].url == "https://example.org/1"
    assert by_id["web.html"].title == "Cairo report" and "<p>" not in by_id["web.html"].text
    messages = [s.message() for s in skipped]
    assert len(messages) == 2, messages
    assert "wire.jsonl.gz:2: skipped: not JSON" in messages[0]
    assert "wire.jsonl.gz:4 (id 'empty-1'): skipped: the text is empty" in messages[1]


def test_missing_ids_default_to_file_and_line(tmp_path):
    source = tmp_path / "plain.jsonl"
    source.write_text('{"text": "Rain in Oslo."}\n\n{"text": "Sun in Rome."}\n', encoding="utf-8")
    articles, _ = read_all([source])
    assert [a.id for a in articles] == ["plain.jsonl:1", "plain.jsonl:3"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    from geo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_unusable_sources_and_stores_are_one_line_errors(tmp_path, corpus):
    no_text = tmp_path / "no-text.csv"
    no_text.write_text("id,body\n1,Rain in Oslo.\n", encoding="utf-8")
    not_a_store = tmp_path / "busy"
    not_a_store.mkdir()
    (not_a_store / "keep.txt").write_text("mine", encoding="utf-8")
    cases = [
        (["index", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "s1")], "no such file"),
        (["index", str(no_text), "-o", str(tmp_path / "s2")], "no 'text' column (columns: id, body)"),
        (["index", str(tmp_path / "notes.docx"), "-o", str(tmp_path / "s3")], "unknown source format"),
        (["index", str(corpus[0]), "-o", str(not_a_store)], "not a Dateline store"),
        (["index", str(corpus[0]), "-o", str(tmp_path / "s4"), "--partition-size", "0"], "at least 1"),
        (["query", str(not_a_store), "places"], "not a Dateline store"),
    ]
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    for args, message in cases:
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in not_a_store.iterdir()) == ["keep.txt"]  # nothing written into it


def test_partition_names_follow_the_articles_and_the_options(corpus):
    from geo.archive.store import partition_name

    articles, _ = read_all(corpus)
    name = partition_name(0, articles[:2], {"demonyms": False})
    assert name == partition_name(0, articles[:2], {"demonyms": False})
    assert name.startswith("part-000000-")
    assert name != partition_name(0, articles[:2], {"demonyms": True})
    assert name != partition_name(0, articles[1:3], {"demonyms": False})


def test_an_article_that_fails_is_reported_with_its_id_and_left_out(engine, cache_dir):
    """A partition run in this process (no cluster): the engine raising on one article spoils only that one."""
    from geo.archive import index
    from geo.archive.sources import Article
    from tests.test_any_text import _FailsOn

    articles = [Article("ok-1", "Rain in Oslo."), Article("bad-1", "BOOM in Paris."), Article("ok-2", "Sun in Rome.")]
    settings = index.WorkerSettings(cache_dir=str(cache_dir), demonyms=False, batch_size=8)
    plugin = index.EnginePlugin(settings.cache_dir)
    plugin._engine = _FailsOn(engine, "BOOM", RuntimeError("broke"))
    with mock.patch.dict(index._LOCAL_PLUGINS, {settings.cache_dir: plugin}):
        outcome = index.geoparse_partition("part-000000-test", articles, settings)
    assert outcome.failed == (("bad-1", "RuntimeError: broke"),)
    assert outcome.tables.documents.column("id").to_pylist() == ["ok-1", "ok-2"]
    assert set(outcome.tables.mentions.column("doc_id").to_pylist()) == {"ok-1", "ok-2"}


# -- the cluster ---------------------------------------------------------------------------------------------


def batch_output(engine, articles, tmp_path: Path) -> dict[str, dict]:
    """What one ``python -m geo batch`` run gives for these articles (in this process, the session's engine)."""
    from geo import cli

    source, output = tmp_path / "batch-in.jsonl", tmp_path / "batch-out.jsonl"
    source.write_text("".join(json.dumps(a.as_record()) + "\n" for a in articles), encoding="utf-8")
    with mock.patch.object(cli, "_engine", lambda args: engine):
        done = run_cli("batch", str(source), "-o", str(output))
    assert done.returncode == 0, done.stderr
    return {line["id"]: line for line in map(json.loads, output.read_text(encoding="utf-8").splitlines())}


def store_tables(store: Path) -> tuple[list[dict], list[dict]]:
    import pyarrow.parquet as pq

    documents = [r for p in sorted((store / "documents").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    mentions = [r for p in sorted((store / "mentions").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return documents, mentions


BATCH_FIELDS = ("start", "end", "text", "name", "lat", "lon", "country_code", "feature", "geonameid", "confidence",
                "kind", "approximate")


def assert_store_equals_batch(store: Path, expected: dict[str, dict]) -> None:
    documents, mentions = store_tables(store)
    assert sorted(d["id"] for d in documents) == sorted(expected)
    for doc_id, line in expected.items():
        stored = sorted((m for m in mentions if m["doc_id"] == doc_id), key=lambda m: m["start"])
        assert [{k: m[k] for k in BATCH_FIELDS} for m in stored] == line["mentions"], doc_id
    assert sum(len(line["mentions"]) for line in expected.values()) == len(mentions)


@pytest.fixture(scope="module")
def cluster():
    """The LocalCluster ``geo index`` starts (2 single-threaded workers), kept for the module: its workers load
    the engine once and every run here reuses it (as runs on a long-lived cluster do, with ``--scheduler``)."""
    from geo.archive.index import local_cluster

    with local_cluster(2) as running:
        yield running.scheduler_address


def test_the_local_workers_run_without_the_profiler(cluster):
    """Dask's statistical profiler keeps a call tree per second of work: over a long run it grows the worker."""
    from distributed import Client

    with Client(cluster) as client:
        callbacks = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
    assert len(callbacks) == 2
    assert all("profile" not in names and "profile-cycle" not in names for names in callbacks.values()), callbacks


@pytest.fixture(scope="module")
def indexed(corpus, cache_dir, cluster, tmp_path_factory):
    """The whole corpus indexed on the 2-worker cluster, two articles per partition."""
    from geo.archive.index import IndexOptions, run_index

    store = tmp_path_factory.mktemp("archive") / "store"
    log = io.StringIO()
    options = IndexOptions(
        sources=tuple(corpus), store=store, cache_dir=cache_dir, scheduler=cluster, partition_size=2, progress=False
    )
    report = run_index(options, out=log)
    return store, report, log.getvalue(), options


@pytest.mark.slow
def test_index_on_two_workers_equals_one_batch_run(indexed, corpus, engine, tmp_path):
    store, report, log, _ = indexed
    articles, _ = read_all(corpus)
    assert report.workers == 2 and len(report.peak_rss) <= 2 and report.articles == len(articles) == 9
    assert report.planned_partitions == report.partitions == 5 and report.failed == report.failed_partitions == 0
    assert report.skipped == 2 and "(id 'empty-1'): skipped: the text is empty" in log
    assert all(rss > 50e6 for rss in report.peak_rss.values())
    expected = batch_output(engine, articles, tmp_path)
    assert_store_equals_batch(store, expected)
    documents, mentions = store_tables(store)
    wire = next(d for d in documents if d["id"] == "wire-1")
    assert wire["focus_country"] == engine.parse(articles[0].text).focus.country_code
    assert wire["places"] == len(engine.parse(articles[0].text).places)
    assert wire["date"] == date(2024, 5, 3) and wire["title"] == "Border talks" and wire["source"] == "wire"
    doha = next(m for m in mentions if m["doc_id"] == "wire-1" and m["text"] == "Doha")
    assert articles[0].text[doha["sentence_start"] : doha["sentence_end"]].startswith("KABUL, May 3")


@pytest.mark.slow
def test_a_rerun_skips_finished_partitions_without_a_cluster(indexed, monkeypatch):
    import geo.archive.index as index

    store, first, _, options = indexed

    def refuse(*args, **kwargs):
        raise AssertionError("a rerun of a finished index started a cluster or a gazetteer build")

    monkeypatch.setattr(index, "_client", refuse)  # no cluster, no engine: the store says it is done
    monkeypatch.setattr(index, "ensure_gazetteer", refuse)
    again = index.run_index(options, out=io.StringIO())
    assert again.finished_before == first.partitions and again.partitions == again.articles == 0


@pytest.mark.slow
def test_a_store_of_other_sources_is_refused_unless_overwritten(indexed, tmp_path):
    from geo.archive.index import run_index
    from geo.archive.store import StoreError

    store, _, _, options = indexed
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    other = dataclasses.replace(options, store=copy, demonyms=True)
    with pytest.raises(StoreError, match="other sources or options"):
        run_index(other, out=io.StringIO())


KILL_ARTICLES = 60


def _many_articles(tmp_path: Path, prefix: str) -> Path:
    """A JSONL source of KILL_ARTICLES articles (the sample texts over and over, ids ``prefix0``, ``prefix1``...),
    enough partitions to stop a run part-way."""
    source = tmp_path / "many.jsonl"
    texts = [a["text"] for a in ARTICLES]
    source.write_text(
        "".join(json.dumps({"id": f"{prefix}{i}", "text": texts[i % len(texts)]}) + "\n" for i in range(KILL_ARTICLES)),
        encoding="utf-8",
    )
    return source


@pytest.mark.slow
def test_killed_mid_run_the_rerun_finishes_the_store(cache_dir, cluster, engine, tmp_path):
    """Kill ``geo index`` once some partitions are written; the same command finishes the store."""
    from geo.archive.index import IndexOptions, run_index

    source = _many_articles(tmp_path, "k")
    store = tmp_path / "store"
    command = [sys.executable, "-m", "geo", "--cache-dir", str(cache_dir), "index", str(source), "-o", str(store),
               "--scheduler", cluster, "--partition-size", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while len(list((store / "documents").glob("part-*.parquet"))) < 2:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no partition written in time"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # like a crash: no clean-up at all
        process.wait(timeout=60)
    finished = len(list((store / "documents").glob("part-*.parquet")))
    assert 2 <= finished < KILL_ARTICLES

    options = IndexOptions(sources=(source,), store=store, cache_dir=cache_dir, scheduler=cluster, partition_size=1,
                           progress=False)
    report = run_index(options, out=io.StringIO())
    assert report.finished_before >= finished and report.finished_before + report.partitions == KILL_ARTICLES
    assert not list(store.rglob("*.tmp"))
    articles, _ = read_all([source])
    assert_store_equals_batch(store, batch_output(engine, articles, tmp_path))


# -- DuckDB ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_places_by_number_of_articles(indexed):
    from geo.archive.query import Filters, top_places

    store = indexed[0]
    _, mentions = store_tables(store)
    named = {(m["doc_id"], m["name"]) for m in mentions if m["name"] and not m["approximate"]}
    counted = Counter(name for _, name in named)
    rows = top_places(store, limit=100).dicts()
    assert {r["place"]: r["articles"] for r in rows} == dict(counted)
    assert rows[0]["place"] in ("Islamabad", "Karachi") and rows[0]["articles"] == 2
    assert [r["articles"] for r in rows] == sorted((r["articles"] for r in rows), reverse=True)
    pakistan = top_places(store, Filters(country="pk"), limit=100).dicts()
    assert {r["place"] for r in pakistan} == {"Islamabad", "Karachi", "Lahore"}
    june = top_places(store, Filters(date_from=date(2024, 6, 1), date_to=date(2024, 6, 30)), limit=100).dicts()
    assert {"Karachi", "Nairobi"} <= {r["place"] for r in june} and "Paris" not in {r["place"] for r in june}


@pytest.mark.slow
def test_articles_naming_a_place_newest_first_with_their_sentence(indexed):
    from geo.archive.query import Filters, articles_naming

    store = indexed[0]
    rows = articles_naming(store, "karachi").dicts()
    assert [r["id"] for r in rows] == ["wire-3", "wire-2"]
    assert rows[0]["mentions"] == 2 and rows[0]["sentence"].startswith("Karachi port reopened")
    assert rows[1]["sentence"] == "Floods hit Karachi and Lahore."
    islamabad = articles_naming(store, "Islamabad").dicts()
    assert [r["id"] for r in islamabad] == ["wire-2", "wire-1"]
    by_id = articles_naming(store, str(top_places_id(store, "Islamabad"))).dicts()
    assert [r["id"] for r in by_id] == ["wire-2", "wire-1"]
    assert [r["id"] for r in articles_naming(store, "Islamabad", Filters(date_to=date(2024, 5, 31))).dicts()] == [
        "wire-1"
    ]


def top_places_id(store: Path, name: str) -> int:
    from geo.archive.query import top_places

    return next(r["geonameid"] for r in top_places(store, limit=100).dicts() if r["place"] == name)


@pytest.mark.slow
def test_places_per_month_and_the_query_command(indexed):
    from geo.archive.query import places_per_month

    store = indexed[0]
    rows = places_per_month(store, "Karachi").dicts()
    assert [(r["month"], r["articles"]) for r in rows] == [("2024-06", 2)]
    months = {r["month"] for r in places_per_month(store, per_month=2).dicts()}
    assert months == {"2024-05", "2024-06", "2024-07"}  # undated articles have no month

    done = run_cli("query", str(store), "places", "--format", "geojson", "--limit", "3")
    assert done.returncode == 0, done.stderr
    features = json.loads(done.stdout)["features"]
    assert len(features) == 3 and features[0]["geometry"]["type"] == "Point"
    assert features[0]["properties"]["articles"] == 2
    done = run_cli("query", str(store), "articles", "Karachi", "--format", "csv")
    assert done.stdout.splitlines()[0] == "id,date,title,source,url,mentions,sentence"
    assert run_cli("query", str(store), "months", "--country", "PK").stdout.splitlines()[0].split()[0] == "month"
    assert run_cli("query", str(store), "sql", "SELECT count(*) AS n FROM documents").stdout.split() == ["n", "9"]
    for args, code in ((["articles", "Karachi", "--format", "geojson"], 4), (["sql", "SELECT nonsense"], 4),
                       (["places", "--from", "June"], 2)):
        done = run_cli("query", str(store), *args)
        assert done.returncode == code and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)


@pytest.mark.slow
def test_a_killed_workers_partitions_are_redone(cache_dir, cluster, engine, tmp_path):
    """SIGKILL one worker process mid-run: Dask reruns its partition elsewhere and the store is whole.

    Last in the module: the nanny restarts the worker, which loads the engine again.
    """
    from concurrent.futures import ThreadPoolExecutor

    from distributed import Client

    from geo.archive.index import IndexOptions, run_index

    source = _many_articles(tmp_path, "w")
    store = tmp_path / "store"
    with Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
    options = IndexOptions(sources=(source,), store=store, cache_dir=cache_dir, scheduler=cluster, partition_size=2,
                           progress=False)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_index, options, io.StringIO())
        deadline = time.monotonic() + 120
        while len(list((store / "documents").glob("part-*.parquet"))) < 2:
            assert not running.done(), running.result()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(pids[0], signal.SIGKILL)
        report = running.result(timeout=300)
    assert report.partitions == KILL_ARTICLES // 2 and report.failed_partitions == 0
    articles, _ = read_all([source])
    assert_store_equals_batch(store, batch_output(engine, articles, tmp_path))
