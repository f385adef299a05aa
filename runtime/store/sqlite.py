"""SQLite dialect hooks: WAL, a busy timeout, and BEGIN IMMEDIATE for writers.

Several processes (gateway, Scheduler, RunActors) write one file. Deferred transactions that
later upgrade to a write lock fail with SQLITE_BUSY regardless of the busy timeout, so every
write transaction takes the write lock when it begins.

Writers wait for the lock in short, jittered steps of their own rather than with SQLite's busy
handler, whose sleeps grow to 100 ms: under contention that handler turns a 1 ms wait into tens.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

LOCK_WAIT_SECONDS = 30.0


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue the BEGIN
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _no_busy_wait(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA busy_timeout=0")


def _begin_immediate(conn: Any) -> None:
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    step = 0.0002
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(step * (1 + random.random()))
        step = min(step * 2, 0.004)


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader): the writer begins IMMEDIATE, the reader DEFERRED."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    writer = create_engine(url, poolclass=NullPool if path == ":memory:" else None, **kwargs)
    reader = create_engine(url, **kwargs)
    event.listen(writer, "connect", _on_connect)
    event.listen(writer, "connect", _no_busy_wait)
    event.listen(writer, "begin", _begin_immediate)
    event.listen(reader, "connect", _on_connect)
    event.listen(reader, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return writer, reader
