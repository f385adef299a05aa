"""Retry back-off: exponential, jittered, capped, and refused when it makes no sense."""

from __future__ import annotations

import random

import pydantic
import pytest

from tether.retry import NO_RETRY, Retry

SAMPLES = 500


@pytest.mark.parametrize("randomize", [True, False])
@pytest.mark.parametrize("retry_number", [1, 2, 3, 4, 5, 6])
def test_every_delay_stays_within_its_bounds(retry_number: int, randomize: bool) -> None:
    policy = Retry(max_attempts=10, factor=2.0, min_timeout=0.5, max_timeout=10.0, randomize=randomize)
    low, high = policy.bounds(retry_number)
    rng = random.Random(retry_number)
    delays = [policy.delay_before(retry_number, rng) for _ in range(SAMPLES)]
    assert low <= min(delays)
    assert max(delays) <= high


@pytest.mark.parametrize("retry_number", [1, 2, 3])
def test_randomized_delays_spread_across_the_range(retry_number: int) -> None:
    policy = Retry(min_timeout=1.0, factor=2.0, max_timeout=1000.0, randomize=True)
    low, high = policy.bounds(retry_number)
    rng = random.Random(7)
    delays = [policy.delay_before(retry_number, rng) for _ in range(SAMPLES)]
    middle = (low + high) / 2
    assert any(d < middle for d in delays)
    assert any(d > middle for d in delays)


def test_bounds_are_the_base_delay_to_twice_it_when_randomized() -> None:
    policy = Retry(min_timeout=1.0, factor=3.0, max_timeout=1000.0, randomize=True)
    assert policy.bounds(3) == (9.0, 18.0)


def test_bounds_collapse_to_the_base_delay_without_randomize() -> None:
    policy = Retry(min_timeout=1.0, factor=3.0, max_timeout=1000.0, randomize=False)
    assert policy.bounds(3) == (9.0, 9.0)


def test_each_retry_waits_factor_times_longer_than_the_one_before() -> None:
    policy = Retry(max_attempts=10, factor=1.5, min_timeout=2.0, max_timeout=1000.0, randomize=False)
    delays = [policy.delay_before(n) for n in range(1, 7)]
    assert delays[0] == 2.0
    for earlier, later in zip(delays, delays[1:], strict=False):
        assert later == pytest.approx(earlier * 1.5)


def test_delays_are_capped_at_max_timeout() -> None:
    policy = Retry(max_attempts=20, factor=2.0, min_timeout=1.0, max_timeout=5.0, randomize=False)
    assert [policy.delay_before(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_randomized_delays_are_capped_at_max_timeout_too() -> None:
    policy = Retry(max_attempts=20, factor=2.0, min_timeout=1.0, max_timeout=5.0, randomize=True)
    rng = random.Random(3)
    assert max(policy.delay_before(n, rng) for n in range(1, 12) for _ in range(100)) <= 5.0


def test_the_same_seed_gives_the_same_delays() -> None:
    policy = Retry(randomize=True)
    first = [policy.delay_before(n, random.Random(42)) for n in range(1, 5)]
    again = [policy.delay_before(n, random.Random(42)) for n in range(1, 5)]
    assert first == again


def test_max_timeout_below_min_timeout_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="max_timeout must be at least min_timeout"):
        Retry(min_timeout=10, max_timeout=5)


@pytest.mark.parametrize(
    "fields",
    [{"max_attempts": 0}, {"max_attempts": 101}, {"factor": 0.5}, {"min_timeout": -1}, {"max_timeout": -1}],
)
def test_out_of_range_settings_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Retry(**fields)  # type: ignore[arg-type]


def test_a_misspelled_setting_is_refused_rather_than_ignored() -> None:
    with pytest.raises(pydantic.ValidationError, match="max_attemps"):
        Retry.model_validate({"max_attemps": 5})


def test_camel_case_names_are_accepted_as_on_the_wire() -> None:
    policy = Retry.model_validate({"maxAttempts": 7, "minTimeout": 0.5, "maxTimeout": 9})
    assert (policy.max_attempts, policy.min_timeout, policy.max_timeout) == (7, 0.5, 9)


def test_a_policy_is_immutable() -> None:
    with pytest.raises(pydantic.ValidationError):
        Retry().max_attempts = 9  # type: ignore[misc]


def test_no_retry_allows_a_single_attempt() -> None:
    assert NO_RETRY.max_attempts == 1
