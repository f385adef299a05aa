"""What `tether.pipelines.map` returns: one `MapItem` per payload, in order, gathered in a `MapResults`.

    results = client.map("resize-image", payloads, timeout=3600)
    print(results)                      # resize-image: 500 runs, 498 completed, 2 failed (61.3s)
    for item in results.failures:       # each with its index, run id, status and error
        print(item.index, item.run_id, item.status, item.error)
    results.unfinished[0].handle.wait()             # an item's run, through the map's client
    thumbnails = results.raise_for_failures().outputs  # or MapError, listing the runs that did not complete

Import these from `tether.pipelines`; this module only keeps the model apart from the map that fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Self, TypeVar, overload

from tether.errors import RunFailedError, TetherError
from tether.handles import RunHandle
from tether.models import TERMINAL_STATUSES, RunError

if TYPE_CHECKING:
    from tether.client import AsyncClient, Client

OutputT = TypeVar("OutputT")

NOT_TRIGGERED = "NOT_TRIGGERED"  # the status of an item whose batch the gateway refused


class MapError(RunFailedError):
    """Some items of a `map` did not complete; `details["failures"]` lists them (index, run id, status, error)."""

    code = "map_failed"


@dataclass(frozen=True)
class MapItem(Generic[OutputT]):
    """One payload's outcome: its run, and the run's status with its output or error when `map` returned."""

    index: int
    task_identifier: str
    run_id: str | None  # None when it was not triggered
    status: str  # a run status, or NOT_TRIGGERED
    output: OutputT | None = None
    error: RunError | None = None
    client: Client | AsyncClient | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETED"

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES or self.status == NOT_TRIGGERED

    @property
    def handle(self) -> RunHandle[OutputT]:
        """The run's handle (through the map's client), to wait longer for an unfinished one."""
        if self.run_id is None:
            raise TetherError(f"item {self.index} was not triggered: {self.error.message if self.error else ''}")
        return RunHandle(self.run_id, self.task_identifier, client=self.client)


class MapResults(Sequence[MapItem[OutputT]]):
    """What `map` returns: one `MapItem` per payload, in the payloads' order.

        results.ok                   # every run COMPLETED
        results.outputs              # the outputs in order; MapError listing the others if any did not complete
        results.failures             # items whose run ended unsuccessfully, or that were not triggered
        results.unfinished           # items still running when the timeout came
        results.raise_for_failures() # MapError unless ok; returns the results, for chaining
    """

    def __init__(self, task_identifier: str, items: list[MapItem[OutputT]], batch_ids: list[str], elapsed: float) -> None:
        self.task_identifier = task_identifier
        self.items = items
        self.batch_ids = batch_ids
        self.elapsed = elapsed

    @overload
    def __getitem__(self, index: int) -> MapItem[OutputT]: ...

    @overload
    def __getitem__(self, index: slice) -> list[MapItem[OutputT]]: ...

    def __getitem__(self, index: int | slice) -> MapItem[OutputT] | list[MapItem[OutputT]]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def failures(self) -> list[MapItem[OutputT]]:
        return [item for item in self.items if item.finished and not item.ok]

    @property
    def unfinished(self) -> list[MapItem[OutputT]]:
        return [item for item in self.items if not item.finished]

    @property
    def run_ids(self) -> list[str | None]:
        return [item.run_id for item in self.items]

    @property
    def outputs(self) -> list[OutputT]:
        """Every output, in the payloads' order, once all completed; else MapError (see `raise_for_failures`).
        To keep what did complete: `[item.output for item in results if item.ok]`."""
        self.raise_for_failures()
        return [item.output for item in self.items]  # type: ignore[misc]

    def raise_for_failures(self) -> Self:
        """MapError naming every item that did not complete (failed, not triggered, or unfinished)."""
        bad = [item for item in self.items if not item.ok]
        if not bad:
            return self
        lines = [f"item {i.index} ({i.run_id or 'no run'}): {i.status}" + (f": {i.error.message}" if i.error else "") for i in bad]
        more = f"; and {len(bad) - 10} more" if len(bad) > 10 else ""
        failures = [{"index": i.index, "runId": i.run_id, "status": i.status, "error": i.error.message if i.error else None} for i in bad]
        raise MapError(f"{len(bad)} of {len(self)} runs of {self.task_identifier!r} did not complete: " + "; ".join(lines[:10]) + more, details={"failures": failures})

    def __str__(self) -> str:
        failed, unfinished = len(self.failures), len(self.unfinished)
        counts = f"{len(self) - failed - unfinished} completed, {failed} failed" + (f", {unfinished} unfinished" if unfinished else "")
        return f"{self.task_identifier}: {len(self)} runs, {counts} ({self.elapsed:.1f}s)"

    def __repr__(self) -> str:
        return f"<MapResults {self}>"
