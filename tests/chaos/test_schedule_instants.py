"""The Scheduler dies while it fires a shared instant, before its transaction commits: the
restarted Scheduler fires it again, and each schedule still gets exactly one run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import ray
from sqlalchemy import select, update

from tests.conftest import eventually
from tether._wire import as_utc, utcnow
from tether.runtime import faults
from tether.runtime import schedules as schedule_store
from tether.runtime.store.database import Store
from tether.runtime.store.tables import RunRow

_s = schedule_store.schedules_table.c
_r = RunRow.__table__.c
SCHEDULES = schedule_store.FIRE_BATCH + 50  # the fault lands in the first batch; a second one follows


def test_a_scheduler_killed_mid_firing_leaves_one_run_per_schedule_and_instant(stack: Any, sdk: Any, tmp_path: Path) -> None:
    from tether.actors.boot import ensure_scheduler, stop_scheduler

    store = Store(stack.settings.database_url)
    marker = tmp_path / "fault-fired"
    made = [sdk.schedules.create(task="tenant-sync", cron="* * * * *", external_id=f"chaos_{i}").id for i in range(SCHEDULES)]
    try:
        stop_scheduler()
        settings = {**stack.settings.scheduler, "fault": f"{faults.SCHEDULE_FIRED}@{marker}"}
        stack.scheduler = ensure_scheduler(stack.settings.database_url, settings)
        before = ray.get(stack.scheduler.pid.remote(), timeout=30)
        with store.write() as conn:  # their instant has come
            conn.execute(update(schedule_store.schedules_table).where(_s.id.in_(made)).values(next_run_at=utcnow() - timedelta(seconds=1)))
        stack.scheduler.wake.remote(True)

        eventually(marker.exists, timeout=30)  # it died holding the first batch's runs, uncommitted
        assert eventually(lambda: _pid(stack.scheduler) not in (None, before), timeout=90)

        def fired() -> list[Any] | None:
            with store.read() as conn:
                rows = list(conn.execute(select(_r.schedule_id, _r.schedule_instant).where(_r.schedule_id.in_(made))))
            return rows if len(rows) >= SCHEDULES else None

        rows = eventually(fired, timeout=60)
        assert sorted(r.schedule_id for r in rows) == sorted(made)  # every schedule once, none twice
        instants = {as_utc(r.schedule_instant) for r in rows}
        assert len(instants) <= 2  # one shared instant (two only if the minute turned during the restart)
        with store.read() as conn:
            deadlines = {as_utc(d) for d in conn.execute(select(_s.next_run_at).where(_s.id.in_(made))).scalars()}
        assert all(d > max(instants) for d in deadlines)
        eventually(lambda: all(r.status == "COMPLETED" for r in sdk.runs.iterate(task_identifier="tenant-sync")), timeout=120)
    finally:
        with store.write() as conn:
            conn.execute(schedule_store.schedules_table.delete().where(_s.id.in_(made)))
        stop_scheduler()
        stack.scheduler = ensure_scheduler(stack.settings.database_url, stack.settings.scheduler)
        store.dispose()


def _pid(scheduler: Any) -> int | None:
    try:
        return int(ray.get(scheduler.pid.remote(), timeout=5))
    except Exception:  # restarting
        return None
