"""geo.connections: a thread's SQLite connection passes to a later thread once its own has ended."""

from __future__ import annotations

import gc
import sqlite3
import threading
from pathlib import Path

from geo.connections import ThreadConnections


def pool(path: Path) -> tuple[ThreadConnections, list[sqlite3.Connection]]:
    made: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        made.append(con)
        return con

    return ThreadConnections(connect), made


def in_thread(connections: ThreadConnections, work=lambda con: None) -> sqlite3.Connection:
    got: list[sqlite3.Connection] = []

    def run() -> None:
        con = connections.get()
        assert connections.get() is con  # the same one for the whole thread
        work(con)
        got.append(con)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    del thread
    gc.collect()
    return got[0]


def test_threads_one_after_another_share_one_connection(tmp_path: Path) -> None:
    """Streamlit runs each rerun in a new thread: a thousand reruns must not mean a thousand connections."""
    connections, made = pool(tmp_path / "x.sqlite3")
    first = in_thread(connections, lambda con: con.execute("CREATE TABLE t (v)"))
    for _ in range(50):
        assert in_thread(connections, lambda con: con.execute("SELECT * FROM t").fetchall()) is first
    assert len(made) == 1


def test_threads_at_the_same_time_never_share(tmp_path: Path) -> None:
    connections, made = pool(tmp_path / "x.sqlite3")
    mine = connections.get()
    inside = threading.Event()
    release = threading.Event()
    seen: list[sqlite3.Connection] = []

    def hold() -> None:
        seen.append(connections.get())
        inside.set()
        release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        inside.clear()
        t.start()
        assert inside.wait(5)
    release.set()
    for t in threads:
        t.join()
    assert len({id(c) for c in [mine, *seen]}) == 4 and len(made) == 4


def test_an_open_transaction_is_not_handed_on(tmp_path: Path) -> None:
    connections, _ = pool(tmp_path / "x.sqlite3")
    in_thread(connections, lambda con: con.execute("CREATE TABLE t (v)"))
    in_thread(connections, lambda con: (con.execute("BEGIN"), con.execute("INSERT INTO t VALUES (1)")))
    con = in_thread(connections)
    assert not con.in_transaction
    assert con.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)  # rolled back, not committed


def test_drop_closes_this_threads_connection_and_it_is_not_reused(tmp_path: Path) -> None:
    connections, made = pool(tmp_path / "x.sqlite3")

    def drop(con: sqlite3.Connection) -> None:
        connections.drop()

    in_thread(connections, drop)
    fresh = in_thread(connections)
    assert fresh is made[1] and len(made) == 2
    fresh.execute("SELECT 1")  # a working connection, not the closed one
    connections.discard_idle()
    assert in_thread(connections) is made[2]
