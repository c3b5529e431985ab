"""``python -m geo index``: geoparse an archive on dask.distributed into a Parquet store.

The driver reads the sources twice: once to plan (name every partition by a digest of its articles,
count what is left to do, report bad input), once to submit the unfinished partitions, a few per worker at
a time, so memory stays bounded however large the archive. Each worker loads the engine once (through
:class:`EnginePlugin`) and runs a partition through :func:`geo.batch.process_records`, the code behind
``geo batch``; the driver writes each finished partition to the store. Tasks are pure and keyed by
partition name, so Dask reruns the partitions of a worker that dies, and rerunning the command skips
the partitions already in the store.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from geo.archive.sources import Article, Skipped, check_sources, read_articles
from geo.archive.store import FORMAT, PartitionTables, Store, StoreError, partition_name, partition_tables
from geo.batch import engine_from_options, ensure_gazetteer, process_records, progress_bar

if TYPE_CHECKING:
    from geo import Engine

PLUGIN_NAME = "dateline-engine"
DEFAULT_PARTITION_SIZE = 200


class ClusterError(RuntimeError):
    """The Dask cluster cannot be started or reached (one line; the CLI's exit code 5)."""


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """What ``python -m geo index`` was asked to do."""

    sources: tuple[Path, ...]
    store: Path
    cache_dir: Path | None = None
    workers: int | None = None  # local worker processes; default one per core
    scheduler: str | None = None  # address of an existing cluster instead of a LocalCluster
    partition_size: int = DEFAULT_PARTITION_SIZE
    batch_size: int = 32
    demonyms: bool = False
    text_column: str = "text"
    overwrite: bool = False  # drop partitions of other sources or options instead of refusing
    progress: bool = True

    def settings(self) -> dict[str, Any]:
        """The options that change results: part of every partition's digest."""
        return {"format": FORMAT, "demonyms": self.demonyms}


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What a worker needs to load the engine and run a partition (sent with every task)."""

    cache_dir: str | None
    demonyms: bool
    batch_size: int


@dataclass(frozen=True, slots=True)
class PartitionOutcome:
    """A partition done on a worker: its tables, the articles that failed, and the worker's memory."""

    name: str
    tables: PartitionTables
    failed: tuple[tuple[str, str], ...]  # (article id, one-line error)
    worker: str
    rss: int  # the worker's resident memory after the partition, bytes
    peak_rss: int
    seconds: float
    cpu_seconds: float  # the worker process's CPU time during the partition (all its threads)


@dataclass(slots=True)
class IndexReport:
    """What a run did, for the summary line and the benchmark."""

    planned_partitions: int = 0
    finished_before: int = 0
    partitions: int = 0  # written by this run
    failed_partitions: int = 0
    articles: int = 0  # geoparsed by this run
    chars: int = 0
    skipped: int = 0  # bad input items
    failed: int = 0  # articles whose geoparsing raised
    seconds: float = 0.0
    busy_seconds: float = 0.0  # the workers' time inside partitions (seconds x workers - this = overhead)
    cpu_seconds: float = 0.0  # the workers' CPU time inside partitions (less sensitive to a busy machine)
    workers: int = 0
    peak_rss: dict[str, int] = field(default_factory=dict)  # per worker
    rss_samples: list[tuple[str, int, int]] = field(default_factory=list)  # (worker, articles done there, rss)

    def summary(self) -> str:
        rate = self.articles / self.seconds if self.seconds else 0.0
        return (
            f"{self.articles} articles in {self.partitions} partitions in {self.seconds:.1f} s ({rate:.1f}/s) "
            f"on {self.workers} workers; {self.finished_before} partitions already done; "
            f"{self.skipped} bad input items skipped; {self.failed} articles failed"
            + (f"; {self.failed_partitions} partitions failed (rerun to retry them)" if self.failed_partitions else "")
        )


# -- the worker side ------------------------------------------------------------------------------


class EnginePlugin(WorkerPlugin):
    """A Dask worker plugin holding the worker's engine, loaded once on first use and shared by its tasks.

    Loading happens in the first task's thread rather than in ``setup`` (which runs on the worker's event
    loop), so a slow gazetteer open never stalls the worker's heartbeats. The plugin is idempotent and named
    after its cache folder: on a long-lived cluster (``--scheduler``) later runs reuse the loaded engines.
    """

    idempotent = True

    def __init__(self, cache_dir: str | None) -> None:
        self.cache_dir = cache_dir
        self.name = plugin_name(cache_dir)
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"cache_dir": self.cache_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["cache_dir"])

    def teardown(self, worker: Any) -> None:
        self._engine = None

    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = engine_from_options(Path(self.cache_dir) if self.cache_dir else None)
            return self._engine


