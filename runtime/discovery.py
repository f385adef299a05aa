"""Finding task code: import every module under the project's `dirs`, and fingerprint it.

The fingerprint (a hash of the files' contents) decides whether a reload is a new version.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from tether.config import ProjectConfig
from tether.errors import ConfigurationError
from tether.tasks import Task, registered_tasks, unregister_module


@dataclass(frozen=True)
class Discovered:
    project_root: str
    modules: tuple[str, ...]
    content_hash: str
    tasks: dict[str, Task]


def module_names(config: ProjectConfig) -> list[tuple[str, Path]]:
    root = config.root
    found: list[tuple[str, Path]] = []
    for folder in config.dirs:
        base = (root / folder).resolve()
        if not base.is_dir():
            raise ConfigurationError(f"dirs: {folder!r} is not a folder under {root}")
        for path in sorted(base.rglob("*.py")):
            if any(part.startswith((".", "_")) and part != "__init__.py" for part in path.relative_to(root).parts):
                continue
            relative = path.relative_to(root).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            found.append((".".join(parts), path))
    return found


def discover(config: ProjectConfig, *, reload: bool = False) -> Discovered:
    """Import the project's task modules (re-importing them when `reload`) and return what they define."""
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    modules = module_names(config)
    digest = hashlib.sha256()
    for name, path in modules:
        digest.update(name.encode())
        digest.update(path.read_bytes())
    for name, _ in modules:
        if reload and name in sys.modules:
            unregister_module(name)
            del sys.modules[name]
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigurationError(f"cannot import task module {name}: {type(exc).__name__}: {exc}") from exc
    names = {name for name, _ in modules}
    tasks = {tid: t for tid, t in registered_tasks().items() if t.module in names}
    return Discovered(root, tuple(n for n, _ in modules), digest.hexdigest()[:16], tasks)


def import_modules(project_root: str, modules: tuple[str, ...] | list[str]) -> None:
    """What a RunActor does at start: the same imports, without fingerprinting."""
    if project_root not in sys.path:
        sys.path.insert(0, project_root)
    for name in modules:
        importlib.import_module(name)
