"""Run statuses and the transitions between them, defined once, as data.

Every status change in the store is a guarded update: `UPDATE runs SET status = :to
WHERE id = :id AND status IN (:allowed_from)`. A transition not listed here cannot happen.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    DELAYED = "DELAYED"
    QUEUED = "QUEUED"
    DEQUEUED = "DEQUEUED"
    EXECUTING = "EXECUTING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    SYSTEM_FAILURE = "SYSTEM_FAILURE"
    EXPIRED = "EXPIRED"
    TIMED_OUT = "TIMED_OUT"


S = RunStatus

TERMINAL: frozenset[RunStatus] = frozenset(
    {S.COMPLETED, S.CANCELED, S.FAILED, S.CRASHED, S.SYSTEM_FAILURE, S.EXPIRED, S.TIMED_OUT}
)
PENDING: frozenset[RunStatus] = frozenset({S.DELAYED, S.QUEUED})
ACTIVE: frozenset[RunStatus] = frozenset({S.DEQUEUED, S.EXECUTING})
UNSUCCESSFUL: frozenset[RunStatus] = TERMINAL - {S.COMPLETED}

# to-status -> the statuses it may be entered from
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.QUEUED: frozenset({S.DELAYED, S.EXECUTING, S.DEQUEUED, S.WAITING}),  # delay due, retry, recovery, resume
    S.DELAYED: frozenset({S.DELAYED}),  # reschedule
    S.DEQUEUED: frozenset({S.QUEUED}),
    S.EXECUTING: frozenset({S.DEQUEUED}),
    S.WAITING: frozenset({S.EXECUTING}),
    S.COMPLETED: frozenset({S.EXECUTING}),
    S.FAILED: frozenset({S.EXECUTING, S.DEQUEUED}),
    S.CRASHED: frozenset({S.EXECUTING, S.DEQUEUED}),
    S.SYSTEM_FAILURE: frozenset({S.QUEUED, S.DEQUEUED, S.EXECUTING, S.WAITING, S.DELAYED}),
    S.TIMED_OUT: frozenset({S.EXECUTING, S.DEQUEUED}),
    S.CANCELED: frozenset({S.DELAYED, S.QUEUED, S.DEQUEUED, S.EXECUTING, S.WAITING}),
    S.EXPIRED: frozenset({S.DELAYED, S.QUEUED}),
}


def allowed_from(to: RunStatus) -> frozenset[RunStatus]:
    return TRANSITIONS[to]


def can_transition(frm: RunStatus, to: RunStatus) -> bool:
    return frm in TRANSITIONS.get(to, frozenset())
