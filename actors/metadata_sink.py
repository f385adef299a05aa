"""Where a run's metadata operations go: a buffer written to the database every 100 ms at most.

Task code never waits for the database (`tether.metadata` returns at once); a task that sets its
progress ten thousand times in a loop costs a handful of writes, one per flush, each a single
transaction that applies every pending operation to each run it targets (the run, its parent, its
root), rows locked in id order.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tether.errors import StoreError, TetherError
from tether.runtime import metadata
from tether.runtime.store.database import Store

log = logging.getLogger("tether.metadata")
FLUSH_SECONDS = 0.1


class MetadataSink:
    """One per run process; `start` points it at a run, `stop` flushes and detaches it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._targets: dict[str, str] = {}
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._has_pending = threading.Condition()
        self._writing = threading.Lock()  # flushes in order, whether the timer's or the task's
        threading.Thread(target=self._flush_every_interval, name="tether-metadata", daemon=True).start()

    def start(self, run_id: str, parent_id: str | None, root_id: str | None) -> None:
        with self._has_pending:
            self._pending.clear()
            self._targets = {"self": run_id, "parent": parent_id or "", "root": root_id or run_id}

    def stop(self) -> None:
        self.flush()
        with self._has_pending:
            self._targets = {}

    def send(self, target: str, operation: dict[str, Any]) -> None:
        with self._has_pending:
            run_id = self._targets.get(target)
            if not run_id:
                return  # `metadata.parent` in a run nobody triggered: nothing to update
            self._pending.append((run_id, operation))
            self._has_pending.notify()

    def flush(self) -> None:
        """Write everything pending now; return once it is stored (or refused and logged)."""
        with self._writing:
            with self._has_pending:
                batch, self._pending = self._pending, []
            if not batch:
                return
            by_run: dict[str, list[dict[str, Any]]] = {}
            for run_id, operation in batch:
                by_run.setdefault(run_id, []).append(operation)
            try:
                self._write(by_run)
            except StoreError:
                with self._has_pending:  # the database is away: keep them, in order, for the next flush
                    self._pending[:0] = batch
                raise

    def _write(self, by_run: dict[str, list[dict[str, Any]]]) -> None:
        with self._store.write() as conn:
            for run_id in sorted(by_run):  # one lock order for every process: no deadlocks
                savepoint = conn.begin_nested()
                try:
                    metadata.update_run(conn, None, run_id, by_run[run_id])
                    savepoint.commit()
                except TetherError as exc:  # too large, not found: these operations are dropped, the others stand
                    savepoint.rollback()
                    log.error("metadata update of run %s refused: %s", run_id, exc)

    def _flush_every_interval(self) -> None:
        while True:
            with self._has_pending:
                self._has_pending.wait_for(lambda: bool(self._pending))
            threading.Event().wait(FLUSH_SECONDS)  # let a burst of updates gather into one write
            try:
                self.flush()
            except Exception:
                log.exception("metadata flush failed; retrying")
                threading.Event().wait(1.0)
