"""Every gateway operation the SDK makes, described once as data.

A `Call` names the operation and its arguments, and knows its HTTP form. The HTTP clients
(sync and async) send it over the wire; inside a run the engine backend executes the same
`Call` in-process by its `op`, so both paths share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tether.options import BatchTriggerRequest, CreateTokenRequest, TriggerRequest

if TYPE_CHECKING:
    from tether.schedules import ScheduleRequest


@dataclass(frozen=True)
class Call:
    op: str
    method: str
    path: str
    args: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    params: dict[str, Any] | None = None


def _q(value: str) -> str:
    return quote(value, safe="")


def trigger(task_id: str, request: TriggerRequest) -> Call:
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("trigger", "POST", f"/api/v1/tasks/{_q(task_id)}/trigger", {"task_id": task_id, "request": request}, body)


def trigger_and_wait(task_id: str, request: TriggerRequest) -> Call:
    """A trigger from inside a run whose caller waits for the child (only the engine backend serves it)."""
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("trigger_and_wait", "POST", f"/api/v1/tasks/{_q(task_id)}/trigger", {"task_id": task_id, "request": request}, body)


def batch_trigger(request: BatchTriggerRequest) -> Call:
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("batch_trigger", "POST", "/api/v2/tasks/batch", {"request": request}, body)


def batch_trigger_and_wait(request: BatchTriggerRequest) -> Call:
    """A batch from inside a run whose caller waits for every item (only the engine backend serves it)."""
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("batch_trigger_and_wait", "POST", "/api/v2/tasks/batch", {"request": request}, body)


def retrieve_run(run_id: str) -> Call:
    return Call("retrieve_run", "GET", f"/api/v3/runs/{_q(run_id)}", {"run_id": run_id})


def list_runs(params: dict[str, Any]) -> Call:
    return Call("list_runs", "GET", "/api/v1/runs", {"params": params}, params=params)


def cancel_run(run_id: str) -> Call:
    return Call("cancel_run", "POST", f"/api/v2/runs/{_q(run_id)}/cancel", {"run_id": run_id})


def replay_run(run_id: str) -> Call:
    return Call("replay_run", "POST", f"/api/v1/runs/{_q(run_id)}/replay", {"run_id": run_id})


def reschedule_run(run_id: str, delay: Any) -> Call:
    return Call("reschedule_run", "POST", f"/api/v1/runs/{_q(run_id)}/reschedule", {"run_id": run_id, "delay": delay}, {"delay": delay})


def add_tags(run_id: str, tags: list[str]) -> Call:
    return Call("add_tags", "POST", f"/api/v1/runs/{_q(run_id)}/tags", {"run_id": run_id, "tags": tags}, {"tags": tags})


def run_logs(run_id: str) -> Call:
    return Call("run_logs", "GET", f"/api/v1/runs/{_q(run_id)}/logs", {"run_id": run_id})


def list_queues() -> Call:
    return Call("list_queues", "GET", "/api/v1/queues")


def retrieve_queue(name: str) -> Call:
    return Call("retrieve_queue", "GET", f"/api/v1/queues/{_q(name)}", {"name": name})


def pause_queue(name: str, paused: bool) -> Call:
    action = "pause" if paused else "resume"
    return Call("pause_queue", "POST", f"/api/v1/queues/{_q(name)}/pause", {"name": name, "paused": paused}, {"action": action})


def override_queue_limit(name: str, limit: int) -> Call:
    return Call(
        "override_queue_limit",
        "POST",
        f"/api/v1/queues/{_q(name)}/concurrency/override",
        {"name": name, "limit": limit},
        {"concurrencyLimit": limit},
    )


def reset_queue_limit(name: str) -> Call:
    return Call("reset_queue_limit", "POST", f"/api/v1/queues/{_q(name)}/concurrency/reset", {"name": name})


# -- wait tokens ---------------------------------------------------------------------------------------


def create_token(request: CreateTokenRequest) -> Call:
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("create_token", "POST", "/api/v1/waitpoints/tokens", {"request": request}, body)


def retrieve_token(token_id: str) -> Call:
    return Call("retrieve_token", "GET", f"/api/v1/waitpoints/tokens/{_q(token_id)}", {"token_id": token_id})


def list_tokens(status: str | None, limit: int, after: str | None) -> Call:
    params = {k: v for k, v in (("status", status), ("limit", limit), ("after", after)) if v is not None}
    return Call("list_tokens", "GET", "/api/v1/waitpoints/tokens", {"status": status, "limit": limit, "after": after}, params=params)


def complete_token(token_id: str, data: Any) -> Call:
    return Call("complete_token", "POST", f"/api/v1/waitpoints/tokens/{_q(token_id)}/complete", {"token_id": token_id, "data": data}, {"data": data})


def create_public_token(scopes: dict[str, Any], expiration_time: Any, one_time_use: bool) -> Call:
    args = {"scopes": scopes, "expiration_time": expiration_time, "one_time_use": one_time_use}
    body = {"scopes": scopes, "expirationTime": expiration_time, "oneTimeUse": one_time_use}
    return Call("create_public_token", "POST", "/api/v1/auth/jwt", args, body)


# -- schedules ---------------------------------------------------------------------------------------------


def create_schedule(request: ScheduleRequest) -> Call:
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("create_schedule", "POST", "/api/v1/schedules", {"request": request}, body)


def retrieve_schedule(schedule_id: str) -> Call:
    return Call("retrieve_schedule", "GET", f"/api/v1/schedules/{_q(schedule_id)}", {"schedule_id": schedule_id})


def list_schedules(task: str | None, page: int, per_page: int) -> Call:
    params = {k: v for k, v in (("task", task), ("page", page), ("perPage", per_page)) if v is not None}
    return Call("list_schedules", "GET", "/api/v1/schedules", {"task": task, "page": page, "per_page": per_page}, params=params)


def update_schedule(schedule_id: str, request: ScheduleRequest) -> Call:
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Call("update_schedule", "PUT", f"/api/v1/schedules/{_q(schedule_id)}", {"schedule_id": schedule_id, "request": request}, body)


def delete_schedule(schedule_id: str) -> Call:
    return Call("delete_schedule", "DELETE", f"/api/v1/schedules/{_q(schedule_id)}", {"schedule_id": schedule_id})


def set_schedule_active(schedule_id: str, active: bool) -> Call:
    action = "activate" if active else "deactivate"
    return Call("set_schedule_active", "POST", f"/api/v1/schedules/{_q(schedule_id)}/{action}", {"schedule_id": schedule_id, "active": active})


def timezones(exclude_utc: bool) -> Call:
    return Call("timezones", "GET", "/api/v1/timezones", {"exclude_utc": exclude_utc}, params={"excludeUtc": str(exclude_utc).lower()})


def cluster_status() -> Call:
    return Call("cluster_status", "GET", "/api/v1/cluster")
