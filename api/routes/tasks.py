"""Triggering: one run, a batch in one request, or Trigger.dev's streamed two-phase batch."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tether._wire import WireModel
from tether.errors import PayloadTooLargeError, ValidationError
from tether.options import MAX_BATCH_SIZE, BatchItem, BatchTriggerRequest, TriggerRequest
from tether.runtime.engine import Engine
from tether.runtime.environments import Env

from tether.api.auth import environment

router = APIRouter(tags=["tasks"])
MAX_BODY_BYTES = 3 * 1024 * 1024 + 64 * 1024


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


@router.post("/api/v1/tasks/{taskId}/trigger", response_model=TriggerResponse, summary="Trigger a task")
def trigger_task(taskId: str, body: TriggerRequest, env: EnvDep, engine: EngineDep, request: Request) -> dict[str, Any]:
    _refuse_large(request)
    return engine.trigger(env, taskId, body, payload_type=body.options.payload_type)


class BatchResponse(BaseModel):
    id: str
    runCount: int
    runs: list[dict[str, Any]]


@router.post("/api/v2/tasks/batch", response_model=BatchResponse, summary="Trigger up to 1,000 runs, of any tasks")
@router.post("/api/v1/tasks/batch", response_model=BatchResponse, include_in_schema=False)
def batch_trigger(body: BatchTriggerRequest, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.batch_trigger(env, body)


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


@router.get("/api/v2/batches/{batchId}", summary="Retrieve a batch")
def retrieve_batch(batchId: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.retrieve_batch(env, batchId)
