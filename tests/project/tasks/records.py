"""Side-effect records: each line a JSON object appended to a file the test chose (O_APPEND is atomic for short lines)."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def record(path: str | None, **fields: Any) -> None:
    if not path:
        return
    line = json.dumps({"t": time.time(), "pid": os.getpid(), "ppid": os.getppid(), **fields}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read(path: str) -> list[dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]
