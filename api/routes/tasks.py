"""Triggering: one run, a batch in one request, or Trigger.dev's streamed two-phase batch."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from tether._wire import WireModel
from tether.errors import PayloadTooLargeError, PermissionDeniedError, ValidationError
from tether.options import MAX_BATCH_SIZE, BatchItem, BatchTriggerRequest, TriggerRequest
from tether.runtime import public_tokens
from tether.runtime.engine import Engine
from tether.runtime.environments import Env

from tether.api.auth import AccessDep, environment, missing_is_forbidden

router = APIRouter(tags=["tasks"])
MAX_BODY_BYTES = 3 * 1024 * 1024 + 64 * 1024
READ_TOKEN_EXPIRATION = "1h"  # of the publicAccessToken a trigger answers with


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


EnvDep = Annotated[Env, Depends(environment)]
EngineDep = Annotated[Engine, Depends(engine_of)]


def _refuse_large(request: Request) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES * MAX_BATCH_SIZE:
        raise PayloadTooLargeError("request body is too large")


class TriggerResponse(BaseModel):
    id: str = Field(examples=["run_0abc"])
    isCached: bool = False
    publicAccessToken: str = Field(description="A JWT that may read this run (and follow it in realtime) for an hour")


@router.post("/api/v1/tasks/{taskId}/trigger", response_model=TriggerResponse, summary="Trigger a task (secret key, or a trigger token for it)")
def trigger_task(taskId: str, body: TriggerRequest, caller: AccessDep, engine: EngineDep, request: Request, response: Response) -> dict[str, Any]:
    _refuse_large(request)
    if not caller.is_secret_key:
        caller.require("write", "tasks", taskId)
        _refuse_privileged_options(body)
        public_tokens.spend(engine.store, caller)
    try:
        created = engine.trigger(caller.env, taskId, body, payload_type=body.options.payload_type)
    except Exception:
        public_tokens.unspend(engine.store, caller)  # a refused trigger does not use up a one-time token
        raise
    token = public_tokens.create(caller.env, [f"read:runs:{created['id']}"], READ_TOKEN_EXPIRATION)
    response.headers["x-trigger-jwt"] = token
    return {**created, "publicAccessToken": token}


# What a browser holding a trigger token may set: nothing that reaches other runs (an idempotency
# key could return someone else's run, with a token to read it; a queue option changes the queue
# for everyone; tags put the run into other people's tag feeds) or picks the code it runs on.
PUBLIC_TRIGGER_OPTIONS = {"delay", "ttl", "metadata", "payload_type"}


def _refuse_privileged_options(body: TriggerRequest) -> None:
    given = body.options.model_dump(exclude_none=True)
    refused = sorted(set(given) - PUBLIC_TRIGGER_OPTIONS)
    if refused:
        raise PermissionDeniedError(
            f"a public access token cannot set {', '.join(refused)} on a trigger: set them on your backend, "
            f"or leave them to the task's defaults (a browser may set {', '.join(sorted(PUBLIC_TRIGGER_OPTIONS - {'payload_type'}))})"
        )


class BatchResponse(BaseModel):
    id: str
    runCount: int
    runs: list[dict[str, Any]]
    publicAccessToken: str = Field(description="A JWT that may read the batch's runs for an hour")


@router.post("/api/v2/tasks/batch", response_model=BatchResponse, summary="Trigger up to 1,000 runs, of any tasks")
@router.post("/api/v1/tasks/batch", response_model=BatchResponse, include_in_schema=False)
def batch_trigger(body: BatchTriggerRequest, env: EnvDep, engine: EngineDep, response: Response) -> dict[str, Any]:
    created = engine.batch_trigger(env, body)
    token = public_tokens.create(env, [f"read:batch:{created['id']}"], READ_TOKEN_EXPIRATION)
    response.headers["x-trigger-jwt"] = token
    return {**created, "publicAccessToken": token}


class CreateBatchRequest(WireModel):
    run_count: int = Field(ge=1, le=MAX_BATCH_SIZE)
    idempotency_key: str | None = Field(default=None, max_length=2048)


@router.post("/api/v3/batches", status_code=202, summary="Create a batch whose items are streamed next")
def create_batch(body: CreateBatchRequest, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.create_batch(env, body.run_count, body.idempotency_key)


@router.post("/api/v3/batches/{batchId}/items", summary="Stream a batch's items as NDJSON")
async def stream_batch_items(batchId: str, env: EnvDep, engine: EngineDep, request: Request) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    items: dict[int, BatchItem] = {}
    types: dict[int, str | None] = {}
    for number, line in enumerate(raw.decode().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            index = int(data.get("index", len(items)))
            item = BatchItem.model_validate(data)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"line {number}: not a valid batch item: {exc}") from None
        items.setdefault(index, item)
        types.setdefault(index, item.options.payload_type)
    order = sorted(items)
    return await run_in_threadpool(engine.stream_batch_items, env, batchId, [items[i] for i in order], [types[i] for i in order])


@router.get("/api/v2/batches/{batchId}", summary="Retrieve a batch (secret key, or a public token that may read it)")
def retrieve_batch(batchId: str, caller: AccessDep, engine: EngineDep) -> dict[str, Any]:
    caller.require("read", "batch", batchId)
    with missing_is_forbidden(caller, f"read:batch:{batchId}"):
        return engine.retrieve_batch(caller.env, batchId)
