"""Persistent stores under ``cache/``: geocoding answers, the app's readings and the user's corrections.

All are SQLite in WAL mode with a generous busy timeout and short
``BEGIN IMMEDIATE`` transactions, so many processes and threads can read and
write at once without "database is locked". They are separate files on
purpose: the geocode cache is rebuildable and is set aside and started afresh
when found corrupt; the corrections are the user's work, so a corrupt
corrections file is set aside too (never deleted) and the store says so in
``problem``.

When the directory cannot be written (read-only, full disk) a store keeps
serving what it already has (read-only if need be), says why in ``problem``
and stops writing: the geocode cache quietly, the corrections with a
one-line :class:`StoreError` the UI can show.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from geo.model import Candidate, Result
from geo.names import normalize

try:
    import fcntl
except ImportError:  # Windows: set-asides are not serialised between processes
    fcntl = None

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 60_000
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_MAX_SET_ASIDE = 3  # a file that is corrupt again right after being started afresh is not a corruption problem


class StoreError(OSError):
    """Something could not be saved; the message is one line, fit to show the user."""


class _Damaged(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` found the file damaged."""


def _code(exc: BaseException) -> int:
    """The primary SQLite result code of an error (-1 when it has none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _disk_full(directory: Path) -> bool:
    """Whether the disk is (all but) full: SQLite reports some failures there as plain I/O errors."""
    try:
        return shutil.disk_usage(directory).free < 64 * 1024
    except OSError:
        return False


def _empty_or_absent(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


@contextmanager
def _directory_lock(directory: Path, *, shared: bool = False) -> Iterator[None]:
    """A lock on the directory: shared while a process opens and checks a store, exclusive to set one aside.

    SQLite finds a database's -wal by its path, not by the file it has open. A process that opened the
    damaged file just before another moved it aside would pair that file with the fresh store's -wal, and
    its checkpoint would write the fresh store's pages into the set-aside copy. The lock keeps a move
    from falling between another process's open and its check.
    """
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(directory, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except OSError:
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the lock


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` now (device, inode), or None when there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _SQLiteStore:
    """One SQLite file, one connection per thread, WAL mode, corruption and write-failure handling."""

    schema = ""  # one CREATE TABLE IF NOT EXISTS statement
    indexes: tuple[str, ...] = ()  # CREATE INDEX IF NOT EXISTS statements
    table = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problem: str | None = None
        self.writable = False
        self.readable = False
        self._uri: str | None = None  # set when only a read-only connection could be had
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except (sqlite3.Error, OSError) as exc:
            self._open_read_only(exc)

    # -- opening -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        target, uri = (self._uri, True) if self._uri else (str(self.path), False)
        con = sqlite3.connect(
            target, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if not self._uri:
                con.execute("PRAGMA synchronous=NORMAL")  # safe in WAL: a killed process loses no commit
        except sqlite3.Error:
            con.close()
            raise
        return con

    def _open(self) -> None:
        """Open read-write; wait out other processes' locks, set a corrupt file aside and start afresh."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay, set_aside = 0.01, 0
        while True:
            with _directory_lock(self.path.parent, shared=True):
                try:
                    con = self._connect()
                    try:
                        self._prepare(con)
                    except BaseException:
                        con.close()
                        raise
                except sqlite3.Error as exc:
                    error, failed = exc, _identity(self.path)  # no one moves the file while we hold the lock
                else:
                    error = None
            if error is None:
                break
            corrupt = isinstance(error, _Damaged) or _code(error) in _CORRUPT
            retry = _code(error) in _BUSY or (corrupt and set_aside < _MAX_SET_ASIDE)
            if not retry or time.monotonic() >= deadline:
                raise error
            if corrupt and self._set_aside(error, failed):
                set_aside += 1
                continue
            # Busy (another process is creating or checkpointing the file), or another process set the
            # damaged file aside first: look again shortly.
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        self._local.con = con
        self.readable = self.writable = True

    def _prepare(self, con: sqlite3.Connection) -> None:
        """Check the file, switch it to WAL, create the table, and make sure the file can be written."""
        check = con.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _Damaged(f"integrity check failed: {check}")
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN IMMEDIATE")  # one process at a time creates the table: no lost race
        try:
            exists = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (self.table,)).fetchone()
            con.execute(self.schema)
            self._migrate(con)
            for statement in self.indexes:
                con.execute(statement)
            # A read-only file can still be opened and locked; only a write tells. Rolled back if nothing was new.
            version = con.execute("PRAGMA user_version").fetchone()[0]
            con.execute(f"PRAGMA user_version={int(version)}")
            con.execute("COMMIT" if not exists or self.indexes else "ROLLBACK")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def _migrate(self, con: sqlite3.Connection) -> None:
        """Bring a table made by an older version up to date (inside the creating transaction)."""

    def _open_read_only(self, cause: BaseException) -> None:
        """Serve what the file has without writing; ``problem`` says why."""
        self.writable = False
        uris = [f"file:{quote(str(self.path))}?mode=ro"]
        if _empty_or_absent(Path(f"{self.path}-wal")):
            # Without -shm and -wal a WAL file cannot be opened on a read-only disk, except as immutable
            # (safe: with no -wal, the main file holds every commit).
            uris.append(uris[0] + "&immutable=1")
        for uri in uris if not _empty_or_absent(self.path) else ():
            self._uri = uri
            try:
                con = self._connect()
            except sqlite3.Error:
                continue
            try:
                con.execute(f"SELECT 1 FROM {self.table} LIMIT 1").fetchall()
            except sqlite3.Error:
                con.close()
                continue
            self._local.con = con
            self.readable = True
            break
        else:
            self._uri = None
        self._report(cause)

    def _describe(self, exc: BaseException) -> str:
        """Why a write failed, in words: read-only, disk full, or SQLite's own message."""
        code, err = _code(exc), getattr(exc, "errno", None)
        if code == sqlite3.SQLITE_READONLY or err == errno.EROFS or not os.access(self.path.parent, os.W_OK):
            return f"{self.path} is read-only"
        if code == sqlite3.SQLITE_FULL or err == errno.ENOSPC or _disk_full(self.path.parent):
            return f"the disk holding {self.path} is full"
        return f"{self.path} cannot be written ({_one_line(exc)})"

    def _report(self, exc: BaseException) -> None:
        self.problem = f"{self._describe(exc)}: {self._consequence()}"
        log.warning(self.problem)

    def _consequence(self) -> str:
        return "nothing is saved" if self.readable else "nothing is read or saved"

    # -- setting a corrupt file aside -----------------------------------------------------------
    def _set_aside(self, exc: BaseException, failed: tuple[int, int] | None) -> bool:
        """Move the unreadable file (and its -wal, -shm) to ``<name>.corrupt-<time>``; never delete it.

        Only the very file that failed (``failed``: device and inode) is moved: if another process has
        already set it aside and started afresh, the fresh store is left alone. Returns whether a file moved.
        """
        with _directory_lock(self.path.parent):
            if failed is None or _identity(self.path) != failed or self._healthy():
                return False  # another process set it aside and started afresh while we waited
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            n = 1
            while aside.exists():
                n += 1
                aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    src.replace(Path(f"{aside}{suffix}"))
        self._set_aside_done(aside, exc)
        return True

    def _set_aside_done(self, aside: Path, exc: BaseException) -> None:
        log.warning("%s is unreadable (%s); moved to %s and started afresh", self.path, _one_line(exc), aside.name)

    def _healthy(self) -> bool:
        """Whether the file at the path now is absent or passes the check (looked at with a new connection)."""
        if not self.path.exists():
            return True
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                return con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            finally:
                con.close()
        except sqlite3.Error as exc:
            return _code(exc) in _BUSY  # busy, not corrupt: let the caller look again

    # -- using ---------------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        """This thread's connection. A new one reads the file under the shared directory lock, so its -wal
        is opened beside the very file it opened, never beside a fresh store made after a set-aside."""
        con = getattr(self._local, "con", None)
        if con is None:
            with _directory_lock(self.path.parent, shared=True):
                con = self._connect()
                try:
                    con.execute("PRAGMA schema_version").fetchone()
                except BaseException:
                    con.close()
                    raise
            self._local.con = con
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short IMMEDIATE transaction: writers queue on the lock instead of failing."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:  # SQLite may already have rolled back (disk full)
                with suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
            raise

    def _read_failed(self, exc: BaseException) -> None:
        self.readable = self.writable = False
        self.problem = f"{self.path} cannot be read ({_one_line(exc)}): {self._consequence()}"
        log.warning(self.problem)

    def _write_failed(self, exc: BaseException) -> None:
        """Degrade quietly (the caches): stop writing and say why in ``problem``; the engine works without."""
        self.writable = False
        self._report(exc)

    def count(self) -> int:
        """Rows in the store's table (0 when it cannot be read)."""
        if not self.readable:
            return 0
        try:
            return self._con().execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return 0

    def close(self) -> None:
        """Close this thread's connection (a later call opens a new one)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            self._local.con = None
            con.close()


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0


DEFAULT_GEOCODE_CACHE_MAX = 200_000
"""Most answers the geocode cache keeps (about 150 MB on disk); ``DATELINE_GEOCODE_CACHE_MAX`` overrides it."""

TOUCH_AFTER_S = 3600.0
"""A cache hit renews an entry's last-use time only when it is older than this: least-recently-used to the
hour, at one small write per entry per hour instead of one per hit."""


def geocode_cache_max() -> int:
    """The cap from ``DATELINE_GEOCODE_CACHE_MAX`` (a positive number of entries), else the default."""
    raw = os.environ.get("DATELINE_GEOCODE_CACHE_MAX", "").strip()
    try:
        value = int(raw.replace("_", "")) if raw else DEFAULT_GEOCODE_CACHE_MAX
    except ValueError:
        log.warning("DATELINE_GEOCODE_CACHE_MAX=%r is not a number; using %d", raw, DEFAULT_GEOCODE_CACHE_MAX)
        return DEFAULT_GEOCODE_CACHE_MAX
    return max(1, value)


class GeocodeCache(_SQLiteStore):
    """Geocoding answers keyed by (geocoder, query). Only successful answers are stored.

    At most ``max_entries`` answers are kept: when a write goes over, the least recently used
    tenth is pruned (``used`` is the time of the last write or hit, to the hour), so a server
    that runs for months over novel names holds a bounded file.

    Never raises for the disk: when it cannot write, ``problem`` says why and
    answers are simply not cached any more.
    """

    table = "geocode"
    schema = """
    CREATE TABLE IF NOT EXISTS geocode (
        geocoder TEXT NOT NULL, query TEXT NOT NULL, answer TEXT NOT NULL, used REAL NOT NULL,
        PRIMARY KEY (geocoder, query)
    ) WITHOUT ROWID
    """
    indexes = ("CREATE INDEX IF NOT EXISTS geocode_used ON geocode (used)",)

    def __init__(self, path: Path, max_entries: int | None = None) -> None:
        self.stats = CacheStats()
        self.max_entries = max_entries if max_entries is not None else geocode_cache_max()
        self._stats_lock = threading.Lock()
        super().__init__(path)
        self._entries = self.count()  # an upper bound between prunings (replaced rows count twice)

    def _migrate(self, con: sqlite3.Connection) -> None:
        columns = {row[1] for row in con.execute("PRAGMA table_info(geocode)")}
        if "created" in columns:  # before the size cap, the time was only the time of writing
            con.execute("ALTER TABLE geocode RENAME COLUMN created TO used")

    def _consequence(self) -> str:
        return "geocoding answers are not cached" if self.readable else "geocoding answers are not cached or reused"

    def _count(self, field: str, n: int = 1) -> None:
        with self._stats_lock:  # many threads share one engine
            setattr(self.stats, field, getattr(self.stats, field) + n)

    def get(self, geocoder: str, query: str) -> list[Candidate] | None:
        row = None
        if self.readable:
            try:
                row = (
                    self._con()
                    .execute("SELECT answer, used FROM geocode WHERE geocoder=? AND query=?", (geocoder, query))
                    .fetchone()
                )
            except sqlite3.Error as exc:
                self._read_failed(exc)
        if row is None:
            self._count("misses")
            return None
        self._count("hits")
        if time.time() - row[1] > TOUCH_AFTER_S:
            self._touch(geocoder, query)
        return [Candidate.from_dict(d) for d in json.loads(row[0])]

    def _touch(self, geocoder: str, query: str) -> None:
        if not self.writable:
            return
        try:
            with self._write() as con:
                con.execute("UPDATE geocode SET used=? WHERE geocoder=? AND query=?", (time.time(), geocoder, query))
        except (sqlite3.Error, OSError) as exc:
            self._write_failed(exc)

    def put_many(self, geocoder: str, answers: dict[str, list[Candidate]]) -> None:
        """Store several answers in one transaction (one commit per document, not per name)."""
        if not self.writable or not answers:
            return
        now = time.time()
        rows = [(geocoder, q, json.dumps([c.to_dict() for c in cands]), now) for q, cands in answers.items()]
        try:
            with self._write() as con:
                con.executemany("INSERT OR REPLACE INTO geocode VALUES (?,?,?,?)", rows)
                self._entries += len(rows)
                if self._entries > self.max_entries:
                    self._entries = self._prune(con)
        except (sqlite3.Error, OSError) as exc:
            self._write_failed(exc)
            return
        self._count("writes", len(rows))

    def _prune(self, con: sqlite3.Connection) -> int:
        """Drop the least recently used entries down to nine tenths of the cap; returns how many are left."""
        total = con.execute("SELECT COUNT(*) FROM geocode").fetchone()[0]
        if total <= self.max_entries:
            return total
        keep = self.max_entries - self.max_entries // 10
        con.execute(
            "DELETE FROM geocode WHERE (geocoder, query) IN "
            "(SELECT geocoder, query FROM geocode ORDER BY used LIMIT ?)",
            (total - keep,),
        )
        log.info("geocode cache: pruned %d least recently used answers", total - keep)
        return keep

    def put(self, geocoder: str, query: str, candidates: list[Candidate]) -> None:
        self.put_many(geocoder, {query: candidates})

    def clear(self) -> None:
        if self.writable:
            try:
                with self._write() as con:
                    con.execute("DELETE FROM geocode")
            except (sqlite3.Error, OSError) as exc:
                self._write_failed(exc)


DEFAULT_READINGS_MAX = 256


class ReadingCache(_SQLiteStore):
    """The app's readings of whole articles, so a new server shows an article it read before without loading
    spaCy (about 1.5 s before a reader's first map).

    The key is the caller's: it must cover everything the reading depends on (the engine's
    :attr:`~geo.pipeline.Engine.fingerprint`, the corrections, the options and the text), so a kept reading is
    exactly the one the engine would give now. At most ``max_entries`` readings are kept, the least recently
    used go first. Like the geocode cache it never raises for the disk: it stops writing and says why in
    ``problem``, and a reading that cannot be read back is simply made again.
    """

    table = "readings"
    schema = """
    CREATE TABLE IF NOT EXISTS readings (key TEXT PRIMARY KEY, result TEXT NOT NULL, used REAL NOT NULL)
    WITHOUT ROWID
    """
    indexes = ("CREATE INDEX IF NOT EXISTS readings_used ON readings (used)",)

    def __init__(self, path: Path, max_entries: int = DEFAULT_READINGS_MAX) -> None:
        self.max_entries = max(1, max_entries)
        super().__init__(path)

    def _consequence(self) -> str:
        return "readings are not kept" if self.readable else "readings are not kept or reused"

    def get(self, key: str) -> Result | None:
        if not self.readable:
            return None
        try:
            row = self._con().execute("SELECT result, used FROM readings WHERE key=?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        if row is None:
            return None
        try:
            result = Result.from_dict(json.loads(row[0]))
        except (ValueError, KeyError, TypeError, IndexError):  # written by another version, or damaged
            log.warning("a kept reading could not be read back; it is made again")
            return None
        if time.time() - row[1] > TOUCH_AFTER_S:
            self._save(lambda con: con.execute("UPDATE readings SET used=? WHERE key=?", (time.time(), key)))
        return result

    def put(self, key: str, result: Result) -> None:
        row = (key, json.dumps(result.to_dict()), time.time())  # \u escapes: any text stores

        def add(con: sqlite3.Connection) -> None:
            """The reading, then the least recently used readings over the cap go."""
            con.execute("INSERT OR REPLACE INTO readings VALUES (?,?,?)", row)
            over = con.execute("SELECT COUNT(*) FROM readings").fetchone()[0] - self.max_entries
            if over > 0:
                con.execute("DELETE FROM readings WHERE key IN (SELECT key FROM readings ORDER BY used LIMIT ?)",
                            (over,))

        self._save(add)

    def _save(self, change: Callable[[sqlite3.Connection], object]) -> None:
        """One short write transaction; a failure stops writing (``problem`` says why)."""
        if not self.writable:
            return
        try:
            with self._write() as con:
                change(con)
        except (sqlite3.Error, OSError) as exc:
            self._write_failed(exc)


@dataclass(frozen=True, slots=True)
class Correction:
    """A user's choice for a name in a context: another candidate, or ``None`` to drop it."""

    name: str
    context: str
    candidate: Candidate | None


