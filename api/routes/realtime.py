"""Server-sent events of a run's changes, resumable with Last-Event-ID, ending when the run is finished.

Each event carries the run object (as `GET /api/v3/runs/{id}` returns it) and, as its id, the
sequence number of the newest change it includes. Changes that land between two reads are
sent as one event holding the newest state: nothing is repeated, and the newest state is never
skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from tether.runtime import events, runs
from tether.runtime.engine import Engine
from tether.runtime.environments import Env
from tether.runtime.states import TERMINAL

from tether.api.routes.tasks import EngineDep, EnvDep

router = APIRouter(tags=["realtime"])
POLL_SECONDS = 0.1
PING_SECONDS = 15


def _read(engine: Engine, env: Env, run_id: str, after: int) -> tuple[int, dict[str, Any] | None, bool]:
    """The newest event number after `after`, the run now (None when nothing changed), and whether it is finished."""
    with engine.store.read() as conn:
        changes = events.since(conn, run_id, after)
        if not changes and after >= 0:
            return after, None, runs.get(conn, env.id, run_id).status in TERMINAL
    body = engine.retrieve_run(env, run_id)
    return (changes[-1][0] if changes else 0), body, body["status"] in TERMINAL


async def _stream(engine: Engine, env: Env, run_id: str, last_id: int | None, request: Request) -> AsyncIterator[dict[str, Any]]:
    after = -1 if last_id is None else last_id
    while True:
        newest, body, finished = await run_in_threadpool(_read, engine, env, run_id, after)
        if body is not None:
            after = max(newest, 0)
            yield {"id": str(after), "event": "message", "data": json.dumps(body)}
        if finished:
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)


@router.get("/realtime/v1/runs/{runId}", summary="Follow a run (server-sent events)")
async def subscribe_run(runId: str, env: EnvDep, engine: EngineDep, request: Request) -> EventSourceResponse:
    await run_in_threadpool(engine.retrieve_run, env, runId)  # 404 before the stream starts
    header = request.headers.get("last-event-id")
    last_id = int(header) if header and header.isdigit() else None
    return EventSourceResponse(_stream(engine, env, runId, last_id, request), ping=PING_SECONDS)
