"""Capturing what a run prints and logs, so it is stored with the run.

A RunActor hosts one run at a time, so one process-wide sink is enough: `print` (stdout and
stderr) and every `logging` record go to the current run's buffer, and still to the worker's
own output. The buffer is flushed to the store in batches, not a write per line.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import Any, TextIO

from tether._wire import utcnow


class RunSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[dict[str, Any]] = []
        self.run_id: str | None = None
        self.attempt = 0

    def start(self, run_id: str, attempt: int) -> None:
        with self._lock:
            self.run_id, self.attempt, self._lines = run_id, attempt, []

    def stop(self) -> list[dict[str, Any]]:
        with self._lock:
            lines, self._lines, self.run_id = self._lines, [], None
            return lines

    def add(self, level: str, message: str) -> None:
        with self._lock:
            if self.run_id is None:
                return
            self._lines.append(
                {"run_id": self.run_id, "attempt": self.attempt, "level": level, "message": message, "created_at": utcnow()}
            )

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            lines, self._lines = self._lines, []
            return lines


class _Tee(io.TextIOBase):
    def __init__(self, original: TextIO, sink: RunSink, level: str) -> None:
        self._original = original
        self._sink = sink
        self._level = level
        self._partial = ""

    def write(self, text: str) -> int:
        self._original.write(text)
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                self._sink.add(self._level, line)
        return len(text)

    def flush(self) -> None:
        self._original.flush()


class _Handler(logging.Handler):
    def __init__(self, sink: RunSink) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("ray", "tether.store", "tether.actor", "urllib3", "httpx", "sqlalchemy")):
            return
        try:
            self._sink.add(record.levelname, self.format(record))
        except Exception:  # a log line must never break the run
            self.handleError(record)


def install(sink: RunSink, level: str = "INFO") -> None:
    sys.stdout = _Tee(sys.stdout, sink, "INFO")  # type: ignore[assignment]
    sys.stderr = _Tee(sys.stderr, sink, "ERROR")  # type: ignore[assignment]
    handler = _Handler(sink)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    task_logger = logging.getLogger("tether.task")
    task_logger.setLevel(level.upper())
