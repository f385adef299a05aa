"""Streams: send a model's tokens (or any chunks) to whoever watches the run, as they come.

    from tether import streams, task

    @task(id="research-agent")
    async def research_agent(payload: dict) -> dict:
        answer = await streams.pipe_async("llm", model.stream(payload["question"]))  # each token goes out live
        return {"answer": answer}                                                  # the whole text

    for token in streams.read(run_id, "llm"):  # anywhere: every chunk from the first, then live
        print(token, end="")

`pipe` forwards each chunk of an iterable and returns the whole text (or the list of chunks when
they are not all strings); `append` sends one chunk. A run may have several streams, by key.
Chunks are JSON values of at most 64 KB, stored in batches (not one write per token), so a reader
who connects late, or reconnects, gets every chunk once, in order. Like metadata, streams are not
journalled: code before a wait runs again on resume, and streams again; pipe a model's answer
inside a step (`step.run_async("answer", ...)`) to keep it to once. Outside a run `pipe` simply
collects the chunks and `append` does nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from tether.errors import ValidationError

MAX_CHUNK_BYTES = 64 * 1024


class Sink(Protocol):
    def stream(self, key: str, chunks: list[Any]) -> None: ...


_sink: ContextVar[Sink | None] = ContextVar("tether_stream_sink", default=None)


def install(sink: Sink | None) -> None:
    """Called by the executor as a run starts, in the run's context."""
    _sink.set(sink)


def _checked(key: str, chunk: Any) -> Any:
    from tether.runtime.streams import check_key

    check_key(key)
    try:
        size = len(json.dumps(chunk, allow_nan=False))
    except (TypeError, ValueError):
        raise ValidationError(f"stream {key!r}: a chunk must be JSON (a str, number, list, dict…), got {type(chunk).__name__}") from None
    if size > MAX_CHUNK_BYTES:
        raise ValidationError(f"stream {key!r}: a chunk of {size:,} bytes is over the {MAX_CHUNK_BYTES:,} limit; send it in pieces")
    return chunk


def _whole(chunks: list[Any]) -> Any:
    return "".join(chunks) if all(isinstance(c, str) for c in chunks) else chunks


def append(key: str, chunk: Any) -> None:
    """Send one chunk on the run's stream `key`."""
    sink = _sink.get()
    if sink is not None:
        sink.stream(key, [_checked(key, chunk)])


def pipe(key: str, source: Iterable[Any]) -> Any:
    """Forward every chunk of `source` on stream `key`; return the whole text (or list of chunks)."""
    sink = _sink.get()
    seen: list[Any] = []
    for chunk in source:
        seen.append(_checked(key, chunk))
        if sink is not None:
            sink.stream(key, [chunk])
    return _whole(seen)


async def pipe_async(key: str, source: AsyncIterable[Any]) -> Any:
    """`pipe` for an async iterable: a model SDK's streamed response, an async generator."""
    sink = _sink.get()
    seen: list[Any] = []
    async for chunk in source:
        seen.append(_checked(key, chunk))
        if sink is not None:
            sink.stream(key, [chunk])
    return _whole(seen)


def read(run_id: str, key: str, *, timeout: float | None = None) -> Iterator[Any]:
    """Every chunk of the run's stream `key`, from the first, then live until the run ends."""
    from tether._subscribe import read_stream

    return read_stream(run_id, key, timeout=timeout)


def aread(run_id: str, key: str, *, timeout: float | None = None) -> AsyncIterator[Any]:
    from tether._subscribe import aread_stream

    return aread_stream(run_id, key, timeout=timeout)
