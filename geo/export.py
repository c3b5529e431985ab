"""Downloads of an analysis: GeoJSON for GIS tools, CSV for spreadsheets.

One record per distinct place per article (the same unit as a map marker).
The CSV is meant to be opened in Excel/LibreOffice, where a cell beginning with
``=``, ``+``, ``-`` or ``@`` is run as a formula; article and gazetteer text is
user-controlled, so such text cells are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from geo.model import Place, Result

CSV_COLUMNS = [
    "article",
    "name",
    "country_code",
    "feature",
    "lat",
    "lon",
    "geonameid",
    "mention_count",
    "confidence",
    "surface_forms",
    "approximate",
    "placed_near",
    "excerpts",
]
EXCERPT_SEPARATOR = "\n"  # one sentence per line inside the cell (spreadsheets show the line breaks)
MAX_CELL_CHARS = 32_000  # Excel's cell limit is 32,767 characters
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COORD_DECIMALS = 6  # ~0.1 m; RFC 7946 advises against more


def article_title(result: Result, index: int) -> str:
    """The article's title, or a numbered stand-in ("Article 1") when it has none."""
    return result.title.strip() or f"Article {index + 1}"


def _places(results: list[Result]):
    """(article index, result, place) for every place with usable coordinates."""
    for i, result in enumerate(results):
        for place in result.places:
            c = place.candidate
            if math.isfinite(c.lat) and math.isfinite(c.lon):
                yield i, result, place


def _feature(index: int, result: Result, place: Place) -> dict[str, Any]:
    c = place.candidate
    mentions = sorted(place.mentions, key=lambda m: m.start)
    sentences = place.sentences(result.text)
    sentence_of = {e.doc_start: i for i, e in enumerate(sentences)}
    return {
        "type": "Feature",
        # RFC 7946 section 3.1.1: longitude first.
        "geometry": {
            "type": "Point",
            "coordinates": [round(c.lon, COORD_DECIMALS), round(c.lat, COORD_DECIMALS)],
        },
        "properties": {
            "name": c.name,
            "country_code": c.country_code,
            "feature": c.feature.value,
            "geonameid": c.geonameid,
            "source": c.source,
            "confidence": round(place.confidence, 4),
            "mention_count": place.count,
            "article": article_title(result, index),
            "article_index": index,
            "surface_forms": place.surface_forms,
            # A name nothing knows, drawn at the known place it was put near (never one of its spellings).
            "approximate": place.approximate,
            "placed_near": _near(place),
            # Each mention names the sentence it is in by its index in "excerpts", which lists each sentence once.
            "mentions": [
                {"start": m.start, "end": m.end, "text": m.text, "excerpt": sentence_of[m.sentence_start]}
                for m in mentions
            ],
            "excerpts": [e.text for e in sentences],
        },
    }


def _near(place: Place) -> dict[str, Any] | None:
    """The known place an approximate place was put near, or None."""
    if place.near is None:
        return None
    return {"name": place.near.name, "geonameid": place.near.geonameid, "country_code": place.near.country_code}


def to_geojson(results: list[Result]) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection of Point features, one per place per article."""
    return {
        "type": "FeatureCollection",
        "features": [_feature(i, r, p) for i, r, p in _places(results)],
    }


def _excerpts_cell(place: Place, text: str) -> str:
    """The sentences naming the place, each once, one a line; cut to what a spreadsheet cell holds."""
    cell = EXCERPT_SEPARATOR.join(" ".join(e.text.split()) for e in place.sentences(text))
    return cell if len(cell) <= MAX_CELL_CHARS else cell[: MAX_CELL_CHARS - 1] + "…"


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or tab/CR) gets a leading '."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def to_csv(results: list[Result]) -> str:
    """CSV text, one row per place per article; text cells are formula-guarded.

    Numeric cells (coordinates, counts) are written by us, not taken from the
    article, so negative coordinates stay plain numbers.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for i, result, place in _places(results):
        c = place.candidate
        writer.writerow(
            [
                csv_safe(article_title(result, i)),
                csv_safe(c.name),
                csv_safe(c.country_code),
                c.feature.value,
                f"{c.lat:.{COORD_DECIMALS}f}",
                f"{c.lon:.{COORD_DECIMALS}f}",
                "" if c.geonameid is None else c.geonameid,
                place.count,
                f"{place.confidence:.3f}",
                csv_safe("; ".join(place.surface_forms)),
                "true" if place.approximate else "false",
                csv_safe(place.near.name) if place.near else "",
                csv_safe(_excerpts_cell(place, result.text)),
            ]
        )
    return buf.getvalue()
