"""``python -m geo``: formats, the batch contract, and one-line errors with distinct exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from unittest import mock

import pytest

from tests.conftest import ROOT, SEED


def run_subprocess(cache_dir, *args, stdin=None):
    """``python -m geo`` for real: the smoke test that the module and its entry point work."""
    return subprocess.run(
        [sys.executable, "-m", "geo", "--cache-dir", str(cache_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
    )


def run(cache_dir, *args, stdin=None) -> subprocess.CompletedProcess:
    """``main(argv)`` in this process, with the same exit code, stdout and stderr a subprocess would give."""
    from geo.cli import main

    out, err = io.StringIO(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch.object(sys, "stdin", fake_stdin):
        code = main(["--cache-dir", str(cache_dir), *args])
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def warm(cache_dir, engine):
    """The cache directory, with the CLI using the session's engine for it (an engine takes seconds to start)."""
    from geo import cli

    real = cli._engine

    def shared(args):
        offline = getattr(args, "geocoder", "offline") == "offline"
        return engine if offline and args.cache_dir == cache_dir else real(args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_engine", shared)
        yield cache_dir


@pytest.mark.slow
def test_the_module_runs_as_a_command(cache_dir, gazetteer):
    out = run_subprocess(cache_dir, "parse", str(SEED))
    assert out.returncode == 0, out.stderr
    assert "Chaman" in out.stdout and "Focus: Afghanistan" in out.stdout


def test_parse_table_and_json(warm):
    out = run(warm, "parse", str(SEED))
    assert out.returncode == 0, out.stderr
    assert "Chaman" in out.stdout and "Focus: Afghanistan" in out.stdout
    data = json.loads(run(warm, "parse", str(SEED), "--format", "json").stdout)
    assert any(p["name"] == "Doha" and p["country_code"] == "QA" for p in data["places"])


def test_parse_geojson_and_csv(warm):
    geojson = json.loads(run(warm, "parse", str(SEED), "--format", "geojson").stdout)
    assert geojson["type"] == "FeatureCollection" and geojson["features"]
    lon, lat = geojson["features"][0]["geometry"]["coordinates"]
    assert -180 <= lon <= 180 and -90 <= lat <= 90
    csv_out = run(warm, "parse", str(SEED), "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("article")


def test_batch_contract(warm, tmp_path):
    text = "Talks in Doha and Kabul. Isachenkov reported from Moscow."
    lines = [
        {"id": "a", "text": text},
        {"id": "b", "text": text, "spans": [[9, 13], [18, 23], [0, 5]]},
        "not json",
        {"id": "c"},
        {"id": "d", "text": "x", "spans": [[0, 10]]},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    out = run(warm, "batch", str(src), "-o", str(tmp_path / "out.jsonl"))
    assert out.returncode == 0
    assert out.stderr.count("skipped:") == 3  # bad lines reported, the rest go on
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b"]
    plain = records[0]["mentions"]
    assert {m["text"] for m in plain} == {"Doha", "Kabul", "Moscow"}
    for m in plain:
        assert text[m["start"] : m["end"]] == m["text"]
        assert set(m) >= {
            "start",
            "end",
            "text",
            "name",
            "lat",
            "lon",
            "country_code",
            "feature",
            "geonameid",
            "confidence",
        }
    given = records[1]["mentions"]
    assert [(m["start"], m["end"]) for m in given] == [(9, 13), (18, 23), (0, 5)]
    assert given[0]["country_code"] == "QA"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["parse", "/nonexistent/file.txt"], 3, "cannot read"),
        (["batch", "/nonexistent/in.jsonl"], 3, "cannot read"),
        (["parse", "--format", "pdf", "x"], 2, "invalid choice"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_errors_are_one_line_with_distinct_codes(warm, args, code, needle):
    out = run(warm, *args)
    assert out.returncode == code
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_binary_and_empty_input(warm, tmp_path):
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)) * 50)
    out = run(warm, "parse", str(binary))
    assert out.returncode == 4 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    out = run(warm, "parse", str(empty))
    assert out.returncode == 4 and "no text" in out.stderr


