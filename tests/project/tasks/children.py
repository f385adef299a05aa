"""Tasks that trigger other tasks from inside a run (through the engine, not HTTP)."""

from __future__ import annotations

from tether import task, tasks

from tasks.basic import echo


@task(id="parent")
def parent(payload: dict) -> dict:
    first = echo.trigger({"from": "parent"})
    second = tasks.trigger("noop", None, tags=["child"])
    return {"children": [first.id, second.id]}


# -- waiting for children ------------------------------------------------------------------------

import os  # noqa: E402
import signal  # noqa: E402

from tether import RunFailedError, Retry, current_run, queue  # noqa: E402

from tasks.records import record  # noqa: E402

family = queue("family", concurrency_limit=1)


@task(id="child-in-family", queue=family)
def child_in_family(payload: dict) -> dict:
    record(payload.get("record"), event="child")
    return {"doubled": payload["n"] * 2}


@task(id="parent-waits-for-child", queue=family, retry=Retry(max_attempts=3, min_timeout=0.05, max_timeout=0.1))
def parent_waits_for_child(payload: dict) -> dict:
    """Parent and child share a queue of limit 1: waiting must release the parent's slot."""
    path = payload.get("record")
    record(path, event="parent-body")
    result = child_in_family.trigger_and_wait({"n": payload["n"], "record": path})
    ctx = current_run()
    if payload.get("crash_after_child") and ctx and ctx.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # the child's result is in; the retry must not trigger it again
    return {"child": result.id, "output": result.unwrap(), "ok": result.ok}


@task(id="parent-of-a-failing-child")
def parent_of_a_failing_child(payload: dict) -> dict:
    result = tasks.trigger_and_wait("always-fails", {"record": payload.get("record")})
    try:
        result.unwrap()
    except RunFailedError as error:
        return {"ok": result.ok, "error": result.error.message if result.error else None, "raised": str(error)}
    return {"ok": result.ok}


@task(id="async-parent")
async def async_parent(payload: dict) -> dict:
    result = await echo.trigger_and_wait_async({"hello": "child"})
    return {"child_output": result.unwrap()}


@task(id="parent-of-a-slow-child")
def parent_of_a_slow_child(payload: dict) -> object:
    return tasks.trigger_and_wait("sleep", {"record": payload["record"], "seconds": 30}).output


@task(id="retried-parent-with-a-keyed-child", retry=Retry(max_attempts=2, min_timeout=0.05, max_timeout=0.1))
def retried_parent_with_a_keyed_child(payload: dict) -> dict:
    from tether import idempotency_keys

    handle = echo.trigger({"once": True}, idempotency_key=idempotency_keys.create("the-child"))
    ctx = current_run()
    if ctx and ctx.attempt == 1:
        raise RuntimeError("fail after triggering, so the retry triggers again")
    return {"child": handle.id, "cached": handle.is_cached}


@task(id="fan-out-and-in", retry=Retry(max_attempts=2, min_timeout=0.05, max_timeout=0.1))
def fan_out_and_in(payload: dict) -> dict:
    """Waits for a batch of children (one fails); a crash after the batch must not trigger it again."""
    results = tasks.batch_trigger_and_wait(
        [{"task": "echo", "payload": {"i": i}} for i in range(payload["n"])] + [{"task": "always-fails", "payload": {}}]
    )
    ctx = current_run()
    if payload.get("crash") and ctx and ctx.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"outputs": [r.output for r in results if r.ok], "failed": [r.task_identifier for r in results if not r.ok]}


@task(id="async-fan-out")
async def async_fan_out(payload: dict) -> list:
    results = await echo.batch_trigger_and_wait_async([{"n": 1}, {"n": 2}])
    return [r.unwrap() for r in results]
