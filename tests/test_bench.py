"""The benchmark runs end to end on a small slice, so it cannot rot."""

from __future__ import annotations

import argparse
import json

import pytest

from geo.bench import DEFAULT_EVAL_DIR, main, resolution_metrics, score_corpus


def test_metrics():
    m = resolution_metrics([0.0, 100.0, 200.0, 20039.0])
    assert m["acc161"] == 0.5 and m["median_km"] == 150.0
    assert 0 < m["auc"] < 1


def test_bench_on_a_made_up_corpus(engine, tmp_path):
    text = "Officials flew from Doha to Kabul on Monday."
    doc = {
        "id": "t-1",
        "corpus": "t",
        "text": text,
        "toponyms": [
            {"start": 20, "end": 24, "text": "Doha", "lat": 25.28545, "lon": 51.53096, "geonameid": 290030},
            {"start": 28, "end": 33, "text": "Kabul", "lat": 34.52813, "lon": 69.17233, "geonameid": 1138958},
        ],
    }
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    scores = score_corpus(engine, path, rounds=1)
    assert (scores.precision, scores.recall) == (1.0, 1.0)
    assert scores.given["acc161"] == 1.0 and scores.e2e["acc161"] == 1.0
    assert scores.tokens_per_s > 0 and scores.bare_ner_tokens_per_s > 0


@pytest.mark.skipif(not (DEFAULT_EVAL_DIR / "gwn.jsonl").exists(), reason="evaluation corpora not present")
def test_bench_command_on_a_slice(cache_dir, tmp_path, capsys):
    args = argparse.Namespace(
        corpora=[str(DEFAULT_EVAL_DIR / "gwn.jsonl"), str(DEFAULT_EVAL_DIR / "trnews.jsonl")],
        limit=3,
        out=tmp_path,
        cache_dir=cache_dir,
        geocoder="offline",
    )
    assert main(args) == 0
    results = json.loads((tmp_path / "bench.json").read_text())
    assert [r["corpus"] for r in results] == ["gwn", "trnews"]
    assert all(0 <= r["f1"] <= 1 and r["given"]["n"] > 0 for r in results)
    assert "| gwn |" in (tmp_path / "bench.md").read_text()


def test_bench_skips_cleanly_without_corpora(cache_dir, tmp_path):
    args = argparse.Namespace(
        corpora=[str(tmp_path / "absent.jsonl")], limit=None, out=tmp_path, cache_dir=cache_dir, geocoder="offline"
    )
    assert main(args) == 0
    assert not (tmp_path / "bench.json").exists()
