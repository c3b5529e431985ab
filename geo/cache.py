"""Persistent stores under ``cache/``: geocoding answers and the user's corrections.

Both are SQLite in WAL mode with a generous busy timeout, so many processes
and threads can read and write at once. They are separate files on purpose:
the geocode cache is rebuildable and may be thrown away (for example when it
is found corrupt), the corrections are the user's work and never are.

When the directory cannot be written (read-only, full disk) the stores say
why in ``problem`` and carry on without persisting, so the app keeps working.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from geo.model import Candidate
from geo.names import normalize

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 60_000


class _SQLiteStore:
    """One SQLite file, one connection per thread, WAL mode, corruption detection."""

    schema = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.problem: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._check_and_init()
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)

    def _disable(self, exc: BaseException) -> None:
        self.problem = f"{self.path.name}: {exc}; continuing without saving to it"
        log.warning(self.problem)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _check_and_init(self) -> None:
        try:
            con = self._connect()
            ok = con.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {ok}")
            con.executescript(self.schema)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            # Never delete: the unreadable file is set aside (corrections may be recovered from it).
            self._set_aside(exc)
            con = self._connect()
            con.executescript(self.schema)
        self._local.con = con

    def _set_aside(self, exc: BaseException) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        log.warning("%s is unreadable (%s); moved to %s", self.path, exc, aside.name)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short IMMEDIATE transaction: writers queue on the lock instead of failing."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0


class GeocodeCache(_SQLiteStore):
    """Geocoding answers keyed by (geocoder, query). Only successful answers are stored."""

    schema = """
    CREATE TABLE IF NOT EXISTS geocode (
        geocoder TEXT NOT NULL, query TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (geocoder, query)
    ) WITHOUT ROWID;
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.stats = CacheStats()

    def get(self, geocoder: str, query: str) -> list[Candidate] | None:
        if self.problem:
            self.stats.misses += 1
            return None
        try:
            row = (
                self._con()
                .execute("SELECT answer FROM geocode WHERE geocoder=? AND query=?", (geocoder, query))
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._disable(exc)
            row = None
        if row is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return [Candidate.from_dict(d) for d in json.loads(row[0])]

    def put_many(self, geocoder: str, answers: dict[str, list[Candidate]]) -> None:
        """Store several answers in one transaction (one fsync per document, not per name)."""
        if self.problem or not answers:
            return
        now = time.time()
        rows = [(geocoder, q, json.dumps([c.to_dict() for c in cands]), now) for q, cands in answers.items()]
        try:
            with self._write() as con:
                con.executemany("INSERT OR REPLACE INTO geocode VALUES (?,?,?,?)", rows)
            self.stats.writes += len(rows)
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)

    def put(self, geocoder: str, query: str, candidates: list[Candidate]) -> None:
        self.put_many(geocoder, {query: candidates})

    def count(self) -> int:
        if self.problem:
            return 0
        return self._con().execute("SELECT COUNT(*) FROM geocode").fetchone()[0]

    def clear(self) -> None:
        if not self.problem:
            with self._write() as con:
                con.execute("DELETE FROM geocode")


@dataclass(frozen=True, slots=True)
class Correction:
    """A user's choice for a name in a context: another candidate, or ``None`` to drop it."""

    name: str
    context: str
    candidate: Candidate | None


class CorrectionStore(_SQLiteStore):
    """The user's corrections, keyed by normalised name and document context."""

    schema = """
    CREATE TABLE IF NOT EXISTS corrections (
        name TEXT NOT NULL, context TEXT NOT NULL, display TEXT NOT NULL, choice TEXT, updated REAL NOT NULL,
        PRIMARY KEY (name, context)
    ) WITHOUT ROWID;
    """

    def set(self, name: str, context: str, candidate: Candidate | None) -> None:
        """Record a correction (``candidate=None`` means "this is not a place")."""
        choice = json.dumps(candidate.to_dict()) if candidate is not None else None
        if self.problem:
            raise OSError(f"corrections cannot be saved: {self.problem}")
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO corrections VALUES (?,?,?,?,?)",
                (normalize(name), context, name, choice, time.time()),
            )

    def remove(self, name: str, context: str) -> None:
        if not self.problem:
            with self._write() as con:
                con.execute("DELETE FROM corrections WHERE name=? AND context=?", (normalize(name), context))

    def get(self, name: str, context: str) -> Correction | None:
        if self.problem:
            return None
        row = (
            self._con()
            .execute("SELECT display, choice FROM corrections WHERE name=? AND context=?", (normalize(name), context))
            .fetchone()
        )
        if row is None:
            return None
        candidate = Candidate.from_dict(json.loads(row[1])) if row[1] else None
        return Correction(name=row[0], context=context, candidate=candidate)

    def all(self) -> list[Correction]:
        if self.problem:
            return []
        rows = self._con().execute("SELECT display, context, choice FROM corrections ORDER BY updated").fetchall()
        return [Correction(d, c, Candidate.from_dict(json.loads(ch)) if ch else None) for d, c, ch in rows]
