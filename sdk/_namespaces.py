"""The SDK's module functions as members of a client: `client.tasks.trigger`, `client.runs.retrieve`, `client.map`.

A member is the module function itself, called with the client bound (`client.bind()`), so it sends
through that client and the handles it returns remember it. The sync client's namespaces hold the
blocking functions; the async client's have the same names and hold the async twins, or run a blocking
function with no twin in a worker thread. Both kinds sit on one `Namespace`, and `Member` / `InThread`
are the only two ways a function is bound.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, TypeVar, overload

# The package, not its modules: they import `tether.client`, which imports this module before they exist.
# Each member names its function by a lambda (`lambda: tether.runs.retrieve`), looked up when first used.
import tether
from tether.errors import TetherError

if TYPE_CHECKING:
    from tether.client import AsyncClient, Client

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def bound_function(client: Client | AsyncClient, fn: Callable[P, R], *, in_thread: bool = False) -> Callable[..., Any]:
    """`fn` called with `client` bound: for its whole run when it is a coroutine function, and for each
    step of the iterator it returns; `in_thread` makes a blocking function awaitable (in a worker thread,
    which inherits the binding)."""
    if in_thread:

        @functools.wraps(fn)
        async def threaded(*args: Any, **kwargs: Any) -> Any:
            with client.bind():
                return await asyncio.to_thread(fn, *args, **kwargs)

        return threaded
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awaited(*args: Any, **kwargs: Any) -> Any:
            with client.bind():
                return await fn(*args, **kwargs)

        return awaited

    @functools.wraps(fn)
    def called(*args: Any, **kwargs: Any) -> Any:
        with client.bind():
            result = fn(*args, **kwargs)
        if isinstance(result, Iterator):
            return _bound_iterator(client, result)
        if isinstance(result, AsyncIterator):
            return _bound_async_iterator(client, result)
        return result

    return called


def _bound_iterator(client: Client | AsyncClient, items: Iterator[T]) -> Iterator[T]:
    try:
        while True:
            with client.bind():
                try:
                    item = next(items)
                except StopIteration:
                    return
            yield item
    finally:  # a reader that stops early closes what it read (an event stream's connection)
        close = getattr(items, "close", None)
        if close is not None:
            close()


async def _bound_async_iterator(client: Client | AsyncClient, items: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        while True:
            with client.bind():
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    return
            yield item
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


class Member(Generic[P, R]):
    """A module function as a member of a client (or of one of its namespaces), sent through that client."""

    def __init__(self, function: Callable[[], Callable[P, R]]) -> None:
        self._function = function

    @overload
    def __get__(self, owner: None, owner_type: type) -> Member[P, R]: ...

    @overload
    def __get__(self, owner: Namespace | Client | AsyncClient, owner_type: type) -> Callable[P, R]: ...

    def __get__(self, owner: Namespace | Client | AsyncClient | None, owner_type: type) -> Any:
        if owner is None:
            return self
        return bound_function(owner.client if isinstance(owner, Namespace) else owner, self._function())


class InThread(Generic[P, R]):
    """A blocking module function as a member of an async namespace: awaited, it runs in a worker thread."""

    def __init__(self, function: Callable[[], Callable[P, R]]) -> None:
        self._function = function

    @overload
    def __get__(self, owner: None, owner_type: type) -> InThread[P, R]: ...

    @overload
    def __get__(self, owner: Namespace, owner_type: type) -> Callable[P, Awaitable[R]]: ...

    def __get__(self, owner: Namespace | None, owner_type: type) -> Any:
        if owner is None:
            return self
        return bound_function(owner.client, self._function(), in_thread=True)


class Namespace:
    """A group of module functions on a client (`client.runs`): declared on the class unbound, and made
    for each client on first access, which keeps it (a non-data descriptor: the instance's copy wins)."""

    def __init__(self, client: Client | AsyncClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Client | AsyncClient:
        if self._client is None:
            raise TetherError(f"{type(self).__name__} is used through a client: `client.{self._name}`")
        return self._client

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, client: Client | AsyncClient | None, owner: type) -> Self:
        if client is None:
            return self
        bound = client.__dict__[self._name] = type(self)(client)
        bound._name = self._name
        return bound

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


# -- the namespaces: `client.tasks`, `client.runs`…, each sync one with its async twin -------------------------


class TasksNamespace(Namespace):
    """`tether.tasks`' triggers by id, through a `Client`."""

    trigger = Member(lambda: tether.tasks.trigger)
    trigger_and_wait = Member(lambda: tether.tasks.trigger_and_wait)
    batch_trigger = Member(lambda: tether.tasks.batch_trigger)
    batch_trigger_and_wait = Member(lambda: tether.tasks.batch_trigger_and_wait)


class AsyncTasksNamespace(Namespace):
    trigger = Member(lambda: tether.tasks.atrigger)
    trigger_and_wait = Member(lambda: tether.tasks.trigger_and_wait_async)
    batch_trigger = Member(lambda: tether.tasks.abatch_trigger)
    batch_trigger_and_wait = Member(lambda: tether.tasks.batch_trigger_and_wait_async)


class RunsNamespace(Namespace):
    """`tether.runs` through a `Client`, live streams included: `client.runs.subscribe(run_id, streams=["llm"])`."""

    retrieve = Member(lambda: tether.runs.retrieve)
    list = Member(lambda: tether.runs.list)
    iterate = Member(lambda: tether.runs.iterate)
    cancel = Member(lambda: tether.runs.cancel)
    replay = Member(lambda: tether.runs.replay)
    reschedule = Member(lambda: tether.runs.reschedule)
    add_tags = Member(lambda: tether.runs.add_tags)
    logs = Member(lambda: tether.runs.logs)
    subscribe = Member(lambda: tether.runs.subscribe)
    subscribe_to_runs_with_tag = Member(lambda: tether.runs.subscribe_to_runs_with_tag)
    watch = Member(lambda: tether.runs.watch)


class AsyncRunsNamespace(Namespace):
    retrieve = Member(lambda: tether.runs.aretrieve)
    list = Member(lambda: tether.runs.alist)
    cancel = Member(lambda: tether.runs.acancel)
    replay = Member(lambda: tether.runs.areplay)
    reschedule = InThread(lambda: tether.runs.reschedule)
    add_tags = InThread(lambda: tether.runs.add_tags)
    logs = InThread(lambda: tether.runs.logs)
    subscribe = Member(lambda: tether.runs.asubscribe)
    subscribe_to_runs_with_tag = Member(lambda: tether.runs.asubscribe_to_runs_with_tag)


class SchedulesNamespace(Namespace):
    """`tether.schedules`' management functions through a `Client`."""

    create = Member(lambda: tether.schedules.create)
    retrieve = Member(lambda: tether.schedules.retrieve)
    list = Member(lambda: tether.schedules.list)
    update = Member(lambda: tether.schedules.update)
    delete = Member(lambda: tether.schedules.delete)
    activate = Member(lambda: tether.schedules.activate)
    deactivate = Member(lambda: tether.schedules.deactivate)
    timezones = Member(lambda: tether.schedules.timezones)


class AsyncSchedulesNamespace(Namespace):
    create = Member(lambda: tether.schedules.acreate)
    retrieve = InThread(lambda: tether.schedules.retrieve)
    list = InThread(lambda: tether.schedules.list)
    update = InThread(lambda: tether.schedules.update)
    delete = InThread(lambda: tether.schedules.delete)
    activate = InThread(lambda: tether.schedules.activate)
    deactivate = InThread(lambda: tether.schedules.deactivate)
    timezones = InThread(lambda: tether.schedules.timezones)


class QueuesNamespace(Namespace):
    """`tether.queues`' management functions through a `Client`."""

    list = Member(lambda: tether.queues.list)
    retrieve = Member(lambda: tether.queues.retrieve)
    pause = Member(lambda: tether.queues.pause)
    resume = Member(lambda: tether.queues.resume)
    override_concurrency_limit = Member(lambda: tether.queues.override_concurrency_limit)
    reset_concurrency_limit = Member(lambda: tether.queues.reset_concurrency_limit)


class AsyncQueuesNamespace(Namespace):
    list = InThread(lambda: tether.queues.list)
    retrieve = InThread(lambda: tether.queues.retrieve)
    pause = InThread(lambda: tether.queues.pause)
    resume = InThread(lambda: tether.queues.resume)
    override_concurrency_limit = InThread(lambda: tether.queues.override_concurrency_limit)
    reset_concurrency_limit = InThread(lambda: tether.queues.reset_concurrency_limit)


class WaitNamespace(Namespace):
    """Wait tokens through a `Client`: create one, wait for it, complete it, look them up."""

    create_token = Member(lambda: tether.waits.wait.create_token)
    for_token = Member(lambda: tether.waits.wait.for_token)
    complete_token = Member(lambda: tether.waits.wait.complete_token)
    retrieve_token = Member(lambda: tether.waits.wait.retrieve_token)
    list_tokens = Member(lambda: tether.waits.wait.list_tokens)


class AsyncWaitNamespace(Namespace):
    create_token = Member(lambda: tether.waits.wait.create_token_async)
    for_token = Member(lambda: tether.waits.wait.for_token_async)
    complete_token = InThread(lambda: tether.waits.wait.complete_token)
    retrieve_token = InThread(lambda: tether.waits.wait.retrieve_token)
    list_tokens = InThread(lambda: tether.waits.wait.list_tokens)


class AuthNamespace(Namespace):
    """Public access tokens signed for the client's environment."""

    create_public_token = Member(lambda: tether.auth.create_public_token)
    create_trigger_public_token = Member(lambda: tether.auth.create_trigger_public_token)


class AsyncAuthNamespace(Namespace):
    create_public_token = InThread(lambda: tether.auth.create_public_token)
    create_trigger_public_token = InThread(lambda: tether.auth.create_trigger_public_token)


class StreamsNamespace(Namespace):
    """Reading a run's streams through a `Client`: `for chunk in client.streams.read(run_id, "llm")`."""

    read = Member(lambda: tether.streams.read)


class AsyncStreamsNamespace(Namespace):
    read = Member(lambda: tether.streams.aread)


# Members of the clients themselves: `client.map(...)` is `tether.pipelines.map` through it, `await async_client.map(...)` `amap`.
pipelines_map = Member(lambda: tether.pipelines.map)
pipelines_amap = Member(lambda: tether.pipelines.amap)
