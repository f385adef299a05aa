"""Minting public access tokens with the secret key: what a backend hands to a browser."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from tether._wire import WireModel
from tether.api.routes.tasks import EngineDep, EnvDep

router = APIRouter(tags=["auth"])


class TokenRequest(WireModel):
    scopes: dict[str, dict[str, Any]] = Field(
        description='What it may do: {"read": {"runs": ["run_…"], "tags": ["user:42"], "batch": [...], "tasks": [...]}, '
        '"write": {"tasks": ["task-id"], "waitpoints": [...]}}; true instead of a list grants every one of that kind'
    )
    expiration_time: str | float | datetime | None = Field(default=None, description='"15m" (the default), "2h", seconds, or a date')
    one_time_use: bool = Field(default=False, description="Refused after its first use (for trigger tokens)")


@router.post("/api/v1/auth/jwt", summary="Create a public access token (secret key only)")
def create_public_token(body: TokenRequest, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.create_public_token(env, body.scopes, body.expiration_time, body.one_time_use)
