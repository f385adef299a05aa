"""Queues: list, retrieve, pause and resume, override and reset the concurrency limit."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tether.api.routes.tasks import EngineDep, EnvDep

router = APIRouter(tags=["queues"])
Kind = Literal["id", "task", "custom"]


def _name(raw: str) -> str:
    # Trigger.dev's clients encode a '/' in a queue name twice.
    return unquote(raw)


@router.get("/api/v1/queues", summary="List queues")
def list_queues(env: EnvDep, engine: EngineDep, page: int = 1, perPage: int = 100) -> dict[str, Any]:
    return engine.list_queues(env, page, perPage)


@router.get("/api/v1/queues/{queue}", summary="Retrieve a queue by name or id")
def retrieve_queue(queue: str, env: EnvDep, engine: EngineDep, type: Kind | None = None) -> dict[str, Any]:  # noqa: A002
    return engine.retrieve_queue(env, _name(queue), type)


class PauseBody(BaseModel):
    action: Literal["pause", "resume"]
    type: Kind | None = None


@router.post("/api/v1/queues/{queue}/pause", summary="Pause or resume a queue")
def pause_queue(queue: str, body: PauseBody, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.pause_queue(env, _name(queue), body.action == "pause", body.type)


class OverrideBody(BaseModel):
    concurrencyLimit: int = Field(ge=0, le=100_000)
    type: Kind | None = None


@router.post("/api/v1/queues/{queue}/concurrency/override", summary="Override a queue's concurrency limit")
def override_limit(queue: str, body: OverrideBody, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.override_queue_limit(env, _name(queue), body.concurrencyLimit, body.type)


class ResetBody(BaseModel):
    type: Kind | None = None


@router.post("/api/v1/queues/{queue}/concurrency/reset", summary="Go back to the queue's declared limit")
def reset_limit(queue: str, env: EnvDep, engine: EngineDep, body: ResetBody | None = None) -> dict[str, Any]:
    return engine.reset_queue_limit(env, _name(queue), body.type if body else None)
