"""Refused requests: the right 4xx, a message that says what to fix, and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select


def _run_count(stack: Any) -> int:
    from tether.runtime.store.tables import RunRow

    with stack.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(RunRow.__table__)).scalar_one())


@pytest.fixture
def unchanged(stack: Any) -> Any:
    """Asserts, after the test, that no run was written."""
    before = _run_count(stack)
    yield
    assert _run_count(stack) == before, "a refused request wrote a run"


def test_an_unknown_task_is_404(http: Any, unchanged: None) -> None:
    response = http.post("/api/v1/tasks/no-such-task/trigger", json={"payload": {}})
    assert response.status_code == 404
    assert "no-such-task" in response.json()["error"]


def test_malformed_json_is_422(http: Any, unchanged: None) -> None:
    response = http.post("/api/v1/tasks/echo/trigger", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["error"] or "json" in response.json()["error"]


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        ({"delay": "-5s"}, "negative"),
        ({"delay": "soon"}, "duration"),
        ({"ttl": "forever"}, "duration"),
        ({"tags": [f"t{i}" for i in range(11)]}, "at most 10 tags"),
        ({"tags": ["x" * 129]}, "1-128 characters"),
        ({"tags": [""]}, "1-128 characters"),
        ({"idempotencyKey": "k" * 2049}, "2048"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"machine": "huge-9x"}, "machine"),
        ({"priority": -1}, "priority"),
    ],
)
def test_a_bad_option_is_422_naming_it(http: Any, unchanged: None, options: dict[str, Any], mentions: str) -> None:
    response = http.post("/api/v1/tasks/echo/trigger", json={"payload": 1, "options": options})
    assert response.status_code == 422, response.text
    assert mentions in response.json()["error"]


def test_a_payload_that_does_not_match_the_task_type_is_422_with_field_errors(http: Any, unchanged: None) -> None:
    response = http.post("/api/v1/tasks/greet/trigger", json={"payload": {"times": "often"}})
    assert response.status_code == 422
    body = response.json()
    assert "name" in body["error"] and "times" in body["error"]
    assert {tuple(d["loc"]) for d in body["details"]} == {("name",), ("times",)}


def test_the_sdk_checks_the_payload_before_sending(sdk: Any, unchanged: None) -> None:
    from tasks.basic import greet

    with pytest.raises(sdk.ValidationError, match="name"):
        greet.trigger({"times": 2})


def test_a_payload_over_3_mb_is_413(http: Any, unchanged: None) -> None:
    response = http.post("/api/v1/tasks/echo/trigger", json={"payload": "x" * (3 * 1024 * 1024 + 10)})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_a_missing_or_wrong_key_is_401(stack: Any, unchanged: None) -> None:
    missing = httpx.post(f"{stack.url}/api/v1/tasks/echo/trigger", json={"payload": 1})
    wrong = httpx.post(f"{stack.url}/api/v1/tasks/echo/trigger", json={"payload": 1}, headers={"Authorization": "Bearer tt_dev_nope"})
    assert missing.status_code == 401 and "Authorization" in missing.json()["error"]
    assert wrong.status_code == 401 and "invalid secret key" in wrong.json()["error"]


def test_another_environments_run_is_404(stack: Any, sdk: Any) -> None:
    from tether.runtime import environments

    other = environments.ensure(stack.store, "staging")
    run_id = sdk.tasks.trigger("echo", 1).id
    response = httpx.get(f"{stack.url}/api/v3/runs/{run_id}", headers={"Authorization": f"Bearer {other.secret_key}"})
    assert response.status_code == 404
    cancel = httpx.post(f"{stack.url}/api/v2/runs/{run_id}/cancel", headers={"Authorization": f"Bearer {other.secret_key}"})
    assert cancel.status_code == 404
    assert sdk.runs.retrieve(run_id).status != "CANCELED"


def test_a_batch_with_one_bad_item_writes_nothing(http: Any, unchanged: None) -> None:
    items = [{"task": "echo", "payload": i} for i in range(5)] + [{"task": "echo", "payload": 5, "options": {"delay": "nope"}}]
    response = http.post("/api/v2/tasks/batch", json={"items": items})
    assert response.status_code == 422
    assert "items.5" in response.json()["error"] or "item 5" in response.json()["error"]
    unknown = http.post("/api/v2/tasks/batch", json={"items": [{"task": "echo", "payload": 1}, {"task": "nope", "payload": 1}]})
    assert unknown.status_code == 404 and "item 1" in unknown.json()["error"]


def test_a_batch_over_1000_items_is_422(http: Any, unchanged: None) -> None:
    response = http.post("/api/v2/tasks/batch", json={"items": [{"task": "noop"}] * 1001})
    assert response.status_code == 422 and "1000" in response.json()["error"]


def test_an_unknown_run_is_404(http: Any) -> None:
    assert http.get("/api/v3/runs/run_doesnotexist").status_code == 404


def test_bad_list_filters_are_422(http: Any) -> None:
    assert http.get("/api/v1/runs", params={"filter[status]": "SLEEPING"}).status_code == 422
    assert http.get("/api/v1/runs", params={"page[size]": 500}).status_code == 422
    assert http.get("/api/v1/runs", params={"filter[createdAt][from]": "yesterday"}).status_code == 422
    assert http.get("/api/v1/runs", params={"filter[region]": "eu"}).status_code == 422


def test_refusals_tell_retrying_clients_not_to_retry(http: Any) -> None:
    response = http.post("/api/v1/tasks/no-such-task/trigger", json={"payload": {}})
    assert response.headers["x-should-retry"] == "false"
