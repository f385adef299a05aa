"""The handle a trigger returns: the run's id, and ways to wait for it.

A handle remembers the client it was made through (`client.tasks.trigger(...)`, or any trigger
inside `client.bind()`), so `handle.wait()` asks the same gateway with the same key, wherever it
is called from. A handle made without one follows `tether.configure`.

    handle = client.tasks.trigger("resize-image", {"url": url})
    run = handle.wait(timeout=60)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tether.errors import WaitTimeoutError

if TYPE_CHECKING:
    from tether.client import AsyncClient, Client

OutputT = TypeVar("OutputT")

_POLL_START = 0.02
_POLL_MAX = 0.5


@dataclass(frozen=True)
class RunHandle(Generic[OutputT]):
    id: str
    task_identifier: str
    is_cached: bool = False
    public_access_token: str | None = None
    client: Client | AsyncClient | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_trigger(cls, body: dict[str, Any], task_id: str) -> RunHandle[Any]:
        from tether.client import bound_client

        return cls(
            id=body["id"],
            task_identifier=task_id,
            is_cached=bool(body.get("isCached", False)),
            public_access_token=body.get("publicAccessToken"),
            client=bound_client(),
        )

    def retrieve(self) -> Any:
        """The run as it is now (a `Run`)."""
        from tether import runs
        from tether.client import binding

        with binding(self.client):
            return runs.retrieve(self.id)

    async def aretrieve(self) -> Any:
        """The async twin of `retrieve`."""
        from tether import runs
        from tether.client import binding

        with binding(self.client):
            return await runs.aretrieve(self.id)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run is finished and return it (a `Run`); WaitTimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = _POLL_START
        while True:
            run = self.retrieve()
            if run.is_terminal:
                return run
            if deadline is not None and time.monotonic() + delay > deadline:
                raise WaitTimeoutError(f"run {self.id} is still {run.status} after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)

    async def await_(self, timeout: float | None = None) -> Any:
        """The async twin of `wait` (a + wait)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        delay = _POLL_START
        while True:
            run = await self.aretrieve()
            if run.is_terminal:
                return run
            if deadline is not None and loop.time() + delay > deadline:
                raise WaitTimeoutError(f"run {self.id} is still {run.status} after {timeout}s")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)
