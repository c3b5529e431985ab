"""Readings kept on disk, the engine's lazily loaded language model, and the server's work after the first map."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from geo.app import server, ui
from geo.cache import ReadingCache
from geo.model import Result
from geo.pipeline import Engine

ROOT = Path(__file__).resolve().parent.parent


def test_a_result_survives_json_unchanged(seed_result: Result):
    """Every part of a reading (alternatives, reasons, approximate places, focus) comes back equal."""
    assert any(m.alternatives and m.alternatives[0].why for m in seed_result.mentions)
    back = Result.from_dict(json.loads(json.dumps(seed_result.to_dict())))
    assert back == seed_result
    # a place's mentions are the result's own objects, as the engine makes them
    assert all(any(m is n for n in back.mentions) for p in back.places for m in p.mentions)


def test_an_approximate_place_and_a_corrected_mention_survive_json(engine: Engine):
    text = "Flooding closed roads along the Kishwaukee River near DeKalb, Illinois, on Tuesday."
    result = engine.parse(text)
    assert any(p.approximate for p in result.places)
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_kept_readings_come_back_and_the_least_recently_used_go(tmp_path: Path, seed_result: Result):
    readings = ReadingCache(tmp_path / "readings.sqlite3", max_entries=2)
    readings.put("a", seed_result)
    assert ReadingCache(tmp_path / "readings.sqlite3").get("a") == seed_result  # another process, later
    assert readings.get("missing") is None
    readings.put("b", seed_result)
    time.sleep(0.01)
    readings.put("c", seed_result)
    assert readings.count() == 2 and readings.get("a") is None and readings.get("c") == seed_result


def test_a_reading_that_cannot_be_read_back_is_made_again(tmp_path: Path, seed_result: Result):
    readings = ReadingCache(tmp_path / "readings.sqlite3")
    readings.put("a", seed_result)
    with sqlite3.connect(tmp_path / "readings.sqlite3") as con:
        con.execute("UPDATE readings SET result = '{\"text\": 1}'")
    assert readings.get("a") is None


def test_a_file_that_cannot_be_opened_keeps_no_readings_and_says_why(tmp_path: Path, seed_result: Result):
    (tmp_path / "readings.sqlite3").mkdir()  # in the way, even for root
    readings = ReadingCache(tmp_path / "readings.sqlite3")
    readings.put("a", seed_result)  # no exception: the app reads articles as before
    assert readings.get("a") is None and readings.count() == 0 and "readings" in (readings.problem or "")


@pytest.mark.slow
def test_the_engine_loads_spacy_only_for_its_first_reading(cache_dir: Path):
    """Opening the engine and looking places up need no spaCy; the first reading loads it."""
    code = (
        "import sys; from pathlib import Path; from geo.pipeline import Engine; "
        "e = Engine(Path(sys.argv[1])); e.gazetteer.lookup('Paris'); e.fingerprint; "
        "print('spacy' in sys.modules, e.nlp_loaded); "
        "r = e.parse('Flights from Kabul to Tashkent resumed.'); "
        "print('spacy' in sys.modules, e.nlp_loaded, [p.name for p in r.places])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(cache_dir)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = done.stdout.strip().splitlines()[-2:]
    assert before == "False False"
    assert after.startswith("True True") and "Kabul" in after and "Tashkent" in after


def test_the_fingerprint_tells_engines_apart(engine: Engine, cache_dir: Path):
    same = Engine(cache_dir)
    assert same.fingerprint == engine.fingerprint
    assert Engine(cache_dir, disabled_rules=["names_a_person"]).fingerprint != engine.fingerprint


def test_the_app_reads_an_article_once_across_servers(engine: Engine, cache_dir: Path, monkeypatch):
    """A reading kept on disk is shown by a new server (its memory caches empty) without parsing; a correction
    (a new revision) or other options read the article again."""
    monkeypatch.setenv("DATELINE_CACHE_DIR", str(cache_dir))
    # a text no earlier run has kept (the session's cache dir may be a developer's own, kept between runs)
    article = ui.article_from_paste(f"Talks in Doha and in Kabul ended on Monday; envoys flew on to Islamabad. "
                                    f"Reference {uuid.uuid4().hex}.")
    cache = ui.cache_dir()
    shared = ui.get_engine(cache, ui.OFFLINE)
    calls: list[str] = []
    original = shared.parse
    monkeypatch.setattr(shared, "parse", lambda *a, **k: calls.append("parsed") or original(*a, **k))

    def read(revision: str = "r1", demonyms: bool = False) -> Result:
        ui._parse.clear()  # a new server: nothing in memory
        return ui.parse(cache, ui.OFFLINE, article, include_demonyms=demonyms, revision=revision)

    first = read()
    assert calls == ["parsed"]
    assert read() == first and calls == ["parsed"]  # from disk
    read(revision="r2")
    read(demonyms=True)
    assert calls == ["parsed"] * 3


def test_after_the_first_map_and_a_quiet_spell_the_server_loads_the_model_and_freezes(cache_dir: Path,
                                                                                      monkeypatch):
    loaded: list[str] = []

    class FakeEngine:
        @property
        def nlp(self):
            loaded.append("nlp")

    first_map = threading.Event()
    last_run = [time.monotonic()]
    monkeypatch.setattr(gc, "freeze", lambda: loaded.append("freeze"))
    worker = threading.Thread(target=server.finish_loading,
                              args=(FakeEngine(), first_map, lambda: last_run[0]), kwargs={"quiet_s": 0.3})
    worker.start()
    time.sleep(0.4)
    assert loaded == []  # no map drawn yet
    first_map.set()
    for _ in range(3):  # pages keep running: it waits
        last_run[0] = time.monotonic()
        time.sleep(0.1)
    assert loaded == []
    worker.join(5)
    assert loaded == ["nlp", "freeze"]


def test_with_no_visitor_the_model_loads_all_the_same(monkeypatch):
    loaded: list[str] = []

    class FakeEngine:
        @property
        def nlp(self):
            loaded.append("nlp")

    monkeypatch.setattr(gc, "freeze", lambda: None)
    server.finish_loading(FakeEngine(), threading.Event(), lambda: 0.0, wait_s=0.1, quiet_s=0.1)
    assert loaded == ["nlp"]
