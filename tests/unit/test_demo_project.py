"""The demo project `make dev` serves imports cleanly and declares the brief's tasks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "demo"
# In a process of its own: the demo's task package is called `tasks`, like the test project's.
DISCOVER = "import json; from tether.config import load_config; from tether.runtime.discovery import discover; print(json.dumps(sorted(discover(load_config()).tasks)))"


def test_the_demo_project_declares_the_briefs_tasks() -> None:
    out = subprocess.run([sys.executable, "-c", DISCOVER], cwd=DEMO, capture_output=True, text=True, timeout=60, check=True)
    found = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert {"send-welcome-email", "user-onboarding", "publish-post", "process-video", "research-agent", "daily-digest", "shopify-scheduled-sync", "train-shards", "fit-shard"} <= found
