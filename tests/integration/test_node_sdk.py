"""Trigger.dev's official Node SDK (`@trigger.dev/sdk`, pinned in tests/node), unchanged, against the real gateway.

tests/node/sdk_compat.mjs does the work with the SDK's public calls only; this test installs the
pinned SDK once per session and runs the script against each database's stack. Without node and
npm the test skips locally and fails under CI (CI=true), as the PostgreSQL half does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

NODE_PROJECT = Path(__file__).parent.parent / "node"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MIN_NODE = (18, 20)  # what @trigger.dev/sdk 4.x declares in its engines field
INSTALL_TIMEOUT = 300
SCRIPT_TIMEOUT = 120
CHECKS = 7  # one per behaviour sdk_compat.mjs proves


def _unavailable(message: str) -> NoReturn:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _node_version(node: str) -> tuple[int, ...]:
    text = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    return tuple(int(part) for part in text.strip().lstrip("v").split(".")[:2])


@pytest.fixture(scope="session")
def node_sdk() -> str:
    """The node binary, with tests/node's locked dependencies installed into tests/node/node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are needed to run Trigger.dev's Node SDK against Tether")
    if _node_version(node) < MIN_NODE:
        _unavailable(f"@trigger.dev/sdk needs node >= {'.'.join(map(str, MIN_NODE))}")
    # `npm ci` installs exactly the committed lockfile; `npm install` only bootstraps a missing one.
    command = "ci" if (NODE_PROJECT / "package-lock.json").exists() else "install"
    installed = subprocess.run(
        [npm, command, "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=NODE_PROJECT,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, f"npm {command} failed in {NODE_PROJECT}:\n{installed.stdout}\n{installed.stderr}"
    return node


def _report(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


# Session start-up (Ray, the stack, npm ci) happens inside the first test that asks for it.
@pytest.mark.timeout(INSTALL_TIMEOUT + SCRIPT_TIMEOUT + 120)
def test_trigger_dev_node_sdk_triggers_retrieves_lists_cancels_and_replays_runs_and_manages_schedules(stack: Any, node_sdk: str) -> None:
    env = {
        **os.environ,
        "TETHER_URL": stack.url,
        "TETHER_TOKEN": stack.settings.secret_key,
        # The script reports on its own a little before the subprocess would be killed.
        "TETHER_SDK_TIMEOUT_MS": str((SCRIPT_TIMEOUT - 10) * 1000),
    }
    try:
        done = subprocess.run(
            [node_sdk, "sdk_compat.mjs"], cwd=NODE_PROJECT, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"sdk_compat.mjs did not finish in {SCRIPT_TIMEOUT} s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, output
    report = _report(done.stdout)
    assert report is not None and report["ok"] is True, output
    assert len(report["checks"]) == CHECKS and all(c["ok"] for c in report["checks"]), output
