"""Reading and managing runs: `runs.retrieve`, `list`, `cancel`, `replay`, `reschedule`, `logs`, `subscribe`.

Every function has an async twin prefixed with `a` (`await runs.aretrieve(id)`).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from tether import _calls
from tether.client import asend, send
from tether._subscribe import StreamChunk
from tether.handles import RunHandle
from tether.models import LogLine, Run, RunPage


def retrieve(run_id: str) -> Run[Any]:
    """The run's current state: `runs.retrieve("run_...").status`."""
    return Run.model_validate(send(_calls.retrieve_run(run_id)))


async def aretrieve(run_id: str) -> Run[Any]:
    return Run.model_validate(await asend(_calls.retrieve_run(run_id)))


def _list_params(
    status: str | builtins.list[str] | None,
    task_identifier: str | builtins.list[str] | None,
    tag: str | builtins.list[str] | None,
    queue: str | None,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    cursor: str | None,
    schedule: str | None = None,
) -> dict[str, Any]:
    return {
        "filter[schedule]": schedule,
        "filter[status]": status,
        "filter[taskIdentifier]": task_identifier,
        "filter[tag]": tag,
        "filter[queue]": queue,
        "filter[createdAt][from]": from_.isoformat() if from_ else None,
        "filter[createdAt][to]": to.isoformat() if to else None,
        "page[size]": limit,
        "page[after]": cursor,
    }


def list(  # noqa: A001 - mirrors Trigger.dev's runs.list
    *,
    status: str | builtins.list[str] | None = None,
    task_identifier: str | builtins.list[str] | None = None,
    tag: str | builtins.list[str] | None = None,
    queue: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    schedule: str | None = None,
) -> RunPage:
    """One page of runs, newest first; pass `cursor=page.next_cursor` for the next. See `iterate` for all of them.

    `schedule` keeps the runs one schedule fired (its id, `sched_…`)."""
    params = _list_params(status, task_identifier, tag, queue, from_, to, limit, cursor, schedule)
    return _page(send(_calls.list_runs(params)))


async def alist(**filters: Any) -> RunPage:
    params = _list_params(
        filters.get("status"), filters.get("task_identifier"), filters.get("tag"), filters.get("queue"),
        filters.get("from_"), filters.get("to"), filters.get("limit"), filters.get("cursor"), filters.get("schedule"),
    )
    return _page(await asend(_calls.list_runs(params)))


def iterate(**filters: Any) -> Iterator[Run[Any]]:
    """Every run matching the filters, fetching pages as it goes."""
    cursor = filters.pop("cursor", None)
    while True:
        page = list(cursor=cursor, **filters)
        yield from page.data
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _page(body: dict[str, Any]) -> RunPage:
    pagination = body.get("pagination") or {}
    return RunPage.model_validate(
        {"data": body.get("data", []), "nextCursor": pagination.get("next"), "previousCursor": pagination.get("previous")}
    )


def cancel(run_id: str) -> Run[Any]:
    """Cancel a run that has not finished; an executing run is stopped. Returns the run as it is after."""
    send(_calls.cancel_run(run_id))
    return retrieve(run_id)


async def acancel(run_id: str) -> Run[Any]:
    await asend(_calls.cancel_run(run_id))
    return await aretrieve(run_id)


def replay(run_id: str) -> RunHandle[Any]:
    """Trigger a new run of the same task with the same payload and options."""
    body = send(_calls.replay_run(run_id))
    return RunHandle.from_trigger(body, body.get("taskIdentifier", ""))


async def areplay(run_id: str) -> RunHandle[Any]:
    body = await asend(_calls.replay_run(run_id))
    return RunHandle.from_trigger(body, body.get("taskIdentifier", ""))


def reschedule(run_id: str, delay: str | float | timedelta | datetime) -> Run[Any]:
    """Move a DELAYED run's start to `delay` from now (or to a datetime)."""
    value = delay.total_seconds() if isinstance(delay, timedelta) else delay
    value = value.isoformat() if isinstance(value, datetime) else value
    return Run.model_validate(send(_calls.reschedule_run(run_id, value)))


def add_tags(run_id: str, tags: builtins.list[str]) -> None:
    send(_calls.add_tags(run_id, tags))


def logs(run_id: str) -> builtins.list[LogLine]:
    """What the run's code logged and printed, in order, across attempts."""
    return [LogLine.model_validate(line) for line in send(_calls.run_logs(run_id))["data"]]


__all__ = [
    "StreamChunk", "acancel", "add_tags", "alist", "areplay", "aretrieve", "asubscribe", "asubscribe_to_runs_with_tag",
    "cancel", "iterate", "list", "logs", "replay", "reschedule", "retrieve", "subscribe", "subscribe_to_runs_with_tag", "watch",
]


def subscribe(run_id: str, *, timeout: float | None = None, streams: Iterable[str] = ()) -> Iterator[Any]:
    """Yield the run each time it changes, until it is finished (server-sent events). With
    `streams=["llm"]`, also each chunk of those streams as a `StreamChunk(stream, chunk)`, as they
    arrive, until the run ended and the streams were read to their ends."""
    from tether._subscribe import subscribe_run, subscribe_run_with_streams

    keys = builtins.list(streams)
    return subscribe_run_with_streams(run_id, keys, timeout=timeout) if keys else subscribe_run(run_id, timeout=timeout)


def asubscribe(run_id: str, *, timeout: float | None = None, streams: Iterable[str] = ()) -> AsyncIterator[Any]:
    from tether._subscribe import asubscribe_run, asubscribe_run_with_streams

    keys = builtins.list(streams)
    return asubscribe_run_with_streams(run_id, keys, timeout=timeout) if keys else asubscribe_run(run_id, timeout=timeout)


def subscribe_to_runs_with_tag(tag: str | list[str], *, timeout: float | None = None) -> Iterator[Run[Any]]:
    """Yield every run with the tag (any of the tags) each time it changes, new runs included;
    it never ends by itself (break out, or give a `timeout`)."""
    from tether._subscribe import subscribe_tags

    return subscribe_tags(tag, timeout=timeout)


def asubscribe_to_runs_with_tag(tag: str | list[str], *, timeout: float | None = None) -> AsyncIterator[Run[Any]]:
    from tether._subscribe import asubscribe_tags

    return asubscribe_tags(tag, timeout=timeout)


def watch(run_id: str, *, stream: str | None = None, timeout: float | None = None) -> Run[Any]:
    """Show the run live until it ends: its status and stage, and the text of `stream` as it comes.
    In Jupyter one cell output updates in place; elsewhere the text is printed as it arrives.
    Returns the run as it ended."""
    from tether._watch import watch as _watch

    return _watch(run_id, stream, timeout)
