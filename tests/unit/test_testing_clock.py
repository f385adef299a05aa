"""tether.testing: tasks with waits of days, tokens and children, tested in-process in milliseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tether import Retry, step, task, wait
from tether._wire import utcnow
from tether.testing import TestEnvironment

sent: list[str] = []


@task(id="clock-welcome")
def clock_welcome(payload: dict) -> dict:
    sent.append(f"welcome:{payload['email']}")
    return {"messageId": "msg_1"}


@task(id="clock-tips")
def clock_tips(payload: dict) -> None:
    sent.append(f"tips:{payload['email']}")


@task(id="clock-onboarding")
def clock_onboarding(payload: dict) -> dict:
    welcome = clock_welcome.trigger_and_wait({"email": payload["email"]}).unwrap()
    wait.for_(days=1)
    clock_tips.trigger({"email": payload["email"]})
    offer_at = step.run("offer-at", lambda: (utcnow() + timedelta(days=7)).isoformat())
    wait.until(datetime.fromisoformat(offer_at))
    return {"welcome": welcome["messageId"], "offer_at": offer_at}


@task(id="clock-publish")
def clock_publish(payload: dict) -> dict:
    token = wait.create_token(timeout="7d")
    review = wait.for_token(token)
    if not review.ok:
        return {"status": "no review"}
    return {"status": "published" if review.output["approved"] else "revise"}


@task(id="clock-flaky", retry=Retry(max_attempts=3, min_timeout=600, max_timeout=600, randomize=False))
def clock_flaky(payload: dict) -> int:
    from tether import current_run

    ctx = current_run()
    if ctx and ctx.attempt < 3:
        raise RuntimeError("not yet")
    return ctx.attempt if ctx else 0


def test_the_onboarding_flow_with_a_day_and_a_week_of_waiting_runs_in_well_under_a_second() -> None:
    sent.clear()
    started = time.perf_counter()
    with TestEnvironment() as env:
        run = env.trigger(clock_onboarding, {"email": "ada@example.com"})
        assert run.status == "COMPLETED" and run.output["welcome"] == "msg_1"
        assert env.now - env.started >= timedelta(days=8)
        assert [c.task_identifier for c in env.children(run.id)] == ["clock-welcome", "clock-tips"]
        assert [(e["kind"], e["name"]) for e in env.journal(run.id)] == [
            ("trigger_and_wait", "clock-welcome"),
            ("wait", "for"),
            ("trigger", "clock-tips"),  # a trigger is journalled too: the resumed run does not repeat it
            ("step", "offer-at"),
            ("wait", "until"),
        ]
    assert sent == ["welcome:ada@example.com", "tips:ada@example.com"]
    assert time.perf_counter() - started < 1.0
    assert abs((utcnow() - datetime.now(UTC)).total_seconds()) < 1  # the clock is back to real time


def test_a_token_completed_by_the_test_resumes_the_run() -> None:
    with TestEnvironment() as env:
        run = env.trigger(clock_publish, {})
        assert run.status == "WAITING"
        (token,) = env.tokens()
        env.complete_token(token.id, {"approved": False})
        assert env.retrieve(run.id).output == {"status": "revise"}


def test_a_token_nobody_completes_times_out_when_the_clock_gets_there() -> None:
    with TestEnvironment() as env:
        run = env.trigger(clock_publish, {})
        assert run.status == "WAITING"
        env.advance(days=7, seconds=1)
        assert env.retrieve(run.id).output == {"status": "no review"}


def test_retry_back_off_is_skipped_by_the_clock() -> None:
    with TestEnvironment() as env:
        run = env.trigger(clock_flaky, {})
        assert run.status == "COMPLETED" and run.output == 3 and run.attempt_count == 3
        assert env.now - env.started >= timedelta(seconds=1200)
