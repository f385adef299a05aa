"""Schedules over HTTP and the SDK, fired by the real Scheduler, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.conftest import eventually
from tether._wire import utcnow
from tether.runtime import cron
from tether.runtime import schedules as schedule_store
from tether.runtime.catalog import Catalog
from tether.runtime.store.database import Store
from tether.runtime.store.tables import RunRow

_s = schedule_store.schedules_table.c
_r = RunRow.__table__.c


@pytest.fixture
def store(stack: Any) -> Iterator[Store]:
    opened = Store(stack.settings.database_url)
    yield opened
    opened.dispose()


@pytest.fixture(autouse=True)
def no_schedules_left(stack: Any, store: Store) -> Iterator[None]:
    yield
    with store.write() as conn:
        conn.execute(schedule_store.schedules_table.delete().where(_s.type == "IMPERATIVE"))


def make_due(store: Store, schedule_ids: list[str]) -> None:
    """Move the schedules' deadlines into the past, as if their instant had come while nobody looked."""
    with store.write() as conn:
        conn.execute(update(schedule_store.schedules_table).where(_s.id.in_(schedule_ids)).values(next_run_at=utcnow() - timedelta(seconds=1)))


def test_a_schedule_round_trips_through_every_route(http: Any) -> None:
    body = {"task": "tenant-sync", "cron": "0 9 * * MON-FRI", "timezone": "America/New_York", "externalId": "shop_1", "deduplicationKey": "sync-1"}
    created = http.post("/api/v1/schedules", json=body).json()
    assert created["id"].startswith("sched_") and created["type"] == "IMPERATIVE" and created["active"] is True
    assert created["generator"] == {"type": "CRON", "expression": "0 9 * * MON-FRI", "description": "At 09:00 AM, Monday through Friday"}
    assert (created["timezone"], created["externalId"], created["deduplicationKey"]) == ("America/New_York", "shop_1", "sync-1")
    next_run = datetime.fromisoformat(created["nextRun"].replace("Z", "+00:00"))
    assert next_run == cron.instants_after("0 9 * * MON-FRI", "America/New_York", utcnow(), 1)[0]
    assert created["environments"][0]["id"]

    again = http.post("/api/v1/schedules", json={**body, "cron": "0 10 * * *"}).json()
    assert again["id"] == created["id"] and again["generator"]["expression"] == "0 10 * * *"
    assert http.get(f"/api/v1/schedules/{created['id']}").json() == again

    updated = http.put(f"/api/v1/schedules/{created['id']}", json={"task": "tenant-sync", "cron": "*/5 * * * *"}).json()
    assert (updated["timezone"], updated["externalId"], updated["deduplicationKey"]) == ("UTC", None, "sync-1")
    off = http.post(f"/api/v1/schedules/{created['id']}/deactivate").json()
    assert off["active"] is False and "nextRun" not in off or off["nextRun"] is None
    on = http.post(f"/api/v1/schedules/{created['id']}/activate").json()
    assert on["active"] is True and on["nextRun"] is not None

    assert http.delete(f"/api/v1/schedules/{created['id']}").json() == {"id": created["id"]}
    assert http.get(f"/api/v1/schedules/{created['id']}").status_code == 404


def test_the_list_pages_and_filters_by_task_and_shows_the_declared_schedule(http: Any) -> None:
    for i in range(5):
        assert http.post("/api/v1/schedules", json={"task": "tenant-sync", "cron": "0 * * * *", "externalId": f"shop_{i}"}).status_code == 200
    page = http.get("/api/v1/schedules", params={"task": "tenant-sync", "perPage": 2, "page": 3}).json()
    assert page["pagination"] == {"currentPage": 3, "totalPages": 3, "count": 5}
    assert [s["externalId"] for s in page["data"]] == ["shop_4"]
    declared = http.get("/api/v1/schedules", params={"task": "leap-day-report"}).json()["data"]
    assert [(s["type"], s["generator"]["expression"], s["timezone"]) for s in declared] == [("DECLARATIVE", "0 3 29 2 *", "Europe/Berlin")]
    assert http.put(f"/api/v1/schedules/{declared[0]['id']}", json={"task": "leap-day-report", "cron": "0 * * * *"}).status_code == 409
    assert http.delete(f"/api/v1/schedules/{declared[0]['id']}").status_code == 409


