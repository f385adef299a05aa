"""Plain tasks: no-op, echo, typed payloads, async bodies, logs, bad outputs."""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel

from tether import current_run, logger, task

from tasks.records import record


@task(id="noop")
def noop(payload: object) -> None:
    return None


@task(id="echo")
def echo(payload: object) -> object:
    return payload


class Greeting(BaseModel):
    name: str
    times: int = 1


class GreetingOut(BaseModel):
    text: str


@task(id="greet")
def greet(payload: Greeting) -> GreetingOut:
    return GreetingOut(text=" ".join([f"hello {payload.name}"] * payload.times))


@task(id="async-echo")
async def async_echo(payload: dict) -> dict:
    await asyncio.sleep(0.01)
    ctx = current_run()
    return {"echo": payload, "run": ctx.run_id if ctx else None}


@task(id="chatty")
def chatty(payload: dict) -> str:
    print("printed line one")
    logger.info("logged via tether.logger: %s", payload.get("word"))
    logging.getLogger("user.module").warning("a warning from user code")
    return "done"


@task(id="bad-output")
def bad_output(payload: dict) -> object:
    return {"when": object()}


@task(id="record-run")
def record_run(payload: dict) -> dict:
    ctx = current_run()
    record(payload.get("record"), run=ctx.run_id if ctx else None, attempt=ctx.attempt if ctx else None, key=payload.get("key"))
    return {"ok": True}
