"""Where a run's metadata operations and stream chunks go: a buffer written at most every 50 ms.

Task code never waits for the database (`tether.metadata` and `tether.streams` return at once): a
task that sets its progress ten thousand times, or streams ten thousand tokens, costs a handful
of writes, one per flush. Each flush is a single transaction: the stream chunks in one insert,
then every pending metadata operation applied to each run it targets (the run, its parent, its
root), rows locked in id order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
import threading
import time
from typing import Any

from tether.errors import StoreError, TetherError
from tether.runtime import events, metadata, streams
from tether.runtime.store.database import Store

log = logging.getLogger("tether.metadata")
FLUSH_SECONDS = 0.05  # between two writes at most; the first of a burst goes at once


class RunOutbox:
    """What one attempt's code writes through: its run, parent and root ids fixed when it started.

    Closed when the attempt ends, so that code it left running (a thread, a task that outlived a
    checkpoint) cannot write into the next run this process executes."""

    def __init__(self, outbox: Outbox, targets: dict[str, str]) -> None:
        self._outbox = outbox
        self._targets = targets
        self.closed = False

    def send(self, target: str, operation: dict[str, Any]) -> None:
        """A metadata operation for the run, its parent or its root."""
        run_id = self._targets.get(target)
        if run_id and not self.closed:  # no `metadata.parent` in a run nobody triggered
            self._outbox.add(run_id, operation=operation)

    def stream(self, key: str, chunks: list[Any]) -> None:
        """Chunks of the run's stream `key`."""
        if not self.closed:
            self._outbox.add(self._targets["self"], chunks=[(key, chunk) for chunk in chunks])

    def flush(self) -> None:
        if not self.closed:
            self._outbox.flush()


class Outbox:
    """One per run process; `start` gives an attempt its RunOutbox, `stop` flushes and closes it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._current: RunOutbox | None = None
        self._pending: list[tuple[str, dict[str, Any]]] = []  # (run id, metadata operation)
        self._chunks: list[tuple[str, str, Any]] = []  # (run id, stream key, chunk)
        self._has_pending = threading.Condition()
        self._writing = threading.Lock()  # flushes in order, whether the timer's or the task's
        threading.Thread(target=self._flush_every_interval, name="tether-outbox", daemon=True).start()

    def start(self, run_id: str, parent_id: str | None, root_id: str | None) -> RunOutbox:
        self._current = RunOutbox(self, {"self": run_id, "parent": parent_id or "", "root": root_id or run_id})
        return self._current

    def stop(self) -> None:
        if self._current is not None:
            self._current.closed = True
        self.flush()

    def add(self, run_id: str, *, operation: dict[str, Any] | None = None, chunks: Sequence[tuple[str, Any]] = ()) -> None:
        with self._has_pending:
            if operation is not None:
                self._pending.append((run_id, operation))
            self._chunks.extend((run_id, key, chunk) for key, chunk in chunks)
            self._has_pending.notify()

    def flush(self) -> None:
        """Write everything pending now; return once it is stored (or refused and logged)."""
        with self._writing:
            with self._has_pending:
                batch, self._pending = self._pending, []
                chunks, self._chunks = self._chunks, []
            if not batch and not chunks:
                return
            try:
                self._write(batch, chunks)
            except StoreError:
                with self._has_pending:  # the database is away: keep them, in order, for the next flush
                    self._pending[:0] = batch
                    self._chunks[:0] = chunks
                raise

    def _write(self, batch: list[tuple[str, dict[str, Any]]], chunks: list[tuple[str, str, Any]]) -> None:
        by_run: dict[str, list[dict[str, Any]]] = {}
        for run_id, operation in batch:
            by_run.setdefault(run_id, []).append(operation)
        chunks_by_run: dict[str, list[tuple[str, Any]]] = {}
        for run_id, key, chunk in chunks:
            chunks_by_run.setdefault(run_id, []).append((key, chunk))
        with self._store.write() as conn:
            changed: list[tuple[str, str]] = []
            # Row locks first, in one order for every process (no deadlocks); the event and chunk rows,
            # which take sequence numbers, last: a wait for a lock must not hold a number uncommitted.
            for run_id in sorted(by_run):
                savepoint = conn.begin_nested()
                try:
                    changed.append((run_id, metadata.apply_to_run(conn, None, run_id, by_run[run_id])[0]))
                    savepoint.commit()
                except TetherError as exc:  # too large, not found: these operations are dropped, the others stand
                    savepoint.rollback()
                    log.error("metadata update of run %s refused: %s", run_id, exc)
            for run_id, status in changed:
                events.append(conn, [run_id], status)
            for run_id, run_chunks in chunks_by_run.items():
                streams.append(conn, run_id, run_chunks)
            events.notify(conn)

    def _flush_every_interval(self) -> None:
        """Leading edge: a lone update is written at once (subscribers see it in milliseconds); a burst
        is written at most every FLUSH_SECONDS, each write taking everything that gathered."""
        last = 0.0
        while True:
            with self._has_pending:
                self._has_pending.wait_for(lambda: bool(self._pending or self._chunks))
            wait = last + FLUSH_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            try:
                self.flush()
            except Exception:
                log.exception("metadata and stream flush failed; retrying")
                time.sleep(1.0)
