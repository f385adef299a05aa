"""Reading and managing runs, Trigger.dev-shaped."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel

from tether.api.auth import AccessDep
from tether.api.routes.realtime import readable_run
from tether.api.routes.tasks import EngineDep, EnvDep

router = APIRouter(tags=["runs"])


@router.get("/api/v3/runs/{runId}", summary="Retrieve a run (secret key, or a public token that may read it)")
def retrieve_run(runId: str, caller: AccessDep, engine: EngineDep) -> dict[str, Any]:
    readable_run(engine, caller, runId)
    return engine.retrieve_run(caller.env, runId)


@router.get(
    "/api/v1/runs",
    summary="List runs, newest first",
    description=(
        "Filters: filter[status], filter[taskIdentifier], filter[tag] (comma-separated lists), filter[queue], "
        "filter[batch], filter[createdAt][from|to] (epoch ms or ISO 8601), filter[createdAt][period] (e.g. 1d). "
        "Pages: page[size] (1-100), page[after] / page[before] cursors from `pagination`."
    ),
)
def list_runs(request: Request, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.list_runs(env, dict(request.query_params))


@router.post("/api/v2/runs/{runId}/cancel", summary="Cancel a run")
def cancel_run(runId: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.cancel_run(env, runId)


@router.post("/api/v1/runs/{runId}/replay", summary="Run the same task again with the same payload")
def replay_run(runId: str, env: EnvDep, engine: EngineDep, body: dict[str, Any] | None = Body(default=None)) -> dict[str, Any]:
    return engine.replay_run(env, runId, body)


class RescheduleBody(BaseModel):
    delay: str | float


@router.post("/api/v1/runs/{runId}/reschedule", summary="Move a DELAYED run's start")
def reschedule_run(runId: str, body: RescheduleBody, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.reschedule_run(env, runId, body.delay)


class TagsBody(BaseModel):
    tags: list[str] | str


@router.post("/api/v1/runs/{runId}/tags", summary="Add tags to a run")
def add_tags(runId: str, body: TagsBody, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.add_tags(env, runId, body.tags)


class MetadataBody(BaseModel):
    metadata: dict[str, Any] | None = None
    operations: list[dict[str, Any]] = []


@router.put("/api/v1/runs/{runId}/metadata", summary="Replace a run's metadata, or apply operations to it")
def update_metadata(runId: str, body: MetadataBody, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.update_metadata(env, runId, body.metadata, body.operations)


@router.get("/api/v1/runs/{runId}/logs", summary="What the run printed and logged")
def run_logs(runId: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.run_logs(env, runId)
