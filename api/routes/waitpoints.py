"""Wait tokens: create, list, retrieve, complete, and the callback URL that completes with its body."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from tether.api.auth import AccessDep, missing_is_forbidden
from tether.api.routes.tasks import EngineDep, EnvDep
from tether.errors import ValidationError
from tether.options import CreateTokenRequest

router = APIRouter(tags=["waitpoints"])


@router.post("/api/v1/waitpoints/tokens", summary="Create a wait token")
def create_token(env: EnvDep, engine: EngineDep, body: CreateTokenRequest | None = None) -> dict[str, Any]:
    return engine.create_token(env, body or CreateTokenRequest())


@router.get("/api/v1/waitpoints/tokens", summary="List wait tokens, newest first")
def list_tokens(
    env: EnvDep, engine: EngineDep, status: Literal["WAITING", "COMPLETED", "TIMED_OUT"] | None = None, limit: int = 20, after: str | None = None
) -> dict[str, Any]:
    return engine.list_tokens(env, status, limit, after)


@router.get("/api/v1/waitpoints/tokens/{token_id}", summary="Retrieve a wait token (secret key, or its public access token)")
def retrieve_token(token_id: str, caller: AccessDep, engine: EngineDep) -> dict[str, Any]:
    if not caller.allows("write", "waitpoints", token_id):
        caller.require("read", "waitpoints", token_id)
    with missing_is_forbidden(caller, f"read:waitpoints:{token_id}"):
        return engine.retrieve_token(caller.env, token_id)


class CompleteBody(BaseModel):
    data: Any = None


@router.post(
    "/api/v1/waitpoints/tokens/{token_id}/complete",
    summary="Complete a wait token (409 if it already was); with the secret key or the token's publicAccessToken",
)
def complete_token(token_id: str, caller: AccessDep, engine: EngineDep, body: CompleteBody | None = None) -> dict[str, Any]:
    caller.require("write", "waitpoints", token_id)
    with missing_is_forbidden(caller, f"write:waitpoints:{token_id}"):
        return engine.complete_token(caller.env, token_id, (body or CompleteBody()).data)


@router.post(
    "/api/v1/waitpoints/tokens/{token_id}/callback/{secret}",
    summary="Complete a wait token with the request's JSON body; no key needed, the URL is the secret",
)
async def complete_by_callback(token_id: str, secret: str, request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = await request.json() if raw else None
    except ValueError:
        raise ValidationError("the callback body must be JSON (or empty)") from None
    engine = request.app.state.engine
    return await _in_thread(engine.complete_token_by_callback, token_id, secret, data)


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
