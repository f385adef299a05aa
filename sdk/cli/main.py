"""The `tether` command: init, dev, start, status, trigger, runs."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from tether.errors import TetherError

console = Console()


class _Commands(TyperGroup):
    """Every command's Tether errors (a refusal, an unreachable gateway) become one line and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TetherError as exc:
            console.print(f"[red]{type(exc).__name__}: {exc}[/]", soft_wrap=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Commands, help="Tether: durable background tasks for Python, on Ray.", no_args_is_help=True, add_completion=False
)
runs_app = typer.Typer(help="Inspect and manage runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

EXAMPLE_TASK = '''"""An example task: trigger it with `tether trigger hello-world --payload '{"name": "Ada"}'`."""

from pydantic import BaseModel

from tether import logger, task


class Hello(BaseModel):
    name: str


@task(id="hello-world")
def hello_world(payload: Hello) -> dict:
    logger.info("saying hello to %s", payload.name)
    return {"message": f"Hello, {payload.name}!"}
'''

CONFIG = """[tool.tether]
project = "{name}"
dirs = ["tasks"]
max_duration = 3600

[tool.tether.retries]
enabled_in_dev = true
default = {{ max_attempts = 3, factor = 2, min_timeout = 1, max_timeout = 30 }}
"""


@app.command()
def init(path: Annotated[Path, typer.Argument(help="The project folder")] = Path(".")) -> None:
    """Add Tether config and an example task to a project."""
    root = path.resolve()
    root.mkdir(parents=True, exist_ok=True)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text() if pyproject.exists() else ""
    if "[tool.tether]" in text or (root / "tether.toml").exists():
        console.print("[yellow]Tether is already configured here.[/]")
    else:
        pyproject.write_text(text + ("\n" if text and not text.endswith("\n") else "") + CONFIG.format(name=root.name))
        console.print(f"[green]Added [tool.tether] to {pyproject}[/]")
    example = root / "tasks" / "hello_world.py"
    if not example.exists():
        example.parent.mkdir(exist_ok=True)
        example.write_text(EXAMPLE_TASK)
        console.print(f"[green]Wrote an example task to {example}[/]")
    gitignore = root / ".gitignore"
    if ".tether/" not in (gitignore.read_text() if gitignore.exists() else ""):
        with gitignore.open("a") as handle:
            handle.write(".tether/\n")
    console.print("Next: [bold]tether dev[/]")


def _run_until_interrupted(stack: Any) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        console.print("Stopping…")
        stack.stop()


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Gateway port")] = 8030,
    host: Annotated[str, typer.Option(help="Gateway host")] = "127.0.0.1",
    num_cpus: Annotated[int | None, typer.Option(help="CPUs for the local Ray (default: this machine's)")] = None,
) -> None:
    """Run locally: Ray, the Scheduler and the gateway on an embedded SQLite under .tether/, reloading task code on change."""
    from tether.cli.stack import StackSettings, Stack, dev_database_url, dev_secret_key
    from tether.config import load_config

    config = load_config()
    key = dev_secret_key(config.root)
    settings = StackSettings(dev_database_url(config.root), "dev", key, host, port, None, num_cpus, reload=True, demo_page=True)
    with console.status("Starting Ray, the Scheduler and the gateway…"):
        stack = Stack(config, settings).start()
    console.print(f"[bold green]Tether dev is running[/] — project [bold]{config.project}[/], version {stack.version}")
    console.print(f"  API        {stack.url}    (docs: {stack.url}/docs)")
    console.print(f"  Live demo  {stack.url}/realtime/demo    (triggers research-agent; ?task=<id> for another)")
    console.print(f"  Secret key {key}")
    console.print(f"  Database   {settings.database_url}")
    console.print(f"  Tasks      {', '.join(sorted(stack.tasks)) or '(none found in ' + ', '.join(config.dirs) + ')'}")
    console.print(f"\n  export TETHER_API_URL={stack.url} TETHER_SECRET_KEY={key}\n")
    _run_until_interrupted(stack)


