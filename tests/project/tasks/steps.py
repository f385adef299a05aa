"""Tasks that use journalled steps, for the replay, crash and non-determinism tests."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from tether import Retry, current_run, step, task

from tasks.records import read, record

QUICK_RETRY = Retry(max_attempts=3, min_timeout=0.05, max_timeout=0.1)


def _attempt() -> int:
    ctx = current_run()
    return ctx.attempt if ctx else 1


def _side_effect(path: str, name: str, value: Any) -> Any:
    record(path, step=name)
    return value


@task(id="steps-then-fail-once", retry=QUICK_RETRY)
def steps_then_fail_once(payload: dict) -> dict:
    path = payload["record"]
    a = step.run("fetch", _side_effect, path, "fetch", {"orders": [1, 2, 3]})
    b = step.run("save", _side_effect, path, "save", len(a["orders"]))
    if _attempt() == 1:
        raise RuntimeError("the report service is down")
    return {"saved": b, "attempt": _attempt()}


@task(id="steps-then-crash-once", retry=QUICK_RETRY)
def steps_then_crash_once(payload: dict) -> dict:
    path = payload["record"]
    charged = step.run("charge", _side_effect, path, "charge", "ch_1")
    if _attempt() == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # after the step was journalled, before the run finished
    return {"charged": charged, "attempt": _attempt()}


def _dies_the_first_time(path: str) -> str:
    earlier = [line for line in read(path) if line.get("step") == "flaky"]
    record(path, step="flaky")
    if not earlier:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-step: nothing was journalled
    return "done"


@task(id="step-interrupted-mid-flight", retry=QUICK_RETRY)
def step_interrupted_mid_flight(payload: dict) -> dict:
    return {"result": step.run("flaky", _dies_the_first_time, payload["record"])}


@task(id="steps-change-between-attempts", retry=QUICK_RETRY)
def steps_change_between_attempts(payload: dict) -> None:
    step.run(f"step-of-attempt-{_attempt()}", lambda: 1)  # a name that varies: non-deterministic
    raise RuntimeError("fail so that the run executes again")


@task(id="steps-swallow-non-determinism", retry=QUICK_RETRY)
def steps_swallow_non_determinism(payload: dict) -> str:
    try:
        step.run(f"named-{_attempt()}", lambda: 1)
    except Exception:  # noqa: BLE001 - exactly what the test checks cannot hide the error
        pass
    if _attempt() == 1:
        raise RuntimeError("fail so that the run executes again")
    return "looks fine"


def _flaky_until_third(path: str) -> int:
    calls = len([line for line in read(path) if line.get("step") == "retried"]) + 1
    record(path, step="retried")
    if calls < 3:
        raise ConnectionError(f"call {calls} failed")
    return calls


@task(id="step-with-its-own-retries")
def step_with_its_own_retries(payload: dict) -> dict:
    calls = step.run("retried", _flaky_until_third, payload["record"], retry=Retry(max_attempts=3, min_timeout=0.01, max_timeout=0.02))
    return {"calls": calls, "attempt": _attempt()}


@step(name="decorated-lookup")
def decorated_lookup(path: str, key: str) -> dict:
    record(path, step="decorated-lookup")
    return {"key": key}


@task(id="decorated-steps", retry=QUICK_RETRY)
def decorated_steps(payload: dict) -> dict:
    found = decorated_lookup(payload["record"], "k1")
    if _attempt() == 1:
        raise RuntimeError("again")
    return found


async def _async_side_effect(path: str, name: str, value: Any) -> Any:
    await asyncio.sleep(0.01)
    record(path, step=name)
    return value


@task(id="async-steps-in-parallel", retry=QUICK_RETRY)
async def async_steps_in_parallel(payload: dict) -> dict:
    path = payload["record"]
    x, y = await asyncio.gather(step.run_async("x", _async_side_effect, path, "x", 1), step.run_async("y", _side_effect, path, "y", 2))
    if _attempt() == 1:
        raise RuntimeError("again")
    return {"x": x, "y": y}


@task(id="step-returns-an-object")
def step_returns_an_object(payload: dict) -> Any:
    return step.run("bad", object)


def _until_file_exists(path: str, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


@task(id="steps-across-a-database-restart", retry=Retry(max_attempts=1))
def steps_across_a_database_restart(payload: dict) -> dict:
    """One attempt only: the database restarting between two steps and during a wait must not cost it."""
    from tether import wait

    path = payload["record"]
    first = step.run("first", _side_effect, path, "first", 1)
    record(path, event="before-restart")
    _until_file_exists(payload["go"])  # the test restarts the database, then creates this file
    second = step.run("second", _side_effect, path, "second", 2)
    wait.for_(seconds=payload["seconds"])
    third = step.run("third", _side_effect, path, "third", 3)
    return {"steps": [first, second, third]}
