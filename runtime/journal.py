"""The run journal: the recorded result of each durable call a run makes, by slot.

A run's code is re-executed on every attempt (and, later, on every resume after a wait). Each
durable call takes the next slot; a slot already in the journal returns its recorded result
instead of running again, and a slot recorded with a different kind or name is non-determinism.
The first writer of a slot wins: a second attempt racing a stale one gets the first one's result.

Slots are counted per branch (see `tether.steps.Slot`): code the run executes in parallel counts
its own calls, so the order in which branches happen to interleave never moves a slot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc, insert, select

from tether._wire import utcnow
from tether.errors import NonDeterminismError, ValidationError
from tether.runtime.store.database import Store
from tether.steps import Slot, current_branch, inside_step
from tether.runtime.store.tables import JournalEntry

_journal = JournalEntry.__table__
_j = _journal.c
_INSERT = insert(_journal)


@dataclass(frozen=True)
class Entry:
    slot: Slot
    kind: str
    name: str
    output: Any
    attempt: int = 0


def load(conn: Connection, run_id: str) -> dict[Slot, Entry]:
    rows = conn.execute(select(_j.branch, _j.slot, _j.kind, _j.name, _j.output, _j.attempt).where(_j.run_id == run_id))
    entries = (Entry(Slot(row.branch, row.slot), row.kind, row.name, row.output, row.attempt) for row in rows)
    return {entry.slot: entry for entry in entries}


class RunJournal:
    """One attempt's cursor over its run's journal; task code reaches it through `tether.step`."""

    def __init__(self, store: Store, run_id: str, attempt: int, checkpoint_waits_over: float = 5.0) -> None:
        self.store = store
        self.run_id = run_id
        self.attempt = attempt
        self.checkpoint_waits_over = checkpoint_waits_over
        self._entries: dict[Slot, Entry] | None = None  # read at the first durable call: most runs make none
        self._next: dict[str, int] = {}  # by branch
        self._lock = threading.Lock()
        self.violation: NonDeterminismError | None = None
        self.spawned: dict[tuple[str, str], int] = {}  # asyncio tasks started, by (branch, name): see tether.branches
        self.tasks: set[Any] = set()  # held until the attempt ends: settle() reads their outcomes

    def __repr__(self) -> str:
        return f"RunJournal(run={self.run_id} next={self._next} recorded={len(self._entries or {})})"

    def _loaded(self) -> dict[Slot, Entry]:
        with self._lock:
            if self._entries is None:
                with self.store.read() as conn:
                    self._entries = load(conn, self.run_id)
            return self._entries

    def resumed(self) -> bool:
        """Whether this attempt executed before: the run was checkpointed and now carries on."""
        return any(entry.attempt == self.attempt for entry in self._loaded().values())

    def take(self, kind: str, name: str) -> tuple[Slot, Entry | None]:
        """The next slot of the caller's branch, and what it recorded; raises NonDeterminismError if that was another call."""
        step = inside_step()
        if step is not None:
            # A step is journalled as a whole: calls made inside it would not be made again on replay.
            raise ValidationError(
                f"{kind} {name!r} was called inside step {step!r}: durable calls (steps, waits, triggers, tokens) "
                "cannot be nested in a step's function; make them in the task's body"
            )
        entries = self._loaded()
        branch = current_branch()
        with self._lock:
            index = self._next.get(branch, 0)
            self._next[branch] = index + 1
        slot = Slot(branch, index)
        entry = entries.get(slot)
        if entry is not None and (entry.kind, entry.name) != (kind, name):
            # Kept on the journal too, so a user's `except Exception` cannot hide it: the run fails anyway.
            self.violation = NonDeterminismError(
                f"journal slot {slot}: this run recorded {entry.kind} {entry.name!r} there, but now called {kind} {name!r}. "
                "Durable calls (steps, waits, children) must be made in the same order with the same names on every "
                "execution; put anything that varies inside a step."
            )
            raise self.violation
        return slot, entry

    def record(self, slot: Slot, kind: str, name: str, output: Any) -> Any:
        """Write the slot's result before the call returns; if another attempt wrote it first, theirs stands."""
        row = {"run_id": self.run_id, "branch": slot.branch, "slot": slot.index, "kind": kind, "name": name, "output": output, "attempt": self.attempt, "created_at": utcnow()}
        try:
            with self.store.write_one() as conn:
                conn.execute(_INSERT, row)
        except exc.IntegrityError:
            with self.store.read() as conn:
                existing = load(conn, self.run_id).get(slot)
            if existing is None:
                raise
            output = existing.output
        with self._lock:
            if self._entries is not None:
                self._entries[slot] = Entry(slot, kind, name, output, self.attempt)
        return output
