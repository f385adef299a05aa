"""Cron expressions and timezones: every feature a schedule accepts, DST, and refusals that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tether.errors import ValidationError
from tether.runtime import cron


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def following(expression: str, after: str, count: int = 3, timezone: str = "UTC") -> list[str]:
    moments = cron.instants_after(cron.check(expression), timezone, utc(after), count)
    return [m.strftime("%Y-%m-%d %H:%M") for m in moments]


def test_ranges_steps_and_lists() -> None:
    assert following("0 9-11 * * *", "2026-06-01 00:00") == ["2026-06-01 09:00", "2026-06-01 10:00", "2026-06-01 11:00"]
    assert following("*/20 * * * *", "2026-06-01 00:05") == ["2026-06-01 00:20", "2026-06-01 00:40", "2026-06-01 01:00"]
    assert following("0 0 1,15 * *", "2026-06-01 00:00") == ["2026-06-15 00:00", "2026-07-01 00:00", "2026-07-15 00:00"]
    assert following("5-20/5 8 * * *", "2026-06-01 00:00") == ["2026-06-01 08:05", "2026-06-01 08:10", "2026-06-01 08:15"]


def test_day_and_month_names() -> None:
    # 2026-06-01 is a Monday.
    assert following("0 9 * * MON-FRI", "2026-06-05 10:00") == ["2026-06-08 09:00", "2026-06-09 09:00", "2026-06-10 09:00"]
    assert following("0 0 1 JAN,JUL *", "2026-06-01 00:00") == ["2026-07-01 00:00", "2027-01-01 00:00", "2027-07-01 00:00"]
    assert following("0 12 * * sun", "2026-06-01 00:00", 1) == ["2026-06-07 12:00"]


def test_l_is_the_last_day_of_the_month_leap_years_included() -> None:
    assert following("0 0 L * *", "2028-01-15 00:00", 3) == ["2028-01-31 00:00", "2028-02-29 00:00", "2028-03-31 00:00"]


def test_5l_is_the_last_friday_of_the_month() -> None:
    assert following("0 18 * * 5L", "2026-01-01 00:00", 3) == ["2026-01-30 18:00", "2026-02-27 18:00", "2026-03-27 18:00"]
    assert following("0 18 * * 1L", "2026-01-01 00:00", 1) == ["2026-01-26 18:00"]  # the last Monday


def test_new_york_spring_forward_the_0230_that_does_not_exist_fires_at_0300() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    assert following("30 2 * * *", "2026-03-07 00:00", 3, "America/New_York") == [
        "2026-03-07 07:30",  # 02:30 EST
        "2026-03-08 07:00",  # no 02:30 that day: 03:00 EDT, the first minute after the gap
        "2026-03-09 06:30",  # 02:30 EDT
    ]


def test_new_york_fall_back_the_0130_that_happens_twice_fires_twice() -> None:
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST, so the wall clock shows 01:30 twice.
    assert following("30 1 * * *", "2026-10-31 12:00", 3, "America/New_York") == [
        "2026-11-01 05:30",  # 01:30 EDT
        "2026-11-01 06:30",  # 01:30 EST, an hour later
        "2026-11-02 06:30",
    ]


def test_berlin_spring_forward_and_fall_back() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST. 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    assert following("30 2 * * *", "2026-03-27 12:00", 3, "Europe/Berlin") == [
        "2026-03-28 01:30",  # 02:30 CET
        "2026-03-29 01:00",  # 03:00 CEST
        "2026-03-30 00:30",  # 02:30 CEST
    ]
    assert following("30 2 * * *", "2026-10-24 12:00", 3, "Europe/Berlin") == [
        "2026-10-25 00:30",  # 02:30 CEST
        "2026-10-25 01:30",  # 02:30 CET
        "2026-10-26 01:30",
    ]


def test_a_daily_wall_clock_time_keeps_its_local_hour_across_dst() -> None:
    assert following("0 9 * * *", "2026-10-30 00:00", 4, "America/New_York") == [
        "2026-10-30 13:00",
        "2026-10-31 13:00",
        "2026-11-01 14:00",
        "2026-11-02 14:00",
    ]


def test_latest_at_or_before_is_the_instant_itself_when_exactly_on_it() -> None:
    expression = cron.check("*/15 * * * *")
    assert cron.latest_at_or_before(expression, "UTC", utc("2026-06-01 10:15")) == utc("2026-06-01 10:15")
    assert cron.latest_at_or_before(expression, "UTC", utc("2026-06-01 10:29:59")) == utc("2026-06-01 10:15")
    assert cron.latest_at_or_before(cron.check("0 18 * * 5L"), "UTC", utc("2026-03-01 00:00")) == utc("2026-02-27 18:00")


def test_latest_at_or_before_sees_the_second_0130_of_a_fall_back_night() -> None:
    assert cron.latest_at_or_before("30 1 * * *", "America/New_York", utc("2026-11-01 06:45")) == utc("2026-11-01 06:30")
    assert cron.latest_at_or_before("30 1 * * *", "America/New_York", utc("2026-11-01 06:15")) == utc("2026-11-01 05:30")


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("61 * * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 32 * *", "day-of-month field '32'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * FUNDAY", "day-of-week field 'FUNDAY'"),
        ("0 0 * *", "has 4 fields"),
        ("0 0 0 * * *", "has 6 fields"),
        ("", "a cron expression is required"),
        ("0 0 30 2 *", "never fire"),
        ("R 9 * * *", "minute field 'R'"),  # croniter's random value: no fixed instants
        ("0 H * * *", "hour field 'H'"),
    ],
)
def test_a_bad_expression_is_refused_naming_what_is_wrong(expression: str, named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        cron.check(expression)
    assert caught.value.message.startswith("cron: ")
    assert named in caught.value.message


def test_timezones_are_iana_names_and_utc_is_the_default() -> None:
    assert cron.check_timezone(None) == "UTC"
    assert cron.check_timezone("Europe/Berlin") == "Europe/Berlin"
    assert cron.timezones()[0] == "UTC" and "America/New_York" in cron.timezones()
    with pytest.raises(ValidationError, match="timezone: 'Mars/Olympus_Mons' is not an IANA timezone"):
        cron.check_timezone("Mars/Olympus_Mons")


def test_a_description_reads_as_english() -> None:
    assert cron.describe("0 9 * * MON-FRI") == "At 09:00 AM, Monday through Friday"
    assert "last Friday" in cron.describe("0 18 * * 5L")


def test_latest_at_or_before_the_first_0130_of_a_fall_back_night_is_that_one_not_the_second() -> None:
    assert cron.latest_at_or_before("30 1 * * *", "America/New_York", utc("2026-11-01 05:30")) == utc("2026-11-01 05:30")
    assert cron.latest_at_or_before("30 1 * * *", "America/New_York", utc("2026-11-01 06:29")) == utc("2026-11-01 05:30")
