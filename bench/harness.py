"""What the smaller benchmarks share: one local Ray for the script, each database in turn, a stack on it."""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from throughput import PROJECT, free_port, postgres_database, sqlite_database


def on_each_database(choice: str) -> Iterator[tuple[str, str]]:
    """(name, url) of a fresh store on each database asked for, with one local Ray up meanwhile."""
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(PROJECT))
    import ray

    from tether.actors.boot import start_ray

    try:
        start_ray(project_root=str(PROJECT))
        for db in ["sqlite", "postgres"] if choice == "both" else [choice]:
            with sqlite_database() if db == "sqlite" else postgres_database() as url:
                yield db, url
    finally:
        if ray.is_initialized():
            ray.shutdown()


@contextlib.contextmanager
def running_stack(url: str) -> Iterator[Any]:
    """The whole stack of bench/project on `url`, as `tether dev` starts it; stopped at the end."""
    from tether.actors.boot import stop_scheduler
    from tether.cli.stack import Stack, StackSettings
    from tether.config import load_config

    settings = StackSettings(database_url=url, secret_key=f"tt_dev_{uuid.uuid4().hex}", port=free_port())
    stack = Stack(load_config(PROJECT), settings).start()
    try:
        yield stack
    finally:
        stack.stop(shutdown_ray=False)
        stop_scheduler()
