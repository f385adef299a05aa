"""Waits: short ones sleep in the run's process; long ones checkpoint the run, holding no actor or slot."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import ray

from conftest import eventually


def _events(records: Any, name: str) -> int:
    return sum(1 for line in records.read() if line.get("event") == name)


def _steps(records: Any, name: str) -> int:
    return sum(1 for line in records.read() if line.get("step") == name)


def _status_becomes(sdk: Any, run_id: str, status: str, timeout: float = 30) -> Any:
    return eventually(lambda: r if (r := sdk.runs.retrieve(run_id)).status == status else None, timeout=timeout)


def test_a_long_wait_checkpoints_the_run_and_resumes_it_in_the_same_attempt(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("wait-then-finish", {"record": records.path, "seconds": 2.5})
    waiting = _status_becomes(sdk, handle.id, "WAITING")
    assert waiting.is_waiting and _events(records, "after-wait") == 0
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"before": "before", "attempt": 1}
    assert [a.status for a in run.attempts] == ["COMPLETED"]  # one attempt, resumed
    assert _events(records, "body") == 2  # the code re-executed from the top after the checkpoint
    assert _steps(records, "before") == 1  # but the step before the wait was not re-run
    assert _events(records, "after-wait") == 1


def test_an_async_task_waits_and_resumes(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("wait-then-finish-async", {"record": records.path, "seconds": 2})
    _status_becomes(sdk, handle.id, "WAITING")
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"before": "before", "attempt": 1}
    assert _steps(records, "before") == 1


def test_a_short_wait_sleeps_in_the_process_without_a_checkpoint(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("wait-then-finish", {"record": records.path, "seconds": 0.3}).wait(timeout=60)
    assert run.status == "COMPLETED"
    assert _events(records, "body") == 1  # never re-executed: it did not leave its process


def test_a_waiting_run_holds_no_slot_of_its_queue(sdk: Any) -> None:
    waiter = sdk.tasks.trigger("wait-in-a-single-lane", {"seconds": 4})
    _status_becomes(sdk, waiter.id, "WAITING")
    quick = sdk.tasks.trigger("quick-in-a-single-lane", {}).wait(timeout=30)  # the queue's limit is 1
    done = waiter.wait(timeout=60)
    assert quick.status == "COMPLETED" and done.output == "waited"
    assert quick.finished_at < done.finished_at  # it ran in the slot the waiting run had let go


def test_many_waiting_runs_hold_no_actor(stack: Any, sdk: Any) -> None:
    batch = sdk.tasks.batch_trigger([{"task": "wait-then-finish", "payload": {"record": "", "seconds": 300}} for _ in range(50)])
    eventually(lambda: all(sdk.runs.retrieve(r.id).status == "WAITING" for r in batch.runs), timeout=60)
    stats = ray.get(stack.scheduler.stats.remote(), timeout=30)
    assert stats["in_flight"] == 0 and not stats["occupancy"].get("task/wait-then-finish")
    for r in batch.runs:  # a waiting run can be canceled like any other
        assert sdk.runs.cancel(r.id).status == "CANCELED"


def test_wait_until_a_moment_in_the_past_returns_at_once(sdk: Any) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert sdk.tasks.trigger("wait-until", {"when": past}).wait(timeout=60).output == "reached"


def test_wait_until_in_the_past_fails_when_told_to(sdk: Any) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    run = sdk.tasks.trigger("wait-until", {"when": past, "strict": True}, max_attempts=1).wait(timeout=60)
    assert run.status == "FAILED" and "is in the past" in run.error.message


def test_wait_until_a_moment_ahead_checkpoints_until_it(sdk: Any) -> None:
    when = datetime.now(UTC) + timedelta(seconds=2.5)
    handle = sdk.tasks.trigger("wait-until", {"when": when.isoformat()})
    _status_becomes(sdk, handle.id, "WAITING")
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.finished_at >= when


def test_a_waiting_run_can_be_canceled_and_does_not_resume(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("wait-then-finish", {"record": records.path, "seconds": 2})
    _status_becomes(sdk, handle.id, "WAITING")
    assert sdk.runs.cancel(handle.id).status == "CANCELED"
    time.sleep(3)
    assert sdk.runs.retrieve(handle.id).status == "CANCELED"
    assert _events(records, "after-wait") == 0


def test_the_onboarding_flow_of_the_brief_runs_end_to_end(sdk: Any, records: Any) -> None:
    started = time.monotonic()
    run = sdk.tasks.trigger("onboarding", {"record": records.path, "email": "ada@example.com", "seconds": 1.5}).wait(timeout=90)
    assert run.status == "COMPLETED"
    assert run.output["welcome"] == {"welcome": "ada@example.com"} and run.output["offer"] == "offer"
    assert run.finished_at >= datetime.fromisoformat(run.output["offer_at"])
    assert time.monotonic() - started >= 3.0  # both waits were waited
    assert (_steps(records, "tips"), _steps(records, "offer")) == (1, 1)
    assert len(run.related_runs.children) == 1


def test_waits_in_parallel_in_an_async_task(sdk: Any) -> None:
    started = time.monotonic()
    run = sdk.tasks.trigger("parallel-waits", {"seconds": 2}).wait(timeout=90)
    assert run.status == "COMPLETED" and run.output == {"a": {"a": 1}, "b": {"b": 2}}
    assert time.monotonic() - started >= 2.0
    assert len(run.related_runs.children) == 2  # each child triggered once, across the resumes


def test_waits_in_parallel_in_a_sync_task(sdk: Any, records: Any) -> None:
    started = time.monotonic()
    run = sdk.tasks.trigger("parallel-waits-sync", {"record": records.path, "seconds": 2}).wait(timeout=90)
    assert run.status == "COMPLETED", run.error
    assert run.output == {"a": {"a": 1}, "b": {"b": 2}, "steps": "s-2"}
    assert time.monotonic() - started >= 2.0
    assert len(run.related_runs.children) == 2
    assert _steps(records, "s-1") == 1 and _steps(records, "s-2") == 1
    assert _events(records, "body") == 2  # one checkpoint for the two children and the wait together


def test_async_branches_with_several_durable_calls_each_resume_without_repeating_steps(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("parallel-branches-async", {"record": records.path, "seconds": 2}).wait(timeout=90)
    assert run.status == "COMPLETED", run.error
    assert run.output == ["x-2", "y-2", "z-2"]
    assert all(_steps(records, f"{n}-{i}") == 1 for n in "xyz" for i in (1, 2)), records.read()


def test_on_wait_and_on_resume_fire_around_a_checkpoint(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("waits-with-hooks", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED"
    hooks = [line["hook"] for line in records.read() if "hook" in line and line["hook"] != "global_on_failure"]
    assert hooks == ["on_start", "on_wait", "on_resume"]
    waited = next(line["wait"] for line in records.read() if line.get("hook") == "on_wait")
    assert "until" in waited