def test_timezones_are_listed_with_and_without_utc(http: Any) -> None:
    names = http.get("/api/v1/timezones").json()["timezones"]
    assert names[0] == "UTC" and "Europe/Berlin" in names and "America/New_York" in names
    assert "UTC" not in http.get("/api/v1/timezones", params={"excludeUtc": "true"}).json()["timezones"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"task": "tenant-sync", "cron": "0 9 * *"}, "cron: '0 9 * *' has 4 fields"),
        ({"task": "tenant-sync", "cron": "0 9 * * TUESDAYS"}, "cron: the day-of-week field 'TUESDAYS'"),
        ({"task": "tenant-sync", "cron": "0 9 * * *", "timezone": "New York"}, "timezone: 'New York' is not an IANA timezone"),
        ({"task": "echo", "cron": "0 9 * * *"}, "task: 'echo' is not a scheduled task"),
        ({"task": "nope", "cron": "0 9 * * *"}, "task: 'nope' is not a task"),
        ({"cron": "0 9 * * *"}, "task: Field required"),
        ({"task": "tenant-sync", "cron": "0 9 * * *", "deduplicationKey": ""}, "deduplicationKey"),
    ],
)
def test_a_bad_schedule_is_a_422_naming_the_field_and_writes_nothing(http: Any, store: Store, body: dict[str, Any], message: str) -> None:
    response = http.post("/api/v1/schedules", json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(schedule_store.schedules_table).where(_s.type == "IMPERATIVE")).scalar() == 0


def test_the_scheduler_fires_a_due_schedule_through_the_queue_and_the_run_names_it(sdk: Any, store: Store) -> None:
    schedule = sdk.schedules.create(task="tenant-sync", cron="*/5 * * * *", timezone="Europe/Berlin", external_id="shop_9")
    make_due(store, [schedule.id])
    page = eventually(lambda: sdk.runs.list(schedule=schedule.id, status="COMPLETED").data, timeout=30)
    run = sdk.runs.retrieve(page[0].id)
    instant = cron.latest_at_or_before("*/5 * * * *", "Europe/Berlin", utcnow())
    assert run.output["timestamp"].startswith(instant.strftime("%Y-%m-%dT%H:%M")) and run.output["scheduleId"] == schedule.id
    assert run.output["externalId"] == "shop_9" and run.output["timezone"] == "Europe/Berlin" and len(run.output["upcoming"]) == 5
    assert run.schedule is not None and run.schedule.id == schedule.id and run.schedule.external_id == "shop_9"
    assert run.queue == "task/tenant-sync"
    after = sdk.schedules.retrieve(schedule.id)
    assert after.next_run == cron.instants_after("*/5 * * * *", "Europe/Berlin", instant, 1)[0]
    assert [r.id for r in sdk.runs.list(schedule=schedule.id).data] == [run.id]


def test_firers_racing_the_scheduler_make_exactly_one_run_per_schedule(stack: Any, sdk: Any, store: Store) -> None:
    made = [sdk.schedules.create(task="tenant-sync", cron="* * * * *", external_id=f"race_{i}").id for i in range(120)]
    catalog = Catalog(store)

    def spec(environment_id: str, task_id: str) -> Any:
        version = catalog.current(environment_id)
        return version.tasks.get(task_id) if version else None

    barrier = threading.Barrier(3)

    def fire() -> None:
        barrier.wait(timeout=10)
        now = utcnow()
        while True:
            with store.write() as conn:
                _, handled = schedule_store.fire_due(conn, now, spec, limit=10)
            if handled == 0:
                return

    racers = [threading.Thread(target=fire) for _ in range(3)]
    for racer in racers:
        racer.start()
    make_due(store, made)
    stack.scheduler.wake.remote(True)  # the Scheduler races too
    for racer in racers:
        racer.join(timeout=60)

    def fired() -> list[Any]:
        with store.read() as conn:
            return list(conn.execute(select(_r.schedule_id, _r.schedule_instant).where(_r.schedule_id.in_(made))))

    rows = eventually(lambda: (lambda got: got if len(got) >= len(made) else None)(fired()), timeout=30)
    assert sorted(r.schedule_id for r in rows) == sorted(made)  # each once
    assert len({r.schedule_instant.replace(tzinfo=UTC) if r.schedule_instant.tzinfo is None else r.schedule_instant for r in rows}) == 1
    eventually(lambda: all(r.status == "COMPLETED" for r in sdk.runs.iterate(task_identifier="tenant-sync")), timeout=60)
