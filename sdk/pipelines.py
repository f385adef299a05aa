"""Calling Tether from a pipeline: run a task once per payload, wait for every run, get the results in order.

    import tether

    client = tether.Client("http://tether:8030", "tt_prod_...")
    results = client.map("resize-image", [{"url": u} for u in urls], tags=["job:42"], timeout=3600)
    print(results)                      # resize-image: 500 runs, 498 completed, 2 failed (61.3s)
    for item in results.failures:       # failures are collected, not raised one by one
        print(item.index, item.run_id, item.status, item.error)
    thumbnails = results.raise_for_failures().outputs

`tether.pipelines.map(...)` does the same through the configured gateway (`tether.configure`), and
`await tether.pipelines.amap(...)` / `await async_client.map(...)` are the async twins.

The payloads go in batches of up to 1,000 (one request each); the runs are then followed a page of
100 at a time by listing each batch's unfinished runs, and each finished run is fetched once, for its
output or error. A bad payload or option (not JSON, too large, not matching the task's type when its
code is loaded here) is refused before anything is sent, naming its index; the gateway refusing the
first batch (unknown task, bad key) raises its error with nothing triggered. Should it refuse a later
batch, that batch's items are reported `NOT_TRIGGERED` with the gateway's message, and the rest carry on.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar, get_args

from tether import _calls
from tether._map_results import NOT_TRIGGERED, MapError, MapItem, MapResults
from tether.client import asend, bound_client, send
from tether.errors import TetherError, ValidationError
from tether.models import TERMINAL_STATUSES, BatchResult, Run, RunError, RunStatus
from tether.options import MAX_BATCH_SIZE, BatchItem, BatchTriggerRequest, TriggerRequest
from tether.steps import current_journal
from tether.tasks import Task, _local_type, _request

if TYPE_CHECKING:
    from rich.console import Console

PayloadT = TypeVar("PayloadT")
OutputT = TypeVar("OutputT")

UNFINISHED: tuple[str, ...] = tuple(status for status in get_args(RunStatus) if status not in TERMINAL_STATUSES)
_PAGE_SIZE = 100  # the gateway's largest page of runs
_FETCHED_TOGETHER = 16  # finished runs fetched per round (at once, in the async twin)
_MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a batch request stops growing here, whatever its item count
_FIRST_POLL = 0.1  # seconds; then 1.5 times longer each round, up to `poll`


# -- the core, shared by the sync and async twins: it says what to send and when to sleep; they do it ---------


@dataclass(frozen=True)
class _Send:
    calls: list[_calls.Call]


@dataclass(frozen=True)
class _Sleep:
    seconds: float


Step = Generator[_Send | _Sleep, list[Any] | None, Any]


class _Map:
    def __init__(self, task_id: str, requests: list[TriggerRequest], batch_size: int, timeout: float | None, poll: float) -> None:
        self.task_id, self.requests, self.batch_size, self.timeout, self.poll = task_id, requests, batch_size, timeout, poll
        self.run_ids: list[str | None] = [None] * len(requests)
        self.status: list[str] = ["PENDING"] * len(requests)
        self.outputs: list[Any] = [None] * len(requests)
        self.errors: list[RunError | None] = [None] * len(requests)
        self.batch_ids: list[str] = []
        self.started = time.monotonic()
        self.on_change: Callable[[int, int], None] = lambda completed, failed: None
        self._waiting: dict[str, list[int]] = {}  # run id -> the items it serves (idempotency keys may share runs)
        self._batch_of: dict[str, str] = {}

    def steps(self) -> Step:
        deadline = None if self.timeout is None else self.started + self.timeout
        for number, chunk in enumerate(self._chunks()):
            items = [BatchItem(task=self.task_id, payload=self.requests[i].payload, options=self.requests[i].options) for i in chunk]
            try:
                (body,) = yield _Send([_calls.batch_trigger(BatchTriggerRequest(items=items))])
            except TetherError as error:
                if number == 0:
                    raise  # nothing was triggered: the caller's mistake is best raised as it is
                why = f"items {chunk[0]}-{chunk[-1]} were not triggered (the gateway's item numbers count from {chunk[0]}): {error}"
                for index in chunk:
                    self.status[index], self.errors[index] = NOT_TRIGGERED, RunError(message=why, name=type(error).__name__, code=error.code)
                continue
            created = BatchResult.model_validate(body)
            self.batch_ids.append(created.id)
            for index, run in zip(chunk, created.runs, strict=True):
                self.run_ids[index], self.status[index] = run.id, "QUEUED"
                self._waiting.setdefault(run.id, []).append(index)
                self._batch_of[run.id] = created.id
        delay = _FIRST_POLL
        while self._waiting:
            running = yield from self._running()
            finished = [run_id for run_id in self._waiting if run_id not in running]
            for start in range(0, len(finished), _FETCHED_TOGETHER):
                replies = yield _Send([_calls.retrieve_run(run_id) for run_id in finished[start : start + _FETCHED_TOGETHER]])
                for reply in replies or []:
                    self._update(Run.model_validate(reply))
            self._report()
            now = time.monotonic()
            if not self._waiting or (deadline is not None and now >= deadline):
                return
            yield _Sleep(delay if deadline is None else min(delay, deadline - now))
            delay = min(delay * 1.5, self.poll)

    def _chunks(self) -> list[list[int]]:
        chunks: list[list[int]] = []
        size = 0
        for index, request in enumerate(self.requests):
            item_size = len(request.model_dump_json(by_alias=True, exclude_none=True))
            if not chunks or len(chunks[-1]) == self.batch_size or size + item_size > _MAX_REQUEST_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(index)
            size += item_size
        return chunks

    def _running(self) -> Step:
        """The ids of the waited-for runs that the gateway lists as unfinished, batch by batch, page by page."""
        running: set[str] = set()
        for batch_id in sorted({self._batch_of[run_id] for run_id in self._waiting}):
            cursor = None
            while True:
                params = {"filter[batch]": batch_id, "filter[status]": list(UNFINISHED), "page[size]": _PAGE_SIZE, "page[after]": cursor}
                (page,) = yield _Send([_calls.list_runs(params)])
                for run in page["data"]:
                    running.add(run["id"])
                    for index in self._waiting.get(run["id"], []):
                        self.status[index] = run["status"]
                cursor = (page.get("pagination") or {}).get("next")
                if not cursor:
                    break
        return running

    def _update(self, run: Run[Any]) -> None:
        indexes = self._waiting.pop(run.id) if run.is_terminal else self._waiting[run.id]
        for index in indexes:
            self.status[index], self.outputs[index], self.errors[index] = run.status, run.output, run.error

    def _report(self) -> None:
        completed = self.status.count("COMPLETED")
        unsuccessful = sum(1 for s in self.status if s == NOT_TRIGGERED or (s in TERMINAL_STATUSES and s != "COMPLETED"))
        self.on_change(completed, unsuccessful)

    def results(self) -> MapResults[Any]:
        client = bound_client()
        items = [
            MapItem(i, self.task_id, self.run_ids[i], self.status[i], self.outputs[i], self.errors[i], client) for i in range(len(self.requests))
        ]
        return MapResults(self.task_id, items, self.batch_ids, time.monotonic() - self.started)


def _drive(steps: Step) -> None:
    reply: list[Any] | None = None
    error: TetherError | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration:
            return
        reply, error = None, None
        if isinstance(step, _Sleep):
            time.sleep(step.seconds)
            continue
        try:
            reply = [send(call) for call in step.calls]
        except TetherError as exc:
            error = exc


async def _adrive(steps: Step) -> None:
    reply: list[Any] | None = None
    error: TetherError | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration:
            return
        reply, error = None, None
        if isinstance(step, _Sleep):
            await asyncio.sleep(step.seconds)
            continue
        try:
            reply = list(await asyncio.gather(*(asend(call) for call in step.calls)))
        except TetherError as exc:
            error = exc


# -- what the caller sees: the progress bar, and `map` / `amap` -------------------------------------------------


class _Progress:
    """A rich progress bar of one map, and its summary line at the end; rich is imported only to show it.
    In Jupyter without ipywidgets (which rich's live display needs), the bar is one output line updated in place."""

    def __init__(self, task_id: str, total: int, show: bool | None, console: Console | None) -> None:
        self._bar: Any = None
        self._cell: Any = None
        if show is False or total == 0:
            return
        from rich.console import Console

        self.console = console or Console(stderr=True)
        if show is None and console is None and not (self.console.is_terminal or self.console.is_jupyter):
            return  # a log file or a web app's output: no bar unless asked for
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        if self.console.is_jupyter and importlib.util.find_spec("ipywidgets") is None:
            from IPython.display import display

            self._cell = display({"text/plain": ""}, raw=True, display_id=True)
        fields = TextColumn("[green]{task.fields[completed_runs]} completed[/] [red]{task.fields[failed_runs]} failed[/]")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), fields, TimeElapsedColumn())
        self._bar = Progress(*columns, console=self.console, auto_refresh=self._cell is None)
        self._task = self._bar.add_task(task_id, total=total, completed_runs=0, failed_runs=0)

    def __enter__(self) -> Self:
        if self._cell is not None:
            self.update(0, 0)
        elif self._bar is not None:
            self._bar.start()
        return self

    def update(self, completed: int, failed: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=completed + failed, completed_runs=completed, failed_runs=failed)
        if self._cell is not None:
            from rich.console import Console

            frame = Console(file=io.StringIO(), width=100, color_system=None, force_jupyter=False)
            frame.print(self._bar.get_renderable())
            self._cell.update({"text/plain": frame.file.getvalue().rstrip()}, raw=True)  # type: ignore[attr-defined]

    def summarize(self, results: MapResults[Any]) -> None:
        if self._bar is not None:
            self._bar.stop()
            self.console.print(str(results), highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _prepare(
    task: Task[Any, Any] | str,
    payloads: Iterable[Any],
    options: dict[str, Any],
    item_options: Callable[[int, Any], Mapping[str, Any]] | None,
    timeout: float | None,
    poll: float,
    batch_size: int,
) -> _Map:
    """The map's requests, every one checked before anything is sent."""
    if current_journal() is not None:
        raise ValidationError("pipelines.map waits outside any journal: inside a task use task.batch_trigger_and_wait, which checkpoints the run")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValidationError(f"batch_size must be between 1 and {MAX_BATCH_SIZE} (the gateway's largest batch), got {batch_size}")
    if poll <= 0 or (timeout is not None and timeout < 0):
        raise ValidationError(f"poll must be positive and timeout None or at least 0, got poll={poll}, timeout={timeout}")
    task_id = task if isinstance(task, str) else task.id
    payload_type = _local_type(task_id) if isinstance(task, str) else task.payload_type
    items = list(payloads)
    if options.get("idempotency_key") is not None and len(items) > 1:
        raise ValidationError("one idempotency_key for every payload would make a single run: give each its own, with "
                              "item_options=lambda index, payload: {'idempotency_key': ...}")
    requests = []
    for index, payload in enumerate(items):
        try:
            extra = dict(item_options(index, payload)) if item_options is not None else {}
            requests.append(_request(payload, {**options, **extra}, payload_type))
        except TetherError as error:
            raise type(error)(f"payloads[{index}]: {error.message}", code=error.code, details=error.details) from None
    return _Map(task_id, requests, batch_size, timeout, poll)


def map(  # noqa: A001 - a task over payloads, as the builtin maps a function over items
    task: Task[PayloadT, OutputT] | str,
    payloads: Iterable[PayloadT],
    *,
    item_options: Callable[[int, PayloadT], Mapping[str, Any]] | None = None,
    timeout: float | None = None,
    poll: float = 1.0,
    batch_size: int = MAX_BATCH_SIZE,
    progress: bool | None = None,
    console: Console | None = None,
    **options: Any,
) -> MapResults[OutputT]:
    """Trigger `task` (a `Task` or its id) once per payload, wait for every run, and return a `MapResults`
    in the payloads' order; failures are collected in it, not raised.

        results = tether.pipelines.map("resize-image", payloads, tags=["job:42"], timeout=600, progress=True)
        results.raise_for_failures().outputs

    `options` are `trigger`'s (tags, queue, concurrency_key, max_attempts, delay, machine…), for every run;
    `item_options(index, payload)` returns more for one run (its own `idempotency_key`, say).
    `timeout` (seconds, from the call) stops the waiting: runs still going are reported unfinished, not
    raised. `poll` is the longest pause between looks at the runs. `progress` shows a rich progress bar
    (None: when the console is a terminal or Jupyter, or a `console` is given) and a summary line.
    """
    job = _prepare(task, payloads, options, item_options, timeout, poll, batch_size)
    with _Progress(job.task_id, len(job.requests), progress, console) as bar:
        job.on_change = bar.update
        _drive(job.steps())
        results = job.results()
        bar.summarize(results)
    return results


async def amap(
    task: Task[PayloadT, OutputT] | str,
    payloads: Iterable[PayloadT],
    *,
    item_options: Callable[[int, PayloadT], Mapping[str, Any]] | None = None,
    timeout: float | None = None,
    poll: float = 1.0,
    batch_size: int = MAX_BATCH_SIZE,
    progress: bool | None = None,
    console: Console | None = None,
    **options: Any,
) -> MapResults[OutputT]:
    """The async twin of `map`: `results = await tether.pipelines.amap("resize-image", payloads)`."""
    job = _prepare(task, payloads, options, item_options, timeout, poll, batch_size)
    with _Progress(job.task_id, len(job.requests), progress, console) as bar:
        job.on_change = bar.update
        await _adrive(job.steps())
        results = job.results()
        bar.summarize(results)
    return results


__all__ = ["NOT_TRIGGERED", "MapError", "MapItem", "MapResults", "amap", "map"]
