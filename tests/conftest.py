"""Shared fixtures: one real Ray per session, and the whole stack on SQLite and on PostgreSQL.

Integration tests take the `stack` fixture and run once per database. PostgreSQL must be
reachable at TETHER_TEST_POSTGRES_URL (default: local, user postgres, trust auth): when it is
not, its half skips locally and fails under CI (CI=true).
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).parent / "project"
POSTGRES_ADMIN_URL = os.environ.get("TETHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_CPUS = 4  # logical CPUs for Ray: 8 small-1x actors on this 2-core machine

sys.path.insert(0, str(PROJECT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_database(name: str) -> str:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    from tether.actors.boot import start_ray

    start_ray(num_cpus=TEST_CPUS, project_root=str(PROJECT))
    yield
    ray.shutdown()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tether.cli.stack import Stack, StackSettings
    from tether.config import load_config

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tether.db'}"
    else:
        url = _postgres_database(f"tether_test_{uuid.uuid4().hex[:8]}")
    settings = StackSettings(
        database_url=url,
        secret_key=f"tt_dev_{uuid.uuid4().hex}",
        port=free_port(),
        scheduler={"lease": 6.0, "warm_actors": 2, "poll_interval": 0.5, "timeout_grace": 3.0},
    )
    running = Stack(load_config(PROJECT), settings).start()
    running.dialect = request.param
    yield running
    running.stop(shutdown_ray=False)
    from tether.actors.boot import stop_scheduler

    stop_scheduler()


@pytest.fixture
def sdk(stack: Any) -> Iterator[Any]:
    """The tether SDK pointed at the running stack."""
    import tether

    tether.configure(api_url=stack.url, secret_key=stack.settings.secret_key)
    yield tether


@pytest.fixture
def http(stack: Any) -> Iterator[Any]:
    """A raw HTTP client with the dev secret key."""
    import httpx

    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.settings.secret_key}"}, timeout=30) as client:
        yield client


@pytest.fixture
def records(tmp_path: Path) -> Any:
    """A fresh file path for tasks to record into, and a reader for it."""
    from tasks.records import read

    class Records:
        path = str(tmp_path / f"records-{uuid.uuid4().hex[:6]}.jsonl")

        def read(self) -> list[dict[str, Any]]:
            return read(self.path)

    return Records()


def eventually(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll `check()` until it returns something truthy; fail with its last value after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


def max_overlap(lines: list[dict[str, Any]]) -> int:
    """The most runs that were between their recorded start and end at the same instant."""
    edges = sorted((line["t"], 1 if line["event"] == "start" else -1) for line in lines)
    current = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        current += step
        peak = max(peak, current)
    return peak


def parent_of(pid: int) -> int:
    """The parent process id of `pid` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class DevServer:
    """`tether dev` in a project folder, as a process of its own session (so it can be killed whole)."""

    def __init__(self, project: Path, port: int | None = None) -> None:
        import subprocess

        self.port = port or free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TETHER_SECRET_KEY", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tether.cli", "dev", "--port", str(self.port), "--num-cpus", "1"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []

    def ready(self, timeout: float = 150) -> Any:
        """Wait until it prints its URL and key; an HTTP client authenticated with that key."""
        import re
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while not any("export TETHER_API_URL" in line for line in self.output):
            assert self.process.poll() is None, "".join(self.output)
            assert time.monotonic() < deadline, "".join(self.output)
            self.output.append(self.process.stdout.readline())  # type: ignore[union-attr]
        self.key = re.search(r"Secret key\s+(\S+)", "".join(self.output)).group(1)  # type: ignore[union-attr]
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def interrupt(self, timeout: float = 60) -> None:
        """Ctrl-C, as a user stops it; killed if it does not stop in time."""
        import signal
        import subprocess

        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL to the whole session: the server and the Ray it started die at once, as in a crash."""
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
