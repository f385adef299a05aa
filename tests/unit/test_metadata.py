"""Run metadata: operations, the 256 KB limit, batching, and the parent/root forms, in-process."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tether import ValidationError, metadata, task
from tether.runtime import metadata as server
from tether.runtime.store.tables import RunEvent
from tether.testing import TestEnvironment


def test_operations_apply_in_order_and_leave_the_input_alone() -> None:
    before = {"log": ["a"], "n": 1}
    after = server.apply(
        before,
        [
            {"type": "set", "key": "stage", "value": "fetch"},
            {"type": "append", "key": "log", "value": "b"},
            {"type": "append", "key": "fresh", "value": 1},
            {"type": "remove", "key": "log", "value": "a"},
            {"type": "increment", "key": "n", "value": 2.5},
            {"type": "increment", "key": "m", "value": -1},
            {"type": "delete", "key": "stage"},
        ],
    )
    assert after == {"log": ["b"], "fresh": [1], "n": 3.5, "m": -1}
    assert before == {"log": ["a"], "n": 1}
    assert server.apply(after, [{"type": "replace", "value": {"x": 1}}]) == {"x": 1}


@pytest.mark.parametrize(
    ("operation", "says"),
    [
        ({"type": "upsert", "key": "a"}, "type must be one of"),
        ({"type": "set", "value": 1}, "needs a non-empty string 'key'"),
        ({"type": "increment", "key": "a", "value": "1"}, "needs a number"),
        ({"type": "replace", "value": [1]}, "needs a JSON object"),
    ],
)
def test_bad_operations_are_refused_with_what_to_fix(operation: dict, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        server.apply({}, [operation])
    with pytest.raises(ValidationError, match="cannot be incremented"):
        server.apply({"a": "text"}, [{"type": "increment", "key": "a", "value": 1}])


@task(id="meta-progress")
def meta_progress(payload: dict) -> dict:
    metadata.set("stage", "start")
    for done in range(1, payload["steps"] + 1):
        metadata.set("progress", done / payload["steps"])
        metadata.increment("done")
    metadata.append("log", "finished")
    return {"seen": metadata.current()}


@task(id="meta-child")
async def meta_child(payload: dict) -> None:
    metadata.parent.increment("children_done")
    metadata.root.append("trail", payload["n"])
    await asyncio.sleep(0)


@task(id="meta-parent")
def meta_parent(payload: dict) -> dict:
    meta_child.batch_trigger_and_wait([{"n": n} for n in range(3)])
    return metadata.current()


@task(id="meta-too-large")
def meta_too_large(payload: dict) -> None:
    metadata.set("small", 1)
    metadata.set("big", "x" * (300 * 1024))


def test_a_task_sets_its_progress_ten_thousand_times_in_a_handful_of_writes() -> None:
    with TestEnvironment() as env:
        run = env.trigger(meta_progress, {"steps": 10_000})
        assert run.status == "COMPLETED", run.error
        final = {"stage": "start", "progress": 1.0, "done": 10_000, "log": ["finished"]}
        assert run.output == {"seen": final}
        assert run.metadata == final
        with env.store.read() as conn:
            events = conn.execute(select(func.count()).select_from(RunEvent.__table__).where(RunEvent.__table__.c.run_id == run.id)).scalar()
        assert events < 60  # status changes plus one per flush, not 20,000


def test_children_update_their_parent_and_root_metadata_together() -> None:
    with TestEnvironment() as env:
        run = env.trigger(meta_parent, {}, metadata={"children_done": 0, "owner": "ada"})
        assert run.status == "COMPLETED", run.error
        stored = env.retrieve(run.id).metadata
        assert stored["children_done"] == 3 and sorted(stored["trail"]) == [0, 1, 2] and stored["owner"] == "ada"
        assert run.output == stored  # the parent resumed with what its children wrote


def test_metadata_past_256_kb_fails_the_call_and_keeps_what_came_before() -> None:
    with TestEnvironment() as env:
        run = env.trigger(meta_too_large, {}, max_attempts=1)
        assert run.status == "FAILED"
        assert "the limit is 262,144 (256 KB)" in run.error.message
        assert run.metadata == {"small": 1}


def test_outside_a_run_metadata_calls_do_nothing() -> None:
    metadata.set("a", 1)
    metadata.parent.increment("b")
    metadata.flush()
    assert metadata.current() == {} and metadata.get("a") is None
