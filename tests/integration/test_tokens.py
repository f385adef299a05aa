"""Wait tokens: a run paused for a human or a webhook, completed by id, over HTTP or by callback URL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import eventually


def _notified(records: Any) -> dict[str, Any]:
    return eventually(lambda: next((line for line in records.read() if line.get("step") == "notify-editor"), None), timeout=30)


def _steps(records: Any, name: str) -> int:
    return sum(1 for line in records.read() if line.get("step") == name)


def _waiting(sdk: Any, run_id: str) -> Any:
    return eventually(lambda: sdk.runs.retrieve(run_id).status == "WAITING", timeout=30)


def test_an_approved_post_is_published_and_nothing_before_the_wait_runs_twice(sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("publish-post", {"record": records.path, "topic": "ray"})
    note = _notified(records)
    _waiting(sdk, handle.id)
    assert sdk.wait.retrieve_token(note["token"]).status == "WAITING"
    assert sdk.wait.complete_token(note["token"], {"approved": True}) is True
    run = handle.wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"status": "published", "draft": "a post about ray"}
    assert (_steps(records, "draft"), _steps(records, "notify-editor"), _steps(records, "publish")) == (1, 1, 1)
    token = sdk.wait.retrieve_token(note["token"])
    assert token.status == "COMPLETED" and token.output == {"approved": True} and token.tags == ["post:ray"]


def test_a_rejected_post_gets_the_feedback_sent_over_http(sdk: Any, http: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("publish-post", {"record": records.path, "topic": "sse"})
    note = _notified(records)
    response = http.post(f"/api/v1/waitpoints/tokens/{note['token']}/complete", json={"data": {"approved": False, "feedback": "shorter"}})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert handle.wait(timeout=60).output == {"status": "revise", "feedback": "shorter"}


def test_the_callback_url_completes_the_token_with_the_raw_body_and_no_key(stack: Any, sdk: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("publish-post", {"record": records.path, "topic": "webhooks"})
    note = _notified(records)
    with httpx.Client(base_url=stack.url, timeout=30) as anonymous:
        assert anonymous.post(note["url"], json={"approved": True}).json() == {"success": True}
        again = anonymous.post(note["url"], json={"approved": False})
        assert again.status_code == 200 and again.json() == {"success": True, "alreadyCompleted": True}
        assert anonymous.post(note["url"] + "x", json={}).status_code == 404  # a wrong secret
    assert handle.wait(timeout=60).output["status"] == "published"


def test_the_public_access_token_completes_its_token_and_nothing_else(stack: Any, sdk: Any, http: Any, records: Any) -> None:
    handle = sdk.tasks.trigger("publish-post", {"record": records.path, "topic": "browsers"})
    note = _notified(records)
    other = sdk.wait.create_token()
    headers = {"Authorization": f"Bearer {note['access']}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=30) as editor:  # what a browser holds
        seen = editor.get(f"/api/v1/waitpoints/tokens/{note['token']}")
        assert seen.status_code == 200 and seen.json()["status"] == "WAITING", seen.text
        refused = {
            "another token": editor.post(f"/api/v1/waitpoints/tokens/{other.id}/complete", json={"data": 1}),
            "reading another token": editor.get(f"/api/v1/waitpoints/tokens/{other.id}"),
            "listing tokens": editor.get("/api/v1/waitpoints/tokens"),
            "creating a token": editor.post("/api/v1/waitpoints/tokens", json={}),
            "reading the run": editor.get(f"/api/v3/runs/{handle.id}"),
            "triggering": editor.post("/api/v1/tasks/echo/trigger", json={"payload": {}}),
        }
        assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
        assert f"does not grant write:waitpoints:{other.id}" in refused["another token"].json()["error"]
        done = editor.post(f"/api/v1/waitpoints/tokens/{note['token']}/complete", json={"data": {"approved": True}})
        assert done.status_code == 200, done.text
    assert handle.wait(timeout=60).output["status"] == "published"
    assert sdk.wait.retrieve_token(other.id).status == "WAITING"


def test_forged_expired_and_foreign_public_tokens_get_401(stack: Any, sdk: Any) -> None:
    import jwt

    from tether._wire import utcnow
    from tether.runtime import public_tokens

    token = sdk.wait.create_token()
    env = stack.env
    scope = [f"write:waitpoints:{token.id}"]
    forged = jwt.encode({"sub": env.id, "pub": True, "scopes": scope, "exp": int(utcnow().timestamp()) + 60}, "not-the-key-" * 4, algorithm="HS256")
    expired = jwt.encode({"sub": env.id, "pub": True, "scopes": scope, "exp": int(utcnow().timestamp()) - 120}, env.secret_key, algorithm="HS256")
    unknown = jwt.encode({"sub": "env_nope", "pub": True, "scopes": scope, "exp": int(utcnow().timestamp()) + 60}, "x" * 40, algorithm="HS256")
    no_scopes = public_tokens.create(env, [], "1m")
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        for name, bearer in {"forged": forged, "expired": expired, "unknown": unknown, "garbage": "eyJnope.x.y"}.items():
            response = client.post(f"/api/v1/waitpoints/tokens/{token.id}/complete", json={}, headers={"Authorization": f"Bearer {bearer}"})
            assert response.status_code == 401, (name, response.text)
        assert "expired" in client.get(f"/api/v1/waitpoints/tokens/{token.id}", headers={"Authorization": f"Bearer {expired}"}).text
        assert client.post(f"/api/v1/waitpoints/tokens/{token.id}/complete", json={}, headers={"Authorization": f"Bearer {no_scopes}"}).status_code == 403
        from tether.runtime import environments

        foreign = public_tokens.create(environments.ensure(stack.store, "staging"), scope, "1m")  # the right scope, another environment
        for method, path in (("POST", f"/api/v1/waitpoints/tokens/{token.id}/complete"), ("GET", f"/api/v1/waitpoints/tokens/{token.id}")):
            assert client.request(method, path, json={} if method == "POST" else None, headers={"Authorization": f"Bearer {foreign}"}).status_code == 403
    assert sdk.wait.retrieve_token(token.id).status == "WAITING"


def test_a_token_that_times_out_resumes_the_run_with_an_error(sdk: Any, records: Any) -> None:
    run = sdk.tasks.trigger("publish-post", {"record": records.path, "topic": "late", "timeout": "2s"}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output["status"] == "timed-out"
    assert "timed out" in run.output["error"]["message"]
    assert sdk.wait.retrieve_token(_notified(records)["token"]).status == "TIMED_OUT"


def test_a_token_completed_twice_keeps_the_first_value_and_says_so(sdk: Any, http: Any) -> None:
    token = sdk.wait.create_token()
    assert sdk.wait.complete_token(token, {"first": True})
    with pytest.raises(sdk.ConflictError, match="already COMPLETED"):
        sdk.wait.complete_token(token, {"second": True})
    assert http.post(f"/api/v1/waitpoints/tokens/{token.id}/complete", json={"data": 2}).status_code == 409
    assert sdk.wait.retrieve_token(token.id).output == {"first": True}


def test_a_run_waiting_for_a_token_completed_earlier_goes_straight_on(sdk: Any) -> None:
    token = sdk.wait.create_token()
    sdk.wait.complete_token(token.id, {"ready": 1})
    run = sdk.tasks.trigger("wait-for-a-given-token", {"token": token.id}).wait(timeout=60)
    assert run.status == "COMPLETED" and run.output == {"ready": 1}


def test_an_idempotency_key_gives_back_the_same_token(sdk: Any, http: Any) -> None:
    first = http.post("/api/v1/waitpoints/tokens", json={"idempotencyKey": "approve-post-7", "tags": "post:7"}).json()
    second = http.post("/api/v1/waitpoints/tokens", json={"idempotencyKey": "approve-post-7"}).json()
    assert first["id"] == second["id"] and first["isCached"] is False and second["isCached"] is True
    assert first["id"].startswith("waitpoint_") and "/callback/" in first["url"]
    listed = http.get("/api/v1/waitpoints/tokens", params={"status": "WAITING", "limit": 100}).json()["data"]
    assert first["id"] in [t["id"] for t in listed]


def test_bad_token_requests_get_a_4xx_that_says_what_to_fix(http: Any) -> None:
    bad = http.post("/api/v1/waitpoints/tokens", json={"timeout": "soon"})
    assert bad.status_code == 422 and "timeout" in bad.json()["error"]
    assert http.post("/api/v1/waitpoints/tokens", json={"tags": ["x" * 200]}).status_code == 422
    assert http.get("/api/v1/waitpoints/tokens/waitpoint_nope").status_code == 404
    assert http.post("/api/v1/waitpoints/tokens/waitpoint_nope/complete", json={"data": 1}).status_code == 404
    assert http.get("/api/v1/waitpoints/tokens", params={"limit": 0}).status_code == 422
