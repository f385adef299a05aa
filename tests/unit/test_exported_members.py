"""`tether.__all__` is the public surface; changing it is a deliberate act that edits this list."""

from __future__ import annotations

import ast
from pathlib import Path

import tether

EXPORTED = [
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


def _names_bound_in_init() -> set[str]:
    """Every name `tether/__init__.py` binds at top level, read from its source rather than from
    the module (whose namespace also holds submodules that merely got imported)."""
    tree = ast.parse(Path(tether.__file__).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def test_all_is_exactly_the_pinned_list() -> None:
    assert sorted(tether.__all__) == sorted(EXPORTED)


def test_all_names_each_member_once() -> None:
    assert len(tether.__all__) == len(set(tether.__all__))


def test_every_exported_name_exists_on_the_package() -> None:
    missing = [name for name in tether.__all__ if not hasattr(tether, name)]
    assert missing == []


def test_every_public_name_defined_in_init_is_exported() -> None:
    public = {name for name in _names_bound_in_init() if not name.startswith("_")}
    assert sorted(public - set(tether.__all__)) == []


def test_every_exported_name_is_defined_in_init() -> None:
    assert sorted(set(tether.__all__) - _names_bound_in_init()) == []
