"""Server-sent events: a run, the runs with some tags, a batch's runs, and a run's stream.

Every event has an id: for runs, the sequence number of the newest change it includes; for a
stream, its chunk's. `Last-Event-ID` (sent by EventSource when it reconnects) resumes after it:
nothing lost, nothing repeated. A run's state is sent as the run object `GET /api/v3/runs/{id}`
returns; changes that land between two sends are one event with the newest state. A run's
stream ends with its run; a stream's with `event: end` once the run ended and every chunk is
out. Secret keys see their environment; public access tokens what their scopes name.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from tether.api.auth import AccessDep, missing_is_forbidden
from tether.api.hub import Hub, Subscription
from tether.api.routes.tasks import EngineDep
from tether.errors import ValidationError
from tether.runtime import runs, streams
from tether.runtime.public_tokens import Access
from tether.runtime.states import TERMINAL
from tether.runtime.store.tables import RunEvent

router = APIRouter(tags=["realtime"])
PING_SECONDS = 15
CHECK_SECONDS = 1.0  # how often an idle stream looks whether its client left
MAX_CATCH_UP = 200
_e = RunEvent.__table__.c
_r = runs.runs_table.c
_terminal = {s.value for s in TERMINAL}


def hub_of(request: Request) -> Hub:
    return request.app.state.hub


def _last_event_id(request: Request) -> int | None:
    header = request.headers.get("last-event-id", "")
    return int(header) if header.isdigit() else None


def may_read_run(caller: Access, row: Any) -> bool:
    """A run is readable by its id, one of its tags, its batch or its task."""
    return (
        caller.allows("read", "runs", row.id)
        or any(caller.allows("read", "tags", tag) for tag in row.tags or ())
        or (row.batch_id is not None and caller.allows("read", "batch", row.batch_id))
        or caller.allows("read", "tasks", row.task_identifier)
    )


def readable_run(engine: Any, caller: Access, run_id: str) -> Any:
    """The run's row; 404 (secret key) or 403 (public token) if there is none; 403 if the token may not read it."""
    with missing_is_forbidden(caller, f"read:runs:{run_id}"), engine.store.read() as conn:
        row = runs.get(conn, caller.env.id, run_id)
    if not may_read_run(caller, row):
        caller.require("read", "runs", run_id)
    return row


def _runs_now(engine: Any, env_id: str, where: Any, after: int | None) -> list[tuple[int, str, str, str]]:
    """The catch-up: (newest event seq, run id, status, JSON) of the matching runs changed after
    `after` (all of them on a first connection), oldest change first."""
    with engine.store.read() as conn:
        query = select(_e.run_id, func.max(_e.seq).label("seq")).join(runs.runs_table, _r.id == _e.run_id).where(_r.environment_id == env_id, where)
        if after is not None:
            query = query.where(_e.seq > after)
        newest = conn.execute(query.group_by(_e.run_id).order_by(func.max(_e.seq).desc()).limit(MAX_CATCH_UP)).all()
        rows = {row.id: row for row in conn.execute(select(runs.runs_table).where(_r.id.in_([run_id for run_id, _ in newest])))}
        return [
            (int(seq), run_id, rows[run_id].status, json.dumps(runs.detail(conn, rows[run_id])))
            for run_id, seq in sorted(newest, key=lambda item: item[1])
        ]


def _event(seq: int, data: str) -> dict[str, Any]:
    return {"id": str(seq), "data": data}


async def _follow_runs(
    request: Request, hub: Hub, sub: Subscription, catch_up: Callable[[], list[tuple[int, str, str, str]]], after: int | None, *, ends: bool
) -> AsyncIterator[dict[str, Any]]:
    """Catch-up, then live changes; with `ends`, stop once the (single) run is terminal."""
    start = after if after is not None else -1
    sent: dict[str, int] = {}  # by run: on PostgreSQL another run's change may commit after a later one
    try:
        await hub.subscribe(sub)  # first: the catch-up then covers whatever the hub will not hand out
        pending = await run_in_threadpool(catch_up)
        if ends and not pending and after is not None and await run_in_threadpool(_ended, request, sub):
            return  # resumed after the last event of a finished run: nothing more will come
        while True:
            for seq, run_id, status, data in pending:
                if seq > sent.get(run_id, start):
                    sent[run_id] = seq
                    yield _event(seq, data)
                    if ends and status in _terminal:
                        return
            if await request.is_disconnected():
                return
            await sub.wait(CHECK_SECONDS)
            pending = sub.take_runs()
    finally:
        hub.unsubscribe(sub)


def _ended(request: Request, sub: Subscription) -> bool:
    (run_id,) = sub.run_ids
    with request.app.state.engine.store.read() as conn:
        return runs.get(conn, sub.environment_id, run_id).status in _terminal


