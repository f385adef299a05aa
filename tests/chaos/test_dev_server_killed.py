"""The whole dev server (gateway, Scheduler, the Ray it started) killed while a run waits for a token.

Everything a waiting run needs is in the database: a new server on the same project picks it up,
the token completed over HTTP resumes it once, and the steps it made before the crash are not redone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DevServer, eventually

APPROVAL_TASK = '''
from pathlib import Path

from tether import step, task, wait

RECORD = Path(__file__).parent.parent / "drafts.txt"


def _draft(topic: str) -> str:
    with RECORD.open("a") as record:
        record.write(topic + "\\n")
    return f"a post about {topic}"


@task(id="publish-after-approval")
def publish_after_approval(payload: dict) -> dict:
    draft = step.run("draft", _draft, payload["topic"])
    token = wait.create_token(timeout="1h")
    step.run("ask-editor", lambda: (Path(__file__).parent.parent / "token.txt").write_text(token.id) and token.id)
    review = wait.for_token(token)
    return {"draft": draft, "approved": review.ok and review.output["approved"]}
'''


@pytest.mark.timeout(420)
def test_a_run_waiting_for_a_token_survives_the_server_being_killed(tmp_path: Path) -> None:
    from tether.cli.main import app

    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    (tmp_path / "tasks" / "approval.py").write_text(APPROVAL_TASK)

    first = DevServer(tmp_path)
    try:
        client = first.ready()
        run_id = client.post("/api/v1/tasks/publish-after-approval/trigger", json={"payload": {"topic": "ray"}}).json()["id"]
        eventually(lambda: client.get(f"/api/v3/runs/{run_id}").json()["status"] == "WAITING" and (tmp_path / "token.txt").exists(), timeout=90)
        client.close()
    finally:
        first.kill()
    token_id = (tmp_path / "token.txt").read_text()

    second = DevServer(tmp_path)
    try:
        client = second.ready()
        assert client.get(f"/api/v3/runs/{run_id}").json()["status"] == "WAITING"
        completed = client.post(f"/api/v1/waitpoints/tokens/{token_id}/complete", json={"data": {"approved": True}})
        assert completed.status_code == 200, completed.text
        run = eventually(lambda: (r := client.get(f"/api/v3/runs/{run_id}").json()) and r["status"] == "COMPLETED" and r, timeout=120)
        assert run["output"] == {"draft": "a post about ray", "approved": True}
        assert (tmp_path / "drafts.txt").read_text().splitlines() == ["ray"]  # the step before the crash was not redone
        client.close()
    finally:
        second.interrupt()
