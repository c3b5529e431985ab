"""GeoJSON and CSV downloads."""

from __future__ import annotations

import csv
import io
import json

from geo.export import CSV_COLUMNS, csv_safe, to_csv, to_geojson
from geo.model import Candidate, Feature
from tests.factories import CHAMAN, SPIN_BOLDAK, mention, result_from, sample_result


def test_geojson_feature_collection_lon_lat():
    gj = to_geojson([sample_result()])
    assert gj["type"] == "FeatureCollection"
    assert len(gj["features"]) == 3
    chaman = next(f for f in gj["features"] if f["properties"]["name"] == "Chaman")
    assert chaman["type"] == "Feature"
    assert chaman["geometry"] == {"type": "Point", "coordinates": [CHAMAN.lon, CHAMAN.lat]}
    json.dumps(gj, allow_nan=False)  # serialisable, no NaN


def test_geojson_properties():
    result = sample_result(title="Border news")
    features = to_geojson([result])["features"]
    props = next(f["properties"] for f in features if f["properties"]["name"] == "Spin Boldak")
    assert props["country_code"] == "AF"
    assert props["feature"] == "city"
    assert props["geonameid"] == SPIN_BOLDAK.geonameid
    assert props["mention_count"] == 2
    assert props["confidence"] == 0.88
    assert props["article"] == "Border news"
    starts = [m["start"] for m in props["mentions"]]
    assert starts == sorted(starts)
    for m in props["mentions"]:
        assert result.text[m["start"] : m["end"]] == m["text"] == "Spin Boldak"
    assert props["excerpts"][0] == "Traders in Spin Boldak said trucks were stuck for hours."


def test_geojson_several_articles_and_untitled():
    gj = to_geojson([sample_result(title=""), sample_result(title="Second")])
    assert {f["properties"]["article"] for f in gj["features"]} == {"Article 1", "Second"}


def test_geojson_skips_non_finite_coordinates():
    bad = Candidate(1, "Nowhere", float("nan"), 0.0, Feature.CITY)
    text = "Nowhere and Chaman."
    result = result_from(text, [mention(text, "Nowhere", bad), mention(text, "Chaman", CHAMAN)])
    names = [f["properties"]["name"] for f in to_geojson([result])["features"]]
    assert names == ["Chaman"]
    assert [r["name"] for r in rows(to_csv([result]))] == ["Chaman"]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_rows():
    out = rows(to_csv([sample_result()]))
    assert len(out) == 3
    assert list(out[0]) == CSV_COLUMNS
    chaman = next(r for r in out if r["name"] == "Chaman")
    assert chaman["country_code"] == "PK"
    assert float(chaman["lat"]) == CHAMAN.lat and float(chaman["lon"]) == CHAMAN.lon
    assert chaman["mention_count"] == "2"
    assert chaman["geonameid"] == str(CHAMAN.geonameid)
    assert chaman["surface_forms"] == "Chaman"


def test_csv_formula_injection_guard():
    evil = Candidate(5, "=HYPERLINK(\"http://x\")", -12.5, -45.25, Feature.CITY, "+1")
    text = "Go to =HYPERLINK(\"http://x\") now. Also @SUM(A1) and -2+3."
    result = result_from(
        text,
        [mention(text, '=HYPERLINK("http://x")', evil), mention(text, "@SUM(A1)", CHAMAN),
         mention(text, "-2+3", SPIN_BOLDAK)],
        title="-cmd|' /C calc'!A0",
    )
    out = rows(to_csv([result]))
    assert all(r["article"] == "'-cmd|' /C calc'!A0" for r in out)
    evil_row = next(r for r in out if r["geonameid"] == "5")
    assert evil_row["name"] == "'=HYPERLINK(\"http://x\")"
    assert evil_row["country_code"] == "'+1"
    assert evil_row["surface_forms"] == "'=HYPERLINK(\"http://x\")"
    # Coordinates are ours and numeric: negative numbers stay numbers.
    assert evil_row["lat"] == "-12.500000" and evil_row["lon"] == "-45.250000"
    for r in out:
        for col in ("article", "name", "country_code", "surface_forms"):
            assert not r[col].startswith(("=", "+", "-", "@"))


def test_csv_safe():
    assert csv_safe("Chaman") == "Chaman"
    assert csv_safe("=1+1") == "'=1+1"
    assert csv_safe("\t=1") == "'\t=1"
    assert csv_safe("") == ""


def test_csv_quotes_commas_and_newlines():
    title = 'Border, "crossing"\nclosed'
    out = rows(to_csv([sample_result(title=title)]))
    assert out[0]["article"] == title


def test_exports_carry_the_approximate_flag_and_keep_it_apart():
    from tests.factories import approximate_result

    result = approximate_result()
    features = {f["properties"]["name"]: f for f in to_geojson([result])["features"]}
    road, chaman = features["Friendship Gate road"], features["Chaman"]
    assert road["properties"]["approximate"] is True
    assert road["properties"]["placed_near"] == {"name": "Chaman", "geonameid": CHAMAN.geonameid,
                                                 "country_code": "PK"}
    assert road["properties"]["geonameid"] is None and road["properties"]["mention_count"] == 2
    assert road["properties"]["confidence"] < 0.5
    assert road["geometry"] == chaman["geometry"]  # drawn at the place it was put near
    assert chaman["properties"]["approximate"] is False and chaman["properties"]["placed_near"] is None
    assert chaman["properties"]["surface_forms"] == ["Chaman"] and chaman["properties"]["mention_count"] == 2
    out = {r["name"]: r for r in rows(to_csv([result]))}
    assert out["Friendship Gate road"]["approximate"] == "true"
    assert out["Friendship Gate road"]["placed_near"] == "Chaman"
    assert out["Chaman"]["approximate"] == "false" and out["Chaman"]["placed_near"] == ""
    assert out["Chaman"]["surface_forms"] == "Chaman"


def test_a_sentence_naming_a_place_twice_is_exported_once():
    text = "Traders left Chaman for Chaman market. Chaman was calm.\nNothing else happened."
    result = result_from(text, [mention(text, "Chaman", CHAMAN, occurrence=i) for i in range(3)])
    (feature,) = to_geojson([result])["features"]
    props = feature["properties"]
    assert props["excerpts"] == ["Traders left Chaman for Chaman market.", "Chaman was calm."]
    assert [m["excerpt"] for m in props["mentions"]] == [0, 0, 1]  # each mention points at its sentence
    assert props["mention_count"] == 3


def test_csv_carries_the_excerpts_each_sentence_once():
    text = "Traders left Chaman for Chaman market. Chaman was\ncalm. Spin Boldak was quiet."
    result = result_from(
        text, [*(mention(text, "Chaman", CHAMAN, occurrence=i) for i in range(3)), mention(text, "Spin Boldak",
                                                                                           SPIN_BOLDAK)]
    )
    out = {r["name"]: r for r in rows(to_csv([result]))}
    assert out["Chaman"]["excerpts"].split("\n") == ["Traders left Chaman for Chaman market.", "Chaman was calm."]
    assert out["Spin Boldak"]["excerpts"] == "Spin Boldak was quiet."


def test_csv_excerpts_are_formula_guarded():
    text = "=Chaman was calm."
    result = result_from(text, [mention(text, "Chaman", CHAMAN)])
    (row,) = rows(to_csv([result]))
    assert row["excerpts"] == "'=Chaman was calm."
