"""Throws are retries: exponential back-off within the policy's bounds, abort without retrying."""

from __future__ import annotations

from typing import Any


def test_a_throwing_task_is_retried_until_it_succeeds(sdk: Any, records: Any) -> None:
    from tether import Retry

    run = sdk.tasks.trigger("flaky", {"record": records.path, "succeed_on": 3}).wait(timeout=90)
    assert run.status == "COMPLETED", run.error
    assert run.output == {"attempt": 3}
    assert run.attempt_count == 3
    assert [a.status for a in run.attempts] == ["FAILED", "FAILED", "COMPLETED"]
    attempts = records.read()
    policy = Retry(max_attempts=4, factor=2, min_timeout=0.3, max_timeout=5, randomize=True)
    for number in (1, 2):
        waited = attempts[number]["t"] - attempts[number - 1]["t"]
        low, high = policy.bounds(number)
        # The gap also holds the attempt's own bookkeeping and the actor hand-off.
        assert low <= waited <= high + 1.5, (number, waited, low, high)


def test_a_task_that_always_throws_fails_after_its_max_attempts(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("always-fails", {"record": records.path}).wait(timeout=60)
    assert run.status == "FAILED"
    assert run.attempt_count == 2
    assert run.error.name == "ValueError" and "always fails" in run.error.message
    assert "Traceback" in (run.error.stack_trace or "")
    lines = records.read()
    assert sum(line.get("event") == "attempt" for line in lines) == 2
    # The project's global on_failure hook fires once, after the last attempt.
    assert [line.get("reason") for line in lines if line.get("hook") == "global_on_failure"] == ["FAILED"]


def test_max_attempts_set_at_trigger_overrides_the_policy(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("always-fails", {"record": records.path}, max_attempts=1).wait(timeout=60)
    assert run.status == "FAILED" and run.attempt_count == 1


def test_abort_task_run_error_fails_at_once(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("aborts", {"record": records.path}).wait(timeout=60)
    assert run.status == "FAILED"
    assert run.attempt_count == 1
    assert run.error.name == "AbortTaskRunError"
    assert sum(line.get("event") == "attempt" for line in records.read()) == 1
