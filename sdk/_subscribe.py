"""Following a run over server-sent events, reconnecting from the last event id when the stream drops."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

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


def _request_parts(run_id: str, last_event_id: str | None) -> tuple[str, dict[str, str]]:
    headers = _BaseClient(_api_url(), _secret_key())._headers()
    headers["Accept"] = "text/event-stream"
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return f"{_api_url()}/realtime/v1/runs/{run_id}", headers


def _to_run(event: _Event) -> Run[Any] | None:
    if event.event != "message" and event.event != "run":
        return None
    return Run.model_validate(json.loads(event.data))


def subscribe_run(run_id: str, *, timeout: float | None = None) -> Iterator[Run[Any]]:
    deadline = None if timeout is None else time.monotonic() + timeout
    last_id: str | None = None
    for _ in range(_MAX_RECONNECTS):
        url, headers = _request_parts(run_id, last_id)
        parser = _SseParser()
        try:
            with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30.0, read=60.0)) as response:
                if response.status_code >= 400:
                    response.read()
                    _BaseClient()._parse(response)
                for event in parser.feed(response.iter_lines()):
                    last_id = event.id or last_id
                    run = _to_run(event)
                    if run is not None:
                        yield run
                        if run.is_terminal:
                            return
                    if deadline is not None and time.monotonic() > deadline:
                        raise WaitTimeoutError(f"run {run_id} did not finish within {timeout}s")
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
    raise ConnectionError(f"lost the event stream of run {run_id} {_MAX_RECONNECTS} times")


async def asubscribe_run(run_id: str, *, timeout: float | None = None) -> AsyncIterator[Run[Any]]:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    last_id: str | None = None
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=60.0)) as http:
        for _ in range(_MAX_RECONNECTS):
            url, headers = _request_parts(run_id, last_id)
            parser = _SseParser()
            try:
                async with http.stream("GET", url, headers=headers) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        _BaseClient()._parse(response)
                    async for line in response.aiter_lines():
                        for event in parser.feed([line]):
                            last_id = event.id or last_id
                            run = _to_run(event)
                            if run is not None:
                                yield run
                                if run.is_terminal:
                                    return
                        if deadline is not None and loop.time() > deadline:
                            raise WaitTimeoutError(f"run {run_id} did not finish within {timeout}s")
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
                continue
    raise ConnectionError(f"lost the event stream of run {run_id} {_MAX_RECONNECTS} times")
