"""Ids: a prefix, then 25 base-36 characters that sort in creation order."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from tether.runtime import ids

ID_BODY = re.compile(r"^[0-9a-z]{25}$")
SOME_INSTANT_NS = 1_900_000_000_123_456_789  # 2030-03-17


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], int]], None]:
    """Replace the wall clock the ids read; the id generator forgets what it has handed out."""

    def install(time_ns: Callable[[], int]) -> None:
        monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=time_ns))
        monkeypatch.setattr(ids, "_last_micros", 0, raising=False)

    return install


@pytest.mark.parametrize(
    ("make", "prefix"),
    [(ids.run_id, "run_"), (ids.batch_id, "batch_"), (ids.attempt_id, "attempt_"), (ids.queue_id, "queue_"), (lambda: ids.new_id("env"), "env_")],
)
def test_an_id_is_its_prefix_then_25_base36_characters(make: Callable[[], str], prefix: str) -> None:
    value = make()
    assert value.startswith(prefix)
    assert ID_BODY.match(value.removeprefix(prefix))


def test_ids_made_in_sequence_sort_in_creation_order() -> None:
    made = [ids.run_id() for _ in range(1000)]
    assert sorted(made) == made
    assert len(set(made)) == 1000


def test_ids_made_within_one_clock_tick_still_sort_in_creation_order(clock: Callable[[Callable[[], int]], None]) -> None:
    # A coarse clock (or a fast machine) hands out the same time to many ids.
    clock(lambda: SOME_INSTANT_NS)
    made = [ids.run_id() for _ in range(1000)]
    assert sorted(made) == made


def test_ids_still_sort_in_creation_order_when_the_clock_steps_back(clock: Callable[[Callable[[], int]], None]) -> None:
    readings = iter(range(SOME_INSTANT_NS, 0, -1_000_000_000))
    clock(lambda: next(readings))
    made = [ids.run_id() for _ in range(100)]
    assert sorted(made) == made


def test_the_first_ten_characters_are_the_creation_microsecond_in_base36(clock: Callable[[Callable[[], int]], None]) -> None:
    clock(lambda: SOME_INSTANT_NS)
    assert int(ids.run_id().removeprefix("run_")[:10], 36) == SOME_INSTANT_NS // 1000


def test_a_secret_key_names_its_environment() -> None:
    key = ids.secret_key("dev")
    assert key.startswith("tt_dev_")
    assert key != ids.secret_key("dev")
