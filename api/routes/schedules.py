"""Schedules: create (idempotent by deduplication key), list, retrieve, update, delete, activate,
deactivate; and the timezones a schedule accepts. Trigger.dev's routes and JSON shapes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tether.api.routes.tasks import EngineDep, EnvDep
from tether.schedules import ScheduleRequest

router = APIRouter(tags=["schedules"])


@router.post("/api/v1/schedules", summary="Create a schedule, or update the one with the same deduplication key")
def create_schedule(body: ScheduleRequest, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.create_schedule(env, body)


@router.get("/api/v1/schedules", summary="List schedules, oldest first")
def list_schedules(env: EnvDep, engine: EngineDep, task: str | None = None, page: int = 1, perPage: int = 20) -> dict[str, Any]:
    return engine.list_schedules(env, task, page, perPage)


@router.get("/api/v1/schedules/{schedule_id}", summary="Retrieve a schedule")
def retrieve_schedule(schedule_id: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.retrieve_schedule(env, schedule_id)


@router.put("/api/v1/schedules/{schedule_id}", summary="Replace an imperative schedule's task, cron, timezone and external id")
def update_schedule(schedule_id: str, body: ScheduleRequest, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.update_schedule(env, schedule_id, body)


@router.delete("/api/v1/schedules/{schedule_id}", summary="Delete an imperative schedule")
def delete_schedule(schedule_id: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.delete_schedule(env, schedule_id)


@router.post("/api/v1/schedules/{schedule_id}/activate", summary="Fire again, from the next instant on")
def activate_schedule(schedule_id: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.set_schedule_active(env, schedule_id, True)


@router.post("/api/v1/schedules/{schedule_id}/deactivate", summary="Stop firing until activated")
def deactivate_schedule(schedule_id: str, env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    return engine.set_schedule_active(env, schedule_id, False)


@router.get("/api/v1/timezones", summary="The IANA timezones a schedule accepts (public, as Trigger.dev's)")
def timezones(engine: EngineDep, excludeUtc: bool = False) -> dict[str, Any]:
    return engine.timezones(None, excludeUtc)
