"""The persistent caches: hits, restarts, concurrent writers, corruption."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3

import pytest

from geo.cache import (
    DEFAULT_GEOCODE_CACHE_MAX,
    TOUCH_AFTER_S,
    CorrectionStore,
    GeocodeCache,
    geocode_cache_max,
)
from geo.model import Candidate, Feature
from geo.pipeline import Engine
from tests.workers import _writer

# Only a guard against a hung writer: idle, the workers finish in seconds, but on a loaded two-core machine
# (spawned interpreters importing spaCy while other jobs run) one once took over 120 s.
HANG_GUARD_S = 600
DOHA = Candidate(geonameid=290030, name="Doha", lat=25.28545, lon=51.53096, feature=Feature.CITY, country_code="QA")


def test_hit_miss_and_restart(tmp_path):
    path = tmp_path / "geocode.sqlite3"
    cache = GeocodeCache(path)
    assert cache.get("offline", "Doha") is None
    cache.put("offline", "Doha", [DOHA])
    assert cache.get("offline", "Doha") == [DOHA]
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)
    reopened = GeocodeCache(path)  # a new process or a restart sees the same answers
    assert reopened.get("offline", "Doha") == [DOHA]
    assert reopened.get("nominatim", "Doha") is None  # keyed by geocoder too
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.slow  # starts a fresh engine
def test_second_parse_makes_no_geocoder_call(cache_dir, seed_text):
    engine = Engine(cache_dir)
    engine.parse(seed_text)
    calls = engine.source.calls
    Engine(cache_dir).parse(seed_text)  # a fresh engine: nothing in memory, everything on disk
    second = Engine(cache_dir)
    second.parse(seed_text)
    assert second.source.calls == 0
    assert calls >= 0


@pytest.mark.slow  # spawns processes
def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "geocode.sqlite3")
    workers, count = 4, 100
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(HANG_GUARD_S)
        assert p.exitcode == 0
    assert GeocodeCache(path).count() == workers * count
    assert len(CorrectionStore(tmp_path / "corrections.sqlite3").all()) == workers * count // 10


def test_corrupt_cache_is_set_aside(tmp_path):
    path = tmp_path / "geocode.sqlite3"
    path.write_bytes(b"this is not sqlite" * 200)
    cache = GeocodeCache(path)
    assert cache.problem is None
    cache.put("offline", "Doha", [DOHA])
    assert cache.get("offline", "Doha") == [DOHA]
    assert list(tmp_path.glob("geocode.sqlite3.corrupt-*"))


@pytest.mark.slow  # starts a fresh engine
def test_corrections_survive_and_apply(cache_dir):
    engine = Engine(cache_dir)
    text = "Officials met in Doha, then flew on."
    result = engine.parse(text)
    doha = result.place("Doha")
    alternative = doha.alternatives[0].candidate
    engine.corrections.set("Doha", result.context, alternative)
    try:
        again = Engine(cache_dir).parse(text)  # a restarted engine reads the stored correction
        (m,) = [m for m in again.mentions if m.text == "Doha"]
        assert m.corrected and m.candidate.key == alternative.key
        engine.corrections.set("Doha", result.context, None)  # "not a place"
        assert Engine(cache_dir).parse(text).place("Doha") is None
    finally:
        engine.corrections.remove("Doha", result.context)


def test_the_cache_keeps_at_most_its_cap_and_drops_the_least_recently_used(tmp_path, monkeypatch):
    cache = GeocodeCache(tmp_path / "geocode.sqlite3", max_entries=10)
    clock = [1_000_000.0]
    monkeypatch.setattr("geo.cache.time.time", lambda: clock[0])
    for i in range(10):
        clock[0] += TOUCH_AFTER_S + 1
        cache.put("offline", f"town {i}", [DOHA])
    clock[0] += TOUCH_AFTER_S + 1
    assert cache.get("offline", "town 0") == [DOHA]  # used again: now the most recent
    cache.put("offline", "town 10", [DOHA])  # one over the cap: the least recently used tenth goes
    assert cache.count() == 9
    assert cache.get("offline", "town 1") is None and cache.get("offline", "town 0") == [DOHA]
    for i in range(11, 40):
        cache.put_many("offline", {f"town {i}": [DOHA]})
        assert cache.count() <= 10
    assert cache.get("offline", "town 39") == [DOHA]


def test_the_cap_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("DATELINE_GEOCODE_CACHE_MAX", "1_000")
    assert geocode_cache_max() == 1000 and GeocodeCache(tmp_path / "a.sqlite3").max_entries == 1000
    monkeypatch.setenv("DATELINE_GEOCODE_CACHE_MAX", "lots")
    assert geocode_cache_max() == DEFAULT_GEOCODE_CACHE_MAX
    monkeypatch.delenv("DATELINE_GEOCODE_CACHE_MAX")
    assert geocode_cache_max() == DEFAULT_GEOCODE_CACHE_MAX


def test_a_cache_file_from_before_the_cap_is_kept_and_upgraded(tmp_path):
    path = tmp_path / "geocode.sqlite3"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE geocode (geocoder TEXT NOT NULL, query TEXT NOT NULL, answer TEXT NOT NULL, "
        "created REAL NOT NULL, PRIMARY KEY (geocoder, query)) WITHOUT ROWID"
    )
    con.execute("INSERT INTO geocode VALUES ('offline', 'Doha', ?, 1.0)", (json.dumps([DOHA.to_dict()]),))
    con.commit()
    con.close()
    cache = GeocodeCache(path, max_entries=5)
    assert cache.problem is None and cache.get("offline", "Doha") == [DOHA]
    for i in range(5):
        cache.put("offline", f"town {i}", [DOHA])
    assert cache.count() <= 5 and cache.get("offline", "town 4") == [DOHA]
