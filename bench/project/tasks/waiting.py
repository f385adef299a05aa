"""A run that waits for a token it is given (bench/resume.py)."""

from __future__ import annotations

from tether import task, wait


@task(id="await-token")
def await_token(payload: dict) -> object:
    return wait.for_token(payload["token"]).output
