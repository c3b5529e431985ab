"""Processes the store tests spawn, in a module that imports only the stores.

A spawned child imports the module of its target; here that is this light module, not a test file that
loads spaCy, so a child starts in a fraction of a second even on a busy machine.
"""

from __future__ import annotations

import threading
from pathlib import Path

from geo.cache import CorrectionStore, GeocodeCache
from geo.model import Candidate, Feature

DOHA = Candidate(geonameid=290030, name="Doha", lat=25.28545, lon=51.53096, feature=Feature.CITY, country_code="QA")
PROCESSES, WRITES, THREADS = 8, 500, 4


def _writer(path: str, worker: int, count: int) -> None:
    cache = GeocodeCache(path)
    corrections = CorrectionStore(path.replace("geocode", "corrections"))
    for i in range(count):
        cache.put("offline", f"w{worker}-{i}", [DOHA])
        if i % 10 == 0:
            corrections.set(f"name{worker}-{i}", "AF", DOHA)


def _load_worker(directory: str, gazetteer_path: str, worker: int, barrier, results) -> None:
    """One process of the load test: THREADS threads share its two stores, half geocoding, half correcting."""
    from geo.gazetteer import Gazetteer
    from geo.geocoders import CandidateSource

    gazetteer = Gazetteer(Path(gazetteer_path))
    barrier.wait(60)  # every process creates the stores and starts writing at the same moment
    cache = GeocodeCache(Path(directory) / "geocode.sqlite3")
    corrections = CorrectionStore(Path(directory) / "corrections.sqlite3")
    source = CandidateSource(gazetteer, cache)
    errors: list[str] = []

    def run(thread: int) -> None:
        for i in range(thread, WRITES, THREADS):
            name = f"Nowhere {worker} {i}"
            try:
                if i % 2 == 0:
                    source.candidates_many([name])  # a miss: answered offline, then written to the cache
                else:
                    corrections.set(name, "AF", DOHA)
            except Exception as exc:  # every failure is a finding
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((worker, errors, cache.problem, corrections.problem))


def _committer(directory: str, first: int, pipe, writing) -> None:
    """Write until killed: a long geocode transaction, then one correction, reported once committed."""
    cache = GeocodeCache(Path(directory) / "geocode.sqlite3")
    corrections = CorrectionStore(Path(directory) / "corrections.sqlite3")
    i = first
    while True:
        writing.value = 1
        cache.put_many("offline", {f"bulk {i} {j}": [DOHA] * 5 for j in range(200)})
        corrections.set(f"kept {i}", "AF", DOHA)
        writing.value = 0
        pipe.send(i)  # only after set() returned: the correction is committed
        i += 1


def _open_corrupt(directory: str, worker: int, barrier, results) -> None:
    barrier.wait(60)
    corrections = CorrectionStore(Path(directory) / "corrections.sqlite3")
    errors = []
    for i in range(20):
        try:
            corrections.set(f"after {worker} {i}", "AF", DOHA)
        except Exception as exc:  # every failure is a finding
            errors.append(f"{type(exc).__name__}: {exc}")
    results.put(errors)
