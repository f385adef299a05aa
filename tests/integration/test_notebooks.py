"""The notebooks in notebooks/ run top to bottom against a live gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_against_the_gateway(stack: Any, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TETHER_API_URL", stack.url)
    monkeypatch.setenv("TETHER_SECRET_KEY", stack.settings.secret_key)
    monkeypatch.setenv("TETHER_NOTEBOOK_TASK", "echo")  # the test project's stand-ins for the demo tasks
    monkeypatch.setenv("TETHER_NOTEBOOK_STREAM_TASK", "stream-words")
    monkeypatch.setenv("TETHER_NOTEBOOK_STREAM_PAYLOAD", '{"count": 5}')
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("COMPLETED" in o.get("text", "") for o in outputs)
    shown = [o["data"]["text/plain"] for o in outputs if o.get("output_type") in ("display_data", "update_display_data")]
    if path.stem == "stream_an_agent":  # runs.watch drew the run and its streamed text in the cell
        assert any("COMPLETED" in text and "w4" in text for text in shown), shown
