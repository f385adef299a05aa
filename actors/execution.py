"""One attempt of one run, inside a RunActor: hooks, the task body under its max_duration, the outcome.

Async bodies and async hooks run on an event loop kept in a background thread; sync bodies run
in a worker thread. Either way the attempt waits with a timeout, so max_duration bounds both (a
sync body that overran cannot be stopped, so its run process is retired rather than reused).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tether import branches, client, run_metadata, streams
from tether._payload import encode_output, parse_payload
from tether.config import ProjectConfig
from tether.context import RunContext, set_current_run
from tether.steps import set_journal
from tether.waits import WaitSuspended
from tether.errors import AbortTaskRunError, NonDeterminismError, OutputNotSerializableError
from tether.runtime import lifecycle, logs, waits
from tether.runtime.catalog import TaskSpec
from tether.runtime.engine import Engine, EngineBackend
from tether.runtime.journal import RunJournal
from tether.runtime.environments import Env
from tether.runtime.states import RunStatus
from tether.runtime.triggering import Lineage
from tether.tasks import Task, registered_tasks

from tether.actors.capture import RunSink
from tether.actors.outbox import Outbox, RunOutbox

log = logging.getLogger("tether.actor")
S = RunStatus


@dataclass(frozen=True)
class Outcome:
    status: str | None
    retire: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "retire": self.retire}


def error_of(exc: BaseException) -> dict[str, Any]:
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return lifecycle.error_record(str(exc) or type(exc).__name__, type(exc).__name__, stack, getattr(exc, "code", None))


def call_hook(hook: Callable[..., Any] | None, loop: asyncio.AbstractEventLoop, **available: Any) -> None:
    """Call a hook with the arguments it names (payload, ctx, output, error)."""
    if hook is None:
        return
    params = inspect.signature(hook).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = available
    else:
        kwargs = {name: value for name, value in available.items() if name in params}
    result = hook(**kwargs)
    if inspect.isawaitable(result):
        asyncio.run_coroutine_threadsafe(_awaited(result), loop).result()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _enter_run(ctx: RunContext, journal: RunJournal, sink: RunOutbox) -> None:
    set_current_run(ctx)
    set_journal(journal)
    run_metadata.install(sink, ctx.metadata)
    streams.install(sink)


async def _in_run(ctx: RunContext, journal: RunJournal, sink: RunOutbox, body: Any) -> Any:
    _enter_run(ctx, journal, sink)  # a task has its own copy of the context: this stays with the run
    return await body


class AttemptRunner:
    def __init__(self, engine: Engine, env: Env, config: ProjectConfig, specs: dict[str, TaskSpec], sink: RunSink, lease: float) -> None:
        self.engine = engine
        self.store = engine.store
        self.env = env
        self.config = config
        self.specs = specs
        self.sink = sink
        self.lease = lease
        self.loop = asyncio.new_event_loop()
        self.loop.set_task_factory(branches.task_factory)  # tasks a run starts are branches of its journal
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="tether-task-loop", daemon=True)
        self._loop_thread.start()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="tether-task")
        self._initialized: set[str] = set()
        self._heartbeat = _Heartbeat(self)
        self.outbox = Outbox(self.store)
        self._run_outbox: RunOutbox | None = None

    def close(self) -> None:
        """Stop the loop, the worker threads and the heartbeat (a run process simply exits instead)."""
        self._heartbeat.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- hooks ------------------------------------------------------------------------------

    def _global(self, name: str) -> Callable[..., Any] | None:
        return self.config.resolve_hook(name)

    def _hooks(self, task: Task, name: str) -> list[Callable[..., Any]]:
        return [h for h in (self._global(name), getattr(task.hooks, name)) if h is not None]

    def _init_once(self, task: Task) -> None:
        if "__global__" not in self._initialized:
            self._initialized.add("__global__")
            call_hook(self._global("init"), self.loop)
        if task.id not in self._initialized:
            self._initialized.add(task.id)
            call_hook(task.hooks.init, self.loop)

    def _safe_hooks(self, task: Task, name: str, **available: Any) -> None:
        for hook in self._hooks(task, name):
            try:
                call_hook(hook, self.loop, **available)
            except Exception:
                log.exception("%s hook of %s raised", name, task.id)

    # -- the attempt ------------------------------------------------------------------------------

    def run(self, run_id: str, token: str) -> Outcome:
        with self.store.write_recoverable() as conn:
            start = lifecycle.begin_attempt(conn, run_id, token, self.lease)
        if start is None:
            return Outcome(None)  # canceled or recovered before it began
        row, attempt = start.run, start.attempt
        task = registered_tasks().get(row.task_identifier)
        spec = self.specs.get(row.task_identifier)
        ctx = _context(row, attempt)
        self.sink.start(run_id, attempt)
        self._run_outbox = self.outbox.start(row.id, row.parent_run_id, row.root_run_id)
        client.use_local_backend(
            EngineBackend(self.engine, self.env, Lineage(row.id, row.root_run_id or row.id, row.depth + 1, "trigger"))
        )
        self._heartbeat.follow(run_id, token)
        try:
            if task is None or spec is None:
                return self._finish_failure(row, attempt, token, None, spec, RuntimeError(f"task {row.task_identifier!r} is not in version {row.version}"), retry=False)
            return self._attempt(row, attempt, token, task, spec, ctx)
        finally:
            self._heartbeat.follow(None, None)
            self._flush_outbox(detach=True)
            self._flush(self.sink.stop())
            client.use_local_backend(None)

    def _attempt(self, row: Any, attempt: int, token: str, task: Task, spec: TaskSpec, ctx: RunContext) -> Outcome:
        payload = row.payload
        journal = RunJournal(self.store, row.id, attempt, self.config.checkpoint_waits_over)
        try:
            self._init_once(task)
            payload = parse_payload(task.payload_type, row.payload)
            # An attempt that carries on after a checkpoint hears on_resume instead of on_start.
            hooks = self._hooks(task, "on_start") + self._hooks(task, "on_resume")
            first = "on_start" if not hooks or not journal.resumed() else "on_resume"
            for hook in self._hooks(task, first):
                call_hook(hook, self.loop, payload=payload, ctx=ctx)
        except Exception as exc:
            return self._finish_failure(row, attempt, token, task, spec, exc, payload=payload, ctx=ctx)
        max_duration = row.max_duration or spec.max_duration
        future = self._start_body(task, payload, ctx, journal)
        try:
            try:
                output = future.result(timeout=max_duration)
            finally:
                self._flush_outbox()  # subscribers see the last progress before the outcome
        except concurrent.futures.TimeoutError:
            future.cancel()  # an async body is cancelled; a sync one cannot be, so the process is retired
            return self._finish_timeout(row, attempt, token, task, max_duration, payload, ctx)
        except BaseException as exc:  # noqa: BLE001 - every failure of user code is an outcome
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            pause = branches.pause_of(exc)
            if pause is not None and journal.violation is None:
                if task.is_async:  # other tasks of the run may be about to wait too: one checkpoint for all
                    pause = asyncio.run_coroutine_threadsafe(branches.settle(journal.tasks, pause), self.loop).result()
                return self._suspend(row, attempt, token, pause, task, payload, ctx)
            return self._finish_failure(row, attempt, token, task, spec, journal.violation or exc, payload=payload, ctx=ctx)
        if journal.violation is not None:  # the body caught it; the run fails all the same
            return self._finish_failure(row, attempt, token, task, spec, journal.violation, payload=payload, ctx=ctx)
        try:
            stored = _json_round_trip(output)
        except OutputNotSerializableError as exc:
            return self._finish_failure(row, attempt, token, task, spec, exc, payload=payload, ctx=ctx, retry=False)
        with self.store.write_one() as conn:
            done = lifecycle.succeed(conn, row.id, attempt, token, stored)
        if done:
            self._safe_hooks(task, "on_success", payload=payload, output=output, ctx=ctx)
        return Outcome(S.COMPLETED if done else None)

    def _start_body(self, task: Task, payload: Any, ctx: RunContext, journal: RunJournal) -> concurrent.futures.Future[Any]:
        """The body on the actor's loop (async) or in a worker thread (sync), with the run and its journal as current."""
        if task.is_async:
            return asyncio.run_coroutine_threadsafe(_in_run(ctx, journal, self._run_outbox, task.fn(payload)), self.loop)
        context = contextvars.copy_context()
        context.run(_enter_run, ctx, journal, self._run_outbox)
        return self._executor.submit(context.run, task.fn, payload)

    def _suspend(self, row: Any, attempt: int, token: str, pause: WaitSuspended, task: Task, payload: Any, ctx: RunContext) -> Outcome:
        """Checkpoint the run: WAITING until the wait's deadline or its child's end; this process is free for other runs."""
        with self.store.write() as conn:
            waitpoint = waits.suspend(conn, row, attempt, token, until=pause.until, children=pause.children, waitpoints=pause.tokens)
        if waitpoint is None:
            return Outcome(None)  # canceled or recovered meanwhile
        self.sink.add("INFO", f"waiting {pause.describe()}: the run is checkpointed and resumes then")
        self._safe_hooks(task, "on_wait", payload=payload, ctx=ctx, wait=pause.as_hook_argument())
        return Outcome(S.WAITING)

    def _finish_timeout(self, row: Any, attempt: int, token: str, task: Task, max_duration: float, payload: Any, ctx: RunContext) -> Outcome:
        error = lifecycle.error_record(f"Run exceeded its max_duration of {max_duration:g}s", "MaxDurationExceededError", code="TIMED_OUT")
        with self.store.write() as conn:
            outcome = lifecycle.fail(conn, row.id, attempt, token, error, None, final_status=S.TIMED_OUT, attempt_status="TIMED_OUT")
        self.sink.add("ERROR", error["message"])
        if outcome is not None:
            self._safe_hooks(task, "on_failure", payload=payload, error=error, ctx=_with_reason(ctx, "TIMED_OUT"))
        # A sync body may still be running in its thread; only a new process truly stops it.
        return Outcome(outcome, retire=True)

    def _finish_failure(
        self,
        row: Any,
        attempt: int,
        token: str,
        task: Task | None,
        spec: TaskSpec | None,
        exc: BaseException,
        *,
        payload: Any = None,
        ctx: RunContext | None = None,
        retry: bool = True,
    ) -> Outcome:
        error = error_of(exc)
        with self.store.write() as conn:
            delay = None
            if retry and spec is not None and not isinstance(exc, AbortTaskRunError | OutputNotSerializableError | NonDeterminismError):
                delay = lifecycle.retry_delay(conn, row, spec.retry_policy)
            outcome = lifecycle.fail(conn, row.id, attempt, token, error, delay)
        then = f"retrying in {delay:.2f}s" if delay is not None else "no attempts left"
        self.sink.add("ERROR", f"attempt {attempt} failed: {error['name']}: {error['message']} ({then})\n{error.get('stackTrace', '')}".rstrip())
        if outcome == S.FAILED and task is not None and ctx is not None:
            self._safe_hooks(task, "on_failure", payload=payload, error=error, ctx=_with_reason(ctx, "FAILED"))
        return Outcome(outcome)

    def failure_hook(self, run_id: str, reason: str) -> None:
        """on_failure for a run that ended outside its actor (CANCELED, CRASHED, TIMED_OUT by the Scheduler)."""
        with self.store.read() as conn:
            from tether.runtime import runs

            row = runs.get(conn, None, run_id)
        task = registered_tasks().get(row.task_identifier)
        if task is None:
            return
        ctx = _context(row, row.attempt_count, reason)
        try:
            payload = parse_payload(task.payload_type, row.payload)
        except Exception:
            payload = row.payload
        self._safe_hooks(task, "on_failure", payload=payload, error=row.error or {"message": reason}, ctx=ctx)

    def _flush_outbox(self, *, detach: bool = False) -> None:
        try:
            self.outbox.stop() if detach else self.outbox.flush()
        except Exception:
            log.exception("could not store the run's metadata and stream chunks")

    def _flush(self, lines: list[dict[str, Any]]) -> None:
        if lines:
            try:
                with self.store.write() as conn:
                    logs.write(conn, lines)
            except Exception:
                log.exception("could not store %d log lines", len(lines))


