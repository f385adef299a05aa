"""The product brief's two long-running flows: onboarding (waits of days) and publish-post (an editor's approval).

Try them with `make dev`, then:

    tether trigger user-onboarding --payload '{"email": "ada@example.com", "name": "Ada", "days": 0.0001}'
    tether trigger publish-post --payload '{"topic": "durable waits"}'
    # the run logs the token's callback URL; approve with:
    curl -X POST <url> -H 'content-type: application/json' -d '{"approved": true}'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from tether import logger, step, task, wait

from tasks.emails import WelcomeEmail, send_welcome_email


class Onboarding(BaseModel):
    email: str
    name: str
    days: float = 1.0  # the brief waits a day, then a week; shrink it to watch the flow end to end


@task(id="send-tips-email")
def send_tips_email(payload: dict) -> dict:
    logger.info("sending tips to %s", payload["email"])
    return {"sent": "tips", "to": payload["email"]}


@task(id="send-upgrade-offer")
def send_upgrade_offer(payload: dict) -> dict:
    logger.info("offering an upgrade to %s", payload["email"])
    return {"sent": "upgrade-offer", "to": payload["email"]}


@task(id="user-onboarding")
def user_onboarding(payload: Onboarding) -> dict:
    welcome = send_welcome_email.trigger_and_wait(WelcomeEmail(email=payload.email, name=payload.name)).unwrap()
    wait.for_(days=payload.days)  # checkpointed: the run holds no process while it waits
    send_tips_email.trigger({"email": payload.email})
    # The moment is fixed once, in a step, so every re-execution waits for the same one.
    offer_at = step.run("offer-date", lambda: (datetime.now(UTC) + timedelta(days=7 * payload.days)).isoformat())
    wait.until(datetime.fromisoformat(offer_at))
    send_upgrade_offer.trigger({"email": payload.email})
    return {"welcomeMessage": welcome["messageId"], "offeredAt": offer_at}


def _write_draft(topic: str) -> str:
    return f"# {topic.title()}\n\nA first draft about {topic}."


def _notify_editor(draft: str, url: str) -> None:
    # A stand-in for a Slack message or an email to the editor.
    logger.info("draft ready for review (%d characters); approve or reject by POSTing to %s", len(draft), url)


@task(id="publish-post")
def publish_post(payload: dict) -> dict:
    draft = step.run("draft", _write_draft, payload["topic"])
    token = wait.create_token(timeout=payload.get("timeout", "7d"), tags=[f"topic:{payload['topic']}"])
    step.run("notify-editor", _notify_editor, draft, token.url)
    review = wait.for_token(token)
    if not review.ok:
        return {"status": "no review in time"}
    if review.output.get("approved"):
        return {"status": "published", "post": draft}
    return {"status": "revise", "feedback": review.output.get("feedback")}
