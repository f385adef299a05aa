"""Following runs and streams over server-sent events, reconnecting from the last event id when the connection drops.

They read from the gateway of the current context (`client.bind()`, or `tether.configure`); a reader
of several streams at once follows each in a thread of its own, which starts with a copy of that context.
httpx is imported when a reader starts, so that `import tether` stays light.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from tether.client import _api_url, _BaseClient, _secret_key
from tether.errors import ConnectionError, WaitTimeoutError
from tether.models import Run

_MAX_RECONNECTS = 20


@dataclass
class _Event:
    id: str | None
    event: str
    data: str


class _SseParser:
    """Turns SSE lines into events (the text/event-stream format: id, event, data, blank line)."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._event = "message"
        self._data: list[str] = []

    def feed(self, lines: Iterable[str]) -> Iterator[_Event]:
        for line in lines:
            if line == "":
                if self._data:
                    yield _Event(self._id, self._event, "\n".join(self._data))
                self._event, self._data = "message", []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    self._data.append(value)
                elif name == "id":
                    self._id = value
                elif name == "event":
                    self._event = value


def _request_parts(path: str, last_event_id: str | None) -> tuple[str, dict[str, str]]:
    headers = _BaseClient(_api_url(), _secret_key())._headers()
    headers["Accept"] = "text/event-stream"
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return f"{_api_url()}{path}", headers


def _read_timeout(deadline: float | None, now: float) -> float:
    """How long one read may wait for the server: its keep-alives come every 15 s; at most until the deadline."""
    return 60.0 if deadline is None else max(0.1, min(60.0, deadline - now))


def _follow(path: str, what: str, timeout: float | None, done: Callable[[_Event], bool]) -> Iterator[_Event]:
    """The events of an SSE route, reconnecting from the last event id when the connection drops,
    until `done(event)` says the last one came (or for ever). Gives up after _MAX_RECONNECTS drops
    in a row, or at `timeout`."""
    import httpx

    deadline = None if timeout is None else time.monotonic() + timeout
    last_id: str | None = None
    failures = 0
    while failures < _MAX_RECONNECTS:
        if deadline is not None and time.monotonic() > deadline:
            raise WaitTimeoutError(f"{what} did not end within {timeout}s")
        url, headers = _request_parts(path, last_id)
        try:
            read = _read_timeout(deadline, time.monotonic())
            with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30.0, read=read)) as response:
                if response.status_code >= 400:
                    response.read()
                    _BaseClient()._parse(response)
                for event in _SseParser().feed(response.iter_lines()):
                    last_id, failures = event.id or last_id, 0
                    yield event
                    if done(event):
                        return
                    if deadline is not None and time.monotonic() > deadline:
                        raise WaitTimeoutError(f"{what} did not end within {timeout}s")
        except httpx.HTTPError:
            failures += 1
            time.sleep(0.2)
    raise ConnectionError(f"lost the event stream of {what} {_MAX_RECONNECTS} times in a row")


async def _afollow(path: str, what: str, timeout: float | None, done: Callable[[_Event], bool]) -> AsyncIterator[_Event]:
    import asyncio

    import httpx

    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    last_id: str | None = None
    failures = 0
    async with httpx.AsyncClient() as http:
        while failures < _MAX_RECONNECTS:
            if deadline is not None and loop.time() > deadline:
                raise WaitTimeoutError(f"{what} did not end within {timeout}s")
            url, headers = _request_parts(path, last_id)
            parser = _SseParser()
            try:
                timeouts = httpx.Timeout(30.0, read=_read_timeout(deadline, loop.time()))
                async with http.stream("GET", url, headers=headers, timeout=timeouts) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        _BaseClient()._parse(response)
                    async for line in response.aiter_lines():
                        for event in parser.feed([line]):
                            last_id, failures = event.id or last_id, 0
                            yield event
                            if done(event):
                                return
                        if deadline is not None and loop.time() > deadline:
                            raise WaitTimeoutError(f"{what} did not end within {timeout}s")
            except httpx.HTTPError:
                failures += 1
                await asyncio.sleep(0.2)
    raise ConnectionError(f"lost the event stream of {what} {_MAX_RECONNECTS} times in a row")


def _run_of(event: _Event) -> Run[Any]:
    return Run.model_validate(json.loads(event.data))


def _run_ended(event: _Event) -> bool:
    return _run_of(event).is_terminal


def _stream_ended(event: _Event) -> bool:
    return event.event == "end"


def subscribe_run(run_id: str, *, timeout: float | None = None) -> Iterator[Run[Any]]:
    for event in _follow(f"/realtime/v1/runs/{quote(run_id, safe='')}", f"run {run_id}", timeout, _run_ended):
        yield _run_of(event)


