"""Idempotency keys: one run per key, task and environment within the TTL, even under concurrent triggers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def test_idempotency_key_returns_the_existing_run(sdk: Any) -> None:
    key = f"welcome-{uuid.uuid4().hex}"
    first = sdk.tasks.trigger("echo", {"n": 1}, idempotency_key=key)
    second = sdk.tasks.trigger("echo", {"n": 2}, idempotency_key=key)
    assert second.id == first.id
    assert first.is_cached is False and second.is_cached is True
    assert sdk.runs.retrieve(first.id).idempotency_key == key


def test_twenty_concurrent_identical_triggers_make_one_run(sdk: Any, http: Any) -> None:
    key = f"race-{uuid.uuid4().hex}"

    def fire(_: int) -> dict[str, Any]:
        response = http.post("/api/v1/tasks/echo/trigger", json={"payload": {"x": 1}, "options": {"idempotency_key": key}})
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        bodies = list(pool.map(fire, range(20)))
    assert len({b["id"] for b in bodies}) == 1
    assert sum(not b["isCached"] for b in bodies) == 1
    page = sdk.runs.list(task_identifier="echo", limit=100)
    assert sum(r.idempotency_key == key for r in page.data) == 1


def test_the_same_key_on_another_task_is_another_run(sdk: Any) -> None:
    key = f"shared-{uuid.uuid4().hex}"
    a = sdk.tasks.trigger("echo", 1, idempotency_key=key)
    b = sdk.tasks.trigger("noop", None, idempotency_key=key)
    assert a.id != b.id


def test_a_failed_run_releases_its_key(sdk: Any) -> None:
    key = f"retry-after-failure-{uuid.uuid4().hex}"
    first = sdk.tasks.trigger("aborts", {}, idempotency_key=key)
    assert first.wait(timeout=60).status == "FAILED"
    again = sdk.tasks.trigger("aborts", {}, idempotency_key=key)
    assert again.id != first.id and again.is_cached is False


def test_a_completed_run_keeps_its_key(sdk: Any) -> None:
    key = f"done-{uuid.uuid4().hex}"
    first = sdk.tasks.trigger("echo", 1, idempotency_key=key)
    first.wait(timeout=60)
    assert sdk.tasks.trigger("echo", 1, idempotency_key=key).id == first.id


def test_an_expired_key_makes_a_new_run(sdk: Any) -> None:
    import time

    key = f"short-{uuid.uuid4().hex}"
    first = sdk.tasks.trigger("echo", 1, idempotency_key=key, idempotency_key_ttl="1s")
    time.sleep(1.2)
    second = sdk.tasks.trigger("echo", 1, idempotency_key=key, idempotency_key_ttl="1s")
    assert second.id != first.id and not second.is_cached


def test_batch_items_with_the_same_key_make_one_run(sdk: Any) -> None:
    key = f"batch-{uuid.uuid4().hex}"
    result = sdk.tasks.batch_trigger(
        [{"task": "echo", "payload": i, "options": {"idempotency_key": key}} for i in range(3)]
    )
    assert len({r.id for r in result.runs}) == 1
    assert [r.is_cached for r in result.runs] == [False, True, True]
