"""Test tasks that wait, in-process and fast: an embedded engine with a virtual clock.

    from tether.testing import TestEnvironment

    def test_onboarding_sends_the_offer_a_week_later():
        with TestEnvironment() as env:
            run = env.trigger(user_onboarding, {"email": "ada@example.com"})
            assert run.status == "COMPLETED"            # a day's and a week's waits: milliseconds
            assert env.now - env.started >= timedelta(days=8)
            assert [c.task_identifier for c in env.children(run.id)] == ["send-welcome-email", ...]

    def test_an_editor_rejects_the_post():
        with TestEnvironment() as env:
            run = env.trigger(publish_post, {"topic": "ray"})
            assert run.status == "WAITING"
            env.complete_token(env.tokens()[0].id, {"approved": False, "feedback": "shorter"})
            assert env.retrieve(run.id).output == {"status": "revise", "feedback": "shorter"}

Runs execute in this process, one at a time, on a SQLite file in a temporary folder; no Ray, no
gateway. Whenever nothing can run, the clock jumps to the next deadline the code set itself (a
wait, a delay, a retry's back-off), so waits of days take no time; a token's timeout and a
schedule's next instant are reached only when the test moves the clock (`advance`), so the test
can complete the token first, and schedules fire as often as the time the test lets pass. `trigger` returns once the
environment is idle: every run finished or waiting for a token. Every wait checkpoints (none
sleeps), exactly as a long wait does in production.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import func, select

from tether import _wire
from tether.config import ProjectConfig
from tether.models import Run
from tether.schedules import Schedule, ScheduleRequest
from tether.tasks import Task, _request, registered_tasks
from tether.tokens import TokenInfo

MAX_STEPS = 10_000  # dispatches and clock jumps in one `run_until_idle`: a runaway loop fails the test


class TestEnvironment:
    """An embedded engine for tests; use it as a context manager."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, config: ProjectConfig | None = None) -> None:
        self.config = (config or ProjectConfig()).model_copy(update={"checkpoint_waits_over": 0.0})
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    # -- setting up -------------------------------------------------------------------------------

    def __enter__(self) -> TestEnvironment:
        from tether.actors.capture import RunSink
        from tether.actors.execution import AttemptRunner
        from tether.runtime import environments
        from tether.runtime.catalog import register_version
        from tether.runtime.discovery import Discovered
        from tether.runtime.engine import Engine
        from tether.runtime.store.database import Store

        self._folder = tempfile.TemporaryDirectory(prefix="tether-test-")
        self.store = Store(f"sqlite:///{Path(self._folder.name) / 'tether.db'}")
        self.store.migrate()
        self.env = environments.ensure(self.store, "test")
        found = Discovered(str(self.config.root), (), uuid.uuid4().hex[:16], registered_tasks())
        self.version = register_version(self.store, self.env.id, found, self.config, dev=False)
        self.engine = Engine(self.store, public_url="http://tether.test")
        specs = self.engine.catalog.current(self.env.id).tasks  # type: ignore[union-attr]
        self._runner = AttemptRunner(self.engine, self.env, self.config, specs, RunSink(), lease=3600.0)
        self.started = _wire.utcnow()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        _wire._clock_offset = timedelta(0)
        self._runner.close()
        self.store.dispose()
        if self._folder is not None:
            self._folder.cleanup()

    # -- the clock --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return _wire.utcnow()

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        """Move the clock forward, then run whatever became due.

        Time passes through every cron instant on the way, so `advance(days=3)` fires a daily
        schedule three times (in production, instants missed while the system is down fire once).
        """
        target = _wire.utcnow() + timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        for _ in range(MAX_STEPS):
            instant = self._next_schedule_instant()
            if instant is None or instant > target:
                break
            self._move_clock_to(instant)
            self.run_until_idle()
        else:
            raise RuntimeError(f"more than {MAX_STEPS} schedule instants in this advance: advance by less time at once")
        self._move_clock_to(target)
        self.run_until_idle()

    def _move_clock_to(self, moment: datetime) -> None:
        now = _wire.utcnow()
        if moment > now:
            _wire._clock_offset += moment - now

    def _next_schedule_instant(self) -> datetime | None:
        from tether.runtime import schedules

        with self.store.read() as conn:
            return _wire.as_utc(schedules.next_deadline(conn))

    def _next_deadline(self) -> datetime | None:
        from tether.runtime import runs, waits

        r = runs.runs_table.c
        with self.store.read() as conn:
            moments = [
                waits.next_deadline(conn, tokens=False),  # a token's timeout is reached with advance()
                conn.execute(select(func.min(r.delay_until)).where(r.status == "DELAYED")).scalar(),
                conn.execute(select(func.min(r.available_at)).where(r.status == "QUEUED")).scalar(),
            ]
        due = [_wire.as_utc(m) for m in moments if m is not None]
        return min(due) if due else None

    # -- running ----------------------------------------------------------------------------------

    def trigger(self, task: Task[Any, Any] | str, payload: Any = None, **options: Any) -> Run[Any]:
        """Trigger a run and everything it leads to, until the environment is idle; the run as it is then."""
        task_id = task if isinstance(task, str) else task.id
        local = registered_tasks().get(task_id)
        request = _request(payload, options, local.payload_type if local else None)
        run_id = self.engine.trigger(self.env, task_id, request)["id"]
        self.run_until_idle()
        return self.retrieve(run_id)

    def run_until_idle(self) -> None:
        """Run what can run; when nothing can, jump the clock to the next deadline; stop when none is left."""
        from tether.runtime import lifecycle, schedules, waits

        for _ in range(MAX_STEPS):
            now = _wire.utcnow()
            with self.store.write() as conn:
                lifecycle.promote_delayed(conn, now)
                lifecycle.expire(conn, now)
                waits.complete_due(conn, now)
                schedules.fire_due(conn, now, self._task_spec, limit=MAX_STEPS)
            run_id = self._next_runnable(now)
            if run_id is not None:
                token = uuid.uuid4().hex
                with self.store.write() as conn:
                    lifecycle.dequeue(conn, [run_id], token=token, version=self.version, lease=3600.0)
                self._runner.run(run_id, token)
                continue
            deadline = self._next_deadline()
            if deadline is None:
                return
            if deadline > now:
                _wire._clock_offset += deadline - now
        raise RuntimeError(f"the runs did not settle in {MAX_STEPS} steps: is a task waiting in a loop?")

    def _next_runnable(self, now: datetime) -> str | None:
        from tether.runtime import runs

        r = runs.runs_table.c
        with self.store.read() as conn:
            query = select(r.id).where(r.status == "QUEUED", r.available_at <= now).order_by(r.dequeue_rank, r.id).limit(1)
            return conn.execute(query).scalar()

    def _task_spec(self, environment_id: str, task_id: str) -> Any:
        version = self.engine.catalog.current(environment_id)
        return version.tasks.get(task_id) if version else None

    # -- schedules ------------------------------------------------------------------------------

    def create_schedule(self, task: Task[Any, Any] | str, cron: str, **options: Any) -> Schedule:
        """Attach a schedule as `schedules.create` does (options: timezone, external_id, deduplication_key)."""
        request = ScheduleRequest(task=task if isinstance(task, str) else task.id, cron=cron, **options)
        return Schedule.model_validate(self.engine.create_schedule(self.env, request))

    def schedules(self) -> list[Schedule]:
        """Every schedule of the environment, the declared ones included, oldest first."""
        return [Schedule.model_validate(s) for s in self.engine.list_schedules(self.env, per_page=100)["data"]]

    # -- looking ----------------------------------------------------------------------------------

    def retrieve(self, run_id: str) -> Run[Any]:
        return Run.model_validate(self.engine.retrieve_run(self.env, run_id))

    def children(self, run_id: str) -> list[Run[Any]]:
        """The runs `run_id` triggered, oldest first."""
        from tether.runtime import runs

        r = runs.runs_table.c
        with self.store.read() as conn:
            ids = list(conn.execute(select(r.id).where(r.parent_run_id == run_id).order_by(r.id)).scalars())
        return [self.retrieve(i) for i in ids]

    def journal(self, run_id: str) -> list[dict[str, Any]]:
        """The run's durable calls in slot order: kind, name and recorded output (and the branch of
        parallel code that made it; "" for the task's own code)."""
        from tether.runtime import journal

        with self.store.read() as conn:
            entries = journal.load(conn, run_id)
        return [
            {"branch": e.slot.branch, "slot": e.slot.index, "kind": e.kind, "name": e.name, "output": e.output}
            for _, e in sorted(entries.items())
        ]

    def tokens(self, status: str | None = "WAITING") -> list[TokenInfo]:
        """The wait tokens, newest first (by default those still waiting)."""
        return [TokenInfo.model_validate(t) for t in self.engine.list_tokens(self.env, status, 100)["data"]]

    def complete_token(self, token_id: str, data: Any = None) -> None:
        """Complete a token as an editor or a webhook would, then run what it releases."""
        self.engine.complete_token(self.env, token_id, data)
        self.run_until_idle()
