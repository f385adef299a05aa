"""Warm actors, fresh processes, machines and priorities."""

from __future__ import annotations

from typing import Any


def _outputs(sdk: Any, task_id: str, count: int) -> list[dict[str, Any]]:
    return [sdk.tasks.trigger(task_id, None).wait(timeout=60).output for _ in range(count)]


def _pids(sdk: Any, task_id: str, count: int) -> list[int]:
    return [output["pid"] for output in _outputs(sdk, task_id, count)]


def test_a_warm_actor_takes_the_next_run_of_the_same_task_version(sdk: Any) -> None:
    pids = _pids(sdk, "which-process", 4)
    assert len(set(pids[1:])) == 1, pids  # after the first, the same warm process every time


def test_max_runs_per_actor_of_one_gives_every_run_a_fresh_process_without_a_new_actor(stack: Any, sdk: Any) -> None:
    import ray

    before = ray.get(stack.scheduler.stats.remote(), timeout=30)["actors_started"]
    outputs = _outputs(sdk, "fresh-process", 4)
    assert len({o["pid"] for o in outputs}) == 4, outputs
    # Each fresh process is forked by a RunActor's zygote; replacing an actor each time would start 4.
    assert ray.get(stack.scheduler.stats.remote(), timeout=30)["actors_started"] - before < 4


def test_a_bigger_machine_gets_its_own_actor(sdk: Any) -> None:
    small = sdk.tasks.trigger("which-process", None).wait(timeout=60)
    big = sdk.tasks.trigger("which-process", None, machine="small-2x").wait(timeout=60)
    assert big.status == "COMPLETED" and big.machine == "small-2x"
    assert big.output["pid"] != small.output["pid"]


def test_priority_moves_a_run_ahead_in_its_queue(sdk: Any, records: Any) -> None:
    sdk.queues.override_concurrency_limit("limited", 1)
    sdk.queues.pause("limited")
    try:
        plain = [sdk.tasks.trigger("limited-sleep", {"record": records.path, "seconds": 0.01, "key": f"plain-{i}"}) for i in range(3)]
        urgent = sdk.tasks.trigger("limited-sleep", {"record": records.path, "seconds": 0.01, "key": "urgent"}, priority=3600)
        sdk.queues.resume("limited")
        for handle in [*plain, urgent]:
            handle.wait(timeout=60)
    finally:
        sdk.queues.resume("limited")
        sdk.queues.reset_concurrency_limit("limited")
    starts = [line["key"] for line in records.read() if line["event"] == "start"]
    assert starts == ["urgent", "plain-0", "plain-1", "plain-2"]


def test_metadata_set_at_trigger_is_on_the_run(sdk: Any) -> None:
    run = sdk.tasks.trigger("echo", 1, metadata={"stage": "queued", "progress": 0}).wait(timeout=60)
    assert run.metadata == {"stage": "queued", "progress": 0}
