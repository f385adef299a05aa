"""Wait tokens: pause a run until someone completes the token (an approval, a webhook).

    @task(id="publish-post")
    def publish_post(payload: dict) -> dict:
        draft = step.run("draft", write_draft, payload["topic"])
        token = wait.create_token(timeout="7d", tags=[f"post:{payload['id']}"])
        step.run("notify-editor", notify_editor, draft, token.url)   # anyone may POST to token.url
        review = wait.for_token(token)                               # checkpointed: holds nothing
        if not review.ok:
            return {"status": "timed out"}
        ...

    wait.complete_token(token_id, {"approved": True})                # from anywhere

Inside a run, `create_token` and `for_token` take journal slots: a run that resumes (or is
retried) gets the same token back rather than a new one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tether import _calls
from tether._wire import WireModel
from tether.client import asend, send
from tether.errors import RunFailedError
from tether.options import CreateTokenRequest, WireDuration
from tether.steps import Slot, current_journal, journalled, journalled_async

T = TypeVar("T")
POLL_OUTSIDE_A_RUN = 0.5  # seconds between looks when a script (not a run) waits for a token


class WaitToken(WireModel):
    """A created token: give out `id` (for `wait.complete_token`), `url` (POST a JSON body to it), or
    `public_access_token`, a key that may see and complete this token and do nothing else."""

    id: str
    url: str
    is_cached: bool = False
    public_access_token: str | None = None


class TokenInfo(WireModel):
    """A token as `wait.retrieve_token` sees it."""

    id: str
    url: str
    status: str
    tags: list[str] = []
    idempotency_key: str | None = None
    idempotency_key_expires_at: datetime | None = None
    timeout_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    output: Any = None
    output_is_error: bool | None = None


@dataclass(frozen=True)
class WaitTokenResult(Generic[T]):
    """What `wait.for_token` returns: `ok` and the completion's `output`, or (timed out) an `error`."""

    ok: bool
    id: str
    output: T | None = None
    error: dict[str, Any] | None = None

    def unwrap(self) -> T:
        if not self.ok:
            raise RunFailedError(f"wait token {self.id} was not completed: {(self.error or {}).get('message', 'timed out')}")
        return self.output  # type: ignore[return-value]

    @classmethod
    def of(cls, info: TokenInfo) -> WaitTokenResult[Any]:
        if info.status == "COMPLETED":
            return cls(True, info.id, info.output)
        return cls(False, info.id, None, info.output if isinstance(info.output, dict) else {"message": str(info.output)})


def request(timeout: WireDuration | datetime | None, idempotency_key: str | None, idempotency_key_ttl: WireDuration | None, tags: Any) -> CreateTokenRequest:
    return CreateTokenRequest(timeout=timeout, idempotency_key=idempotency_key, idempotency_key_ttl=idempotency_key_ttl, tags=tags)


def create(req: CreateTokenRequest) -> WaitToken:
    journal = current_journal()
    if journal is None:
        return WaitToken.model_validate(send(_calls.create_token(req)))
    return WaitToken.model_validate(journalled(journal, "token", "create", lambda _: _recordable(send(_calls.create_token(req)))))


async def create_async(req: CreateTokenRequest) -> WaitToken:
    journal = current_journal()
    if journal is None:
        return WaitToken.model_validate(await asend(_calls.create_token(req)))
    async def make(_: Slot) -> dict[str, Any]:
        return _recordable(await asend(_calls.create_token(req)))

    return WaitToken.model_validate(await journalled_async(journal, "token", "create", make))


def _recordable(body: dict[str, Any]) -> dict[str, Any]:
    """What a run's journal keeps of a created token: what `WaitToken` shows."""
    return {key: body[key] for key in ("id", "url", "isCached", "publicAccessToken") if key in body}


def retrieve(token_id: str) -> TokenInfo:
    return TokenInfo.model_validate(send(_calls.retrieve_token(token_id)))


def _async_value(value: Any) -> Any:
    async def make(_: Slot) -> Any:
        return value

    return make


def _token_id(token: WaitToken | str) -> str:
    return token.id if isinstance(token, WaitToken) else token


def wait_for(token: WaitToken | str) -> WaitTokenResult[Any]:
    from tether.waits import WaitSuspended

    token_id = _token_id(token)
    journal = current_journal()
    if journal is None:
        while (info := retrieve(token_id)).status == "WAITING":
            time.sleep(POLL_OUTSIDE_A_RUN)
        return WaitTokenResult.of(info)
    journalled(journal, "wait", "token", lambda _: {"id": token_id})
    info = retrieve(token_id)
    if info.status == "WAITING":
        raise WaitSuspended(token=token_id)
    return WaitTokenResult.of(info)


async def wait_for_async(token: WaitToken | str) -> WaitTokenResult[Any]:
    from tether.waits import WaitSuspended

    token_id = _token_id(token)
    journal = current_journal()
    if journal is None:
        while (info := TokenInfo.model_validate(await asend(_calls.retrieve_token(token_id)))).status == "WAITING":
            await asyncio.sleep(POLL_OUTSIDE_A_RUN)
        return WaitTokenResult.of(info)
    await journalled_async(journal, "wait", "token", _async_value({"id": token_id}))
    info = TokenInfo.model_validate(await asend(_calls.retrieve_token(token_id)))
    if info.status == "WAITING":
        raise WaitSuspended(token=token_id)
    return WaitTokenResult.of(info)


def complete(token: WaitToken | str, data: Any) -> bool:
    """Complete the token; ConflictError if it already was (its first value stands)."""
    return bool(send(_calls.complete_token(_token_id(token), data)).get("success"))


def list_page(status: str | None = None, limit: int = 20, after: str | None = None) -> list[TokenInfo]:
    body = send(_calls.list_tokens(status, limit, after))
    return [TokenInfo.model_validate(item) for item in body["data"]]
