"""Everything `tether dev` and `tether start` run, put together: store, Ray, Scheduler, gateway.

Imported lazily by the CLI (it pulls in Ray, FastAPI and SQLAlchemy). Tests start the same
stack, so what they exercise is what users run.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.config import ProjectConfig, load_config

log = logging.getLogger("tether")


@dataclass
class StackSettings:
    database_url: str
    environment: str = "dev"
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8030
    ray_address: str | None = None
    num_cpus: int | None = None
    scheduler: dict[str, Any] = field(default_factory=dict)
    reload: bool = False
    public_url: str | None = None  # where clients reach the gateway, for token callback URLs and runs' SDK calls
    demo_page: bool = False  # /realtime/demo, which mints trigger tokens for anyone who opens it: dev only


def dev_database_url(root: Path) -> str:
    return os.environ.get("TETHER_DATABASE_URL") or f"sqlite:///{root / '.tether' / 'tether.db'}"


def dev_secret_key(root: Path) -> str:
    """TETHER_SECRET_KEY when set; else a key generated once and kept under .tether/."""
    from_env = os.environ.get("TETHER_SECRET_KEY")
    if from_env:
        return from_env
    path = root / ".tether" / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    from tether.runtime.ids import secret_key

    key = secret_key("dev")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


class Stack:
    def __init__(self, config: ProjectConfig, settings: StackSettings) -> None:
        self.config = config
        self.settings = settings
        self.env: Any = None
        self.version: str | None = None
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def public_url(self) -> str:
        """`public_url` if set; else, for a gateway on every interface, this machine's address as Ray would pick
        it (on a machine with several networks, set `public_url`)."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        if self.settings.host in ("0.0.0.0", "::"):
            import ray.util

            return f"http://{ray.util.get_node_ip_address()}:{self.settings.port}"
        return self.url

    def start(self) -> Stack:
        from tether.actors.boot import ensure_scheduler, start_ray
        from tether.actors.control import RayControl
        from tether.api.app import create_app
        from tether.runtime import environments
        from tether.runtime.engine import Engine
        from tether.runtime.store.database import Store

        self.store = Store(self.settings.database_url)
        self.store.migrate()
        self.env = environments.ensure(self.store, self.settings.environment, self.settings.secret_key)
        self.register()
        # Runs create tokens whose callback URL names the gateway, and call it through the SDK: every
        # worker process of this job, on every node, is given its address.
        public_url = self.public_url
        os.environ.setdefault("TETHER_API_URL", public_url)  # this process's own SDK calls, unless pointed elsewhere
        start_ray(self.settings.ray_address, num_cpus=self.settings.num_cpus, project_root=str(self.config.root), env_vars={"TETHER_API_URL": public_url})
        self.scheduler = ensure_scheduler(self.settings.database_url, self.settings.scheduler)
        self.engine = Engine(self.store, RayControl(), public_url=public_url)
        self.app = create_app(self.engine, demo_env=self.env if self.settings.demo_page else None)
        self._serve()
        if self.settings.reload:
            self._watch()
        return self

    def register(self, *, reload: bool = False) -> str:
        from tether.runtime.catalog import register_version
        from tether.runtime.discovery import discover

        found = discover(self.config, reload=reload)
        self.version = register_version(self.store, self.env.id, found, self.config, dev=self.settings.environment == "dev")
        self.tasks = found.tasks
        return self.version

    def _serve(self) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, host=self.settings.host, port=self.settings.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, name="tether-gateway", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start on {self.url} (is the port in use?)")
            time.sleep(0.02)

    def _watch(self) -> None:
        from watchfiles import watch

        paths = [self.config.root / d for d in self.config.dirs]

        def loop() -> None:
            for _ in watch(*paths, stop_event=self._stopping, debounce=300):
                try:
                    version = self.register(reload=True)
                    self.engine.catalog.invalidate()
                    self.engine.control.wake(config_changed=True)
                    log.warning("task code changed: now on version %s", version)
                except Exception as exc:
                    log.error("reload failed, still on version %s: %s", self.version, exc)

        thread = threading.Thread(target=loop, name="tether-reload", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, *, shutdown_ray: bool = True) -> None:
        import ray

        from tether.actors.boot import stop_scheduler

        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=10)
        if shutdown_ray and ray.is_initialized():
            stop_scheduler()
            ray.shutdown()
        self.store.dispose()


def start_stack(config: ProjectConfig | None = None, **settings: Any) -> Stack:
    config = config or load_config()
    return Stack(config, StackSettings(**settings)).start()
