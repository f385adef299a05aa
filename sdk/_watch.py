"""`runs.watch`: a run and its stream, live, in a notebook cell or a terminal."""

from __future__ import annotations

import json
import sys
from typing import Any

from tether._subscribe import StreamChunk, subscribe_run, subscribe_run_with_streams
from tether.models import Run


def _notebook_display() -> Any:
    """IPython's `display` when running in a Jupyter kernel, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    return display if shell is not None and hasattr(shell, "kernel") else None


def _headline(run: Run[Any] | None) -> str:
    if run is None:
        return "connecting…"
    stage = (run.metadata or {}).get("stage")
    return f"{run.id} {run.task_identifier}: {run.status}" + (f" — {stage}" if stage else "")


def _text(chunk: Any) -> str:
    return chunk if isinstance(chunk, str) else json.dumps(chunk) + "\n"


def watch(run_id: str, stream: str | None, timeout: float | None) -> Run[Any]:
    display = _notebook_display()
    items = subscribe_run_with_streams(run_id, [stream], timeout=timeout) if stream else subscribe_run(run_id, timeout=timeout)
    run: Run[Any] | None = None
    text = ""
    handle = display({"text/plain": _headline(None)}, raw=True, display_id=True) if display else None
    for item in items:
        if isinstance(item, StreamChunk):
            text += _text(item.chunk)
            if handle is None:
                sys.stdout.write(_text(item.chunk))
                sys.stdout.flush()
        else:
            changed = run is None or (run.status, run.metadata) != (item.status, item.metadata)
            run = item
            if handle is None and changed:
                print(("\n" if text else "") + f"[{_headline(run)}]", flush=True)
        if handle is not None:
            handle.update({"text/plain": _headline(run) + ("\n\n" + text if text else "")}, raw=True)
    assert run is not None, f"run {run_id}'s stream ended before it sent the run"
    return run
