"""``python -m geo query``: the common questions about a store, answered by DuckDB over its Parquet files.

DuckDB runs embedded (no server) and reads only the columns a query uses. :func:`connect` gives views
``documents`` and ``mentions`` over the store, so any SQL works too (``python -m geo query STORE sql``).
Place counts leave out approximate mentions (a name nothing knows, put near a known place): they are not
that place.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.archive.store import Store, documents_schema, mentions_schema

if TYPE_CHECKING:
    import duckdb


class QueryError(ValueError):
    """A query that cannot run (bad SQL, a format the rows do not fit): one line, the CLI's exit code 4."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Which articles and places count: a date range (inclusive), a country (ISO alpha-2 of the place)."""

    date_from: date | None = None
    date_to: date | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Rows:
    """A query's answer: column names and rows, in order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def connect(store: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with ``documents`` and ``mentions`` views over the store's Parquet files."""
    import duckdb

    Store(store).check()
    con = duckdb.connect()
    for table, schema in (("documents", documents_schema()), ("mentions", mentions_schema())):
        folder = Path(store) / table
        if any(folder.glob("part-*.parquet")):
            pattern = str(folder / "part-*.parquet").replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}')")
        else:  # nothing indexed yet: empty tables of the right shape, so every query still runs
            con.register(f"_{table}_empty", schema.empty_table())
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
    return con


def _where(filters: Filters, params: list[Any]) -> str:
    clauses = ["m.name IS NOT NULL", "NOT m.approximate"]
    if filters.date_from:
        clauses.append("d.date >= ?")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("d.date <= ?")
        params.append(filters.date_to)
    if filters.country:
        clauses.append("m.country_code = ?")
        params.append(filters.country.upper())
    return " AND ".join(clauses)


def _place_clause(place: str, params: list[Any]) -> str:
    """A place given as a GeoNames id or a name (the place's name or a spelling in the text, any case)."""
    if place.strip().isdigit():
        params.append(int(place))
        return "m.geonameid = ?"
    params.extend([place.strip().casefold()] * 2)
    return "(lower(m.name) = ? OR lower(m.text) = ?)"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Rows:
    import duckdb

    try:
        cursor = con.execute(sql, params)
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise QueryError(" ".join(str(exc).split())[:300]) from exc
    return Rows(columns=tuple(d[0] for d in cursor.description), rows=rows)


def top_places(store: Path, filters: Filters = Filters(), limit: int = 20) -> Rows:  # noqa: B008
    """Places by the number of articles that name them (then by mentions)."""
    params: list[Any] = []
    where = _where(filters, params)
    params.append(limit)
    sql = f"""
        SELECT m.name AS place, m.country_code AS country, m.feature, m.geonameid,
               any_value(m.lat) AS lat, any_value(m.lon) AS lon,
               count(DISTINCT m.doc_id) AS articles, count(*) AS mentions
        FROM mentions m JOIN documents d ON d.id = m.doc_id
        WHERE {where}
        GROUP BY m.name, m.country_code, m.feature, m.geonameid
        ORDER BY articles DESC, mentions DESC, place
        LIMIT ?"""
    return _rows(connect(store), sql, params)


def articles_naming(store: Path, place: str, filters: Filters = Filters(), limit: int = 50) -> Rows:  # noqa: B008
    """Articles that name ``place``, newest first, each with how often and the first sentence that does."""
    params: list[Any] = []
    where = _where(filters, params) + " AND " + _place_clause(place, params)
    params.append(limit)
    sql = f"""
        SELECT d.id, d.date, d.title, d.source, d.url, count(*) AS mentions,
               arg_min(substr(d.text, m.sentence_start + 1, m.sentence_end - m.sentence_start), m.start)
                   AS sentence
        FROM mentions m JOIN documents d ON d.id = m.doc_id
        WHERE {where}
        GROUP BY d.id, d.date, d.title, d.source, d.url
        ORDER BY d.date DESC NULLS LAST, d.id
        LIMIT ?"""
    return _rows(connect(store), sql, params)


def places_per_month(
    store: Path,
    place: str | None = None,
    filters: Filters = Filters(),  # noqa: B008
    per_month: int = 5,
) -> Rows:
    """For each month (of the articles' dates), the places named by most articles, or one place's count."""
    params: list[Any] = []
    where = _where(filters, params) + " AND d.date IS NOT NULL"
    if place:
        where += " AND " + _place_clause(place, params)
    params.append(per_month)
    sql = f"""
        SELECT strftime(d.date, '%Y-%m') AS month, m.name AS place, m.country_code AS country, m.geonameid,
               any_value(m.lat) AS lat, any_value(m.lon) AS lon, count(DISTINCT m.doc_id) AS articles
        FROM mentions m JOIN documents d ON d.id = m.doc_id
        WHERE {where}
        GROUP BY month, m.name, m.country_code, m.geonameid
        QUALIFY row_number() OVER (PARTITION BY month ORDER BY count(DISTINCT m.doc_id) DESC, m.name) <= ?
        ORDER BY month, articles DESC, place"""
    return _rows(connect(store), sql, params)


def run_sql(store: Path, sql: str) -> Rows:
    """Any SQL over the ``documents`` and ``mentions`` views."""
    return _rows(connect(store), sql, [])


# -- output ---------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return " ".join(str(value).split())


def to_table(rows: Rows, width: int = 80) -> str:
    """Aligned columns for a terminal; long cells (titles, sentences) are cut to ``width`` characters."""
    cells = [list(rows.columns)] + [[_cell(v) for v in row] for row in rows.rows]
    cells = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in cells]
    widths = [max(len(row[i]) for row in cells) for i in range(len(rows.columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def to_csv(rows: Rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(rows.columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows.rows])
    return buf.getvalue()


def to_geojson(rows: Rows) -> str:
    """A FeatureCollection of points (RFC 7946: lon, lat), one per row; the rows need lat and lon."""
    if not {"lat", "lon"} <= set(rows.columns):
        raise QueryError("GeoJSON needs rows with lat and lon: use it with places or months")
    features = []
    for row in rows.dicts():
        lat, lon = row.pop("lat"), row.pop("lon")
        if lat is None or lon is None:
            continue
        properties = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        features.append(
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n"


def render(rows: Rows, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "geojson":
        return to_geojson(rows)
    if fmt == "json":
        return json.dumps(rows.dicts(), ensure_ascii=False, default=str, indent=1) + "\n"
    return to_table(rows)
