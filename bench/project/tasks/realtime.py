"""What bench/realtime.py measures: metadata updates and streamed tokens, stamped with the time they were sent."""

from __future__ import annotations

import asyncio
import time

from tether import metadata, streams, task


@task(id="metadata-pings")
def metadata_pings(payload: dict) -> dict:
    for i in range(payload["count"]):
        metadata.set("ping", {"i": i, "t": time.time()})
        time.sleep(payload["every"])
    return {"pings": payload["count"]}


@task(id="stream-tokens")
async def stream_tokens(payload: dict) -> dict:
    async def tokens():  # noqa: ANN202 - a model writing `tokens` tokens, `pause` seconds apart
        for n in range(payload["tokens"]):
            yield {"n": n, "t": time.time()}
            await asyncio.sleep(payload["pause"])

    chunks = await streams.pipe_async("llm", tokens())
    return {"tokens": len(chunks)}
