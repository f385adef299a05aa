"""Durations as users write them, and the instants they resolve to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tether.durations import parse_duration, resolve_instant
from tether.errors import ValidationError

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1.5h", 5400),
        (" 1H 30M ", 5400),
        ("0s", 0),
    ],
)
def test_duration_text_is_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("value", "seconds"), [(0, 0.0), (45, 45.0), (2.5, 2.5)])
def test_numbers_are_taken_as_seconds(value: float, seconds: float) -> None:
    assert parse_duration(value) == seconds


def test_a_timedelta_is_taken_as_its_total_seconds() -> None:
    assert parse_duration(timedelta(minutes=2, milliseconds=250)) == 120.25


@pytest.mark.parametrize("value", [-1, -0.5, timedelta(seconds=-3)])
def test_a_negative_duration_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValidationError, match=r"^ttl: must not be negative"):
        parse_duration(value, field="ttl")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["soon", "", "10x", "   ", "10", "1h30", "s", "1.2.3s", "-soon"])
def test_unreadable_text_is_refused_showing_the_accepted_forms(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_duration(value, field="delay")
    message = str(caught.value)
    assert message.startswith("delay:")
    assert repr(value) in message
    for form in ("'30s'", "'10m'", "'2h'", "'1d'", "'1h30m'"):
        assert form in message


@pytest.mark.parametrize("value", [None, [30], {"s": 30}, True])
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValidationError, match=r"^maxDuration: expected a duration like '30s'"):
        parse_duration(value, field="maxDuration")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "9" * 400 + "s"])
def test_a_non_finite_duration_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match=r"^delay: must be a finite number of seconds"):
        parse_duration(value, field="delay")  # type: ignore[arg-type]


def test_an_aware_datetime_is_kept_as_the_instant() -> None:
    at = datetime(2030, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_instant(at, field="delay", now=NOW) == at


def test_a_naive_datetime_is_read_as_utc() -> None:
    resolved = resolve_instant(datetime(2030, 5, 1, 9, 0), field="delay", now=NOW)
    assert resolved == datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    assert resolved.utcoffset() == timedelta(0)


def test_an_iso_string_is_read_as_an_instant_and_naive_means_utc() -> None:
    assert resolve_instant("2030-05-01T09:00:00", field="delay", now=NOW) == datetime(2030, 5, 1, 9, tzinfo=UTC)
    assert resolve_instant("2030-05-01T09:00:00Z", field="delay", now=NOW) == datetime(2030, 5, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("value", "after"), [("1h30m", timedelta(minutes=90)), (45, timedelta(seconds=45)), (timedelta(days=1), timedelta(days=1))])
def test_a_duration_resolves_to_that_long_after_now(value: object, after: timedelta) -> None:
    assert resolve_instant(value, field="delay", now=NOW) == NOW + after  # type: ignore[arg-type]


def test_without_now_a_duration_resolves_from_the_current_utc_time() -> None:
    before = datetime.now(UTC)
    resolved = resolve_instant("10m", field="delay")
    assert before + timedelta(minutes=10) <= resolved <= datetime.now(UTC) + timedelta(minutes=10)


def test_a_bad_duration_is_refused_naming_the_field_it_came_from() -> None:
    with pytest.raises(ValidationError, match=r"^options\.delay:"):
        resolve_instant("soon", field="options.delay", now=NOW)


def test_a_duration_past_the_end_of_the_calendar_is_refused_not_crashed() -> None:
    with pytest.raises(ValidationError, match=r"^delay: .* too far in the future"):
        resolve_instant("99999999d", field="delay", now=NOW)


def test_a_negative_duration_text_is_refused_as_negative() -> None:
    with pytest.raises(ValidationError, match="delay: must not be negative"):
        parse_duration("-5s", field="delay")
