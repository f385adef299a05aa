"""Queues: a named concurrency limit shared by the tasks (and runs) that use it."""

from __future__ import annotations

import builtins

from pydantic import BaseModel, ConfigDict, Field

from tether import _calls
from tether.client import send
from tether.models import QueueInfo


class Queue(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-/]+$")
    concurrency_limit: int | None = Field(default=None, ge=0, le=100_000)
    concurrency_key_limit: int = Field(default=1, ge=1, le=100_000)


def queue(name: str, concurrency_limit: int | None = None, *, concurrency_key_limit: int = 1) -> Queue:
    """Declare a queue.

    `concurrency_limit` caps the runs executing at once across the queue (None = the
    environment's limit). Runs that share a `concurrency_key` get their own lane inside the
    queue holding at most `concurrency_key_limit` of them at a time.

        emails = queue("emails", concurrency_limit=50)
    """
    return Queue(name=name, concurrency_limit=concurrency_limit, concurrency_key_limit=concurrency_key_limit)


# Managing queues at run time: `tether.queues.list()`, `pause("emails")`, ...


def list() -> builtins.list[QueueInfo]:  # noqa: A001
    """Every queue of the environment with its running and queued counts."""
    return [QueueInfo.model_validate(q) for q in send(_calls.list_queues())["data"]]


def retrieve(name: str) -> QueueInfo:
    return QueueInfo.model_validate(send(_calls.retrieve_queue(name)))


def pause(name: str) -> QueueInfo:
    """Stop starting runs from the queue; running ones finish, queued ones wait."""
    return QueueInfo.model_validate(send(_calls.pause_queue(name, True)))


def resume(name: str) -> QueueInfo:
    return QueueInfo.model_validate(send(_calls.pause_queue(name, False)))


def override_concurrency_limit(name: str, limit: int) -> QueueInfo:
    return QueueInfo.model_validate(send(_calls.override_queue_limit(name, limit)))


def reset_concurrency_limit(name: str) -> QueueInfo:
    return QueueInfo.model_validate(send(_calls.reset_queue_limit(name)))