def plugin_name(cache_dir: str | None) -> str:
    return f"{PLUGIN_NAME}:{cache_dir or ''}"


_LOCAL_PLUGINS: dict[str | None, EnginePlugin] = {}


def _plugin(settings: WorkerSettings) -> tuple[EnginePlugin, str]:
    """This worker's engine plugin and address (outside a worker: one per process, for tests and tools)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        worker = None
    name = plugin_name(settings.cache_dir)
    if worker is not None and name in worker.plugins:
        return worker.plugins[name], str(worker.address)
    return _LOCAL_PLUGINS.setdefault(settings.cache_dir, EnginePlugin(settings.cache_dir)), f"pid {os.getpid()}"


def geoparse_partition(name: str, articles: Sequence[Article], settings: WorkerSettings) -> PartitionOutcome:
    """Geoparse one partition with this worker's engine (a pure task: the same input gives the same tables)."""
    started, cpu = time.perf_counter(), time.process_time()
    plugin, worker = _plugin(settings)
    engine = plugin.engine()
    failed: list[tuple[str, str]] = []
    lines = list(
        process_records(
            engine,
            (a.as_record() for a in articles),
            demonyms=settings.demonyms,
            batch_size=settings.batch_size,
            on_error=lambda record, exc: failed.append((record["id"], _one_line(exc))),
            details=True,
        )
    )
    return PartitionOutcome(
        name=name,
        tables=partition_tables(name, articles, lines),
        failed=tuple(failed),
        worker=worker,
        rss=_rss(),
        peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
    )


def _rss() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the driver -----------------------------------------------------------------------------------


def partitions(options: IndexOptions, on_skip: Callable[[Skipped], None]) -> Iterator[tuple[str, list[Article]]]:
    """(name, articles) of every partition, in source order; bad items and repeated ids go to ``on_skip``."""
    seen: set[str] = set()
    chunk: list[Article] = []
    index = 0
    settings = options.settings()
    for item in read_articles(options.sources, options.text_column):
        if isinstance(item, Skipped):
            on_skip(item)
            continue
        if item.id in seen:
            on_skip(Skipped("input", item.id, "repeated id (the first article with it is kept)"))
            continue
        seen.add(item.id)
        chunk.append(item)
        if len(chunk) == options.partition_size:
            yield partition_name(index, chunk, settings), chunk
            index, chunk = index + 1, []
    if chunk:
        yield partition_name(index, chunk, settings), chunk


