"""Lifecycle hooks, per task and global (the global on_failure is named in tether.toml)."""

from __future__ import annotations

import time

from tether import Retry, task

from tasks.records import record

_inits: list[float] = []


def global_on_failure(payload: object, error: dict, ctx: object) -> None:
    if isinstance(payload, dict):
        record(payload.get("record"), hook="global_on_failure", reason=getattr(ctx, "reason", None))


def _init() -> None:
    _inits.append(time.time())


def _on_start(payload: dict, ctx: object) -> None:
    record(payload.get("record"), hook="on_start", inits=len(_inits))


def _on_success(payload: dict, output: object) -> None:
    record(payload.get("record"), hook="on_success", output=output)


def _on_failure(payload: dict, error: dict, ctx: object) -> None:
    record(payload.get("record"), hook="on_failure", reason=getattr(ctx, "reason", None), message=error.get("message"))


@task(id="hooked", init=_init, on_start=_on_start, on_success=_on_success, on_failure=_on_failure, retry=Retry(max_attempts=1))
def hooked(payload: dict) -> dict:
    record(payload.get("record"), hook="run")
    if payload.get("fail"):
        raise RuntimeError("hooked run fails")
    if payload.get("sleep"):
        time.sleep(payload["sleep"])
    return {"fine": True}


@task(id="hooked-slow", max_duration=1, on_failure=_on_failure)
def hooked_slow(payload: dict) -> None:
    time.sleep(30)
