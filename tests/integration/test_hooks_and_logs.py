"""Lifecycle hooks (per task and global) and the logs a run keeps."""

from __future__ import annotations

from typing import Any

from conftest import eventually


def test_init_runs_once_per_actor_and_hooks_run_around_the_body(sdk: Any, records: Any) -> None:
    for _ in range(3):
        run = sdk.tasks.trigger("hooked", {"record": records.path}).wait(timeout=60)
        assert run.status == "COMPLETED"
    lines = records.read()
    hooks = [line["hook"] for line in lines]
    assert hooks == ["on_start", "run", "on_success"] * 3
    by_pid: dict[int, list[int]] = {}
    for line in lines:
        if line["hook"] == "on_start":
            by_pid.setdefault(line["pid"], []).append(line["inits"])
    # In each actor process, init ran exactly once, before the first on_start.
    assert all(set(counts) == {1} for counts in by_pid.values())
    assert [line["output"] for line in lines if line["hook"] == "on_success"] == [{"fine": True}] * 3


def test_on_failure_fires_with_the_reason_when_a_run_fails(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("hooked", {"record": records.path, "fail": True}).wait(timeout=60)
    assert run.status == "FAILED"
    failures = eventually(lambda: [line for line in records.read() if line["hook"] in ("on_failure", "global_on_failure")])
    assert sorted((line["hook"], line["reason"]) for line in failures) == [("global_on_failure", "FAILED"), ("on_failure", "FAILED")]
    assert "hooked run fails" in next(line["message"] for line in failures if line["hook"] == "on_failure")


def test_on_failure_fires_for_a_timed_out_run(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("hooked-slow", {"record": records.path}).wait(timeout=60)
    assert run.status == "TIMED_OUT"
    reasons = eventually(lambda: sorted(line["reason"] for line in records.read() if "reason" in line))
    assert reasons == ["TIMED_OUT", "TIMED_OUT"]


def test_what_a_run_prints_and_logs_is_kept_with_it(sdk: Any, http: Any) -> None:
    handle = sdk.tasks.trigger("chatty", {"word": "bonjour"})
    assert handle.wait(timeout=60).status == "COMPLETED"
    lines = eventually(lambda: sdk.runs.logs(handle.id))
    messages = [line.message for line in lines]
    assert "printed line one" in messages
    assert "logged via tether.logger: bonjour" in messages
    assert "a warning from user code" in messages
    assert {line.attempt for line in lines} == {1}
    assert next(line.level for line in lines if line.message == "a warning from user code") == "WARNING"
    response = http.get(f"/api/v1/runs/{handle.id}/logs")
    assert response.status_code == 200 and len(response.json()["data"]) == len(lines)


def test_logs_of_each_attempt_are_kept_apart(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("always-fails", {"record": records.path})
    assert handle.wait(timeout=60).status == "FAILED"
    lines = eventually(lambda: [line for line in sdk.runs.logs(handle.id) if "always fails" in line.message])
    assert [line.attempt for line in lines] == [1, 2]
    assert "retrying in" in lines[0].message and "no attempts left" in lines[1].message