def local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` single-threaded worker processes (spaCy is fastest one process per core).

    Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also switches off glibc's adaptive mmap
    threshold: spaCy then maps and unmaps its arrays on every batch, about 10 % slower here for ~100 MB less
    RSS per worker. The engine bounds its own memory (spaCy memory zones), so workers keep glibc's default
    (a value set in the environment still wins).

    The workers' statistical profiler is off: it feeds the dashboard (off here too) and keeps a call tree per
    second of work for the last 1,000 seconds, which grew a worker by about 10 MB per 1,000 articles
    (``bench/scale.py``) and samples every thread's stack every 10 ms.
    """
    import dask
    from distributed import LocalCluster

    settings = {
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(settings):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )


@contextmanager
def _client(options: IndexOptions) -> Iterator[Any]:
    """A Dask client: on the given scheduler, or on a LocalCluster of single-threaded worker processes."""
    from distributed import Client

    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {options.scheduler}: {_one_line(exc)}") from exc
        with client:
            yield client
        return
    try:
        cluster = local_cluster(options.workers or os.cpu_count() or 1)
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise ClusterError(f"cannot start local Dask workers: {_one_line(exc)}") from exc
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def run_index(options: IndexOptions, out: IO[str] | None = None) -> IndexReport:
    """Index ``options.sources`` into ``options.store``; bad input and failing articles are reported, skipped."""
    out = out or sys.stderr
    if options.partition_size < 1 or options.batch_size < 1 or (options.workers is not None and options.workers < 1):
        raise StoreError("--partition-size, --batch-size and --workers must be at least 1")
    check_sources(options.sources, options.text_column)
    store = Store(options.store)
    store.create(options.settings())
    report = IndexReport()

    def skipped(item: Skipped) -> None:
        report.skipped += 1
        print(item.message(), file=out)

    planned: dict[str, int] = {name: len(articles) for name, articles in partitions(options, skipped)}
    report.planned_partitions = len(planned)
    finished = store.finished()
    stale = finished - planned.keys()
    if stale and not options.overwrite:
        raise StoreError(
            f"{options.store} holds {len(stale)} partitions of other sources or options; "
            "choose another -o, or pass --overwrite to replace them"
        )
    for name in stale:
        store.remove(name)
    pending = {name for name in planned if name not in finished}
    report.finished_before = len(planned) - len(pending)
    if not pending:
        return report
    if not options.scheduler:  # local workers share this cache folder: build a missing gazetteer once, here
        ensure_gazetteer(options.cache_dir, progress_bar() if options.progress else None)
    started = time.perf_counter()
    with _client(options) as client:
        report.workers = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        _run(client, options, store, pending, sum(planned[n] for n in pending), report, out)
    report.seconds = time.perf_counter() - started
    return report


def _run(
    client: Any, options: IndexOptions, store: Store, pending: set[str], total: int, report: IndexReport, out: IO[str]
) -> None:
    from distributed import wait
    from tqdm import tqdm

    settings = WorkerSettings(
        cache_dir=str(options.cache_dir) if options.cache_dir else None,
        demonyms=options.demonyms,
        batch_size=options.batch_size,
    )
    try:
        plugin = EnginePlugin(settings.cache_dir)
        client.register_plugin(plugin, name=plugin.name)
    except Exception as exc:  # the plugin is plain Python; a failure here is the cluster's
        raise ClusterError(f"cannot set up the Dask workers: {_one_line(exc)}") from exc
    limit = max(2, 2 * max(report.workers, 1))  # a few partitions per worker: bounded driver memory
    done_per_worker: dict[str, int] = {}
    bar = tqdm(total=total, unit="article", desc="Indexing", file=out, disable=not options.progress, smoothing=0.05)

    def collect(future: Any) -> None:
        try:
            outcome: PartitionOutcome = future.result()
        except Exception as exc:
            from geo.batch import EngineStartError

            if isinstance(exc, EngineStartError):
                raise
            report.failed_partitions += 1
            bar.write(f"partition {future.key.removeprefix('dateline-')} failed: {_one_line(exc)}", file=out)
            return
        finally:
            future.release()
        store.write(outcome.name, outcome.tables)
        for article_id, message in outcome.failed:
            bar.write(f"document {article_id!r} failed: {message}", file=out)
        documents = outcome.tables.documents
        report.partitions += 1
        report.articles += documents.num_rows
        report.failed += len(outcome.failed)
        report.chars += sum(documents.column("chars").to_pylist())
        report.busy_seconds += outcome.seconds
        report.cpu_seconds += outcome.cpu_seconds
        report.peak_rss[outcome.worker] = max(report.peak_rss.get(outcome.worker, 0), outcome.peak_rss)
        done_per_worker[outcome.worker] = done_per_worker.get(outcome.worker, 0) + documents.num_rows
        report.rss_samples.append((outcome.worker, done_per_worker[outcome.worker], outcome.rss))
        bar.update(documents.num_rows + len(outcome.failed))

    in_flight: set[Any] = set()
    try:
        for name, articles in partitions(options, lambda item: None):
            if name not in pending:
                continue
            in_flight.add(client.submit(geoparse_partition, name, articles, settings, key=f"dateline-{name}"))
            while len(in_flight) >= limit:
                done, in_flight = wait(in_flight, return_when="FIRST_COMPLETED")
                for future in done:
                    collect(future)
        while in_flight:
            done, in_flight = wait(in_flight, return_when="FIRST_COMPLETED")
            for future in done:
                collect(future)
    finally:
        for future in in_flight:
            future.cancel()
        bar.close()
