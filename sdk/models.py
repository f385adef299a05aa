"""What the gateway returns, as typed objects: runs, handles, batches, queues, logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import Field

from tether._wire import WireModel

RunStatus = Literal[
    "DELAYED",
    "QUEUED",
    "DEQUEUED",
    "EXECUTING",
    "WAITING",
    "COMPLETED",
    "CANCELED",
    "FAILED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "EXPIRED",
    "TIMED_OUT",
]
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"COMPLETED", "CANCELED", "FAILED", "CRASHED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"}
)

OutputT = TypeVar("OutputT")


class RunError(WireModel):
    message: str
    name: str | None = None
    stack_trace: str | None = None
    code: str | None = None


class RelatedRun(WireModel):
    id: str
    status: RunStatus
    task_identifier: str


class RelatedRuns(WireModel):
    root: RelatedRun | None = None
    parent: RelatedRun | None = None
    children: list[RelatedRun] = Field(default_factory=list)


class Attempt(WireModel):
    id: str
    number: int
    status: str
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: RunError | None = None


class Run(WireModel, Generic[OutputT]):
    """A run as `runs.retrieve` sees it: status, timestamps, payload, output, error."""

    id: str
    status: RunStatus
    task_identifier: str
    idempotency_key: str | None = None
    version: str | None = None
    is_queued: bool
    is_executing: bool
    is_waiting: bool
    is_completed: bool
    is_success: bool
    is_failed: bool
    is_cancelled: bool
    is_test: bool = False
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    ttl: str | None = None
    tags: list[str] = Field(default_factory=list)
    duration_ms: int = 0
    cost_in_cents: float = 0
    base_cost_in_cents: float = 0
    metadata: dict[str, Any] | None = None
    payload: Any = None
    output: OutputT | None = None
    error: RunError | None = None
    attempt_count: int = 0
    attempts: list[Attempt] = Field(default_factory=list)
    related_runs: RelatedRuns = Field(default_factory=RelatedRuns)
    batch_id: str | None = None
    schedule: RunSchedule | None = None  # the schedule that fired the run
    queue: str | None = None
    concurrency_key: str | None = None
    machine: str | None = None
    depth: int = 0

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class RunPage(WireModel):
    data: list[Run[Any]]
    next_cursor: str | None = None
    previous_cursor: str | None = None


class BatchRun(WireModel):
    id: str
    task_identifier: str | None = None
    is_cached: bool = False


class BatchResult(WireModel):
    id: str
    run_count: int
    runs: list[BatchRun]


class RunSchedule(WireModel):
    id: str
    external_id: str | None = None
    deduplication_key: str | None = None
    generator: dict[str, Any] = Field(default_factory=dict)


class QueueInfo(WireModel):
    id: str
    name: str
    type: Literal["task", "custom"] = "custom"
    running: int = 0
    queued: int = 0
    paused: bool = False
    concurrency_limit: int | None = None
    concurrency: dict[str, Any] = Field(default_factory=dict)


class LogLine(WireModel):
    seq: int
    attempt: int
    level: str
    message: str
    timestamp: datetime
