"""The engine's front door: every operation the gateway (and task code inside a run) can ask for.

Each method takes the caller's environment, does its work in one transaction, and returns
the JSON body Trigger.dev's API would. The gateway's routes are thin wrappers around these;
inside a run, `EngineBackend` executes the SDK's `Call`s against them directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import exc, select, update

from tether._calls import Call
from tether._wire import as_utc, iso, utcnow
from tether.errors import ConflictError, NotFoundError, StoreError, ValidationError
from tether.options import MAX_BATCH_SIZE, MAX_TAGS, BatchItem, BatchTriggerRequest, TriggerOptions, TriggerRequest
from tether.runtime import lifecycle, logs, metadata, public_tokens, runs, serialize, triggering
from tether.runtime import queues as queue_store
from tether.runtime.catalog import Catalog
from tether.runtime.engine_schedules import ScheduleOperations
from tether.runtime.engine_tokens import TokenOperations
from tether.runtime.environments import Env
from tether.runtime.ids import batch_id as new_batch_id
from tether.runtime.run_filters import parse_list_params
from tether.runtime.states import TERMINAL, RunStatus
from tether.runtime.store.database import Store
from tether.runtime.store.tables import BatchRow

_batches = BatchRow.__table__
_INSERT_RETRIES = 5


class Control(Protocol):
    """What the engine asks of the actors after it commits: look at the queues again, stop a run."""

    def wake(self, config_changed: bool = False) -> None: ...

    def stop_run(self, run_id: str, reason: str) -> None: ...

    def cluster_status(self) -> dict[str, Any]: ...


class NoControl:
    def wake(self, config_changed: bool = False) -> None:
        pass

    def stop_run(self, run_id: str, reason: str) -> None:
        pass

    def cluster_status(self) -> dict[str, Any]:
        return {"nodes": [], "waitingFor": []}


class Engine(TokenOperations, ScheduleOperations):
    def __init__(self, store: Store, control: Control | None = None, catalog: Catalog | None = None, public_url: str | None = None) -> None:
        self.store = store
        # Where the gateway is reachable, for tokens' callback URLs (a run's engine learns it from the environment).
        self.public_url = public_url if public_url is not None else os.environ.get("TETHER_API_URL", "")
        self.control: Control = control or NoControl()
        self.catalog = catalog or Catalog(store)

    def __repr__(self) -> str:
        return f"Engine({self.store!r})"

    # -- triggering -------------------------------------------------------------------------

    def _spec(self, env: Env, task_id: str) -> Any:
        version = self.catalog.current(env.id)
        return version.tasks.get(task_id) if version else None

    def _insert(self, prepared: list[triggering.PreparedRun], batch: dict[str, Any] | None = None) -> list[triggering.Created]:
        """Write the runs (and their batch row) in one transaction, then wake the Scheduler if any is new."""
        for attempt in range(_INSERT_RETRIES):
            try:
                with self.store.write() as conn:
                    if batch is not None:
                        conn.execute(_batches.insert().values(**batch))
                    created = triggering.insert_runs(conn, prepared)
                break
            except exc.IntegrityError as error:
                # A concurrent trigger took the same idempotency key first; look again and find its run.
                if attempt == _INSERT_RETRIES - 1:
                    raise StoreError(f"could not record the runs: {error.orig}") from error
        if any(not c.is_cached for c in created):
            self._wake_for(prepared)
        return created

    def _wake_for(self, prepared: list[triggering.PreparedRun]) -> None:
        # A run that names a queue may have created it or changed its limit: the Scheduler must re-read limits.
        self.control.wake(config_changed=any(p.declare_queue for p in prepared))

    def trigger(
        self,
        env: Env,
        task_id: str,
        request: TriggerRequest,
        *,
        payload_type: str | None = None,
        lineage: triggering.Lineage = triggering.Lineage(),
    ) -> dict[str, Any]:
        prepared = triggering.prepare(
            env.id, task_id, self._spec(env, task_id), request.payload, request.options, payload_type=payload_type, lineage=lineage
        )
        created = self._insert([prepared])[0]
        return {"id": created.id, "isCached": created.is_cached}

    def _prepare_items(
        self, env: Env, items: list[BatchItem], batch: str, lineage: triggering.Lineage, payload_types: list[str | None] | None = None
    ) -> list[triggering.PreparedRun]:
        prepared = []
        for index, item in enumerate(items):
            try:
                prepared.append(
                    triggering.prepare(
                        env.id,
                        item.task,
                        self._spec(env, item.task),
                        item.payload,
                        item.options,
                        payload_type=payload_types[index] if payload_types else None,
                        batch_id=batch,
                        lineage=lineage,
                    )
                )
            except (ValidationError, NotFoundError) as error:
                raise type(error)(f"item {index}: {error.message}", details=error.details) from None
        return prepared

    def batch_trigger(self, env: Env, request: BatchTriggerRequest, *, lineage: triggering.Lineage = triggering.Lineage()) -> dict[str, Any]:
        batch = new_batch_id()
        prepared = self._prepare_items(env, request.items, batch, lineage)
        now = utcnow()
        row = {"id": batch, "environment_id": env.id, "run_count": len(prepared), "items_accepted": len(prepared), "created_at": now, "updated_at": now}
        created = self._insert(prepared, batch=row)
        runs_out = [{"id": c.id, "taskIdentifier": c.task_identifier, "isCached": c.is_cached} for c in created]
        return {"id": batch, "runCount": len(created), "runs": runs_out}

    def create_batch(self, env: Env, run_count: int, idempotency_key: str | None = None) -> dict[str, Any]:
        """Phase one of Trigger.dev's streamed batches: reserve the batch, items follow."""
        if not 1 <= run_count <= MAX_BATCH_SIZE:
            raise ValidationError(f"runCount must be between 1 and {MAX_BATCH_SIZE}, got {run_count}")
        now = utcnow()
        with self.store.write() as conn:
            if idempotency_key:
                existing = conn.execute(
                    select(_batches).where(_batches.c.environment_id == env.id, _batches.c.idempotency_key == idempotency_key)
                ).first()
                if existing is not None:
                    return {"id": existing.id, "runCount": existing.run_count, "isCached": True}
            batch = new_batch_id()
            conn.execute(
                _batches.insert().values(
                    id=batch, environment_id=env.id, run_count=run_count, idempotency_key=idempotency_key, created_at=now, updated_at=now
                )
            )
        return {"id": batch, "runCount": run_count, "isCached": False}

    @staticmethod
    def _batch(conn: Any, env: Env, batch: str) -> Any:
        row = conn.execute(select(_batches).where(_batches.c.id == batch, _batches.c.environment_id == env.id)).first()
        if row is None:
            raise NotFoundError(f"batch {batch!r} not found")
        return row

    def stream_batch_items(self, env: Env, batch: str, items: list[BatchItem], payload_types: list[str | None]) -> dict[str, Any]:
        with self.store.read() as conn:
            row = self._batch(conn, env, batch)
        if row.items_accepted >= row.run_count:
            return {"id": batch, "itemsAccepted": 0, "itemsDeduplicated": len(items), "sealed": True}
        if len(items) != row.run_count:
            raise ValidationError(f"batch {batch} expects {row.run_count} items, got {len(items)}")
        prepared = self._prepare_items(env, items, batch, triggering.Lineage(trigger_function="batchTrigger"), payload_types)
        with self.store.write() as conn:
            claimed = conn.execute(
                update(_batches)
                .where(_batches.c.id == batch, _batches.c.items_accepted < _batches.c.run_count)
                .values(items_accepted=len(prepared), updated_at=utcnow())
            ).rowcount
            if claimed:
                triggering.insert_runs(conn, prepared)
        self._wake_for(prepared)
        accepted = len(prepared) if claimed else 0
        return {"id": batch, "itemsAccepted": accepted, "itemsDeduplicated": len(items) - accepted, "sealed": True}

    def retrieve_batch(self, env: Env, batch: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = self._batch(conn, env, batch)
            run_ids = [r[0] for r in conn.execute(select(runs.runs_table.c.id).where(runs.runs_table.c.batch_id == batch).order_by(runs.runs_table.c.id))]
        status = "COMPLETED" if len(run_ids) >= row.run_count else "PROCESSING"
        return {
            "id": row.id,
            "status": status,
            "createdAt": iso(row.created_at),
            "updatedAt": iso(row.updated_at),
            "runCount": row.run_count,
            "runs": run_ids,
            "processing": {"errors": []},
        }

    # -- reading and managing runs ------------------------------------------------------------

    def retrieve_run(self, env: Env, run_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = runs.get(conn, env.id, run_id)
            return runs.detail(conn, row)

    def list_runs(self, env: Env, params: dict[str, Any]) -> dict[str, Any]:
        filters = parse_list_params(params)
        with self.store.read() as conn:
            rows, next_cursor, previous_cursor = runs.list_page(conn, env.id, **filters)
        pagination = {k: v for k, v in (("next", next_cursor), ("previous", previous_cursor)) if v}
        return {"data": [serialize.run_summary(r, env.public) for r in rows], "pagination": pagination}

    def cancel_run(self, env: Env, run_id: str) -> dict[str, Any]:
        with self.store.write() as conn:
            before, was_active = lifecycle.cancel(conn, env.id, run_id)
            executing_below = lifecycle.cancel_descendants(conn, run_id) if before not in TERMINAL else []
        for stopped in ([run_id] if was_active else []) + executing_below:
            self.control.stop_run(stopped, "CANCELED")
        return {"id": run_id}

    def replay_run(self, env: Env, run_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new run of the same task with the same payload and options, or with `overrides` laid over them."""
        with self.store.read() as conn:
            row = runs.get(conn, env.id, run_id)
        options = {k: v for k, v in (row.options or {}).items() if k not in _NOT_REPLAYED}
        changes = dict(overrides or {})
        unknown = sorted(set(changes) - _REPLAY_KEYS)
        if unknown:
            raise ValidationError(f"replay: unknown option {', '.join(unknown)}; allowed: {', '.join(sorted(_REPLAY_KEYS))}")
        payload, payload_type = row.payload, None
        if "payload" in changes:
            payload, payload_type = changes.pop("payload"), changes.pop("payloadType", None)
        changes.pop("payloadType", None)
        if isinstance(changes.get("queue"), str):
            changes["queue"] = {"name": changes["queue"]}
        if "version" in changes:
            changes["lockToVersion"] = changes.pop("version")
        try:
            request = TriggerRequest(payload=payload, options=TriggerOptions.model_validate({**options, **changes}))
        except ValueError as error:
            raise ValidationError(f"replay: invalid options: {error}") from None
        body = self.trigger(env, row.task_identifier, request, payload_type=payload_type)
        with self.store.write() as conn:
            conn.execute(update(runs.runs_table).where(runs.runs_table.c.id == body["id"]).values(replayed_from=run_id))
        return {"id": body["id"], "taskIdentifier": row.task_identifier}

    def reschedule_run(self, env: Env, run_id: str, delay: Any) -> dict[str, Any]:
        from tether.durations import resolve_instant

        if delay is None:
            raise ValidationError("delay is required: a duration like '30s' or an ISO 8601 date")
        until = resolve_instant(delay, field="delay")
        with self.store.write() as conn:
            row = runs.get(conn, env.id, run_id)
            if row.status != RunStatus.DELAYED:
                raise ConflictError(f"only DELAYED runs can be rescheduled; {run_id} is {row.status}")
            ttl_seconds = None
            if row.expires_at is not None and row.delay_until is not None:
                ttl_seconds = (as_utc(row.expires_at) - as_utc(row.delay_until)).total_seconds()  # type: ignore[operator]
            moved = runs.transition(
                conn,
                run_id,
                RunStatus.DELAYED,
                delay_until=until,
                queued_at=until,
                available_at=until,
                dequeue_rank=until.timestamp() - runs.runs_table.c.priority,
                expires_at=until + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None,
            )
            if not moved:
                raise ConflictError(f"run {run_id} left DELAYED while it was being rescheduled")
        self.control.wake()
        return self.retrieve_run(env, run_id)

    def add_tags(self, env: Env, run_id: str, tags: Any) -> dict[str, Any]:
        checked = TriggerOptions(tags=tags).tags or []
        with self.store.write() as conn:
            added = runs.add_tags(conn, env.id, run_id, checked, MAX_TAGS)
        return {"message": f"Successfully set {added} new tags."}

    def update_metadata(self, env: Env, run_id: str, replace: dict[str, Any] | None, operations: list[dict[str, Any]]) -> dict[str, Any]:
        """Replace the run's metadata and/or apply operations to it (see tether.runtime.metadata)."""
        ops = ([{"type": "replace", "value": replace}] if replace is not None else []) + list(operations)
        if not ops:
            raise ValidationError("send 'metadata' (an object that replaces it) and/or 'operations' (a list of changes)")
        with self.store.write() as conn:
            return {"metadata": metadata.update_run(conn, env.id, run_id, ops)}

    def create_public_token(self, env: Env, scopes: dict[str, Any], expiration_time: Any = None, one_time_use: bool = False) -> dict[str, Any]:
        """A public access token for these scopes (see tether.runtime.public_tokens)."""
        granted = public_tokens.scopes_of(scopes)
        if one_time_use and any(not s.startswith("write:tasks:") for s in granted):
            raise ValidationError("a one-time token may only trigger tasks: give it write.tasks scopes only")
        expires = public_tokens.expires_at(expiration_time)
        return {"token": public_tokens.create(env, granted, expires, one_time=one_time_use), "expiresAt": iso(expires)}

    def run_logs(self, env: Env, run_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            runs.get(conn, env.id, run_id)
            return {"data": logs.read(conn, run_id)}

    # -- queues -----------------------------------------------------------------------------------

    def _queue_body(self, env: Env, row: Any, counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
        running, queued = counts.get(row.name, (0, 0))
        base = row.concurrency_limit if row.concurrency_limit is not None else env.concurrency_limit
        return {
            "id": row.id,
            "name": row.name,
            "type": "task" if row.kind == "task" else "custom",
            "running": running,
            "queued": queued,
            "paused": bool(row.paused),
            "concurrencyLimit": queue_store.effective_limit(row, env.concurrency_limit),
            "concurrency": {
                "current": queue_store.effective_limit(row, env.concurrency_limit),
                "base": base,
                "override": row.limit_override,
                "overriddenAt": iso(row.updated_at) if row.limit_override is not None else None,
                "overriddenBy": None,
            },
        }

    def list_queues(self, env: Env, page: int = 1, per_page: int = 100) -> dict[str, Any]:
        if page < 1 or not 1 <= per_page <= 1000:
            raise ValidationError("page must be >= 1 and perPage between 1 and 1000")
        with self.store.read() as conn:
            rows = queue_store.list_all(conn, env.id)
            counts = queue_store.counts(conn, env.id)
        chunk = rows[(page - 1) * per_page : page * per_page]
        total_pages = max(1, -(-len(rows) // per_page))
        return {
            "data": [self._queue_body(env, r, counts) for r in chunk],
            "pagination": {"currentPage": page, "totalPages": total_pages, "count": len(rows)},
        }

    def _queue_name(self, name: str, kind: str | None) -> str:
        if kind == "task" and not name.startswith("task/"):
            return f"task/{name}"
        return name

    def retrieve_queue(self, env: Env, name: str, kind: str | None = None) -> dict[str, Any]:
        with self.store.read() as conn:
            row = queue_store.get(conn, env.id, self._queue_name(name, kind))
            return self._queue_body(env, row, queue_store.counts(conn, env.id, [row.name]))

    def _update_queue(self, env: Env, name: str, kind: str | None, **values: Any) -> dict[str, Any]:
        with self.store.write() as conn:
            row = queue_store.set_fields(conn, env.id, self._queue_name(name, kind), **values)
            body = self._queue_body(env, row, queue_store.counts(conn, env.id, [row.name]))
        self.control.wake(config_changed=True)
        return body

    def pause_queue(self, env: Env, name: str, paused: bool, kind: str | None = None) -> dict[str, Any]:
        return self._update_queue(env, name, kind, paused=paused)

    def override_queue_limit(self, env: Env, name: str, limit: int, kind: str | None = None) -> dict[str, Any]:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 100_000:
            raise ValidationError(f"concurrencyLimit must be an integer from 0 to 100000, got {limit!r}")
        return self._update_queue(env, name, kind, limit_override=limit)

    def reset_queue_limit(self, env: Env, name: str, kind: str | None = None) -> dict[str, Any]:
        return self._update_queue(env, name, kind, limit_override=None)


_NOT_REPLAYED = {"idempotencyKey", "idempotencyKeyTTL", "delay"}
_REPLAY_KEYS = {
    "payload", "payloadType", "metadata", "tags", "queue", "concurrencyKey", "machine", "version", "delay", "ttl",
    "idempotencyKey", "idempotencyKeyTTL", "maxAttempts", "maxDuration", "priority",
}



class EngineBackend:
    """The SDK's backend inside a run: `Call`s go straight to the engine, children link to the run."""

    def __init__(self, engine: Engine, env: Env, lineage: triggering.Lineage) -> None:
        self.engine = engine
        self.env = env
        self.lineage = lineage

    def call(self, call: Call) -> Any:
        args = dict(call.args)
        op = call.op
        if op in ("trigger", "batch_trigger"):
            args["lineage"] = self.lineage
        elif op in ("trigger_and_wait", "batch_trigger_and_wait"):
            op = "trigger" if op == "trigger_and_wait" else "batch_trigger"
            args["lineage"] = dataclasses.replace(self.lineage, trigger_function="triggerAndWait" if op == "trigger" else "batchTriggerAndWait")
        return getattr(self.engine, op)(self.env, **args)

    async def acall(self, call: Call) -> Any:
        return await asyncio.to_thread(self.call, call)
