"""One SQLite connection per thread, handed on to a later thread once its own has ended.

Streamlit runs every script run (every click) in a new thread. Connections kept per thread
(``threading.local``) were therefore opened afresh on every rerun, each reading its pages again into a new
page cache, and those page caches, allocated and freed by thousands of short-lived threads across glibc's
per-thread arenas, kept the app server's memory growing: in a loop of 1,500 threads doing gazetteer lookups
the process grew from 22 to 153 MB, and stayed at 23 MB with connections reused (``bench/soak.py app``
measures the server). A connection still belongs to one thread at a time, as before.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress


class ThreadConnections:
    """This thread's connection, made by ``connect`` or taken over from a thread that has ended."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._idle: list[sqlite3.Connection] = []  # list.append and list.pop are atomic: no lock (see _release)

    def get(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._reuse() or self._connect()
            self.adopt(con)
        return con

    def adopt(self, con: sqlite3.Connection) -> None:
        """Make ``con`` this thread's connection; it passes to another thread when this one has ended."""
        self._local.con = con
        self._local.finalizer = weakref.finalize(threading.current_thread(), self._release, self._idle, con)

    def drop(self) -> None:
        """Close this thread's connection (the next :meth:`get` here makes or takes another)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            self._local.finalizer.detach()
            self._local.con = self._local.finalizer = None
            con.close()

    def discard_idle(self) -> None:
        """Close the connections no thread holds (say, after the file was replaced)."""
        while True:
            try:
                con = self._idle.pop()
            except IndexError:
                return
            with suppress(sqlite3.Error):
                con.close()

    def _reuse(self) -> sqlite3.Connection | None:
        while True:
            try:
                con = self._idle.pop()
            except IndexError:
                return None
            try:
                if con.in_transaction:  # its thread ended inside one: start clean
                    con.rollback()
                return con
            except sqlite3.Error:
                with suppress(sqlite3.Error):
                    con.close()

    @staticmethod
    def _release(idle: list[sqlite3.Connection], con: sqlite3.Connection) -> None:
        # A finalizer may run in any thread, during garbage collection: it takes no lock.
        idle.append(con)
