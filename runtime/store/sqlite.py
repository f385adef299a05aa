"""SQLite dialect hooks: WAL, a busy timeout, and BEGIN IMMEDIATE for writers.

Several processes (gateway, Scheduler, RunActors) write one file. Deferred transactions that
later upgrade to a write lock fail with SQLITE_BUSY regardless of the busy timeout, so every
write transaction takes the write lock when it begins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue the BEGIN
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader): the writer begins IMMEDIATE, the reader DEFERRED."""
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    writer = create_engine(url, poolclass=NullPool if path == ":memory:" else None, **kwargs)
    reader = create_engine(url, **kwargs)
    for engine, mode in ((writer, "BEGIN IMMEDIATE"), (reader, "BEGIN")):
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", lambda conn, _mode=mode: conn.exec_driver_sql(_mode))
    return writer, reader
