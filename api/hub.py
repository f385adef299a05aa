"""The realtime hub: one reader of the database per gateway process, fanning changes out to its
server-sent-event subscribers.

Whatever process made a change (a run process flushing metadata, the Scheduler moving a run,
another gateway), it is in `run_events` and `stream_chunks`. The hub reads the rows past its
cursors — one indexed query per tick, however many subscribers there are — builds each changed
run's JSON once, and offers it to the subscriptions that asked for that run, its tags or its
batch. On PostgreSQL, writers NOTIFY and the hub LISTENs, so it reads as soon as a change is
committed; the tick is the fallback, and the only clock on SQLite.

A subscription keeps only the newest state of each run (a slow reader skips states, never the
newest) and a bounded list of chunks; past the bound it is told to read the rest from the
database itself. So a slow reader never slows the hub, nor the runs, nor other readers.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from tether.runtime import runs
from tether.runtime.events import CHANNEL
from tether.runtime.store.database import Store
from tether.runtime.store.tables import RunEvent, StreamChunk

from tether.api.tail import Tail

log = logging.getLogger("tether.realtime")
TICK_SECONDS = 0.05
IDLE_TICK_SECONDS = 1.0  # with nobody listening, only keep the cursors near the end (a subscriber wakes the hub)
MAX_ROWS = 5000  # read per table per tick
MAX_CHUNKS_HELD = 10_000
_e = RunEvent.__table__.c
_c = StreamChunk.__table__.c
_r = runs.runs_table.c


@dataclass(eq=False)
class Subscription:
    """What one SSE response is waiting for, and what the hub found for it so far."""

    environment_id: str
    run_ids: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    batch_id: str | None = None
    stream: tuple[str, str] | None = None  # (run id, stream key)
    runs: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # newest (seq, status, JSON) by run id
    chunks: list[tuple[int, Any]] = field(default_factory=list)
    overflowed: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    joined: asyncio.Event = field(default_factory=asyncio.Event)  # set when every read of the hub includes it

    def wants(self, row: Any) -> bool:
        if row.environment_id != self.environment_id:
            return False
        if row.id in self.run_ids or (self.batch_id is not None and row.batch_id == self.batch_id):
            return True
        return bool(self.tags.intersection(row.tags or ()))  # any of the tags

    def offer_run(self, seq: int, run_id: str, status: str, data: str) -> None:
        self.runs[run_id] = (seq, status, data)
        self.changed.set()

    def offer_chunk(self, seq: int, chunk: Any) -> None:
        if len(self.chunks) >= MAX_CHUNKS_HELD:
            self.overflowed = True  # the reader catches up from the database
        else:
            self.chunks.append((seq, chunk))
        self.changed.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except TimeoutError:
            pass
        self.changed.clear()

    def take_runs(self) -> list[tuple[int, str, str, str]]:
        """(seq, run id, status, JSON) of each run that changed, oldest change first."""
        taken = sorted(((seq, run_id, status, data) for run_id, (seq, status, data) in self.runs.items()), key=lambda item: item[0])
        self.runs = {}
        return taken

    def take_chunks(self) -> tuple[list[tuple[int, Any]], bool]:
        taken, overflowed = self.chunks, self.overflowed
        self.chunks, self.overflowed = [], False
        return taken, overflowed


class Hub:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._subs: set[Subscription] = set()
        self._joining: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._tails: tuple[Tail, Tail] | None = None  # run_events, stream_chunks
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- subscribing ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start reading on the running loop: at the server's startup, or else at the first subscription."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tether-realtime-hub")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def subscribe(self, sub: Subscription) -> Subscription:
        """Register `sub`; return once every read of the hub from now on includes it, so that the
        catch-up the caller reads next and the hub's deliveries leave nothing between them."""
        self._joining.add(sub)
        self.start()
        assert self._wake is not None
        self._wake.set()
        await sub.joined.wait()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._joining.discard(sub)
        self._subs.discard(sub)

    # -- reading --------------------------------------------------------------------------------

    async def _run(self) -> None:
        if self._tails is None:
            self._tails = await run_in_threadpool(self._newest)
        self._listen()
        while True:
            assert self._wake is not None
            if not self._joining:
                try:
                    await asyncio.wait_for(self._wake.wait(), TICK_SECONDS if self._subs else IDLE_TICK_SECONDS)
                except TimeoutError:
                    pass
            self._wake.clear()
            for sub in self._joining:  # between two reads: the next one is the first to include them
                self._subs.add(sub)
                sub.joined.set()
            self._joining.clear()
            try:
                tails, bodies, moved, chunks = await run_in_threadpool(self._read, self._tails, list(self._subs))
            except Exception:
                log.exception("the realtime hub could not read changes; retrying")
                await asyncio.sleep(0.5)
                continue
            self._tails = tails  # only once the read succeeded: a failed one is read again
            self._dispatch(bodies, moved, chunks)

    def _newest(self) -> tuple[Tail, Tail]:
        with self.store.read() as conn:
            return (
                Tail(int(conn.execute(select(func.coalesce(func.max(_e.seq), 0))).scalar())),
                Tail(int(conn.execute(select(func.coalesce(func.max(_c.seq), 0))).scalar())),
            )

    def _read(self, tails: tuple[Tail, Tail], subs: list[Subscription]) -> tuple[tuple[Tail, Tail], list[tuple[int, Any, dict[str, Any]]], set[str], list[Any]]:
        """What changed past the tails' floors and was not handed out yet: the tails moved on, run
        bodies that some subscription wants, the ids of every run that moved, and chunks of the
        streams followed. With nobody subscribed, only the sequence numbers are read."""
        events, chunk_tail = copy.deepcopy(tails)
        streams = {s.stream for s in subs if s.stream is not None}
        watched = [s for s in subs if s.stream is None]
        with self.store.read() as conn:
            rows = conn.execute(select(_e.seq, _e.run_id).where(_e.seq > events.floor).order_by(_e.seq).limit(MAX_ROWS)).all()
            fresh = events.fresh(int(seq) for seq, _ in rows)
            seq_of: dict[str, int] = {}
            for seq, run_id in rows:
                if seq in fresh:
                    seq_of[run_id] = max(int(seq), seq_of.get(run_id, 0))
            columns = (_c.seq, _c.run_id, _c.stream_key, _c.chunk) if streams else (_c.seq,)
            chunk_rows = conn.execute(select(*columns).where(_c.seq > chunk_tail.floor).order_by(_c.seq).limit(MAX_ROWS)).all()
            new_chunks = chunk_tail.fresh(int(c.seq) for c in chunk_rows)
            changed = conn.execute(select(runs.runs_table).where(_r.id.in_(list(seq_of)))).all() if seq_of and watched else []
            bodies = [
                (seq_of[row.id], row, runs.detail(conn, row))
                for row in changed
                if any(s.wants(row) for s in watched)
            ]
        kept = [c for c in chunk_rows if c.seq in new_chunks and (c.run_id, c.stream_key) in streams] if streams else []
        return (events, chunk_tail), bodies, set(seq_of), kept

    def _dispatch(self, bodies: Iterable[tuple[int, Any, dict[str, Any]]], moved: set[str], chunks: Iterable[Any]) -> None:
        for seq, row, body in bodies:
            data = json.dumps(body)  # once, however many subscribers get it
            for sub in self._subs:
                if sub.stream is None and sub.wants(row):
                    sub.offer_run(seq, row.id, body["status"], data)
        for chunk in chunks:
            for sub in self._subs:
                if sub.stream == (chunk.run_id, chunk.stream_key):
                    sub.offer_chunk(int(chunk.seq), chunk.chunk)
        for sub in self._subs:
            if sub.stream is not None and sub.stream[0] in moved:
                sub.changed.set()  # the run moved: its stream's reader looks whether it ended

    # -- PostgreSQL NOTIFY ------------------------------------------------------------------------

    def _listen(self) -> None:
        """On PostgreSQL, a thread LISTENs and wakes the hub at each NOTIFY from a writer."""
        if self.store.dialect != "postgresql" or self._listener is not None:
            return
        loop, wake = asyncio.get_running_loop(), self._wake
        assert wake is not None

        def listen() -> None:
            import psycopg

            url = self.store.writer.url.set(drivername="postgresql").render_as_string(hide_password=False)
            while not self._stopping.is_set():
                try:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        while not self._stopping.is_set():
                            if any(True for _ in conn.notifies(timeout=1.0, stop_after=1)):
                                loop.call_soon_threadsafe(wake.set)
                except Exception:  # the database restarted, or the loop is gone
                    if loop.is_closed():
                        return
                    self._stopping.wait(1.0)

        self._listener = threading.Thread(target=listen, name="tether-realtime-listen", daemon=True)
        self._listener.start()
