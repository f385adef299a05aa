"""Following a run over server-sent events: every change in order, resumable, ending when the run ends."""

from __future__ import annotations

import json
from typing import Any

import httpx


def _events(stack: Any, run_id: str, last_event_id: str | None = None, limit: int = 50) -> list[tuple[str, dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {stack.settings.secret_key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    out: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    with httpx.stream("GET", f"{stack.url}/realtime/v1/runs/{run_id}", headers=headers, timeout=httpx.Timeout(30.0)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                out.append((event_id, json.loads(line[5:].strip())))
                if len(out) >= limit:
                    break
    return out


def test_subscribing_yields_the_run_until_it_finishes(sdk: Any) -> None:
    handle = sdk.tasks.trigger("sleep", {"seconds": 0.5})
    seen = list(sdk.runs.subscribe(handle.id, timeout=60))
    statuses = [run.status for run in seen]
    assert statuses[-1] == "COMPLETED"
    assert "EXECUTING" in statuses
    assert seen[-1].output == {"slept": 0.5}
    order = ["QUEUED", "DEQUEUED", "EXECUTING", "COMPLETED"]
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)


async def test_the_async_subscription_ends_with_the_run(sdk: Any) -> None:
    handle = await sdk.tasks.atrigger("echo", {"a": 1})
    statuses = [run.status async for run in sdk.runs.asubscribe(handle.id, timeout=60)]
    assert statuses[-1] == "COMPLETED"


def test_event_ids_increase_and_the_stream_ends_when_the_run_is_terminal(stack: Any, sdk: Any) -> None:
    handle = sdk.tasks.trigger("sleep", {"seconds": 0.3})
    events = _events(stack, handle.id)
    ids = [int(event_id) for event_id, _ in events]
    assert ids == sorted(set(ids))
    assert events[-1][1]["status"] == "COMPLETED"


def test_last_event_id_resumes_without_repeating(stack: Any, sdk: Any) -> None:
    handle = sdk.tasks.trigger("sleep", {"seconds": 0.5})
    first = _events(stack, handle.id, limit=1)  # the state when we connected, then we "drop"
    dropped_at = first[0][0]
    resumed = _events(stack, handle.id, last_event_id=dropped_at)
    assert resumed, "the reconnected stream must carry on to the end"
    assert all(int(event_id) > int(dropped_at) for event_id, _ in resumed)
    assert resumed[-1][1]["status"] == "COMPLETED"
    # Reconnecting after the last event of a finished run: nothing is repeated and the stream ends.
    assert _events(stack, handle.id, last_event_id=resumed[-1][0]) == []


def test_subscribing_to_an_unknown_run_is_404(stack: Any) -> None:
    response = httpx.get(f"{stack.url}/realtime/v1/runs/run_nope", headers={"Authorization": f"Bearer {stack.settings.secret_key}"})
    assert response.status_code == 404


def test_subscribers_see_metadata_progress_as_the_task_sets_it(sdk: Any) -> None:
    handle = sdk.tasks.trigger("report-progress", {"steps": 4, "pause": 0.4})
    seen = list(sdk.runs.subscribe(handle.id, timeout=60))
    progress = [run.metadata["progress"] for run in seen if run.metadata and "progress" in run.metadata]
    assert len(set(progress)) >= 3 and progress == sorted(progress)  # live, in order, not only at the end
    assert seen[-1].status == "COMPLETED" and seen[-1].metadata == {"stage": "done", "progress": 1.0}


def test_metadata_is_updated_over_http_and_a_waiting_run_resumes_with_it(sdk: Any, http: Any) -> None:
    handle = sdk.tasks.trigger("wait-for-review", {}, metadata={"editor": "ada"})
    from conftest import eventually

    waiting = eventually(lambda: (r := sdk.runs.retrieve(handle.id)).status == "WAITING" and r, timeout=60)
    token = waiting.metadata.pop("token")
    assert waiting.metadata == {"editor": "ada"}
    http.put(f"/api/v1/runs/{handle.id}/metadata", json={"operations": [{"type": "delete", "key": "token"}]})
    put = http.put(f"/api/v1/runs/{handle.id}/metadata", json={"operations": [{"type": "set", "key": "seen", "value": True}, {"type": "increment", "key": "views"}]})
    assert put.status_code == 200 and put.json() == {"metadata": {"editor": "ada", "seen": True, "views": 1}}
    assert sdk.runs.retrieve(handle.id).metadata == {"editor": "ada", "seen": True, "views": 1}
    bad = {
        "empty": http.put(f"/api/v1/runs/{handle.id}/metadata", json={}),
        "unknown op": http.put(f"/api/v1/runs/{handle.id}/metadata", json={"operations": [{"type": "upsert", "key": "a"}]}),
        "not a number": http.put(f"/api/v1/runs/{handle.id}/metadata", json={"operations": [{"type": "increment", "key": "editor"}]}),
        "too large": http.put(f"/api/v1/runs/{handle.id}/metadata", json={"metadata": {"x": "y" * 300_000}}),
    }
    assert {what: r.status_code for what, r in bad.items()} == dict.fromkeys(bad, 422), {w: r.text for w, r in bad.items()}
    assert "256 KB" in bad["too large"].json()["error"]
    assert http.put("/api/v1/runs/run_nope/metadata", json={"metadata": {}}).status_code == 404
    replaced = http.put(f"/api/v1/runs/{handle.id}/metadata", json={"metadata": {"round": 2}})
    assert replaced.json() == {"metadata": {"round": 2}}
    sdk.wait.complete_token(token, {"ok": True})
    run = handle.wait(timeout=60)
    assert run.output == {"review": {"ok": True}, "metadata": {"round": 2, "token": token}}  # it resumed with what was put
