"""Where a run's metadata operations and stream chunks go: a buffer written at most every 50 ms.

Task code never waits for the database (`tether.metadata` and `tether.streams` return at once): a
task that sets its progress ten thousand times, or streams ten thousand tokens, costs a handful
of writes, one per flush. Each flush is a single transaction: the stream chunks in one insert,
then every pending metadata operation applied to each run it targets (the run, its parent, its
root), rows locked in id order.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tether.errors import StoreError, TetherError
from tether.runtime import events, metadata, streams
from tether.runtime.store.database import Store

log = logging.getLogger("tether.metadata")
FLUSH_SECONDS = 0.05  # between two writes at most; the first of a burst goes at once


class Outbox:
    """One per run process; `start` points it at a run, `stop` flushes and detaches it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._targets: dict[str, str] = {}
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._chunks: list[tuple[str, Any]] = []  # (stream key, chunk) of the current run
        self._has_pending = threading.Condition()
        self._writing = threading.Lock()  # flushes in order, whether the timer's or the task's
        threading.Thread(target=self._flush_every_interval, name="tether-metadata", daemon=True).start()

    def start(self, run_id: str, parent_id: str | None, root_id: str | None) -> None:
        with self._has_pending:
            self._pending.clear()
            self._chunks.clear()
            self._targets = {"self": run_id, "parent": parent_id or "", "root": root_id or run_id}

    def stop(self) -> None:
        self.flush()
        with self._has_pending:
            self._targets = {}

    def send(self, target: str, operation: dict[str, Any]) -> None:
        """A metadata operation for the run, its parent or its root."""
        with self._has_pending:
            run_id = self._targets.get(target)
            if not run_id:
                return  # `metadata.parent` in a run nobody triggered: nothing to update
            self._pending.append((run_id, operation))
            self._has_pending.notify()

    def stream(self, key: str, chunks: list[Any]) -> None:
        """Chunks of the run's stream `key`."""
        with self._has_pending:
            if self._targets:
                self._chunks.extend((key, chunk) for chunk in chunks)
                self._has_pending.notify()

    def flush(self) -> None:
        """Write everything pending now; return once it is stored (or refused and logged)."""
        with self._writing:
            with self._has_pending:
                batch, self._pending = self._pending, []
                chunks, self._chunks = self._chunks, []
                run_id = self._targets.get("self")
            if not batch and not chunks:
                return
            by_run: dict[str, list[dict[str, Any]]] = {}
            for target, operation in batch:
                by_run.setdefault(target, []).append(operation)
            try:
                self._write(run_id, chunks, by_run)
            except StoreError:
                with self._has_pending:  # the database is away: keep them, in order, for the next flush
                    self._pending[:0] = batch
                    self._chunks[:0] = chunks
                raise

    def _write(self, run_id: str | None, chunks: list[tuple[str, Any]], by_run: dict[str, list[dict[str, Any]]]) -> None:
        with self._store.write() as conn:
            if run_id is not None and chunks:
                streams.append(conn, run_id, chunks)
                events.notify(conn)
            for target in sorted(by_run):  # one lock order for every process: no deadlocks
                savepoint = conn.begin_nested()
                try:
                    metadata.update_run(conn, None, target, by_run[target])
                    savepoint.commit()
                except TetherError as exc:  # too large, not found: these operations are dropped, the others stand
                    savepoint.rollback()
                    log.error("metadata update of run %s refused: %s", target, exc)

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
