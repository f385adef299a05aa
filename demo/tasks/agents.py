"""The research agent from the product brief, with a stand-in model that yields tokens.

Its answer streams on the run's "llm" stream as the model writes it, and its stage shows in the
run's metadata; open http://127.0.0.1:8030/realtime/demo under `make dev` to watch it live.

With `"approval": true` the agent then asks a person before it publishes: it creates a wait token,
puts the token's id in its metadata (`approval_token`, beside `answer_chars`, the answer's length)
and waits, holding no process, until someone completes the token with `{"approved": true}` or
`{"approved": false, "feedback": "..."}` (`wait.complete_token(id, data)`, as
notebooks/02_ai_agent.ipynb does).

Set ANTHROPIC_API_KEY and `pip install anthropic` to stream from a real model instead (OpenAI's
`client.chat.completions.create(..., stream=True)` plugs in the same way: yield each delta's
text); the rest of the task does not change.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from pydantic import BaseModel

from tether import logger, metadata, step, streams, task, wait


class Question(BaseModel):
    question: str
    pace: float = 0.15  # seconds per token of the stand-in model: slow enough to watch, and to reload mid-answer
    approval: bool = False  # ask a person before publishing the answer
    approval_timeout: str = "1d"  # unanswered by then: the answer is not published


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


async def research(question: str, pace: float) -> str:
    model = anthropic_model if os.environ.get("ANTHROPIC_API_KEY") else stand_in_model
    metadata.set("stage", "researching")
    answer = await streams.pipe_async("llm", model(question, pace))  # each token goes out live
    logger.info("answered in %d characters", len(answer))
    return str(answer).strip()


@task(id="research-agent", max_duration=1800)
async def research_agent(payload: Question) -> dict:
    # A step: when the run resumes after the approval, the answer comes from the journal, not the model again.
    answer = await step.run_async("research", research, payload.question, payload.pace)
    if not payload.approval:
        metadata.set("stage", "done")
        return {"answer": answer}
    token = await wait.create_token_async(timeout=payload.approval_timeout)
    # What a reviewer needs, in the run's metadata (set again on resume: the same token, from the journal).
    metadata.set("approval_token", token.id)
    metadata.set("answer_chars", len(answer))  # a watcher has the whole answer once this much of it arrived
    metadata.set("stage", "waiting for approval")
    review = await wait.for_token_async(token)  # checkpointed: the run holds no process while a person decides
    if not review.ok:
        metadata.set("stage", "not reviewed in time")
        return {"answer": answer, "status": "not reviewed in time"}
    decision = review.output if isinstance(review.output, dict) else {}
    if decision.get("approved"):
        metadata.set("stage", "published")
        return {"answer": answer, "status": "published", "feedback": decision.get("feedback")}
    metadata.set("stage", "rejected")
    return {"answer": answer, "status": "rejected", "feedback": decision.get("feedback")}
