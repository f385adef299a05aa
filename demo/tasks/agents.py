"""The research agent from the product brief, with a stand-in model that yields tokens.

Its answer streams on the run's "llm" stream as the model writes it, and its stage shows in the
run's metadata; open http://127.0.0.1:8030/realtime/demo under `make dev` to watch it live.

Set ANTHROPIC_API_KEY and `pip install anthropic` to stream from a real model instead (OpenAI's
`client.chat.completions.create(..., stream=True)` plugs in the same way: yield each delta's
text); the rest of the task does not change.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from pydantic import BaseModel

from tether import logger, metadata, streams, task


class Question(BaseModel):
    question: str
    pace: float = 0.15  # seconds per token of the stand-in model: slow enough to watch, and to reload mid-answer


async def stand_in_model(prompt: str, pace: float = 0.15) -> AsyncIterator[str]:
    answer = (
        f"Here is what I found about '{prompt}': durable execution keeps long-running work alive "
        "across crashes and deploys, so an agent can pause for tools or people and pick up where it left off. "
        "Each step is recorded once; a crash replays the journal instead of the work, and waits hold no compute."
    )
    for word in answer.split(" "):
        await asyncio.sleep(pace)
        yield word + " "


async def anthropic_model(prompt: str, pace: float = 0.0) -> AsyncIterator[str]:
    import anthropic  # optional dependency, only with a key

    client = anthropic.AsyncAnthropic()
    async with client.messages.stream(
        model="claude-opus-4-7", max_tokens=1024, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        async for text in stream.text_stream:
            yield text


@task(id="research-agent", max_duration=1800)
async def research_agent(payload: Question) -> dict:
    model = anthropic_model if os.environ.get("ANTHROPIC_API_KEY") else stand_in_model
    metadata.set("stage", "researching")
    answer = await streams.pipe_async("llm", model(payload.question, payload.pace))  # each token goes out live
    metadata.set("stage", "done")
    logger.info("answered in %d characters", len(answer))
    return {"answer": answer.strip()}
