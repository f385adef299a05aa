"""Tether: durable background tasks for Python, on Ray.

    from tether import task, queue, Retry

    @task(id="hello")
    def hello(payload: dict) -> str:
        return f"hello {payload['name']}"

    handle = hello.trigger({"name": "Ada"})
    print(handle.wait().output)
"""

from tether import auth, idempotency_keys, pipelines, queues, runs, schedules, streams, tasks
from tether.client import AsyncClient, Client, configure
from tether.config import ProjectConfig, load_config
from tether.errors import (
    AbortTaskRunError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    NonDeterminismError,
    NotFoundError,
    OutputNotSerializableError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RunFailedError,
    TaskRunCanceled,
    TetherError,
    ValidationError,
    WaitTimeoutError,
)
from tether.handles import RunHandle
from tether.machines import PRESETS as MACHINE_PRESETS
from tether.machines import Machine
from tether.models import BatchResult, QueueInfo, Run, RunPage
from tether.queues import Queue, queue
from tether.retry import Retry
from tether.steps import Step, step
from tether.waits import Wait, wait
from tether.tasks import Hooks, Task, task
from tether.children import TaskRunResult
from tether.branches import parallel
from tether.run_metadata import metadata
from tether.context import RunContext, current_run, logger

__version__ = "0.1.0"

__all__ = [
    "MACHINE_PRESETS",
    "AbortTaskRunError",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BatchResult",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "Hooks",
    "Machine",
    "NonDeterminismError",
    "NotFoundError",
    "OutputNotSerializableError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProjectConfig",
    "Queue",
    "QueueInfo",
    "Retry",
    "Run",
    "RunContext",
    "RunFailedError",
    "RunHandle",
    "RunPage",
    "Step",
    "Task",
    "TaskRunResult",
    "TaskRunCanceled",
    "TetherError",
    "ValidationError",
    "Wait",
    "WaitTimeoutError",
    "auth",
    "configure",
    "current_run",
    "idempotency_keys",
    "load_config",
    "logger",
    "metadata",
    "parallel",
    "pipelines",
    "queue",
    "queues",
    "runs",
    "schedules",
    "step",
    "streams",
    "task",
    "wait",
    "tasks",
]
