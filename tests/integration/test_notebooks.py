"""The notebooks in notebooks/ run top to bottom against a live gateway, on the demo's own tasks.

The test project runs the demo modules the notebooks need (tasks.demo_*), so the notebooks trigger
the same task ids with the same code as under `make dev`. Each notebook has its checks here: a
notebook added without them fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds for one cell; each notebook's test has its own overall timeout


class Executed:
    """A notebook after nbclient ran it: its code cells' outputs, and what they showed."""

    def __init__(self, notebook: Any) -> None:
        self.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        self.outputs = [output for cell in self.cells for output in cell.get("outputs", [])]

    def errors(self) -> list[str]:
        return [f"{o.get('ename')}: {o.get('evalue')}" for o in self.outputs if o.get("output_type") == "error"]

    def printed(self, cell: int) -> str:
        """What code cell `cell` (counting from 0) printed."""
        return "".join(o.get("text", "") for o in self.cells[cell].get("outputs", []) if o.get("output_type") == "stream")

    def shown(self, kind: str = "text/plain") -> list[Any]:
        """Every value of type `kind` the cells displayed or returned."""
        kinds = ("display_data", "update_display_data", "execute_result")
        return [o["data"][kind] for o in self.outputs if o.get("output_type") in kinds and kind in o.get("data", {})]

    def run_id(self) -> str:
        """The first run id a cell returned (the triggering cell's `handle.id`)."""
        for text in self.shown():
            if found := re.search(r"'(run_[0-9a-z]+)'", text):
                return found.group(1)
        raise AssertionError(f"no cell returned a run id: {self.shown()}")


def _execute(path: Path, stack: Any, monkeypatch: pytest.MonkeyPatch) -> Executed:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TETHER_API_URL", stack.url)
    monkeypatch.setenv("TETHER_SECRET_KEY", stack.settings.secret_key)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    executed = Executed(notebook)
    assert not executed.errors(), executed.errors()
    return executed


def quickstart(executed: Executed, sdk: Any) -> None:
    run = sdk.runs.retrieve(executed.run_id())
    assert (run.task_identifier, run.status) == ("send-welcome-email", "COMPLETED")
    assert "COMPLETED" in executed.printed(2)  # the statuses the subscription saw, up to the last
    assert any("Welcome, Ada" in text for text in executed.shown())  # the output, read back
    assert "Welcome, Grace" in executed.printed(4)  # trigger_and_wait's unwrapped output


def ai_agent(executed: Executed, sdk: Any) -> None:
    run = sdk.runs.retrieve(executed.run_id())
    assert (run.task_identifier, run.status) == ("research-agent", "COMPLETED")
    answer = run.output["answer"]
    # The whole answer arrived in the cell as it streamed, before the agent stopped to ask.
    assert executed.printed(2).strip() == answer and answer.startswith("Here is what I found")
    # The approval is what the run published: its token was completed with the notebook's decision.
    assert run.output["status"] == "published" and run.output["feedback"] == "Clear and short: publish it."
    token = sdk.wait.retrieve_token(run.metadata["approval_token"])
    assert token.status == "COMPLETED" and token.output == {"approved": True, "feedback": "Clear and short: publish it."}
    assert run.metadata["stage"] == "published"
    # runs.watch drew the finished run with the whole answer, streamed once (the resume did not ask the model again).
    watched = [text for text in executed.shown() if text.startswith(run.id)]
    assert any("COMPLETED — published" in text and answer in text for text in watched), watched
    assert watched[-1].count("Here is what I found") == 1
    assert "".join(sdk.streams.read(run.id, "llm", timeout=30)).strip() == answer


def ml_pipeline(executed: Executed, sdk: Any) -> None:
    run = sdk.runs.retrieve(executed.run_id())
    assert (run.task_identifier, run.status) == ("train-shards", "COMPLETED")
    shards = run.payload["shards"]
    fits = run.output["shards"]
    assert [f["shard"] for f in fits] == list(range(shards))  # one result per shard, in shard order
    assert all(f["rows"] == run.payload["rows"] and 0.5 < f["r2"] <= 1 for f in fits)
    assert 0.03 < run.output["drift_per_shard"] < 0.07  # the fits found the data's drift (0.05 per shard)
    assert run.metadata["shards_done"] == shards
    children = [sdk.runs.retrieve(child.id) for child in run.related_runs.children]
    assert sorted(c.output["shard"] for c in children) == list(range(shards))
    assert {(c.task_identifier, c.machine, c.status) for c in children} == {("fit-shard", "small-2x", "COMPLETED")}
    assert f"{shards}/{shards} shards fitted" in executed.printed(2)
    assert executed.shown("image/png"), "the plot cell drew no figure"


CHECKS: dict[str, Callable[[Executed, Any], None]] = {
    "01_quickstart": quickstart,
    "02_ai_agent": ai_agent,
    "03_ml_pipeline": ml_pipeline,
}


def test_every_notebook_has_checks() -> None:
    assert [path.stem for path in NOTEBOOKS] == sorted(CHECKS)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_against_the_gateway(stack: Any, sdk: Any, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CHECKS[path.stem](_execute(path, stack, monkeypatch), sdk)