def test_any_text_file_is_read(warm, tmp_path):
    log = tmp_path / "wire.2021.log"
    log.write_text("Flooding hit Karachi on Monday.")
    out = run(warm, "parse", str(log))
    assert out.returncode == 0 and "Karachi" in out.stdout


def test_stdin_and_gazetteer_info(warm):
    out = run(warm, "parse", "-", stdin="Flooding hit Karachi on Monday.")
    assert out.returncode == 0 and "Karachi" in out.stdout
    info = run(warm, "gazetteer", "info")
    assert info.returncode == 0 and "city 234,908" in info.stdout and "CC BY 4.0" in info.stdout


def test_batch_marks_approximate_readings(engine):
    """A name nothing knows is placed near the article's place and says so; every other field stays."""
    from geo.batch import process_records
    from geo.resolution import APPROXIMATE_MAX_CONFIDENCE

    text = "The parade went down Royal Street in New Orleans, Louisiana, on Sunday."
    spans = [[text.index(w), text.index(w) + len(w)] for w in ("Royal Street", "New Orleans", "Louisiana")]
    (line,) = process_records(engine, [{"id": "s", "text": text, "spans": spans}])
    street, city, state = line["mentions"]
    assert street["approximate"] is True and street["confidence"] <= APPROXIMATE_MAX_CONFIDENCE
    assert street["name"] == city["name"] == "New Orleans" and street["lat"] == city["lat"]
    assert city["approximate"] is False and state["approximate"] is False
    assert set(street) >= {"start", "end", "text", "name", "lat", "lon", "country_code", "feature", "geonameid",
                           "confidence", "kind"}


def test_parse_json_lists_an_approximate_place_apart(warm, tmp_path):
    src = tmp_path / "street.txt"
    src.write_text("NEW ORLEANS (AP) — A fire broke out on Royal Street in New Orleans, Louisiana, on Tuesday.\n")
    data = json.loads(run(warm, "parse", str(src), "--format", "json").stdout)
    places = {p["name"]: p for p in data["places"]}
    assert places["Royal Street"]["approximate"] is True
    assert places["Royal Street"]["placed_near"] == "New Orleans"
    assert places["New Orleans"]["approximate"] is False
    assert "Royal Street" not in places["New Orleans"]["surface_forms"]
    assert any(m["text"] == "Royal Street" and m["approximate"] for m in data["mentions"])


def test_parse_json_lists_demonyms_only_with_the_option(warm, tmp_path):
    src = tmp_path / "border.txt"
    src.write_text("Afghan traders crossed into Pakistan at Chaman on Monday, Pakistani officials said.\n")
    plain = json.loads(run(warm, "parse", str(src), "--format", "json").stdout)
    assert plain["mentions"] and {m["kind"] for m in plain["mentions"]} == {"toponym"}
    assert not any(m["text"] in ("Afghan", "Pakistani") for m in plain["mentions"])
    both = json.loads(run(warm, "parse", str(src), "--format", "json", "--demonyms").stdout)
    demonyms = {m["text"] for m in both["mentions"] if m["kind"] == "demonym"}
    assert demonyms == {"Afghan", "Pakistani"}
    assert {p["name"] for p in both["places"]} >= {"Afghanistan", "Pakistan"}


@pytest.mark.slow  # starts a fresh engine (with the online geocoder)
def test_parse_with_nominatim_unreachable_says_so_in_one_short_line(warm):
    out = run(warm, "parse", str(SEED), "--geocoder", "nominatim", "--geocoder-domain", "127.0.0.1:9")
    assert out.returncode == 0, out.stderr
    notice = "notice: Nominatim could not be reached; places come from the offline gazetteer."
    assert out.stderr.splitlines() == [notice]  # the provider's long error stays in the (info) log
    assert "Chaman" in out.stdout
