"""Following a run over server-sent events: every change in order, resumable, ending when the run ends."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from conftest import eventually


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


def _raw_events(
    stack: Any, path: str, token: str | None = None, last_event_id: str | None = None, limit: int = 10_000, until: Any = None
) -> list[tuple[str, str, str]]:
    """(id, event, data) of an SSE route until the server ends it, `limit` events came, or `until(events)`."""
    headers = {"Authorization": f"Bearer {token or stack.settings.secret_key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    out: list[tuple[str, str, str]] = []
    event_id, event = "", "message"
    with httpx.stream("GET", f"{stack.url}{path}", headers=headers, timeout=httpx.Timeout(60.0)) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                out.append((event_id, event, line[5:].strip()))
                event = "message"
                if len(out) >= limit or (until is not None and until(out)):
                    break
    return out


def test_a_stream_is_read_live_and_whole_by_a_reader_who_comes_late(sdk: Any) -> None:
    handle = sdk.tasks.trigger("stream-words", {"count": 40, "pause": 0.02})
    live = list(sdk.streams.read(handle.id, "llm", timeout=60))
    assert "".join(live) == "".join(f"w{n} " for n in range(40))
    assert handle.wait(timeout=60).output == {"text": "".join(live)}
    assert list(sdk.streams.read(handle.id, "llm", timeout=30)) == live  # after the end: every chunk again
    assert list(sdk.streams.read(handle.id, "status", timeout=30)) == [{"done": True}]
    assert list(sdk.streams.read(handle.id, "nothing", timeout=30)) == []


def test_a_dropped_stream_resumes_from_its_last_event_id_with_nothing_lost_or_repeated(stack: Any, sdk: Any) -> None:
    handle = sdk.tasks.trigger("stream-words-async", {"count": 60, "pause": 0.02})
    first = _raw_events(stack, f"/realtime/v1/streams/{handle.id}/llm", limit=10)  # the client drops after 10
    rest = _raw_events(stack, f"/realtime/v1/streams/{handle.id}/llm", last_event_id=first[-1][0])
    chunks = [json.loads(data) for _, event, data in first + rest if event != "end"]
    assert chunks == [f"a{n} " for n in range(60)]
    ids = [int(i) for i, event, _ in first + rest if event != "end"]
    assert ids == sorted(set(ids))
    assert rest[-1][1] == "end"


def test_runs_with_a_tag_are_followed_new_ones_included_and_resumable(stack: Any, sdk: Any) -> None:
    import threading
    import uuid

    tag = f"user:{uuid.uuid4().hex[:8]}"
    first = sdk.tasks.trigger("echo", {"n": 1}, tags=[tag]).wait(timeout=60)
    seen: list[tuple[str, str, str]] = []
    reader = threading.Thread(target=lambda: seen.extend(_raw_events(stack, f"/realtime/v1/runs?tags={tag},other-tag", limit=2)))
    reader.start()
    time.sleep(1.0)  # connected and caught up before the next run exists
    later = sdk.tasks.trigger("sleep", {"seconds": 0.5}, tags=[tag])
    reader.join(timeout=60)
    bodies = [json.loads(data) for _, _, data in seen]
    assert [b["id"] for b in bodies] == [first.id, later.id]  # the catch-up, then the new run, live
    assert bodies[0]["status"] == "COMPLETED" and bodies[1]["status"] != "COMPLETED"
    later.wait(timeout=60)
    resumed = _raw_events(stack, f"/realtime/v1/runs?tags={tag}", last_event_id=seen[-1][0], limit=1)
    assert json.loads(resumed[0][2])["id"] == later.id and int(resumed[0][0]) > int(seen[-1][0])
    assert json.loads(resumed[0][2])["status"] == "COMPLETED"  # states in between coalesce into the newest


def test_a_batch_is_followed_until_every_run_in_it_ended(stack: Any, sdk: Any) -> None:
    batch = sdk.tasks.batch_trigger([{"task": "echo", "payload": {"n": n}} for n in range(3)])
    def finished(events: list[tuple[str, str, str]]) -> set[str]:
        return {json.loads(data)["id"] for _, _, data in events if json.loads(data)["status"] == "COMPLETED"}

    events = _raw_events(stack, f"/realtime/v1/batches/{batch.id}", until=lambda seen: len(finished(seen)) == 3)
    assert finished(events) == {run.id for run in batch.runs}
    # Dropped after the first event: resuming brings what changed since, and nothing before it.
    resumed = _raw_events(stack, f"/realtime/v1/batches/{batch.id}", last_event_id=events[0][0], until=lambda seen: len(finished(seen) | finished(events[:1])) == 3)
    assert all(int(event_id) > int(events[0][0]) for event_id, _, _ in resumed)
    assert finished(resumed) | finished(events[:1]) == {run.id for run in batch.runs}


def test_public_tokens_see_what_their_scopes_name_on_every_realtime_route(stack: Any, sdk: Any, http: Any) -> None:
    mine = http.post("/api/v1/tasks/stream-words/trigger", json={"payload": {"count": 3}}).json()
    other = sdk.tasks.trigger("echo", {"n": 2}, tags=["secret"]).wait(timeout=60)
    token = mine["publicAccessToken"]
    sdk.runs.retrieve(mine["id"])
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        def status(path: str, bearer: str | None = token, query: bool = False) -> int:
            if query:
                return browser.get(f"{path}?token={bearer}").status_code
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            with browser.stream("GET", path, headers=headers) as response:
                return response.status_code

        assert status(f"/api/v3/runs/{mine['id']}") == 200
        assert status(f"/realtime/v1/runs/{mine['id']}") == 200
        assert status(f"/realtime/v1/runs/{mine['id']}", query=True) == 200  # EventSource sends it in the URL
        assert status(f"/realtime/v1/streams/{mine['id']}/llm") == 200
        refused = {
            "another run": status(f"/api/v3/runs/{other.id}"),
            "another run's events": status(f"/realtime/v1/runs/{other.id}"),
            "another run's stream": status(f"/realtime/v1/streams/{other.id}/llm"),
            "a tag": status("/realtime/v1/runs?tags=secret"),
            "a batch": status("/realtime/v1/batches/batch_nope"),
            "listing runs": status("/api/v1/runs"),
        }
        assert refused == dict.fromkeys(refused, 403)
        assert status(f"/realtime/v1/runs/{mine['id']}", bearer=None) == 401
        assert status(f"/realtime/v1/runs/{mine['id']}", bearer="eyJ.bad.token") == 401


def test_a_trigger_token_triggers_its_task_once_and_reads_the_run_it_made(stack: Any, sdk: Any) -> None:
    token = sdk.auth.create_trigger_public_token("echo", expiration="5m")
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as browser:
        assert browser.post("/api/v1/tasks/sleep/trigger", json={"payload": {}}).status_code == 403  # another task
        bad = browser.post("/api/v1/tasks/echo/trigger", json={"payload": {}, "options": {"delay": "not a delay"}})
        assert bad.status_code == 422  # refused: the token is not used up
        for option in ({"idempotencyKey": "run_abc:3"}, {"queue": {"name": "default", "concurrencyLimit": 0}}, {"tags": ["user:42"]}):
            privileged = browser.post("/api/v1/tasks/echo/trigger", json={"payload": {}, "options": option})
            assert privileged.status_code == 403 and "cannot set" in privileged.json()["error"], privileged.text
        made = browser.post("/api/v1/tasks/echo/trigger", json={"payload": {"from": "browser"}})
        assert made.status_code == 200, made.text
        again = browser.post("/api/v1/tasks/echo/trigger", json={"payload": {}})
        assert again.status_code == 401 and "already used" in again.json()["error"]
        read = browser.get(f"/api/v3/runs/{made.json()['id']}", headers={"Authorization": f"Bearer {made.json()['publicAccessToken']}"})
        assert read.status_code == 200
    reusable = sdk.auth.create_trigger_public_token(["echo"], multiple_use=True)
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {reusable}"}, timeout=30) as browser:
        assert [browser.post("/api/v1/tasks/echo/trigger", json={"payload": {}}).status_code for _ in range(2)] == [200, 200]
    scoped = sdk.auth.create_public_token(scopes={"read": {"tags": ["secret"]}}, expiration="1m")
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {scoped}"}, timeout=30) as browser:
        with browser.stream("GET", "/realtime/v1/runs?tags=secret") as response:
            assert response.status_code == 200
    with pytest.raises(sdk.ValidationError, match="write cannot name 'runs'"):
        sdk.auth.create_public_token(scopes={"write": {"runs": True}})


@pytest.fixture
def second_gateway(stack: Any) -> Any:
    """Another gateway process's worth: its own app, engine, pool and hub, on the same database."""
    import threading

    import uvicorn

    from conftest import free_port
    from tether.api.app import create_app
    from tether.runtime.engine import Engine
    from tether.runtime.store.database import Store

    store = Store(stack.settings.database_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Engine(store)), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


