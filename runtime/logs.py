"""Run logs: what task code printed and logged, stored per run and attempt, in order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from tether._wire import iso
from tether.runtime.store.tables import RunLog

_logs = RunLog.__table__
MAX_LINE = 16_384


def write(conn: Connection, lines: list[dict[str, Any]]) -> None:
    if lines:
        for line in lines:
            line["message"] = line["message"][:MAX_LINE]
        conn.execute(insert(_logs), lines)


def read(conn: Connection, run_id: str, limit: int = 10_000) -> list[dict[str, Any]]:
    rows = conn.execute(select(_logs).where(_logs.c.run_id == run_id).order_by(_logs.c.seq).limit(limit))
    return [
        {"seq": r.seq, "attempt": r.attempt, "level": r.level, "message": r.message, "timestamp": iso(r.created_at)}
        for r in rows
    ]
