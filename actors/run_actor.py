"""RunActor: a Ray actor that hosts one run at a time, with its task's machine resources.

It imports the version's task modules once, then executes attempts handed to it by the
Scheduler until it is retired (after `max_runs_per_actor` runs, a timeout, or a new version).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ray

from tether.actors.capture import RunSink, install
from tether.actors.control import RayControl
from tether.actors.execution import AttemptRunner
from tether.config import load_config
from tether.runtime.catalog import Catalog
from tether.runtime.discovery import import_modules
from tether.runtime.engine import Engine
from tether.runtime.environments import KeyRing
from tether.runtime.store.database import Store


@ray.remote(max_restarts=0, max_concurrency=1)
class RunActor:
    def __init__(self, database_url: str, environment_id: str, version: str, lease: float) -> None:
        self.store = Store(database_url)
        catalog = Catalog(self.store)
        info = catalog.version(environment_id, version)
        if info is None:
            raise RuntimeError(f"version {version} of environment {environment_id} is not registered")
        config = load_config(Path(info.project_root))
        import_modules(info.project_root, info.modules)
        self.sink = RunSink()
        install(self.sink, config.log_level)
        logging.getLogger("tether.actor").setLevel(logging.WARNING)
        env = KeyRing(self.store).by_id(environment_id)
        engine = Engine(self.store, RayControl(), catalog)
        self.runner = AttemptRunner(engine, env, config, info.tasks, self.sink, lease)
        self.runs_done = 0

    def ready(self) -> bool:
        return True

    def execute(self, run_id: str, token: str) -> dict[str, Any]:
        outcome = self.runner.run(run_id, token)
        self.runs_done += 1
        return {**outcome.as_dict(), "runs_done": self.runs_done}

    def failure_hook(self, run_id: str, reason: str) -> None:
        self.runner.failure_hook(run_id, reason)
