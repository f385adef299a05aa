"""A task for the pipeline tests: squares a number, or fails at once (no retries) when told to."""

from __future__ import annotations

from pydantic import BaseModel

from tether import AbortTaskRunError, task


class Number(BaseModel):
    n: int
    fail: bool = False


@task(id="square-or-fail")
def square_or_fail(payload: Number) -> dict:
    if payload.fail:
        raise AbortTaskRunError(f"item {payload.n} fails on purpose")
    return {"n": payload.n, "square": payload.n * payload.n}
