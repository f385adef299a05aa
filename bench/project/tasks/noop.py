"""The benchmark's only task: does nothing, so what is measured is Tether's own overhead."""

from __future__ import annotations

from tether import task


@task(id="noop")
def noop(payload: object) -> None:
    return None
