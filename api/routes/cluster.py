"""The cluster: its nodes, the runs executing on each, and what queued runs wait for (`tether status`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from tether.api.routes.tasks import EngineDep, EnvDep

router = APIRouter(tags=["cluster"])


@router.get("/api/v1/cluster", summary="The cluster's nodes and the runs executing on each")
async def cluster_status(env: EnvDep, engine: EngineDep) -> dict[str, Any]:
    status = await run_in_threadpool(engine.control.cluster_status)
    # One Scheduler serves every environment on the cluster: a key sees its own runs, and how many others there are.
    for node in status["nodes"]:
        runs = node.pop("runs")
        node["runs"] = [{k: v for k, v in run.items() if k != "environmentId"} for run in runs if run["environmentId"] == env.id]
        node["otherRuns"] = len(runs) - len(node["runs"])
    return status
