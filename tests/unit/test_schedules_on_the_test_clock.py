"""Schedules on the test clock: declarative sync, deduplication, payloads, (de)activation, downtime,
DST, and exactly one run per instant when firing races or its transaction is lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tether import Retry, schedules
from tether import _wire
from tether.errors import ConflictError, NotFoundError, ValidationError
from tether.runtime import schedules as schedule_store
from tether.runtime.catalog import register_version
from tether.runtime.discovery import Discovered
from tether.runtime.store.tables import RunRow
from tether.schedules import ScheduledPayload, ScheduleRequest
from tether.tasks import Task, _registry, registered_tasks, task
from tether.testing import TestEnvironment

received: list[ScheduledPayload] = []


@schedules.task(id="sched-tenant-sync")
def tenant_sync(payload: ScheduledPayload) -> dict[str, Any]:
    received.append(payload)
    return {"externalId": payload.external_id, "timestamp": payload.timestamp.isoformat()}


@schedules.task(id="sched-flaky", retry=Retry(max_attempts=2, min_timeout=1, max_timeout=1, randomize=False))
def flaky(payload: ScheduledPayload) -> None:
    raise RuntimeError("the vendor is down")


@task(id="sched-plain")
def plain(payload: dict) -> None:
    pass


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    received.clear()
    yield
    _wire._clock_offset = timedelta(0)


@pytest.fixture
def declared() -> Iterator[dict[str, Task[Any, Any]]]:
    """Tasks with declared schedules, removed from the registry afterwards so no other test sees them."""
    made: dict[str, Task[Any, Any]] = {}

    def digest(payload: ScheduledPayload) -> str:
        received.append(payload)
        return payload.timestamp.isoformat()

    made["digest"] = schedules.task(id="sched-daily-digest", cron={"pattern": "0 9 * * *", "timezone": "America/New_York"})(digest)
    made["night"] = schedules.task(id="sched-night", cron="30 1 * * *")(digest)
    yield made
    for defined in made.values():
        _registry.pop(defined.id, None)


def clock_at(moment: str) -> None:
    """Set the virtual clock (before entering the environment) to a UTC moment."""
    _wire._clock_offset = datetime.fromisoformat(moment).replace(tzinfo=UTC) - datetime.now(UTC)


def resync(env: TestEnvironment, tasks: dict[str, Task[Any, Any]]) -> None:
    """What `tether dev` does on reload: register the code as it is now."""
    found = Discovered(str(env.config.root), (), f"v{len(tasks)}{sorted(tasks)}", {**_non_declared(), **tasks})
    register_version(env.store, env.env.id, found, env.config, dev=False)
    env.engine.catalog.invalidate()


def _non_declared() -> dict[str, Task[Any, Any]]:
    return {tid: t for tid, t in registered_tasks().items() if t.cron is None}


def runs_of(env: TestEnvironment, schedule_id: str) -> list[Any]:
    r = RunRow.__table__.c
    with env.store.read() as conn:
        return list(conn.execute(select(RunRow.__table__).where(r.schedule_id == schedule_id).order_by(r.schedule_instant)))


def test_a_declared_schedule_is_created_changed_and_removed_with_the_code(declared: dict[str, Task[Any, Any]]) -> None:
    clock_at("2026-06-01 12:00")
    with TestEnvironment() as env:
        first = {s.task: s for s in env.schedules()}
        assert first["sched-daily-digest"].type == "DECLARATIVE"
        assert first["sched-daily-digest"].timezone == "America/New_York"
        assert first["sched-daily-digest"].next_run == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 EDT

        changed = schedules.task(id="sched-daily-digest", cron={"pattern": "0 18 * * *", "timezone": "Europe/Berlin"})(declared["digest"].fn)
        resync(env, {"sched-daily-digest": changed, "sched-night": declared["night"]})
        second = {s.task: s for s in env.schedules()}
        assert second["sched-daily-digest"].id == first["sched-daily-digest"].id
        assert second["sched-daily-digest"].generator.expression == "0 18 * * *"
        assert second["sched-daily-digest"].next_run == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 18:00 CEST
        assert second["sched-night"].next_run == first["sched-night"].next_run  # unchanged code keeps its deadline

        resync(env, {"sched-night": declared["night"]})
        assert [s.task for s in env.schedules()] == ["sched-night"]
        env.advance(days=2)
        assert {p.schedule_id for p in received} == {second["sched-night"].id}  # the removed one fired nothing


def test_a_declared_schedule_cannot_be_updated_or_deleted_through_the_api(declared: dict[str, Task[Any, Any]]) -> None:
    with TestEnvironment() as env:
        schedule = next(s for s in env.schedules() if s.task == "sched-daily-digest")
        with pytest.raises(ConflictError, match="declared in code"):
            env.engine.update_schedule(env.env, schedule.id, ScheduleRequest(task="sched-daily-digest", cron="0 * * * *"))
        with pytest.raises(ConflictError, match="declared in code"):
            env.engine.delete_schedule(env.env, schedule.id)
        assert env.engine.set_schedule_active(env.env, schedule.id, False)["active"] is False


def test_the_same_deduplication_key_updates_one_schedule_instead_of_adding_another() -> None:
    with TestEnvironment() as env:
        first = env.create_schedule(tenant_sync, "0 * * * *", external_id="shop_1", deduplication_key="sync-shop_1")
        again = env.create_schedule(tenant_sync, "*/30 * * * *", timezone="Europe/Berlin", external_id="shop_1b", deduplication_key="sync-shop_1")
        other = env.create_schedule(tenant_sync, "0 * * * *", external_id="shop_2")
        assert again.id == first.id and other.id != first.id
        stored = {s.id: s for s in env.schedules() if s.type == "IMPERATIVE"}
        assert len(stored) == 2
        assert (stored[first.id].generator.expression, stored[first.id].timezone, stored[first.id].external_id) == (
            "*/30 * * * *", "Europe/Berlin", "shop_1b",
        )


def test_the_run_receives_its_instant_the_previous_one_and_the_next_five() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *", timezone="Asia/Tokyo", external_id="shop_7")
        env.advance(hours=2)
        assert [p.timestamp for p in received] == [datetime(2026, 6, 1, 11, tzinfo=UTC), datetime(2026, 6, 1, 12, tzinfo=UTC)]
        first, second = received
        assert first.last_timestamp is None and second.last_timestamp == first.timestamp
        assert second.schedule_id == schedule.id and second.external_id == "shop_7" and second.timezone == "Asia/Tokyo"
        assert second.type == "IMPERATIVE"
        assert second.upcoming == [datetime(2026, 6, 1, 13 + i, tzinfo=UTC) for i in range(5)]
        run = env.retrieve(runs_of(env, schedule.id)[-1].id)
        assert run.status == "COMPLETED" and run.output == {"externalId": "shop_7", "timestamp": "2026-06-01T12:00:00+00:00"}
        assert run.schedule is not None and run.schedule.id == schedule.id and run.schedule.external_id == "shop_7"
        assert run.schedule.generator == {"type": "CRON", "expression": "0 * * * *", "description": "Every hour"}
        listed = env.engine.list_runs(env.env, {"filter[schedule]": schedule.id})["data"]
        assert [r["id"] for r in listed] == [r.id for r in reversed(runs_of(env, schedule.id))]


def test_a_deactivated_schedule_fires_nothing_and_resumes_from_its_next_instant() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *")
        env.advance(hours=1)
        assert len(received) == 1
        off = env.engine.set_schedule_active(env.env, schedule.id, False)
        assert off["active"] is False and off["nextRun"] is None
        env.advance(hours=3)
        assert len(received) == 1
        on = env.engine.set_schedule_active(env.env, schedule.id, True)
        assert on["nextRun"] == "2026-06-01T15:00:00.000Z"  # the missed 12:00-14:00 are not made up
        env.advance(hours=1)
        assert [p.timestamp.hour for p in received] == [11, 15]


def test_after_downtime_only_the_most_recent_missed_instant_fires_once() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "*/15 * * * *")
        _wire._clock_offset += timedelta(hours=5, minutes=7)  # the system was down: no time passed for it
        env.run_until_idle()
        assert [p.timestamp for p in received] == [datetime(2026, 6, 1, 15, 15, tzinfo=UTC)]
        assert env.engine.retrieve_schedule(env.env, schedule.id)["nextRun"] == "2026-06-01T15:30:00.000Z"
        env.run_until_idle()
        assert len(received) == 1


def test_new_york_fall_back_fires_the_0130_run_twice_and_spring_forward_fires_at_0300() -> None:
    clock_at("2026-10-31 12:00")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "30 1 * * *", timezone="America/New_York")
        env.advance(days=2)
        assert [p.timestamp.strftime("%m-%d %H:%M") for p in received] == ["11-01 05:30", "11-01 06:30", "11-02 06:30"]
        assert len(runs_of(env, schedule.id)) == 3
    received.clear()
    clock_at("2026-03-07 00:00")
    with TestEnvironment() as env:
        env.create_schedule(tenant_sync, "30 2 * * *", timezone="America/New_York")
        env.advance(days=3)
        assert [p.timestamp.strftime("%m-%d %H:%M") for p in received] == ["03-07 07:30", "03-08 07:00", "03-09 06:30"]


def test_berlin_fall_back_fires_the_0230_run_twice() -> None:
    clock_at("2026-10-24 12:00")
    with TestEnvironment() as env:
        env.create_schedule(tenant_sync, "30 2 * * *", timezone="Europe/Berlin")
        env.advance(days=2)
        assert [p.timestamp.strftime("%m-%d %H:%M") for p in received] == ["10-25 00:30", "10-25 01:30", "10-26 01:30"]


def test_scheduled_runs_go_through_the_task_queue_and_are_retried() -> None:
    with TestEnvironment() as env:
        schedule = env.create_schedule(flaky, "0 * * * *")
        env.advance(hours=1)
        run = env.retrieve(runs_of(env, schedule.id)[0].id)
        assert run.status == "FAILED" and run.attempt_count == 2 and run.queue == "task/sched-flaky"


def test_racing_firers_make_one_run_per_schedule_and_instant() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        made = [env.create_schedule(tenant_sync, "0 * * * *", external_id=f"shop_{i}").id for i in range(40)]
        _wire._clock_offset += timedelta(hours=1)
        now = _wire.utcnow()
        barrier = threading.Barrier(4)

        def fire() -> None:
            barrier.wait(timeout=10)
            while True:
                with env.store.write() as conn:
                    _, handled = schedule_store.fire_due(conn, now, env._task_spec, limit=7)
                if handled == 0:
                    return

        racers = [threading.Thread(target=fire) for _ in range(4)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=30)
        assert all(len(runs_of(env, sid)) == 1 for sid in made)
        assert {r.schedule_instant.replace(tzinfo=UTC) for sid in made for r in runs_of(env, sid)} == {datetime(2026, 6, 1, 11, tzinfo=UTC)}


def test_a_firing_whose_transaction_is_lost_leaves_nothing_and_fires_again() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *")
        _wire._clock_offset += timedelta(hours=1)
        with pytest.raises(RuntimeError), env.store.write() as conn:
            made, _ = schedule_store.fire_due(conn, _wire.utcnow(), env._task_spec)
            assert len(made) == 1
            raise RuntimeError("the process died before the commit")
        assert runs_of(env, schedule.id) == []
        assert env.engine.retrieve_schedule(env.env, schedule.id)["nextRun"] == "2026-06-01T11:00:00.000Z"
        env.run_until_idle()
        assert len(runs_of(env, schedule.id)) == 1 and len(received) == 1


def test_an_instant_whose_task_is_gone_is_skipped_and_the_schedule_moves_on() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *")
        r = schedule_store.schedules_table.c
        with env.store.write() as conn:
            conn.execute(update(schedule_store.schedules_table).where(r.id == schedule.id).values(task_identifier="sched-renamed"))
        env.advance(hours=1)
        assert runs_of(env, schedule.id) == []
        assert env.engine.retrieve_schedule(env.env, schedule.id)["nextRun"] == "2026-06-01T12:00:00.000Z"


def test_bad_requests_name_the_field_and_write_nothing() -> None:
    with TestEnvironment() as env:
        cases = [
            (ScheduleRequest(task="sched-plain", cron="0 * * * *"), "task: 'sched-plain' is not a scheduled task"),
            (ScheduleRequest(task="no-such-task", cron="0 * * * *"), "task: 'no-such-task' is not a task"),
            (ScheduleRequest(task="sched-tenant-sync", cron="0 25 * * *"), "cron: the hour field '25'"),
            (ScheduleRequest(task="sched-tenant-sync", cron="0 * * * *", timezone="Europe/Atlantis"), "timezone: 'Europe/Atlantis'"),
        ]
        for request, message in cases:
            with pytest.raises(ValidationError, match=message):
                env.engine.create_schedule(env.env, request)
        with pytest.raises(ValidationError, match="perPage"):
            env.engine.list_schedules(env.env, per_page=0)
        with pytest.raises(NotFoundError):
            env.engine.retrieve_schedule(env.env, "sched_missing")
        with env.store.read() as conn:
            table = schedule_store.schedules_table
            assert conn.execute(select(func.count()).select_from(table).where(table.c.type == "IMPERATIVE")).scalar() == 0


def test_updating_an_imperative_schedule_replaces_it_and_starts_from_the_new_rule() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *", external_id="shop_1", deduplication_key="k")
        body = env.engine.update_schedule(env.env, schedule.id, ScheduleRequest(task="sched-tenant-sync", cron="0 9 * * *", timezone="Europe/Berlin"))
        assert body["generator"]["expression"] == "0 9 * * *" and body["externalId"] is None and body["deduplicationKey"] == "k"
        assert body["nextRun"] == "2026-06-02T07:00:00.000Z"
        env.engine.delete_schedule(env.env, schedule.id)
        assert [s for s in env.schedules() if s.type == "IMPERATIVE"] == []


def test_a_deadline_behind_the_last_fired_instant_fires_nothing_twice_and_an_inactive_row_never_fires() -> None:
    clock_at("2026-06-01 10:10")
    with TestEnvironment() as env:
        schedule = env.create_schedule(tenant_sync, "0 * * * *")
        env.advance(hours=1)
        table = schedule_store.schedules_table
        with env.store.write() as conn:  # a deadline set from a clock running behind: the fired instant again
            conn.execute(update(table).where(table.c.id == schedule.id).values(next_run_at=datetime(2026, 6, 1, 11, tzinfo=UTC)))
        env.run_until_idle()
        assert len(runs_of(env, schedule.id)) == 1
        assert env.engine.retrieve_schedule(env.env, schedule.id)["nextRun"] == "2026-06-01T12:00:00.000Z"
        env.engine.set_schedule_active(env.env, schedule.id, False)
        with env.store.write() as conn:  # a deadline left on an inactive row by a racing update
            conn.execute(update(table).where(table.c.id == schedule.id).values(next_run_at=datetime(2026, 6, 1, 12, tzinfo=UTC)))
        env.advance(hours=3)
        assert len(runs_of(env, schedule.id)) == 1


def test_updating_an_unknown_schedule_is_a_404_before_its_body_is_judged() -> None:
    with TestEnvironment() as env:
        with pytest.raises(NotFoundError):
            env.engine.update_schedule(env.env, "sched_missing", ScheduleRequest(task="sched-plain", cron="bad"))
