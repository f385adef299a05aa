"""Run streams: named sequences of chunks a run sends while it executes (model tokens, lines of
progress), kept so that a reader who connects late or reconnects gets every chunk, in order, once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from tether._wire import utcnow
from tether.errors import ValidationError
from tether.runtime.store.tables import MAX_STREAM_KEY, StreamChunk

_chunks = StreamChunk.__table__
_c = _chunks.c
_INSERT = insert(_chunks)
_KEY = re.compile(r"^[A-Za-z0-9_.:-]+$")
MAX_CHUNK_BYTES = 64 * 1024


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_STREAM_KEY or not _KEY.match(key):
        raise ValidationError(f"a stream key is 1 to {MAX_STREAM_KEY} letters, digits or _ . : - (like 'llm'), got {key!r}")
    return key


def append(conn: Connection, run_id: str, chunks: Sequence[tuple[str, Any]]) -> None:
    """Store `(key, chunk)` pairs of one run, in order, in one statement."""
    if chunks:
        now = utcnow()
        conn.execute(_INSERT, [{"run_id": run_id, "stream_key": key, "chunk": chunk, "created_at": now} for key, chunk in chunks])


def read(conn: Connection, run_id: str, key: str | None, after: int = 0, limit: int = 1000) -> list[tuple[int, str, Any]]:
    """`(seq, key, chunk)` after `after`, oldest first: of one stream, or of all the run's streams (key None)."""
    query = select(_c.seq, _c.stream_key, _c.chunk).where(_c.run_id == run_id, _c.seq > after)
    if key is not None:
        query = query.where(_c.stream_key == key)
    return [(int(seq), k, chunk) for seq, k, chunk in conn.execute(query.order_by(_c.seq).limit(limit))]
