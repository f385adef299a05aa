"""The `tether` command: init, trigger, runs, and `tether dev` end to end (with a code reload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import DevServer, eventually

runner = CliRunner()


def _env(stack: Any) -> dict[str, str]:
    return {"TETHER_API_URL": stack.url, "TETHER_SECRET_KEY": stack.settings.secret_key}


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    from tether.cli.main import app
    from tether.client import configure

    configure(api_url=(env or {}).get("TETHER_API_URL"), secret_key=(env or {}).get("TETHER_SECRET_KEY"))
    return runner.invoke(app, list(args), env=env)


def test_trigger_and_wait_prints_the_finished_run(stack: Any) -> None:
    result = _cli("trigger", "echo", "--payload", '{"cli": true}', "--wait", "--timeout", "60", env=_env(stack))
    assert result.exit_code == 0, result.output
    assert "COMPLETED" in result.output and '"cli": true' in result.output


def test_trigger_refuses_a_payload_that_is_not_json(stack: Any) -> None:
    result = _cli("trigger", "echo", "--payload", "{nope", env=_env(stack))
    assert result.exit_code == 2 and "not JSON" in result.output


def test_status_shows_the_node_the_runs_executing_on_it_and_the_queues(stack: Any, sdk: Any, tmp_path: Path) -> None:
    import ray

    handle = sdk.tasks.trigger("sleep", {"seconds": 3})
    eventually(lambda: sdk.runs.retrieve(handle.id).status == "EXECUTING", timeout=60)
    result = _cli("status", env=_env(stack))
    assert result.exit_code == 0, result.output
    node = ray.get_runtime_context().get_node_id()
    assert node[:12] in result.output and "head" in result.output  # the one local node
    assert handle.id in result.output and " sleep " in result.output  # executing there
    assert "Queues" in result.output and "task/sleep" in result.output
    handle.wait(timeout=60)


def test_status_says_what_to_do_when_no_gateway_answers() -> None:
    result = _cli("status", env={"TETHER_API_URL": "http://127.0.0.1:9", "TETHER_SECRET_KEY": "tt_dev_x"})
    assert result.exit_code == 1
    assert "cannot reach Tether at http://127.0.0.1:9" in result.output


def test_runs_list_show_and_cancel(stack: Any, sdk: Any) -> None:
    handle = sdk.tasks.trigger("chatty", {"word": "cli"})
    handle.wait(timeout=60)
    listed = _cli("runs", "list", "--task", "chatty", env=_env(stack))
    assert listed.exit_code == 0 and handle.id in listed.output
    shown = eventually(lambda: (r := _cli("runs", "show", handle.id, "--logs", env=_env(stack))) and "printed line one" in r.output and r)
    assert "COMPLETED" in shown.output
    delayed = sdk.tasks.trigger("echo", 1, delay="1h")
    cancelled = _cli("runs", "cancel", delayed.id, env=_env(stack))
    assert cancelled.exit_code == 0 and "CANCELED" in cancelled.output


def test_init_adds_config_and_an_example_task(tmp_path: Path) -> None:
    from tether.config import load_config
    from tether.runtime.discovery import module_names

    result = runner.invoke(__import__("tether.cli.main", fromlist=["app"]).app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path)
    assert config.project == tmp_path.name and config.dirs == ["tasks"]
    assert [name for name, _ in module_names(config)] == ["tasks.hello_world"]
    again = runner.invoke(__import__("tether.cli.main", fromlist=["app"]).app, ["init", str(tmp_path)])
    assert "already configured" in again.output


@pytest.mark.timeout(240)
def test_tether_dev_serves_the_project_prints_its_key_and_reloads_changed_code(tmp_path: Path) -> None:
    """The README's main command, in a fresh project: start, trigger, edit the task, trigger again, stop."""
    from tether.cli.main import app

    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    server = DevServer(tmp_path)
    try:
        client = server.ready()
        assert server.key == (tmp_path / ".tether" / "secret_key").read_text().strip()
        assert (tmp_path / ".tether" / "tether.db").exists()

        def run_hello() -> dict[str, Any]:
            run_id = client.post("/api/v1/tasks/hello-world/trigger", json={"payload": {"name": "Ada"}}).json()["id"]
            return eventually(lambda: (r := client.get(f"/api/v3/runs/{run_id}").json()) and r["status"] == "COMPLETED" and r, timeout=90)

        first = run_hello()
        assert first["output"] == {"message": "Hello, Ada!"}
        task_file = tmp_path / "tasks" / "hello_world.py"
        task_file.write_text(task_file.read_text().replace('f"Hello, {payload.name}!"', 'f"Hi again, {payload.name}!"'))
        second = eventually(lambda: (r := run_hello()) and r["output"] == {"message": "Hi again, Ada!"} and r, timeout=90)
        assert second["version"] != first["version"]
    finally:
        server.interrupt()
