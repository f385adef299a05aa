"""`import tether` in a script or a web app must not drag in Ray, the gateway or the database layer, nor
the HTTP client (loaded with the first `Client` or event-stream reader) and the CLI libraries it brings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["ray", "fastapi", "sqlalchemy", "sqlmodel", "starlette", "uvicorn", "httpx", "rich", "click"]

_PROBE = "import json, sys, tether; print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"


@pytest.fixture(scope="module")
def loaded_by_import() -> set[str]:
    """Top-level modules present after `import tether` in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(result.stdout))


def test_the_probe_sees_what_tether_itself_imports(loaded_by_import: set[str]) -> None:
    # Guards the probe: if it saw nothing, every check below would pass vacuously.
    assert {"tether", "pydantic"} <= loaded_by_import


@pytest.mark.parametrize("module", HEAVY)
def test_importing_tether_does_not_load(module: str, loaded_by_import: set[str]) -> None:
    assert module not in loaded_by_import