async def asubscribe_run(run_id: str, *, timeout: float | None = None) -> AsyncIterator[Run[Any]]:
    async for event in _afollow(f"/realtime/v1/runs/{quote(run_id, safe='')}", f"run {run_id}", timeout, _run_ended):
        yield _run_of(event)


def _tags_path(tags: str | list[str]) -> str:
    names = [tags] if isinstance(tags, str) else list(tags)
    return "/realtime/v1/runs?" + urlencode({"tags": ",".join(names)})


def subscribe_tags(tags: str | list[str], *, timeout: float | None = None) -> Iterator[Run[Any]]:
    for event in _follow(_tags_path(tags), f"runs tagged {tags}", timeout, lambda _: False):
        yield _run_of(event)


async def asubscribe_tags(tags: str | list[str], *, timeout: float | None = None) -> AsyncIterator[Run[Any]]:
    async for event in _afollow(_tags_path(tags), f"runs tagged {tags}", timeout, lambda _: False):
        yield _run_of(event)


def _stream_path(run_id: str, key: str) -> str:
    return f"/realtime/v1/streams/{quote(run_id, safe='')}/{quote(key, safe='')}"


def read_stream(run_id: str, key: str, *, timeout: float | None = None) -> Iterator[Any]:
    for event in _follow(_stream_path(run_id, key), f"stream {key!r} of run {run_id}", timeout, _stream_ended):
        if event.event != "end":
            yield json.loads(event.data)


async def aread_stream(run_id: str, key: str, *, timeout: float | None = None) -> AsyncIterator[Any]:
    async for event in _afollow(_stream_path(run_id, key), f"stream {key!r} of run {run_id}", timeout, _stream_ended):
        if event.event != "end":
            yield json.loads(event.data)


@dataclass(frozen=True)
class StreamChunk:
    """A chunk of one of a run's streams, as `runs.subscribe(run_id, streams=[...])` yields it."""

    stream: str
    chunk: Any


_DONE = object()


def _source_ended(item: Any) -> bool:
    """For the merging loops: whether `item` marks the end of a source; a source's error is raised."""
    if isinstance(item, BaseException):
        raise item
    return item is _DONE


def subscribe_run_with_streams(run_id: str, streams: list[str], *, timeout: float | None = None) -> Iterator[Run[Any] | StreamChunk]:
    """The run at each change and its streams' chunks, as they arrive (each in its own order), until
    the run ended and every stream was read to its end."""
    import contextvars
    import queue
    import threading

    arrived: queue.Queue[Any] = queue.Queue()

    def pump(source: Iterator[Any], wrap: Callable[[Any], Any]) -> None:
        try:
            for item in source:
                arrived.put(wrap(item))
        except BaseException as exc:  # handed to the consumer, who raises it
            arrived.put(exc)
        finally:
            arrived.put(_DONE)

    sources: list[tuple[Iterator[Any], Callable[[Any], Any]]] = [(subscribe_run(run_id, timeout=timeout), lambda run: run)]
    sources += [(read_stream(run_id, key, timeout=timeout), lambda chunk, key=key: StreamChunk(key, chunk)) for key in streams]
    for source, wrap in sources:  # each in the caller's context: the client bound there is the one it reads through
        reader = contextvars.copy_context().run
        threading.Thread(target=reader, args=(pump, source, wrap), name="tether-subscribe", daemon=True).start()
    running = len(sources)
    while running:
        item = arrived.get()
        if _source_ended(item):
            running -= 1
        else:
            yield item


async def asubscribe_run_with_streams(run_id: str, streams: list[str], *, timeout: float | None = None) -> AsyncIterator[Run[Any] | StreamChunk]:
    import asyncio

    arrived: asyncio.Queue[Any] = asyncio.Queue()

    async def pump(source: AsyncIterator[Any], wrap: Callable[[Any], Any]) -> None:
        try:
            async for item in source:
                await arrived.put(wrap(item))
        except Exception as exc:
            await arrived.put(exc)
        finally:
            await arrived.put(_DONE)

    sources: list[tuple[AsyncIterator[Any], Callable[[Any], Any]]] = [(asubscribe_run(run_id, timeout=timeout), lambda run: run)]
    sources += [(aread_stream(run_id, key, timeout=timeout), lambda chunk, key=key: StreamChunk(key, chunk)) for key in streams]
    pumps = [asyncio.ensure_future(pump(source, wrap)) for source, wrap in sources]
    try:
        running = len(pumps)
        while running:
            item = await arrived.get()
            if _source_ended(item):
                running -= 1
            else:
                yield item
    finally:
        for task in pumps:
            task.cancel()
