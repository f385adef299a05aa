"""Crashes: RunActor processes killed mid-run, the Scheduler killed while runs wait, runs left with no actor.

Each test forces a failure, lets Tether recover, and counts what happened: every run reaches
the right terminal status with the right output.
"""

from __future__ import annotations

import os
import time
import signal
import uuid
from datetime import timedelta
from typing import Any

import ray

from conftest import eventually, max_overlap, parent_of, process_alive


def test_a_run_actor_killed_mid_run_is_retried_and_completes(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("slow-first-attempt", {"record": records.path, "value": 42})
    started = eventually(lambda: [line for line in records.read() if line.get("event") == "start"], timeout=60)
    os.kill(started[0]["pid"], signal.SIGKILL)
    run = handle.wait(timeout=90)
    assert run.status == "COMPLETED"
    assert run.output == {"attempt": 2, "value": 42}
    assert [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert "killed by SIGKILL" in run.attempts[0].error.message


def test_killing_the_run_actor_itself_takes_its_run_process_down_and_the_run_is_retried(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("slow-first-attempt", {"record": records.path, "value": 7})
    started = eventually(lambda: [line for line in records.read() if line.get("event") == "start"], timeout=60)
    run_process = started[0]["pid"]
    zygote = parent_of(run_process)
    actor = parent_of(zygote)  # the Ray worker process that hosts the RunActor
    os.kill(actor, signal.SIGKILL)
    run = handle.wait(timeout=90)
    assert run.status == "COMPLETED" and run.output == {"attempt": 2, "value": 7}
    assert [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert eventually(lambda: not process_alive(run_process) and not process_alive(zygote), timeout=10)


def test_a_task_that_kills_its_own_process_once_then_succeeds(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("crash-once", {"record": records.path}).wait(timeout=90)
    assert run.status == "COMPLETED" and run.output == {"survived": True, "attempts": 2}


def test_a_run_whose_process_keeps_dying_ends_crashed_and_on_failure_hears_it(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("crash-always", {"record": records.path}).wait(timeout=90)
    assert run.status == "CRASHED"
    assert run.is_failed and run.attempt_count == 2
    reasons = eventually(lambda: [line["reason"] for line in records.read() if line.get("hook") == "global_on_failure"])
    assert reasons == ["CRASHED"]


def test_killing_the_scheduler_while_runs_are_queued_loses_nothing(stack: Any, sdk: Any, records: Any) -> None:
    from tether.actors.control import NAMESPACE, SCHEDULER_NAME

    scheduler = ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE)
    before = ray.get(scheduler.pid.remote(), timeout=30)
    result = sdk.tasks.batch_trigger(
        [{"task": "limited-sleep", "payload": {"record": records.path, "seconds": 0.2, "key": i}} for i in range(12)]
    )
    eventually(lambda: records.read(), timeout=60)  # some are running, most are queued
    ray.kill(scheduler, no_restart=False)
    runs = [sdk.RunHandle(r.id, "limited-sleep").wait(timeout=180) for r in result.runs]
    assert [r.status for r in runs] == ["COMPLETED"] * 12
    assert all(r.output == {"slept": 0.2} for r in runs)
    lines = records.read()
    ended = {line["key"] for line in lines if line["event"] == "end"}
    assert ended == set(range(12))
    # The queue's limit (2) held across the restart, counting the attempts that ran to their end.
    completed = {(line["key"], line["pid"]) for line in lines if line["event"] == "end"}
    assert max_overlap([line for line in lines if (line["key"], line["pid"]) in completed]) <= 2
    assert ray.get(scheduler.pid.remote(), timeout=60) != before


def test_an_executing_run_with_no_live_actor_is_recovered_by_its_lease(stack: Any, sdk: Any) -> None:
    """Force the state a lost actor leaves behind (EXECUTING, lease running out) and watch it recover."""
    from sqlalchemy import update

    from tether._wire import utcnow
    from tether.runtime import lifecycle, runs

    handle = sdk.tasks.trigger("echo", {"recovered": True}, delay="1h")
    token = f"lost-{uuid.uuid4().hex}"
    with stack.store.write() as conn:
        conn.execute(
            update(runs.runs_table)
            .where(runs.runs_table.c.id == handle.id)
            .values(status="DEQUEUED", dispatch_token=token, version=stack.version, delay_until=None)
        )
        assert lifecycle.begin_attempt(conn, handle.id, token, lease=1.0) is not None
        conn.execute(
            update(runs.runs_table).where(runs.runs_table.c.id == handle.id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"recovered": True}
    assert [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert "lease expired" in run.attempts[0].error.message


def test_a_delayed_run_that_fell_due_while_the_scheduler_was_down_starts_when_it_is_back(stack: Any, sdk: Any) -> None:
    """Delays are deadlines in the store, not sleeps: nothing is lost while no Scheduler runs."""
    from tether.actors.boot import ensure_scheduler, stop_scheduler

    handle = sdk.tasks.trigger("echo", {"late": True}, delay="1s")
    stop_scheduler()
    try:
        time.sleep(2.5)
        assert sdk.runs.retrieve(handle.id).status == "DELAYED"
    finally:
        stack.scheduler = ensure_scheduler(stack.settings.database_url, stack.settings.scheduler)
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"late": True}
    assert run.started_at - run.delayed_until > timedelta(seconds=1)


def test_killing_the_scheduler_while_a_run_waits_loses_nothing(stack: Any, sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("wait-then-finish", {"record": records.path, "seconds": 3})
    eventually(lambda: sdk.runs.retrieve(handle.id).status == "WAITING", timeout=30)
    scheduler = stack.scheduler
    ray.kill(scheduler, no_restart=False)  # the wait's deadline is in the database, not in its memory
    run = handle.wait(timeout=90)
    assert run.status == "COMPLETED" and run.output == {"before": "before", "attempt": 1}
    assert sum(1 for line in records.read() if line.get("step") == "before") == 1
