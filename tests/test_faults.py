"""Reliability under load and faults: the stores, failing geocoders, one Engine shared by many threads.

Faults are injected for real where the machine allows it: writers killed with SIGKILL in the middle
of a transaction, files cut short or overwritten, a size-limited tmpfs filled up, a tmpfs remounted
read-only. Where mounting is not allowed (not root), the disk faults are simulated inside SQLite
(``max_page_count`` for a full disk, ``mode=ro`` connections for a read-only directory) and the
test id says "simulated". Nothing leaves this machine: host names go to a stub that knows only
localhost, and conftest refuses any other connection.

Figures for the closing note are printed with a ``[faults]`` prefix (run with ``-s`` to see them).
"""

from __future__ import annotations

import errno
import functools
import gc
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest

from geo import recognize
from geo.cache import CorrectionStore, GeocodeCache, StoreError, _identity, _SQLiteStore
from geo.geocoders import CandidateSource, online_geocoder
from geo.model import Candidate, Feature, Result
from geo.names import normalize
from geo.pipeline import Engine
from geo.recognize import SPAN_KEY
from tests import fake_geocoder
from tests.fake_geocoder import FakeNominatim
from tests.workers import PROCESSES, THREADS, WRITES, _committer, _load_worker, _open_corrupt

DOHA = Candidate(geonameid=290030, name="Doha", lat=25.28545, lon=51.53096, feature=Feature.CITY, country_code="QA")
SPAWN = mp.get_context("spawn")  # fresh interpreters: no SQLite handle is carried across fork


def figure(text: str) -> None:
    print(f"[faults] {text}")


@pytest.fixture(autouse=True)
def _local_dns_only(monkeypatch):
    """Resolve only local names; anything else fails here, before a packet is sent (dead DNS, for free)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def stub(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        asked.append(name)
        if host is None or name == "localhost" or name.startswith("127.") or name == "::1":
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {name}")

    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return asked


# --------------------------------------------------------------------------- helpers: files and disks


def _fill(directory: Path, rows: int = 200) -> None:
    """A geocode cache with ``rows`` answers and three corrections, closed (checkpointed) afterwards."""
    cache = GeocodeCache(directory / "geocode.sqlite3")
    cache.put_many("offline", {f"place {i}": [DOHA] * 3 for i in range(rows)})
    corrections = CorrectionStore(directory / "corrections.sqlite3")
    for name in ("Doha", "Kabul", "Chaman"):
        corrections.set(name, "AF", DOHA)
    cache.close()
    corrections.close()


def _quick_check(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        con.close()


def _run(*cmd: str) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@contextmanager
def tmpfs(where: Path, size_kb: int) -> Iterator[bool]:
    """A size-limited tmpfs at ``where`` if this machine lets us mount one (True), else a plain dir (False)."""
    where.mkdir(parents=True, exist_ok=True)
    can_mount = os.geteuid() == 0 and shutil.which("mount") is not None
    if not can_mount or not _run("mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)):
        yield False
        return
    try:
        yield True
    finally:
        gc.collect()  # drop stray SQLite handles so the unmount is not busy
        if not _run("umount", str(where)):
            _run("umount", "-l", str(where))


def _link_gazetteer(gazetteer, directory: Path) -> None:
    """An engine directory that shares the session's gazetteer (read-only, never written)."""
    (directory / "gazetteer.sqlite3").symlink_to(gazetteer.path)


@contextmanager
def small_cache_dir(tmp_path: Path, gazetteer, real: bool, size_kb: int) -> Iterator[Path]:
    """A cache/ with the session's gazetteer and 20 cached answers: on a tmpfs of ``size_kb`` if ``real``
    (skipped where nothing can be mounted), else in plain ``tmp_path`` for the simulated variant."""
    with tmpfs(tmp_path / "fs", size_kb) as mounted:
        if real and not mounted:
            pytest.skip("cannot mount a tmpfs here (not root?): the simulated variant covers this")
        directory = tmp_path / "fs"
        _link_gazetteer(gazetteer, directory)
        _fill(directory, rows=20)
        yield directory


def _one_line(problem: object) -> str:
    """The message, checked to fit one line of the UI."""
    text = str(problem)
    assert text and "\n" not in text and len(text) < 300, text
    return text


# --------------------------------------------------------------------------- many writers




