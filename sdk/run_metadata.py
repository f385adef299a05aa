"""Run metadata from task code: progress and status that realtime subscribers see as it changes.

    from tether import metadata, task

    @task(id="process-video")
    def process_video(payload: dict) -> dict:
        metadata.set("stage", "transcoding")
        for done, chunk in enumerate(chunks, 1):
            ...
            metadata.set("progress", done / len(chunks))
        metadata.parent.increment("videos_done")     # the run that triggered this one
        metadata.root.append("log", "video ready")   # the first run of the tree

Calls return at once: they change the run's metadata as this code sees it (`metadata.get`,
`metadata.current()`) and are sent to the database in batches, within 50 ms, before the run
checkpoints and before it ends (or now, with `metadata.flush()`). Metadata is a JSON object of at
most 256 KB; a change that would pass the limit raises ValidationError. Outside a run the calls
do nothing and `current()` is empty.
"""

from __future__ import annotations

import copy
import threading
from contextvars import ContextVar
from typing import Any, Protocol

from tether.errors import ValidationError


class Sink(Protocol):
    """What a run's executor gives this module: somewhere to send operations for a run."""

    def send(self, target: str, operation: dict[str, Any]) -> None: ...

    def flush(self) -> None: ...


_sink: ContextVar[Sink | None] = ContextVar("tether_metadata_sink", default=None)
_state: ContextVar[dict[str, Any] | None] = ContextVar("tether_metadata_state", default=None)
MAX_BYTES = 256 * 1024
_lock = threading.Lock()


def install(sink: Sink | None, initial: dict[str, Any] | None) -> None:
    """Called by the executor as a run starts, in the run's context."""
    _sink.set(sink)
    _state.set(copy.deepcopy(initial or {}) if sink is not None else None)


class _Updates:
    """The operations, for one target: this run ("self"), its parent or its root."""

    def __init__(self, target: str) -> None:
        self._target = target

    def _send(self, operation: dict[str, Any]) -> None:
        sink = _sink.get()
        if sink is None:
            return
        with _lock:  # threads of one run (tether.parallel) apply and send in one order
            if self._target == "self":
                from tether.runtime.metadata import apply, encoded_size  # the same rules the server applies

                state = _state.get()
                changed = apply(state, [operation])
                size = encoded_size(changed)
                if size > MAX_BYTES:
                    raise ValidationError(f"this run's metadata would be {size:,} bytes; the limit is {MAX_BYTES:,} (256 KB)")
                state.clear()  # type: ignore[union-attr]
                state.update(changed)  # type: ignore[union-attr]
            sink.send(self._target, operation)

    def set(self, key: str, value: Any) -> None:
        self._send({"type": "set", "key": key, "value": value})

    def delete(self, key: str) -> None:
        self._send({"type": "delete", "key": key})

    def append(self, key: str, value: Any) -> None:
        """Add `value` to the list at `key` (made a list if it was missing or a single value)."""
        self._send({"type": "append", "key": key, "value": value})

    def remove(self, key: str, value: Any) -> None:
        """Take every item equal to `value` out of the list at `key`."""
        self._send({"type": "remove", "key": key, "value": value})

    def increment(self, key: str, by: float = 1) -> None:
        self._send({"type": "increment", "key": key, "value": by})

    def decrement(self, key: str, by: float = 1) -> None:
        self._send({"type": "increment", "key": key, "value": -by})

    def replace(self, value: dict[str, Any]) -> None:
        """Make the whole metadata `value` (a JSON object)."""
        if not isinstance(value, dict):
            raise ValidationError(f"metadata.replace needs a dict, got {type(value).__name__}")
        self._send({"type": "replace", "value": value})


class Metadata(_Updates):
    """`tether.metadata`: this run's metadata, and `.parent` / `.root` for the runs above it."""

    def __init__(self) -> None:
        super().__init__("self")
        self.parent = _Updates("parent")
        self.root = _Updates("root")

    def get(self, key: str, default: Any = None) -> Any:
        with _lock:
            return copy.deepcopy((_state.get() or {}).get(key, default))

    def current(self) -> dict[str, Any]:
        with _lock:
            return copy.deepcopy(_state.get() or {})

    def flush(self) -> None:
        """Send what is pending now and wait until it is stored."""
        sink = _sink.get()
        if sink is not None:
            sink.flush()


metadata = Metadata()
