"""Payloads in and outputs out: checked against the task's type, and always plain JSON."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, Field

from tether.errors import OutputNotSerializableError, ValidationError
from tether._payload import encode_output, parse_payload, to_json_value, validate_payload
from tether.runtime.payloads import SUPERJSON, decode_payload


class Address(BaseModel):
    city: str


class Signup(BaseModel):
    email: str
    age: int = Field(ge=0)
    address: Address


GOOD = {"email": "ada@example.com", "age": 36, "address": {"city": "London"}}


def test_a_payload_matching_the_type_is_returned_unchanged() -> None:
    assert validate_payload(Signup, GOOD) is GOOD


def test_without_a_declared_type_any_payload_is_accepted() -> None:
    assert validate_payload(None, {"anything": object}) == {"anything": object}


def test_a_mismatched_payload_lists_every_field_error_in_the_message() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_payload(Signup, {"age": -1, "address": {}})
    message = caught.value.message
    assert message.startswith("payload does not match Signup: ")
    for field in ("email", "age", "address.city"):
        assert f"{field}: " in message


def test_a_mismatched_payload_carries_the_field_errors_as_details() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_payload(Signup, {"email": "a@b.c", "age": "old", "address": {"city": "Paris"}})
    details = caught.value.details
    assert [(d["loc"], d["type"]) for d in details] == [(["age"], "int_parsing")]
    assert details[0]["msg"] in caught.value.message
    assert caught.value.code == "validation_error"


def test_a_payload_of_the_wrong_shape_entirely_is_named_as_the_payload() -> None:
    with pytest.raises(ValidationError, match=r"payload: Input should be a valid dictionary"):
        validate_payload(Signup, "not a dict")


def test_a_payload_type_can_be_a_plain_annotation() -> None:
    with pytest.raises(ValidationError, match=r"1: Input should be a valid integer"):
        validate_payload(list[int], [1, "x"])


def test_parse_payload_builds_the_declared_type() -> None:
    assert parse_payload(Signup, GOOD) == Signup.model_validate(GOOD)
    assert parse_payload(None, GOOD) is GOOD


def test_a_pydantic_payload_is_dumped_to_json_values() -> None:
    class Event(BaseModel):
        on: date

    assert to_json_value(Event(on=date(2025, 3, 1))) == {"on": "2025-03-01"}


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "text", [1, "a", None], {"nested": {"list": [1, 2]}}])
def test_a_json_output_is_encoded_as_json_text(value: Any) -> None:
    assert json.loads(encode_output(value)) == value


def test_a_pydantic_output_is_dumped() -> None:
    assert json.loads(encode_output(Signup.model_validate(GOOD))) == GOOD


def test_pydantic_outputs_nested_in_containers_are_dumped() -> None:
    assert json.loads(encode_output({"items": [Address(city="Oslo")]})) == {"items": [{"city": "Oslo"}]}


def test_an_arbitrary_object_output_is_refused_naming_its_type() -> None:
    with pytest.raises(OutputNotSerializableError) as caught:
        encode_output(object())
    assert "type object" in caught.value.message
    assert "not JSON-serializable" in caught.value.message
    assert caught.value.code == "output_not_serializable"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"score": float("-inf")}, [1.0, float("nan")]])
def test_a_non_finite_number_in_the_output_is_refused_not_turned_into_null(value: Any) -> None:
    with pytest.raises(OutputNotSerializableError, match=f"type {type(value).__name__} "):
        encode_output(value)


def test_a_non_finite_number_inside_a_pydantic_output_is_refused() -> None:
    class Score(BaseModel):
        value: float

    with pytest.raises(OutputNotSerializableError, match="type Score "):
        encode_output(Score(value=float("nan")))


def test_a_superjson_payload_is_unwrapped_to_its_json_value() -> None:
    text = json.dumps({"json": {"name": "Ada", "at": "2025-01-01T00:00:00.000Z"}, "meta": {"values": {"at": ["Date"]}}})
    assert decode_payload(text, SUPERJSON) == {"name": "Ada", "at": "2025-01-01T00:00:00.000Z"}


def test_a_json_text_payload_is_parsed() -> None:
    assert decode_payload('{"a": [1, 2]}', "application/json") == {"a": [1, 2]}


def test_a_plain_text_payload_is_kept_as_text() -> None:
    assert decode_payload('{"not": "parsed"}', "text/plain") == '{"not": "parsed"}'


def test_a_payload_without_a_type_is_taken_as_already_json() -> None:
    assert decode_payload({"a": 1}, None) == {"a": 1}
    assert decode_payload('"quoted"', None) == '"quoted"'


def test_an_already_decoded_json_payload_is_kept() -> None:
    assert decode_payload({"a": 1}, "application/json") == {"a": 1}


@pytest.mark.parametrize("payload_type", ["application/json", SUPERJSON])
def test_a_payload_that_is_not_json_text_is_refused(payload_type: str) -> None:
    with pytest.raises(ValidationError, match="not valid JSON"):
        decode_payload("{broken", payload_type)


@pytest.mark.parametrize("payload", ["packets/run_1/payload.json", '{"a": 1}', {"a": 1}])
def test_an_unknown_payload_type_is_refused_as_unsupported(payload: Any) -> None:
    with pytest.raises(ValidationError, match=r"payloadType 'application/store' is not supported"):
        decode_payload(payload, "application/store")


def test_payload_size_is_measured_as_compact_json_on_both_sides() -> None:
    from tether._payload import MAX_PAYLOAD_BYTES, check_payload_size
    from tether.errors import PayloadTooLargeError

    # A list of n ones is 2n+1 bytes compact, 3n bytes with json.dumps' default ", " separator.
    n = (MAX_PAYLOAD_BYTES - 1) // 2
    check_payload_size([1] * n)
    with pytest.raises(PayloadTooLargeError, match="limit"):
        check_payload_size([1] * (n + 1))
