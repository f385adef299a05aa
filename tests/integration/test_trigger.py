"""Triggering and finishing runs through the SDK and over HTTP."""

from __future__ import annotations

from typing import Any


def test_a_triggered_run_completes_with_its_return_value_persisted(sdk: Any) -> None:
    from tasks.basic import echo

    handle = echo.trigger({"hello": "world"})
    assert handle.id.startswith("run_")
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED"
    assert run.output == {"hello": "world"}
    assert run.is_success and run.is_completed and not run.is_failed
    assert run.attempt_count == 1
    assert run.started_at is not None and run.finished_at is not None
    assert sdk.runs.retrieve(handle.id).output == {"hello": "world"}


def test_a_pydantic_payload_is_parsed_and_a_pydantic_output_is_stored_as_json(sdk: Any) -> None:
    from tasks.basic import Greeting, greet

    run = greet.trigger(Greeting(name="Ada", times=2)).wait(timeout=60)
    assert run.output == {"text": "hello Ada hello Ada"}


def test_async_task_bodies_run(sdk: Any) -> None:
    from tasks.basic import async_echo

    handle = async_echo.trigger({"n": 1})
    run = handle.wait(timeout=60)
    assert run.output == {"echo": {"n": 1}, "run": handle.id}


def test_trigger_by_id_without_importing_the_task(sdk: Any) -> None:
    handle = sdk.tasks.trigger("echo", [1, 2, 3], tags=["by-id"])
    run = handle.wait(timeout=60)
    assert run.output == [1, 2, 3]
    assert run.tags == ["by-id"]


async def test_async_twins_trigger_and_wait(sdk: Any) -> None:
    from tasks.basic import echo

    handle = await echo.atrigger({"async": True})
    run = await handle.await_(timeout=60)
    assert run.output == {"async": True}
    assert (await sdk.runs.aretrieve(handle.id)).status == "COMPLETED"


def test_trigger_over_http_returns_id_and_is_cached(http: Any) -> None:
    response = http.post("/api/v1/tasks/echo/trigger", json={"payload": {"via": "http"}, "options": {"tags": ["http"]}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("run_") and body["isCached"] is False


def test_a_non_json_return_value_fails_the_run_saying_so(sdk: Any) -> None:
    run = sdk.tasks.trigger("bad-output", {}).wait(timeout=60)
    assert run.status == "FAILED"
    assert "not JSON-serializable" in run.error.message
    assert run.attempt_count == 1


def test_a_run_started_inside_a_run_links_to_its_parent(sdk: Any) -> None:
    parent = sdk.tasks.trigger("parent", {}).wait(timeout=60)
    assert parent.status == "COMPLETED"
    children = parent.output["children"]
    for child_id in children:
        child = sdk.runs.retrieve(child_id)
        assert child.related_runs.parent is not None and child.related_runs.parent.id == parent.id
        assert child.depth == 1
    again = sdk.runs.retrieve(parent.id)
    assert sorted(c.id for c in again.related_runs.children) == sorted(children)


def test_batch_trigger_creates_one_run_per_item_with_its_own_options(sdk: Any) -> None:
    from tasks.basic import echo

    result = echo.batch_trigger([{"payload": {"i": i}, "options": {"tags": [f"item-{i}"]}} for i in range(5)])
    assert result.run_count == 5 and len(result.runs) == 5
    outputs = sorted(sdk.RunHandle(r.id, "echo").wait(timeout=60).output["i"] for r in result.runs)
    assert outputs == [0, 1, 2, 3, 4]
    tagged = sdk.runs.retrieve(result.runs[3].id)
    assert tagged.tags == ["item-3"] and tagged.batch_id == result.id


def test_batch_trigger_by_id_mixes_tasks(sdk: Any) -> None:
    result = sdk.tasks.batch_trigger([{"task": "echo", "payload": 1}, {"task": "noop", "payload": None}])
    assert [r.task_identifier for r in result.runs] == ["echo", "noop"]
