"""A run of many no-op steps: what one journalled step costs (bench/steps.py)."""

from __future__ import annotations

import time

from tether import step, task


def _nothing(i: int) -> int:
    return i


@task(id="many-steps", max_duration=600)
def many_steps(payload: dict) -> dict:
    """Times each `step.run` of a no-op; returns the durations in milliseconds."""
    durations = []
    for i in range(payload.get("steps", 1000)):
        t0 = time.perf_counter()
        step.run(f"step-{i}", _nothing, i)
        durations.append((time.perf_counter() - t0) * 1000)
    return {"ms": durations}
