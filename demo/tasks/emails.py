"""The welcome email from the product brief: a typed payload, a queue, and a retry policy."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from tether import Retry, logger, queue, task

emails = queue("emails", concurrency_limit=50)


class WelcomeEmail(BaseModel):
    email: str
    name: str


@task(
    id="send-welcome-email",
    queue=emails,
    max_duration=300,
    retry=Retry(max_attempts=5, factor=1.8, min_timeout=0.5, max_timeout=30),
)
def send_welcome_email(payload: WelcomeEmail) -> dict:
    # A stand-in for an email provider: the message id is derived from the content.
    logger.info("sending welcome email to %s", payload.email)
    message_id = hashlib.sha256(f"{payload.email}:{payload.name}".encode()).hexdigest()[:16]
    return {"messageId": f"msg_{message_id}", "subject": f"Welcome, {payload.name}"}
