"""Triggering a child run and waiting for its result: `task.trigger_and_wait(payload)`.

    @task(id="onboarding")
    def onboarding(payload: dict) -> None:
        result = send_welcome_email.trigger_and_wait({"email": payload["email"]})
        if not result.ok:
            ...                                   # result.error says why
        receipt = result.unwrap()                 # the child's output, or RunFailedError

Inside a run the call takes a journal slot: the child is triggered once (a crash or a retry of
the parent finds it in the journal, and its idempotency key makes even a crash between trigger
and journal harmless), it runs on the parent's version, and the parent is checkpointed (WAITING,
no actor, no queue slot) until the child ends; then the parent resumes and the call returns the
child's result. Outside a run it triggers and blocks until the child ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tether import _calls
from tether.client import asend, send
from tether.context import current_run
from tether.errors import RunFailedError
from tether.models import Run, RunError
from tether.options import BatchTriggerRequest, TriggerRequest
from tether.steps import Journal, Slot, current_journal, journalled, journalled_async
from tether.waits import WaitSuspended

T = TypeVar("T")
OUTSIDE_A_RUN_TIMEOUT = 24 * 3600.0


@dataclass(frozen=True)
class TaskRunResult(Generic[T]):
    """What `trigger_and_wait` returns: the child's output when `ok`, else its error."""

    ok: bool
    id: str
    task_identifier: str
    output: T | None = None
    error: RunError | None = None

    def unwrap(self) -> T:
        """The output, or RunFailedError with the child's error."""
        if not self.ok:
            why = self.error.message if self.error else "no error recorded"
            raise RunFailedError(f"child run {self.id} ({self.task_identifier}) did not complete: {why}", details={"run_id": self.id})
        return self.output  # type: ignore[return-value]

    @classmethod
    def of(cls, run: Run[Any]) -> TaskRunResult[Any]:
        return cls(run.is_success, run.id, run.task_identifier, run.output, run.error)


def keyed(journal: Journal, slot: Slot, request: Any, index: int | None = None) -> Any:
    """Key a run triggered from a run by the caller's journal slot (and item), so that a crash between
    the trigger and its journal entry cannot make it twice; an idempotency key of the caller's wins."""
    if request.options.idempotency_key is not None:
        return request
    key = f"{journal.run_id}:{slot}" + ("" if index is None else f":{index}")
    return request.model_copy(update={"options": request.options.model_copy(update={"idempotency_key": key})})


def keyed_batch(journal: Journal, slot: Slot, request: BatchTriggerRequest, *, lock: bool = False) -> BatchTriggerRequest:
    prepare = _child_request if lock else keyed
    return request.model_copy(update={"items": [prepare(journal, slot, item, index) for index, item in enumerate(request.items)]})


def _child_request(journal: Journal, slot: Slot, request: Any, index: int | None = None) -> Any:
    """A child the caller waits for is keyed like any trigger from a run, and runs on the caller's version."""
    ctx = current_run()
    request = keyed(journal, slot, request, index)
    if request.options.lock_to_version is None and ctx is not None and ctx.version:
        request = request.model_copy(update={"options": request.options.model_copy(update={"lock_to_version": ctx.version})})
    return request


def trigger_and_wait(task_id: str, request: TriggerRequest) -> TaskRunResult[Any]:
    journal = current_journal()
    if journal is None:
        created = send(_calls.trigger(task_id, request))
        return TaskRunResult.of(_wait_outside(created["id"]))
    def make(slot: Slot) -> dict[str, Any]:
        return {"id": send(_calls.trigger_and_wait(task_id, _child_request(journal, slot, request)))["id"]}

    child = journalled(journal, "trigger_and_wait", task_id, make)["id"]
    run = Run.model_validate(send(_calls.retrieve_run(child)))
    if not run.is_completed:
        raise WaitSuspended(child=child)
    return TaskRunResult.of(run)


async def trigger_and_wait_async(task_id: str, request: TriggerRequest) -> TaskRunResult[Any]:
    journal = current_journal()
    if journal is None:
        created = await asend(_calls.trigger(task_id, request))
        return TaskRunResult.of(await asyncio.to_thread(_wait_outside, created["id"]))
    async def make(slot: Slot) -> dict[str, Any]:
        return {"id": (await asend(_calls.trigger_and_wait(task_id, _child_request(journal, slot, request))))["id"]}

    child = (await journalled_async(journal, "trigger_and_wait", task_id, make))["id"]
    run = Run.model_validate(await asend(_calls.retrieve_run(child)))
    if not run.is_completed:
        raise WaitSuspended(child=child)
    return TaskRunResult.of(run)


def _results(ids: list[str], runs_now: list[Run[Any]]) -> list[TaskRunResult[Any]]:
    by_id = {run.id: run for run in runs_now}
    return [TaskRunResult.of(by_id[i]) for i in ids]


def batch_trigger_and_wait(request: BatchTriggerRequest) -> list[TaskRunResult[Any]]:
    journal = current_journal()
    if journal is None:
        created = send(_calls.batch_trigger(request))
        return [TaskRunResult.of(_wait_outside(r["id"])) for r in created["runs"]]
    def make(slot: Slot) -> dict[str, Any]:
        created = send(_calls.batch_trigger_and_wait(keyed_batch(journal, slot, request, lock=True)))
        return {"ids": [r["id"] for r in created["runs"]]}

    ids = list(journalled(journal, "batch", "trigger_and_wait", make)["ids"])
    now = [Run.model_validate(send(_calls.retrieve_run(i))) for i in ids]
    unfinished = [run.id for run in now if not run.is_completed]
    if unfinished:
        raise WaitSuspended(children=unfinished)
    return _results(ids, now)


async def batch_trigger_and_wait_async(request: BatchTriggerRequest) -> list[TaskRunResult[Any]]:
    journal = current_journal()
    if journal is None:
        created = await asend(_calls.batch_trigger(request))
        return [TaskRunResult.of(await asyncio.to_thread(_wait_outside, r["id"])) for r in created["runs"]]
    async def make(slot: Slot) -> dict[str, Any]:
        created = await asend(_calls.batch_trigger_and_wait(keyed_batch(journal, slot, request, lock=True)))
        return {"ids": [r["id"] for r in created["runs"]]}

    ids = list((await journalled_async(journal, "batch", "trigger_and_wait", make))["ids"])
    now = [Run.model_validate(await asend(_calls.retrieve_run(i))) for i in ids]
    unfinished = [run.id for run in now if not run.is_completed]
    if unfinished:
        raise WaitSuspended(children=unfinished)
    return _results(ids, now)


def _wait_outside(run_id: str) -> Run[Any]:
    from tether.handles import RunHandle

    return RunHandle(run_id, "").wait(timeout=OUTSIDE_A_RUN_TIMEOUT)  # type: ignore[no-any-return]
