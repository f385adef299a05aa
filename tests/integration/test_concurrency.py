"""Queue concurrency: limits hold at every instant, concurrency keys get lanes, lanes take fair turns."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import max_overlap


def _wait_all(sdk: Any, ids: list[str], timeout: float = 120) -> list[Any]:
    return [sdk.RunHandle(i, "").wait(timeout=timeout) for i in ids]


def test_a_queue_concurrency_limit_is_never_exceeded(sdk: Any, records: Any) -> None:
    result = sdk.tasks.batch_trigger(
        [{"task": "limited-sleep", "payload": {"record": records.path, "seconds": 0.3, "key": i}} for i in range(8)]
    )
    runs = _wait_all(sdk, [r.id for r in result.runs])
    assert all(r.status == "COMPLETED" for r in runs)
    lines = records.read()
    assert len(lines) == 16
    assert max_overlap(lines) == 2  # limit 2, and enough work that both slots were used


def test_runs_sharing_a_concurrency_key_are_serialized(sdk: Any, records: Any) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:6]}"
    handles = [
        sdk.tasks.trigger("sleep", {"record": records.path, "seconds": 0.2, "key": i}, concurrency_key=tenant)
        for i in range(4)
    ]
    _wait_all(sdk, [h.id for h in handles])
    assert max_overlap(records.read()) == 1


def test_a_tenant_with_one_run_is_not_starved_behind_a_tenant_with_two_hundred(sdk: Any, records: Any) -> None:
    """Three tenants share a queue of limit 2; each tenant's lane holds one run at a time."""
    big = [
        {"task": "tenant-sleep", "payload": {"record": records.path, "seconds": 0.05, "key": "big"}, "options": {"concurrency_key": "big"}}
        for _ in range(200)
    ]
    medium = [
        {"task": "tenant-sleep", "payload": {"record": records.path, "seconds": 0.05, "key": "medium"}, "options": {"concurrency_key": "medium"}}
        for _ in range(20)
    ]
    sdk.tasks.batch_trigger(big)
    sdk.tasks.batch_trigger(medium)
    small = sdk.tasks.trigger("tenant-sleep", {"record": records.path, "seconds": 0.05, "key": "small"}, concurrency_key="small")
    assert small.wait(timeout=120).status == "COMPLETED"
    lines = records.read()
    starts = [line["key"] for line in lines if line["event"] == "start"]
    small_position = starts.index("small")
    # Round-robin: the small tenant waits at most one turn of each other lane, not the big backlog.
    assert small_position <= 6, starts[: small_position + 1]
    page = sdk.runs.list(task_identifier="tenant-sleep", status=["QUEUED"], limit=100)
    assert len(page.data) > 0, "the big tenant's backlog should still be queued when the small run finished"
    # Let the backlog drain so later tests have the cluster to themselves; check the limits held throughout.
    deadline_ids = [r.id for r in sdk.runs.iterate(task_identifier="tenant-sleep", status=["QUEUED", "DEQUEUED", "EXECUTING"])]
    _wait_all(sdk, deadline_ids, timeout=300)
    lines = records.read()
    assert max_overlap(lines) <= 2
    for key in ("big", "medium", "small"):
        assert max_overlap([line for line in lines if line["key"] == key]) == 1


def test_an_overridden_queue_limit_applies_and_resets(sdk: Any) -> None:
    info = sdk.queues.override_concurrency_limit("limited", 5)
    assert info.concurrency_limit == 5
    assert sdk.queues.retrieve("limited").concurrency_limit == 5
    info = sdk.queues.reset_concurrency_limit("limited")
    assert info.concurrency_limit == 2


def test_a_paused_queue_starts_nothing_until_resumed(sdk: Any, records: Any) -> None:
    import time

    sdk.queues.pause("limited")
    try:
        handle = sdk.tasks.trigger("limited-sleep", {"record": records.path, "seconds": 0.01})
        time.sleep(1.5)
        assert sdk.runs.retrieve(handle.id).status == "QUEUED"
        assert sdk.queues.retrieve("limited").paused is True
    finally:
        sdk.queues.resume("limited")
    assert handle.wait(timeout=60).status == "COMPLETED"


def test_queues_are_listed_with_their_counts(sdk: Any) -> None:
    names = {q.name for q in sdk.queues.list()}
    assert {"limited", "tenants", "task/echo"} <= names


def test_a_paused_queue_refuses_a_dequeue_even_from_a_scheduler_that_has_not_heard_of_the_pause(stack: Any, sdk: Any) -> None:
    from tether.runtime import lifecycle

    sdk.queues.pause("limited")
    try:
        handle = sdk.tasks.trigger("limited-sleep", {"seconds": 0.01})
        with stack.store.write() as conn:  # what a Scheduler with a stale view of the queues would do
            assert lifecycle.dequeue(conn, [handle.id], token="stale-view", version=stack.version, lease=5.0) == []
        assert sdk.runs.retrieve(handle.id).status == "QUEUED"
    finally:
        sdk.queues.resume("limited")
    assert handle.wait(timeout=60).status == "COMPLETED"