@router.get("/realtime/v1/runs/{runId}", summary="Follow a run until it ends (server-sent events)")
async def subscribe_run(runId: str, caller: AccessDep, engine: EngineDep, request: Request) -> EventSourceResponse:
    await run_in_threadpool(readable_run, engine, caller, runId)  # 404 / 403 before the stream starts
    after = _last_event_id(request)
    hub = hub_of(request)
    sub = Subscription(caller.env.id, run_ids=frozenset([runId]))
    catch_up = lambda: _runs_now(engine, caller.env.id, _r.id == runId, after)  # noqa: E731
    return EventSourceResponse(_follow_runs(request, hub, sub, catch_up, after, ends=True), ping=PING_SECONDS)


@router.get("/realtime/v1/runs", summary="Follow every run with any of these tags, new ones included")
async def subscribe_tags(tags: str, caller: AccessDep, engine: EngineDep, request: Request) -> EventSourceResponse:
    wanted = sorted({t.strip() for t in tags.split(",") if t.strip()})
    if not wanted:
        raise ValidationError("give one or more tags: /realtime/v1/runs?tags=user:42,org:7")
    for tag in wanted:
        caller.require("read", "tags", tag)
    after = _last_event_id(request)
    hub = hub_of(request)
    sub = Subscription(caller.env.id, tags=frozenset(wanted))
    tagged = _r.id.in_(select(runs.tags_table.c.run_id).where(runs.tags_table.c.tag.in_(wanted)))
    catch_up = lambda: _runs_now(engine, caller.env.id, tagged, after)  # noqa: E731
    return EventSourceResponse(_follow_runs(request, hub, sub, catch_up, after, ends=False), ping=PING_SECONDS)


@router.get("/realtime/v1/batches/{batchId}", summary="Follow every run of a batch")
async def subscribe_batch(batchId: str, caller: AccessDep, engine: EngineDep, request: Request) -> EventSourceResponse:
    caller.require("read", "batch", batchId)
    with missing_is_forbidden(caller, f"read:batch:{batchId}"):
        await run_in_threadpool(engine.retrieve_batch, caller.env, batchId)
    after = _last_event_id(request)
    hub = hub_of(request)
    sub = Subscription(caller.env.id, batch_id=batchId)
    catch_up = lambda: _runs_now(engine, caller.env.id, _r.batch_id == batchId, after)  # noqa: E731
    return EventSourceResponse(_follow_runs(request, hub, sub, catch_up, after, ends=False), ping=PING_SECONDS)


def _stream_page(engine: Any, env_id: str, run_id: str, key: str, after: int) -> tuple[list[tuple[int, str, Any]], bool]:
    """Chunks after `after` from the database, and whether the run has ended."""
    with engine.store.read() as conn:
        # The status first: a run's last chunks commit before its outcome, so if it had ended, they are read next.
        ended = runs.get(conn, env_id, run_id).status in _terminal
        chunks = streams.read(conn, run_id, key, after, limit=1000)
    return chunks, ended


async def _follow_stream(request: Request, hub: Hub, sub: Subscription, engine: Any, env_id: str, run_id: str, key: str, after: int) -> AsyncIterator[dict[str, Any]]:
    sent = after
    try:
        await hub.subscribe(sub)
        from_database = True
        while True:
            if from_database:  # at the start, and when the subscription could not hold everything
                chunks, ended = await run_in_threadpool(_stream_page, engine, env_id, run_id, key, sent)
                for seq, _, chunk in chunks:
                    sent = seq
                    yield _event(seq, json.dumps(chunk))
                if len(chunks) == 1000:
                    continue
                if ended:
                    yield {"event": "end", "data": json.dumps({"runId": run_id, "stream": key})}
                    return
            if await request.is_disconnected():
                return
            await sub.wait(CHECK_SECONDS)
            live, overflowed = sub.take_chunks()
            for seq, chunk in live:
                if seq > sent and not overflowed:
                    sent = seq
                    yield _event(seq, json.dumps(chunk))
            # The run may have ended (its last chunks are written before its outcome): check the database.
            from_database = overflowed or not live
    finally:
        hub.unsubscribe(sub)


@router.get("/realtime/v1/streams/{runId}/{streamKey}", summary="Follow a run's stream, every chunk from the first (or Last-Event-ID)")
async def subscribe_stream(runId: str, streamKey: str, caller: AccessDep, engine: EngineDep, request: Request) -> EventSourceResponse:
    streams.check_key(streamKey)
    await run_in_threadpool(readable_run, engine, caller, runId)
    hub = hub_of(request)
    sub = Subscription(caller.env.id, stream=(runId, streamKey))
    after = _last_event_id(request) or 0
    return EventSourceResponse(_follow_stream(request, hub, sub, engine, caller.env.id, runId, streamKey, after), ping=PING_SECONDS)
