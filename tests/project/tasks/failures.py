"""Tasks that fail: until an attempt number, always, by abort, or by killing their own process."""

from __future__ import annotations

import os

from tether import AbortTaskRunError, Retry, current_run, task

from tasks.records import read, record


@task(id="flaky", retry=Retry(max_attempts=4, factor=2, min_timeout=0.3, max_timeout=5, randomize=True))
def flaky(payload: dict) -> dict:
    ctx = current_run()
    attempt = ctx.attempt if ctx else 0
    record(payload.get("record"), attempt=attempt)
    if attempt < payload.get("succeed_on", 3):
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return {"attempt": attempt}


@task(id="always-fails", retry=Retry(max_attempts=2, min_timeout=0.1, max_timeout=0.2))
def always_fails(payload: dict) -> None:
    record(payload.get("record"), event="attempt")
    raise ValueError("this task always fails")


@task(id="aborts", retry=Retry(max_attempts=5, min_timeout=0.1))
def aborts(payload: dict) -> None:
    record(payload.get("record"), event="attempt")
    raise AbortTaskRunError("no point retrying this")


@task(id="crash-once", retry=Retry(max_attempts=3, min_timeout=0.1, max_timeout=0.3))
def crash_once(payload: dict) -> dict:
    """Kills its own process (as an OOM kill would) on the first attempt, then succeeds."""
    path = payload["record"]
    earlier = read(path)
    record(path, event="attempt", n=len(earlier) + 1)
    if not earlier:
        os.kill(os.getpid(), 9)
    return {"survived": True, "attempts": len(earlier) + 1}


@task(id="crash-always", retry=Retry(max_attempts=2, min_timeout=0.1, max_timeout=0.2))
def crash_always(payload: dict) -> None:
    record(payload.get("record"), event="attempt")
    os.kill(os.getpid(), 9)


@task(id="slow-first-attempt", retry=Retry(max_attempts=3, min_timeout=0.1, max_timeout=0.3))
def slow_first_attempt(payload: dict) -> dict:
    """Sleeps long on its first attempt (so a test can kill its process), briefly after."""
    import time

    ctx = current_run()
    attempt = ctx.attempt if ctx else 1
    record(payload.get("record"), event="start", attempt=attempt)
    time.sleep(60 if attempt == 1 else 0.05)
    return {"attempt": attempt, "value": payload.get("value")}
