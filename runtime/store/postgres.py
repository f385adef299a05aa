"""PostgreSQL dialect hooks: psycopg 3, a small pool per process, and NOTIFY for realtime wake-ups."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

NOTIFY_CHANNEL = "tether_events"


def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engines(url: str) -> tuple[Engine, Engine]:
    engine = create_engine(normalize_url(url), pool_size=5, max_overflow=10, pool_pre_ping=True)
    return engine, engine
