"""Tasks the multi-node tests place: one needs a custom resource only one node has, one takes steps around a sleep."""

from __future__ import annotations

import os
import time

from tasks.records import record

from tether import Machine, step, task

ACCEL = Machine(name="accel-1x", cpus=1, memory_gb=0.25, resources={"accel": 1})
WIDE = Machine(name="wide-1x", cpus=1, memory_gb=0.25, resources={"wide": 1})


def _node() -> str:
    return os.environ.get("TETHER_NODE_ID", "")


@task(id="on-accel", machine=ACCEL)
def on_accel(payload: dict) -> dict:
    record(payload.get("path"), event="ran", node=_node())
    time.sleep(payload.get("seconds", 0))
    return {"node": _node()}


@task(id="on-wide", machine=WIDE)
def on_wide(payload: dict) -> dict:
    return {"node": _node()}


@task(id="node-steps", machine="small-2x")
def node_steps(payload: dict) -> dict:
    """Records its first step, sleeps outside any step (a node killed now loses only the sleep), records its last."""
    started_on = step.run("start", lambda: record(payload.get("path"), event="start", run=payload["n"], node=_node()) or _node())
    time.sleep(payload.get("seconds", 0))
    finished_on = step.run("finish", lambda: record(payload.get("path"), event="finish", run=payload["n"], node=_node()) or _node())
    return {"started_on": started_on, "finished_on": finished_on}
