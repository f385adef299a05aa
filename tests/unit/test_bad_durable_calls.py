"""Durable calls refuse bad arguments with a ValidationError that says what to fix, before doing anything."""

from __future__ import annotations

import pytest

from tether import ValidationError, step, wait


@pytest.mark.parametrize("name", ["", "x" * 257, 7])
def test_a_step_needs_a_name_of_1_to_256_characters(name: object) -> None:
    calls: list[int] = []
    with pytest.raises(ValidationError, match="a step's name must be a string of 1 to 256 characters"):
        step.run(name, lambda: calls.append(1))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        step(name=name)(lambda: None)  # type: ignore[arg-type]
    assert calls == []  # refused before calling the function


def test_a_wait_refuses_a_negative_duration() -> None:
    with pytest.raises(ValidationError, match="duration of zero or more"):
        wait.for_(seconds=-1)


def test_wait_until_needs_a_datetime() -> None:
    with pytest.raises(ValidationError, match="needs a datetime, got str"):
        wait.until("tomorrow")  # type: ignore[arg-type]
