"""PostgreSQL restarting under a running system: runs executing, runs waiting and the gateway carry on.

A restart closes every pooled connection in every process (gateway, Scheduler, run processes).
Each process finds out at its next checkout and reconnects; nothing fails, nothing is redone.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from conftest import eventually


def _restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"], check=True, timeout=60)
    eventually(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0, timeout=30)


def _steps(records: Any, name: str) -> int:
    return sum(1 for line in records.read() if line.get("step") == name)


def test_runs_executing_and_waiting_finish_once_across_a_postgres_restart(stack: Any, sdk: Any, records: Any, tmp_path: Path) -> None:
    if stack.dialect != "postgres":
        pytest.skip("restarts the PostgreSQL server; SQLite is a file in the process")
    go = str(tmp_path / f"go-{uuid.uuid4().hex[:6]}")
    executing = sdk.tasks.trigger("steps-across-a-database-restart", {"record": records.path, "go": go, "seconds": 3})
    waiting = sdk.tasks.trigger("wait-then-finish", {"record": records.path, "seconds": 4})
    eventually(lambda: any(line.get("event") == "before-restart" for line in records.read()), timeout=60)
    eventually(lambda: sdk.runs.retrieve(waiting.id).status == "WAITING", timeout=60)

    _restart_postgres()
    Path(go).touch()

    assert sdk.tasks.trigger("echo", {"after": "restart"}).wait(timeout=60).output == {"after": "restart"}  # the gateway's first request
    run = executing.wait(timeout=90)
    assert run.status == "COMPLETED", run.error
    assert run.output == {"steps": [1, 2, 3]} and len(run.attempts) == 1
    assert [_steps(records, name) for name in ("first", "second", "third")] == [1, 1, 1]
    waited = waiting.wait(timeout=90)
    assert waited.status == "COMPLETED" and waited.output == {"before": "before", "attempt": 1}
    assert _steps(records, "before") == 1
