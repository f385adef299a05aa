"""The Scheduler's timers and recovery: what is due (delays, TTLs, waits, back-offs, leases,
max-duration backstops) and what to do with runs whose actor is gone.

A part of `SchedulerCore`, kept apart from dispatch so each reads on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from tether._wire import as_utc, utcnow
from tether.runtime import lifecycle, runs, schedules, waits
from tether.runtime.catalog import Catalog, TaskSpec
from tether.runtime.states import ACTIVE, RunStatus
from tether.runtime.store.database import Store

from tether.actors.fairness import Candidate
from tether.actors.pool import ActorKind, ActorPool

log = logging.getLogger("tether.scheduler")
S = RunStatus
_r = runs.runs_table.c
CONFIG_TTL = 0.25  # seconds a read of queue limits and current versions is trusted
LANES_TTL = 1.0  # seconds the list of lanes is trusted when nothing outside said the backlog grew
MAX_NODE_LOSSES = 3  # times a run may be put back because its node left, before it counts as a crash


def _put_back(conn: Any, row: Any, reason: str) -> None:
    """Queue again a run the system cut short, without using up an attempt."""
    if row.status == S.DEQUEUED:
        lifecycle.requeue_undispatched(conn, row.id, row.dispatch_token)
    elif row.status == S.EXECUTING:
        lifecycle.interrupt(conn, row.id, row.attempt_count, row.dispatch_token, reason)


class TimersAndRecovery:
    """Needs from SchedulerCore: its store, catalog, settings, in-flight runs and the hooks below."""

    store: Store
    catalog: Catalog
    settings: Any
    in_flight: dict[str, Any]
    creation_failures: dict[str, int]
    node_losses: dict[str, int]
    current_versions: dict[str, str]
    crashed: int
    recovered: int
    _next_timers: float
    _lanes_read_at: float
    _config_read_at: float
    _awaiting_runs: int
    _wake: asyncio.Event

    # Provided by SchedulerCore.
    _spec: Callable[[str, str | None, str], TaskSpec | None]
    _kind_of: Callable[[str, str | None, str, str | None], tuple[ActorKind, TaskSpec] | None]
    _refresh_config: Callable[[], None]
    pool: ActorPool
    stop: Callable[[str, str], bool]
    _destroy_actor: Callable[[Any], None]

    # -- timers ------------------------------------------------------------------------------------------

    def _fire_timers(self) -> None:
        """Fire what is due, and note when the next timer falls. Writes only when something is due."""
        now = utcnow()
        with self.store.read() as conn:
            lost = [run_id for run_id in lifecycle.lost_runs(conn, now) if run_id not in self.in_flight]
            next_delay = as_utc(conn.execute(select(func.min(_r.delay_until)).where(_r.status == S.DELAYED)).scalar())
            next_expiry = as_utc(
                conn.execute(select(func.min(_r.expires_at)).where(_r.status.in_([S.QUEUED, S.DELAYED]), _r.attempt_count == 0)).scalar()
            )
            retry_at = as_utc(conn.execute(select(func.min(_r.available_at)).where(_r.status == S.QUEUED, _r.available_at > now)).scalar())
            wake_at = as_utc(waits.next_deadline(conn))
            next_schedule = as_utc(schedules.next_deadline(conn))
            self._awaiting_runs = waits.awaiting_runs(conn)
            child_ended = bool(self._awaiting_runs) and waits.any_child_ended(conn)
        promoted: list[str] = []
        resumed = 0
        self._lanes_read_at = -LANES_TTL  # runs whose back-off ended are back in their lanes
        if child_ended or any(moment is not None and moment <= now for moment in (next_delay, next_expiry, wake_at)):
            with self.store.write() as conn:
                promoted = lifecycle.promote_delayed(conn, now)
                lifecycle.expire(conn, now)
                resumed = waits.complete_due(conn, now)
            self._next_timers = 0.0  # look again right away for the next due moment
        else:
            soonest = self.settings.poll_interval
            for moment in (next_delay, next_expiry, retry_at, wake_at, next_schedule):
                if moment is not None:
                    soonest = min(soonest, max(0.0, (moment - now).total_seconds()))
            self._next_timers = time.monotonic() + soonest
        if next_schedule is not None and next_schedule <= now:
            self._fire_schedules(now)
        for run_id in lost:
            self._recover_lost(run_id, "the run's worker stopped responding (lease expired)")
        self._kill_overdue()
        if promoted or resumed:
            self._wake.set()

    def _fire_schedules(self, now: Any) -> None:
        """Fire one batch of the schedules due by `now`, then look again at once: between batches the
        tick dispatches, so when a thousand schedules share an instant the first runs start while
        the rest are still being written."""
        self._next_timers = 0.0
        try:
            with self.store.write() as conn:
                run_ids, _ = schedules.fire_due(conn, now, lambda env, task: self._spec(env, None, task))
        except Exception:  # the database, most likely: the other timers and dispatch still get their turn
            log.exception("firing schedules failed; trying again shortly")
            self._next_timers = time.monotonic() + 0.5
            return
        if run_ids:
            self._lanes_read_at = -LANES_TTL
            self._wake.set()

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for flight in list(self.in_flight.values()):
            if flight.stopping is not None and flight.stop_asked is not None and now - flight.stop_asked > self.settings.timeout_grace:
                self._destroy_actor(flight.actor.handle)  # it did not stop its run process: end the whole actor
                flight.stop_asked = None
            if flight.stopping is None and now - flight.started > flight.max_duration + self.settings.timeout_grace:
                error = lifecycle.error_record(
                    f"Run exceeded its max_duration of {flight.max_duration:g}s and was stopped", "MaxDurationExceededError", code="TIMED_OUT"
                )
                with self.store.write() as conn:
                    row = runs.get(conn, None, flight.run_id)
                    lifecycle.fail(conn, flight.run_id, row.attempt_count, flight.token, error, None, final_status=S.TIMED_OUT, attempt_status="TIMED_OUT")
                self.stop(flight.run_id, "TIMED_OUT")

    # -- recovery --------------------------------------------------------------------------------------------

    def _recover_orphans(self) -> None:
        """At start: runs left DEQUEUED or EXECUTING by a previous Scheduler lost their actors with it."""
        with self.store.read() as conn:
            orphans = list(
                conn.execute(select(_r.id, _r.status, _r.attempt_count, _r.dispatch_token).where(_r.status.in_([s.value for s in ACTIVE])))
            )
        for row in orphans:
            with self.store.write() as conn:
                _put_back(conn, row, "interrupted: the Scheduler restarted")
            self.recovered += 1

    def _recover_interrupted(self, run_id: str, reason: str) -> None:
        """A run whose node left the cluster (scaled away, preempted, killed): queued again without using
        an attempt, as the node's loss is not the run's fault. A run that keeps losing its node is
        treated as a crash after MAX_NODE_LOSSES, so one that takes its node down cannot loop for ever."""
        losses = self.node_losses[run_id] = self.node_losses.get(run_id, 0) + 1
        if losses > MAX_NODE_LOSSES:
            self._recover_lost(run_id, f"{reason} ({losses} times)")  # forgets the count
            return
        self.recovered += 1
        self._lanes_read_at = -LANES_TTL
        with self.store.write() as conn:
            _put_back(conn, runs.get(conn, None, run_id), reason)

    def _recover_lost(self, run_id: str, reason: str) -> None:
        """A run whose actor died: retry it per its policy, or end it CRASHED."""
        self.node_losses.pop(run_id, None)
        self.recovered += 1
        self._lanes_read_at = -LANES_TTL
        with self.store.write() as conn:
            current = runs.get(conn, None, run_id)
            if current.status == S.DEQUEUED:
                failures = self.creation_failures.get(run_id, 0) + 1
                self.creation_failures[run_id] = failures
                if failures < self.settings.max_creation_failures:
                    lifecycle.requeue_undispatched(conn, run_id, current.dispatch_token)
                    return
                runs.transition(conn, run_id, S.SYSTEM_FAILURE, error=lifecycle.error_record(f"the run's worker could not start: {reason}", "WorkerStartError"))
                return
            if current.status != S.EXECUTING:
                return
            spec = self._spec(current.environment_id, current.version, current.task_identifier)
            delay = None
            if spec is not None:
                delay = lifecycle.retry_delay(conn, current, spec.retry_policy)
            error = lifecycle.error_record(reason, "TaskRunCrashedError", code="CRASHED")
            outcome = lifecycle.fail(
                conn, run_id, current.attempt_count, current.dispatch_token, error, delay, final_status=S.CRASHED, attempt_status="CRASHED"
            )
        self.crashed += 1
        if outcome == S.CRASHED:
            self._failure_hook(current, "CRASHED")

    def _failure_hook(self, row: Any, reason: str) -> None:
        """Run on_failure for a run that ended outside its actor, in a fresh actor of its version."""
        found = self._kind_of(row.environment_id, row.version, row.task_identifier, row.machine)
        if found is None:
            return
        kind = found[0]
        if not self.pool.can_host(kind):
            log.warning("no room to run on_failure for %s (%s)", row.id, reason)
            return
        actor = self.pool.acquire(kind)

        async def call() -> None:
            try:
                await actor.handle.failure_hook.remote(row.id, reason)
                self.pool.release(actor, retire=False)
            except Exception:
                self.pool.discard(actor)

        asyncio.get_running_loop().create_task(call())

    def _fail_if_task_is_gone(self, cand: Candidate) -> None:
        """A queued run whose task is not in the version it would run on (removed or renamed since it
        was triggered) can never start: end it rather than leave it queued for ever. Current versions
        are read again first, so a version registered a moment ago is not mistaken for a removal."""
        self._config_read_at = -CONFIG_TTL
        self._refresh_config()
        with self.store.read() as conn:
            locked = conn.execute(select(_r.lock_to_version).where(_r.id == cand.run_id)).scalar()
        version = locked or self.current_versions.get(cand.environment_id)
        if version is None or self.catalog.version(cand.environment_id, version) is None:
            return
        if self._spec(cand.environment_id, version, cand.task_identifier) is not None:
            return  # the environment moved on to a version that has it: the next tick starts it
        error = lifecycle.error_record(
            f"task {cand.task_identifier!r} is not in version {version} of its environment: it was removed or renamed "
            "after the run was triggered",
            "TaskNotFoundError",
            code="TASK_NOT_FOUND",
        )
        with self.store.write() as conn:
            runs.transition(conn, cand.run_id, S.SYSTEM_FAILURE, where=[_r.status == S.QUEUED], error=error)
        log.warning("run %s ended SYSTEM_FAILURE: %s", cand.run_id, error["message"])
