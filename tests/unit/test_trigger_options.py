"""Trigger options: checked before any request is made, and written with Trigger.dev's names on the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from tether import errors
from tether.machines import PRESETS
from tether.options import DEFAULT_IDEMPOTENCY_TTL, TriggerOptions, build_options
from tether.queues import queue

# A refusal comes from pydantic for a constraint, or from tether for a duration; the SDK's
# `_request` turns both into tether.ValidationError.
Refused = (pydantic.ValidationError, errors.ValidationError)


def _wire(options: TriggerOptions) -> dict[str, Any]:
    return options.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_ten_tags_are_accepted() -> None:
    assert build_options(tags=[f"t{i}" for i in range(10)]).tags == [f"t{i}" for i in range(10)]


def test_more_than_ten_tags_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="at most 10 tags per run, got 11"):
        build_options(tags=[f"t{i}" for i in range(11)])


def test_a_repeated_tag_counts_once_toward_the_limit() -> None:
    assert build_options(tags=[f"t{i}" for i in range(10)] + ["t0"]).tags == [f"t{i}" for i in range(10)]


def test_duplicate_tags_are_dropped_keeping_first_seen_order() -> None:
    assert build_options(tags=["b", "a", "b", "c", "a"]).tags == ["b", "a", "c"]


def test_a_single_tag_string_becomes_a_list() -> None:
    assert build_options(tags="tenant:42").tags == ["tenant:42"]


@pytest.mark.parametrize("length", [0, 129])
def test_a_tag_of_the_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(pydantic.ValidationError, match=f"each tag must be 1-128 characters, got {length}"):
        build_options(tags=["ok", "x" * length])


def test_a_tag_of_128_characters_is_accepted() -> None:
    assert build_options(tags=["x" * 128]).tags == ["x" * 128]


def test_an_idempotency_key_over_2048_characters_is_refused() -> None:
    build_options(idempotency_key="k" * 2048)
    with pytest.raises(pydantic.ValidationError, match="idempotency_key"):
        build_options(idempotency_key="k" * 2049)


def test_an_empty_idempotency_key_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        build_options(idempotency_key="")


@pytest.mark.parametrize("delay", [-1, -0.1, timedelta(seconds=-5), "-5s"])
def test_a_negative_delay_is_refused(delay: Any) -> None:
    with pytest.raises(Refused, match="delay"):
        build_options(delay=delay)


@pytest.mark.parametrize("ttl", ["soon", "10x", "", [1]])
def test_an_unparseable_ttl_is_refused(ttl: Any) -> None:
    with pytest.raises(Refused, match="ttl"):
        build_options(ttl=ttl)


def test_a_zero_ttl_is_refused() -> None:
    with pytest.raises(Refused, match="ttl must be positive"):
        build_options(ttl="0s")


def test_an_unparseable_idempotency_key_ttl_is_refused() -> None:
    with pytest.raises(Refused, match="idempotency_key_ttl"):
        build_options(idempotency_key="k", idempotency_key_ttl="a while")


def test_a_delay_given_as_a_datetime_is_kept_as_that_datetime() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert build_options(delay=at).delay == at


def test_a_delay_given_as_an_iso_string_on_the_wire_is_read_as_a_datetime() -> None:
    options = TriggerOptions.model_validate({"delay": "2030-01-02T03:04:05Z"})
    assert options.delay == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_delay_given_as_a_timedelta_is_sent_as_seconds() -> None:
    assert build_options(delay=timedelta(minutes=2)).delay == 120.0


def test_a_delay_given_as_duration_text_is_kept_as_text() -> None:
    assert build_options(delay="1h30m").delay == "1h30m"


def test_options_are_written_in_camel_case_on_the_wire() -> None:
    body = _wire(
        build_options(
            idempotency_key="order-1",
            idempotency_key_ttl="1h",
            concurrency_key="tenant-a",
            max_attempts=3,
            max_duration=60,
            queue=queue("emails", concurrency_limit=5),
        )
    )
    assert body == {
        "idempotencyKey": "order-1",
        "idempotencyKeyTTL": "1h",
        "concurrencyKey": "tenant-a",
        "maxAttempts": 3,
        "maxDuration": 60.0,
        "queue": {"name": "emails", "concurrencyLimit": 5},
    }


def test_camel_case_options_from_the_wire_are_read() -> None:
    options = TriggerOptions.model_validate({"idempotencyKey": "k", "idempotencyKeyTTL": "2h", "concurrencyKey": "tenant-b"})
    assert (options.idempotency_key, options.concurrency_key) == ("k", "tenant-b")
    assert options.idempotency_ttl_seconds() == 7200


def test_the_idempotency_ttl_defaults_to_thirty_days() -> None:
    assert build_options(idempotency_key="k").idempotency_ttl_seconds() == DEFAULT_IDEMPOTENCY_TTL == 30 * 86400


def test_ttl_seconds_reads_the_ttl_text() -> None:
    assert build_options(ttl="10m").ttl_seconds() == 600
    assert build_options().ttl_seconds() is None


def test_a_queue_given_by_name_has_no_limit_of_its_own() -> None:
    assert _wire(build_options(queue="emails"))["queue"] == {"name": "emails"}


def test_a_queue_name_with_spaces_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        build_options(queue="my queue")


def test_a_machine_preset_is_sent_by_its_name() -> None:
    assert build_options(machine=PRESETS["large-1x"]).machine == "large-1x"
    assert build_options(machine="micro").machine == "micro"


def test_unknown_wire_fields_are_ignored_so_newer_clients_still_work() -> None:
    assert TriggerOptions.model_validate({"someFutureOption": 1}) == TriggerOptions()
