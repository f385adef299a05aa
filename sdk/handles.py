"""The handle a trigger returns: the run's id, and ways to wait for it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tether.errors import WaitTimeoutError

OutputT = TypeVar("OutputT")

_POLL_START = 0.02
_POLL_MAX = 0.5


@dataclass(frozen=True)
class RunHandle(Generic[OutputT]):
    id: str
    task_identifier: str
    is_cached: bool = False
    public_access_token: str | None = None

    @classmethod
    def from_trigger(cls, body: dict[str, Any], task_id: str) -> RunHandle[Any]:
        return cls(
            id=body["id"],
            task_identifier=task_id,
            is_cached=bool(body.get("isCached", False)),
            public_access_token=body.get("publicAccessToken"),
        )

    def retrieve(self) -> Any:
        from tether import runs

        return runs.retrieve(self.id)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the run is finished and return it (a `Run`); WaitTimeoutError after `timeout` seconds."""
        from tether import runs

        deadline = None if timeout is None else time.monotonic() + timeout
        delay = _POLL_START
        while True:
            run = runs.retrieve(self.id)
            if run.is_terminal:
                return run
            if deadline is not None and time.monotonic() + delay > deadline:
                raise WaitTimeoutError(f"run {self.id} is still {run.status} after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)

    async def await_(self, timeout: float | None = None) -> Any:
        """The async twin of `wait` (a + wait)."""
        from tether import runs

        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        delay = _POLL_START
        while True:
            run = await runs.aretrieve(self.id)
            if run.is_terminal:
                return run
            if deadline is not None and loop.time() + delay > deadline:
                raise WaitTimeoutError(f"run {self.id} is still {run.status} after {timeout}s")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)
