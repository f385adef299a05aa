"""The database tables (SQLModel). The store is the source of truth; actors keep only what they can rebuild."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tether.steps import MAX_BRANCH

MAX_STREAM_KEY = 128


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def _json(default: Any = None) -> Any:
    return Field(default=default, sa_column=Column(JSON, nullable=True))


class Environment(SQLModel, table=True):
    __tablename__ = "environments"

    id: str = Field(primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    secret_key: str = Field(unique=True, max_length=256)
    concurrency_limit: int = Field(default=100)
    created_at: datetime | None = _ts(nullable=False)


class WorkerVersion(SQLModel, table=True):
    """A registered set of task code: which modules to import, and the manifest of its tasks."""

    __tablename__ = "worker_versions"
    __table_args__ = (UniqueConstraint("environment_id", "version"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    environment_id: str = Field(index=True)
    version: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    project_root: str
    modules: list[str] = _json(default=[])
    manifest: dict[str, Any] = _json(default={})
    is_current: bool = Field(default=True)
    created_at: datetime | None = _ts(nullable=False)


class QueueRow(SQLModel, table=True):
    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: str = Field(primary_key=True)
    environment_id: str = Field(index=True)
    name: str = Field(max_length=128)
    kind: str = Field(default="task", max_length=16)
    concurrency_limit: int | None = None
    concurrency_key_limit: int = Field(default=1)
    limit_override: int | None = None
    paused: bool = Field(default=False)
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_dequeue", "status", "environment_id", "queue", "concurrency_key", "dequeue_rank"),
        Index("ix_runs_env_created", "environment_id", "id"),
        Index("ix_runs_lease", "status", "lease_expires_at"),
        # One run per schedule and instant, however many Schedulers race to fire it.
        Index("ix_runs_schedule_instant", "schedule_id", "schedule_instant", unique=True),
    )

    id: str = Field(primary_key=True)
    environment_id: str
    task_identifier: str = Field(max_length=128)
    status: str = Field(max_length=16)
    payload: Any = _json()
    output: Any = _json()
    error: dict[str, Any] | None = _json()
    metadata_: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JSON, nullable=True))
    tags: list[str] = _json(default=[])
    options: dict[str, Any] = _json(default={})

    queue: str = Field(max_length=128)
    concurrency_key: str = Field(default="", max_length=256)
    priority: float = Field(default=0)
    dequeue_rank: float = Field(default=0)  # epoch seconds it became available, less its priority
    machine: str = Field(default="small-1x", max_length=32)
    max_attempts: int | None = None
    max_duration: float | None = None
    version: str | None = Field(default=None, max_length=64)
    lock_to_version: str | None = Field(default=None, max_length=64)
    attempt_count: int = Field(default=0)

    idempotency_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    idempotency_slot: str | None = Field(default=None, sa_column=Column(Text, nullable=True, unique=True))
    idempotency_expires_at: datetime | None = _ts()

    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
    queued_at: datetime | None = _ts()
    available_at: datetime | None = _ts()
    delay_until: datetime | None = _ts()
    ttl: str | None = Field(default=None, max_length=32)
    expires_at: datetime | None = _ts()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    expired_at: datetime | None = _ts()
    lease_expires_at: datetime | None = _ts()
    dispatch_token: str | None = Field(default=None, max_length=64)

    batch_id: str | None = Field(default=None, index=True, max_length=64)
    parent_run_id: str | None = Field(default=None, index=True, max_length=64)
    root_run_id: str | None = Field(default=None, max_length=64)
    depth: int = Field(default=0)
    trigger_function: str = Field(default="trigger", max_length=32)
    replayed_from: str | None = Field(default=None, max_length=64)
    schedule_id: str | None = Field(default=None, max_length=64)
    schedule_instant: datetime | None = _ts()


class ScheduleRow(SQLModel, table=True):
    """A cron schedule of a task: declared in code (DECLARATIVE) or made through the API (IMPERATIVE).

    `next_run_at` is its persisted deadline, null while inactive; the Scheduler reads only the
    smallest one, so schedules cost nothing between their instants. `slot` makes a deduplication
    key (or a declared task) name one schedule per environment."""

    __tablename__ = "schedules"

    id: str = Field(primary_key=True, max_length=64)
    environment_id: str = Field(index=True, max_length=64)
    task_identifier: str = Field(max_length=128)
    type: str = Field(max_length=16)
    cron: str = Field(max_length=256)
    timezone: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=256)
    deduplication_key: str | None = Field(default=None, max_length=256)
    slot: str | None = Field(default=None, sa_column=Column(Text, nullable=True, unique=True))
    active: bool = Field(default=True)
    next_run_at: datetime | None = _ts(index=True)
    last_run_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)


class RunTag(SQLModel, table=True):
    __tablename__ = "run_tags"

    run_id: str = Field(primary_key=True)
    tag: str = Field(primary_key=True, max_length=128, index=True)


class AttemptRow(SQLModel, table=True):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: str = Field(primary_key=True)
    run_id: str = Field(index=True)
    number: int
    status: str = Field(max_length=16)
    error: dict[str, Any] | None = _json()
    created_at: datetime | None = _ts(nullable=False)
    completed_at: datetime | None = _ts()


class BatchRow(SQLModel, table=True):
    __tablename__ = "batches"

    id: str = Field(primary_key=True)
    environment_id: str = Field(index=True)
    run_count: int
    items_accepted: int = Field(default=0)
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)


class RunEvent(SQLModel, table=True):
    """Append-only, sequence-numbered log of run changes; the realtime streams read it."""

    __tablename__ = "run_events"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    run_id: str = Field(index=True, max_length=64)
    status: str = Field(max_length=16)
    created_at: datetime | None = _ts(nullable=False)


class StreamChunk(SQLModel, table=True):
    """One chunk of a run's named stream (model tokens, progress lines), in the order it was sent.

    `seq` orders every chunk of every stream, so a reader resumes from the last one it saw."""

    __tablename__ = "stream_chunks"
    __table_args__ = (Index("ix_stream_chunks_run_key_seq", "run_id", "stream_key", "seq"),)

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    run_id: str = Field(max_length=64)
    stream_key: str = Field(max_length=MAX_STREAM_KEY)
    chunk: Any = _json()
    created_at: datetime | None = _ts(nullable=False)


class SpentToken(SQLModel, table=True):
    """A one-time public access token that was used (its `jti`), kept until it would have expired."""

    __tablename__ = "spent_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime | None = _ts(nullable=False, index=True)


class RunLog(SQLModel, table=True):
    __tablename__ = "run_logs"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    run_id: str = Field(index=True, max_length=64)
    attempt: int
    level: str = Field(max_length=16)
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _ts(nullable=False)


class JournalEntry(SQLModel, table=True):
    """One durable call of a run (a step, a wait, a child, a token): its slot is the order in which
    the run's code made the call within its branch ("" for the run's own code, else a path naming
    the parallel code that made it), so a re-execution finds each result where it left it."""

    __tablename__ = "run_journal"

    run_id: str = Field(primary_key=True, max_length=64)
    branch: str = Field(default="", primary_key=True, max_length=MAX_BRANCH)
    slot: int = Field(primary_key=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=256)
    output: Any = _json()
    attempt: int
    created_at: datetime | None = _ts(nullable=False)


class Waitpoint(SQLModel, table=True):
    """Something runs can wait for: a moment (DATETIME), another run's end (RUN), or a token that
    someone completes (MANUAL, with an optional timeout in `complete_after`).

    Status: WAITING, then COMPLETED (or TIMED_OUT for a token). Which runs it blocks is in
    `run_waitpoints`; a run is queued again once none of its waitpoints is WAITING.
    """

    __tablename__ = "waitpoints"
    __table_args__ = (
        Index("ix_waitpoints_due", "status", "complete_after"),
        UniqueConstraint("environment_id", "idempotency_key"),
    )

    id: str = Field(primary_key=True, max_length=64)
    environment_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    complete_after: datetime | None = _ts()
    awaited_run_id: str | None = Field(default=None, index=True, max_length=64)
    output: Any = _json()
    output_is_error: bool = Field(default=False)
    idempotency_key: str | None = Field(default=None, max_length=2048)
    idempotency_key_expires_at: datetime | None = _ts()
    tags: Any = _json()
    callback_secret: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = _ts(nullable=False)
    completed_at: datetime | None = _ts()


class RunWaitpoint(SQLModel, table=True):
    """A WAITING run blocked by a waitpoint; the rows go when the run is released."""

    __tablename__ = "run_waitpoints"

    run_id: str = Field(primary_key=True, max_length=64)
    waitpoint_id: str = Field(primary_key=True, max_length=64, index=True)
    created_at: datetime | None = _ts(nullable=False)


METADATA = SQLModel.metadata
