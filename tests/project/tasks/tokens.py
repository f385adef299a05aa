"""The publish-post flow of the product brief: draft, ask an editor through a token, publish or revise."""

from __future__ import annotations

from tether import step, task, wait

from tasks.records import record


def _noted(path: str, name: str, value: object) -> object:
    record(path, step=name)
    return value


def _notify_editor(path: str, token_id: str, url: str, access: str | None = None) -> None:
    record(path, step="notify-editor", token=token_id, url=url, access=access)


@task(id="publish-post")
def publish_post(payload: dict) -> dict:
    path = payload["record"]
    draft = step.run("draft", _noted, path, "draft", f"a post about {payload['topic']}")
    token = wait.create_token(timeout=payload.get("timeout", "1h"), tags=[f"post:{payload['topic']}"])
    step.run("notify-editor", _notify_editor, path, token.id, token.url, token.public_access_token)
    review = wait.for_token(token)
    if not review.ok:
        return {"status": "timed-out", "error": review.error}
    if review.output.get("approved"):
        step.run("publish", _noted, path, "publish", True)
        return {"status": "published", "draft": draft}
    return {"status": "revise", "feedback": review.output.get("feedback")}


@task(id="wait-for-a-given-token")
async def wait_for_a_given_token(payload: dict) -> object:
    result = await wait.for_token_async(payload["token"])
    return result.unwrap()
