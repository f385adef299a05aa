"""How the SDK reaches Tether: over HTTP from anywhere, or straight into the engine inside a run.

    import tether
    tether.configure(api_url="http://127.0.0.1:8030", secret_key="tt_dev_...")

Without `configure`, `TETHER_API_URL` and `TETHER_SECRET_KEY` are read from the environment.
`Client` and `AsyncClient` share one core (`_BaseClient`) and differ only in how they send.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tether._calls import Call
from tether.errors import ERRORS_BY_STATUS, ApiError, AuthenticationError, ConnectionError, TetherError

if TYPE_CHECKING:  # httpx is imported when a client is first made: a RunActor never needs it
    import httpx

DEFAULT_API_URL = "http://127.0.0.1:8030"


class Backend(Protocol):
    """Something that executes `Call`s and returns their JSON result."""

    def call(self, call: Call) -> Any: ...

    async def acall(self, call: Call) -> Any: ...


@dataclass
class _Settings:
    api_url: str | None = None
    secret_key: str | None = None
    timeout: float = 30.0


_settings = _Settings()
_local_backend: Backend | None = None
_clients: dict[tuple[str, str | None], Client] = {}


def configure(api_url: str | None = None, secret_key: str | None = None, *, timeout: float | None = None) -> None:
    """Point the SDK at a Tether gateway. Arguments left out keep their current value."""
    if api_url is not None:
        _settings.api_url = api_url.rstrip("/")
    if secret_key is not None:
        _settings.secret_key = secret_key
    if timeout is not None:
        _settings.timeout = timeout
    _clients.clear()


def use_local_backend(backend: Backend | None) -> None:
    """Installed by a RunActor so task code triggers through the engine instead of HTTP."""
    global _local_backend
    _local_backend = backend


def _api_url() -> str:
    return (_settings.api_url or os.environ.get("TETHER_API_URL") or DEFAULT_API_URL).rstrip("/")


def _secret_key() -> str | None:
    return _settings.secret_key or os.environ.get("TETHER_SECRET_KEY")


def backend() -> Backend:
    if _local_backend is not None:
        return _local_backend
    key = (_api_url(), _secret_key())
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = Client(api_url=key[0], secret_key=key[1], timeout=_settings.timeout)
    return client


class _BaseClient:
    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        self.api_url = (api_url or _api_url()).rstrip("/")
        self.secret_key = secret_key if secret_key is not None else _secret_key()
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        if not self.secret_key:
            raise AuthenticationError(
                "no secret key: call tether.configure(secret_key=...) or set TETHER_SECRET_KEY "
                "(`tether dev` prints the dev key)"
            )
        return {"Authorization": f"Bearer {self.secret_key}", "Accept": "application/json"}

    def _request_kwargs(self, call: Call) -> dict[str, Any]:
        params = {k: _param(v) for k, v in (call.params or {}).items() if v is not None}
        kwargs: dict[str, Any] = {"headers": self._headers(), "params": params}
        if call.method != "GET":
            kwargs["json"] = call.json if call.json is not None else {}
        return kwargs

    def _parse(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text}
        message = body.get("error") or body.get("message") or response.reason_phrase
        if isinstance(message, dict):
            message = message.get("message", str(message))
        error_type = ERRORS_BY_STATUS.get(response.status_code, ApiError)
        error = error_type(f"{response.status_code}: {message}", details=body)
        error.status_code = response.status_code
        raise error


def _param(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class Client(_BaseClient):
    """Synchronous HTTP client for the gateway."""

    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        super().__init__(api_url, secret_key, timeout)
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout)

    def call(self, call: Call) -> Any:
        import httpx

        try:
            response = self._http.request(call.method, call.path, **self._request_kwargs(call))
        except httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach Tether at {self.api_url}: {exc}") from exc
        return self._parse(response)

    async def acall(self, call: Call) -> Any:
        return await _async_client(self.api_url, self.secret_key, self.timeout).acall(call)

    def close(self) -> None:
        self._http.close()


_async_clients: dict[tuple[str, str | None, int], AsyncClient] = {}


def _async_client(api_url: str, secret_key: str | None, timeout: float) -> AsyncClient:
    # An httpx.AsyncClient belongs to the event loop it first ran on, so keep one per loop.
    import asyncio

    key = (api_url, secret_key, id(asyncio.get_running_loop()))
    client = _async_clients.get(key)
    if client is None:
        client = _async_clients[key] = AsyncClient(api_url, secret_key, timeout)
    return client


def send(call: Call) -> Any:
    return backend().call(call)


async def asend(call: Call) -> Any:
    return await backend().acall(call)


class AsyncClient(_BaseClient):
    """Asynchronous HTTP client for the gateway."""

    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        super().__init__(api_url, secret_key, timeout)
        self._http = httpx.AsyncClient(base_url=self.api_url, timeout=timeout)

    async def acall(self, call: Call) -> Any:
        import httpx

        try:
            response = await self._http.request(call.method, call.path, **self._request_kwargs(call))
        except httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach Tether at {self.api_url}: {exc}") from exc
        return self._parse(response)

    def call(self, call: Call) -> Any:
        raise TetherError("AsyncClient is asynchronous: use `await client.acall(...)`")

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
