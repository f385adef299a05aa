"""Delays, TTLs, rescheduling, cancelling, max_duration, replay, tags and listing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import eventually, process_alive


def test_a_delayed_run_waits_until_it_is_due(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", "later", delay="2s")
    run = sdk.runs.retrieve(handle.id)
    assert run.status == "DELAYED" and run.delayed_until is not None
    assert run.is_queued
    done = handle.wait(timeout=60)
    assert done.status == "COMPLETED"
    assert done.started_at >= run.delayed_until - timedelta(milliseconds=50)


def test_a_delay_may_be_a_datetime(sdk: Any) -> None:
    when = datetime.now(UTC) + timedelta(seconds=1)
    run = sdk.tasks.trigger("echo", 1, delay=when).wait(timeout=60)
    assert run.status == "COMPLETED" and run.started_at >= when - timedelta(milliseconds=50)


def test_a_run_not_started_within_its_ttl_expires(sdk: Any) -> None:
    sdk.queues.pause("limited")
    try:
        handle = sdk.tasks.trigger("limited-sleep", {"seconds": 0}, ttl="1s")
        run = handle.wait(timeout=30)
    finally:
        sdk.queues.resume("limited")
    assert run.status == "EXPIRED" and run.expired_at is not None and run.attempt_count == 0
    assert run.ttl == "1s"


def test_reschedule_moves_a_delayed_run(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", 1, delay="1h")
    moved = sdk.runs.reschedule(handle.id, "1s")
    assert moved.status == "DELAYED"
    assert moved.delayed_until < datetime.now(UTC) + timedelta(seconds=5)
    assert handle.wait(timeout=60).status == "COMPLETED"


def test_reschedule_refuses_a_run_that_is_not_delayed(sdk: Any, http: Any) -> None:
    handle = sdk.tasks.trigger("echo", 1)
    handle.wait(timeout=60)
    response = http.post(f"/api/v1/runs/{handle.id}/reschedule", json={"delay": "10s"})
    assert response.status_code == 409
    assert "only DELAYED runs" in response.json()["error"]


def test_cancel_a_queued_run(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", 1, delay="1h")
    run = sdk.runs.cancel(handle.id)
    assert run.status == "CANCELED" and run.is_cancelled and run.finished_at is not None
    time.sleep(0.5)
    assert sdk.runs.retrieve(handle.id).status == "CANCELED"


def test_cancel_stops_an_executing_run(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("sleep", {"record": records.path, "seconds": 30})
    deadline = time.monotonic() + 60
    while sdk.runs.retrieve(handle.id).status != "EXECUTING":
        assert time.monotonic() < deadline, "run never started"
        time.sleep(0.1)
    started = time.monotonic()
    assert sdk.runs.cancel(handle.id).status == "CANCELED"
    time.sleep(1.0)
    run = sdk.runs.retrieve(handle.id)
    assert run.status == "CANCELED" and run.output is None
    # The project's global on_failure hook hears about the cancel, with the reason.
    hooks = eventually(lambda: [line["reason"] for line in records.read() if line.get("hook") == "global_on_failure"])
    assert hooks == ["CANCELED"]
    assert [line["event"] for line in records.read() if "event" in line] == ["start"]  # the body never reached its end
    assert time.monotonic() - started < 10
    # Only the run's process was killed: its RunActor (whose zygote forked it) lives on for the next run.
    start = next(line for line in records.read() if line.get("event") == "start")
    assert not process_alive(start["pid"]) and process_alive(start["ppid"])


def test_cancel_of_a_finished_run_changes_nothing(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", 1)
    handle.wait(timeout=60)
    assert sdk.runs.cancel(handle.id).status == "COMPLETED"


@pytest.mark.parametrize("task_id", ["too-slow", "too-slow-async"])
def test_max_duration_times_the_run_out(sdk: Any, records: Any, task_id: str) -> None:
    started = time.monotonic()
    run = sdk.tasks.trigger(task_id, {"record": records.path, "seconds": 30}).wait(timeout=60)
    assert run.status == "TIMED_OUT"
    assert "max_duration" in run.error.message
    assert run.attempt_count == 1
    assert time.monotonic() - started < 20
    assert "end" not in [line.get("event") for line in records.read()]
    # The overrun process is retired (a sync body cannot be stopped otherwise); its RunActor is kept.
    start = next(line for line in records.read() if line.get("event") == "start")
    assert eventually(lambda: not process_alive(start["pid"]), timeout=10)
    assert process_alive(start["ppid"])


def test_max_duration_set_at_trigger_overrides_the_task(sdk: Any) -> None:
    run = sdk.tasks.trigger("sleep", {"seconds": 10}, max_duration=1).wait(timeout=60)
    assert run.status == "TIMED_OUT"


def test_replay_runs_the_same_payload_again(sdk: Any) -> None:
    original = sdk.tasks.trigger("echo", {"v": 7}, tags=["replayed"]).wait(timeout=60)
    replay = sdk.runs.replay(original.id)
    assert replay.id != original.id
    again = replay.wait(timeout=60)
    assert again.output == {"v": 7} and again.tags == ["replayed"]


def test_replay_with_a_new_payload_over_http(sdk: Any, http: Any) -> None:
    original = sdk.tasks.trigger("echo", {"v": 1}).wait(timeout=60)
    response = http.post(f"/api/v1/runs/{original.id}/replay", json={"payload": {"v": 2}, "tags": ["second"]})
    assert response.status_code == 200, response.text
    again = sdk.RunHandle(response.json()["id"], "echo").wait(timeout=60)
    assert again.output == {"v": 2} and again.tags == ["second"]
    bad = http.post(f"/api/v1/runs/{original.id}/replay", json={"colour": "red"})
    assert bad.status_code == 422 and "colour" in bad.json()["error"]


def test_tags_can_be_added_and_filtered_on(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", 1, tags=["one"])
    sdk.runs.add_tags(handle.id, ["two", "one"])
    assert sdk.runs.retrieve(handle.id).tags == ["one", "two"]
    assert handle.id in [r.id for r in sdk.runs.list(tag="two", limit=100).data]


def test_runs_list_filters_and_pages_newest_first(sdk: Any) -> None:
    ids = [sdk.tasks.trigger("noop", None, tags=["paging-check"]).id for _ in range(5)]
    page = sdk.runs.list(tag="paging-check", limit=2)
    assert [r.id for r in page.data] == ids[::-1][:2]
    rest = sdk.runs.list(tag="paging-check", limit=10, cursor=page.next_cursor)
    assert [r.id for r in rest.data] == ids[::-1][2:5]
    assert [r.id for r in sdk.runs.iterate(tag="paging-check", limit=2)] == ids[::-1]
    for handle_id in ids:
        sdk.RunHandle(handle_id, "noop").wait(timeout=60)
    completed = sdk.runs.list(tag="paging-check", status=["COMPLETED"], task_identifier="noop", limit=10)
    assert len(completed.data) == 5
    assert sdk.runs.list(tag="paging-check", status="FAILED").data == []


def test_runs_list_by_creation_window(sdk: Any, http: Any) -> None:
    handle = sdk.tasks.trigger("noop", None, tags=["window"])
    now_ms = int(time.time() * 1000)
    inside = http.get("/api/v1/runs", params={"filter[tag]": "window", "filter[createdAt][from]": now_ms - 60_000})
    outside = http.get("/api/v1/runs", params={"filter[tag]": "window", "filter[createdAt][to]": now_ms - 60_000})
    assert handle.id in [r["id"] for r in inside.json()["data"]]
    assert outside.json()["data"] == []


def test_a_queued_run_whose_task_was_removed_ends_system_failure(stack: Any, sdk: Any) -> None:
    from tether.options import TriggerOptions
    from tether.runtime import triggering
    from tether.runtime.catalog import TaskSpec

    # As if the run had been triggered before a reload removed its task from the code.
    gone = TaskSpec("removed-task", "tasks.removed", "task/removed-task", None, 1, {}, {"preset": "small-1x"}, 60.0, 50)
    prepared = triggering.prepare(stack.env.id, "removed-task", gone, {"x": 1}, TriggerOptions())
    with stack.store.write() as conn:
        run_id = triggering.insert_runs(conn, [prepared])[0].id
    stack.engine.control.wake()
    run = eventually(lambda: r if (r := sdk.runs.retrieve(run_id)).is_completed else None, timeout=30)
    assert run.status == "SYSTEM_FAILURE"
    assert "'removed-task' is not in version" in run.error.message