@app.command()
def start(
    database_url: Annotated[str, typer.Option(envvar="TETHER_DATABASE_URL", help="postgresql://…")],
    secret_key: Annotated[str, typer.Option(envvar="TETHER_SECRET_KEY", help="The environment's secret key")],
    ray_address: Annotated[str | None, typer.Option(envvar="RAY_ADDRESS", help="A running Ray cluster ('auto' for the local head)")] = None,
    environment: Annotated[str, typer.Option(help="Environment name")] = "prod",
    port: Annotated[int, typer.Option(help="Gateway port")] = 8030,
    host: Annotated[str, typer.Option(help="Gateway host")] = "0.0.0.0",
    public_url: Annotated[
        str | None, typer.Option(envvar="TETHER_PUBLIC_URL", help="Where runs and clients reach the gateway (default: this machine's address and --port)")
    ] = None,
) -> None:
    """Run in production: against a Ray cluster and PostgreSQL, without reloading."""
    from tether.cli.stack import StackSettings, Stack
    from tether.config import load_config

    config = load_config()
    settings = StackSettings(database_url, environment, secret_key, host, port, ray_address, public_url=public_url)
    stack = Stack(config, settings).start()
    console.print(f"[bold green]Tether is running[/] at {stack.url} — environment {environment}, version {stack.version}")
    _run_until_interrupted(stack)


@app.command()
def status() -> None:
    """Show the cluster's nodes, the runs executing on each, and the queues (from the gateway at TETHER_API_URL)."""
    from tether.cli.status import show

    show(console)


@app.command()
def trigger(
    task_id: Annotated[str, typer.Argument(help="The task's id")],
    payload: Annotated[str, typer.Option(help="The payload, as JSON")] = "null",
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the run to finish and print it")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait")] = 600,
) -> None:
    """Trigger a task by id."""
    from tether import tasks

    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise typer.BadParameter(f"--payload is not JSON: {exc}") from None
    handle = tasks.trigger(task_id, value)
    console.print(f"Triggered [bold]{handle.id}[/]" + (" (cached)" if handle.is_cached else ""))
    if wait:
        run = handle.wait(timeout=timeout)
        _print_run(run)
        if not run.is_success:
            raise typer.Exit(1)


def _print_run(run: Any) -> None:
    colour = "green" if run.is_success else ("red" if run.is_failed else "yellow")
    console.print(f"[bold]{run.id}[/] {run.task_identifier} [{colour}]{run.status}[/] attempts={run.attempt_count}")
    if run.output is not None:
        console.print_json(json.dumps(run.output))
    if run.error is not None:
        console.print(f"[red]{run.error.name}: {run.error.message}[/]")


@runs_app.command("list")
def runs_list(
    status: Annotated[str | None, typer.Option(help="Comma-separated statuses")] = None,
    task: Annotated[str | None, typer.Option(help="Task id")] = None,
    tag: Annotated[str | None, typer.Option(help="Tag")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 25,
) -> None:
    """List runs, newest first."""
    from tether import runs

    page = runs.list(status=status.split(",") if status else None, task_identifier=task, tag=tag, limit=limit)
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("task", "status", "attempts", "created", "ms"):
        table.add_column(name)
    for run in page.data:
        table.add_row(run.id, run.task_identifier, run.status, str(run.attempt_count), run.created_at.strftime("%m-%d %H:%M:%S"), str(run.duration_ms))
    console.print(table)


@runs_app.command("show")
def runs_show(run_id: str, logs: Annotated[bool, typer.Option("--logs", help="Also print the run's logs")] = False) -> None:
    """Show one run."""
    from tether import runs

    _print_run(runs.retrieve(run_id))
    if logs:
        for line in runs.logs(run_id):
            console.print(f"[dim]{line.timestamp:%H:%M:%S} #{line.attempt} {line.level}[/] {line.message}")


@runs_app.command("cancel")
def runs_cancel(run_id: str) -> None:
    """Cancel a run."""
    from tether import runs

    _print_run(runs.cancel(run_id))


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    app()
