"""How the SDK reaches Tether: over HTTP from anywhere, or straight into the engine inside a run.

    import tether
    tether.configure(api_url="http://127.0.0.1:8030", secret_key="tt_dev_...")

Without `configure`, `TETHER_API_URL` and `TETHER_SECRET_KEY` are read from the environment.
Code that would rather not configure the module holds a client of its own:

    with tether.Client("http://tether:8030", "tt_prod_...") as client:
        handle = client.tasks.trigger("resize-image", {"url": url})
        run = handle.wait(timeout=60)          # the handle remembers its client

A call goes, in this order, to the engine of the run it is made in (inside a task), to the client
bound for the current context (`client.bind()`, or the duration of a `client.…` call), or to the
configured gateway. `Client` and `AsyncClient` share one core (`_BaseClient`) and differ only in
how they send; each sends the other way too, through a twin it makes when first needed. Their
namespaces (`client.tasks`, `client.runs`…), which bind the module functions to them, are in `_namespaces`.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tether import _namespaces as ns
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
_bound: ContextVar[Client | AsyncClient | None] = ContextVar("tether_bound_client", default=None)


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


def bound_client() -> Client | AsyncClient | None:
    """The client bound for the current context (`client.bind()`), if any."""
    return _bound.get()


@contextmanager
def binding(client: Client | AsyncClient | None) -> Iterator[None]:
    """Bind `client` for the block; None leaves whatever is bound (or configured) in place."""
    if client is None:
        yield
        return
    token = _bound.set(client)
    try:
        yield
    finally:
        _bound.reset(token)


def _configured_api_url() -> str:
    return (_settings.api_url or os.environ.get("TETHER_API_URL") or DEFAULT_API_URL).rstrip("/")


def _configured_secret_key() -> str | None:
    return _settings.secret_key or os.environ.get("TETHER_SECRET_KEY")


def _api_url() -> str:
    """The gateway the current context talks to (what server-sent-event readers connect to)."""
    bound = _bound.get()
    return bound.api_url if bound is not None else _configured_api_url()


def _secret_key() -> str | None:
    bound = _bound.get()
    return bound.secret_key if bound is not None else _configured_secret_key()


def backend() -> Backend:
    if _local_backend is not None:
        return _local_backend
    bound = _bound.get()
    if bound is not None:
        return bound
    key = (_configured_api_url(), _configured_secret_key())
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = Client(api_url=key[0], secret_key=key[1], timeout=_settings.timeout)
    return client


def send(call: Call) -> Any:
    return backend().call(call)


async def asend(call: Call) -> Any:
    return await backend().acall(call)


class _BaseClient:
    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        self.api_url = (api_url or _configured_api_url()).rstrip("/")
        self.secret_key = secret_key if secret_key is not None else _configured_secret_key()
        self.timeout = timeout
        self._closed = False

    def __repr__(self) -> str:
        key = f"…{self.secret_key[-4:]}" if self.secret_key else None
        return f"<{type(self).__name__} {self.api_url} key={key}{' closed' if self._closed else ''}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # A handle that crosses a process keeps its client: the same gateway and key, a fresh connection pool.
        return (type(self), (self.api_url, self.secret_key, self.timeout))

    @contextmanager
    def bind(self) -> Iterator[None]:
        """Send the module-level calls made in the block (`tether.runs.retrieve`, `task.trigger`…) through this client.

            with client.bind():
                handle = resize_image.trigger({"url": url})
        """
        with binding(self):  # type: ignore[arg-type]
            yield

    def _check_open(self) -> None:
        if self._closed:
            raise TetherError(f"{self!r} is closed: make a new client")

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
    """A synchronous client for one gateway and secret key, independent of `tether.configure`.

        client = tether.Client("http://tether:8030", "tt_prod_...")
        handle = client.tasks.trigger("resize-image", {"url": url})
        client.runs.retrieve(handle.id).status
        results = client.map("resize-image", payloads, progress=True)   # see tether.pipelines
        client.close()                                                     # or `with tether.Client(...) as client:`

    `client.tasks`, `runs`, `schedules`, `queues`, `wait` (tokens), `auth` and `streams` hold the
    module functions of the same names, sent through this client; handles they return remember it.
    `call(Call)` and `acall(Call)` are the low-level sends the SDK's functions use.
    """

    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        super().__init__(api_url, secret_key, timeout)
        self._http = httpx.Client(base_url=self.api_url, timeout=timeout)
        self._async_twin: AsyncClient | None = None

    def call(self, call: Call) -> Any:
        import httpx

        self._check_open()
        try:
            response = self._http.request(call.method, call.path, **self._request_kwargs(call))
        except httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach Tether at {self.api_url}: {exc}") from exc
        return self._parse(response)

    async def acall(self, call: Call) -> Any:
        self._check_open()
        if self._async_twin is None:
            self._async_twin = AsyncClient(self.api_url, self.secret_key, self.timeout)
        return await self._async_twin.acall(call)

    def close(self) -> None:
        self._closed = True
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The SDK's module functions, sent through this client (see tether._namespaces).
    tasks = ns.TasksNamespace()
    runs = ns.RunsNamespace()
    schedules = ns.SchedulesNamespace()
    queues = ns.QueuesNamespace()
    wait = ns.WaitNamespace()
    auth = ns.AuthNamespace()
    streams = ns.StreamsNamespace()
    # `client.map(task, payloads, ...)`: `tether.pipelines.map` through this client.
    map = ns.pipelines_map


class AsyncClient(_BaseClient):
    """An asynchronous client for one gateway and secret key, independent of `tether.configure`.

        async with tether.AsyncClient("http://tether:8030", "tt_prod_...") as client:
            handle = await client.tasks.trigger("resize-image", {"url": url})
            run = await handle.await_(timeout=60)
            results = await client.map("resize-image", payloads)

    Its namespaces have the sync client's names, and each call is awaited: `await client.runs.retrieve(id)`
    is `tether.runs.aretrieve(id)` through this client, `await client.tasks.trigger_and_wait(...)` is
    `tasks.trigger_and_wait_async`, and a function with no async twin runs in a worker thread.
    Iterators are async: `async for run in client.runs.subscribe(run_id)`. It may serve several
    event loops (one connection pool each), and it also sends synchronously (`call`), for handles.
    """

    def __init__(self, api_url: str | None = None, secret_key: str | None = None, timeout: float = 30.0) -> None:
        super().__init__(api_url, secret_key, timeout)
        # An httpx.AsyncClient belongs to the event loop it first ran on: keep one per loop.
        self._http_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()
        self._sync_twin: Client | None = None

    def _http(self) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        http = self._http_by_loop.get(loop)
        if http is None:
            http = self._http_by_loop[loop] = httpx.AsyncClient(base_url=self.api_url, timeout=self.timeout)
        return http

    async def acall(self, call: Call) -> Any:
        import httpx

        self._check_open()
        try:
            response = await self._http().request(call.method, call.path, **self._request_kwargs(call))
        except httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach Tether at {self.api_url}: {exc}") from exc
        return self._parse(response)

    def call(self, call: Call) -> Any:
        """A blocking send, for what has no async form (`handle.wait()` of a handle this client made)."""
        self._check_open()
        if self._sync_twin is None:
            self._sync_twin = Client(self.api_url, self.secret_key, self.timeout)
        return self._sync_twin.call(call)

    async def aclose(self) -> None:
        """Close this loop's connections (those of other loops go with their loops) and the blocking twin's."""
        self._closed = True
        http = self._http_by_loop.pop(asyncio.get_running_loop(), None)
        self._http_by_loop.clear()
        if http is not None:
            await http.aclose()
        if self._sync_twin is not None:
            self._sync_twin.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # The SDK's async module functions (or blocking ones, in a worker thread), sent through this client.
    tasks = ns.AsyncTasksNamespace()
    runs = ns.AsyncRunsNamespace()
    schedules = ns.AsyncSchedulesNamespace()
    queues = ns.AsyncQueuesNamespace()
    wait = ns.AsyncWaitNamespace()
    auth = ns.AsyncAuthNamespace()
    streams = ns.AsyncStreamsNamespace()
    # `await client.map(task, payloads, ...)`: `tether.pipelines.amap` through this client.
    map = ns.pipelines_amap
