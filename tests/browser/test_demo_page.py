"""A real browser on the demo page: trigger the research agent, watch tokens arrive, reload
mid-answer, and see the whole answer once (headless Chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI, DevServer

DEMO = Path(__file__).parent.parent.parent / "demo"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser(playwright: Any) -> Any:
    if not os.path.exists(CHROMIUM):
        message = "Chromium is not installed (make test installs Debian's chromium when it can)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)


@pytest.mark.timeout(300)
def test_the_demo_page_streams_the_agent_and_a_reload_picks_the_answer_up_where_it_was(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns(".tether", "__pycache__"))
    server = DevServer(project)
    try:
        api = server.ready()
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.port}/realtime/demo")
            page.fill("#question", "durable waits")
            page.click("#go")
            page.wait_for_function("document.getElementById('answer').textContent.length > 60", timeout=60_000)
            before_reload = page.text_content("#answer") or ""
            assert page.get_attribute("#status", "data-status") != "COMPLETED"  # reloading mid-answer
            run_id = page.get_attribute("#status", "data-run-id")

            page.reload()
            page.wait_for_function("document.getElementById('answer').dataset.done === 'true'", timeout=90_000)
            after_reload = page.text_content("#answer") or ""
            page.wait_for_function("document.getElementById('status').dataset.status === 'COMPLETED'", timeout=30_000)
            assert "researching" in (page.text_content("#status") or "") or "done" in (page.text_content("#status") or "")
            browser.close()
        run = api.get(f"/api/v3/runs/{run_id}").json()
        assert run["status"] == "COMPLETED"
        assert after_reload.strip() == run["output"]["answer"]  # every token, once, in order
        assert after_reload.startswith(before_reload)
        assert after_reload.count("Here is what I found") == 1
        api.close()
    finally:
        server.interrupt()
