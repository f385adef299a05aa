"""The engine's wait-token operations: create, read, list and complete tokens (by key or callback URL).

A mixin of `Engine`, which stays the one facade the gateway and task code call.
"""

from __future__ import annotations

from typing import Any

from tether.options import CreateTokenRequest
from tether.runtime import tokens
from tether.runtime.environments import Env
from tether.runtime.store.database import Store


class TokenOperations:
    store: Store
    control: Any
    public_url: str

    def create_token(self, env: Env, request: CreateTokenRequest) -> dict[str, Any]:
        row, cached = tokens.create(self.store, env, request)
        return {**tokens.body(row, self.public_url, is_cached=cached), "publicAccessToken": tokens.public_access_token(env, row)}

    def retrieve_token(self, env: Env, token_id: str) -> dict[str, Any]:
        return tokens.body(tokens.retrieve(self.store, env, token_id), self.public_url)

    def list_tokens(self, env: Env, status: str | None = None, limit: int = 20, after: str | None = None) -> dict[str, Any]:
        rows = tokens.list_page(self.store, env, status, limit, after)
        pagination = {"next": rows[-1].id} if len(rows) == limit else {}
        return {"data": [tokens.body(r, self.public_url) for r in rows], "pagination": pagination}

    def complete_token(self, env: Env, token_id: str, data: Any) -> dict[str, Any]:
        row, completed = tokens.complete(self.store, env, token_id, data)
        if not completed:
            raise tokens.already_completed(row)
        self.control.wake()  # runs waiting for it are queued again
        return {"success": True}

    def complete_token_by_callback(self, token_id: str, secret: str, data: Any) -> dict[str, Any]:
        _, completed = tokens.complete(self.store, None, token_id, data, secret=secret)
        if completed:
            self.control.wake()
        return {"success": True} if completed else {"success": True, "alreadyCompleted": True}
