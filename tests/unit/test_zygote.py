"""The zygote on its own (no Ray): it imports the task code once and forks run processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tether.actors.zygote import Boot, Zygote, ZygoteError

from conftest import process_alive


def _boot(root: Path, modules: tuple[str, ...], database_url: str) -> Boot:
    settings = {"database_url": database_url, "environment_id": "env_x", "version": "v1", "lease": 30.0}
    return Boot(tuple(sys.path), str(root), modules, settings)


def test_a_zygote_whose_task_code_fails_to_import_says_why(tmp_path: Path) -> None:
    (tmp_path / "broken_tasks.py").write_text("raise RuntimeError('the config file is missing')\n")
    with pytest.raises(ZygoteError, match="cannot import the task code: RuntimeError: the config file is missing"):
        Zygote(_boot(tmp_path, ("broken_tasks",), f"sqlite:///{tmp_path / 'tether.db'}"))


def test_a_run_process_that_cannot_start_reports_why_and_exits(tmp_path: Path) -> None:
    (tmp_path / "fine_tasks.py").write_text("VALUE = 1\n")
    zygote = Zygote(_boot(tmp_path, ("fine_tasks",), f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables in it
    try:
        process = zygote.spawn()
        assert process.conn.poll(30)
        kind, reason = process.conn.recv()
        assert kind == "failed" and "the run process could not start" in reason
        assert zygote.reap(process.pid) == 1
    finally:
        zygote.close()


def test_closing_a_zygote_ends_its_process(tmp_path: Path) -> None:
    (tmp_path / "fine_tasks.py").write_text("VALUE = 1\n")
    zygote = Zygote(_boot(tmp_path, ("fine_tasks",), f"sqlite:///{tmp_path / 'tether.db'}"))
    pid = zygote.pid
    assert process_alive(pid)
    zygote.close()
    assert not process_alive(pid)