@pytest.mark.slow  # spawns processes
def test_many_processes_and_threads_write_without_locks_or_losses(tmp_path, gazetteer):
    barrier, results = SPAWN.Barrier(PROCESSES), SPAWN.Queue()
    args = (str(tmp_path), str(gazetteer.path))
    procs = [SPAWN.Process(target=_load_worker, args=(*args, w, barrier, results)) for w in range(PROCESSES)]
    started = time.monotonic()
    for p in procs:
        p.start()
    reports = [results.get(timeout=150) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    elapsed = time.monotonic() - started
    problems = [r for r in reports if r[1] or r[2] or r[3]]
    assert not problems, problems[0]  # no "database is locked", no store switched off
    geocoded = GeocodeCache(tmp_path / "geocode.sqlite3").count()
    corrected = len(CorrectionStore(tmp_path / "corrections.sqlite3").all())
    attempted = PROCESSES * WRITES
    figure(
        f"concurrency: {PROCESSES} processes x {THREADS} threads, {attempted} writes attempted "
        f"({attempted // 2} geocode, {attempted // 2} corrections), kept {geocoded} + {corrected}, {elapsed:.1f}s"
    )
    assert (geocoded, corrected) == (attempted // 2, attempted // 2)


# --------------------------------------------------------------------------- kill -9


KILL_ROUNDS = 6


@pytest.mark.slow  # spawns processes
def test_writer_killed_mid_write_leaves_stores_readable_and_corrections_kept(tmp_path):
    rng = random.Random(20240611)
    reported: list[int] = []
    in_write = 0
    for round_ in range(KILL_ROUNDS):
        receiver, sender = SPAWN.Pipe(duplex=False)
        writing = SPAWN.Value("b", 0, lock=False)
        proc = SPAWN.Process(target=_committer, args=(str(tmp_path), round_ * 100_000, sender, writing))
        proc.start()
        sender.close()
        wanted, got = rng.randint(3, 30), []
        while len(got) < wanted:
            assert receiver.poll(60), "the writer stopped writing"
            got.append(receiver.recv())
        time.sleep(rng.uniform(0.0, 0.01))  # land somewhere inside the next transaction
        in_write += writing.value
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        assert proc.exitcode == -signal.SIGKILL
        while True:  # whatever it reported before dying
            try:
                if not receiver.poll(0.2):
                    break
                got.append(receiver.recv())
            except (EOFError, OSError):
                break
        reported += got

        corrections = CorrectionStore(tmp_path / "corrections.sqlite3")
        cache = GeocodeCache(tmp_path / "geocode.sqlite3")
        assert corrections.problem is None and cache.problem is None
        stored = {c.name for c in corrections.all()}
        assert {f"kept {i}" for i in reported} <= stored  # every committed correction is kept
        assert cache.count() >= 200 * len(reported)
        assert cache.get("offline", f"bulk {reported[-1]} 199") == [DOHA] * 5
        corrections.close()
        cache.close()
    assert _quick_check(tmp_path / "geocode.sqlite3") == "ok"
    assert _quick_check(tmp_path / "corrections.sqlite3") == "ok"
    assert not list(tmp_path.glob("*.corrupt-*"))  # a killed writer is not corruption
    figure(
        f"kill -9: {KILL_ROUNDS} writers killed ({in_write} inside a write), "
        f"{len(reported)} committed corrections reported, all kept, no file set aside"
    )


# --------------------------------------------------------------------------- corrupt files


def _damage(path: Path, how: str) -> bytes:
    data = path.read_bytes()
    page = 4096
    if how == "garbage":
        damaged = b"this is not sqlite" * 200
    elif how == "cut-in-header":
        damaged = data[:60]
    elif how == "cut-in-half":
        damaged = data[: len(data) // 2]
    elif how == "pages-overwritten":
        end = min(len(data), page * 6)  # pages 2 to 6 (or to the end): the tables, not the header
        assert end > page
        damaged = data[:page] + random.Random(7).randbytes(end - page) + data[end:]
    else:
        raise ValueError(how)
    path.write_bytes(damaged)
    return damaged


def _asides(directory: Path, name: str) -> list[Path]:
    """The set-aside copies of a store (their -wal and -shm go with them)."""
    return [p for p in directory.glob(f"{name}.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]


DAMAGE = ["garbage", "cut-in-header", "cut-in-half", "pages-overwritten"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_geocode_cache_is_set_aside_and_rebuilt_corrections_survive(tmp_path, how):
    _fill(tmp_path)
    damaged = _damage(tmp_path / "geocode.sqlite3", how)
    cache = GeocodeCache(tmp_path / "geocode.sqlite3")
    assert cache.problem is None  # the geocode cache is rebuildable: rebuilt without fuss
    assert cache.count() == 0
    cache.put("offline", "Doha", [DOHA])
    assert cache.get("offline", "Doha") == [DOHA]
    (aside,) = _asides(tmp_path, "geocode.sqlite3")
    assert aside.read_bytes() == damaged  # set aside, never deleted
    corrections = CorrectionStore(tmp_path / "corrections.sqlite3")
    assert corrections.problem is None
    assert {c.name for c in corrections.all()} == {"Doha", "Kabul", "Chaman"}
    assert not list(tmp_path.glob("corrections.sqlite3.corrupt-*"))


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_corrections_are_set_aside_with_a_message(tmp_path, how, caplog):
    _fill(tmp_path)
    damaged = _damage(tmp_path / "corrections.sqlite3", how)
    corrections = CorrectionStore(tmp_path / "corrections.sqlite3")
    (aside,) = _asides(tmp_path, "corrections.sqlite3")
    assert aside.read_bytes() == damaged  # the user's work is never deleted
    message = _one_line(corrections.problem)  # shown by the app, not only logged
    assert aside.name in message and "corrections" in message
    assert any(aside.name in r.getMessage() for r in caplog.records)
    corrections.set("Kabul", "AF", DOHA)  # and new corrections are saved again
    assert corrections.get("Kabul", "AF").candidate == DOHA
    assert GeocodeCache(tmp_path / "geocode.sqlite3").count() == 200  # the other store is untouched


@pytest.mark.slow  # spawns processes
def test_corrupt_corrections_opened_by_many_processes_at_once(tmp_path):
    workers = 6
    _fill(tmp_path)
    damaged = _damage(tmp_path / "corrections.sqlite3", "garbage")
    barrier, results = SPAWN.Barrier(workers), SPAWN.Queue()
    procs = [SPAWN.Process(target=_open_corrupt, args=(str(tmp_path), w, barrier, results)) for w in range(workers)]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in results.get(timeout=120)]
    for p in procs:
        p.join(30)
    assert not errors, errors[0]
    asides = _asides(tmp_path, "corrections.sqlite3")
    assert [a.read_bytes() for a in asides] == [damaged]  # set aside once; a fresh store is never taken for corrupt
    assert len(CorrectionStore(tmp_path / "corrections.sqlite3").all()) == workers * 20
    figure(f"corrupt corrections opened by {workers} processes at once: 1 set aside, {workers * 20} writes kept")


def _hold_first_connect(monkeypatch, thread: str) -> tuple[threading.Event, threading.Event]:
    """Stop the named thread's first ``sqlite3.connect`` right after it opens the file, before any read.

    Returns (held, release): ``held`` is set once the thread is stopped there; ``release`` lets it go on.
    """
    held, release = threading.Event(), threading.Event()
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        if threading.current_thread().name == thread and not held.is_set():
            held.set()
            release.wait(10)
        return con

    monkeypatch.setattr(sqlite3, "connect", connect)
    return held, release


def test_a_store_is_not_set_aside_between_another_openers_connect_and_check(tmp_path, monkeypatch):
    """The race behind a set-aside copy that held a fresh store's pages, made to happen every time.

    B opens the damaged file and is held before reading it; A finds the same file damaged. If A could move it
    and start afresh now, B's connection (to the moved file) would read and checkpoint the fresh store's
    -wal, which SQLite finds by path. A must wait until B has finished its check.
    """
    path = tmp_path / "corrections.sqlite3"
    _fill(tmp_path)
    damaged = _damage(path, "garbage")
    held, release = _hold_first_connect(monkeypatch, "B")
    stores: dict[str, CorrectionStore] = {}

    def open_as(name: str) -> None:
        stores[name] = CorrectionStore(path)
        for i in range(5):
            stores[name].set(f"{name} {i}", "AF", DOHA)

    b = threading.Thread(target=open_as, args=("B",), name="B")
    b.start()
    assert held.wait(10)
    a = threading.Thread(target=open_as, args=("A",), name="A")
    a.start()
    a.join(0.5)
    assert a.is_alive() and path.read_bytes() == damaged  # A waits; nothing moved under B
    release.set()
    a.join(30)
    b.join(30)
    assert set(stores) == {"A", "B"}
    assert [x.read_bytes() for x in _asides(tmp_path, path.name)] == [damaged]
    names = {c.name for c in CorrectionStore(path).all()}
    assert names == {f"{w} {i}" for w in "AB" for i in range(5)}


def test_a_store_is_not_set_aside_between_a_threads_new_connection_and_its_first_read(tmp_path, monkeypatch):
    """The same race for a connection a thread opens later: it must read (and open the -wal) before any move."""
    path = tmp_path / "corrections.sqlite3"
    _fill(tmp_path)
    store = CorrectionStore(path)
    damaged = _damage(path, "garbage")  # damaged while the app runs
    held, release = _hold_first_connect(monkeypatch, "C")
    seen: list[list] = []
    reader = threading.Thread(target=lambda: seen.append(store.all()), name="C")
    reader.start()
    assert held.wait(10)
    opener = threading.Thread(target=CorrectionStore, args=(path,), name="other")
    opener.start()
    opener.join(0.5)
    assert opener.is_alive() and path.read_bytes() == damaged  # no move while C's connection is unread
    release.set()
    reader.join(30)
    opener.join(30)
    assert seen == [[]] and store.problem and "cannot be read" in store.problem  # C read the damaged file
    assert [x.read_bytes() for x in _asides(tmp_path, path.name)] == [damaged]


def test_a_set_aside_moves_only_the_file_that_failed(tmp_path):
    """A store that found one file damaged and then waited must not move whatever file is there now."""
    path = tmp_path / "corrections.sqlite3"
    _fill(tmp_path)
    _damage(path, "garbage")
    store = CorrectionStore(path)  # sets the damaged file aside and starts afresh
    (aside,) = _asides(tmp_path, path.name)
    failed_then = _identity(aside)
    store.close()
    _damage(path, "garbage")  # the file there now fails the check too, but it is not the one that failed
    assert not store._set_aside(sqlite3.DatabaseError("file is not a database"), failed_then)
    assert _asides(tmp_path, path.name) == [aside]
    assert store._set_aside(sqlite3.DatabaseError("file is not a database"), _identity(path))
    assert len(_asides(tmp_path, path.name)) == 2


@pytest.mark.slow  # starts a fresh engine
def test_engine_runs_on_a_corrupt_cache_and_keeps_corrections(tmp_path, gazetteer):
    _link_gazetteer(gazetteer, tmp_path)
    _fill(tmp_path)
    engine = Engine(tmp_path)
    text = "Officials met in Doha, then flew on."
    context = engine.parse(text).context
    engine.corrections.set("Doha", context, None)  # "not a place"
    engine.cache.close()
    engine.corrections.close()
    _damage(tmp_path / "geocode.sqlite3", "pages-overwritten")
    again = Engine(tmp_path)
    assert again.parse(text).place("Doha") is None  # the correction survived the rebuild
    assert again.cache.problem is None and again.cache.count() > 0  # rebuilt and caching again


# --------------------------------------------------------------------------- full disk, read-only cache/


def _simulate_full(*stores: _SQLiteStore) -> None:
    """No room left: SQLite may not grow the files beyond their present size (SQLITE_FULL)."""
    for store in stores:
        con = store._con()
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count={pages}")


def _fill_disk(directory: Path) -> None:
    """Take every free byte of the filesystem."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.mark.slow  # starts a fresh engine
@pytest.mark.parametrize("real", [True, False], ids=["tmpfs", "simulated"])
def test_disk_fills_up_while_running(tmp_path, gazetteer, real):
    with small_cache_dir(tmp_path, gazetteer, real, size_kb=1024) as directory:
        engine = Engine(directory)
        cache, corrections = engine.cache, engine.corrections
        if real:
            _fill_disk(directory)
        else:
            _simulate_full(cache, corrections)

        cache.put_many("offline", {f"more {i}": [DOHA] * 20 for i in range(500)})  # no exception...
        assert "full" in _one_line(cache.problem)  # ...but a reason
        assert cache.get("offline", "place 3") == [DOHA] * 3  # what is cached still serves
        big = Candidate(None, "Kandahar " * 2000, 31.6, 65.7, Feature.CITY, "AF")  # needs new pages
        with pytest.raises(StoreError) as caught:
            corrections.set("Kandahar", "AF", big)
        message = _one_line(caught.value)
        assert "not saved" in message and "full" in message
        assert corrections.get("Doha", "AF").candidate == DOHA  # the saved ones still apply
        assert {c.name for c in corrections.all()} == {"Doha", "Kabul", "Chaman"}
        assert engine.parse("Officials flew from Doha to Kabul on Friday.").places  # the app goes on
        if real:
            (directory / "filler").unlink()  # room again: corrections save without a restart
            corrections.set("Kandahar", "AF", DOHA)
            assert corrections.get("Kandahar", "AF") is not None
        cache.close()
        corrections.close()
        del engine, cache, corrections
        figure(f"disk full while running ({'tmpfs 1 MiB' if real else 'simulated max_page_count'}): survived")


@pytest.mark.slow  # starts a fresh engine
def test_restart_on_a_full_disk_sets_nothing_aside(tmp_path, gazetteer):
    with tmpfs(tmp_path / "fs", 1024) as mounted:
        if not mounted:
            pytest.skip("cannot mount a tmpfs here (not root?)")
        directory = tmp_path / "fs"
        _link_gazetteer(gazetteer, directory)
        _fill(directory, rows=20)
        _fill_disk(directory)
        engine = Engine(directory)  # no room even for SQLite's -shm file
        assert engine.parse("Officials flew from Doha to Kabul on Friday.").places
        assert "full" in _one_line(engine.cache.problem) and "full" in _one_line(engine.corrections.problem)
        assert engine.corrections.get("Doha", "AF") is not None  # saved corrections still apply (read-only)
        assert not list(directory.glob("*.corrupt-*"))  # a full disk is not corruption
        engine.cache.close()
        engine.corrections.close()
        del engine
        (directory / "filler").unlink()  # room again: every correction is still there
        corrections = CorrectionStore(directory / "corrections.sqlite3")
        corrections.set("Kandahar", "AF", DOHA)
        assert {c.name for c in corrections.all()} == {"Doha", "Kabul", "Chaman", "Kandahar"}
        corrections.close()
        figure("restart on a full disk (tmpfs 1 MiB): nothing set aside, all corrections kept")


def _readonly_connect(real_connect, database, *args, uri: bool = False, **kwargs):
    """sqlite3.connect, but every plain path is opened ``mode=ro`` (a read-only cache/ without mounting)."""
    if not uri and str(database) != ":memory:":
        database, uri = f"file:{quote(str(database))}?mode=ro", True
    return real_connect(database, *args, uri=uri, **kwargs)


@pytest.mark.slow  # starts a fresh engine
@pytest.mark.parametrize("real", [True, False], ids=["tmpfs-remounted-ro", "simulated-mode-ro"])
def test_read_only_cache_dir(tmp_path, gazetteer, real, monkeypatch):
    with small_cache_dir(tmp_path, gazetteer, real, size_kb=4096) as directory:
        engine = Engine(directory)
        text = "Officials met in Doha, then flew on."
        context = engine.parse(text).context
        engine.corrections.set("Doha", context, None)  # "not a place", saved while writable
        engine.cache.close()
        engine.corrections.close()
        del engine
        gc.collect()
        if real:
            assert _run("mount", "-o", "remount,ro", str(directory)), "remount read-only failed"
            with pytest.raises(OSError):
                (directory / "probe").write_text("x")  # really read-only, even for root
        else:
            monkeypatch.setattr(sqlite3, "connect", functools.partial(_readonly_connect, sqlite3.connect))

        cache = GeocodeCache(directory / "geocode.sqlite3")
        assert "read-only" in _one_line(cache.problem)
        assert cache.get("offline", "place 3") == [DOHA] * 3  # existing answers still serve
        cache.put("offline", "Kabul", [DOHA])  # skipped quietly
        corrections = CorrectionStore(directory / "corrections.sqlite3")
        assert "read-only" in _one_line(corrections.problem)
        with pytest.raises(StoreError) as caught:
            corrections.set("Kabul", "AF", DOHA)
        assert "not saved" in _one_line(caught.value)

        engine = Engine(directory)  # the app still runs, without caching, with the saved corrections
        result = engine.parse(text)
        assert result.place("Doha") is None
        assert engine.parse("Officials flew to Kabul.").place("Kabul") is not None
        for store in (cache, corrections, engine.cache, engine.corrections):
            store.close()
        del engine
        figure(f"read-only cache/ ({'tmpfs remounted ro' if real else 'simulated sqlite mode=ro'}): app ran")


# --------------------------------------------------------------------------- failing geocoders


def _source(gazetteer, tmp_path: Path, domain: str, **options) -> tuple[CandidateSource, GeocodeCache]:
    cache = GeocodeCache(tmp_path / "geocode.sqlite3")
    geocoder = online_geocoder("nominatim", domain=domain, scheme="http", timeout=options.pop("timeout", 0.5))
    return CandidateSource(gazetteer, cache, geocoder, **{"min_delay": 0.0, "error_wait": 0.01, **options}), cache


def test_defaults_follow_the_nominatim_policy(gazetteer):
    source = CandidateSource(gazetteer, None, online_geocoder("nominatim", domain="127.0.0.1:9", scheme="http"))
    assert source._rate_limited.min_delay_seconds >= 1.0  # at most one request a second
    assert source._rate_limited.max_retries <= 2 and source._rate_limited.error_wait_seconds >= 1.0


def test_dead_dns_falls_back_without_traffic(gazetteer, tmp_path, _local_dns_only):
    source, cache = _source(gazetteer, tmp_path, "nominatim.invalid", max_retries=2)
    answers, notices = source.candidates_many(["Doha", "Kabul"])
    assert len(notices) == 1 and "offline gazetteer" in notices[0]
    assert answers["Doha"][0].source == "gazetteer" and answers["Kabul"][0].country_code == "AF"
    assert cache.get("nominatim", "Doha") is None and cache.get("nominatim", "Kabul") is None
    lookups = _local_dns_only.count("nominatim.invalid")
    figure(f"dead DNS: {lookups} lookup(s) of nominatim.invalid (max_retries=2), all answered locally")
    # A name that does not resolve is not retried (it will not resolve two seconds later either), and no
    # hidden retry sits behind the rate limiter; the next document does not ask at all for a while.
    assert lookups == 1
    _, again = source.candidates_many(["Chaman"])
    assert _local_dns_only.count("nominatim.invalid") == 1 and again == notices


@contextmanager
def _unanswered_port() -> Iterator[int]:
    """A local port whose listen queue is full: a new connection is never accepted (a host that drops packets)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = []
    for _ in range(3):  # the kernel accepts backlog + 1 connections on its own; the rest wait for nothing
        client = socket.socket()
        client.setblocking(False)
        with suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        queued.append(client)
    try:
        yield port
    finally:
        for sock in (*queued, server):
            sock.close()


@pytest.mark.parametrize("how", ["refused", "never answered"])
def test_unreachable_nominatim_switches_to_the_gazetteer_within_two_seconds(gazetteer, tmp_path, how):
    """The shipped defaults (timeout, retries, back-off), not test settings: one short notice per document,
    and the following documents do not wait for the service again."""
    with _unanswered_port() as silent:
        port = 9 if how == "refused" else silent  # nothing listens on the discard port
        geocoder = online_geocoder("nominatim", domain=f"127.0.0.1:{port}", scheme="http")
        source = CandidateSource(gazetteer, GeocodeCache(tmp_path / "geocode.sqlite3"), geocoder)
        started = time.monotonic()
        answers, notices = source.candidates_many(["Doha", "Kabul"])
        first = time.monotonic() - started
        started = time.monotonic()
        _, again = source.candidates_many(["Chaman", "Doha"])
        second = time.monotonic() - started
    figure(f"Nominatim {how}: offline after {first:.2f} s, next document {second:.2f} s")
    assert first < 2.0 and second < 0.5
    assert answers["Doha"][0].source == "gazetteer" and answers["Kabul"][0].country_code == "AF"
    assert notices == again == ["Nominatim could not be reached; places come from the offline gazetteer."]


def test_nominatim_is_asked_again_after_the_pause(gazetteer, tmp_path):
    with FakeNominatim() as fake:
        geocoder = online_geocoder("nominatim", domain="127.0.0.1:9", scheme="http")
        source = CandidateSource(gazetteer, None, geocoder, min_delay=0.0, unreachable_pause=0.2)
        _, notices = source.candidates_many(["Doha"])
        assert notices
        source.online.domain = fake.domain  # the service is back (here: at another address) ...
        source.online.api = f"http://{fake.domain}/search"
        _, notices = source.candidates_many(["Doha"])
        assert notices and fake.requests == []  # ... but not asked during the pause
        time.sleep(0.25)
        answers, notices = source.candidates_many(["Doha"])
        assert notices == [] and answers["Doha"][0].source == "nominatim" and fake.requests == ["Doha"]


def test_timeout_retries_with_back_off_then_falls_back(gazetteer, tmp_path):
    with FakeNominatim() as fake:
        fake.mode = "slow"  # answers after 2 s
        source, cache = _source(gazetteer, tmp_path, fake.domain, timeout=0.3, max_retries=2, error_wait=0.2)
        started = time.monotonic()
        answers, notices = source.candidates_many(["Doha", "Kabul"])
        elapsed = time.monotonic() - started
        figure(f"timeout: {len(fake.requests)} requests for 2 names (max_retries=2), {elapsed:.1f}s")
        assert fake.requests == ["Doha"] * 3  # 1 + 2 retries, then the rest of the document goes offline
        assert elapsed >= 2 * 0.2  # waited between attempts
        assert notices and "timed out" in notices[0].lower()
        assert answers["Kabul"][0].source == "gazetteer"
        assert cache.get("nominatim", "Doha") is None


def test_later_successful_call_is_cached(gazetteer, tmp_path):
    with FakeNominatim() as fake:
        fake.mode = "500"
        source, cache = _source(gazetteer, tmp_path, fake.domain, max_retries=1)
        _, notices = source.candidates_many(["Doha"])
        assert notices and cache.get("nominatim", "Doha") is None
        fake.mode = "ok"  # the service is back
        answers, notices = source.candidates_many(["Doha"])
        assert notices == [] and answers["Doha"][0].source == "nominatim"
        assert cache.get("nominatim", "Doha")[0].country_code == "QA"
        before = len(fake.requests)
        source.candidates_many(["Doha"])
        assert len(fake.requests) == before  # from the cache now


MALFORMED = {
    "list-of-strings": ["Doha"],
    "number": 5,
    "missing-lat": [{"lon": "51.5", "name": "Doha", "display_name": "Doha, Qatar"}],
    "no-coordinates": [{"name": "Doha", "display_name": "Doha, Qatar", "address": {"country_code": "qa"}}],
    "lat-not-a-number": [{"lat": "north", "lon": "51.5", "name": "Doha", "display_name": "Doha, Qatar"}],
}


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_malformed_answers_fall_back_and_are_not_cached(gazetteer, tmp_path, monkeypatch, shape):
    monkeypatch.setitem(fake_geocoder.PLACES, "doha", MALFORMED[shape])
    with FakeNominatim() as fake:
        source, cache = _source(gazetteer, tmp_path, fake.domain, max_retries=0)
        answers, notices = source.candidates_many(["Doha"])
        assert notices and "offline gazetteer" in notices[0]
        assert answers["Doha"][0].source == "gazetteer" and answers["Doha"][0].country_code == "QA"
        assert cache.get("nominatim", "Doha") is None


# --------------------------------------------------------------------------- many users, one Engine


ARTICLES = [
    "QUETTA, Pakistan - Clashes near Chaman closed the border crossing on Monday. Traders in Spin Boldak said "
    "trucks were stuck for hours. Officials in Kandahar blamed the heat. Nokia said its phones were not affected.",
    "Floods swept through Porto Alegre and Canoas in Rio Grande do Sul, Brazil, on Tuesday. Rescuers from Sao Paulo "
    "arrived by boat. Mobile networks were down across the state.",
    "NAIROBI, Kenya - Voters queued in Mombasa and Kisumu before dawn. Observers from Uganda and Tanzania said the "
    "count in Nakuru was calm. Reading the results took hours.",
    "Drones struck Kharkiv overnight, officials in Kyiv said. Ships left Odesa for Istanbul under escort. "
    "Poland and Romania raised their alert level.",
    "Bushfires burned across Gippsland in Victoria, Australia. Residents of Bairnsdale fled to Melbourne. "
    "Firefighters from New South Wales and Tasmania joined them.",
    "Tourists stranded in Cusco were flown to Lima after protests closed the airport in Arequipa. Bolivia shut "
    "its border near Puno. The trains to Machu Picchu stopped.",
    "HALIFAX, Nova Scotia - Storm Fiona knocked out power in Sydney and Moncton. Prince Edward Island and "
    "Newfoundland were hit too. Crews came from Ontario and Maine.",
    "Monsoon rains flooded Mumbai and Pune, and Kerala braced for more. Trains between Chennai and Bangalore were "
    "cancelled. The Indian Ocean was rough off Goa. Victoria Station in Mumbai closed.",
    "Snow closed the railway between Kiruna and Narvik. Tromso recorded its coldest day, Norway said. Travellers "
    "in Stockholm and Oslo waited. Helsinki and Finland escaped the worst; the town of Nokia was quiet.",
    "A tornado hit Paris, Texas, and Alexandria, Louisiana, on Sunday. Shreveport and Dallas sent crews. "
    "Mobile, Alabama, and Reading, Pennsylvania, sent aid. Jackson, Mississippi, was spared.",
]


def _signature(result: Result) -> tuple:
    """Everything a user sees of a result, comparable across runs."""
    return (
        tuple((m.start, m.end, m.text, m.kind, m.candidate.key if m.candidate else None) for m in result.mentions),
        tuple((p.key, p.count) for p in result.places),
        result.context,
        result.focus.key if result.focus else None,
        tuple(result.notices),
    )


def test_one_engine_shared_by_ten_threads_gives_sequential_results(engine):
    sequential = [_signature(engine.parse(text)) for text in ARTICLES]
    assert all(s[1] for s in sequential)  # every article has places
    rounds, mismatches = 4, []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        with ThreadPoolExecutor(len(ARTICLES)) as pool:
            for _ in range(rounds):
                barrier = threading.Barrier(len(ARTICLES))

                def parse(i: int, barrier: threading.Barrier = barrier) -> tuple[int, Result]:
                    barrier.wait(60)
                    return i, engine.parse(ARTICLES[i])

                for i, result in pool.map(parse, range(len(ARTICLES))):
                    assert all(result.text[m.start : m.end] == m.text for m in result.mentions)
                    if _signature(result) != sequential[i]:
                        mismatches.append((i, _signature(result), sequential[i]))
    finally:
        sys.setswitchinterval(interval)
    figure(f"shared engine: {rounds} rounds x {len(ARTICLES)} threads, {len(mismatches)} results differing")
    assert not mismatches, mismatches[0]


def _spans(nlp, text: str) -> list[tuple[str, int, str]]:
    doc = nlp(text)
    return [(s.text, s.start_char, s.label_) for s in doc.spans[SPAN_KEY]]


def test_recognition_keeps_no_document_state_between_threads(engine, monkeypatch):
    """The interleaving a thread switch can cause, forced: B is recognised while A is halfway through.

    "Nokia" in A is the company; B names the town of Nokia. With per-document state kept on the shared
    pipeline component, A would pick up B's places and map the company.
    """
    a, b = ARTICLES[0], ARTICLES[8]
    alone = _spans(engine.nlp, a)
    paused, resume = threading.Event(), threading.Event()
    real = recognize.ToponymFinder._gazetteer_matches

    def pause_in_a(self, doc, *args):
        # Halfway: the people and the model's places of A are known, its matches not yet made.
        if doc.text == a and not paused.is_set():
            paused.set()
            resume.wait(30)
        return real(self, doc, *args)

    monkeypatch.setattr(recognize.ToponymFinder, "_gazetteer_matches", pause_in_a)
    found: list[list[tuple[str, int, str]]] = []
    thread = threading.Thread(target=lambda: found.append(_spans(engine.nlp, a)))
    thread.start()
    assert paused.wait(30)
    _spans(engine.nlp, b)  # another user's article, meanwhile
    resume.set()
    thread.join(30)
    assert found == [alone]


def test_in_process_caches_are_bounded(engine):
    """Every functools cache in geo/ has a maxsize, except those of functions without arguments (one entry)."""
    import importlib
    import inspect
    import pkgutil

    import geo

    unbounded = []
    for info in pkgutil.walk_packages(geo.__path__, "geo."):  # geo.app's modules too
        if info.name.rsplit(".", 1)[-1].startswith("__"):
            continue  # __main__ runs the command line
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            cache_info = getattr(value, "cache_info", None)
            if callable(cache_info) and cache_info().maxsize is None and inspect.signature(value).parameters:
                unbounded.append(f"{module.__name__}.{name}")
    assert unbounded == []
    lookup = engine.gazetteer._lookup.cache_info()  # per instance, so not found above
    assert lookup.maxsize is not None and lookup.maxsize <= 100_000
    for i in range(3000):  # many distinct names: the lookup cache stays within its bound
        engine.gazetteer.lookup(f"Nowhere {i}")
    assert engine.gazetteer._lookup.cache_info().currsize <= lookup.maxsize


def test_names_of_the_load_test_do_not_collide():
    names = {normalize(f"Nowhere {w} {i}") for w in range(PROCESSES) for i in range(WRITES)}
    assert len(names) == PROCESSES * WRITES
