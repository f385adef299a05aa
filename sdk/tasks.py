"""Defining tasks (`@task`) and triggering them, by object or by id (`tasks.trigger("id", ...)`)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, ParamSpec, TypeVar

from tether import _calls, children
from tether._payload import check_payload_size, to_json_value, validate_payload
from tether.client import asend, send
from tether.errors import ConfigurationError, ValidationError
from tether.children import TaskRunResult
from tether.handles import RunHandle
from tether.machines import Machine, resolve_machine
from tether.models import BatchResult
from tether.options import BatchItem, BatchTriggerRequest, TriggerRequest, build_options
from tether.queues import Queue
from tether.retry import Retry
from tether.steps import Slot, current_journal, journalled, journalled_async

PayloadT = TypeVar("PayloadT")
OutputT = TypeVar("OutputT")
P = ParamSpec("P")

Hook = Callable[..., Any]
Duration = str | float | timedelta


@dataclass(frozen=True)
class Hooks:
    """Lifecycle hooks. `init` runs once per run process; the others once per attempt.

    `on_failure(payload, error, ctx)` also fires for TIMED_OUT, CRASHED and CANCELED runs,
    with `ctx.reason` naming the status. `on_wait(payload, ctx, wait)` fires when the run is
    checkpointed (`wait` says for what), `on_resume(payload, ctx)` when it carries on after.
    """

    init: Hook | None = None
    on_start: Hook | None = None
    on_success: Hook | None = None
    on_failure: Hook | None = None
    on_wait: Hook | None = None
    on_resume: Hook | None = None


@dataclass
class Task(Generic[PayloadT, OutputT]):
    """A registered task. Call `.trigger(payload)` to run it through Tether, or call it directly to run it inline."""

    id: str
    fn: Callable[..., Any]
    queue: Queue | None = None
    retry: Retry | None = None
    machine: Machine = field(default_factory=lambda: resolve_machine(None))
    max_duration: float | None = None
    hooks: Hooks = field(default_factory=Hooks)
    max_runs_per_actor: int = 50
    payload_type: Any = None
    scheduled: bool = False  # defined with `schedules.task`: schedules may be attached to it
    cron: dict[str, str] | None = None  # its declared schedule: {"pattern": ..., "timezone": ...}

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @property
    def module(self) -> str:
        return self.fn.__module__

    @property
    def queue_name(self) -> str:
        return self.queue.name if self.queue else f"task/{self.id}"

    def __call__(self, payload: PayloadT) -> OutputT | Awaitable[OutputT]:
        return self.fn(payload)

    def trigger(self, payload: PayloadT, **options: Any) -> RunHandle[OutputT]:
        """Queue a run and return its handle at once.

        Options: idempotency_key, idempotency_key_ttl, concurrency_key, queue, delay, ttl, tags,
        priority, max_attempts, max_duration, machine, metadata.

            handle = send_welcome_email.trigger(WelcomeEmail(email="a@b.c"), delay="30s")
        """
        return _trigger(self.id, payload, options, self.payload_type)

    async def atrigger(self, payload: PayloadT, **options: Any) -> RunHandle[OutputT]:
        """The async twin of `trigger`."""
        return await _atrigger(self.id, payload, options, self.payload_type)

    def trigger_and_wait(self, payload: PayloadT, **options: Any) -> TaskRunResult[OutputT]:
        """Trigger a run of this task and wait for its result (`.ok`, `.output`, `.error`, `.unwrap()`).

        Inside a run the caller is checkpointed while it waits, holding no actor and no queue slot.
        The same options as `trigger`.
        """
        return children.trigger_and_wait(self.id, _request(payload, options, self.payload_type))

    async def trigger_and_wait_async(self, payload: PayloadT, **options: Any) -> TaskRunResult[OutputT]:
        return await children.trigger_and_wait_async(self.id, _request(payload, options, self.payload_type))

    def batch_trigger_and_wait(self, items: Iterable[PayloadT | dict[str, Any]]) -> list[TaskRunResult[OutputT]]:
        """Trigger up to 1,000 runs of this task and wait for all of them; results in item order.

        Items as for `batch_trigger`. Inside a run the caller is checkpointed until the last one ends.
        """
        return children.batch_trigger_and_wait(_batch_request(self.id, items, self.payload_type))

    async def batch_trigger_and_wait_async(self, items: Iterable[PayloadT | dict[str, Any]]) -> list[TaskRunResult[OutputT]]:
        return await children.batch_trigger_and_wait_async(_batch_request(self.id, items, self.payload_type))

    def batch_trigger(self, items: Iterable[PayloadT | dict[str, Any]]) -> BatchResult:
        """Trigger up to 1,000 runs of this task in one request.

        Each item is a payload, or `{"payload": ..., "options": {...}}` to set per-run options.
        """
        return _batch(self.id, items, self.payload_type)

    async def abatch_trigger(self, items: Iterable[PayloadT | dict[str, Any]]) -> BatchResult:
        return await _abatch(self.id, items, self.payload_type)


_registry: dict[str, Task[Any, Any]] = {}


def registered_tasks() -> dict[str, Task[Any, Any]]:
    return dict(_registry)


def unregister_module(module: str) -> None:
    for task_id in [t.id for t in _registry.values() if t.module == module]:
        del _registry[task_id]


def task(
    *,
    id: str,  # noqa: A002 - Trigger.dev's name for it
    queue: Queue | None = None,
    retry: Retry | None = None,
    machine: str | Machine | None = None,
    max_duration: float | None = None,
    init: Hook | None = None,
    on_start: Hook | None = None,
    on_success: Hook | None = None,
    on_failure: Hook | None = None,
    on_wait: Hook | None = None,
    on_resume: Hook | None = None,
    max_runs_per_actor: int = 50,
) -> Callable[[Callable[..., Any]], Task[Any, Any]]:
    """Register a function as a task.

        @task(id="send-welcome-email", queue=emails, max_duration=300,
              retry=Retry(max_attempts=5, factor=1.8, min_timeout=0.5, max_timeout=30))
        def send_welcome_email(payload: WelcomeEmail) -> dict:
            ...

    The first parameter's annotation, when it is a pydantic model (or any type pydantic can
    validate), is checked at trigger time and parsed before the body runs.
    """
    if not id or len(id) > 128 or not all(c.isalnum() or c in "-_." for c in id):
        raise ConfigurationError(f"task id {id!r} must be 1-128 letters, digits, '-', '_' or '.'")
    if max_runs_per_actor < 1:
        raise ConfigurationError("max_runs_per_actor must be at least 1")
    if max_duration is not None and max_duration <= 0:
        raise ConfigurationError("max_duration must be positive (seconds)")

    def register(fn: Callable[..., Any]) -> Task[Any, Any]:
        existing = _registry.get(id)
        if existing is not None and (existing.module, existing.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ConfigurationError(
                f"task id {id!r} is defined twice: in {existing.module}.{existing.fn.__qualname__} "
                f"and {fn.__module__}.{fn.__qualname__}"
            )
        defined = Task(
            id=id,
            fn=fn,
            queue=queue,
            retry=retry,
            machine=resolve_machine(machine),
            max_duration=max_duration,
            hooks=Hooks(init=init, on_start=on_start, on_success=on_success, on_failure=on_failure, on_wait=on_wait, on_resume=on_resume),
            max_runs_per_actor=max_runs_per_actor,
            payload_type=_payload_type(fn),
        )
        _registry[id] = defined
        return defined

    return register


def _payload_type(fn: Callable[..., Any]) -> Any:
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolved forward references: validate nothing rather than refuse to load
        return None
    hint = hints.get(params[0].name)
    return None if hint in (None, Any, object, inspect.Parameter.empty) else hint


def _request(payload: Any, options: dict[str, Any], payload_type: Any) -> TriggerRequest:
    try:
        value = to_json_value(payload)
    except ValueError as exc:  # pydantic's serialization errors are ValueErrors
        raise ValidationError(f"payload is not JSON-serializable: {exc}") from None
    check_payload_size(value)
    validate_payload(payload_type, value)
    try:
        return TriggerRequest(payload=value, options=build_options(**options))
    except TypeError as exc:
        raise ValidationError(f"unknown trigger option: {exc}") from None
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ValidationError(f"invalid trigger options: {exc}") from None


def _trigger(task_id: str, payload: Any, options: dict[str, Any], payload_type: Any = None) -> RunHandle[Any]:
    request = _request(payload, options, payload_type)
    journal = current_journal()
    if journal is None:
        return RunHandle.from_trigger(send(_calls.trigger(task_id, request)), task_id)
    # Inside a run a trigger is a durable call: a re-execution gets the same run back, not a second one.
    body = journalled(journal, "trigger", task_id, lambda slot: send(_calls.trigger(task_id, children.keyed(journal, slot, request))))
    return RunHandle.from_trigger(body, task_id)


async def _atrigger(task_id: str, payload: Any, options: dict[str, Any], payload_type: Any = None) -> RunHandle[Any]:
    request = _request(payload, options, payload_type)
    journal = current_journal()
    if journal is None:
        return RunHandle.from_trigger(await asend(_calls.trigger(task_id, request)), task_id)
    async def make(slot: Slot) -> Any:
        return await asend(_calls.trigger(task_id, children.keyed(journal, slot, request)))

    return RunHandle.from_trigger(await journalled_async(journal, "trigger", task_id, make), task_id)


def _batch_item(task_id: str, item: Any, payload_type: Any) -> BatchItem:
    if isinstance(item, dict) and "payload" in item and set(item) <= {"payload", "options", "task"}:
        named = item.get("task", task_id)
        # An item naming another task is checked against that task's type, when its code is loaded here.
        item_type = payload_type if named == task_id else _local_type(named)
        task_id = named
        request = _request(item["payload"], dict(item.get("options") or {}), item_type)
    else:
        request = _request(item, {}, payload_type)
    if not task_id:
        raise ValidationError("each batch item needs a task id: {'task': 'id', 'payload': ...}")
    return BatchItem(task=task_id, payload=request.payload, options=request.options)


def _batch_request(task_id: str, items: Iterable[Any], payload_type: Any) -> BatchTriggerRequest:
    built = [_batch_item(task_id, item, payload_type) for item in items]
    try:
        return BatchTriggerRequest(items=built)
    except ValueError as exc:
        raise ValidationError(f"a batch holds 1 to 1,000 items: {exc}") from None


def _batch(task_id: str, items: Iterable[Any], payload_type: Any) -> BatchResult:
    request = _batch_request(task_id, items, payload_type)
    journal = current_journal()
    if journal is None:
        return BatchResult.model_validate(send(_calls.batch_trigger(request)))
    body = journalled(journal, "batch_trigger", task_id or "*", lambda slot: send(_calls.batch_trigger(children.keyed_batch(journal, slot, request))))
    return BatchResult.model_validate(body)


async def _abatch(task_id: str, items: Iterable[Any], payload_type: Any) -> BatchResult:
    request = _batch_request(task_id, items, payload_type)
    journal = current_journal()
    if journal is None:
        return BatchResult.model_validate(await asend(_calls.batch_trigger(request)))
    async def make(slot: Slot) -> Any:
        return await asend(_calls.batch_trigger(children.keyed_batch(journal, slot, request)))

    return BatchResult.model_validate(await journalled_async(journal, "batch_trigger", task_id or "*", make))


# Triggering by id, without importing the task's code: `tasks.trigger("send-welcome-email", payload)`.


def _local_type(task_id: str) -> Any:
    return _registry[task_id].payload_type if task_id in _registry else None


def trigger(task_id: str, payload: Any = None, **options: Any) -> RunHandle[Any]:
    """Trigger a task by its id; the same options as `Task.trigger`."""
    return _trigger(task_id, payload, options, _local_type(task_id))


async def atrigger(task_id: str, payload: Any = None, **options: Any) -> RunHandle[Any]:
    return await _atrigger(task_id, payload, options, _local_type(task_id))


def trigger_and_wait(task_id: str, payload: Any = None, **options: Any) -> TaskRunResult[Any]:
    """Trigger a task by its id and wait for its result; see `Task.trigger_and_wait`."""
    return children.trigger_and_wait(task_id, _request(payload, options, _local_type(task_id)))


async def trigger_and_wait_async(task_id: str, payload: Any = None, **options: Any) -> TaskRunResult[Any]:
    return await children.trigger_and_wait_async(task_id, _request(payload, options, _local_type(task_id)))


def batch_trigger_and_wait(items: Iterable[dict[str, Any]]) -> list[TaskRunResult[Any]]:
    """Items are `{"task": "id", "payload": ..., "options": {...}}`; waits for all, results in item order."""
    return children.batch_trigger_and_wait(_batch_request("", items, None))


async def batch_trigger_and_wait_async(items: Iterable[dict[str, Any]]) -> list[TaskRunResult[Any]]:
    return await children.batch_trigger_and_wait_async(_batch_request("", items, None))


def batch_trigger(items: Iterable[dict[str, Any]]) -> BatchResult:
    """Items are `{"task": "id", "payload": ..., "options": {...}}`; the tasks may differ."""
    return _batch("", items, None)


async def abatch_trigger(items: Iterable[dict[str, Any]]) -> BatchResult:
    return await _abatch("", items, None)
