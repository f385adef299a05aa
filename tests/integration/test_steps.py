"""Journalled steps: done once per run, replayed from the journal on retries and after crashes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import tether


def _step_calls(records: Any) -> Counter[str]:
    return Counter(line["step"] for line in records.read() if "step" in line)


def test_steps_are_not_re_run_when_the_run_is_retried(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("steps-then-fail-once", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"saved": 3, "attempt": 2}
    assert _step_calls(records) == {"fetch": 1, "save": 1}


def test_a_step_journalled_before_a_crash_is_not_re_run(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("steps-then-crash-once", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"charged": "ch_1", "attempt": 2}
    assert [a.status for a in run.attempts] == ["CRASHED", "COMPLETED"]
    assert _step_calls(records) == {"charge": 1}


def test_a_step_interrupted_mid_flight_runs_again_and_is_recorded_once(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("step-interrupted-mid-flight", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"result": "done"}
    assert _step_calls(records) == {"flaky": 2}


def test_a_step_called_differently_on_re_execution_fails_the_run_naming_the_slot(sdk: Any) -> None:
    run = sdk.tasks.trigger("steps-change-between-attempts", {}).wait(timeout=60)
    assert run.status == "FAILED" and run.attempt_count == 2  # not retried past the mismatch
    assert run.error.name == "NonDeterminismError"
    assert "journal slot 0" in run.error.message
    assert "'step-of-attempt-1'" in run.error.message and "'step-of-attempt-2'" in run.error.message


def test_non_determinism_fails_the_run_even_when_task_code_catches_it(sdk: Any) -> None:
    run = sdk.tasks.trigger("steps-swallow-non-determinism", {}).wait(timeout=60)
    assert run.status == "FAILED" and run.error.name == "NonDeterminismError"


def test_a_step_retries_on_its_own_policy_within_one_attempt(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("step-with-its-own-retries", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"calls": 3, "attempt": 1}


def test_a_decorated_function_is_a_step(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("decorated-steps", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"key": "k1"}
    assert _step_calls(records) == {"decorated-lookup": 1}


def test_async_steps_run_in_parallel_and_replay(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("async-steps-in-parallel", {"record": records.path}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"x": 1, "y": 2}
    assert _step_calls(records) == {"x": 1, "y": 1}


def test_a_step_that_returns_something_not_json_fails_the_run_saying_so(sdk: Any) -> None:
    run = sdk.tasks.trigger("step-returns-an-object", {}).wait(timeout=60)
    assert run.status == "FAILED" and run.attempt_count == 1
    assert "step 'bad' returned a value of type object" in run.error.message


def test_outside_a_run_a_step_just_calls_its_function() -> None:
    assert tether.step.run("plain", lambda x: x * 2, 21) == 42
