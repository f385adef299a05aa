"""The Scheduler: one detached, named, async Ray actor that starts runs and owns every timer.

Each tick it (1) fires due timers — delayed runs, TTL expiry, lost leases, max-duration
backstops — and (2) picks queued runs that fit their queue's limit, their concurrency-key
lane and the cluster, fairly across lanes, and hands each to a RunActor from the warm pool.

Its memory (slots held, lanes' turns, the pool) is rebuilt from the store when it restarts;
RunActors it owned die with it (Ray fate-sharing), so runs they held go back to the queue
without using up an attempt.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from sqlalchemy import select

from tether._wire import utcnow
from tether.machines import PRESETS
from tether.runtime import faults, lifecycle, runs
from tether.runtime import queues as queue_store
from tether.runtime.catalog import Catalog, TaskSpec
from tether.runtime.states import RunStatus
from tether.runtime.store.database import Store
from tether.runtime.store.tables import Environment, WorkerVersion

from tether.actors import backlog
from tether.actors.fairness import Candidate, Occupancy, QueueLimits, TurnBook, choose, lane_capacity
from tether.actors.nodes import ClusterView, NodeAwareness
from tether.actors.pool import ActorKind, ActorPool, PooledActor
from tether.actors.run_actor import RunActor
from tether.actors.timers import CONFIG_TTL, LANES_TTL, TimersAndRecovery

log = logging.getLogger("tether.scheduler")
S = RunStatus
_r = runs.runs_table.c
MAX_LANES_PER_TICK = 200


@dataclass(frozen=True)
class SchedulerSettings:
    lease: float = 30.0
    warm_actors: int = 2
    poll_interval: float = 1.0
    timeout_grace: float = 15.0
    max_creation_failures: int = 3
    idle_actor_timeout: float = 300.0  # seconds an idle actor beyond the warm ones keeps its resources
    node_death_window: float = 30.0  # seconds an unreachable actor's node is watched before its death is the actor's alone
    fault: str | None = None  # a fault point to arm in this process (see tether.runtime.faults)


@dataclass(eq=False)
class InFlight:
    run_id: str
    token: str
    lane: tuple[str, str]
    actor: PooledActor
    spec: TaskSpec
    max_duration: float
    started: float = field(default_factory=time.monotonic)
    stopping: str | None = None
    stop_asked: float | None = None


def _lane_queue(environment_id: str, queue: str) -> str:
    return f"{environment_id}\x1f{queue}"


class SchedulerCore(TimersAndRecovery, NodeAwareness):
    """The Scheduler's logic, separate from the Ray actor shell so its counters are easy to read."""

    def __init__(self, database_url: str, settings: SchedulerSettings) -> None:
        self.database_url = database_url
        self.settings = settings
        if settings.fault:
            os.environ[faults.ENV] = settings.fault
        self.store = Store(database_url)
        self.catalog = Catalog(self.store, ttl=0.5)
        self.pool = ActorPool(self._create_actor, self._destroy_actor, {})
        self.cluster = ClusterView(self.pool)
        self.cluster.refresh(force=True)
        self.occupancy = Occupancy()
        self.turns = TurnBook()
        self.in_flight: dict[str, InFlight] = {}
        self.creation_failures: dict[str, int] = {}
        self.node_losses: dict[str, int] = {}
        self.limits: dict[str, QueueLimits] = {}
        self.current_versions: dict[str, str] = {}
        self._config_read_at = -CONFIG_TTL
        self.started = 0
        self.finished = 0
        self.crashed = 0
        self.recovered = 0
        self.ticks = 0
        self._next_timers = 0.0
        self._warmed: set[tuple[str, str]] = set()
        self._wake = asyncio.Event()
        # The lanes holding queued runs, re-read when the backlog may have gained one (see wake()).
        self._lanes: list[backlog.LaneKey] = []
        self._lanes_read_at = -LANES_TTL
        self._awaiting_runs = 0  # pending RUN waitpoints: while there are any, a run's end fires the timers

    def __repr__(self) -> str:
        return (
            f"Scheduler(in_flight={len(self.in_flight)} started={self.started} finished={self.finished} "
            f"crashed={self.crashed} recovered={self.recovered} ticks={self.ticks} {self.pool!r})"
        )

    # -- actors -----------------------------------------------------------------------------------

    def _create_actor(self, kind: ActorKind, node_id: str) -> Any:
        info = self.catalog.version(kind.environment_id, kind.version)
        root, modules = (info.project_root, info.modules) if info else ("", ())
        # Pinned to the node the pool chose: the pool's view of what each node has left stays true.
        where = NodeAffinitySchedulingStrategy(node_id, soft=False)
        handle = RunActor.options(**kind.machine.ray_options(), scheduling_strategy=where).remote(
            self.database_url, kind.environment_id, kind.version, self.settings.lease, root, modules
        )
        asyncio.get_running_loop().create_task(self._watch_boot(handle))
        return handle

    async def _watch_boot(self, handle: Any) -> None:
        """Mark the actor ready once it has imported its code, so runs go to booted actors first."""
        try:
            await handle.ready.remote()
        except Exception:  # it died booting; its run (if any) is recovered where it was awaited
            return
        self.pool.mark_ready(handle)
        self._wake.set()

    def _destroy_actor(self, handle: Any) -> None:
        try:
            ray.kill(handle, no_restart=True)
        except Exception:  # already gone
            pass

    # -- the loop ------------------------------------------------------------------------------------

    def wake(self, config_changed: bool = False) -> None:
        """Something outside changed the backlog (a trigger, replay, reschedule) or the queues' settings."""
        if config_changed:
            self._config_read_at = -CONFIG_TTL
        self._lanes_read_at = -LANES_TTL
        self._wake.set()

    async def main(self) -> None:
        await self._guarded(self._recover_orphans)
        while True:
            await self._guarded(self._tick)
            delay = max(0.0, min(self._next_timers - time.monotonic(), self.settings.poll_interval))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _guarded(self, step: Any) -> None:
        try:
            step()
        except Exception:
            log.exception("scheduler step failed; retrying shortly")
            await asyncio.sleep(0.5)

    def _tick(self) -> None:
        self.ticks += 1
        if time.monotonic() >= self._next_timers:
            self._fire_timers()
        self._dispatch()

    # -- dispatch -----------------------------------------------------------------------------------------------

    def _spec(self, environment_id: str, version: str | None, task_id: str) -> TaskSpec | None:
        info = self.catalog.version(environment_id, version) if version else self.catalog.current(environment_id)
        return info.tasks.get(task_id) if info else None

    def _refresh_config(self) -> None:
        """Queue limits and current versions, re-read at most every CONFIG_TTL seconds."""
        if time.monotonic() - self._config_read_at < CONFIG_TTL:
            return
        environments = Environment.__table__
        versions = WorkerVersion.__table__
        with self.store.read() as conn:
            rows = list(conn.execute(select(queue_store._queues)))
            env_limits = {e.id: e.concurrency_limit for e in conn.execute(select(environments))}
            current = conn.execute(select(versions.c.environment_id, versions.c.version).where(versions.c.is_current.is_(True)))
            self.current_versions = {env: version for env, version in current}
        self.limits = {
            _lane_queue(r.environment_id, r.name): QueueLimits(
                queue_store.effective_limit(r, env_limits.get(r.environment_id, 100)), r.concurrency_key_limit, bool(r.paused)
            )
            for r in rows
        }
        self._config_read_at = time.monotonic()

    def _limits_of(self, queue: str) -> QueueLimits:
        return self.limits.get(queue, QueueLimits(100, 1))

    def _dispatch(self) -> None:
        self._refresh_config()
        self._refresh_cluster()
        current = self.current_versions
        self._warm(current)
        self.pool.retire_stale(lambda kind: current.get(kind.environment_id) == kind.version)
        self.pool.retire_idle(self.settings.idle_actor_timeout, self._spares)
        if self.cluster.demand_due():
            self._probe_demand(current)
        self.cluster.ask_autoscaler()
        room = self.pool.free_slots()
        if room <= 0:
            return  # nothing could start: do not even look at the backlog
        self._start_some(self._candidates(room, current))

    def _kind_of(self, environment_id: str, version: str | None, task_id: str, machine: str | None) -> tuple[ActorKind, TaskSpec] | None:
        """The actor a run of `task_id` in `version` needs (its machine preset, else its task's) and the task's spec."""
        spec = self._spec(environment_id, version, task_id) if version else None
        if spec is None or version is None:
            return None
        return ActorKind(environment_id, version, PRESETS.get(machine or "") or spec.machine_spec), spec

    def _start_some(self, candidates: list[tuple[Candidate, str | None]]) -> None:
        if not candidates:
            return
        kinds: dict[str, ActorKind] = {}
        specs: dict[str, TaskSpec] = {}
        for cand, version in candidates:
            found = self._kind_of(cand.environment_id, version, cand.task_identifier, cand.machine)
            if found is None:
                if version is not None:
                    self._fail_if_task_is_gone(cand)
                continue
            kinds[cand.run_id], specs[cand.run_id] = found
        reserved: dict[str, PooledActor] = {}

        def can_start(cand: Candidate) -> bool:
            # Taking the actor now makes the pool count it for the rest of this round.
            kind = kinds.get(cand.run_id)
            if kind is None or not self.pool.can_host(kind):
                return False
            reserved[cand.run_id] = self.pool.acquire(kind)
            return True

        chosen = choose([c for c, _ in candidates], self._limits_of, self.occupancy, self.turns, can_start)
        if not chosen:
            return
        token = uuid.uuid4().hex
        by_version: dict[str, list[str]] = {}
        for cand in chosen:
            by_version.setdefault(kinds[cand.run_id].version, []).append(cand.run_id)
        moved: set[str] = set()
        for version, ids in by_version.items():  # usually one version; each dequeue stands alone
            with self.store.write_recoverable() as conn:
                moved.update(lifecycle.dequeue(conn, ids, token=token, version=version, lease=self.settings.lease))
        for cand in chosen:
            actor = reserved[cand.run_id]
            if cand.run_id not in moved:
                self.occupancy.remove(cand.lane)
                self.pool.release(actor, retire=False)
                continue
            spec = specs[cand.run_id]
            flight = InFlight(cand.run_id, token, cand.lane, actor, spec, spec.max_duration)
            self.in_flight[cand.run_id] = flight
            self.started += 1
            asyncio.get_running_loop().create_task(self._run(flight))

    def _candidates(self, room: int, current: dict[str, str]) -> list[tuple[Candidate, str | None]]:
        """The front runs of the lanes whose turn is next, no more than could start now."""
        with self.store.read() as conn:
            if time.monotonic() - self._lanes_read_at >= LANES_TTL:
                # Between reads the list can only shrink (dispatch empties lanes), so a run ending needs no re-read.
                self._lanes = backlog.lanes(conn)
                self._lanes_read_at = time.monotonic()
            wanted: list[tuple[backlog.LaneKey, int]] = []
            total = 0
            for lane in sorted(self._lanes, key=lambda lane: self.turns.last_served((_lane_queue(lane[0], lane[1]), lane[2]))):
                queue = _lane_queue(lane[0], lane[1])
                limits = self._limits_of(queue)
                take = min(room, lane_capacity((queue, lane[2]), limits, self.occupancy))
                if limits.paused or take <= 0:
                    continue
                wanted.append((lane, take))
                total += take
                if total >= 2 * room or len(wanted) >= MAX_LANES_PER_TICK:
                    break
            rows = backlog.heads(conn, wanted, utcnow())
        served = {(r.environment_id, r.queue, r.concurrency_key) for r in rows}
        asked = {lane for lane, _ in wanted}
        # A lane asked for and found empty is dropped until the next read (a backing-off run returns with its timer).
        self._lanes = [lane for lane in self._lanes if lane not in asked or lane in served]
        out = []
        for r in rows:
            cand = Candidate(r.id, r.environment_id, _lane_queue(r.environment_id, r.queue), r.concurrency_key, r.task_identifier, r.machine, r.dequeue_rank)
            out.append((cand, r.lock_to_version or current.get(r.environment_id)))
        return out

    def _warm(self, current: dict[str, str]) -> None:
        for env, version in current.items():
            if (env, version) not in self._warmed:
                self._warmed.add((env, version))
                self.pool.prestart(ActorKind(env, version, PRESETS["small-1x"]), self.settings.warm_actors)

    # -- one run ------------------------------------------------------------------------------------------------

    async def _run(self, flight: InFlight) -> None:
        died: BaseException | None = None
        result: dict[str, Any] = {}
        try:
            result = await flight.actor.handle.execute.remote(flight.run_id, flight.token, flight.spec.max_runs_per_actor)
        except Exception as exc:  # RayActorError and friends: the actor itself is gone
            died = exc
        node_lost = False
        if died is not None:
            self.pool.discard(flight.actor)
            if flight.stopping is None:  # still in flight meanwhile: its lease is not judged, its slot stays held
                node_lost = await self._lost_with_its_node(flight.actor.node_id, died)
        self.in_flight.pop(flight.run_id, None)
        self.occupancy.remove(flight.lane)
        self.finished += 1
        if died is None:
            self.creation_failures.pop(flight.run_id, None)
            self.node_losses.pop(flight.run_id, None)
            self.pool.release(flight.actor, retire=False)
        if flight.stopping is not None and (died is not None or result.get("stopped")):
            with self.store.read() as conn:
                row = runs.get(conn, None, flight.run_id)
            self._failure_hook(row, flight.stopping)
        elif node_lost:
            self._recover_interrupted(flight.run_id, f"interrupted: node {flight.actor.node_id[:8]} left the cluster")
        elif died is not None:
            self._recover_lost(flight.run_id, f"the run's worker process died: {type(died).__name__}")
        elif result.get("crashed"):
            self._recover_lost(flight.run_id, result["crashed"])
        if self._awaiting_runs or result.get("status") == S.WAITING:
            self._next_timers = 0.0  # a parent may be waiting for this run, or this run for a child that already ended
        self._wake.set()

    def stop(self, run_id: str, reason: str) -> bool:
        """Have the actor kill the run's process; if that does not end it in time, `_kill_overdue` kills the actor."""
        flight = self.in_flight.get(run_id)
        if flight is None:
            return False
        flight.stopping = reason
        flight.stop_asked = time.monotonic()
        flight.actor.handle.stop.remote(run_id, reason)
        return True

    def stats(self) -> dict[str, Any]:
        return {
            "nodes": len(self.cluster.nodes),
            "nodes_lost": self.cluster.nodes_lost,
            "in_flight": len(self.in_flight),
            "started": self.started,
            "finished": self.finished,
            "crashed": self.crashed,
            "recovered": self.recovered,
            "actors": len(self.pool.actors),
            "actors_started": self.pool.started,
            "actors_reused": self.pool.reused,
            "occupancy": {q.split("\x1f", 1)[-1]: n for q, n in self.occupancy.by_queue.items()},
            "repr": repr(self),
        }


@ray.remote(num_cpus=0, max_restarts=-1)
class Scheduler:
    """The Ray actor shell around `SchedulerCore`."""

    def __init__(self, database_url: str, settings: dict[str, Any] | None = None) -> None:
        logging.basicConfig(level=logging.INFO)
        self.core = SchedulerCore(database_url, SchedulerSettings(**(settings or {})))
        gc.freeze()  # Ray, SQLAlchemy and the rest live as long as we do: keep the collector off them
        self._main = asyncio.get_event_loop().create_task(self.core.main())

    async def wake(self, config_changed: bool = False) -> None:
        self.core.wake(config_changed)

    async def stop_run(self, run_id: str, reason: str) -> bool:
        return self.core.stop(run_id, reason)

    async def stats(self) -> dict[str, Any]:
        return self.core.stats()

    async def cluster_status(self) -> dict[str, Any]:
        return self.core.cluster_status()

    async def ping(self) -> str:
        return "pong"

    async def pid(self) -> int:
        import os

        return os.getpid()
