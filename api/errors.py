"""Errors as HTTP: every refusal is `{"error": "what to fix", "code": ...}` with the right status.

4xx answers carry `x-should-retry: false` so clients that retry conflicts (Trigger.dev's do)
do not repeat a request that cannot succeed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tether.errors import StoreError, TetherError


def _response(status: int, message: str, code: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "code": code}
    if details is not None:
        body["details"] = details
    headers = {"x-should-retry": "false"} if 400 <= status < 500 else {}
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    @app.exception_handler(TetherError)
    async def tether_error(_: Request, error: TetherError) -> JSONResponse:
        status = getattr(error, "status_code", 500)
        if isinstance(error, StoreError):
            status = 503
        return _response(status, error.message, error.code, error.details)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
        summary = "; ".join(f"{_field(tuple(e.get('loc', ())))}: {_plain(e.get('msg', ''))}" for e in errors)
        return _response(422, f"invalid request: {summary}", "validation_error", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _response(error.status_code, str(error.detail), "http_error")
