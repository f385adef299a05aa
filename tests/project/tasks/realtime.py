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


def _words(count: int, pause: float):  # noqa: ANN202 - a stand-in model that yields tokens
    for n in range(count):
        time.sleep(pause)
        yield f"w{n} "


@task(id="stream-words")
def stream_words(payload: dict) -> dict:
    from tether import streams

    text = streams.pipe("llm", _words(payload["count"], payload.get("pause", 0.01)))
    streams.append("status", {"done": True})
    return {"text": text}


@task(id="stream-words-async")
async def stream_words_async(payload: dict) -> dict:
    import asyncio

    from tether import streams

    async def tokens():  # noqa: ANN202
        for n in range(payload["count"]):
            await asyncio.sleep(payload.get("pause", 0.01))
            yield f"a{n} "

    return {"text": await streams.pipe_async("llm", tokens())}