class CorrectionStore(_SQLiteStore):
    """The user's corrections, keyed by normalised name and document context.

    Saving raises :class:`StoreError` (one line) when the disk refuses; the
    saved corrections keep applying (read-only if need be).
    """

    table = "corrections"
    schema = """
    CREATE TABLE IF NOT EXISTS corrections (
        name TEXT NOT NULL, context TEXT NOT NULL, display TEXT NOT NULL, choice TEXT, updated REAL NOT NULL,
        PRIMARY KEY (name, context)
    ) WITHOUT ROWID
    """

    def _consequence(self) -> str:
        if self.readable:
            return "saved corrections apply, new ones cannot be saved"
        return "corrections can be neither applied nor saved"

    def _set_aside_done(self, aside: Path, exc: BaseException) -> None:
        self.problem = (
            f"{self.path.name} could not be read ({_one_line(exc)}) and was moved to {aside.name} in "
            f"{aside.parent}; the corrections saved before are in that file, new ones are saved again"
        )
        log.warning(self.problem)

    def _save(self, verb: str, sql: str, params: tuple) -> None:
        if not self.writable:
            raise StoreError(f"Correction not {verb}: {self.problem or f'{self.path} cannot be written'}")
        try:
            with self._write() as con:
                con.execute(sql, params)
        except (sqlite3.Error, OSError) as exc:
            message = f"Correction not {verb}: {self._describe(exc)}"
            log.warning(message)
            raise StoreError(message) from exc

    def set(self, name: str, context: str, candidate: Candidate | None) -> None:
        """Record a correction (``candidate=None`` means "this is not a place"); :class:`StoreError` if not saved."""
        choice = json.dumps(candidate.to_dict()) if candidate is not None else None
        self._save(
            "saved",
            "INSERT OR REPLACE INTO corrections VALUES (?,?,?,?,?)",
            (normalize(name), context, name, choice, time.time()),
        )

    def remove(self, name: str, context: str) -> None:
        """Forget a correction; :class:`StoreError` if the file cannot be written."""
        self._save("removed", "DELETE FROM corrections WHERE name=? AND context=?", (normalize(name), context))

    def get(self, name: str, context: str) -> Correction | None:
        if not self.readable:
            return None
        try:
            row = (
                self._con()
                .execute(
                    "SELECT display, choice FROM corrections WHERE name=? AND context=?", (normalize(name), context)
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        if row is None:
            return None
        candidate = Candidate.from_dict(json.loads(row[1])) if row[1] else None
        return Correction(name=row[0], context=context, candidate=candidate)

    def all(self) -> list[Correction]:
        if not self.readable:
            return []
        try:
            rows = self._con().execute("SELECT display, context, choice FROM corrections ORDER BY updated").fetchall()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return []
        return [Correction(d, c, Candidate.from_dict(json.loads(ch)) if ch else None) for d, c, ch in rows]
