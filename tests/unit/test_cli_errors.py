"""The `tether` command reports Tether's errors as one line and exit code 1, not as a traceback."""

from __future__ import annotations

import pytest


def test_an_unreachable_gateway_is_one_line_and_exit_code_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tether import client
    from tether.cli import main as cli

    monkeypatch.setattr(client, "_settings", client._Settings())  # only the environment below, restored after
    monkeypatch.setenv("TETHER_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TETHER_SECRET_KEY", "tt_dev_x")
    monkeypatch.setattr("sys.argv", ["tether", "trigger", "echo"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "ConnectionError: cannot reach Tether at http://127.0.0.1:9" in out
    assert "Traceback" not in out
