"""Tasks that wait: short waits sleep in the process, long ones checkpoint the run."""

from __future__ import annotations

from datetime import datetime

from tether import current_run, parallel, queue, step, task, wait

from tasks.records import record

one_at_a_time = queue("one-at-a-time", concurrency_limit=1)


def _attempt() -> int:
    ctx = current_run()
    return ctx.attempt if ctx else 1


def _noted(path: str, name: str) -> str:
    record(path, step=name)
    return name


@task(id="wait-then-finish")
def wait_then_finish(payload: dict) -> dict:
    path = payload["record"]
    record(path, event="body")  # outside any step: runs again on every execution
    before = step.run("before", _noted, path, "before")
    wait.for_(seconds=payload["seconds"])
    record(path, event="after-wait")
    return {"before": before, "attempt": _attempt()}


@task(id="wait-then-finish-async")
async def wait_then_finish_async(payload: dict) -> dict:
    path = payload["record"]
    record(path, event="body")
    before = await step.run_async("before", _noted, path, "before")
    await wait.for_async(seconds=payload["seconds"])
    return {"before": before, "attempt": _attempt()}


@task(id="wait-in-a-single-lane", queue=one_at_a_time)
def wait_in_a_single_lane(payload: dict) -> str:
    wait.for_(seconds=payload["seconds"])
    return "waited"


@task(id="quick-in-a-single-lane", queue=one_at_a_time)
def quick_in_a_single_lane(payload: dict) -> str:
    return "quick"


@task(id="wait-until")
def wait_until(payload: dict) -> str:
    wait.until(datetime.fromisoformat(payload["when"]), throw_if_in_the_past=payload.get("strict", False))
    return "reached"


@task(id="onboarding")
def onboarding(payload: dict) -> dict:
    """The brief's onboarding flow with seconds for days: welcome (and wait for it), wait, tips, wait until a date, offer."""
    from datetime import UTC, timedelta

    from tasks.basic import echo

    path = payload["record"]
    welcome = echo.trigger_and_wait({"welcome": payload["email"]}).unwrap()
    wait.for_(seconds=payload["seconds"])
    tips = step.run("tips", _noted, path, "tips")
    offer_at = step.run("offer-at", lambda: (datetime.now(UTC) + timedelta(seconds=payload["seconds"])).isoformat())
    wait.until(datetime.fromisoformat(offer_at))
    offer = step.run("offer", _noted, path, "offer")
    return {"welcome": welcome, "tips": tips, "offer": offer, "offer_at": offer_at}


@task(id="parallel-waits")
async def parallel_waits(payload: dict) -> dict:
    """Two children and a wait at once; the run resumes when all three are done."""
    import asyncio

    from tasks.basic import echo

    a, b, _ = await asyncio.gather(
        echo.trigger_and_wait_async({"a": 1}), echo.trigger_and_wait_async({"b": 2}), wait.for_async(seconds=payload["seconds"])
    )
    return {"a": a.unwrap(), "b": b.unwrap()}


def _branch_of_steps_and_waits(path: str, name: str, seconds: float) -> str:
    step.run(f"{name}-1", _noted, path, f"{name}-1")
    wait.for_(seconds=seconds)
    return step.run(f"{name}-2", _noted, path, f"{name}-2")


@task(id="parallel-waits-sync")
def parallel_waits_sync(payload: dict) -> dict:
    """The sync twin of parallel-waits, with a branch that makes several durable calls."""
    from tasks.basic import echo

    path = payload["record"]
    record(path, event="body")
    a, b, steps = parallel(
        lambda: echo.trigger_and_wait({"a": 1}).unwrap(),
        lambda: echo.trigger_and_wait({"b": 2}).unwrap(),
        lambda: _branch_of_steps_and_waits(path, "s", payload["seconds"]),
    )
    return {"a": a, "b": b, "steps": steps}


async def _async_branch_of_steps_and_waits(path: str, name: str, seconds: float) -> str:
    await step.run_async(f"{name}-1", _noted, path, f"{name}-1")
    await wait.for_async(seconds=seconds)
    return await step.run_async(f"{name}-2", _noted, path, f"{name}-2")


@task(id="parallel-branches-async")
async def parallel_branches_async(payload: dict) -> list:
    """asyncio.gather of branches that each make a step, a checkpointing wait and another step."""
    import asyncio

    return list(await asyncio.gather(*(_async_branch_of_steps_and_waits(payload["record"], n, payload["seconds"]) for n in "xyz")))


def _hook(name: str):  # noqa: ANN202
    def hook(payload: dict, ctx: object, **rest: object) -> None:
        record(payload["record"], hook=name, **({"wait": rest["wait"]} if "wait" in rest else {}))

    return hook


@task(id="waits-with-hooks", on_start=_hook("on_start"), on_wait=_hook("on_wait"), on_resume=_hook("on_resume"))
def waits_with_hooks(payload: dict) -> str:
    wait.for_(seconds=2)
    return "done"
