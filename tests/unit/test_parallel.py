"""Waiting in parallel: `tether.parallel` in sync tasks, asyncio.gather and TaskGroup in async ones.

Each branch counts its own journal slots, so branches that make several durable calls each
replay correctly however they interleave; the run checkpoints once for everything its branches wait for.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tether import ValidationError, parallel, step, task, wait
from tether.testing import TestEnvironment

effects: Counter[str] = Counter()


def _effect(name: str) -> str:
    effects[name] += 1
    return name


@task(id="par-child")
def par_child(payload: dict) -> dict:
    return {"child": payload["n"]}


@task(id="par-sync-simple")
def par_sync_simple(payload: dict) -> list:
    effects["executions"] += 1
    a, b, _ = parallel(
        lambda: par_child.trigger_and_wait({"n": 1}).unwrap(),
        lambda: par_child.trigger_and_wait({"n": 2}).unwrap(),
        lambda: wait.for_(hours=2),
    )
    return [a, b]


def _branch(name: str) -> list[str]:
    first = step.run(f"{name}-1", _effect, f"{name}-1")
    if name == "a":
        wait.for_(days=1)
    else:
        par_child.trigger_and_wait({"n": 3}).unwrap()
    second = step.run(f"{name}-2", _effect, f"{name}-2")
    return [first, second]


@task(id="par-sync-branches")
def par_sync_branches(payload: dict) -> list:
    return parallel(lambda: _branch("a"), lambda: _branch("b"))


async def _async_branch(name: str, days: float) -> str:
    await step.run_async(f"{name}-1", _effect, f"{name}-1")
    await wait.for_async(days=days)
    await step.run_async(f"{name}-2", _effect, f"{name}-2")
    await wait.for_async(hours=1)
    return await step.run_async(f"{name}-3", _effect, f"{name}-3")


@task(id="par-async-gather")
async def par_async_gather(payload: dict) -> list:
    effects["executions"] += 1
    return list(await asyncio.gather(_async_branch("x", 1), _async_branch("y", 2)))


@task(id="par-async-taskgroup")
async def par_async_taskgroup(payload: dict) -> list:
    async with asyncio.TaskGroup() as group:
        first = group.create_task(_async_branch("p", 1))
        second = group.create_task(_async_branch("q", 3))
    return [first.result(), second.result()]


@task(id="par-failing-branch")
def par_failing_branch(payload: dict) -> None:
    def boom() -> None:
        raise KeyError("second branch")

    parallel(lambda: step.run("ok", _effect, "ok"), boom, lambda: wait.for_(hours=1))


@task(id="par-changing-branches")
def par_changing_branches(payload: dict) -> None:
    effects["changing"] += 1
    branches = [lambda: wait.for_(hours=1)] * (2 if effects["changing"] == 1 else 3)
    parallel(*branches)


@task(id="par-nested-in-step")
def par_nested_in_step(payload: dict) -> None:
    step.run("outer", lambda: step.run("inner", _effect, "inner"))


@pytest.fixture(autouse=True)
def fresh_effects() -> None:
    effects.clear()


def test_parallel_children_and_a_wait_checkpoint_once_and_return_in_order() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_sync_simple, {})
        assert run.status == "COMPLETED", run.error
        assert run.output == [{"child": 1}, {"child": 2}]
        assert effects["executions"] == 2  # one checkpoint for the two children and the wait together
        assert sorted(c.payload["n"] for c in env.children(run.id)) == [1, 2]


def test_sync_branches_with_several_durable_calls_each_replay_without_repeating_steps() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_sync_branches, {})
        assert run.status == "COMPLETED", run.error
        assert run.output == [["a-1", "a-2"], ["b-1", "b-2"]]
        assert effects == Counter({"a-1": 1, "a-2": 1, "b-1": 1, "b-2": 1})
        journal = env.journal(run.id)
        assert [(e["branch"], e["slot"], e["kind"]) for e in journal] == [
            ("", 0, "parallel"),
            ("0.0/", 0, "step"),
            ("0.0/", 1, "wait"),
            ("0.0/", 2, "step"),
            ("0.1/", 0, "step"),
            ("0.1/", 1, "trigger_and_wait"),
            ("0.1/", 2, "step"),
        ]
        assert len(env.children(run.id)) == 1


def test_asyncio_gather_of_branches_with_several_waits_each_replays_without_repeating_steps() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_async_gather, {})
        assert run.status == "COMPLETED", run.error
        assert run.output == ["x-3", "y-3"]
        assert all(effects[f"{b}-{n}"] == 1 for b in "xy" for n in (1, 2, 3)), effects
        assert {e["branch"] for e in env.journal(run.id)} == {"_async_branch#0/", "_async_branch#1/"}
        # the first checkpoint waited for both branches' first waits: x's day and y's two days
        assert effects["executions"] <= 4


def test_a_task_group_of_branches_completes_without_repeating_steps() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_async_taskgroup, {})
        assert run.status == "COMPLETED", run.error
        assert run.output == ["p-3", "q-3"]
        assert all(effects[f"{b}-{n}"] == 1 for b in "pq" for n in (1, 2, 3)), effects


def test_a_failing_branch_fails_the_run_with_its_error_after_the_others_end() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_failing_branch, {}, max_attempts=1)
        assert run.status == "FAILED"
        assert run.error.name == "KeyError" and "second branch" in run.error.message
        assert effects["ok"] == 1


def test_a_different_number_of_branches_on_resume_is_non_determinism() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_changing_branches, {}, max_attempts=3)
        assert run.status == "FAILED"
        assert run.error.name == "NonDeterminismError"
        assert "parallel '2 branches'" in run.error.message and "parallel '3 branches'" in run.error.message
        assert effects["changing"] == 2  # not retried: a retry would meet the same journal


def test_a_durable_call_inside_a_step_is_refused_with_what_to_do() -> None:
    with TestEnvironment() as env:
        run = env.trigger(par_nested_in_step, {}, max_attempts=1)
        assert run.status == "FAILED"
        assert run.error.name == "ValidationError"
        assert "step 'inner' was called inside step 'outer'" in run.error.message
        assert effects["inner"] == 0


def test_parallel_outside_a_run_calls_each_function_in_its_own_thread() -> None:
    import threading

    barrier = threading.Barrier(3, timeout=10)  # passes only if the three calls run at the same time
    assert parallel(lambda: barrier.wait() * 0 + 1, lambda: barrier.wait() * 0 + 2, lambda: barrier.wait() * 0 + 3) == [1, 2, 3]
    assert parallel() == []


def test_parallel_refuses_what_is_not_a_function() -> None:
    with pytest.raises(ValidationError, match="argument 1 is a int"):
        parallel(lambda: 1, 2)  # type: ignore[arg-type]
