"""idempotency_keys.create: the same key for the same run (and attempt), a new one elsewhere."""

from __future__ import annotations

import pytest

from tether import ValidationError, idempotency_keys
from tether.context import RunContext, set_current_run


def _in_run(run_id: str, attempt: int) -> None:
    set_current_run(RunContext(run_id=run_id, task_id="t", attempt=attempt, queue="q"))


def test_a_run_scoped_key_is_the_same_across_attempts_and_differs_between_runs() -> None:
    try:
        _in_run("run_a", 1)
        first = idempotency_keys.create("charge")
        _in_run("run_a", 2)
        assert idempotency_keys.create("charge") == first
        _in_run("run_b", 1)
        assert idempotency_keys.create("charge") != first
    finally:
        set_current_run(None)


def test_an_attempt_scoped_key_changes_with_the_attempt() -> None:
    try:
        _in_run("run_a", 1)
        one = idempotency_keys.create(["charge", "order-7"], scope="attempt")
        _in_run("run_a", 2)
        assert idempotency_keys.create(["charge", "order-7"], scope="attempt") != one
    finally:
        set_current_run(None)


def test_a_global_key_and_any_key_outside_a_run_depend_only_on_the_key() -> None:
    outside = idempotency_keys.create("charge")
    try:
        _in_run("run_a", 3)
        assert idempotency_keys.create("charge", scope="global") == outside
    finally:
        set_current_run(None)


@pytest.mark.parametrize("bad", ["", [], [""], 7])
def test_a_bad_key_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        idempotency_keys.create(bad)  # type: ignore[arg-type]


def test_a_bad_scope_is_refused() -> None:
    with pytest.raises(ValidationError, match="scope"):
        idempotency_keys.create("x", scope="forever")  # type: ignore[arg-type]
