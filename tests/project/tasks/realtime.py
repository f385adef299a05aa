"""Tasks that report progress through run metadata, for the realtime tests."""

from __future__ import annotations

import time

from tether import metadata, task, wait


@task(id="report-progress")
def report_progress(payload: dict) -> dict:
    steps = payload["steps"]
    metadata.set("stage", "working")
    for done in range(1, steps + 1):
        time.sleep(payload.get("pause", 0.3))
        metadata.set("progress", done / steps)
    metadata.set("stage", "done")
    return {"steps": steps}


@task(id="wait-for-review")
def wait_for_review(payload: dict) -> dict:
    token = wait.create_token(timeout="1h")
    metadata.set("token", token.id)  # runs again on resume (it is not journalled): the same id
    review = wait.for_token(token)
    return {"review": review.output, "metadata": metadata.current()}
