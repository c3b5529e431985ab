"""A collection to explore on the map: the questions the app's Collection view asks of a store, answered fast.

:mod:`geo.archive.query` answers one question per call from the Parquet files (the CLI's way). A map asks
again at every pan and click, so :class:`Collection` reads the small columns once into an in-memory DuckDB
database — one row per place per article (``refs``) and one per mention (``spots``: offsets only) — and
leaves the articles' text in Parquet, read only for the few articles a click lists.

A place is its GeoNames id (``g:1174872``), or, for readings without one (an online geocoder's), its name
and point. Approximate mentions (a name nothing knows, drawn near a known place) are not that place and
are left out, as in ``geo query``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.archive.query import connect
from geo.archive.store import Store

if TYPE_CHECKING:
    import duckdb

TOP_IN_VIEW = 300  # markers drawn at once: the places named by most articles in the part of the map in view


@dataclass(frozen=True, slots=True)
class Scope:
    """Which articles count: a date range (inclusive), places in one country, a word or phrase in the text."""

    date_from: date | None = None
    date_to: date | None = None
    country: str | None = None  # ISO alpha-2 of the place
    text: str = ""  # case-insensitive, in the title or the text


@dataclass(frozen=True, slots=True)
class Box:
    """The part of the map in view, as Leaflet reports it (longitudes may run past ±180 after panning)."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def from_leaflet(cls, bounds: Any) -> Box | None:
        """streamlit-folium's ``bounds`` value ({"_southWest": {"lat", "lng"}, "_northEast": ...}), or None."""
        try:
            sw, ne = bounds["_southWest"], bounds["_northEast"]
            box = cls(float(sw["lat"]), float(sw["lng"]), float(ne["lat"]), float(ne["lng"]))
        except (KeyError, TypeError, ValueError):
            return None
        return box if box.north >= box.south and box.east >= box.west else None

    def longitude_ranges(self) -> list[tuple[float, float]]:
        """The box's longitudes as ranges within [-180, 180] (two when it crosses the antimeridian)."""
        if self.east - self.west >= 360:
            return [(-180.0, 180.0)]
        west = (self.west + 180) % 360 - 180
        east = west + (self.east - self.west)
        if east <= 180:
            return [(west, east)]
        return [(west, 180.0), (-180.0, east - 360)]


@dataclass(frozen=True, slots=True)
class CollectionPlace:
    key: str
    name: str
    country_code: str
    feature: str
    lat: float
    lon: float
    articles: int
    mentions: int


@dataclass(frozen=True, slots=True)
class PlacesInView:
    places: list[CollectionPlace]
    total: int  # places in view that match, of which ``places`` are the top ones


@dataclass(frozen=True, slots=True)
class Passage:
    """A sentence naming the place, with the names' offsets inside it."""

    text: str
    names: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ArticleHit:
    id: str
    date: date | None
    title: str
    source: str
    url: str
    mentions: int
    passages: tuple[Passage, ...]


@dataclass(frozen=True, slots=True)
class ArticleList:
    articles: list[ArticleHit]
    total: int  # articles naming the place within the scope; ``articles`` are the newest of them


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: str
    title: str
    date: date | None
    source: str
    url: str
    text: str


@dataclass(frozen=True, slots=True)
class Summary:
    articles: int
    places: int
    first_date: date | None
    last_date: date | None
    countries: list[tuple[str, int]] = field(default_factory=list)  # (code, articles), most first


_PLACE_KEY = (
    "CASE WHEN geonameid IS NOT NULL THEN 'g:' || CAST(geonameid AS VARCHAR) "
    "ELSE 'n:' || name || '@' || CAST(round(lat, 4) AS VARCHAR) || ',' || CAST(round(lon, 4) AS VARCHAR) END"
)


def store_signature(store: Path) -> tuple[tuple[str, int], ...]:
    """The store's finished partitions and their sizes: changes when an index run adds to it."""
    folder = Path(store) / "documents"
    return tuple(sorted((p.name, p.stat().st_size) for p in folder.glob("part-*.parquet")))


