"""Tasks for bench/cluster.py: one that keeps a CPU busy, one that sleeps and says where it ran."""

from __future__ import annotations

import os
import time

from tether import task


@task(id="spin", machine="small-2x")
def spin(payload: dict) -> None:
    """Busy for `ms` milliseconds of CPU: the work a worker node adds capacity for."""
    until = time.process_time() + payload.get("ms", 50) / 1000
    while time.process_time() < until:
        pass


@task(id="sleep-on-node", machine="small-2x")
def sleep_on_node(payload: dict) -> dict:
    started = time.time()
    time.sleep(payload.get("seconds", 10))
    return {"node": os.environ.get("TETHER_NODE_ID", ""), "started": started}
