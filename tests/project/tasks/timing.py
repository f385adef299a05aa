"""Tasks that take time: sleepers on limited queues (tests check their recorded intervals), timeouts."""

from __future__ import annotations

import asyncio
import time

from tether import queue, task

from tasks.records import record

limited = queue("limited", concurrency_limit=2)
tenants = queue("tenants", concurrency_limit=2, concurrency_key_limit=1)


@task(id="sleep")
def sleep(payload: dict) -> dict:
    record(payload.get("record"), event="start", key=payload.get("key"))
    time.sleep(payload.get("seconds", 0.1))
    record(payload.get("record"), event="end", key=payload.get("key"))
    return {"slept": payload.get("seconds", 0.1)}


@task(id="limited-sleep", queue=limited)
def limited_sleep(payload: dict) -> dict:
    return sleep.fn(payload)


@task(id="tenant-sleep", queue=tenants)
def tenant_sleep(payload: dict) -> dict:
    return sleep.fn(payload)


@task(id="too-slow", max_duration=1)
def too_slow(payload: dict) -> None:
    record(payload.get("record"), event="start")
    time.sleep(payload.get("seconds", 30))
    record(payload.get("record"), event="end")


@task(id="too-slow-async", max_duration=1)
async def too_slow_async(payload: dict) -> None:
    record(payload.get("record"), event="start")
    await asyncio.sleep(payload.get("seconds", 30))
