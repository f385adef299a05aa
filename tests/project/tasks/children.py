"""Tasks that trigger other tasks from inside a run (through the engine, not HTTP)."""

from __future__ import annotations

from tether import task, tasks

from tasks.basic import echo


@task(id="parent")
def parent(payload: dict) -> dict:
    first = echo.trigger({"from": "parent"})
    second = tasks.trigger("noop", None, tags=["child"])
    return {"children": [first.id, second.id]}