def test_a_change_made_through_one_gateway_reaches_a_subscriber_on_another(stack: Any, sdk: Any, http: Any, second_gateway: str) -> None:
    import threading

    handle = sdk.tasks.trigger("wait-for-review", {}, metadata={"round": 1})
    waiting = eventually(lambda: (r := sdk.runs.retrieve(handle.id)).status == "WAITING" and r, timeout=60)
    seen: list[dict[str, Any]] = []

    def follow() -> None:
        headers = {"Authorization": f"Bearer {stack.settings.secret_key}"}
        with httpx.stream("GET", f"{second_gateway}/realtime/v1/runs/{handle.id}", headers=headers, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:]))
                    if seen[-1]["metadata"].get("round") == 2:
                        return

    reader = threading.Thread(target=follow)
    reader.start()
    eventually(lambda: seen, timeout=30)  # connected: it has the state as it was
    assert http.put(f"/api/v1/runs/{handle.id}/metadata", json={"operations": [{"type": "increment", "key": "round"}]}).status_code == 200
    reader.join(timeout=30)
    assert not reader.is_alive() and seen[-1]["metadata"]["round"] == 2
    sdk.wait.complete_token(waiting.metadata["token"], {"ok": True})
    assert handle.wait(timeout=60).status == "COMPLETED"