def _context(row: Any, attempt: int, reason: str | None = None) -> RunContext:
    return RunContext(
        run_id=row.id,
        task_id=row.task_identifier,
        attempt=attempt,
        queue=row.queue,
        version=row.version,
        tags=tuple(row.tags or ()),
        reason=reason,
        metadata=row.metadata,
    )


def _with_reason(ctx: RunContext, reason: str) -> RunContext:
    from dataclasses import replace

    return replace(ctx, reason=reason)


def _json_round_trip(output: Any) -> Any:
    import json

    return json.loads(encode_output(output))


class _Heartbeat:
    """One thread per actor: renews the lease of the run it follows and flushes its log lines."""

    def __init__(self, runner: AttemptRunner) -> None:
        self._runner = runner
        self._lock = threading.Lock()
        self._run: tuple[str, str] | None = None
        self._since_lease = 0.0
        self._stopped = threading.Event()
        threading.Thread(target=self._beat, name="tether-heartbeat", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def follow(self, run_id: str | None, token: str | None) -> None:
        with self._lock:
            self._run = (run_id, token) if run_id and token else None
            self._since_lease = 0.0

    def _beat(self) -> None:
        interval = min(0.5, self._runner.lease / 3)
        while not self._stopped.wait(interval):
            with self._lock:
                current = self._run
                self._since_lease += interval
                renew = current is not None and self._since_lease >= self._runner.lease / 3
                if renew:
                    self._since_lease = 0.0
            if current is None:
                continue
            self._runner._flush(self._runner.sink.drain())
            if renew:
                try:
                    with self._runner.store.write() as conn:
                        lifecycle.heartbeat(conn, current[0], current[1], self._runner.lease)
                except Exception:
                    log.exception("heartbeat failed for %s", current[0])
