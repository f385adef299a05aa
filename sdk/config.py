"""Project configuration: `[tool.tether]` in pyproject.toml, or a `tether.toml` (same keys, top level).

    [tool.tether]
    project = "acme"
    dirs = ["tasks"]
    max_duration = 3600
    log_level = "INFO"

    [tool.tether.retries]
    enabled_in_dev = true
    default = { max_attempts = 3, factor = 2, min_timeout = 1, max_timeout = 30 }

    [tool.tether.hooks]
    on_failure = "tasks.observability:report_failure"
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from tether.errors import ConfigurationError
from tether.retry import Retry


class RetriesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled_in_dev: bool = True
    default: Retry = Field(default_factory=Retry)


class HooksConfig(BaseModel):
    """Global hooks as "module:function" references, run for every task."""

    model_config = ConfigDict(extra="forbid")

    init: str | None = None
    on_start: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    on_wait: str | None = None
    on_resume: str | None = None


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = "tether-project"
    dirs: list[str] = Field(default_factory=lambda: ["tasks"])
    max_duration: float | None = Field(default=None, gt=0)
    # Waits longer than this (seconds) checkpoint the run instead of sleeping in its process.
    checkpoint_waits_over: float = Field(default=5.0, ge=0)
    log_level: str = "INFO"
    retries: RetriesConfig = Field(default_factory=RetriesConfig)
    hooks: HooksConfig = Field(default_factory=HooksConfig)
    root: Path = Field(default_factory=Path.cwd, exclude=True)

    def resolve_hook(self, name: str) -> Callable[..., Any] | None:
        ref = getattr(self.hooks, name)
        if not ref:
            return None
        module_name, _, attr = ref.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as exc:  # ValueError: an empty module name
            raise ConfigurationError(f"hooks.{name} = {ref!r} cannot be loaded: {exc}") from exc


def find_project_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "tether.toml").is_file():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "tool" in (data := _read(pyproject)) and "tether" in data["tool"]:
            return folder
    return here


def load_config(root: Path | None = None) -> ProjectConfig:
    """Read the project's config from `root` (default: the nearest folder that has one)."""
    root = (root or find_project_root()).resolve()
    raw: dict[str, Any] = {}
    source = root
    if (root / "tether.toml").is_file():
        source = root / "tether.toml"
        raw = _read(source)
    elif (root / "pyproject.toml").is_file():
        source = root / "pyproject.toml"
        raw = _read(source).get("tool", {}).get("tether", {})
    try:
        return ProjectConfig.model_validate({**raw, "root": root})
    except PydanticValidationError as exc:
        raise ConfigurationError(f"invalid Tether config in {source}: {exc}") from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