def test_subscribing_with_streams_yields_the_run_and_its_chunks_as_they_come(sdk: Any) -> None:
    from tether.runs import StreamChunk

    handle = sdk.tasks.trigger("stream-words", {"count": 20, "pause": 0.03})
    items = list(sdk.runs.subscribe(handle.id, streams=["llm", "status"], timeout=60))
    chunks = [i for i in items if isinstance(i, StreamChunk)]
    runs_seen = [i for i in items if not isinstance(i, StreamChunk)]
    assert "".join(c.chunk for c in chunks if c.stream == "llm") == "".join(f"w{n} " for n in range(20))
    assert [c.chunk for c in chunks if c.stream == "status"] == [{"done": True}]
    assert runs_seen[-1].status == "COMPLETED" and runs_seen[-1].output["text"].startswith("w0 w1")


async def test_the_async_subscription_with_streams_ends_with_the_run(sdk: Any) -> None:
    from tether.runs import StreamChunk

    handle = await sdk.tasks.atrigger("stream-words-async", {"count": 10})
    items = [item async for item in sdk.runs.asubscribe(handle.id, streams=["llm"], timeout=60)]
    assert "".join(i.chunk for i in items if isinstance(i, StreamChunk)) == "".join(f"a{n} " for n in range(10))
    assert [i for i in items if not isinstance(i, StreamChunk)][-1].status == "COMPLETED"


def test_a_token_of_another_environment_is_refused_on_every_read_and_realtime_route(stack: Any, sdk: Any) -> None:
    from tether.runtime import environments, public_tokens

    run = sdk.tasks.trigger("stream-words", {"count": 2}, tags=["shared-tag"]).wait(timeout=60)
    staging = environments.ensure(stack.store, "staging")
    scopes = [f"read:runs:{run.id}", "read:tags:shared-tag", f"read:batch:{run.batch_id or 'batch_x'}"]
    foreign = public_tokens.create(staging, scopes, "5m")
    import jwt

    from tether._wire import utcnow

    past = int(utcnow().timestamp()) - 120  # beyond the clock leeway
    expired = jwt.encode({"sub": stack.env.id, "pub": True, "scopes": scopes, "iat": past - 60, "exp": past}, stack.env.secret_key, algorithm="HS256")
    paths = [f"/api/v3/runs/{run.id}", f"/realtime/v1/runs/{run.id}", f"/realtime/v1/streams/{run.id}/llm", "/realtime/v1/runs?tags=shared-tag"]
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        def status(path: str, token: str | None) -> int:
            with browser.stream("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {}) as response:
                return response.status_code

        assert {p: status(p, foreign) for p in paths[:3]} == dict.fromkeys(paths[:3], 403)
        assert {p: status(p, expired) for p in paths} == dict.fromkeys(paths, 401)
        assert {p: status(p, None) for p in paths} == dict.fromkeys(paths, 401)
