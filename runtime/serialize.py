"""Runs as JSON, in the shape of Trigger.dev's retrieve-run and list-runs responses.

Absent optional fields are left out rather than sent as null: Trigger.dev's clients reject null there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tether._wire import as_utc, iso
from tether.runtime.states import RunStatus

S = RunStatus


def _flags(status: str) -> dict[str, bool]:
    return {
        "isQueued": status in (S.QUEUED, S.DELAYED, S.DEQUEUED),
        "isExecuting": status == S.EXECUTING,
        "isWaiting": status == S.WAITING,
        "isCompleted": status in (S.COMPLETED, S.CANCELED, S.FAILED, S.CRASHED, S.SYSTEM_FAILURE, S.EXPIRED, S.TIMED_OUT),
        "isSuccess": status == S.COMPLETED,
        "isFailed": status in (S.FAILED, S.CRASHED, S.SYSTEM_FAILURE, S.EXPIRED, S.TIMED_OUT),
        "isCancelled": status == S.CANCELED,
        "isTest": False,
    }


def _duration_ms(row: Any) -> int:
    started, finished = as_utc(row.started_at), as_utc(row.finished_at)
    if started is None:
        return 0
    end = finished or datetime.now(UTC)
    return max(0, int((end - started).total_seconds() * 1000))


def run_summary(row: Any, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields every run listing carries."""
    body: dict[str, Any] = {
        "id": row.id,
        "status": row.status,
        "taskIdentifier": row.task_identifier,
        **_flags(row.status),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "startedAt": iso(row.started_at),
        "finishedAt": iso(row.finished_at),
        "delayedUntil": iso(row.delay_until),
        "expiredAt": iso(row.expired_at),
        "idempotencyKey": row.idempotency_key,
        "version": row.version,
        "ttl": row.ttl,
        "tags": list(row.tags or []),
        "metadata": row.metadata,
        "batchId": row.batch_id,
        "costInCents": 0,
        "baseCostInCents": 0,
        "durationMs": _duration_ms(row),
        "attemptCount": row.attempt_count,
        "queue": row.queue,
        "concurrencyKey": row.concurrency_key or None,
        "machine": row.machine,
        "depth": row.depth,
        "triggerFunction": row.trigger_function,
    }
    if environment is not None:
        body["env"] = environment
    return {k: v for k, v in body.items() if v is not None}


def _related(small: Any) -> dict[str, Any]:
    body = {
        "id": small.id,
        "status": small.status,
        "taskIdentifier": small.task_identifier,
        **_flags(small.status),
        "createdAt": iso(small.created_at),
        "updatedAt": iso(small.updated_at),
        "tags": [],
        "costInCents": 0,
        "baseCostInCents": 0,
        "durationMs": 0,
        "depth": small.depth,
        "triggerFunction": small.trigger_function,
        "batchId": small.batch_id,
    }
    return {k: v for k, v in body.items() if v is not None}


def run_detail(row: Any, attempts: list[Any], related: dict[str, Any], schedule: dict[str, Any] | None = None) -> dict[str, Any]:
    """The retrieve-run body: the summary plus payload, output, error, attempts, related runs and
    the schedule that fired it."""
    body = run_summary(row)
    body["payload"] = row.payload
    if schedule is not None:
        body["schedule"] = schedule
    if row.status == S.COMPLETED:
        body["output"] = row.output
    if row.error and row.status != S.COMPLETED:
        body["error"] = row.error
    body["attempts"] = [
        {
            k: v
            for k, v in {
                "id": a.id,
                "number": a.number,
                "status": a.status,
                "createdAt": iso(a.created_at),
                "startedAt": iso(a.created_at),
                "completedAt": iso(a.completed_at),
                "error": a.error,
            }.items()
            if v is not None
        }
        for a in attempts
    ]
    relations: dict[str, Any] = {"children": [_related(c) for c in related["children"]]}
    if related["parent"] is not None:
        relations["parent"] = _related(related["parent"])
    if related["root"] is not None:
        relations["root"] = _related(related["root"])
    body["relatedRuns"] = relations
    return body
