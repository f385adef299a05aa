"""Code a run executes in parallel: `tether.parallel` in sync tasks, asyncio tasks in async ones.

    from tether import parallel, task, wait

    @task(id="enrich-lead")
    def enrich_lead(payload: dict) -> dict:
        profile, history, _ = parallel(
            lambda: build_profile.trigger_and_wait(payload).unwrap(),
            lambda: fetch_history(payload),     # may make steps, waits and triggers of its own
            lambda: wait.for_(minutes=5),
        )
        ...

In an async task, `asyncio.gather(...)` and `asyncio.TaskGroup` do the same with no help.

Each branch counts its own journal slots, so branches may interleave differently on every
execution without confusing the journal. A `parallel` branch is named after the `parallel` call's
slot and its position; an asyncio task after its coroutine's name and how many tasks of that name
its parent started before it.

When a branch must checkpoint, the others carry on until they end or must checkpoint too. Then the
run waits for all their waits at once and resumes when every one is over. With `gather`, an async
branch still busy SETTLE_SECONDS after the first checkpoint is cancelled and redone on resume (what
it journalled is not redone); a `TaskGroup` cancels its other tasks at once, by its own rules.
Outside a run, `parallel` simply runs the calls in threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from tether.errors import ValidationError
from tether.steps import MAX_BRANCH, current_branch, current_journal, inside_step, set_branch
from tether.waits import WaitSuspended

SETTLE_SECONDS = 10.0
MAX_THREADS = 32
_NAME = 48


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Call each function at once, each in its own thread, and return their results in order.

    Inside a run each call is a branch with journal slots of its own (see the module). If a call
    raises, `parallel` raises the first error in call order once every call has ended.
    """
    for position, call in enumerate(calls):
        if not callable(call):
            raise ValidationError(f"parallel() takes functions of no arguments (e.g. lambdas); argument {position} is a {type(call).__name__}")
    if not calls:
        return []
    journal = current_journal()
    if journal is None:
        return _run_all(calls, [contextvars.copy_context() for _ in calls])
    name = f"{len(calls)} branches"  # a re-execution with another number of branches is non-determinism
    slot, recorded = journal.take("parallel", name)
    if recorded is None:
        journal.record(slot, "parallel", name, None)  # now, so that a resume with other branches is caught
    contexts = []
    for position in range(len(calls)):
        context = contextvars.copy_context()
        context.run(set_branch, _branch(f"{slot}.{position}/"))
        contexts.append(context)
    return _run_all(calls, contexts)


def _run_all(calls: tuple[Callable[[], Any], ...], contexts: list[contextvars.Context]) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(min(len(calls), MAX_THREADS), thread_name_prefix="tether-parallel") as pool:
        futures = [pool.submit(context.run, call) for context, call in zip(contexts, calls, strict=True)]
        concurrent.futures.wait(futures)
    raised = [future.exception() for future in futures]
    errors = [error for error in raised if error is not None and not isinstance(error, WaitSuspended)]
    if errors:
        raise errors[0]
    pauses = [error for error in raised if isinstance(error, WaitSuspended)]
    if pauses:
        raise WaitSuspended.merged(pauses)
    return [future.result() for future in futures]


def _branch(path: str) -> str:
    if len(path) > MAX_BRANCH:
        raise ValidationError(f"parallel code is nested too deeply for the journal (branch path over {MAX_BRANCH} characters): {path[:80]}…")
    return path


# -- asyncio ------------------------------------------------------------------------------------


def task_factory(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], context: contextvars.Context | None = None) -> asyncio.Task[Any]:
    """The run-process loop's task factory: a task that a run's code starts is a branch of the run."""
    context = context.copy() if context is not None else contextvars.copy_context()
    journal = context.run(current_journal)
    if journal is not None and context.run(inside_step) is None:
        parent = context.run(current_branch)
        name = getattr(coro, "__qualname__", type(coro).__name__).rsplit(".", 1)[-1][:_NAME]
        number = journal.spawned.get((parent, name), 0)
        journal.spawned[(parent, name)] = number + 1
        context.run(set_branch, _branch(f"{parent}{name}#{number}/"))
        task = asyncio.Task(coro, loop=loop, context=context)
        journal.tasks.add(task)
        return task
    return asyncio.Task(coro, loop=loop, context=context)


async def settle(tasks: Iterable[asyncio.Task[Any]], first: WaitSuspended, timeout: float = SETTLE_SECONDS) -> WaitSuspended:
    """After one branch asked to checkpoint, let the run's other tasks end or ask too (cancelling
    those still busy after `timeout`), and return one wait for everything they wait for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pending := [task for task in list(tasks) if not task.done()]:
        left = deadline - loop.time()
        if left <= 0:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=1.0)
            break
        await asyncio.wait(pending, timeout=left)
    pauses = [first]
    for task in list(tasks):
        if task.done() and not task.cancelled() and isinstance(task.exception(), WaitSuspended):
            pauses.append(task.exception())  # type: ignore[arg-type]
    return WaitSuspended.merged(pauses)


def pause_of(error: BaseException) -> WaitSuspended | None:
    """The checkpoint `error` asks for: a WaitSuspended, or a group (from a TaskGroup) of only those."""
    if isinstance(error, WaitSuspended):
        return error
    if isinstance(error, BaseExceptionGroup):
        leaves = _leaves(error)
        if leaves and all(isinstance(leaf, WaitSuspended) for leaf in leaves):
            return WaitSuspended.merged(leaves)  # type: ignore[arg-type]
    return None


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found
