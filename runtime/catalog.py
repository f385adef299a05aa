"""The task catalog: which tasks exist in an environment, at which version, with which settings.

A version's manifest is written to the store when code is registered (`tether dev` start
and reload, later `tether deploy`). The gateway and the Scheduler read it from there, so
neither needs the task code itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, update

from tether._wire import utcnow
from tether.config import ProjectConfig
from tether.machines import Machine
from tether.retry import NO_RETRY, Retry
from tether.errors import ConfigurationError, ValidationError
from tether.runtime import cron
from tether.runtime import queues as queue_store
from tether.runtime.discovery import Discovered
from tether.runtime.store.database import Store
from tether.runtime.store.tables import WorkerVersion
from tether.tasks import Task

_versions = WorkerVersion.__table__
DEFAULT_MAX_DURATION = 3600.0


@dataclass(frozen=True)
class TaskSpec:
    id: str
    module: str
    queue: str
    queue_limit: int | None
    key_limit: int
    retry: dict[str, Any]
    machine: dict[str, Any]
    max_duration: float
    max_runs_per_actor: int
    scheduled: bool = False
    cron: dict[str, str] | None = None

    @property
    def retry_policy(self) -> Retry:
        return Retry.model_validate(self.retry)

    @property
    def machine_spec(self) -> Machine:
        return Machine.model_validate(self.machine)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    project_root: str
    modules: tuple[str, ...]
    tasks: dict[str, TaskSpec]


def spec_for(task: Task, config: ProjectConfig, *, dev: bool) -> TaskSpec:
    retry = task.retry or config.retries.default
    if dev and not config.retries.enabled_in_dev:
        retry = NO_RETRY
    return TaskSpec(
        id=task.id,
        module=task.module,
        queue=task.queue_name,
        queue_limit=task.queue.concurrency_limit if task.queue else None,
        key_limit=task.queue.concurrency_key_limit if task.queue else 1,
        retry=retry.model_dump(),
        machine=task.machine.model_dump(),
        max_duration=task.max_duration or config.max_duration or DEFAULT_MAX_DURATION,
        max_runs_per_actor=task.max_runs_per_actor,
        scheduled=task.scheduled,
        cron=declared_cron(task),
    )


def declared_cron(task: Task) -> dict[str, str] | None:
    """The task's declared schedule, checked: a bad expression stops the code from loading, naming the task."""
    if task.cron is None:
        return None
    try:
        return {"pattern": cron.check(task.cron["pattern"]), "timezone": cron.check_timezone(task.cron["timezone"])}
    except ValidationError as error:
        raise ConfigurationError(f"task {task.id!r}: {error.message}") from None


def register_version(store: Store, environment_id: str, found: Discovered, config: ProjectConfig, *, dev: bool) -> str:
    """Record the discovered code as the environment's current version; unchanged code keeps its version."""
    manifest = {tid: asdict(spec_for(t, config, dev=dev)) for tid, t in found.tasks.items()}
    with store.write() as conn:
        current = conn.execute(
            select(_versions).where(_versions.c.environment_id == environment_id, _versions.c.is_current.is_(True))
        ).first()
        if current is not None and current.content_hash == found.content_hash and current.manifest == manifest:
            version = current.version
        else:
            today = utcnow().strftime("%Y%m%d")
            count = conn.execute(
                select(func.count()).where(_versions.c.environment_id == environment_id, _versions.c.version.like(f"{today}.%"))
            ).scalar_one()
            version = f"{today}.{count + 1}"
            conn.execute(update(_versions).where(_versions.c.environment_id == environment_id).values(is_current=False))
            conn.execute(
                _versions.insert().values(
                    environment_id=environment_id,
                    version=version,
                    content_hash=found.content_hash,
                    project_root=found.project_root,
                    modules=list(found.modules),
                    manifest=manifest,
                    is_current=True,
                    created_at=utcnow(),
                )
            )
        for spec in manifest.values():
            queue_store.declare(conn, environment_id, spec["queue"], spec["queue_limit"], spec["key_limit"], kind="task")
        from tether.runtime import schedules  # it makes runs, whose module needs this one's TaskSpec

        schedules.sync_declared(conn, environment_id, {tid: spec["cron"] for tid, spec in manifest.items() if spec["cron"]}, utcnow())
    return version


class Catalog:
    """Reads an environment's current version from the store, caching it for a moment."""

    def __init__(self, store: Store, ttl: float = 1.0) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[str, tuple[float, VersionInfo | None]] = {}
        self._by_version: dict[tuple[str, str], VersionInfo] = {}
        self._lock = threading.Lock()

    def current(self, environment_id: str) -> VersionInfo | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(environment_id)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        info = self._load(environment_id, None)
        with self._lock:
            self._cache[environment_id] = (now, info)
        return info

    def version(self, environment_id: str, version: str) -> VersionInfo | None:
        """A registered version never changes, so once read it is kept."""
        key = (environment_id, version)
        with self._lock:
            known = self._by_version.get(key)
        if known is None:
            known = self._load(environment_id, version)
            if known is not None:
                with self._lock:
                    self._by_version[key] = known
        return known

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def _load(self, environment_id: str, version: str | None) -> VersionInfo | None:
        query = select(_versions).where(_versions.c.environment_id == environment_id)
        query = query.where(_versions.c.version == version) if version else query.where(_versions.c.is_current.is_(True))
        with self._store.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        tasks = {tid: TaskSpec(**spec) for tid, spec in (row.manifest or {}).items()}
        return VersionInfo(row.version, row.project_root, tuple(row.modules or ()), tasks)
