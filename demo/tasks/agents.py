"""The research agent from the product brief, with a stand-in model that yields tokens.

Set ANTHROPIC_API_KEY and install `anthropic` to stream from a real model instead; the rest
of the task does not change.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from pydantic import BaseModel

from tether import logger, task


class Question(BaseModel):
    question: str


async def stand_in_model(prompt: str) -> AsyncIterator[str]:
    answer = (
        f"Here is what I found about '{prompt}': durable execution keeps long-running work alive "
        "across crashes and deploys, so an agent can pause for tools or people and pick up where it left off."
    )
    for word in answer.split(" "):
        await asyncio.sleep(0.02)
        yield word + " "


async def anthropic_model(prompt: str) -> AsyncIterator[str]:
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
    answer = ""
    async for chunk in model(payload.question):
        answer += chunk
    logger.info("answered in %d characters", len(answer))
    return {"answer": answer.strip()}