class Collection:
    """One store, opened for many questions (thread-safe: each question gets its own DuckDB cursor)."""

    def __init__(self, store: Path) -> None:
        Store(store).check()
        self.store = Path(store)
        self.signature = store_signature(store)
        self._con = connect(self.store)
        self._lock = threading.Lock()
        self._summary: Summary | None = None
        self._con.execute(
            "CREATE TABLE docs AS SELECT id, date, coalesce(title, '') AS title, coalesce(source, '') AS source, "
            "coalesce(url, '') AS url FROM documents"
        )
        self._con.execute(
            f"""CREATE TABLE spots AS
                SELECT {_PLACE_KEY} AS place, doc_id, start, "end", sentence_start, sentence_end,
                       name, country_code, feature, lat, lon
                FROM mentions
                WHERE name IS NOT NULL AND lat IS NOT NULL AND NOT approximate"""
        )
        self._con.execute(
            """CREATE TABLE refs AS
                SELECT place, doc_id, any_value(name) AS name, any_value(country_code) AS country_code,
                       any_value(feature) AS feature, any_value(lat) AS lat, any_value(lon) AS lon,
                       count(*) AS mentions
                FROM spots GROUP BY place, doc_id"""
        )

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # making a cursor is the one step on the shared connection
            return self._con.cursor()

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor().execute(sql, list(params)).fetchall()

    @staticmethod
    def _scope(scope: Scope, params: list[Any], *, refs: str = "r", docs: str = "d") -> str:
        """SQL conditions for ``scope`` over ``refs`` joined with ``docs`` (parameters appended)."""
        clauses = ["TRUE"]
        if scope.date_from:
            clauses.append(f"{docs}.date >= ?")
            params.append(scope.date_from)
        if scope.date_to:
            clauses.append(f"{docs}.date <= ?")
            params.append(scope.date_to)
        if scope.country:
            clauses.append(f"{refs}.country_code = ?")
            params.append(scope.country.upper())
        words = " ".join(scope.text.split()).casefold()
        if words:
            # the text stays in Parquet; DuckDB reads its column once for this filter
            clauses.append(
                f"{docs}.id IN (SELECT id FROM documents WHERE contains(lower(text), ?) "
                "OR contains(lower(coalesce(title, '')), ?))"
            )
            params.extend([words, words])
        return " AND ".join(clauses)

    def summary(self) -> Summary:
        """Counts, dates and countries of the whole store (worked out once: a Collection never changes)."""
        if self._summary is None:
            self._summary = self._summarise()
        return self._summary

    def _summarise(self) -> Summary:
        articles, first, last = self._fetch("SELECT count(*), min(date), max(date) FROM docs")[0]
        (places,) = self._fetch("SELECT count(DISTINCT place) FROM refs")[0]
        countries = self._fetch(
            "SELECT country_code, count(DISTINCT doc_id) AS n FROM refs WHERE coalesce(country_code, '') <> '' "
            "GROUP BY country_code ORDER BY n DESC, country_code"
        )
        return Summary(articles, places, first, last, [(c, n) for c, n in countries])

    def places(self, scope: Scope = Scope(), box: Box | None = None, limit: int = TOP_IN_VIEW) -> PlacesInView:  # noqa: B008
        """The places in ``box`` named by most articles in ``scope`` (then by mentions), and how many there are."""
        params: list[Any] = []
        where = self._scope(scope, params)
        if box is not None:
            where += " AND r.lat BETWEEN ? AND ?"
            params += [box.south, box.north]
            ranges = box.longitude_ranges()
            where += " AND (" + " OR ".join("r.lon BETWEEN ? AND ?" for _ in ranges) + ")"
            params += [v for pair in ranges for v in pair]
        params.append(limit)
        rows = self._fetch(
            f"""SELECT r.place, any_value(r.name), any_value(r.country_code), any_value(r.feature),
                       any_value(r.lat), any_value(r.lon), count(*) AS articles, sum(r.mentions) AS mentions,
                       count(*) OVER () AS total
                FROM refs r JOIN docs d ON d.id = r.doc_id
                WHERE {where}
                GROUP BY r.place
                ORDER BY articles DESC, mentions DESC, any_value(r.name)
                LIMIT ?""",
            params,
        )
        places = [CollectionPlace(k, n, c or "", f or "", la, lo, a, int(m)) for k, n, c, f, la, lo, a, m, _ in rows]
        return PlacesInView(places, rows[0][-1] if rows else 0)

    def place(self, key: str) -> CollectionPlace | None:
        """One place over the whole collection (its name, point and counts), or None."""
        rows = self._fetch(
            """SELECT place, any_value(name), any_value(country_code), any_value(feature), any_value(lat),
                      any_value(lon), count(*), sum(mentions) FROM refs WHERE place = ? GROUP BY place""",
            [key],
        )
        if not rows:
            return None
        k, n, c, f, la, lo, a, m = rows[0]
        return CollectionPlace(k, n, c or "", f or "", la, lo, a, int(m))

    def articles(self, place: str, scope: Scope = Scope(), limit: int = 50) -> ArticleList:  # noqa: B008
        """The articles in ``scope`` naming ``place``, newest first, each with every sentence that names it."""
        params: list[Any] = [place]
        where = "r.place = ? AND " + self._scope(scope, params)
        params.append(limit)
        rows = self._fetch(
            f"""SELECT d.id, d.date, d.title, d.source, d.url, r.mentions, count(*) OVER () AS total
                FROM refs r JOIN docs d ON d.id = r.doc_id
                WHERE {where}
                ORDER BY d.date DESC NULLS LAST, d.id
                LIMIT ?""",
            params,
        )
        if not rows:
            return ArticleList([], 0)
        ids = [row[0] for row in rows]
        spots = self._fetch(
            """SELECT doc_id, sentence_start, sentence_end, start, "end" FROM spots
               WHERE place = ? AND doc_id IN (SELECT unnest(?)) ORDER BY doc_id, start""",
            [place, ids],
        )
        texts = dict(self._fetch("SELECT id, text FROM documents WHERE id IN (SELECT unnest(?))", [ids]))
        sentences: dict[str, dict[tuple[int, int], list[tuple[int, int]]]] = {}
        for doc_id, s, e, start, end in spots:
            sentences.setdefault(doc_id, {}).setdefault((s, e), []).append((start - s, end - s))
        hits = []
        for doc_id, day, title, source, url, mentions, _ in rows:
            text = texts.get(doc_id) or ""
            passages = tuple(
                Passage(text[s:e], tuple(names)) for (s, e), names in sorted(sentences.get(doc_id, {}).items())
            )
            hits.append(ArticleHit(doc_id, day, title, source, url, int(mentions), passages))
        return ArticleList(hits, rows[0][-1])

    def months(self, scope: Scope = Scope(), place: str | None = None) -> list[tuple[date, int]]:  # noqa: B008
        """Articles in ``scope`` (naming ``place``, if given) per month of their date: the time histogram."""
        params: list[Any] = []
        where = self._scope(scope, params)
        if place:
            where += " AND r.place = ?"
            params.append(place)
        join = "JOIN refs r ON r.doc_id = d.id" if (place or scope.country) else ""  # else no condition names r
        rows = self._fetch(
            f"""SELECT CAST(date_trunc('month', d.date) AS DATE) AS month, count(DISTINCT d.id)
                FROM docs d {join}
                WHERE d.date IS NOT NULL AND {where}
                GROUP BY month ORDER BY month""",
            params,
        )
        return [(m, n) for m, n in rows]

    def article(self, doc_id: str) -> StoredArticle | None:
        """One article with its text, to open in the single-article view."""
        rows = self._fetch(
            "SELECT id, coalesce(title, ''), date, coalesce(source, ''), coalesce(url, ''), text "
            "FROM documents WHERE id = ?",
            [doc_id],
        )
        return StoredArticle(*rows[0]) if rows else None
