"""trigger_and_wait: a child triggered once, its parent checkpointed until the child ends."""

from __future__ import annotations

from typing import Any


def _events(records: Any, name: str) -> int:
    return sum(1 for line in records.read() if line.get("event") == name)


def test_a_parent_waits_for_its_child_on_a_queue_of_limit_one(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("parent-waits-for-child", {"n": 21, "record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED"
    assert run.output["output"] == {"doubled": 42} and run.output["ok"] is True
    child = sdk.runs.retrieve(run.output["child"])
    assert child.status == "COMPLETED"
    assert child.version == run.version  # the child runs on its parent's version
    assert [c.id for c in run.related_runs.children] == [child.id]
    assert _events(records, "child") == 1
    assert [a.status for a in run.attempts] == ["COMPLETED"]  # one attempt, resumed after the child


def test_a_parent_retried_after_its_child_ended_does_not_trigger_it_again(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("parent-waits-for-child", {"n": 2, "record": records.path, "crash_after_child": True}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output["output"] == {"doubled": 4}
    assert [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert _events(records, "child") == 1
    assert len(run.related_runs.children) == 1


def test_a_failed_child_gives_a_result_that_is_not_ok(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("parent-of-a-failing-child", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED"
    assert run.output["ok"] is False and run.output["error"] == "this task always fails"
    assert "did not complete: this task always fails" in run.output["raised"]


def test_an_async_parent_waits_for_its_child(sdk: Any) -> None:
    run = sdk.tasks.trigger("async-parent", {}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"child_output": {"hello": "child"}}


def test_outside_a_run_trigger_and_wait_blocks_until_the_run_ends(sdk: Any) -> None:
    result = sdk.tasks.trigger_and_wait("echo", {"plain": True})
    assert result.ok and result.unwrap() == {"plain": True}


def test_cancelling_a_waiting_parent_cancels_and_stops_its_child(sdk: Any, records: Any) -> None:
    from conftest import eventually

    parent = sdk.tasks.trigger("parent-of-a-slow-child", {"record": records.path})
    eventually(lambda: _events(records, "start") == 1, timeout=30)  # the child is executing
    eventually(lambda: sdk.runs.retrieve(parent.id).status == "WAITING", timeout=30)
    child_id = sdk.runs.retrieve(parent.id).related_runs.children[0].id
    assert sdk.runs.cancel(parent.id).status == "CANCELED"
    child = eventually(lambda: c if (c := sdk.runs.retrieve(child_id)).status == "CANCELED" else None, timeout=10)
    assert "parent run" in child.error.message
    import time

    time.sleep(1.0)
    assert _events(records, "end") == 0  # the child's process was stopped


def test_a_retried_parent_does_not_trigger_its_child_twice(sdk: Any) -> None:
    run = sdk.tasks.trigger("retried-parent-with-a-keyed-child", {}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.attempt_count == 2
    assert [c.id for c in run.related_runs.children] == [run.output["child"]]  # the trigger is journalled


def test_batch_trigger_and_wait_returns_every_result_in_item_order(sdk: Any) -> None:
    run = sdk.tasks.trigger("fan-out-and-in", {"n": 3}).wait(timeout=90)
    assert run.status == "COMPLETED"
    assert run.output == {"outputs": [{"i": 0}, {"i": 1}, {"i": 2}], "failed": ["always-fails"]}
    assert len(run.related_runs.children) == 4


def test_a_parent_crashing_after_its_batch_does_not_trigger_it_again(sdk: Any) -> None:
    run = sdk.tasks.trigger("fan-out-and-in", {"n": 2, "crash": True}).wait(timeout=90)
    assert run.status == "COMPLETED" and [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert len(run.related_runs.children) == 3


def test_an_async_task_waits_for_a_batch(sdk: Any) -> None:
    assert sdk.tasks.trigger("async-fan-out", {}).wait(timeout=60).output == [{"n": 1}, {"n": 2}]
