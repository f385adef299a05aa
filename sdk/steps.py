"""Steps: work inside a run that is done once and remembered.

    from tether import step, task

    @task(id="import-orders")
    def import_orders(payload: dict) -> dict:
        orders = step.run("fetch", fetch_orders, payload["shop"])   # journalled: not re-run on retry
        saved = step.run("save", save_orders, orders)
        return {"saved": saved}

    @step(name="charge")                                             # or as a decorator
    def charge(order_id: str) -> dict: ...

A step's return value is recorded in the run's journal before `step.run` returns. When the run
executes again (a retry after a later failure, a crash), each step already recorded returns its
result at once instead of running. So the code between steps must make the same steps, with the
same names, in the same order each time; put whatever varies (time, randomness, I/O) in a step.
A step's result must be JSON (it is returned as JSON even the first time, so every execution sees
the same value). Outside a run, a step simply calls its function.

In async tasks use `await step.run_async(...)` (the function may be sync or async); a decorated async
function is awaited as usual.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterator, MutableSet
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tether._payload import encode_output
from tether.errors import AbortTaskRunError, OutputNotSerializableError, ValidationError
from tether.retry import Retry

T = TypeVar("T")
MAX_NAME = 256
MAX_BRANCH = 512  # characters of a branch's path (see Slot)


class _Recorded(Protocol):
    output: Any


@dataclass(frozen=True, order=True)
class Slot:
    """Where a durable call sits in its run's journal: the `index`-th call of its `branch`.

    The run's own code is the branch ""; code running in parallel (`tether.parallel`, the asyncio
    tasks a run starts) gets a branch of its own, so that its calls keep their slots however the
    branches interleave from one execution to the next."""

    branch: str
    index: int

    def __str__(self) -> str:
        return f"{self.branch}{self.index}"


class Journal(Protocol):
    """What a run gives its steps and waits: the next slot of its journal, and a way to record a result there."""

    run_id: str
    checkpoint_waits_over: float
    spawned: dict[tuple[str, str], int]  # asyncio tasks the run's code started, by parent branch and name
    tasks: MutableSet[Any]  # those tasks, while they live

    def take(self, kind: str, name: str) -> tuple[Slot, _Recorded | None]: ...

    def record(self, slot: Slot, kind: str, name: str, output: Any) -> Any: ...


_journal: ContextVar[Journal | None] = ContextVar("tether_journal", default=None)
_branch: ContextVar[str] = ContextVar("tether_branch", default="")
_inside_step: ContextVar[str | None] = ContextVar("tether_inside_step", default=None)


def current_journal() -> Journal | None:
    return _journal.get()


def set_journal(journal: Journal | None) -> object:
    """Installed by the run's executor for the run's code (and the threads and tasks it starts)."""
    return _journal.set(journal)


def current_branch() -> str:
    return _branch.get()


def set_branch(branch: str) -> object:
    return _branch.set(branch)


def inside_step() -> str | None:
    """The name of the step whose function is running here, if one is."""
    return _inside_step.get()


@contextmanager
def _in_step(name: str) -> Iterator[None]:
    token = _inside_step.set(name)
    try:
        yield
    finally:
        _inside_step.reset(token)


def journalled(journal: Journal, kind: str, name: str, make: Callable[[Slot], Any]) -> Any:
    """One durable call: what the journal recorded at its slot, or else `make(slot)`'s JSON value,
    recorded there before it is returned (if a racing attempt recorded first, its value)."""
    slot, recorded = journal.take(kind, name)
    if recorded is not None:
        return recorded.output
    return journal.record(slot, kind, name, make(slot))


async def journalled_async(journal: Journal, kind: str, name: str, make: Callable[[Slot], Awaitable[Any]]) -> Any:
    """`journalled` for async code: `make(slot)` is awaited and the record is written off the loop."""
    slot, recorded = journal.take(kind, name)
    if recorded is not None:
        return recorded.output
    value = await make(slot)
    try:
        return await asyncio.to_thread(journal.record, slot, kind, name, value)
    except asyncio.CancelledError:
        # Cancelled (a sibling checkpointed the run) after the work was done: record it before giving
        # way, or the next execution would do it again. A second write of a slot is harmless.
        journal.record(slot, kind, name, value)
        raise


def _checked(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise ValidationError(f"a step's name must be a string of 1 to {MAX_NAME} characters, got {name!r}")
    return name


def _as_json(name: str, value: Any) -> Any:
    try:
        return json.loads(encode_output(value))
    except OutputNotSerializableError as exc:
        raise OutputNotSerializableError(
            f"step {name!r} returned a value of type {type(value).__name__} that is not JSON-serializable; "
            "return a dict, list, str, finite number, bool, None or a pydantic model"
        ) from exc


def _failed_for_good(error: Exception, policy: Retry | None, attempt: int) -> bool:
    return policy is None or attempt >= policy.max_attempts or isinstance(error, AbortTaskRunError)


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], policy: Retry | None) -> Any:
    attempt = 1
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if _failed_for_good(error, policy, attempt):
                raise
            assert policy is not None
            time.sleep(policy.delay_before(attempt))
            attempt += 1


async def _acall(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], policy: Retry | None) -> Any:
    attempt = 1
    while True:
        try:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except Exception as error:
            if _failed_for_good(error, policy, attempt):
                raise
            assert policy is not None
            await asyncio.sleep(policy.delay_before(attempt))
            attempt += 1


class Step:
    """`tether.step`: `step.run(...)`, `await step.run_async(...)`, or `@step(name=...)` on a function."""

    def run(self, name: str, fn: Callable[..., T], *args: Any, retry: Retry | None = None, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` once per run and return its (journalled) result.

        `retry` retries the step by itself, in place, before its failure fails the attempt.
        """
        _checked(name)  # also outside a run, so code that works in a test works in a run
        journal = _journal.get()
        if journal is None:
            return _call(fn, args, kwargs, retry)  # type: ignore[no-any-return]
        def make(_: Slot) -> Any:
            with _in_step(name):
                return _as_json(name, _call(fn, args, kwargs, retry))

        return journalled(journal, "step", name, make)  # type: ignore[no-any-return]

    async def run_async(self, name: str, fn: Callable[..., Any], *args: Any, retry: Retry | None = None, **kwargs: Any) -> Any:
        """`step.run` for async code: `fn` may be a coroutine function or a plain one."""
        _checked(name)
        journal = _journal.get()
        if journal is None:
            return await _acall(fn, args, kwargs, retry)
        async def make(_: Slot) -> Any:
            with _in_step(name):
                return _as_json(name, await _acall(fn, args, kwargs, retry))

        return await journalled_async(journal, "step", name, make)

    def __call__(self, fn: Callable[..., Any] | None = None, *, name: str | None = None, retry: Retry | None = None) -> Any:
        """Make every call of a function a step named `name` (default: the function's qualified name)."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            step_name = _checked(func.__qualname__ if name is None else name)
            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_step(*args: Any, **kwargs: Any) -> Any:
                    return await self.run_async(step_name, func, *args, retry=retry, **kwargs)

                return async_step

            @functools.wraps(func)
            def sync_step(*args: Any, **kwargs: Any) -> Any:
                return self.run(step_name, func, *args, retry=retry, **kwargs)

            return sync_step

        return decorate(fn) if fn is not None else decorate


step = Step()
