"""The engine's schedule operations: create (idempotent by deduplication key), read, list, change, delete.

A mixin of `Engine`, which stays the one facade the gateway and task code call. Every
refusal is checked before anything is written. A change does not wake the Scheduler: it
reads the soonest deadline at least once per poll (a second), so at worst a schedule made in
the last second before its first instant fires that much late, while a wake per change would
cost the Scheduler work for each of thousands of schedules created at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tether._wire import utcnow
from sqlalchemy import exc

from tether.errors import StoreError, ValidationError
from tether.runtime import cron, schedules
from tether.runtime.catalog import Catalog
from tether.runtime.environments import Env
from tether.runtime.store.database import Store
from tether.schedules import ScheduleRequest

MAX_PER_PAGE = 100
# Trigger.dev's environment types, by the slug Tether gives an environment.
_ENVIRONMENT_TYPES = {"dev": "DEVELOPMENT", "prod": "PRODUCTION", "production": "PRODUCTION", "staging": "STAGING", "preview": "PREVIEW"}


class ScheduleOperations:
    store: Store
    catalog: Catalog
    _spec: Callable[[Env, str], Any]  # Engine's: the task's spec in the environment's current version

    def _checked(self, env: Env, request: ScheduleRequest) -> tuple[str, str]:
        """The expression and timezone to store, once the task is known to take schedules."""
        spec = self._spec(env, request.task)
        if spec is None:
            raise ValidationError(f"task: {request.task!r} is not a task of this environment (is its module in the project's dirs?)")
        if not spec.scheduled:
            raise ValidationError(f"task: {request.task!r} is not a scheduled task; define it with @schedules.task(id={request.task!r})")
        return cron.check(request.cron), cron.check_timezone(request.timezone)

    def _schedule_body(self, env: Env, row: Any) -> dict[str, Any]:
        kind = _ENVIRONMENT_TYPES.get(env.slug, env.slug.upper())
        return schedules.body(row, {"id": env.id, "type": kind, "userName": None})

    def create_schedule(self, env: Env, request: ScheduleRequest) -> dict[str, Any]:
        expression, timezone = self._checked(env, request)
        try:
            return self._upsert_schedule(env, request, expression, timezone)
        except exc.IntegrityError as error:
            # A concurrent create took the same deduplication key first: a second pass updates its schedule.
            if request.deduplication_key is None:
                raise StoreError(f"could not record the schedule: {error.orig}") from error
        try:
            return self._upsert_schedule(env, request, expression, timezone)
        except exc.IntegrityError as error:
            raise StoreError(f"could not record the schedule: {error.orig}") from error

    def _upsert_schedule(self, env: Env, request: ScheduleRequest, expression: str, timezone: str) -> dict[str, Any]:
        with self.store.write() as conn:
            row, _ = schedules.upsert(
                conn,
                env.id,
                task_id=request.task,
                expression=expression,
                timezone=timezone,
                external_id=request.external_id,
                deduplication_key=request.deduplication_key,
                now=utcnow(),
            )
        return self._schedule_body(env, row)

    def retrieve_schedule(self, env: Env, schedule_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            return self._schedule_body(env, schedules.get(conn, env.id, schedule_id))

    def list_schedules(self, env: Env, task: str | None = None, page: int = 1, per_page: int = 20) -> dict[str, Any]:
        if page < 1:
            raise ValidationError(f"page: pages are numbered from 1, got {page}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationError(f"perPage: must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        with self.store.read() as conn:
            rows, count = schedules.list_page(conn, env.id, task, page, per_page)
        pagination = {"currentPage": page, "totalPages": schedules.total_pages(count, per_page), "count": count}
        return {"data": [self._schedule_body(env, r) for r in rows], "pagination": pagination}

    def update_schedule(self, env: Env, schedule_id: str, request: ScheduleRequest) -> dict[str, Any]:
        with self.store.read() as conn:  # an unknown or declared schedule says so before the body is judged
            schedules.refuse_declared(schedules.get(conn, env.id, schedule_id), "update")
        if request.deduplication_key is not None:
            raise ValidationError("deduplicationKey: a schedule's deduplication key is set when it is created and cannot change")
        expression, timezone = self._checked(env, request)
        with self.store.write() as conn:
            row = schedules.get(conn, env.id, schedule_id, lock=True)
            changes = {"task_identifier": request.task, "external_id": request.external_id}
            row = schedules.replace(conn, row, expression=expression, timezone=timezone, now=utcnow(), **changes)
        return self._schedule_body(env, row)

    def delete_schedule(self, env: Env, schedule_id: str) -> dict[str, Any]:
        with self.store.write() as conn:
            row = schedules.get(conn, env.id, schedule_id, lock=True)
            schedules.refuse_declared(row, "delete")
            schedules.remove(conn, row)
        return {"id": schedule_id}

    def set_schedule_active(self, env: Env, schedule_id: str, active: bool) -> dict[str, Any]:
        with self.store.write() as conn:
            row = schedules.set_active(conn, schedules.get(conn, env.id, schedule_id), active, utcnow())
        return self._schedule_body(env, row)

    def timezones(self, env: Env | None, exclude_utc: bool = False) -> dict[str, Any]:
        names = cron.timezones()
        return {"timezones": list(names[1:] if exclude_utc else names)}
